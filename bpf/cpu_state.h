/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The new-flow path's per-CPU state (mlb_cpu_state): the SYN budget and the random stream.
 *
 * The SYN budget, in the spirit of Katran's new-connection rate limit: each CPU creates at
 * most mlb_cpu_state.budget half-open entries per window of 2^MLB_SYN_WINDOW_SHIFT ns. User
 * space sets the budget so that at that rate a CPU's share of mlb_half_open turns over no
 * faster than MLB_HALF_OPEN_LIFE_NS: a flood cannot push out the half-open entry of a
 * handshake younger than that. Beyond the budget new flows are placed by the consistent hash
 * without state (the flood's SYNs then cost no insert at all); their next packets find no
 * entry and are hashed to the same backend.
 */
#ifndef MARLLB_BPF_CPU_STATE_H
#define MARLLB_BPF_CPU_STATE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"
#include "maps.h"

static __always_inline struct mlb_cpu_state *mlb_cpu_state_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mlb_cpu_state, &zero);
}

/* May this CPU create one more half-open entry now? (budget 0: no limit) */
static __always_inline bool mlb_syn_budget_left(struct mlb_cpu_state *g, __u64 now)
{
	__u64 window = now >> MLB_SYN_WINDOW_SHIFT;

	if (!g || !g->budget)
		return true;
	if (g->window != window) {
		g->window = window;
		g->inserts = 0;
	}
	return g->inserts < g->budget;
}

static __always_inline void mlb_syn_budget_spend(struct mlb_cpu_state *g)
{
	if (g)
		g->inserts++;
}

/*
 * A random u32 for a new flow's draw (tie-break, wcmp, power of d): xorshift64* on this CPU's
 * state, a few instructions where bpf_get_prandom_u32() costs about 30 ns per call here
 * (measured). Seeded from the kernel's generator on the CPU's first new flow.
 */
static __always_inline __u32 mlb_random(struct mlb_cpu_state *c)
{
	__u64 x;

	if (!c)
		return bpf_get_prandom_u32();
	x = c->rng;
	if (!x)
		x = (__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32() | 1;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rng = x;
	return (x * 0x2545f4914f6cdd1dull) >> 32;
}

#endif /* MARLLB_BPF_CPU_STATE_H */
