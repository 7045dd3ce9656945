// SPDX-License-Identifier: GPL-2.0
/*
 * Flow hygiene, every --reconcile-interval seconds:
 *  1. Idle flows are reclaimed: half-open ones (handshake not completed) after
 *     --idle-half-open, established ones after --idle-established, already-closed entries
 *     after --idle-half-open. mlb_dp_reclaim_flow() gives back q exactly once.
 *  2. Open-flow counts are reconciled with the flow table: per backend, q must equal the
 *     number of counted entries. They differ when the LRU table evicted a counted flow (its
 *     decrement never comes) or after an unclean history. The comparison is only trusted when
 *     the data plane created and closed no flow while the table was scanned (its new_flows and
 *     closed_flows counters did not move; LRU evictions happen only on inserts), so under
 *     steady traffic the correction waits for a quiet moment, and counts are exact once
 *     traffic stops. The correction is an atomic add of (count - q) through the queue map's
 *     mmap, so it composes with the data plane's own atomic updates; a count that wrapped
 *     below zero is fixed the same way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <bpf/bpf.h>

#include "daemon/daemon.h"
#include "daemon/log.h"

struct reclaim_item {
	struct mlb_flow_key key;
	uint32_t vip_id;
	uint16_t backend;
	uint8_t state;
};

struct scan {
	struct daemon *d;
	uint64_t half_open_before, established_before;
	struct reclaim_item *items;
	size_t n_items, cap;
	uint32_t (*count)[MLB_MAX_BACKENDS]; /* [MLB_MAX_VIPS] */
};

static uint64_t coarse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool counted(uint8_t state)
{
	return state == MLB_FLOW_SYN || state == MLB_FLOW_OPEN || state == MLB_FLOW_TASK_DONE;
}

static int visit(const struct mlb_flow_key *key, const struct mlb_flow *f, void *ctx)
{
	struct scan *s = ctx;
	uint64_t before = f->state == MLB_FLOW_OPEN || f->state == MLB_FLOW_TASK_DONE ?
				  s->established_before :
				  s->half_open_before;

	if (f->last_seen_ns < before) {
		if (s->n_items == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 1024;
			void *p = realloc(s->items, cap * sizeof(*s->items));

			if (!p)
				return 1;
			s->items = p;
			s->cap = cap;
		}
		s->items[s->n_items++] =
			(struct reclaim_item){ *key, f->vip_id, f->backend, f->state };
		return 0;
	}
	if (counted(f->state) && f->vip_id < MLB_MAX_VIPS && f->backend < MLB_MAX_BACKENDS)
		s->count[f->vip_id][f->backend]++;
	return 0;
}

static struct mlb_queues *queues_map(struct daemon *d)
{
	static struct mlb_queues *qs;
	static struct mlb_dp *mapped_for;

	if (qs && mapped_for == d->dp)
		return qs;
	qs = mmap(NULL, MLB_MAX_VIPS * sizeof(struct mlb_queues), PROT_READ | PROT_WRITE,
		  MAP_SHARED, mlb_dp_map_fd(d->dp, MLB_MAP_QUEUES), 0);
	if (qs == MAP_FAILED) {
		qs = NULL;
		return NULL;
	}
	mapped_for = d->dp;
	return qs;
}

/* delta[id][k] = counted entries - q, from one snapshot of q taken after the scan. */
static struct mlb_queues *count_deltas(struct daemon *d, struct scan *s)
{
	struct mlb_queues *qs = queues_map(d);

	if (!qs) {
		pr_warn("marllbd: cannot map the open-flow counts: %s; not reconciling.\n",
			strerror(errno));
		return NULL;
	}
	for (int id = 0; id < MLB_MAX_VIPS; id++) {
		if (!d->vips[id])
			continue;
		for (uint32_t k = 0; k < d->vips[id]->n_slots; k++) {
			uint32_t q = __atomic_load_n(&qs[id].q[k], __ATOMIC_RELAXED);

			s->count[id][k] -= q; /* now the delta, modulo 2^32 */
		}
	}
	return qs;
}

static void apply_deltas(struct daemon *d, struct scan *s, struct mlb_queues *qs)
{
	for (int id = 0; id < MLB_MAX_VIPS; id++) {
		struct vip_state *v = d->vips[id];

		if (!v)
			continue;
		for (uint32_t k = 0; k < v->n_slots; k++) {
			int32_t delta = (int32_t)s->count[id][k];
			char as[INET6_ADDRSTRLEN];
			uint32_t q;

			if (!delta)
				continue;
			q = __atomic_fetch_add(&qs[id].q[k], (uint32_t)delta, __ATOMIC_RELAXED);
			d->q_corrections++;
			pr_info("marllbd: VIP id %u backend %s: open flows %d -> %d to match the "
				"flow table (evicted or lost flows).\n",
				id, inet_addr_str(&v->be[k].conf.addr, as, sizeof(as)), (int32_t)q,
				(int32_t)(q + delta));
		}
	}
}

void flows_reconcile(struct daemon *d)
{
	uint64_t now = coarse_now_ns();
	struct mlb_stats before, after;
	struct scan s = {
		.d = d,
		.half_open_before = now - (uint64_t)(d->opts.idle_half_open * 1e9),
		.established_before = now - (uint64_t)(d->opts.idle_established * 1e9),
	};
	struct mlb_queues *qs;
	long visited;

	s.count = calloc(MLB_MAX_VIPS, sizeof(*s.count));
	if (!s.count)
		return;
	if (mlb_dp_read_stats(d->dp, &before))
		goto out;
	visited = mlb_dp_for_each_flow(d->dp, visit, &s);
	if (visited < 0) {
		pr_warn("marllbd: cannot scan the flow table: %s.\n", strerror((int)-visited));
		goto out;
	}
	for (size_t i = 0; i < s.n_items; i++) {
		struct reclaim_item *it = &s.items[i];
		uint64_t before_ns = counted(it->state) && it->state != MLB_FLOW_SYN ?
					     s.established_before :
					     s.half_open_before;
		int ret = mlb_dp_reclaim_flow(d->dp, &it->key, before_ns);

		if (ret == 1 && it->state == MLB_FLOW_SYN)
			d->reclaimed_half_open++;
		else if (ret == 1)
			d->reclaimed_established++;
		else if (ret == 0)
			d->reclaimed_closed++;
		else if (ret == -EBUSY && counted(it->state) && it->vip_id < MLB_MAX_VIPS &&
			 it->backend < MLB_MAX_BACKENDS)
			s.count[it->vip_id][it->backend]++; /* in use again: still open */
	}
	qs = count_deltas(d, &s);
	if (!qs || mlb_dp_read_stats(d->dp, &after))
		goto out;
	if (after.new_flows == before.new_flows && after.closed_flows == before.closed_flows)
		apply_deltas(d, &s, qs);
out:
	free(s.items);
	free(s.count);
}
