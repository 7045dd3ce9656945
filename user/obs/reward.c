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

static const char *const reward_units_names[] = {
	[REWARD_UNITS_RELATIVE] = "relative",
	[REWARD_UNITS_SECONDS] = "seconds",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Index of name in names[0..n), or -EINVAL. */
static int name_index(const char *const *names, unsigned int n, const char *name)
{
	for (unsigned int i = 0; i < n; i++)
		if (name && !strcmp(name, names[i]))
			return (int)i;
	return -EINVAL;
}

int reward_units_parse(const char *name, enum reward_units *units)
{
	int i = name_index(reward_units_names, ARRAY_LEN(reward_units_names), name);

	if (i < 0)
		return i;
	*units = (enum reward_units)i;
	return 0;
}

const char *reward_units_name(enum reward_units units)
{
	if ((unsigned int)units < ARRAY_LEN(reward_units_names))
		return reward_units_names[units];
	return "unknown";
}

int reward_parse(const char *name, enum reward_kind *kind)
{
	int i = name_index(reward_names, ARRAY_LEN(reward_names), name);

	if (i < 0)
		return i;
	*kind = (enum reward_kind)i;
	return 0;
}

const char *reward_name(enum reward_kind kind)
{
	if ((unsigned int)kind < ARRAY_LEN(reward_names))
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

/* l_k / mean(l) over the scored servers; left as is when the mean is 0 (all idle). */
static void relative_load(double *l, const uint8_t *mask, int n)
{
	double sum = 0;
	int m = 0;

	for (int k = 0; k < n; k++) {
		if (!mask || mask[k]) {
			sum += l[k];
			m++;
		}
	}
	if (!m || sum <= 0)
		return;
	for (int k = 0; k < n; k++)
		l[k] = l[k] * m / sum;
}

double reward_observe(enum reward_kind kind, enum reward_units units, const struct features *f,
		      double now, const uint8_t *active, double *l)
{
	int n = features_n_servers(f);
	double local[256], *load = l ? l : n <= 256 ? local : malloc(sizeof(double) * n), r;

	if (!load)
		return 0.0;
	features_load_signal(f, now, load, NULL); /* 0 where there is no sample */
	if (units == REWARD_UNITS_RELATIVE)
		relative_load(load, active, n);
	r = reward_compute(kind, load, active, n);
	if (load != l && load != local)
		free(load);
	return r;
}
