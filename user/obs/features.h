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

/* The same five reductions (mean, p90, std, discounted mean, weighted discounted mean) of
 * server k's flow-completion samples at time now; zeros for an empty window. */
void features_flow_completion_reduce(const struct features *f, int server, double now,
				     double out[5]);

#endif /* MARLLB_FEATURES_H */
