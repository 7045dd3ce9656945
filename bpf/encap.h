/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Encapsulating forwarding (mlb_vip_fwd in include/marllb.h; Documentation/dataplane.md,
 * "Encapsulation"). The packet goes on unchanged (its TTL included) inside an outer header
 * addressed to the backend: IPIP (an outer IPv4 or IPv6 header, next protocol 4 or 41) or GUE
 * (an outer IP + UDP header, GUE variant 1: the UDP payload is the IP packet itself), in a frame
 * to the backend's MAC (the next hop's), from the receiving interface's, on the frame's VLAN,
 * out of the interface it came in on. The outer header copies the inner TOS / traffic class,
 * and for IPv4 in IPv4 the DF bit and the ID (RFC 2003); its TTL / hop limit is
 * MLB_ENCAP_TTL. A hash of the client's address and port picks the outer source's host bits,
 * GUE's UDP source port and the IPv6 flow label, so one client's flows spread over the
 * fabric's paths and the server's receive queues while each flow keeps one.
 */
#ifndef MARLLB_BPF_ENCAP_H
#define MARLLB_BPF_ENCAP_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "marllb.h"
#include "parse.h"
#include "csum.h"
#include "chash.h"
#include "icmp.h"

/* The frame became an answer to the client (ICMP), sent back with XDP_TX. */
#define MLB_XDP_ANSWERED (XDP_TX | 0x100)
/* It could not be encapsulated: dropped, counted as MLB_DROP_ENCAP. */
#define MLB_XDP_ENCAP_FAILED (XDP_DROP | 0x100)

#define MLB_GUE_SPORT_BASE 0xc000 /* GUE source ports: the ephemeral range 49152..65535 */

/* What the outer header takes from the inner packet, read before the head moves. */
struct mlb_inner {
	__u32 len; /* the inner IP packet's length */
	__u32 frame_len; /* the frame's bytes from the IP header on: more if it has a trailer */
	__u64 lco; /* its ones' complement sum, given valid checksums (GUE's UDP checksum) */
	__be16 id, df; /* IPv4: the ID and the DF bit */
	__u8 tos; /* TOS / traffic class */
};

/*
 * GUE's UDP checksum covers the inner packet. Its sum follows from the inner headers alone
 * (local checksum offload, as Linux does for tunnels): a TCP segment with a valid checksum
 * sums to minus its pseudo-header, and an IPv4 header with a valid checksum to zero; in IPv6
 * the pseudo-header's addresses and length cancel those of the header. So the outer checksum
 * is right exactly when the inner TCP checksum is: a corrupted segment stays detectable.
 */
static __always_inline int mlb_inner_read(void *l3, void *data_end, __u8 family,
					  struct mlb_inner *in)
{
	if (family == MLB_AF_INET) {
		struct iphdr *ih = l3;
		__u32 ihl;

		if ((void *)(ih + 1) > data_end)
			return -1;
		in->len = bpf_ntohs(ih->tot_len);
		ihl = ih->ihl * 4;
		in->tos = ih->tos;
		in->id = ih->id;
		in->df = ih->frag_off & bpf_htons(MLB_IP_DF);
		in->lco = (__u16)~mlb_csum_fold((__u64)ih->saddr + ih->daddr +
						bpf_htons(IPPROTO_TCP) + bpf_htons(in->len - ihl));
	} else {
		struct ipv6hdr *ih = l3;
		__u16 *w = l3;

		if ((void *)(ih + 1) > data_end)
			return -1;
		in->len = bpf_ntohs(ih->payload_len) + sizeof(*ih);
		in->tos = bpf_ntohs(w[0]) >> 4;
		in->id = 0;
		in->df = 0;
		/* version/class/label, next header/hop limit; minus the pseudo-header's protocol */
		in->lco = (__u64)w[0] + w[1] + w[3] + (__u16)~bpf_htons(IPPROTO_TCP);
	}
	in->frame_len = data_end - l3;
	return 0;
}

/* One client's address and port, scrambled: the same for every packet of a flow. */
static __always_inline __u32 mlb_encap_hash(const struct mlb_flow_key *key)
{
	return mlb_mix32(key->src[0] ^ key->src[1] ^ key->src[2] ^ key->src[3] ^
			 ((__u32)key->sport << 16 | key->dport));
}

/* GUE's UDP header at p; addr_sum: the outer addresses' sum (for the pseudo-header). */
static __always_inline void mlb_put_udp(struct udphdr *uh, const struct mlb_inner *in,
					const struct mlb_vip_fwd *fwd, __u32 h, __u64 addr_sum)
{
	__be16 len = bpf_htons(in->len + sizeof(*uh));
	__be16 sport = bpf_htons(MLB_GUE_SPORT_BASE | h >> 18);
	__u16 c;

	c = ~mlb_csum_fold(addr_sum + bpf_htons(IPPROTO_UDP) + len + len + sport + fwd->gue_port +
			   in->lco);
	uh->source = sport;
	uh->dest = fwd->gue_port;
	uh->len = len;
	uh->check = c ? c : 0xffff; /* 0 would mean "no checksum" */
}

static __always_inline void mlb_put_ip4(void *o, const struct mlb_inner *in,
					const struct mlb_backend *be, const struct mlb_vip_fwd *fwd,
					__u32 h, bool gue)
{
	struct iphdr oh = {
		.version = 4,
		.ihl = 5,
		.tos = in->tos,
		.tot_len = bpf_htons(in->len + sizeof(oh) + (gue ? sizeof(struct udphdr) : 0)),
		.id = in->id,
		.frag_off = in->df,
		.ttl = MLB_ENCAP_TTL,
		.protocol = gue ? IPPROTO_UDP : IPPROTO_IPIP,
		.saddr = fwd->src4 | (h & fwd->src4_mask),
		.daddr = be->addr[0],
	};

	oh.check = mlb_ip4_check(&oh);
	*(struct iphdr *)o = oh;
	if (gue)
		mlb_put_udp(o + sizeof(oh), in, fwd, h, (__u64)oh.saddr + oh.daddr);
}

static __always_inline void mlb_put_ip6(void *o, const struct mlb_inner *in, __u8 inner_family,
					const struct mlb_backend *be, const struct mlb_vip_fwd *fwd,
					__u32 h, bool gue)
{
	struct ipv6hdr *oh = o;
	__u32 src3 = fwd->src6[3] | (h & fwd->src6_mask);

	*(__be32 *)oh = bpf_htonl(6 << 28 | (__u32)in->tos << 20 | (h & 0xfffff));
	oh->payload_len = bpf_htons(in->len + (gue ? sizeof(struct udphdr) : 0));
	oh->nexthdr = gue ? IPPROTO_UDP : inner_family == MLB_AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6;
	oh->hop_limit = MLB_ENCAP_TTL;
	oh->saddr.in6_u.u6_addr32[0] = fwd->src6[0];
	oh->saddr.in6_u.u6_addr32[1] = fwd->src6[1];
	oh->saddr.in6_u.u6_addr32[2] = fwd->src6[2];
	oh->saddr.in6_u.u6_addr32[3] = src3;
	__builtin_memcpy(&oh->daddr, be->addr, 16);
	if (gue)
		mlb_put_udp(o + sizeof(*oh), in, fwd, h,
			    (__u64)fwd->src6[0] + fwd->src6[1] + fwd->src6[2] + src3 + be->addr[0] +
				    be->addr[1] + be->addr[2] + be->addr[3]);
}

/*
 * Encapsulates the frame for backend be. Returns XDP_TX, MLB_XDP_ANSWERED (too big: the frame
 * is now the ICMP answer), MLB_XDP_ENCAP_FAILED or XDP_DROP (a frame parse let through cannot
 * be this short). A function of its own (a BPF-to-BPF call, 1-2 ns): inlined, its registers
 * made the whole program spill more, and dsr-l2's new flows cost 10-15 ns more (measured).
 */
static __noinline int mlb_forward_encap(struct xdp_md *ctx, const struct mlb_flow_key *key,
					     const struct mlb_backend *be,
					     const struct mlb_vip_fwd *fwd)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	bool gue = fwd->mode == MLB_FWD_GUE, outer6 = be->family == MLB_AF_INET6;
	struct ethhdr *eth = data;
	struct mlb_vlan_hdr *vh;
	__u32 l2, overhead, h;
	struct mlb_inner in;
	__u8 mac[ETH_ALEN];
	__be16 tci = 0, proto;
	void *o;

	if (data + sizeof(*eth) + sizeof(*vh) > data_end)
		return XDP_DROP;
	l2 = sizeof(*eth);
	vh = (void *)(eth + 1);
	if (eth->h_proto == bpf_htons(ETH_P_8021Q)) {
		tci = vh->tci;
		l2 += sizeof(*vh);
	}
	if (key->family == MLB_AF_INET6 && !outer6)
		return MLB_XDP_ENCAP_FAILED; /* no IPv6 in IPv4 */
	if (mlb_inner_read(data + l2, data_end, key->family, &in))
		return XDP_DROP;
	overhead = (outer6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) +
		   (gue ? sizeof(struct udphdr) : 0);
	if (in.len + overhead > fwd->mtu) {
		if (key->family == MLB_AF_INET)
			return mlb_icmp4_too_big(ctx, l2, fwd->mtu - overhead) | 0x100;
		return mlb_icmp6_too_big(ctx, l2, fwd->mtu - overhead) | 0x100;
	}
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	/* a trailer after the IP packet (Ethernet padding, garbage) is not carried */
	if (in.frame_len > in.len && bpf_xdp_adjust_tail(ctx, -(int)(in.frame_len - in.len)))
		return MLB_XDP_ENCAP_FAILED;
	if (bpf_xdp_adjust_head(ctx, -(int)overhead))
		return MLB_XDP_ENCAP_FAILED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	vh = (void *)(eth + 1);
	o = data + l2;
	if ((void *)(vh + 1) > data_end || o + MLB_ENCAP_MAX > data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, be->mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	proto = outer6 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP);
	if (l2 > sizeof(*eth)) {
		eth->h_proto = bpf_htons(ETH_P_8021Q);
		vh->tci = tci;
		vh->proto = proto;
	} else {
		eth->h_proto = proto;
	}
	h = mlb_encap_hash(key);
	if (outer6)
		mlb_put_ip6(o, &in, key->family, be, fwd, h, gue);
	else
		mlb_put_ip4(o, &in, be, fwd, h, gue);
	return XDP_TX;
}

#endif /* MARLLB_BPF_ENCAP_H */
