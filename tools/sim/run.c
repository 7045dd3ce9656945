// SPDX-License-Identifier: GPL-2.0
/* run: one policy on one system (the model options, or a drawn world), its statistics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cmds.h"
#include "sim/scenario.h"
#include "sim/weights_trace.h"
#include "sim/world.h"

static const char run_help[] =
	"usage: marllb-sim run [--policy P] [--model FILE] [--world SEED [WORLD RANGES]]\n"
	"                      [--scenario KIND] [--pool NxM] [MODEL OPTIONS]\n"
	"\n"
	"Simulates one policy and prints task counts, mean and p99 completion time,\n"
	"task duration and a Little's law check.\n"
	"\n"
	"  --world SEED   the randomized world of SEED (`marllb-sim world --seed SEED`\n"
	"                 prints it), with its own task stream SEED; of the model options\n"
	"                 only --duration, --warmup and the learning settings (--step,\n"
	"                 --gamma-d, --reward, --reward-units) apply\n"
	"  --scenario K   a scenario of `compare` on the pool: correct, equal, reversed,\n"
	"                 slowdown or noisy (correct when only --pool is given)\n"
	"  --pool NxM     N servers, M LBs as `compare` builds them (POOL OPTIONS; default\n"
	"                 with --scenario: --servers and --lbs)\n"
	"  --learn        marl: the agents keep learning (off: they act on their mean)\n"
	"  --weights-csv FILE  LB --weights-lb's weights at every control step (t,w0,..)\n"
	"  --weights-lb I      (0)\n"
	"  --weights-png FILE  and their plot, capacity changes marked (needs --weights-csv)\n"
	"  --policy P     ecmp, wcmp, lsq, sed, oracle, clairvoyant or marl (sed);\n"
	"                 clairvoyant is the oracle knowing every task's true work\n"
	"  --model FILE   marl: agent model, loaded by every LB\n"
	"  --teacher BETA instead of a policy, the teacher marl trains with: it knows the\n"
	"                 servers' capacity now, and every LB writes capacity^BETA\n"
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

/* A scenario of compare on a pool (--pool, or the model's --servers and --lbs). */
static int use_scenario(struct cli_model *m, enum scenario_kind kind,
			const struct scenario_params *sp, int servers, int lbs)
{
	if (servers && (cli_model_given(m, "servers") || cli_model_given(m, "lbs"))) {
		fprintf(stderr, "marllb-sim: --pool and --servers/--lbs: give one\n");
		return -1;
	}
	if (cli_model_given(m, "weights") || cli_model_given(m, "misconfig") ||
	    cli_model_given(m, "change")) {
		fprintf(stderr, "marllb-sim: --weights, --misconfig and --change with --scenario: "
				"the scenario sets them\n");
		return -1;
	}
	if (cli_model_pool(m, servers ? servers : m->cfg.n_servers, servers ? lbs : m->cfg.n_lbs,
			   NULL, sp, &m->cfg))
		return -1;
	scenario_apply(kind, sp, &m->cfg);
	printf("scenario %s on %dx%d: %s; load %.3f at the start\n", scenario_names[kind],
	       m->cfg.n_servers, m->cfg.n_lbs, scenario_titles[kind], m->cfg.load);
	return 0;
}

/* The teacher of training acting itself: every LB writes capacity(t)^beta (sim.h). */
static struct sim *run_teacher(const struct sim_config *cfg, double beta)
{
	char err[256];
	struct sim *s = sim_create(cfg, err, sizeof(err));

	if (!s) {
		fprintf(stderr, "marllb-sim: %s\n", err);
		return NULL;
	}
	sim_set_teacher(s, beta);
	if (sim_run(s)) {
		fprintf(stderr, "marllb-sim: simulation failed\n");
		sim_free(s);
		return NULL;
	}
	return s;
}

int cmd_run(int argc, char **argv)
{
	static const struct option own[] = { { "policy", required_argument, NULL, 'p' },
					     { "model", required_argument, NULL, 'm' },
					     { "probe-reward", no_argument, NULL, 'r' },
					     { "world", required_argument, NULL, 'W' },
					     { "scenario", required_argument, NULL, 'S' },
					     { "pool", required_argument, NULL, 'P' },
					     { "learn", no_argument, NULL, 'L' },
					     { "teacher", required_argument, NULL, 'T' },
					     { "weights-csv", required_argument, NULL, 'c' },
					     { "weights-lb", required_argument, NULL, 'l' },
					     { "weights-png", required_argument, NULL, 'g' },
					     { "help", no_argument, NULL, 'h' },
					     {} };
	struct option own_all[64], own_pool[40];
	struct option *opts;
	struct world_ranges ranges;
	struct scenario_params sp;
	enum scenario_kind kind = SCENARIO_CORRECT;
	struct weights_trace trace;
	const char *weights_csv = NULL, *weights_png = NULL;
	long world = -1, weights_lb = 0;
	int pool_servers = 0, pool_lbs = 0;
	bool scenario = false, learn = false;
	struct agent *agents[SIM_MAX_LBS] = {};
	const char *model = NULL;
	struct cli_model m;
	const struct sim_stats *st;
	struct sim *s;
	double t0, wall, rate;
	bool ranges_given = false;
	double teacher = -1;
	int opt, ret;

	memcpy(own_pool, cli_options_join(own, cli_pool_options), sizeof(own_pool));
	memcpy(own_all, cli_options_join(own_pool, world_range_options), sizeof(own_all));
	opts = cli_options(own_all);
	world_ranges_default(&ranges);
	scenario_params_default(&sp);
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
		case 'S':
			if (scenario_parse(optarg, &kind)) {
				fprintf(stderr,
					"marllb-sim: --scenario %s: expected correct, equal, "
					"reversed, slowdown or noisy\n",
					optarg);
				return 2;
			}
			scenario = true;
			break;
		case 'P':
			if (parse_pool(optarg, &pool_servers, &pool_lbs)) {
				fprintf(stderr,
					"marllb-sim: --pool %s: expected NxM (servers x "
					"LBs)\n",
					optarg);
				return 2;
			}
			scenario = true;
			break;
		case 'T':
			if (parse_double(optarg, 0, 4, &teacher)) {
				fprintf(stderr, "marllb-sim: --teacher %s: expected an exponent 0..4\n",
					optarg);
				return 2;
			}
			break;
		case 'L':
			learn = true;
			break;
		case 'c':
			weights_csv = optarg;
			break;
		case 'g':
			weights_png = optarg;
			break;
		case 'l':
			if (parse_int(optarg, 0, SIM_MAX_LBS - 1, &weights_lb)) {
				fprintf(stderr,
					"marllb-sim: --weights-lb %s: expected an LB index\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			printf("%s%s\n%s\n%s", run_help, cli_pool_help, cli_model_help,
			       world_range_help);
			return 0;
		default:
			ret = world_range_option(&ranges, opt, optarg);
			ranges_given |= ret == 0;
			if (ret == 1)
				ret = cli_pool_option(&sp, opt, optarg);
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
	if (world >= 0 && scenario) {
		fprintf(stderr,
			"marllb-sim: --world and --scenario/--pool: one system or the other\n");
		return 2;
	}
	if (weights_png && !weights_csv) {
		fprintf(stderr, "marllb-sim: --weights-png needs --weights-csv FILE (the data it "
				"plots)\n");
		return 2;
	}
	if (world >= 0 && use_world(&m, &ranges, world))
		return 2;
	if (scenario && use_scenario(&m, kind, &sp, pool_servers, pool_lbs))
		return 2;
	if (weights_csv && weights_trace_open(&trace, weights_csv, (int)weights_lb, &m.cfg))
		return 1;
	if (teacher >= 0)
		m.cfg.policy = POLICY_MARL;
	if (m.cfg.policy == POLICY_MARL && teacher < 0) {
		if (!model) {
			fprintf(stderr, "marllb-sim: --policy marl needs --model FILE\n");
			return 2;
		}
		if (agents_load(agents, &m.cfg, model))
			return 1;
	}
	t0 = wall_seconds();
	if (teacher >= 0)
		s = run_teacher(&m.cfg, teacher);
	else
		s = run_one(&m.cfg, agents, learn, false);
	wall = wall_seconds() - t0;
	agents_free(agents, m.cfg.n_lbs);
	if (weights_csv && (weights_trace_close(&trace) || !s)) {
		fprintf(stderr, "marllb-sim: %s: incomplete\n", weights_csv);
		sim_free(s);
		return 1;
	}
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
	if (m.cfg.window_end > m.cfg.window_start)
		printf("window           %.0f-%.0f s: %llu tasks, mean TCT %.4f s, p99 %.4f s\n",
		       m.cfg.window_start, m.cfg.window_end,
		       (unsigned long long)st->window.measured, stats_window_mean_tct(st),
		       stats_window_p99_tct(st));
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
	if (weights_png) {
		char title[128];

		snprintf(title, sizeof(title), "%s%s%s", policy_name(m.cfg.policy),
			 scenario ? ", " : "", scenario ? scenario_names[kind] : "");
		if (weights_trace_plot(weights_csv, weights_png, &m.cfg, (int)weights_lb, title))
			return 1;
		printf("wrote %s, %s\n", weights_csv, weights_png);
	}
	return 0;
}
