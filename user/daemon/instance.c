// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/instance.h"

unsigned long netns_inode(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (unsigned long)st.st_ino;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

void netns_name(char *buf, size_t len)
{
	unsigned long self = netns_inode();
	struct dirent **list = NULL;
	int n = scandir(NETNS_RUN_DIR, &list, NULL, by_name);

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		char path[sizeof(NETNS_RUN_DIR) + 256];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, list[i]->d_name);
		if (!buf[0] && self && list[i]->d_name[0] != '.' && !stat(path, &st) &&
		    (unsigned long)st.st_ino == self)
			snprintf(buf, len, "%s", list[i]->d_name);
		free(list[i]);
	}
	free(list);
}

/* bpffs refuses '.' in names. */
static void undot(char *s)
{
	for (; *s; s++)
		if (*s == '.')
			*s = ':';
}

void instance_key(const char *iface, char *buf, size_t len)
{
	char ns[256];

	netns_name(ns, sizeof(ns));
	snprintf(buf, len, ns[0] ? "%s@%s" : "%s", iface, ns);
	undot(buf);
}

void instance_pin_dir(const char *pin_root, bool default_root, const char *iface, char *buf,
		      size_t len)
{
	char key[512];

	if (default_root) {
		instance_key(iface, key, sizeof(key));
	} else {
		snprintf(key, sizeof(key), "%s", iface);
		undot(key);
	}
	snprintf(buf, len, "%s/%s", pin_root, key);
}
