/* SPDX-License-Identifier: GPL-2.0 */
/* Counters and samples: per-CPU statistics, per-VIP/backend traffic, the sample ring buffer. */
#ifndef MARLLB_BPF_STATS_H
#define MARLLB_BPF_STATS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"
#include "maps.h"

/* What a packet did to q, for the per-VIP and per-backend counters. */
#define MLB_EV_OPENED 1
#define MLB_EV_CLOSED 2

static __always_inline struct mlb_stats *mlb_stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mlb_stats, &zero);
}

static __always_inline void mlb_drop_count(struct mlb_stats *st, __u32 reason)
{
	if (st && reason < MLB_DROP_MAX)
		st->drops[reason]++;
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

/* events: MLB_EV_* bits, branch-free */
static __always_inline void mlb_traffic_count(void *map, __u32 idx, __u64 packets, __u64 bytes,
					      __u32 events)
{
	struct mlb_traffic *t = bpf_map_lookup_elem(map, &idx);

	if (t) {
		t->packets += packets;
		t->bytes += bytes;
		t->opened += events & MLB_EV_OPENED;
		t->closed += (events & MLB_EV_CLOSED) >> 1;
	}
}

/* The forwarded packet, and what it did to q, on its VIP and backend. */
static __always_inline void mlb_traffic_add(__u32 vip_id, __u32 be_idx, __u64 bytes, __u32 events)
{
	mlb_traffic_count(&mlb_vip_stats, vip_id, 1, bytes, events);
	mlb_traffic_count(&mlb_be_stats, be_idx, 1, bytes, events);
}

/* A change of q on a backend the packet does not go to. */
static __always_inline void mlb_flow_event(__u32 vip_id, __u32 k, __u32 events)
{
	mlb_traffic_count(&mlb_vip_stats, vip_id, 0, 0, events);
	mlb_traffic_count(&mlb_be_stats,
			  (vip_id % MLB_MAX_VIPS) * MLB_MAX_BACKENDS + k % MLB_MAX_BACKENDS, 0, 0,
			  events);
}

#endif /* MARLLB_BPF_STATS_H */
