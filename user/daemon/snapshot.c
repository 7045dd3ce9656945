// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "daemon/snapshot.h"

/* In the order they are written back: what a VIP points to before the VIP itself. */
static const char *const snapshot_maps[SNAPSHOT_MAPS] = {
	MLB_MAP_BACKENDS,  MLB_MAP_WEIGHTS,    MLB_MAP_POOLS,
	MLB_MAP_VIP_ADDRS, MLB_MAP_VIP_FILTER, MLB_MAP_VIPS,
};

static int copy_take(int fd, struct map_copy *c)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	void *key, *prev = NULL;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type == BPF_MAP_TYPE_PERCPU_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_HASH)
		return -EOPNOTSUPP; /* counters, not configuration */
	c->fd = fd;
	c->key_size = info.key_size;
	c->value_size = info.value_size;
	c->is_hash = info.type != BPF_MAP_TYPE_ARRAY;
	c->keys = calloc(info.max_entries ?: 1, info.key_size);
	c->values = calloc(info.max_entries ?: 1, info.value_size);
	if (!c->keys || !c->values)
		return -ENOMEM;
	/* Only this daemon writes these maps, and it is busy here: no entry comes or goes. */
	key = c->keys;
	while (c->n < info.max_entries && !bpf_map_get_next_key(fd, prev, key)) {
		if (bpf_map_lookup_elem(fd, key, (char *)c->values + c->n * c->value_size))
			return -errno;
		prev = key;
		key = (char *)c->keys + ++c->n * c->key_size;
	}
	return 0;
}

int dp_snapshot_take(struct mlb_dp *dp, struct dp_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < SNAPSHOT_MAPS; i++) {
		int fd = mlb_dp_map_fd(dp, snapshot_maps[i]);
		int err = fd < 0 ? fd : copy_take(fd, &s->maps[i]);

		if (err) {
			dp_snapshot_free(s);
			return err;
		}
	}
	return 0;
}

static bool copy_has(const struct map_copy *c, const void *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (!memcmp((const char *)c->keys + i * c->key_size, key, c->key_size))
			return true;
	return false;
}

static int copy_restore(const struct map_copy *c)
{
	int first = 0;

	if (c->is_hash) { /* entries added since the copy go */
		char key[c->key_size], next[c->key_size];
		void *prev = NULL;

		while (!bpf_map_get_next_key(c->fd, prev, next)) {
			if (!copy_has(c, next) && !bpf_map_delete_elem(c->fd, next))
				continue; /* the walk goes on from the last kept key */
			memcpy(key, next, c->key_size);
			prev = key;
		}
	}
	/* Only entries that changed are written: the rest stay untouched. */
	char cur[c->value_size];

	for (size_t i = 0; i < c->n; i++) {
		const void *key = (const char *)c->keys + i * c->key_size;
		const void *val = (const char *)c->values + i * c->value_size;

		if (!bpf_map_lookup_elem(c->fd, key, cur) && !memcmp(cur, val, c->value_size))
			continue;
		if (bpf_map_update_elem(c->fd, key, val, BPF_ANY) && !first)
			first = -errno;
	}
	return first;
}

int dp_snapshot_restore(const struct dp_snapshot *s)
{
	int first = 0;

	for (int i = 0; i < SNAPSHOT_MAPS; i++) {
		int err = s->maps[i].keys ? copy_restore(&s->maps[i]) : 0;

		if (err && !first)
			first = err;
	}
	return first;
}

void dp_snapshot_free(struct dp_snapshot *s)
{
	for (int i = 0; i < SNAPSHOT_MAPS; i++) {
		free(s->maps[i].keys);
		free(s->maps[i].values);
	}
	memset(s, 0, sizeof(*s));
}
