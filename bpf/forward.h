/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forwarding to the chosen backend. L2 direct server return only: the frame leaves on the
 * interface it came in on, addressed to the backend's MAC, from the MAC it was addressed to
 * (the receiving interface's own). The server owns the VIP on lo and answers the client
 * directly. An encapsulating mode adds a case here; the caller only needs the verdict.
 */
#ifndef MARLLB_BPF_FORWARD_H
#define MARLLB_BPF_FORWARD_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include "marllb.h"

static __always_inline int mlb_forward_l2_dsr(struct ethhdr *eth, const struct mlb_backend *be)
{
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, be->mac, ETH_ALEN);
	return XDP_TX;
}

static __always_inline int mlb_forward(struct xdp_md *ctx, struct ethhdr *eth,
				       const struct mlb_backend *be)
{
	return mlb_forward_l2_dsr(eth, be);
}

#endif /* MARLLB_BPF_FORWARD_H */
