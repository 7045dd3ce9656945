/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-LB learning agent: recurrent Soft Actor-Critic whose action is one weight per
 * server. One code path for marllbd and for the simulator (tools/sim).
 *
 * The policy is a set network (setnet.h): the same weights read every server's features and
 * pooled means over the pool, so one model serves a pool of any size and reordering the
 * servers reorders the weights and nothing else. The model file records no pool size.
 *
 * A control step, in the caller's loop (daemon or simulator):
 *
 *	features_policy_obs(...) -> obs (n x AGENT_FEATURES);  reward = reward_observe(...);
 *	agent_step(ag, lane, obs, n, reward, mask, flags, weights);
 *	if (learning) agent_train(ag, cfg.updates_per_step, &stats);
 *	write weights to the data plane
 *
 * The reward passed with obs_t is the reward earned by the action of step t-1 (measured
 * during step t-1 -> t); the first call's reward of an episode is ignored. The task is
 * continuing: there are no terminal states.
 *
 * Lanes: an agent acts for one or more LBs ("lanes"), each with its own recurrent state and
 * its own chain of steps in the shared replay. marllbd runs one agent with one lane per VIP;
 * the simulator trains one agent with a lane per LB (every LB runs the same parameters, as
 * every LB of a deployment loads the same model) and evaluates with one agent per LB.
 */
#ifndef MARLLB_AGENT_H
#define MARLLB_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "obs/features.h"

/* Per-server observation width: the feature reducer's policy observation. */
#define AGENT_FEATURES FEATURES_POLICY

/* Largest pool an agent acts on: the data plane's exact-argmin limit and beyond. */
#define AGENT_MAX_SERVERS 1024

struct agent;

struct agent_config {
	int max_servers;	/* largest pool it acts on (sizes the acting state; default 64) */
	int lanes;		/* LBs acting through this agent (default 1) */
	int hidden;		/* GRU and MLP width (default 32) */
	int seq_len;		/* replayed window length, burn-in included (default 16) */
	int burn_in;		/* steps that only warm the recurrent state (default 6) */
	int batch_rows;		/* server rows per update: windows are drawn until their pools
				 * hold this many (default 256) */
	int max_windows;	/* at most this many windows per update (default 32) */
	int replay_steps;	/* steps kept in replay (default 65536) */
	int replay_rows;	/* server rows kept in replay (0: replay_steps x the pool size
				 * of the first recorded step, or agent_reserve_replay()'s, at
				 * most 2^20) */
	int warmup_steps;	/* no update before this many steps are stored (default 1000) */
	int updates_per_step;	/* gradient updates the caller runs per control step (1) */
	float lr;		/* Adam learning rate, all networks (default 3e-4) */
	float gamma;		/* discount per control step (default 0.95) */
	float tau;		/* Polyak factor for the target networks (default 0.01) */
	float init_alpha;	/* initial entropy temperature (default 0.05) */
	float target_entropy;	/* per server (default -1) */
	float grad_clip;	/* global-norm clip, 0 = off (default 10) */
	float log_w_range;	/* the actor's log-weight half-range L: a server's log-weight
				 * is L tanh(u), then centred over the pool (default ln 4) */
	float bc_weight;	/* weight of the imitation term (agent_set_teacher; default 0:
				 * pure SAC) */
	float sac_weight;	/* weight of the SAC term in the actor's loss (default 1; 0:
				 * the actor only imitates). A training knob: not saved, a
				 * loaded model has 1 */
	float log_w_quantum;	/* log-weights are written on a grid of this step (0.05: weights
				 * within 5 % of each other are equal; 0: no grid) */
	float act_tau_steps;	/* the weights written are an exponential average of the
				 * policy's log-weights over this many control steps (0: none,
				 * the default; marllbd and the simulator set
				 * learn_act_tau_steps()). Not saved */
	bool recurrent;		/* false: cut the GRU recurrence (ablation) */
	bool reward_scaling;	/* divide rewards by their running RMS (default off: the
				 * relative VBF is already unit-free) */
	uint64_t seed;
};

struct agent_stats {
	uint64_t steps;		/* agent_step calls */
	uint64_t updates;	/* gradient updates done */
	float q_loss, pi_loss, alpha_loss, alpha, entropy;
	float bc_loss;		/* mean squared log-weight error against the teacher */
};

/* agent_step flags */
#define AGENT_EXPLORE 1u	/* sample from the policy instead of taking its mean */
#define AGENT_RECORD 2u		/* store the step in replay (needed to learn from it) */

/* Fills *cfg with the defaults above. */
void agent_config_default(struct agent_config *cfg);

/* Returns NULL and sets errno (EINVAL for a bad configuration, ENOMEM) on failure. */
struct agent *agent_create(const struct agent_config *cfg);
void agent_free(struct agent *ag);
const struct agent_config *agent_config(const struct agent *ag);

/*
 * One control step of one lane. obs has n x AGENT_FEATURES floats (features_policy_obs()),
 * n <= cfg.max_servers. reward_prev rewards this lane's previous step. active_mask[k] == 0
 * marks server k inactive: its weight is written as 0 and it takes no part in the policy
 * (NULL: all active). weights_out gets n weights, their geometric mean over the active servers
 * 1 (0 for inactive servers). A pool of another size than the lane's last one starts a new
 * episode. Returns 0, or -EINVAL for a bad lane or n, or when obs (or reward_prev) holds a
 * NaN/inf (nothing is recorded then), -ENOMEM when the replay cannot be allocated.
 */
int agent_step(struct agent *ag, int lane, const float *obs, int n, float reward_prev,
	       const uint8_t *active_mask, unsigned int flags, float *weights_out);

/*
 * Training with a teacher: gives the log-weights (n floats, only their differences matter)
 * that a teacher who knows the world would write for the lane's last recorded step. The
 * actor's loss then adds bc_weight x the squared error of its greedy log-weights (centred),
 * and the encoder learns from it too: a policy that sees only observations learns to act as
 * one that knows the servers' speeds, and SAC improves on that. Returns 0, or -ENOENT when
 * the lane has no recorded step.
 */
int agent_set_teacher(struct agent *ag, int lane, const float *log_weights);

/*
 * Online learning without a teacher (marllbd): freezes a copy of the policy as it is now (its
 * encoder and actor) as the anchor. From then on every recorded step is labelled, as a
 * teacher would, with the log-weights the anchor writes for it (the anchor acting greedily
 * on the same observations, with its own recurrent state), so that with bc_weight > 0 SAC
 * improves the policy within reach of where it started instead of drifting away from a
 * model trained on many worlds on the strength of one VIP's noisy rewards. An explicit
 * agent_set_teacher() still overrides a step's labels. Returns 0 or -ENOMEM.
 */
int agent_set_anchor(struct agent *ag);

/*
 * Sets act_tau_steps (>= 0) for the steps to come; every lane's average restarts. The
 * policy's per-step log-weights read a server's speed from a few noisy durations: averaged
 * over seconds they keep the speed and lose the noise. Returns 0 or -EINVAL.
 */
int agent_set_act_smoothing(struct agent *ag, float tau_steps);

/*
 * Sets the actor loss's weights (bc_weight, sac_weight: finite, >= 0) for the updates to
 * come: how a loaded model is trained on. Returns 0 or -EINVAL.
 */
int agent_set_loss_weights(struct agent *ag, float bc_weight, float sac_weight);

/*
 * Allocates the replay now, sized for pools of up to n servers (replay_steps steps, at most
 * 2^20 server rows), instead of at the first recorded step: a daemon allocates what it needs
 * before it touches the data plane. A pool larger than n later still fits (fewer steps are
 * kept). Returns 0, -EINVAL or -ENOMEM.
 */
int agent_reserve_replay(struct agent *ag, int n);

/* Forgets a lane's recurrent state: the next step starts a new episode. */
void agent_reset_lane(struct agent *ag, int lane);
/* Every lane. */
void agent_reset_state(struct agent *ag);

/* Runs up to n gradient updates (fewer while replay holds less than warmup_steps).
 * Returns the number done; stats may be NULL. */
int agent_train(struct agent *ag, int n, struct agent_stats *stats);
/* Current statistics without training. */
void agent_get_stats(const struct agent *ag, struct agent_stats *stats);

/*
 * Model files: magic, version, hyperparameters, parameters, checksum; no pool size. agent_load
 * returns NULL on any problem and writes a sentence saying what is wrong into err (truncated,
 * bad magic, version, feature width, checksum); nothing half-loaded is ever returned. The
 * loaded agent has `lanes` lanes (0: 1) and acts on pools of up to max_servers (0: the
 * default).
 */
int agent_save(const struct agent *ag, const char *path);
struct agent *agent_load(const char *path, int lanes, int max_servers, char *err, size_t err_len);

/* Copies the parameters (not replay, optimiser or recurrent state) of src into dst: both must
 * have the same shape. For evaluating a snapshot of a learner. Returns 0 or -EINVAL. */
int agent_copy_params(struct agent *dst, const struct agent *src);

#endif /* MARLLB_AGENT_H */
