/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The feature reducer: turns the data plane's samples into one observation per control
 * step. One code path for marllbd and the simulator (tools/sim).
 *
 * Observation layout (obs_dim = 7N + 5 for N servers), all times in seconds:
 *   [6k + 0..5]  server k: open flows q_k, and of its recent task-duration samples:
 *                mean, p90, standard deviation, discounted mean, weighted discounted mean
 *   [6N + 0..4]  LB level, the same five reductions of new-flow inter-arrival times
 *   [6N + 5 + k] previous action (weight of server k)
 *
 * A sample of age d seconds weighs f = gamma_d^d. Discounted mean = sum f v / sum f over the
 * samples that exist (never over empty slots). Weighted discounted mean = sum f v^2 / sum f v:
 * the discounted mean with each sample also weighted by its own duration, so that the long
 * tasks that drive makespan dominate it.
 */
#ifndef MARLLB_FEATURES_H
#define MARLLB_FEATURES_H

#include <stdint.h>

struct features;

struct features_config {
	int n_servers;
	int window;		/* recent samples kept per server and for arrivals (default 64) */
	double gamma_d;		/* discount per second of sample age (default 0.9) */
	double max_age;		/* samples older than this (s) are dropped (default 10) */
	double step;		/* the caller's control step (s), the time scale of one
				 * policy feature (default LEARN_STEP_DEFAULT, 0.25) */
	double recent;		/* "recent" samples for the trend feature are this young (s;
				 * default 1) */
};

#define FEATURES_PER_SERVER 6
#define FEATURES_LB 5
static inline int features_obs_dim(int n_servers)
{
	return (FEATURES_PER_SERVER + 1) * n_servers + FEATURES_LB;
}

void features_config_default(struct features_config *cfg, int n_servers);
struct features *features_create(const struct features_config *cfg);
void features_free(struct features *f);

/* Sample intake; t is the sample's timestamp in seconds (any monotonic origin). */
void features_add_task_duration(struct features *f, int server, double t, double seconds);
void features_add_flow_completion(struct features *f, int server, double t, double seconds);
void features_add_arrival(struct features *f, double t);
void features_set_open_flows(struct features *f, int server, double q);

/* Writes features_obs_dim(n) floats reduced at time now. prev_action has n floats. */
void features_observe(struct features *f, double now, const float *prev_action, float *obs);

/* The reward's per-server load signal l_k: discounted mean task duration at time now.
 * has_sample[k] is set to 1 where server k has at least one sample in its window. */
void features_load_signal(const struct features *f, double now, double *l, uint8_t *has_sample);

int features_n_servers(const struct features *f);

/*
 * The policy's observation: FEATURES_POLICY unit-free floats per server, so that one model
 * reads pools of any size, any task length and any load alike. Means are over the active
 * servers (A), or over the active servers with task-duration samples (S); d_k is server k's
 * discounted mean task duration. Inactive servers get zeros.
 *
 *   0  log(d_k / mean_S d)                  where k is slower or faster than the pool
 *   1  1 if k has samples (k in S)
 *   2  log((q_k + 1) / mean_A (q + 1))      its share of this LB's open flows
 *   3  log w_k - mean_A log w               the weight written last step (prev_weights)
 *   4  log c_k - mean_A log c               the configured weight (config_weights)
 *   5  log((q_k + 1) / d_k), centred on S   Little's law: flows per second of delay ~ speed
 *   6  log(p90_k / d_k)                     spread of its durations
 *   7  log(1 + samples since the last call) how much is new
 *   8  log(recent mean / d_k)               trend: the last `recent` seconds against d_k
 *   9  log(1 + mean_A q)                    pool: load
 *   10 std_S of feature 0                   pool: imbalance
 *   11 log(mean_S d / step)                 pool: task time in control steps
 *   12 |S| / |A|                            pool: coverage
 *   13 log |A|                              pool: size
 * Logs of ratios are clipped to [-6, 6]. prev_weights and config_weights (n floats, > 0 for
 * active servers) may be NULL: their features are then 0. active may be NULL: all active.
 * Also resets the "samples since the last call" counts.
 */
#define FEATURES_POLICY 14
void features_policy_obs(struct features *f, double now, const float *prev_weights,
			 const float *config_weights, const uint8_t *active, float *obs);

/* The same five reductions (mean, p90, std, discounted mean, weighted discounted mean) of
 * server k's flow-completion (or task-duration) samples at time now; zeros for an empty
 * window. */
void features_flow_completion_reduce(const struct features *f, int server, double now,
				     double out[5]);
void features_task_duration_reduce(const struct features *f, int server, double now,
				   double out[5]);

#endif /* MARLLB_FEATURES_H */
