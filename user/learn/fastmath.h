/* SPDX-License-Identifier: GPL-2.0 */
/*
 * exp, sigmoid and tanh for the networks' elementwise loops, written so that the compiler
 * vectorises them (glibc's tanhf is a scalar call through expm1f and took a third of an
 * update). exp_fast is Cephes' expf: range reduction by ln 2 and a degree-6 polynomial,
 * relative error below 2e-7 on [-87, 88]; inputs outside are clamped (exp(-87) ~ 1.6e-38).
 */
#ifndef MARLLB_LEARN_FASTMATH_H
#define MARLLB_LEARN_FASTMATH_H

#include <stdint.h>
#include <string.h>

/*
 * Hot elementwise loops get an AVX2+FMA clone picked at load time (ifunc), with the
 * baseline SSE2 version for other CPUs: twice the lanes and fused multiply-adds.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define VECTOR_CLONES
#endif

static inline float exp_fast(float x)
{
	const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
	const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
	float fn, r, p, scale;
	int32_t bits;

	/* plain selects, no fminf: GCC vectorises these (with -fno-trapping-math) */
	x = x < -87.0f ? -87.0f : x;
	x = x > 88.0f ? 88.0f : x;
	/* n = round(x / ln 2) sits in the low mantissa bits of fn */
	fn = x * log2e + shifter;
	memcpy(&bits, &fn, sizeof(bits));
	fn -= shifter;
	r = x - fn * ln2_hi - fn * ln2_lo;
	p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	/* 2^n, n in -126..127 for the clamped range */
	bits = (bits - 0x4b400000 + 127) << 23;
	memcpy(&scale, &bits, sizeof(scale));
	return p * scale;
}

static inline float sigmoid_fast(float x)
{
	return 1.0f / (1.0f + exp_fast(-x));
}

/* tanh x = 2 sigmoid(2x) - 1; absolute error ~1e-7 near 0, where that is what matters. */
static inline float tanh_fast(float x)
{
	return 2.0f / (1.0f + exp_fast(-2.0f * x)) - 1.0f;
}

#endif /* MARLLB_LEARN_FASTMATH_H */
