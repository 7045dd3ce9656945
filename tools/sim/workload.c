// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"
#include "sim/workload.h"

double workload_draw(struct workload *w, double mean)
{
	double s = w->shape, a = w->shape;

	if (mean <= 0)
		return 0;
	switch (w->dist) {
	case DIST_LOGNORMAL:
		return mean * exp(s * rng_normal(&w->rng) - 0.5 * s * s);
	case DIST_PARETO:
		return mean * (a - 1) / a / pow(rng_uniform(&w->rng), 1.0 / a);
	case DIST_CONST:
		return mean;
	default:
		return rng_exp(&w->rng, mean);
	}
}

int trace_read(const char *path, double **t_out, double **n_out, size_t *len_out, char *err,
	       size_t err_len)
{
	FILE *fp = fopen(path, "r");
	double *t = NULL, *n = NULL, last = -INFINITY;
	size_t len = 0, cap = 0, lineno = 1;
	char line[512];
	int ret = -EINVAL;

	if (!fp) {
		ret = -errno;
		snprintf(err, err_len, "cannot open trace %s: %s", path, strerror(errno));
		return ret;
	}
	if (!fgets(line, sizeof(line), fp) || strncmp(line, "time\tquery", 10)) {
		snprintf(err, err_len, "%s: first line must be the header \"time<TAB>query\"",
			 path);
		goto out;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *tab, *q, *end;
		double tv, nv;

		lineno++;
		if (line[0] == '\n' || line[0] == '\0')
			continue;
		tv = strtod(line, &tab);
		q = tab && *tab == '\t' ? strstr(tab, "n=") : NULL;
		if (tab == line || !q || !isfinite(tv) || tv < last) {
			snprintf(err, err_len,
				 "%s:%zu: expected \"<time>\\t/dummy.php/?n=<iterations>\" with "
				 "times in order",
				 path, lineno);
			goto out;
		}
		nv = strtod(q + 2, &end);
		if (end == q + 2 || !(nv > 0) || !isfinite(nv)) {
			snprintf(err, err_len, "%s:%zu: iterations n must be a positive number",
				 path, lineno);
			goto out;
		}
		if (len == cap) {
			size_t ncap = cap ? 2 * cap : 4096;
			double *nt = realloc(t, ncap * sizeof(*t)), *nn;

			if (nt)
				t = nt;
			nn = nt ? realloc(n, ncap * sizeof(*n)) : NULL;
			if (!nt || !nn) {
				snprintf(err, err_len, "out of memory reading %s", path);
				ret = -ENOMEM;
				goto out;
			}
			n = nn;
			cap = ncap;
		}
		t[len] = tv;
		n[len] = nv;
		len++;
		last = tv;
	}
	if (len < 2) {
		snprintf(err, err_len, "%s: fewer than two requests", path);
		goto out;
	}
	*t_out = t;
	*n_out = n;
	*len_out = len;
	t = n = NULL;
	ret = 0;
out:
	free(t);
	free(n);
	fclose(fp);
	return ret;
}

int workload_init(struct workload *w, const struct sim_config *cfg, char *err, size_t err_len)
{
	memset(w, 0, sizeof(*w));
	rng_seed(&w->rng, cfg->seed, 1);
	w->rate = sim_config_rate(cfg);
	w->cpu_mean = cfg->cpu_mean;
	w->io_mean = cfg->io_mean;
	w->dist = cfg->dist;
	w->shape = cfg->dist_shape;
	w->n_lbs = cfg->n_lbs;
	if (cfg->trace) {
		double *n, n_sum = 0, scale = cfg->trace_scale;
		int ret = trace_read(cfg->trace, &w->trace_t, &n, &w->trace_len, err, err_len);

		if (ret)
			return ret;
		/* the trace loops with its own mean gap between the last and first request */
		w->trace_period = w->trace_t[w->trace_len - 1] * w->trace_len / (w->trace_len - 1);
		for (size_t i = 0; i < w->trace_len; i++)
			n_sum += n[i];
		if (!(scale > 0)) {
			/* iterations per CPU-second such that the trace offers cfg->load */
			double rate = w->trace_len / w->trace_period,
			       cpu_mean = sim_config_cpu_mean_for_rate(cfg, rate);

			if (cpu_mean <= 0) {
				snprintf(err, err_len,
					 "%s: at %.1f requests/s the IO work alone (mean %g s) "
					 "offers more than --load %g of the IO capacity",
					 cfg->trace, rate, cfg->io_mean, cfg->load);
				workload_free(w);
				free(n);
				return -EINVAL;
			}
			scale = n_sum / w->trace_len / cpu_mean;
		}
		for (size_t i = 0; i < w->trace_len; i++)
			n[i] /= scale;
		w->trace_cpu = n;
	}
	return 0;
}

void workload_free(struct workload *w)
{
	free(w->trace_t);
	free(w->trace_cpu);
	w->trace_t = w->trace_cpu = NULL;
}

void workload_next(struct workload *w, struct task_spec *spec)
{
	if (w->trace_len) {
		if (w->trace_next == w->trace_len) {
			w->trace_next = 0;
			w->trace_offset += w->trace_period;
		}
		spec->t = w->trace_offset + w->trace_t[w->trace_next];
		spec->cpu = w->trace_cpu[w->trace_next++];
	} else {
		spec->t = w->last_t + rng_exp(&w->rng, 1.0 / w->rate);
		spec->cpu = workload_draw(w, w->cpu_mean);
	}
	w->last_t = spec->t;
	spec->io = workload_draw(w, w->io_mean);
	spec->lb = rng_below(&w->rng, w->n_lbs);
	spec->flow_hash = (uint32_t)rng_next(&w->rng);
}
