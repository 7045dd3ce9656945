/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Backend choice for a new flow. Every policy returns a backend index of the VIP's pool that
 * is active (bit set in pool->active) and has a non-zero weight where weights apply, or -1.
 */
#ifndef MARLLB_BPF_POLICY_H
#define MARLLB_BPF_POLICY_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"
#include "maps.h"
#include "chash.h"

#define MLB_BE_MASK (MLB_MAX_BACKENDS - 1)

static __always_inline bool mlb_active(const struct mlb_pool *pool, __u32 k)
{
	return (pool->active[(k / 64) & (MLB_MAX_BACKENDS / 64 - 1)] >> (k % 64)) & 1;
}

/*
 * Exact argmin over a pool of at most MLB_EXACT_SCAN_MAX (64) backends. a == NULL: all a = 1.
 * Backends past n are masked out; each pass goes four at a time (unrolled) and stops once no
 * active backend is left above k. The first pass finds the best score; it moves only on a
 * strictly better one, a branch that is rarely taken. The second marks every backend that
 * reaches the best score in a bit mask, without a branch: which backends tie changes from flow
 * to flow, and a branch on it was mispredicted on most candidates. One random draw then picks
 * the r-th marked backend, uniform over all minima.
 */
struct mlb_min_score {
	__u64 num;
	__u64 den;
};

static __always_inline __u64 mlb_weight_of(const __u32 *a, __u32 k)
{
	return a ? a[k] : 1;
}

/* (q_k + 1) / a_k < num / den, compared exactly; a_k == 0 never wins, den == 0 loses to all */
static __always_inline void mlb_min_offer(struct mlb_min_score *m, __u64 mask, __u32 k,
					  const struct mlb_queues *qs, const __u32 *a)
{
	__u64 num = (__u64)qs->q[k] + 1, den = mlb_weight_of(a, k);

	if (((mask >> k) & 1) && num * m->den < m->num * den) {
		m->num = num;
		m->den = den;
	}
}

/* bit k set if backend k is active and scores exactly num / den (den > 0) */
static __always_inline __u64 mlb_min_tie(const struct mlb_min_score *m, __u64 mask, __u32 k,
					 const struct mlb_queues *qs, const __u32 *a)
{
	__u64 diff = ((__u64)qs->q[k] + 1) * m->den ^ m->num * mlb_weight_of(a, k);
	__u64 nonzero = diff | -diff; /* top bit set unless diff == 0 */

	/* keeps clang from turning this back into a compare and branch (BPF has no cmov) */
	asm volatile("" : "+r"(nonzero));
	return (~(nonzero >> 63) & (mask >> k) & 1) << k;
}

static __always_inline __u32 mlb_popcount64(__u64 x)
{
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (x * 0x0101010101010101ull) >> 56;
}

/* Index of the lowest set bit of x != 0 (BPF has no count-trailing-zeros instruction). */
static __always_inline __u32 mlb_lowest_bit(__u64 x)
{
	__u32 k = 0, half;

	for (half = 32; half; half >>= 1) {
		if (!(x & ((1ull << half) - 1))) {
			k += half;
			x >>= half;
		}
	}
	return k;
}

/*
 * The r-th (from 0) set bit of ties, or -1. A global function: the verifier sees ties as
 * unknown here, so the scans' paths (each with another constant ties) need not be told apart,
 * which would blow its complexity limit.
 */
__noinline int mlb_nth_bit(__u64 ties, __u32 r)
{
	__u32 i;

	for (i = 0; i < 64 && i < r; i++)
		ties &= ties - 1;
	return ties ? mlb_lowest_bit(ties) : -1;
}

/* One random draw picks among the minima in ties, each alike. */
static __always_inline int mlb_pick_tie(__u64 ties, __u32 seed)
{
	return mlb_nth_bit(ties, ((__u64)seed * mlb_popcount64(ties)) >> 32);
}

static __always_inline int mlb_argmin_exact(const struct mlb_pool *pool,
					    const struct mlb_queues *qs, const __u32 *a, __u32 n,
					    __u32 seed)
{
	struct mlb_min_score m = { .num = 1, .den = 0 };
	__u64 mask = pool->active[0], ties = 0;
	__u32 k;

	if (n < MLB_EXACT_SCAN_MAX)
		mask &= (1ull << n) - 1;
	for (k = 0; k < MLB_EXACT_SCAN_MAX; k += 4) {
		if (!(mask >> k))
			break;
		mlb_min_offer(&m, mask, k, qs, a);
		mlb_min_offer(&m, mask, k + 1, qs, a);
		mlb_min_offer(&m, mask, k + 2, qs, a);
		mlb_min_offer(&m, mask, k + 3, qs, a);
	}
	if (!m.den)
		return -1;
	for (k = 0; k < MLB_EXACT_SCAN_MAX; k += 4) {
		if (!(mask >> k))
			break;
		ties |= mlb_min_tie(&m, mask, k, qs, a) | mlb_min_tie(&m, mask, k + 1, qs, a) |
			mlb_min_tie(&m, mask, k + 2, qs, a) | mlb_min_tie(&m, mask, k + 3, qs, a);
	}
	return mlb_pick_tie(ties, seed);
}

/*
 * Loops over up to MLB_MAX_BACKENDS run through bpf_loop(): the verifier checks the callback
 * once instead of once per iteration and per caller path.
 */
struct mlb_walk {
	const struct mlb_pool *pool;
	const __u32 *a; /* NULL: every active backend qualifies */
	__u32 n;
	__u32 start; /* first index visited; the walk wraps around at n */
	__u64 total; /* wcmp: sum of active weights, then the remaining draw */
	__s32 found;
};

static __always_inline __u32 mlb_walk_index(const struct mlb_walk *w, __u32 i)
{
	__u32 k = w->start + i;

	if (k >= w->n)
		k -= w->n;
	return k & MLB_BE_MASK;
}

/* First active backend (with a non-zero weight if weights apply) from w->start on. */
static long mlb_walk_first_active(__u32 i, void *ctx)
{
	struct mlb_walk *w = ctx;
	__u32 k = mlb_walk_index(w, i);

	if (!mlb_active(w->pool, k) || (w->a && !w->a[k]))
		return 0;
	w->found = k;
	return 1;
}

static long mlb_walk_sum(__u32 i, void *ctx)
{
	struct mlb_walk *w = ctx;
	__u32 k = i & MLB_BE_MASK;

	if (mlb_active(w->pool, k))
		w->total += w->a[k];
	return 0;
}

static long mlb_walk_draw(__u32 i, void *ctx)
{
	struct mlb_walk *w = ctx;
	__u32 k = i & MLB_BE_MASK;

	if (!mlb_active(w->pool, k) || !w->a[k])
		return 0;
	if (w->total < w->a[k]) {
		w->found = k;
		return 1;
	}
	w->total -= w->a[k];
	return 0;
}

static __always_inline int mlb_first_active(const struct mlb_pool *pool, const __u32 *a, __u32 n,
					    __u32 start)
{
	struct mlb_walk w = { .pool = pool, .a = a, .n = n, .start = start, .found = -1 };

	bpf_loop(n, mlb_walk_first_active, &w, 0);
	return w.found;
}

/*
 * Weighted power-of-d for pools above MLB_EXACT_SCAN_MAX: MLB_POWER_D backends drawn uniformly
 * (with replacement), the best (q + 1) / a among them wins. Ties as in the exact scan, with a
 * mask over the whole pool: a backend drawn twice sets one bit, so it is not favoured.
 * Inactive draws are wasted; if none was active, the first active backend from a random start
 * is taken.
 */
static __always_inline int mlb_argmin_power_d(const struct mlb_pool *pool,
					      const struct mlb_queues *qs, const __u32 *a, __u32 n,
					      __u32 seed)
{
	struct mlb_min_score m = { .num = 1, .den = 0 };
	__u64 ties[MLB_MAX_BACKENDS / 64] = {}, num, den, diff, nonzero;
	__u32 drawn[MLB_POWER_D], live = 0, i, k, r = seed, w, c;

	for (i = 0; i < MLB_POWER_D; i++) {
		r = mlb_mix32(r + 0x9e3779b9);
		k = (((__u64)r * n) >> 32) & MLB_BE_MASK;
		drawn[i] = k;
		if (!mlb_active(pool, k))
			continue;
		live |= 1u << i;
		num = (__u64)qs->q[k] + 1;
		den = mlb_weight_of(a, k);
		if (num * m.den < m.num * den) {
			m.num = num;
			m.den = den;
		}
	}
	if (!m.den)
		return mlb_first_active(pool, a, n, ((__u64)mlb_mix32(r) * n) >> 32);
	for (i = 0; i < MLB_POWER_D; i++) {
		k = drawn[i] & MLB_BE_MASK;
		diff = ((__u64)qs->q[k] + 1) * m.den ^ m.num * mlb_weight_of(a, k);
		nonzero = diff | -diff;
		asm volatile("" : "+r"(nonzero));
		ties[k / 64] |= (~(nonzero >> 63) & (live >> i) & 1) << (k % 64);
	}
	c = mlb_popcount64(ties[0]) + mlb_popcount64(ties[1]) + mlb_popcount64(ties[2]) +
	    mlb_popcount64(ties[3]);
	r = ((__u64)mlb_mix32(r) * c) >> 32; /* the r-th minimum, counted over the four words */
	for (w = 0; w < MLB_MAX_BACKENDS / 64; w++) {
		c = mlb_popcount64(ties[w]);
		if (r < c)
			return w * 64 + mlb_nth_bit(ties[w], r);
		r -= c;
	}
	return -1;
}

static __always_inline int mlb_argmin(const struct mlb_pool *pool, const struct mlb_queues *qs,
				      const __u32 *a, __u32 n, __u32 seed)
{
	if (n <= MLB_EXACT_SCAN_MAX)
		return mlb_argmin_exact(pool, qs, a, n, seed);
	return mlb_argmin_power_d(pool, qs, a, n, seed);
}

/* WCMP: backend k with probability a_k / sum of active a. */
static __always_inline int mlb_pick_wcmp(const struct mlb_pool *pool, const __u32 *a, __u32 n,
					 __u32 seed)
{
	struct mlb_walk w = { .pool = pool, .a = a, .n = n, .found = -1 };

	bpf_loop(n, mlb_walk_sum, &w, 0);
	if (!w.total)
		return -1;
	w.total = ((__u64)seed << 32 | mlb_mix32(seed)) % w.total;
	bpf_loop(n, mlb_walk_draw, &w, 0);
	return w.found;
}

static __always_inline const struct mlb_weights *mlb_weights_of(__u32 vip_id, __u32 slot)
{
	__u32 idx = vip_id * MLB_WEIGHT_SLOTS + slot;

	return bpf_map_lookup_elem(&mlb_weights, &idx);
}

/*
 * A global function: the verifier checks it once, on its own, instead of once for every path
 * that reaches a new flow (the scans would otherwise blow its complexity limit).
 */
__noinline int mlb_pick(const struct mlb_vip *vip, const struct mlb_flow_key *key)
{
	__u32 id, n, seed;
	const struct mlb_weights *w;
	const struct mlb_queues *qs;
	const struct mlb_pool *pool;

	if (!vip || !key)
		return -1;
	id = vip->id;
	n = vip->n_backends;
	if (n > MLB_MAX_BACKENDS)
		n = MLB_MAX_BACKENDS;
	pool = bpf_map_lookup_elem(&mlb_pools, &id);
	if (!pool || !n)
		return -1;
	if (vip->policy == MLB_POLICY_ECMP)
		return mlb_chash_pick(id, key); /* where a lost entry's packets also go */
	seed = bpf_get_prandom_u32();
	if (vip->policy == MLB_POLICY_WCMP) {
		w = mlb_weights_of(id, MLB_WSLOT_STATIC);
		return w ? mlb_pick_wcmp(pool, w->a, n, seed) : -1;
	}
	qs = bpf_map_lookup_elem(&mlb_queues, &id);
	if (!qs)
		return -1;
	if (vip->policy == MLB_POLICY_LSQ)
		return mlb_argmin(pool, qs, NULL, n, seed);
	/* marl reads the live half of the double buffer; user space never writes it */
	w = mlb_weights_of(id, vip->policy == MLB_POLICY_SED ? MLB_WSLOT_STATIC :
							       pool->weight_slot & 1);
	return w ? mlb_argmin(pool, qs, w->a, n, seed) : -1;
}

#endif /* MARLLB_BPF_POLICY_H */
