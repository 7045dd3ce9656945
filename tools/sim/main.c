// SPDX-License-Identifier: GPL-2.0
/* marllb-sim: event-driven multi-LB simulator (Documentation/simulator.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/cmds.h"
#include "sim/internal.h"
#ifdef SIM_HAVE_LEARN
#include "learn/agent.h"
#endif
#include "obs/settings.h"

static const char usage[] =
	"usage: marllb-sim COMMAND [OPTIONS]\n"
	"\n"
	"Event-driven simulator of M load balancers in front of N servers.\n"
	"\n"
	"Commands:\n"
	"  run      simulate one policy and print its statistics\n"
	"  compare  every policy on the same task streams, several seeds, three mixes\n"
	"  train    train marl agents over episodes; writes models and a learning curve\n"
	"  bench    simulated tasks and events per second of wall time\n"
	"\n"
	"`marllb-sim COMMAND --help` lists a command's options.\n";

double wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int gnuplot_run(const char *script)
{
	FILE *p = popen("gnuplot 2>&1", "w");

	if (!p) {
		fprintf(stderr, "marllb-sim: cannot start gnuplot: %s\n", strerror(errno));
		return -1;
	}
	fputs(script, p);
	if (pclose(p)) {
		fprintf(stderr, "marllb-sim: gnuplot failed (is gnuplot-nox installed?)\n");
		return -1;
	}
	return 0;
}

void sim_learn_settings(const struct sim_config *cfg, struct learn_settings *ls)
{
	ls->step = cfg->step;
	ls->gamma_d = cfg->features.gamma_d;
	ls->reward = cfg->reward;
	ls->reward_units = cfg->reward_units;
}

#ifdef SIM_HAVE_LEARN
int agents_load(struct agent **agents, const struct sim_config *cfg, const char *path)
{
	int n_lbs = cfg->n_lbs, n_servers = cfg->n_servers;
	struct learn_settings ls;
	char err[512];
	int ret;

	sim_learn_settings(cfg, &ls);
	ret = learn_settings_check(path, &ls, err, sizeof(err));
	if (ret == -ENOENT) {
		fprintf(stderr, "marllb-sim: model %s has no %s beside it: assuming it was trained "
				"with these settings\n", path, LEARN_SETTINGS_SUFFIX);
	} else if (ret) {
		fprintf(stderr, "marllb-sim: model %s: %s\n", path, err);
		return -1;
	}
	for (int i = 0; i < n_lbs; i++) {
		agents[i] = agent_load(path, 1, n_servers, err, sizeof(err));
		if (!agents[i]) {
			fprintf(stderr, "marllb-sim: model %s: %s\n", path, err);
			agents_free(agents, i);
			return -1;
		}
	}
	return 0;
}

void agents_free(struct agent **agents, int n_lbs)
{
	for (int i = 0; i < n_lbs; i++) {
		agent_free(agents[i]);
		agents[i] = NULL;
	}
}
#else
int agents_load(struct agent **agents, const struct sim_config *cfg, const char *path)
{
	fprintf(stderr, "marllb-sim: built without the learning library (user/learn): "
			"no marl policy\n");
	return -1;
}

void agents_free(struct agent **agents, int n_lbs)
{
}
#endif

struct sim *run_one(const struct sim_config *cfg, struct agent **agents, bool learn, bool explore)
{
	char err[256];
	struct sim *s = sim_create(cfg, err, sizeof(err));
	int ret;

	if (!s) {
		fprintf(stderr, "marllb-sim: %s\n", err);
		return NULL;
	}
	if (cfg->policy == POLICY_MARL && agents) {
#ifdef SIM_HAVE_LEARN
		for (int i = 0; i < cfg->n_lbs; i++)
			agent_reset_state(agents[i]); /* a new episode */
#endif
		sim_set_agents(s, agents, learn, explore);
	}
	ret = sim_run(s);
	if (ret) {
		fprintf(stderr, "marllb-sim: simulation failed: %s\n", strerror(-ret));
		sim_free(s);
		return NULL;
	}
	return s;
}

static const char run_help[] =
	"usage: marllb-sim run [--policy P] [--model FILE] [MODEL OPTIONS]\n"
	"\n"
	"Simulates one policy and prints task counts, mean and p99 completion time,\n"
	"task duration and a Little's law check.\n"
	"\n"
	"  --policy P     ecmp, wcmp, lsq, sed, oracle, clairvoyant or marl (sed);\n"
	"                 clairvoyant is the oracle knowing every task's true work\n"
	"  --model FILE   marl: agent model, loaded by every LB\n"
	"  --probe-reward other policies: score every control step with --reward as a\n"
	"                 marl LB would be scored, and print the mean\n"
	"  --help         this text\n"
	"\n";

int cmd_run(int argc, char **argv)
{
	static const struct option own[] = { { "policy", required_argument, NULL, 'p' },
					     { "model", required_argument, NULL, 'm' },
					     { "probe-reward", no_argument, NULL, 'r' },
					     { "help", no_argument, NULL, 'h' },
					     {} };
	struct option *opts = cli_options(own);
	struct agent *agents[SIM_MAX_LBS] = {};
	const char *model = NULL;
	struct cli_model m;
	const struct sim_stats *st;
	struct sim *s;
	double t0, wall, rate;
	int opt;

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
		case 'h':
			printf("%s%s", run_help, cli_model_help);
			return 0;
		default:
			if (cli_model_option(&m, opt, optarg))
				return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "marllb-sim run: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (cli_model_finish(&m))
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

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows up in logs as it happens */
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "compare"))
		return cmd_compare(argc - 1, argv + 1);
	if (!strcmp(argv[1], "train"))
		return cmd_train(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bench"))
		return cmd_bench(argc - 1, argv + 1);
	fprintf(stderr, "marllb-sim: unknown command '%s'\n\n%s", argv[1], usage);
	return 2;
}
