// SPDX-License-Identifier: GPL-2.0
/*
 * The flow tables from user space: their sizes and memory, batched scans, lookups, idle
 * reclaim (the other half of the data plane's exactly-once q accounting, bpf/flows.h) and the
 * SYN budget (bpf/cpu_state.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp/dp_internal.h"

static int table_fd(const struct mlb_dp *dp, enum mlb_flow_table table)
{
	return dp->fds[table == MLB_TABLE_FLOWS ? MLB_M_FLOWS : MLB_M_HALF_OPEN];
}

static uint32_t map_max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

/* The kernel's memory accounting of a map (fdinfo "memlock"), 0 if unknown. */
static uint64_t map_bytes(int fd)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

int mlb_dp_tables(struct mlb_dp *dp, struct mlb_dp_tables *t)
{
	memset(t, 0, sizeof(*t));
	t->flow_table_size = map_max_entries(dp->fds[MLB_M_FLOWS]);
	t->half_open_table_size = map_max_entries(dp->fds[MLB_M_HALF_OPEN]);
	if (!t->flow_table_size || !t->half_open_table_size)
		return -errno ?: -EINVAL;
	t->flow_table_bytes = map_bytes(dp->fds[MLB_M_FLOWS]);
	t->half_open_table_bytes = map_bytes(dp->fds[MLB_M_HALF_OPEN]);
	for (int i = 0; i < MLB_M_COUNT; i++)
		t->all_maps_bytes += map_bytes(dp->fds[i]);
	return 0;
}

void mlb_dp_tables_str(const struct mlb_dp_tables *t, char *buf, size_t len)
{
	const double mib = 1024.0 * 1024.0;

	snprintf(buf, len,
		 "flow table %u entries (%.1f MiB), half-open table %u entries (%.1f MiB), "
		 "all maps %.1f MiB",
		 t->flow_table_size, t->flow_table_bytes / mib, t->half_open_table_size,
		 t->half_open_table_bytes / mib, t->all_maps_bytes / mib);
}

uint32_t mlb_dp_syn_budget_default(uint32_t half_open_table_size, int ncpus)
{
	/* per CPU: share / 2 entries per MLB_HALF_OPEN_LIFE_NS, counted per window */
	uint64_t share = half_open_table_size / (ncpus > 0 ? ncpus : 1);
	uint64_t b = (share << MLB_SYN_WINDOW_SHIFT) / (2 * MLB_HALF_OPEN_LIFE_NS);

	return b ? (uint32_t)b : 1;
}

static int cpu_state_write(struct mlb_dp *dp, uint32_t budget)
{
	struct mlb_cpu_state g[dp->ncpus];
	uint32_t zero = 0;

	memset(g, 0, sizeof(g));
	for (int c = 0; c < dp->ncpus; c++)
		g[c].budget = budget;
	return bpf_map_update_elem(dp->fds[MLB_M_CPU_STATE], &zero, g, 0) ? -errno : 0;
}

int mlb_dp_set_syn_budget(struct mlb_dp *dp, uint32_t per_window)
{
	return cpu_state_write(dp, per_window ?: 1);
}

int mlb_syn_budget_init(struct mlb_dp *dp)
{
	struct mlb_cpu_state g[dp->ncpus];
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(dp->fds[MLB_M_CPU_STATE], &zero, g))
		return -errno;
	if (g[0].budget)
		return 0; /* set before, by this or another process */
	return cpu_state_write(dp, mlb_dp_syn_budget_default(
					   map_max_entries(dp->fds[MLB_M_HALF_OPEN]), dp->ncpus));
}

void mlb_flow_scan_init(struct mlb_flow_scan *s, enum mlb_flow_table table)
{
	memset(s, 0, sizeof(*s));
	s->table = table;
}

long mlb_dp_flow_scan(struct mlb_dp *dp, struct mlb_flow_scan *s, struct mlb_flow_key *keys,
		      struct mlb_flow *flows, uint32_t max)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u64 out = 0;
	__u32 n = max;
	int err;

	if (s->done)
		return 0;
	if (max < 64)
		return -EINVAL; /* a hash bucket must fit in one batch */
	err = bpf_map_lookup_batch(table_fd(dp, s->table), s->started ? &s->cursor : NULL, &out,
				   keys, flows, &n, &o);
	if (err && errno != ENOENT)
		return -errno;
	s->started = true;
	if (err)
		s->done = true; /* the last batch (n may be 0) */
	else
		s->cursor = out;
	return n;
}

long mlb_dp_for_each_flow(struct mlb_dp *dp, enum mlb_flow_table table, mlb_flow_fn fn, void *ctx)
{
	struct mlb_flow_key keys[256];
	struct mlb_flow flows[256];
	struct mlb_flow_scan s;
	long visited = 0, n;

	mlb_flow_scan_init(&s, table);
	while ((n = mlb_dp_flow_scan(dp, &s, keys, flows, 256)) > 0) {
		for (long i = 0; i < n; i++) {
			visited++;
			if (fn && fn(&keys[i], &flows[i], ctx))
				return visited;
		}
	}
	return n < 0 ? n : visited;
}

int mlb_dp_lookup_flow(struct mlb_dp *dp, const struct mlb_flow_key *key, struct mlb_flow *flow,
		       enum mlb_flow_table *table)
{
	enum mlb_flow_table t = MLB_TABLE_FLOWS;

	if (bpf_map_lookup_elem(dp->fds[MLB_M_FLOWS], key, flow)) {
		t = MLB_TABLE_HALF_OPEN;
		if (bpf_map_lookup_elem(dp->fds[MLB_M_HALF_OPEN], key, flow))
			return -errno;
	}
	if (table)
		*table = t;
	return 0;
}

static void q_give_back(struct mlb_dp *dp, const struct mlb_flow *flow)
{
	if (flow->vip_id < MLB_MAX_VIPS)
		__atomic_fetch_sub(&dp->queues[flow->vip_id].q[flow->backend % MLB_MAX_BACKENDS], 1,
				   __ATOMIC_RELAXED);
}

/*
 * The uncounted copy goes into mlb_half_open before the counted entry leaves mlb_flows, so
 * the flow's packets find one or the other at every moment. If a packet meanwhile finds only
 * the copy, the data plane counts the flow again from it (+1) and our delete still gives
 * back the original (-1): the flow ends up counted once, as it should while it is in use.
 */
int mlb_dp_reclaim_flow(struct mlb_dp *dp, const struct mlb_flow_key *key, uint64_t idle_before_ns)
{
	int fd = dp->fds[MLB_M_FLOWS], lru = dp->fds[MLB_M_HALF_OPEN];
	struct mlb_flow flow;

	if (bpf_map_lookup_elem(fd, key, &flow))
		return -errno;
	if (flow.last_seen_ns >= idle_before_ns)
		return -EBUSY;
	/* fails only if the data plane just closed it (a CLOSED entry is there): the delete
	 * below fails too */
	bpf_map_update_elem(lru, key, &flow, BPF_NOEXIST);
	if (bpf_map_lookup_and_delete_elem(fd, key, &flow))
		return errno == ENOENT ? 0 : -errno;
	if (flow.last_seen_ns >= idle_before_ns &&
	    !bpf_map_update_elem(fd, key, &flow, BPF_NOEXIST)) {
		/* used meanwhile and back in the count, as if never touched */
		bpf_map_delete_elem(lru, key);
		return -EBUSY;
	}
	q_give_back(dp, &flow);
	return 1;
}

int mlb_dp_forget_flow(struct mlb_dp *dp, const struct mlb_flow_key *key, uint64_t idle_before_ns)
{
	int lru = dp->fds[MLB_M_HALF_OPEN];
	struct mlb_flow flow;

	if (bpf_map_lookup_and_delete_elem(lru, key, &flow))
		return -errno;
	if (flow.last_seen_ns >= idle_before_ns) {
		bpf_map_update_elem(lru, key, &flow, BPF_NOEXIST); /* a newer one may be there */
		return -EBUSY;
	}
	return 1;
}

void mlb_flows_forget_vip(struct mlb_dp *dp, uint32_t vip_id)
{
	struct mlb_flow_key keys[256];
	struct mlb_flow flows[256];

	for (int t = MLB_TABLE_FLOWS; t <= MLB_TABLE_HALF_OPEN; t++) {
		struct mlb_flow_scan s;
		long n;

		mlb_flow_scan_init(&s, t);
		while ((n = mlb_dp_flow_scan(dp, &s, keys, flows, 256)) > 0)
			for (long i = 0; i < n; i++)
				if (flows[i].vip_id == vip_id)
					bpf_map_delete_elem(table_fd(dp, t), &keys[i]);
	}
}
