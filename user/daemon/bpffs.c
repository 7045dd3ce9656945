// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include "daemon/bpffs.h"

/* statfs of path, or of its nearest existing ancestor. */
static int statfs_existing(const char *path, struct statfs *st)
{
	char buf[PATH_MAX];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	while (statfs(buf, st)) {
		if (errno != ENOENT)
			return -errno;
		slash = strrchr(buf, '/');
		if (!slash)
			return -ENOENT;
		if (slash == buf) {
			buf[1] = '\0';
			return statfs(buf, st) ? -errno : 0;
		}
		*slash = '\0';
	}
	return 0;
}

bool bpffs_is_mounted(const char *path)
{
	struct statfs st;

	return !statfs_existing(path, &st) && st.f_type == BPF_FS_MAGIC;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

int mount_ns_private(void)
{
	struct stat self, init;

	/* Reading init's link needs ptrace access to it, which a sandbox may deny. */
	if (stat("/proc/self/ns/mnt", &self) || stat("/proc/1/ns/mnt", &init))
		return -1;
	return self.st_ino != init.st_ino || self.st_dev != init.st_dev;
}

int bpffs_prepare(const char *dir, bool *mounted, char *err, size_t err_len)
{
	int ret;

	*mounted = false;
	if (bpffs_is_mounted(dir))
		return 0;
	if (!under(dir, BPFFS_DEFAULT)) {
		snprintf(err, err_len,
			 "%s is not on a BPF filesystem, so maps cannot be pinned there. Mount one "
			 "(mount -t bpf bpf DIR) or choose a directory under " BPFFS_DEFAULT ".",
			 dir);
		return -ENOTSUP;
	}
	if (!mount("bpf", BPFFS_DEFAULT, "bpf", 0, "mode=0700")) {
		*mounted = true;
		return 0;
	}
	ret = -errno;
	if (ret == -EPERM || ret == -EACCES)
		snprintf(
			err, err_len,
			"bpffs is not mounted at " BPFFS_DEFAULT " and mounting it failed: %s "
			"(it needs CAP_SYS_ADMIN). Mount it once as root: mount -t bpf bpf " BPFFS_DEFAULT
			" (or add it to /etc/fstab).",
			strerror(-ret));
	else if (ret == -ENOENT || ret == -ENODEV)
		snprintf(err, err_len,
			 "bpffs is not mounted at " BPFFS_DEFAULT " and cannot be: %s (a kernel "
			 "without CONFIG_BPF_SYSCALL, or no sysfs at /sys?).",
			 strerror(-ret));
	else
		snprintf(err, err_len,
			 "bpffs is not mounted at " BPFFS_DEFAULT " and mounting it failed: %s. "
			 "Mount it by hand: mount -t bpf bpf " BPFFS_DEFAULT ".",
			 strerror(-ret));
	return ret;
}
