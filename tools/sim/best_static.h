/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The best static weight vector: the reference a learned policy must beat where a constant
 * can do the job. A search that knows the true capacities runs sed (the data plane's rule
 * with fixed weights) with candidate weights on selection streams (seeds.h: never the
 * streams results are reported on) and keeps the least mean task completion time.
 *
 * Candidates give every server of one class (same workers, speed and IO speed) the same
 * weight, capacity^beta, lsq (all equal) included: a grid over beta that never lands on an
 * exact rational ratio between classes, where the rule's ties (q_a + 1) / w_a =
 * (q_b + 1) / w_b fall to the random tie-break. The mean task completion time is flat
 * between such ratios and jumps at them (6 x 20 servers 1:2: ratio 1.99 gives 1.339 s,
 * exactly 2 gives 1.674 s, 2.01 gives 2.362 s; elsewhere the exact ratio, a random mix of
 * both sides, is the best of the three), so with two classes the search then tries every
 * ratio p/q (q <= 4 within a factor 2 of the grid's best, then q <= 8 within 15 % of the
 * best so far) a relative 1e-3 below, above and on it. With more classes it refines beta
 * and runs coordinate descent over the class weights (3-8 classes).
 */
#ifndef MARLLB_SIM_BEST_STATIC_H
#define MARLLB_SIM_BEST_STATIC_H

#include <stdint.h>

#include "sim/sim.h"

struct best_static_opts {
	uint64_t seed; /* first selection stream (SEED_SELECT_BASE) */
	int seeds; /* selection streams (3) */
	int grid; /* beta grid points in (0, beta_max) (21) */
	double beta_max; /* (2: ratio^2 between the extreme classes) */
	int refine; /* rounds of refinement around the best beta (4) */
	int descent_passes; /* coordinate descent passes with 3-8 classes (2) */
};

struct best_static {
	double weights[SIM_MAX_SERVERS];
	double beta; /* of the best capacity^beta vector, before any descent */
	double score; /* its mean TCT on the selection streams (s) */
	int evaluations; /* candidate vectors run */
	int classes;
};

void best_static_opts_default(struct best_static_opts *o);

/*
 * Searches on cfg's world without its capacity changes (the vector chosen for before a
 * change) with sed, everything else as cfg. Returns 0, or a negative errno when a run
 * failed (message in err).
 */
int best_static_search(const struct sim_config *cfg, const struct best_static_opts *o,
		       struct best_static *out, char *err, size_t err_len);

#endif /* MARLLB_SIM_BEST_STATIC_H */
