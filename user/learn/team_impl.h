/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the team (team.c, team_sac.c, team_file.c and the tests; not for other parts).
 *
 * A joint batch (QMix, central) holds J windows of T = seq_len + 1 joint steps, time-major
 * like setnet.h's: step t is the block of rows [t R, (t + 1) R); inside it joint window j
 * owns rows [seg_joint[j], seg_joint[j + 1]) = M pools of n_j rows, LB i's pool being agent
 * window b = j M + i, rows [seg_agent[b], seg_agent[b + 1]). The encoder and the actor run
 * on the agent windows (every LB's own pooled means; the log-weights centred per LB); the
 * critics run on the agent windows for QMix (each agent's utility, then the mixer over the
 * M utilities of a joint window-step) and on the joint windows for the central agent (one Q
 * of the joint action).
 */
#ifndef MARLLB_LEARN_TEAM_IMPL_H
#define MARLLB_LEARN_TEAM_IMPL_H

#include "learn/agent_impl.h"
#include "learn/mixer.h"
#include "learn/team.h"

/* The networks a joint update trains: views of the QMix agent's, or the central agent's own. */
struct team_nets {
	struct setnet_dims dims;
	struct pbuf enc, actor, critic[2];
	struct encoder_params ep, eg, et;
	struct actor_params ap, ag;
	struct critic_params cp[2], cg[2], ct[2];
	float *log_alpha, *log_alpha_m, *log_alpha_v;
};

struct team_batch {
	int steps; /* T */
	int max_rows, max_joint; /* sized for */
	int rows, joint, agent_windows; /* R, J, B = J M of the batch drawn */
	int in_features; /* the encoder's input: F (QMix) or JOINT_CONTEXT_WIDTH(F) */
	int *seg_joint; /* (J + 1) */
	int *seg_agent; /* (B + 1) */
	uint64_t *chain; /* (J, T) replay steps of each window */
	float *obs; /* (T, R, F) as recorded */
	float *xin; /* (T, R, in_features): the encoder's input (== obs for QMix) */
	float *state; /* (T, J, S): QMix's global state */
	float *act; /* (T, R) recorded log-weights */
	float *mask; /* (T, R) all 1: every server in service */
	float *reward; /* (T, J) joint reward of the action at t */
	float *eps; /* (T, R) */
	struct encoder_acts enc, target_enc;
	struct actor_acts actor;
	struct critic_acts critic[2], critic_pi[2], target[2];
	struct mixer_acts mix[2], mix_target[2];
	float *pi_a, *pi_l; /* (T - burn_in, R) */
	float *pi_logp; /* (T - burn_in, B) */
	float *y; /* (Tt, J) targets of Qtot (QMix) or Q (central) */
	bool hold_targets; /* tests: keep y of the last call */
	float *dqtot; /* (Tt, J) */
	float *dq; /* (Tt, B) per critic window */
	float *dl; /* (Tt, R) */
	float *dactor_out; /* (T - burn_in, R, 2) */
};

struct team {
	struct team_config cfg;
	struct rng rng;
	int F; /* AGENT_FEATURES */
	/* independent: lbs agents; QMix: one, with a lane per LB; central: none */
	struct agent **agents;
	int n_agents;
	/* QMix and central: what the joint update trains */
	struct team_nets nets;
	float *central_buf; /* central: the one allocation behind its pbufs */
	float central_log_alpha[3]; /* central: log alpha and its Adam moments */
	struct mixer_dims mdims;
	float *mix_buf; /* QMix: the one allocation behind both mixers' pbufs */
	struct pbuf mix[2];
	struct mixer_params mp[2], mg[2], mt[2];
	long adam_step;
	/* joint replay */
	struct replay replay;
	int n; /* pool size of the current episode (0 before the first step) */
	bool have_prev;
	uint64_t prev_step;
	/* central acting */
	float *h; /* (lbs max_servers, H) GRU state per row */
	float *act_xin, *act_mask, *act_a, *act_l, *act_eps; /* (lbs max_servers [, width]) */
	int *act_seg; /* (lbs + 1) */
	struct encoder_acts act_enc;
	struct actor_acts act_actor;
	/* joint update */
	struct team_batch tb;
	bool tb_ready;
	struct team_stats stats;
	uint64_t up_total, down_total;
};

/* Views of an agent's networks (QMix trains its shared agent's). */
void team_nets_of_agent(struct team_nets *nt, struct agent *ag);

int team_batch_alloc(struct team *t);
void team_batch_free(struct team_batch *b);
/* Draws J joint windows and fresh noise; -EAGAIN when replay has none ready. */
int team_sample(struct team *t);

struct team_loss {
	double q; /* TD loss of Qtot (QMix) or Q (central): trains critics, mixers, encoder */
	double pi; /* actor */
	float dlog_alpha;
};

/*
 * Forward of every network on t->tb, then the losses. With grads, also zeroes and fills the
 * gradients of the encoder and critics (and mixers) from q, the actor from pi, and log
 * alpha's. Parameters are not changed (the gradient checks difference this).
 */
void team_losses(struct team *t, bool grads, struct team_loss *loss);
/* One joint update: sample, losses, clip, Adam, temperature, Polyak. */
int team_update(struct team *t);

#endif /* MARLLB_LEARN_TEAM_IMPL_H */
