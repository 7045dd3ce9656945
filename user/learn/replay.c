// SPDX-License-Identifier: GPL-2.0
/* Replay of ragged steps in two rings (replay.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/replay.h"

int replay_init(struct replay *rb, int features, int step_capacity, int64_t row_capacity)
{
	size_t S = step_capacity, R = row_capacity;

	memset(rb, 0, sizeof(*rb));
	rb->features = features;
	rb->step_capacity = step_capacity;
	rb->row_capacity = row_capacity;
	rb->row_start = calloc(S, sizeof(*rb->row_start));
	rb->n = calloc(S, sizeof(*rb->n));
	rb->prev = calloc(S, sizeof(*rb->prev));
	rb->reward = calloc(S, sizeof(*rb->reward));
	rb->has_reward = calloc(S, 1);
	rb->obs = calloc(R * features, sizeof(float));
	rb->act = calloc(R, sizeof(float));
	rb->teacher = calloc(R, sizeof(float));
	rb->mask = calloc(R, 1);
	if (!rb->row_start || !rb->n || !rb->prev || !rb->reward || !rb->has_reward || !rb->obs ||
	    !rb->act || !rb->teacher || !rb->mask) {
		replay_free(rb);
		return -ENOMEM;
	}
	return 0;
}

void replay_free(struct replay *rb)
{
	free(rb->row_start);
	free(rb->n);
	free(rb->prev);
	free(rb->reward);
	free(rb->has_reward);
	free(rb->obs);
	free(rb->act);
	free(rb->teacher);
	free(rb->mask);
	memset(rb, 0, sizeof(*rb));
}

bool replay_holds(const struct replay *rb, uint64_t step)
{
	return step != REPLAY_NO_STEP && step >= rb->oldest && step < rb->written;
}

uint64_t replay_size(const struct replay *rb)
{
	return rb->written - rb->oldest;
}

static size_t slot_of(const struct replay *rb, uint64_t step)
{
	return step % (uint64_t)rb->step_capacity;
}

/* Whether the oldest step's rows intersect [lo, hi). */
static bool oldest_overlaps(const struct replay *rb, int64_t lo, int64_t hi)
{
	size_t s = slot_of(rb, rb->oldest);
	int64_t a = rb->row_start[s], b = a + rb->n[s];

	return a < hi && lo < b;
}

uint64_t replay_append(struct replay *rb, const float *obs, const uint8_t *mask, int n,
		       uint64_t prev)
{
	int64_t start = rb->row_head;
	uint64_t step;
	size_t s;

	if (start + n > rb->row_capacity) {
		/* Wrap: the steps left between the head and the end are the oldest; drop them. */
		while (rb->oldest < rb->written && rb->row_start[slot_of(rb, rb->oldest)] >= start)
			rb->oldest++;
		start = 0;
	}
	while (rb->oldest < rb->written && oldest_overlaps(rb, start, start + n))
		rb->oldest++;
	if (rb->written - rb->oldest >= (uint64_t)rb->step_capacity)
		rb->oldest++;

	step = rb->written++;
	s = slot_of(rb, step);
	rb->row_start[s] = start;
	rb->n[s] = n;
	rb->prev[s] = prev;
	rb->reward[s] = 0.0f;
	rb->has_reward[s] = 0;
	memcpy(rb->obs + start * rb->features, obs, (size_t)n * rb->features * sizeof(float));
	for (int i = 0; i < n; i++) {
		rb->mask[start + i] = !mask || mask[i];
		rb->act[start + i] = 0.0f;
		rb->teacher[start + i] = NAN;
	}
	rb->row_head = start + n;
	return step;
}

float *replay_action(struct replay *rb, uint64_t step)
{
	if (!replay_holds(rb, step))
		return NULL;
	return rb->act + rb->row_start[slot_of(rb, step)];
}

float *replay_teacher(struct replay *rb, uint64_t step)
{
	if (!replay_holds(rb, step))
		return NULL;
	return rb->teacher + rb->row_start[slot_of(rb, step)];
}

void replay_set_reward(struct replay *rb, uint64_t step, float reward)
{
	size_t s;

	if (!replay_holds(rb, step))
		return;
	s = slot_of(rb, step);
	rb->reward[s] = reward;
	rb->has_reward[s] = 1;
}

int replay_sample_window(const struct replay *rb, int len, struct rng *rng, uint64_t *steps)
{
	uint64_t size = replay_size(rb);

	if (size < (uint64_t)len || len < 1)
		return -1;
	for (int tries = 0; tries < 64; tries++) {
		uint64_t step = rb->oldest + rng_below(rng, size);
		int i = len - 1;

		steps[i] = step;
		while (i > 0) {
			uint64_t prev = rb->prev[slot_of(rb, steps[i])];

			if (!replay_holds(rb, prev) || !rb->has_reward[slot_of(rb, prev)])
				break;
			steps[--i] = prev;
		}
		if (i == 0)
			return 0;
	}
	return -1;
}
