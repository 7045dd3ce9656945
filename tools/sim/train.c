// SPDX-License-Identifier: GPL-2.0
/*
 * train: one learner, shared by every LB of a world (each LB its own lane: its own recurrent
 * state and its own steps in replay), learns over episodes. Every --eval-every episodes, the
 * learner's parameters are copied into one fresh agent per LB, which act greedily and do not
 * learn on validation worlds that training never draws; the parameters best on validation
 * are the model written out.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/baselines.h"
#include "sim/cmds.h"
#include "sim/train_opts.h"
#include "sim/world.h"
#ifdef SIM_HAVE_LEARN
#include "learn/agent.h"
#include "obs/settings.h"
#endif

static const char train_help[] =
	"usage: marllb-sim train --out DIR [OPTIONS] [MODEL OPTIONS]\n"
	"\n"
	"Trains the marl policy: one set of parameters that every LB runs, each LB with its own\n"
	"recurrent state. With --worlds, episode e draws a random world (marllb-sim world):\n"
	"seed SEED_TRAIN_BASE + 100000 x --seed + e; validation worlds are the first\n"
	"--val-seeds of the validation seed space (tools/sim/seeds.h), never trained on.\n"
	"Without it, every episode simulates the world the model options give, with task\n"
	"stream seed SEED_TRAIN_BASE + 100000 x --seed + e, validated on the same world with\n"
	"streams from the validation space. Every --eval-every episodes the parameters are\n"
	"copied into one fresh agent per LB that acts greedily without learning; the score is\n"
	"the geometric mean over the validation runs of marl's mean task completion time\n"
	"divided by the better of lsq and sed (configured weights) on the same run (lower is\n"
	"better).\n"
	"\n"
	"Writes DIR/best.model (the parameters best on validation), DIR/last.model, each with\n"
	"its .settings sidecar, DIR/curve.csv and DIR/curve.png.\n"
	"\n"
	"  --policy P         marl (this page), or one of the paper's baselines: distr-lb,\n"
	"                     rlb-sac, qmix-lb, centr-lb (train --policy P --help)\n"
	"  --worlds           train and validate on randomized worlds (world ranges: below)\n"
	"  --init FILE        start from this model's parameters and settings instead of\n"
	"                     new ones (--bc-weight and --sac-weight apply)\n"
	"  --bc-weight X      weight of the imitation term in the actor's loss (1); 0: pure\n"
	"                     SAC. The teacher knows the servers' capacity and writes\n"
	"                     log-weights beta x log(capacity now), with the beta of\n"
	"                     --teacher-betas whose teacher, acting itself, is best on\n"
	"                     another task stream of this world (beta 0 is lsq)\n"
	"  --sac-weight X     weight of the SAC term in the actor's loss (1); 0: the actor\n"
	"                     only imitates (the critics still learn; a saved model has 1)\n"
	"  --teacher-static   choose beta by sed with the capacities at the start instead\n"
	"                     of by the teacher acting (which follows the changes)\n"
	"  --teacher-betas L  the exponents tried, ties to the first\n"
	"                     (0.7,0.5,0.85,1,0.25,0)\n"
	"  --verbose          after each episode: losses, temperature, LB 0's weights\n"
	"  --model-out FILE   also write the best model (and its sidecar) to FILE\n"
	"  --help             this text\n"
	"\nCommon to every learned policy's training:\n";

#ifdef SIM_HAVE_LEARN
struct trainer {
	struct agent *learner;
	struct agent *evals[SIM_MAX_LBS]; /* one per LB, parameters copied in */
	struct sim_config base; /* the world, without --worlds */
	bool worlds;
	struct world_ranges ranges;
	uint64_t seed;
	double duration, val_duration;
	int val_seeds;
	double *val_ref; /* per validation run: min(lsq, sed) mean TCT */
};

/* The world and task stream of training episode e. */
static int episode_world(const struct trainer *tr, long e, struct sim_config *cfg)
{
	uint64_t seed = SEED_TRAIN_BASE + 100000 * tr->seed + e;
	struct world_ranges r = tr->ranges;
	struct world_info info;

	if (!tr->worlds) {
		*cfg = tr->base;
		cfg->seed = cfg->policy_seed = seed;
		return 0;
	}
	r.duration = tr->duration;
	r.warmup = 0;
	return world_draw(seed, &r, cfg, &info);
}

/* The world and task stream of validation run j. */
static int val_world(const struct trainer *tr, int j, struct sim_config *cfg)
{
	uint64_t seed = SEED_VALID_BASE + j;
	struct world_ranges r = tr->ranges;
	struct world_info info;

	if (!tr->worlds) {
		*cfg = tr->base;
		cfg->seed = cfg->policy_seed = seed;
		cfg->duration = tr->val_duration;
		return 0;
	}
	r.duration = tr->val_duration;
	r.warmup = fmin(30, tr->val_duration / 10);
	return world_draw(seed, &r, cfg, &info);
}

/* Mean TCT of one policy on validation run j, or -1. */
static double val_mean(const struct trainer *tr, int j, enum sim_policy policy,
		       struct agent **agents)
{
	struct sim_config cfg;
	struct sim *s;
	double mean;

	if (val_world(tr, j, &cfg))
		return -1;
	cfg.policy = policy;
	s = run_one(&cfg, agents, false, false);
	if (!s)
		return -1;
	mean = stats_mean_tct(sim_stats(s));
	sim_free(s);
	return mean;
}

static int val_references(struct trainer *tr)
{
	tr->val_ref = calloc(tr->val_seeds, sizeof(double));
	if (!tr->val_ref)
		return -1;
	for (int j = 0; j < tr->val_seeds; j++) {
		double lsq = val_mean(tr, j, POLICY_LSQ, NULL);
		double sed = val_mean(tr, j, POLICY_SED, NULL);

		if (lsq < 0 || sed < 0)
			return -1;
		tr->val_ref[j] = fmin(lsq, sed);
	}
	return 0;
}

/* Geometric mean of marl / reference over the validation runs, or -1. */
static double validate(struct trainer *tr)
{
	struct agent *agents[SIM_MAX_LBS];
	double log_sum = 0;

	for (int i = 0; i < SIM_MAX_LBS && tr->evals[i]; i++) {
		if (agent_copy_params(tr->evals[i], tr->learner))
			return -1;
		agents[i] = tr->evals[i];
	}
	for (int j = 0; j < tr->val_seeds; j++) {
		double m = val_mean(tr, j, POLICY_MARL, agents);

		if (m < 0)
			return -1;
		log_sum += log(m / tr->val_ref[j]);
	}
	return exp(log_sum / tr->val_seeds);
}

/*
 * The teacher's exponent for a world: the beta whose teacher, acting itself (every LB writes
 * capacity(t)^beta, following the world's changes), has the least mean TCT on another task
 * stream of the world. Ties keep the earlier beta of the list. Returns it, or -1 after
 * printing why.
 */
static double teacher_beta(const struct sim_config *world, const double *betas, int n_betas,
			   bool acting)
{
	struct sim_config cfg = *world;
	double best = INFINITY, best_beta = -1;
	char err[256];

	cfg.policy = acting ? POLICY_MARL : POLICY_SED;
	cfg.seed = cfg.policy_seed = world->seed ^ 0x5eed5eedULL;
	for (int i = 0; i < n_betas; i++) {
		struct sim *s;
		double mean;

		for (int k = 0; !acting && k < cfg.n_servers; k++)
			cfg.weights[k] = pow(sim_config_server_throughput(world, k, world->cpu_mean),
					     betas[i]);
		s = sim_create(&cfg, err, sizeof(err));
		if (!s) {
			fprintf(stderr, "marllb-sim: %s\n", err);
			return -1;
		}
		if (acting)
			sim_set_teacher(s, betas[i]);
		if (sim_run(s)) {
			fprintf(stderr, "marllb-sim: the teacher's simulation failed\n");
			sim_free(s);
			return -1;
		}
		mean = stats_mean_tct(sim_stats(s));
		sim_free(s);
		if (mean < best) {
			best = mean;
			best_beta = betas[i];
		}
	}
	return best_beta;
}

/* One learning episode: like run_one(), with the teacher when there is one. */
static struct sim *train_episode(const struct sim_config *cfg, struct agent **lanes,
				 double teacher)
{
	char err[256];
	struct sim *s = sim_create(cfg, err, sizeof(err));
	int ret;

	if (!s) {
		fprintf(stderr, "marllb-sim: %s\n", err);
		return NULL;
	}
	agent_reset_state(lanes[0]); /* a new episode for every lane */
	sim_set_agents(s, lanes, true, true);
	if (teacher >= 0)
		sim_set_teacher(s, teacher);
	ret = sim_run(s);
	if (ret) {
		fprintf(stderr, "marllb-sim: simulation failed: %s\n", strerror(-ret));
		sim_free(s);
		return NULL;
	}
	return s;
}

static int save_model(const struct agent *ag, const struct sim_config *cfg, const char *path)
{
	struct learn_settings ls;

	sim_learn_settings(cfg, &ls);
	if (agent_save(ag, path) || learn_settings_save(path, &ls)) {
		fprintf(stderr, "marllb-sim: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int plot_curve(const char *out)
{
	char script[2048];

	snprintf(script, sizeof(script),
		 "set terminal pngcairo size 800,450 noenhanced\n"
		 "set output '%s/curve.png'\n"
		 "set datafile separator ','\nset grid\nset key top right\n"
		 "set xlabel 'episode'\n"
		 "set ylabel 'mean TCT / best of lsq and sed (validation)'\n"
		 "plot '%s/curve.csv' using 1:($3 > 0 ? $3 : 1/0) skip 1 with linespoints "
		 "title 'marl, greedy, validation', 1 with lines dt 2 title 'best of lsq, sed'\n",
		 out, out);
	return gnuplot_run(script);
}
#endif

int cmd_train(int argc, char **argv)
{
	static const struct option own[] = { TRAIN_OPTS_OPTIONS,
					     { "worlds", no_argument, NULL, 'W' },
					     { "model-out", required_argument, NULL, 'M' },
					     { "init", required_argument, NULL, 'I' },
					     { "verbose", no_argument, NULL, 'V' },
					     { "teacher-betas", required_argument, NULL, 'T' },
					     { "bc-weight", required_argument, NULL, 'B' },
					     { "sac-weight", required_argument, NULL, 'A' },
					     { "teacher-static", no_argument, NULL, 'Z' },
					     { "help", no_argument, NULL, 'h' },
					     {} };
	struct option *opts = cli_options(own);
	const char *model_out = NULL, *init = NULL;
	double bc_weight = 1.0, sac_weight = 1.0;
	double betas[16] = { 0.7, 0.5, 0.85, 1, 0.25, 0 };
	int n_betas = 6;
	bool teacher_acting = true;
	bool verbose = false, worlds = false;
	struct train_opts to;
	struct cli_model m;
	int opt, taken;

	if (baseline_train_requested(argc, argv))
		return cmd_train_team(argc, argv); /* baselines.c; --policy marl comes back */
	train_opts_init(&to);
	cli_model_init(&m);
	m.cfg.duration = 120;
	m.cfg.warmup = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		taken = train_opts_parse(&to, opt, optarg);
		if (taken < 0)
			return 2;
		if (taken)
			continue;
		switch (opt) {
		case 'M':
			model_out = optarg;
			break;
		case 'W':
			worlds = true;
			break;
		case 'I':
			init = optarg;
			break;
		case 'V':
			verbose = true;
			break;
		case 'T':
			n_betas = parse_list(optarg, betas, 16);
			if (n_betas < 1) {
				fprintf(stderr, "marllb-sim: --teacher-betas %s: expected up to 16 "
						"numbers\n", optarg);
				return 2;
			}
			break;
		case 'Z':
			teacher_acting = false;
			break;
		case 'A':
			if (parse_double(optarg, 0, 1000, &sac_weight)) {
				fprintf(stderr, "marllb-sim: --sac-weight %s: expected 0..1000\n",
					optarg);
				return 2;
			}
			break;
		case 'B':
			if (parse_double(optarg, 0, 1000, &bc_weight)) {
				fprintf(stderr, "marllb-sim: --bc-weight %s: expected 0..1000\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("%s%s\n%s", train_help, train_opts_help, cli_model_help);
			return 0;
		default:
			if (cli_model_option(&m, opt, optarg))
				return 2;
		}
	}
	if (train_opts_finish(&to, argc, argv))
		return 2;
	if (cli_model_finish(&m))
		return 2;
#ifndef SIM_HAVE_LEARN
	fprintf(stderr, "marllb-sim: built without the learning library (user/learn): "
			"cannot train\n");
	return 1;
#else
	struct trainer tr = { .base = m.cfg,
			      .val_seeds = (int)to.val_seeds,
			      .worlds = worlds,
			      .seed = m.cfg.seed,
			      .duration = m.cfg.duration,
			      .val_duration = to.val_duration };
	struct agent *lanes[SIM_MAX_LBS];
	struct agent_config ac;
	double best = -1, t0 = wall_seconds();
	char path[512], err[512];
	FILE *csv = NULL;
	int ret = 1, n = m.cfg.n_servers, M = m.cfg.n_lbs;

	world_ranges_default(&tr.ranges);
	if (worlds) {
		n = tr.ranges.servers_max;
		M = tr.ranges.lbs_max;
	}

	/* a loaded model keeps its own networks and optimiser settings */
	snprintf(path, sizeof(path), "--init %s", init ? init : "");
	if (init && train_opts_agent_knobs_given(&to, path))
		return 2;
	if (mkdir(to.out, 0755) && errno != EEXIST) {
		fprintf(stderr, "marllb-sim: cannot create %s: %s\n", to.out, strerror(errno));
		return 1;
	}
	if (init) {
		tr.learner = agent_load(init, M, n, err, sizeof(err));
		if (!tr.learner) {
			fprintf(stderr, "marllb-sim: --init %s\n", err);
			return 1;
		}
		agent_set_loss_weights(tr.learner, bc_weight, sac_weight);
		ac = *agent_config(tr.learner);
	} else {
		agent_config_default(&ac);
		ac.lanes = M;
		ac.max_servers = n;
		ac.seed = 1000 * m.cfg.seed + 7;
		train_opts_apply(&to, &ac);
		ac.bc_weight = bc_weight;
		ac.sac_weight = sac_weight;
		tr.learner = agent_create(&ac);
		if (!tr.learner) {
			fprintf(stderr, "marllb-sim: cannot create the agent: %s\n",
				strerror(errno));
			return 1;
		}
	}
	/* replay for the largest pool trained on, whatever pool the first episode draws */
	if (agent_reserve_replay(tr.learner, n)) {
		fprintf(stderr, "marllb-sim: cannot allocate the replay\n");
		goto out;
	}
	ac.lanes = 1;
	for (int i = 0; i < M; i++) {
		tr.evals[i] = agent_create(&ac);
		if (!tr.evals[i]) {
			fprintf(stderr, "marllb-sim: cannot create the agent: %s\n",
				strerror(errno));
			goto out;
		}
		lanes[i] = tr.learner;
	}
	if (val_references(&tr))
		goto out;
	snprintf(path, sizeof(path), "%s/curve.csv", to.out);
	csv = fopen(path, "w");
	if (!csv) {
		fprintf(stderr, "marllb-sim: cannot write %s: %s\n", path, strerror(errno));
		goto out;
	}
	fprintf(csv, "episode,train_mean_tct,val_score,updates,q_loss,alpha,entropy,bc_loss,"
		     "teacher_beta,wall_s\n");
	printf("%7s %10s %10s %8s %10s %8s %8s %8s %5s %8s\n", "episode", "train TCT",
	       "val score", "updates", "q_loss", "alpha", "entropy", "bc_loss", "beta", "wall s");
	for (long e = 0; e < to.episodes; e++) {
		struct sim_config cfg;
		struct agent_stats as;
		struct sim *s;
		double mean, score = -1, beta;

		if (episode_world(&tr, e, &cfg))
			goto out;
		beta = -1;
		if (bc_weight > 0) {
			beta = teacher_beta(&cfg, betas, n_betas, teacher_acting);
			if (beta < 0)
				goto out;
		}
		cfg.policy = POLICY_MARL;
		s = train_episode(&cfg, lanes, beta);
		if (!s)
			goto out;
		mean = stats_mean_tct(sim_stats(s));
		agent_get_stats(tr.learner, &as);
		if (verbose) {
			const double *w = sim_lb_weights(s, 0);

			printf("        pi_loss %.4g; LB 0's weights", as.pi_loss);
			for (int k = 0; k < cfg.n_servers && k < 16; k++)
				printf(" %.2f", w[k]);
			printf("\n");
		}
		sim_free(s);
		if ((e + 1) % to.eval_every == 0 || e + 1 == to.episodes) {
			score = validate(&tr);
			if (score < 0)
				goto out;
			snprintf(path, sizeof(path), "%s/last.model", to.out);
			if (save_model(tr.learner, &tr.base, path))
				goto out;
			if (best < 0 || score < best) {
				best = score;
				snprintf(path, sizeof(path), "%s/best.model", to.out);
				if (save_model(tr.learner, &tr.base, path))
					goto out;
			}
		}
		fprintf(csv, "%ld,%.6f,%.6f,%llu,%.6g,%.6g,%.6g,%.6g,%.3g,%.1f\n", e + 1, mean,
			score, (unsigned long long)as.updates, as.q_loss, as.alpha, as.entropy,
			as.bc_loss, beta, wall_seconds() - t0);
		fflush(csv);
		printf("%7ld %10.4f %10s %8llu %10.4g %8.4f %8.3f %8.4f %5.2f %8.1f\n", e + 1, mean,
		       score < 0 ? "-" : (snprintf(path, sizeof(path), "%.4f", score), path),
		       (unsigned long long)as.updates, as.q_loss, as.alpha, as.entropy, as.bc_loss,
		       beta, wall_seconds() - t0);
		fflush(stdout);
	}
	fclose(csv);
	csv = NULL;
	printf("best validation score %.4f (marl / best of lsq and sed); model in %s/best.model\n",
	       best, to.out);
	if (model_out) {
		struct agent *b;

		snprintf(path, sizeof(path), "%s/best.model", to.out);
		b = agent_load(path, 1, 0, err, sizeof(err));
		if (!b) {
			fprintf(stderr, "marllb-sim: %s\n", err);
			goto out;
		}
		ret = save_model(b, &tr.base, model_out);
		agent_free(b);
		if (ret)
			goto out;
		ret = 1;
		printf("wrote %s\n", model_out);
	}
	if (plot_curve(to.out))
		goto out;
	ret = 0;
out:
	if (csv)
		fclose(csv);
	agent_free(tr.learner);
	agents_free(tr.evals, M);
	free(tr.val_ref);
	return ret;
#endif
}
