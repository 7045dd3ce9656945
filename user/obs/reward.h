/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Distribution-fairness rewards over the per-server load signal l_k
 * (features_load_signal()). One code path for marllbd and the simulator.
 */
#ifndef MARLLB_REWARD_H
#define MARLLB_REWARD_H

#include <stdint.h>

#include "obs/features.h"

enum reward_kind {
	REWARD_VBF,	/* -population variance of l */
	REWARD_VBF_LOG,	/* -var - log(var + eps) */
	REWARD_PBF,	/* prod_k l_k / max(l) */
	REWARD_JAIN,	/* (sum l)^2 / (n sum l^2) */
	REWARD_MAKESPAN,/* -max_k l_k */
};

/*
 * What the reward sees: the load signals as measured (seconds), or divided by their mean over
 * the servers it scores, which makes the reward the same for 10 ms and 10 s tasks (the
 * critic's scale does not depend on the application). marllbd and the simulator both default
 * to REWARD_UNITS_DEFAULT, so that a model trained in one runs with the same reward in the
 * other.
 */
enum reward_units {
	REWARD_UNITS_RELATIVE,
	REWARD_UNITS_SECONDS,
};
#define REWARD_UNITS_DEFAULT REWARD_UNITS_RELATIVE

/* eps of REWARD_VBF_LOG: keeps log finite at zero variance (l in seconds) */
#define REWARD_VBF_LOG_EPS 1e-6

/* "vbf", "vbf-log", "pbf", "jain", "makespan"; returns 0 or -EINVAL. */
int reward_parse(const char *name, enum reward_kind *kind);
const char *reward_name(enum reward_kind kind);
/* "relative", "seconds"; returns 0 or -EINVAL. */
int reward_units_parse(const char *name, enum reward_units *units);
const char *reward_units_name(enum reward_units units);

/* Reward over the servers with mask[k] != 0 (mask may be NULL: all). Servers without a
 * sample are left out by the caller through the mask. Returns 0 for fewer than 1 server. */
double reward_compute(enum reward_kind kind, const double *l, const uint8_t *mask, int n);

/*
 * The reward of one control step from an LB's features at time now: l_k is
 * features_load_signal(); a server without a recent sample counts as idle (l_k = 0) instead
 * of being left out, so that starving a server cannot hide it from the reward (agents
 * learned exactly that when empty servers were masked out). active (NULL: all) leaves out
 * servers out of service. units: see enum reward_units (relative: l_k / mean(l) over the
 * scored servers, left as is when that mean is 0). l (n_servers doubles, may be NULL)
 * receives the loads used, in those units.
 */
double reward_observe(enum reward_kind kind, enum reward_units units, const struct features *f,
		      double now, const uint8_t *active, double *l);

#endif /* MARLLB_REWARD_H */
