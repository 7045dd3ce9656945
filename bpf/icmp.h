/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Answers to packets too big to encapsulate: ICMP "fragmentation needed" (type 3, code 4,
 * RFC 792/1191) or ICMPv6 "packet too big" (type 2, RFC 4443), from the VIP to the client,
 * carrying the largest inner packet that fits (the MTU minus the encapsulation). The frame is
 * turned into the answer in place and sent back where it came from (XDP_TX): to its source
 * MAC, from its destination MAC, on its VLAN. It quotes the packet's IP header and the first
 * 8 bytes of its TCP header, what the client's stack needs to find the connection. Nothing is
 * rate limited: an answer is smaller than the packet it answers, so it cannot amplify.
 */
#ifndef MARLLB_BPF_ICMP_H
#define MARLLB_BPF_ICMP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "parse.h"
#include "csum.h"

/* linux/icmp.h pulls in the C library's socket headers: the one message needed here */
struct mlb_icmp_frag {
	__u8 type; /* 3: destination unreachable */
	__u8 code; /* 4: fragmentation needed and DF set */
	__sum16 checksum;
	__be16 unused;
	__be16 mtu; /* next-hop MTU (RFC 1191) */
};
#define MLB_ICMP_DEST_UNREACH 3
#define MLB_ICMP_FRAG_NEEDED 4

#define MLB_ICMP_QUOTE_MAX (60 + 8) /* IPv4 header with options and 8 bytes of TCP */

/* The frame's L2 header, to be turned around. */
struct mlb_l2 {
	__u8 dst[ETH_ALEN], src[ETH_ALEN];
	__be16 tci;
};

/* data + l2: the IP header. 0, or -1 if the frame is too short (cannot happen after parse). */
static __always_inline int mlb_l2_save(void *data, void *data_end, __u32 l2, struct mlb_l2 *s)
{
	struct ethhdr *eth = data;

	if (data + sizeof(*eth) + sizeof(struct mlb_vlan_hdr) > data_end)
		return -1;
	__builtin_memcpy(s->dst, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(s->src, eth->h_source, ETH_ALEN);
	s->tci = ((struct mlb_vlan_hdr *)(eth + 1))->tci;
	return 0;
}

/* Writes the turned-around L2 header for ethertype proto; the frame holds 18 bytes. */
static __always_inline void mlb_l2_reply(void *data, __u32 l2, const struct mlb_l2 *s, __be16 proto)
{
	struct ethhdr *eth = data;
	struct mlb_vlan_hdr *vh = (void *)(eth + 1);

	__builtin_memcpy(eth->h_dest, s->src, ETH_ALEN);
	__builtin_memcpy(eth->h_source, s->dst, ETH_ALEN);
	if (l2 > sizeof(*eth)) {
		eth->h_proto = bpf_htons(ETH_P_8021Q);
		vh->tci = s->tci;
		vh->proto = proto;
	} else {
		eth->h_proto = proto;
	}
}

/* The frame (len bytes) grows grow bytes at its head and ends quote bytes after its old IP
 * header: the room for the answer's headers and its quote. 0, or -1 if it cannot. */
static __always_inline int mlb_icmp_resize(struct xdp_md *ctx, __u32 l2, __u32 grow, __u32 quote,
					   __u32 len)
{
	if (bpf_xdp_adjust_head(ctx, -(int)grow) ||
	    bpf_xdp_adjust_tail(ctx, (int)(l2 + quote) - (int)len))
		return -1;
	return 0;
}

/* The IPv4 packet at data + l2 does not fit mtu once encapsulated: mtu is what would. */
static __noinline int mlb_icmp4_too_big(struct xdp_md *ctx, __u32 l2, __u16 mtu)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	const __u32 grow = sizeof(struct iphdr) + sizeof(struct mlb_icmp_frag);
	struct iphdr *ih = data + l2, oh = {};
	__u32 quote, words, i, len = data_end - data;
	struct mlb_icmp_frag *icmp;
	__be32 client, vip;
	struct mlb_l2 s;
	__u32 *q;
	__u64 sum;

	if ((void *)(ih + 1) > data_end || mlb_l2_save(data, data_end, l2, &s))
		return XDP_DROP;
	quote = ih->ihl * 4 + 8;
	client = ih->saddr;
	vip = ih->daddr;
	if (quote > MLB_ICMP_QUOTE_MAX || l2 + quote > len)
		return XDP_DROP;
	if (mlb_icmp_resize(ctx, l2, grow, quote, len))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ih = data + l2;
	if (data + sizeof(struct ethhdr) + sizeof(struct mlb_vlan_hdr) > data_end ||
	    (void *)ih + grow + 28 > data_end)
		return XDP_DROP;
	mlb_l2_reply(data, l2, &s, bpf_htons(ETH_P_IP));
	icmp = (void *)(ih + 1);
	icmp->type = MLB_ICMP_DEST_UNREACH;
	icmp->code = MLB_ICMP_FRAG_NEEDED;
	icmp->checksum = 0;
	icmp->unused = 0;
	icmp->mtu = bpf_htons(mtu);
	sum = mlb_csum_words(icmp, 2);
	q = (void *)(icmp + 1);
	words = quote / 4;
	for (i = 0; i < MLB_ICMP_QUOTE_MAX / 4; i++) {
		if (i >= words || (void *)(q + i + 1) > data_end)
			break;
		sum += q[i];
	}
	icmp->checksum = ~mlb_csum_fold(sum);
	oh.version = 4;
	oh.ihl = 5;
	oh.tot_len = bpf_htons(grow + quote);
	oh.ttl = MLB_ENCAP_TTL;
	oh.protocol = IPPROTO_ICMP;
	oh.saddr = vip;
	oh.daddr = client;
	oh.check = mlb_ip4_check(&oh);
	*ih = oh;
	return XDP_TX;
}

/* The same for an IPv6 packet: ICMPv6 "packet too big". */
static __noinline int mlb_icmp6_too_big(struct xdp_md *ctx, __u32 l2, __u16 mtu)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	const __u32 grow = sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr);
	const __u32 quote = sizeof(struct ipv6hdr) + 8;
	struct ipv6hdr *ih = data + l2;
	__u32 client[4], vip[4], len = data_end - data;
	struct icmp6hdr *icmp;
	struct mlb_l2 s;
	__u64 sum;

	if ((void *)ih + quote > data_end || mlb_l2_save(data, data_end, l2, &s))
		return XDP_DROP;
	__builtin_memcpy(client, &ih->saddr, 16);
	__builtin_memcpy(vip, &ih->daddr, 16);
	if (mlb_icmp_resize(ctx, l2, grow, quote, len))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ih = data + l2;
	if (data + sizeof(struct ethhdr) + sizeof(struct mlb_vlan_hdr) > data_end ||
	    (void *)ih + grow + quote > data_end)
		return XDP_DROP;
	mlb_l2_reply(data, l2, &s, bpf_htons(ETH_P_IPV6));
	*(__be32 *)ih = bpf_htonl(6 << 28);
	ih->payload_len = bpf_htons(sizeof(*icmp) + quote);
	ih->nexthdr = IPPROTO_ICMPV6;
	ih->hop_limit = MLB_ENCAP_TTL;
	__builtin_memcpy(&ih->saddr, vip, 16);
	__builtin_memcpy(&ih->daddr, client, 16);
	icmp = (void *)(ih + 1);
	icmp->icmp6_type = ICMPV6_PKT_TOOBIG;
	icmp->icmp6_code = 0;
	icmp->icmp6_cksum = 0;
	icmp->icmp6_mtu = bpf_htonl(mtu);
	/* pseudo-header: addresses, upper-layer length, next header; then the message */
	sum = mlb_csum_words(vip, 4) + mlb_csum_words(client, 4) +
	      bpf_htonl(sizeof(*icmp) + quote) + bpf_htonl(IPPROTO_ICMPV6) +
	      mlb_csum_words(icmp, (sizeof(*icmp) + quote) / 4);
	icmp->icmp6_cksum = ~mlb_csum_fold(sum);
	return XDP_TX;
}

#endif /* MARLLB_BPF_ICMP_H */
