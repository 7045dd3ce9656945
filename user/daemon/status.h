/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What marllbd knows beyond the data plane's maps (health, task-duration figures, the agent's
 * mode), kept in two BPF arrays that marllbd creates and pins next to the data plane's maps,
 * so that marllbctl can show them even when the daemon is not running:
 *   DIR/mlbd_be_status   index vip_id * MLB_MAX_BACKENDS + k
 *   DIR/mlbd_vip_status  index vip_id
 * Each record carries the writer's pid and the time of the write, so a reader can tell stale
 * figures from live ones.
 */
#ifndef MARLLBD_STATUS_H
#define MARLLBD_STATUS_H

#include <linux/types.h>
#include <stdbool.h>

#include "marllb.h"

#define MLBD_MAP_BE_STATUS "mlbd_be_status"
#define MLBD_MAP_VIP_STATUS "mlbd_vip_status"

enum mlbd_health {
	MLBD_HEALTH_UNKNOWN = 0,
	MLBD_HEALTH_UP = 1,
	MLBD_HEALTH_DOWN = 2,
};

struct mlbd_be_status {
	__u64 updated_ns; /* CLOCK_MONOTONIC of the write */
	__u64 samples; /* task-duration samples since the daemon started */
	__u32 pid; /* writer */
	__u8 health; /* enum mlbd_health */
	__u8 removed; /* gone from the configuration, draining until q is 0 */
	__u8 pad[2];
	float samples_per_s; /* task-duration samples per second, recent */
	float mean_s; /* mean task duration of the recent samples */
	float p90_s; /* 90th percentile */
	float pad2;
};

struct mlbd_vip_status {
	__u64 updated_ns;
	__u64 fallbacks; /* times the safety net went back to SED */
	__u32 pid;
	__u8 mode; /* enum safety_mode, marl VIPs */
	__u8 learning;
	__u8 pad[2];
	float reward; /* last reward */
	float alpha; /* entropy temperature */
	float new_flows_per_s;
	float pad2;
};

struct status_maps {
	int be_fd, vip_fd;
};

/* Opens the pinned status maps under dir, creating and pinning them (0600) if create. */
int status_maps_open(const char *dir, bool create, struct status_maps *sm);
void status_maps_close(struct status_maps *sm);

#endif /* MARLLBD_STATUS_H */
