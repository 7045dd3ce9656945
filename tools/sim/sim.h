/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Event-driven model of M load balancers in front of N servers (Documentation/simulator.md).
 *
 * A task arrives, is hashed to one LB, and that LB's policy picks a server from what the LB
 * itself sees. A server runs the task's stages CPU, IO, CPU: CPU on W workers (FCFS queue,
 * or processor sharing), IO on one processor-shared resource. The simulated data plane
 * emits the real one's signals to the feature reducer (user/obs): new-flow arrivals, task
 * durations (arrival to first response), flow completions (sojourn), open-flow counts.
 */
#ifndef MARLLB_SIM_H
#define MARLLB_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "obs/features.h"
#include "obs/reward.h"
#include "sim/rng.h"
#include "sim/stats.h"

#define SIM_MAX_SERVERS 1024
#define SIM_MAX_LBS 256
#define SIM_MAX_CHANGES 32

enum sim_policy {
	POLICY_ECMP,
	POLICY_WCMP,
	POLICY_LSQ,
	POLICY_SED,
	POLICY_ORACLE,
	POLICY_MARL,
	POLICY_CLAIRVOYANT,
	POLICY__COUNT
};
enum work_dist { DIST_EXP, DIST_LOGNORMAL, DIST_PARETO, DIST_CONST };
enum cpu_sharing { CPU_FCFS, CPU_PS };

struct sim;

struct capacity_change {
	double t; /* simulated time (s) */
	int server;
	double speed; /* new speed multiplier of every worker of that server */
};

struct sim_config {
	int n_lbs, n_servers;
	int workers[SIM_MAX_SERVERS]; /* CPU workers per server */
	double speed[SIM_MAX_SERVERS]; /* work done per second by one worker */
	double weights[SIM_MAX_SERVERS]; /* static weights of wcmp/sed */
	/* IO work done per second by server k's IO resource (one, processor-shared);
	 * 0: io_per_capacity x the server's CPU capacity (workers x speed) */
	double io_speed[SIM_MAX_SERVERS];
	double io_per_capacity;
	double cpu_mean, io_mean; /* mean work per task (s), the application mix */
	enum work_dist dist;
	double dist_shape; /* log-normal sigma, or Pareto alpha */
	double cpu_split; /* share of CPU work in the first CPU stage */
	double first_response_work; /* CPU work before the first byte of the answer (s) */
	double load; /* offered load on the bottleneck (sim_config_throughput) */
	double rate; /* tasks/s; 0: derived from load */
	const char *trace; /* arrival trace (../shared/traces format) or NULL */
	double trace_scale; /* loop iterations per second of CPU work; 0: from load */
	int resident_cap; /* tasks a server holds; more are rejected */
	double reject_timeout; /* TCT charged to a rejected task (s) */
	enum cpu_sharing sharing;
	double duration, warmup; /* simulated seconds; statistics skip tasks before warmup */
	double window_start, window_end; /* also measured apart: tasks arriving in [start, end)
					 * (after warmup), e.g. after a capacity change */
	double step; /* control step (s) */
	uint64_t seed; /* task stream */
	uint64_t policy_seed; /* tie-breaks and exploration */
	enum sim_policy policy;
	enum reward_kind reward;
	enum reward_units reward_units;
	struct capacity_change changes[SIM_MAX_CHANGES];
	int n_changes;
	struct features_config features; /* n_servers filled by sim_create */
	bool probe_reward; /* other policies: LBs reduce features and score rewards */
	/* called after every control step (after marl agents acted), for any policy: to
	 * record weights over time (sim_lb_weights); NULL: none */
	void (*step_hook)(const struct sim *s, void *ctx);
	void *step_hook_ctx;
};

void sim_config_default(struct sim_config *cfg);
/* Server k's IO speed: io_speed[k], or io_per_capacity x workers x speed when that is 0. */
double sim_config_io_speed(const struct sim_config *cfg, int k);
/*
 * Tasks/s server k can serve with mean CPU work cpu_mean (and cfg's IO mean): the lesser of
 * its CPU and its IO resource, min(workers x speed / cpu_mean, io_speed / io_mean).
 */
double sim_config_server_throughput(const struct sim_config *cfg, int k, double cpu_mean);
/* Tasks/s the pool can serve: the sum of its servers', each on its own bottleneck. */
double sim_config_throughput(const struct sim_config *cfg, double cpu_mean);
/*
 * Capacity weights, the "correct" static weights: what each server can serve, in CPU
 * seconds per second (workers x speed when the CPU is every server's bottleneck).
 */
void sim_config_capacity_weights(struct sim_config *cfg);
/* Checks ranges; writes a sentence into err and returns -EINVAL when something is off. */
int sim_config_check(const struct sim_config *cfg, char *err, size_t err_len);
/*
 * Rate in tasks/s that offers cfg->load of the pool's throughput (or cfg->rate when set):
 * every mix is feasible for some policy at load < 1.
 */
double sim_config_rate(const struct sim_config *cfg);
/* Mean CPU work per task at which `rate` tasks/s offer cfg->load (a trace's scale); -1
 * when the IO work alone offers that much. */
double sim_config_cpu_mean_for_rate(const struct sim_config *cfg, double rate);

int policy_parse(const char *name, enum sim_policy *policy);
const char *policy_name(enum sim_policy policy);

struct agent;

/* Returns NULL with a sentence in err (bad trace file, no memory). */
struct sim *sim_create(const struct sim_config *cfg, char *err, size_t err_len);
void sim_free(struct sim *s);

/*
 * marl: agents[i] acts for LB i (not owned). learn: train every control step; explore:
 * sample actions instead of taking the mean.
 */
void sim_set_agents(struct sim *s, struct agent **agents, bool learn, bool explore);

/*
 * marl by a team of learners (user/learn/team.h, the paper's baselines): every control step
 * the team gets every LB's observation and reward at once and writes every LB's weights
 * (not owned; its LBs must be cfg.n_lbs). learn, explore as for sim_set_agents.
 */
struct team;
void sim_set_team(struct sim *s, struct team *team, bool learn, bool explore);

/*
 * Training: after every marl step each learning agent also gets the log-weights a teacher
 * that knows the servers' true capacity now would write: beta x log(capacity), capacity the
 * throughput of a server's bottleneck for the mix (agent_set_teacher). beta 0 is lsq, 1 is sed
 * with the true capacities. A marl simulation without agents lets the teacher itself act:
 * every LB writes its weights (how the trainer measures a teacher).
 */
void sim_set_teacher(struct sim *s, double beta);

/* Runs to cfg->duration. Returns 0 or a negative errno (agent failure). */
int sim_run(struct sim *s);
double sim_now(const struct sim *s);

const struct sim_stats *sim_stats(const struct sim *s);
/* LB i's weights of the argmin rule now (n_servers values). */
const double *sim_lb_weights(const struct sim *s, int lb);

#endif /* MARLLB_SIM_H */
