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
#include "argmin.h"

static __always_inline bool mlb_active(const struct mlb_pool *pool, __u32 k)
{
	return (pool->active[(k / 64) & (MLB_MAX_BACKENDS / 64 - 1)] >> (k % 64)) & 1;
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
 * (with replacement), the best score among them wins. Ties as in the exact scan, with a mask
 * over the whole pool: a backend drawn twice sets one bit, so it is not favoured. Dead draws
 * are wasted; if none was live, the first live backend from a random start is taken.
 */
static __always_inline __u64 mlb_score_drawn(const struct mlb_pool *pool,
					     const struct mlb_weights *w,
					     const struct mlb_queues *qs, __u32 k)
{
	__u64 live = pool->active[k / 64] & (w ? w->live[k / 64] : ~0ull);

	return mlb_score(qs, w ? w->r : NULL, k, (~live >> (k % 64)) & 1);
}

static __always_inline int mlb_argmin_power_d(const struct mlb_pool *pool,
					      const struct mlb_weights *w,
					      const struct mlb_queues *qs, __u32 n, __u32 seed)
{
	__u64 ties[MLB_MAX_BACKENDS / 64] = {}, best = MLB_SCORE_NONE;
	__u32 drawn[MLB_POWER_D], i, k, x = seed, c, word;

	for (i = 0; i < MLB_POWER_D; i++) {
		x = mlb_mix32(x + 0x9e3779b9);
		k = (((__u64)x * n) >> 32) & MLB_BE_MASK;
		drawn[i] = k;
		best = mlb_min2(best, mlb_score_drawn(pool, w, qs, k));
	}
	if (best >= MLB_SCORE_DEAD)
		return mlb_first_active(pool, w ? w->a : NULL, n, ((__u64)mlb_mix32(x) * n) >> 32);
	for (i = 0; i < MLB_POWER_D; i++) {
		k = drawn[i] & MLB_BE_MASK;
		ties[k / 64] |= mlb_eq(mlb_score_drawn(pool, w, qs, k), best) << (k % 64);
	}
	c = (mlb_bytes_cum(ties[0]) >> 56) + (mlb_bytes_cum(ties[1]) >> 56) +
	    (mlb_bytes_cum(ties[2]) >> 56) + (mlb_bytes_cum(ties[3]) >> 56);
	x = ((__u64)mlb_mix32(x) * c) >> 32; /* the x-th minimum, counted over the four words */
	for (word = 0; word < MLB_MAX_BACKENDS / 64; word++) {
		__u64 cum = mlb_bytes_cum(ties[word]);

		c = cum >> 56;
		if (x < c)
			return word * 64 + mlb_select64(ties[word], cum, x);
		x -= c;
	}
	return -1;
}

/* w == NULL: all weights equal (lsq) */
static __always_inline int mlb_argmin(const struct mlb_pool *pool, const struct mlb_queues *qs,
				      const struct mlb_weights *w, __u32 n, __u32 seed)
{
	__u64 live = pool->active[0] & (w ? w->live[0] : ~0ull);

	if (n > MLB_EXACT_SCAN_MAX)
		return mlb_argmin_power_d(pool, w, qs, n, seed);
	if (n < MLB_EXACT_SCAN_MAX)
		live &= (1ull << n) - 1;
	return mlb_argmin_exact(qs, w ? w->r : NULL, live, seed);
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
__noinline int mlb_pick(const struct mlb_vip *vip, const struct mlb_flow_key *key, __u32 seed)
{
	__u32 id, n;
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
	return w ? mlb_argmin(pool, qs, w, n, seed) : -1;
}

#endif /* MARLLB_BPF_POLICY_H */
