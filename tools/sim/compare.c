// SPDX-License-Identifier: GPL-2.0
/*
 * compare: the evaluation harness. Every policy on the same task streams, over pools of
 * servers and scenarios (configured weights right, wrong, reversed; capacity changes),
 * with paired per-seed ratios to the best static weights and their confidence intervals
 * (Documentation/simulator.md, "Evaluation").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/baselines.h"
#include "sim/best_static.h"
#include "sim/cmds.h"
#include "sim/parallel.h"
#include "sim/scenario.h"
#include "sim/seeds.h"

static const char compare_help[] =
	"usage: marllb-sim compare [OPTIONS] [MODEL OPTIONS]\n"
	"\n"
	"Runs every policy on the same task streams (seeds --seed .. --seed + S - 1) in\n"
	"every scenario on every pool, and prints per scenario the mean task completion\n"
	"time (TCT) and p99 of each policy (mean over seeds), and paired per-seed ratios to\n"
	"the best static weights with 95 % confidence intervals (t over seeds); for the\n"
	"capacity changes also the window after the change on its own.\n"
	"\n"
	"Scenarios (--scenarios): correct (configured weights = capacities), equal (all 1),\n"
	"reversed (fast servers weighted as slow), slowdown (a quarter of the servers, the\n"
	"fastest, drop to half speed half-way through the measured time), noisy (a noisy\n"
	"neighbour takes 40 % of them from 1/3 to 2/3 of it). A pool NxM is N servers and M\n"
	"LBs: two classes, 4 workers each, the fast ones (3/7 of them, last) at --ratio x\n"
	"the speed, unless --workers/--speeds give the servers. In the change scenarios the\n"
	"load is the highest of the run (during the change).\n"
	"\n"
	"Policies: ecmp, wcmp, lsq, sed (the configured weights), best-static (sed with the\n"
	"weights a search found best, knowing the true capacities, on selection streams\n"
	"900000.. that are never reported on; for a change, the vector best before it),\n"
	"oracle (greedy: each task to its least expected completion time; not a lower bound\n"
	"with IO or unequal speeds), clairvoyant, marl (--model: every LB loads the model,\n"
	"fresh for every seed and scenario, acting on its mean; learning only with --learn),\n"
	"and the paper's learned baselines from `train --policy P` (Documentation/baselines.md):\n"
	"distr-lb, rlb-sac, qmix-lb, centr-lb (--model: the team file, loaded fresh likewise).\n"
	"\n"
	"  --pools LIST       NxM pairs (3x2,3x6,7x2,7x6,20x2,20x6,64x2,64x6)\n"
	"  --scenarios LIST   (correct,equal,reversed,slowdown,noisy)\n"
	"  --policies LIST    (lsq,sed,best-static,oracle; and marl with --model)\n"
	"  --mixes LIST       100, 75, 50 (the model's: --mix, --cpu-mean, --io-mean)\n"
	"  --seeds S          evaluation streams (10), below 900000\n"
	"  --select-seeds K   selection streams of the best static search (3)\n"
	"  --model PATH       model of marl or a baseline; in PATH %m becomes the mix, %n the\n"
	"                     servers, %p the policy (several learned policies in one run)\n"
	"  --learn            marl agents keep learning during the runs (off: they act)\n"
	"  --out DIR          write DIR/runs.csv (every run), DIR/summary.csv,\n"
	"                     DIR/best-static.csv and DIR/compare.md (the tables)\n"
	"  -j, --jobs N       simulations on N processes (1)\n"
	"  --help             this text\n"
	"\n";

#define MAX_POLICIES 12
#define MAX_POOLS 16
#define MAX_MIXES 3
#define MAX_SEEDS 200
#define N_WORLDS 3 /* static, slowdown, noisy: what the searches are for */

enum metric { M_MEAN, M_P99, M_WMEAN, M_WP99, M__COUNT };

struct column {
	char name[16];
	enum sim_policy policy;
	bool best_static;
	bool team; /* a baseline's team acts (baselines.h) */
};

struct pool {
	int servers, lbs;
};

struct run_result {
	double v[M__COUNT];
	double rejected; /* share of generated tasks */
	unsigned long long measured;
};

struct run_job {
	int mix, pool;
	enum scenario_kind kind;
	int col;
};

struct search_job {
	int mix, pool, world;
};

struct harness {
	struct cli_model m;
	struct scenario_params sp;
	struct best_static_opts bo;
	struct pool pools[MAX_POOLS];
	int n_pools;
	enum scenario_kind kinds[SCENARIO__COUNT];
	int n_kinds;
	char mixes[MAX_MIXES][8];
	int n_mixes;
	struct column cols[MAX_POLICIES];
	int n_cols;
	long seed, seeds;
	const char *model;
	bool learn, two_classes;
	/* the pools, per mix: before any scenario */
	struct sim_config base[MAX_MIXES][MAX_POOLS];
	struct search_job searches[MAX_MIXES * MAX_POOLS * N_WORLDS];
	struct best_static *best; /* per search */
	int n_searches;
	struct run_job *runs;
	int n_runs;
	struct run_result *res; /* n_runs x seeds */
	long done, total;
};

static int world_of(enum scenario_kind kind)
{
	return kind == SCENARIO_SLOWDOWN ? 1 : kind == SCENARIO_NOISY ? 2 : 0;
}

/* Runs that read the configured weights differ per static scenario; the others are one run. */
/* marl reads them too: the configured weight is one of its features (features.h). */
static bool reads_configured_weights(const struct column *c)
{
	return !c->best_static && (c->policy == POLICY_SED || c->policy == POLICY_WCMP ||
				   c->policy == POLICY_MARL);
}

static enum scenario_kind canonical_kind(const struct harness *h, enum scenario_kind kind, int col)
{
	if (scenario_has_change(kind) || reads_configured_weights(&h->cols[col]))
		return kind;
	return SCENARIO_CORRECT;
}

static int search_index(const struct harness *h, int mix, int pool, int world)
{
	for (int i = 0; i < h->n_searches; i++)
		if (h->searches[i].mix == mix && h->searches[i].pool == pool &&
		    h->searches[i].world == world)
			return i;
	return -1;
}

static int run_index(const struct harness *h, int mix, int pool, enum scenario_kind kind, int col)
{
	enum scenario_kind k = canonical_kind(h, kind, col);

	for (int i = 0; i < h->n_runs; i++)
		if (h->runs[i].mix == mix && h->runs[i].pool == pool && h->runs[i].kind == k &&
		    h->runs[i].col == col)
			return i;
	return -1;
}

/* The scenario's configuration on a pool, before the policy. */
static void scenario_config(const struct harness *h, int mix, int pool, enum scenario_kind kind,
			    struct sim_config *cfg)
{
	*cfg = h->base[mix][pool];
	scenario_apply(kind, &h->sp, cfg);
}

/* pattern with %m replaced by the mix, %n by the number of servers, %p by the policy */
static void model_path(char *out, size_t len, const char *pattern, const char *mix, int servers,
		       const char *policy)
{
	size_t o = 0;

	out[0] = '\0';
	for (const char *p = pattern; *p && o + 1 < len; p++) {
		if (p[0] == '%' && p[1] == 'm')
			snprintf(out + o, len - o, "%s", mix);
		else if (p[0] == '%' && p[1] == 'n')
			snprintf(out + o, len - o, "%d", servers);
		else if (p[0] == '%' && p[1] == 'p')
			snprintf(out + o, len - o, "%s", policy);
		else
			snprintf(out + o, len - o, "%c", *p);
		p += p[0] == '%' && (p[1] == 'm' || p[1] == 'n' || p[1] == 'p');
		o = strlen(out);
	}
}

/* ---- the two phases: searches, then runs ---- */

static int search_item(int i, void *result, void *ctx)
{
	const struct harness *h = ctx;
	const struct search_job *j = &h->searches[i];
	static const enum scenario_kind world_kind[N_WORLDS] = { SCENARIO_CORRECT,
								 SCENARIO_SLOWDOWN,
								 SCENARIO_NOISY };
	struct sim_config cfg;
	char err[256];

	scenario_config(h, j->mix, j->pool, world_kind[j->world], &cfg);
	if (best_static_search(&cfg, &h->bo, result, err, sizeof(err))) {
		fprintf(stderr, "marllb-sim: best static search: %s\n", err);
		return -1;
	}
	return 0;
}

static const char *const world_names[N_WORLDS] = { "static", "before the slowdown",
						   "before the neighbour" };

static void search_done(int i, const void *result, void *ctx)
{
	const struct harness *h = ctx;
	const struct best_static *b = result;
	const struct search_job *j = &h->searches[i];
	const struct pool *p = &h->pools[j->pool];

	fprintf(stderr,
		"best static, mix %s, %dx%d, %s: beta %.3f, %.4f s on %d selection "
		"streams (%d vectors)\n",
		h->mixes[j->mix], p->servers, p->lbs, world_names[j->world], b->beta, b->score,
		h->bo.seeds, b->evaluations);
}

static int run_item(int i, void *result, void *ctx)
{
	const struct harness *h = ctx;
	const struct run_job *j = &h->runs[i / h->seeds];
	const struct column *c = &h->cols[j->col];
	struct agent *agents[SIM_MAX_LBS] = {};
	struct run_result *r = result;
	const struct sim_stats *st;
	struct sim_config cfg;
	struct sim *s = NULL;

	scenario_config(h, j->mix, j->pool, j->kind, &cfg);
	cfg.policy = c->policy;
	cfg.seed = cfg.policy_seed = h->seed + i % h->seeds;
	if (c->best_static) {
		const struct best_static *b =
			&h->best[search_index(h, j->mix, j->pool, world_of(j->kind))];

		memcpy(cfg.weights, b->weights, sizeof(double) * cfg.n_servers);
	}
	if (cfg.policy == POLICY_MARL) {
		char path[512];

		/* fresh agents (or team) for every run: nothing learned or normalised on one
		 * stream leaks into the next, so no result depends on which ran before it */
		model_path(path, sizeof(path), h->model, h->mixes[j->mix], cfg.n_servers, c->name);
		if (c->team)
			s = baseline_run(c->name, &cfg, path, h->learn);
		else if (agents_load(agents, &cfg, path))
			return -1;
	}
	if (!c->team)
		s = run_one(&cfg, agents, h->learn, false);
	agents_free(agents, cfg.n_lbs);
	if (!s)
		return -1;
	st = sim_stats(s);
	r->v[M_MEAN] = stats_mean_tct(st);
	r->v[M_P99] = stats_p99_tct(st);
	r->v[M_WMEAN] = stats_window_mean_tct(st);
	r->v[M_WP99] = stats_window_p99_tct(st);
	r->rejected = st->generated ? (double)st->rejected / st->generated : 0;
	r->measured = st->measured;
	sim_free(s);
	return 0;
}

static void run_done(int i, const void *result, void *ctx)
{
	struct harness *h = ctx;

	h->done++;
	if (h->done * 10 / h->total != (h->done - 1) * 10 / h->total)
		fprintf(stderr, "runs: %ld of %ld\n", h->done, h->total);
}

/* ---- tables ---- */

static const struct run_result *result(const struct harness *h, int mix, int pool,
				       enum scenario_kind kind, int col, int seed)
{
	return &h->res[(size_t)run_index(h, mix, pool, kind, col) * h->seeds + seed];
}

static void values(const struct harness *h, int mix, int pool, enum scenario_kind kind, int col,
		   enum metric mt, double *x)
{
	for (int i = 0; i < h->seeds; i++)
		x[i] = result(h, mix, pool, kind, col, i)->v[mt];
}

static int find_col(const struct harness *h, const char *name)
{
	for (int c = 0; c < h->n_cols; c++)
		if (!strcmp(h->cols[c].name, name))
			return c;
	return -1;
}

/* The reference the ratios are to: best-static for means, lsq for p99 (else none). */
static int reference(const struct harness *h, enum metric mt)
{
	return find_col(h, mt == M_MEAN || mt == M_WMEAN ? "best-static" : "lsq");
}

/* Of lsq and sed, the one with the lower mean over seeds (-1 when neither runs). */
static int best_heuristic(const struct harness *h, int mix, int pool, enum scenario_kind kind,
			  enum metric mt)
{
	int lsq = find_col(h, "lsq"), sed = find_col(h, "sed");
	double a[MAX_SEEDS], b[MAX_SEEDS];
	struct mean_ci ca, cb;

	if (lsq < 0 || sed < 0)
		return lsq >= 0 ? lsq : sed;
	values(h, mix, pool, kind, lsq, mt, a);
	values(h, mix, pool, kind, sed, mt, b);
	mean_ci(a, h->seeds, &ca);
	mean_ci(b, h->seeds, &cb);
	return ca.mean <= cb.mean ? lsq : sed;
}

static void print_ci(FILE *fp, const struct mean_ci *ci)
{
	fprintf(fp, " %.3f [%.3f, %.3f] |", ci->mean, ci->lo, ci->hi);
}

static void table(const struct harness *h, FILE *fp, int mix, enum scenario_kind kind,
		  enum metric mt)
{
	static const char *const what[M__COUNT] = { "mean TCT (s)", "p99 TCT (s)",
						    "mean TCT after the change (s)",
						    "p99 TCT after the change (s)" };
	int ref = reference(h, mt), marl = find_col(h, "marl");
	bool vs_heuristic = marl >= 0 && (mt == M_MEAN || mt == M_WMEAN) &&
			    (find_col(h, "lsq") >= 0 || find_col(h, "sed") >= 0);
	double a[MAX_SEEDS], b[MAX_SEEDS];
	struct mean_ci ci;

	fprintf(fp, "\n%s:\n\n| pool |", what[mt]);
	for (int c = 0; c < h->n_cols; c++)
		fprintf(fp, " %s |", h->cols[c].name);
	for (int c = 0; c < h->n_cols && ref >= 0; c++)
		if (c != ref)
			fprintf(fp, " %s / %s |", h->cols[c].name, h->cols[ref].name);
	if (vs_heuristic)
		fprintf(fp, " marl / best of lsq, sed |");
	fprintf(fp, "\n|---|");
	for (int c = 0; c < h->n_cols + (ref >= 0 ? h->n_cols - 1 : 0) + vs_heuristic; c++)
		fprintf(fp, "---|");
	fprintf(fp, "\n");
	for (int p = 0; p < h->n_pools; p++) {
		fprintf(fp, "| %dx%d |", h->pools[p].servers, h->pools[p].lbs);
		for (int c = 0; c < h->n_cols; c++) {
			values(h, mix, p, kind, c, mt, a);
			mean_ci(a, h->seeds, &ci);
			fprintf(fp, " %.3f |", ci.mean);
		}
		for (int c = 0; c < h->n_cols && ref >= 0; c++) {
			if (c == ref)
				continue;
			values(h, mix, p, kind, c, mt, a);
			values(h, mix, p, kind, ref, mt, b);
			paired_ratio_ci(a, b, h->seeds, &ci);
			print_ci(fp, &ci);
		}
		if (vs_heuristic) {
			values(h, mix, p, kind, marl, mt, a);
			values(h, mix, p, kind, best_heuristic(h, mix, p, kind, mt), mt, b);
			paired_ratio_ci(a, b, h->seeds, &ci);
			print_ci(fp, &ci);
		}
		fprintf(fp, "\n");
	}
}

static void tables(const struct harness *h, FILE *fp)
{
	int bs = find_col(h, "best-static");

	fprintf(fp,
		"Seeds %ld-%ld (%ld task streams, the same for every policy), %.0f s runs, "
		"warmup %.0f s, load %.2f",
		h->seed, h->seed + h->seeds - 1, h->seeds, h->m.cfg.duration, h->m.cfg.warmup,
		h->m.cfg.load);
	if (h->two_classes)
		fprintf(fp, ", pools of two classes 1:%g (%.0f %% fast; %d workers%s)", h->sp.ratio,
			100 * h->sp.fast_share, h->sp.workers,
			h->sp.by_workers ? ", the fast with more" : ", the fast faster");
	fprintf(fp, ". Mean work per task:");
	for (int x = 0; x < h->n_mixes; x++)
		fprintf(fp, "%s mix %s: CPU %g s, IO %g s", x ? ";" : "", h->mixes[x],
			h->base[x][0].cpu_mean, h->base[x][0].io_mean);
	fprintf(fp, " (%s). Ratios: mean of the per-seed ratios [95 %% CI, t over seeds].\n",
		h->m.cfg.dist == DIST_EXP ? "exponential" : "--dist");
	if (bs >= 0)
		fprintf(fp,
			"best-static: sed with the weights best on selection streams %llu-%llu "
			"(never reported on), searched knowing the true capacities; in the "
			"change scenarios the vector best before the change.\n",
			(unsigned long long)h->bo.seed,
			(unsigned long long)h->bo.seed + h->bo.seeds - 1);
	if (find_col(h, "oracle") >= 0)
		fprintf(fp, "oracle: greedy (each task where it would finish first); not a lower "
			    "bound with IO or unequal speeds.\n");
	if (find_col(h, "marl") >= 0)
		fprintf(fp, "marl: %s, loaded fresh by every LB for every seed, %s.\n", h->model,
			h->learn ? "learning online" : "acting on its mean, not learning");
	for (int c = 0; c < h->n_cols; c++)
		if (h->cols[c].team)
			fprintf(fp, "%s: %s (%%p: %s), the team loaded fresh for every seed, %s.\n",
				h->cols[c].name, h->model, h->cols[c].name,
				h->learn ? "learning online" : "acting on its mean, not learning");
	for (int x = 0; x < h->n_mixes; x++) {
		for (int k = 0; k < h->n_kinds; k++) {
			enum scenario_kind kind = h->kinds[k];

			fprintf(fp, "\n### %s, mix %s: %s\n", scenario_names[kind], h->mixes[x],
				scenario_titles[kind]);
			table(h, fp, x, kind, M_MEAN);
			table(h, fp, x, kind, M_P99);
			if (scenario_has_change(kind)) {
				table(h, fp, x, kind, M_WMEAN);
				table(h, fp, x, kind, M_WP99);
			}
		}
	}
}

/* ---- files ---- */

static FILE *open_out(const char *dir, const char *name)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (!fp)
		fprintf(stderr, "marllb-sim: cannot write %s: %s\n", path, strerror(errno));
	return fp;
}

static int write_files(const struct harness *h, const char *dir)
{
	static const char *const part[2] = { "whole", "after" };
	FILE *runs = open_out(dir, "runs.csv"), *sum = open_out(dir, "summary.csv"),
	     *best = open_out(dir, "best-static.csv"), *md = open_out(dir, "compare.md");
	double a[MAX_SEEDS], b[MAX_SEEDS];
	int ret = runs && sum && best && md ? 0 : -1;

	if (ret)
		goto out;
	fprintf(runs, "mix,servers,lbs,scenario,policy,seed,mean_tct,p99_tct,after_mean_tct,"
		      "after_p99_tct,rejected_share,measured\n");
	fprintf(sum,
		"mix,servers,lbs,scenario,part,policy,seeds,mean_tct,p99_tct,"
		"ratio_best_static,ratio_lo,ratio_hi,p99_ratio_lsq,p99_ratio_lo,p99_ratio_hi\n");
	for (int x = 0; x < h->n_mixes; x++) {
		for (int p = 0; p < h->n_pools; p++) {
			const struct pool *pl = &h->pools[p];

			for (int k = 0; k < h->n_kinds; k++) {
				enum scenario_kind kind = h->kinds[k];

				for (int c = 0; c < h->n_cols; c++) {
					for (int i = 0; i < h->seeds; i++) {
						const struct run_result *r =
							result(h, x, p, kind, c, i);

						fprintf(runs,
							"%s,%d,%d,%s,%s,%ld,%.6f,%.6f,%.6f,%.6f,"
							"%.6f,%llu\n",
							h->mixes[x], pl->servers, pl->lbs,
							scenario_names[kind], h->cols[c].name,
							h->seed + i, r->v[M_MEAN], r->v[M_P99],
							r->v[M_WMEAN], r->v[M_WP99], r->rejected,
							r->measured);
					}
					for (int w = 0; w < 1 + scenario_has_change(kind); w++) {
						enum metric mm = w ? M_WMEAN : M_MEAN,
							    mp = w ? M_WP99 : M_P99;
						int rm = reference(h, mm), rp = reference(h, mp);
						struct mean_ci cm, cp, rcm = { NAN, NAN, NAN },
								       rcp = { NAN, NAN, NAN };

						values(h, x, p, kind, c, mm, a);
						mean_ci(a, h->seeds, &cm);
						if (rm >= 0) {
							values(h, x, p, kind, rm, mm, b);
							paired_ratio_ci(a, b, h->seeds, &rcm);
						}
						values(h, x, p, kind, c, mp, a);
						mean_ci(a, h->seeds, &cp);
						if (rp >= 0) {
							values(h, x, p, kind, rp, mp, b);
							paired_ratio_ci(a, b, h->seeds, &rcp);
						}
						fprintf(sum,
							"%s,%d,%d,%s,%s,%s,%ld,%.6f,%.6f,%.6f,%.6f,"
							"%.6f,%.6f,%.6f,%.6f\n",
							h->mixes[x], pl->servers, pl->lbs,
							scenario_names[kind], part[w],
							h->cols[c].name, h->seeds, cm.mean, cp.mean,
							rcm.mean, rcm.lo, rcm.hi, rcp.mean, rcp.lo,
							rcp.hi);
					}
				}
			}
		}
	}
	fprintf(best, "mix,servers,lbs,world,beta,selection_mean_tct,selection_seeds,vectors,"
		      "weights\n");
	for (int i = 0; i < h->n_searches; i++) {
		const struct search_job *j = &h->searches[i];
		const struct best_static *b = &h->best[i];

		fprintf(best, "%s,%d,%d,%s,%.6f,%.6f,%d,%d,", h->mixes[j->mix],
			h->pools[j->pool].servers, h->pools[j->pool].lbs, world_names[j->world],
			b->beta, b->score, h->bo.seeds, b->evaluations);
		for (int k = 0; k < h->pools[j->pool].servers; k++)
			fprintf(best, "%s%.6g", k ? " " : "", b->weights[k]);
		fprintf(best, "\n");
	}
	tables(h, md);
out:
	for (FILE **f = (FILE *[]){ runs, sum, best, md }, **e = f + 4; f < e; f++)
		if (*f && fclose(*f))
			ret = -1;
	return ret;
}

/* ---- options ---- */

static int parse_columns(struct harness *h, const char *list)
{
	static const char *const names[] = { "ecmp",   "wcmp", "lsq",	      "sed",
					     "oracle", "marl", "clairvoyant", "best-static" };
	char buf[256], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	h->n_cols = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct column *c = &h->cols[h->n_cols];
		unsigned int i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]) && strcmp(tok, names[i]); i++)
			;
		c->team = baseline_known(tok);
		if ((i == sizeof(names) / sizeof(names[0]) && !c->team) ||
		    h->n_cols == MAX_POLICIES || find_col(h, tok) >= 0)
			return -1;
		c->best_static = !strcmp(tok, "best-static");
		c->policy = c->best_static ? POLICY_SED :
			    c->team	   ? POLICY_MARL :
					     (enum sim_policy)i;
		snprintf(c->name, sizeof(c->name), "%s", tok);
		h->n_cols++;
	}
	return h->n_cols ? 0 : -1;
}

static int parse_pools(struct harness *h, const char *list)
{
	char buf[256], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	h->n_pools = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct pool *p = &h->pools[h->n_pools];

		if (h->n_pools == MAX_POOLS || parse_pool(tok, &p->servers, &p->lbs))
			return -1;
		h->n_pools++;
	}
	return h->n_pools ? 0 : -1;
}

static int parse_kinds(struct harness *h, const char *list)
{
	char buf[256], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	h->n_kinds = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (h->n_kinds == SCENARIO__COUNT || scenario_parse(tok, &h->kinds[h->n_kinds++]))
			return -1;
	return h->n_kinds ? 0 : -1;
}

static int parse_mixes(struct harness *h, const char *list)
{
	char buf[64], *save, *tok;
	double c, io;

	snprintf(buf, sizeof(buf), "%s", list);
	h->n_mixes = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (h->n_mixes == MAX_MIXES || (strcmp(tok, "custom") && mix_parse(tok, &c, &io)))
			return -1;
		snprintf(h->mixes[h->n_mixes++], sizeof(h->mixes[0]), "%s", tok);
	}
	return h->n_mixes ? 0 : -1;
}

/* The pools per mix: the model options with N and M set, two classes unless the servers
 * were given. */
static int build_pools(struct harness *h)
{
	h->two_classes = cli_model_two_classes(&h->m);
	for (int x = 0; x < h->n_mixes; x++)
		for (int p = 0; p < h->n_pools; p++)
			if (cli_model_pool(&h->m, h->pools[p].servers, h->pools[p].lbs,
					   strcmp(h->mixes[x], "custom") ? h->mixes[x] : NULL,
					   &h->sp, &h->base[x][p]))
				return -1;
	return 0;
}

static void plan(struct harness *h)
{
	int bs = find_col(h, "best-static");

	for (int x = 0; x < h->n_mixes; x++) {
		for (int p = 0; p < h->n_pools; p++) {
			for (int k = 0; k < h->n_kinds; k++) {
				int w = world_of(h->kinds[k]);

				if (bs >= 0 && search_index(h, x, p, w) < 0)
					h->searches[h->n_searches++] =
						(struct search_job){ x, p, w };
				for (int c = 0; c < h->n_cols; c++)
					if (run_index(h, x, p, h->kinds[k], c) < 0)
						h->runs[h->n_runs++] = (struct run_job){
							x, p, canonical_kind(h, h->kinds[k], c), c
						};
			}
		}
	}
}

/* Every model must load for every pool before hours of runs start. */
static int check_models(const struct harness *h)
{
	struct agent *agents[SIM_MAX_LBS] = {};

	for (int c = 0; c < h->n_cols; c++) {
		const char *name = h->cols[c].name;

		if (!h->cols[c].team && strcmp(name, "marl"))
			continue;
		for (int x = 0; x < h->n_mixes; x++) {
			for (int p = 0; p < h->n_pools; p++) {
				const struct sim_config *cfg = &h->base[x][p];
				char path[512];

				model_path(path, sizeof(path), h->model, h->mixes[x],
					   cfg->n_servers, name);
				if (h->cols[c].team ? baseline_check(name, cfg, path) :
						      agents_load(agents, cfg, path))
					return -1;
				agents_free(agents, cfg->n_lbs);
			}
		}
	}
	return 0;
}

/* Whether a column runs a model (marl or a baseline). */
static bool learned_col(const struct harness *h)
{
	for (int c = 0; c < h->n_cols; c++)
		if (h->cols[c].team || !strcmp(h->cols[c].name, "marl"))
			return true;
	return false;
}

static const char *const refused[] = { "servers", "lbs", "weights", "misconfig", "change", NULL };

int cmd_compare(int argc, char **argv)
{
	static const struct option own[] = { { "pools", required_argument, NULL, 'P' },
					     { "scenarios", required_argument, NULL, 'S' },
					     { "policies", required_argument, NULL, 'p' },
					     { "mixes", required_argument, NULL, 'x' },
					     { "seeds", required_argument, NULL, 's' },
					     { "select-seeds", required_argument, NULL, 'K' },
					     { "model", required_argument, NULL, 'm' },
					     { "learn", no_argument, NULL, 'L' },
					     { "out", required_argument, NULL, 'o' },
					     { "jobs", required_argument, NULL, 'j' },
					     { "help", no_argument, NULL, 'h' },
					     {} };
	struct option own_all[32], *opts;
	const char *policies = NULL, *mixes = NULL, *out = NULL,
		   *pools = "3x2,3x6,7x2,7x6,20x2,20x6,64x2,64x6",
		   *kinds = "correct,equal,reversed,slowdown,noisy";
	struct harness *h = calloc(1, sizeof(*h));
	long jobs = 1, k;
	double t0 = wall_seconds();
	int opt, ret = 2;

	if (!h) {
		fprintf(stderr, "marllb-sim: out of memory\n");
		return 1;
	}
	memcpy(own_all, cli_options_join(own, cli_pool_options), sizeof(own_all));
	opts = cli_options(own_all);
	cli_model_init(&h->m);
	scenario_params_default(&h->sp);
	best_static_opts_default(&h->bo);
	h->seeds = 10;
	while ((opt = getopt_long(argc, argv, "j:", opts, NULL)) != -1) {
		switch (opt) {
		case 'P':
			pools = optarg;
			break;
		case 'S':
			kinds = optarg;
			break;
		case 'p':
			policies = optarg;
			break;
		case 'x':
			mixes = optarg;
			break;
		case 's':
		case 'K':
			if (parse_int(optarg, 1, opt == 's' ? MAX_SEEDS : 100, &k)) {
				fprintf(stderr, "marllb-sim: %s: expected a count 1..%d\n", optarg,
					opt == 's' ? MAX_SEEDS : 100);
				goto out;
			}
			if (opt == 's')
				h->seeds = k;
			else
				h->bo.seeds = (int)k;
			break;
		case 'm':
			h->model = optarg;
			break;
		case 'L':
			h->learn = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 'j':
			if (parse_int(optarg, 1, 64, &jobs)) {
				fprintf(stderr, "marllb-sim: --jobs %s: expected 1..64\n", optarg);
				goto out;
			}
			break;
		case 'h':
			printf("%s%s\n%s", compare_help, cli_pool_help, cli_model_help);
			ret = 0;
			goto out;
		default:
			k = cli_pool_option(&h->sp, opt, optarg);
			if (k == 1)
				k = cli_model_option(&h->m, opt, optarg);
			if (k)
				goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "marllb-sim compare: unexpected argument '%s'\n", argv[optind]);
		goto out;
	}
	for (const char *const *r = refused; *r; r++) {
		if (cli_model_given(&h->m, *r)) {
			fprintf(stderr,
				"marllb-sim compare: --%s: the pools and scenarios set the "
				"servers, LBs, weights and changes (see --help)\n",
				*r);
			goto out;
		}
	}
	if (cli_model_given(&h->m, "trace")) {
		fprintf(stderr,
			"marllb-sim compare: --trace: the seeds draw the task streams here; "
			"replay a trace with run --trace\n");
		goto out;
	}
	if (!policies)
		policies = h->model ? "lsq,sed,best-static,oracle,marl" :
				      "lsq,sed,best-static,oracle";
	if (parse_columns(h, policies)) {
		fprintf(stderr,
			"marllb-sim: --policies %s: expected up to %d different of ecmp, "
			"wcmp, lsq, sed, best-static, oracle, clairvoyant, marl, distr-lb, "
			"rlb-sac, qmix-lb, centr-lb\n",
			policies, MAX_POLICIES);
		goto out;
	}
	if (learned_col(h) && !h->model) {
		fprintf(stderr, "marllb-sim: marl and the baselines in --policies need --model "
				"PATH\n");
		goto out;
	}
	if (parse_pools(h, pools)) {
		fprintf(stderr,
			"marllb-sim: --pools %s: expected up to %d of NxM (servers x LBs)\n", pools,
			MAX_POOLS);
		goto out;
	}
	if (parse_kinds(h, kinds)) {
		fprintf(stderr,
			"marllb-sim: --scenarios %s: expected some of correct, equal, "
			"reversed, slowdown, noisy\n",
			kinds);
		goto out;
	}
	if (mixes && (h->m.mix || h->m.cpu_mean_set || h->m.io_mean_set)) {
		fprintf(stderr, "marllb-sim: --mixes and --mix/--cpu-mean/--io-mean both set the "
				"mean work: give one or the other\n");
		goto out;
	}
	if (!mixes)
		mixes = h->m.mix			      ? h->m.mix :
			h->m.cpu_mean_set || h->m.io_mean_set ? "custom" :
								"100";
	if (parse_mixes(h, mixes)) {
		fprintf(stderr, "marllb-sim: --mixes %s: expected up to three of 100, 75, 50\n",
			mixes);
		goto out;
	}
	h->seed = (long)h->m.cfg.seed;
	if (h->seed + h->seeds > (long)SEED_SELECT_BASE) {
		fprintf(stderr,
			"marllb-sim: seeds %ld-%ld: evaluation streams are below %llu "
			"(tools/sim/seeds.h)\n",
			h->seed, h->seed + h->seeds - 1, (unsigned long long)SEED_SELECT_BASE);
		goto out;
	}
	if (build_pools(h))
		goto out;
	ret = 1;
	h->best = calloc(MAX_MIXES * MAX_POOLS * N_WORLDS, sizeof(*h->best));
	h->runs = calloc((size_t)MAX_MIXES * MAX_POOLS * SCENARIO__COUNT * MAX_POLICIES,
			 sizeof(*h->runs));
	if (!h->best || !h->runs)
		goto out;
	plan(h);
	h->res = calloc((size_t)h->n_runs * h->seeds, sizeof(*h->res));
	if (!h->res || check_models(h))
		goto out;
	if (out && mkdir(out, 0755) && errno != EEXIST) {
		fprintf(stderr, "marllb-sim: cannot create %s: %s\n", out, strerror(errno));
		goto out;
	}
	fprintf(stderr, "%d searches, %d x %ld runs on %ld process%s\n", h->n_searches, h->n_runs,
		h->seeds, jobs, jobs > 1 ? "es" : "");
	if (parallel_run(h->n_searches, (int)jobs, sizeof(*h->best), search_item, search_done, h,
			 h->best))
		goto out;
	h->total = h->n_runs * h->seeds;
	if (parallel_run((int)h->total, (int)jobs, sizeof(*h->res), run_item, run_done, h, h->res))
		goto out;
	tables(h, stdout);
	if (out && write_files(h, out))
		goto out;
	printf("\n%.0f s of wall time%s%s%s\n", wall_seconds() - t0, out ? "; wrote " : "",
	       out ? out : "", out ? "/{compare.md,runs.csv,summary.csv,best-static.csv}" : "");
	ret = 0;
out:
	if (h) {
		free(h->best);
		free(h->runs);
		free(h->res);
	}
	free(h);
	return ret;
}
