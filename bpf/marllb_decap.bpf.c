// SPDX-License-Identifier: GPL-2.0
/*
 * marllb's server side: an XDP program that strips the outer header of packets an LB
 * encapsulated (ipip or gue mode) for a VIP this server serves, so that the inner packet, as
 * the client sent it, reaches the VIP bound on lo; the server answers the client directly.
 * This machine's kernels have no ipip/ip6tnl/fou modules, and this costs no tunnel device.
 *
 *	ip link set dev eth0 xdp obj marllb_decap.o     # section "prog", as iproute2 6.1 wants
 *	marllb-dp -i eth0 decap vip 10.0.0.100 80       # which inner destinations to strip for
 *
 * Stripped: an outer IPv4 header (no options, not a fragment, valid checksum) with protocol 4
 * (IPv4 in IPv4) or 41 (IPv6 in IPv4), an outer IPv6 header with next header 4 or 41, or
 * either followed by UDP to the GUE port (mlb_decap_cfg; GUE variant 1: the UDP payload is the
 * IP packet), when the inner packet is TCP to a VIP in mlb_decap_vips and its lengths agree
 * with the outer ones. The Ethernet header (and VLAN tag) is kept, its type set to the inner
 * packet's. Anything else passes untouched; encapsulated packets that are not stripped are
 * counted (mlb_decap_stats). The outer UDP checksum is not checked: the inner TCP checksum,
 * which the stack checks, covers what it covers.
 */
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

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLB_DECAP_MAX_VIPS);
	__type(key, struct mlb_vip_key);
	__type(value, __u32);
} mlb_decap_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mlb_decap_cfg);
} mlb_decap_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mlb_decap_stats);
} mlb_decap_stats SEC(".maps");

/* What the outer header says. */
struct mlb_outer {
	__u32 len; /* bytes of outer headers (IP, UDP) */
	__u32 payload; /* the inner packet's length as the outer header gives it */
	__u8 inner; /* 4 or 6: the inner IP version the outer header announces (0: GUE, ask it) */
	__u8 v6; /* outer IPv6 */
	__u8 gue;
};

static __always_inline __be16 mlb_gue_port(void)
{
	__u32 zero = 0;
	struct mlb_decap_cfg *c = bpf_map_lookup_elem(&mlb_decap_cfg, &zero);

	return c && c->gue_port ? c->gue_port : bpf_htons(MLB_GUE_PORT_DEFAULT);
}

/* 1: an encapsulation to consider, 0: not one (pass), -1: one, broken (pass, counted) */
static __always_inline int mlb_outer_read(void *l3, void *data_end, __be16 proto,
					  struct mlb_outer *o)
{
	__u8 next;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ih = l3;

		if ((void *)(ih + 1) > data_end)
			return 0;
		next = ih->protocol;
		if (next != IPPROTO_IPIP && next != IPPROTO_IPV6 && next != IPPROTO_UDP)
			return 0;
		if (((__u8 *)ih)[0] != 0x45 || (void *)ih + bpf_ntohs(ih->tot_len) > data_end ||
		    bpf_ntohs(ih->tot_len) < sizeof(*ih) ||
		    (ih->frag_off & bpf_htons(MLB_IP_MF | MLB_IP_OFFSET)) ||
		    mlb_csum_fold(mlb_csum_words(ih, 5)) != 0xffff)
			return next == IPPROTO_UDP ? 0 : -1; /* a broken UDP packet is not ours */
		o->len = sizeof(*ih);
		o->payload = bpf_ntohs(ih->tot_len) - sizeof(*ih);
		o->v6 = 0;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ih = l3;

		if ((void *)(ih + 1) > data_end)
			return 0;
		next = ih->nexthdr;
		if (next != IPPROTO_IPIP && next != IPPROTO_IPV6 && next != IPPROTO_UDP)
			return 0;
		if ((void *)(ih + 1) + bpf_ntohs(ih->payload_len) > data_end)
			return next == IPPROTO_UDP ? 0 : -1;
		o->len = sizeof(*ih);
		o->payload = bpf_ntohs(ih->payload_len);
		o->v6 = 1;
	} else {
		return 0;
	}
	o->gue = next == IPPROTO_UDP;
	o->inner = next == IPPROTO_IPIP ? 4 : 6;
	if (o->gue) {
		struct udphdr *uh = l3 + o->len;

		if ((void *)(uh + 1) > data_end || uh->dest != mlb_gue_port())
			return 0;
		if (bpf_ntohs(uh->len) != o->payload || o->payload < sizeof(*uh))
			return -1;
		o->len += sizeof(*uh);
		o->payload -= sizeof(*uh);
		o->inner = 0;
	}
	return 1;
}

/* The inner packet's VIP key (TCP only), if its length is the one the outer header gives. */
static __always_inline int mlb_inner_key(void *in, void *data_end, struct mlb_outer *o,
					 struct mlb_vip_key *k)
{
	__u8 version;
	__u16 *ports;

	if (in + 1 > data_end)
		return -1;
	version = *(__u8 *)in >> 4;
	if (o->inner && version != o->inner)
		return -1;
	o->inner = version;
	if (version == 4) {
		struct iphdr *ih = in;

		if ((void *)(ih + 1) > data_end || ih->ihl < 5 ||
		    bpf_ntohs(ih->tot_len) != o->payload)
			return -1;
		if (ih->protocol != IPPROTO_TCP)
			return 1;
		ports = in + ih->ihl * 4;
		k->family = MLB_AF_INET;
		k->addr[0] = ih->daddr;
	} else if (version == 6) {
		struct ipv6hdr *ih = in;

		if ((void *)(ih + 1) > data_end ||
		    bpf_ntohs(ih->payload_len) + sizeof(*ih) != o->payload)
			return -1;
		if (ih->nexthdr != IPPROTO_TCP)
			return 1;
		ports = (void *)(ih + 1);
		k->family = MLB_AF_INET6;
		__builtin_memcpy(k->addr, &ih->daddr, 16);
	} else {
		return -1;
	}
	if ((void *)(ports + 2) > data_end)
		return -1;
	k->port = ports[1];
	k->proto = IPPROTO_TCP;
	return 0;
}

static __always_inline bool mlb_decap_vip(struct mlb_vip_key *k)
{
	if (bpf_map_lookup_elem(&mlb_decap_vips, k))
		return true;
	k->port = 0; /* the VIP with every port */
	return bpf_map_lookup_elem(&mlb_decap_vips, k);
}

SEC("prog")
int marllb_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data, *neth;
	struct mlb_vlan_hdr *vh = (void *)(eth + 1), *nvh;
	struct mlb_decap_stats *st;
	struct mlb_vip_key k = {};
	struct mlb_outer o = {};
	__u32 zero = 0, l2 = sizeof(*eth);
	__be16 proto;
	void *l3;
	int r;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		if ((void *)(vh + 1) > data_end)
			return XDP_PASS;
		proto = vh->proto;
		l2 += sizeof(*vh);
	}
	l3 = data + l2;
	r = mlb_outer_read(l3, data_end, proto, &o);
	if (!r)
		return XDP_PASS;
	st = bpf_map_lookup_elem(&mlb_decap_stats, &zero);
	if (!st)
		return XDP_PASS;
	if (r > 0)
		r = mlb_inner_key(l3 + o.len, data_end, &o, &k);
	if (r) {
		st->malformed += r < 0;
		st->not_vip += r > 0;
		return XDP_PASS;
	}
	if (!mlb_decap_vip(&k)) {
		st->not_vip++;
		return XDP_PASS;
	}
	/* The L2 header moves up over the outer headers (at least 20 bytes: no overlap). */
	neth = data + o.len;
	nvh = (void *)(neth + 1);
	if ((void *)(nvh + 1) > data_end || (void *)(vh + 1) > data_end)
		return XDP_PASS;
	proto = o.inner == 4 ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6);
	if (l2 > sizeof(*eth)) {
		nvh->tci = vh->tci;
		nvh->proto = proto;
		proto = bpf_htons(ETH_P_8021Q);
	}
	__builtin_memcpy(neth->h_source, eth->h_source, ETH_ALEN);
	__builtin_memcpy(neth->h_dest, eth->h_dest, ETH_ALEN);
	neth->h_proto = proto;
	if (bpf_xdp_adjust_head(ctx, o.len))
		return XDP_PASS; /* cannot happen: the frame is longer */
	if (o.gue)
		st->gue++;
	else if (!o.v6)
		st->ipip++;
	else if (o.inner == 4)
		st->ip4ip6++;
	else
		st->ip6ip6++;
	return XDP_PASS;
}
