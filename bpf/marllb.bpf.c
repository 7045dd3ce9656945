// SPDX-License-Identifier: GPL-2.0
/*
 * marllb's XDP data plane: parse, look up the virtual service, look up or create the flow,
 * account it (q, samples, statistics), forward it to its backend.
 *
 * The program lives in ELF section "prog" because that is where `ip link set dev X xdp obj
 * marllb.o` (iproute2 6.1) looks; libbpf does not know that section name, so loaders built on
 * libbpf set the program type to XDP before loading (user/dp/ does).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"
#include "maps.h"
#include "parse.h"
#include "policy.h"
#include "forward.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Benchmark only: every packet becomes a new flow (a counter replaces the source port and
 * alters the last word of the source address in the flow key). 0 in every real load, where
 * the verifier removes the code.
 */
const volatile __u32 mlb_bench_new_flows = 0;
__u32 mlb_bench_seq = 0;

static __always_inline void mlb_drop_count(struct mlb_stats *st, __u32 reason)
{
	if (st && reason < MLB_DROP_MAX)
		st->drops[reason]++;
}

static __always_inline struct mlb_stats *mlb_stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mlb_stats, &zero);
}

static __always_inline void mlb_sample(struct mlb_stats *st, __u8 kind, __u32 vip_id, __u32 backend,
				       __u64 ts, __u64 value)
{
	struct mlb_sample *s = bpf_ringbuf_reserve(&mlb_samples, sizeof(*s), 0);

	if (!s) {
		st->ring_lost++;
		return;
	}
	s->ts_ns = ts;
	s->value_ns = value;
	s->vip_id = vip_id;
	s->backend = backend;
	s->kind = kind;
	s->pad = 0;
	bpf_ringbuf_submit(s, 0);
	st->samples++;
}

static __always_inline void mlb_q_add(__u32 vip_id, __u32 k, int delta)
{
	struct mlb_queues *qs = bpf_map_lookup_elem(&mlb_queues, &vip_id);

	if (qs)
		__sync_fetch_and_add(&qs->q[k & MLB_BE_MASK], delta);
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

/* The flow a SYN belongs to, if it is still open (not closed, same service). */
static __always_inline struct mlb_flow *mlb_flow_live(const struct mlb_vip *vip,
						      struct mlb_pkt *pkt)
{
	struct mlb_flow *f = bpf_map_lookup_elem(&mlb_flows, &pkt->key);

	if (f && (f->state == MLB_FLOW_CLOSED || f->vip_id != vip->id)) {
		/* a new connection reusing the 5-tuple of a finished one */
		bpf_map_delete_elem(&mlb_flows, &pkt->key);
		return NULL;
	}
	return f;
}

/*
 * A SYN: creates the flow, or follows the existing one (a retransmitted SYN). The insert comes
 * first, without a lookup before it: for a new flow the lookup would only miss, and the miss
 * costs a cache miss on the flow table. Returns the backend or a negative drop reason.
 */
static __always_inline int mlb_flow_syn(const struct mlb_vip *vip, struct mlb_pkt *pkt,
					struct mlb_stats *st)
{
	struct mlb_flow nf = {}, *f;
	__u64 now = bpf_ktime_get_ns();
	int k = mlb_pick(vip, &pkt->key), i;

	nf.syn_ns = now;
	/*
	 * The fine clock read once serves all three: a second (coarse) read costs more than the
	 * difference matters to idle reclaim, which counts in seconds.
	 */
	nf.last_seen_ns = now;
	nf.vip_id = vip->id;
	nf.backend = k;
	nf.state = MLB_FLOW_SYN;
	for (i = 0; i < 2; i++) {
		if (k >= 0 && !bpf_map_update_elem(&mlb_flows, &pkt->key, &nf, BPF_NOEXIST)) {
			mlb_q_add(vip->id, k, 1);
			st->new_flows++;
			mlb_sample(st, MLB_SAMPLE_NEW_FLOW, vip->id, k, now, 0);
			return k;
		}
		f = mlb_flow_live(vip, pkt);
		if (f) {
			/* retransmitted SYN, or another CPU created it first: follow it */
			f->last_seen_ns = nf.last_seen_ns;
			return f->backend;
		}
		if (k < 0)
			return -MLB_DROP_NO_BACKEND;
	}
	return -MLB_DROP_FLOW_TABLE;
}

/*
 * Client FIN or RST: the flow's q goes down exactly once. Deleting the entry is the arbiter,
 * shared with user space's idle reclaim (lookup-and-delete): whoever deletes a counted entry
 * decrements. The flow comes back as CLOSED (uncounted) so the rest of the close still
 * reaches the same backend.
 */
static __always_inline void mlb_flow_close(struct mlb_pkt *pkt, struct mlb_flow *f,
					   struct mlb_stats *st)
{
	struct mlb_flow copy = *f;
	__u64 now;

	if (copy.state == MLB_FLOW_CLOSED)
		return;
	if (bpf_map_delete_elem(&mlb_flows, &pkt->key))
		return;
	now = bpf_ktime_get_ns();
	mlb_q_add(copy.vip_id, copy.backend, -1);
	st->closed_flows++;
	mlb_sample(st, MLB_SAMPLE_FCT, copy.vip_id, copy.backend, now, now - copy.syn_ns);
	copy.state = MLB_FLOW_CLOSED;
	bpf_map_update_elem(&mlb_flows, &pkt->key, &copy, BPF_NOEXIST);
}

/* Task duration: handshake-completing ACK -> first ACK that acknowledges server data. */
static __always_inline void mlb_flow_ack(struct mlb_pkt *pkt, struct mlb_flow *f,
					 struct mlb_stats *st)
{
	__u64 now;

	if (f->state == MLB_FLOW_SYN) {
		f->ack_ns = bpf_ktime_get_ns();
		f->ack0 = pkt->ack;
		f->state = MLB_FLOW_OPEN;
	} else if (f->state == MLB_FLOW_OPEN && (__s32)(pkt->ack - f->ack0) > 0) {
		f->state = MLB_FLOW_TASK_DONE;
		now = bpf_ktime_get_ns();
		mlb_sample(st, MLB_SAMPLE_TASK, f->vip_id, f->backend, now, now - f->ack_ns);
	}
}

static __always_inline struct mlb_vip *mlb_vip_lookup(const struct mlb_flow_key *key)
{
	struct mlb_vip_key vk = { .port = key->dport, .proto = IPPROTO_TCP, .family = key->family };

	__builtin_memcpy(vk.addr, key->dst, sizeof(vk.addr));
	return bpf_map_lookup_elem(&mlb_vips, &vk);
}

/* A cheap first look before the VIP hash lookup: one bit per (address, port) hash. */
static __always_inline bool mlb_vip_filter_hit(const struct mlb_flow_key *key)
{
	__u32 zero = 0, h = mlb_vip_filter_hash(key->dst, key->dport);
	struct mlb_vip_filter *vf = bpf_map_lookup_elem(&mlb_vip_filter, &zero);

	return vf && (vf->bits[(h / 64) % MLB_VIP_FILTER_WORDS] >> (h % 64)) & 1;
}

static __always_inline void mlb_traffic_add(void *map, __u32 idx, __u64 bytes)
{
	struct mlb_traffic *t = bpf_map_lookup_elem(map, &idx);

	if (t) {
		t->packets++;
		t->bytes += bytes;
	}
}

SEC("prog")
int marllb(struct xdp_md *ctx)
{
	__u64 bytes = ctx->data_end - ctx->data;
	struct mlb_pkt pkt = {};
	const struct mlb_backend *be;
	struct ethhdr *eth = NULL;
	struct mlb_stats *st;
	struct mlb_vip *vip;
	struct mlb_flow *f;
	__u32 be_idx, vip_id;
	__u8 flags;
	int k, res;

	res = mlb_parse(ctx, &pkt, &eth);
	if (res == MLB_PARSE_OTHER || !eth)
		return XDP_PASS;
	if (res == MLB_PARSE_BAD)
		return mlb_judge_bad(&pkt);

	if (!mlb_vip_filter_hit(&pkt.key))
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
		vip = mlb_vip_lookup(&pkt.key);
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
	} else {
		__u64 coarse;

		/* An established flow needs no VIP lookup: its entry says which VIP it is. */
		f = bpf_map_lookup_elem(&mlb_flows, &pkt.key);
		if (!f) {
			if (!mlb_vip_lookup(&pkt.key))
				return XDP_PASS;
			if (eth->h_dest[0] & 1)
				goto bad_l2;
			/* never moved to a guessed backend: see Documentation/dataplane.md */
			st->drops[MLB_DROP_NO_FLOW]++;
			return XDP_DROP;
		}
		if (eth->h_dest[0] & 1)
			goto bad_l2;
		vip_id = f->vip_id;
		k = f->backend;
		coarse = bpf_ktime_get_coarse_ns();
		if (f->last_seen_ns != coarse)
			f->last_seen_ns = coarse;
		if (flags & (MLB_TCP_FIN | MLB_TCP_RST))
			mlb_flow_close(&pkt, f, st);
		else if ((flags & MLB_TCP_ACK) && f->state <= MLB_FLOW_OPEN)
			mlb_flow_ack(&pkt, f, st);
	}

	be_idx = (vip_id % MLB_MAX_VIPS) * MLB_MAX_BACKENDS + (k & MLB_BE_MASK);
	be = bpf_map_lookup_elem(&mlb_backends, &be_idx);
	if (!be || be->state == MLB_BACKEND_DOWN || be->state == MLB_BACKEND_UNUSED) {
		st->drops[MLB_DROP_BACKEND_DOWN]++;
		return XDP_DROP;
	}
	mlb_traffic_add(&mlb_vip_stats, vip_id, bytes);
	mlb_traffic_add(&mlb_be_stats, be_idx, bytes);
	return mlb_forward(ctx, eth, be);
bad_l2:
	st->drops[MLB_DROP_BAD_L2]++;
	return XDP_DROP;
}
