/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Encapsulating forwarding (mlb_vip_fwd in include/marllb.h; Documentation/dataplane.md,
 * "Forwarding modes"). The packet goes on unchanged (its TTL included) inside an outer header
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
					  struct mlb_inner *in, const bool gue)
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
		if (gue)
			in->lco = (__u16)~mlb_csum_fold((__u64)ih->saddr + ih->daddr +
							bpf_htons(IPPROTO_TCP) +
							bpf_htons(in->len - ihl));
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
		if (gue)
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

/*
 * The outer headers are written as whole 32-bit words computed in registers (as they lie in
 * memory: little-endian, so a word's first byte is its low byte). Built field by field on the
 * stack and copied, they cost 15-20 ns more: small stores read back as one larger load stall
 * the CPU's store forwarding.
 */
#define MLB_W16(lo, hi) ((__u32)(lo) | (__u32)(hi) << 16)
#define MLB_W8(b0, b1) ((__u16)((b0) | (b1) << 8))

/* GUE's UDP header at p; addr_sum: the outer addresses' sum (for the pseudo-header). */
static __always_inline void mlb_put_udp(__u32 *p, const struct mlb_inner *in,
					const struct mlb_vip_fwd *fwd, __u32 h, __u64 addr_sum)
{
	__u32 len = bpf_htons(in->len + sizeof(struct udphdr));
	__u32 ports = MLB_W16(bpf_htons(MLB_GUE_SPORT_BASE | h >> 18), fwd->gue_port);
	__u16 c;

	c = ~mlb_csum_fold(addr_sum + bpf_htons(IPPROTO_UDP) + len + len + ports + in->lco);
	p[0] = ports;
	p[1] = MLB_W16(len, c ? c : 0xffff); /* a checksum of 0 would mean "none" */
}

static __always_inline void mlb_put_ip4(__u32 *p, const struct mlb_inner *in,
					const struct mlb_backend *be, const struct mlb_vip_fwd *fwd,
					__u32 h, const bool gue)
{
	__u32 w0, w1, w2, src = fwd->src4 | (h & fwd->src4_mask), dst = be->addr[0];

	w0 = MLB_W16(MLB_W8(0x45, in->tos),
		     bpf_htons(in->len + sizeof(struct iphdr) + (gue ? sizeof(struct udphdr) : 0)));
	w1 = MLB_W16(in->id, in->df);
	w2 = MLB_W8(MLB_ENCAP_TTL, gue ? IPPROTO_UDP : IPPROTO_IPIP);
	w2 |= (__u32)(__u16)~mlb_csum_fold((__u64)w0 + w1 + w2 + src + dst) << 16;
	p[0] = w0;
	p[1] = w1;
	p[2] = w2;
	p[3] = src;
	p[4] = dst;
	if (gue)
		mlb_put_udp(p + 5, in, fwd, h, (__u64)src + dst);
}

static __always_inline void mlb_put_ip6(__u32 *p, const struct mlb_inner *in, __u8 inner_family,
					const struct mlb_backend *be, const struct mlb_vip_fwd *fwd,
					__u32 h, const bool gue)
{
	__u8 next = gue ? IPPROTO_UDP : inner_family == MLB_AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6;
	__u32 src3 = fwd->src6[3] | (h & fwd->src6_mask);

	p[0] = bpf_htonl(6 << 28 | (__u32)in->tos << 20 | (h & 0xfffff));
	p[1] = MLB_W16(bpf_htons(in->len + (gue ? sizeof(struct udphdr) : 0)),
		       MLB_W8(next, MLB_ENCAP_TTL));
	p[2] = fwd->src6[0];
	p[3] = fwd->src6[1];
	p[4] = fwd->src6[2];
	p[5] = src3;
	p[6] = be->addr[0];
	p[7] = be->addr[1];
	p[8] = be->addr[2];
	p[9] = be->addr[3];
	if (gue)
		mlb_put_udp(p + 10, in, fwd, h,
			    (__u64)fwd->src6[0] + fwd->src6[1] + fwd->src6[2] + src3 + be->addr[0] +
				    be->addr[1] + be->addr[2] + be->addr[3]);
}

/* 6 bytes, as a 4- and a 2-byte move */
static __always_inline void mlb_mac_copy(void *dst, const void *src)
{
	*(__u32 *)dst = *(const __u32 *)src;
	*(__u16 *)(dst + 4) = *(const __u16 *)(src + 4);
}

/*
 * One combination of outer family and mode (constants: the compiler keeps only its code). The
 * head grows by the outer headers' size; the old Ethernet header, still in the frame behind
 * the new one, gives the new one its source MAC and VLAN tag before the outer headers
 * overwrite it.
 */
static __always_inline int mlb_encap_as(struct xdp_md *ctx, const struct mlb_flow_key *key,
					const struct mlb_backend *be, const struct mlb_vip_fwd *fwd,
					const bool outer6, const bool gue)
{
	const __u32 overhead = (outer6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) +
			       (gue ? sizeof(struct udphdr) : 0);
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct mlb_inner in;
	__u32 l2 = sizeof(*eth), h;
	void *old, *p;
	bool vlan;

	if (data + sizeof(*eth) + sizeof(struct mlb_vlan_hdr) > data_end)
		return XDP_DROP;
	vlan = eth->h_proto == bpf_htons(ETH_P_8021Q);
	if (vlan)
		l2 += sizeof(struct mlb_vlan_hdr);
	if (mlb_inner_read(data + l2, data_end, key->family, &in, gue))
		return XDP_DROP;
	if (in.len + overhead > fwd->mtu) {
		if (key->family == MLB_AF_INET)
			return mlb_icmp4_too_big(ctx, l2, fwd->mtu - overhead) | 0x100;
		return mlb_icmp6_too_big(ctx, l2, fwd->mtu - overhead) | 0x100;
	}
	h = mlb_encap_hash(key);
	/* a trailer after the IP packet (Ethernet padding, garbage) is not carried */
	if (in.frame_len > in.len && bpf_xdp_adjust_tail(ctx, -(int)(in.frame_len - in.len)))
		return MLB_XDP_ENCAP_FAILED;
	if (bpf_xdp_adjust_head(ctx, -(int)overhead))
		return MLB_XDP_ENCAP_FAILED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	old = data + overhead;
	p = data + l2;
	if (old + sizeof(*eth) + sizeof(struct mlb_vlan_hdr) > data_end || p + overhead > data_end)
		return XDP_DROP;
	mlb_mac_copy(data + ETH_ALEN, old); /* from the MAC the frame came to */
	mlb_mac_copy(data, be->mac);
	if (vlan) {
		*(__u32 *)(data + 12) = *(__u32 *)(old + 12); /* 802.1Q and the tag */
		*(__be16 *)(data + 16) = outer6 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP);
	} else {
		*(__be16 *)(data + 12) = outer6 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP);
	}
	if (outer6)
		mlb_put_ip6(p, &in, key->family, be, fwd, h, gue);
	else
		mlb_put_ip4(p, &in, be, fwd, h, gue);
	return XDP_TX;
}

/*
 * Encapsulates the frame for backend be. Returns XDP_TX, MLB_XDP_ANSWERED (too big: the frame
 * is now the ICMP answer), MLB_XDP_ENCAP_FAILED or XDP_DROP (a frame parse let through cannot
 * be this short). Inlined: as a function of its own it cost 5-9 ns more (the call, and
 * spills), and inlined it leaves dsr-l2's costs as they were (measured side by side).
 */
static __always_inline int mlb_forward_encap(struct xdp_md *ctx, const struct mlb_flow_key *key,
					     const struct mlb_backend *be,
					     const struct mlb_vip_fwd *fwd)
{
	bool gue = fwd->mode == MLB_FWD_GUE;

	if (be->family == MLB_AF_INET6)
		return gue ? mlb_encap_as(ctx, key, be, fwd, true, true) :
			     mlb_encap_as(ctx, key, be, fwd, true, false);
	if (key->family == MLB_AF_INET6)
		return MLB_XDP_ENCAP_FAILED; /* no IPv6 in IPv4 */
	return gue ? mlb_encap_as(ctx, key, be, fwd, false, true) :
		     mlb_encap_as(ctx, key, be, fwd, false, false);
}

#endif /* MARLLB_BPF_ENCAP_H */
