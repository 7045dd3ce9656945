/* SPDX-License-Identifier: GPL-2.0 */
/*
 * marllbd's configuration file (libconfig syntax): the virtual services and their backends.
 *
 *	flow_table_size = 262144;	# optional, counted flows (load time)
 *	half_open_table_size = 262144;	# optional, half-open/uncounted flows (load time)
 *	vips = (
 *	  { address = "10.0.0.100"; port = 80; protocol = "tcp"; policy = "marl";
 *	    forward = "gue"; outer_source = [ "10.0.200.0/24" ];	# optional, default dsr-l2;
 *	    mtu = 1500; gue_port = 6080;	# optional; with ipip and gue, mac = the next hop's
 *	    backends = (
 *	      { address = "10.0.0.2"; weight = 1.0; },
 *	      { address = "10.0.0.3"; mac = "02:00:00:00:00:03"; weight = 2.0;
 *	        state = "draining"; }
 *	    ); }
 *	);
 *
 * Parsing is strict: syntax errors, unknown keys, bad addresses, out-of-range values and
 * duplicate VIPs or backends are rejected with "file:line: what is wrong".
 */
#ifndef MARLLBD_CONFIG_H
#define MARLLBD_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_VIPS 64
#define CONF_MAX_BACKENDS 256
#define CONF_WEIGHT_MIN 1e-3
#define CONF_WEIGHT_MAX 1e3

enum lb_policy {
	POLICY_MARL,
	POLICY_SED,
	POLICY_LSQ,
	POLICY_WCMP,
	POLICY_ECMP,
	POLICY__COUNT,
};

enum backend_admin {
	ADMIN_ACTIVE,
	ADMIN_DRAINING,
};

struct inet_addr {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

struct backend_conf {
	struct inet_addr addr;
	uint8_t mac[6];
	bool has_mac;
	double weight;
	enum backend_admin admin;
	int line;
};

struct vip_conf {
	struct inet_addr addr;
	uint16_t port;
	uint8_t proto; /* IPPROTO_TCP */
	enum lb_policy policy;
	/* forwarding (Documentation/dataplane.md, "Forwarding modes"): enum mlb_fwd_mode; the
	 * outer sources (a prefix each, at most one per family); 0: the data plane's defaults */
	int forward;
	int n_outer_src;
	struct inet_addr outer_src[2];
	int outer_src_len[2];
	uint16_t mtu, gue_port;
	int n_backends;
	struct backend_conf backends[CONF_MAX_BACKENDS];
	int line;
};

struct lb_conf {
	int n_vips;
	struct vip_conf *vips; /* n_vips entries */
	/* data-plane table sizes, used when marllbd attaches it; 0: the defaults */
	uint32_t flow_table_size, half_open_table_size;
};

/*
 * Reads path into *conf. On error returns a negative errno and writes "file:line: sentence"
 * into err; *conf is left untouched. Free with conf_free().
 */
int conf_load(const char *path, struct lb_conf *conf, char *err, size_t err_len);
void conf_free(struct lb_conf *conf);

const char *policy_name(enum lb_policy p);
int policy_parse(const char *s, enum lb_policy *p);
const char *admin_name(enum backend_admin a);

bool inet_addr_equal(const struct inet_addr *a, const struct inet_addr *b);
/* "10.0.0.1" or "fd00::1"; returns 0 or -EINVAL. */
int inet_addr_parse(const char *s, struct inet_addr *a);
/* Writes the text form into buf (INET6_ADDRSTRLEN bytes suffice). */
const char *inet_addr_str(const struct inet_addr *a, char *buf, size_t len);
int mac_parse(const char *s, uint8_t mac[6]);
/* Why a can be neither a VIP nor a backend (unspecified, broadcast, multicast, loopback,
 * IPv4-mapped), or NULL when it can. */
const char *inet_addr_nonsense(const struct inet_addr *a);
/* Why mac cannot be a server's (all zeros, a group address), or NULL when it can. */
const char *mac_nonsense(const uint8_t mac[6]);
/* Fills ss with addr and port (host order); returns the sockaddr's length. */
struct sockaddr_storage;
unsigned int inet_addr_sockaddr(const struct inet_addr *a, uint16_t port,
				struct sockaddr_storage *ss);

#endif /* MARLLBD_CONFIG_H */
