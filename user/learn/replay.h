/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replay of the agent's own steps, sampled as short windows for truncated BPTT.
 *
 * A step is one pool at one control step: n rows (one per server slot) of features, the
 * action taken on each (the centred log-weight) and the active mask, plus the reward that
 * action earned (known one step later). Pools differ in size, so rows live in a ring of their
 * own and steps point into it; the oldest steps are dropped when either ring is full.
 *
 * Several lanes (LBs acting through one agent) interleave their steps, so a step links to the
 * previous step of its own lane and episode; a window is a chain of such links. The task is
 * continuing: there are no terminals, only episode starts (a pool of another size, a reset).
 */
#ifndef MARLLB_LEARN_REPLAY_H
#define MARLLB_LEARN_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "learn/rng.h"

#define REPLAY_NO_STEP UINT64_MAX

struct replay {
	int features;
	int step_capacity; /* steps held at most */
	int64_t row_capacity; /* rows held at most */
	uint64_t written; /* steps ever appended: step s lives in slot s % step_capacity */
	uint64_t oldest; /* oldest step still held */
	int64_t row_head; /* where the next step's rows go */
	/* per step slot */
	int64_t *row_start;
	int32_t *n;
	uint64_t *prev; /* previous step of the same lane and episode, or REPLAY_NO_STEP */
	float *reward;
	uint8_t *has_reward;
	/* per row */
	float *obs; /* (row_capacity, features) */
	float *act; /* (row_capacity) */
	float *teacher; /* (row_capacity): a teacher's log-weight, NaN where there is none */
	uint8_t *mask; /* (row_capacity) */
};

/* row_capacity must hold at least one step of the largest pool. Returns 0 or -ENOMEM. */
int replay_init(struct replay *rb, int features, int step_capacity, int64_t row_capacity);
void replay_free(struct replay *rb);

/*
 * Appends a step of n rows (obs: n x features, mask: n; may be NULL = all active) following
 * step prev (REPLAY_NO_STEP: a new episode). Returns its number. Its actions are zero until
 * written through replay_action(); n must not exceed what replay_init was sized for.
 */
uint64_t replay_append(struct replay *rb, const float *obs, const uint8_t *mask, int n,
		       uint64_t prev);
/* The step's n actions (or teacher log-weights), or NULL when the step is no longer held. */
float *replay_action(struct replay *rb, uint64_t step);
float *replay_teacher(struct replay *rb, uint64_t step);
void replay_set_reward(struct replay *rb, uint64_t step, float reward);
bool replay_holds(const struct replay *rb, uint64_t step);
/* Steps currently held. */
uint64_t replay_size(const struct replay *rb);

/*
 * Picks a window of len chained steps (oldest first, into steps[]) of one lane and episode,
 * every reward known but the last step's. Returns 0, or -1 when none was found in a bounded
 * number of tries (replay too small, or episodes shorter than len).
 */
int replay_sample_window(const struct replay *rb, int len, struct rng *rng, uint64_t *steps);

#endif /* MARLLB_LEARN_REPLAY_H */
