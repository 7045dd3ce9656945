/* SPDX-License-Identifier: GPL-2.0 */
/* The task stream: arrival times (Poisson or a trace), LB hash and work of each task. */
#ifndef MARLLB_SIM_WORKLOAD_H
#define MARLLB_SIM_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "sim/rng.h"

struct sim_config;

struct task_spec {
	double t;		/* arrival time (s) */
	double cpu, io;		/* total work (s) */
	uint32_t lb;		/* upstream ECMP: which LB sees the flow */
	uint32_t flow_hash;	/* 5-tuple hash, for ECMP to servers */
};

struct workload {
	struct rng rng;
	double rate;		/* Poisson arrivals/s */
	double cpu_mean, io_mean, shape;
	int dist, n_lbs;
	double last_t;
	/* trace: arrival offsets and CPU work, replayed in a loop */
	double *trace_t, *trace_cpu;
	size_t trace_len, trace_next;
	double trace_period, trace_offset;
};

/* Returns 0, or -errno with a sentence in err (unreadable or malformed trace). */
int workload_init(struct workload *w, const struct sim_config *cfg, char *err, size_t err_len);
void workload_free(struct workload *w);
void workload_next(struct workload *w, struct task_spec *spec);
/* One draw of work with the given mean from the configured distribution. */
double workload_draw(struct workload *w, double mean);

/*
 * Reads a trace ("time\tquery" header, rows "<offset s>\t/dummy.php/?n=<iterations>").
 * On success *t and *n hold len rows in time order (caller frees).
 */
int trace_read(const char *path, double **t, double **n, size_t *len, char *err, size_t err_len);

#endif /* MARLLB_SIM_WORKLOAD_H */
