/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exact argmin of (q_k + 1) / a_k over up to MLB_EXACT_SCAN_MAX backends, and the pieces
 * the policies share: scores without a division, branch-free minima and equality, and a
 * branch-free uniform choice among ties. Pure functions of their arguments (no map): the
 * benchmark (selftests/bpf/bench_argmin.bpf.c) runs them as they are.
 */
#ifndef MARLLB_BPF_ARGMIN_H
#define MARLLB_BPF_ARGMIN_H

#include <linux/bpf.h>
#include "marllb.h"

#define MLB_BE_MASK (MLB_MAX_BACKENDS - 1)

/*
 * The score of backend k: (q_k + 1) * r_k, with r_k the vector's scaled reciprocal of a_k
 * (include/marllb.h, struct mlb_weights): argmin (q + 1) / a without a division, one multiply
 * per backend. r < 2^29, so even a wrapped (negative) q, which must not win, scores below
 * 2^61; a dead backend (inactive, weight 0, or past the pool) gets MLB_SCORE_DEAD on top,
 * above every live score. r == NULL: all a equal (lsq).
 */
#define MLB_SCORE_DEAD (1ull << 61)
#define MLB_SCORE_NONE (1ull << 62)

static __always_inline __u64 mlb_score(const struct mlb_queues *qs, const __u32 *r, __u32 k,
				       __u64 dead_bit)
{
	return ((__u64)qs->q[k] + 1) * (r ? r[k] : 1) | dead_bit << 61;
}

/* min(a, b) for a, b < 2^63, without a branch (BPF has no conditional move) */
static __always_inline __u64 mlb_min2(__u64 a, __u64 b)
{
	__u64 d = a - b, m = (__s64)d >> 63;

	/* keeps clang from turning this back into a compare and branch */
	asm volatile("" : "+r"(m));
	return b + (d & m);
}

/* 1 if s == best, else 0, without a branch (s ^ best < 2^63) */
static __always_inline __u64 mlb_eq(__u64 s, __u64 best)
{
	return ((s ^ best) - 1) >> 63;
}

#define MLB_BYTES_ONE 0x0101010101010101ull
#define MLB_BYTES_HIGH 0x8080808080808080ull

/* Bytes below the one holding the r-th (from 0) mark of cum, cum's bytes counting marks up to
 * and including themselves: how many bytes have cum <= r. Byte-parallel, no branch. */
static __always_inline __u32 mlb_bytes_le(__u64 cum, __u32 r)
{
	__u64 le = (((__u64)r * MLB_BYTES_ONE | MLB_BYTES_HIGH) - cum) & MLB_BYTES_HIGH;

	return ((le >> 7) * MLB_BYTES_ONE) >> 56;
}

/* Byte i: the set bits of x in bytes 0..i (so byte 7: all of them). */
static __always_inline __u64 mlb_bytes_cum(__u64 x)
{
	__u64 c = x - ((x >> 1) & 0x5555555555555555ull);

	c = (c & 0x3333333333333333ull) + ((c >> 2) & 0x3333333333333333ull);
	c = (c + (c >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return c * MLB_BYTES_ONE;
}

/*
 * Index of the r-th (from 0) set bit of x, r below the bits of x, cum = mlb_bytes_cum(x):
 * broadword select (Vigna), without a branch or a loop. First the byte, from the running byte
 * counts; then the bit within it, from the running counts of the byte's bits spread one per
 * byte.
 */
static __always_inline __u32 mlb_select64(__u64 x, __u64 cum, __u32 r)
{
	__u32 byte = mlb_bytes_le(cum, r) & 7, shift = byte * 8;
	__u64 b = (x >> shift) & 0xff, spread;

	r -= ((cum << 8) >> shift) & 0xff; /* marks in the bytes below */
	spread = (b * MLB_BYTES_ONE) & 0x8040201008040201ull; /* bit i of b in byte i */
	spread = (((spread & 0x7f7f7f7f7f7f7f7full) + 0x7f7f7f7f7f7f7f7full) | spread) &
		 MLB_BYTES_HIGH;
	return shift + mlb_bytes_le((spread >> 7) * MLB_BYTES_ONE, r);
}

/* One random draw picks among the minima in ties (not 0), each alike. */
static __always_inline int mlb_pick_tie(__u64 ties, __u32 seed)
{
	__u64 cum = mlb_bytes_cum(ties);

	return mlb_select64(ties, cum, ((__u64)seed * (cum >> 56)) >> 32);
}

/*
 * Exact argmin over a pool of at most MLB_EXACT_SCAN_MAX (64) backends, eight at a time,
 * stopping once no live backend is left above k; unrolled, so every offset is a constant. The
 * first pass takes the minimum score as a tree of branch-free minima (four independent scores
 * at a time: the work overlaps instead of waiting on a running best, and fits BPF's registers).
 * Only a group of eight that holds a dead backend pays for marking it. The second pass marks
 * every backend that reaches the minimum in a bit mask (which backends tie changes from flow
 * to flow; a branch on it was mispredicted), dead ones cleared at the end, and one random
 * draw picks the r-th marked backend, uniform over all minima.
 */
static __always_inline __u64 mlb_min4(const struct mlb_queues *qs, const __u32 *r, __u64 dead,
				      __u32 k)
{
	return mlb_min2(mlb_min2(mlb_score(qs, r, k, (dead >> k) & 1),
				 mlb_score(qs, r, k + 1, (dead >> (k + 1)) & 1)),
			mlb_min2(mlb_score(qs, r, k + 2, (dead >> (k + 2)) & 1),
				 mlb_score(qs, r, k + 3, (dead >> (k + 3)) & 1)));
}

static __always_inline __u64 mlb_ties4(const struct mlb_queues *qs, const __u32 *r, __u64 best,
				       __u32 k)
{
	return (mlb_eq(mlb_score(qs, r, k, 0), best) |
		mlb_eq(mlb_score(qs, r, k + 1, 0), best) << 1 |
		mlb_eq(mlb_score(qs, r, k + 2, 0), best) << 2 |
		mlb_eq(mlb_score(qs, r, k + 3, 0), best) << 3)
	       << k;
}

/* The minimum score of backends k..k+7: the group's dead ones marked only if it has any. */
static __always_inline __u64 mlb_min8(const struct mlb_queues *qs, const __u32 *r, __u64 dead,
				      __u32 k)
{
	if (!((dead >> k) & 0xff)) /* the same way for every flow of a pool: predicted */
		return mlb_min2(mlb_min4(qs, r, 0, k), mlb_min4(qs, r, 0, k + 4));
	return mlb_min2(mlb_min4(qs, r, dead, k), mlb_min4(qs, r, dead, k + 4));
}

static __always_inline int mlb_argmin_exact(const struct mlb_queues *qs, const __u32 *r, __u64 live,
					    __u32 seed)
{
	__u64 best = MLB_SCORE_NONE, ties = 0, dead = ~live, group[MLB_EXACT_SCAN_MAX / 8];

	/* unrolled by hand: clang does not unroll these */
#define MLB_MIN_GROUP(k)                           \
	if (!(live >> (k)))                        \
		goto minimum;                      \
	group[(k) / 8] = mlb_min8(qs, r, dead, k); \
	best = mlb_min2(best, group[(k) / 8])
	MLB_MIN_GROUP(0);
	MLB_MIN_GROUP(8);
	MLB_MIN_GROUP(16);
	MLB_MIN_GROUP(24);
	MLB_MIN_GROUP(32);
	MLB_MIN_GROUP(40);
	MLB_MIN_GROUP(48);
	MLB_MIN_GROUP(56);
minimum:
	if (best >= MLB_SCORE_DEAD)
		return -1;
		/* only groups that reach the minimum are scored again (often one) */
#define MLB_TIE_GROUP(k)            \
	if (!(live >> (k)))         \
		goto ties;          \
	if (group[(k) / 8] == best) \
	ties |= mlb_ties4(qs, r, best, k) | mlb_ties4(qs, r, best, (k) + 4)
	MLB_TIE_GROUP(0);
	MLB_TIE_GROUP(8);
	MLB_TIE_GROUP(16);
	MLB_TIE_GROUP(24);
	MLB_TIE_GROUP(32);
	MLB_TIE_GROUP(40);
	MLB_TIE_GROUP(48);
	MLB_TIE_GROUP(56);
#undef MLB_MIN_GROUP
#undef MLB_TIE_GROUP
ties:
	return mlb_pick_tie(ties & live, seed);
}

#endif /* MARLLB_BPF_ARGMIN_H */
