// SPDX-License-Identifier: GPL-2.0
/*
 * The exact scan alone, for selftests/bpf/bench_argmin.c: argmin_after runs bpf/argmin.h as
 * the data plane does; argmin_before runs the scan it replaced (main at 4841092, bpf/policy.h:
 * two passes of exact cross-multiplied comparisons, a loop to the r-th tied bit), copied
 * verbatim but for the names. Each packet makes AM_CALLS calls over the pool in am_in (index
 * 0) through bpf_loop, each with another seed; am_sum adds up the picks so that nothing is
 * optimised away and user space can check which backends were chosen.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"
#include "argmin.h"

char LICENSE[] SEC("license") = "GPL";

#define AM_CALLS 64

struct am_in {
	struct mlb_pool pool;
	struct mlb_queues qs;
	struct mlb_weights w;
	__u32 n;
	__u32 lsq; /* all weights equal: the scans get no weight vector */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct am_in);
} am_in SEC(".maps");

__u64 am_sum = 0;

struct am_ctx {
	const struct am_in *in;
	__u32 seed;
	__u64 sum;
};

struct before_min_score {
	__u64 num;
	__u64 den;
};

static __always_inline __u64 before_weight_of(const __u32 *a, __u32 k)
{
	return a ? a[k] : 1;
}

/* (q_k + 1) / a_k < num / den, compared exactly; a_k == 0 never wins, den == 0 loses to all */
static __always_inline void before_min_offer(struct before_min_score *m, __u64 mask, __u32 k,
					     const struct mlb_queues *qs, const __u32 *a)
{
	__u64 num = (__u64)qs->q[k] + 1, den = before_weight_of(a, k);

	if (((mask >> k) & 1) && num * m->den < m->num * den) {
		m->num = num;
		m->den = den;
	}
}

/* bit k set if backend k is active and scores exactly num / den (den > 0) */
static __always_inline __u64 before_min_tie(const struct before_min_score *m, __u64 mask, __u32 k,
					    const struct mlb_queues *qs, const __u32 *a)
{
	__u64 diff = ((__u64)qs->q[k] + 1) * m->den ^ m->num * before_weight_of(a, k);
	__u64 nonzero = diff | -diff; /* top bit set unless diff == 0 */

	/* keeps clang from turning this back into a compare and branch (BPF has no cmov) */
	asm volatile("" : "+r"(nonzero));
	return (~(nonzero >> 63) & (mask >> k) & 1) << k;
}

static __always_inline __u32 before_popcount64(__u64 x)
{
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (x * 0x0101010101010101ull) >> 56;
}

/* Index of the lowest set bit of x != 0 (BPF has no count-trailing-zeros instruction). */
static __always_inline __u32 before_lowest_bit(__u64 x)
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
__noinline int before_nth_bit(__u64 ties, __u32 r)
{
	__u32 i;

	for (i = 0; i < 64 && i < r; i++)
		ties &= ties - 1;
	return ties ? before_lowest_bit(ties) : -1;
}

/* One random draw picks among the minima in ties, each alike. */
static __always_inline int before_pick_tie(__u64 ties, __u32 seed)
{
	return before_nth_bit(ties, ((__u64)seed * before_popcount64(ties)) >> 32);
}

static __always_inline int before_argmin_exact(const struct mlb_pool *pool,
					       const struct mlb_queues *qs, const __u32 *a, __u32 n,
					       __u32 seed)
{
	struct before_min_score m = { .num = 1, .den = 0 };
	__u64 mask = pool->active[0], ties = 0;
	__u32 k;

	if (n < MLB_EXACT_SCAN_MAX)
		mask &= (1ull << n) - 1;
	for (k = 0; k < MLB_EXACT_SCAN_MAX; k += 4) {
		if (!(mask >> k))
			break;
		before_min_offer(&m, mask, k, qs, a);
		before_min_offer(&m, mask, k + 1, qs, a);
		before_min_offer(&m, mask, k + 2, qs, a);
		before_min_offer(&m, mask, k + 3, qs, a);
	}
	if (!m.den)
		return -1;
	for (k = 0; k < MLB_EXACT_SCAN_MAX; k += 4) {
		if (!(mask >> k))
			break;
		ties |= before_min_tie(&m, mask, k, qs, a) |
			before_min_tie(&m, mask, k + 1, qs, a) |
			before_min_tie(&m, mask, k + 2, qs, a) |
			before_min_tie(&m, mask, k + 3, qs, a);
	}
	return before_pick_tie(ties, seed);
}

static long am_before(__u32 i, void *arg)
{
	struct am_ctx *c = arg;
	const struct am_in *in = c->in;

	c->sum += before_argmin_exact(&in->pool, &in->qs, in->lsq ? NULL : in->w.a, in->n,
				      c->seed + i * 0x9e3779b9);
	return 0;
}

static long am_after(__u32 i, void *arg)
{
	struct am_ctx *c = arg;
	const struct am_in *in = c->in;
	__u64 live = in->pool.active[0];

	if (in->n < MLB_EXACT_SCAN_MAX)
		live &= (1ull << in->n) - 1;
	if (in->lsq)
		c->sum += mlb_argmin_exact(&in->qs, NULL, live, c->seed + i * 0x9e3779b9);
	else
		c->sum += mlb_argmin_exact(&in->qs, in->w.r, live & in->w.live[0],
					   c->seed + i * 0x9e3779b9);
	return 0;
}

static __always_inline int am_run(void *fn)
{
	struct am_ctx c = { .seed = bpf_get_prandom_u32() };
	__u32 zero = 0;

	c.in = bpf_map_lookup_elem(&am_in, &zero);
	if (!c.in)
		return XDP_ABORTED;
	bpf_loop(AM_CALLS, fn, &c, 0);
	am_sum += c.sum;
	return XDP_PASS;
}

SEC("xdp")
int argmin_before(struct xdp_md *ctx)
{
	return am_run(am_before);
}

SEC("xdp")
int argmin_after(struct xdp_md *ctx)
{
	return am_run(am_after);
}
