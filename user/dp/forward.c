// SPDX-License-Identifier: GPL-2.0
/*
 * A VIP's forwarding (include/marllb.h, struct mlb_vip_fwd): checked and derived from struct
 * mlb_fwd_cfg in one place, and whether it can reach a backend of a given family.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "dp/dp_internal.h"

#define MLB_SRC4_LEN_MIN 16 /* at most 16 host bits vary per flow */
#define MLB_SRC6_LEN_MIN 96 /* at most 32 */

int mlb_fwd_source_parse(struct mlb_fwd_cfg *cfg, const char *prefix)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	uint8_t a[16];
	long len = -1;

	if (snprintf(buf, sizeof(buf), "%s", prefix) >= (int)sizeof(buf))
		return -EINVAL;
	slash = strchr(buf, '/');
	if (slash) {
		*slash = 0;
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, a) == 1) {
		if (len < 0)
			len = 32;
		if (len < MLB_SRC4_LEN_MIN || len > 32)
			return -ERANGE;
		memcpy(cfg->src4, a, 4);
		cfg->src4_len = len;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a) == 1) {
		if (len < 0)
			len = 128;
		if (len < MLB_SRC6_LEN_MIN || len > 128)
			return -ERANGE;
		memcpy(cfg->src6, a, 16);
		cfg->src6_len = len;
		return 0;
	}
	return -EINVAL;
}

/* network-order mask of the low `bits` bits of a 32-bit word (bits <= 32) */
static uint32_t host_mask(unsigned int bits)
{
	return htonl(bits >= 32 ? UINT32_MAX : (1u << bits) - 1);
}

static int fwd_fail(const char *what)
{
	fprintf(stderr, "marllb: forwarding: %s\n", what);
	return -EINVAL;
}

int mlb_fwd_make(const struct mlb_fwd_cfg *cfg, uint8_t vip_family, struct mlb_vip_fwd *fwd)
{
	uint32_t mtu = cfg->mtu ? cfg->mtu : MLB_ENCAP_MTU_DEFAULT, word;

	memset(fwd, 0, sizeof(*fwd));
	if (cfg->mode >= MLB_FWD_MAX)
		return fwd_fail("unknown mode (dsr-l2, ipip or gue)");
	fwd->mode = cfg->mode;
	if (cfg->mode == MLB_FWD_DSR_L2)
		return 0;
	if (!cfg->src4_len && !cfg->src6_len)
		return fwd_fail("ipip and gue need an outer source address (or prefix)");
	if (vip_family == MLB_AF_INET6 && !cfg->src6_len)
		return fwd_fail("an IPv6 VIP needs an IPv6 outer source (IPv6 goes in IPv6 only)");
	if ((cfg->src4_len && (cfg->src4_len < MLB_SRC4_LEN_MIN || cfg->src4_len > 32)) ||
	    (cfg->src6_len && (cfg->src6_len < MLB_SRC6_LEN_MIN || cfg->src6_len > 128)))
		return fwd_fail("an outer source prefix is /16../32 (IPv4) or /96../128 (IPv6)");
	if (mtu < (vip_family == MLB_AF_INET6 ? MLB_MTU_MIN6 : MLB_MTU_MIN4)) {
		fprintf(stderr,
			"marllb: forwarding: MTU %u is below %u, the least that carries "
			"every packet an %s client may send once encapsulated\n",
			mtu, vip_family == MLB_AF_INET6 ? MLB_MTU_MIN6 : MLB_MTU_MIN4,
			vip_family == MLB_AF_INET6 ? "IPv6" : "IPv4");
		return -EINVAL;
	}
	fwd->mtu = mtu;
	fwd->gue_port = htons(cfg->gue_port ? cfg->gue_port : MLB_GUE_PORT_DEFAULT);
	if (cfg->src4_len) {
		fwd->sources |= MLB_FWD_HAS_SRC4;
		fwd->src4_mask = cfg->src4_len == 32 ? 0 : host_mask(32 - cfg->src4_len);
		memcpy(&word, cfg->src4, 4);
		fwd->src4 = word & ~fwd->src4_mask;
	}
	if (cfg->src6_len) {
		fwd->sources |= MLB_FWD_HAS_SRC6;
		fwd->src6_mask = cfg->src6_len == 128 ? 0 : host_mask(128 - cfg->src6_len);
		memcpy(fwd->src6, cfg->src6, 16);
		fwd->src6[3] &= ~fwd->src6_mask;
	}
	return 0;
}

int mlb_fwd_check_backend(const struct mlb_vip_fwd *fwd, uint8_t vip_family, uint8_t be_family)
{
	if (fwd->mode == MLB_FWD_DSR_L2)
		return 0;
	if (be_family == MLB_AF_INET && vip_family == MLB_AF_INET6)
		return fwd_fail("an IPv6 VIP cannot reach an IPv4 backend (no IPv6 in IPv4)");
	if (be_family == MLB_AF_INET && !(fwd->sources & MLB_FWD_HAS_SRC4))
		return fwd_fail("an IPv4 backend needs an IPv4 outer source");
	if (be_family == MLB_AF_INET6 && !(fwd->sources & MLB_FWD_HAS_SRC6))
		return fwd_fail("an IPv6 backend needs an IPv6 outer source");
	return 0;
}

int mlb_dp_get_forward(struct mlb_dp *dp, uint32_t vip_id, struct mlb_vip_fwd *fwd)
{
	if (vip_id >= MLB_MAX_VIPS)
		return -ERANGE;
	if (bpf_map_lookup_elem(dp->fds[MLB_M_VIP_FWD], &vip_id, fwd))
		return -errno;
	return 0;
}
