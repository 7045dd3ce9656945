// SPDX-License-Identifier: GPL-2.0
/* Reading a data plane: q, statistics, traffic, samples. */
#include <errno.h>
#include <stdlib.h>
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

int mlb_dp_adjust_queue(struct mlb_dp *dp, uint32_t vip_id, uint32_t k, int32_t delta,
			uint32_t *old)
{
	uint32_t v;

	if (vip_id >= MLB_MAX_VIPS || k >= MLB_MAX_BACKENDS)
		return -ERANGE;
	v = __atomic_fetch_add(&dp->queues[vip_id].q[k], (uint32_t)delta, __ATOMIC_RELAXED);
	if (old)
		*old = v;
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
		sum->established += per_cpu[c].established;
		sum->refused += per_cpu[c].refused;
		sum->syn_stateless += per_cpu[c].syn_stateless;
		sum->fallback += per_cpu[c].fallback;
		sum->icmp_too_big += per_cpu[c].icmp_too_big;
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
		sum->opened += per_cpu[c].opened;
		sum->closed += per_cpu[c].closed;
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

int mlb_dp_read_pool_traffic(struct mlb_dp *dp, uint32_t vip_id, struct mlb_traffic *sums,
			     uint32_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	/* a batch resumes after the key it is given: after the last backend of the VIP before */
	uint32_t in = vip_id * MLB_MAX_BACKENDS - 1, out, keys[MLB_MAX_BACKENDS], count = n;
	struct mlb_traffic *vals;
	int err = 0;

	if (vip_id >= MLB_MAX_VIPS || n > MLB_MAX_BACKENDS)
		return -ERANGE;
	memset(sums, 0, n * sizeof(*sums));
	if (!n)
		return 0;
	vals = calloc((size_t)n * dp->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_batch(dp->fds[MLB_M_BE_STATS], vip_id ? &in : NULL, &out, keys, vals,
				 &count, &o) &&
	    errno != ENOENT)
		err = -errno;
	else if (count != n)
		err = -EIO;
	for (uint32_t k = 0; !err && k < n; k++) {
		for (int c = 0; c < dp->ncpus; c++) {
			const struct mlb_traffic *t = &vals[(size_t)k * dp->ncpus + c];

			sums[k].packets += t->packets;
			sums[k].bytes += t->bytes;
			sums[k].opened += t->opened;
			sums[k].closed += t->closed;
		}
	}
	free(vals);
	return err;
}

struct ring_buffer *mlb_dp_samples_new(struct mlb_dp *dp, mlb_sample_fn fn, void *ctx)
{
	return ring_buffer__new(dp->fds[MLB_M_SAMPLES], fn, ctx, NULL);
}
