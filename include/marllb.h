/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel/user ABI of the marllb data plane: limits, map keys and values, sample records,
 * policy ids, backend states, drop reasons and statistics. Included by bpf/marllb.bpf.c and by
 * user space (user/dp/), so every field has a fixed width and an explicit layout.
 *
 * Addresses are kept in network byte order in 16 bytes; an IPv4 address sits in addr[0] with
 * addr[1..3] zero, and `family` (MLB_AF_INET / MLB_AF_INET6) tells which.
 * Ports are in network byte order. Times are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns).
 */
#ifndef MARLLB_H
#define MARLLB_H

#include <linux/types.h>

/* Limits */
#define MLB_MAX_VIPS 64 /* virtual services per data plane */
#define MLB_MAX_BACKENDS 256 /* backends per VIP (a power of two) */
#define MLB_FLOW_TABLE_DEFAULT 262144 /* counted flows (mlb_flows); set at load time */
#define MLB_HALF_OPEN_TABLE_DEFAULT 262144 /* uncounted flows (mlb_half_open, LRU); load time */
#define MLB_TABLE_MIN 64 /* smallest table size a loader accepts */
#define MLB_TABLE_MAX (1 << 26) /* largest (about 8 GiB of table) */
#define MLB_EXACT_SCAN_MAX 64 /* marl/sed/lsq scan every backend up to this pool size */
#define MLB_POWER_D 16 /* candidates sampled above MLB_EXACT_SCAN_MAX */
#define MLB_SAMPLES_BYTES (1 << 20) /* ring buffer: 32768 records; small enough to stay in cache */
#define MLB_WEIGHT_ONE 65536 /* agent weight 1.0 in the u32 weight vectors */
#define MLB_WEIGHT_GRACE_NS 10000000ULL /* a weight slot is rewritten >= 10 ms after it left use */
#define MLB_CHASH_SIZE 16381 /* consistent-hash lookup table per VIP (prime; Maglev) */
#define MLB_CHASH_NONE 0xffff /* a lookup-table slot with no backend (no active backend) */
#define MLB_HALF_OPEN_LIFE_NS 1000000000ULL /* the SYN budget keeps half-open entries >= 1 s */
#define MLB_SYN_WINDOW_SHIFT 26 /* the SYN budget counts in windows of 2^26 ns (67 ms) */
#define MLB_GUE_PORT_DEFAULT 6080 /* UDP destination port of GUE (LB and decap) */
#define MLB_ENCAP_MTU_DEFAULT 1500 /* L3 MTU an encapsulated packet must fit */
#define MLB_ENCAP_TTL 64 /* TTL / hop limit of the outer header */
#define MLB_ENCAP_MAX 48 /* largest encapsulation: IPv6 + UDP */
#define MLB_MTU_MIN4 (576 + MLB_ENCAP_MAX) /* an IPv4 VIP's inner packets can be 576 */
#define MLB_MTU_MIN6 (1280 + MLB_ENCAP_MAX) /* an IPv6 VIP's inner packets can be 1280 */

#define MLB_AF_INET 4
#define MLB_AF_INET6 6

/* Map names (<= 15 characters: what bpftool and the kernel show) */
#define MLB_MAP_VIPS "mlb_vips"
#define MLB_MAP_VIP_ADDRS "mlb_vip_addrs"
#define MLB_MAP_VIP_FILTER "mlb_vip_filter"
#define MLB_MAP_VIP_BY_ID "mlb_vip_by_id"
#define MLB_MAP_BACKENDS "mlb_backends"
#define MLB_MAP_POOLS "mlb_pools"
#define MLB_MAP_WEIGHTS "mlb_weights"
#define MLB_MAP_QUEUES "mlb_queues"
#define MLB_MAP_FLOWS "mlb_flows"
#define MLB_MAP_HALF_OPEN "mlb_half_open"
#define MLB_MAP_CHASH "mlb_chash"
#define MLB_MAP_CPU_STATE "mlb_cpu_state"
#define MLB_MAP_SAMPLES "mlb_samples"
#define MLB_MAP_STATS "mlb_stats"
#define MLB_MAP_VIP_STATS "mlb_vip_stats"
#define MLB_MAP_BE_STATS "mlb_be_stats"
#define MLB_MAP_VIP_FWD "mlb_vip_fwd"
#define MLB_PROG_NAME "marllb" /* the XDP program (ELF section "prog") */

/* Policy of a VIP: how a new flow picks its backend. */
enum mlb_policy {
	MLB_POLICY_MARL = 0, /* argmin (q + 1) / a, a = the agent's weight vector */
	MLB_POLICY_SED = 1, /* argmin (q + 1) / a, a = static weights */
	MLB_POLICY_LSQ = 2, /* argmin q (all a = 1) */
	MLB_POLICY_WCMP = 3, /* random, in proportion to static weights */
	MLB_POLICY_ECMP = 4, /* hash of the 5-tuple */
	MLB_POLICY_MAX,
};

/* Backend state: only active backends get new flows; draining ones keep their flows. */
enum mlb_backend_state {
	MLB_BACKEND_UNUSED = 0, /* slot not configured */
	MLB_BACKEND_ACTIVE = 1,
	MLB_BACKEND_DRAINING = 2,
	MLB_BACKEND_DOWN = 3, /* no new flows; packets of its existing flows are dropped */
};

/* Why a packet for a VIP was dropped (index into mlb_stats.drops). */
enum mlb_drop_reason {
	MLB_DROP_MALFORMED = 0, /* bad IP/TCP header: version, ihl, doff, lengths */
	MLB_DROP_TRUNCATED = 1, /* frame ends inside a header */
	MLB_DROP_FRAGMENT = 2, /* IPv4 fragment or IPv6 extension header to a VIP address */
	MLB_DROP_NO_FLOW =
		3, /* non-SYN packet of an unknown flow, and no backend to fall back on */
	MLB_DROP_NO_BACKEND = 4, /* new flow but no active backend */
	MLB_DROP_BACKEND_DOWN = 5, /* packet of a flow whose backend is down */
	MLB_DROP_BAD_L2 = 6, /* VIP packet to a group (multicast/broadcast) MAC */
	MLB_DROP_ENCAP = 7, /* cannot encapsulate: no headroom, or an IPv6 VIP on an IPv4 backend */
	MLB_DROP_MAX = 8,
};

/* How a VIP's packets reach its backends (mlb_vip_fwd). */
enum mlb_fwd_mode {
	MLB_FWD_DSR_L2 = 0, /* rewrite the destination MAC, XDP_TX: backends on the LB's L2 */
	MLB_FWD_IPIP = 1, /* IPv4 in IPv4, IPv6 in IPv6, IPv4 in IPv6 (an IPv6 backend) */
	MLB_FWD_GUE = 2, /* the same inside UDP (GUE variant 1: the payload is the IP packet) */
	MLB_FWD_MAX,
};

/* mlb_vips: key -> VIP. Hash map, MLB_MAX_VIPS entries. */
struct mlb_vip_key {
	__u32 addr[4];
	__u16 port; /* network byte order */
	__u8 proto; /* IPPROTO_TCP */
	__u8 family; /* MLB_AF_INET or MLB_AF_INET6 */
};

struct mlb_vip {
	__u32 id; /* 0 .. MLB_MAX_VIPS-1: index into the per-VIP arrays */
	__u32 policy; /* enum mlb_policy */
	__u32 n_backends; /* backend slots in use: 0 .. n_backends-1 */
	__u32 flags; /* reserved, 0 */
};

/*
 * mlb_vip_filter: array of one. Slot mlb_vip_filter_hash(addr, port) says which VIP (address,
 * port) hashes there: MLB_VIP_SLOT_NONE (most non-VIP packets pass after this one byte),
 * the VIP's id + 1 when it is the only one (the data plane then checks mlb_vip_by_id[id]: no
 * hash table lookup for a new flow), MLB_VIP_SLOT_MANY when several are (then mlb_vips).
 * Derived from mlb_vips by user space whenever the VIP set changes.
 */
#define MLB_VIP_FILTER_SLOTS 4096
#define MLB_VIP_SLOT_NONE 0
#define MLB_VIP_SLOT_MANY 0xff
struct mlb_vip_filter {
	__u8 slot[MLB_VIP_FILTER_SLOTS];
};

/* mlb_vip_by_id: array, index VIP id: a copy of each mlb_vips entry with its key (family 0:
 * none), kept in step with mlb_vips by user space. */
struct mlb_vip_entry {
	struct mlb_vip_key key;
	struct mlb_vip vip;
};

/* addr: 4 words as in struct mlb_vip_key; port in network byte order */
static inline __u32 mlb_vip_filter_hash(const __u32 *addr, __u16 port)
{
	__u32 h = addr[0] ^ addr[1] ^ addr[2] ^ addr[3] ^ port;

	return (h * 0x9e3779b1u) >> (32 - 12);
}

/*
 * mlb_vip_fwd: array, index VIP id: how its packets reach their backends, written by user
 * space (mlb_dp_set_vip()). dsr-l2 needs nothing else. The encapsulating modes send the packet
 * to the backend's address inside an outer header, in an Ethernet frame to the backend's MAC
 * (there: the next hop's), out of the interface it came in on (XDP_TX). The outer source is
 * the prefix src4 (IPv4 outer) or src6 (IPv6 outer) with its host bits, the set bits of
 * src4_mask / src6_mask (network order; the last word of src6), taken from a hash of the
 * client's address and port: one client's flows spread over the servers' receive queues.
 * A packet whose encapsulation would exceed mtu is answered with ICMP "fragmentation needed"
 * or ICMPv6 "packet too big" (Documentation/dataplane.md, "Forwarding modes").
 */
#define MLB_FWD_HAS_SRC4 1
#define MLB_FWD_HAS_SRC6 2
struct mlb_vip_fwd {
	__u8 mode; /* enum mlb_fwd_mode */
	__u8 sources; /* MLB_FWD_HAS_SRC4 | MLB_FWD_HAS_SRC6: which outer sources are set */
	__u16 mtu; /* host order: the L3 MTU towards the backends */
	__u16 gue_port; /* network order: GUE's UDP destination port */
	__u16 pad2;
	__u32 src4; /* network order, host bits 0 */
	__u32 src4_mask;
	__u32 src6[4];
	__u32 src6_mask; /* applies to src6[3] */
};

/* mlb_vip_addrs: VIP address alone (port 0, proto 0) -> number of services on it. Lets the
 * parser drop malformed frames for a VIP address whose port it cannot read. */

/* mlb_backends: array, index vip_id * MLB_MAX_BACKENDS + k. */
struct mlb_backend {
	__u32 addr[4];
	__u8 mac[6];
	__u8 state; /* enum mlb_backend_state */
	__u8 family;
	__u32 weight; /* static weight, relative units (sed, wcmp); 0: no new flows */
	/* 1 when the VIP's mode encapsulates: a copy of mlb_vip_fwd's mode != dsr-l2, kept by
	 * user space, so that dsr-l2 packets need no lookup of mlb_vip_fwd */
	__u8 encap;
	__u8 pad[3];
};

/* mlb_pools: array, index vip_id. Written by user space only. */
struct mlb_pool {
	__u64 active[MLB_MAX_BACKENDS / 64]; /* bit k: backend k takes new flows */
	__u64 weight_gen; /* generation of the live agent weight vector */
	__u64 flip_ns; /* when weight_slot last changed (user-space clock) */
	__u32 weight_slot; /* 0 or 1: which agent slot of mlb_weights is live */
	__u32 pad;
};

/*
 * mlb_weights: array, index vip_id * MLB_WEIGHT_SLOTS + slot. Slots 0 and 1 double-buffer
 * the agent's vector (marl); slot 2 mirrors the static weights (sed, wcmp). A weight of 0
 * never gets a new flow. User space writes a[] and derives the rest (one place: the library):
 * live has bit k set iff a[k] > 0, and r[k] = floor(MLB_RECIP_MAX * a_min / a[k]) for the
 * smallest positive a_min of the vector (0 where a[k] = 0), so the scan compares
 * (q + 1) * r[k] (one multiply, no division) and equal weights keep exactly equal scores.
 */
#define MLB_WEIGHT_SLOTS 3
#define MLB_WSLOT_STATIC 2
#define MLB_RECIP_MAX ((1u << 29) - 1) /* (q + 1) * r stays below 2^61 for any u32 q */
struct mlb_weights {
	__u64 gen; /* generation this vector was published as */
	__u64 live[MLB_MAX_BACKENDS / 64];
	__u32 a[MLB_MAX_BACKENDS];
	__u32 r[MLB_MAX_BACKENDS]; /* reciprocal of a, scaled per vector */
};

/* mlb_queues: array (BPF_F_MMAPABLE), index vip_id: open flows q per backend, as seen by this
 * LB. Changed only by atomic add/sub, on both sides (user space through the mmap). */
struct mlb_queues {
	__u32 q[MLB_MAX_BACKENDS];
};

/*
 * The flow tables, both keyed by the 5-tuple (client -> VIP direction), both holding struct
 * mlb_flow. Where an entry lives says whether q counts it:
 *   mlb_flows      hash (preallocated, never evicts; an insert into a full table fails):
 *                  established flows, each counted once in q[vip_id][backend]. Deleted only by
 *                  the data plane on a client FIN/RST and by user-space idle reclaim, and
 *                  whoever deletes an entry decrements q.
 *   mlb_half_open  LRU hash (per-CPU LRU lists): flows q does not count. Half-open ones (SYN
 *                  seen), closing ones (client FIN/RST seen), established ones the full flow
 *                  table refused, and idle ones user space reclaimed (kept so that they are
 *                  counted again if they resume). The LRU may evict any of them: q is not
 *                  touched.
 * See Documentation/dataplane.md, "Flow accounting".
 */
struct mlb_flow_key {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u16 pad; /* 0 */
};

enum mlb_flow_state {
	MLB_FLOW_SYN = 1, /* SYN seen, handshake not completed (mlb_half_open only) */
	MLB_FLOW_OPEN = 2, /* handshake-completing ACK seen; task timer running */
	MLB_FLOW_TASK_DONE = 3, /* task duration sampled */
	MLB_FLOW_CLOSED = 4, /* client FIN/RST seen (mlb_half_open only) */
};

struct mlb_flow {
	__u64 syn_ns; /* first SYN (flow completion time starts here) */
	__u64 last_seen_ns; /* coarse clock (bpf_ktime_get_coarse_ns) of the last packet */
	__u64 ack_ns; /* handshake-completing ACK (task duration starts here) */
	__u32 ack0; /* its ack number: server ISN + 1, host byte order */
	__u32 seq0; /* its sequence number: client ISN + 1 (the connection's anchor) */
	__u16 vip_id;
	__u16 backend; /* index in the VIP's pool */
	__u8 state; /* enum mlb_flow_state */
	__u8 pad[3];
};

/*
 * A client segment of an established connection has seq within [seq0 - MLB_SEQ_SLACK,
 * seq0 + MLB_SEQ_SPAN) and ack likewise around ack0 (re-anchored after MLB_SEQ_SPAN bytes). A
 * new connection on the same 5-tuple has fresh random ISNs: it falls outside with probability
 * 1 - 2^-8, which is how the data plane tells that a counted 5-tuple was reused.
 */
#define MLB_SEQ_SPAN (1u << 28)
#define MLB_SEQ_SLACK (1u << 16)

/*
 * mlb_chash: array, index vip_id. A consistent-hash (Maglev) lookup table over the VIP's
 * active backends, built by user space from the backends' addresses (so every LB with the
 * same pool builds the same table): slot[hash(5-tuple) * MLB_CHASH_SIZE >> 32] is the backend
 * of a flow placed without state. Used by ecmp, by new flows when the SYN budget is spent,
 * and for packets of flows that have no entry in either table.
 */
struct mlb_chash {
	__u16 slot[MLB_CHASH_SIZE]; /* backend index, or MLB_CHASH_NONE */
};

/*
 * mlb_cpu_state: per-CPU array of one, the new-flow path's own state.
 * The SYN budget: at most `budget` half-open entries are created per CPU in each window of
 * 2^MLB_SYN_WINDOW_SHIFT ns; beyond it new flows are placed by mlb_chash without state, so that
 * a SYN flood cannot evict a half-open entry younger than MLB_HALF_OPEN_LIFE_NS. budget 0: no
 * limit. And the random stream of the policies' draws (xorshift64*, seeded on first use).
 * Written by user space (budget; it zeroes the rest), the data plane (the rest).
 */
struct mlb_cpu_state {
	__u64 window; /* current window: now >> MLB_SYN_WINDOW_SHIFT */
	__u32 inserts; /* half-open entries created in it on this CPU */
	__u32 budget;
	__u64 rng; /* 0: not seeded yet */
};

/* mlb_samples: ring buffer of these records. */
enum mlb_sample_kind {
	MLB_SAMPLE_TASK = 1, /* value: task duration */
	MLB_SAMPLE_FCT = 2, /* value: flow completion time, SYN -> client FIN/RST */
	MLB_SAMPLE_NEW_FLOW = 3, /* value: 0; ts is the arrival time */
};

struct mlb_sample {
	__u64 ts_ns; /* when the event happened */
	__u64 value_ns;
	__u32 vip_id;
	__u16 backend;
	__u8 kind; /* enum mlb_sample_kind */
	__u8 pad;
};

/* mlb_stats: per-CPU array of one; sum over CPUs for totals. */
struct mlb_stats {
	__u64 new_flows; /* SYNs that started a flow (with a half-open entry or without state) */
	__u64 closed_flows; /* q decrements by the data plane (client FIN/RST of a counted flow) */
	__u64 samples; /* records written to the ring buffer */
	__u64 ring_lost; /* records lost because the ring buffer was full */
	__u64 drops[MLB_DROP_MAX];
	__u64 established; /* q increments: flows entered into mlb_flows (handshake or resumed) */
	__u64 refused; /* handshakes the full mlb_flows could not take (served, not counted) */
	__u64 syn_stateless; /* new flows placed by mlb_chash without state (SYN budget spent) */
	__u64 fallback; /* packets of flows with no entry, forwarded by mlb_chash */
	__u64 icmp_too_big; /* packets too big to encapsulate, answered with ICMP(v6) */
};

/* mlb_vip_stats (index vip_id) and mlb_be_stats (index vip_id * MLB_MAX_BACKENDS + k):
 * per-CPU traffic forwarded, and the data plane's own changes of q (opened - closed is the
 * data plane's share of q; user space's idle reclaim is the rest). */
struct mlb_traffic {
	__u64 packets;
	__u64 bytes;
	__u64 opened; /* flows entered into mlb_flows (q + 1) */
	__u64 closed; /* flows deleted from it by a client FIN/RST (q - 1) */
};

/*
 * The server side: marllb_decap.o (bpf/marllb_decap.bpf.c), an XDP program that strips the
 * outer header (IPIP, IPv6 in IPv6, IPv4 in IPv6, GUE) of packets whose inner destination is a
 * configured VIP, so that they reach the VIP bound on lo. Every other packet passes untouched.
 */
#define MLB_DECAP_PROG_NAME "marllb_decap"
#define MLB_MAP_DECAP_VIPS "mlb_decap_vips"
#define MLB_MAP_DECAP_CFG "mlb_decap_cfg"
#define MLB_MAP_DECAP_STATS "mlb_decap_stats"
#define MLB_DECAP_MAX_VIPS 256

/* mlb_decap_vips: hash, struct mlb_vip_key -> __u32 (1). A port of 0 matches every port. */
/* mlb_decap_cfg: array of one */
struct mlb_decap_cfg {
	__u16 gue_port; /* network order; 0: MLB_GUE_PORT_DEFAULT */
	__u16 pad;
};

/* mlb_decap_stats: per-CPU array of one */
struct mlb_decap_stats {
	__u64 ipip; /* IPv4 in IPv4 decapsulated */
	__u64 ip6ip6; /* IPv6 in IPv6 */
	__u64 ip4ip6; /* IPv4 in IPv6 */
	__u64 gue; /* GUE, either family */
	__u64 not_vip; /* encapsulated, but not to a configured VIP: passed untouched */
	__u64 malformed; /* encapsulated, broken (lengths, checksum, fragment): passed untouched */
};

#endif /* MARLLB_H */
