/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the agent (agent.c, sac.c, model_file.c and the tests; not for other parts).
 *
 * Networks: actor  obs -> GRU -> [LN] -> [enc] -> H -> ReLU -> 2A (mean, log-std pre-act)
 *           critic obs -> GRU -> [LN] -> [enc | a] -> H -> ReLU -> 1, twice, with targets.
 * An update replays B sequences of T = seq_len + 1 observations: steps [0, burn_in) only
 * warm the GRU state, steps t in [burn_in, seq_len) are trained with targets from t + 1.
 */
#ifndef MARLLB_LEARN_AGENT_IMPL_H
#define MARLLB_LEARN_AGENT_IMPL_H

#include "learn/agent.h"
#include "learn/net.h"
#include "learn/normaliser.h"
#include "learn/replay.h"
#include "learn/rng.h"

/* log-std of the Gaussian before tanh, mapped smoothly into [MIN, MAX] */
#define SAC_LOG_STD_MIN (-5.0f)
#define SAC_LOG_STD_MAX 2.0f
/* weight of mean(mu^2), mu the pre-tanh mean, in the actor's loss (see sac.c) */
#define SAC_MEAN_REG 1e-3f

/* A sampled batch and every activation of one update, time-major. */
struct sac_batch {
	int steps, batch; /* T = seq_len + 1, B */
	int rows_actor; /* (T - burn_in) * B: actor head on steps [burn_in, T) */
	int rows; /* (T - 1 - burn_in) * B: trained steps [burn_in, T - 1) */
	float *obs; /* (T, B, O) normalised */
	float *norm_mean, *norm_inv_std; /* (O): the normaliser, frozen for this batch */
	float *act; /* (T, B, A) replayed squashed actions (0 where masked) */
	float *mask; /* (T, B, A) 1 active, 0 inactive */
	float *reward; /* (T, B) reward of the action at t */
	float *eps_pi; /* (rows, A) noise of the policy action at trained step t */
	float *eps_next; /* (rows, A) noise of the policy action at t + 1 (targets) */

	/* actor and targets over all T steps, critics over T - 1 (their last Q is at T - 2) */
	struct encoder_acts actor_enc, critic_enc[2], target_enc[2];
	struct head_acts actor_head, critic_head[2], critic_pi_head[2], target_head[2];

	/* the tanh-Gaussian samples, rows x A (actions) or rows (log-probs) */
	float *pi_act, *pi_logp, *next_act, *next_logp;
	float *y; /* (rows) critic targets */
	float *dq[2]; /* (rows) d loss / d Q */
	float *dpi_act; /* (rows, A) d actor loss / d a */
	float *dactor_out; /* (rows_actor, 2A) */
};

struct agent {
	struct agent_config cfg;
	struct rng rng;
	struct normaliser norm;
	struct replay replay;
	struct net actor, critic[2]; /* critics carry their target copies */
	float log_alpha, log_alpha_m, log_alpha_v;
	double reward_count, reward_sq_mean; /* running mean of r^2, for reward_scaling */
	long adam_step;
	struct agent_stats stats;

	/* online acting */
	uint32_t episode;
	bool have_prev; /* the last replay step awaits its reward */
	uint64_t prev_step;
	float *h; /* (H) actor GRU state */
	float *obs_norm; /* (O) */
	struct encoder_acts act_enc; /* T = 1, B = 1 */
	struct head_acts act_head;

	struct sac_batch sb;
};

void agent_net_dims(const struct agent_config *cfg, struct net_dims *actor,
		    struct net_dims *critic);

/* Validates cfg; on failure writes why into err and returns -EINVAL. */
int agent_config_check(const struct agent_config *cfg, char *err, size_t err_len);

/* Draws a batch from replay (normalised obs) and fresh noise; -EAGAIN if none is ready. */
int sac_sample(struct agent *ag);
/*
 * Forward of every network on ag->sb, then the losses; fills *q_loss, *pi_loss. With
 * grads, also zeroes and fills the gradients of the actor, both critics and log alpha
 * (returned in *dlog_alpha). Parameters are not changed: the tests use this to check the
 * gradients of the real losses by finite differences.
 */
void sac_losses(struct agent *ag, bool grads, float *q_loss, float *pi_loss, float *dlog_alpha);
/* One full update: sample, losses and gradients, clip, Adam, alpha, Polyak. */
int sac_update(struct agent *ag);

/*
 * The tanh-Gaussian policy: head (rows, 2A) = [mean | log-std pre-activation];
 * a = tanh(mean + std * eps) on active dimensions (mask 1), 0 elsewhere; logp (rows) is the
 * log-density of a summed over the active dimensions.
 */
void sac_policy_sample(const float *head, const float *eps, const float *mask, int rows, int A,
		       float *act, float *logp);
/* log-std from its pre-activation, smoothly into [SAC_LOG_STD_MIN, SAC_LOG_STD_MAX] */
float sac_log_std(float pre);

int sac_batch_alloc(struct sac_batch *sb, const struct agent_config *cfg);
void sac_batch_free(struct sac_batch *sb);

/* Squashed action in [-1, 1] -> weight, log-uniform over [w_min, w_max]. */
float agent_action_to_weight(const struct agent_config *cfg, float a);

#endif /* MARLLB_LEARN_AGENT_IMPL_H */
