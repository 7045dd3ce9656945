// SPDX-License-Identifier: GPL-2.0
/*
 * SAC on joint windows (QMix-LB and Centr-LB; team.h, team_impl.h). The same losses as
 * sac.c, with the joint reward r and the critic's value V of a joint window-step: Qtot =
 * mixer(Q_1..Q_M, s) of the agents' utilities for QMix, the central critic's Q for Centr-LB.
 * W_j joint window-steps are trained; each LB's log pi is per server (its pool's
 * log-density over n), and the joint one is their mean over the LBs:
 *
 *   y       = r_t + gamma (min_k Vtarg_k(t+1, l') - alpha mean_i log pi_i(l'_i) / n)
 *   L_Q     = sum_k mean_j (V_k(t, l_t) - y)^2                 (critics, mixers, encoder)
 *   L_pi    = QMix:    mean over agents and j of (alpha log pi_i / n - min_k Q_i,k(l~_i))
 *             central: mean_j (alpha mean_i log pi_i / n - min_k Q_k(l~))
 *             + SAC_MEAN_REG mean(mu^2)
 *   L_alpha = -log alpha mean over agents and j of (log pi_i / n + target_entropy)
 *
 * The QMix actors improve their own utilities (team.h says why that is QMix's argmax for
 * continuous actions); the entropy terms weigh alike in both methods.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/fastmath.h"
#include "learn/joint_view.h"
#include "learn/optim.h"
#include "learn/team_impl.h"

#define ALLOC(ptr, n)                                        \
	do {                                                 \
		(ptr) = calloc((size_t)(n), sizeof(*(ptr))); \
		if (!(ptr))                                  \
			goto nomem;                          \
	} while (0)

int team_batch_alloc(struct team *t)
{
	struct team_batch *b = &t->tb;
	const struct agent_config *ac = &t->cfg.agent;
	const struct setnet_dims *d = &t->nets.dims;
	const bool qmix = t->cfg.method == TEAM_QMIX;
	const int T = ac->seq_len + 1, Ta = T - ac->burn_in, Tt = Ta - 1, M = t->cfg.lbs;
	const int joint_rows = M * ac->max_servers;
	int R, J, B, err = 0;

	memset(b, 0, sizeof(*b));
	b->steps = T;
	b->max_joint = J = ac->max_windows / M > 1 ? ac->max_windows / M : 1;
	/* joint windows are drawn while the batch holds fewer than batch_rows rows */
	R = ac->batch_rows - 1 + joint_rows;
	b->max_rows = R = R < J * joint_rows ? R : J * joint_rows;
	B = J * M;
	b->in_features = d->features;
	ALLOC(b->seg_joint, J + 1);
	ALLOC(b->seg_agent, B + 1);
	ALLOC(b->chain, (size_t)J * T);
	ALLOC(b->obs, (size_t)T * R * t->F);
	if (qmix) {
		b->xin = b->obs;
		ALLOC(b->state, (size_t)T * J * JOINT_STATE_WIDTH(t->F));
	} else {
		ALLOC(b->xin, (size_t)T * R * d->features);
	}
	ALLOC(b->act, (size_t)T * R);
	ALLOC(b->mask, (size_t)T * R);
	ALLOC(b->reward, (size_t)T * J);
	ALLOC(b->eps, (size_t)T * R);
	ALLOC(b->pi_a, (size_t)Ta * R);
	ALLOC(b->pi_l, (size_t)Ta * R);
	ALLOC(b->pi_logp, (size_t)Ta * B);
	ALLOC(b->y, (size_t)Tt * J);
	ALLOC(b->dqtot, (size_t)Tt * J);
	ALLOC(b->dq, (size_t)Tt * B);
	ALLOC(b->dl, (size_t)Tt * R);
	ALLOC(b->dactor_out, (size_t)Ta * R * 2);
	for (size_t i = 0; i < (size_t)T * R; i++)
		b->mask[i] = 1.0f;
	err |= encoder_acts_alloc(&b->enc, d, T, R, B);
	err |= encoder_acts_alloc(&b->target_enc, d, T, R, B);
	err |= actor_acts_alloc(&b->actor, d, Ta * R, Ta * B);
	for (int k = 0; k < 2; k++) {
		err |= critic_acts_alloc(&b->critic[k], d, Tt * R, Tt * B);
		err |= critic_acts_alloc(&b->critic_pi[k], d, Tt * R, Tt * B);
		err |= critic_acts_alloc(&b->target[k], d, Tt * R, Tt * B);
		if (qmix) {
			err |= mixer_acts_alloc(&b->mix[k], &t->mdims, Tt * J);
			err |= mixer_acts_alloc(&b->mix_target[k], &t->mdims, Tt * J);
		}
	}
	if (!err)
		return 0;
nomem:
	team_batch_free(b);
	return -ENOMEM;
}

void team_batch_free(struct team_batch *b)
{
	free(b->seg_joint);
	free(b->seg_agent);
	free(b->chain);
	if (b->xin != b->obs)
		free(b->xin);
	free(b->obs);
	free(b->state);
	free(b->act);
	free(b->mask);
	free(b->reward);
	free(b->eps);
	free(b->pi_a);
	free(b->pi_l);
	free(b->pi_logp);
	free(b->y);
	free(b->dqtot);
	free(b->dq);
	free(b->dl);
	free(b->dactor_out);
	encoder_acts_free(&b->enc);
	encoder_acts_free(&b->target_enc);
	actor_acts_free(&b->actor);
	for (int k = 0; k < 2; k++) {
		critic_acts_free(&b->critic[k]);
		critic_acts_free(&b->critic_pi[k]);
		critic_acts_free(&b->target[k]);
		mixer_acts_free(&b->mix[k]);
		mixer_acts_free(&b->mix_target[k]);
	}
	memset(b, 0, sizeof(*b));
}

int team_sample(struct team *t)
{
	struct team_batch *b = &t->tb;
	const struct replay *rb = &t->replay;
	const int T = t->cfg.agent.seq_len + 1, M = t->cfg.lbs, F = t->F;
	const int S = JOINT_STATE_WIDTH(F), Fin = t->nets.dims.features;
	int R = 0, J = 0;

	if (!rb->step_capacity)
		return -EAGAIN;
	if (!t->tb_ready) {
		if (team_batch_alloc(t))
			return -ENOMEM;
		t->tb_ready = true;
	}
	while (R < t->cfg.agent.batch_rows && J < b->max_joint) {
		uint64_t *chain = b->chain + (size_t)J * T;

		if (replay_sample_window(rb, T, &t->rng, chain))
			return -EAGAIN;
		b->seg_joint[J] = R;
		R += rb->n[chain[0] % rb->step_capacity];
		J++;
	}
	b->seg_joint[J] = R;
	b->rows = R;
	b->joint = J;
	b->agent_windows = J * M;
	for (int j = 0; j < J; j++) {
		const uint64_t *chain = b->chain + (size_t)j * T;
		const int rows = b->seg_joint[j + 1] - b->seg_joint[j], n = rows / M;

		for (int i = 0; i < M; i++)
			b->seg_agent[j * M + i] = b->seg_joint[j] + i * n;
		for (int s = 0; s < T; s++) {
			size_t slot = chain[s] % rb->step_capacity;
			int64_t src = rb->row_start[slot];
			size_t dst = (size_t)s * R + b->seg_joint[j];

			memcpy(b->obs + dst * F, rb->obs + src * F,
			       (size_t)rows * F * sizeof(float));
			memcpy(b->act + dst, rb->act + src, (size_t)rows * sizeof(float));
			b->reward[(size_t)s * J + j] = rb->reward[slot];
			if (t->cfg.method == TEAM_CENTRAL)
				joint_context(b->obs + dst * F, M, n, F, b->xin + dst * Fin);
			else
				joint_state(b->obs + dst * F, M, n, F,
					    b->state + ((size_t)s * J + j) * S);
		}
	}
	b->seg_agent[J * M] = R;
	rng_normal_fill(&t->rng, b->eps, (size_t)T * R);
	return 0;
}

static void zero_grads(struct team *t)
{
	struct team_nets *nt = &t->nets;

	memset(nt->enc.grads, 0, nt->enc.count * sizeof(float));
	memset(nt->actor.grads, 0, nt->actor.count * sizeof(float));
	for (int k = 0; k < 2; k++) {
		memset(nt->critic[k].grads, 0, nt->critic[k].count * sizeof(float));
		if (t->cfg.method == TEAM_QMIX)
			memset(t->mix[k].grads, 0, t->mix[k].count * sizeof(float));
	}
}

/*
 * d L_pi / d (mean, log-std pre-activation) of every trained row, given dl = d L_pi / d l~
 * through the critics: the centring of each pool's log-weights, the tanh, the
 * reparameterised sample and the entropy term (weight alpha / (Wa n) per agent window-step,
 * Wa of them), as in sac.c.
 */
static void policy_backward(struct team *t, const float *aout, float alpha, int Tt, int reg_rows)
{
	struct team_batch *b = &t->tb;
	const int R = b->rows, B = b->agent_windows, burn = t->cfg.agent.burn_in;
	const float L = t->cfg.agent.log_w_range;

	memset(b->dactor_out, 0, (size_t)(Tt + 1) * R * 2 * sizeof(float));
	for (int w = 0; w < Tt * B; w++) {
		int s = w / B, a_w = w % B, first = b->seg_agent[a_w], end = b->seg_agent[a_w + 1];
		float mean_dl = 0.0f, ent_w = alpha / ((float)Tt * B * (end - first));

		for (int r = first; r < end; r++)
			mean_dl += b->dl[(size_t)s * R + r] / (end - first);
		for (int r = first; r < end; r++) {
			size_t row = (size_t)s * R + r;

			sac_policy_row_grad(aout + row * 2, b->pi_a[row],
					    b->eps[(size_t)burn * R + row], L * (b->dl[row] - mean_dl),
					    ent_w, reg_rows, b->dactor_out + row * 2);
		}
	}
}

void team_losses(struct team *t, bool grads, struct team_loss *loss)
{
	struct team_batch *b = &t->tb;
	struct team_nets *nt = &t->nets;
	const struct agent_config *cfg = &t->cfg.agent;
	const struct setnet_dims *d = &nt->dims;
	const bool qmix = t->cfg.method == TEAM_QMIX;
	const int T = b->steps, R = b->rows, J = b->joint, B = b->agent_windows, H = d->hidden;
	const int M = t->cfg.lbs, S = JOINT_STATE_WIDTH(t->F), burn = cfg->burn_in;
	const int Ta = T - burn, Tt = Ta - 1, Wj = Tt * J, Wa = Tt * B;
	const int CB = qmix ? B : J, Wc = Tt * CB; /* the critics' windows */
	const int *cseg = qmix ? b->seg_agent : b->seg_joint;
	const float alpha = expf(*nt->log_alpha), L = cfg->log_w_range;
	const struct set_shape all = { T, R, B, b->seg_agent, b->mask };
	const struct set_shape acting = { Ta, R, B, b->seg_agent, b->mask };
	const struct set_shape critic_now = { Tt, R, CB, cseg, b->mask };
	const size_t e_off = (size_t)burn * R * H;
	const float *e, *te, *aout, *q[2], *qpi[2], *qt[2], *v[2], *vt[2];
	double ql = 0.0, pl = 0.0, ent = 0.0, reg = 0.0;
	const int reg_rows = Tt * R;

	e = encoder_forward(&b->enc, &nt->ep, d, b->xin, &all, NULL);
	aout = actor_forward(&b->actor, &nt->ap, d, e + e_off, &acting);
	sac_policy_act(aout, b->eps + (size_t)burn * R, &acting, L, b->pi_a, b->pi_l, b->pi_logp);
	te = encoder_forward(&b->target_enc, &nt->et, d, b->xin, &all, NULL);
	for (int k = 0; k < 2; k++) {
		q[k] = critic_forward(&b->critic[k], &nt->cp[k], d, e + e_off,
				      b->act + (size_t)burn * R, &critic_now);
		qpi[k] = critic_forward(&b->critic_pi[k], &nt->cp[k], d, e + e_off, b->pi_l,
					&critic_now);
		qt[k] = critic_forward(&b->target[k], &nt->ct[k], d, te + e_off + (size_t)R * H,
				       b->pi_l + R, &critic_now);
		v[k] = q[k], vt[k] = qt[k];
		if (qmix) { /* the M utilities of a joint window-step are adjacent */
			v[k] = mixer_forward(&b->mix[k], &t->mp[k], &t->mdims, q[k],
					     b->state + (size_t)burn * J * S, Wj);
			vt[k] = mixer_forward(&b->mix_target[k], &t->mt[k], &t->mdims, qt[k],
					      b->state + (size_t)(burn + 1) * J * S, Wj);
		}
	}

	for (int w = 0; w < Wj; w++) {
		int s = w / J, j = w % J, n = (b->seg_joint[j + 1] - b->seg_joint[j]) / M;
		float lp_next = 0.0f;

		for (int i = 0; i < M; i++)
			lp_next += b->pi_logp[(size_t)(s + 1) * B + j * M + i] / ((float)n * M);
		if (!b->hold_targets)
			b->y[w] = b->reward[(size_t)(burn + s) * J + j] +
				  cfg->gamma * (fminf(vt[0][w], vt[1][w]) - alpha * lp_next);
		for (int k = 0; k < 2; k++)
			ql += (double)(v[k][w] - b->y[w]) * (v[k][w] - b->y[w]);
	}
	for (int w = 0; w < Wa; w++) {
		int a_w = w % B, n = b->seg_agent[a_w + 1] - b->seg_agent[a_w];
		float lp = b->pi_logp[w] / n;

		ent += lp;
		pl += alpha * lp / (qmix ? 1 : M);
	}
	for (int w = 0; w < Wc; w++)
		pl -= fminf(qpi[0][w], qpi[1][w]);
	for (int row = 0; row < reg_rows; row++)
		reg += (double)aout[row * 2] * aout[row * 2];
	loss->q = ql / Wj;
	loss->pi = pl / Wc + SAC_MEAN_REG * reg / reg_rows;
	loss->dlog_alpha = (float)(-(ent / Wa + cfg->target_entropy));
	t->stats.entropy = (float)(-ent / Wa);
	if (!grads)
		return;

	zero_grads(t);
	/* Critics, mixers and the encoder: d L_Q / d V_k = 2 (V_k - y) / W_j; y is a constant. */
	memset(b->enc.de, 0, (size_t)T * R * H * sizeof(float));
	for (int k = 0; k < 2; k++) {
		const float *dq = b->dqtot;

		for (int w = 0; w < Wj; w++)
			b->dqtot[w] = 2.0f * (v[k][w] - b->y[w]) / Wj;
		if (qmix) {
			memset(b->dq, 0, (size_t)Wa * sizeof(float));
			mixer_backward(&t->mg[k], b->dq, &b->mix[k], &t->mp[k], &t->mdims, b->dqtot,
				       Wj);
			dq = b->dq;
		}
		critic_backward(&nt->cg[k], b->enc.de + e_off, NULL, &b->critic[k], &nt->cp[k], d,
				dq, &critic_now);
	}
	/* Actor: through the smaller critic of each critic window (no critic or encoder grads). */
	memset(b->dl, 0, (size_t)Tt * R * sizeof(float));
	for (int k = 0; k < 2; k++) {
		for (int w = 0; w < Wc; w++) {
			bool smaller = k == 0 ? qpi[0][w] <= qpi[1][w] : qpi[1][w] < qpi[0][w];

			b->dq[w] = smaller ? -1.0f / Wc : 0.0f;
		}
		critic_backward(NULL, NULL, b->dl, &b->critic_pi[k], &nt->cp[k], d, b->dq,
				&critic_now);
	}
	policy_backward(t, aout, alpha, Tt, reg_rows);
	actor_backward(&nt->ag, NULL, &b->actor, &nt->ap, d, b->dactor_out, &acting);
	encoder_backward(&nt->eg, &b->enc, &nt->ep, d, &all, burn);
}

int team_update(struct team *t)
{
	const struct agent_config *cfg = &t->cfg.agent;
	struct team_nets *nt = &t->nets;
	struct pbuf *nets[6] = { &nt->enc, &nt->critic[0], &nt->critic[1], &nt->actor, NULL, NULL };
	struct team_loss loss;
	int n_nets = 4;

	if (team_sample(t))
		return -EAGAIN;
	if (t->cfg.method == TEAM_QMIX) {
		nets[n_nets++] = &t->mix[0];
		nets[n_nets++] = &t->mix[1];
	}
	team_losses(t, true, &loss);
	t->adam_step++;
	for (int i = 0; i < n_nets; i++) {
		struct pbuf *p = nets[i];

		clip_grad_norm(p->grads, p->count, cfg->grad_clip);
		adam_update(p->params, p->grads, p->adam_m, p->adam_v, p->count, cfg->lr,
			    t->adam_step);
		if (p->target)
			polyak_update(p->target, p->params, p->count, cfg->tau);
	}
	adam_update(nt->log_alpha, &loss.dlog_alpha, nt->log_alpha_m, nt->log_alpha_v, 1, cfg->lr,
		    t->adam_step);
	t->stats.q_loss = (float)loss.q;
	t->stats.pi_loss = (float)loss.pi;
	t->stats.alpha = expf(*nt->log_alpha);
	t->stats.updates++;
	return 0;
}
