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

/* Index of the nearest-rank q quantile among n sorted values. */
static size_t rank_index(size_t n, double q)
{
	size_t rank = (size_t)ceil(q * (double)n - 1e-9); /* no rank bump from rounding */

	return rank ? rank - 1 : 0;
}

double quantile_sorted(const double *v, size_t n, double q)
{
	return v[rank_index(n, q)];
}

static void swap(double *v, size_t i, size_t j)
{
	double t = v[i];

	v[i] = v[j];
	v[j] = t;
}

/* Hoare's selection with the median of three as pivot: v[k] ends where sorting puts it. */
double quantile_select(double *v, size_t n, double q)
{
	long k = (long)rank_index(n, q), lo = 0, hi = (long)n - 1;

	while (lo < hi) {
		long mid = lo + (hi - lo) / 2, i = lo, j = hi;
		double pivot;

		if (v[mid] < v[lo])
			swap(v, (size_t)mid, (size_t)lo);
		if (v[hi] < v[lo])
			swap(v, (size_t)hi, (size_t)lo);
		if (v[hi] < v[mid])
			swap(v, (size_t)hi, (size_t)mid);
		pivot = v[mid];
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j)
				swap(v, (size_t)i++, (size_t)j--);
		}
		/* now v[lo..j] <= pivot <= v[i..hi] and j < i */
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break; /* between j and i: equal to the pivot */
	}
	return v[k];
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
