// SPDX-License-Identifier: GPL-2.0
/*
 * Pass-through XDP program for the router's end of each LB link. Native XDP_TX on a veth
 * drops the frame unless the peer veth has an XDP program too; this one lets every frame on.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int tb_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
