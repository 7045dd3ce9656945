/* SPDX-License-Identifier: GPL-2.0 */
/* The data plane's maps. Layouts and sizes are in include/marllb.h. */
#ifndef MARLLB_BPF_MAPS_H
#define MARLLB_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"
#include "flow_table.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLB_MAX_VIPS);
	__type(key, struct mlb_vip_key);
	__type(value, struct mlb_vip);
} mlb_vips SEC(".maps");

/* VIP address only (port 0, proto 0) -> number of services on it */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLB_MAX_VIPS);
	__type(key, struct mlb_vip_key);
	__type(value, __u32);
} mlb_vip_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mlb_vip_filter);
} mlb_vip_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct mlb_vip_entry);
} mlb_vip_by_id SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLB_MAX_VIPS *MLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct mlb_backend);
} mlb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct mlb_pool);
} mlb_pools SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLB_MAX_VIPS *MLB_WEIGHT_SLOTS);
	__type(key, __u32);
	__type(value, struct mlb_weights);
} mlb_weights SEC(".maps");

/* mmap-able so that user space can give back q with an atomic subtraction */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLB_MAX_VIPS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mlb_queues);
} mlb_queues SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct mlb_vip_fwd);
} mlb_vip_fwd SEC(".maps");

MLB_FLOW_TABLE(mlb_flows);
MLB_HALF_OPEN_TABLE(mlb_half_open);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct mlb_chash);
} mlb_chash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mlb_cpu_state);
} mlb_cpu_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MLB_SAMPLES_BYTES);
} mlb_samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mlb_stats);
} mlb_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct mlb_traffic);
} mlb_vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MLB_MAX_VIPS *MLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct mlb_traffic);
} mlb_be_stats SEC(".maps");

#endif /* MARLLB_BPF_MAPS_H */
