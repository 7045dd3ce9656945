// SPDX-License-Identifier: GPL-2.0
/* Distribution-fairness rewards; formulas in reward.h and problem.md ("Reward"). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "obs/reward.h"

static const char *const reward_names[] = {
	[REWARD_VBF] = "vbf",	[REWARD_VBF_LOG] = "vbf-log",	[REWARD_PBF] = "pbf",
	[REWARD_JAIN] = "jain", [REWARD_MAKESPAN] = "makespan",
};

int reward_parse(const char *name, enum reward_kind *kind)
{
	for (unsigned int i = 0; i < sizeof(reward_names) / sizeof(reward_names[0]); i++) {
		if (name && !strcmp(name, reward_names[i])) {
			*kind = (enum reward_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *reward_name(enum reward_kind kind)
{
	if ((unsigned int)kind < sizeof(reward_names) / sizeof(reward_names[0]))
		return reward_names[kind];
	return "unknown";
}

double reward_compute(enum reward_kind kind, const double *l, const uint8_t *mask, int n)
{
	double sum = 0, sum_sq = 0, max = -INFINITY, prod = 1, var, mean;
	int m = 0;

	for (int k = 0; k < n; k++) {
		if (mask && !mask[k])
			continue;
		sum += l[k];
		sum_sq += l[k] * l[k];
		prod *= l[k];
		if (l[k] > max)
			max = l[k];
		m++;
	}
	if (m < 1)
		return 0.0;
	mean = sum / m;
	var = sum_sq / m - mean * mean;
	if (var < 0)
		var = 0; /* rounding */

	switch (kind) {
	case REWARD_VBF:
		return -var;
	case REWARD_VBF_LOG:
		return -var - log(var + REWARD_VBF_LOG_EPS);
	case REWARD_PBF:
		return max > 0 ? prod / max : 0.0;
	case REWARD_JAIN:
		/* all loads zero: perfectly even */
		return sum_sq > 0 ? sum * sum / (m * sum_sq) : 1.0;
	case REWARD_MAKESPAN:
		return -max;
	}
	return 0.0;
}

double reward_observe(enum reward_kind kind, const struct features *f, double now,
		      const uint8_t *active, double *l)
{
	int n = features_n_servers(f);
	double local[256], *load = l ? l : n <= 256 ? local : malloc(sizeof(double) * n), r;

	if (!load)
		return 0.0;
	features_load_signal(f, now, load, NULL); /* 0 where there is no sample */
	r = reward_compute(kind, load, active, n);
	if (load != l && load != local)
		free(load);
	return r;
}
