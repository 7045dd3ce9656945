/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The SYN budget, in the spirit of Katran's new-connection rate limit: each CPU creates at
 * most mlb_syn_guard.budget half-open entries per window of 2^MLB_SYN_WINDOW_SHIFT ns. User
 * space sets the budget so that at that rate a CPU's share of mlb_half_open turns over no
 * faster than MLB_HALF_OPEN_LIFE_NS: a flood cannot push out the half-open entry of a
 * handshake younger than that. Beyond the budget new flows are placed by the consistent hash
 * without state (the flood's SYNs then cost no insert at all); their next packets find no
 * entry and are hashed to the same backend.
 */
#ifndef MARLLB_BPF_SYN_GUARD_H
#define MARLLB_BPF_SYN_GUARD_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"
#include "maps.h"

static __always_inline struct mlb_syn_guard *mlb_syn_guard_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mlb_syn_guard, &zero);
}

/* May this CPU create one more half-open entry now? (budget 0: no limit) */
static __always_inline bool mlb_syn_budget_left(struct mlb_syn_guard *g, __u64 now)
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

static __always_inline void mlb_syn_budget_spend(struct mlb_syn_guard *g)
{
	if (g)
		g->inserts++;
}

#endif /* MARLLB_BPF_SYN_GUARD_H */
