// SPDX-License-Identifier: GPL-2.0
/*
 * train: independent marl agents (one per LB) learn over episodes; every --eval-every
 * episodes they act greedily on a fixed evaluation stream, and the agents with the best
 * evaluation so far are the ones written out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/cmds.h"
#ifdef SIM_HAVE_LEARN
#include "learn/agent.h"
#include "obs/settings.h"
#endif

static const char train_help[] =
	"usage: marllb-sim train --out DIR [OPTIONS] [MODEL OPTIONS]\n"
	"\n"
	"Trains one independent agent per LB (policy marl) over episodes of --duration\n"
	"simulated seconds (default here 120, warmup 0). Episode e uses task stream\n"
	"seed 1000000 + 1000 x --seed + e; the evaluation streams are seeds 999999 + 1000 x\n"
	"--seed down, never used for training. Agent i is seeded with 1000 x --seed + i. Same seed,\n"
	"same options, same build: same result.\n"
	"\n"
	"Writes DIR/lb<i>.model (the agents of the best evaluation), DIR/curve.csv and\n"
	"DIR/curve.png (mean task completion time per episode, exploring and evaluated,\n"
	"against sed and oracle on the evaluation stream).\n"
	"\n"
	"  --out DIR          output directory (created)\n"
	"  --episodes E       training episodes (30)\n"
	"  --eval-every K     evaluate greedily every K episodes (2)\n"
	"  --eval-seeds K     evaluation streams, seeds down from the one above (1)\n"
	"  --hidden H         GRU/MLP width of new agents (agent default)\n"
	"  --updates U        gradient updates per control step (agent default)\n"
	"  --gamma G          agent discount per control step (agent default)\n"
	"  --lr X             Adam learning rate (agent default)\n"
	"  --alpha X          initial entropy temperature (agent default)\n"
	"  --batch B          sequences per update (agent default)\n"
	"  --warmup-steps S   stored steps before the first update (agent default)\n"
	"  --w-min X, --w-max X  range of the weights the agents write (0.5, 2: marllbd's)\n"
	"  --no-reward-scaling  rewards as they are, not divided by their running RMS\n"
	"  --verbose          after each episode, LB 0's losses, temperature and weights\n"
	"  --model-out FILE   also write LB 0's best model to FILE\n"
	"  --help             this text\n"
	"\n";

#ifdef SIM_HAVE_LEARN
/* Mean TCT over n_eval evaluation streams (seeds base->seed, base->seed - 1, ...). */
static double eval_policy(const struct sim_config *base, enum sim_policy policy,
			  struct agent **agents, int n_eval)
{
	struct sim_config cfg = *base;
	double sum = 0;

	cfg.policy = policy;
	for (int j = 0; j < n_eval; j++) {
		struct sim *s;

		cfg.seed = cfg.policy_seed = base->seed - j;
		s = run_one(&cfg, agents, false, false);
		if (!s)
			return -1;
		sum += stats_mean_tct(sim_stats(s));
		sim_free(s);
	}
	return sum / n_eval;
}

/* Each model with its settings sidecar: what it was trained with travels with it. */
static int save_agents(struct agent **agents, const struct sim_config *cfg, const char *dir)
{
	struct learn_settings ls;
	char path[512];

	sim_learn_settings(cfg, &ls);
	for (int i = 0; i < cfg->n_lbs; i++) {
		snprintf(path, sizeof(path), "%s/lb%d.model", dir, i);
		if (agent_save(agents[i], path) || learn_settings_save(path, &ls)) {
			fprintf(stderr, "marllb-sim: cannot write %s\n", path);
			return -1;
		}
	}
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	char buf[65536];
	size_t n;
	int ret = 0;

	if (!in || !out) {
		fprintf(stderr, "marllb-sim: cannot copy %s to %s: %s\n", from, to,
			strerror(errno));
		ret = -1;
		goto out;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			ret = -1;
	if (fclose(out))
		ret = -1;
	out = NULL;
out:
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	return ret;
}
#endif

int cmd_train(int argc, char **argv)
{
	static const struct option own[] = { { "out", required_argument, NULL, 'o' },
					     { "episodes", required_argument, NULL, 'e' },
					     { "eval-every", required_argument, NULL, 'v' },
					     { "eval-seeds", required_argument, NULL, 'E' },
					     { "hidden", required_argument, NULL, 'H' },
					     { "updates", required_argument, NULL, 'u' },
					     { "model-out", required_argument, NULL, 'M' },
					     { "gamma", required_argument, NULL, 'g' },
					     { "verbose", no_argument, NULL, 'V' },
					     { "no-reward-scaling", no_argument, NULL, 'R' },
					     { "w-min", required_argument, NULL, 'n' },
					     { "w-max", required_argument, NULL, 'x' },
					     { "lr", required_argument, NULL, 'l' },
					     { "alpha", required_argument, NULL, 'a' },
					     { "batch", required_argument, NULL, 'b' },
					     { "warmup-steps", required_argument, NULL, 'w' },
					     { "help", no_argument, NULL, 'h' },
					     {} };
	struct option *opts = cli_options(own);
	const char *out = NULL, *model_out = NULL;
	long episodes = 30, eval_every = 2, eval_seeds = 1, hidden = 0, updates = 0, batch = 0,
	     warmup_steps = -1;
	double gamma = -1, lr = -1, alpha = -1, w_min = LEARN_W_MIN_DEFAULT,
	       w_max = LEARN_W_MAX_DEFAULT;
	bool verbose = false, reward_scaling = true;
	struct cli_model m;
	int opt;

	cli_model_init(&m);
	m.cfg.duration = 120;
	m.cfg.warmup = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'e':
		case 'v':
		case 'E':
		case 'H':
		case 'u': {
			long *dst = opt == 'e' ? &episodes :
				    opt == 'v' ? &eval_every :
				    opt == 'E' ? &eval_seeds :
				    opt == 'H' ? &hidden :
						 &updates;

			if (parse_int(optarg, 1, 100000, dst)) {
				fprintf(stderr, "marllb-sim: %s: expected a count 1..100000\n",
					optarg);
				return 2;
			}
			break;
		}
		case 'M':
			model_out = optarg;
			break;
		case 'V':
			verbose = true;
			break;
		case 'R':
			reward_scaling = false;
			break;
		case 'g':
		case 'l':
		case 'a':
		case 'n':
		case 'x': {
			double *dst = opt == 'g' ? &gamma :
				      opt == 'l' ? &lr :
				      opt == 'a' ? &alpha :
				      opt == 'n' ? &w_min :
						   &w_max;

			if (parse_double(optarg, 1e-9, opt == 'g' ? 0.9999 : 100, dst)) {
				fprintf(stderr, "marllb-sim: %s: out of range\n", optarg);
				return 2;
			}
			break;
		}
		case 'b':
		case 'w':
			if (parse_int(optarg, opt == 'b' ? 1 : 0, 1 << 26,
				      opt == 'b' ? &batch : &warmup_steps)) {
				fprintf(stderr, "marllb-sim: %s: expected a count\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("%s%s", train_help, cli_model_help);
			return 0;
		default:
			if (cli_model_option(&m, opt, optarg))
				return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "marllb-sim train: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!out) {
		fprintf(stderr, "marllb-sim train: --out DIR is required\n");
		return 2;
	}
	if (cli_model_finish(&m))
		return 2;
#ifndef SIM_HAVE_LEARN
	fprintf(stderr, "marllb-sim: built without the learning library (user/learn): "
			"cannot train\n");
	return 1;
#else
	struct agent *agents[SIM_MAX_LBS] = {};
	struct sim_config eval = m.cfg, cfg = m.cfg;
	double sed, oracle, best = -1, t0 = wall_seconds();
	char path[512], script[2048];
	FILE *csv = NULL;
	int ret = 1, n = m.cfg.n_servers;

	if (mkdir(out, 0755) && errno != EEXIST) {
		fprintf(stderr, "marllb-sim: cannot create %s: %s\n", out, strerror(errno));
		return 1;
	}
	for (int i = 0; i < m.cfg.n_lbs; i++) {
		struct agent_config ac;

		agent_config_default(&ac, n, features_obs_dim(n));
		ac.seed = 1000 * m.cfg.seed + i;
		if (hidden)
			ac.hidden = hidden;
		if (updates)
			ac.updates_per_step = updates;
		if (batch)
			ac.batch = batch;
		if (warmup_steps >= 0)
			ac.warmup_steps = warmup_steps;
		if (gamma > 0)
			ac.gamma = gamma;
		if (lr > 0)
			ac.lr = lr;
		if (alpha > 0)
			ac.init_alpha = alpha;
		ac.reward_scaling = ac.reward_scaling && reward_scaling;
		if (w_min > 0)
			ac.w_min = w_min;
		if (w_max > 0)
			ac.w_max = w_max;
		agents[i] = agent_create(&ac);
		if (!agents[i]) {
			fprintf(stderr, "marllb-sim: cannot create agent: %s\n", strerror(errno));
			goto out;
		}
	}
	eval.seed = eval.policy_seed = 999999 + 1000 * m.cfg.seed;
	sed = eval_policy(&eval, POLICY_SED, NULL, eval_seeds);
	oracle = eval_policy(&eval, POLICY_ORACLE, NULL, eval_seeds);
	snprintf(path, sizeof(path), "%s/curve.csv", out);
	csv = fopen(path, "w");
	if (!csv) {
		fprintf(stderr, "marllb-sim: cannot write %s: %s\n", path, strerror(errno));
		goto out;
	}
	fprintf(csv, "episode,mean_tct,p99_tct,mean_reward,eval_mean_tct,sed_eval,oracle_eval,"
		     "wall_s\n");
	printf("reward %s; evaluation stream: sed %.4f s, oracle %.4f s\n",
	       reward_name(m.cfg.reward), sed, oracle);
	printf("%7s %10s %10s %12s %10s %8s\n", "episode", "mean TCT", "p99", "reward", "eval TCT",
	       "wall s");
	for (long e = 0; e < episodes; e++) {
		const struct sim_stats *st;
		struct sim *s;
		double mean, p99, reward, ev = -1;

		cfg.policy = POLICY_MARL;
		cfg.seed = cfg.policy_seed = 1000000 + 1000 * m.cfg.seed + e;
		s = run_one(&cfg, agents, true, true);
		if (!s)
			goto out;
		st = sim_stats(s);
		mean = stats_mean_tct(st);
		p99 = stats_p99_tct(st);
		reward = st->reward_count ? st->reward_sum / st->reward_count : 0;
		if (verbose) {
			struct agent_stats as;
			const double *w = sim_lb_weights(s, 0);

			agent_train(agents[0], 0, &as);
			printf("        LB 0: q_loss %.4g pi_loss %.4g alpha %.4g entropy %.4g "
			       "updates %llu; weights",
			       as.q_loss, as.pi_loss, as.alpha, as.entropy,
			       (unsigned long long)as.updates);
			for (int k = 0; k < n; k++)
				printf(" %.2f", w[k]);
			printf("\n");
		}
		sim_free(s);
		if ((e + 1) % eval_every == 0 || e + 1 == episodes) {
			ev = eval_policy(&eval, POLICY_MARL, agents, eval_seeds);
			if (ev < 0)
				goto out;
			if (best < 0 || ev < best) {
				best = ev;
				if (save_agents(agents, &m.cfg, out))
					goto out;
			}
		}
		fprintf(csv, "%ld,%.6f,%.6f,%.6f,%s%.6f,%.6f,%.6f,%.1f\n", e + 1, mean, p99, reward,
			"", ev, sed, oracle, wall_seconds() - t0);
		fflush(csv);
		printf("%7ld %10.4f %10.4f %12.5f %10s %8.1f\n", e + 1, mean, p99, reward,
		       ev < 0 ? "-" : (snprintf(path, sizeof(path), "%.4f", ev), path),
		       wall_seconds() - t0);
	}
	fclose(csv);
	csv = NULL;
	printf("best evaluation %.4f s (sed %.4f, oracle %.4f): %.2fx oracle; models in %s\n", best,
	       sed, oracle, best / oracle, out);
	if (model_out) {
		snprintf(path, sizeof(path), "%s/lb0.model", out);
		if (copy_file(path, model_out))
			goto out;
		snprintf(path, sizeof(path), "%s/lb0.model%s", out, LEARN_SETTINGS_SUFFIX);
		snprintf(script, sizeof(script), "%s%s", model_out, LEARN_SETTINGS_SUFFIX);
		if (copy_file(path, script))
			goto out;
		printf("wrote %s\n", model_out);
	}
	snprintf(script, sizeof(script),
		 "set terminal pngcairo size 800,450 noenhanced\n"
		 "set output '%s/curve.png'\n"
		 "set datafile separator ','\nset grid\nset key top right\n"
		 "set xlabel 'episode'\nset ylabel 'mean task completion time (s)'\n"
		 "plot '%s/curve.csv' using 1:2 skip 1 with lines title 'marl, exploring', "
		 "'' using 1:($5 > 0 ? $5 : 1/0) skip 1 with linespoints title 'marl, evaluated', "
		 "'' using 1:6 skip 1 with lines dt 2 title 'sed (evaluation stream)', "
		 "'' using 1:7 skip 1 with lines dt 3 title 'oracle (evaluation stream)'\n",
		 out, out);
	if (gnuplot_run(script))
		goto out;
	ret = 0;
out:
	if (csv)
		fclose(csv);
	agents_free(agents, m.cfg.n_lbs);
	return ret;
#endif
}
