/* SPDX-License-Identifier: GPL-2.0 */
/* The simulator's state, shared by its engine, policies and marl glue; not an API. */
#ifndef MARLLB_SIM_INTERNAL_H
#define MARLLB_SIM_INTERNAL_H

#include "sim/evheap.h"
#include "sim/sim.h"
#include "sim/workload.h"

enum stage { STAGE_CPU1, STAGE_IO, STAGE_CPU2 };

struct task {
	double arrival; /* at the LB = at the server (s) */
	double cpu_first; /* work of the first CPU stage */
	double cpu_last; /* work of the last CPU stage */
	double io; /* IO work */
	double work_left; /* FCFS: work of the current stage left at service_start */
	double service_start; /* FCFS: when the current stage last (re)started */
	double response_left; /* FCFS: first-response work left at service_start */
	uint32_t gen; /* bumped on free and reschedule: stale events are ignored */
	int32_t next; /* FCFS queue link, or free-list link */
	int32_t server;
	int32_t worker; /* FCFS: worker slot while in service, else -1 */
	uint16_t lb;
	uint8_t stage;
	uint8_t responded;
};

enum ps_mark { PS_DONE, PS_RESPONSE };

struct ps_item {
	double v; /* virtual time at which the task reaches the mark */
	int32_t task;
	int32_t mark;
};

/* Processor sharing over `units` parallel units: each of n jobs runs at speed min(1, units/n). */
struct ps_station {
	double vclock; /* service received by every present job since time 0 */
	double last_t;
	double units, speed;
	int n; /* jobs present (PS_DONE items) */
	uint32_t gen;
	struct ps_item *heap;
	int len, cap;
};

struct la_job { /* in the oracle's look-ahead */
	double rem; /* work left in the current stage */
	double io, c2; /* later stages */
	double arrival; /* the FCFS queue's order */
	int stage;
};

struct server {
	int workers;
	double speed;
	int resident;
	/* FCFS */
	int busy;
	int32_t *slot; /* task per worker, -1 when free */
	int32_t qhead, qtail;
	int qlen;
	/* processor sharing (CPU when cfg.sharing == CPU_PS) and the IO resource */
	struct ps_station cpu_ps, io;
};

struct lb {
	int32_t *q; /* open flows of this LB per server */
	double *a; /* weights of the argmin rule */
	struct features *feat; /* marl only */
	float *prev_action, *obs;
	double *load;
	uint8_t *has_sample;
	float reward; /* earned by the last action, passed with the next observation */
};

/* A task's work by stage: first CPU stage, IO, last CPU stage (s). */
struct work {
	double c1, io, c2;
};

struct sim {
	struct sim_config cfg;
	double now;
	struct evheap events;
	struct workload workload;
	struct task_spec pending; /* the next arrival */
	struct rng policy_rng;
	struct task *tasks;
	int32_t free_task;
	int n_tasks, cap_tasks;
	struct server *servers;
	struct lb *lbs;
	double *wcmp_cdf; /* cumulative static weights, normalised */
	struct work mean_work; /* the mix's mean work by stage */
	double *oracle_free; /* scratch: worker free times */
	/* scratch of the oracle's look-ahead, sized for a full server */
	struct la_job *la_jobs;
	int *la_worker, *la_queue, *la_io, la_cap;
	int resident_total;
	struct sim_stats stats;
	/* marl */
	struct agent **agents;
	bool learn, explore;
	struct team *team; /* or a team acting for every LB (team_step.c) */
	bool agents_ready;	/* the agents' act smoothing is set for this run's step */
	bool teacher;		/* label every learning step with a privileged teacher */
	double teacher_beta;	/* its log-weights: beta x log(capacity) */
};

void task_work_split(const struct sim *s, const struct task_spec *spec, struct work *w);
int policy_pick(struct sim *s, struct lb *lb, uint32_t flow_hash, const struct work *w);

/* marl glue (marl.c); marl_available() is false when built without user/learn */
bool marl_available(void);
int marl_step(struct sim *s);
/* a team's control step (team_step.c) */
int team_sim_step(struct sim *s);

#endif /* MARLLB_SIM_INTERNAL_H */
