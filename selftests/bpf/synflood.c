// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded SYN flood for the namespace end-to-end test: COUNT TCP SYNs to ADDR:PORT from
 * random source addresses in SRC_NET/16 and random ports, at RATE per second, through a raw
 * IP socket (the kernel routes them; it does not check the source). Stops after COUNT SYNs or
 * COUNT / RATE + 10 seconds, whichever comes first. Prints "start T_MS", "end T_MS sent N"
 * (CLOCK_REALTIME ms). For traffic inside network namespaces the test creates, nowhere else.
 *   synflood ADDR PORT COUNT RATE SRC_NET
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint16_t *w = p;

	for (; len > 1; len -= 2)
		sum += *w++;
	return sum;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (rng * 0x2545f4914f6cdd1dull) >> 32;
}

int main(int argc, char **argv)
{
	struct {
		struct iphdr ip;
		struct tcphdr tcp;
	} pkt;
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct in_addr net;
	long count, sent = 0;
	double rate, t0, deadline;
	int fd, one = 1;

	if (argc != 6 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[5], &net) != 1 || (count = atol(argv[3])) <= 0 ||
	    (rate = atof(argv[4])) <= 0) {
		fprintf(stderr, "usage: synflood ADDR PORT COUNT RATE SRC_NET\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one))) {
		perror("synflood: raw socket");
		return 1;
	}
	rng ^= (uint64_t)getpid() << 20;
	memset(&pkt, 0, sizeof(pkt));
	pkt.ip.version = 4;
	pkt.ip.ihl = 5;
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_TCP;
	pkt.ip.tot_len = htons(sizeof(pkt));
	pkt.ip.daddr = dst.sin_addr.s_addr;
	pkt.tcp.dest = htons(atoi(argv[2]));
	pkt.tcp.doff = 5;
	pkt.tcp.syn = 1;
	pkt.tcp.window = htons(64240);
	t0 = now_s(CLOCK_MONOTONIC);
	deadline = t0 + count / rate + 10;
	printf("start %.0f\n", now_s(CLOCK_REALTIME) * 1e3);
	fflush(stdout);
	while (sent < count && now_s(CLOCK_MONOTONIC) < deadline) {
		/* the SYNs due by now, then a short sleep: a steady rate in bursts of ~1 ms */
		long due = (long)((now_s(CLOCK_MONOTONIC) - t0) * rate) + 1;

		for (; sent < due && sent < count; sent++) {
			uint32_t sum;

			pkt.ip.saddr = net.s_addr | htonl(rnd() & 0xffff);
			pkt.ip.id = rnd();
			pkt.tcp.source = htons(1024 + rnd() % 60000);
			pkt.tcp.seq = rnd();
			pkt.tcp.check = 0;
			sum = csum_add(0, &pkt.ip.saddr, 8); /* pseudo header: addresses */
			sum += htons(IPPROTO_TCP) + htons(sizeof(pkt.tcp));
			pkt.tcp.check = csum_fold(csum_add(sum, &pkt.tcp, sizeof(pkt.tcp)));
			if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, sizeof(dst)) <
				    0 &&
			    errno != ENOBUFS && errno != EAGAIN) {
				perror("synflood: sendto");
				return 1;
			}
		}
		usleep(1000);
	}
	printf("end %.0f sent %ld\n", now_s(CLOCK_REALTIME) * 1e3, sent);
	return sent == count ? 0 : 1;
}
