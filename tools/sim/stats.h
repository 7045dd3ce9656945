/* SPDX-License-Identifier: GPL-2.0 */
/* Run statistics: counters and a log-bucketed histogram of task completion times. */
#ifndef MARLLB_SIM_STATS_H
#define MARLLB_SIM_STATS_H

#include <stdint.h>
#include <stdio.h>

/* 100 buckets per decade from 1e-5 s to 1e5 s: quantiles within 2.3 %. */
#define HIST_MIN 1e-5
#define HIST_DECADES 10
#define HIST_PER_DECADE 100
#define HIST_BUCKETS (HIST_DECADES * HIST_PER_DECADE + 2)

struct histogram {
	uint64_t count;
	uint64_t bucket[HIST_BUCKETS]; /* [0] below HIST_MIN, [last] above the top */
};

void hist_add(struct histogram *h, double v);
/* q in [0, 1]; 0 for an empty histogram */
double hist_quantile(const struct histogram *h, double q);
/* Upper edge of bucket b (seconds). */
double hist_bucket_top(int b);

struct sim_stats {
	uint64_t generated; /* tasks created */
	uint64_t accepted; /* tasks a server took */
	uint64_t rejected; /* tasks refused: server full */
	uint64_t completed; /* tasks that left after their last stage */
	uint64_t in_flight; /* accepted and not completed at the end */
	uint64_t events; /* events processed */
	/* measured tasks: arrived after warmup; a rejection counts with the timeout */
	uint64_t measured;
	double tct_sum, tct_sq_sum;
	struct histogram tct;
	struct { /* measured tasks that arrived in cfg.window_start..window_end */
		uint64_t measured;
		double tct_sum;
		struct histogram tct;
	} window;
	double duration_sum; /* task duration samples of measured tasks */
	uint64_t duration_count;
	/* Little's law over the whole run, accepted tasks only */
	double resident_integral; /* integral of tasks resident on servers over time */
	double sojourn_sum; /* of every completed task */
	double end_time;
	/* marl: reward earned per control step, summed over LBs and steps */
	double reward_sum;
	uint64_t reward_count;
};

double stats_mean_tct(const struct sim_stats *st);
double stats_p99_tct(const struct sim_stats *st);
/* The same over the window (0 when it measured nothing). */
double stats_window_mean_tct(const struct sim_stats *st);
double stats_window_p99_tct(const struct sim_stats *st);

/* Mean over n runs, and a 95 % confidence interval for it (Student t over the runs). */
struct mean_ci {
	double mean, lo, hi;
};

/* Two-sided 95 % quantile of Student's t with df degrees of freedom. */
double t_quantile_975(int df);
void mean_ci(const double *x, int n, struct mean_ci *out);
/* Paired per-run ratios a[i] / b[i] (the same task stream for both): their mean and CI. */
void paired_ratio_ci(const double *a, const double *b, int n, struct mean_ci *out);

#endif /* MARLLB_SIM_STATS_H */
