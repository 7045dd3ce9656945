/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flow accounting (Documentation/dataplane.md, "Flow accounting"). q[vip][k] is exactly the
 * number of entries of mlb_flows on (vip, k), because
 *  - an entry enters mlb_flows only by a BPF_NOEXIST insert, followed by q + 1;
 *  - it leaves only by a delete that succeeded, followed by q - 1 (here on a client FIN/RST,
 *    in user space on idle reclaim): of several deleters of one entry exactly one succeeds;
 *  - mlb_flows never evicts (a preallocated hash: an insert into a full table fails).
 * Everything q does not count lives in the LRU mlb_half_open: half-open flows (so a spoofed
 * SYN, which never completes, is never counted), closing ones, established ones the full
 * flow table refused, and idle ones user space reclaimed. Their eviction changes no count.
 */
#ifndef MARLLB_BPF_FLOWS_H
#define MARLLB_BPF_FLOWS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "marllb.h"
#include "maps.h"
#include "parse.h"
#include "policy.h"
#include "chash.h"
#include "cpu_state.h"
#include "stats.h"

static __always_inline void mlb_q_add(__u32 vip_id, __u32 k, int delta)
{
	struct mlb_queues *qs = bpf_map_lookup_elem(&mlb_queues, &vip_id);

	if (qs)
		__sync_fetch_and_add(&qs->q[k & MLB_BE_MASK], delta);
}

/*
 * A client ACK moves the task timer: the first one completes the handshake (task duration
 * starts; the flow is a new arrival for the learner: a spoofed SYN never gets here), the first
 * later one that acknowledges server data ends the task. Works on a map value or on a copy.
 */
static __always_inline void mlb_task_step(struct mlb_pkt *pkt, struct mlb_flow *f,
					  struct mlb_stats *st)
{
	__u64 now;

	if (f->state == MLB_FLOW_SYN) {
		now = bpf_ktime_get_ns();
		f->ack_ns = now;
		f->ack0 = pkt->ack;
		f->seq0 = pkt->seq;
		f->state = MLB_FLOW_OPEN;
		mlb_sample(st, MLB_SAMPLE_NEW_FLOW, f->vip_id, f->backend, now, 0);
	} else if (f->state == MLB_FLOW_OPEN && (__s32)(pkt->ack - f->ack0) > 0) {
		now = bpf_ktime_get_ns();
		f->state = MLB_FLOW_TASK_DONE;
		mlb_sample(st, MLB_SAMPLE_TASK, f->vip_id, f->backend, now, now - f->ack_ns);
	}
}

/* A new flow placed without state: the consistent hash, where its next packets will go. */
static __always_inline int mlb_flow_syn_stateless(const struct mlb_vip *vip, struct mlb_pkt *pkt,
						  struct mlb_stats *st)
{
	struct mlb_flow *f = bpf_map_lookup_elem(&mlb_half_open, &pkt->key);
	int k;

	if (f && f->state != MLB_FLOW_CLOSED && f->vip_id == vip->id)
		return f->backend; /* retransmitted SYN of a flow that has an entry */
	k = mlb_chash_pick(vip->id, &pkt->key);
	if (k < 0)
		return -MLB_DROP_NO_BACKEND;
	st->new_flows++;
	st->syn_stateless++;
	return k;
}

/*
 * A clean SYN: the policy places a new flow and a half-open entry remembers where (q does not
 * count it yet), or the SYN follows the half-open flow it belongs to. The insert comes first,
 * without a lookup before it: for a new flow a lookup could only miss, and each miss costs a
 * cold hash bucket (about 120 ns measured). mlb_flows is not looked at either: a SYN of a
 * counted 5-tuple (a client reusing one whose end this LB did not see) makes a half-open entry
 * like any other, and its handshake ACK finds that the counted connection ended
 * (mlb_flow_reused()). Returns the backend or a negative drop reason.
 */
static __always_inline int mlb_flow_syn(const struct mlb_vip *vip, struct mlb_pkt *pkt,
					struct mlb_stats *st)
{
	struct mlb_cpu_state *g = mlb_cpu_state_get();
	__u64 now = bpf_ktime_get_ns();
	struct mlb_flow nf = {}, *f;
	int k;

	if (!mlb_syn_budget_left(g, now))
		return mlb_flow_syn_stateless(vip, pkt, st);
	k = mlb_pick(vip, &pkt->key, mlb_random(g));
	/* The fine clock read once serves both: idle reclaim counts in seconds. */
	nf.syn_ns = now;
	nf.last_seen_ns = now;
	nf.vip_id = vip->id;
	nf.backend = k;
	nf.state = MLB_FLOW_SYN;
	if (k >= 0 && !bpf_map_update_elem(&mlb_half_open, &pkt->key, &nf, BPF_NOEXIST))
		goto created;
	f = bpf_map_lookup_elem(&mlb_half_open, &pkt->key);
	if (f && f->state != MLB_FLOW_CLOSED && f->vip_id == vip->id) {
		/* retransmitted SYN, or another CPU created it first: follow it */
		f->last_seen_ns = now;
		return f->backend;
	}
	if (k < 0)
		return -MLB_DROP_NO_BACKEND;
	/* a new connection reusing the 5-tuple of a closed one */
	if (bpf_map_update_elem(&mlb_half_open, &pkt->key, &nf, BPF_ANY))
		return mlb_flow_syn_stateless(vip, pkt, st);
created:
	mlb_syn_budget_spend(g);
	st->new_flows++;
	return k;
}

/*
 * Client FIN or RST of a counted flow: q goes down exactly once. Deleting the entry is the
 * arbiter, shared with user space's idle reclaim (lookup-and-delete). The flow goes on as
 * CLOSED in mlb_half_open (uncounted) so the rest of the close reaches the same backend.
 * Returns MLB_EV_CLOSED if this packet decremented q.
 */
static __always_inline __u32 mlb_flow_close(struct mlb_pkt *pkt, struct mlb_flow *f,
					    struct mlb_stats *st)
{
	struct mlb_flow copy;
	__u64 now;

	/* a FIN or RST may be the first segment to acknowledge the server's data */
	if ((pkt->tcp_flags & MLB_TCP_ACK) && f->state == MLB_FLOW_OPEN)
		mlb_task_step(pkt, f, st);
	copy = *f;

	if (bpf_map_delete_elem(&mlb_flows, &pkt->key))
		return 0; /* user space reclaimed it meanwhile, and decremented */
	now = bpf_ktime_get_ns();
	mlb_q_add(copy.vip_id, copy.backend, -1);
	st->closed_flows++;
	mlb_sample(st, MLB_SAMPLE_FCT, copy.vip_id, copy.backend, now, now - copy.syn_ns);
	copy.state = MLB_FLOW_CLOSED;
	bpf_map_update_elem(&mlb_half_open, &pkt->key, &copy, BPF_ANY);
	return MLB_EV_CLOSED;
}

/* Is this ACK outside the sequence space of the counted connection (include/marllb.h)? */
static __always_inline bool mlb_seq_foreign(const struct mlb_pkt *pkt, const struct mlb_flow *f)
{
	return (__u32)(pkt->seq - f->seq0 + MLB_SEQ_SLACK) >= MLB_SEQ_SPAN + MLB_SEQ_SLACK ||
	       (__u32)(pkt->ack - f->ack0 + MLB_SEQ_SLACK) >= MLB_SEQ_SPAN + MLB_SEQ_SLACK;
}

static __always_inline __u32 mlb_flow_uncounted(struct mlb_pkt *pkt, struct mlb_flow *f,
						struct mlb_stats *st);

/*
 * An ACK of a counted flow outside its connection's sequence space. If the 5-tuple's SYN made
 * a half-open entry since, a new connection reuses it and the counted one ended unseen (its
 * client's FIN/RST never passed here, e.g. the server reset it): the old one leaves the count
 * and the new one, on the backend its SYN went to, enters it. Otherwise the connection carried
 * more than MLB_SEQ_SPAN bytes since its anchor: it is re-anchored. Returns the backend.
 */
static __always_inline int mlb_flow_reused(struct mlb_pkt *pkt, struct mlb_flow *f,
					   struct mlb_stats *st, __u32 *ev)
{
	struct mlb_flow *h = bpf_map_lookup_elem(&mlb_half_open, &pkt->key);
	__u32 vip_id = f->vip_id, old_k = f->backend;
	int k;

	if (!h || h->state != MLB_FLOW_SYN || h->vip_id != vip_id) {
		f->seq0 = pkt->seq;
		if (f->state == MLB_FLOW_TASK_DONE) /* an open task still needs its ack0 */
			f->ack0 = pkt->ack;
		return old_k;
	}
	k = h->backend;
	if (!bpf_map_delete_elem(&mlb_flows, &pkt->key)) {
		mlb_q_add(vip_id, old_k, -1);
		st->closed_flows++;
		mlb_flow_event(vip_id, old_k, MLB_EV_CLOSED);
	}
	*ev = mlb_flow_uncounted(pkt, h, st);
	return k;
}

/*
 * Any other segment of a flow q does not count (an entry of mlb_half_open). A client ACK
 * enters the flow into mlb_flows and counts it: the handshake completes, or a refused or
 * reclaimed flow goes on. If the flow table is full the flow stays here, served but not
 * counted (`refused`, once per flow), and tries again on its next packet. FIN/RST closes it
 * (an established one gets its flow-completion sample). Returns MLB_EV_OPENED if q went up.
 */
static __always_inline __u32 mlb_flow_uncounted(struct mlb_pkt *pkt, struct mlb_flow *f,
						struct mlb_stats *st)
{
	struct mlb_flow nf;
	__u64 now;

	if (f->state == MLB_FLOW_CLOSED)
		return 0;
	if (pkt->tcp_flags & (MLB_TCP_FIN | MLB_TCP_RST)) {
		if ((pkt->tcp_flags & MLB_TCP_ACK) && f->state == MLB_FLOW_OPEN)
			mlb_task_step(pkt, f, st);
		if (f->state != MLB_FLOW_SYN) {
			now = bpf_ktime_get_ns();
			mlb_sample(st, MLB_SAMPLE_FCT, f->vip_id, f->backend, now, now - f->syn_ns);
		}
		f->state = MLB_FLOW_CLOSED;
		return 0;
	}
	if (!(pkt->tcp_flags & MLB_TCP_ACK))
		return 0;
	nf = *f;
	mlb_task_step(pkt, &nf, st);
	if (!bpf_map_update_elem(&mlb_flows, &pkt->key, &nf, BPF_NOEXIST)) {
		mlb_q_add(nf.vip_id, nf.backend, 1);
		st->established++;
		bpf_map_delete_elem(&mlb_half_open, &pkt->key);
		return MLB_EV_OPENED;
	}
	if (f->state == MLB_FLOW_SYN)
		st->refused++;
	*f = nf;
	return 0;
}

#endif /* MARLLB_BPF_FLOWS_H */
