// SPDX-License-Identifier: GPL-2.0
/* world: print randomized worlds; the world range options other commands share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cmds.h"
#include "sim/world.h"

enum {
	OPT_SERVERS_RANGE = 2000,
	OPT_LBS_RANGE,
	OPT_RATIO_MAX,
	OPT_LOAD_RANGE,
	OPT_WORK_RANGE,
	OPT_IO_SHARE_MAX,
	OPT_P_IO,
	OPT_P_PS,
	OPT_P_HEAVY_TAIL,
	OPT_CAPACITY_KINDS,
	OPT_WEIGHTS_KINDS,
	OPT_CHANGE_KINDS,
	OPT_CHANGED_SHARE,
};

const struct option world_range_options[] = {
	{ "servers-range", required_argument, NULL, OPT_SERVERS_RANGE },
	{ "lbs-range", required_argument, NULL, OPT_LBS_RANGE },
	{ "ratio-max", required_argument, NULL, OPT_RATIO_MAX },
	{ "load-range", required_argument, NULL, OPT_LOAD_RANGE },
	{ "work-range", required_argument, NULL, OPT_WORK_RANGE },
	{ "io-share-max", required_argument, NULL, OPT_IO_SHARE_MAX },
	{ "p-io", required_argument, NULL, OPT_P_IO },
	{ "p-ps", required_argument, NULL, OPT_P_PS },
	{ "p-heavy-tail", required_argument, NULL, OPT_P_HEAVY_TAIL },
	{ "capacity-kinds", required_argument, NULL, OPT_CAPACITY_KINDS },
	{ "weights-kinds", required_argument, NULL, OPT_WEIGHTS_KINDS },
	{ "change-kinds", required_argument, NULL, OPT_CHANGE_KINDS },
	{ "changed-share", required_argument, NULL, OPT_CHANGED_SHARE },
	{}
};

const char world_range_help[] =
	"World ranges (what a seed may draw; LO:HI, or one value to fix it):\n"
	"  --servers-range LO:HI  servers N, log-uniform (2:64)\n"
	"  --lbs-range LO:HI      load balancers M (1:8)\n"
	"  --ratio-max X          largest capacity ratio between servers (8)\n"
	"  --load-range LO:HI     offered load at the start (0.3:0.97); lowered where a\n"
	"                         change would push it past HI\n"
	"  --work-range LO:HI     mean work per task, CPU + IO, seconds (0.1:1)\n"
	"  --io-share-max X       IO's largest share of the work (0.6)\n"
	"  --p-io X               share of worlds whose tasks have IO (0.5)\n"
	"  --p-ps X               share of worlds with processor-sharing CPUs (0.25)\n"
	"  --p-heavy-tail X       share of worlds with log-normal or Pareto work (0.3)\n"
	"  --capacity-kinds LIST  of equal, two-classes, spread (all)\n"
	"  --weights-kinds LIST   configured weights: right, equal, random, reversed (all)\n"
	"  --change-kinds LIST    none, slowdown (to half speed), noisy (40 %% taken, on then\n"
	"                         off) (all)\n"
	"  --changed-share X      most servers a change touches, share of N (0.25; >= 1)\n";

/* "LO:HI" or "V" (LO = HI = V). */
static int parse_range(const char *arg, double lo, double hi, double *a, double *b)
{
	char buf[64], *colon;

	snprintf(buf, sizeof(buf), "%s", arg);
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (parse_double(buf, lo, hi, a) || parse_double(colon ? colon + 1 : buf, lo, hi, b))
		return -1;
	return *a <= *b ? 0 : -1;
}

int world_range_option(struct world_ranges *r, int opt, const char *arg)
{
	double a, b;

	switch (opt) {
	case OPT_SERVERS_RANGE:
		if (parse_range(arg, 1, SIM_MAX_SERVERS, &a, &b) || a != (int)a || b != (int)b)
			CLI_BAD("--servers-range %s: expected LO:HI, whole numbers 1..%d", arg,
				SIM_MAX_SERVERS);
		r->servers_min = (int)a;
		r->servers_max = (int)b;
		break;
	case OPT_LBS_RANGE:
		if (parse_range(arg, 1, SIM_MAX_LBS, &a, &b) || a != (int)a || b != (int)b)
			CLI_BAD("--lbs-range %s: expected LO:HI, whole numbers 1..%d", arg,
				SIM_MAX_LBS);
		r->lbs_min = (int)a;
		r->lbs_max = (int)b;
		break;
	case OPT_RATIO_MAX:
		if (parse_double(arg, 1, 64, &r->ratio_max))
			CLI_BAD("--ratio-max %s: expected 1..64", arg);
		break;
	case OPT_LOAD_RANGE:
		if (parse_range(arg, 1e-3, 0.999, &r->load_min, &r->load_max))
			CLI_BAD("--load-range %s: expected LO:HI in (0, 1)", arg);
		break;
	case OPT_WORK_RANGE:
		if (parse_range(arg, 1e-6, 1e3, &r->work_min, &r->work_max))
			CLI_BAD("--work-range %s: expected LO:HI seconds", arg);
		break;
	case OPT_IO_SHARE_MAX:
		if (parse_double(arg, 0, 0.95, &r->io_share_max))
			CLI_BAD("--io-share-max %s: expected 0..0.95", arg);
		break;
	case OPT_P_IO:
	case OPT_P_PS:
	case OPT_P_HEAVY_TAIL:
		if (parse_double(arg, 0, 1,
				 opt == OPT_P_IO ? &r->p_io :
				 opt == OPT_P_PS ? &r->p_ps :
						   &r->p_heavy_tail))
			CLI_BAD("%s: expected a share in [0, 1]", arg);
		break;
	case OPT_CAPACITY_KINDS:
		if (world_mask_parse(arg, world_capacity_names, WORLD_CAP__COUNT,
				     &r->capacity_mask))
			CLI_BAD("--capacity-kinds %s: expected some of equal, two-classes, spread",
				arg);
		break;
	case OPT_WEIGHTS_KINDS:
		if (world_mask_parse(arg, world_weights_names, WORLD_W__COUNT, &r->weights_mask))
			CLI_BAD("--weights-kinds %s: expected some of right, equal, random, reversed",
				arg);
		break;
	case OPT_CHANGE_KINDS:
		if (world_mask_parse(arg, world_change_names, WORLD_CHANGE__COUNT, &r->change_mask))
			CLI_BAD("--change-kinds %s: expected some of none, slowdown, noisy", arg);
		break;
	case OPT_CHANGED_SHARE:
		if (parse_double(arg, 1e-6, 1, &r->changed_share_max))
			CLI_BAD("--changed-share %s: expected a share in (0, 1]", arg);
		break;
	default:
		return 1;
	}
	return 0;
}

static const char world_help[] =
	"usage: marllb-sim world [--seed S] [--count K] [WORLD RANGES]\n"
	"\n"
	"Prints the randomized worlds of seeds S .. S + K - 1: servers (workers, speed,\n"
	"capacity, IO speed, configured weight), capacity changes, load and work, and the\n"
	"marllb-sim options that rebuild each one (`run --world S` runs it directly).\n"
	"Seed spaces (tools/sim/seeds.h): evaluation streams below 900000, selection of\n"
	"reference policies 900000-999999, validation worlds from 1e8, training from 1e9.\n"
	"\n"
	"  --seed S        first seed (1000000000, the first training world)\n"
	"  --count K       how many worlds (1)\n"
	"  --duration S    simulated seconds of a run (600); changes fall after the warmup\n"
	"  --warmup S      (60)\n"
	"  --help          this text\n"
	"\n";

int cmd_world(int argc, char **argv)
{
	static const struct option own[] = { { "seed", required_argument, NULL, 's' },
					     { "count", required_argument, NULL, 'c' },
					     { "duration", required_argument, NULL, 'd' },
					     { "warmup", required_argument, NULL, 'w' },
					     { "help", no_argument, NULL, 'h' },
					     {} };
	struct option *opts = cli_options_join(own, world_range_options);
	long seed = (long)SEED_TRAIN_BASE, count = 1;
	struct world_ranges r;
	char err[256];
	int opt;

	world_ranges_default(&r);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (parse_int(optarg, 0, 1L << 62, &seed)) {
				fprintf(stderr, "marllb-sim: --seed %s: expected an integer >= 0\n",
					optarg);
				return 2;
			}
			break;
		case 'c':
			if (parse_int(optarg, 1, 100000, &count)) {
				fprintf(stderr, "marllb-sim: --count %s: expected 1..100000\n",
					optarg);
				return 2;
			}
			break;
		case 'd':
		case 'w':
			if (parse_double(optarg, 0, 1e9, opt == 'd' ? &r.duration : &r.warmup)) {
				fprintf(stderr, "marllb-sim: %s: expected seconds\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("%s%s", world_help, world_range_help);
			return 0;
		default:
			if (world_range_option(&r, opt, optarg))
				return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "marllb-sim world: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (world_ranges_check(&r, err, sizeof(err))) {
		fprintf(stderr, "marllb-sim: world ranges: %s\n", err);
		return 2;
	}
	for (long i = 0; i < count; i++) {
		struct sim_config cfg;
		struct world_info info;

		world_draw((uint64_t)(seed + i), &r, &cfg, &info);
		if (i)
			printf("\n");
		printf("seed space: %s\n", seed_space_name(seed_space_of(seed + i)));
		world_print(stdout, &info, &cfg);
	}
	return 0;
}
