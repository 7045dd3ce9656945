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
	"  world    print randomized worlds (what training and evaluation draw)\n"
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
		for (int i = 0; i < cfg->n_lbs; i++) {
			agent_reset_state(agents[i]); /* a new episode */
			/* learning online as marllbd does: anchored to the model it started from */
			if (learn && agent_set_anchor(agents[i])) {
				fprintf(stderr, "marllb-sim: out of memory\n");
				sim_free(s);
				return NULL;
			}
		}
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
	if (!strcmp(argv[1], "world"))
		return cmd_world(argc - 1, argv + 1);
	fprintf(stderr, "marllb-sim: unknown command '%s'\n\n%s", argv[1], usage);
	return 2;
}
