// SPDX-License-Identifier: GPL-2.0
/*
 * One control step: the samples drained from the ring buffer go through the feature reducer;
 * each VIP's open-flow counts are read; marl VIPs get an observation, a reward, an action and
 * (when learning) gradient updates; the new weights are checked and published atomically.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "daemon/daemon.h"
#include "daemon/log.h"

/* Rates (samples/s, new flows/s) are averaged over about this many seconds. */
#define RATE_TAU 5.0

double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int on_sample(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	const struct mlb_sample *s = data;
	struct vip_state *v;
	struct be_state *b;
	double t, val;

	if (size < sizeof(*s))
		return 0;
	v = s->vip_id < MLB_MAX_VIPS ? d->vips[s->vip_id] : NULL;
	if (!v || !v->feat) {
		d->samples_unknown++;
		return 0;
	}
	t = s->ts_ns * 1e-9;
	val = s->value_ns * 1e-9;
	if (s->kind == MLB_SAMPLE_NEW_FLOW) {
		features_add_arrival(v->feat, t);
		v->step_arrivals++;
		if (v->agent)
			safety_add_arrival(&v->safety);
		return 0;
	}
	if (s->backend >= v->feat_n || !v->be[s->backend].used) {
		d->samples_unknown++;
		return 0;
	}
	b = &v->be[s->backend];
	if (s->kind == MLB_SAMPLE_TASK) {
		features_add_task_duration(v->feat, s->backend, t, val);
		b->samples++;
		b->duration_sum += val;
		b->step_samples++;
		if (v->agent)
			safety_add_task_duration(&v->safety, val);
	} else if (s->kind == MLB_SAMPLE_FCT) {
		features_add_flow_completion(v->feat, s->backend, t, val);
	}
	return 0;
}

/*
 * Frees the slot of a drained backend that left the configuration, so that marllbctl stops
 * listing it and a new backend can take the slot. The data-plane library has no call for
 * this, so the entry is cleared through the map (include/marllb.h's ABI): the backend is
 * already out of the pool's active set (it was draining), and its q is 0.
 */
static int slot_free(struct daemon *d, uint32_t vip_id, uint32_t k)
{
	uint32_t idx = vip_id * MLB_MAX_BACKENDS + k;
	struct mlb_backend unused = { .state = MLB_BACKEND_UNUSED };
	int fd = mlb_dp_map_fd(d->dp, MLB_MAP_BACKENDS);

	if (fd < 0 || bpf_map_update_elem(fd, &idx, &unused, BPF_EXIST))
		return -errno ?: -ENOENT;
	return 0;
}

static double ewma(double old, double inst, double dt)
{
	double a = 1 - exp(-dt / RATE_TAU);

	return old + a * (inst - old);
}

/* SED's weights as an agent-weight vector: static weights relative to their mean. */
static void sed_weights(const struct daemon *d, const struct vip_state *v, const uint8_t *mask,
			float *w)
{
	double sum = 0;
	int n = 0;

	for (int k = 0; k < v->feat_n; k++) {
		if (mask[k]) {
			sum += v->be[k].conf.weight;
			n++;
		}
	}
	for (int k = 0; k < v->feat_n; k++) {
		double a = mask[k] && sum > 0 ? v->be[k].conf.weight * n / sum : 0;

		w[k] = mask[k] ? (float)fmin(fmax(a, d->opts.w_min), d->opts.w_max) : 0;
	}
}

/* NaN or inf weights are never written; finite ones are clamped into [w_min, w_max]. */
static bool weights_valid(const struct daemon *d, const struct vip_state *v,
			  const uint8_t *mask, float *w)
{
	bool any = false;

	for (int k = 0; k < v->feat_n; k++) {
		if (!mask[k])
			continue;
		if (!isfinite(w[k]) || w[k] <= 0)
			return false;
		w[k] = (float)fmin(fmax(w[k], d->opts.w_min), d->opts.w_max);
		any = true;
	}
	return any;
}

static void publish(struct daemon *d, struct vip_state *v, const float *w)
{
	int64_t gen = mlb_dp_set_weights(d->dp, v->id, w, v->feat_n);

	if (gen < 0) {
		pr_warn("marllbd: VIP id %u: cannot write weights: %s.\n", v->id,
			strerror((int)-gen));
		return;
	}
	memcpy(v->weights, w, sizeof(float) * v->feat_n);
}

static void marl_step(struct daemon *d, struct vip_state *v, double now)
{
	uint8_t mask[MLB_MAX_BACKENDS];
	double l[MLB_MAX_BACKENDS];
	float w[MLB_MAX_BACKENDS];
	int n = v->feat_n, active = 0, err;

	for (int k = 0; k < n; k++) {
		mask[k] = v->be[k].dp_state == MLB_BACKEND_ACTIVE;
		active += mask[k];
	}
	if (!active)
		return;
	if (safety_tick(&v->safety, now)) {
		pr_warn("marllbd: VIP id %u: %s.\n", v->id, v->safety.reason);
		if (v->safety.mode == SAFETY_LEARNED) {
			agent_reset_state(v->agent);
			v->agent_stepped = false;
		}
	}
	if (v->safety.mode != SAFETY_LEARNED) {
		sed_weights(d, v, mask, w);
		if (memcmp(w, v->weights, sizeof(float) * n))
			publish(d, v, w);
		return;
	}

	/* The simulator's code path: a server without recent samples counts as idle (l = 0),
	 * so that starving a server cannot hide it from the reward. */
	v->reward = reward_observe(d->reward, d->opts.reward_units, v->feat, now, mask, l);
	err = agent_step(v->agent, 0, v->obs, n, (float)v->reward, mask,
			 (d->opts.explore ? AGENT_EXPLORE : 0) | (d->opts.no_learn ? 0 : AGENT_RECORD),
			 w);
	if (err) {
		if (!(v->rejected_weights++ % 100))
			pr_warn("marllbd: VIP id %u: the agent refused the observation (%s); "
				"weights unchanged.\n",
				v->id, strerror(-err));
		return;
	}
	v->agent_stepped = true;
	if (!weights_valid(d, v, mask, w)) {
		if (!(v->rejected_weights++ % 100))
			pr_warn("marllbd: VIP id %u: the agent proposed NaN or infinite weights; "
				"not written (%llu so far).\n",
				v->id, (unsigned long long)v->rejected_weights);
		return;
	}
	publish(d, v, w);
	if (!d->opts.no_learn)
		agent_train(v->agent, d->opts.updates_per_step, &v->astats);
}

static void vip_step(struct daemon *d, struct vip_state *v, double now, double dt)
{
	uint32_t q[MLB_MAX_BACKENDS];
	uint8_t mask[MLB_MAX_BACKENDS];
	float prev[MLB_MAX_BACKENDS], config_w[MLB_MAX_BACKENDS];
	double red[5];
	int n = v->feat_n;

	if (!v->feat || n <= 0)
		return;
	if (mlb_dp_read_queues(d->dp, v->id, q, n))
		memset(q, 0, sizeof(q));
	for (int k = 0; k < n; k++) {
		struct be_state *b = &v->be[k];

		b->q = q[k];
		features_set_open_flows(v->feat, k, q[k]);
		if (dt > 0)
			b->samples_rate = ewma(b->samples_rate, b->step_samples / dt, dt);
		b->step_samples = 0;
		mlb_dp_read_backend_traffic(d->dp, v->id, k, &b->traffic);
		if (b->used && b->removed && q[k] == 0 && !slot_free(d, v->id, k)) {
			char as[INET6_ADDRSTRLEN];

			pr_info("marllbd: VIP id %u: backend %s drained; slot %d freed.\n", v->id,
				inet_addr_str(&b->conf.addr, as, sizeof(as)), k);
			b->used = false;
			b->dp_state = MLB_BACKEND_UNUSED;
		}
		if (b->used && !b->removed &&
		    health_expire(&b->hc, now, d->opts.health_timeout, d->opts.health_rise,
				  d->opts.health_fall))
			backend_apply_state(d, v, k);
	}
	if (dt > 0)
		v->arrival_rate = ewma(v->arrival_rate, v->step_arrivals / dt, dt);
	v->step_arrivals = 0;

	for (int k = 0; k < n; k++) {
		features_task_duration_reduce(v->feat, k, now, red);
		v->be[k].mean_s = (float)red[0];
		v->be[k].p90_s = (float)red[1];
	}
	if (!v->agent)
		return;
	/* The previous action as the agent sees it: the weights last written (SED's while the
	 * safety net holds them), and the operator's configured weights. */
	for (int k = 0; k < n; k++) {
		mask[k] = v->be[k].dp_state == MLB_BACKEND_ACTIVE;
		prev[k] = v->weights[k] > 0 ? v->weights[k] : 1.0f;
		config_w[k] = v->be[k].conf.weight > 0 ? (float)v->be[k].conf.weight : 1.0f;
	}
	features_policy_obs(v->feat, now, prev, config_w, mask, v->obs);
	marl_step(d, v, now);
}

void control_step(struct daemon *d, double now)
{
	double dt = d->last_step > 0 ? now - d->last_step : 0;

	if (d->rb)
		ring_buffer__consume(d->rb);
	for (int id = 0; id < MLB_MAX_VIPS; id++)
		if (d->vips[id])
			vip_step(d, d->vips[id], now, dt);
	mlb_dp_read_stats(d->dp, &d->stats);
	d->last_step = now;
	d->steps++;
}

void save_models(struct daemon *d)
{
	for (int id = 0; id < MLB_MAX_VIPS; id++)
		if (d->vips[id])
			save_vip_model(d, d->vips[id]);
}
