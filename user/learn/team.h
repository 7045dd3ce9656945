/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The LBs of one world as a team of learners: the paper's learned baselines beside marl's
 * independent agents (Documentation/baselines.md). Every method uses the same set networks
 * (setnet.h), SAC (squashed Gaussian over log-weights, twin critics, automatic temperature),
 * optimiser, replay and model-file conventions as marl; what differs is only what the critic
 * reads and how the team's rewards reach it.
 *
 *   TEAM_INDEPENDENT  one agent per LB (struct agent), each learning from its own steps and
 *                     its own reward: Distr-LB (the paper's method; reward VBF or VBF+log)
 *                     and, with the recurrence cut and Jain's fairness, RLB-SAC [40]. No
 *                     communication in training or acting.
 *   TEAM_QMIX         QMix-LB: decentralised agents sharing one set of parameters (every
 *                     LB acts through the same struct agent, each in its own lane, on its
 *                     own observations), trained centrally on the joint reward. Each
 *                     agent's critic is its utility Q_i(tau_i, a_i); a monotonic mixer
 *                     (mixer.h) whose weights a hypernetwork writes from the global state
 *                     (joint_view.h) makes Qtot of the utilities, and only Qtot meets the
 *                     reward (TD on Qtot, twin mixers and critics). With continuous actions
 *                     there is no argmax over a table: each agent's actor improves its own
 *                     utility (SAC's policy step on min_k Q_i,k), which is QMix's
 *                     decentralised argmax in continuous form; it is sound because the
 *                     mixer is monotonic (dQtot/dQ_i >= 0: raising any agent's utility
 *                     never lowers the team's value). FACMAC's alternative, the actors'
 *                     gradient through the mixer, differs only by that non-negative factor
 *                     per sample, and needs the mixer (the global state) at every actor
 *                     update.
 *   TEAM_CENTRAL      Centr-LB: one SAC agent that reads every LB's observation (every row
 *                     gets the joint context, joint_view.h) and writes every LB's weights:
 *                     its action has M x N dimensions; its critic pools over all of them
 *                     to one Q of the joint action. It acts centrally too: every control
 *                     step needs every LB's observation at the learner and sends the
 *                     weights back.
 *
 * The joint reward (QMix, central) is the mean of the LBs' rewards. Joint steps live in one
 * replay (struct replay): a step is the M pools, LB-major, with the joint reward; an update
 * draws windows of joint steps (seq_len + 1 steps, burn_in of them to warm the GRU state).
 *
 * Every LB's pool has the same n servers, all in service (the simulator's worlds).
 */
#ifndef MARLLB_LEARN_TEAM_H
#define MARLLB_LEARN_TEAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learn/agent.h"

enum team_method { TEAM_INDEPENDENT, TEAM_QMIX, TEAM_CENTRAL, TEAM__COUNT };

#define TEAM_MAX_LBS 256

struct team_config {
	enum team_method method;
	int lbs; /* M, fixed: the mixer's width, the central agent's view */
	struct agent_config agent; /* sizes, SAC and replay of every network; max_servers is
				    * one LB's largest pool; lanes is set by the team */
	int mixer_embed; /* QMix: width of the mixing layer (32) */
	bool mixer_negated; /* tests only: a deliberately broken mixer (mixer.h) */
};

struct team_stats {
	uint64_t steps; /* team_step calls */
	uint64_t updates; /* gradient updates (independent: of the first agent) */
	float q_loss, pi_loss, alpha, entropy; /* independent: means over the agents */
};

/*
 * What training needs to move between the LBs and a central learner, in bytes, for pools of
 * n servers (floats of 4 bytes; every LB's share summed). A step's trajectory is what an LB
 * observed (n x AGENT_FEATURES), the log-weights it wrote (n) and its reward (1); the
 * central agent also sends every LB its weights (n) every step. The decentralised agents of
 * QMix act on parameters the learner must send them (encoder and actor, to every LB) as
 * often as they are to follow it.
 */
struct team_comm {
	uint64_t up_per_step; /* LBs -> learner, every control step of training */
	uint64_t down_per_step; /* learner -> LBs, every control step (the central agent) */
	uint64_t params_per_sync; /* learner -> LBs: the acting parameters, once */
	uint64_t up_total, down_total; /* counted over the recorded steps so far */
};

void team_config_default(struct team_config *cfg, enum team_method method, int lbs);
/* Validates cfg; on failure writes why into err and returns -EINVAL. */
int team_config_check(const struct team_config *cfg, char *err, size_t err_len);
/* "independent", "qmix", "central"; returns 0 or -EINVAL. */
int team_method_parse(const char *name, enum team_method *method);
const char *team_method_name(enum team_method method);

/* Returns NULL and sets errno (EINVAL, ENOMEM) on failure. */
struct team *team_create(const struct team_config *cfg);
void team_free(struct team *t);
const struct team_config *team_config(const struct team *t);

/*
 * One control step of every LB. obs: lbs x n x AGENT_FEATURES floats, LB-major (each LB's
 * features_policy_obs()); rewards: lbs floats, each LB's reward for its previous step
 * (ignored at an episode's first step; NULL: all 0). weights_out: lbs x n weights, each LB's with
 * geometric mean 1. flags: AGENT_EXPLORE, AGENT_RECORD (agent.h). A pool of another size
 * than the last step's starts a new episode. Returns 0, -EINVAL (bad n, NaN/inf in obs or
 * rewards: nothing is recorded), -ENOMEM.
 */
int team_step(struct team *t, const float *obs, int n, const float *rewards, unsigned int flags,
	      float *weights_out);
/* Forgets every recurrent state: the next step starts a new episode. */
void team_reset_state(struct team *t);
/* Runs up to n gradient updates of every learner; returns the number done (of the first
 * learner). stats may be NULL. */
int team_train(struct team *t, int n, struct team_stats *stats);
void team_get_stats(const struct team *t, struct team_stats *stats);
void team_comm(const struct team *t, int n, struct team_comm *c);

/*
 * The agent LB lb acts through: its own (independent), the shared one (QMix), NULL
 * (central: no LB acts alone). A marl model file of it (agent_save) runs in marllbd.
 */
struct agent *team_agent(struct team *t, int lb);

/*
 * Team files: magic "MARLLBTM", version, method, LBs, every network's settings and
 * parameters, checksum (team_file.c). team_load returns NULL with a sentence in err on any
 * problem, never a half-loaded team; the team acts on pools of up to max_servers per LB
 * (0: the file's).
 */
int team_save(const struct team *t, const char *path);
struct team *team_load(const char *path, int max_servers, char *err, size_t err_len);

#endif /* MARLLB_LEARN_TEAM_H */
