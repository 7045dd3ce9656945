// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the testbed's statistics: the two-level bootstrap (tools/testbed/bootstrap.c)
 * covers the true mean about as often as it claims, widens when repeats disagree, gains
 * from pairing rounds, and tells a real difference from none; marllb-compare reads the
 * replay's CSVs (warm-up, failures, path and time filters) and prints verdicts. The binary
 * is found next to this test program.
 */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../test.h"
#include "../tools/test_dir.h"
#include "../../tools/testbed/bootstrap.h"
#include "learn/rng.h"

static char tmpdir[] = "/tmp/marllb-compare-XXXXXX";

#define MAXN 2000

/* Exponential draws with the given mean. */
static void fill_exp(struct rng *g, double *x, size_t n, double mean)
{
	for (size_t i = 0; i < n; i++)
		x[i] = -mean * log(1.0 - (double)(rng_next(g) >> 11) / 9007199254740992.0);
}

struct repeats {
	double buf[4][MAXN];
	const double *x[4];
	size_t n[4];
	struct boot_sample s;
};

/* R repeats of n exponential draws; repeat r's mean is mean * scale[r]. */
static void make_repeats(struct repeats *rp, struct rng *g, size_t r, size_t n, double mean,
			 const double *scale)
{
	for (size_t i = 0; i < r; i++) {
		fill_exp(g, rp->buf[i], n, mean * (scale ? scale[i] : 1));
		rp->x[i] = rp->buf[i];
		rp->n[i] = n;
	}
	rp->s = (struct boot_sample){ r, rp->x, rp->n };
}

/* 95 % intervals of the mean cover the true mean in about 95 % of experiments. */
static void test_mean_interval_coverage(void)
{
	struct boot_config cfg;
	struct boot_stats st;
	static struct repeats rp;
	struct rng g;
	int covered = 0, runs = 200;
	double width = 0;

	boot_config_default(&cfg);
	cfg.resamples = 400;
	rng_seed(&g, 7);
	for (int i = 0; i < runs; i++) {
		make_repeats(&rp, &g, 3, 300, 1.0, NULL);
		cfg.seed = (uint64_t)i + 1;
		if (!ASSERT_OK(boot_policy(&rp.s, &cfg, &st), "bootstrap"))
			return;
		covered += st.mean.lo <= 1.0 && 1.0 <= st.mean.hi;
		width += (st.mean.hi - st.mean.lo) / runs;
		ASSERT_TRUE(st.mean.lo <= st.mean.point && st.mean.point <= st.mean.hi,
			    "point inside");
		ASSERT_TRUE(st.p99.lo <= st.p99.point && st.p99.point <= st.p99.hi, "p99 inside");
	}
	/* binomial(200, 0.95): sd 3 runs; the repeat level adds a little width */
	ASSERT_GE(covered, 176, "coverage at least 88 %");
	/* 900 draws of sd 1: 2 x 1.96 / 30 = 0.13 wide without the repeat level */
	ASSERT_LT(width, 0.3, "intervals not absurdly wide");
}

/* Repeats that disagree (machine drift) give a wider interval than repeats that agree. */
static void test_interval_widens_with_drift(void)
{
	static const double drift[3] = { 0.7, 1.0, 1.3 };
	static struct repeats same, drifting;
	struct boot_config cfg;
	struct boot_stats a, b;
	struct rng g;

	boot_config_default(&cfg);
	rng_seed(&g, 11);
	make_repeats(&same, &g, 3, 500, 1.0, NULL);
	rng_seed(&g, 11);
	make_repeats(&drifting, &g, 3, 500, 1.0, drift);
	ASSERT_OK(boot_policy(&same.s, &cfg, &a), "agreeing repeats");
	ASSERT_OK(boot_policy(&drifting.s, &cfg, &b), "drifting repeats");
	ASSERT_GT(b.mean.hi - b.mean.lo, 2 * (a.mean.hi - a.mean.lo), "drift widens");
}

/* Rounds shared by both policies cancel in a paired ratio; mismatched rounds do not. */
static void test_ratio_pairs_rounds(void)
{
	static const double round_effect[3] = { 0.6, 1.0, 1.5 }, shuffled[3] = { 1.5, 0.6, 1.0 };
	static struct repeats a, b, b_mismatched;
	struct boot_config cfg;
	struct boot_stats paired, mismatched;
	struct rng g;

	boot_config_default(&cfg);
	rng_seed(&g, 3);
	make_repeats(&a, &g, 3, 800, 0.8, round_effect);
	make_repeats(&b, &g, 3, 800, 1.0, round_effect);
	rng_seed(&g, 99);
	make_repeats(&b_mismatched, &g, 3, 800, 1.0, shuffled);
	ASSERT_OK(boot_ratio(&a.s, &b.s, &cfg, &paired), "paired");
	ASSERT_OK(boot_ratio(&a.s, &b_mismatched.s, &cfg, &mismatched), "mismatched");
	ASSERT_TRUE(paired.mean.lo <= 0.8 && 0.8 <= paired.mean.hi, "paired covers 0.8");
	ASSERT_LT(paired.mean.hi, 1, "paired: a is better");
	ASSERT_GT(mismatched.mean.hi - mismatched.mean.lo, 2 * (paired.mean.hi - paired.mean.lo),
		  "pairing narrows the interval");
}

/* A 30 % difference is found; no difference is found rarely (about 5 % of the time). */
static void test_ratio_finds_difference(void)
{
	static struct repeats a, b;
	struct boot_config cfg;
	struct boot_stats r;
	struct rng g;
	int false_alarms = 0, runs = 60;

	boot_config_default(&cfg);
	cfg.resamples = 400;
	rng_seed(&g, 5);
	make_repeats(&a, &g, 3, 600, 0.7, NULL);
	make_repeats(&b, &g, 3, 600, 1.0, NULL);
	ASSERT_OK(boot_ratio(&a.s, &b.s, &cfg, &r), "ratio");
	ASSERT_LT(r.mean.hi, 1, "mean 30 % lower: better");
	ASSERT_LT(r.p99.hi, 1, "p99 30 % lower: better");
	for (int i = 0; i < runs; i++) {
		make_repeats(&a, &g, 3, 300, 1.0, NULL);
		make_repeats(&b, &g, 3, 300, 1.0, NULL);
		cfg.seed = (uint64_t)i + 1;
		boot_ratio(&a.s, &b.s, &cfg, &r);
		false_alarms += r.mean.hi < 1 || r.mean.lo > 1;
	}
	/* binomial(60, 0.05): mean 3, P(> 12) is negligible */
	ASSERT_LE(false_alarms, 12, "same distributions: indistinguishable");
}

static void test_bad_input(void)
{
	static struct repeats a;
	struct boot_config cfg;
	struct boot_stats st;
	struct rng g;

	boot_config_default(&cfg);
	rng_seed(&g, 1);
	make_repeats(&a, &g, 2, 10, 1.0, NULL);
	a.n[1] = 0;
	ASSERT_EQ(boot_policy(&a.s, &cfg, &st), -EINVAL, "a repeat without data");
	a.s.n_repeats = 0;
	ASSERT_EQ(boot_policy(&a.s, &cfg, &st), -EINVAL, "no repeat");
}

/* ---- marllb-compare ---- */

static int run_capture(const char *args, char *out, size_t cap)
{
	char cmd[8192];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s/marllb-compare' %s 2>&1", bindir, args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A replay CSV: n requests, one every 0.1 s, TCT mean * (1 + i % 3) / 2; the first `warm`
 * are warm-up, every `fail_every`-th measured one failed, the odd ones for path /io/. */
static void write_csv(const char *path, int n, int warm, double mean, int fail_every)
{
	FILE *f = fopen(path, "w");

	fprintf(f, "id,sched_s,start_s,end_s,tct_s,status,bytes,outcome,measured,path\n");
	for (int i = 0; i < n; i++) {
		bool failed = i >= warm && fail_every && (i - warm) % fail_every == 0;

		fprintf(f, "%d,%.3f,0,0,%.6f,%d,10,%s,%d,%s\n", i, i * 0.1, mean * (1 + i % 3) / 2,
			failed ? 0 : 200, failed ? "timeout" : "ok", i >= warm,
			i % 2 ? "/io/" : "/dummy.php/");
	}
	fclose(f);
}

static double field(const char *out, const char *kind, const char *name, int col)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "%s\t%s\t", kind, name);
	p = strstr(out, key);
	if (!p)
		return NAN;
	for (int i = 0; i < col; i++) {
		p = strchr(p, '\t');
		if (!p)
			return NAN;
		p++;
	}
	return atof(p);
}

static void test_cli_reads_replay_csv(void)
{
	char out[8192], args[2048];
	int rc;

	write_csv(tmp_path("l1.csv"), 120, 20, 0.5, 0);
	write_csv(tmp_path("l2.csv"), 120, 20, 0.5, 0);
	write_csv(tmp_path("b1.csv"), 120, 20, 1.0, 10);
	write_csv(tmp_path("b2.csv"), 120, 20, 1.0, 10);
	snprintf(args, sizeof(args), "-B 200 marl=%s,%s lsq=%s,%s", tmp_path("l1.csv"),
		 tmp_path("l2.csv"), tmp_path("b1.csv"), tmp_path("b2.csv"));
	rc = run_capture(args, out, sizeof(out));
	if (!ASSERT_EQ(rc, 0, out))
		return;
	ASSERT_EQ(field(out, "policy", "marl", 2), 2, "repeats");
	ASSERT_EQ(field(out, "policy", "marl", 3), 200, "measured requests only");
	ASSERT_EQ(field(out, "policy", "lsq", 5), 20, "failures counted");
	ASSERT_EQ(field(out, "policy", "lsq", 4), 180, "ok requests");
	ASSERT_NEAR(field(out, "policy", "marl", 6), 0.5, 0.01, "mean");
	ASSERT_TRUE(strstr(out, "compare\tmean\tmarl\tlsq\t"), "mean compared with lsq");
	ASSERT_TRUE(strstr(out, "\tbetter\tapart\ttarget-met\n"), out);
	/* only the CPU-bound path, and a time window */
	snprintf(args, sizeof(args), "-B 200 --path /io/ --from 5 --to 8 marl=%s",
		 tmp_path("l1.csv"));
	ASSERT_EQ(run_capture(args, out, sizeof(out)), 0, out);
	ASSERT_EQ(field(out, "policy", "marl", 3), 15, "30 requests in [5, 8), half /io/");
	ASSERT_FALSE(strstr(out, "compare"), "nothing to compare with");
}

static void test_cli_rejects_bad_input(void)
{
	char out[8192], args[2048];

	FILE *f = fopen(tmp_path("bad.csv"), "w");

	fprintf(f, "id,start_s\n1,2\n");
	fclose(f);
	snprintf(args, sizeof(args), "marl=%s", tmp_path("bad.csv"));
	ASSERT_NEQ(run_capture(args, out, sizeof(out)), 0, "no CSV header of the replay");
	ASSERT_TRUE(strstr(out, "expected marllb-replay's CSV header"), out);
	ASSERT_NEQ(run_capture("marl", out, sizeof(out)), 0, "no '='");
	snprintf(args, sizeof(args), "marl=%s/none.csv", tmpdir);
	ASSERT_NEQ(run_capture(args, out, sizeof(out)), 0, "missing file");
	write_csv(tmp_path("ok.csv"), 10, 0, 1, 0);
	snprintf(args, sizeof(args), "a=%s a=%s", tmp_path("ok.csv"), tmp_path("ok.csv"));
	ASSERT_NEQ(run_capture(args, out, sizeof(out)), 0, "a policy twice");
	ASSERT_NEQ(run_capture("--level 2 a=x", out, sizeof(out)), 0, "level out of range");
}

static const struct test_case tests[] = {
	TEST(mean_interval_coverage),
	TEST(interval_widens_with_drift),
	TEST(ratio_pairs_rounds),
	TEST(ratio_finds_difference),
	TEST(bad_input),
	TEST(cli_reads_replay_csv),
	TEST(cli_rejects_bad_input),
	{},
};

int main(int argc, char **argv)
{
	return test_dir_main(argc, argv, tests, tmpdir);
}
