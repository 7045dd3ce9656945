/* SPDX-License-Identifier: GPL-2.0 */
/* One LB's weights at every control step of a run, as CSV, and their plot (gnuplot PNG). */
#ifndef MARLLB_SIM_WEIGHTS_TRACE_H
#define MARLLB_SIM_WEIGHTS_TRACE_H

#include <stdio.h>

#include "sim/sim.h"

struct weights_trace {
	FILE *fp;
	int lb, n;
	int failed;
};

/* Opens path for LB lb's n weights and hooks cfg's control steps to it. Returns 0 or -1
 * after printing why. */
int weights_trace_open(struct weights_trace *w, const char *path, int lb, struct sim_config *cfg);
/* Returns 0, or -1 when a write failed. */
int weights_trace_close(struct weights_trace *w);

/*
 * Plots csv (written by a trace of cfg's run) to png: one line per server, the servers a
 * capacity change touches drawn thick, each change marked with a dashed line. Returns 0
 * or -1 (gnuplot missing or failing, printed).
 */
int weights_trace_plot(const char *csv, const char *png, const struct sim_config *cfg, int lb,
		       const char *title);

#endif /* MARLLB_SIM_WEIGHTS_TRACE_H */
