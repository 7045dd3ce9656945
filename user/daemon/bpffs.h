/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The BPF filesystem the maps are pinned in. A brand-new machine has none at /sys/fs/bpf (a
 * plain sysfs directory until something mounts "bpf" there): marllbd mounts it, as bpftool
 * and libxdp-based tools do, and says so.
 */
#ifndef MARLLBD_BPFFS_H
#define MARLLBD_BPFFS_H

#include <stdbool.h>
#include <stddef.h>

#define BPFFS_DEFAULT "/sys/fs/bpf"

/*
 * Makes sure dir (which need not exist yet) lies on a bpffs. When it is under /sys/fs/bpf
 * and nothing is mounted there, mounts bpffs at /sys/fs/bpf (mode 0700) and sets *mounted.
 * Returns 0, or a negative errno with a sentence naming the cause and the fix in err.
 */
int bpffs_prepare(const char *dir, bool *mounted, char *err, size_t err_len);

/* Is path (or its nearest existing ancestor) on a bpffs? */
bool bpffs_is_mounted(const char *path);

/* Does this process run in a mount namespace other than init's (as under `ip netns exec`)?
 * 1 yes, 0 no, -1 cannot tell (init's namespace is not readable from here). */
int mount_ns_private(void);

#endif /* MARLLBD_BPFFS_H */
