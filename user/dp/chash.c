// SPDX-License-Identifier: GPL-2.0
/*
 * The consistent-hash lookup table of a VIP (mlb_chash, bpf/chash.h): Maglev's population
 * (Eisenbud et al., NSDI 2016) over the active backends. Each backend walks its own
 * permutation of the MLB_CHASH_SIZE slots, derived from its address alone, and the backends
 * take turns claiming their next free slot, in address order. So every LB with the same pool
 * builds the same table whatever slots its backends sit in, each backend gets
 * MLB_CHASH_SIZE / n slots (+-1), and a backend that comes or goes moves few slots of others.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "dp/dp_internal.h"

struct chash_member {
	uint8_t id[17]; /* family, then the address: what orders and seeds a backend */
	uint16_t k;
	uint32_t offset, skip, next;
};

/* FNV-1a, 64 bit, then a murmur3-style finaliser: a fixed function of the bytes. */
static uint64_t chash_bytes(const uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static int member_cmp(const void *a, const void *b)
{
	return memcmp(((const struct chash_member *)a)->id, ((const struct chash_member *)b)->id,
		      sizeof(((const struct chash_member *)a)->id));
}

/* Fills t->slot from the members (n >= 1); Maglev's population loop. */
static void chash_populate(struct mlb_chash *t, struct chash_member *m, uint32_t n)
{
	uint32_t filled = 0;

	for (uint32_t s = 0; s < MLB_CHASH_SIZE; s++)
		t->slot[s] = MLB_CHASH_NONE;
	for (;;) {
		for (uint32_t i = 0; i < n; i++) {
			uint32_t c;

			do {
				c = (m[i].offset + (uint64_t)m[i].next * m[i].skip) %
				    MLB_CHASH_SIZE;
				m[i].next++;
			} while (t->slot[c] != MLB_CHASH_NONE);
			t->slot[c] = m[i].k;
			if (++filled == MLB_CHASH_SIZE)
				return;
		}
	}
}

int mlb_chash_rebuild(struct mlb_dp *dp, uint32_t vip_id)
{
	static struct mlb_chash t; /* 32 KiB: not on the stack */
	struct chash_member m[MLB_MAX_BACKENDS];
	struct mlb_pool pool;
	uint32_t n = 0;

	if (vip_id >= MLB_MAX_VIPS)
		return -ERANGE;
	if (bpf_map_lookup_elem(dp->fds[MLB_M_POOLS], &vip_id, &pool))
		return -errno;
	for (uint32_t k = 0; k < MLB_MAX_BACKENDS; k++) {
		uint32_t idx = vip_id * MLB_MAX_BACKENDS + k;
		struct mlb_backend be;

		if (!((pool.active[k / 64] >> (k % 64)) & 1))
			continue;
		if (bpf_map_lookup_elem(dp->fds[MLB_M_BACKENDS], &idx, &be))
			return -errno;
		memset(&m[n], 0, sizeof(m[n]));
		m[n].id[0] = be.family;
		memcpy(m[n].id + 1, be.addr, 16);
		m[n].k = k;
		m[n].offset = chash_bytes(m[n].id, sizeof(m[n].id), 1) % MLB_CHASH_SIZE;
		m[n].skip = chash_bytes(m[n].id, sizeof(m[n].id), 2) % (MLB_CHASH_SIZE - 1) + 1;
		n++;
	}
	if (n) {
		qsort(m, n, sizeof(m[0]), member_cmp);
		chash_populate(&t, m, n);
	} else {
		for (uint32_t s = 0; s < MLB_CHASH_SIZE; s++)
			t.slot[s] = MLB_CHASH_NONE;
	}
	/*
	 * One copy into the map. A reader racing with it may see some slots old and some new for
	 * one packet: both name a backend that was active a moment ago, and the data plane still
	 * checks the backend's state before forwarding.
	 */
	return bpf_map_update_elem(dp->fds[MLB_M_CHASH], &vip_id, &t, 0) ? -errno : 0;
}
