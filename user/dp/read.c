// SPDX-License-Identifier: GPL-2.0
/* Reading a data plane: q, statistics, flows (and their reclaim), samples. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp/dp_internal.h"

int mlb_dp_read_queues(struct mlb_dp *dp, uint32_t vip_id, uint32_t *q, uint32_t n)
{
	if (vip_id >= MLB_MAX_VIPS || n > MLB_MAX_BACKENDS)
		return -ERANGE;
	for (uint32_t k = 0; k < n; k++)
		q[k] = __atomic_load_n(&dp->queues[vip_id].q[k], __ATOMIC_RELAXED);
	return 0;
}

int mlb_dp_read_stats(struct mlb_dp *dp, struct mlb_stats *sum)
{
	struct mlb_stats per_cpu[dp->ncpus];
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(dp->fds[MLB_M_STATS], &zero, per_cpu))
		return -errno;
	memset(sum, 0, sizeof(*sum));
	for (int c = 0; c < dp->ncpus; c++) {
		sum->new_flows += per_cpu[c].new_flows;
		sum->closed_flows += per_cpu[c].closed_flows;
		sum->samples += per_cpu[c].samples;
		sum->ring_lost += per_cpu[c].ring_lost;
		for (int r = 0; r < MLB_DROP_MAX; r++)
			sum->drops[r] += per_cpu[c].drops[r];
	}
	return 0;
}

static int mlb_traffic_sum(struct mlb_dp *dp, int fd, uint32_t idx, struct mlb_traffic *sum)
{
	struct mlb_traffic per_cpu[dp->ncpus];

	if (bpf_map_lookup_elem(fd, &idx, per_cpu))
		return -errno;
	memset(sum, 0, sizeof(*sum));
	for (int c = 0; c < dp->ncpus; c++) {
		sum->packets += per_cpu[c].packets;
		sum->bytes += per_cpu[c].bytes;
	}
	return 0;
}

int mlb_dp_read_vip_traffic(struct mlb_dp *dp, uint32_t vip_id, struct mlb_traffic *sum)
{
	if (vip_id >= MLB_MAX_VIPS)
		return -ERANGE;
	return mlb_traffic_sum(dp, dp->fds[MLB_M_VIP_STATS], vip_id, sum);
}

int mlb_dp_read_backend_traffic(struct mlb_dp *dp, uint32_t vip_id, uint32_t k,
				struct mlb_traffic *sum)
{
	if (vip_id >= MLB_MAX_VIPS || k >= MLB_MAX_BACKENDS)
		return -ERANGE;
	return mlb_traffic_sum(dp, dp->fds[MLB_M_BE_STATS], vip_id * MLB_MAX_BACKENDS + k, sum);
}

/*
 * The next key is fetched before fn runs, so fn may delete (reclaim) the flow it is given:
 * a hash map restarts from its first key when asked for the successor of a missing one. The
 * walk is bounded for the same reason, in case other deletions keep restarting it.
 */
long mlb_dp_for_each_flow(struct mlb_dp *dp, mlb_flow_fn fn, void *ctx)
{
	int fd = dp->fds[MLB_M_FLOWS];
	struct mlb_flow_key key, next;
	long n = 0, steps = 0;
	struct mlb_flow flow;
	bool more;

	if (bpf_map_get_next_key(fd, NULL, &key))
		return 0;
	do {
		more = !bpf_map_get_next_key(fd, &key, &next);
		if (!bpf_map_lookup_elem(fd, &key, &flow)) {
			n++;
			if (fn(&key, &flow, ctx))
				break;
		}
		key = next;
	} while (more && ++steps < 2L * MLB_FLOW_TABLE_SIZE);
	return n;
}

int mlb_dp_lookup_flow(struct mlb_dp *dp, const struct mlb_flow_key *key, struct mlb_flow *flow)
{
	return bpf_map_lookup_elem(dp->fds[MLB_M_FLOWS], key, flow) ? -errno : 0;
}

int mlb_dp_reclaim_flow(struct mlb_dp *dp, const struct mlb_flow_key *key, uint64_t idle_before_ns)
{
	struct mlb_flow flow;

	/* the delete decides: the data plane's FIN/RST path cannot decrement this entry now */
	if (bpf_map_lookup_and_delete_elem(dp->fds[MLB_M_FLOWS], key, &flow))
		return -errno;
	if (flow.last_seen_ns >= idle_before_ns) {
		/* it was used meanwhile: put it back as it was, q still counts it */
		if (bpf_map_update_elem(dp->fds[MLB_M_FLOWS], key, &flow, BPF_NOEXIST) &&
		    flow.state != MLB_FLOW_CLOSED && flow.vip_id < MLB_MAX_VIPS)
			/* the client opened the same 5-tuple again: ours is gone for good */
			goto give_back;
		return -EBUSY;
	}
	if (flow.state == MLB_FLOW_CLOSED || flow.vip_id >= MLB_MAX_VIPS)
		return 0;
give_back:
	__atomic_fetch_sub(&dp->queues[flow.vip_id].q[flow.backend % MLB_MAX_BACKENDS], 1,
			   __ATOMIC_RELAXED);
	return 1;
}

struct ring_buffer *mlb_dp_samples_new(struct mlb_dp *dp, mlb_sample_fn fn, void *ctx)
{
	return ring_buffer__new(dp->fds[MLB_M_SAMPLES], fn, ctx, NULL);
}
