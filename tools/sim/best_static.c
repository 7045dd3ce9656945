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

struct search {
	struct sim_config cfg; /* sed, no changes; seeds set per run */
	const struct best_static_opts *o;
	int n, classes, cls[SIM_MAX_SERVERS];
	double cap[SIM_MAX_SERVERS]; /* per class, the least 1 */
	int evaluations;
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

static int gcd(int a, int b)
{
	return b ? gcd(b, a % b) : a;
}

/*
 * Two classes: the rule's choices change only where the fast/slow weight ratio crosses a
 * ratio (q_fast + 1) / (q_slow + 1) of open-flow counts, and the small ones matter most:
 * between two such ratios the mean TCT is flat, at each it jumps. So try every p/q with
 * q <= q_max within [best / window, best x window]: a relative 1e-3 below it, above it, and
 * on it (where ties are broken at random, a mix of both sides that can beat either).
 */
static int try_rationals(struct search *x, int q_max, double window)
{
	double span = log(x->cap[1] > x->cap[0] ? x->cap[1] / x->cap[0] : x->cap[0] / x->cap[1]),
	       centre = exp(x->best_beta * span);

	for (int q = 1; q <= q_max; q++) {
		for (int p = (int)ceil(centre / window * q); p <= (int)floor(centre * window * q);
		     p++) {
			if (gcd(p, q) != 1)
				continue;
			for (int side = -1; side <= 1; side++) {
				double r = (double)p / q * (1 + side * 1e-3);

				if (r > 1 && try_beta(x, log(r) / span))
					return -EIO;
			}
		}
	}
	return 0;
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
	/* two classes: small ratios p/q around the grid's best, then finer ones closer */
	if (x.classes == 2 && (try_rationals(&x, 4, 2) || try_rationals(&x, 8, 1.15)))
		return -EIO;
	for (int r = 0; r < o->refine && x.classes > 2; r++) {
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
	out->score = x.best;
	out->evaluations = x.evaluations;
	return 0;
}
