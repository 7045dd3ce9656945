// SPDX-License-Identifier: GPL-2.0
/* Weights over time (weights_trace.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cmds.h"
#include "sim/weights_trace.h"

static void trace_step(const struct sim *s, void *ctx)
{
	struct weights_trace *w = ctx;
	const double *a = sim_lb_weights(s, w->lb);

	if (fprintf(w->fp, "%.3f", sim_now(s)) < 0)
		w->failed = 1;
	for (int k = 0; k < w->n; k++)
		fprintf(w->fp, ",%.5g", a[k]);
	fputc('\n', w->fp);
}

int weights_trace_open(struct weights_trace *w, const char *path, int lb, struct sim_config *cfg)
{
	memset(w, 0, sizeof(*w));
	if (lb < 0 || lb >= cfg->n_lbs) {
		fprintf(stderr, "marllb-sim: --weights-lb %d: the run has LBs 0..%d\n", lb,
			cfg->n_lbs - 1);
		return -1;
	}
	w->fp = fopen(path, "w");
	if (!w->fp) {
		fprintf(stderr, "marllb-sim: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	w->lb = lb;
	w->n = cfg->n_servers;
	fprintf(w->fp, "t");
	for (int k = 0; k < w->n; k++)
		fprintf(w->fp, ",w%d", k);
	fputc('\n', w->fp);
	cfg->step_hook = trace_step;
	cfg->step_hook_ctx = w;
	return 0;
}

int weights_trace_close(struct weights_trace *w)
{
	int ret = w->failed || ferror(w->fp);

	if (fclose(w->fp))
		ret = 1;
	w->fp = NULL;
	return ret ? -1 : 0;
}

static bool changed(const struct sim_config *cfg, int k)
{
	for (int i = 0; i < cfg->n_changes; i++)
		if (cfg->changes[i].server == k)
			return true;
	return false;
}

int weights_trace_plot(const char *csv, const char *png, const struct sim_config *cfg, int lb,
		       const char *title)
{
	size_t cap = 4096 + 160 * (size_t)(cfg->n_servers + cfg->n_changes), len;
	char *script = malloc(cap);
	int ret;

	if (!script)
		return -1;
	len = snprintf(script, cap,
		       "set terminal pngcairo size 1000,500 noenhanced\n"
		       "set output '%s'\n"
		       "set datafile separator ','\nset grid\nset logscale y 2\n"
		       "set key outside right font ',8'\n"
		       "set title '%s (LB %d)'\n"
		       "set xlabel 'time (s)'\nset ylabel 'weight a_k'\n",
		       png, title, lb);
	/* one dashed line per change time, labelled with the servers and their speeds */
	for (int i = 0; i < cfg->n_changes && len < cap; i++) {
		double t = cfg->changes[i].t;
		bool first = true;

		for (int j = 0; j < i; j++)
			first &= cfg->changes[j].t != t;
		if (!first)
			continue;
		len += snprintf(script + len, cap - len,
				"set arrow from %g, graph 0 to %g, graph 1 nohead dt 2 lw 2 "
				"lc rgb 'red'\nset label 'speeds ",
				t, t);
		for (int j = i, shown = 0; j < cfg->n_changes && len < cap; j++)
			if (cfg->changes[j].t == t && shown++ < 4)
				len += snprintf(script + len, cap - len, "%s%d: %g",
						shown > 1 ? ", " : "", cfg->changes[j].server,
						cfg->changes[j].speed);
		len += snprintf(script + len, cap - len,
				"' at %g, graph 0.97 left offset 0.5,0 tc rgb 'red' font ',8'\n",
				t);
	}
	len += snprintf(script + len, cap - len, "plot ");
	for (int k = 0; k < cfg->n_servers && len < cap; k++) {
		bool thick = changed(cfg, k);

		len += snprintf(script + len, cap - len,
				"'%s' using 1:%d skip 1 with lines lw %d title '%d: %d x %g%s'%s",
				csv, k + 2, thick ? 3 : 1, k, cfg->workers[k], cfg->speed[k],
				thick ? ", changed" : "", k + 1 < cfg->n_servers ? ", " : "\n");
	}
	ret = len < cap ? gnuplot_run(script) : -1;
	free(script);
	return ret;
}
