/* SPDX-License-Identifier: GPL-2.0 */
/* Crafted frames for the data-plane tests and benchmark: Ethernet (+802.1Q), IPv4/IPv6, TCP. */
#ifndef MARLLB_TEST_PKT_H
#define MARLLB_TEST_PKT_H

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#define PKT_MAX 1600
#define PKT_FIN 0x01
#define PKT_SYN 0x02
#define PKT_RST 0x04
#define PKT_PSH 0x08
#define PKT_ACK 0x10

struct pkt_spec {
	int family; /* 4 or 6 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport; /* host order */
	uint8_t flags;
	uint32_t seq, ack;
	int vlan; /* 0: untagged, else the VLAN id */
	int payload; /* bytes of payload */
	uint8_t dmac[6], smac[6];
};

static const uint8_t pkt_lb_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t pkt_client_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xc1 };

static inline uint16_t pkt_csum(const void *data, size_t len)
{
	const uint16_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *p++;
	if (len)
		sum += *(const uint8_t *)p;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* The ones' complement sum of data (not folded, not inverted), to chain several pieces. */
static inline uint32_t pkt_sum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (; len > 1; len -= 2, p += 2)
		sum += p[0] << 8 | p[1];
	if (len)
		sum += p[0] << 8;
	return sum;
}

/* Folds and inverts a pkt_sum(): the checksum field's value in host order. 0 over a whole
 * message that carries its checksum means the checksum is right. */
static inline uint16_t pkt_sum_final(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The TCP/UDP/ICMPv6 pseudo-header's sum (RFC 793, RFC 8200 8.1). */
static inline uint32_t pkt_pseudo_sum(int family, const void *src, const void *dst, uint8_t proto,
				      uint32_t len)
{
	int alen = family == 4 ? 4 : 16;
	uint32_t sum = pkt_sum(src, alen, 0);

	sum = pkt_sum(dst, alen, sum);
	return sum + proto + (len >> 16) + (len & 0xffff);
}

/* A spec with defaults: 10.0.0.1:sport -> dst:dport, client and LB MACs. */
static inline void pkt_spec_v4(struct pkt_spec *s, const char *src, const char *dst, uint16_t sport,
			       uint16_t dport, uint8_t flags)
{
	memset(s, 0, sizeof(*s));
	s->family = 4;
	inet_pton(AF_INET, src, s->src);
	inet_pton(AF_INET, dst, s->dst);
	s->sport = sport;
	s->dport = dport;
	s->flags = flags;
	s->seq = 1000;
	memcpy(s->dmac, pkt_lb_mac, 6);
	memcpy(s->smac, pkt_client_mac, 6);
}

static inline void pkt_spec_v6(struct pkt_spec *s, const char *src, const char *dst, uint16_t sport,
			       uint16_t dport, uint8_t flags)
{
	pkt_spec_v4(s, "0.0.0.0", "0.0.0.0", sport, dport, flags);
	s->family = 6;
	inet_pton(AF_INET6, src, s->src);
	inet_pton(AF_INET6, dst, s->dst);
}

/* Writes the frame into buf (PKT_MAX bytes); returns its length. */
static inline size_t pkt_build(const struct pkt_spec *s, uint8_t *buf)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	size_t off = sizeof(*eth), l3, tcp_len = sizeof(struct tcphdr) + s->payload;
	struct tcphdr *th;

	memset(buf, 0, PKT_MAX);
	memcpy(eth->h_dest, s->dmac, 6);
	memcpy(eth->h_source, s->smac, 6);
	if (s->vlan) {
		eth->h_proto = htons(ETH_P_8021Q);
		*(uint16_t *)(buf + off) = htons(s->vlan);
		*(uint16_t *)(buf + off + 2) = htons(s->family == 4 ? ETH_P_IP : ETH_P_IPV6);
		off += 4;
	} else {
		eth->h_proto = htons(s->family == 4 ? ETH_P_IP : ETH_P_IPV6);
	}
	l3 = off;
	if (s->family == 4) {
		struct iphdr *iph = (struct iphdr *)(buf + off);

		iph->version = 4;
		iph->ihl = 5;
		iph->ttl = 64;
		iph->protocol = IPPROTO_TCP;
		iph->tot_len = htons(sizeof(*iph) + tcp_len);
		iph->id = htons(0x1234);
		memcpy(&iph->saddr, s->src, 4);
		memcpy(&iph->daddr, s->dst, 4);
		iph->check = pkt_csum(iph, sizeof(*iph));
		off += sizeof(*iph);
	} else {
		struct ipv6hdr *ip6h = (struct ipv6hdr *)(buf + off);

		ip6h->version = 6;
		ip6h->nexthdr = IPPROTO_TCP;
		ip6h->hop_limit = 64;
		ip6h->payload_len = htons(tcp_len);
		memcpy(&ip6h->saddr, s->src, 16);
		memcpy(&ip6h->daddr, s->dst, 16);
		off += sizeof(*ip6h);
	}
	th = (struct tcphdr *)(buf + off);
	th->source = htons(s->sport);
	th->dest = htons(s->dport);
	th->seq = htonl(s->seq);
	th->ack_seq = htonl(s->ack);
	th->doff = 5;
	((uint8_t *)th)[13] = s->flags;
	th->window = htons(65535);
	for (int i = 0; i < s->payload; i++)
		buf[off + sizeof(*th) + i] = 'a' + i % 26;
	/* a valid TCP checksum: the encapsulating modes' UDP checksums build on it */
	th->check = htons(pkt_sum_final(pkt_sum(
		th, tcp_len, pkt_pseudo_sum(s->family, s->src, s->dst, IPPROTO_TCP, tcp_len))));
	(void)l3;
	return off + tcp_len;
}

#endif /* MARLLB_TEST_PKT_H */
