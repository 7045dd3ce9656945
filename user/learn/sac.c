// SPDX-License-Identifier: GPL-2.0
/*
 * Soft Actor-Critic on replayed windows of set observations (Haarnoja et al. 2018, with the
 * automatic temperature of the second paper). W window-steps (t, b) are trained per update;
 * n_t is the number of active servers of window b at step t; log pi is per server (the
 * window's log-density divided by n_t), so that pools of every size weigh alike:
 *
 *   y        = r_t + gamma * (min_k Qtarg_k(t+1, l') - alpha * log pi(l' | t+1) / n_t+1)
 *   L_Q      = sum_k mean_w (Q_k(t, l_t) - y)^2
 *   L_pi     = sac_weight * mean_w (alpha * log pi(l~ | t) / n_t - min_k Q_k(t, l~))
 *              + SAC_MEAN_REG * mean over active servers of mu^2
 *   L_alpha  = -log alpha * mean_w (log pi(l~) / n_t + target_entropy)
 *   L_bc     = bc_weight * mean over servers with a teacher of (l_mu - l*)^2, where l_mu is
 *              the greedy (centred) log-weight and l* the teacher's; added to L_pi
 *
 * The small pull on the pre-tanh mean (as the original SAC code had) keeps a policy from
 * parking on tanh's edge, where its gradient and its exploration vanish. The encoder is
 * trained by L_Q and L_bc; the actor's SAC term reads it as a constant. All losses come from one forward
 * pass with the parameters as they are; then every network takes its Adam step.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/agent_impl.h"
#include "learn/fastmath.h"
#include "learn/optim.h"

#define ALLOC(ptr, n)                                        \
	do {                                                 \
		(ptr) = calloc((size_t)(n), sizeof(*(ptr))); \
		if (!(ptr))                                  \
			goto nomem;                          \
	} while (0)

int sac_batch_alloc(struct sac_batch *sb, const struct agent_config *cfg)
{
	struct setnet_dims d;
	const int T = cfg->seq_len + 1, Ta = T - cfg->burn_in, Tt = Ta - 1;
	int R, B, err = 0;

	memset(sb, 0, sizeof(*sb));
	agent_dims(cfg, &d);
	sb->steps = T;
	/* windows are drawn while the batch holds fewer than batch_rows rows */
	sb->max_rows = R = cfg->batch_rows - 1 + cfg->max_servers;
	sb->max_windows = B = cfg->max_windows;
	ALLOC(sb->seg, B + 1);
	ALLOC(sb->n_active, (size_t)T * B);
	ALLOC(sb->chain, (size_t)T * B);
	ALLOC(sb->obs, (size_t)T * R * d.features);
	ALLOC(sb->act, (size_t)T * R);
	ALLOC(sb->teacher, (size_t)T * R);
	ALLOC(sb->mask, (size_t)T * R);
	ALLOC(sb->reward, (size_t)T * B);
	ALLOC(sb->eps, (size_t)T * R);
	ALLOC(sb->pi_a, (size_t)Ta * R);
	ALLOC(sb->pi_l, (size_t)Ta * R);
	ALLOC(sb->pi_logp, (size_t)Ta * B);
	ALLOC(sb->y, (size_t)Tt * B);
	ALLOC(sb->dq, (size_t)Tt * B);
	ALLOC(sb->dl, (size_t)Tt * R);
	ALLOC(sb->dactor_out, (size_t)Ta * R * 2);
	ALLOC(sb->dbc_out, (size_t)Ta * R * 2);
	err |= encoder_acts_alloc(&sb->enc, &d, T, R, B);
	err |= encoder_acts_alloc(&sb->target_enc, &d, T, R, B);
	err |= actor_acts_alloc(&sb->actor, &d, Ta * R, Ta * B);
	for (int k = 0; k < 2; k++) {
		err |= critic_acts_alloc(&sb->critic[k], &d, Tt * R, Tt * B);
		err |= critic_acts_alloc(&sb->critic_pi[k], &d, Tt * R, Tt * B);
		err |= critic_acts_alloc(&sb->target[k], &d, Tt * R, Tt * B);
	}
	if (!err)
		return 0;
nomem:
	sac_batch_free(sb);
	return -ENOMEM;
}

void sac_batch_free(struct sac_batch *sb)
{
	free(sb->seg);
	free(sb->n_active);
	free(sb->chain);
	free(sb->obs);
	free(sb->act);
	free(sb->teacher);
	free(sb->mask);
	free(sb->reward);
	free(sb->eps);
	free(sb->pi_a);
	free(sb->pi_l);
	free(sb->pi_logp);
	free(sb->y);
	free(sb->dq);
	free(sb->dl);
	free(sb->dactor_out);
	free(sb->dbc_out);
	encoder_acts_free(&sb->enc);
	encoder_acts_free(&sb->target_enc);
	actor_acts_free(&sb->actor);
	for (int k = 0; k < 2; k++) {
		critic_acts_free(&sb->critic[k]);
		critic_acts_free(&sb->critic_pi[k]);
		critic_acts_free(&sb->target[k]);
	}
	memset(sb, 0, sizeof(*sb));
}

int sac_sample(struct agent *ag)
{
	struct sac_batch *sb = &ag->sb;
	const struct replay *rb = &ag->replay;
	const int T = ag->cfg.seq_len + 1, F = ag->dims.features;
	/* A scale only, never a shift and never per batch: every update sees the same reward
	 * function, slowly tracking the magnitude of what the caller reports. */
	const float reward_scale = ag->cfg.reward_scaling && ag->reward_sq_mean > 0.0 ?
					   (float)(1.0 / sqrt(ag->reward_sq_mean)) :
					   1.0f;
	int R = 0, B = 0;

	if (!rb->step_capacity)
		return -EAGAIN;
	if (!ag->sb_ready) {
		if (sac_batch_alloc(sb, &ag->cfg))
			return -ENOMEM;
		ag->sb_ready = true;
	}
	/* draw the windows first: the time-major layout needs the total row count */
	while (R < ag->cfg.batch_rows && B < sb->max_windows) {
		uint64_t *chain = sb->chain + (size_t)B * T;

		if (replay_sample_window(rb, T, &ag->rng, chain))
			return -EAGAIN;
		sb->seg[B] = R;
		R += rb->n[chain[0] % rb->step_capacity];
		B++;
	}
	sb->seg[B] = R;
	sb->rows = R;
	sb->windows = B;
	for (int b = 0; b < B; b++) {
		const uint64_t *chain = sb->chain + (size_t)b * T;
		const int n = sb->seg[b + 1] - sb->seg[b];

		for (int t = 0; t < T; t++) {
			size_t slot = chain[t] % rb->step_capacity;
			int64_t src = rb->row_start[slot];
			size_t dst = (size_t)t * R + sb->seg[b];
			int active = 0;

			memcpy(sb->obs + dst * F, rb->obs + src * F, (size_t)n * F * sizeof(float));
			for (int i = 0; i < n; i++) {
				sb->mask[dst + i] = rb->mask[src + i] ? 1.0f : 0.0f;
				sb->act[dst + i] = rb->mask[src + i] ? rb->act[src + i] : 0.0f;
				sb->teacher[dst + i] = rb->mask[src + i] ? rb->teacher[src + i] : NAN;
				active += rb->mask[src + i] != 0;
			}
			sb->n_active[(size_t)t * B + b] = active;
			sb->reward[(size_t)t * B + b] = rb->reward[slot] * reward_scale;
		}
	}
	rng_normal_fill(&ag->rng, sb->eps, (size_t)T * R);
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
void sac_policy_act(const float *head, const float *eps, const struct set_shape *s, float L,
		    float *a, float *l, float *logp)
{
	const float half_log_2pi = 0.91893853f;
	const int R = s->rows, B = s->windows;

	for (int t = 0; t < s->steps; t++) {
		for (int b = 0; b < B; b++) {
			float lp = 0.0f, sum = 0.0f;
			int n = 0;

			for (int r = s->seg[b]; r < s->seg[b + 1]; r++) {
				size_t row = (size_t)t * R + r;
				const float *o = head + row * 2;
				float u = o[0], log_std, e;

				if (s->mask[row] == 0.0f) {
					a[row] = 0.0f;
					continue;
				}
				log_std = sac_log_std(o[1]);
				e = eps ? eps[row] : 0.0f;
				u += expf(log_std) * e;
				a[row] = tanh_fast(u);
				sum += L * a[row];
				n++;
				lp += -0.5f * e * e - log_std - half_log_2pi -
				      2.0f * (0.69314718f - u - softplusf(-2.0f * u));
			}
			for (int r = s->seg[b]; r < s->seg[b + 1]; r++) {
				size_t row = (size_t)t * R + r;

				l[row] = s->mask[row] != 0.0f ? L * a[row] - sum / n : 0.0f;
			}
			if (logp)
				logp[(size_t)t * B + b] = lp;
		}
	}
}

static void zero_grads(struct agent *ag)
{
	memset(ag->enc.grads, 0, ag->enc.count * sizeof(float));
	memset(ag->actor.grads, 0, ag->actor.count * sizeof(float));
	for (int k = 0; k < 2; k++)
		memset(ag->critic[k].grads, 0, ag->critic[k].count * sizeof(float));
}

/*
 * The imitation term on the trained rows: the greedy log-weight l_mu = L tanh(mu) centred over
 * the window's active servers, against the teacher's l*. Returns bc_weight x the mean squared
 * error over rows with a teacher; with dout, adds its gradient w.r.t. mu into dout (rows, 2).
 */
static double bc_term(const struct agent *ag, const float *head, const struct set_shape *s,
		      const float *teacher, float *dout)
{
	const float L = ag->cfg.log_w_range, lambda = ag->cfg.bc_weight;
	const int R = s->rows, B = s->windows;
	double sum = 0;
	int count = 0;

	if (lambda == 0.0f)
		return 0.0;
	for (size_t row = 0; row < (size_t)s->steps * R; row++)
		count += s->mask[row] != 0.0f && isfinite(teacher[row]);
	if (!count)
		return 0.0;
	for (int t = 0; t < s->steps; t++) {
		for (int b = 0; b < B; b++) {
			size_t first = (size_t)t * R + s->seg[b], end = (size_t)t * R + s->seg[b + 1];
			float mean_y = 0.0f, mean_dl = 0.0f;
			int n = 0;

			for (size_t row = first; row < end; row++) {
				if (s->mask[row] == 0.0f)
					continue;
				mean_y += L * tanh_fast(head[row * 2]);
				n++;
			}
			if (!n)
				continue;
			mean_y /= n;
			/* dl = d/dl of the squared errors; l = y - mean(y) spreads it to every y */
			for (size_t row = first; row < end; row++) {
				float l, dl;

				if (s->mask[row] == 0.0f || !isfinite(teacher[row]))
					continue;
				l = L * tanh_fast(head[row * 2]) - mean_y;
				sum += (double)(l - teacher[row]) * (l - teacher[row]);
				dl = 2.0f * lambda * (l - teacher[row]) / count;
				mean_dl += dl / n;
			}
			if (!dout)
				continue;
			for (size_t row = first; row < end; row++) {
				float th, dl = 0.0f, l;

				if (s->mask[row] == 0.0f)
					continue;
				th = tanh_fast(head[row * 2]);
				if (isfinite(teacher[row])) {
					l = L * th - mean_y;
					dl = 2.0f * lambda * (l - teacher[row]) / count;
				}
				dout[row * 2] += (dl - mean_dl) * L * (1.0f - th * th);
			}
		}
	}
	return lambda * sum / count;
}

void sac_losses(struct agent *ag, bool grads, struct sac_loss *loss)
{
	struct sac_batch *sb = &ag->sb;
	const struct agent_config *cfg = &ag->cfg;
	const struct setnet_dims *d = &ag->dims;
	const int T = sb->steps, R = sb->rows, B = sb->windows, H = d->hidden;
	const int burn = cfg->burn_in, Ta = T - burn, Tt = Ta - 1, W = Tt * B;
	const float alpha = expf(ag->log_alpha), L = cfg->log_w_range;
	const struct set_shape all = { T, R, B, sb->seg, sb->mask };
	const struct set_shape acting = { Ta, R, B, sb->seg, sb->mask + (size_t)burn * R };
	const struct set_shape trained = { Tt, R, B, sb->seg, sb->mask + (size_t)burn * R };
	const struct set_shape next = { Tt, R, B, sb->seg, sb->mask + (size_t)(burn + 1) * R };
	const size_t e_off = (size_t)burn * R * H;
	const float *e, *te, *aout, *q[2], *qpi[2], *qt[2];
	const float *teacher = sb->teacher + (size_t)burn * R;
	double ql = 0.0, pl = 0.0, ent = 0.0, reg = 0.0;
	int reg_rows = 0;

	e = encoder_forward(&sb->enc, &ag->ep, d, sb->obs, &all, NULL);
	aout = actor_forward(&sb->actor, &ag->ap, d, e + e_off, &acting);
	sac_policy_act(aout, sb->eps + (size_t)burn * R, &acting, L, sb->pi_a, sb->pi_l,
		       sb->pi_logp);
	te = encoder_forward(&sb->target_enc, &ag->et, d, sb->obs, &all, NULL);
	for (int k = 0; k < 2; k++) {
		q[k] = critic_forward(&sb->critic[k], &ag->cp[k], d, e + e_off,
				      sb->act + (size_t)burn * R, &trained);
		qpi[k] = critic_forward(&sb->critic_pi[k], &ag->cp[k], d, e + e_off, sb->pi_l,
					&trained);
		qt[k] = critic_forward(&sb->target[k], &ag->ct[k], d, te + e_off + (size_t)R * H,
				       sb->pi_l + R, &next);
	}

	for (int w = 0; w < W; w++) {
		int t = w / B, b = w % B;
		int n_now = sb->n_active[(size_t)(burn + t) * B + b];
		int n_next = sb->n_active[(size_t)(burn + t + 1) * B + b];
		float lp_now = n_now ? sb->pi_logp[w] / n_now : 0.0f;
		float lp_next = n_next ? sb->pi_logp[w + B] / n_next : 0.0f;
		float v_next = fminf(qt[0][w], qt[1][w]) - alpha * lp_next;

		if (!sb->hold_targets)
			sb->y[w] = sb->reward[(size_t)(burn + t) * B + b] + cfg->gamma * v_next;
		for (int k = 0; k < 2; k++)
			ql += (double)(q[k][w] - sb->y[w]) * (q[k][w] - sb->y[w]);
		pl += alpha * lp_now - fminf(qpi[0][w], qpi[1][w]);
		ent += lp_now;
	}
	for (size_t row = 0; row < (size_t)Tt * R; row++) {
		if (trained.mask[row] == 0.0f)
			continue;
		reg += (double)aout[row * 2] * aout[row * 2];
		reg_rows++;
	}
	loss->q = ql / W;
	loss->bc = bc_term(ag, aout, &trained, teacher, NULL);
	loss->pi = cfg->sac_weight * pl / W + (reg_rows ? SAC_MEAN_REG * reg / reg_rows : 0.0) +
		   loss->bc;
	loss->dlog_alpha = (float)(-(ent / W + cfg->target_entropy));
	ag->stats.entropy = (float)(-ent / W);
	if (!grads)
		return;

	zero_grads(ag);
	/* Critics (and the encoder, unless a teacher trains it): d L_Q / d Q_k = 2 (Q_k - y) / W;
	 * y is a constant. */
	memset(sb->enc.de, 0, (size_t)T * R * H * sizeof(float));
	for (int k = 0; k < 2; k++) {
		for (int w = 0; w < W; w++)
			sb->dq[w] = 2.0f * (q[k][w] - sb->y[w]) / W;
		critic_backward(&ag->cg[k], sb->enc.de + e_off, NULL, &sb->critic[k], &ag->cp[k], d,
				sb->dq, &trained);
	}

	/* Actor: d L_pi / d l~ through the smaller critic only (no critic or encoder grads). */
	memset(sb->dl, 0, (size_t)Tt * R * sizeof(float));
	for (int k = 0; k < 2; k++) {
		for (int w = 0; w < W; w++) {
			bool smaller = k == 0 ? qpi[0][w] <= qpi[1][w] : qpi[1][w] < qpi[0][w];

			sb->dq[w] = smaller ? -cfg->sac_weight / W : 0.0f;
		}
		critic_backward(NULL, NULL, sb->dl, &sb->critic_pi[k], &ag->cp[k], d, sb->dq,
				&trained);
	}
	memset(sb->dactor_out, 0, (size_t)Ta * R * 2 * sizeof(float));
	for (int w = 0; w < W; w++) {
		int t = w / B, b = w % B, n = sb->n_active[(size_t)(burn + t) * B + b];
		float mean_dl = 0.0f, ent_w;

		if (!n)
			continue;
		ent_w = cfg->sac_weight * alpha / ((float)W * n);
		for (int r = sb->seg[b]; r < sb->seg[b + 1]; r++) {
			size_t row = (size_t)t * R + r;

			if (trained.mask[row] != 0.0f)
				mean_dl += sb->dl[row];
		}
		mean_dl /= n;
		for (int r = sb->seg[b]; r < sb->seg[b + 1]; r++) {
			size_t row = (size_t)t * R + r;

			if (trained.mask[row] == 0.0f)
				continue;
			/* l = L a - mean_pool(L a): d l_j / d a_r = L (delta_jr - 1/n) */
			sac_policy_row_grad(aout + row * 2, sb->pi_a[row],
					    sb->eps[(size_t)burn * R + row],
					    L * (sb->dl[row] - mean_dl), ent_w, reg_rows,
					    sb->dactor_out + row * 2);
		}
	}
	if (cfg->bc_weight > 0.0f) {
		/* the imitation term trains the actor and, unlike the SAC term, the encoder */
		memset(sb->dbc_out, 0, (size_t)Ta * R * 2 * sizeof(float));
		bc_term(ag, aout, &trained, teacher, sb->dbc_out);
		for (size_t i = 0; i < (size_t)Ta * R * 2; i++)
			sb->dactor_out[i] += sb->dbc_out[i];
		actor_backward(NULL, sb->enc.de + e_off, &sb->actor, &ag->ap, d, sb->dbc_out,
			       &acting);
	}
	actor_backward(&ag->ag, NULL, &sb->actor, &ag->ap, d, sb->dactor_out, &acting);
	encoder_backward(&ag->eg, &sb->enc, &ag->ep, d, &all, burn);
}

void sac_policy_row_grad(const float *o, float a, float eps, float da, float ent_w,
			 int reg_rows, float *g)
{
	const float th = tanh_fast(o[1]), std = expf(sac_log_std(o[1]));
	/* u = mean + std eps; a = tanh(u); d logp / du = 2a, d logp / d log_std = -1 */
	const float du = da * (1.0f - a * a) + ent_w * 2.0f * a;
	const float dlog_std = -ent_w + du * std * eps;

	g[0] = du + 2.0f * SAC_MEAN_REG / reg_rows * o[0];
	g[1] = dlog_std * 0.5f * (SAC_LOG_STD_MAX - SAC_LOG_STD_MIN) * (1.0f - th * th);
}

int sac_update(struct agent *ag)
{
	const struct agent_config *cfg = &ag->cfg;
	struct sac_loss loss;
	struct pbuf *nets[4] = { &ag->enc, &ag->critic[0], &ag->critic[1], &ag->actor };

	if (sac_sample(ag))
		return -EAGAIN;
	sac_losses(ag, true, &loss);
	ag->adam_step++;
	for (int i = 0; i < 4; i++) {
		struct pbuf *n = nets[i];

		clip_grad_norm(n->grads, n->count, cfg->grad_clip);
		adam_update(n->params, n->grads, n->adam_m, n->adam_v, n->count, cfg->lr,
			    ag->adam_step);
		if (n->target)
			polyak_update(n->target, n->params, n->count, cfg->tau);
	}
	ag->stats.alpha_loss = ag->log_alpha * loss.dlog_alpha;
	/* the temperature tunes the SAC term's entropy: without that term (an actor that only
	 * imitates) nothing would answer it, and alpha would grow without bound */
	if (cfg->sac_weight > 0.0f)
		adam_update(&ag->log_alpha, &loss.dlog_alpha, &ag->log_alpha_m, &ag->log_alpha_v, 1,
			    cfg->lr, ag->adam_step);
	ag->stats.q_loss = (float)loss.q;
	ag->stats.pi_loss = (float)loss.pi;
	ag->stats.bc_loss = cfg->bc_weight > 0.0f ? (float)(loss.bc / cfg->bc_weight) : 0.0f;
	ag->stats.alpha = expf(ag->log_alpha);
	ag->stats.updates++;
	return 0;
}
