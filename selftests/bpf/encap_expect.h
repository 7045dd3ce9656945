/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The frames the encapsulating modes should produce, built field by field from their
 * definitions (Documentation/dataplane.md, "Forwarding modes"), independently of the BPF code:
 * checksums are computed over the bytes (GUE's over the whole UDP datagram). Fields a hash of
 * the flow picks (the outer source's host bits, GUE's source port, the IPv6 flow label) are
 * taken from the frame the data plane produced once they are checked to be in range.
 */
#ifndef MARLLB_TEST_ENCAP_EXPECT_H
#define MARLLB_TEST_ENCAP_EXPECT_H

#include <stdbool.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include "marllb.h"
#include "pkt.h"

static inline uint16_t get16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline uint32_t l2_len(const uint8_t *f)
{
	return get16(f + 12) == ETH_P_8021Q ? 18 : 14;
}

/* the IP packet's length from its header (IPv4 or IPv6) */
static inline uint32_t inner_len(const uint8_t *ip)
{
	return ip[0] >> 4 == 4 ? get16(ip + 2) : 40 + get16(ip + 4);
}

/* How one frame should be encapsulated. */
struct encap_spec {
	uint32_t mode; /* MLB_FWD_IPIP or MLB_FWD_GUE */
	int outer; /* 4 or 6: the backend's family */
	uint8_t src[16]; /* the outer source prefix */
	int src_len; /* its length: 32 (128) for one address */
	uint8_t dst[16]; /* the backend */
	uint8_t mac[6]; /* its (next hop's) MAC */
	uint16_t gue_port;
};

/* Is the inner packet's TCP checksum right (with, for IPv4, its header checksum)? What GUE's
 * UDP checksum, derived from the inner headers, is right with. */
static inline bool inner_csums_ok(const uint8_t *ip)
{
	uint32_t ihl = ip[0] >> 4 == 4 ? (ip[0] & 15) * 4 : 40, len = inner_len(ip), sum;
	int v6 = ip[0] >> 4 == 6;

	sum = pkt_pseudo_sum(v6 ? 6 : 4, ip + (v6 ? 8 : 12), ip + (v6 ? 24 : 16), IPPROTO_TCP,
			     len - ihl);
	sum = pkt_sum(ip + ihl, len - ihl, sum);
	if (!v6)
		sum = pkt_sum(ip, ihl, sum);
	return pkt_sum_final(sum) == 0;
}

/* Does the UDP datagram at udp (outer IP header at ip) carry a right checksum? */
static inline bool udp_csum_ok(const uint8_t *ip, const uint8_t *udp)
{
	int v6 = ip[0] >> 4 == 6;
	uint32_t len = get16(udp + 4);

	return pkt_sum_final(pkt_sum(udp, len,
				     pkt_pseudo_sum(v6 ? 6 : 4, ip + (v6 ? 8 : 12),
						    ip + (v6 ? 24 : 16), IPPROTO_UDP, len))) == 0;
}

/*
 * The frame to send for frame in under sp into x; got: what the data plane sent (for the
 * hash-picked fields). Returns its length, or 0 with *why set if a hash-picked field is out of
 * its range.
 */
static inline uint32_t expect_encap(const struct encap_spec *sp, const uint8_t *in,
				    const uint8_t *got, uint8_t *x, const char **why)
{
	uint32_t l2 = l2_len(in), ilen = inner_len(in + l2), o = l2, udp_len = 0;
	bool gue = sp->mode == MLB_FWD_GUE, v6 = sp->outer == 6;
	const uint8_t *ip = in + l2;
	uint8_t inner_v = ip[0] >> 4, tos, nh;
	uint16_t type = v6 ? ETH_P_IPV6 : ETH_P_IP;
	int alen = v6 ? 16 : 4, full = sp->src_len / 8, bits = sp->src_len % 8;
	const uint8_t *gsrc = got + l2 + (v6 ? 8 : 12);
	uint8_t *src;

	memset(x, 0, PKT_MAX);
	memcpy(x, sp->mac, 6); /* to the backend's (next hop's) MAC */
	memcpy(x + 6, in, 6); /* from the LB's: the frame's destination */
	if (l2 == 18) {
		put16(x + 12, ETH_P_8021Q);
		memcpy(x + 14, in + 14, 2);
		put16(x + 16, type);
	} else {
		put16(x + 12, type);
	}
	tos = inner_v == 4 ? ip[1] : (get16(ip) >> 4) & 0xff;
	nh = gue ? IPPROTO_UDP : inner_v == 4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	if (gue)
		udp_len = 8 + ilen;
	src = x + o + (v6 ? 8 : 12);
	/* the prefix from the configuration, the host bits from the frame */
	memcpy(src, sp->src, full);
	if (bits)
		src[full] = (sp->src[full] & (0xff00 >> bits)) | (gsrc[full] & (0xff >> bits));
	if (full + !!bits < alen)
		memcpy(src + full + !!bits, gsrc + full + !!bits, alen - full - !!bits);
	if (!v6) {
		x[o] = 0x45;
		x[o + 1] = tos;
		put16(x + o + 2, 20 + (gue ? udp_len : ilen));
		memcpy(x + o + 4, ip + 4, 2); /* the inner ID */
		put16(x + o + 6, get16(ip + 6) & 0x4000); /* and DF */
		x[o + 8] = 64;
		x[o + 9] = nh;
		memcpy(x + o + 16, sp->dst, 4);
		put16(x + o + 10, pkt_sum_final(pkt_sum(x + o, 20, 0)));
		o += 20;
	} else {
		uint32_t label = (got[o + 1] & 15) << 16 | get16(got + o + 2);

		x[o] = 0x60 | tos >> 4;
		x[o + 1] = (tos & 15) << 4 | label >> 16;
		put16(x + o + 2, label);
		put16(x + o + 4, gue ? udp_len : ilen);
		x[o + 6] = nh;
		x[o + 7] = 64;
		memcpy(x + o + 24, sp->dst, 16);
		o += 40;
	}
	if (gue) {
		uint16_t sport = get16(got + o);

		if (sport < 49152) {
			*why = "GUE source port outside the ephemeral range";
			return 0;
		}
		put16(x + o, sport);
		put16(x + o + 2, sp->gue_port);
		put16(x + o + 4, udp_len);
		memcpy(x + o + 8, ip, ilen);
		put16(x + o + 6,
		      pkt_sum_final(pkt_sum(x + o, udp_len, pkt_pseudo_sum(sp->outer, x + l2 + (v6 ? 8 : 12), x + l2 + (v6 ? 24 : 16), IPPROTO_UDP, udp_len))) ?:
			      0xffff);
		o += 8;
	}
	memcpy(x + o, ip, ilen);
	return o + ilen;
}

/* The ICMP answer to in (RFC 792/1191, RFC 4443) for an MTU of mtu, into x; its length. */
static inline uint32_t expect_icmp(const uint8_t *in, uint16_t mtu, uint8_t *x)
{
	uint32_t l2 = l2_len(in), o = l2, quote;
	const uint8_t *ip = in + l2;

	memset(x, 0, PKT_MAX);
	memcpy(x, in + 6, 6);
	memcpy(x + 6, in, 6);
	memcpy(x + 12, in + 12, l2 - 12);
	if (ip[0] >> 4 == 4) {
		quote = (ip[0] & 15) * 4 + 8;
		x[o] = 0x45;
		put16(x + o + 2, 28 + quote);
		x[o + 8] = 64;
		x[o + 9] = 1; /* ICMP */
		memcpy(x + o + 12, ip + 16, 4); /* from the VIP */
		memcpy(x + o + 16, ip + 12, 4); /* to the client */
		put16(x + o + 10, pkt_sum_final(pkt_sum(x + o, 20, 0)));
		o += 20;
		x[o] = 3; /* destination unreachable */
		x[o + 1] = 4; /* fragmentation needed */
		put16(x + o + 6, mtu);
		memcpy(x + o + 8, ip, quote);
		put16(x + o + 2, pkt_sum_final(pkt_sum(x + o, 8 + quote, 0)));
	} else {
		quote = 48;
		x[o] = 0x60;
		put16(x + o + 4, 8 + quote);
		x[o + 6] = 58; /* ICMPv6 */
		x[o + 7] = 64;
		memcpy(x + o + 8, ip + 24, 16);
		memcpy(x + o + 24, ip + 8, 16);
		o += 40;
		x[o] = 2; /* packet too big */
		put16(x + o + 6, mtu);
		memcpy(x + o + 8, ip, quote);
		put16(x + o + 2, pkt_sum_final(pkt_sum(x + o, 8 + quote,
						       pkt_pseudo_sum(6, x + o - 32, x + o - 16, 58,
								      8 + quote))));
	}
	return o + 8 + quote;
}

#endif /* MARLLB_TEST_ENCAP_EXPECT_H */
