// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/ether.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libconfig.h>

#include "daemon/config.h"
#include "marllb.h"

static const char *const policy_names[POLICY__COUNT] = {
	[POLICY_MARL] = "marl", [POLICY_SED] = "sed",	[POLICY_LSQ] = "lsq",
	[POLICY_WCMP] = "wcmp", [POLICY_ECMP] = "ecmp",
};

const char *policy_name(enum lb_policy p)
{
	return p < POLICY__COUNT ? policy_names[p] : "?";
}

int policy_parse(const char *s, enum lb_policy *p)
{
	for (int i = 0; i < POLICY__COUNT; i++) {
		if (!strcmp(s, policy_names[i])) {
			*p = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *admin_name(enum backend_admin a)
{
	return a == ADMIN_DRAINING ? "draining" : "active";
}

bool inet_addr_equal(const struct inet_addr *a, const struct inet_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->v4.s_addr == b->v4.s_addr;
	return !memcmp(&a->v6, &b->v6, sizeof(a->v6));
}

int inet_addr_parse(const char *s, struct inet_addr *a)
{
	struct inet_addr r = {};

	if (inet_pton(AF_INET, s, &r.v4) == 1)
		r.family = AF_INET;
	else if (inet_pton(AF_INET6, s, &r.v6) == 1)
		r.family = AF_INET6;
	else
		return -EINVAL;
	*a = r;
	return 0;
}

const char *inet_addr_str(const struct inet_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, &a->v4, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

unsigned int inet_addr_sockaddr(const struct inet_addr *a, uint16_t port,
				struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr = a->v4;
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = a->v6;
		return sizeof(*sin6);
	}
}

const char *inet_addr_nonsense(const struct inet_addr *a)
{
	if (a->family == AF_INET) {
		uint32_t h = ntohl(a->v4.s_addr);

		if (h == 0)
			return "the unspecified address";
		if (h == 0xffffffff)
			return "the broadcast address";
		if ((h >> 28) == 0xe)
			return "a multicast address";
		if ((h >> 24) == 127)
			return "a loopback address";
		return NULL;
	}
	if (IN6_IS_ADDR_UNSPECIFIED(&a->v6))
		return "the unspecified address";
	if (IN6_IS_ADDR_MULTICAST(&a->v6))
		return "a multicast address";
	if (IN6_IS_ADDR_LOOPBACK(&a->v6))
		return "the loopback address";
	if (IN6_IS_ADDR_V4MAPPED(&a->v6))
		return "an IPv4-mapped address (write the IPv4 address)";
	return NULL;
}

const char *mac_nonsense(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	if (!memcmp(mac, zero, 6))
		return "the all-zero address";
	if (mac[0] & 1)
		return "a multicast (group) address";
	return NULL;
}

int mac_parse(const char *s, uint8_t mac[6])
{
	struct ether_addr ea;

	/* ether_aton accepts "2:0:0:0:0:1" too; insist on the canonical 17 characters. */
	if (strlen(s) != 17 || !ether_aton_r(s, &ea))
		return -EINVAL;
	memcpy(mac, ea.ether_addr_octet, 6);
	return 0;
}

struct parse_ctx {
	const char *path;
	char *err;
	size_t err_len;
};

static int fail(struct parse_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct parse_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
{
	const char *file = s ? config_setting_source_file(s) : NULL;
	int n;
	va_list ap;

	n = snprintf(ctx->err, ctx->err_len, "%s:%u: ", file ? file : ctx->path,
		     s ? config_setting_source_line(s) : 0);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < ctx->err_len)
		vsnprintf(ctx->err + n, ctx->err_len - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Every member of group s must be one of the allowed names. */
static int check_keys(struct parse_ctx *ctx, const config_setting_t *s, const char *what,
		      const char *const *allowed)
{
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *m = config_setting_get_elem(s, i);
		const char *name = config_setting_name(m);
		bool ok = false;

		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(name, *a);
		if (!ok) {
			char list[256] = "";

			for (const char *const *a = allowed; *a; a++) {
				strncat(list, *a, sizeof(list) - strlen(list) - 1);
				if (a[1])
					strncat(list, ", ", sizeof(list) - strlen(list) - 1);
			}
			return fail(ctx, m, "unknown key '%s' in %s (known: %s).", name, what,
				    list);
		}
	}
	return 0;
}

static int get_string(struct parse_ctx *ctx, const config_setting_t *group, const char *key,
		      const char *what, bool required, const char **out)
{
	const config_setting_t *m = config_setting_get_member(group, key);

	*out = NULL;
	if (!m) {
		if (required)
			return fail(ctx, group, "%s has no '%s'.", what, key);
		return 0;
	}
	if (config_setting_type(m) != CONFIG_TYPE_STRING)
		return fail(ctx, m, "'%s' of %s must be a string in double quotes.", key, what);
	*out = config_setting_get_string(m);
	return 0;
}

static int get_address(struct parse_ctx *ctx, const config_setting_t *group, const char *what,
		       struct inet_addr *addr)
{
	const char *s;
	int err = get_string(ctx, group, "address", what, true, &s);

	if (err)
		return err;
	if (inet_addr_parse(s, addr))
		return fail(ctx, config_setting_get_member(group, "address"),
			    "'%s' is not an IPv4 or IPv6 address (%s).", s, what);
	return 0;
}

/* A backend takes the VIP's packets as they are (only the MAC changes): it must be a unicast
 * host of the VIP's family, and not the VIP itself. */
static int check_backend_addr(struct parse_ctx *ctx, const config_setting_t *m,
			      const struct backend_conf *b, const struct vip_conf *v)
{
	char a[INET6_ADDRSTRLEN], va[INET6_ADDRSTRLEN];
	const char *why = inet_addr_nonsense(&b->addr);

	inet_addr_str(&b->addr, a, sizeof(a));
	inet_addr_str(&v->addr, va, sizeof(va));
	if (why)
		return fail(ctx, m, "backend %s is %s, not a server.", a, why);
	if (b->addr.family != v->addr.family)
		return fail(
			ctx, m,
			"backend %s is %s but VIP %s is %s: marllb forwards the client's packet "
			"unchanged but for its MAC, so a backend has the VIP's family.",
			a, b->addr.family == AF_INET ? "IPv4" : "IPv6", va,
			v->addr.family == AF_INET ? "IPv4" : "IPv6");
	if (inet_addr_equal(&b->addr, &v->addr))
		return fail(ctx, m, "backend %s is the VIP itself.", a);
	return 0;
}

static int parse_backend(struct parse_ctx *ctx, const config_setting_t *s, struct backend_conf *b,
			 const struct vip_conf *v)
{
	static const char *const keys[] = { "address", "mac", "weight", "state", NULL };
	const config_setting_t *m;
	const char *str, *why;
	int err;

	if (!config_setting_is_group(s))
		return fail(ctx, s, "a backend must be a group { address = \"...\"; ... }.");
	err = check_keys(ctx, s, "a backend", keys);
	if (err)
		return err;
	b->line = config_setting_source_line(s);
	err = get_address(ctx, s, "backend", &b->addr);
	if (!err)
		err = check_backend_addr(ctx, config_setting_get_member(s, "address"), b, v);
	if (err)
		return err;

	err = get_string(ctx, s, "mac", "backend", false, &str);
	if (err)
		return err;
	if (str) {
		m = config_setting_get_member(s, "mac");
		if (mac_parse(str, b->mac))
			return fail(ctx, m, "'%s' is not a MAC address like 02:00:00:00:00:01.",
				    str);
		why = mac_nonsense(b->mac);
		if (why)
			return fail(ctx, m, "backend MAC %s is %s, not a server's.", str, why);
		b->has_mac = true;
	}

	b->weight = 1.0;
	m = config_setting_get_member(s, "weight");
	if (m) {
		int t = config_setting_type(m);

		if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64 && t != CONFIG_TYPE_FLOAT)
			return fail(ctx, m, "backend weight must be a number.");
		if (t == CONFIG_TYPE_FLOAT)
			b->weight = config_setting_get_float(m);
		else if (t == CONFIG_TYPE_INT64)
			b->weight = (double)config_setting_get_int64(m);
		else
			b->weight = config_setting_get_int(m);
		if (!isfinite(b->weight) || b->weight < CONF_WEIGHT_MIN ||
		    b->weight > CONF_WEIGHT_MAX)
			return fail(ctx, m, "backend weight %g is out of range [%g, %g].",
				    b->weight, CONF_WEIGHT_MIN, CONF_WEIGHT_MAX);
	}

	err = get_string(ctx, s, "state", "backend", false, &str);
	if (err)
		return err;
	b->admin = ADMIN_ACTIVE;
	if (str) {
		if (!strcmp(str, "draining"))
			b->admin = ADMIN_DRAINING;
		else if (strcmp(str, "active"))
			return fail(ctx, config_setting_get_member(s, "state"),
				    "backend state '%s' is not \"active\" or \"draining\".", str);
	}
	return 0;
}

/* One outer source: an address, or a prefix of /16../32 (IPv4) or /96../128 (IPv6). */
static int parse_outer_source(struct parse_ctx *ctx, const config_setting_t *m, struct inet_addr *a,
			      int *len)
{
	const char *str = config_setting_get_string(m);
	char buf[64], *slash;
	int min, max;

	if (!str || snprintf(buf, sizeof(buf), "%s", str) >= (int)sizeof(buf))
		return fail(ctx, m, "an outer_source is a string \"address\" or \"prefix/len\".");
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_addr_parse(buf, a))
		return fail(ctx, m, "outer_source '%s' is not an address or a prefix.", str);
	min = a->family == AF_INET ? 16 : 96;
	max = a->family == AF_INET ? 32 : 128;
	*len = max;
	if (slash && (sscanf(slash + 1, "%d", len) != 1 || *len < min || *len > max))
		return fail(ctx, m, "outer_source '%s': the prefix is /%d../%d.", str, min, max);
	return 0;
}

/* forward, outer_source, mtu and gue_port of a VIP; how they fit its backends is checked when
 * marllbd applies them (Documentation/dataplane.md, "Forwarding modes"). */
static int parse_forwarding(struct parse_ctx *ctx, const config_setting_t *s, struct vip_conf *v)
{
	static const char *const modes[] = { "dsr-l2", "ipip", "gue" }; /* enum mlb_fwd_mode */
	const config_setting_t *m, *list = config_setting_get_member(s, "outer_source");
	const char *str;
	int err, n = 0;

	err = get_string(ctx, s, "forward", "VIP", false, &str);
	for (v->forward = 0; !err && str && v->forward < 3 && strcmp(str, modes[v->forward]);)
		v->forward++;
	if (!err && v->forward == 3)
		return fail(ctx, config_setting_get_member(s, "forward"),
			    "forward '%s' is not one of dsr-l2, ipip, gue.", str);
	if (list)
		n = config_setting_is_array(list) ? config_setting_length(list) : 1;
	if (!err && list && (n < 1 || n > 2 || config_setting_is_group(list)))
		return fail(ctx, list, "'outer_source' is a prefix or an array of one per family.");
	for (v->n_outer_src = 0; !err && v->n_outer_src < n; v->n_outer_src++) {
		int i = v->n_outer_src;

		m = config_setting_is_array(list) ? config_setting_get_elem(list, i) : list;
		err = parse_outer_source(ctx, m, &v->outer_src[i], &v->outer_src_len[i]);
		if (!err && i && v->outer_src[0].family == v->outer_src[i].family)
			return fail(ctx, m, "outer_source: one prefix per family.");
	}
	for (int i = 0; !err && i < 2; i++) {
		const char *key = i ? "gue_port" : "mtu";
		int min = i ? 1 : 576;

		m = config_setting_get_member(s, key);
		if (!m)
			continue;
		if (config_setting_type(m) != CONFIG_TYPE_INT || config_setting_get_int(m) < min ||
		    config_setting_get_int(m) > 65535)
			return fail(ctx, m, "'%s' must be a whole number in [%d, 65535].", key,
				    min);
		*(i ? &v->gue_port : &v->mtu) = config_setting_get_int(m);
	}
	return err;
}

static int parse_vip(struct parse_ctx *ctx, const config_setting_t *s, struct vip_conf *v)
{
	static const char *const keys[] = { "address",	"port",	   "protocol",	   "policy",
					    "backends", "forward", "outer_source", "mtu",
					    "gue_port", NULL };
	const config_setting_t *m, *list;
	char abuf[INET6_ADDRSTRLEN];
	const char *str;
	int err, port;

	if (!config_setting_is_group(s))
		return fail(ctx, s, "a VIP must be a group { address = \"...\"; ... }.");
	err = check_keys(ctx, s, "a VIP", keys);
	if (err)
		return err;
	v->line = config_setting_source_line(s);
	err = get_address(ctx, s, "VIP", &v->addr);
	if (err)
		return err;
	str = inet_addr_nonsense(&v->addr);
	if (str)
		return fail(ctx, config_setting_get_member(s, "address"),
			    "VIP %s is %s: clients cannot open TCP connections to it.",
			    inet_addr_str(&v->addr, abuf, sizeof(abuf)), str);

	m = config_setting_get_member(s, "port");
	if (!m)
		return fail(ctx, s, "VIP has no 'port'.");
	if (config_setting_type(m) != CONFIG_TYPE_INT)
		return fail(ctx, m, "VIP port must be a whole number.");
	port = config_setting_get_int(m);
	if (port < 1 || port > 65535)
		return fail(ctx, m, "VIP port %d is out of range [1, 65535].", port);
	v->port = port;

	err = get_string(ctx, s, "protocol", "VIP", false, &str);
	if (err)
		return err;
	v->proto = IPPROTO_TCP;
	if (str && strcmp(str, "tcp"))
		return fail(ctx, config_setting_get_member(s, "protocol"),
			    "protocol '%s' is not supported (only \"tcp\").", str);

	err = get_string(ctx, s, "policy", "VIP", false, &str);
	if (err)
		return err;
	v->policy = POLICY_MARL;
	if (str && policy_parse(str, &v->policy))
		return fail(ctx, config_setting_get_member(s, "policy"),
			    "policy '%s' is not one of marl, sed, lsq, wcmp, ecmp.", str);
	err = parse_forwarding(ctx, s, v);
	if (err)
		return err;

	list = config_setting_get_member(s, "backends");
	if (!list)
		return fail(ctx, s, "VIP %s has no 'backends'.",
			    inet_addr_str(&v->addr, abuf, sizeof(abuf)));
	if (!config_setting_is_list(list) && !config_setting_is_array(list))
		return fail(ctx, list, "'backends' must be a list ( { ... }, { ... } ).");
	if (config_setting_length(list) < 1)
		return fail(ctx, list, "VIP %s has an empty backend list.",
			    inet_addr_str(&v->addr, abuf, sizeof(abuf)));
	if (config_setting_length(list) > CONF_MAX_BACKENDS)
		return fail(ctx, list, "VIP has %d backends; at most %d are supported.",
			    config_setting_length(list), CONF_MAX_BACKENDS);

	v->n_backends = 0;
	for (int i = 0; i < config_setting_length(list); i++) {
		const config_setting_t *bs = config_setting_get_elem(list, i);
		struct backend_conf *b = &v->backends[v->n_backends];

		memset(b, 0, sizeof(*b));
		err = parse_backend(ctx, bs, b, v);
		if (err)
			return err;
		for (int j = 0; j < v->n_backends; j++) {
			if (inet_addr_equal(&v->backends[j].addr, &b->addr))
				return fail(ctx, bs, "duplicate backend %s (first at line %d).",
					    inet_addr_str(&b->addr, abuf, sizeof(abuf)),
					    v->backends[j].line);
		}
		v->n_backends++;
	}
	return 0;
}

/* An optional whole number in [MLB_TABLE_MIN, MLB_TABLE_MAX]; 0 if absent. */
static int get_table_size(struct parse_ctx *ctx, const config_setting_t *root, const char *key,
			  uint32_t *out)
{
	const config_setting_t *m = config_setting_get_member(root, key);
	long long v;

	*out = 0;
	if (!m)
		return 0;
	if (config_setting_type(m) != CONFIG_TYPE_INT && config_setting_type(m) != CONFIG_TYPE_INT64)
		return fail(ctx, m, "'%s' must be a whole number of entries.", key);
	v = config_setting_get_int64(m);
	if (v < MLB_TABLE_MIN || v > MLB_TABLE_MAX)
		return fail(ctx, m, "%s %lld is out of range [%d, %d].", key, v, MLB_TABLE_MIN,
			    MLB_TABLE_MAX);
	*out = (uint32_t)v;
	return 0;
}

int conf_load(const char *path, struct lb_conf *conf, char *err, size_t err_len)
{
	static const char *const top_keys[] = { "vips", "flow_table_size", "half_open_table_size",
						NULL };
	uint32_t flow_table_size, half_open_table_size;
	struct parse_ctx ctx = { .path = path, .err = err, .err_len = err_len };
	struct vip_conf *vips = NULL;
	const config_setting_t *root, *list;
	config_t cfg;
	int ret, n;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, err_len, "%s: cannot open: %s.", path, strerror(errno));
		return ret;
	}
	fclose(f);
	config_init(&cfg);
	if (!config_read_file(&cfg, path)) {
		snprintf(err, err_len, "%s:%d: %s.", config_error_file(&cfg) ?: path,
			 config_error_line(&cfg), config_error_text(&cfg));
		ret = -EINVAL;
		goto out;
	}
	root = config_root_setting(&cfg);
	ret = check_keys(&ctx, root, "the top level", top_keys);
	if (!ret)
		ret = get_table_size(&ctx, root, "flow_table_size", &flow_table_size);
	if (!ret)
		ret = get_table_size(&ctx, root, "half_open_table_size", &half_open_table_size);
	if (ret)
		goto out;
	list = config_setting_get_member(root, "vips");
	if (!list) {
		ret = fail(&ctx, root, "no 'vips' list: nothing to balance.");
		goto out;
	}
	if (!config_setting_is_list(list)) {
		ret = fail(&ctx, list, "'vips' must be a list ( { ... }, { ... } ).");
		goto out;
	}
	n = config_setting_length(list);
	if (n < 1 || n > CONF_MAX_VIPS) {
		ret = fail(&ctx, list, "'vips' has %d entries; 1 to %d are supported.", n,
			   CONF_MAX_VIPS);
		goto out;
	}
	vips = calloc(n, sizeof(*vips));
	if (!vips) {
		ret = -ENOMEM;
		snprintf(err, err_len, "%s: out of memory.", path);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *vs = config_setting_get_elem(list, i);

		ret = parse_vip(&ctx, vs, &vips[i]);
		if (ret)
			goto out;
		for (int j = 0; j < i; j++) {
			char abuf[INET6_ADDRSTRLEN];

			if (inet_addr_equal(&vips[j].addr, &vips[i].addr) &&
			    vips[j].port == vips[i].port && vips[j].proto == vips[i].proto) {
				ret = fail(&ctx, vs, "duplicate VIP %s port %u (first at line %d).",
					   inet_addr_str(&vips[i].addr, abuf, sizeof(abuf)),
					   vips[i].port, vips[j].line);
				goto out;
			}
		}
	}
	conf->n_vips = n;
	conf->vips = vips;
	conf->flow_table_size = flow_table_size;
	conf->half_open_table_size = half_open_table_size;
	vips = NULL;
	ret = 0;
out:
	free(vips);
	config_destroy(&cfg);
	return ret;
}

void conf_free(struct lb_conf *conf)
{
	free(conf->vips);
	conf->vips = NULL;
	conf->n_vips = 0;
}
