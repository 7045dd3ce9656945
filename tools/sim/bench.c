// SPDX-License-Identifier: GPL-2.0
/* bench: simulated tasks and events per second of wall time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cmds.h"
#ifdef SIM_HAVE_LEARN
#include "learn/agent.h"
#endif

static const char bench_help[] =
	"usage: marllb-sim bench [--scale X] [--no-marl]\n"
	"\n"
	"Times the simulator on the default configuration (2 LBs, 8 servers), on 6 x 20\n"
	"and on 32 x 512 (servers half with 4 workers, half with 2, load 0.9, 100% CPU),\n"
	"with each heuristic policy and with marl agents acting (untrained, not learning:\n"
	"acting costs the same). Then one simulated hour of 6 LBs x 20 servers at 2000\n"
	"tasks/s (mean CPU work 27 ms, load 0.9). Prints tasks/s and events/s of wall time.\n"
	"\n"
	"  --scale X   multiply the simulated durations by X (1)\n"
	"  --no-marl   skip the marl rows\n"
	"  --help      this text\n";

struct bench_case {
	const char *name;
	int lbs, servers;
	double rate, cpu_mean; /* rate 0: load 0.9 */
	double duration; /* simulated seconds at --scale 1 */
	double marl_duration;
};

static int bench_one(const struct bench_case *bc, enum sim_policy policy, double scale)
{
	struct agent *agents[SIM_MAX_LBS] = {};
	struct cli_model m;
	struct sim *s;
	double t0, wall;
	const struct sim_stats *st;

	cli_model_init(&m);
	m.cfg.n_lbs = bc->lbs;
	m.cfg.n_servers = bc->servers;
	if (cli_model_finish(&m))
		return -1;
	m.cfg.rate = bc->rate;
	m.cfg.cpu_mean = bc->cpu_mean;
	m.cfg.policy = policy;
	m.cfg.duration = (policy == POLICY_MARL ? bc->marl_duration : bc->duration) * scale;
	m.cfg.warmup = 0;
	if (policy == POLICY_MARL) {
#ifdef SIM_HAVE_LEARN
		for (int i = 0; i < bc->lbs; i++) {
			struct agent_config ac;

			agent_config_default(&ac);
			ac.max_servers = bc->servers;
			ac.seed = i + 1;
			agents[i] = agent_create(&ac);
			if (!agents[i]) {
				fprintf(stderr, "marllb-sim: cannot create agent for %d servers\n",
					bc->servers);
				agents_free(agents, i);
				return -1;
			}
		}
#else
		printf("%-22s %-7s not built: no learning library (user/learn)\n", bc->name,
		       "marl");
		return 0;
#endif
	}
	t0 = wall_seconds();
	s = run_one(&m.cfg, agents, false, false);
	wall = wall_seconds() - t0;
	agents_free(agents, bc->lbs);
	if (!s)
		return -1;
	st = sim_stats(s);
	printf("%-22s %-7s %10.0f %11llu %12llu %8.2f %12.0f %12.0f %8.3f\n", bc->name,
	       policy_name(policy), m.cfg.duration, (unsigned long long)st->generated,
	       (unsigned long long)st->events, wall, st->generated / wall, st->events / wall,
	       stats_mean_tct(st));
	sim_free(s);
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = { { "scale", required_argument, NULL, 's' },
					      { "no-marl", no_argument, NULL, 'n' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	static const struct bench_case cases[] = {
		{ "2 LBs x 8 (default)", 2, 8, 0, 1.0, 50000, 3000 },
		{ "6 LBs x 20", 6, 20, 0, 1.0, 20000, 1000 },
		{ "32 LBs x 512", 32, 512, 0, 1.0, 500, 20 },
		{ "6x20 1 h at 2000/s", 6, 20, 2000, 0.027, 3600, 3600 },
	};
	static const enum sim_policy policies[] = { POLICY_ECMP, POLICY_WCMP,	POLICY_LSQ,
						    POLICY_SED,	 POLICY_ORACLE, POLICY_MARL };
	double scale = 1;
	bool marl = true;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (parse_double(optarg, 1e-4, 100, &scale)) {
				fprintf(stderr, "marllb-sim: --scale %s: expected (0, 100]\n",
					optarg);
				return 2;
			}
			break;
		case 'n':
			marl = false;
			break;
		case 'h':
			fputs(bench_help, stdout);
			return 0;
		default:
			return 2;
		}
	}
	printf("%-22s %-7s %10s %11s %12s %8s %12s %12s %8s\n", "config", "policy", "sim s",
	       "tasks", "events", "wall s", "tasks/s", "events/s", "TCT s");
	for (unsigned int c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (unsigned int p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
			if (policies[p] == POLICY_MARL && !marl)
				continue;
			if (bench_one(&cases[c], policies[p], scale))
				return 1;
		}
	}
	return 0;
}
