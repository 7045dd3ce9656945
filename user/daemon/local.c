// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>

#include "daemon/local.h"

static int prefix_of(const struct sockaddr *mask)
{
	const uint8_t *b;
	int n, len = 0;

	if (!mask)
		return -1;
	if (mask->sa_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)mask)->sin_addr;
		n = 4;
	} else {
		b = (const uint8_t *)&((const struct sockaddr_in6 *)mask)->sin6_addr;
		n = 16;
	}
	for (int i = 0; i < n; i++)
		len += __builtin_popcount(b[i]);
	return len;
}

int local_addr_find(const struct inet_addr *a, char ifname[IF_NAMESIZE], int *prefix_len)
{
	struct ifaddrs *ifa, *i;
	int found = 0;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i && !found; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;

		if (!sa || sa->sa_family != a->family)
			continue;
		if (a->family == AF_INET)
			found = ((const struct sockaddr_in *)sa)->sin_addr.s_addr == a->v4.s_addr;
		else
			found = !memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &a->v6, 16);
		if (found) {
			snprintf(ifname, IF_NAMESIZE, "%s", i->ifa_name);
			*prefix_len = prefix_of(i->ifa_netmask);
		}
	}
	freeifaddrs(ifa);
	return found;
}

#define TCP_LISTEN 0x0a /* st column of /proc/net/tcp */

/* Scans /proc/net/tcp or tcp6 (this namespace's) for a listener whose address, 4 or 16 bytes
 * in the kernel's own printing (u32 words in host order), matches one of want[0..n). */
static bool scan(const char *path, uint16_t port, const uint8_t want[][16], int n, size_t alen)
{
	char line[512];
	bool hit = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f)) /* header */
		goto out;
	while (!hit && fgets(line, sizeof(line), f)) {
		uint32_t words[4];
		unsigned int lport, st;
		char addr[40];

		if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", addr, &lport,
			   &st) != 3 ||
		    st != TCP_LISTEN || lport != port || strlen(addr) != alen * 2)
			continue;
		for (size_t w = 0; w < alen / 4; w++)
			sscanf(addr + 8 * w, "%8x", &words[w]);
		for (int i = 0; i < n && !hit; i++)
			hit = !memcmp(words, want[i], alen);
	}
out:
	fclose(f);
	return hit;
}

bool local_tcp_listening(const struct inet_addr *a, uint16_t port)
{
	uint8_t want[2][16] = {};

	if (a->family == AF_INET6) {
		memcpy(want[0], &a->v6, 16); /* [::] is want[1] */
		return scan("/proc/net/tcp6", port, want, 2, 16);
	}
	memcpy(want[0], &a->v4, 4); /* 0.0.0.0 is want[1] */
	if (scan("/proc/net/tcp", port, want, 2, 4))
		return true;
	/* A dual-stack [::] listener takes IPv4 too, as does one on ::ffff:a. */
	memset(want, 0, sizeof(want));
	want[0][10] = want[0][11] = 0xff;
	memcpy(&want[0][12], &a->v4, 4);
	return scan("/proc/net/tcp6", port, want, 2, 16);
}
