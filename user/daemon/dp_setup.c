// SPDX-License-Identifier: GPL-2.0
/*
 * Finding the data plane. A marllb program already on the interface (attached by an earlier
 * marllbd, or by `ip link set dev IFACE xdp obj marllb.o sec prog`) is adopted with its maps,
 * so no flow is lost across a restart; only when there is none does marllbd attach one. The
 * maps are pinned under PIN_ROOT/IFACE (0600) so that marllbctl and the next marllbd find them.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include <bpf/bpf.h>
#include <xdp/libxdp.h>

#include "daemon/bpffs.h"
#include "daemon/daemon.h"
#include "daemon/instance.h"
#include "daemon/log.h"

#define LOCK_DIR "/run/marllb"
#define CAPS_HINT                                                                                 \
	"marllbd needs CAP_SYS_ADMIN (to open an attached program and its maps by id) and "       \
	"CAP_NET_ADMIN (to attach XDP programs): run it as root or with these capabilities (the " \
	"systemd unit grants them)."

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/* The capabilities marllbd needs: CAP_SYS_ADMIN opens an attached program and its maps by id
 * (adoption, libxdp's dispatcher) and includes CAP_BPF and CAP_PERFMON; CAP_NET_ADMIN attaches
 * XDP programs. */
static const struct {
	int cap;
	const char *name;
} needed_caps[] = { { CAP_SYS_ADMIN, "CAP_SYS_ADMIN" }, { CAP_NET_ADMIN, "CAP_NET_ADMIN" } };

int dp_caps_check(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	char missing[64] = "";

	if (syscall(SYS_capget, &hdr, data))
		return 0; /* cannot tell: the first operation that needs one will say */
	for (size_t i = 0; i < sizeof(needed_caps) / sizeof(needed_caps[0]); i++) {
		int c = needed_caps[i].cap;

		if (!(data[c / 32].effective & (1u << (c % 32))))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 "%s%s", missing[0] ? ", " : "", needed_caps[i].name);
	}
	if (!missing[0])
		return 0;
	pr_warn("marllbd: missing capabilities: %s. " CAPS_HINT "\n", missing);
	return -EPERM;
}

/* Takes an exclusive lock on path and writes our pid there; -EBUSY with the holder's pid. */
static int lock_take(const char *path, int *fd_out, char *holder, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), err;
	ssize_t n;

	if (fd < 0) {
		err = -errno;
		pr_warn("marllbd: cannot open %s: %s.\n", path, strerror(errno));
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		n = pread(fd, holder, len - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		if (!holder[0])
			snprintf(holder, len, "?");
		close(fd);
		return -EBUSY;
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%d\n", getpid());
	*fd_out = fd;
	return 0;
}

/* "/sys/fs/bpf/marllb/eth0" -> "pins-sys-fs-bpf-marllb-eth0" (systemd-escape style). */
static void lock_name_of_dir(const char *dir, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "pins");

	for (const char *p = dir; *p && o + 5 < len; p++) {
		if (*p == '/')
			buf[o++] = '-';
		else if (*p == '-' || *p == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", (unsigned char)*p);
		else
			buf[o++] = *p;
	}
	buf[o] = '\0';
}

/*
 * One marllbd per interface (a second would fight over weights and backend states), keyed by
 * network namespace and name, and one per pin directory (a --pin-root shared by interfaces
 * of the same name in two namespaces would have one overwrite the other's pins).
 */
int dp_lock(struct daemon *d)
{
	char path[PATH_MAX + 64], name[PATH_MAX], holder[32];
	int err;

	err = mkdir_p(LOCK_DIR, 0755);
	if (err) {
		pr_warn("marllbd: cannot create %s: %s.\n", LOCK_DIR, strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), "%s/%s@netns-%lu.lock", LOCK_DIR, d->opts.iface,
		 netns_inode());
	err = lock_take(path, &d->lock_fd, holder, sizeof(holder));
	if (err == -EBUSY)
		pr_warn("marllbd: another marllbd (pid %s) serves %s in this network namespace "
			"(lock %s held).\n",
			holder, d->opts.iface, path);
	if (err)
		return err;
	lock_name_of_dir(d->pin_dir, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s.lock", LOCK_DIR, name);
	err = lock_take(path, &d->pin_lock_fd, holder, sizeof(holder));
	if (err == -EBUSY)
		pr_warn("marllbd: another marllbd (pid %s) pins its maps in %s, for an interface "
			"of the same name in another network namespace (lock %s held); give this "
			"one a --pin-root of its own.\n",
			holder, d->pin_dir, path);
	return err;
}

static const char *mode_name(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "generic";
	case XDP_MODE_HW:
		return "offload";
	default:
		return "unknown";
	}
}

/* Is a program called marllb attached to ifindex (alone or behind libxdp's dispatcher)?
 * Returns 1 and its mode, 0 when not, -EEXIST when another XDP program holds the interface
 * without a dispatcher. */
static int marllb_attached(int ifindex, const char **mode)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	long err = libxdp_get_error(mp);
	struct xdp_program *p;
	int found = 0;

	if (err == -ENOENT)
		return 0; /* nothing attached */
	if (err)
		return (int)err; /* -EPERM: no CAP_SYS_ADMIN to open it by id */
	*mode = mode_name(xdp_multiprog__attach_mode(mp));
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p)
			found = !strcmp(xdp_program__name(p), MLB_PROG_NAME) ? 1 : -EEXIST;
	} else {
		for (p = xdp_multiprog__next_prog(NULL, mp); p && !found;
		     p = xdp_multiprog__next_prog(p, mp))
			found = !strcmp(xdp_program__name(p), MLB_PROG_NAME);
	}
	xdp_multiprog__close(mp);
	return found;
}

static uint32_t map_id(const struct mlb_dp *dp, const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = mlb_dp_map_fd(dp, name);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

static bool pins_exist(const char *dir)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, MLB_MAP_VIPS);
	return access(path, F_OK) == 0;
}

static int adopt_attached(struct daemon *d, const char *mode)
{
	struct mlb_dp *pinned = NULL;
	int err;

	err = mlb_dp_open_iface(d->opts.iface, &d->dp);
	if (err) {
		pr_warn("marllbd: a marllb program is attached to %s but its maps cannot be "
			"opened: %s.\n",
			d->opts.iface, strerror(-err));
		return err;
	}
	if (pins_exist(d->pin_dir) && !mlb_dp_open_pinned(d->pin_dir, &pinned)) {
		bool same = map_id(pinned, MLB_MAP_VIPS) == map_id(d->dp, MLB_MAP_VIPS);

		mlb_dp_close(pinned);
		if (same) {
			pr_warn("marllbd: adopted the marllb program on %s (%s mode) and its maps "
				"pinned in %s.\n",
				d->opts.iface, mode, d->pin_dir);
			return 0;
		}
		pr_warn("marllbd: the maps pinned in %s are not those of the program on %s; "
			"re-pinning the attached program's maps.\n",
			d->pin_dir, d->opts.iface);
	}
	err = mlb_dp_pin_maps(d->dp, d->pin_dir);
	if (err) {
		pr_warn("marllbd: cannot pin the maps of %s under %s: %s.\n", d->opts.iface,
			d->pin_dir, strerror(-err));
		return err;
	}
	pr_warn("marllbd: adopted the marllb program attached to %s (%s mode); maps pinned in "
		"%s.\n",
		d->opts.iface, mode, d->pin_dir);
	return 0;
}

/* The pins need a bpffs: mount it at /sys/fs/bpf when a fresh machine has none there. */
static int pin_root_prepare(struct daemon *d)
{
	bool mounted;
	char msg[512];
	int err;

	err = bpffs_prepare(d->pin_dir, &mounted, msg, sizeof(msg));
	if (err) {
		pr_warn("marllbd: %s\n", msg);
		return err;
	}
	if (!mounted)
		return 0;
	pr_warn("marllbd: bpffs was not mounted at " BPFFS_DEFAULT "; mounted it there.\n");
	/* Under `ip netns exec` (which remounts /sys) the new bpffs is seen by nobody else. */
	if (mount_ns_private())
		pr_warn("marllbd: note: if this process has a mount namespace of its own (as "
			"under `ip netns exec`, which remounts /sys), that bpffs and the maps "
			"pinned in it are private to it and go when it exits: marllbctl and the "
			"next marllbd will not find them. Run marllbd under `nsenter "
			"--net=/run/netns/NAME` instead.\n");
	return 0;
}

/*
 * Opens the marllb data plane attached to the interface (adopting it, writing nothing to it),
 * or leaves d->dp NULL when none is: dp_attach() then attaches one, once everything else is
 * ready.
 */
int dp_open(struct daemon *d)
{
	const char *found_mode = "unknown";
	int err;

	err = pin_root_prepare(d);
	if (err)
		return err;
	err = marllb_attached(d->ifindex, &found_mode);
	if (err == -EEXIST) {
		pr_warn("marllbd: %s already runs another XDP program (without libxdp's "
			"dispatcher); remove it or load both through libxdp.\n",
			d->opts.iface);
		return err;
	}
	if (err < 0) {
		pr_warn("marllbd: cannot inspect the XDP program attached to %s: %s.%s\n",
			d->opts.iface, strerror(-err),
			err == -EPERM || err == -EACCES ? " " CAPS_HINT : "");
		return err;
	}
	if (err != 1)
		return 0;
	d->attach_mode = found_mode;
	return adopt_attached(d, found_mode);
}

int dp_attach(struct daemon *d)
{
	enum mlb_dp_mode mode = d->opts.mode == MODE_GENERIC ? MLB_DP_GENERIC : MLB_DP_NATIVE;
	int err;

	if (d->dp)
		return 0; /* adopted */
	if (pins_exist(d->pin_dir))
		pr_warn("marllbd: maps are pinned in %s but no marllb program is attached to %s; "
			"attaching one.\n",
			d->pin_dir, d->opts.iface);
	err = mlb_dp_attach(d->opts.iface, mode, d->pin_dir, &d->dp_opts, &d->dp);
	if (err) {
		pr_warn("marllbd: cannot attach marllb to %s in %s mode: %s.\n", d->opts.iface,
			mode == MLB_DP_NATIVE ? "native" : "generic", strerror(-err));
		if (mode == MLB_DP_NATIVE && (err == -EOPNOTSUPP || err == -EINVAL))
			pr_warn("marllbd: hint: native XDP may not be supported by the driver of "
				"%s - try --mode generic.\n",
				d->opts.iface);
		return err;
	}
	d->attached_here = true;
	d->attach_mode = mode == MLB_DP_NATIVE ? "native" : "generic";
	pr_warn("marllbd: attached marllb to %s in %s XDP mode%s; maps pinned in %s.\n",
		d->opts.iface, d->attach_mode, mode == MLB_DP_GENERIC ? " (slower: skb-based)" : "",
		d->pin_dir);
	return 0;
}

int dp_status_open(struct daemon *d)
{
	int err = status_maps_open(d->pin_dir, true, &d->sm);

	if (err)
		pr_warn("marllbd: cannot create the status maps in %s: %s.\n", d->pin_dir,
			strerror(-err));
	return err;
}

void dp_tables_check(struct daemon *d, const struct lb_conf *conf)
{
	struct mlb_dp_tables t;
	char buf[256];

	if (mlb_dp_tables(d->dp, &t))
		return;
	mlb_dp_tables_str(&t, buf, sizeof(buf));
	pr_info("marllbd: %s.\n", buf);
	if ((conf->flow_table_size && conf->flow_table_size != t.flow_table_size) ||
	    (conf->half_open_table_size && conf->half_open_table_size != t.half_open_table_size))
		pr_warn("marllbd: the configuration asks for a flow table of %u and a half-open "
			"table of %u entries, but the data plane on %s was loaded with %u and %u; "
			"sizes apply when marllbd attaches it (detach it to resize, which forgets "
			"its flows).\n",
			conf->flow_table_size ?: t.flow_table_size,
			conf->half_open_table_size ?: t.half_open_table_size, d->opts.iface,
			t.flow_table_size, t.half_open_table_size);
}

/* Detaches the program and removes the pins (status records included). */
static void dp_detach(struct daemon *d)
{
	char path[PATH_MAX + 32];
	int err;

	snprintf(path, sizeof(path), "%s/%s", d->pin_dir, MLBD_MAP_BE_STATUS);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", d->pin_dir, MLBD_MAP_VIP_STATUS);
	unlink(path);
	err = mlb_dp_detach(d->opts.iface, d->pin_dir);
	if (err)
		pr_warn("marllbd: cannot detach marllb from %s: %s.\n", d->opts.iface,
			strerror(-err));
	else
		pr_warn("marllbd: detached marllb from %s and removed %s.\n", d->opts.iface,
			d->pin_dir);
}

/* A start that failed once the data plane was open leaves the interface as it found it: a
 * program this run attached goes (an adopted one was restored by the caller). */
void dp_rollback(struct daemon *d)
{
	status_maps_close(&d->sm);
	if (d->dp)
		mlb_dp_close(d->dp);
	d->dp = NULL;
	if (d->attached_here)
		dp_detach(d);
	d->attached_here = false;
	d->attach_mode = NULL;
}

void dp_teardown(struct daemon *d)
{
	status_maps_close(&d->sm);
	if (d->dp)
		mlb_dp_close(d->dp);
	d->dp = NULL;
	if (!d->opts.detach_on_exit) {
		if (d->attached_here || d->attach_mode)
			pr_info("marllbd: leaving marllb attached to %s with the last weights "
				"(fail static).\n",
				d->opts.iface);
		return;
	}
	if (!d->attached_here) {
		pr_warn("marllbd: --detach-on-exit: marllb on %s was attached before this daemon "
			"started; leaving it attached.\n",
			d->opts.iface);
		return;
	}
	dp_detach(d);
}
