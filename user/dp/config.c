// SPDX-License-Identifier: GPL-2.0
/* Configuring a data plane: virtual services, backends, weights. Single writer assumed. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "dp/dp_internal.h"

uint64_t mlb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int mlb_errno(int ret)
{
	return ret < 0 ? -errno : ret;
}

int mlb_vip_key_make(struct mlb_vip_key *key, const struct mlb_vip_cfg *cfg)
{
	memset(key, 0, sizeof(*key));
	if (cfg->family == MLB_AF_INET)
		memcpy(key->addr, cfg->addr, 4);
	else if (cfg->family == MLB_AF_INET6)
		memcpy(key->addr, cfg->addr, 16);
	else
		return -EAFNOSUPPORT;
	key->family = cfg->family;
	key->port = htons(cfg->port);
	key->proto = IPPROTO_TCP;
	return 0;
}

int mlb_dp_find_vip_by_id(struct mlb_dp *dp, uint32_t id, struct mlb_vip_key *key,
			  struct mlb_vip *vip)
{
	struct mlb_vip_key k, next;
	struct mlb_vip v;
	void *prev = NULL;

	while (!bpf_map_get_next_key(dp->fds[MLB_M_VIPS], prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(dp->fds[MLB_M_VIPS], &k, &v))
			continue;
		if (v.id == id) {
			if (key)
				*key = k;
			if (vip)
				*vip = v;
			return 0;
		}
	}
	return -ENOENT;
}

long mlb_dp_for_each_vip(struct mlb_dp *dp, mlb_vip_fn fn, void *ctx)
{
	struct mlb_vip_key k, next;
	struct mlb_vip v;
	void *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(dp->fds[MLB_M_VIPS], prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(dp->fds[MLB_M_VIPS], &k, &v))
			continue;
		n++;
		if (fn(&k, &v, ctx))
			break;
	}
	return n;
}

int mlb_dp_get_vip(struct mlb_dp *dp, const struct mlb_vip_cfg *cfg, struct mlb_vip *vip)
{
	struct mlb_vip_key key;
	int err = mlb_vip_key_make(&key, cfg);

	if (err)
		return err;
	return mlb_errno(bpf_map_lookup_elem(dp->fds[MLB_M_VIPS], &key, vip));
}

void mlb_weights_derive(struct mlb_weights *w)
{
	uint32_t a_min = UINT32_MAX;

	for (uint32_t k = 0; k < MLB_MAX_BACKENDS; k++)
		if (w->a[k] && w->a[k] < a_min)
			a_min = w->a[k];
	memset(w->live, 0, sizeof(w->live));
	for (uint32_t k = 0; k < MLB_MAX_BACKENDS; k++) {
		w->r[k] = w->a[k] ? (uint32_t)((uint64_t)MLB_RECIP_MAX * a_min / w->a[k]) : 0;
		if (w->a[k])
			w->live[k / 64] |= 1ull << (k % 64);
	}
}

static int mlb_weights_put(struct mlb_dp *dp, uint32_t id, uint32_t slot, struct mlb_weights *w)
{
	uint32_t idx = id * MLB_WEIGHT_SLOTS + slot;

	mlb_weights_derive(w);
	return mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_WEIGHTS], &idx, w, BPF_ANY));
}

/* Puts every per-id array of a VIP id back to its initial state: no backends, q 0, agent
 * weights 1.0. */
static int mlb_vip_slots_reset(struct mlb_dp *dp, uint32_t id)
{
	static const struct mlb_backend unused;
	static const struct mlb_vip_fwd dsr_l2;
	struct mlb_weights w = {};
	struct mlb_traffic zero_traffic[dp->ncpus];
	struct mlb_pool pool = {};
	int err;

	memset(zero_traffic, 0, sizeof(zero_traffic));
	for (uint32_t k = 0; k < MLB_MAX_BACKENDS; k++) {
		uint32_t idx = id * MLB_MAX_BACKENDS + k;

		err = mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_BACKENDS], &idx, &unused, 0));
		if (!err)
			err = mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_BE_STATS], &idx,
							    zero_traffic, 0));
		if (err)
			return err;
	}
	err = mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_VIP_STATS], &id, zero_traffic, 0));
	if (!err)
		err = mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_VIP_FWD], &id, &dsr_l2, 0));
	if (!err)
		err = mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_POOLS], &id, &pool, 0));
	if (!err)
		err = mlb_weights_put(dp, id, MLB_WSLOT_STATIC, &w);
	for (uint32_t k = 0; k < MLB_MAX_BACKENDS; k++)
		w.a[k] = MLB_WEIGHT_ONE;
	if (!err)
		err = mlb_weights_put(dp, id, 0, &w);
	if (!err)
		err = mlb_weights_put(dp, id, 1, &w);
	if (!err)
		err = mlb_chash_rebuild(dp, id); /* no active backend: an empty table */
	for (uint32_t k = 0; k < MLB_MAX_BACKENDS; k++)
		__atomic_store_n(&dp->queues[id].q[k], 0, __ATOMIC_RELAXED);
	return err;
}

static int mlb_vip_addr_ref(struct mlb_dp *dp, const struct mlb_vip_key *vk, int delta)
{
	struct mlb_vip_key ak = { .family = vk->family };
	uint32_t count = 0;

	memcpy(ak.addr, vk->addr, sizeof(ak.addr));
	bpf_map_lookup_elem(dp->fds[MLB_M_VIP_ADDRS], &ak, &count);
	count += delta;
	if ((int32_t)count <= 0)
		return mlb_errno(bpf_map_delete_elem(dp->fds[MLB_M_VIP_ADDRS], &ak));
	return mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_VIP_ADDRS], &ak, &count, BPF_ANY));
}

/* A VIP into mlb_vips and its by-id copy (include/marllb.h): every write of one goes here. */
static int mlb_vip_write(struct mlb_dp *dp, const struct mlb_vip_key *key,
			 const struct mlb_vip *vip, __u64 flags)
{
	struct mlb_vip_entry e = { .key = *key, .vip = *vip };
	int err = mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_VIPS], key, vip, flags));

	if (!err)
		err = mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_VIP_BY_ID], &vip->id, &e, 0));
	return err;
}

/* Rebuilds the filter (include/marllb.h) from mlb_vips: the data plane finds a VIP only once
 * its slot names it, so this comes after everything else of a new VIP. */
static int mlb_vip_filter_rebuild(struct mlb_dp *dp)
{
	static struct mlb_vip_filter vf;
	struct mlb_vip_key k, next;
	struct mlb_vip v;
	void *prev = NULL;
	uint32_t zero = 0, h;

	memset(&vf, MLB_VIP_SLOT_NONE, sizeof(vf));
	while (!bpf_map_get_next_key(dp->fds[MLB_M_VIPS], prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(dp->fds[MLB_M_VIPS], &k, &v))
			continue;
		h = mlb_vip_filter_hash(k.addr, k.port);
		vf.slot[h] = vf.slot[h] == MLB_VIP_SLOT_NONE ? v.id + 1 : MLB_VIP_SLOT_MANY;
	}
	return mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_VIP_FILTER], &zero, &vf, 0));
}

/* Can the VIP's forwarding reach each of its backends? */
static int mlb_fwd_check_pool(struct mlb_dp *dp, const struct mlb_vip_key *key,
			      const struct mlb_vip *vip, const struct mlb_vip_fwd *fwd)
{
	struct mlb_backend be;
	int err = 0;

	for (uint32_t k = 0; !err && k < vip->n_backends && k < MLB_MAX_BACKENDS; k++)
		if (!mlb_dp_get_backend(dp, vip->id, k, &be) && be.state != MLB_BACKEND_UNUSED)
			err = mlb_fwd_check_backend(fwd, key->family, be.family);
	return err;
}

/*
 * Each used backend's copy of whether the VIP encapsulates (include/marllb.h). A packet reads
 * the copy, then mlb_vip_fwd for the details: so the copies go on after mlb_vip_fwd starts
 * encapsulating, and off before it stops.
 */
static int mlb_pool_set_encap(struct mlb_dp *dp, const struct mlb_vip *vip, bool encap)
{
	struct mlb_backend be;
	int err = 0;

	for (uint32_t k = 0; !err && k < vip->n_backends && k < MLB_MAX_BACKENDS; k++) {
		uint32_t idx = vip->id * MLB_MAX_BACKENDS + k;

		if (mlb_dp_get_backend(dp, vip->id, k, &be) || be.state == MLB_BACKEND_UNUSED ||
		    be.encap == encap)
			continue;
		be.encap = encap;
		err = mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_BACKENDS], &idx, &be, 0));
	}
	return err;
}

int mlb_dp_set_vip(struct mlb_dp *dp, const struct mlb_vip_cfg *cfg, uint32_t *id)
{
	bool used[MLB_MAX_VIPS] = {};
	struct mlb_vip_fwd fwd;
	struct mlb_vip_key key;
	struct mlb_vip vip;
	int err;

	if (cfg->policy >= MLB_POLICY_MAX)
		return -EINVAL;
	err = mlb_vip_key_make(&key, cfg);
	if (!err)
		err = mlb_fwd_make(&cfg->fwd, key.family, &fwd);
	if (err)
		return err;
	if (!bpf_map_lookup_elem(dp->fds[MLB_M_VIPS], &key, &vip)) {
		vip.policy = cfg->policy;
		err = mlb_fwd_check_pool(dp, &key, &vip, &fwd);
		if (!err && fwd.mode == MLB_FWD_DSR_L2)
			err = mlb_pool_set_encap(dp, &vip, false);
		if (!err)
			err = mlb_errno(
				bpf_map_update_elem(dp->fds[MLB_M_VIP_FWD], &vip.id, &fwd, 0));
		if (!err && fwd.mode != MLB_FWD_DSR_L2)
			err = mlb_pool_set_encap(dp, &vip, true);
		if (!err)
			err = mlb_vip_write(dp, &key, &vip, BPF_EXIST);
		if (!err && id)
			*id = vip.id;
		return err;
	}
	for (uint32_t i = 0; i < MLB_MAX_VIPS; i++)
		if (!mlb_dp_find_vip_by_id(dp, i, NULL, NULL))
			used[i] = true;
	memset(&vip, 0, sizeof(vip));
	while (vip.id < MLB_MAX_VIPS && used[vip.id])
		vip.id++;
	if (vip.id == MLB_MAX_VIPS)
		return -ENOSPC;
	vip.policy = cfg->policy;
	err = mlb_vip_slots_reset(dp, vip.id);
	if (!err)
		err = mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_VIP_FWD], &vip.id, &fwd, 0));
	if (!err)
		err = mlb_vip_addr_ref(dp, &key, 1);
	if (err)
		return err;
	err = mlb_vip_write(dp, &key, &vip, BPF_NOEXIST);
	/* last: the data plane sees the service only once it is complete */
	if (!err)
		err = mlb_vip_filter_rebuild(dp);
	if (err) {
		bpf_map_delete_elem(dp->fds[MLB_M_VIPS], &key);
		mlb_vip_addr_ref(dp, &key, -1);
		return err;
	}
	if (id)
		*id = vip.id;
	return 0;
}

int mlb_dp_del_vip(struct mlb_dp *dp, const struct mlb_vip_cfg *cfg)
{
	struct mlb_vip_key key;
	struct mlb_vip vip;
	int err;

	err = mlb_vip_key_make(&key, cfg);
	if (err)
		return err;
	if (bpf_map_lookup_elem(dp->fds[MLB_M_VIPS], &key, &vip))
		return -ENOENT;
	err = mlb_errno(bpf_map_delete_elem(dp->fds[MLB_M_VIPS], &key));
	if (err)
		return err;
	mlb_vip_addr_ref(dp, &key, -1);
	mlb_vip_filter_rebuild(dp);
	bpf_map_update_elem(dp->fds[MLB_M_VIP_BY_ID], &vip.id, &(struct mlb_vip_entry){}, 0);
	/* Forget its flows, so that a VIP that reuses the id starts from q = 0. */
	mlb_flows_forget_vip(dp, vip.id);
	return mlb_vip_slots_reset(dp, vip.id);
}

static int mlb_backend_check(const struct mlb_backend_cfg *cfg)
{
	if (cfg->family != MLB_AF_INET && cfg->family != MLB_AF_INET6)
		return -EAFNOSUPPORT;
	if (cfg->state < MLB_BACKEND_ACTIVE || cfg->state > MLB_BACKEND_DOWN)
		return -EINVAL;
	if (cfg->mac[0] & 1) /* a group address cannot be a server */
		return -EINVAL;
	return 0;
}

static int mlb_pool_set_active(struct mlb_dp *dp, uint32_t id, uint32_t k, bool active)
{
	struct mlb_pool pool;

	if (bpf_map_lookup_elem(dp->fds[MLB_M_POOLS], &id, &pool))
		return -errno;
	if (active)
		pool.active[k / 64] |= 1ull << (k % 64);
	else
		pool.active[k / 64] &= ~(1ull << (k % 64));
	return mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_POOLS], &id, &pool, 0));
}

int mlb_dp_set_backend(struct mlb_dp *dp, uint32_t vip_id, uint32_t k,
		       const struct mlb_backend_cfg *cfg)
{
	uint32_t idx = vip_id * MLB_MAX_BACKENDS + k, widx;
	struct mlb_backend be = {};
	struct mlb_vip_fwd fwd;
	struct mlb_vip_key key;
	struct mlb_weights w;
	struct mlb_vip vip;
	int err;

	if (vip_id >= MLB_MAX_VIPS || k >= MLB_MAX_BACKENDS)
		return -ERANGE;
	err = mlb_backend_check(cfg);
	if (!err)
		err = mlb_dp_find_vip_by_id(dp, vip_id, &key, &vip);
	if (!err)
		err = mlb_dp_get_forward(dp, vip_id, &fwd);
	if (!err)
		err = mlb_fwd_check_backend(&fwd, key.family, cfg->family);
	if (err)
		return err;
	memcpy(be.addr, cfg->addr, cfg->family == MLB_AF_INET ? 4 : 16);
	memcpy(be.mac, cfg->mac, sizeof(be.mac));
	be.state = cfg->state;
	be.family = cfg->family;
	be.weight = cfg->weight;
	be.encap = fwd.mode != MLB_FWD_DSR_L2;
	widx = vip_id * MLB_WEIGHT_SLOTS + MLB_WSLOT_STATIC;
	if (bpf_map_lookup_elem(dp->fds[MLB_M_WEIGHTS], &widx, &w))
		return -errno;
	w.a[k] = cfg->weight;
	/* address and MAC before the backend can be chosen, the pool size last */
	err = mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_BACKENDS], &idx, &be, 0));
	if (!err)
		err = mlb_weights_put(dp, vip_id, MLB_WSLOT_STATIC, &w);
	if (!err)
		err = mlb_pool_set_active(dp, vip_id, k, cfg->state == MLB_BACKEND_ACTIVE);
	if (!err && k >= vip.n_backends) {
		vip.n_backends = k + 1;
		err = mlb_vip_write(dp, &key, &vip, BPF_EXIST);
	}
	if (!err)
		err = mlb_chash_rebuild(dp, vip_id);
	return err;
}

int mlb_dp_get_backend(struct mlb_dp *dp, uint32_t vip_id, uint32_t k, struct mlb_backend *be)
{
	uint32_t idx = vip_id * MLB_MAX_BACKENDS + k;

	if (vip_id >= MLB_MAX_VIPS || k >= MLB_MAX_BACKENDS)
		return -ERANGE;
	return mlb_errno(bpf_map_lookup_elem(dp->fds[MLB_M_BACKENDS], &idx, be));
}

int mlb_dp_set_backend_state(struct mlb_dp *dp, uint32_t vip_id, uint32_t k, uint8_t state)
{
	uint32_t idx = vip_id * MLB_MAX_BACKENDS + k;
	struct mlb_backend be;
	int err;

	if (state < MLB_BACKEND_ACTIVE || state > MLB_BACKEND_DOWN)
		return -EINVAL;
	err = mlb_dp_get_backend(dp, vip_id, k, &be);
	if (err)
		return err;
	if (be.state == MLB_BACKEND_UNUSED)
		return -ENOENT;
	/* stop new flows before the state says so, start them after */
	if (state != MLB_BACKEND_ACTIVE)
		err = mlb_pool_set_active(dp, vip_id, k, false);
	be.state = state;
	if (!err)
		err = mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_BACKENDS], &idx, &be, 0));
	if (!err && state == MLB_BACKEND_ACTIVE)
		err = mlb_pool_set_active(dp, vip_id, k, true);
	if (!err)
		err = mlb_chash_rebuild(dp, vip_id);
	return err;
}

static uint32_t mlb_weight_fixed(float a)
{
	double v;

	if (!(a > 0)) /* also NaN */
		return 0;
	v = (double)a * MLB_WEIGHT_ONE;
	if (v < 1)
		return 1;
	if (v > UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)lrint(v);
}

int64_t mlb_dp_set_weights(struct mlb_dp *dp, uint32_t vip_id, const float *a, uint32_t n)
{
	struct mlb_weights w;
	struct mlb_pool pool;
	uint32_t slot;
	uint64_t now;
	int err;

	if (vip_id >= MLB_MAX_VIPS || n > MLB_MAX_BACKENDS)
		return -ERANGE;
	if (bpf_map_lookup_elem(dp->fds[MLB_M_POOLS], &vip_id, &pool))
		return -errno;
	/* The idle slot was live until the last flip: a reader that picked it then has long
	 * finished (one packet, under RCU) after the grace time. */
	now = mlb_now_ns();
	if (pool.flip_ns && now - pool.flip_ns < MLB_WEIGHT_GRACE_NS) {
		uint64_t wait = MLB_WEIGHT_GRACE_NS - (now - pool.flip_ns);
		struct timespec ts = { .tv_sec = wait / 1000000000ull,
				       .tv_nsec = wait % 1000000000ull };

		nanosleep(&ts, NULL);
	}
	slot = (pool.weight_slot & 1) ^ 1;
	w.gen = pool.weight_gen + 1;
	for (uint32_t k = 0; k < MLB_MAX_BACKENDS; k++)
		w.a[k] = k < n ? mlb_weight_fixed(a[k]) : MLB_WEIGHT_ONE;
	err = mlb_weights_put(dp, vip_id, slot, &w);
	if (err)
		return err;
	/* re-read: only this writer changes the pool, but keep its newest active bits */
	if (bpf_map_lookup_elem(dp->fds[MLB_M_POOLS], &vip_id, &pool))
		return -errno;
	pool.weight_slot = slot;
	pool.weight_gen = w.gen;
	pool.flip_ns = mlb_now_ns();
	err = mlb_errno(bpf_map_update_elem(dp->fds[MLB_M_POOLS], &vip_id, &pool, 0));
	return err ? err : (int64_t)w.gen;
}

int mlb_dp_get_weights(struct mlb_dp *dp, uint32_t vip_id, float *a, uint32_t n, uint64_t *gen)
{
	struct mlb_weights w;
	struct mlb_pool pool;
	uint32_t idx;

	if (vip_id >= MLB_MAX_VIPS || n > MLB_MAX_BACKENDS)
		return -ERANGE;
	if (bpf_map_lookup_elem(dp->fds[MLB_M_POOLS], &vip_id, &pool))
		return -errno;
	idx = vip_id * MLB_WEIGHT_SLOTS + (pool.weight_slot & 1);
	if (bpf_map_lookup_elem(dp->fds[MLB_M_WEIGHTS], &idx, &w))
		return -errno;
	for (uint32_t k = 0; k < n; k++)
		a[k] = (float)w.a[k] / MLB_WEIGHT_ONE;
	if (gen)
		*gen = w.gen;
	return 0;
}
