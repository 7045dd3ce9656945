/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Independent work items on several processes. Item i's result depends on i only (every
 * simulation is deterministic for its seed), so results do not depend on how many workers
 * ran them or in which order.
 */
#ifndef MARLLB_SIM_PARALLEL_H
#define MARLLB_SIM_PARALLEL_H

#include <stddef.h>

/* Computes item i into result (size bytes); returns 0, or -1 after printing why. */
typedef int (*parallel_fn)(int i, void *result, void *ctx);
/* Called in the calling process as each result arrives (progress), may be NULL. */
typedef void (*parallel_done_fn)(int i, const void *result, void *ctx);

/*
 * Runs fn for items 0..n-1 into results (n x size bytes) on `workers` processes (forked;
 * 1: in this process, no fork). Worker w takes items w, w + workers, ... Returns 0 when
 * every item succeeded, -1 otherwise.
 */
int parallel_run(int n, int workers, size_t size, parallel_fn fn, parallel_done_fn done, void *ctx,
		 void *results);

#endif /* MARLLB_SIM_PARALLEL_H */
