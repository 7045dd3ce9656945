// SPDX-License-Identifier: GPL-2.0
/*
 * The paper's learned baselines (baselines.h): which team each is, its training over
 * episodes of one system, and loading and running its files for compare. Training mirrors
 * train.c's protocol (task streams from SEED_TRAIN_BASE, greedy validation on streams from
 * SEED_VALID_BASE scored against the better of lsq and sed, the best parameters kept), so
 * that marl and the baselines are judged alike; the team learns in every episode as a
 * deployment would (each LB its own learner, or the LBs' trajectories at a central one).
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
#include "sim/seeds.h"
#ifdef SIM_HAVE_LEARN
#include "learn/team.h"
#include "obs/settings.h"
#endif

struct baseline {
	const char *name, *title;
	int method; /* enum team_method */
	enum reward_kind reward; /* the paper's, by default */
	bool recurrent;
};

/* enum team_method's values, so that the table builds without user/learn */
enum { B_INDEPENDENT, B_QMIX, B_CENTRAL };

static const struct baseline baselines[] = {
	{ "distr-lb", "Distr-LB", B_INDEPENDENT, REWARD_VBF, true },
	{ "rlb-sac", "RLB-SAC", B_INDEPENDENT, REWARD_JAIN, false },
	{ "qmix-lb", "QMix-LB", B_QMIX, REWARD_PBF, true },
	{ "centr-lb", "Centr-LB", B_CENTRAL, REWARD_VBF, true },
};

static const struct baseline *baseline_find(const char *name)
{
	for (size_t i = 0; i < sizeof(baselines) / sizeof(baselines[0]); i++)
		if (!strcmp(name, baselines[i].name))
			return &baselines[i];
	return NULL;
}

bool baseline_known(const char *name)
{
	return baseline_find(name) != NULL;
}

/* The value of --policy on the command line (either spelling), or NULL. */
static const char *policy_arg(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--policy") && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--policy=", 9))
			return argv[i] + 9;
	}
	return NULL;
}

bool baseline_train_requested(int argc, char **argv)
{
	return policy_arg(argc, argv) != NULL;
}

static const char train_team_help[] =
	"usage: marllb-sim train --policy P --out DIR [OPTIONS] [MODEL OPTIONS]\n"
	"\n"
	"Trains one of the paper's learned baselines on the system the model options give\n"
	"(Documentation/baselines.md), with train's protocol: episode e simulates task stream\n"
	"SEED_TRAIN_BASE + 100000 x --seed + e while the team learns (exploring); every\n"
	"--eval-every episodes it acts greedily, without learning, on --val-seeds streams from\n"
	"the validation space, scored as the geometric mean of its mean task completion time\n"
	"over the better of lsq and sed on the same stream (lower is better).\n"
	"\n"
	"  --policy P         marl (train's own page: marllb-sim train --help), or\n"
	"                     distr-lb  Distr-LB: a recurrent SAC agent per LB, learning alone\n"
	"                               (reward vbf unless --reward)\n"
	"                     rlb-sac   RLB-SAC [40]: a SAC agent per LB, no recurrence (jain)\n"
	"                     qmix-lb   QMix-LB: agents on their own observations, a monotonic\n"
	"                               mixer trained centrally on the joint reward (pbf)\n"
	"                     centr-lb  Centr-LB: one agent reads every LB and writes every\n"
	"                               LB's weights (vbf)\n"
	"  --wall-budget S    also stop after the episode that passes S seconds of wall time\n"
	"  --mixer-embed E    qmix-lb: width of the mixing layer (32)\n"
	"  --help             this text\n"
	"\n"
	"Writes DIR/best.model (the team best on validation; with its .settings sidecar: run it\n"
	"with compare --policies P --model DIR/best.model), DIR/last.model, DIR/curve.csv,\n"
	"DIR/curve.png and DIR/summary.txt (budget used, and the communication the method\n"
	"needs in training, bytes per control step); for qmix-lb also DIR/best-agent.model,\n"
	"the decentralised agent as a marl model (run --policy marl, or marllbd).\n"
	"\n"
	"Common to every learned policy's training:\n";

#ifdef SIM_HAVE_LEARN

/* Loads path as policy's team for cfg; NULL after printing why. */
static struct team *team_for(const char *policy, const struct sim_config *cfg, const char *path)
{
	const struct baseline *b = baseline_find(policy);
	struct learn_settings ls;
	struct team *t;
	char err[512];
	int ret;

	sim_learn_settings(cfg, &ls);
	ret = learn_settings_check(path, &ls, err, sizeof(err));
	if (ret == -ENOENT) {
		fprintf(stderr,
			"marllb-sim: model %s has no %s beside it: assuming it was trained "
			"with these settings\n",
			path, LEARN_SETTINGS_SUFFIX);
	} else if (ret) {
		fprintf(stderr, "marllb-sim: model %s: %s\n", path, err);
		return NULL;
	}
	t = team_load(path, cfg->n_servers, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "marllb-sim: model %s\n", err);
		return NULL;
	}
	if (!b || (int)team_config(t)->method != b->method ||
	    (b->method == B_INDEPENDENT && team_config(t)->agent.recurrent != b->recurrent)) {
		fprintf(stderr, "marllb-sim: model %s holds a %s team%s, not %s\n", path,
			team_method_name(team_config(t)->method),
			team_config(t)->agent.recurrent ? "" : " without recurrence", policy);
		team_free(t);
		return NULL;
	}
	if (team_config(t)->lbs != cfg->n_lbs) {
		fprintf(stderr, "marllb-sim: model %s was trained for %d LBs, this system has %d\n",
			path, team_config(t)->lbs, cfg->n_lbs);
		team_free(t);
		return NULL;
	}
	return t;
}

int baseline_check(const char *policy, const struct sim_config *cfg, const char *path)
{
	struct team *t = team_for(policy, cfg, path);

	team_free(t);
	return t ? 0 : -1;
}

/* One run of cfg with team acting for every LB (a new episode); NULL after printing why. */
static struct sim *run_team(const struct sim_config *cfg, struct team *team, bool learn,
			    bool explore)
{
	char err[256];
	struct sim *s = sim_create(cfg, err, sizeof(err));
	int ret;

	if (!s) {
		fprintf(stderr, "marllb-sim: %s\n", err);
		return NULL;
	}
	team_reset_state(team);
	sim_set_team(s, team, learn, explore);
	ret = sim_run(s);
	if (ret) {
		fprintf(stderr, "marllb-sim: simulation failed: %s\n", strerror(-ret));
		sim_free(s);
		return NULL;
	}
	return s;
}

struct sim *baseline_run(const char *policy, const struct sim_config *cfg, const char *path,
			 bool learn)
{
	struct team *t = team_for(policy, cfg, path);
	struct sim *s;

	if (!t)
		return NULL;
	s = run_team(cfg, t, learn, false);
	team_free(t);
	return s;
}

/* ---- training ---- */

struct team_trainer {
	struct team *team;
	struct sim_config base;
	uint64_t seed;
	double val_duration;
	int val_seeds;
	double *val_ref; /* per validation stream: min(lsq, sed) mean TCT */
};

static void val_config(const struct team_trainer *tr, int j, enum sim_policy policy,
		       struct sim_config *cfg)
{
	*cfg = tr->base;
	cfg->seed = cfg->policy_seed = SEED_VALID_BASE + j;
	cfg->duration = tr->val_duration;
	cfg->policy = policy;
}

static double mean_tct_of(struct sim *s)
{
	double m = s ? stats_mean_tct(sim_stats(s)) : -1;

	sim_free(s);
	return m;
}

static int val_references(struct team_trainer *tr)
{
	tr->val_ref = calloc(tr->val_seeds, sizeof(double));
	if (!tr->val_ref)
		return -1;
	for (int j = 0; j < tr->val_seeds; j++) {
		struct sim_config lsq, sed;
		double a, b;

		val_config(tr, j, POLICY_LSQ, &lsq);
		val_config(tr, j, POLICY_SED, &sed);
		a = mean_tct_of(run_one(&lsq, NULL, false, false));
		b = mean_tct_of(run_one(&sed, NULL, false, false));
		if (a < 0 || b < 0)
			return -1;
		tr->val_ref[j] = fmin(a, b);
	}
	return 0;
}

/* Geometric mean over the validation streams of the team's mean TCT / reference, or -1. */
static double validate(struct team_trainer *tr)
{
	double log_sum = 0;

	for (int j = 0; j < tr->val_seeds; j++) {
		struct sim_config cfg;
		double m;

		val_config(tr, j, POLICY_MARL, &cfg);
		m = mean_tct_of(run_team(&cfg, tr->team, false, false));
		if (m < 0)
			return -1;
		log_sum += log(m / tr->val_ref[j]);
	}
	return exp(log_sum / tr->val_seeds);
}

static int save_team(const struct team *t, const struct sim_config *cfg, const char *path)
{
	struct learn_settings ls;

	sim_learn_settings(cfg, &ls);
	if (team_save(t, path) || learn_settings_save(path, &ls)) {
		fprintf(stderr, "marllb-sim: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The best team so far: its file and, for QMix, its decentralised agent as a marl model. */
static int save_best(struct team *t, const struct sim_config *cfg, const char *out)
{
	struct learn_settings ls;
	char path[512];

	snprintf(path, sizeof(path), "%s/best.model", out);
	if (save_team(t, cfg, path))
		return -1;
	if (team_config(t)->method != TEAM_QMIX)
		return 0;
	snprintf(path, sizeof(path), "%s/best-agent.model", out);
	sim_learn_settings(cfg, &ls);
	if (agent_save(team_agent(t, 0), path) || learn_settings_save(path, &ls)) {
		fprintf(stderr, "marllb-sim: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int plot_team_curve(const char *out, const char *title)
{
	char script[2048];

	snprintf(script, sizeof(script),
		 "set terminal pngcairo size 800,450 noenhanced\n"
		 "set output '%s/curve.png'\n"
		 "set datafile separator ','\nset grid\nset key top right\n"
		 "set title '%s'\nset xlabel 'episode'\n"
		 "set ylabel 'mean TCT / best of lsq and sed (validation)'\n"
		 "plot '%s/curve.csv' using 1:($3 > 0 ? $3 : 1/0) skip 1 with linespoints "
		 "title 'greedy, validation', 1 with lines dt 2 title 'best of lsq, sed'\n",
		 out, title, out);
	return gnuplot_run(script);
}

/* What the method needs to move in training, by the team's own count (team_comm). */
static int write_summary(const char *out, const struct baseline *b, const struct team *t,
			 const struct sim_config *cfg, long episodes, double wall, double best)
{
	const double steps = floor(cfg->duration / cfg->step) + 1;
	struct team_comm c;
	struct team_stats st;
	char path[512];
	FILE *f;

	team_comm(t, cfg->n_servers, &c);
	team_get_stats(t, &st);
	snprintf(path, sizeof(path), "%s/summary.txt", out);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "marllb-sim: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "policy %s\ntitle %s\nmethod %s\nreward %s\nrecurrent %d\nservers %d\nlbs %d\n",
		b->name, b->title, team_method_name(team_config(t)->method),
		reward_name(cfg->reward), team_config(t)->agent.recurrent, cfg->n_servers,
		cfg->n_lbs);
	fprintf(f, "episodes %ld\nsteps_per_episode %.0f\nupdates %llu\nwall_s %.1f\n", episodes,
		steps, (unsigned long long)st.updates, wall);
	fprintf(f, "best_val_score %.6f\n", best);
	fprintf(f, "comm_up_bytes_per_step %llu\ncomm_down_bytes_per_step %llu\n",
		(unsigned long long)c.up_per_step, (unsigned long long)c.down_per_step);
	fprintf(f, "comm_params_bytes_per_sync %llu\n", (unsigned long long)c.params_per_sync);
	fprintf(f, "comm_bytes_per_episode %.0f\n",
		steps * (c.up_per_step + c.down_per_step) + c.params_per_sync);
	fprintf(f, "comm_bytes_total %llu\n",
		(unsigned long long)(c.up_total + c.down_total + episodes * c.params_per_sync));
	return fclose(f) ? -1 : 0;
}

/* train --policy marl: train.c's own run, without the --policy words. */
static int train_marl(int argc, char **argv)
{
	char **args = calloc(argc + 1, sizeof(*args));
	int n = 0, ret;

	if (!args)
		return 1;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--policy") && i + 1 < argc) {
			i++;
			continue;
		}
		if (strncmp(argv[i], "--policy=", 9))
			args[n++] = argv[i];
	}
	ret = cmd_train(n, args);
	free(args);
	return ret;
}

int cmd_train_team(int argc, char **argv)
{
	static const struct option own[] = { TRAIN_OPTS_OPTIONS,
					     { "policy", required_argument, NULL, 'p' },
					     { "wall-budget", required_argument, NULL, 'W' },
					     { "mixer-embed", required_argument, NULL, 'm' },
					     { "help", no_argument, NULL, 'h' },
					     {} };
	const char *policy = policy_arg(argc, argv);
	long mixer_embed = 0;
	double wall_budget = 0;
	const struct baseline *b;
	struct option *opts;
	struct train_opts to;
	struct cli_model m;
	int opt, taken;

	if (policy && !strcmp(policy, "marl"))
		return train_marl(argc, argv);
	opts = cli_options(own);
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
		case 'p':
			break;
		case 'm':
			if (parse_int(optarg, 1, 100000, &mixer_embed)) {
				fprintf(stderr, "marllb-sim: --mixer-embed %s: expected 1..100000\n",
					optarg);
				return 2;
			}
			break;
		case 'W':
			if (parse_double(optarg, 1e-9, 1e9, &wall_budget)) {
				fprintf(stderr, "marllb-sim: --wall-budget %s: out of range\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("%s%s\n%s", train_team_help, train_opts_help, cli_model_help);
			return 0;
		default:
			if (cli_model_option(&m, opt, optarg))
				return 2;
		}
	}
	if (train_opts_finish(&to, argc, argv))
		return 2;
	b = policy ? baseline_find(policy) : NULL;
	if (!b) {
		fprintf(stderr,
			"marllb-sim train: --policy %s: expected marl, distr-lb, rlb-sac, "
			"qmix-lb or centr-lb\n",
			policy ? policy : "");
		return 2;
	}
	if (mixer_embed && b->method != B_QMIX) {
		fprintf(stderr, "marllb-sim train: --mixer-embed: only qmix-lb has a mixer\n");
		return 2;
	}
	if (!cli_model_given(&m, "reward"))
		m.cfg.reward = b->reward;
	if (cli_model_finish(&m))
		return 2;
	if (mkdir(to.out, 0755) && errno != EEXIST) {
		fprintf(stderr, "marllb-sim: cannot create %s: %s\n", to.out, strerror(errno));
		return 1;
	}

	struct team_trainer tr = { .base = m.cfg,
				   .seed = m.cfg.seed,
				   .val_duration = to.val_duration,
				   .val_seeds = (int)to.val_seeds };
	struct team_config tc;
	double best = -1, t0 = wall_seconds();
	char path[512];
	FILE *csv = NULL;
	long e;
	int ret = 1;

	tr.base.policy = POLICY_MARL;
	team_config_default(&tc, (enum team_method)b->method, m.cfg.n_lbs);
	tc.agent.max_servers = m.cfg.n_servers;
	tc.agent.recurrent = b->recurrent;
	tc.agent.seed = 1000 * m.cfg.seed + 7;
	train_opts_apply(&to, &tc.agent);
	if (mixer_embed)
		tc.mixer_embed = mixer_embed;
	tr.team = team_create(&tc);
	if (!tr.team) {
		fprintf(stderr, "marllb-sim: cannot create the team: %s\n", strerror(errno));
		return 1;
	}
	if (val_references(&tr))
		goto out;
	snprintf(path, sizeof(path), "%s/curve.csv", to.out);
	csv = fopen(path, "w");
	if (!csv) {
		fprintf(stderr, "marllb-sim: cannot write %s: %s\n", path, strerror(errno));
		goto out;
	}
	fprintf(csv, "episode,train_mean_tct,val_score,updates,q_loss,pi_loss,alpha,entropy,"
		     "comm_bytes,wall_s\n");
	printf("%s (%s team, reward %s) on %d servers x %d LBs\n", b->title,
	       team_method_name(tc.method), reward_name(m.cfg.reward), m.cfg.n_servers,
	       m.cfg.n_lbs);
	printf("%7s %10s %10s %8s %10s %10s %8s %8s %12s %8s\n", "episode", "train TCT",
	       "val score", "updates", "q_loss", "pi_loss", "alpha", "entropy", "comm bytes",
	       "wall s");
	for (e = 0; e < to.episodes; e++) {
		struct sim_config cfg = tr.base;
		struct team_stats st;
		struct team_comm c;
		double mean, score = -1;
		bool last;

		cfg.seed = cfg.policy_seed = SEED_TRAIN_BASE + 100000 * tr.seed + e;
		mean = mean_tct_of(run_team(&cfg, tr.team, true, true));
		if (mean < 0)
			goto out;
		last = e + 1 == to.episodes || (wall_budget > 0 && wall_seconds() - t0 > wall_budget);
		if ((e + 1) % to.eval_every == 0 || last) {
			score = validate(&tr);
			if (score < 0)
				goto out;
			snprintf(path, sizeof(path), "%s/last.model", to.out);
			if (save_team(tr.team, &tr.base, path))
				goto out;
			if (best < 0 || score < best) {
				best = score;
				if (save_best(tr.team, &tr.base, to.out))
					goto out;
			}
		}
		team_get_stats(tr.team, &st);
		team_comm(tr.team, m.cfg.n_servers, &c);
		fprintf(csv, "%ld,%.6f,%.6f,%llu,%.6g,%.6g,%.6g,%.6g,%llu,%.1f\n", e + 1, mean,
			score, (unsigned long long)st.updates, st.q_loss, st.pi_loss, st.alpha,
			st.entropy, (unsigned long long)(c.up_total + c.down_total),
			wall_seconds() - t0);
		fflush(csv);
		printf("%7ld %10.4f %10s %8llu %10.4g %10.4g %8.4f %8.3f %12llu %8.1f\n", e + 1,
		       mean, score < 0 ? "-" : (snprintf(path, sizeof(path), "%.4f", score), path),
		       (unsigned long long)st.updates, st.q_loss, st.pi_loss, st.alpha, st.entropy,
		       (unsigned long long)(c.up_total + c.down_total), wall_seconds() - t0);
		if (last) {
			e++;
			break;
		}
	}
	if (fclose(csv)) {
		csv = NULL;
		goto out;
	}
	csv = NULL;
	if (write_summary(to.out, b, tr.team, &tr.base, e, wall_seconds() - t0, best))
		goto out;
	printf("best validation score %.4f (%s / best of lsq and sed); team in %s/best.model\n",
	       best, b->name, to.out);
	if (plot_team_curve(to.out, b->title))
		goto out;
	ret = 0;
out:
	if (csv)
		fclose(csv);
	team_free(tr.team);
	free(tr.val_ref);
	return ret;
}

#else

int baseline_check(const char *policy, const struct sim_config *cfg, const char *path)
{
	fprintf(stderr,
		"marllb-sim: built without the learning library (user/learn): "
		"no %s policy\n",
		policy);
	return -1;
}

struct sim *baseline_run(const char *policy, const struct sim_config *cfg, const char *path,
			 bool learn)
{
	baseline_check(policy, cfg, path);
	return NULL;
}

int cmd_train_team(int argc, char **argv)
{
	fprintf(stderr, "marllb-sim: built without the learning library (user/learn): "
			"cannot train\n");
	return 1;
}

#endif
