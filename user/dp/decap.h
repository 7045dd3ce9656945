/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The server side of the encapsulating modes: marllb_decap.o (bpf/marllb_decap.bpf.c), which
 * strips ipip and gue encapsulation of packets for the VIPs configured here (in the library,
 * link with -lxdp -lbpf -lelf -lz). Functions return 0 or a negative errno.
 */
#ifndef MARLLB_DECAP_H
#define MARLLB_DECAP_H

#include <stdbool.h>
#include <stdint.h>

#include "marllb.h"
#include "dp/dataplane.h"

struct mlb_decap;

/* The program attached to ifname, e.g. by `ip link set dev eth0 xdp obj marllb_decap.o`. */
int mlb_decap_open_iface(const char *ifname, struct mlb_decap **out);
/* Loads the embedded marllb_decap.o without attaching it (tests): mlb_decap_prog_fd() runs it. */
int mlb_decap_load(struct mlb_decap **out);
void mlb_decap_close(struct mlb_decap *d);
int mlb_decap_prog_fd(const struct mlb_decap *d);

/* Strips for (cfg's address, port) (port 0: every port; cfg's policy and forwarding are not
 * used), or stops (-ENOENT if it did not). */
int mlb_decap_add_vip(struct mlb_decap *d, const struct mlb_vip_cfg *cfg);
int mlb_decap_del_vip(struct mlb_decap *d, const struct mlb_vip_cfg *cfg);
/* GUE's UDP destination port (host order; 0: MLB_GUE_PORT_DEFAULT). */
int mlb_decap_set_gue_port(struct mlb_decap *d, uint16_t port);
/* Per-CPU counters summed. */
int mlb_decap_read_stats(struct mlb_decap *d, struct mlb_decap_stats *sum);

#endif /* MARLLB_DECAP_H */
