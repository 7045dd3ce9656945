// SPDX-License-Identifier: GPL-2.0
/* Server selection for a new flow at one LB. */
#include <math.h>
#include <stdlib.h>

#include "sim/internal.h"

/* Keeps the least cost seen so far, choosing uniformly among equal costs (reservoir
 * sampling over the minima). */
struct argmin {
	double cost;
	int best, ties;
};

static void argmin_offer(struct sim *s, struct argmin *am, int k, double cost)
{
	if (cost < am->cost) {
		am->cost = cost;
		am->best = k;
		am->ties = 1;
	} else if (cost == am->cost && rng_below(&s->policy_rng, ++am->ties) == 0) {
		am->best = k;
	}
}

/*
 * The data plane's rule: argmin_k (q_k + 1) / a_k over servers with a_k > 0, ties broken
 * uniformly at random (reservoir sampling over the minima). LSQ has a = 1, SED static a,
 * marl the agent's a.
 */
static int pick_argmin(struct sim *s, const struct lb *lb)
{
	struct argmin am = { INFINITY, 0, 0 };

	for (int k = 0; k < s->cfg.n_servers; k++)
		if (lb->a[k] > 0)
			argmin_offer(s, &am, k, (lb->q[k] + 1) / lb->a[k]);
	return am.best;
}

static int pick_wcmp(struct sim *s)
{
	double u = rng_uniform(&s->policy_rng);
	int lo = 0, hi = s->cfg.n_servers - 1;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (s->wcmp_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * What the oracle knows of a task's work. oracle: the work left of tasks in service, the
 * mix's means for work not yet started (queued stages, later stages, the new task).
 * clairvoyant: every task's true work.
 */
static bool knows_work(const struct sim *s)
{
	return s->cfg.policy == POLICY_CLAIRVOYANT;
}

static double known_cpu_first(const struct sim *s, const struct task *t)
{
	return knows_work(s) ? t->cpu_first : s->mean_work.c1;
}

static double known_cpu_last(const struct sim *s, const struct task *t)
{
	return knows_work(s) ? t->cpu_last : s->mean_work.c2;
}

static double known_io(const struct sim *s, const struct task *t)
{
	return knows_work(s) ? t->io : s->mean_work.io;
}

/* Time until a new task would start on an FCFS server: replay its queue on the workers'
 * true free times, each queued task taking the work of the stage it waits for. */
static double fcfs_expected_start(struct sim *s, const struct server *sv)
{
	double *free_at = s->oracle_free, start;

	if (sv->busy < sv->workers && sv->qlen == 0)
		return 0.0;
	for (int w = 0; w < sv->workers; w++) {
		const struct task *t = sv->slot[w] >= 0 ? &s->tasks[sv->slot[w]] : NULL;
		double left = t ? t->work_left - (s->now - t->service_start) * sv->speed : 0;

		free_at[w] = left > 0 ? left / sv->speed : 0;
	}
	for (int32_t id = sv->qhead; id >= 0; id = s->tasks[id].next) {
		const struct task *t = &s->tasks[id];
		int first = 0;

		for (int w = 1; w < sv->workers; w++)
			if (free_at[w] < free_at[first])
				first = w;
		free_at[first] +=
			(t->stage == STAGE_CPU1 ? known_cpu_first(s, t) : known_cpu_last(s, t)) /
			sv->speed;
	}
	start = free_at[0];
	for (int w = 1; w < sv->workers; w++)
		if (free_at[w] < start)
			start = free_at[w];
	return start;
}

/*
 * With IO (FCFS CPU): play the server forward without further arrivals, with the work the
 * oracle knows, until the new task would leave. The CPU queue is in arrival order (as the
 * server keeps it): tasks back from IO, all older than the new task, queue ahead of it.
 * It shares the IO resource with whoever is in IO then.
 */
/* Grows the look-ahead scratch to n jobs (amortised: doubling, never per task). */
static int la_reserve(struct sim *s, int n)
{
	int cap = s->la_cap ? s->la_cap : 64;
	struct la_job *jobs;
	int *queue, *io;

	if (n <= s->la_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	jobs = realloc(s->la_jobs, sizeof(*jobs) * cap);
	if (jobs)
		s->la_jobs = jobs;
	queue = realloc(s->la_queue, sizeof(*queue) * 2 * cap);
	if (queue)
		s->la_queue = queue;
	io = realloc(s->la_io, sizeof(*io) * cap);
	if (io)
		s->la_io = io;
	if (!jobs || !queue || !io)
		return -1;
	s->la_cap = cap;
	return 0;
}

/* queue[head..tail) is in arrival order; job j joins it at its place. */
static void la_enqueue(const struct la_job *job, int *queue, int head, int *tail, int j)
{
	int p = *tail;

	while (p > head && job[queue[p - 1]].arrival > job[j].arrival) {
		queue[p] = queue[p - 1];
		p--;
	}
	queue[p] = j;
	(*tail)++;
}

static double fcfs_io_lookahead(struct sim *s, const struct server *sv, const struct work *w)
{
	int n_jobs = 0, qhead = 0, qtail = 0, n_io = 0, me, *worker = s->la_worker;
	const struct ps_station *io = &sv->io;
	double t = 0, v = io->vclock, speed = sv->speed, io_speed = io->speed;
	struct la_job *job;
	int *queue, *in_io;

	if (la_reserve(s, sv->resident + 1))
		return fcfs_expected_start(s, sv); /* no memory: the cruder estimate */
	job = s->la_jobs;
	queue = s->la_queue;
	in_io = s->la_io;

	if (io->n)
		v += (s->now - io->last_t) * io_speed / io->n;
	for (int w = 0; w < sv->workers; w++) {
		const struct task *tk = sv->slot[w] >= 0 ? &s->tasks[sv->slot[w]] : NULL;

		worker[w] = -1;
		if (!tk)
			continue;
		job[n_jobs] = (struct la_job){
			.rem = fmax(tk->work_left - (s->now - tk->service_start) * speed, 0),
			.io = tk->stage == STAGE_CPU1 ? known_io(s, tk) : 0,
			.c2 = tk->stage == STAGE_CPU1 ? known_cpu_last(s, tk) : 0,
			.arrival = tk->arrival,
			.stage = tk->stage,
		};
		worker[w] = n_jobs++;
	}
	for (int32_t id = sv->qhead; id >= 0; id = s->tasks[id].next) {
		const struct task *tk = &s->tasks[id];
		bool first = tk->stage == STAGE_CPU1;

		job[n_jobs] =
			(struct la_job){ first ? known_cpu_first(s, tk) : known_cpu_last(s, tk),
					 first ? known_io(s, tk) : 0,
					 first ? known_cpu_last(s, tk) : 0, tk->arrival,
					 first ? STAGE_CPU1 : STAGE_CPU2 };
		queue[qtail++] = n_jobs++;
	}
	for (int i = 0; i < io->len; i++) {
		if (io->heap[i].mark != PS_DONE)
			continue;
		const struct task *tk = &s->tasks[io->heap[i].task];

		job[n_jobs] = (struct la_job){ fmax(io->heap[i].v - v, 0), 0, known_cpu_last(s, tk),
					       tk->arrival, STAGE_IO };
		in_io[n_io++] = n_jobs++;
	}
	me = n_jobs++;
	job[me] = (struct la_job){ w->c1, w->io, w->c2, s->now, STAGE_CPU1 };
	queue[qtail++] = me;

	for (;;) {
		double dt = INFINITY;

		/* idle workers take queued jobs in order */
		for (int w = 0; w < sv->workers && qhead < qtail; w++)
			if (worker[w] < 0)
				worker[w] = queue[qhead++];
		for (int w = 0; w < sv->workers; w++)
			if (worker[w] >= 0)
				dt = fmin(dt, job[worker[w]].rem / speed);
		for (int i = 0; i < n_io; i++)
			dt = fmin(dt, job[in_io[i]].rem * n_io / io_speed);
		if (!isfinite(dt))
			return t; /* cannot happen: the new job is always somewhere */
		t += dt;
		for (int i = 0; i < n_io;) {
			struct la_job *j = &job[in_io[i]];

			j->rem -= dt * io_speed / n_io;
			if (j->rem > 1e-12) {
				i++;
				continue;
			}
			j->stage = STAGE_CPU2;
			j->rem = j->c2;
			la_enqueue(job, queue, qhead, &qtail, in_io[i]);
			in_io[i] = in_io[--n_io];
		}
		for (int w = 0; w < sv->workers; w++) {
			struct la_job *j;

			if (worker[w] < 0)
				continue;
			j = &job[worker[w]];
			j->rem -= dt * speed;
			if (j->rem > 1e-12)
				continue;
			if (worker[w] == me && (j->stage == STAGE_CPU2 || j->io <= 0))
				return t;
			if (j->stage == STAGE_CPU1 && j->io > 0) {
				j->stage = STAGE_IO;
				j->rem = j->io;
				in_io[n_io++] = worker[w];
			}
			worker[w] = -1;
		}
	}
}

/* Processor sharing: a job of size x among jobs with remaining r_j finishes after
 * sum_j min(r_j, x) + x of work at the pooled rate, and never faster than alone. */
static double ps_expected_time(const struct sim *s, const struct server *sv, double x)
{
	const struct ps_station *ps = &sv->cpu_ps;
	double v = ps->vclock, work = x, rate;

	if (ps->n)
		v += (s->now - ps->last_t) * ps->speed *
		     (ps->n < ps->units ? 1 : ps->units / ps->n);
	for (int i = 0; i < ps->len; i++) {
		double r = ps->heap[i].v - v;

		if (ps->heap[i].mark == PS_DONE)
			work += r < x ? (r > 0 ? r : 0) : x;
	}
	rate = ps->units * ps->speed;
	return fmax(x / ps->speed, work / rate);
}

/*
 * Oracle: true queues, true speeds, the work left of tasks in service and (see
 * knows_work()) the rest; sends the task where it would complete first if nothing else
 * arrived, with unknown work at its mean: the least expected completion time. A full
 * server would reject it and costs the timeout.
 */
static int pick_oracle(struct sim *s, const struct work *w)
{
	struct argmin am = { INFINITY, 0, 0 };

	for (int k = 0; k < s->cfg.n_servers; k++) {
		const struct server *sv = &s->servers[k];
		double cost;

		if (sv->resident >= s->cfg.resident_cap) {
			cost = s->cfg.reject_timeout + 1e9;
		} else if (s->cfg.sharing == CPU_FCFS && s->cfg.io_mean > 0) {
			cost = fcfs_io_lookahead(s, sv, w);
		} else if (s->cfg.sharing == CPU_PS) {
			cost = ps_expected_time(s, sv, w->c1);
		} else {
			cost = fcfs_expected_start(s, sv) + w->c1 / sv->speed;
		}
		if (s->cfg.sharing == CPU_PS && s->cfg.io_mean > 0 &&
		    sv->resident < s->cfg.resident_cap) {
			/* IO shared with the tasks now in IO, then the last CPU stage */
			cost += w->io * (sv->io.n + 1) / sv->io.speed;
			cost += w->c2 / sv->speed;
		}
		argmin_offer(s, &am, k, cost);
	}
	return am.best;
}

int policy_pick(struct sim *s, struct lb *lb, uint32_t flow_hash, const struct work *w)
{
	switch (s->cfg.policy) {
	case POLICY_ECMP:
		return (int)(((uint64_t)flow_hash * (uint64_t)s->cfg.n_servers) >> 32);
	case POLICY_WCMP:
		return pick_wcmp(s);
	case POLICY_ORACLE:
	case POLICY_CLAIRVOYANT:
		return pick_oracle(s, knows_work(s) ? w : &s->mean_work);
	default:
		return pick_argmin(s, lb);
	}
}
