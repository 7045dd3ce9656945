/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which marllbd an interface has: interfaces of the same name in different network
 * namespaces are different instances, with their own lock, pins and saved models.
 *
 * The instance key names the pin and state directories: IFACE in a namespace without a name
 * (the host's), IFACE@NETNS in one named under /run/netns (`ip netns add NETNS`). bpffs
 * refuses names with dots, so a '.' is written ':' (which no interface name contains).
 * The lock is keyed by the namespace's inode, which no two live namespaces share.
 */
#ifndef MARLLBD_INSTANCE_H
#define MARLLBD_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>

#define NETNS_RUN_DIR "/run/netns"

/* The inode of this process's network namespace (0 if unknown). */
unsigned long netns_inode(void);

/* This process's network namespace's name under /run/netns (the first in name order), or
 * "" when it has none there. */
void netns_name(char *buf, size_t len);

/* The instance key of iface as seen from this process: IFACE or IFACE@NETNS. */
void instance_key(const char *iface, char *buf, size_t len);

/* The directory the maps of iface are pinned in: PIN_ROOT/KEY with the default pin root,
 * PIN_ROOT/IFACE (dots written ':') with one of the user's own. */
void instance_pin_dir(const char *pin_root, bool default_root, const char *iface, char *buf,
		      size_t len);

#endif /* MARLLBD_INSTANCE_H */
