// SPDX-License-Identifier: GPL-2.0
/* The agent's public face: configuration, acting one control step at a time, training. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/agent_impl.h"
#include "learn/matmul.h"

void agent_config_default(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_servers = 64;
	cfg->lanes = 1;
	cfg->hidden = 32;
	cfg->seq_len = 16; /* 4 s of history at 0.25 s steps */
	cfg->burn_in = 6;
	cfg->batch_rows = 256;
	cfg->max_windows = 32;
	cfg->replay_steps = 65536; /* ~4.5 h at 0.25 s steps */
	cfg->replay_rows = 0; /* replay_steps x max_servers, at most 2^20 */
	cfg->warmup_steps = 1000;
	cfg->updates_per_step = 1;
	cfg->lr = 3e-4f;
	cfg->gamma = 0.95f;
	cfg->tau = 0.01f;
	cfg->init_alpha = 0.05f;
	cfg->target_entropy = -1.0f;
	cfg->grad_clip = 10.0f;
	cfg->log_w_range = 1.3862944f; /* ln 4: weights within 16:1 of each other */
	cfg->log_w_quantum = 0.05f;
	cfg->bc_weight = 0.0f;
	cfg->sac_weight = 1.0f;
	cfg->recurrent = true;
	cfg->reward_scaling = false;
	cfg->seed = 1;
}

#define CHECK(cond, ...)                                             \
	do {                                                         \
		if (!(cond)) {                                       \
			if (err && err_len)                          \
				snprintf(err, err_len, __VA_ARGS__); \
			return -EINVAL;                              \
		}                                                    \
	} while (0)

int agent_config_check(const struct agent_config *c, char *err, size_t err_len)
{
	CHECK(c->max_servers >= 1 && c->max_servers <= AGENT_MAX_SERVERS,
	      "max_servers %d is not in 1..%d", c->max_servers, AGENT_MAX_SERVERS);
	CHECK(c->lanes >= 1 && c->lanes <= 4096, "lanes %d is not in 1..4096", c->lanes);
	CHECK(c->hidden >= 1 && c->hidden <= 4096, "hidden %d is not in 1..4096", c->hidden);
	CHECK(c->seq_len >= 2 && c->seq_len <= 1024, "seq_len %d is not in 2..1024", c->seq_len);
	CHECK(c->burn_in >= 0 && c->burn_in < c->seq_len,
	      "burn_in %d must be in 0..seq_len-1 (seq_len %d)", c->burn_in, c->seq_len);
	CHECK(c->batch_rows >= 1 && c->batch_rows <= 1 << 20, "batch_rows %d is not in 1..2^20",
	      c->batch_rows);
	CHECK(c->max_windows >= 1 && c->max_windows <= 4096, "max_windows %d is not in 1..4096",
	      c->max_windows);
	CHECK(c->replay_steps > c->seq_len && c->replay_steps <= (1 << 26),
	      "replay_steps %d must exceed seq_len %d and be at most 2^26", c->replay_steps,
	      c->seq_len);
	CHECK(c->replay_rows == 0 || (c->replay_rows >= c->max_servers && c->replay_rows <= (1 << 28)),
	      "replay_rows %d must be 0 (auto) or hold one pool of max_servers %d and be at most 2^28",
	      c->replay_rows, c->max_servers);
	CHECK(c->warmup_steps >= 0, "warmup_steps %d is negative", c->warmup_steps);
	CHECK(c->updates_per_step >= 0, "updates_per_step %d is negative", c->updates_per_step);
	CHECK(isfinite(c->lr) && c->lr > 0.0f, "lr %g must be positive", c->lr);
	CHECK(c->gamma >= 0.0f && c->gamma < 1.0f, "gamma %g is not in [0, 1)", c->gamma);
	CHECK(c->tau > 0.0f && c->tau <= 1.0f, "tau %g is not in (0, 1]", c->tau);
	CHECK(isfinite(c->init_alpha) && c->init_alpha > 0.0f, "init_alpha %g must be positive",
	      c->init_alpha);
	CHECK(isfinite(c->target_entropy), "target_entropy %g is not finite", c->target_entropy);
	CHECK(isfinite(c->grad_clip) && c->grad_clip >= 0.0f, "grad_clip %g must be >= 0",
	      c->grad_clip);
	CHECK(isfinite(c->bc_weight) && c->bc_weight >= 0.0f, "bc_weight %g must be >= 0",
	      c->bc_weight);
	CHECK(isfinite(c->sac_weight) && c->sac_weight >= 0.0f, "sac_weight %g must be >= 0",
	      c->sac_weight);
	CHECK(isfinite(c->log_w_range) && c->log_w_range > 0.0f && c->log_w_range <= 10.0f,
	      "log_w_range %g is not in (0, 10]", c->log_w_range);
	CHECK(isfinite(c->act_tau_steps) && c->act_tau_steps >= 0.0f,
	      "act_tau_steps %g is not >= 0", c->act_tau_steps);
	CHECK(isfinite(c->log_w_quantum) && c->log_w_quantum >= 0.0f && c->log_w_quantum <= 1.0f,
	      "log_w_quantum %g is not in [0, 1]", c->log_w_quantum);
	return 0;
}

void agent_dims(const struct agent_config *cfg, struct setnet_dims *d)
{
	d->features = AGENT_FEATURES;
	d->hidden = cfg->hidden;
	d->recurrent = cfg->recurrent;
}

static int pbuf_alloc(struct pbuf *b, size_t count, bool with_target)
{
	int nbuf = with_target ? 5 : 4;

	b->count = count;
	b->params = calloc(count * nbuf, sizeof(float));
	if (!b->params)
		return -ENOMEM;
	b->grads = b->params + count;
	b->adam_m = b->grads + count;
	b->adam_v = b->adam_m + count;
	b->target = with_target ? b->adam_v + count : NULL;
	return 0;
}

static void pbuf_free(struct pbuf *b)
{
	free(b->params);
	memset(b, 0, sizeof(*b));
}

static void pbuf_sync_target(struct pbuf *b)
{
	if (b->target)
		memcpy(b->target, b->params, b->count * sizeof(float));
}

struct agent *agent_create(const struct agent_config *cfg)
{
	struct setnet_dims d;
	struct agent *ag;

	if (agent_config_check(cfg, NULL, 0)) {
		errno = EINVAL;
		return NULL;
	}
	matmul_init();
	ag = calloc(1, sizeof(*ag));
	if (!ag)
		goto nomem;
	ag->cfg = *cfg;
	agent_dims(cfg, &d);
	ag->dims = d;
	rng_seed(&ag->rng, cfg->seed);
	ag->log_alpha = logf(cfg->init_alpha);
	if (pbuf_alloc(&ag->enc, encoder_param_count(&d), true) ||
	    pbuf_alloc(&ag->actor, actor_param_count(&d), false) ||
	    pbuf_alloc(&ag->critic[0], critic_param_count(&d), true) ||
	    pbuf_alloc(&ag->critic[1], critic_param_count(&d), true))
		goto nomem;
	encoder_point(&ag->ep, ag->enc.params, &d);
	encoder_point(&ag->eg, ag->enc.grads, &d);
	encoder_point(&ag->et, ag->enc.target, &d);
	actor_point(&ag->ap, ag->actor.params, &d);
	actor_point(&ag->ag, ag->actor.grads, &d);
	for (int k = 0; k < 2; k++) {
		critic_point(&ag->cp[k], ag->critic[k].params, &d);
		critic_point(&ag->cg[k], ag->critic[k].grads, &d);
		critic_point(&ag->ct[k], ag->critic[k].target, &d);
	}
	encoder_init(ag->enc.params, &d, &ag->rng);
	actor_init(ag->actor.params, &d, &ag->rng);
	critic_init(ag->critic[0].params, &d, &ag->rng);
	critic_init(ag->critic[1].params, &d, &ag->rng);
	pbuf_sync_target(&ag->enc);
	pbuf_sync_target(&ag->critic[0]);
	pbuf_sync_target(&ag->critic[1]);

	ag->lanes = calloc(cfg->lanes, sizeof(*ag->lanes));
	if (!ag->lanes)
		goto nomem;
	for (int i = 0; i < cfg->lanes; i++) {
		ag->lanes[i].h = calloc((size_t)cfg->max_servers * d.hidden, sizeof(float));
		ag->lanes[i].act_l = calloc(cfg->max_servers, sizeof(float));
		if (!ag->lanes[i].h || !ag->lanes[i].act_l)
			goto nomem;
	}
	ag->act_mask = calloc(cfg->max_servers, sizeof(float));
	if (!ag->act_mask || encoder_acts_alloc(&ag->act_enc, &d, 1, cfg->max_servers, 1) ||
	    actor_acts_alloc(&ag->act_actor, &d, cfg->max_servers, 1))
		goto nomem;
	return ag;
nomem:
	agent_free(ag);
	errno = ENOMEM;
	return NULL;
}

void agent_free(struct agent *ag)
{
	if (!ag)
		return;
	replay_free(&ag->replay);
	pbuf_free(&ag->enc);
	pbuf_free(&ag->actor);
	pbuf_free(&ag->critic[0]);
	pbuf_free(&ag->critic[1]);
	if (ag->lanes) {
		for (int i = 0; i < ag->cfg.lanes; i++) {
			free(ag->lanes[i].h);
			free(ag->lanes[i].anchor_h);
			free(ag->lanes[i].act_l);
		}
	}
	free(ag->lanes);
	free(ag->anchor);
	free(ag->act_mask);
	encoder_acts_free(&ag->act_enc);
	actor_acts_free(&ag->act_actor);
	sac_batch_free(&ag->sb);
	free(ag);
}

const struct agent_config *agent_config(const struct agent *ag)
{
	return &ag->cfg;
}

/* Replay for pools of up to n servers: replay_steps of them, at most 2^20 rows. */
int agent_reserve_replay(struct agent *ag, int n)
{
	int64_t rows = ag->cfg.replay_rows;

	if (ag->replay.step_capacity)
		return 0;
	if (n < 1 || n > ag->cfg.max_servers)
		return -EINVAL;
	if (!rows) {
		rows = (int64_t)ag->cfg.replay_steps * n;
		if (rows > (1 << 20))
			rows = (1 << 20) > ag->cfg.max_servers ? (1 << 20) : ag->cfg.max_servers;
	}
	return replay_init(&ag->replay, ag->dims.features, ag->cfg.replay_steps, rows);
}

/*
 * Log-weights onto a grid of step q (0: as they are), then centred again. Every LB runs the
 * same policy on similar observations, so weights that differ by a hair would break the
 * data plane's ties the same way at every LB and send their next flows to one server
 * (herding); on the grid, near-equal servers are equal and ties go at random, as with lsq.
 */
/*
 * The lane's exponential average of the log-weights over act_tau_steps steps replaces this
 * step's (the first step of an episode starts it). An inactive server's entry follows the
 * policy, so it starts fresh when it comes back.
 */
static void smooth_log_weights(struct agent *ag, struct lane *ln, float *l, int n)
{
	float keep;

	if (ag->cfg.act_tau_steps <= 0.0f)
		return;
	keep = expf(-1.0f / ag->cfg.act_tau_steps);
	for (int k = 0; k < n; k++) {
		if (ln->act_l_valid && ag->act_mask[k] != 0.0f)
			ln->act_l[k] = keep * ln->act_l[k] + (1.0f - keep) * l[k];
		else
			ln->act_l[k] = l[k];
		l[k] = ln->act_l[k];
	}
	ln->act_l_valid = true;
}

static void quantise_log_weights(float *l, const float *mask, int n, float q)
{
	float mean = 0.0f;
	int m = 0;

	if (q <= 0.0f)
		return;
	for (int k = 0; k < n; k++) {
		if (mask[k] == 0.0f)
			continue;
		l[k] = q * roundf(l[k] / q);
		mean += l[k];
		m++;
	}
	for (int k = 0; k < n; k++)
		if (mask[k] != 0.0f)
			l[k] -= mean / m;
}

/* The anchor's greedy log-weights for this step, written as the step's teacher labels. */
static void anchor_label(struct agent *ag, struct lane *ln, const float *obs,
			 const struct set_shape *shape, uint64_t step)
{
	const int n = shape->rows, H = ag->dims.hidden;
	float a[AGENT_MAX_SERVERS], l[AGENT_MAX_SERVERS], *dst;
	const float *e, *out;

	e = encoder_forward(&ag->act_enc, &ag->anchor_ep, &ag->dims, obs, shape,
			    ag->cfg.recurrent ? ln->anchor_h : NULL);
	if (ag->cfg.recurrent)
		memcpy(ln->anchor_h, e, (size_t)n * H * sizeof(float));
	out = actor_forward(&ag->act_actor, &ag->anchor_ap, &ag->dims, e, shape);
	sac_policy_act(out, NULL, shape, ag->cfg.log_w_range, a, l, NULL);
	dst = replay_teacher(&ag->replay, step);
	for (int k = 0; k < n; k++)
		dst[k] = shape->mask[k] != 0.0f ? l[k] : NAN;
}

int agent_set_anchor(struct agent *ag)
{
	size_t ne = ag->enc.count, na = ag->actor.count, nh;

	if (!ag->anchor) {
		ag->anchor = malloc((ne + na) * sizeof(float));
		if (!ag->anchor)
			return -ENOMEM;
		nh = (size_t)ag->cfg.max_servers * ag->dims.hidden;
		for (int i = 0; i < ag->cfg.lanes; i++) {
			ag->lanes[i].anchor_h = calloc(nh, sizeof(float));
			if (!ag->lanes[i].anchor_h)
				return -ENOMEM;
		}
	}
	memcpy(ag->anchor, ag->enc.params, ne * sizeof(float));
	memcpy(ag->anchor + ne, ag->actor.params, na * sizeof(float));
	encoder_point(&ag->anchor_ep, ag->anchor, &ag->dims);
	actor_point(&ag->anchor_ap, ag->anchor + ne, &ag->dims);
	return 0;
}

int agent_step(struct agent *ag, int lane, const float *obs, int n, float reward_prev,
	       const uint8_t *active_mask, unsigned int flags, float *weights_out)
{
	const int F = ag->dims.features, H = ag->dims.hidden;
	const bool record = flags & AGENT_RECORD;
	struct lane *ln;
	struct set_shape shape;
	float eps[AGENT_MAX_SERVERS], a[AGENT_MAX_SERVERS], l[AGENT_MAX_SERVERS];
	uint64_t step = REPLAY_NO_STEP;
	const float *e, *out;

	if (lane < 0 || lane >= ag->cfg.lanes || n < 1 || n > ag->cfg.max_servers)
		return -EINVAL;
	ln = &ag->lanes[lane];
	for (size_t i = 0; i < (size_t)n * F; i++)
		if (!isfinite(obs[i]))
			return -EINVAL;
	if (ln->n != n)
		agent_reset_lane(ag, lane);
	ln->n = n;
	if (ln->have_prev && record && !isfinite(reward_prev))
		return -EINVAL;
	for (int k = 0; k < n; k++)
		ag->act_mask[k] = !active_mask || active_mask[k] ? 1.0f : 0.0f;

	if (record) {
		if (agent_reserve_replay(ag, n))
			return -ENOMEM;
		if (ln->have_prev) {
			replay_set_reward(&ag->replay, ln->prev_step, reward_prev);
			ag->reward_count += 1.0;
			ag->reward_sq_mean += ((double)reward_prev * reward_prev - ag->reward_sq_mean) /
					      ag->reward_count;
		}
		step = replay_append(&ag->replay, obs, active_mask, n,
				     ln->have_prev ? ln->prev_step : REPLAY_NO_STEP);
	}

	ag->act_seg[0] = 0;
	ag->act_seg[1] = n;
	shape = (struct set_shape){ 1, n, 1, ag->act_seg, ag->act_mask };
	e = encoder_forward(&ag->act_enc, &ag->ep, &ag->dims, obs, &shape,
			    ag->cfg.recurrent ? ln->h : NULL);
	if (ag->cfg.recurrent)
		memcpy(ln->h, e, (size_t)n * H * sizeof(float));
	out = actor_forward(&ag->act_actor, &ag->ap, &ag->dims, e, &shape);
	if (flags & AGENT_EXPLORE)
		rng_normal_fill(&ag->rng, eps, n);
	sac_policy_act(out, flags & AGENT_EXPLORE ? eps : NULL, &shape, ag->cfg.log_w_range, a, l,
		       NULL);
	smooth_log_weights(ag, ln, l, n);
	quantise_log_weights(l, ag->act_mask, n, ag->cfg.log_w_quantum);
	for (int k = 0; k < n; k++)
		weights_out[k] = ag->act_mask[k] != 0.0f ? expf(l[k]) : 0.0f;
	if (record) {
		memcpy(replay_action(&ag->replay, step), l, (size_t)n * sizeof(float));
		ln->prev_step = step;
		if (ag->anchor)
			anchor_label(ag, ln, obs, &shape, step);
	}
	ln->have_prev = record;
	ag->stats.steps++;
	return 0;
}

int agent_set_teacher(struct agent *ag, int lane, const float *log_weights)
{
	const uint8_t *mask;
	struct lane *ln;
	double mean = 0;
	int n_known = 0;
	float *dst;

	if (lane < 0 || lane >= ag->cfg.lanes)
		return -EINVAL;
	ln = &ag->lanes[lane];
	dst = ln->have_prev ? replay_teacher(&ag->replay, ln->prev_step) : NULL;
	if (!dst)
		return -ENOENT;
	mask = ag->replay.mask + (dst - ag->replay.teacher);
	for (int k = 0; k < ln->n; k++) {
		if (mask[k] && isfinite(log_weights[k])) {
			mean += log_weights[k];
			n_known++;
		}
	}
	/* centred like the actor's log-weights: only differences reach the data plane */
	for (int k = 0; k < ln->n; k++)
		dst[k] = mask[k] && isfinite(log_weights[k]) ? (float)(log_weights[k] - mean / n_known) :
							       NAN;
	return 0;
}

void agent_reset_lane(struct agent *ag, int lane)
{
	struct lane *ln;

	if (lane < 0 || lane >= ag->cfg.lanes)
		return;
	ln = &ag->lanes[lane];
	memset(ln->h, 0, (size_t)ag->cfg.max_servers * ag->dims.hidden * sizeof(float));
	if (ln->anchor_h)
		memset(ln->anchor_h, 0,
		       (size_t)ag->cfg.max_servers * ag->dims.hidden * sizeof(float));
	ln->have_prev = false;
	ln->act_l_valid = false;
	ln->n = 0;
}

int agent_set_loss_weights(struct agent *ag, float bc_weight, float sac_weight)
{
	if (!isfinite(bc_weight) || bc_weight < 0.0f || !isfinite(sac_weight) || sac_weight < 0.0f)
		return -EINVAL;
	ag->cfg.bc_weight = bc_weight;
	ag->cfg.sac_weight = sac_weight;
	return 0;
}

int agent_set_act_smoothing(struct agent *ag, float tau_steps)
{
	if (!isfinite(tau_steps) || tau_steps < 0.0f)
		return -EINVAL;
	ag->cfg.act_tau_steps = tau_steps;
	for (int i = 0; i < ag->cfg.lanes; i++)
		ag->lanes[i].act_l_valid = false;
	return 0;
}

void agent_reset_state(struct agent *ag)
{
	for (int i = 0; i < ag->cfg.lanes; i++)
		agent_reset_lane(ag, i);
}

void agent_get_stats(const struct agent *ag, struct agent_stats *stats)
{
	*stats = ag->stats;
	stats->alpha = expf(ag->log_alpha);
}

int agent_train(struct agent *ag, int n, struct agent_stats *stats)
{
	uint64_t need = ag->cfg.warmup_steps;
	int done = 0;

	if (need < (uint64_t)ag->cfg.seq_len + 1)
		need = ag->cfg.seq_len + 1;
	while (done < n && replay_size(&ag->replay) >= need && sac_update(ag) == 0)
		done++;
	if (stats)
		agent_get_stats(ag, stats);
	return done;
}

int agent_copy_params(struct agent *dst, const struct agent *src)
{
	if (dst->cfg.hidden != src->cfg.hidden || dst->enc.count != src->enc.count)
		return -EINVAL;
	memcpy(dst->enc.params, src->enc.params, src->enc.count * sizeof(float));
	memcpy(dst->enc.target, src->enc.target, src->enc.count * sizeof(float));
	memcpy(dst->actor.params, src->actor.params, src->actor.count * sizeof(float));
	for (int k = 0; k < 2; k++) {
		memcpy(dst->critic[k].params, src->critic[k].params,
		       src->critic[k].count * sizeof(float));
		memcpy(dst->critic[k].target, src->critic[k].target,
		       src->critic[k].count * sizeof(float));
	}
	dst->log_alpha = src->log_alpha;
	dst->reward_count = src->reward_count;
	dst->reward_sq_mean = src->reward_sq_mean;
	return 0;
}
