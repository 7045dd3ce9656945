// SPDX-License-Identifier: GPL-2.0
/*
 * marllb-compare: the testbed's statistics. Reads each policy's per-request CSVs (one per
 * repeat of its measured phase, from marllb-replay -o), gives mean and p99 task completion
 * time with bootstrap confidence intervals (tools/testbed/bootstrap.h), and compares the
 * learner with the best baseline: better, worse, or not distinguishable.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "../replay/stats.h"
#include "bootstrap.h"

#define MAX_POLICIES 16
#define MAX_REPEATS 64

struct policy {
	char name[32];
	size_t n_repeats;
	double *x[MAX_REPEATS]; /* TCT of the ok measured requests */
	size_t n[MAX_REPEATS];
	size_t cap[MAX_REPEATS];
	size_t requests, failed;
	bool has_data; /* every repeat has ok requests */
	struct boot_stats st;
};

struct options {
	const char *learner;
	const char *baselines; /* comma-separated; NULL: every other policy */
	const char *path; /* only requests for this path */
	double from, to; /* only requests scheduled in [from, to) */
	double margin;
	struct boot_config boot;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: marllb-compare [OPTIONS] POLICY=CSV[,CSV...] ...\n"
		"Mean and p99 task completion time of each policy with bootstrap confidence\n"
		"intervals, and the learner against the best baseline. Each CSV is one repeat of\n"
		"the policy's measured phase (marllb-replay -o); the i-th CSVs of all policies are\n"
		"one round, run one after another (paired in the comparison).\n\n"
		"  -l, --learner NAME      the policy compared with the best baseline (default marl)\n"
		"  -b, --baselines LIST    comma-separated baselines (default: every other policy)\n"
		"  -B, --resamples N       bootstrap resamples (default 2000)\n"
		"  -c, --level L           confidence level (default 0.95)\n"
		"  -S, --seed X            seed of the resampling (default 1)\n"
		"  -m, --margin F          the target: learner's mean at least F lower than the\n"
		"                          best baseline's, and its interval below the baseline's\n"
		"                          (default 0.15)\n"
		"  -f, --from S            only requests scheduled at or after S s of the replay\n"
		"  -t, --to S              only requests scheduled before S s\n"
		"  -p, --path P            only requests for path P (e.g. /dummy.php/)\n"
		"  -h, --help              this text\n\n"
		"Only measured requests (CSV column measured = 1) count; TCT of ok requests.\n"
		"Output, tab-separated:\n"
		"  policy NAME repeats requests ok failed mean mean_lo mean_hi p50 p90 p99 p99_lo\n"
		"         p99_hi repeat_means (a/b/...)\n"
		"  compare mean|p99 LEARNER BEST ratio lo hi better|worse|indistinguishable\n"
		"         overlap|apart [target-met|target-missed]\n"
		"where BEST is the baseline with the lowest statistic, ratio = LEARNER / BEST, and\n"
		"the interval says better when it lies below 1, worse above 1. A policy without ok\n"
		"requests in some repeat has nan statistics and is left out of the comparison.\n");
}

/* Index of each needed column in the CSV header, -1 when absent. */
struct columns {
	int sched, tct, outcome, measured, path, count;
};

static int header_columns(char *line, struct columns *c)
{
	char *save, *tok = strtok_r(line, ",\r\n", &save);

	*c = (struct columns){ -1, -1, -1, -1, -1, 0 };
	for (int i = 0; tok; i++, tok = strtok_r(NULL, ",\r\n", &save)) {
		if (!strcmp(tok, "sched_s"))
			c->sched = i;
		else if (!strcmp(tok, "tct_s"))
			c->tct = i;
		else if (!strcmp(tok, "outcome"))
			c->outcome = i;
		else if (!strcmp(tok, "measured"))
			c->measured = i;
		else if (!strcmp(tok, "path"))
			c->path = i;
		c->count = i + 1;
	}
	return c->sched >= 0 && c->tct >= 0 && c->outcome >= 0 ? 0 : -1;
}

static int push(struct policy *p, size_t r, double v)
{
	if (p->n[r] == p->cap[r]) {
		size_t cap = p->cap[r] ? 2 * p->cap[r] : 1024;
		double *x = realloc(p->x[r], cap * sizeof(double));

		if (!x)
			return -1;
		p->x[r] = x;
		p->cap[r] = cap;
	}
	p->x[r][p->n[r]++] = v;
	return 0;
}

/* Reads one repeat's CSV into repeat r of p. */
static int read_repeat(struct policy *p, size_t r, const char *file, const struct options *o)
{
	FILE *f = fopen(file, "r");
	char *line = NULL, *fields[16];
	size_t cap = 0, lineno = 1;
	struct columns c;
	int rc = -1;

	if (!f) {
		fprintf(stderr, "compare: %s: %s\n", file, strerror(errno));
		return -1;
	}
	if (getline(&line, &cap, f) < 0 || header_columns(line, &c) || c.count > 16) {
		fprintf(stderr,
			"compare: %s: expected marllb-replay's CSV header "
			"(sched_s, tct_s, outcome)\n",
			file);
		goto out;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *save, *tok = strtok_r(line, ",\r\n", &save);
		int nf = 0;

		lineno++;
		for (; tok && nf < 16; tok = strtok_r(NULL, ",\r\n", &save))
			fields[nf++] = tok;
		if (nf < c.count - (c.path >= 0)) { /* an empty path drops its field */
			fprintf(stderr, "compare: %s:%zu: %d fields, expected %d\n", file, lineno,
				nf, c.count);
			goto out;
		}
		if (c.measured >= 0 && atoi(fields[c.measured]) != 1)
			continue;
		double sched = atof(fields[c.sched]);

		if (sched < o->from || sched >= o->to)
			continue;
		if (o->path && (c.path < 0 || c.path >= nf || strcmp(fields[c.path], o->path)))
			continue;
		if (!strcmp(fields[c.outcome], "aborted"))
			continue;
		p->requests++;
		if (strcmp(fields[c.outcome], "ok")) {
			p->failed++;
			continue;
		}
		if (push(p, r, atof(fields[c.tct]))) {
			fprintf(stderr, "compare: out of memory\n");
			goto out;
		}
	}
	rc = 0;
out:
	free(line);
	fclose(f);
	return rc;
}

/* NAME=CSV[,CSV...] */
static int read_policy(struct policy *p, char *arg, const struct options *o)
{
	char *eq = strchr(arg, '='), *save, *file;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(p->name) || !eq[1]) {
		fprintf(stderr, "compare: '%s': expected POLICY=CSV[,CSV...]\n", arg);
		return -1;
	}
	memset(p, 0, sizeof(*p));
	memcpy(p->name, arg, (size_t)(eq - arg));
	for (file = strtok_r(eq + 1, ",", &save); file; file = strtok_r(NULL, ",", &save)) {
		if (p->n_repeats == MAX_REPEATS) {
			fprintf(stderr, "compare: %s: more than %d repeats\n", p->name,
				MAX_REPEATS);
			return -1;
		}
		if (read_repeat(p, p->n_repeats++, file, o))
			return -1;
	}
	p->has_data = true;
	for (size_t r = 0; r < p->n_repeats; r++)
		p->has_data &= p->n[r] > 0;
	return 0;
}

static void policy_free(struct policy *p)
{
	for (size_t r = 0; r < p->n_repeats; r++)
		free(p->x[r]);
}

static struct boot_sample sample_of(const struct policy *p)
{
	return (struct boot_sample){ p->n_repeats, (const double *const *)p->x, p->n };
}

static void print_policy(const struct policy *p)
{
	size_t ok = 0, total = 0;
	double p50 = NAN, p90 = NAN, *all;

	for (size_t r = 0; r < p->n_repeats; r++)
		total += p->n[r];
	all = malloc((total + 1) * sizeof(double));
	for (size_t r = 0; all && r < p->n_repeats; r++) {
		memcpy(all + ok, p->x[r], p->n[r] * sizeof(double));
		ok += p->n[r];
	}
	if (all && ok) {
		p50 = quantile_select(all, ok, 0.50);
		p90 = quantile_select(all, ok, 0.90);
	}
	free(all);
	printf("policy\t%s\t%zu\t%zu\t%zu\t%zu\t", p->name, p->n_repeats, p->requests, total,
	       p->failed);
	if (p->has_data)
		printf("%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t", p->st.mean.point,
		       p->st.mean.lo, p->st.mean.hi, p50, p90, p->st.p99.point, p->st.p99.lo,
		       p->st.p99.hi);
	else
		printf("nan\tnan\tnan\t%.6f\t%.6f\tnan\tnan\tnan\t", p50, p90);
	for (size_t r = 0; r < p->n_repeats; r++) {
		double sum = 0;

		for (size_t i = 0; i < p->n[r]; i++)
			sum += p->x[r][i];
		printf("%s%.4f", r ? "/" : "", p->n[r] ? sum / (double)p->n[r] : NAN);
	}
	putchar('\n');
}

static bool in_list(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		if (strcspn(p, ",") == len && !strncmp(p, name, len))
			return true;
	}
	return false;
}

static void print_compare(const char *metric, const struct policy *l, const struct policy *best,
			  const struct boot_interval *ratio, const struct boot_interval *li,
			  const struct boot_interval *bi, const struct options *o, bool target)
{
	const char *verdict = ratio->hi < 1 ? "better" :
			      ratio->lo > 1 ? "worse" :
					      "indistinguishable";
	bool apart = li->hi < bi->lo || bi->hi < li->lo;

	printf("compare\t%s\t%s\t%s\t%.4f\t%.4f\t%.4f\t%s\t%s", metric, l->name, best->name,
	       ratio->point, ratio->lo, ratio->hi, verdict, apart ? "apart" : "overlap");
	if (target)
		printf("\t%s", ratio->point <= 1 - o->margin && apart && li->hi < bi->lo ?
				       "target-met" :
				       "target-missed");
	putchar('\n');
}

/* The learner against the best baseline by each statistic. */
static int compare(const struct policy *pol, int n, const struct options *o)
{
	const struct policy *l = NULL, *best_mean = NULL, *best_p99 = NULL;
	struct boot_sample sl, sb;
	struct boot_stats r;

	for (int i = 0; i < n; i++) {
		const struct policy *p = &pol[i];

		if (!strcmp(p->name, o->learner)) {
			l = p;
			continue;
		}
		if (!p->has_data || (o->baselines && !in_list(o->baselines, p->name)))
			continue;
		if (!best_mean || p->st.mean.point < best_mean->st.mean.point)
			best_mean = p;
		if (!best_p99 || p->st.p99.point < best_p99->st.p99.point)
			best_p99 = p;
	}
	if (!l || !l->has_data || !best_mean)
		return 0;
	sl = sample_of(l);
	sb = sample_of(best_mean);
	if (boot_ratio(&sl, &sb, &o->boot, &r))
		return -1;
	print_compare("mean", l, best_mean, &r.mean, &l->st.mean, &best_mean->st.mean, o, true);
	sb = sample_of(best_p99);
	if (boot_ratio(&sl, &sb, &o->boot, &r))
		return -1;
	print_compare("p99", l, best_p99, &r.p99, &l->st.p99, &best_p99->st.p99, o, false);
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "learner", required_argument, NULL, 'l' },
		{ "baselines", required_argument, NULL, 'b' },
		{ "resamples", required_argument, NULL, 'B' },
		{ "level", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 'S' },
		{ "margin", required_argument, NULL, 'm' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "path", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	double resamples = 2000, seed = 1;
	const struct cli_number_opt numbers[] = {
		{ 'B', "--resamples", 10, 1e6, &resamples },
		{ 'c', "--level", 0.5, 0.999, &o->boot.level },
		{ 'S', "--seed", 0, 9007199254740992.0, &seed },
		{ 'm', "--margin", 0, 1, &o->margin },
		{ 'f', "--from", 0, 1e9, &o->from },
		{ 't', "--to", 0, 1e9, &o->to },
		{},
	};
	int c;

	*o = (struct options){ .learner = "marl", .margin = 0.15, .to = INFINITY };
	boot_config_default(&o->boot);
	while ((c = getopt_long(argc, argv, "l:b:B:c:S:m:f:t:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->learner = optarg;
			break;
		case 'b':
			o->baselines = optarg;
			break;
		case 'p':
			o->path = optarg;
			break;
		default:
			if (cli_default_option("compare", numbers, c, optarg, usage))
				return -1;
			break;
		}
	}
	if (resamples != floor(resamples) || seed != floor(seed)) {
		fprintf(stderr, "compare: --resamples and --seed take integers\n");
		return -1;
	}
	o->boot.resamples = (unsigned int)resamples;
	o->boot.seed = (uint64_t)seed;
	if (optind == argc) {
		fprintf(stderr, "compare: expected POLICY=CSV[,CSV...] operands (see --help)\n");
		return -1;
	}
	if (argc - optind > MAX_POLICIES) {
		fprintf(stderr, "compare: at most %d policies\n", MAX_POLICIES);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct policy pol[MAX_POLICIES];
	struct options o;
	int n = 0, rc = 1;

	if (parse_options(argc, argv, &o))
		return 2;
	for (int i = optind; i < argc; i++, n++) {
		if (read_policy(&pol[n], argv[i], &o)) {
			n++;
			goto out;
		}
		for (int k = 0; k < n; k++)
			if (!strcmp(pol[k].name, pol[n].name)) {
				fprintf(stderr, "compare: policy %s given twice\n", pol[n].name);
				n++;
				goto out;
			}
	}
	for (int i = 0; i < n; i++) {
		struct boot_sample s = sample_of(&pol[i]);

		if (pol[i].has_data && boot_policy(&s, &o.boot, &pol[i].st)) {
			fprintf(stderr, "compare: out of memory\n");
			goto out;
		}
		print_policy(&pol[i]);
	}
	if (compare(pol, n, &o)) {
		fprintf(stderr, "compare: out of memory\n");
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < n; i++)
		policy_free(&pol[i]);
	return rc;
}
