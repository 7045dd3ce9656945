// SPDX-License-Identifier: GPL-2.0
/* Finding a data plane: load and attach, open pinned maps, or open from an interface. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "dp/dp_internal.h"
#include "marllb.skel.h"

const char *const mlb_map_names[MLB_M_COUNT] = {
	[MLB_M_VIPS] = MLB_MAP_VIPS,
	[MLB_M_VIP_ADDRS] = MLB_MAP_VIP_ADDRS,
	[MLB_M_VIP_FILTER] = MLB_MAP_VIP_FILTER,
	[MLB_M_VIP_BY_ID] = MLB_MAP_VIP_BY_ID,
	[MLB_M_BACKENDS] = MLB_MAP_BACKENDS,
	[MLB_M_POOLS] = MLB_MAP_POOLS,
	[MLB_M_WEIGHTS] = MLB_MAP_WEIGHTS,
	[MLB_M_QUEUES] = MLB_MAP_QUEUES,
	[MLB_M_FLOWS] = MLB_MAP_FLOWS,
	[MLB_M_HALF_OPEN] = MLB_MAP_HALF_OPEN,
	[MLB_M_CHASH] = MLB_MAP_CHASH,
	[MLB_M_CPU_STATE] = MLB_MAP_CPU_STATE,
	[MLB_M_SAMPLES] = MLB_MAP_SAMPLES,
	[MLB_M_STATS] = MLB_MAP_STATS,
	[MLB_M_VIP_STATS] = MLB_MAP_VIP_STATS,
	[MLB_M_BE_STATS] = MLB_MAP_BE_STATS,
	[MLB_M_VIP_FWD] = MLB_MAP_VIP_FWD,
};

struct mlb_dp *mlb_dp_alloc(void)
{
	struct mlb_dp *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return NULL;
	dp->prog_fd = -1;
	for (int i = 0; i < MLB_M_COUNT; i++)
		dp->fds[i] = -1;
	return dp;
}

void mlb_dp_close(struct mlb_dp *dp)
{
	if (!dp)
		return;
	if (dp->queues)
		munmap(dp->queues, dp->queues_len);
	if (dp->skel) {
		marllb__destroy(dp->skel); /* owns prog_fd and the map fds */
	} else {
		for (int i = 0; i < MLB_M_COUNT; i++)
			if (dp->fds[i] >= 0)
				close(dp->fds[i]);
		if (dp->prog_fd >= 0)
			close(dp->prog_fd);
	}
	free(dp);
}

int mlb_dp_finish_open(struct mlb_dp *dp)
{
	long page = sysconf(_SC_PAGESIZE);

	for (int i = 0; i < MLB_M_COUNT; i++) {
		if (dp->fds[i] < 0) {
			fprintf(stderr, "marllb: map %s not found\n", mlb_map_names[i]);
			return -ENOENT;
		}
	}
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0)
		return dp->ncpus ? dp->ncpus : -EINVAL;
	dp->queues_len = (sizeof(struct mlb_queues) * MLB_MAX_VIPS + page - 1) / page * page;
	dp->queues = mmap(NULL, dp->queues_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			  dp->fds[MLB_M_QUEUES], 0);
	if (dp->queues == MAP_FAILED) {
		int err = -errno;

		dp->queues = NULL;
		fprintf(stderr, "marllb: cannot mmap %s: %s\n", MLB_MAP_QUEUES, strerror(-err));
		return err;
	}
	return mlb_syn_budget_init(dp);
}

int mlb_dp_prog_fd(const struct mlb_dp *dp)
{
	return dp->prog_fd;
}

int mlb_dp_map_fd(const struct mlb_dp *dp, const char *name)
{
	for (int i = 0; i < MLB_M_COUNT; i++)
		if (!strcmp(name, mlb_map_names[i]))
			return dp->fds[i];
	return -ENOENT;
}

static int mlb_table_size_check(const char *what, uint32_t n)
{
	if (n >= MLB_TABLE_MIN && n <= MLB_TABLE_MAX)
		return 0;
	fprintf(stderr, "marllb: %s size %u is out of range [%u, %u]\n", what, n, MLB_TABLE_MIN,
		MLB_TABLE_MAX);
	return -EINVAL;
}

/*
 * Opens the embedded object with the load-time settings applied; "prog" is not a section
 * libbpf knows, so the type is set here. NULL with errno set on failure.
 */
static struct marllb *mlb_skel_open(const struct mlb_dp_opts *opts)
{
	struct mlb_dp_opts o = opts ? *opts : (struct mlb_dp_opts){};
	struct marllb *skel;

	o.flow_table_size = o.flow_table_size ?: MLB_FLOW_TABLE_DEFAULT;
	o.half_open_table_size = o.half_open_table_size ?: MLB_HALF_OPEN_TABLE_DEFAULT;
	if (mlb_table_size_check("flow table", o.flow_table_size) ||
	    mlb_table_size_check("half-open table", o.half_open_table_size)) {
		errno = EINVAL;
		return NULL;
	}
	skel = marllb__open();
	if (!skel) {
		fprintf(stderr, "marllb: cannot open the embedded marllb.o: %s\n", strerror(errno));
		return NULL;
	}
	bpf_program__set_type(skel->progs.marllb, BPF_PROG_TYPE_XDP);
	skel->rodata->mlb_bench_new_flows = o.bench_new_flows;
	skel->rodata->mlb_bench_encap_undo = o.bench_encap_undo;
	if (bpf_map__set_max_entries(skel->maps.mlb_flows, o.flow_table_size) ||
	    bpf_map__set_max_entries(skel->maps.mlb_half_open, o.half_open_table_size)) {
		marllb__destroy(skel);
		errno = EINVAL;
		return NULL;
	}
	return skel;
}

static int mlb_dp_from_skel(struct marllb *skel, struct mlb_dp **out)
{
	struct mlb_dp *dp = mlb_dp_alloc();
	int err;

	if (!dp)
		return -ENOMEM;
	dp->skel = skel;
	dp->prog_fd = bpf_program__fd(skel->progs.marllb);
	for (int i = 0; i < MLB_M_COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, mlb_map_names[i]);

		dp->fds[i] = m ? bpf_map__fd(m) : -1;
	}
	err = mlb_dp_finish_open(dp);
	if (err) {
		dp->skel = NULL; /* the caller destroys the skeleton */
		for (int i = 0; i < MLB_M_COUNT; i++)
			dp->fds[i] = -1;
		dp->prog_fd = -1;
		mlb_dp_close(dp);
		return err;
	}
	*out = dp;
	return 0;
}

int mlb_dp_load(const struct mlb_dp_opts *opts, struct mlb_dp **out)
{
	struct marllb *skel = mlb_skel_open(opts);
	int err;

	if (!skel)
		return errno ? -errno : -EINVAL;
	err = marllb__load(skel);
	if (err) {
		fprintf(stderr, "marllb: loading the XDP program failed: %s\n", strerror(-err));
		marllb__destroy(skel);
		return err;
	}
	err = mlb_dp_from_skel(skel, out);
	if (err)
		marllb__destroy(skel);
	return err;
}

static void mlb_default_pin_dir(char *buf, size_t len, const char *ifname)
{
	snprintf(buf, len, "%s/%s", MLB_PIN_ROOT, ifname);
}

/* mkdir -p with mode 0700 for every component created */
static int mlb_mkdir_p(const char *dir)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int mlb_dp_pin_maps(struct mlb_dp *dp, const char *dir)
{
	char path[PATH_MAX + 32];
	int err = mlb_mkdir_p(dir);

	if (err)
		return err;
	for (int i = 0; i < MLB_M_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, mlb_map_names[i]);
		unlink(path); /* a stale pin from an earlier run */
		if (bpf_obj_pin(dp->fds[i], path))
			return -errno;
		if (chmod(path, 0600))
			return -errno;
	}
	return 0;
}

static int mlb_unpin_dir(const char *dir)
{
	char path[PATH_MAX + 32];

	for (int i = 0; i < MLB_M_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, mlb_map_names[i]);
		unlink(path);
	}
	if (rmdir(dir) && errno != ENOENT)
		return -errno;
	return 0;
}

int mlb_dp_attach(const char *ifname, enum mlb_dp_mode mode, const char *pin_dir,
		  const struct mlb_dp_opts *opts, struct mlb_dp **out)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts, .prog_name = MLB_PROG_NAME);
	int ifindex = if_nametoindex(ifname), err;
	struct xdp_program *xprog = NULL;
	struct mlb_dp *dp = NULL;
	char dir[PATH_MAX];
	struct marllb *skel;

	*out = NULL;
	if (!ifindex) {
		fprintf(stderr, "marllb: no interface %s\n", ifname);
		return -ENODEV;
	}
	if (!pin_dir) {
		mlb_default_pin_dir(dir, sizeof(dir), ifname);
		pin_dir = dir;
	}
	if (opts && (opts->bench_new_flows || opts->bench_encap_undo))
		return -EINVAL; /* never on an interface */
	skel = mlb_skel_open(opts);
	if (!skel)
		return errno ? -errno : -EINVAL;
	xopts.obj = skel->obj;
	xprog = xdp_program__create(&xopts);
	err = libxdp_get_error(xprog);
	if (err) {
		xprog = NULL;
		fprintf(stderr, "marllb: libxdp cannot use the program: %s\n", strerror(-err));
		goto fail;
	}
	err = xdp_program__attach(xprog, ifindex,
				  mode == MLB_DP_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
	if (err) {
		fprintf(stderr, "marllb: attaching to %s failed: %s%s\n", ifname, strerror(-err),
			mode == MLB_DP_NATIVE ? " (native mode not supported? try generic)" : "");
		goto fail;
	}
	err = mlb_dp_from_skel(skel, out);
	if (err)
		goto detach;
	dp = *out;
	err = mlb_dp_pin_maps(dp, pin_dir);
	if (err) {
		fprintf(stderr, "marllb: pinning maps under %s failed: %s\n", pin_dir,
			strerror(-err));
		goto detach;
	}
	/* libxdp may have loaded it as an extension of its dispatcher: keep the kernel's fd */
	dp->prog_fd = xdp_program__fd(xprog);
	xdp_program__close(xprog); /* the kernel keeps it attached; the object stays ours */
	return 0;
detach:
	xdp_program__detach(xprog, ifindex, mode == MLB_DP_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE,
			    0);
	mlb_unpin_dir(pin_dir);
fail:
	xdp_program__close(xprog);
	if (dp)
		mlb_dp_close(dp); /* destroys the skeleton too */
	else
		marllb__destroy(skel);
	*out = NULL;
	return err;
}

int mlb_find_attached_prog(int ifindex, const char *name)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p = NULL;
	int fd = -ENOENT;

	if (libxdp_get_error(mp))
		return -ENOENT;
	if (xdp_multiprog__is_legacy(mp))
		p = xdp_multiprog__main_prog(mp);
	else
		p = xdp_multiprog__next_prog(NULL, mp);
	for (; p; p = xdp_multiprog__is_legacy(mp) ? NULL : xdp_multiprog__next_prog(p, mp)) {
		if (!strcmp(xdp_program__name(p), name)) {
			fd = bpf_prog_get_fd_by_id(xdp_program__id(p));
			if (fd < 0)
				fd = -errno;
			break;
		}
	}
	xdp_multiprog__close(mp);
	return fd;
}

int mlb_maps_from_prog(int prog_fd, const char *const *names, int n, int *fds)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[64];
	int err;

	err = bpf_obj_get_info_by_fd(prog_fd, &info, &len);
	if (err)
		return -errno;
	if (info.nr_map_ids > 64)
		return -E2BIG;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	err = bpf_obj_get_info_by_fd(prog_fd, &info, &len);
	if (err)
		return -errno;
	for (__u32 i = 0; i < info.nr_map_ids; i++) {
		struct bpf_map_info minfo = {};
		__u32 mlen = sizeof(minfo);
		int fd = bpf_map_get_fd_by_id(ids[i]), slot = -1;

		if (fd < 0)
			return -errno;
		if (!bpf_obj_get_info_by_fd(fd, &minfo, &mlen))
			for (int m = 0; m < n; m++)
				if (!strcmp(minfo.name, names[m]))
					slot = m;
		if (slot >= 0 && fds[slot] < 0)
			fds[slot] = fd;
		else
			close(fd);
	}
	return 0;
}

int mlb_dp_open_iface(const char *ifname, struct mlb_dp **out)
{
	int ifindex = if_nametoindex(ifname), err;
	struct mlb_dp *dp;

	if (!ifindex) {
		fprintf(stderr, "marllb: no interface %s\n", ifname);
		return -ENODEV;
	}
	dp = mlb_dp_alloc();
	if (!dp)
		return -ENOMEM;
	dp->prog_fd = mlb_find_attached_prog(ifindex, MLB_PROG_NAME);
	if (dp->prog_fd < 0) {
		err = dp->prog_fd;
		fprintf(stderr, "marllb: no marllb program attached to %s\n", ifname);
		goto fail;
	}
	err = mlb_maps_from_prog(dp->prog_fd, mlb_map_names, MLB_M_COUNT, dp->fds);
	if (!err)
		err = mlb_dp_finish_open(dp);
	if (err)
		goto fail;
	*out = dp;
	return 0;
fail:
	mlb_dp_close(dp);
	return err;
}

int mlb_dp_open_pinned(const char *pin_dir, struct mlb_dp **out)
{
	struct mlb_dp *dp = mlb_dp_alloc();
	char path[PATH_MAX + 32];
	int err;

	if (!dp)
		return -ENOMEM;
	for (int i = 0; i < MLB_M_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, mlb_map_names[i]);
		dp->fds[i] = bpf_obj_get(path);
		if (dp->fds[i] < 0) {
			err = -errno;
			fprintf(stderr, "marllb: cannot open %s: %s\n", path, strerror(-err));
			goto fail;
		}
	}
	err = mlb_dp_finish_open(dp);
	if (err)
		goto fail;
	*out = dp;
	return 0;
fail:
	mlb_dp_close(dp);
	return err;
}

int mlb_dp_detach(const char *ifname, const char *pin_dir)
{
	int ifindex = if_nametoindex(ifname), err = -ENOENT;
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	char dir[PATH_MAX];

	if (!ifindex)
		return -ENODEV;
	if (!pin_dir) {
		mlb_default_pin_dir(dir, sizeof(dir), ifname);
		pin_dir = dir;
	}
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!libxdp_get_error(mp)) {
		if (xdp_multiprog__is_legacy(mp)) {
			p = xdp_multiprog__main_prog(mp);
			if (p && !strcmp(xdp_program__name(p), MLB_PROG_NAME))
				err = xdp_multiprog__detach(mp);
		} else {
			for (p = xdp_multiprog__next_prog(NULL, mp); p;
			     p = xdp_multiprog__next_prog(p, mp)) {
				if (strcmp(xdp_program__name(p), MLB_PROG_NAME))
					continue;
				err = xdp_program__detach(p, ifindex,
							  xdp_multiprog__attach_mode(mp), 0);
				break;
			}
		}
		xdp_multiprog__close(mp);
	}
	mlb_unpin_dir(pin_dir);
	return err;
}
