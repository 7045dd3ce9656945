/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Confidence intervals of a policy's task completion times (TCT) when its measured phase ran
 * R times: a two-level bootstrap. One resample draws R repeats with replacement, then within
 * each drawn repeat as many requests as it had, with replacement, and pools them; the
 * statistic (mean, p99) of the pool is one draw of its sampling distribution. The interval
 * is the percentile interval of `resamples` draws. Drawing repeats catches the machine's
 * drift between phases, drawing requests the noise within one.
 *
 * A ratio (learner / baseline) is bootstrapped paired: when both ran the same number of
 * rounds (ABCABC...), one resample draws the same rounds for both, since a round's phases
 * shared the machine's state.
 */
#ifndef MARLLB_TESTBED_BOOTSTRAP_H
#define MARLLB_TESTBED_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

/* One policy's measurements: x[r][0..n[r]) are the TCTs of repeat r. */
struct boot_sample {
	size_t n_repeats;
	const double *const *x;
	const size_t *n;
};

struct boot_config {
	unsigned int resamples; /* draws of the statistic (default 2000) */
	double level; /* confidence level (default 0.95) */
	uint64_t seed;
};

struct boot_interval {
	double point; /* the statistic of all the data */
	double lo, hi;
};

/* The statistics bootstrapped together, from the same resamples. */
struct boot_stats {
	struct boot_interval mean, p99;
};

void boot_config_default(struct boot_config *cfg);

/* Intervals of one policy's mean and p99. 0, or -EINVAL when a repeat has no data, -ENOMEM. */
int boot_policy(const struct boot_sample *s, const struct boot_config *cfg, struct boot_stats *out);

/*
 * Intervals of the ratios a / b of the means and of the p99s (a the learner, b a baseline):
 * paired by round when both have as many repeats, else independent.
 */
int boot_ratio(const struct boot_sample *a, const struct boot_sample *b,
	       const struct boot_config *cfg, struct boot_stats *out);

#endif /* MARLLB_TESTBED_BOOTSTRAP_H */
