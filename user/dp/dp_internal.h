/* SPDX-License-Identifier: GPL-2.0 */
/* Inside the data-plane handle: shared by the files of user/dp/ only. */
#ifndef MARLLB_DP_INTERNAL_H
#define MARLLB_DP_INTERNAL_H

#include <stddef.h>
#include "dp/dataplane.h"

enum mlb_map_id {
	MLB_M_VIPS,
	MLB_M_VIP_ADDRS,
	MLB_M_VIP_FILTER,
	MLB_M_VIP_BY_ID,
	MLB_M_BACKENDS,
	MLB_M_POOLS,
	MLB_M_WEIGHTS,
	MLB_M_QUEUES,
	MLB_M_FLOWS,
	MLB_M_HALF_OPEN,
	MLB_M_CHASH,
	MLB_M_CPU_STATE,
	MLB_M_SAMPLES,
	MLB_M_STATS,
	MLB_M_VIP_STATS,
	MLB_M_BE_STATS,
	MLB_M_VIP_FWD,
	MLB_M_COUNT,
};

extern const char *const mlb_map_names[MLB_M_COUNT];

struct marllb;

struct mlb_dp {
	int prog_fd; /* -1 when opened from pins */
	int fds[MLB_M_COUNT];
	struct marllb *skel; /* set when this process loaded the program */
	struct mlb_queues *queues; /* mmap of mlb_queues, MLB_MAX_VIPS entries */
	size_t queues_len;
	int ncpus;
};

/* dataplane.c: the fd of the XDP program called name attached to ifindex, directly or
 * through libxdp's dispatcher (-ENOENT: none); fds[i] (initially -1) of the maps called
 * names[i] that a loaded program uses (prog info -> map ids -> fds). */
int mlb_find_attached_prog(int ifindex, const char *name);
int mlb_maps_from_prog(int prog_fd, const char *const *names, int n, int *fds);

/* dataplane.c: after fds[] are filled, maps the queues and checks everything is there. */
int mlb_dp_finish_open(struct mlb_dp *dp);
struct mlb_dp *mlb_dp_alloc(void);

/* config.c */
int mlb_dp_find_vip_by_id(struct mlb_dp *dp, uint32_t id, struct mlb_vip_key *key,
			  struct mlb_vip *vip);
uint64_t mlb_now_ns(void);

/* forward.c: fwd from cfg for a VIP of vip_family; whether it reaches a backend's family.
 * Both print what does not fit and return -EINVAL. */
int mlb_fwd_make(const struct mlb_fwd_cfg *cfg, uint8_t vip_family, struct mlb_vip_fwd *fwd);
int mlb_fwd_check_backend(const struct mlb_vip_fwd *fwd, uint8_t vip_family, uint8_t be_family);

/* chash.c: rebuilds VIP id's consistent-hash lookup table from its active backends. */
int mlb_chash_rebuild(struct mlb_dp *dp, uint32_t vip_id);

/* flows.c: deletes every flow of VIP id from both tables (no q change: the caller resets q). */
void mlb_flows_forget_vip(struct mlb_dp *dp, uint32_t vip_id);
/* Sets the default SYN budget if none is set. */
int mlb_syn_budget_init(struct mlb_dp *dp);

#endif /* MARLLB_DP_INTERNAL_H */
