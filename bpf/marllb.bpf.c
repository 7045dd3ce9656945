// SPDX-License-Identifier: GPL-2.0
/*
 * marllb's XDP data plane: parse, look up the virtual service, look up or create the flow,
 * account it (q, samples, statistics: flows.h), forward it to its backend.
 *
 * The program lives in ELF section "prog" because that is where `ip link set dev X xdp obj
 * marllb.o` (iproute2 6.1) looks; libbpf does not know that section name, so loaders built on
 * libbpf set the program type to XDP before loading (user/dp/ does).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "marllb.h"
#include "maps.h"
#include "parse.h"
#include "policy.h"
#include "flows.h"
#include "stats.h"
#include "forward.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Benchmark only: every packet becomes a new flow (a counter replaces the source port and
 * alters the last word of the source address in the flow key). 0 in every real load, where
 * the verifier removes the code.
 */
const volatile __u32 mlb_bench_new_flows = 0;
__u32 mlb_bench_seq = 0;

/*
 * Benchmark only: an encapsulated packet is stripped again before the program returns, so that
 * bpf_prog_test_run's repeat loop, which feeds each run the previous run's output, times the
 * encapsulation packet after packet (the stripping is timed too: an upper bound). 0 in every
 * real load, where the verifier removes the code.
 */
const volatile __u32 mlb_bench_encap_undo = 0;

static __always_inline void mlb_bench_undo(struct xdp_md *ctx, __u32 data0, __u8 family)
{
	__u32 grown = data0 - ctx->data;
	void *d = (void *)(long)ctx->data, *de = (void *)(long)ctx->data_end;
	__u8 lb_mac[ETH_ALEN];

	if (!grown || d + ETH_HLEN > de)
		return;
	__builtin_memcpy(lb_mac, d + ETH_ALEN, ETH_ALEN);
	if (bpf_xdp_adjust_head(ctx, grown))
		return;
	d = (void *)(long)ctx->data;
	de = (void *)(long)ctx->data_end;
	if (d + ETH_HLEN > de)
		return;
	__builtin_memcpy(d, lb_mac, ETH_ALEN); /* to the LB again */
	((struct ethhdr *)d)->h_proto = family == MLB_AF_INET ? bpf_htons(ETH_P_IP) :
								bpf_htons(ETH_P_IPV6);
}

/* Malformed frame: dropped if its destination is a VIP address, passed on otherwise. */
static __always_inline int mlb_judge_bad(struct mlb_pkt *pkt)
{
	struct mlb_vip_key vk = { .family = pkt->key.family };

	__builtin_memcpy(vk.addr, pkt->key.dst, sizeof(vk.addr));
	if (!bpf_map_lookup_elem(&mlb_vip_addrs, &vk))
		return XDP_PASS;
	mlb_drop_count(mlb_stats_get(), pkt->bad_reason);
	return XDP_DROP;
}

/* The filter's slot for the packet's (address, port): include/marllb.h, mlb_vip_filter. */
static __always_inline __u32 mlb_vip_slot(const struct mlb_flow_key *key)
{
	__u32 zero = 0, h = mlb_vip_filter_hash(key->dst, key->dport);
	struct mlb_vip_filter *vf = bpf_map_lookup_elem(&mlb_vip_filter, &zero);

	return vf ? vf->slot[h % MLB_VIP_FILTER_SLOTS] : MLB_VIP_SLOT_NONE;
}

/*
 * The service a packet is for, or NULL. A slot naming one VIP is checked against that VIP's
 * key in mlb_vip_by_id: an array load and five compares instead of a hash table lookup (which
 * cost a new flow 25 to 35 ns, measured).
 */
static __always_inline struct mlb_vip *mlb_vip_lookup(const struct mlb_flow_key *key, __u32 slot)
{
	struct mlb_vip_key vk = { .port = key->dport, .proto = IPPROTO_TCP, .family = key->family };
	__u32 id = slot - 1, *a, *b;
	struct mlb_vip_entry *e;

	__builtin_memcpy(vk.addr, key->dst, sizeof(vk.addr));
	if (slot == MLB_VIP_SLOT_MANY)
		return bpf_map_lookup_elem(&mlb_vips, &vk);
	e = bpf_map_lookup_elem(&mlb_vip_by_id, &id);
	if (!e)
		return NULL;
	a = (__u32 *)&e->key;
	b = (__u32 *)&vk;
	if (a[0] != b[0] || a[1] != b[1] || a[2] != b[2] || a[3] != b[3] || a[4] != b[4])
		return NULL;
	return &e->vip;
}

SEC("prog")
int marllb(struct xdp_md *ctx)
{
	__u64 bytes = ctx->data_end - ctx->data;
	__u32 data0 = ctx->data;
	struct mlb_pkt pkt = {};
	const struct mlb_backend *be;
	struct ethhdr *eth = NULL;
	__u32 be_idx, vip_id, slot, ev = 0;
	struct mlb_stats *st;
	struct mlb_vip *vip;
	struct mlb_flow *f;
	__u8 flags;
	int k, res;

	res = mlb_parse(ctx, &pkt, &eth);
	if (res == MLB_PARSE_OTHER || !eth)
		return XDP_PASS;
	if (res == MLB_PARSE_BAD)
		return mlb_judge_bad(&pkt);

	slot = mlb_vip_slot(&pkt.key);
	if (slot == MLB_VIP_SLOT_NONE)
		return XDP_PASS;
	st = mlb_stats_get();
	if (!st)
		return XDP_PASS;
	if (mlb_bench_new_flows) {
		__u32 seq = mlb_bench_seq++;

		pkt.key.sport = seq;
		pkt.key.src[3] ^= seq >> 16;
	}

	flags = pkt.tcp_flags;
	if ((flags & (MLB_TCP_SYN | MLB_TCP_ACK | MLB_TCP_RST | MLB_TCP_FIN)) == MLB_TCP_SYN) {
		vip = mlb_vip_lookup(&pkt.key, slot);
		if (!vip)
			return XDP_PASS;
		if (eth->h_dest[0] & 1)
			goto bad_l2;
		k = mlb_flow_syn(vip, &pkt, st);
		if (k < 0) {
			mlb_drop_count(st, -k);
			return XDP_DROP;
		}
		vip_id = vip->id;
		goto forward;
	}
	/* A counted flow needs no VIP lookup: its entry says which VIP it is. */
	f = bpf_map_lookup_elem(&mlb_flows, &pkt.key);
	if (f) {
		__u64 coarse = bpf_ktime_get_coarse_ns();

		if (eth->h_dest[0] & 1)
			goto bad_l2;
		vip_id = f->vip_id;
		k = f->backend;
		if (f->last_seen_ns != coarse)
			f->last_seen_ns = coarse;
		if (flags & (MLB_TCP_FIN | MLB_TCP_RST))
			ev = mlb_flow_close(&pkt, f, st);
		else if ((flags & MLB_TCP_ACK) && mlb_seq_foreign(&pkt, f))
			k = mlb_flow_reused(&pkt, f, st, &ev);
		else if ((flags & MLB_TCP_ACK) && f->state == MLB_FLOW_OPEN)
			mlb_task_step(&pkt, f, st);
		goto forward;
	}
	f = bpf_map_lookup_elem(&mlb_half_open, &pkt.key);
	if (f) {
		if (eth->h_dest[0] & 1)
			goto bad_l2;
		vip_id = f->vip_id;
		k = f->backend;
		f->last_seen_ns = bpf_ktime_get_coarse_ns();
		ev = mlb_flow_uncounted(&pkt, f, st);
		goto forward;
	}
	/* No entry (never seen here, evicted, or reclaimed and evicted): where the consistent hash
	 * puts the 5-tuple, as it does for a new flow placed without state. */
	vip = mlb_vip_lookup(&pkt.key, slot);
	if (!vip)
		return XDP_PASS;
	if (eth->h_dest[0] & 1)
		goto bad_l2;
	vip_id = vip->id;
	k = mlb_chash_pick(vip_id, &pkt.key);
	if (k < 0) {
		st->drops[MLB_DROP_NO_FLOW]++;
		return XDP_DROP;
	}
	st->fallback++;

forward:
	be_idx = (vip_id % MLB_MAX_VIPS) * MLB_MAX_BACKENDS + (k & MLB_BE_MASK);
	be = bpf_map_lookup_elem(&mlb_backends, &be_idx);
	if (!be || be->state == MLB_BACKEND_DOWN || be->state == MLB_BACKEND_UNUSED) {
		st->drops[MLB_DROP_BACKEND_DOWN]++;
		return XDP_DROP;
	}
	res = mlb_forward(ctx, eth, &pkt.key, vip_id, be);
	if (res == XDP_TX) {
		mlb_traffic_add(vip_id, be_idx, bytes, ev);
		if (mlb_bench_encap_undo)
			mlb_bench_undo(ctx, data0, pkt.key.family);
		return XDP_TX;
	}
	/* not forwarded, but what the packet did to q is counted */
	mlb_flow_event(vip_id, k, ev);
	if (res == MLB_XDP_ANSWERED) {
		st->icmp_too_big++;
		return XDP_TX;
	}
	st->drops[MLB_DROP_ENCAP]++;
	return XDP_DROP;
bad_l2:
	st->drops[MLB_DROP_BAD_L2]++;
	return XDP_DROP;
}
