/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A copy of the data plane's configuration maps (VIPs, their address and filter tables,
 * backends, pools, weights), taken before a configuration is applied and written back when
 * applying fails, so that a failed start or reload leaves the configuration as it was. Live
 * state (flows, open-flow counts, statistics, samples) is not part of it.
 */
#ifndef MARLLBD_SNAPSHOT_H
#define MARLLBD_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "dp/dataplane.h"

#define SNAPSHOT_MAPS 6

struct map_copy {
	int fd;
	uint32_t key_size, value_size;
	size_t n;
	void *keys, *values;
	int is_hash; /* entries can be missing (deleted on restore when not in the copy) */
};

struct dp_snapshot {
	struct map_copy maps[SNAPSHOT_MAPS];
};

int dp_snapshot_take(struct mlb_dp *dp, struct dp_snapshot *s);
/* Writes the copy back; returns the first error (and goes on with the rest). */
int dp_snapshot_restore(const struct dp_snapshot *s);
void dp_snapshot_free(struct dp_snapshot *s);

#endif /* MARLLBD_SNAPSHOT_H */
