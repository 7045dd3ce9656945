/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Header parsing: Ethernet with at most one 802.1Q tag, then IPv4 or IPv6, then TCP.
 * Every read is bounds-checked against data_end; nothing is written.
 */
#ifndef MARLLB_BPF_PARSE_H
#define MARLLB_BPF_PARSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include "marllb.h"

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif
#define MLB_IP_DF 0x4000
#define MLB_IP_MF 0x2000
#define MLB_IP_OFFSET 0x1fff

#define MLB_TCP_FIN 0x01
#define MLB_TCP_SYN 0x02
#define MLB_TCP_RST 0x04
#define MLB_TCP_ACK 0x10

enum mlb_parse_result {
	MLB_PARSE_TCP = 0, /* a TCP segment; pkt fully filled */
	MLB_PARSE_OTHER, /* not something marllb serves: pass it on */
	MLB_PARSE_BAD, /* broken, but its destination address is known: pkt->key.dst */
};

struct mlb_pkt {
	struct mlb_flow_key key;
	__u32 seq; /* host byte order */
	__u32 ack;
	__u8 tcp_flags;
	__u8 bad_reason; /* enum mlb_drop_reason when MLB_PARSE_BAD */
};

struct mlb_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

static __always_inline int mlb_bad(struct mlb_pkt *pkt, __u8 reason)
{
	pkt->bad_reason = reason;
	return MLB_PARSE_BAD;
}

static __always_inline int mlb_parse_tcp(struct mlb_pkt *pkt, struct tcphdr *th, void *data_end,
					 __u32 l4_len)
{
	__u32 doff;

	if ((void *)(th + 1) > data_end)
		return mlb_bad(pkt, MLB_DROP_TRUNCATED);
	doff = th->doff * 4;
	if (doff < sizeof(*th) || doff > l4_len)
		return mlb_bad(pkt, MLB_DROP_MALFORMED);
	pkt->key.sport = th->source;
	pkt->key.dport = th->dest;
	pkt->key.proto = IPPROTO_TCP;
	pkt->seq = bpf_ntohl(th->seq);
	pkt->ack = bpf_ntohl(th->ack_seq);
	pkt->tcp_flags = ((__u8 *)th)[13];
	return MLB_PARSE_TCP;
}

static __always_inline int mlb_parse_ipv4(struct mlb_pkt *pkt, struct iphdr *iph, void *data_end)
{
	__u32 ihl, tot_len;

	if ((void *)(iph + 1) > data_end)
		return MLB_PARSE_OTHER; /* no destination address to judge by */
	pkt->key.family = MLB_AF_INET;
	pkt->key.src[0] = iph->saddr;
	pkt->key.dst[0] = iph->daddr;
	if (iph->protocol != IPPROTO_TCP)
		return MLB_PARSE_OTHER;
	ihl = iph->ihl * 4;
	tot_len = bpf_ntohs(iph->tot_len);
	if (iph->version != 4 || ihl < sizeof(*iph) || tot_len < ihl)
		return mlb_bad(pkt, MLB_DROP_MALFORMED);
	if ((void *)iph + tot_len > data_end)
		return mlb_bad(pkt, MLB_DROP_TRUNCATED);
	if (iph->frag_off & bpf_htons(MLB_IP_MF | MLB_IP_OFFSET))
		return mlb_bad(pkt, MLB_DROP_FRAGMENT);
	return mlb_parse_tcp(pkt, (void *)iph + ihl, data_end, tot_len - ihl);
}

static __always_inline bool mlb_ipv6_exthdr(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_FRAGMENT || nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_AH ||
	       nexthdr == IPPROTO_ESP || nexthdr == 135 /* mobility */ ||
	       nexthdr == 139 /* HIP */ || nexthdr == 140 /* shim6 */;
}

static __always_inline int mlb_parse_ipv6(struct mlb_pkt *pkt, struct ipv6hdr *ip6h, void *data_end)
{
	__u32 payload_len;

	if ((void *)(ip6h + 1) > data_end)
		return MLB_PARSE_OTHER;
	pkt->key.family = MLB_AF_INET6;
	__builtin_memcpy(pkt->key.src, &ip6h->saddr, 16);
	__builtin_memcpy(pkt->key.dst, &ip6h->daddr, 16);
	if (ip6h->nexthdr != IPPROTO_TCP) {
		/* The port hides behind extension headers: not parsed, so dropped if for a VIP. */
		if (mlb_ipv6_exthdr(ip6h->nexthdr))
			return mlb_bad(pkt, MLB_DROP_FRAGMENT);
		return MLB_PARSE_OTHER;
	}
	if (ip6h->version != 6)
		return mlb_bad(pkt, MLB_DROP_MALFORMED);
	payload_len = bpf_ntohs(ip6h->payload_len);
	if ((void *)(ip6h + 1) + payload_len > data_end)
		return mlb_bad(pkt, MLB_DROP_TRUNCATED);
	return mlb_parse_tcp(pkt, (void *)(ip6h + 1), data_end, payload_len);
}

/* Fills pkt (zeroed by the caller); *eth_out points at the Ethernet header. */
static __always_inline int mlb_parse(struct xdp_md *ctx, struct mlb_pkt *pkt,
				     struct ethhdr **eth_out)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__be16 proto;

	if (l3 > data_end)
		return MLB_PARSE_OTHER;
	*eth_out = eth;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct mlb_vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > data_end)
			return MLB_PARSE_OTHER;
		proto = vh->proto;
		l3 = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return mlb_parse_ipv4(pkt, l3, data_end);
	if (proto == bpf_htons(ETH_P_IPV6))
		return mlb_parse_ipv6(pkt, l3, data_end);
	return MLB_PARSE_OTHER;
}

#endif /* MARLLB_BPF_PARSE_H */
