// SPDX-License-Identifier: GPL-2.0
/*
 * References for the benchmark: the bare cost of inserting a never-seen 5-tuple into tables
 * defined exactly like marllb's (bpf/flow_table.h: same type, flags, key and value; the
 * benchmark gives them the same sizes), with the same key sequence as marllb's
 * mlb_bench_new_flows knob. They show which part of a new flow's cost is the table's memory
 * traffic rather than marllb's own work:
 *   lru_insert   into a copy of mlb_half_open (what a SYN inserts)
 *   hash_insert  into a copy of mlb_flows (what the handshake-completing ACK inserts)
 * and of the helper the encapsulating modes grow the frame with:
 *   head_pair    bpf_xdp_adjust_head by -20 bytes, then by +20: two calls, the frame unchanged
 *                (the benchmark strips encapsulated packets again with one such call)
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"
#include "flow_table.h"

char LICENSE[] SEC("license") = "GPL";

MLB_HALF_OPEN_TABLE(ref_lru);
MLB_FLOW_TABLE(ref_hash);

__u32 ref_seq = 0;
__u64 ref_inserted = 0;

static __always_inline int ref_insert(void *map)
{
	struct mlb_flow_key key = { .family = MLB_AF_INET, .proto = 6, .dport = 0x5000 };
	struct mlb_flow flow = { .state = MLB_FLOW_SYN };
	__u32 seq = ref_seq++;

	key.src[0] = 0x0100000a;
	key.dst[0] = 0x6400000a;
	key.sport = seq;
	key.src[3] ^= seq >> 16;
	if (!bpf_map_update_elem(map, &key, &flow, BPF_NOEXIST))
		ref_inserted++;
	return XDP_TX;
}

SEC("xdp")
int lru_insert(struct xdp_md *ctx)
{
	return ref_insert(&ref_lru);
}

SEC("xdp")
int hash_insert(struct xdp_md *ctx)
{
	return ref_insert(&ref_hash);
}

SEC("xdp")
int head_pair(struct xdp_md *ctx)
{
	if (!bpf_xdp_adjust_head(ctx, -20) && !bpf_xdp_adjust_head(ctx, 20))
		ref_inserted++;
	return XDP_TX;
}
