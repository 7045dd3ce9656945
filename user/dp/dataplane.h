/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space access to a marllb data plane (build/libmarllb_dp.a; link with -lxdp -lbpf -lelf
 * -lz). All functions return 0 or a negative errno unless documented otherwise, and change
 * nothing when they fail on bad input.
 *
 * A data plane is found in one of three ways:
 *   mlb_dp_attach()      load the embedded marllb.o, attach it with libxdp, pin its maps
 *   mlb_dp_open_pinned() maps pinned under a directory (default /sys/fs/bpf/marllb/<iface>)
 *   mlb_dp_open_iface()  the program attached to an interface, e.g. by
 *                        `ip link set dev eth0 xdp obj marllb.o`: its maps are found from the
 *                        program (ifindex -> prog id -> map ids -> fds, matched by name)
 *
 * One process configures a data plane at a time (VIPs, backends, weights); readers (queues,
 * stats, flows, samples) may be many.
 */
#ifndef MARLLB_DATAPLANE_H
#define MARLLB_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "marllb.h"

struct mlb_dp;
struct ring_buffer;

#define MLB_PIN_ROOT "/sys/fs/bpf/marllb"

enum mlb_dp_mode {
	MLB_DP_NATIVE = 0, /* driver XDP */
	MLB_DP_GENERIC = 1, /* skb XDP, works on any interface */
};

/* Load-time settings; a zero field takes its default. opts may be NULL: all defaults. */
struct mlb_dp_opts {
	uint32_t flow_table_size; /* counted flows (mlb_flows): MLB_FLOW_TABLE_DEFAULT */
	uint32_t half_open_table_size; /* uncounted flows (mlb_half_open, LRU): MLB_HALF_OPEN_... */
	bool bench_new_flows; /* benchmark only: every packet becomes a new flow */
	bool bench_encap_undo; /* benchmark only: encapsulated packets are stripped again */
};

/* Loads the marllb.o built into the library, attaches it to ifname through libxdp and pins
 * its maps (mode 0600) under pin_dir (NULL: MLB_PIN_ROOT/<ifname>). Table sizes out of
 * [MLB_TABLE_MIN, MLB_TABLE_MAX] are refused (-EINVAL) before anything is loaded. */
int mlb_dp_attach(const char *ifname, enum mlb_dp_mode mode, const char *pin_dir,
		  const struct mlb_dp_opts *opts, struct mlb_dp **out);
/* Detaches marllb from ifname (whoever attached it) and removes pin_dir (NULL: default) if
 * it exists. */
int mlb_dp_detach(const char *ifname, const char *pin_dir);
int mlb_dp_open_pinned(const char *pin_dir, struct mlb_dp **out);
/* Pins the maps of an open data plane under dir (created, mode 0700) with mode 0600, replacing
 * stale pins: e.g. after mlb_dp_open_iface() on a program attached by `ip link`. */
int mlb_dp_pin_maps(struct mlb_dp *dp, const char *dir);
int mlb_dp_open_iface(const char *ifname, struct mlb_dp **out);
/* Loads marllb.o without attaching it (tests, benchmarks): mlb_dp_prog_fd() runs it. */
int mlb_dp_load(const struct mlb_dp_opts *opts, struct mlb_dp **out);
void mlb_dp_close(struct mlb_dp *dp);
/* The XDP program's fd, or -1 when the handle was opened from pinned maps. */
int mlb_dp_prog_fd(const struct mlb_dp *dp);
/* The fd of a map by name (MLB_MAP_*), or -ENOENT. */
int mlb_dp_map_fd(const struct mlb_dp *dp, const char *name);

/* The flow tables as loaded, and the kernel memory they take (as the kernel accounts it). */
struct mlb_dp_tables {
	uint32_t flow_table_size, half_open_table_size; /* entries */
	uint64_t flow_table_bytes, half_open_table_bytes;
	uint64_t all_maps_bytes; /* every map of the data plane */
};
int mlb_dp_tables(struct mlb_dp *dp, struct mlb_dp_tables *t);
/* "flow table 262144 entries (35.1 MiB), half-open table ..." into buf. */
void mlb_dp_tables_str(const struct mlb_dp_tables *t, char *buf, size_t len);

/*
 * The SYN budget: half-open entries each CPU may create per window of 2^MLB_SYN_WINDOW_SHIFT
 * ns before new flows are placed by the consistent hash without state. Every open sets the
 * default (a CPU's share of mlb_half_open turns over no faster than MLB_HALF_OPEN_LIFE_NS,
 * with a factor 2 of margin) unless a budget is set. MLB_SYN_BUDGET_OFF: no limit.
 */
#define MLB_SYN_BUDGET_OFF UINT32_MAX
int mlb_dp_set_syn_budget(struct mlb_dp *dp, uint32_t per_window);
uint32_t mlb_dp_syn_budget_default(uint32_t half_open_table_size, int ncpus);

/*
 * How a VIP's packets reach its backends (include/marllb.h, struct mlb_vip_fwd). All zero:
 * dsr-l2. The encapsulating modes need an outer source for each outer family in use (that of
 * the backends: an IPv4 VIP may have IPv6 backends, IPv4 in IPv6; an IPv6 VIP only IPv6 ones):
 * a prefix of 32 (128) bits is one address; a shorter one, down to /16 (/96), lets a hash of
 * the client's address and port pick the host bits, so one client's flows spread.
 */
struct mlb_fwd_cfg {
	uint32_t mode; /* enum mlb_fwd_mode */
	uint8_t src4[4], src4_len; /* network order; len 0: no IPv4 outer source */
	uint8_t src6[16], src6_len; /* len 0: no IPv6 outer source */
	uint16_t mtu; /* L3 MTU towards the backends; 0: MLB_ENCAP_MTU_DEFAULT */
	uint16_t gue_port; /* host order; 0: MLB_GUE_PORT_DEFAULT */
};

/* Virtual services. addr is 4 (MLB_AF_INET) or 16 bytes, network order; port host order. */
struct mlb_vip_cfg {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	uint32_t policy; /* enum mlb_policy */
	struct mlb_fwd_cfg fwd;
};
int mlb_vip_key_make(struct mlb_vip_key *key, const struct mlb_vip_cfg *cfg);
/*
 * Creates a VIP (next free id) or changes its policy and forwarding (same id; its flows go on
 * in the new mode). A forwarding configuration that does not fit (an outer source missing for
 * a family its backends need, a prefix or MTU out of range) is refused with -EINVAL and a
 * message on stderr. *id may be NULL.
 */
int mlb_dp_set_vip(struct mlb_dp *dp, const struct mlb_vip_cfg *cfg, uint32_t *id);
/* The forwarding of VIP id as the data plane holds it. */
int mlb_dp_get_forward(struct mlb_dp *dp, uint32_t vip_id, struct mlb_vip_fwd *fwd);
/* "dsr-l2 / ipip / gue" <-> enum mlb_fwd_mode; parse returns -EINVAL if unknown. */
const char *mlb_fwd_mode_name(uint32_t mode);
int mlb_fwd_mode_parse(const char *name);
/* "10.0.0.0/24" or "fd00::1" (a single address) into cfg's IPv4 or IPv6 outer source. */
int mlb_fwd_source_parse(struct mlb_fwd_cfg *cfg, const char *prefix);
/* Removes a VIP: new packets to it pass to the stack; its backends and counters are reset. */
int mlb_dp_del_vip(struct mlb_dp *dp, const struct mlb_vip_cfg *cfg);
int mlb_dp_get_vip(struct mlb_dp *dp, const struct mlb_vip_cfg *cfg, struct mlb_vip *vip);
/* Calls fn for every VIP (fn returns non-zero to stop); returns how many were visited. */
typedef int (*mlb_vip_fn)(const struct mlb_vip_key *key, const struct mlb_vip *vip, void *ctx);
long mlb_dp_for_each_vip(struct mlb_dp *dp, mlb_vip_fn fn, void *ctx);

/* Backends: slot k of VIP id. The pool size n_backends grows to cover k. In an encapsulating
 * mode, addr is where the outer header goes and mac the next hop's towards it; a backend of a
 * family the VIP has no outer source for is refused (-EINVAL). */
struct mlb_backend_cfg {
	uint8_t family;
	uint8_t addr[16];
	uint8_t mac[6];
	uint8_t state; /* enum mlb_backend_state */
	uint32_t weight; /* static weight (relative), used by sed and wcmp */
};
int mlb_dp_set_backend(struct mlb_dp *dp, uint32_t vip_id, uint32_t k,
		       const struct mlb_backend_cfg *cfg);
int mlb_dp_set_backend_state(struct mlb_dp *dp, uint32_t vip_id, uint32_t k, uint8_t state);
int mlb_dp_get_backend(struct mlb_dp *dp, uint32_t vip_id, uint32_t k, struct mlb_backend *be);

/*
 * Publishes the agent's weights a[0..n-1] (a_k > 0; 1.0 is neutral; a_k <= 0 or NaN: no new
 * flows) for a marl VIP. The data plane reads a whole vector, never a half-written one: the
 * vector goes to the idle slot of a double buffer, then the live-slot index flips. A slot is
 * rewritten only MLB_WEIGHT_GRACE_NS after it stopped being live (this call sleeps the rest
 * if called faster). Backends k >= n get weight 1.0. Returns the new generation (> 0).
 */
int64_t mlb_dp_set_weights(struct mlb_dp *dp, uint32_t vip_id, const float *a, uint32_t n);
/* live and r from a (include/marllb.h, struct mlb_weights): what every write of a weight
 * vector does first. For tools that build vectors themselves (the benchmark). */
void mlb_weights_derive(struct mlb_weights *w);
/* The live agent weights (as floats) and their generation. */
int mlb_dp_get_weights(struct mlb_dp *dp, uint32_t vip_id, float *a, uint32_t n, uint64_t *gen);

/* Open flows q of backends 0..n-1 of VIP id, as this data plane counts them. */
int mlb_dp_read_queues(struct mlb_dp *dp, uint32_t vip_id, uint32_t *q, uint32_t n);
/* Reconciliation only: q[vip_id][k] += delta, atomically with the data plane's own updates;
 * *old (may be NULL) gets the value before. */
int mlb_dp_adjust_queue(struct mlb_dp *dp, uint32_t vip_id, uint32_t k, int32_t delta,
			uint32_t *old);

/* Per-CPU statistics summed over CPUs. */
int mlb_dp_read_stats(struct mlb_dp *dp, struct mlb_stats *sum);
int mlb_dp_read_vip_traffic(struct mlb_dp *dp, uint32_t vip_id, struct mlb_traffic *sum);
int mlb_dp_read_backend_traffic(struct mlb_dp *dp, uint32_t vip_id, uint32_t k,
				struct mlb_traffic *sum);
/* Backends 0..n-1 of VIP id at once (one system call): sums[k] summed over CPUs. */
int mlb_dp_read_pool_traffic(struct mlb_dp *dp, uint32_t vip_id, struct mlb_traffic *sums,
			     uint32_t n);

/*
 * Flow tables (include/marllb.h): MLB_TABLE_FLOWS holds the flows q counts, MLB_TABLE_HALF_OPEN
 * (an LRU) the others.
 *
 * A scan reads a table in batches of whole hash buckets: an entry present for the whole scan
 * is returned exactly once, whatever is inserted or deleted meanwhile. mlb_dp_flow_scan()
 * returns how many entries it wrote (up to max, which must be >= 64), 0 once the scan is
 * complete, or a negative errno.
 *
 * mlb_dp_for_each_flow() calls fn (NULL: none) for each flow of a table (a snapshot per entry); fn may
 * reclaim that flow; fn returns non-zero to stop. Returns the number of flows visited.
 *
 * mlb_dp_reclaim_flow() takes a counted flow that has been idle since before idle_before_ns
 * (bpf_ktime_get_coarse_ns / CLOCK_MONOTONIC_COARSE clock) out of the count: it gives back its
 * q exactly once (the delete from mlb_flows is the arbiter, shared with the data plane's
 * FIN/RST path) and keeps the flow, uncounted, in mlb_half_open, so that if it resumes its
 * packets still reach its backend and it is counted again. Returns 1 if q was decremented,
 * -EBUSY if the flow was used after idle_before_ns (nothing changed), 0 if the data plane
 * closed it meanwhile, -ENOENT if it is not a counted flow.
 */
enum mlb_flow_table {
	MLB_TABLE_FLOWS = 0,
	MLB_TABLE_HALF_OPEN = 1,
};
struct mlb_flow_scan {
	enum mlb_flow_table table;
	bool started, done;
	uint64_t cursor;
};
void mlb_flow_scan_init(struct mlb_flow_scan *s, enum mlb_flow_table table);
long mlb_dp_flow_scan(struct mlb_dp *dp, struct mlb_flow_scan *s, struct mlb_flow_key *keys,
		      struct mlb_flow *flows, uint32_t max);
typedef int (*mlb_flow_fn)(const struct mlb_flow_key *key, const struct mlb_flow *flow, void *ctx);
long mlb_dp_for_each_flow(struct mlb_dp *dp, enum mlb_flow_table table, mlb_flow_fn fn, void *ctx);
int mlb_dp_reclaim_flow(struct mlb_dp *dp, const struct mlb_flow_key *key, uint64_t idle_before_ns);
/* Deletes an uncounted flow (mlb_half_open) idle since before idle_before_ns: 1 if deleted,
 * -EBUSY if used since (put back), -ENOENT if not there. q is not involved. */
int mlb_dp_forget_flow(struct mlb_dp *dp, const struct mlb_flow_key *key, uint64_t idle_before_ns);
/* Looks the flow up in mlb_flows, then in mlb_half_open; *table (may be NULL) says where. */
int mlb_dp_lookup_flow(struct mlb_dp *dp, const struct mlb_flow_key *key, struct mlb_flow *flow,
		       enum mlb_flow_table *table);

/* Samples: a libbpf ring buffer on mlb_samples; fn gets one struct mlb_sample per call (data,
 * size == sizeof(struct mlb_sample)). Poll it with ring_buffer__poll(), free it with
 * ring_buffer__free(). NULL with errno set on failure. */
typedef int (*mlb_sample_fn)(void *ctx, void *data, size_t size);
struct ring_buffer *mlb_dp_samples_new(struct mlb_dp *dp, mlb_sample_fn fn, void *ctx);

/* Helpers for callers. */
const char *mlb_policy_name(uint32_t policy);
int mlb_policy_parse(const char *name); /* "marl", "sed", ...; -EINVAL if unknown */
const char *mlb_drop_reason_name(uint32_t reason);

#endif /* MARLLB_DATAPLANE_H */
