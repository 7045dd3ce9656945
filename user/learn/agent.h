/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-LB learning agent: recurrent Soft Actor-Critic whose action is one weight per
 * server. One code path for marllbd and for the simulator (tools/sim).
 *
 * A control step, in the caller's loop (daemon or simulator):
 *
 *	features_observe(...) -> obs;  reward = reward_compute(...);
 *	agent_step(ag, obs, reward, mask, explore, weights);   // acts, records the transition
 *	if (learning) agent_train(ag, cfg.updates_per_step, &stats);
 *	write weights to the data plane
 *
 * The reward passed with obs_t is the reward earned by the action of step t-1 (it is
 * measured during step t-1 -> t); the first call's reward is ignored. The task is
 * continuing: there are no terminal states.
 */
#ifndef MARLLB_AGENT_H
#define MARLLB_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;

struct agent_config {
	int n_servers;		/* action dimension: one weight per server */
	int obs_dim;		/* observation dimension (features_obs_dim()) */
	int hidden;		/* GRU and MLP width (default 64) */
	int seq_len;		/* replayed sequence length, burn-in included (default 16) */
	int burn_in;		/* steps that only warm the hidden state (default 4) */
	int batch;		/* sequences per update (default 32) */
	int replay_capacity;	/* steps kept in replay (default 65536) */
	int warmup_steps;	/* no update before this many steps are stored */
	int updates_per_step;	/* gradient updates the caller runs per control step (default 1) */
	float lr;		/* Adam learning rate, all networks (default 3e-4) */
	float gamma;		/* discount (default 0.99) */
	float tau;		/* Polyak factor for target critics (default 0.01) */
	float init_alpha;	/* initial entropy temperature (default 0.2) */
	float grad_clip;	/* global-norm clip, 0 = off (default 10) */
	float w_min, w_max;	/* action weights are log-uniform over [w_min, w_max] (1/8, 8) */
	bool recurrent;		/* false: cut the GRU recurrence (h reset every step), ablation */
	bool layer_norm;	/* LayerNorm after the GRU (default off) */
	bool reward_scaling;	/* divide rewards by their running RMS (default on): VBF in s^2
				 * is ~1e-4, where the entropy bonus would drown it */
	uint64_t seed;
};

struct agent_stats {
	uint64_t steps;		/* agent_step calls */
	uint64_t updates;	/* gradient updates done */
	float q_loss, pi_loss, alpha_loss, alpha, entropy;
};

/* Fills *cfg with the defaults above for the given dimensions. */
void agent_config_default(struct agent_config *cfg, int n_servers, int obs_dim);

/* Returns NULL and sets errno (EINVAL for bad dimensions, ENOMEM) on failure. */
struct agent *agent_create(const struct agent_config *cfg);
void agent_free(struct agent *ag);
const struct agent_config *agent_config(const struct agent *ag);

/*
 * One control step. obs has cfg.obs_dim floats (raw: the agent normalises them with its
 * running statistics, updated here). reward_prev rewards the previous step's action.
 * active_mask[k] == 0 marks server k inactive: its weight is written as 0 and it is left out
 * of the policy's action. weights_out gets cfg.n_servers weights in [w_min, w_max] (0 for
 * inactive servers). explore: sample from the policy (true) or take its mean (false).
 * Returns 0, or -EINVAL when obs (or reward_prev, after the first call) holds a NaN/inf
 * (nothing is recorded then). active_mask may be NULL: all servers active.
 */
int agent_step(struct agent *ag, const float *obs, float reward_prev, const uint8_t *active_mask,
	       bool explore, float *weights_out);

/* Forgets the recurrent state (new episode in the simulator, daemon restart). */
void agent_reset_state(struct agent *ag);

/* Runs up to n gradient updates (fewer while replay holds less than warmup_steps).
 * Returns the number done; stats may be NULL. */
int agent_train(struct agent *ag, int n, struct agent_stats *stats);

/*
 * Model files: magic, version, dimensions, hyperparameters, normaliser, parameters,
 * checksum. agent_load returns NULL on any problem and writes a sentence saying what is
 * wrong into err (truncated, bad magic, version, dimension mismatch, checksum); nothing
 * half-loaded is ever returned. expect_* of 0 accept the file's own dimensions.
 */
int agent_save(const struct agent *ag, const char *path);
struct agent *agent_load(const char *path, int expect_n_servers, int expect_obs_dim, char *err,
			 size_t err_len);

#endif /* MARLLB_AGENT_H */
