// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of marllbd's parts that need no data plane: option parsing and --help, the
 * configuration parser's acceptance and its error messages, the safety net's mode changes,
 * TCP health checks against loopback sockets, and the metrics endpoint's HTTP answer.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../test.h"
#include "daemon/config.h"
#include "daemon/daemon_opts.h"
#include "daemon/health.h"
#include "daemon/metrics.h"
#include "daemon/safety.h"

static char tmpdir[] = "/tmp/marllbd-units-XXXXXX";

static const char *write_conf(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

#define GOOD_CONF                                                                                 \
	"vips = (\n"                                                                              \
	"  { address = \"10.0.0.100\"; port = 80; protocol = \"tcp\"; policy = \"sed\";\n"        \
	"    backends = (\n"                                                                      \
	"      { address = \"10.0.0.2\"; weight = 2; },\n"                                        \
	"      { address = \"10.0.0.3\"; mac = \"02:00:00:00:00:03\"; weight = 0.5;\n"            \
	"        state = \"draining\"; }\n"                                                       \
	"    ); },\n"                                                                             \
	"  { address = \"fd00::100\"; port = 443; backends = ( { address = \"fd00::2\"; } ); }\n" \
	");\n"

static void test_config_good(void)
{
	struct lb_conf conf = {};
	char err[512] = "";
	const char *p = write_conf("good.conf", GOOD_CONF);
	struct vip_conf *v;

	if (!ASSERT_OK(conf_load(p, &conf, err, sizeof(err)), err))
		return;
	ASSERT_EQ(conf.n_vips, 2, "two VIPs");
	v = &conf.vips[0];
	ASSERT_EQ(v->addr.family, AF_INET, "v4 VIP");
	ASSERT_EQ(v->port, 80, "port");
	ASSERT_EQ(v->policy, POLICY_SED, "policy");
	ASSERT_EQ(v->n_backends, 2, "backends");
	ASSERT_NEAR(v->backends[0].weight, 2.0, 1e-9, "int weight");
	ASSERT_FALSE(v->backends[0].has_mac, "mac resolved later");
	ASSERT_NEAR(v->backends[1].weight, 0.5, 1e-9, "float weight");
	ASSERT_TRUE(v->backends[1].has_mac && v->backends[1].mac[5] == 3, "mac parsed");
	ASSERT_EQ(v->backends[1].admin, ADMIN_DRAINING, "draining");
	v = &conf.vips[1];
	ASSERT_EQ(v->addr.family, AF_INET6, "v6 VIP");
	ASSERT_EQ(v->policy, POLICY_MARL, "policy defaults to marl");
	ASSERT_NEAR(v->backends[0].weight, 1.0, 1e-9, "weight defaults to 1");
	conf_free(&conf);
}

/* Each bad file must fail with "file:line: ..." naming the problem, and leave conf alone. */
static void check_bad(const char *name, const char *text, int line, const char *needle)
{
	struct lb_conf conf = { .n_vips = -7 };
	char err[512] = "", where[300];
	const char *p = write_conf(name, text);

	ASSERT_ERR(conf_load(p, &conf, err, sizeof(err)), name);
	ASSERT_EQ(conf.n_vips, -7, "conf untouched");
	snprintf(where, sizeof(where), "%s:%d: ", p, line);
	if (!ASSERT_TRUE(strstr(err, where) == err, name))
		printf("    message: %s (expected to start with %s)\n", err, where);
	if (!ASSERT_TRUE(strstr(err, needle) != NULL, name))
		printf("    message: %s (expected to mention '%s')\n", err, needle);
}

/* A VIP's forwarding: mode, outer sources (one string or one per family), MTU, GUE port. */
static void test_config_forwarding(void)
{
	struct lb_conf conf = {};
	char err[512] = "";
	const char *p = write_conf(
		"fwd.conf",
		"vips = (\n"
		" { address = \"10.0.0.1\"; port = 80; forward = \"gue\";\n"
		"   outer_source = [ \"10.0.200.0/24\", \"fd00:200::1\" ]; mtu = 9000; gue_port = 7777;\n"
		"   backends = ( { address = \"10.0.3.2\"; mac = \"02:00:00:00:00:01\"; } ); },\n"
		" { address = \"10.0.0.2\"; port = 80; forward = \"ipip\"; outer_source = \"10.0.9.9\";\n"
		"   backends = ( { address = \"10.0.3.2\"; } ); },\n"
		" { address = \"10.0.0.3\"; port = 80; backends = ( { address = \"10.0.3.2\"; } ); }\n"
		");\n");

	if (!ASSERT_OK(conf_load(p, &conf, err, sizeof(err)), err))
		return;
	ASSERT_EQ(conf.vips[0].forward, 2, "gue");
	ASSERT_EQ(conf.vips[0].n_outer_src, 2, "two sources");
	ASSERT_EQ(conf.vips[0].outer_src_len[0], 24, "/24");
	ASSERT_EQ(conf.vips[0].outer_src[1].family, AF_INET6, "an IPv6 one");
	ASSERT_EQ(conf.vips[0].outer_src_len[1], 128, "an address: /128");
	ASSERT_EQ(conf.vips[0].mtu, 9000, "mtu");
	ASSERT_EQ(conf.vips[0].gue_port, 7777, "gue_port");
	ASSERT_EQ(conf.vips[1].forward, 1, "ipip");
	ASSERT_EQ(conf.vips[1].n_outer_src, 1, "one source, as a string");
	ASSERT_EQ(conf.vips[2].forward, 0, "dsr-l2 by default");
	conf_free(&conf);
	check_bad("fwd_mode.conf",
		  "vips = ( { address = \"10.0.0.1\"; port = 80;\n forward = \"gre\";\n"
		  "   backends = ( { address = \"10.0.0.2\"; } ); } );\n",
		  2, "not one of dsr-l2, ipip, gue");
	check_bad(
		"fwd_src.conf",
		"vips = ( { address = \"10.0.0.1\"; port = 80; forward = \"ipip\";\n"
		" outer_source = \"10.0.0.0/8\";\n   backends = ( { address = \"10.0.0.2\"; } ); } );\n",
		2, "the prefix is /16../32");
	check_bad("fwd_two4.conf",
		  "vips = ( { address = \"10.0.0.1\"; port = 80; forward = \"ipip\";\n"
		  " outer_source = [ \"10.0.0.1\", \"10.0.0.2\" ];\n"
		  "   backends = ( { address = \"10.0.0.2\"; } ); } );\n",
		  2, "one prefix per family");
	check_bad("fwd_mtu.conf",
		  "vips = ( { address = \"10.0.0.1\"; port = 80;\n mtu = 100;\n"
		  "   backends = ( { address = \"10.0.0.2\"; } ); } );\n",
		  2, "'mtu' must be");
}

static void test_config_bad(void)
{
	check_bad("syntax.conf", "vips = (\n { address = ; port = 80; }\n);\n", 2, "syntax error");
	check_bad("unknown_top.conf", "vips = ();\nfoo = 1;\n", 2, "unknown key 'foo'");
	check_bad("unknown_vip.conf",
		  "vips = (\n { address = \"10.0.0.1\"; port = 80;\n   colour = \"red\";\n"
		  "   backends = ( { address = \"10.0.0.2\"; } ); }\n);\n",
		  3, "unknown key 'colour'");
	check_bad("unknown_be.conf",
		  "vips = ( { address = \"10.0.0.1\"; port = 80; backends = (\n"
		  "  { address = \"10.0.0.2\"; wieght = 1; } ); } );\n",
		  2, "unknown key 'wieght'");
	check_bad("bad_addr.conf",
		  "vips = ( { address = \"10.0.0.1\"; port = 80; backends = (\n"
		  "  { address = \"10.0.0.256\"; } ); } );\n",
		  2, "'10.0.0.256' is not an IPv4 or IPv6 address");
	check_bad("bad_vip_addr.conf",
		  "vips = (\n { address = \"vip.example\"; port = 80; backends = (\n"
		  "  { address = \"10.0.0.2\"; } ); } );\n",
		  2, "is not an IPv4 or IPv6 address");
	check_bad("dup_be.conf",
		  "vips = ( { address = \"10.0.0.1\"; port = 80; backends = (\n"
		  "  { address = \"10.0.0.2\"; },\n  { address = \"10.0.0.3\"; },\n"
		  "  { address = \"10.0.0.2\"; } ); } );\n",
		  4, "duplicate backend 10.0.0.2");
	check_bad("dup_vip.conf",
		  "vips = (\n { address = \"10.0.0.1\"; port = 80; backends = ( { address = "
		  "\"10.0.0.2\"; } ); },\n { address = \"10.0.0.1\"; port = 80; backends = ( { "
		  "address = \"10.0.0.3\"; } ); } );\n",
		  3, "duplicate VIP 10.0.0.1 port 80");
	check_bad("bad_port.conf",
		  "vips = (\n { address = \"10.0.0.1\"; port = 70000; backends = ( { address = "
		  "\"10.0.0.2\"; } ); } );\n",
		  2, "out of range");
	check_bad("bad_weight.conf",
		  "vips = ( { address = \"10.0.0.1\"; port = 80; backends = (\n"
		  "  { address = \"10.0.0.2\"; weight = 0; } ); } );\n",
		  2, "weight 0 is out of range");
	check_bad("bad_mac.conf",
		  "vips = ( { address = \"10.0.0.1\"; port = 80; backends = (\n"
		  "  { address = \"10.0.0.2\"; mac = \"2:0:0:0:0:1\"; } ); } );\n",
		  2, "is not a MAC address");
	check_bad("bad_policy.conf",
		  "vips = ( { address = \"10.0.0.1\"; port = 80;\n policy = \"random\";\n"
		  " backends = ( { address = \"10.0.0.2\"; } ); } );\n",
		  2, "policy 'random'");
	check_bad("bad_proto.conf",
		  "vips = ( { address = \"10.0.0.1\"; port = 80;\n protocol = \"udp\";\n"
		  " backends = ( { address = \"10.0.0.2\"; } ); } );\n",
		  2, "only \"tcp\"");
	check_bad("no_backends.conf", "vips = (\n { address = \"10.0.0.1\"; port = 80; } );\n", 2,
		  "has no 'backends'");
	check_bad("empty.conf", "# nothing\n", 0, "no 'vips' list");
}

static void test_config_example(void)
{
	struct lb_conf conf = {};
	char err[512] = "", path[512];

	snprintf(path, sizeof(path), "%s/tools/systemd/marllbd.conf.example", MARLLB_SRC_DIR);
	if (!ASSERT_OK(conf_load(path, &conf, err, sizeof(err)), err))
		return;
	ASSERT_EQ(conf.n_vips, 1, "shipped example parses");
	ASSERT_EQ(conf.vips[0].n_backends, 3, "three backends");
	conf_free(&conf);
}

static void test_config_missing_file(void)
{
	struct lb_conf conf = {};
	char err[512] = "";

	ASSERT_EQ(conf_load("/nonexistent/marllbd.conf", &conf, err, sizeof(err)), -ENOENT,
		  "missing file");
	ASSERT_TRUE(strstr(err, "/nonexistent/marllbd.conf: cannot open") == err, err);
}

static int parse_args(struct marllbd_opts *o, int argc, char **argv)
{
	FILE *saved = stderr;
	int ret;

	*o = marllbd_defaults;
	stderr = fopen("/dev/null", "w"); /* the parser's messages are checked by e2e tests */
	ret = opts_parse("marllbd", marllbd_options, o, argc, argv, NULL);
	fclose(stderr);
	stderr = saved;
	return ret;
}

static void test_options(void)
{
	struct marllbd_opts o;
	char *good[] = { "marllbd", "-i",     "eth0",	 "--step",     "0.1", "--reward",
			 "vbf-log", "--mode", "generic", "--no-learn", "-vv", NULL };
	char *bad_num[] = { "marllbd", "-i", "eth0", "--step", "fast", NULL };
	char *bad_range[] = { "marllbd", "-i", "eth0", "--metrics-port", "70000", NULL };
	char *bad_enum[] = { "marllbd", "-i", "eth0", "--reward", "fun", NULL };
	char *unknown[] = { "marllbd", "-i", "eth0", "--frobnicate", NULL };
	char *no_iface[] = { "marllbd", "--step", "1", NULL };
	char *help[] = { "marllbd", "--help", NULL };

	ASSERT_OK(parse_args(&o, 11, good), "good options");
	ASSERT_STREQ(o.iface, "eth0", "iface");
	ASSERT_NEAR(o.step, 0.1, 1e-12, "step");
	ASSERT_EQ(o.reward, 1, "vbf-log");
	ASSERT_EQ(o.mode, MODE_GENERIC, "mode");
	ASSERT_TRUE(o.no_learn, "no-learn");
	ASSERT_EQ(o.verbose, 2, "-vv");
	ASSERT_EQ(o.health_fall, marllbd_defaults.health_fall, "defaults kept");
	ASSERT_EQ(parse_args(&o, 5, bad_num), -EINVAL, "bad number");
	ASSERT_EQ(parse_args(&o, 5, bad_range), -EINVAL, "out of range");
	ASSERT_EQ(parse_args(&o, 5, bad_enum), -EINVAL, "bad enum");
	ASSERT_EQ(parse_args(&o, 4, unknown), -EINVAL, "unknown option");
	ASSERT_EQ(parse_args(&o, 3, no_iface), -EINVAL, "missing --iface");
	ASSERT_EQ(parse_args(&o, 2, help), 1, "--help");
}

/* --help names every option of the table with its default. */
static void test_help_lists_defaults(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	opts_print_help(f, marllbd_options, &marllbd_defaults);
	fclose(f);
	for (const struct opt *o = marllbd_options; o->name; o++) {
		char needle[64];

		snprintf(needle, sizeof(needle), "--%s", o->name);
		ASSERT_TRUE(strstr(text, needle) != NULL, o->name);
	}
	ASSERT_TRUE(strstr(text, "--step SEC") && strstr(text, "(default: 0.25)"), "step");
	ASSERT_TRUE(strstr(text, "(default: vbf)"), "reward default");
	ASSERT_TRUE(strstr(text, "vbf|vbf-log|pbf|jain|makespan"), "reward choices");
	free(text);
}

/* The man page documents every option with the default --help prints ("Default: X."). */
static void test_man_page_matches_options(void)
{
	char *man = NULL, path[512];
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/Documentation/marllbd.8", MARLLB_SRC_DIR);
	f = fopen(path, "r");
	if (!ASSERT_OK_PTR(f, path))
		return;
	man = calloc(1, 1 << 20);
	len = fread(man, 1, (1 << 20) - 1, f);
	fclose(f);
	ASSERT_GT(len, 1000, "man page read");
	for (const struct opt *o = marllbd_options; o->name; o++) {
		char needle[96], def[256], want[300], *p, *end;
		int j = 0;

		/* roff spells --foo-bar as \-\-foo\-bar */
		j += snprintf(needle, sizeof(needle), "\\-\\-");
		for (const char *c = o->name; *c && j < (int)sizeof(needle) - 3; c++) {
			if (*c == '-') {
				needle[j++] = '\\';
				needle[j++] = '-';
			} else {
				needle[j++] = *c;
			}
		}
		needle[j] = '\0';
		/* the option's own paragraph: a line right after ".TP" that names it */
		for (p = strstr(man, needle); p; p = strstr(p + 1, needle)) {
			char *line = p;

			while (line > man && line[-1] != '\n')
				line--;
			if (line - man >= 4 && !strncmp(line - 4, ".TP\n", 4))
				break;
		}
		if (!ASSERT_OK_PTR(p, o->name))
			continue;
		end = strstr(p, "\n.TP");
		if (end)
			*end = '\0';
		if (opts_default_str(o, &marllbd_defaults, def, sizeof(def)) &&
		    !strstr(def, "/models/")) { /* a build-tree path: documented in words */
			snprintf(want, sizeof(want), "Default: %s.", def);
			if (!ASSERT_TRUE(strstr(p, want) != NULL, o->name))
				printf("    man page paragraph of --%s lacks \"%s\"\n", o->name,
				       want);
		}
		if (end)
			*end = '\n';
	}
	free(man);
}

static void feed_window(struct safety *s, double *now, double mean, int samples, int arrivals)
{
	for (int i = 0; i < samples; i++)
		safety_add_task_duration(s, mean);
	for (int i = 0; i < arrivals; i++)
		safety_add_arrival(s);
	*now += s->cfg.window;
}

static void test_safety_net(void)
{
	struct safety_config cfg;
	struct safety s;
	double now = 100;
	bool changed;

	safety_config_default(&cfg);
	safety_init(&s, &cfg, now, false);
	ASSERT_EQ(s.mode, SAFETY_PROBE, "starts probing");
	feed_window(&s, &now, 0.010, 50, 50);
	ASSERT_FALSE(safety_tick(&s, now), "one window < probe period");
	feed_window(&s, &now, 0.010, 50, 50);
	changed = safety_tick(&s, now);
	ASSERT_TRUE(changed && s.mode == SAFETY_LEARNED, "probe done");
	ASSERT_NEAR(s.baseline_mean, 0.010, 1e-9, "baseline mean");
	ASSERT_NEAR(s.baseline_rate, 10, 1e-9, "baseline rate");

	/* Twice as slow but at twice the load: not comparable, never a fallback. */
	for (int i = 0; i < 10; i++) {
		feed_window(&s, &now, 0.020, 100, 100);
		ASSERT_FALSE(safety_tick(&s, now), "higher load is not held against marl");
	}
	/* Slightly worse (1.2x < 1.5x): fine. */
	for (int i = 0; i < 10; i++) {
		feed_window(&s, &now, 0.012, 50, 50);
		ASSERT_FALSE(safety_tick(&s, now), "within ratio");
	}
	/* 2x worse at the same load: falls back once sustain (30 s = 6 windows) has passed. */
	int windows = 0;

	do {
		feed_window(&s, &now, 0.020, 50, 50);
		windows++;
	} while (!safety_tick(&s, now) && windows < 20);
	ASSERT_EQ(s.mode, SAFETY_FALLBACK, "fell back");
	ASSERT_EQ(windows, 6, "after the sustain period (6 windows of 5 s)");
	ASSERT_TRUE(strstr(s.reason, "falling back to SED") != NULL, s.reason);
	ASSERT_EQ(s.fallbacks, 1, "counted");
	/* A better window in between resets the streak (checked after the retry below). */
	while (!safety_tick(&s, now += 1))
		;
	ASSERT_EQ(s.mode, SAFETY_LEARNED, "retried after hold");
	feed_window(&s, &now, 0.030, 50, 50);
	safety_tick(&s, now);
	feed_window(&s, &now, 0.010, 50, 50);
	safety_tick(&s, now);
	ASSERT_EQ(s.worse_windows, 0, "good window resets");
	/* One worse window, then windows at higher load: they neither extend nor end the
	 * streak, so no fallback however long they last (a regression: the streak used to be
	 * timed from its first window, and the log named the last, better, window's mean). */
	feed_window(&s, &now, 0.030, 50, 50);
	safety_tick(&s, now);
	for (int i = 0; i < 20; i++) {
		feed_window(&s, &now, 0.005, 100, 100);
		ASSERT_FALSE(safety_tick(&s, now), "neutral windows do not extend a streak");
	}
	ASSERT_EQ(s.worse_windows, 1, "streak kept");
	windows = 0;
	do {
		feed_window(&s, &now, 0.040, 50, 50);
		windows++;
	} while (!safety_tick(&s, now) && windows < 20);
	ASSERT_EQ(windows, 5, "falls back when worse windows add up to the sustain period");
	ASSERT_TRUE(strstr(s.reason, "0.0383 s") != NULL, s.reason);

	cfg.ratio = 0;
	safety_init(&s, &cfg, now, false);
	ASSERT_EQ(s.mode, SAFETY_LEARNED, "off: no probe");
	for (int i = 0; i < 20; i++) {
		feed_window(&s, &now, 100, 50, 50);
		ASSERT_FALSE(safety_tick(&s, now), "off: never falls back");
	}
}

static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len))
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static bool run_check(struct health_check *hc, unsigned int rise, unsigned int fall)
{
	struct timeval tv = { .tv_sec = 1 };
	fd_set w;
	int fd = health_start(hc, 0);

	if (fd < 0)
		return health_expire(hc, 0, 1, rise, fall);
	FD_ZERO(&w);
	FD_SET(fd, &w);
	select(fd + 1, NULL, &w, NULL, &tv);
	return health_complete(hc, rise, fall);
}

static void test_health_checks(void)
{
	struct inet_addr lo;
	struct health_check hc;
	uint16_t port = 0;
	int lfd = listen_loopback(&port);

	if (!ASSERT_TRUE(lfd >= 0, "listen"))
		return;
	inet_addr_parse("127.0.0.1", &lo);
	health_init(&hc, &lo, port);
	ASSERT_TRUE(hc.up, "starts up");
	ASSERT_FALSE(run_check(&hc, 2, 3), "ok keeps up");
	close(lfd); /* now the port refuses */
	ASSERT_FALSE(run_check(&hc, 2, 3), "1st failure");
	ASSERT_FALSE(run_check(&hc, 2, 3), "2nd failure");
	ASSERT_TRUE(run_check(&hc, 2, 3), "3rd failure: down");
	ASSERT_FALSE(hc.up, "down");
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	{
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_port = htons(port),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int one = 1;

		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!ASSERT_OK(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), "rebind") ||
		    !ASSERT_OK(listen(lfd, 8), "listen again"))
			goto out;
	}
	ASSERT_FALSE(run_check(&hc, 2, 3), "1st success");
	ASSERT_TRUE(run_check(&hc, 2, 3), "2nd success: up");
	ASSERT_TRUE(hc.up, "up again");
	/* A check in flight past its timeout fails. */
	hc.fd = socket(AF_INET, SOCK_STREAM, 0);
	hc.started = 0;
	hc.fail_streak = 0;
	ASSERT_FALSE(health_expire(&hc, 0.1, 0.5, 2, 1), "not yet expired");
	ASSERT_TRUE(health_expire(&hc, 0.6, 0.5, 2, 1), "expired: down (fall 1)");
	ASSERT_EQ(hc.fd, -1, "socket closed");
out:
	close(lfd);
}

static void render_hello(FILE *out, void *ctx)
{
	metrics_family(out, "marllb_test_value", "gauge", "A value.");
	fprintf(out, "marllb_test_value{x=\"%s\"} 42\n", (const char *)ctx);
}

struct client_arg {
	uint16_t port;
	const char *request;
	char reply[4096];
};

static void *client(void *p)
{
	struct client_arg *a = p;
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(a->port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;
	ssize_t n;

	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
		send(fd, a->request, strlen(a->request), 0);
		while ((n = recv(fd, a->reply + got, sizeof(a->reply) - 1 - got, 0)) > 0)
			got += n;
	}
	a->reply[got] = '\0';
	close(fd);
	return NULL;
}

static void serve_one(int lfd, struct client_arg *a)
{
	pthread_t t;
	fd_set r;

	pthread_create(&t, NULL, client, a);
	FD_ZERO(&r);
	FD_SET(lfd, &r);
	select(lfd + 1, &r, NULL, NULL, &(struct timeval){ .tv_sec = 2 });
	metrics_serve(lfd, render_hello, "y");
	pthread_join(t, NULL);
}

static void test_metrics_endpoint(void)
{
	struct client_arg a = { .request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" };
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int lfd = metrics_listen(0);

	if (!ASSERT_TRUE(lfd >= 0, "listen"))
		return;
	getsockname(lfd, (struct sockaddr *)&sin, &len);
	a.port = ntohs(sin.sin_port);
	ASSERT_EQ(sin.sin_addr.s_addr, htonl(INADDR_LOOPBACK), "bound to 127.0.0.1 only");
	serve_one(lfd, &a);
	ASSERT_TRUE(strstr(a.reply, "HTTP/1.0 200 OK\r\n") == a.reply, "status");
	ASSERT_TRUE(strstr(a.reply, "text/plain; version=0.0.4") != NULL, "content type");
	ASSERT_TRUE(strstr(a.reply, "\r\n\r\n# HELP marllb_test_value A value.\n"
				    "# TYPE marllb_test_value gauge\n"
				    "marllb_test_value{x=\"y\"} 42\n") != NULL,
		    "body");
	a.request = "GET /other HTTP/1.0\r\n\r\n";
	serve_one(lfd, &a);
	ASSERT_TRUE(strstr(a.reply, "404") != NULL, "404 elsewhere");
	a.request = "POST /metrics HTTP/1.0\r\n\r\n";
	serve_one(lfd, &a);
	ASSERT_TRUE(strstr(a.reply, "405") != NULL, "405 for POST");
	close(lfd);
}

static const struct test_case tests[] = {
	TEST(config_good),
	TEST(config_bad),
	TEST(config_forwarding),
	TEST(config_example),
	TEST(config_missing_file),
	TEST(options),
	TEST(help_lists_defaults),
	TEST(safety_net),
	TEST(health_checks),
	TEST(metrics_endpoint),
	TEST(man_page_matches_options),
	{},
};

int main(int argc, char **argv)
{
	int ret;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	ret = test_main(argc, argv, tests);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			ret = ret ? ret : 1;
	}
	return ret;
}
