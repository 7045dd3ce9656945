// SPDX-License-Identifier: GPL-2.0
/*
 * Feature reducer: ring buffers of recent samples, reduced once per control step.
 * Only samples that exist and are at most max_age old take part in a reduction; an empty
 * window reduces to zeros.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "obs/features.h"

struct sample_ring {
	double *t; /* sample timestamps (s) */
	double *v; /* sample values (s) */
	int head; /* next slot to write */
	int count; /* valid samples, <= window */
};

struct features {
	struct features_config cfg;
	struct sample_ring *duration; /* per server: task durations */
	struct sample_ring *completion; /* per server: flow completion times */
	struct sample_ring arrivals; /* LB level: new-flow inter-arrival times */
	double last_arrival;
	int have_arrival;
	double *open_flows;
	int *fresh; /* per server: task durations added since the last policy observation */
	double *scratch; /* window values, sorted for the percentile */
	double *rings; /* one allocation behind every ring */
};

void features_config_default(struct features_config *cfg, int n_servers)
{
	cfg->n_servers = n_servers;
	cfg->window = 64;
	cfg->gamma_d = 0.9;
	cfg->max_age = 10.0;
	cfg->step = 0.25;
	cfg->recent = 1.0;
}

struct features *features_create(const struct features_config *cfg)
{
	int n = cfg->n_servers, w = cfg->window, rings = 2 * n + 1;
	struct features *f;
	double *mem;

	if (n < 1 || w < 1 || !(cfg->gamma_d > 0.0 && cfg->gamma_d <= 1.0) ||
	    !(cfg->max_age > 0.0) || !(cfg->step > 0.0) || !(cfg->recent > 0.0)) {
		errno = EINVAL;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->cfg = *cfg;
	f->duration = calloc(n, sizeof(*f->duration));
	f->completion = calloc(n, sizeof(*f->completion));
	f->open_flows = calloc(n, sizeof(*f->open_flows));
	f->fresh = calloc(n, sizeof(*f->fresh));
	f->scratch = calloc(w, sizeof(*f->scratch));
	f->rings = calloc((size_t)rings * 2 * w, sizeof(*f->rings));
	if (!f->duration || !f->completion || !f->open_flows || !f->fresh || !f->scratch ||
	    !f->rings) {
		features_free(f);
		errno = ENOMEM;
		return NULL;
	}
	mem = f->rings;
	for (int k = 0; k < n; k++) {
		f->duration[k].t = mem, mem += w;
		f->duration[k].v = mem, mem += w;
		f->completion[k].t = mem, mem += w;
		f->completion[k].v = mem, mem += w;
	}
	f->arrivals.t = mem, mem += w;
	f->arrivals.v = mem;
	return f;
}

void features_free(struct features *f)
{
	if (!f)
		return;
	free(f->duration);
	free(f->completion);
	free(f->open_flows);
	free(f->fresh);
	free(f->scratch);
	free(f->rings);
	free(f);
}

static void ring_push(struct sample_ring *r, int window, double t, double v)
{
	r->t[r->head] = t;
	r->v[r->head] = v;
	r->head = (r->head + 1) % window;
	if (r->count < window)
		r->count++;
}

/* Bad samples (unknown server, NaN, negative duration) are dropped: they change nothing. */
static int sample_ok(const struct features *f, int server, double t, double v)
{
	return server >= 0 && server < f->cfg.n_servers && isfinite(t) && isfinite(v) && v >= 0.0;
}

void features_add_task_duration(struct features *f, int server, double t, double seconds)
{
	if (sample_ok(f, server, t, seconds)) {
		ring_push(&f->duration[server], f->cfg.window, t, seconds);
		f->fresh[server]++;
	}
}

void features_add_flow_completion(struct features *f, int server, double t, double seconds)
{
	if (sample_ok(f, server, t, seconds))
		ring_push(&f->completion[server], f->cfg.window, t, seconds);
}

void features_add_arrival(struct features *f, double t)
{
	if (!isfinite(t))
		return;
	if (f->have_arrival && t >= f->last_arrival)
		ring_push(&f->arrivals, f->cfg.window, t, t - f->last_arrival);
	if (!f->have_arrival || t >= f->last_arrival)
		f->last_arrival = t;
	f->have_arrival = 1;
}

void features_set_open_flows(struct features *f, int server, double q)
{
	if (server >= 0 && server < f->cfg.n_servers && isfinite(q) && q >= 0.0)
		f->open_flows[server] = q;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * out[0..4] = mean, p90, standard deviation (population), discounted mean, weighted
 * discounted mean of the ring's live samples at time now. p90 interpolates linearly
 * between order statistics (position 0.9 (n - 1), as numpy's default).
 */
static void ring_reduce(const struct features *f, const struct sample_ring *r, double now,
			double *out)
{
	double sum = 0, sum_sq = 0, fsum = 0, fv = 0, fvv = 0, log_gamma = log(f->cfg.gamma_d);
	int n = 0;

	for (int i = 0; i < r->count; i++) {
		double age = now - r->t[i], v = r->v[i], w;

		if (age > f->cfg.max_age)
			continue;
		if (age < 0)
			age = 0; /* a sample stamped just after now counts as fresh */
		w = exp(log_gamma * age);
		f->scratch[n++] = v;
		sum += v;
		sum_sq += v * v;
		fsum += w;
		fv += w * v;
		fvv += w * v * v;
	}
	if (n == 0) {
		memset(out, 0, 5 * sizeof(*out));
		return;
	}
	qsort(f->scratch, n, sizeof(*f->scratch), cmp_double);
	double pos = 0.9 * (n - 1), frac = pos - floor(pos);
	int lo = (int)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
	double mean = sum / n, var = sum_sq / n - mean * mean;

	out[0] = mean;
	out[1] = f->scratch[lo] + frac * (f->scratch[hi] - f->scratch[lo]);
	out[2] = var > 0 ? sqrt(var) : 0.0;
	out[3] = fsum > 0 ? fv / fsum : 0.0;
	out[4] = fv > 0 ? fvv / fv : 0.0;
}

void features_observe(struct features *f, double now, const float *prev_action, float *obs)
{
	int n = f->cfg.n_servers;
	double red[5];

	for (int k = 0; k < n; k++) {
		float *o = obs + FEATURES_PER_SERVER * k;

		ring_reduce(f, &f->duration[k], now, red);
		o[0] = (float)f->open_flows[k];
		for (int j = 0; j < 5; j++)
			o[1 + j] = (float)red[j];
	}
	ring_reduce(f, &f->arrivals, now, red);
	for (int j = 0; j < FEATURES_LB; j++)
		obs[FEATURES_PER_SERVER * n + j] = (float)red[j];
	for (int k = 0; k < n; k++)
		obs[FEATURES_PER_SERVER * n + FEATURES_LB + k] = prev_action ? prev_action[k] :
									       0.0f;
}

void features_load_signal(const struct features *f, double now, double *l, uint8_t *has_sample)
{
	double log_gamma = log(f->cfg.gamma_d);

	for (int k = 0; k < f->cfg.n_servers; k++) {
		const struct sample_ring *r = &f->duration[k];
		double fsum = 0, fv = 0;
		int n = 0;

		for (int i = 0; i < r->count; i++) {
			double age = now - r->t[i], w;

			if (age > f->cfg.max_age)
				continue;
			w = exp(log_gamma * (age < 0 ? 0 : age));
			fsum += w;
			fv += w * r->v[i];
			n++;
		}
		l[k] = fsum > 0 ? fv / fsum : 0.0;
		if (has_sample)
			has_sample[k] = n > 0;
	}
}

void features_flow_completion_reduce(const struct features *f, int server, double now,
				     double out[5])
{
	if (server < 0 || server >= f->cfg.n_servers) {
		memset(out, 0, 5 * sizeof(*out));
		return;
	}
	ring_reduce(f, &f->completion[server], now, out);
}

void features_task_duration_reduce(const struct features *f, int server, double now,
				   double out[5])
{
	if (server < 0 || server >= f->cfg.n_servers) {
		memset(out, 0, 5 * sizeof(*out));
		return;
	}
	ring_reduce(f, &f->duration[server], now, out);
}

int features_n_servers(const struct features *f)
{
	return f->cfg.n_servers;
}

static float clip_log(double x)
{
	if (!(x > -6.0)) /* also NaN */
		return -6.0f;
	return x < 6.0 ? (float)x : 6.0f;
}

/* Mean of server k's samples of age <= recent, or 0 with none. */
static double ring_recent_mean(const struct features *f, const struct sample_ring *r, double now)
{
	double sum = 0;
	int n = 0;

	for (int i = 0; i < r->count; i++) {
		if (now - r->t[i] <= f->cfg.recent) {
			sum += r->v[i];
			n++;
		}
	}
	return n ? sum / n : 0.0;
}

void features_policy_obs(struct features *f, double now, const float *prev_weights,
			 const float *config_weights, const uint8_t *active, float *obs)
{
	const int n = f->cfg.n_servers, F = FEATURES_POLICY;
	const double tiny = 1e-9;
	double red[5], mean_q1 = 0, mean_q = 0, mean_d = 0, mean_cap = 0, mean_lw = 0,
		       mean_lc = 0, sum_rel = 0, sum_rel2 = 0;
	int n_act = 0, n_smp = 0;

	memset(obs, 0, (size_t)n * F * sizeof(*obs));
	/* first pass: per-server reductions into the row, and the pool's sums */
	for (int k = 0; k < n; k++) {
		float *o = obs + (size_t)k * F;
		double q = f->open_flows[k];

		if (active && !active[k])
			continue;
		n_act++;
		mean_q += q;
		mean_q1 += q + 1.0;
		if (prev_weights)
			mean_lw += log(fmax(prev_weights[k], tiny));
		if (config_weights)
			mean_lc += log(fmax(config_weights[k], tiny));
		ring_reduce(f, &f->duration[k], now, red);
		if (red[3] <= 0.0)
			continue; /* no live sample (durations are > 0 in practice) */
		n_smp++;
		o[1] = 1.0f;
		/* stash d_k, p90_k and the recent mean in the row until the second pass */
		o[0] = (float)red[3];
		o[6] = clip_log(log(fmax(red[1], tiny) / red[3]));
		o[8] = (float)ring_recent_mean(f, &f->duration[k], now);
		mean_d += red[3];
		mean_cap += log((q + 1.0) / red[3]);
	}
	if (!n_act)
		goto out;
	mean_q /= n_act;
	mean_q1 /= n_act;
	mean_lw /= n_act;
	mean_lc /= n_act;
	if (n_smp) {
		mean_d /= n_smp;
		mean_cap /= n_smp;
	}
	for (int k = 0; k < n; k++) {
		float *o = obs + (size_t)k * F;
		double q = f->open_flows[k];

		if (active && !active[k])
			continue;
		if (o[1] != 0.0f) {
			double d = o[0], recent = o[8];

			o[0] = clip_log(log(d / mean_d));
			o[5] = clip_log(log((q + 1.0) / d) - mean_cap);
			o[8] = recent > 0.0 ? clip_log(log(recent / d)) : 0.0f;
			sum_rel += o[0];
			sum_rel2 += (double)o[0] * o[0];
		}
		o[2] = clip_log(log((q + 1.0) / mean_q1));
		if (prev_weights)
			o[3] = clip_log(log(fmax(prev_weights[k], tiny)) - mean_lw);
		if (config_weights)
			o[4] = clip_log(log(fmax(config_weights[k], tiny)) - mean_lc);
		o[7] = (float)log1p(f->fresh[k]);
	}
	for (int k = 0; k < n; k++) {
		float *o = obs + (size_t)k * F;
		double m = n_smp ? sum_rel / n_smp : 0.0, var = n_smp ? sum_rel2 / n_smp - m * m : 0;

		if (active && !active[k])
			continue;
		o[9] = (float)log1p(mean_q);
		o[10] = (float)sqrt(var > 0 ? var : 0);
		o[11] = n_smp ? clip_log(log(mean_d / f->cfg.step)) : 0.0f;
		o[12] = (float)n_smp / n_act;
		o[13] = (float)log(n_act);
	}
out:
	memset(f->fresh, 0, (size_t)n * sizeof(*f->fresh));
}
