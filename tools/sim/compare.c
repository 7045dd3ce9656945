// SPDX-License-Identifier: GPL-2.0
/* compare: every policy on the same task streams; a table like the paper's Table 3. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/cmds.h"

static const char compare_help[] =
	"usage: marllb-sim compare [OPTIONS] [MODEL OPTIONS]\n"
	"\n"
	"Runs every policy on the same task streams (one per seed) for each application\n"
	"mix and prints mean task completion time +- std over seeds, mean p99, and the\n"
	"ratio of the mean to the oracle's. sed-misconf is sed with --misconfig weights.\n"
	"\n"
	"  --policies LIST  comma-separated, from ecmp, wcmp, lsq, sed, sed-misconf,\n"
	"                   oracle, clairvoyant, marl (ecmp,wcmp,lsq,sed,sed-misconf,oracle;\n"
	"                   and marl when --model is given)\n"
	"  --mixes LIST     comma-separated mixes: 100, 75, 50 (all three; only the one\n"
	"                   that --mix, --cpu-mean, --io-mean set when they are given)\n"
	"  --seeds S        seeds --seed .. --seed + S - 1 (5)\n"
	"  --model PATH     marl model; %m in PATH is replaced by the mix (100, 75, 50)\n"
	"  --out DIR        write DIR/compare.csv, DIR/cdf.csv and DIR/cdf.png\n"
	"  --help           this text\n"
	"\n";

#define MAX_POLICIES 8
#define MAX_MIXES 3
#define MAX_SEEDS 64

struct variant {
	char name[16];
	enum sim_policy policy;
	bool misconf;
};

struct result {
	double mean[MAX_SEEDS], p99[MAX_SEEDS], rejected[MAX_SEEDS];
	struct histogram tct; /* all seeds */
};

static int parse_variants(const char *list, struct variant *v, int *n)
{
	char buf[256], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct variant *x = &v[*n];

		if (*n == MAX_POLICIES)
			return -1;
		x->misconf = !strcmp(tok, "sed-misconf");
		if (x->misconf)
			x->policy = POLICY_SED;
		else if (policy_parse(tok, &x->policy))
			return -1;
		snprintf(x->name, sizeof(x->name), "%s", tok);
		(*n)++;
	}
	return *n ? 0 : -1;
}

static void model_path(char *out, size_t len, const char *pattern, const char *mix)
{
	const char *p = strstr(pattern, "%m");

	if (!p)
		snprintf(out, len, "%s", pattern);
	else
		snprintf(out, len, "%.*s%s%s", (int)(p - pattern), pattern, mix, p + 2);
}

static void mean_std(const double *x, int n, double *mean, double *std)
{
	double s = 0, ss = 0;

	for (int i = 0; i < n; i++)
		s += x[i];
	*mean = s / n;
	for (int i = 0; i < n; i++)
		ss += (x[i] - *mean) * (x[i] - *mean);
	*std = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
}

static int write_plots(const char *dir, const char mixes[][8], int n_mixes, const struct variant *v,
		       int n_var, struct result (*res)[MAX_POLICIES])
{
	char path[512], script[8192];
	FILE *fp;
	int len;

	snprintf(path, sizeof(path), "%s/cdf.csv", dir);
	fp = fopen(path, "w");
	if (!fp) {
		fprintf(stderr, "marllb-sim: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* one block per (mix, policy), separated by two blank lines for gnuplot's index */
	for (int m = 0; m < n_mixes; m++) {
		for (int p = 0; p < n_var; p++) {
			const struct histogram *h = &res[m][p].tct;
			uint64_t seen = 0;

			fprintf(fp, "# mix %s policy %s\n", mixes[m], v[p].name);
			for (int b = 0; b < HIST_BUCKETS; b++) {
				if (!h->bucket[b])
					continue;
				seen += h->bucket[b];
				fprintf(fp, "%g %g\n", hist_bucket_top(b), (double)seen / h->count);
			}
			fprintf(fp, "\n\n");
		}
	}
	fclose(fp);
	len = snprintf(script, sizeof(script),
		       "set terminal pngcairo size %d,420 noenhanced\n"
		       "set output '%s/cdf.png'\n"
		       "set multiplot layout 1,%d\n"
		       "set logscale x\nset format x '%%g'\nset xrange [0.05:100]\n"
		       "set grid\nset key top left font ',9'\n"
		       "set xlabel 'task completion time (s)'\nset ylabel 'CDF'\n",
		       420 * n_mixes, dir, n_mixes);
	for (int m = 0; m < n_mixes; m++) {
		len += snprintf(script + len, sizeof(script) - len,
				"set title 'mix %s%% CPU'\nplot ", mixes[m]);
		for (int p = 0; p < n_var; p++)
			len += snprintf(script + len, sizeof(script) - len,
					"'%s' index %d with lines lw 2 title '%s'%s", path,
					m * n_var + p, v[p].name, p + 1 < n_var ? ", " : "\n");
	}
	snprintf(script + len, sizeof(script) - len, "unset multiplot\n");
	return gnuplot_run(script);
}

int cmd_compare(int argc, char **argv)
{
	static const struct option own[] = { { "policies", required_argument, NULL, 'p' },
					     { "mixes", required_argument, NULL, 'x' },
					     { "seeds", required_argument, NULL, 's' },
					     { "model", required_argument, NULL, 'm' },
					     { "out", required_argument, NULL, 'o' },
					     { "help", no_argument, NULL, 'h' },
					     {} };
	struct option *opts = cli_options(own);
	const char *policies = NULL, *mix_list = NULL, *model = NULL, *out = NULL;
	struct variant v[MAX_POLICIES];
	char mixes[MAX_MIXES][8], buf[64], *save, *tok;
	struct result(*res)[MAX_POLICIES] = NULL;
	struct cli_model m, bad;
	int n_var, n_mixes = 0, oracle = -1, opt, ret = 1;
	long seeds = 5;
	FILE *csv = NULL;

	cli_model_init(&m);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			policies = optarg;
			break;
		case 'x':
			mix_list = optarg;
			break;
		case 's':
			if (parse_int(optarg, 1, MAX_SEEDS, &seeds)) {
				fprintf(stderr, "marllb-sim: --seeds %s: expected 1..%d\n", optarg,
					MAX_SEEDS);
				return 2;
			}
			break;
		case 'm':
			model = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			printf("%s%s", compare_help, cli_model_help);
			return 0;
		default:
			if (cli_model_option(&m, opt, optarg))
				return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "marllb-sim compare: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!policies)
		policies = model ? "ecmp,wcmp,lsq,sed,sed-misconf,oracle,marl" :
				   "ecmp,wcmp,lsq,sed,sed-misconf,oracle";
	if (parse_variants(policies, v, &n_var)) {
		fprintf(stderr,
			"marllb-sim: --policies %s: expected up to %d of ecmp, wcmp, lsq, "
			"sed, sed-misconf, oracle, clairvoyant, marl\n",
			policies, MAX_POLICIES);
		return 2;
	}
	for (int p = 0; p < n_var; p++) {
		if (v[p].policy == POLICY_ORACLE)
			oracle = p;
		if (v[p].policy == POLICY_MARL && !model) {
			fprintf(stderr, "marllb-sim: marl in --policies needs --model PATH\n");
			return 2;
		}
	}
	if (mix_list && (m.mix || m.cpu_mean_set || m.io_mean_set)) {
		fprintf(stderr, "marllb-sim: --mixes and --mix/--cpu-mean/--io-mean both set the "
				"mean work: give one or the other\n");
		return 2;
	}
	if (!mix_list)
		mix_list = m.mix ? m.mix : m.cpu_mean_set || m.io_mean_set ? "custom" : "100,75,50";
	snprintf(buf, sizeof(buf), "%s", mix_list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		double c, io;

		if (n_mixes == MAX_MIXES || (strcmp(tok, "custom") && mix_parse(tok, &c, &io))) {
			fprintf(stderr,
				"marllb-sim: --mixes %s: expected up to three of 100, 75, 50\n",
				mix_list);
			return 2;
		}
		snprintf(mixes[n_mixes++], sizeof(mixes[0]), "%s", tok);
	}
	if (cli_model_finish(&m))
		return 2;
	bad = m;
	bad.misconfig = true;
	if (cli_model_finish(&bad))
		return 2;
	if (out) {
		char path[512];

		if (mkdir(out, 0755) && errno != EEXIST) {
			fprintf(stderr, "marllb-sim: cannot create %s: %s\n", out, strerror(errno));
			return 1;
		}
		snprintf(path, sizeof(path), "%s/compare.csv", out);
		csv = fopen(path, "w");
		if (!csv) {
			fprintf(stderr, "marllb-sim: cannot write %s: %s\n", path, strerror(errno));
			return 1;
		}
		fprintf(csv, "mix,policy,seed,mean_tct,p99_tct,rejected,measured\n");
	}
	res = calloc(MAX_MIXES, sizeof(*res));
	if (!res)
		goto out;

	printf("%d LBs, %d servers, load %.2f, %s work, %ld seeds x %.0f s (warmup %.0f s)\n",
	       m.cfg.n_lbs, m.cfg.n_servers, m.cfg.load,
	       m.cfg.dist == DIST_EXP	    ? "exponential" :
	       m.cfg.dist == DIST_LOGNORMAL ? "log-normal" :
	       m.cfg.dist == DIST_PARETO    ? "Pareto" :
					      "constant",
	       seeds, m.cfg.duration, m.cfg.warmup);
	for (int x = 0; x < n_mixes; x++) {
		double oracle_mean = 0, mean, std, p99, p99_std;

		printf("\nmix %s%% CPU\n%-12s %16s %10s %10s %9s\n", mixes[x], "policy",
		       "mean TCT (s)", "p99 (s)", "rejected", "/oracle");
		for (int p = 0; p < n_var; p++) {
			struct sim_config cfg = v[p].misconf ? bad.cfg : m.cfg;
			struct agent *agents[SIM_MAX_LBS] = {};
			struct result *r = &res[x][p];

			char path[512] = "";

			if (strcmp(mixes[x], "custom"))
				cli_model_mix(v[p].misconf ? &bad : &m, mixes[x], &cfg);
			cfg.policy = v[p].policy;
			if (cfg.policy == POLICY_MARL)
				model_path(path, sizeof(path), model, mixes[x]);
			for (int i = 0; i < seeds; i++) {
				struct sim *s;
				const struct sim_stats *st;

				cfg.seed = m.cfg.seed + i;
				cfg.policy_seed = m.cfg.seed + i;
				/* fresh agents for every run: nothing learned or normalised on one
				 * stream may leak into the next, so a seed's result does not
				 * depend on which seeds ran before it */
				if (cfg.policy == POLICY_MARL && agents_load(agents, &cfg, path))
					goto out;
				s = run_one(&cfg, agents, false, false);
				agents_free(agents, cfg.n_lbs);
				if (!s)
					goto out;
				st = sim_stats(s);
				r->mean[i] = stats_mean_tct(st);
				r->p99[i] = stats_p99_tct(st);
				r->rejected[i] =
					st->measured ? (double)st->rejected / st->generated : 0;
				for (int b = 0; b < HIST_BUCKETS; b++)
					r->tct.bucket[b] += st->tct.bucket[b];
				r->tct.count += st->tct.count;
				if (csv)
					fprintf(csv, "%s,%s,%llu,%.6f,%.6f,%llu,%llu\n", mixes[x],
						v[p].name, (unsigned long long)cfg.seed, r->mean[i],
						r->p99[i], (unsigned long long)st->rejected,
						(unsigned long long)st->measured);
				sim_free(s);
			}
		}
		if (oracle >= 0)
			mean_std(res[x][oracle].mean, seeds, &oracle_mean, &std);
		for (int p = 0; p < n_var; p++) {
			struct result *r = &res[x][p];
			double rej = 0;

			mean_std(r->mean, seeds, &mean, &std);
			mean_std(r->p99, seeds, &p99, &p99_std);
			for (int i = 0; i < seeds; i++)
				rej += r->rejected[i] / seeds;
			printf("%-12s %8.3f +- %5.3f %10.3f %9.2f%%", v[p].name, mean, std, p99,
			       100 * rej);
			if (oracle >= 0)
				printf(" %8.2fx", mean / oracle_mean);
			printf("\n");
		}
	}
	if (out && write_plots(out, mixes, n_mixes, v, n_var, res))
		goto out;
	if (out)
		printf("\nwrote %s/compare.csv, %s/cdf.csv, %s/cdf.png\n", out, out, out);
	ret = 0;
out:
	if (csv)
		fclose(csv);
	free(res);
	return ret;
}
