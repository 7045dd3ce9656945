// SPDX-License-Identifier: GPL-2.0
/* The agent's public face: configuration, acting one control step at a time, training. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/agent_impl.h"
#include "learn/matmul.h"

void agent_config_default(struct agent_config *cfg, int n_servers, int obs_dim)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->n_servers = n_servers;
	cfg->obs_dim = obs_dim;
	cfg->hidden = 64; /* ~5 ms per update on one core: trains beside the data plane */
	cfg->seq_len = 16; /* 4 s of history at 0.25 s steps */
	cfg->burn_in = 4;
	cfg->batch = 32;
	cfg->replay_capacity = 65536; /* ~4.5 h at 0.25 s steps, 20 MB at N = 7 */
	cfg->warmup_steps = 1000;
	cfg->updates_per_step = 1;
	cfg->lr = 3e-4f;
	cfg->gamma = 0.99f;
	cfg->tau = 0.01f;
	cfg->init_alpha = 0.2f;
	cfg->grad_clip = 10.0f;
	cfg->w_min = 0.125f;
	cfg->w_max = 8.0f;
	cfg->recurrent = true;
	cfg->layer_norm = false;
	cfg->reward_scaling = true;
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
	CHECK(c->n_servers >= 1 && c->n_servers <= 4096, "n_servers %d is not in 1..4096",
	      c->n_servers);
	CHECK(c->obs_dim >= 1 && c->obs_dim <= 65536, "obs_dim %d is not in 1..65536", c->obs_dim);
	CHECK(c->hidden >= 1 && c->hidden <= 4096, "hidden %d is not in 1..4096", c->hidden);
	CHECK(c->seq_len >= 2 && c->seq_len <= 1024, "seq_len %d is not in 2..1024", c->seq_len);
	CHECK(c->burn_in >= 0 && c->burn_in < c->seq_len,
	      "burn_in %d must be in 0..seq_len-1 (seq_len %d)", c->burn_in, c->seq_len);
	CHECK(c->batch >= 1 && c->batch <= 4096, "batch %d is not in 1..4096", c->batch);
	CHECK(c->replay_capacity > c->seq_len && c->replay_capacity <= (1 << 26),
	      "replay_capacity %d must exceed seq_len %d and be at most 2^26", c->replay_capacity,
	      c->seq_len);
	CHECK(c->warmup_steps >= 0, "warmup_steps %d is negative", c->warmup_steps);
	CHECK(c->updates_per_step >= 0, "updates_per_step %d is negative", c->updates_per_step);
	CHECK(isfinite(c->lr) && c->lr > 0.0f, "lr %g must be positive", c->lr);
	CHECK(c->gamma >= 0.0f && c->gamma < 1.0f, "gamma %g is not in [0, 1)", c->gamma);
	CHECK(c->tau > 0.0f && c->tau <= 1.0f, "tau %g is not in (0, 1]", c->tau);
	CHECK(isfinite(c->init_alpha) && c->init_alpha > 0.0f, "init_alpha %g must be positive",
	      c->init_alpha);
	CHECK(isfinite(c->grad_clip) && c->grad_clip >= 0.0f, "grad_clip %g must be >= 0",
	      c->grad_clip);
	CHECK(isfinite(c->w_min) && isfinite(c->w_max) && c->w_min > 0.0f && c->w_min < c->w_max,
	      "weight range [%g, %g] must satisfy 0 < w_min < w_max", c->w_min, c->w_max);
	return 0;
}

void agent_net_dims(const struct agent_config *cfg, struct net_dims *actor, struct net_dims *critic)
{
	*actor = (struct net_dims){ .in = cfg->obs_dim,
				    .extra = 0,
				    .hidden = cfg->hidden,
				    .out = 2 * cfg->n_servers,
				    .layer_norm = cfg->layer_norm,
				    .recurrent = cfg->recurrent };
	*critic = *actor;
	critic->extra = cfg->n_servers;
	critic->out = 1;
}

struct agent *agent_create(const struct agent_config *cfg)
{
	struct net_dims ad, cd;
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
	rng_seed(&ag->rng, cfg->seed);
	agent_net_dims(cfg, &ad, &cd);
	ag->log_alpha = logf(cfg->init_alpha);
	if (normaliser_init(&ag->norm, cfg->obs_dim) ||
	    replay_init(&ag->replay, cfg->replay_capacity, cfg->obs_dim, cfg->n_servers) ||
	    net_create(&ag->actor, &ad, false, &ag->rng) ||
	    net_create(&ag->critic[0], &cd, true, &ag->rng) ||
	    net_create(&ag->critic[1], &cd, true, &ag->rng) ||
	    encoder_acts_alloc(&ag->act_enc, &ad, 1, 1) || head_acts_alloc(&ag->act_head, &ad, 1) ||
	    sac_batch_alloc(&ag->sb, cfg))
		goto nomem;
	ag->h = calloc(cfg->hidden, sizeof(float));
	ag->obs_norm = calloc(cfg->obs_dim, sizeof(float));
	if (!ag->h || !ag->obs_norm)
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
	normaliser_free(&ag->norm);
	replay_free(&ag->replay);
	net_free(&ag->actor);
	net_free(&ag->critic[0]);
	net_free(&ag->critic[1]);
	encoder_acts_free(&ag->act_enc);
	head_acts_free(&ag->act_head);
	sac_batch_free(&ag->sb);
	free(ag->h);
	free(ag->obs_norm);
	free(ag);
}

const struct agent_config *agent_config(const struct agent *ag)
{
	return &ag->cfg;
}

float agent_action_to_weight(const struct agent_config *cfg, float a)
{
	float lo = logf(cfg->w_min), hi = logf(cfg->w_max);
	float w = expf(lo + 0.5f * (a + 1.0f) * (hi - lo));

	/* exactly inside the range, whatever the rounding of exp(log()) */
	return fminf(fmaxf(w, cfg->w_min), cfg->w_max);
}

int agent_step(struct agent *ag, const float *obs, float reward_prev, const uint8_t *active_mask,
	       bool explore, float *weights_out)
{
	const int O = ag->cfg.obs_dim, A = ag->cfg.n_servers;
	uint8_t mask[A];
	const float *enc, *out;
	uint64_t step;
	float *act;

	for (int i = 0; i < O; i++)
		if (!isfinite(obs[i]))
			return -EINVAL;
	if (ag->have_prev && !isfinite(reward_prev))
		return -EINVAL;
	for (int k = 0; k < A; k++)
		mask[k] = !active_mask || active_mask[k];

	if (ag->have_prev) {
		replay_set_reward(&ag->replay, ag->prev_step, reward_prev);
		ag->reward_count += 1.0;
		ag->reward_sq_mean +=
			((double)reward_prev * reward_prev - ag->reward_sq_mean) / ag->reward_count;
	}
	normaliser_update(&ag->norm, obs);
	normaliser_apply(&ag->norm, obs, ag->obs_norm);
	step = replay_append(&ag->replay, obs, mask, ag->episode);

	enc = encoder_forward(&ag->act_enc, &ag->actor.p, ag->obs_norm,
			      ag->cfg.recurrent ? ag->h : NULL, 1);
	if (ag->cfg.recurrent)
		memcpy(ag->h, gru_output(&ag->act_enc.gru), ag->cfg.hidden * sizeof(float));
	out = head_forward(&ag->act_head, &ag->actor.dims, &ag->actor.p, enc, NULL, 1);

	act = replay_action(&ag->replay, step);
	for (int k = 0; k < A; k++) {
		float u = out[k];

		if (!mask[k]) {
			act[k] = 0.0f;
			weights_out[k] = 0.0f;
			continue;
		}
		if (explore)
			u += expf(sac_log_std(out[A + k])) * rng_normal(&ag->rng);
		act[k] = tanhf(u);
		weights_out[k] = agent_action_to_weight(&ag->cfg, act[k]);
	}
	ag->have_prev = true;
	ag->prev_step = step;
	ag->stats.steps++;
	return 0;
}

void agent_reset_state(struct agent *ag)
{
	memset(ag->h, 0, ag->cfg.hidden * sizeof(float));
	ag->have_prev = false;
	ag->episode++;
}

int agent_train(struct agent *ag, int n, struct agent_stats *stats)
{
	uint64_t need = ag->cfg.warmup_steps;
	int done = 0;

	if (need < (uint64_t)ag->cfg.seq_len + 1)
		need = ag->cfg.seq_len + 1;
	while (done < n && replay_size(&ag->replay) >= need && sac_update(ag) == 0)
		done++;
	ag->stats.alpha = expf(ag->log_alpha);
	if (stats)
		*stats = ag->stats;
	return done;
}
