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

double t_quantile_975(int df)
{
	static const double t[] = { 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
				    2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
				    2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
				    2.060,  2.056, 2.052, 2.048, 2.045, 2.042 };

	if (df < 1)
		return INFINITY;
	if (df <= 30)
		return t[df - 1];
	return 1.95996 + 2.37 / df; /* within 0.002 beyond 30 */
}

void mean_ci(const double *x, int n, struct mean_ci *out)
{
	double sum = 0, ss = 0, half;

	for (int i = 0; i < n; i++)
		sum += x[i];
	out->mean = n ? sum / n : 0;
	for (int i = 0; i < n; i++)
		ss += (x[i] - out->mean) * (x[i] - out->mean);
	half = n > 1 ? t_quantile_975(n - 1) * sqrt(ss / (n - 1) / n) : INFINITY;
	out->lo = out->mean - half;
	out->hi = out->mean + half;
}

void paired_ratio_ci(const double *a, const double *b, int n, struct mean_ci *out)
{
	double r[n > 0 ? n : 1];

	for (int i = 0; i < n; i++)
		r[i] = b[i] > 0 ? a[i] / b[i] : NAN;
	mean_ci(r, n, out);
}

double stats_window_mean_tct(const struct sim_stats *st)
{
	return st->window.measured ? st->window.tct_sum / st->window.measured : 0.0;
}

double stats_window_p99_tct(const struct sim_stats *st)
{
	return hist_quantile(&st->window.tct, 0.99);
}
