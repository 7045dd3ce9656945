// SPDX-License-Identifier: GPL-2.0
/*
 * Reference for the benchmark: the bare cost of inserting a never-seen 5-tuple into a flow
 * table defined exactly like marllb's mlb_flows (LRU hash, same size, flags, key and value),
 * with the same key sequence as marllb's mlb_bench_new_flows knob. It shows which part of a
 * new flow's cost is the table's memory traffic rather than marllb's own work.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"
#include "flow_table.h"

char LICENSE[] SEC("license") = "GPL";

MLB_FLOW_TABLE(ref_flows);

__u32 ref_seq = 0;
__u64 ref_inserted = 0;

SEC("xdp")
int lru_insert(struct xdp_md *ctx)
{
	struct mlb_flow_key key = { .family = MLB_AF_INET, .proto = 6, .dport = 0x5000 };
	struct mlb_flow flow = { .state = MLB_FLOW_SYN };
	__u32 seq = ref_seq++;

	key.src[0] = 0x0100000a;
	key.dst[0] = 0x6400000a;
	key.sport = seq;
	key.src[3] ^= seq >> 16;
	if (!bpf_map_update_elem(&ref_flows, &key, &flow, BPF_NOEXIST))
		ref_inserted++;
	return XDP_TX;
}
