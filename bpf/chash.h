/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stateless placement: a hash of the 5-tuple indexes the VIP's consistent-hash lookup table
 * (mlb_chash, Maglev, built by user space over the active backends). The same 5-tuple lands on
 * the same backend on every packet and on every LB with the same pool, and a change of the
 * pool moves only the flows of the backends that came or went. Used by ecmp, by SYNs beyond the
 * SYN budget, and for packets of flows that have no entry: such a packet goes where a new flow
 * with its 5-tuple would have been hashed.
 */
#ifndef MARLLB_BPF_CHASH_H
#define MARLLB_BPF_CHASH_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"
#include "maps.h"

/* murmur3's finaliser: a bijection on u32 that scrambles well */
static __always_inline __u32 mlb_mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* A fixed function of the 5-tuple: every LB computes the same value. */
static __always_inline __u32 mlb_flow_hash(const struct mlb_flow_key *key)
{
	__u32 h = 0x2545f491;
	int i;

	for (i = 0; i < 4; i++)
		h = mlb_mix32(h ^ key->src[i]) + key->dst[i];
	return mlb_mix32(h ^ ((__u32)key->sport << 16 | key->dport) ^ key->proto << 8 ^
			 key->family);
}

/* The backend the lookup table gives this 5-tuple, or -1 (no active backend). */
static __always_inline int mlb_chash_pick(__u32 vip_id, const struct mlb_flow_key *key)
{
	const struct mlb_chash *t = bpf_map_lookup_elem(&mlb_chash, &vip_id);
	__u32 i = ((__u64)mlb_flow_hash(key) * MLB_CHASH_SIZE) >> 32;
	__u16 k;

	/* clang knows i < MLB_CHASH_SIZE and would drop the check the verifier needs */
	asm volatile("" : "+r"(i));
	if (!t || i >= MLB_CHASH_SIZE)
		return -1;
	k = t->slot[i];
	return k < MLB_MAX_BACKENDS ? k : -1;
}

#endif /* MARLLB_BPF_CHASH_H */
