/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The learner's own random numbers: xoshiro256** seeded through splitmix64, so that a run is
 * reproducible from its seed on any libc (no rand(), no global state).
 */
#ifndef MARLLB_LEARN_RNG_H
#define MARLLB_LEARN_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1) with 24 random bits (exact in float). */
float rng_uniform(struct rng *r);
/* Uniform integer in [0, n), n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Standard normal (Box-Muller; one call = one fresh pair, the second value is dropped so the
 * state alone determines the stream). */
float rng_normal(struct rng *r);
/* n standard normals, both values of each Box-Muller pair used (half the transcendentals). */
void rng_normal_fill(struct rng *r, float *out, size_t n);
/* n draws from U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default layer initialisation */
void rng_fan_in_fill(struct rng *r, float *out, size_t n, size_t fan_in);

#endif /* MARLLB_LEARN_RNG_H */
