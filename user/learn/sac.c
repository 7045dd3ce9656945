// SPDX-License-Identifier: GPL-2.0
/*
 * Soft Actor-Critic on replayed sequences (Haarnoja et al. 2018, with the automatic
 * temperature of the second paper). For trained step t of a sequence, with a' ~ pi(o_{t+1}):
 *
 *   y_t      = r_t + gamma * (min_k Qtarg_k(o_<=t+1, a') - alpha * log pi(a' | o_<=t+1))
 *   L_Q      = sum_k mean_t (Q_k(o_<=t, a_t) - y_t)^2
 *   L_pi     = mean_t (alpha * log pi(a~ | o_<=t) - min_k Q_k(o_<=t, a~)),  a~ ~ pi(o_<=t)
 *   L_alpha  = -log alpha * mean_t (log pi(a~) + target_entropy_t)
 *
 * target_entropy_t = -(active servers at t). L_pi also carries SAC_MEAN_REG * mean^2 on the
 * pre-tanh mean (as the original SAC code did): without it a policy whose critic once said
 * "further is better" parks tanh at +-1, where the gradient through tanh vanishes. All three losses come from one forward pass
 * with the parameters as they are; then every network takes its Adam step. The actor's loss
 * reaches the critics only through the action (their encoders are held fixed).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/agent_impl.h"
#include "learn/fastmath.h"
#include "learn/matmul.h"
#include "learn/optim.h"

int sac_batch_alloc(struct sac_batch *sb, const struct agent_config *cfg)
{
	struct net_dims ad, cd;
	const int T = cfg->seq_len + 1, B = cfg->batch, O = cfg->obs_dim, A = cfg->n_servers;
	int err = 0;

	memset(sb, 0, sizeof(*sb));
	agent_net_dims(cfg, &ad, &cd);
	sb->steps = T;
	sb->batch = B;
	sb->rows_actor = (T - cfg->burn_in) * B;
	sb->rows = (T - 1 - cfg->burn_in) * B;
	sb->obs = calloc((size_t)T * B * O, sizeof(float));
	sb->norm_mean = calloc(O, sizeof(float));
	sb->norm_inv_std = calloc(O, sizeof(float));
	sb->act = calloc((size_t)T * B * A, sizeof(float));
	sb->mask = calloc((size_t)T * B * A, sizeof(float));
	sb->reward = calloc((size_t)T * B, sizeof(float));
	sb->eps_pi = calloc((size_t)sb->rows * A, sizeof(float));
	sb->eps_next = calloc((size_t)sb->rows * A, sizeof(float));
	sb->pi_act = calloc((size_t)sb->rows * A, sizeof(float));
	sb->next_act = calloc((size_t)sb->rows * A, sizeof(float));
	sb->dpi_act = calloc((size_t)sb->rows * A, sizeof(float));
	sb->pi_logp = calloc(sb->rows, sizeof(float));
	sb->next_logp = calloc(sb->rows, sizeof(float));
	sb->y = calloc(sb->rows, sizeof(float));
	sb->dq[0] = calloc(sb->rows, sizeof(float));
	sb->dq[1] = calloc(sb->rows, sizeof(float));
	sb->dactor_out = calloc((size_t)sb->rows_actor * 2 * A, sizeof(float));
	if (!sb->obs || !sb->norm_mean || !sb->norm_inv_std || !sb->act || !sb->mask ||
	    !sb->reward || !sb->eps_pi || !sb->eps_next || !sb->pi_act || !sb->next_act ||
	    !sb->dpi_act || !sb->pi_logp || !sb->next_logp || !sb->y || !sb->dq[0] || !sb->dq[1] ||
	    !sb->dactor_out)
		goto nomem;
	err |= encoder_acts_alloc(&sb->actor_enc, &ad, T, B);
	err |= head_acts_alloc(&sb->actor_head, &ad, sb->rows_actor);
	for (int k = 0; k < 2; k++) {
		/* the critics are evaluated up to step T - 2 only: their last step is the
		 * targets' business */
		err |= encoder_acts_alloc(&sb->critic_enc[k], &cd, T - 1, B);
		err |= encoder_acts_alloc(&sb->target_enc[k], &cd, T, B);
		err |= head_acts_alloc(&sb->critic_head[k], &cd, sb->rows);
		err |= head_acts_alloc(&sb->critic_pi_head[k], &cd, sb->rows);
		err |= head_acts_alloc(&sb->target_head[k], &cd, sb->rows);
	}
	if (!err)
		return 0;
nomem:
	sac_batch_free(sb);
	return -ENOMEM;
}

void sac_batch_free(struct sac_batch *sb)
{
	free(sb->obs);
	free(sb->norm_mean);
	free(sb->norm_inv_std);
	free(sb->act);
	free(sb->mask);
	free(sb->reward);
	free(sb->eps_pi);
	free(sb->eps_next);
	free(sb->pi_act);
	free(sb->next_act);
	free(sb->dpi_act);
	free(sb->pi_logp);
	free(sb->next_logp);
	free(sb->y);
	free(sb->dq[0]);
	free(sb->dq[1]);
	free(sb->dactor_out);
	encoder_acts_free(&sb->actor_enc);
	head_acts_free(&sb->actor_head);
	for (int k = 0; k < 2; k++) {
		encoder_acts_free(&sb->critic_enc[k]);
		encoder_acts_free(&sb->target_enc[k]);
		head_acts_free(&sb->critic_head[k]);
		head_acts_free(&sb->critic_pi_head[k]);
		head_acts_free(&sb->target_head[k]);
	}
	memset(sb, 0, sizeof(*sb));
}

int sac_sample(struct agent *ag)
{
	struct sac_batch *sb = &ag->sb;
	const int T = sb->steps, B = sb->batch, O = ag->cfg.obs_dim, A = ag->cfg.n_servers;
	const struct replay *rb = &ag->replay;
	/* A scale only, never a shift and never per batch: every update sees the same reward
	 * function, slowly tracking the magnitude of what the caller reports. */
	const float reward_scale = ag->cfg.reward_scaling && ag->reward_sq_mean > 0.0 ?
					   (float)(1.0 / sqrt(ag->reward_sq_mean)) :
					   1.0f;

	normaliser_snapshot(&ag->norm, sb->norm_mean, sb->norm_inv_std);
	for (int b = 0; b < B; b++) {
		int64_t start = replay_sample_start(rb, T, &ag->rng);

		if (start < 0)
			return -EAGAIN;
		for (int t = 0; t < T; t++) {
			size_t slot = (uint64_t)(start + t) % rb->capacity;
			size_t row = (size_t)t * B + b;

			normaliser_apply_fast(sb->norm_mean, sb->norm_inv_std, O,
					      rb->obs + slot * O, sb->obs + row * O);
			for (int k = 0; k < A; k++) {
				sb->act[row * A + k] = rb->act[slot * A + k];
				sb->mask[row * A + k] = rb->mask[slot * A + k] ? 1.0f : 0.0f;
			}
			sb->reward[row] = rb->reward[slot] * reward_scale;
		}
	}
	rng_normal_fill(&ag->rng, sb->eps_pi, (size_t)sb->rows * A);
	rng_normal_fill(&ag->rng, sb->eps_next, (size_t)sb->rows * A);
	return 0;
}

static inline float softplusf(float x)
{
	return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

float sac_log_std(float pre)
{
	return SAC_LOG_STD_MIN +
	       0.5f * (SAC_LOG_STD_MAX - SAC_LOG_STD_MIN) * (tanh_fast(pre) + 1.0f);
}

/* log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)) stays finite where 1 - a^2 rounds to 0 */
void sac_policy_sample(const float *head, const float *eps, const float *mask, int rows, int A,
		       float *act, float *logp)
{
	const float half_log_2pi = 0.91893853f;

	for (int r = 0; r < rows; r++) {
		const float *o = head + (size_t)r * 2 * A;
		float lp = 0.0f;

		for (int i = 0; i < A; i++) {
			size_t j = (size_t)r * A + i;
			float log_std, u;

			if (mask[j] == 0.0f) {
				act[j] = 0.0f;
				continue;
			}
			log_std = sac_log_std(o[A + i]);
			u = o[i] + expf(log_std) * eps[j];
			act[j] = tanh_fast(u);
			lp += -0.5f * eps[j] * eps[j] - log_std - half_log_2pi -
			      2.0f * (0.69314718f - u - softplusf(-2.0f * u));
		}
		logp[r] = lp;
	}
}

void sac_losses(struct agent *ag, bool grads, float *q_loss, float *pi_loss, float *dlog_alpha)
{
	struct sac_batch *sb = &ag->sb;
	const struct agent_config *cfg = &ag->cfg;
	const int T = sb->steps, B = sb->batch, A = cfg->n_servers, H = cfg->hidden;
	const int R = sb->rows, Ra = sb->rows_actor;
	const size_t first = (size_t)cfg->burn_in * B; /* row of the first trained step */
	const float alpha = expf(ag->log_alpha);
	const float *aenc, *aout, *cenc[2], *q[2], *qt[2], *qpi[2];
	double ql = 0.0, pl = 0.0, ent = 0.0;

	/* Actor: one pass gives the policy at every trained step t and at t + 1. */
	aenc = encoder_forward(&sb->actor_enc, &ag->actor.p, sb->obs, NULL, T);
	aout = head_forward(&sb->actor_head, &ag->actor.dims, &ag->actor.p, aenc + first * H, NULL,
			    Ra);
	sac_policy_sample(aout, sb->eps_pi, sb->mask + first * A, R, A, sb->pi_act, sb->pi_logp);
	sac_policy_sample(aout + (size_t)B * 2 * A, sb->eps_next, sb->mask + (first + B) * A, R, A,
			  sb->next_act, sb->next_logp);

	for (int k = 0; k < 2; k++) {
		struct net *c = &ag->critic[k];
		const float *tenc;

		cenc[k] = encoder_forward(&sb->critic_enc[k], &c->p, sb->obs, NULL, T - 1);
		q[k] = head_forward(&sb->critic_head[k], &c->dims, &c->p, cenc[k] + first * H,
				    sb->act + first * A, R);
		qpi[k] = head_forward(&sb->critic_pi_head[k], &c->dims, &c->p, cenc[k] + first * H,
				      sb->pi_act, R);
		tenc = encoder_forward(&sb->target_enc[k], &c->t, sb->obs, NULL, T);
		qt[k] = head_forward(&sb->target_head[k], &c->dims, &c->t, tenc + (first + B) * H,
				     sb->next_act, R);
	}

	for (int r = 0; r < R; r++) {
		float v_next = fminf(qt[0][r], qt[1][r]) - alpha * sb->next_logp[r];
		float target_entropy = 0.0f;

		sb->y[r] = sb->reward[first + r] + cfg->gamma * v_next;
		for (int k = 0; k < 2; k++)
			ql += (double)(q[k][r] - sb->y[r]) * (q[k][r] - sb->y[r]);
		pl += alpha * sb->pi_logp[r] - fminf(qpi[0][r], qpi[1][r]);
		for (int i = 0; i < A; i++) {
			float mean = aout[(size_t)r * 2 * A + i];

			pl += SAC_MEAN_REG * mean * mean * sb->mask[(first + r) * A + i];
		}
		for (int i = 0; i < A; i++)
			target_entropy -= sb->mask[(first + r) * A + i];
		ent += sb->pi_logp[r] + target_entropy;
	}
	*q_loss = (float)(ql / R);
	*pi_loss = (float)(pl / R);
	*dlog_alpha = (float)(-ent / R);
	if (!grads)
		return;

	/* Critics: d L_Q / d Q_k = 2 (Q_k - y) / R; y is a constant (targets, no gradient). */
	for (int k = 0; k < 2; k++) {
		struct net *c = &ag->critic[k];

		memset(c->grads, 0, c->count * sizeof(float));
		for (int r = 0; r < R; r++)
			sb->dq[k][r] = 2.0f * (q[k][r] - sb->y[r]) / R;
		memset(sb->critic_enc[k].denc, 0, (size_t)(T - 1) * B * H * sizeof(float));
		head_backward(&c->g, sb->critic_enc[k].denc + first * H, NULL, sb->dq[k],
			      &sb->critic_head[k], &c->dims, &c->p, R);
		encoder_backward(&c->g, &sb->critic_enc[k], &c->p, sb->obs, cfg->burn_in);
	}

	/* Actor: d L_pi / d a~ through the smaller critic only (no critic parameter grads). */
	memset(sb->dpi_act, 0, (size_t)R * A * sizeof(float));
	for (int k = 0; k < 2; k++) {
		for (int r = 0; r < R; r++) {
			bool smaller = k == 0 ? qpi[0][r] <= qpi[1][r] : qpi[1][r] < qpi[0][r];

			sb->dq[k][r] = smaller ? -1.0f / R : 0.0f;
		}
		head_backward(NULL, NULL, sb->dpi_act, sb->dq[k], &sb->critic_pi_head[k],
			      &ag->critic[k].dims, &ag->critic[k].p, R);
	}
	memset(sb->dactor_out, 0, (size_t)Ra * 2 * A * sizeof(float));
	for (int r = 0; r < R; r++) {
		const float *o = aout + (size_t)r * 2 * A;
		float *d = sb->dactor_out + (size_t)r * 2 * A;

		for (int i = 0; i < A; i++) {
			size_t j = (size_t)r * A + i;
			float a = sb->pi_act[j], th, std, du, dlog_std;

			if (sb->mask[first * A + j] == 0.0f)
				continue;
			th = tanh_fast(o[A + i]);
			std = expf(sac_log_std(o[A + i]));
			/* u = mean + std eps; a = tanh(u); d logp / du = 2a, d logp / d log_std = -1 */
			du = sb->dpi_act[j] * (1.0f - a * a) + alpha / R * 2.0f * a;
			dlog_std = -alpha / R + du * std * sb->eps_pi[j];
			d[i] = du + 2.0f * SAC_MEAN_REG / R * o[i];
			d[A + i] = dlog_std * 0.5f * (SAC_LOG_STD_MAX - SAC_LOG_STD_MIN) *
				   (1.0f - th * th);
		}
	}
	memset(ag->actor.grads, 0, ag->actor.count * sizeof(float));
	memset(sb->actor_enc.denc, 0, (size_t)T * B * H * sizeof(float));
	head_backward(&ag->actor.g, sb->actor_enc.denc + first * H, NULL, sb->dactor_out,
		      &sb->actor_head, &ag->actor.dims, &ag->actor.p, Ra);
	encoder_backward(&ag->actor.g, &sb->actor_enc, &ag->actor.p, sb->obs, cfg->burn_in);

	ent = 0.0;
	for (int r = 0; r < R; r++)
		ent += sb->pi_logp[r];
	ag->stats.entropy = (float)(-ent / R);
}

int sac_update(struct agent *ag)
{
	const struct agent_config *cfg = &ag->cfg;
	float q_loss, pi_loss, dlog_alpha;
	struct net *nets[3] = { &ag->critic[0], &ag->critic[1], &ag->actor };

	if (sac_sample(ag))
		return -EAGAIN;
	sac_losses(ag, true, &q_loss, &pi_loss, &dlog_alpha);
	ag->adam_step++;
	for (int i = 0; i < 3; i++) {
		struct net *n = nets[i];

		clip_grad_norm(n->grads, n->count, cfg->grad_clip);
		adam_update(n->params, n->grads, n->adam_m, n->adam_v, n->count, cfg->lr,
			    ag->adam_step);
	}
	ag->stats.alpha_loss = ag->log_alpha * dlog_alpha;
	adam_update(&ag->log_alpha, &dlog_alpha, &ag->log_alpha_m, &ag->log_alpha_v, 1, cfg->lr,
		    ag->adam_step);
	for (int k = 0; k < 2; k++)
		polyak_update(ag->critic[k].target, ag->critic[k].params, ag->critic[k].count,
			      cfg->tau);
	ag->stats.q_loss = q_loss;
	ag->stats.pi_loss = pi_loss;
	ag->stats.alpha = expf(ag->log_alpha);
	ag->stats.updates++;
	return 0;
}
