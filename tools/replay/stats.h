/* SPDX-License-Identifier: GPL-2.0 */
/* Summary statistics of task completion times (seconds). */
#ifndef MARLLB_REPLAY_STATS_H
#define MARLLB_REPLAY_STATS_H

#include <stddef.h>

struct tct_summary {
	size_t n;
	double mean, p50, p90, p99, p999, max;
};

/* Sorts v in place. Quantiles are nearest-rank: the smallest value with at least q of v at
 * or below it. All fields are 0 when n is 0. */
void tct_summarise(double *v, size_t n, struct tct_summary *out);

/* Nearest-rank quantile of sorted v (n > 0, 0 <= q <= 1). */
double quantile_sorted(const double *v, size_t n, double q);

/* The same quantile of unsorted v without sorting it all (expected linear time); reorders v. */
double quantile_select(double *v, size_t n, double q);

#endif /* MARLLB_REPLAY_STATS_H */
