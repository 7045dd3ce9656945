// SPDX-License-Identifier: GPL-2.0
/* run: one policy on one system (the model options, or a drawn world), its statistics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cmds.h"
#include "sim/world.h"

static const char run_help[] =
	"usage: marllb-sim run [--policy P] [--model FILE] [--world SEED [WORLD RANGES]]\n"
	"                      [MODEL OPTIONS]\n"
	"\n"
	"Simulates one policy and prints task counts, mean and p99 completion time,\n"
	"task duration and a Little's law check.\n"
	"\n"
	"  --world SEED   the randomized world of SEED (`marllb-sim world --seed SEED`\n"
	"                 prints it), with its own task stream SEED; of the model options\n"
	"                 only --duration, --warmup and the learning settings (--step,\n"
	"                 --gamma-d, --reward, --reward-units) apply\n"
	"  --policy P     ecmp, wcmp, lsq, sed, oracle, clairvoyant or marl (sed);\n"
	"                 clairvoyant is the oracle knowing every task's true work\n"
	"  --model FILE   marl: agent model, loaded by every LB\n"
	"  --probe-reward other policies: score every control step with --reward as a\n"
	"                 marl LB would be scored, and print the mean\n"
	"  --help         this text\n"
	"\n";

/* The model options that still apply when a world is drawn: duration and learning. */
static const char *const world_keeps[] = { "duration", "warmup",       "step",		 "gamma-d",
					   "reward",   "reward-units", "first-response", NULL };

/* Replaces m's system by the world of seed, keeping the run's length and learning
 * settings; refuses model options the world would silently override. */
static int use_world(struct cli_model *m, struct world_ranges *r, long seed)
{
	const char *unused = cli_model_unused(m, world_keeps);
	struct sim_config w;
	struct world_info info;
	char err[256];

	if (unused) {
		fprintf(stderr,
			"marllb-sim: --%s and --world: the world sets it (see "
			"`marllb-sim world --seed %ld`)\n",
			unused, seed);
		return -1;
	}
	r->duration = m->cfg.duration;
	r->warmup = m->cfg.warmup;
	if (world_ranges_check(r, err, sizeof(err))) {
		fprintf(stderr, "marllb-sim: world ranges: %s\n", err);
		return -1;
	}
	world_draw((uint64_t)seed, r, &w, &info);
	w.policy = m->cfg.policy;
	w.probe_reward = m->cfg.probe_reward;
	w.step = m->cfg.step;
	w.reward = m->cfg.reward;
	w.reward_units = m->cfg.reward_units;
	w.first_response_work = m->cfg.first_response_work;
	w.features.gamma_d = m->cfg.features.gamma_d;
	m->cfg = w;
	world_describe(&info, &w, err, sizeof(err));
	printf("%s\n", err);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct option own[] = { { "policy", required_argument, NULL, 'p' },
					     { "model", required_argument, NULL, 'm' },
					     { "probe-reward", no_argument, NULL, 'r' },
					     { "world", required_argument, NULL, 'W' },
					     { "help", no_argument, NULL, 'h' },
					     {} };
	struct option own_all[64];
	struct option *opts;
	struct world_ranges ranges;
	long world = -1;
	struct agent *agents[SIM_MAX_LBS] = {};
	const char *model = NULL;
	struct cli_model m;
	const struct sim_stats *st;
	struct sim *s;
	double t0, wall, rate;
	bool ranges_given = false;
	int opt, ret;

	memcpy(own_all, cli_options_join(own, world_range_options), sizeof(own_all));
	opts = cli_options(own_all);
	world_ranges_default(&ranges);
	cli_model_init(&m);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (policy_parse(optarg, &m.cfg.policy)) {
				fprintf(stderr, "marllb-sim: --policy %s: unknown policy\n",
					optarg);
				return 2;
			}
			break;
		case 'm':
			model = optarg;
			break;
		case 'r':
			m.cfg.probe_reward = true;
			break;
		case 'W':
			if (parse_int(optarg, 0, 1L << 62, &world)) {
				fprintf(stderr, "marllb-sim: --world %s: expected a seed >= 0\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			printf("%s%s\n%s", run_help, cli_model_help, world_range_help);
			return 0;
		default:
			ret = world_range_option(&ranges, opt, optarg);
			ranges_given |= ret == 0;
			if (ret == 1)
				ret = cli_model_option(&m, opt, optarg);
			if (ret)
				return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "marllb-sim run: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (cli_model_finish(&m))
		return 2;
	if (ranges_given && world < 0) {
		fprintf(stderr, "marllb-sim: world ranges apply to --world SEED only\n");
		return 2;
	}
	if (world >= 0 && use_world(&m, &ranges, world))
		return 2;
	if (m.cfg.policy == POLICY_MARL) {
		if (!model) {
			fprintf(stderr, "marllb-sim: --policy marl needs --model FILE\n");
			return 2;
		}
		if (agents_load(agents, &m.cfg, model))
			return 1;
	}
	t0 = wall_seconds();
	s = run_one(&m.cfg, agents, false, false);
	wall = wall_seconds() - t0;
	agents_free(agents, m.cfg.n_lbs);
	if (!s)
		return 1;
	st = sim_stats(s);
	rate = sim_config_rate(&m.cfg);
	printf("policy           %s\n", policy_name(m.cfg.policy));
	printf("servers, LBs     %d, %d\n", m.cfg.n_servers, m.cfg.n_lbs);
	printf("arrival rate     %.3f tasks/s%s\n", m.cfg.trace ? 0.0 : rate,
	       m.cfg.trace ? " (trace)" : "");
	printf("tasks            %llu generated, %llu completed, %llu rejected, %llu in flight\n",
	       (unsigned long long)st->generated, (unsigned long long)st->completed,
	       (unsigned long long)st->rejected, (unsigned long long)st->in_flight);
	printf("measured tasks   %llu (arrived after %.0f s)\n", (unsigned long long)st->measured,
	       m.cfg.warmup);
	printf("mean TCT         %.4f s\n", stats_mean_tct(st));
	printf("p99 TCT          %.4f s\n", stats_p99_tct(st));
	printf("mean duration    %.4f s (arrival to first response)\n",
	       st->duration_count ? st->duration_sum / st->duration_count : 0.0);
	printf("Little's law     L = %.4f, lambda W = %.4f\n", st->resident_integral / st->end_time,
	       st->completed ? st->accepted / st->end_time * st->sojourn_sum / st->completed : 0);
	if (st->reward_count) {
		printf("mean reward      %.5f (%s)\n", st->reward_sum / st->reward_count,
		       reward_name(m.cfg.reward));
		for (int i = 0; i < m.cfg.n_lbs && i < 4 && m.cfg.policy == POLICY_MARL; i++) {
			printf("LB %d weights     ", i);
			for (int k = 0; k < m.cfg.n_servers && k < 16; k++)
				printf(" %.2f", sim_lb_weights(s, i)[k]);
			printf(" (at the end)\n");
		}
	}
	printf("wall time        %.3f s, %.0f tasks/s, %.0f events/s\n", wall, st->generated / wall,
	       st->events / wall);
	sim_free(s);
	return 0;
}
