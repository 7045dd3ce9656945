/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Randomized worlds for training and evaluation: one seed draws a whole system (servers and
 * their capacities, LBs, configured weights, capacity changes, load, work mix) as a
 * struct sim_config. The same seed always draws the same world; seeds.h says which seeds
 * are for what.
 */
#ifndef MARLLB_SIM_WORLD_H
#define MARLLB_SIM_WORLD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/seeds.h"
#include "sim/sim.h"

/* How the servers' capacities (workers x speed) differ. */
enum world_capacity {
	WORLD_CAP_EQUAL, /* every server the same */
	WORLD_CAP_TWO_CLASSES, /* slow and fast, at random slots */
	WORLD_CAP_SPREAD, /* every server its own, log-uniform */
	WORLD_CAP__COUNT
};

/* How a capacity is made: more workers, faster workers, or both. */
enum world_realise { WORLD_BY_WORKERS, WORLD_BY_SPEED, WORLD_BY_BOTH, WORLD_BY__COUNT };

/* The static weights the operator configured (what sed and wcmp use). */
enum world_weights {
	WORLD_W_RIGHT, /* the capacity weights */
	WORLD_W_EQUAL, /* all 1: wrong when capacities differ */
	WORLD_W_RANDOM, /* log-uniform in [1, ratio_max], unrelated to capacity */
	WORLD_W_REVERSED, /* mirrored: the fastest server gets the slowest's weight */
	WORLD_W__COUNT
};

/* What happens to capacity mid-run (CPU speed; IO is unchanged). */
enum world_change {
	WORLD_CHANGE_NONE,
	WORLD_CHANGE_SLOWDOWN, /* some servers drop to half speed and stay there */
	WORLD_CHANGE_NOISY, /* a noisy neighbour takes 40 % of some servers, then leaves */
	WORLD_CHANGE__COUNT
};

/* IO speed of the servers: proportional to their CPU capacity, or the same disk on all. */
enum world_io { WORLD_IO_PROPORTIONAL, WORLD_IO_UNIFORM, WORLD_IO__COUNT };

#define WORLD_SLOWDOWN_FACTOR 0.5 /* speed multiplier of a slowed server */
#define WORLD_NOISY_FACTOR 0.6 /* a noisy neighbour takes 40 % */

/* What world_draw may draw. A range with min = max fixes the value; a mask (bit per enum
 * value) limits the kinds drawn, uniformly among those allowed. */
struct world_ranges {
	int servers_min, servers_max; /* N, log-uniform (2..64) */
	int lbs_min, lbs_max; /* M, uniform (1..8) */
	double ratio_max; /* largest capacity ratio between servers (8) */
	double load_min, load_max; /* offered load at the start, uniform (0.3..0.97);
					 * lowered so it stays <= load_max during a change */
	double work_min, work_max; /* mean work per task, CPU + IO (s), log-uniform
					 * (0.1..1) */
	double io_share_max; /* IO's largest share of the work (0.6) */
	double p_io; /* share of worlds whose tasks have IO (0.5) */
	double p_ps; /* share of worlds with processor-sharing CPUs (0.25) */
	double p_heavy_tail; /* share with log-normal or Pareto work (0.3; else exp) */
	unsigned int capacity_mask; /* of enum world_capacity (all) */
	unsigned int weights_mask; /* of enum world_weights (all) */
	unsigned int change_mask; /* of enum world_change (all) */
	double changed_share_max; /* most servers a change touches, share of N (0.25; at
					 * least one) */
	double duration, warmup; /* of every run (600, 60); changes fall after warmup */
};

/* What was drawn, for logs and tables (the numbers are also in the sim_config). */
struct world_info {
	uint64_t seed;
	enum world_capacity capacity;
	enum world_realise realise;
	enum world_weights weights;
	enum world_change change;
	enum world_io io;
	double ratio; /* largest / smallest capacity at the start */
	int n_fast; /* two classes: servers in the fast class */
	int n_changed; /* servers a change touches */
	double change_on, change_off; /* s; change_off: noisy neighbour leaves (else 0) */
	double load; /* offered at the start */
	double load_peak; /* the highest over the run (during a change) */
	double work; /* mean work per task, CPU + IO (s) */
	double io_share; /* io_mean / work */
};

void world_ranges_default(struct world_ranges *r);
/* Returns 0, or -EINVAL with a sentence in err. */
int world_ranges_check(const struct world_ranges *r, char *err, size_t err_len);

/*
 * Fills cfg (from sim_config_default) with the world of this seed: deterministic, every
 * value within r. cfg->seed and cfg->policy_seed are the seed (the world's own task
 * stream). Returns 0, or -EINVAL when r does not pass world_ranges_check().
 */
int world_draw(uint64_t seed, const struct world_ranges *r, struct sim_config *cfg,
	       struct world_info *info);

/* The highest load the run offers: the rate over the least throughput of any phase of its
 * capacity changes. A world is feasible when this is < 1. */
double world_peak_load(const struct sim_config *cfg);

/* Names of the kinds, indexed by their enum (also what the CLI takes). */
extern const char *const world_capacity_names[WORLD_CAP__COUNT];
extern const char *const world_realise_names[WORLD_BY__COUNT];
extern const char *const world_weights_names[WORLD_W__COUNT];
extern const char *const world_change_names[WORLD_CHANGE__COUNT];
extern const char *const world_io_names[WORLD_IO__COUNT];
/* A comma-separated list of names into a mask of their indices; -1 on an unknown name. */
int world_mask_parse(const char *list, const char *const *names, int count, unsigned int *mask);

/* One line in words: "N 7, M 2, two classes x4.0 (3 fast) by speed, weights reversed, ..." */
int world_describe(const struct world_info *info, const struct sim_config *cfg, char *buf,
		   size_t len);
/* The world's servers, changes and the marllb-sim options that rebuild it. */
void world_print(FILE *fp, const struct world_info *info, const struct sim_config *cfg);

#endif /* MARLLB_SIM_WORLD_H */
