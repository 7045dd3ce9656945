/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flow tables' definitions, as macros so that the benchmark's reference program
 * (selftests/bpf/bench_ref.bpf.c) defines identical ones. Their sizes are the defaults a
 * loader may change (user/dp/: mlb_dp_opts); `ip link ... obj marllb.o` keeps them.
 *
 * mlb_flows is a preallocated hash: it never evicts, an insert into a full table fails, so a
 * counted flow is only ever removed by someone who then decrements q. mlb_half_open is an LRU
 * with per-CPU lists (inserts and evictions never take a global lock; each CPU evicts within
 * its share of the entries) for everything q does not count.
 */
#ifndef MARLLB_BPF_FLOW_TABLE_H
#define MARLLB_BPF_FLOW_TABLE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"

#define MLB_FLOW_TABLE(name)                                 \
	struct {                                             \
		__uint(type, BPF_MAP_TYPE_HASH);             \
		__uint(max_entries, MLB_FLOW_TABLE_DEFAULT); \
		__type(key, struct mlb_flow_key);            \
		__type(value, struct mlb_flow);              \
	} name SEC(".maps")

#define MLB_HALF_OPEN_TABLE(name)                                 \
	struct {                                                  \
		__uint(type, BPF_MAP_TYPE_LRU_HASH);              \
		__uint(max_entries, MLB_HALF_OPEN_TABLE_DEFAULT); \
		__uint(map_flags, BPF_F_NO_COMMON_LRU);           \
		__type(key, struct mlb_flow_key);                 \
		__type(value, struct mlb_flow);                   \
	} name SEC(".maps")

#endif /* MARLLB_BPF_FLOW_TABLE_H */
