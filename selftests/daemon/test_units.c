// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of marllbd's parts that need no data plane: option parsing and --help, the
 * configuration parser's acceptance and its error messages, the safety net's mode changes,
 * TCP health checks against loopback sockets, and the metrics endpoint's HTTP answer.
 */
#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../test.h"
#include "daemon/bpffs.h"
#include "daemon/config.h"
#include "daemon/daemon_opts.h"
#include "daemon/health.h"
#include "daemon/local.h"
#include "daemon/metrics.h"
#include "daemon/safety.h"
#include "daemon/validate.h"

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

#define ONE_BACKEND(vip, be_line) \
	"vips = (\n { address = \"" vip "\"; port = 80; backends = (\n" be_line " ); } );\n"

/* Addresses and MACs that parse but make no sense for a VIP or a backend. */
static void test_config_nonsense(void)
{
	check_bad("mixed_family.conf", ONE_BACKEND("10.0.0.1", "  { address = \"fd00::2\"; }"), 3,
		  "backend fd00::2 is IPv6 but VIP 10.0.0.1 is IPv4");
	check_bad("mixed_family6.conf", ONE_BACKEND("fd00::1", "  { address = \"10.0.0.2\"; }"), 3,
		  "backend 10.0.0.2 is IPv4 but VIP fd00::1 is IPv6");
	check_bad("be_any.conf", ONE_BACKEND("10.0.0.1", "  { address = \"0.0.0.0\"; }"), 3,
		  "backend 0.0.0.0 is the unspecified address");
	check_bad("be_any6.conf", ONE_BACKEND("fd00::1", "  { address = \"::\"; }"), 3,
		  "backend :: is the unspecified address");
	check_bad("be_bcast.conf", ONE_BACKEND("10.0.0.1", "  { address = \"255.255.255.255\"; }"),
		  3, "is the broadcast address");
	check_bad("be_mcast.conf", ONE_BACKEND("10.0.0.1", "  { address = \"239.1.2.3\"; }"), 3,
		  "backend 239.1.2.3 is a multicast address");
	check_bad("be_loop.conf", ONE_BACKEND("10.0.0.1", "  { address = \"127.0.0.1\"; }"), 3,
		  "backend 127.0.0.1 is a loopback address");
	check_bad("be_is_vip.conf",
		  ONE_BACKEND("10.0.0.1", "  { address = \"10.0.0.2\"; },\n"
					  "  { address = \"10.0.0.1\"; }"),
		  4, "backend 10.0.0.1 is the VIP itself");
	check_bad("mac_zero.conf",
		  ONE_BACKEND("10.0.0.1",
			      "  { address = \"10.0.0.2\"; mac = \"00:00:00:00:00:00\"; }"),
		  3, "backend MAC 00:00:00:00:00:00 is the all-zero address");
	check_bad("mac_mcast.conf",
		  ONE_BACKEND("10.0.0.1",
			      "  { address = \"10.0.0.2\"; mac = \"01:00:5e:00:00:01\"; }"),
		  3, "backend MAC 01:00:5e:00:00:01 is a multicast (group) address");
	check_bad("mac_bcast.conf",
		  ONE_BACKEND("10.0.0.1",
			      "  { address = \"10.0.0.2\"; mac = \"ff:ff:ff:ff:ff:ff\"; }"),
		  3, "is a multicast (group) address");
	check_bad("vip_mcast.conf", ONE_BACKEND("224.0.0.1", "  { address = \"10.0.0.2\"; }"), 2,
		  "VIP 224.0.0.1 is a multicast address");
	check_bad("vip_mcast6.conf", ONE_BACKEND("ff02::1", "  { address = \"fd00::2\"; }"), 2,
		  "VIP ff02::1 is a multicast address");
	check_bad("vip_any.conf", ONE_BACKEND("0.0.0.0", "  { address = \"10.0.0.2\"; }"), 2,
		  "VIP 0.0.0.0 is the unspecified address");
	check_bad("vip_bcast.conf", ONE_BACKEND("255.255.255.255", "  { address = \"10.0.0.2\"; }"),
		  2, "VIP 255.255.255.255 is the broadcast address");
	check_bad("vip_loop.conf", ONE_BACKEND("::1", "  { address = \"fd00::2\"; }"), 2,
		  "VIP ::1 is the loopback address");
	check_bad("vip_mapped.conf", ONE_BACKEND("::ffff:10.0.0.1", "  { address = \"fd00::2\"; }"),
		  2, "IPv4-mapped");
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

static int connect_loopback(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs the server as marllbd's loop would (poll, process) until the clients are done. */
static void serve(struct metrics_server *srv, struct client_arg *a, int n)
{
	pthread_t t[8];
	struct pollfd pfd = { .fd = metrics_server_fd(srv), .events = POLLIN };
	double end = now_s() + 3;

	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, client, &a[i]);
	while (now_s() < end) {
		bool done = true;

		if (poll(&pfd, 1, 10) > 0)
			metrics_server_process(srv, now_s());
		for (int i = 0; i < n; i++)
			done = done && pthread_tryjoin_np(t[i], NULL) == 0;
		if (done)
			return;
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

static void test_metrics_endpoint(void)
{
	struct client_arg a = { .request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" };
	struct metrics_server *srv = metrics_server_new(0, render_hello, "y");
	struct metrics_server_stats st;

	if (!ASSERT_TRUE(srv, "listen"))
		return;
	a.port = metrics_server_port(srv);
	serve(srv, &a, 1);
	ASSERT_TRUE(strstr(a.reply, "HTTP/1.0 200 OK\r\n") == a.reply, "status");
	ASSERT_TRUE(strstr(a.reply, "text/plain; version=0.0.4") != NULL, "content type");
	ASSERT_TRUE(strstr(a.reply, "\r\n\r\n# HELP marllb_test_value A value.\n"
				    "# TYPE marllb_test_value gauge\n"
				    "marllb_test_value{x=\"y\"} 42\n") != NULL,
		    "body");
	a.request = "GET /other HTTP/1.0\r\n\r\n";
	serve(srv, &a, 1);
	ASSERT_TRUE(strstr(a.reply, "404") != NULL, "404 elsewhere");
	a.request = "POST /metrics HTTP/1.0\r\n\r\n";
	serve(srv, &a, 1);
	ASSERT_TRUE(strstr(a.reply, "405") != NULL, "405 for POST");
	metrics_server_stats(srv, &st);
	ASSERT_EQ(st.served, 3, "served");
	ASSERT_EQ(st.bad, 2, "bad requests");
	metrics_server_free(srv);
}

/* Only on 127.0.0.1: nothing outside the LB reaches it. */
static void test_metrics_loopback_only(void)
{
	struct metrics_server *srv = metrics_server_new(0, render_hello, "y");
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002) };
	int fd;

	if (!ASSERT_TRUE(srv, "listen"))
		return;
	sin.sin_port = htons(metrics_server_port(srv));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_ERR(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), "127.0.0.2 refused");
	close(fd);
	metrics_server_free(srv);
}

/*
 * No client can hold the server: one that never finishes its request is cut at the deadline
 * while others are served; one that sends too much is answered 431; over the cap, 503. Every
 * metrics_server_process() call returns without waiting for any client.
 */
static void test_metrics_hostile_clients(void)
{
	struct metrics_server *srv = metrics_server_new(0, render_hello, "y");
	struct client_arg good = { .request = "GET /metrics HTTP/1.0\r\n\r\n" };
	int slow[METRICS_MAX_CLIENTS], n_slow = 0, fd;
	struct metrics_server_stats st;
	char big[METRICS_REQUEST_MAX + 100], reply[512] = "";
	double t0, now;
	ssize_t n;

	if (!ASSERT_TRUE(srv, "listen"))
		return;
	good.port = metrics_server_port(srv);
	/* A slow client: one byte, never the end of its request. */
	slow[n_slow++] = connect_loopback(good.port);
	ASSERT_EQ(send(slow[0], "G", 1, 0), 1, "slow byte");
	usleep(20000);
	t0 = now_s();
	metrics_server_process(srv, t0);
	serve(srv, &good, 1);
	ASSERT_TRUE(strstr(good.reply, "200 OK") != NULL, "served beside a slow client");

	/* Too large a request. */
	fd = connect_loopback(good.port);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	n = send(fd, big, sizeof(big), 0);
	ASSERT_EQ(n, (ssize_t)sizeof(big), "big request sent");
	for (int i = 0; i < 50 && !strstr(reply, "431"); i++) {
		usleep(10000);
		metrics_server_process(srv, now_s());
		recv(fd, reply, sizeof(reply) - 1, MSG_DONTWAIT);
	}
	ASSERT_TRUE(strstr(reply, "431") != NULL, "431 for a request over the limit");
	close(fd);

	/* Fill the cap with silent clients: the next one is refused at once. */
	while (n_slow < METRICS_MAX_CLIENTS)
		slow[n_slow++] = connect_loopback(good.port);
	usleep(20000);
	metrics_server_process(srv, now_s());
	metrics_server_process(srv, now_s());
	fd = connect_loopback(good.port);
	memset(reply, 0, sizeof(reply));
	for (int i = 0; i < 50 && !strstr(reply, "503"); i++) {
		usleep(10000);
		metrics_server_process(srv, now_s());
		recv(fd, reply, sizeof(reply) - 1, MSG_DONTWAIT);
	}
	ASSERT_TRUE(strstr(reply, "503") != NULL, "503 over the cap");
	close(fd);

	/* At the deadline the silent ones go, and the server answers again. */
	now = now_s() + METRICS_DEADLINE_S + 0.01;
	metrics_server_expire(srv, now);
	metrics_server_stats(srv, &st);
	ASSERT_EQ(st.timed_out, METRICS_MAX_CLIENTS, "all silent clients cut");
	ASSERT_EQ(st.refused, 1, "one refused");
	ASSERT_EQ(st.bad, 1, "one too large");
	good.reply[0] = '\0';
	serve(srv, &good, 1);
	ASSERT_TRUE(strstr(good.reply, "200 OK") != NULL, "served after the cut");
	for (int i = 0; i < n_slow; i++) {
		n = recv(slow[i], reply, sizeof(reply), MSG_DONTWAIT);
		ASSERT_EQ(n, 0, "a cut client sees the connection closed");
		close(slow[i]);
	}
	metrics_server_free(srv);
}

/* A pin root outside /sys/fs/bpf that is not a bpffs is refused with the fix, not mounted. */
static void test_bpffs_elsewhere(void)
{
	char dir[300], err[512] = "";
	bool mounted = true;

	snprintf(dir, sizeof(dir), "%s/pins/marllb", tmpdir);
	ASSERT_FALSE(bpffs_is_mounted(tmpdir), "a tmp directory is no bpffs");
	ASSERT_EQ(bpffs_prepare(dir, &mounted, err, sizeof(err)), -ENOTSUP, "refused");
	ASSERT_FALSE(mounted, "nothing mounted");
	ASSERT_TRUE(strstr(err, "is not on a BPF filesystem") && strstr(err, "mount -t bpf"), err);
}

/* A VIP must not take this host's own traffic, a backend must not be this host. Loopback
 * stands for the LB's addresses here (the parser refuses it earlier; this is the next line). */
static void test_config_local(void)
{
	struct vip_conf v = { .port = 80, .n_backends = 1, .line = 7 };
	struct lb_conf conf = { .n_vips = 1, .vips = &v };
	struct inet_addr lo6;
	char err[512] = "";
	uint16_t port;
	int lfd = listen_loopback(&port), fd6;
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(sin6);

	if (!ASSERT_TRUE(lfd >= 0, "listen"))
		return;
	inet_addr_parse("127.0.0.1", &v.addr);
	inet_addr_parse("10.255.255.1", &v.backends[0].addr);
	v.backends[0].line = 8;
	ASSERT_TRUE(local_tcp_listening(&v.addr, port), "a listener is found");
	ASSERT_FALSE(local_tcp_listening(&v.addr, port == 1 ? 2 : port - 1), "not on another port");
	ASSERT_ERR(conf_check_local("f.conf", &conf, err, sizeof(err)), "own address");
	ASSERT_TRUE(strstr(err, "f.conf:7: VIP 127.0.0.1 is this host's own address (127.0.0.1/8 "
				"on lo)"),
		    err);
	v.port = port;
	ASSERT_ERR(conf_check_local("f.conf", &conf, err, sizeof(err)), "own service");
	ASSERT_TRUE(strstr(err, "is a service of this host"), err);
	inet_addr_parse("10.255.255.2", &v.addr);
	ASSERT_OK(conf_check_local("f.conf", &conf, err, sizeof(err)), err);
	inet_addr_parse("127.0.0.1", &v.backends[0].addr);
	ASSERT_ERR(conf_check_local("f.conf", &conf, err, sizeof(err)), "backend is this host");
	ASSERT_TRUE(strstr(err, "f.conf:8: backend 127.0.0.1 is an address of this host (on lo)"),
		    err);
	close(lfd);

	fd6 = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd6 >= 0 && !bind(fd6, (struct sockaddr *)&sin6, sizeof(sin6)) && !listen(fd6, 1)) {
		getsockname(fd6, (struct sockaddr *)&sin6, &len);
		inet_addr_parse("::1", &lo6);
		ASSERT_TRUE(local_tcp_listening(&lo6, ntohs(sin6.sin6_port)), "IPv6 listener");
	}
	if (fd6 >= 0)
		close(fd6);
}

static const struct test_case tests[] = {
	TEST(config_good),
	TEST(config_bad),
	TEST(config_nonsense),
	TEST(config_local),
	TEST(config_forwarding),
	TEST(config_example),
	TEST(config_missing_file),
	TEST(options),
	TEST(help_lists_defaults),
	TEST(safety_net),
	TEST(health_checks),
	TEST(metrics_endpoint),
	TEST(metrics_loopback_only),
	TEST(metrics_hostile_clients),
	TEST(man_page_matches_options),
	TEST(bpffs_elsewhere),
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
