/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the agent (agent.c, sac.c, model_file.c and the tests; not for other parts).
 *
 * Networks (setnet.h): one recurrent set encoder with a target copy, an actor head, and two
 * critic heads with target copies. An update replays windows of T = seq_len + 1 steps: steps
 * [0, burn_in) only warm the GRU state, steps t in [burn_in, T - 1) are trained with targets
 * from t + 1.
 *
 * Action of a server: u = mean + std eps (eps = 0 when acting greedily), a = tanh(u),
 * y = L a, and the centred log-weight l = y - mean over the pool's active servers (what the
 * critics see and the replay stores); the weight written is exp(l).
 */
#ifndef MARLLB_LEARN_AGENT_IMPL_H
#define MARLLB_LEARN_AGENT_IMPL_H

#include "learn/agent.h"
#include "learn/replay.h"
#include "learn/rng.h"
#include "learn/setnet.h"

/* log-std of the Gaussian before tanh, mapped smoothly into [MIN, MAX] */
#define SAC_LOG_STD_MIN (-5.0f)
#define SAC_LOG_STD_MAX 1.0f
/* weight of mean(mu^2), mu the pre-tanh mean, in the actor's loss (see sac.c) */
#define SAC_MEAN_REG 1e-3f

/* One network's flat buffers: parameters, gradients, Adam moments, target copy (or NULL). */
struct pbuf {
	size_t count;
	float *params, *grads, *adam_m, *adam_v, *target;
};

/* A sampled batch and every activation of one update, time-major (setnet.h). */
struct sac_batch {
	int steps; /* T = seq_len + 1 */
	int max_rows, max_windows;
	int rows, windows; /* R, B of the batch drawn */
	int *seg; /* (B + 1) */
	int *n_active; /* (T, B) active servers per window-step */
	uint64_t *chain; /* (T) scratch for replay_sample_window */
	float *obs; /* (T, R, F) */
	float *act; /* (T, R) replayed centred log-weights (0 where masked) */
	float *teacher; /* (T, R) teacher log-weights, NaN where none */
	float *mask; /* (T, R) */
	float *reward; /* (T, B) reward of the action at t */
	float *eps; /* (T, R) noise of the policy actions */

	struct encoder_acts enc, target_enc;
	struct actor_acts actor;
	struct critic_acts critic[2], critic_pi[2], target[2];

	/* policy actions on steps [burn_in, T): per row a = tanh(u) and l; per window logp */
	float *pi_a, *pi_l; /* (T, R) */
	float *pi_logp; /* (T, B): sum over the window's active servers */
	float *y; /* (T, B) critic targets */
	bool hold_targets; /* tests: keep y of the last call (targets are constants to an
			    * update; finite differences would see them move with the encoder) */
	float *dq; /* (T, B) */
	float *dl; /* (T, R) d actor loss / d l */
	float *dactor_out; /* (T, R, 2) */
	float *dbc_out; /* (T, R, 2): the imitation term alone, for the encoder */
};

struct lane {
	float *h; /* (max_servers, H) GRU state per server slot */
	float *anchor_h; /* the same for the anchor policy (agent_set_anchor), or NULL */
	float *act_l; /* (max_servers) the exponential average of the log-weights acted on */
	bool act_l_valid; /* act_l holds this episode's average */
	int n; /* pool size of the current episode, 0 before the first step */
	bool have_prev; /* the lane's last replay step awaits its reward */
	uint64_t prev_step;
};

struct agent {
	struct agent_config cfg;
	struct setnet_dims dims;
	struct rng rng;
	struct replay replay; /* allocated at the first recorded step */
	struct pbuf enc, actor, critic[2];
	struct encoder_params ep, eg, et;
	struct actor_params ap, ag;
	struct critic_params cp[2], cg[2], ct[2];
	float log_alpha, log_alpha_m, log_alpha_v;
	double reward_count, reward_sq_mean; /* running mean of r^2, for reward_scaling */
	long adam_step;
	struct agent_stats stats;

	struct lane *lanes;
	/* agent_set_anchor: a frozen copy of the encoder and actor that labels recorded steps */
	float *anchor; /* encoder params, then actor params; NULL without an anchor */
	struct encoder_params anchor_ep;
	struct actor_params anchor_ap;
	/* acting: one step of one pool */
	struct encoder_acts act_enc;
	struct actor_acts act_actor;
	int act_seg[2];
	float *act_mask; /* (max_servers) */

	struct sac_batch sb;
	bool sb_ready;
};

/* Validates cfg; on failure writes why into err and returns -EINVAL. */
int agent_config_check(const struct agent_config *cfg, char *err, size_t err_len);
void agent_dims(const struct agent_config *cfg, struct setnet_dims *d);

/* Draws a batch from replay and fresh noise; -EAGAIN if none is ready. */
int sac_sample(struct agent *ag);
/* The losses of one batch, in double: the gradient checks difference them. */
struct sac_loss {
	double q; /* critics: trains the critics and the encoder */
	double pi; /* actor, imitation term included */
	double bc; /* the imitation term alone (bc_weight x squared error): also trains the
		    * encoder */
	float dlog_alpha;
};

/*
 * Forward of every network on ag->sb, then the losses. With grads, also zeroes and fills the
 * gradients of the encoder (from q and bc), the actor (from pi), both critics (from q) and
 * log alpha. Parameters are not changed: the tests use this to check the gradients of the real
 * losses by finite differences.
 */
void sac_losses(struct agent *ag, bool grads, struct sac_loss *loss);
/* One full update: sample, losses and gradients, clip, Adam, alpha, Polyak. */
int sac_update(struct agent *ag);

int sac_batch_alloc(struct sac_batch *sb, const struct agent_config *cfg);
void sac_batch_free(struct sac_batch *sb);

/* log-std from its pre-activation, smoothly into [SAC_LOG_STD_MIN, SAC_LOG_STD_MAX] */
float sac_log_std(float pre);

/*
 * d L_pi / d (mean, log-std pre-activation) of one row of the squashed policy, into g[2]:
 * o[2] its head, a = tanh(u) its action, eps its noise, da = d L_pi / d a (through the
 * critics and the centring of the pool's log-weights), ent_w the entropy term's weight on
 * the row, reg_rows the rows the mean's regulariser averages over. sac.c and team_sac.c.
 */
void sac_policy_row_grad(const float *o, float a, float eps, float da, float ent_w,
			 int reg_rows, float *g);

/*
 * The squashed policy on the rows of one set shape (steps x rows): head (rows, 2) holds
 * [mean, log-std pre-activation]; eps (rows) the noise (NULL: greedy). Writes a = tanh(u) and
 * the centred log-weights l (0 for inactive rows), and logp (steps x windows, may be NULL):
 * each window's log-density summed over its active servers.
 */
void sac_policy_act(const float *head, const float *eps, const struct set_shape *s, float L,
		    float *a, float *l, float *logp);

#endif /* MARLLB_LEARN_AGENT_IMPL_H */
