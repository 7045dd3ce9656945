// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "daemon/status.h"

static int open_one(const char *dir, const char *name, __u32 value_size, __u32 entries, bool create)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.value_size != value_size ||
		    info.max_entries != entries) {
			/* A layout from another version: start over rather than misread it. */
			close(fd);
			if (!create)
				return -EPROTO;
			unlink(path);
		} else {
			return fd;
		}
	} else if (!create) {
		return -errno;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(__u32), value_size, entries, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, path)) {
		int err = -errno;

		close(fd);
		return err;
	}
	chmod(path, 0600);
	return fd;
}

int status_maps_open(const char *dir, bool create, struct status_maps *sm)
{
	sm->be_fd = open_one(dir, MLBD_MAP_BE_STATUS, sizeof(struct mlbd_be_status),
			     MLB_MAX_VIPS * MLB_MAX_BACKENDS, create);
	if (sm->be_fd < 0)
		return sm->be_fd;
	sm->vip_fd = open_one(dir, MLBD_MAP_VIP_STATUS, sizeof(struct mlbd_vip_status),
			      MLB_MAX_VIPS, create);
	if (sm->vip_fd < 0) {
		int err = sm->vip_fd;

		close(sm->be_fd);
		sm->be_fd = -1;
		return err;
	}
	return 0;
}

void status_maps_close(struct status_maps *sm)
{
	if (sm->be_fd >= 0)
		close(sm->be_fd);
	if (sm->vip_fd >= 0)
		close(sm->vip_fd);
	sm->be_fd = sm->vip_fd = -1;
}
