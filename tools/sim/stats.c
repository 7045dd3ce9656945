// SPDX-License-Identifier: GPL-2.0
#include <math.h>

#include "sim/stats.h"

void hist_add(struct histogram *h, double v)
{
	int b;

	if (!(v >= HIST_MIN))
		b = 0;
	else {
		b = 1 + (int)(log10(v / HIST_MIN) * HIST_PER_DECADE);
		if (b > HIST_BUCKETS - 1)
			b = HIST_BUCKETS - 1;
	}
	h->bucket[b]++;
	h->count++;
}

double hist_bucket_top(int b)
{
	return HIST_MIN * pow(10.0, (double)b / HIST_PER_DECADE);
}

double hist_quantile(const struct histogram *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->count)
		return 0.0;
	want = (uint64_t)ceil(q * h->count);
	if (want < 1)
		want = 1;
	for (int b = 0; b < HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen >= want) {
			if (b == 0)
				return HIST_MIN;
			/* geometric middle of the bucket */
			return HIST_MIN * pow(10.0, (b - 0.5) / HIST_PER_DECADE);
		}
	}
	return hist_bucket_top(HIST_BUCKETS - 1);
}

double stats_mean_tct(const struct sim_stats *st)
{
	return st->measured ? st->tct_sum / st->measured : 0.0;
}

double stats_p99_tct(const struct sim_stats *st)
{
	return hist_quantile(&st->tct, 0.99);
}
