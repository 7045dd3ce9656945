// SPDX-License-Identifier: GPL-2.0
/* xoshiro256** (Blackman and Vigna, public domain reference) with a splitmix64 seeder. */
#include <math.h>

#include "learn/rng.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

float rng_uniform(struct rng *r)
{
	return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	/* Lemire's multiply-shift; the bias for n << 2^64 is far below anything we can see. */
	return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

static void normal_pair(struct rng *r, float *a, float *b)
{
	/* u1 in (0, 1] so that log() stays finite. */
	double u1 = ((rng_next(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
	double u2 = (rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
	double radius = sqrt(-2.0 * log(u1));

	*a = (float)(radius * cos(2.0 * M_PI * u2));
	if (b)
		*b = (float)(radius * sin(2.0 * M_PI * u2));
}

float rng_normal(struct rng *r)
{
	float x;

	normal_pair(r, &x, NULL);
	return x;
}

void rng_normal_fill(struct rng *r, float *out, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		normal_pair(r, &out[i], &out[i + 1]);
	if (i < n)
		normal_pair(r, &out[i], NULL);
}

void rng_fan_in_fill(struct rng *r, float *out, size_t n, size_t fan_in)
{
	const float bound = 1.0f / sqrtf((float)fan_in);

	for (size_t i = 0; i < n; i++)
		out[i] = (2.0f * rng_uniform(r) - 1.0f) * bound;
}
