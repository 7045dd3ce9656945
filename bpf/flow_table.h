/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flow table's definition, as a macro so that the benchmark's reference program
 * (selftests/bpf/bench_ref.bpf.c) defines an identical one. Per-CPU LRU lists: inserts and
 * evictions never take a global lock; each CPU evicts within its share of the entries.
 */
#ifndef MARLLB_BPF_FLOW_TABLE_H
#define MARLLB_BPF_FLOW_TABLE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"

#define MLB_FLOW_TABLE(name)                              \
	struct {                                          \
		__uint(type, BPF_MAP_TYPE_LRU_HASH);      \
		__uint(max_entries, MLB_FLOW_TABLE_SIZE); \
		__uint(map_flags, BPF_F_NO_COMMON_LRU);   \
		__type(key, struct mlb_flow_key);         \
		__type(value, struct mlb_flow);           \
	} name SEC(".maps")

#endif /* MARLLB_BPF_FLOW_TABLE_H */
