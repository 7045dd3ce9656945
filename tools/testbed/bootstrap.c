// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "learn/rng.h"
#include "../replay/stats.h"

#define BOOT_P99 0.99

void boot_config_default(struct boot_config *cfg)
{
	*cfg = (struct boot_config){ .resamples = 2000, .level = 0.95, .seed = 1 };
}

static size_t sample_total(const struct boot_sample *s, size_t *largest)
{
	size_t total = 0;

	*largest = 0;
	for (size_t r = 0; r < s->n_repeats; r++) {
		total += s->n[r];
		if (s->n[r] > *largest)
			*largest = s->n[r];
	}
	return total;
}

static int sample_check(const struct boot_sample *s)
{
	if (!s->n_repeats)
		return -EINVAL;
	for (size_t r = 0; r < s->n_repeats; r++)
		if (!s->n[r])
			return -EINVAL;
	return 0;
}

/* Statistics of a pool of m values; reorders it. */
static void pool_stats(double *pool, size_t m, double *mean, double *p99)
{
	double sum = 0;

	for (size_t i = 0; i < m; i++)
		sum += pool[i];
	*mean = sum / (double)m;
	*p99 = quantile_select(pool, m, BOOT_P99);
}

/* The statistics of all the data: every repeat's values pooled. */
static void point_stats(const struct boot_sample *s, double *pool, double *mean, double *p99)
{
	size_t m = 0;

	for (size_t r = 0; r < s->n_repeats; r++) {
		memcpy(pool + m, s->x[r], s->n[r] * sizeof(double));
		m += s->n[r];
	}
	pool_stats(pool, m, mean, p99);
}

static void draw_rounds(struct rng *g, size_t n_repeats, size_t *rounds)
{
	for (size_t r = 0; r < n_repeats; r++)
		rounds[r] = (size_t)rng_below(g, n_repeats);
}

/* One resample of s over the given rounds: requests drawn within each round. */
static void resample(const struct boot_sample *s, const size_t *rounds, struct rng *g, double *pool,
		     double *mean, double *p99)
{
	size_t m = 0;

	for (size_t r = 0; r < s->n_repeats; r++) {
		const double *x = s->x[rounds[r]];
		size_t n = s->n[rounds[r]];

		for (size_t i = 0; i < n; i++)
			pool[m++] = x[rng_below(g, n)];
	}
	pool_stats(pool, m, mean, p99);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void percentile_interval(double *draws, size_t n, double level, struct boot_interval *iv)
{
	qsort(draws, n, sizeof(*draws), cmp_double);
	iv->lo = quantile_sorted(draws, n, (1 - level) / 2);
	iv->hi = quantile_sorted(draws, n, (1 + level) / 2);
}

struct boot_work {
	double *pool_a, *pool_b, *means, *p99s;
	size_t *rounds_a, *rounds_b;
};

static void work_free(struct boot_work *w)
{
	free(w->pool_a);
	free(w->pool_b);
	free(w->means);
	free(w->p99s);
	free(w->rounds_a);
	free(w->rounds_b);
}

/* Buffers for resamples of a (and b): a pool holds all repeats at their largest size. */
static int work_alloc(struct boot_work *w, const struct boot_sample *a, const struct boot_sample *b,
		      unsigned int resamples)
{
	size_t la, lb = 0, ta = sample_total(a, &la), tb = b ? sample_total(b, &lb) : 0;
	size_t ca = a->n_repeats * la > ta ? a->n_repeats * la : ta;
	size_t cb = b ? (b->n_repeats * lb > tb ? b->n_repeats * lb : tb) : 1;

	memset(w, 0, sizeof(*w));
	w->pool_a = malloc(ca * sizeof(double));
	w->pool_b = malloc(cb * sizeof(double));
	w->means = malloc(resamples * sizeof(double));
	w->p99s = malloc(resamples * sizeof(double));
	w->rounds_a = malloc(a->n_repeats * sizeof(size_t));
	w->rounds_b = malloc((b ? b->n_repeats : 1) * sizeof(size_t));
	if (!w->pool_a || !w->pool_b || !w->means || !w->p99s || !w->rounds_a || !w->rounds_b) {
		work_free(w);
		return -ENOMEM;
	}
	return 0;
}

int boot_policy(const struct boot_sample *s, const struct boot_config *cfg, struct boot_stats *out)
{
	struct boot_work w;
	struct rng g;
	int err = sample_check(s);

	if (err || !cfg->resamples)
		return -EINVAL;
	err = work_alloc(&w, s, NULL, cfg->resamples);
	if (err)
		return err;
	point_stats(s, w.pool_a, &out->mean.point, &out->p99.point);
	rng_seed(&g, cfg->seed);
	for (unsigned int b = 0; b < cfg->resamples; b++) {
		draw_rounds(&g, s->n_repeats, w.rounds_a);
		resample(s, w.rounds_a, &g, w.pool_a, &w.means[b], &w.p99s[b]);
	}
	percentile_interval(w.means, cfg->resamples, cfg->level, &out->mean);
	percentile_interval(w.p99s, cfg->resamples, cfg->level, &out->p99);
	work_free(&w);
	return 0;
}

int boot_ratio(const struct boot_sample *a, const struct boot_sample *b,
	       const struct boot_config *cfg, struct boot_stats *out)
{
	bool paired = a->n_repeats == b->n_repeats;
	double mean_a, p99_a, mean_b, p99_b;
	struct boot_work w;
	struct rng g;
	int err = sample_check(a) ?: sample_check(b);

	if (err || !cfg->resamples)
		return -EINVAL;
	err = work_alloc(&w, a, b, cfg->resamples);
	if (err)
		return err;
	point_stats(a, w.pool_a, &mean_a, &p99_a);
	point_stats(b, w.pool_b, &mean_b, &p99_b);
	out->mean.point = mean_a / mean_b;
	out->p99.point = p99_a / p99_b;
	rng_seed(&g, cfg->seed);
	for (unsigned int i = 0; i < cfg->resamples; i++) {
		draw_rounds(&g, a->n_repeats, w.rounds_a);
		if (paired)
			memcpy(w.rounds_b, w.rounds_a, b->n_repeats * sizeof(size_t));
		else
			draw_rounds(&g, b->n_repeats, w.rounds_b);
		resample(a, w.rounds_a, &g, w.pool_a, &mean_a, &p99_a);
		resample(b, w.rounds_b, &g, w.pool_b, &mean_b, &p99_b);
		w.means[i] = mean_a / mean_b;
		w.p99s[i] = p99_a / p99_b;
	}
	percentile_interval(w.means, cfg->resamples, cfg->level, &out->mean);
	percentile_interval(w.p99s, cfg->resamples, cfg->level, &out->p99);
	work_free(&w);
	return 0;
}
