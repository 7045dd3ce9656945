// SPDX-License-Identifier: GPL-2.0
/*
 * Flow hygiene, in slices that never hold the event loop longer than FLOWS_SLICE_NS (one
 * slice per control step). A pass starts every --reconcile-interval seconds (at once if the
 * last one took longer) and reads the flow tables in batches (mlb_dp_flow_scan(): robust to
 * concurrent inserts and deletes, so it works under traffic):
 *  1. mlb_flows (counted): flows idle for --idle-established are reclaimed. They leave the
 *     count (mlb_dp_reclaim_flow() gives back q exactly once) but keep their backend,
 *     uncounted, in mlb_half_open: if they resume they are counted again.
 *  2. mlb_half_open (uncounted): half-open and closed entries idle for --idle-half-open are
 *     deleted, so that the LRU rarely needs to evict. No count is involved.
 *  3. Reconciliation. The data plane keeps q equal to the counted entries by construction
 *     (Documentation/dataplane.md, "Flow accounting"); this only repairs counts written from
 *     outside or broken by a bug. Per backend, the entries the pass saw differ from q at its
 *     end by at most the data plane's own changes of q meanwhile (opened + closed of
 *     mlb_be_stats): a flow that came or went during the pass may or may not have been seen.
 *     A difference beyond that bound is certain drift and is corrected by its certain part,
 *     with an atomic add that composes with the data plane's updates. So a count is fixed
 *     exactly when its backend was quiet during a pass, and brought within the traffic of one
 *     pass of the truth otherwise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/log.h"

#define FLOWS_SLICE_NS 2000000ULL /* the event loop is held at most about this long */
#define FLOWS_BATCH 256

enum pass_phase {
	PASS_IDLE,
	PASS_COUNTED, /* mlb_flows: idle reclaim and counting */
	PASS_UNCOUNTED, /* mlb_half_open: stale half-open and closed entries */
};

struct flows_pass {
	enum pass_phase phase;
	struct mlb_dp *dp; /* the data plane the pass reads */
	struct mlb_flow_scan scan;
	struct mlb_flow_key keys[FLOWS_BATCH];
	struct mlb_flow vals[FLOWS_BATCH];
	long n, next; /* the batch read, and the first entry not processed yet */
	uint64_t established_before, half_open_before;
	struct vip_state *vips[MLB_MAX_VIPS]; /* as at the start: a reload voids the counts */
	uint32_t n_slots[MLB_MAX_VIPS]; /* backends whose counters were read at the start */
	uint32_t count[MLB_MAX_VIPS][MLB_MAX_BACKENDS]; /* counted entries seen */
	uint64_t ops[MLB_MAX_VIPS][MLB_MAX_BACKENDS]; /* data-plane q changes before the pass */
	uint64_t busy_ns; /* time spent in this pass's slices */
	uint64_t slice_max_ns;
};

static struct flows_pass *pass;

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* opened + closed per backend: the data plane's own changes of q, monotonic */
static int read_ops(struct daemon *d, uint32_t id, uint64_t *ops)
{
	struct mlb_traffic t[MLB_MAX_BACKENDS];
	uint32_t n = d->vips[id]->n_slots;
	int err = mlb_dp_read_pool_traffic(d->dp, id, t, n);

	for (uint32_t k = 0; !err && k < n; k++)
		ops[k] = t[k].opened + t[k].closed;
	return err;
}

static int pass_start(struct daemon *d)
{
	uint64_t coarse = clock_ns(CLOCK_MONOTONIC_COARSE);

	if (!pass) {
		pass = calloc(1, sizeof(*pass));
		if (!pass)
			return -ENOMEM;
	}
	memset(pass->count, 0, sizeof(pass->count));
	pass->dp = d->dp;
	pass->established_before = coarse - (uint64_t)(d->opts.idle_established * 1e9);
	pass->half_open_before = coarse - (uint64_t)(d->opts.idle_half_open * 1e9);
	for (int id = 0; id < MLB_MAX_VIPS; id++) {
		pass->vips[id] = d->vips[id];
		pass->n_slots[id] = d->vips[id] ? d->vips[id]->n_slots : 0;
		if (d->vips[id] && read_ops(d, id, pass->ops[id])) {
			pr_warn("marllbd: cannot read the backends' flow counters of VIP id %d: %s; "
				"not reconciling.\n",
				id, strerror(errno));
			return -EIO;
		}
	}
	mlb_flow_scan_init(&pass->scan, MLB_TABLE_FLOWS);
	pass->n = pass->next = 0;
	pass->busy_ns = pass->slice_max_ns = 0;
	pass->phase = PASS_COUNTED;
	return 0;
}

static bool known_slot(const struct mlb_flow *f)
{
	return f->vip_id < MLB_MAX_VIPS && f->backend < MLB_MAX_BACKENDS;
}

static void visit_counted(struct daemon *d, const struct mlb_flow_key *key,
			  const struct mlb_flow *f)
{
	int ret = -EBUSY;

	if (f->last_seen_ns < pass->established_before)
		ret = mlb_dp_reclaim_flow(d->dp, key, pass->established_before);
	if (ret == 1)
		d->reclaimed_established++;
	else if (ret == -EBUSY && known_slot(f))
		pass->count[f->vip_id][f->backend]++; /* still counted */
}

static void visit_uncounted(struct daemon *d, const struct mlb_flow_key *key,
			    const struct mlb_flow *f)
{
	/* established ones (refused, or reclaimed here) are left to the LRU: they are already
	 * out of the count and their entry still knows their backend */
	if ((f->state != MLB_FLOW_SYN && f->state != MLB_FLOW_CLOSED) ||
	    f->last_seen_ns >= pass->half_open_before)
		return;
	if (mlb_dp_forget_flow(d->dp, key, pass->half_open_before) == 1) {
		if (f->state == MLB_FLOW_SYN)
			d->reclaimed_half_open++;
		else
			d->reclaimed_closed++;
	}
}

static void reconcile(struct daemon *d)
{
	for (int id = 0; id < MLB_MAX_VIPS; id++) {
		struct vip_state *v = d->vips[id];
		uint64_t ops[MLB_MAX_BACKENDS];
		uint32_t q[MLB_MAX_BACKENDS];

		if (!v || v != pass->vips[id])
			continue; /* added, removed or replaced during the pass */
		if (read_ops(d, id, ops) || mlb_dp_read_queues(d->dp, id, q, v->n_slots))
			continue;
		for (uint32_t k = 0; k < v->n_slots && k < pass->n_slots[id]; k++) {
			int64_t delta = (int64_t)pass->count[id][k] - (int32_t)q[k];
			int64_t bound = ops[k] - pass->ops[id][k];
			char as[INET6_ADDRSTRLEN];
			uint32_t old;

			if (delta <= bound && delta >= -bound)
				continue;
			delta -= delta > 0 ? bound : -bound;
			if (mlb_dp_adjust_queue(d->dp, id, k, (int32_t)delta, &old))
				continue;
			d->q_corrections++;
			pr_info("marllbd: VIP id %d backend %s: open flows %d -> %d to match the "
				"flow table (written from outside or a bug; %lld flows came or went "
				"during the check).\n",
				id, inet_addr_str(&v->be[k].conf.addr, as, sizeof(as)),
				(int32_t)old, (int32_t)(old + delta), (long long)bound);
		}
	}
}

/* Next phase; returns false once the pass is over. */
static bool pass_advance(struct daemon *d)
{
	if (pass->phase == PASS_COUNTED) {
		mlb_flow_scan_init(&pass->scan, MLB_TABLE_HALF_OPEN);
		pass->n = pass->next = 0;
		pass->phase = PASS_UNCOUNTED;
		return true;
	}
	reconcile(d);
	pass->phase = PASS_IDLE;
	return false;
}

void flows_reconcile(struct daemon *d)
{
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), t;
	double now = t0 * 1e-9;

	if (pass && pass->phase != PASS_IDLE && pass->dp != d->dp)
		pass->phase = PASS_IDLE; /* another data plane: start over */
	if (!pass || pass->phase == PASS_IDLE) {
		if (now - d->last_reconcile < d->opts.reconcile_interval)
			return;
		d->last_reconcile = now;
		if (pass_start(d))
			return;
	}
	do {
		if (pass->next == pass->n) {
			pass->n = mlb_dp_flow_scan(d->dp, &pass->scan, pass->keys, pass->vals,
						   FLOWS_BATCH);
			pass->next = 0;
			if (pass->n < 0) {
				pr_warn("marllbd: cannot read the flow table: %s.\n",
					strerror((int)-pass->n));
				pass->phase = PASS_IDLE;
				pass->n = 0;
				break;
			}
			if (!pass->n && !pass_advance(d))
				break;
			continue;
		}
		if (pass->phase == PASS_COUNTED)
			visit_counted(d, &pass->keys[pass->next], &pass->vals[pass->next]);
		else
			visit_uncounted(d, &pass->keys[pass->next], &pass->vals[pass->next]);
		pass->next++;
	} while ((t = clock_ns(CLOCK_MONOTONIC)) - t0 < FLOWS_SLICE_NS);
	t = clock_ns(CLOCK_MONOTONIC) - t0;
	pass->busy_ns += t;
	if (t > pass->slice_max_ns)
		pass->slice_max_ns = t;
	if (pass->phase == PASS_IDLE) /* the pass is over: what it held the loop for, at most */
		d->reconcile_seconds = pass->slice_max_ns * 1e-9;
}
