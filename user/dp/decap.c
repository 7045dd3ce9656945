// SPDX-License-Identifier: GPL-2.0
/* Configuring and reading marllb_decap.o (user/dp/decap.h). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp/dp_internal.h"
#include "dp/decap.h"
#include "marllb_decap.skel.h"

enum { D_VIPS, D_CFG, D_STATS, D_COUNT };

static const char *const decap_map_names[D_COUNT] = {
	[D_VIPS] = MLB_MAP_DECAP_VIPS,
	[D_CFG] = MLB_MAP_DECAP_CFG,
	[D_STATS] = MLB_MAP_DECAP_STATS,
};

struct mlb_decap {
	int prog_fd;
	int fds[D_COUNT];
	struct marllb_decap *skel; /* set when this process loaded it; owns the fds */
	int ncpus;
};

static struct mlb_decap *decap_alloc(void)
{
	struct mlb_decap *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->prog_fd = -1;
	for (int i = 0; i < D_COUNT; i++)
		d->fds[i] = -1;
	d->ncpus = libbpf_num_possible_cpus();
	return d;
}

void mlb_decap_close(struct mlb_decap *d)
{
	if (!d)
		return;
	if (d->skel) {
		marllb_decap__destroy(d->skel);
	} else {
		for (int i = 0; i < D_COUNT; i++)
			if (d->fds[i] >= 0)
				close(d->fds[i]);
		if (d->prog_fd >= 0)
			close(d->prog_fd);
	}
	free(d);
}

int mlb_decap_prog_fd(const struct mlb_decap *d)
{
	return d->prog_fd;
}

int mlb_decap_load(struct mlb_decap **out)
{
	struct mlb_decap *d = decap_alloc();
	int err;

	if (!d)
		return -ENOMEM;
	d->skel = marllb_decap__open();
	if (!d->skel) {
		err = -errno;
		free(d);
		return err;
	}
	bpf_program__set_type(d->skel->progs.marllb_decap, BPF_PROG_TYPE_XDP);
	err = marllb_decap__load(d->skel);
	if (err) {
		fprintf(stderr, "marllb: loading marllb_decap failed: %s\n", strerror(-err));
		mlb_decap_close(d);
		return err;
	}
	d->prog_fd = bpf_program__fd(d->skel->progs.marllb_decap);
	d->fds[D_VIPS] = bpf_map__fd(d->skel->maps.mlb_decap_vips);
	d->fds[D_CFG] = bpf_map__fd(d->skel->maps.mlb_decap_cfg);
	d->fds[D_STATS] = bpf_map__fd(d->skel->maps.mlb_decap_stats);
	*out = d;
	return 0;
}

int mlb_decap_open_iface(const char *ifname, struct mlb_decap **out)
{
	int ifindex = if_nametoindex(ifname), err;
	struct mlb_decap *d;

	if (!ifindex) {
		fprintf(stderr, "marllb: no interface %s\n", ifname);
		return -ENODEV;
	}
	d = decap_alloc();
	if (!d)
		return -ENOMEM;
	d->prog_fd = mlb_find_attached_prog(ifindex, MLB_DECAP_PROG_NAME);
	if (d->prog_fd < 0) {
		err = d->prog_fd;
		fprintf(stderr,
			"marllb: no %s program attached to %s (ip link set dev %s xdp obj "
			"marllb_decap.o)\n",
			MLB_DECAP_PROG_NAME, ifname, ifname);
		goto fail;
	}
	err = mlb_maps_from_prog(d->prog_fd, decap_map_names, D_COUNT, d->fds);
	for (int i = 0; !err && i < D_COUNT; i++)
		if (d->fds[i] < 0)
			err = -ENOENT;
	if (err)
		goto fail;
	*out = d;
	return 0;
fail:
	mlb_decap_close(d);
	return err;
}

static int decap_key(const struct mlb_vip_cfg *cfg, struct mlb_vip_key *key)
{
	struct mlb_vip_cfg c = *cfg;

	c.policy = 0;
	return mlb_vip_key_make(key, &c);
}

int mlb_decap_add_vip(struct mlb_decap *d, const struct mlb_vip_cfg *cfg)
{
	struct mlb_vip_key key;
	uint32_t one = 1;
	int err = decap_key(cfg, &key);

	if (err)
		return err;
	return bpf_map_update_elem(d->fds[D_VIPS], &key, &one, BPF_ANY) ? -errno : 0;
}

int mlb_decap_del_vip(struct mlb_decap *d, const struct mlb_vip_cfg *cfg)
{
	struct mlb_vip_key key;
	int err = decap_key(cfg, &key);

	if (err)
		return err;
	return bpf_map_delete_elem(d->fds[D_VIPS], &key) ? -errno : 0;
}

int mlb_decap_set_gue_port(struct mlb_decap *d, uint16_t port)
{
	struct mlb_decap_cfg c = { .gue_port = htons(port) };
	uint32_t zero = 0;

	return bpf_map_update_elem(d->fds[D_CFG], &zero, &c, 0) ? -errno : 0;
}

int mlb_decap_read_stats(struct mlb_decap *d, struct mlb_decap_stats *sum)
{
	struct mlb_decap_stats per_cpu[d->ncpus > 0 ? d->ncpus : 1];
	uint32_t zero = 0;

	if (d->ncpus <= 0)
		return -EINVAL;
	if (bpf_map_lookup_elem(d->fds[D_STATS], &zero, per_cpu))
		return -errno;
	memset(sum, 0, sizeof(*sum));
	for (int c = 0; c < d->ncpus; c++) {
		sum->ipip += per_cpu[c].ipip;
		sum->ip6ip6 += per_cpu[c].ip6ip6;
		sum->ip4ip6 += per_cpu[c].ip4ip6;
		sum->gue += per_cpu[c].gue;
		sum->not_vip += per_cpu[c].not_vip;
		sum->malformed += per_cpu[c].malformed;
	}
	return 0;
}
