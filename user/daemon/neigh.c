// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/neighbour.h>
#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/neigh.h"

#define NUD_USABLE (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)

/* Returns 1 when found on ifindex, 2 when found elsewhere, 0 when not found, <0 on error. */
static int lookup(const struct inet_addr *addr, int ifindex, uint8_t mac[6])
{
	const size_t alen = addr->family == AF_INET ? 4 : 16;
	struct nl_cache *cache = NULL;
	struct nl_sock *sk;
	int found = 0, err;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	err = nl_connect(sk, NETLINK_ROUTE);
	if (!err)
		err = rtnl_neigh_alloc_cache(sk, &cache);
	if (err) {
		nl_socket_free(sk);
		return -EIO;
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o && found != 1;
	     o = nl_cache_get_next(o)) {
		struct rtnl_neigh *n = (struct rtnl_neigh *)o;
		struct nl_addr *dst = rtnl_neigh_get_dst(n);
		struct nl_addr *ll = rtnl_neigh_get_lladdr(n);

		if (!dst || !ll || nl_addr_get_family(dst) != addr->family ||
		    nl_addr_get_len(dst) != alen || nl_addr_get_len(ll) != 6 ||
		    memcmp(nl_addr_get_binary_addr(dst), &addr->v4, alen) ||
		    !(rtnl_neigh_get_state(n) & NUD_USABLE))
			continue;
		if (found && rtnl_neigh_get_ifindex(n) != ifindex)
			continue;
		memcpy(mac, nl_addr_get_binary_addr(ll), 6);
		found = rtnl_neigh_get_ifindex(n) == ifindex ? 1 : 2;
	}
	nl_cache_free(cache);
	nl_socket_free(sk);
	return found;
}

static void provoke_resolution(const struct inet_addr *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	len = inet_addr_sockaddr(addr, 9 /* discard */, &ss);
	fd = socket(addr->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&ss, len) < 0)
		(void)0; /* an unreachable address shows up as "not found" below */
	close(fd);
}

int neigh_resolve(const struct inet_addr *addr, int ifindex, int wait_ms, uint8_t mac[6], char *err,
		  size_t err_len)
{
	char abuf[INET6_ADDRSTRLEN];
	bool provoked = false;
	int found;

	for (int waited = 0;; waited += 50) {
		found = lookup(addr, ifindex, mac);
		if (found < 0) {
			snprintf(err, err_len, "cannot read the kernel neighbour table: %s.",
				 strerror(-found));
			return found;
		}
		if (found)
			break;
		if (waited >= wait_ms) {
			snprintf(
				err, err_len,
				"no MAC address for backend %s in the neighbour table after %d ms; "
				"set mac = \"...\" in the configuration or make the backend "
				"reachable.",
				inet_addr_str(addr, abuf, sizeof(abuf)), wait_ms);
			return -EHOSTUNREACH;
		}
		if (!provoked) {
			provoke_resolution(addr);
			provoked = true;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
	}
	if (found == 2)
		snprintf(err, err_len,
			 "backend %s is a neighbour on another interface than the one marllb "
			 "serves; XDP_TX sends back out of the same interface.",
			 inet_addr_str(addr, abuf, sizeof(abuf)));
	else if (err_len)
		err[0] = '\0';
	return 0;
}
