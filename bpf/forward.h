/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forwarding to the chosen backend, as the VIP's mode says (mlb_vip_fwd):
 *   dsr-l2  the frame leaves on the interface it came in on, addressed to the backend's MAC,
 *           from the MAC it was addressed to (the receiving interface's own); no other byte
 *           changes. The server owns the VIP on lo and answers the client directly.
 *   ipip, gue  the packet inside an outer header to the backend's address (encap.h); the
 *           server strips it (marllb_decap.o) and answers the client directly.
 * The caller only needs the verdict: XDP_TX (sent to the backend), MLB_XDP_ANSWERED (too big
 * to encapsulate: sent back as an ICMP answer), XDP_DROP or MLB_XDP_ENCAP_FAILED.
 */
#ifndef MARLLB_BPF_FORWARD_H
#define MARLLB_BPF_FORWARD_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include "marllb.h"
#include "maps.h"
#include "encap.h"

static __always_inline int mlb_forward_l2_dsr(struct ethhdr *eth, const struct mlb_backend *be)
{
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, be->mac, ETH_ALEN);
	return XDP_TX;
}

/* The backend's copy of the VIP's mode spares dsr-l2 the lookup of mlb_vip_fwd (2-3 ns). */
static __always_inline int mlb_forward(struct xdp_md *ctx, struct ethhdr *eth,
				       const struct mlb_flow_key *key, __u32 vip_id,
				       const struct mlb_backend *be)
{
	const struct mlb_vip_fwd *fwd;

	if (!be->encap)
		return mlb_forward_l2_dsr(eth, be);
	fwd = bpf_map_lookup_elem(&mlb_vip_fwd, &vip_id);
	if (!fwd || fwd->mode == MLB_FWD_DSR_L2) /* changing modes */
		return mlb_forward_l2_dsr(eth, be);
	return mlb_forward_encap(ctx, key, be, fwd);
}

#endif /* MARLLB_BPF_FORWARD_H */
