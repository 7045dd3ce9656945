/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replay of the agent's own steps in a ring, sampled as short sequences for truncated BPTT.
 * Steps are stored raw (the observation before normalisation), so every update normalises
 * with the current statistics. Step i holds obs_i, the action taken on it, the active mask
 * and the reward that action earned (known one step later). A sequence never crosses an
 * episode boundary (agent_reset_state); the task is continuing, so there are no terminals.
 */
#ifndef MARLLB_LEARN_REPLAY_H
#define MARLLB_LEARN_REPLAY_H

#include <stdint.h>

#include "learn/rng.h"

struct replay {
	int capacity, obs_dim, act_dim;
	uint64_t written; /* steps ever appended; step i lives in slot i % capacity */
	float *obs; /* (capacity, obs_dim) */
	float *act; /* (capacity, act_dim): squashed action in (-1, 1), 0 if masked */
	uint8_t *mask; /* (capacity, act_dim) */
	float *reward; /* (capacity) */
	uint32_t *episode;
};

int replay_init(struct replay *rb, int capacity, int obs_dim, int act_dim);
void replay_free(struct replay *rb);
/* Appends a step (its action and reward are filled in later); returns its index. */
uint64_t replay_append(struct replay *rb, const float *obs, const uint8_t *mask, uint32_t episode);
float *replay_action(struct replay *rb, uint64_t step);
void replay_set_reward(struct replay *rb, uint64_t step, float reward);
/* Steps currently held. */
uint64_t replay_size(const struct replay *rb);

/*
 * Picks the first step of a window of len consecutive steps of one episode, all of whose
 * rewards but the last step's are known. Returns -1 when none was found in a bounded number
 * of tries (replay too small, or episodes shorter than len).
 */
int64_t replay_sample_start(const struct replay *rb, int len, struct rng *rng);

#endif /* MARLLB_LEARN_REPLAY_H */
