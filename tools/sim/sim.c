// SPDX-License-Identifier: GPL-2.0
/*
 * The event engine and the server model. Tasks live in a pool with a free list and events
 * in a heap, so steady state allocates nothing. Every scheduled event carries its task's or
 * station's generation; a reschedule bumps the generation and the old event is skipped when
 * it surfaces.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/internal.h"

static int schedule(struct sim *s, double t, uint32_t kind, uint32_t a, uint32_t b)
{
	return evheap_push(&s->events, (struct event){ .t = t, .kind = kind, .a = a, .b = b });
}

/* ---- task pool ---- */

static int32_t task_alloc(struct sim *s)
{
	int32_t id;

	if (s->free_task < 0) {
		int ncap = s->cap_tasks * 2;
		struct task *bigger = realloc(s->tasks, sizeof(*s->tasks) * ncap);

		if (!bigger)
			return -1;
		memset(bigger + s->cap_tasks, 0, sizeof(*bigger) * (ncap - s->cap_tasks));
		for (int i = s->cap_tasks; i < ncap; i++)
			bigger[i].next = i + 1 < ncap ? i + 1 : -1;
		s->free_task = s->cap_tasks;
		s->tasks = bigger;
		s->cap_tasks = ncap;
	}
	id = s->free_task;
	s->free_task = s->tasks[id].next;
	s->n_tasks++;
	return id;
}

static void task_release(struct sim *s, int32_t id)
{
	s->tasks[id].gen++;
	s->tasks[id].next = s->free_task;
	s->free_task = id;
	s->n_tasks--;
}

/* ---- processor-sharing stations ---- */

static double ps_rate(const struct ps_station *ps)
{
	return ps->n ? ps->speed * (ps->n < ps->units ? 1.0 : ps->units / ps->n) : 0.0;
}

static void ps_advance(struct ps_station *ps, double now)
{
	ps->vclock += (now - ps->last_t) * ps_rate(ps);
	ps->last_t = now;
}

static void ps_sift_down(struct ps_station *ps, int i)
{
	struct ps_item x = ps->heap[i];

	for (;;) {
		int c = 2 * i + 1;

		if (c >= ps->len)
			break;
		if (c + 1 < ps->len && ps->heap[c + 1].v < ps->heap[c].v)
			c++;
		if (ps->heap[c].v >= x.v)
			break;
		ps->heap[i] = ps->heap[c];
		i = c;
	}
	ps->heap[i] = x;
}

static int ps_push(struct ps_station *ps, struct ps_item item)
{
	int i;

	if (ps->len == ps->cap) {
		int ncap = ps->cap ? ps->cap * 2 : 16;
		struct ps_item *bigger = realloc(ps->heap, sizeof(*bigger) * ncap);

		if (!bigger)
			return -ENOMEM;
		ps->heap = bigger;
		ps->cap = ncap;
	}
	i = ps->len++;
	while (i > 0 && ps->heap[(i - 1) / 2].v > item.v) {
		ps->heap[i] = ps->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	ps->heap[i] = item;
	return 0;
}

static struct ps_item ps_pop(struct ps_station *ps)
{
	struct ps_item top = ps->heap[0];

	ps->heap[0] = ps->heap[--ps->len];
	if (ps->len)
		ps_sift_down(ps, 0);
	return top;
}

/* station id: 2 * server + (0 for CPU, 1 for IO) */
static struct ps_station *station(struct sim *s, uint32_t id)
{
	struct server *sv = &s->servers[id / 2];

	return id & 1 ? &sv->io : &sv->cpu_ps;
}

static int ps_reschedule(struct sim *s, uint32_t id)
{
	struct ps_station *ps = station(s, id);
	double rate = ps_rate(ps), dt;

	ps->gen++;
	if (!ps->len || rate <= 0)
		return 0;
	dt = (ps->heap[0].v - ps->vclock) / rate;
	return schedule(s, s->now + (dt > 0 ? dt : 0), EV_PS, id, ps->gen);
}

static int ps_enter(struct sim *s, uint32_t id, int32_t task, double work, bool want_response)
{
	struct ps_station *ps = station(s, id);
	int ret;

	ps_advance(ps, s->now);
	if (want_response) {
		double r = s->cfg.first_response_work < work ? s->cfg.first_response_work : work;

		ret = ps_push(ps, (struct ps_item){ ps->vclock + r, task, PS_RESPONSE });
		if (ret)
			return ret;
	}
	ret = ps_push(ps, (struct ps_item){ ps->vclock + work, task, PS_DONE });
	if (ret)
		return ret;
	ps->n++;
	return ps_reschedule(s, id);
}

/* ---- signals of the simulated data plane ---- */

static bool measured(const struct sim *s, const struct task *t)
{
	return t->arrival >= s->cfg.warmup;
}

/* Task duration: arrival to first response (first CPU work of first_response_work done). */
static void emit_response(struct sim *s, struct task *t)
{
	double d = s->now - t->arrival;
	struct lb *lb = &s->lbs[t->lb];

	t->responded = 1;
	if (lb->feat)
		features_add_task_duration(lb->feat, t->server, s->now, d);
	if (measured(s, t)) {
		s->stats.duration_sum += d;
		s->stats.duration_count++;
	}
}

static void record_tct(struct sim *s, double arrival, double tct)
{
	s->stats.measured++;
	s->stats.tct_sum += tct;
	s->stats.tct_sq_sum += tct * tct;
	hist_add(&s->stats.tct, tct);
	if (arrival >= s->cfg.window_start && arrival < s->cfg.window_end) {
		s->stats.window.measured++;
		s->stats.window.tct_sum += tct;
		hist_add(&s->stats.window.tct, tct);
	}
}

static void flow_end(struct sim *s, int lb_id, int server, double fct)
{
	struct lb *lb = &s->lbs[lb_id];

	lb->q[server]--;
	if (lb->feat)
		features_add_flow_completion(lb->feat, server, s->now, fct);
}

static void task_complete(struct sim *s, int32_t id)
{
	struct task *t = &s->tasks[id];
	struct server *sv = &s->servers[t->server];
	double sojourn = s->now - t->arrival;

	if (!t->responded)
		emit_response(s, t);
	flow_end(s, t->lb, t->server, sojourn);
	sv->resident--;
	s->resident_total--;
	s->stats.completed++;
	s->stats.sojourn_sum += sojourn;
	if (measured(s, t))
		record_tct(s, t->arrival, sojourn);
	task_release(s, id);
}

/* ---- CPU stages ---- */

static int fcfs_start(struct sim *s, struct server *sv, int32_t id, int worker)
{
	struct task *t = &s->tasks[id];
	double work = t->stage == STAGE_CPU1 ? t->cpu_first : t->cpu_last;
	int ret;

	sv->slot[worker] = id;
	sv->busy++;
	t->worker = worker;
	t->service_start = s->now;
	t->work_left = work;
	ret = schedule(s, s->now + work / sv->speed, EV_CPU_DONE, id, t->gen);
	if (!ret && !t->responded) {
		t->response_left = s->cfg.first_response_work < work ? s->cfg.first_response_work :
								       work;
		ret = schedule(s, s->now + t->response_left / sv->speed, EV_RESPONSE, id, t->gen);
	}
	return ret;
}

/*
 * The FCFS queue is kept in arrival order, as the paper's SimLB keeps it: a task back from
 * IO waits behind the tasks that arrived before it, not behind everything that arrived while
 * it was in IO. A new arrival is the latest, so it goes to the tail in O(1); a task back
 * from IO walks the queue (bounded by the resident cap).
 */
static void fcfs_enqueue(struct sim *s, struct server *sv, int32_t id)
{
	struct task *t = &s->tasks[id];
	int32_t prev = -1, cur = sv->qhead;

	if (sv->qtail >= 0 && s->tasks[sv->qtail].arrival <= t->arrival) {
		prev = sv->qtail;
		cur = -1;
	} else {
		while (cur >= 0 && s->tasks[cur].arrival <= t->arrival) {
			prev = cur;
			cur = s->tasks[cur].next;
		}
	}
	t->next = cur;
	if (prev >= 0)
		s->tasks[prev].next = id;
	else
		sv->qhead = id;
	if (cur < 0)
		sv->qtail = id;
	sv->qlen++;
}

static int cpu_enter(struct sim *s, int32_t id)
{
	struct task *t = &s->tasks[id];
	struct server *sv = &s->servers[t->server];

	if (s->cfg.sharing == CPU_PS)
		return ps_enter(s, 2 * t->server, id,
				t->stage == STAGE_CPU1 ? t->cpu_first : t->cpu_last, !t->responded);
	if (sv->busy < sv->workers) {
		for (int w = 0; w < sv->workers; w++)
			if (sv->slot[w] < 0)
				return fcfs_start(s, sv, id, w);
	}
	fcfs_enqueue(s, sv, id);
	return 0;
}

/* The task finished a stage: IO after the first CPU stage (when it has IO), else done. */
static int stage_done(struct sim *s, int32_t id)
{
	struct task *t = &s->tasks[id];

	if (t->stage == STAGE_CPU1 && t->io > 0) {
		t->stage = STAGE_IO;
		return ps_enter(s, 2 * t->server + 1, id, t->io, false);
	}
	if (t->stage == STAGE_IO) {
		t->stage = STAGE_CPU2;
		return cpu_enter(s, id);
	}
	task_complete(s, id);
	return 0;
}

static int on_cpu_done(struct sim *s, int32_t id)
{
	struct task *t = &s->tasks[id];
	struct server *sv = &s->servers[t->server];
	int worker = t->worker, ret = 0;

	if (!t->responded)
		emit_response(s, t); /* its event may sit behind this one at the same time */
	sv->slot[worker] = -1;
	sv->busy--;
	t->worker = -1;
	if (sv->qhead >= 0) {
		int32_t next = sv->qhead;

		sv->qhead = s->tasks[next].next;
		if (sv->qhead < 0)
			sv->qtail = -1;
		sv->qlen--;
		ret = fcfs_start(s, sv, next, worker);
	}
	return ret ? ret : stage_done(s, id);
}

static int on_ps(struct sim *s, uint32_t id)
{
	struct ps_station *ps = station(s, id);
	int ret = 0;

	ps_advance(ps, s->now);
	/* marks reached up to rounding of the virtual clock */
	while (ps->len && ps->heap[0].v <= ps->vclock + 1e-9 * (1.0 + fabs(ps->vclock))) {
		struct ps_item item = ps_pop(ps);
		struct task *t = &s->tasks[item.task];

		if (item.mark == PS_RESPONSE) {
			if (!t->responded)
				emit_response(s, t);
			continue;
		}
		ps->n--;
		ret = stage_done(s, item.task);
		if (ret)
			return ret;
	}
	return ps_reschedule(s, id);
}

/* A server's speed changes: work in progress continues at the new speed. */
static int on_change(struct sim *s, const struct capacity_change *c)
{
	struct server *sv = &s->servers[c->server];
	double old = sv->speed;
	int ret = 0;

	ps_advance(&sv->cpu_ps, s->now);
	sv->speed = c->speed;
	sv->cpu_ps.speed = c->speed;
	if (s->cfg.sharing == CPU_PS)
		return ps_reschedule(s, 2 * c->server);
	for (int w = 0; w < sv->workers && !ret; w++) {
		struct task *t;
		double done;

		if (sv->slot[w] < 0)
			continue;
		t = &s->tasks[sv->slot[w]];
		done = (s->now - t->service_start) * old;
		t->work_left -= done;
		t->response_left -= done;
		t->service_start = s->now;
		t->gen++;
		ret = schedule(s, s->now + fmax(t->work_left, 0) / sv->speed, EV_CPU_DONE,
			       sv->slot[w], t->gen);
		if (!ret && !t->responded)
			ret = schedule(s, s->now + fmax(t->response_left, 0) / sv->speed,
				       EV_RESPONSE, sv->slot[w], t->gen);
	}
	return ret;
}

/* Scores each LB's step with the configured reward, as marl agents would be scored. */
static int probe_reward_step(struct sim *s)
{
	for (int i = 0; i < s->cfg.n_lbs && s->now > 0; i++) {
		struct lb *lb = &s->lbs[i];

		s->stats.reward_sum += reward_observe(s->cfg.reward, s->cfg.reward_units, lb->feat,
						      s->now, NULL, NULL);
		s->stats.reward_count++;
	}
	return 0;
}

/* ---- arrivals ---- */

void task_work_split(const struct sim *s, const struct task_spec *spec, struct work *w)
{
	w->io = spec->io;
	if (spec->io > 0) {
		w->c1 = spec->cpu * s->cfg.cpu_split;
		w->c2 = spec->cpu - w->c1;
	} else {
		w->c1 = spec->cpu; /* no IO: one CPU stage */
		w->c2 = 0;
	}
}

static int on_arrival(struct sim *s)
{
	struct task_spec spec = s->pending;
	struct lb *lb = &s->lbs[spec.lb];
	struct work work;
	struct server *sv;
	struct task *t;
	int32_t id;
	int k, ret;

	workload_next(&s->workload, &s->pending);
	ret = schedule(s, s->pending.t, EV_ARRIVAL, 0, 0);
	if (ret)
		return ret;
	s->stats.generated++;
	if (lb->feat)
		features_add_arrival(lb->feat, s->now);
	task_work_split(s, &spec, &work);
	k = policy_pick(s, lb, spec.flow_hash, &work);
	sv = &s->servers[k];
	lb->q[k]++;
	if (sv->resident >= s->cfg.resident_cap) {
		/* the connection is never served: the LB sees it open until it times out */
		s->stats.rejected++;
		if (spec.t >= s->cfg.warmup)
			record_tct(s, spec.t, s->cfg.reject_timeout);
		return schedule(s, s->now + s->cfg.reject_timeout, EV_FLOW_END, spec.lb, k);
	}
	id = task_alloc(s);
	if (id < 0)
		return -ENOMEM;
	t = &s->tasks[id];
	t->arrival = s->now;
	t->io = work.io;
	t->cpu_first = work.c1;
	t->cpu_last = work.c2;
	t->server = k;
	t->lb = spec.lb;
	t->stage = STAGE_CPU1;
	t->responded = 0;
	t->worker = -1;
	sv->resident++;
	s->resident_total++;
	s->stats.accepted++;
	return cpu_enter(s, id);
}

/* ---- life cycle ---- */

void sim_free(struct sim *s)
{
	if (!s)
		return;
	for (int k = 0; s->servers && k < s->cfg.n_servers; k++) {
		free(s->servers[k].slot);
		free(s->servers[k].cpu_ps.heap);
		free(s->servers[k].io.heap);
	}
	for (int i = 0; s->lbs && i < s->cfg.n_lbs; i++) {
		struct lb *lb = &s->lbs[i];

		free(lb->q);
		free(lb->a);
		features_free(lb->feat);
		free(lb->prev_action);
		free(lb->obs);
		free(lb->load);
		free(lb->has_sample);
	}
	free(s->servers);
	free(s->lbs);
	free(s->tasks);
	free(s->wcmp_cdf);
	free(s->oracle_free);
	free(s->la_jobs);
	free(s->la_worker);
	free(s->la_queue);
	free(s->la_io);
	evheap_free(&s->events);
	workload_free(&s->workload);
	free(s);
}

struct sim *sim_create(const struct sim_config *cfg, char *err, size_t err_len)
{
	struct sim *s;
	int n, max_workers = 1;
	double total = 0;

	if (sim_config_check(cfg, err, err_len))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->cfg = *cfg;
	n = cfg->n_servers;
	s->cfg.features.n_servers = n;
	rng_seed(&s->policy_rng, cfg->policy_seed, 2);
	if (workload_init(&s->workload, cfg, err, err_len)) {
		sim_free(s);
		return NULL;
	}
	s->servers = calloc(n, sizeof(*s->servers));
	s->lbs = calloc(cfg->n_lbs, sizeof(*s->lbs));
	s->wcmp_cdf = calloc(n, sizeof(*s->wcmp_cdf));
	s->cap_tasks = 1024;
	s->tasks = calloc(s->cap_tasks, sizeof(*s->tasks));
	if (!s->servers || !s->lbs || !s->wcmp_cdf || !s->tasks || evheap_init(&s->events, 1024))
		goto nomem;
	for (int i = 0; i < s->cap_tasks; i++)
		s->tasks[i].next = i + 1 < s->cap_tasks ? i + 1 : -1;
	for (int k = 0; k < n; k++) {
		struct server *sv = &s->servers[k];

		sv->workers = cfg->workers[k];
		sv->speed = cfg->speed[k];
		sv->qhead = sv->qtail = -1;
		sv->slot = malloc(sizeof(*sv->slot) * sv->workers);
		if (!sv->slot)
			goto nomem;
		for (int w = 0; w < sv->workers; w++)
			sv->slot[w] = -1;
		sv->cpu_ps.units = sv->workers;
		sv->cpu_ps.speed = sv->speed;
		sv->io.units = 1;
		sv->io.speed = sim_config_io_speed(cfg, k);
		if (sv->workers > max_workers)
			max_workers = sv->workers;
		total += cfg->weights[k];
		s->wcmp_cdf[k] = total;
	}
	for (int k = 0; k < n; k++)
		s->wcmp_cdf[k] /= total;
	s->oracle_free = calloc(max_workers, sizeof(*s->oracle_free));
	if (!s->oracle_free)
		goto nomem;
	s->mean_work.io = cfg->io_mean;
	s->mean_work.c1 = cfg->io_mean > 0 ? cfg->cpu_mean * cfg->cpu_split : cfg->cpu_mean;
	s->mean_work.c2 = cfg->io_mean > 0 ? cfg->cpu_mean - s->mean_work.c1 : 0;
	s->la_worker = calloc(max_workers, sizeof(*s->la_worker));
	if (!s->la_worker)
		goto nomem;
	for (int i = 0; i < cfg->n_lbs; i++) {
		struct lb *lb = &s->lbs[i];

		lb->q = calloc(n, sizeof(*lb->q));
		lb->a = calloc(n, sizeof(*lb->a));
		if (!lb->q || !lb->a)
			goto nomem;
		for (int k = 0; k < n; k++)
			lb->a[k] = cfg->policy == POLICY_SED ? cfg->weights[k] : 1.0;
		if (cfg->policy != POLICY_MARL && !cfg->probe_reward)
			continue;
		lb->feat = features_create(&s->cfg.features);
		lb->prev_action = calloc(n, sizeof(*lb->prev_action));
		lb->obs = calloc((size_t)n * FEATURES_POLICY, sizeof(*lb->obs));
		lb->load = calloc(n, sizeof(*lb->load));
		lb->has_sample = calloc(n, sizeof(*lb->has_sample));
		if (!lb->feat || !lb->prev_action || !lb->obs || !lb->load || !lb->has_sample)
			goto nomem;
		for (int k = 0; k < n; k++)
			lb->prev_action[k] = 1.0f;
	}
	s->free_task = 0;
	return s;
nomem:
	snprintf(err, err_len, "out of memory creating the simulation");
	sim_free(s);
	return NULL;
}

void sim_set_agents(struct sim *s, struct agent **agents, bool learn, bool explore)
{
	s->agents = agents;
	s->learn = learn;
	s->explore = explore;
	s->agents_ready = false;
}

double sim_now(const struct sim *s)
{
	return s->now;
}

const struct sim_stats *sim_stats(const struct sim *s)
{
	return &s->stats;
}

const double *sim_lb_weights(const struct sim *s, int lb)
{
	return s->lbs[lb].a;
}

int sim_run(struct sim *s)
{
	const struct sim_config *cfg = &s->cfg;
	int ret;

	if (cfg->policy == POLICY_MARL &&
	    (!marl_available() || (!s->agents && !s->team && !s->teacher)))
		return -EINVAL;
	workload_next(&s->workload, &s->pending);
	ret = schedule(s, s->pending.t, EV_ARRIVAL, 0, 0);
	if (!ret && (cfg->policy == POLICY_MARL || cfg->probe_reward || cfg->step_hook))
		ret = schedule(s, 0.0, EV_STEP, 0, 0);
	for (int i = 0; i < cfg->n_changes && !ret; i++)
		ret = schedule(s, cfg->changes[i].t, EV_CHANGE, i, 0);

	while (!ret && s->events.len) {
		struct event ev = evheap_pop(&s->events);

		if (ev.t > cfg->duration)
			break;
		s->stats.resident_integral += s->resident_total * (ev.t - s->now);
		s->now = ev.t;
		s->stats.events++;
		switch (ev.kind) {
		case EV_ARRIVAL:
			ret = on_arrival(s);
			break;
		case EV_CPU_DONE:
			if (s->tasks[ev.a].gen == ev.b)
				ret = on_cpu_done(s, ev.a);
			break;
		case EV_RESPONSE:
			if (s->tasks[ev.a].gen == ev.b && !s->tasks[ev.a].responded)
				emit_response(s, &s->tasks[ev.a]);
			break;
		case EV_PS:
			if (station(s, ev.a)->gen == ev.b)
				ret = on_ps(s, ev.a);
			break;
		case EV_FLOW_END:
			flow_end(s, ev.a, ev.b, cfg->reject_timeout);
			break;
		case EV_STEP:
			if (cfg->policy == POLICY_MARL)
				ret = s->team ? team_sim_step(s) : marl_step(s);
			else if (cfg->probe_reward)
				ret = probe_reward_step(s);
			if (!ret && cfg->step_hook)
				cfg->step_hook(s, cfg->step_hook_ctx);
			if (!ret)
				ret = schedule(s, s->now + cfg->step, EV_STEP, 0, 0);
			break;
		case EV_CHANGE:
			ret = on_change(s, &cfg->changes[ev.a]);
			break;
		}
	}
	s->stats.resident_integral += s->resident_total * (cfg->duration - s->now);
	s->now = cfg->duration;
	s->stats.end_time = cfg->duration;
	s->stats.in_flight = s->resident_total;
	return ret;
}
