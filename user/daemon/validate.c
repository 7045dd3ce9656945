// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/local.h"
#include "daemon/log.h"
#include "daemon/neigh.h"
#include "daemon/validate.h"

#define NEIGH_WAIT_MS 1000

static int vip_check_local(const char *path, const struct vip_conf *v, char *err, size_t err_len)
{
	char a[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];
	int host_len = v->addr.family == AF_INET ? 32 : 128, prefix = 0;
	int found = local_addr_find(&v->addr, ifname, &prefix);

	inet_addr_str(&v->addr, a, sizeof(a));
	if (found < 0) {
		snprintf(err, err_len, "%s:%d: cannot list this host's addresses: %s.", path,
			 v->line, strerror(-found));
		return found;
	}
	if (!found)
		return 0;
	/* An address of its own (a /32 on lo, LVS-DR style) can be a VIP; the LB's address on a
	 * subnet is how the LB itself is reached, and a listening port is its own service. */
	if (local_tcp_listening(&v->addr, v->port)) {
		snprintf(err, err_len,
			 "%s:%d: VIP %s port %u is a service of this host (a TCP socket listens "
			 "there, e.g. sshd on 22): its connections would go to the backends.",
			 path, v->line, a, v->port);
		return -EADDRINUSE;
	}
	if (prefix >= 0 && prefix < host_len) {
		snprintf(err, err_len,
			 "%s:%d: VIP %s is this host's own address (%s/%d on %s): connections to "
			 "it on port %u would go to the backends. A VIP is an address of its own, "
			 "routed to the LB.",
			 path, v->line, a, a, prefix, ifname, v->port);
		return -EADDRINUSE;
	}
	return 0;
}

int conf_check_local(const char *path, const struct lb_conf *conf, char *err, size_t err_len)
{
	for (int i = 0; i < conf->n_vips; i++) {
		const struct vip_conf *v = &conf->vips[i];
		int ret = vip_check_local(path, v, err, err_len);

		if (ret)
			return ret;
		for (int j = 0; j < v->n_backends; j++) {
			const struct backend_conf *b = &v->backends[j];
			char a[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];
			int prefix;

			if (local_addr_find(&b->addr, ifname, &prefix) > 0) {
				snprintf(err, err_len,
					 "%s:%d: backend %s is an address of this host (on %s): "
					 "its flows would come back to the LB.",
					 path, b->line, inet_addr_str(&b->addr, a, sizeof(a)),
					 ifname);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* Backends without a MAC in the file get the one of the neighbour table. */
static int resolve_macs(const char *path, int ifindex, struct lb_conf *conf, char *err,
			size_t err_len)
{
	for (int i = 0; i < conf->n_vips; i++) {
		struct vip_conf *v = &conf->vips[i];

		for (int j = 0; j < v->n_backends; j++) {
			struct backend_conf *b = &v->backends[j];
			char why[256], a[INET6_ADDRSTRLEN];
			const char *bad;
			int ret;

			if (b->has_mac)
				continue;
			ret = neigh_resolve(&b->addr, ifindex, NEIGH_WAIT_MS, b->mac, why,
					    sizeof(why));
			if (ret) {
				snprintf(err, err_len, "%s:%d: %s", path, b->line, why);
				return ret;
			}
			if (why[0])
				pr_warn("marllbd: %s:%d: %s\n", path, b->line, why);
			bad = mac_nonsense(b->mac);
			if (bad) {
				snprintf(
					err, err_len,
					"%s:%d: the neighbour table gives backend %s a MAC that is "
					"%s; give its MAC in the file.",
					path, b->line, inet_addr_str(&b->addr, a, sizeof(a)), bad);
				return -EINVAL;
			}
			b->has_mac = true;
		}
	}
	return 0;
}

int conf_prepare(const char *path, int ifindex, struct lb_conf *conf, char *err, size_t err_len)
{
	int ret = conf_load(path, conf, err, err_len);

	if (!ret)
		ret = conf_check_local(path, conf, err, err_len);
	if (!ret)
		ret = resolve_macs(path, ifindex, conf, err, err_len);
	if (ret)
		conf_free(conf);
	return ret;
}
