// SPDX-License-Identifier: GPL-2.0
/* The best static weight vector, by search on selection streams (best_static.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/best_static.h"
#include "sim/seeds.h"

#define MAX_DESCENT_CLASSES 8

void best_static_opts_default(struct best_static_opts *o)
{
	*o = (struct best_static_opts){
		.seed = SEED_SELECT_BASE,
		.seeds = 3,
		.grid = 21,
		.beta_max = 2,
		.refine = 4,
		.descent_passes = 2,
	};
}

/* p / q for some p, q <= max_pq, to the last bits of a double. */
static bool rational(double r, int max_pq)
{
	for (int q = 1; q <= max_pq; q++) {
		double p = r * q, rp = round(p);

		if (rp >= 1 && rp <= max_pq && fabs(p - rp) <= 1e-12 * p)
			return true;
	}
	return false;
}

/* The larger weight of a tied pair of unequal weights, or -1. */
static int tied_pair(const double *w, int n, int max_pq)
{
	for (int a = 0; a < n; a++) {
		for (int b = 0; b < n; b++) {
			if (!(w[a] > w[b] * (1 + 1e-12)))
				continue; /* equal weights tie by design: the same class */
			if (rational(w[a] / w[b], max_pq))
				return a;
		}
	}
	return -1;
}

bool best_static_tied(const double *w, int n, int max_pq)
{
	return tied_pair(w, n, max_pq) >= 0;
}

void best_static_untie(double *w, int n, int max_pq)
{
	for (int guard = 0; guard < 1000; guard++) {
		int a = tied_pair(w, n, max_pq);
		double v;

		if (a < 0)
			return;
		/* every server of that weight moves together: a class stays one class */
		v = w[a];
		for (int k = 0; k < n; k++)
			if (w[k] == v)
				w[k] = v * (1 + 1e-6);
	}
}

struct search {
	struct sim_config cfg; /* sed, no changes; seeds set per run */
	const struct best_static_opts *o;
	int n, classes, cls[SIM_MAX_SERVERS];
	double cap[SIM_MAX_SERVERS]; /* per class, the least 1 */
	int evaluations, max_pq;
	char *err;
	size_t err_len;
	double best, best_beta, best_u[SIM_MAX_SERVERS]; /* the best so far */
};

/* Mean TCT of class weights u over the selection streams; < 0 on failure. */
static double evaluate(struct search *x, const double *u)
{
	double sum = 0;

	for (int k = 0; k < x->n; k++)
		x->cfg.weights[k] = u[x->cls[k]];
	best_static_untie(x->cfg.weights, x->n, x->max_pq);
	for (int i = 0; i < x->o->seeds; i++) {
		struct sim *s;
		int ret;

		x->cfg.seed = x->cfg.policy_seed = x->o->seed + i;
		s = sim_create(&x->cfg, x->err, x->err_len);
		if (!s)
			return -1;
		ret = sim_run(s);
		if (!ret)
			sum += stats_mean_tct(sim_stats(s));
		sim_free(s);
		if (ret) {
			snprintf(x->err, x->err_len, "simulation failed: %s", strerror(-ret));
			return -1;
		}
	}
	x->evaluations++;
	return sum / x->o->seeds;
}

static void beta_weights(const struct search *x, double beta, double *u)
{
	for (int c = 0; c < x->classes; c++)
		u[c] = pow(x->cap[c], beta);
}

/* Servers with the same workers, speed and IO speed form a class. */
static void find_classes(struct search *x)
{
	int rep[SIM_MAX_SERVERS];
	const struct sim_config *c = &x->cfg;
	double least = INFINITY, w[SIM_MAX_SERVERS];
	struct sim_config tmp = *c;

	sim_config_capacity_weights(&tmp); /* true capacities, on each server's bottleneck */
	memcpy(w, tmp.weights, sizeof(w));
	x->classes = 0;
	for (int k = 0; k < x->n; k++) {
		int j;

		for (j = 0; j < x->classes; j++) {
			int r = rep[j];

			if (c->workers[r] == c->workers[k] && c->speed[r] == c->speed[k] &&
			    sim_config_io_speed(c, r) == sim_config_io_speed(c, k))
				break;
		}
		if (j == x->classes) {
			rep[j] = k;
			x->cap[j] = w[k];
			least = fmin(least, w[k]);
			x->classes++;
		}
		x->cls[k] = j;
	}
	for (int j = 0; j < x->classes; j++)
		x->cap[j] /= least;
}

/* Runs class weights u; keeps them (and beta) when better than the best so far. */
static int try_vector(struct search *x, const double *u, double beta)
{
	double v = evaluate(x, u);

	if (v < 0)
		return -EIO;
	if (v < x->best) {
		x->best = v;
		x->best_beta = beta;
		memcpy(x->best_u, u, sizeof(double) * x->classes);
	}
	return 0;
}

static int try_beta(struct search *x, double beta)
{
	double u[SIM_MAX_SERVERS];

	beta_weights(x, beta, u);
	return try_vector(x, u, beta);
}

int best_static_search(const struct sim_config *cfg, const struct best_static_opts *o,
		       struct best_static *out, char *err, size_t err_len)
{
	struct search x = { .cfg = *cfg,
			    .o = o,
			    .n = cfg->n_servers,
			    .err = err,
			    .err_len = err_len,
			    .best = INFINITY };
	double u[SIM_MAX_SERVERS], step = o->beta_max / o->grid;

	x.cfg.policy = POLICY_SED;
	x.cfg.n_changes = 0;
	x.cfg.window_start = x.cfg.window_end = 0;
	x.cfg.probe_reward = false;
	x.max_pq = 4 * cfg->resident_cap;
	find_classes(&x);
	memset(out, 0, sizeof(*out));
	out->classes = x.classes;

	/* all equal (lsq) is a candidate, and with one class the only one */
	if (try_beta(&x, 0))
		return -EIO;
	/* an offset grid: no point at beta 0 or 1, where ratios are exact; then finer
	 * steps around the best */
	for (int i = 0; i < o->grid && x.classes > 1; i++)
		if (try_beta(&x, o->beta_max * (i + 0.5 + 0.0381966) / o->grid))
			return -EIO;
	for (int r = 0; r < o->refine && x.classes > 1; r++) {
		double centre = x.best_beta;

		step /= 2;
		if ((centre - step > 0 && try_beta(&x, centre - step)) ||
		    try_beta(&x, centre + step))
			return -EIO;
	}
	out->beta = x.best_beta;
	/* with a few classes, each class's weight on its own */
	if (x.classes >= 3 && x.classes <= MAX_DESCENT_CLASSES) {
		double delta = 0.2;

		for (int pass = 0; pass < o->descent_passes; pass++, delta /= 2) {
			for (int c = 0; c < x.classes; c++) {
				for (int sgn = -1; sgn <= 1; sgn += 2) {
					memcpy(u, x.best_u, sizeof(double) * x.classes);
					u[c] *= exp(sgn * delta);
					if (try_vector(&x, u, x.best_beta))
						return -EIO;
				}
			}
		}
	}
	for (int k = 0; k < x.n; k++)
		out->weights[k] = x.best_u[x.cls[k]];
	best_static_untie(out->weights, x.n, x.max_pq);
	out->score = x.best;
	out->evaluations = x.evaluations;
	return 0;
}
