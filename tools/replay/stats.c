// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double quantile_sorted(const double *v, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * (double)n - 1e-9); /* no rank bump from rounding */

	return v[rank ? rank - 1 : 0];
}

void tct_summarise(double *v, size_t n, struct tct_summary *out)
{
	double sum = 0;

	memset(out, 0, sizeof(*out));
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	out->n = n;
	out->mean = sum / (double)n;
	out->p50 = quantile_sorted(v, n, 0.50);
	out->p90 = quantile_sorted(v, n, 0.90);
	out->p99 = quantile_sorted(v, n, 0.99);
	out->p999 = quantile_sorted(v, n, 0.999);
	out->max = v[n - 1];
}
