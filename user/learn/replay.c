// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "learn/replay.h"

int replay_init(struct replay *rb, int capacity, int obs_dim, int act_dim)
{
	size_t cap = capacity;

	memset(rb, 0, sizeof(*rb));
	rb->capacity = capacity;
	rb->obs_dim = obs_dim;
	rb->act_dim = act_dim;
	rb->obs = calloc(cap * obs_dim, sizeof(float));
	rb->act = calloc(cap * act_dim, sizeof(float));
	rb->mask = calloc(cap * act_dim, 1);
	rb->reward = calloc(cap, sizeof(float));
	rb->episode = calloc(cap, sizeof(uint32_t));
	if (!rb->obs || !rb->act || !rb->mask || !rb->reward || !rb->episode) {
		replay_free(rb);
		return -ENOMEM;
	}
	return 0;
}

void replay_free(struct replay *rb)
{
	free(rb->obs);
	free(rb->act);
	free(rb->mask);
	free(rb->reward);
	free(rb->episode);
	memset(rb, 0, sizeof(*rb));
}

uint64_t replay_append(struct replay *rb, const float *obs, const uint8_t *mask, uint32_t episode)
{
	uint64_t step = rb->written++;
	size_t slot = step % rb->capacity;

	memcpy(rb->obs + slot * rb->obs_dim, obs, rb->obs_dim * sizeof(float));
	memcpy(rb->mask + slot * rb->act_dim, mask, rb->act_dim);
	memset(rb->act + slot * rb->act_dim, 0, rb->act_dim * sizeof(float));
	rb->reward[slot] = 0.0f;
	rb->episode[slot] = episode;
	return step;
}

float *replay_action(struct replay *rb, uint64_t step)
{
	return rb->act + (step % rb->capacity) * rb->act_dim;
}

void replay_set_reward(struct replay *rb, uint64_t step, float reward)
{
	rb->reward[step % rb->capacity] = reward;
}

uint64_t replay_size(const struct replay *rb)
{
	return rb->written < (uint64_t)rb->capacity ? rb->written : (uint64_t)rb->capacity;
}

int64_t replay_sample_start(const struct replay *rb, int len, struct rng *rng)
{
	uint64_t oldest = rb->written - replay_size(rb);

	if (replay_size(rb) < (uint64_t)len)
		return -1;
	for (int tries = 0; tries < 64; tries++) {
		uint64_t s = oldest + rng_below(rng, replay_size(rb) - len + 1);

		/* Episode ids only grow along the ring, so equal ends mean one episode. */
		if (rb->episode[s % rb->capacity] == rb->episode[(s + len - 1) % rb->capacity])
			return (int64_t)s;
	}
	return -1;
}
