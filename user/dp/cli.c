// SPDX-License-Identifier: GPL-2.0
/*
 * marllb-dp: configure and inspect a marllb data plane from the shell (tests, debugging).
 * The daemon uses the same library (user/dp/dataplane.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "dp/dataplane.h"
#include "dp/decap.h"

static const char *const usage =
	"Usage: marllb-dp [-i IFACE | -p PIN_DIR] COMMAND [ARGS]\n"
	"Configure or inspect the marllb XDP data plane attached to IFACE (found from the\n"
	"interface, e.g. after `ip link set dev IFACE xdp obj marllb.o`) or pinned under PIN_DIR.\n"
	"\n"
	"Commands:\n"
	"  attach IFACE [native|generic]   load marllb, attach it with libxdp, pin its maps\n"
	"                                  under " MLB_PIN_ROOT "/IFACE (or PIN_DIR); prints the\n"
	"                                  flow tables' sizes and memory\n"
	"  detach IFACE                    detach marllb from IFACE and remove its pins\n"
	"  vip ADDR PORT POLICY [FORWARDING]\n"
	"                                  add a TCP service (or change its policy and\n"
	"                                  forwarding), print its id\n"
	"                                  POLICY: marl, sed, lsq, wcmp, ecmp\n"
	"                                  FORWARDING (default: forward dsr-l2):\n"
	"                                    forward dsr-l2|ipip|gue\n"
	"                                    source PREFIX   outer source for ipip and gue, once\n"
	"                                                    per family its backends need: an\n"
	"                                                    address, or a prefix (/16../32,\n"
	"                                                    /96../128) whose host bits spread\n"
	"                                                    each client's flows\n"
	"                                    mtu N           L3 MTU towards the backends (%u):\n"
	"                                                    larger packets get ICMP too big\n"
	"                                    gue-port N      GUE's UDP destination port (%u)\n"
	"  delvip ADDR PORT                remove a service\n"
	"  backend VIP_ID K ADDR MAC [STATE [WEIGHT]]\n"
	"                                  set backend K (0..255) of a service (ipip, gue: MAC\n"
	"                                  is the next hop's towards ADDR);\n"
	"                                  STATE: active (default), draining, down; WEIGHT: 1\n"
	"  weights VIP_ID A0 A1 ...        publish agent weights (1.0 neutral) for a marl service\n"
	"  queues VIP_ID N                 print q of backends 0..N-1, one per line\n"
	"  pin DIR                         pin the maps under DIR (mode 0600)\n"
	"  stats                           print global counters\n"
	"  tables                          print the flow tables' sizes and memory\n"
	"  flows                           print both flow tables (counted: in q; uncounted:\n"
	"                                  half-open, closing, refused or reclaimed flows)\n"
	"  samples SECONDS                 print the samples (kind vip backend value_ns ts_ns)\n"
	"                                  that arrive within SECONDS\n"
	"\n"
	"Server side (-i IFACE with marllb_decap.o attached: ip link set dev IFACE xdp obj\n"
	"marllb_decap.o), stripping ipip and gue encapsulation for the VIPs named here:\n"
	"  decap vip ADDR [PORT]           strip packets to ADDR:PORT (no PORT: every port)\n"
	"  decap delvip ADDR [PORT]        stop\n"
	"  decap gue-port N                GUE's UDP destination port (%u)\n"
	"  decap stats                     print the decapsulation counters\n"
	"\n"
	"Options:\n"
	"  -i, --iface IFACE    the data plane attached to IFACE\n"
	"  -p, --pin DIR        the data plane whose maps are pinned under DIR\n"
	"  -F, --flow-table N   attach: entries of the counted flow table (default %u)\n"
	"  -H, --half-open-table N\n"
	"                       attach: entries of the half-open (uncounted, LRU) table\n"
	"                       (default %u); both in [%u, %u]\n"
	"  -h, --help           this text\n";

static void print_usage(FILE *out)
{
	fprintf(out, usage, MLB_ENCAP_MTU_DEFAULT, MLB_GUE_PORT_DEFAULT, MLB_GUE_PORT_DEFAULT,
		MLB_FLOW_TABLE_DEFAULT, MLB_HALF_OPEN_TABLE_DEFAULT, MLB_TABLE_MIN, MLB_TABLE_MAX);
}

static int parse_addr(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = MLB_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = MLB_AF_INET6;
		return 0;
	}
	fprintf(stderr, "marllb-dp: '%s' is not an IPv4 or IPv6 address\n", s);
	return -EINVAL;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 0);
	if (errno || end == s || *end || *v > max || s[0] == '-') {
		fprintf(stderr, "marllb-dp: '%s' is not a number in 0..%lu\n", s, max);
		return -EINVAL;
	}
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		goto bad;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 255)
			goto bad;
		mac[i] = b[i];
	}
	return 0;
bad:
	fprintf(stderr, "marllb-dp: '%s' is not a MAC address\n", s);
	return -EINVAL;
}

static int parse_vip(char **argv, struct mlb_vip_cfg *cfg)
{
	unsigned long port;

	memset(cfg, 0, sizeof(*cfg));
	if (parse_addr(argv[0], &cfg->family, cfg->addr) || parse_uint(argv[1], 65535, &port))
		return -EINVAL;
	cfg->port = port;
	return 0;
}

/* [forward MODE] [source PREFIX]... [mtu N] [gue-port N] */
static int parse_forwarding(int argc, char **argv, struct mlb_fwd_cfg *fwd)
{
	unsigned long v;
	int i, err;

	for (i = 0; i < argc; i += 2) {
		if (i + 1 >= argc) {
			fprintf(stderr, "marllb-dp: '%s' needs a value\n", argv[i]);
			return -EINVAL;
		}
		if (!strcmp(argv[i], "forward")) {
			err = mlb_fwd_mode_parse(argv[i + 1]);
			if (err < 0) {
				fprintf(stderr,
					"marllb-dp: forwarding '%s' is not dsr-l2, ipip or "
					"gue\n",
					argv[i + 1]);
				return err;
			}
			fwd->mode = err;
		} else if (!strcmp(argv[i], "source")) {
			if (mlb_fwd_source_parse(fwd, argv[i + 1])) {
				fprintf(stderr,
					"marllb-dp: '%s' is not an address or a prefix of "
					"/16../32 (IPv4) or /96../128 (IPv6)\n",
					argv[i + 1]);
				return -EINVAL;
			}
		} else if (!strcmp(argv[i], "mtu")) {
			if (parse_uint(argv[i + 1], 65535, &v))
				return -EINVAL;
			fwd->mtu = v;
		} else if (!strcmp(argv[i], "gue-port")) {
			if (parse_uint(argv[i + 1], 65535, &v) || !v)
				return -EINVAL;
			fwd->gue_port = v;
		} else {
			fprintf(stderr,
				"marllb-dp: unknown VIP option '%s' (forward, source, mtu, "
				"gue-port)\n",
				argv[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static int print_flow(const struct mlb_flow_key *k, const struct mlb_flow *f, void *ctx)
{
	static const char *const states[] = { "?", "syn", "open", "task_done", "closed" };
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int af = k->family == MLB_AF_INET ? AF_INET : AF_INET6;

	inet_ntop(af, k->src, src, sizeof(src));
	inet_ntop(af, k->dst, dst, sizeof(dst));
	printf("%s:%u -> %s:%u vip %u backend %u state %s %s last_seen_ns %llu\n", src,
	       ntohs(k->sport), dst, ntohs(k->dport), f->vip_id, f->backend,
	       states[f->state < 5 ? f->state : 0], (const char *)ctx,
	       (unsigned long long)f->last_seen_ns);
	return 0;
}

static void print_tables(struct mlb_dp *dp, FILE *out)
{
	struct mlb_dp_tables t;
	char buf[256];

	if (mlb_dp_tables(dp, &t))
		return;
	mlb_dp_tables_str(&t, buf, sizeof(buf));
	fprintf(out, "%s\n", buf);
}

static int print_sample(void *ctx, void *data, size_t size)
{
	static const char *const kinds[] = { "?", "task", "fct", "new_flow" };
	const struct mlb_sample *smp = data;

	if (size != sizeof(*smp))
		return 0;
	printf("%s %u %u %llu %llu\n", kinds[smp->kind < 4 ? smp->kind : 0], smp->vip_id,
	       smp->backend, (unsigned long long)smp->value_ns, (unsigned long long)smp->ts_ns);
	fflush(stdout);
	return 0;
}

static int print_samples(struct mlb_dp *dp, unsigned long seconds)
{
	struct ring_buffer *rb = mlb_dp_samples_new(dp, print_sample, NULL);
	time_t end = time(NULL) + seconds;
	int err = 0;

	if (!rb)
		return -errno;
	while (time(NULL) < end) {
		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR)
			break;
		err = 0;
	}
	ring_buffer__free(rb);
	return err;
}

static int run(struct mlb_dp *dp, int argc, char **argv)
{
	const char *cmd = argv[0];
	struct mlb_vip_cfg vcfg;
	unsigned long id, k, v;
	int err;

	if (!strcmp(cmd, "vip") && argc >= 4) {
		uint32_t vid;

		if (parse_vip(argv + 1, &vcfg) || parse_forwarding(argc - 4, argv + 4, &vcfg.fwd))
			return -EINVAL;
		err = mlb_policy_parse(argv[3]);
		if (err < 0) {
			fprintf(stderr, "marllb-dp: unknown policy '%s'\n", argv[3]);
			return err;
		}
		vcfg.policy = err;
		err = mlb_dp_set_vip(dp, &vcfg, &vid);
		if (!err)
			printf("%u\n", vid);
		return err;
	}
	if (!strcmp(cmd, "delvip") && argc == 3) {
		if (parse_vip(argv + 1, &vcfg))
			return -EINVAL;
		return mlb_dp_del_vip(dp, &vcfg);
	}
	if (!strcmp(cmd, "backend") && argc >= 5 && argc <= 7) {
		struct mlb_backend_cfg b = { .state = MLB_BACKEND_ACTIVE, .weight = 1 };

		if (parse_uint(argv[1], MLB_MAX_VIPS - 1, &id) ||
		    parse_uint(argv[2], MLB_MAX_BACKENDS - 1, &k) ||
		    parse_addr(argv[3], &b.family, b.addr) || parse_mac(argv[4], b.mac))
			return -EINVAL;
		if (argc > 5) {
			if (!strcmp(argv[5], "active"))
				b.state = MLB_BACKEND_ACTIVE;
			else if (!strcmp(argv[5], "draining"))
				b.state = MLB_BACKEND_DRAINING;
			else if (!strcmp(argv[5], "down"))
				b.state = MLB_BACKEND_DOWN;
			else {
				fprintf(stderr, "marllb-dp: unknown state '%s'\n", argv[5]);
				return -EINVAL;
			}
		}
		if (argc > 6) {
			if (parse_uint(argv[6], UINT32_MAX, &v))
				return -EINVAL;
			b.weight = v;
		}
		return mlb_dp_set_backend(dp, id, k, &b);
	}
	if (!strcmp(cmd, "weights") && argc >= 3 && argc - 2 <= MLB_MAX_BACKENDS) {
		float a[MLB_MAX_BACKENDS];
		int64_t gen;

		if (parse_uint(argv[1], MLB_MAX_VIPS - 1, &id))
			return -EINVAL;
		for (int i = 2; i < argc; i++) {
			char *end;

			a[i - 2] = strtof(argv[i], &end);
			if (end == argv[i] || *end) {
				fprintf(stderr, "marllb-dp: '%s' is not a weight\n", argv[i]);
				return -EINVAL;
			}
		}
		gen = mlb_dp_set_weights(dp, id, a, argc - 2);
		if (gen < 0)
			return gen;
		printf("generation %lld\n", (long long)gen);
		return 0;
	}
	if (!strcmp(cmd, "queues") && argc == 3) {
		uint32_t q[MLB_MAX_BACKENDS];

		if (parse_uint(argv[1], MLB_MAX_VIPS - 1, &id) ||
		    parse_uint(argv[2], MLB_MAX_BACKENDS, &k))
			return -EINVAL;
		err = mlb_dp_read_queues(dp, id, q, k);
		for (unsigned long i = 0; !err && i < k; i++)
			printf("%u\n", q[i]);
		return err;
	}
	if (!strcmp(cmd, "stats") && argc == 1) {
		struct mlb_stats s;

		err = mlb_dp_read_stats(dp, &s);
		if (err)
			return err;
		printf("new_flows %llu\nestablished %llu\nclosed_flows %llu\nrefused %llu\n"
		       "syn_stateless %llu\nfallback %llu\nsamples %llu\nring_lost %llu\n"
		       "icmp_too_big %llu\n",
		       (unsigned long long)s.new_flows, (unsigned long long)s.established,
		       (unsigned long long)s.closed_flows, (unsigned long long)s.refused,
		       (unsigned long long)s.syn_stateless, (unsigned long long)s.fallback,
		       (unsigned long long)s.samples, (unsigned long long)s.ring_lost,
		       (unsigned long long)s.icmp_too_big);
		for (int r = 0; r < MLB_DROP_MAX; r++)
			printf("drop_%s %llu\n", mlb_drop_reason_name(r),
			       (unsigned long long)s.drops[r]);
		return 0;
	}
	if (!strcmp(cmd, "samples") && argc == 2) {
		if (parse_uint(argv[1], 3600, &v))
			return -EINVAL;
		return print_samples(dp, v);
	}
	if (!strcmp(cmd, "pin") && argc == 2)
		return mlb_dp_pin_maps(dp, argv[1]);
	if (!strcmp(cmd, "flows") && argc == 1) {
		long n = mlb_dp_for_each_flow(dp, MLB_TABLE_FLOWS, print_flow, "counted");

		if (n >= 0)
			n = mlb_dp_for_each_flow(dp, MLB_TABLE_HALF_OPEN, print_flow, "uncounted");
		return n < 0 ? n : 0;
	}
	if (!strcmp(cmd, "tables") && argc == 1) {
		print_tables(dp, stdout);
		return 0;
	}
	fprintf(stderr, "marllb-dp: bad command or arguments: %s (see --help)\n", cmd);
	return -EINVAL;
}

/* decap vip|delvip ADDR [PORT] | gue-port N | stats */
static int run_decap(const char *iface, int argc, char **argv)
{
	struct mlb_decap *d = NULL;
	struct mlb_vip_cfg vcfg = {};
	unsigned long v = 0;
	int err;

	if (!iface) {
		fprintf(stderr, "marllb-dp: decap needs --iface IFACE\n");
		return -EINVAL;
	}
	err = mlb_decap_open_iface(iface, &d);
	if (err)
		return err;
	err = -EINVAL;
	if ((!strcmp(argv[1], "vip") || !strcmp(argv[1], "delvip")) && (argc == 3 || argc == 4)) {
		if (parse_addr(argv[2], &vcfg.family, vcfg.addr) ||
		    (argc == 4 && parse_uint(argv[3], 65535, &v)))
			goto out;
		vcfg.port = v;
		err = argv[1][0] == 'v' ? mlb_decap_add_vip(d, &vcfg) : mlb_decap_del_vip(d, &vcfg);
	} else if (!strcmp(argv[1], "gue-port") && argc == 3) {
		if (!parse_uint(argv[2], 65535, &v) && v)
			err = mlb_decap_set_gue_port(d, v);
	} else if (!strcmp(argv[1], "stats") && argc == 2) {
		struct mlb_decap_stats s;

		err = mlb_decap_read_stats(d, &s);
		if (!err)
			printf("ipip %llu\nip6ip6 %llu\nip4ip6 %llu\ngue %llu\nnot_vip %llu\n"
			       "malformed %llu\n",
			       (unsigned long long)s.ipip, (unsigned long long)s.ip6ip6,
			       (unsigned long long)s.ip4ip6, (unsigned long long)s.gue,
			       (unsigned long long)s.not_vip, (unsigned long long)s.malformed);
	} else {
		fprintf(stderr, "marllb-dp: bad decap command or arguments (see --help)\n");
	}
out:
	mlb_decap_close(d);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "pin", required_argument, NULL, 'p' },
		{ "flow-table", required_argument, NULL, 'F' },
		{ "half-open-table", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *iface = NULL, *pin = NULL;
	struct mlb_dp_opts dpo = {};
	struct mlb_dp *dp = NULL;
	unsigned long v;
	int c, err;

	while ((c = getopt_long(argc, argv, "+i:p:F:H:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			iface = optarg;
			break;
		case 'p':
			pin = optarg;
			break;
		case 'F':
		case 'H':
			if (parse_uint(optarg, MLB_TABLE_MAX, &v) || v < MLB_TABLE_MIN) {
				fprintf(stderr, "marllb-dp: --%s must be in [%u, %u]\n",
					c == 'F' ? "flow-table" : "half-open-table", MLB_TABLE_MIN,
					MLB_TABLE_MAX);
				return 2;
			}
			*(c == 'F' ? &dpo.flow_table_size : &dpo.half_open_table_size) = v;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		print_usage(stderr);
		return 2;
	}
	if ((dpo.flow_table_size || dpo.half_open_table_size) && strcmp(argv[0], "attach")) {
		fprintf(stderr, "marllb-dp: table sizes are set when attaching (the tables of a "
				"loaded program cannot be resized)\n");
		return 2;
	}
	if (!strcmp(argv[0], "attach") && (argc == 2 || argc == 3)) {
		enum mlb_dp_mode mode = MLB_DP_NATIVE;

		if (argc == 3 && strcmp(argv[2], "native")) {
			if (strcmp(argv[2], "generic")) {
				fprintf(stderr, "marllb-dp: mode must be native or generic\n");
				return 2;
			}
			mode = MLB_DP_GENERIC;
		}
		err = mlb_dp_attach(argv[1], mode, pin, &dpo, &dp);
		if (!err)
			print_tables(dp, stdout);
		mlb_dp_close(dp);
		goto out;
	}
	if (!strcmp(argv[0], "decap") && argc >= 2) {
		err = run_decap(iface, argc, argv);
		goto out;
	}
	if (!strcmp(argv[0], "detach") && argc == 2) {
		err = mlb_dp_detach(argv[1], pin);
		goto out;
	}
	if (!!iface == !!pin) {
		fprintf(stderr, "marllb-dp: give exactly one of --iface and --pin\n");
		return 2;
	}
	err = iface ? mlb_dp_open_iface(iface, &dp) : mlb_dp_open_pinned(pin, &dp);
	if (!err)
		err = run(dp, argc, argv);
	mlb_dp_close(dp);
out:
	if (err)
		fprintf(stderr, "marllb-dp: %s failed: %s\n", argv[0], strerror(-err));
	return err ? 1 : 0;
}
