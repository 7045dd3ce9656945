// SPDX-License-Identifier: GPL-2.0
/*
 * The empty XDP program: the benchmark's baseline, and the program the end-to-end test puts
 * on the peer veth so that frames sent back with XDP_TX are received (native veth XDP).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
