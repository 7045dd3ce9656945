// SPDX-License-Identifier: GPL-2.0
/* The simulator against queueing theory, conservation, and the policies' ordering. */
#include <unistd.h>

#include "../test.h"
#include "sim/sim.h"

static struct sim *run(const struct sim_config *cfg)
{
	char err[256] = "";
	struct sim *s = sim_create(cfg, err, sizeof(err));

	if (!ASSERT_OK_PTR(s, err))
		return NULL;
	if (!ASSERT_OK(sim_run(s), "sim_run")) {
		sim_free(s);
		return NULL;
	}
	return s;
}

/* One LB, one server with one worker of speed 1, Poisson arrivals, no cap. */
static void single_server(struct sim_config *cfg, double rate)
{
	sim_config_default(cfg);
	cfg->n_lbs = 1;
	cfg->n_servers = 1;
	cfg->workers[0] = 1;
	cfg->speed[0] = 1;
	sim_config_capacity_weights(cfg);
	cfg->rate = rate;
	cfg->resident_cap = 1 << 30;
}

/* One server, one worker of speed 1, Poisson arrivals at 0.5/s, exponential work of mean 1,
 * no cap: M/M/1, mean sojourn 1 / (mu - lambda) = 2 s, under PS and under FCFS. */
static void mm1(enum cpu_sharing sharing)
{
	const int reps = 10;
	double mean[10], sum = 0, ss = 0, avg, se;
	struct sim_config cfg;

	single_server(&cfg, 0.5);
	cfg.sharing = sharing;
	cfg.duration = 40000;
	cfg.warmup = 1000;
	cfg.policy = POLICY_LSQ;
	for (int r = 0; r < reps; r++) {
		struct sim *s;

		cfg.seed = 100 + r;
		s = run(&cfg);
		if (!s)
			return;
		ASSERT_EQ(sim_stats(s)->rejected, 0, "nothing rejected");
		ASSERT_GT(sim_stats(s)->measured, 15000, "enough tasks");
		mean[r] = stats_mean_tct(sim_stats(s));
		sim_free(s);
		sum += mean[r];
	}
	avg = sum / reps;
	for (int r = 0; r < reps; r++)
		ss += (mean[r] - avg) * (mean[r] - avg);
	se = sqrt(ss / (reps - 1) / reps);
	/* t(0.9995, 9) = 4.78: a 99.9 % confidence interval over independent replications */
	ASSERT_NEAR(avg, 2.0, 4.78 * se, "mean sojourn in the CI of 1/(mu - lambda)");
	ASSERT_LT(se, 0.05, "the interval is narrow enough to mean something");
}

static void test_mm1_processor_sharing(void)
{
	mm1(CPU_PS);
}

static void test_mm1_fcfs(void)
{
	mm1(CPU_FCFS);
}

/* FCFS M/M/1 at rho 0.5: the task duration (arrival to first response) is the wait,
 * rho / (mu - lambda) = 1 s, plus the first-response work (0.01 s). */
static void test_task_duration_signal(void)
{
	struct sim_config cfg;
	struct sim *s;

	single_server(&cfg, 0.5);
	cfg.duration = 200000;
	cfg.warmup = 1000;
	cfg.seed = 7;
	s = run(&cfg);
	if (!s)
		return;
	ASSERT_NEAR(sim_stats(s)->duration_sum / sim_stats(s)->duration_count, 1.01, 0.06,
		    "mean task duration");
	sim_free(s);
}

/* L = lambda W on the default heterogeneous system, IO mix, SED. */
static void test_littles_law(void)
{
	struct sim_config cfg;
	const struct sim_stats *st;
	struct sim *s;
	double L, lw;

	sim_config_default(&cfg);
	cfg.cpu_mean = 0.5;
	cfg.io_mean = 0.5;
	cfg.duration = 5000;
	cfg.seed = 3;
	s = run(&cfg);
	if (!s)
		return;
	st = sim_stats(s);
	L = st->resident_integral / st->end_time;
	lw = (double)st->accepted / st->end_time * (st->sojourn_sum / st->completed);
	ASSERT_GT(L, 5, "a loaded system");
	ASSERT_NEAR(L / lw, 1.0, 0.01, "L / (lambda W)");
	sim_free(s);
}

/* Overloaded, small servers: every task is completed, rejected or still resident. */
static void test_conservation(void)
{
	const enum sim_policy policies[] = { POLICY_ECMP, POLICY_WCMP, POLICY_LSQ, POLICY_SED,
					     POLICY_ORACLE };
	struct sim_config cfg;

	sim_config_default(&cfg);
	cfg.load = 1.4;
	cfg.resident_cap = 10;
	cfg.cpu_mean = 0.75;
	cfg.io_mean = 0.25;
	cfg.duration = 500;
	cfg.warmup = 0;
	for (unsigned int p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
		const struct sim_stats *st;
		struct sim *s;

		cfg.policy = policies[p];
		s = run(&cfg);
		if (!s)
			return;
		st = sim_stats(s);
		ASSERT_EQ(st->completed + st->rejected + st->in_flight, st->generated,
			  policy_name(cfg.policy));
		ASSERT_EQ(st->accepted + st->rejected, st->generated, "accepted + rejected");
		ASSERT_GT(st->rejected, 0, "overload rejects");
		ASSERT_GT(st->in_flight, 0, "some in flight at the end");
		ASSERT_EQ(st->measured, st->completed + st->rejected,
			  "every finished task measured");
		sim_free(s);
	}
}

/* Heterogeneous (4 servers of 4 workers, 4 of 1), load 0.95: oracle < sed < ecmp, and a
 * seed gives the same numbers twice. */
static void test_policy_ordering(void)
{
	struct sim_config cfg;
	double tct[3], again;
	const enum sim_policy order[3] = { POLICY_ORACLE, POLICY_SED, POLICY_ECMP };

	sim_config_default(&cfg);
	for (int k = 0; k < 8; k++)
		cfg.workers[k] = k < 4 ? 4 : 1;
	sim_config_capacity_weights(&cfg);
	cfg.load = 0.95;
	cfg.duration = 3000;
	cfg.warmup = 300;
	cfg.seed = 11;
	for (int i = 0; i < 3; i++) {
		struct sim *s;

		cfg.policy = order[i];
		s = run(&cfg);
		if (!s)
			return;
		tct[i] = stats_mean_tct(sim_stats(s));
		sim_free(s);
	}
	ASSERT_LT(tct[0], tct[1], "oracle < sed");
	ASSERT_LT(tct[1], tct[2], "sed < ecmp");
	cfg.policy = POLICY_SED;
	struct sim *s = run(&cfg);

	if (!s)
		return;
	again = stats_mean_tct(sim_stats(s));
	ASSERT_TRUE(again == tct[1], "deterministic for a seed");
	sim_free(s);
}

/* A speed change mid-run: one worker goes from speed 1 to 2 at t = 100, arrivals 0.25/s;
 * after it the server is M/M/1 with mu = 2: mean sojourn 1 / (2 - 0.25). */
static void test_capacity_change(void)
{
	struct sim_config cfg;
	struct sim *s;

	single_server(&cfg, 0.25);
	cfg.duration = 200000;
	cfg.warmup = 200;
	cfg.changes[0] = (struct capacity_change){ .t = 100, .server = 0, .speed = 2 };
	cfg.n_changes = 1;
	s = run(&cfg);
	if (!s)
		return;
	ASSERT_NEAR(stats_mean_tct(sim_stats(s)), 1 / 1.75, 0.02, "sojourn at the new speed");
	sim_free(s);
}

/* LBs reduce their own samples every control step; VBF scores SED's correct weights as
 * fairer than LSQ's equal ones on the heterogeneous default system. */
static void test_probe_reward(void)
{
	const enum sim_policy policies[2] = { POLICY_SED, POLICY_LSQ };
	double mean[2];
	struct sim_config cfg;

	sim_config_default(&cfg);
	cfg.duration = 2000;
	cfg.probe_reward = true;
	cfg.reward = REWARD_VBF;
	for (int i = 0; i < 2; i++) {
		const struct sim_stats *st;
		struct sim *s;

		cfg.policy = policies[i];
		s = run(&cfg);
		if (!s)
			return;
		st = sim_stats(s);
		ASSERT_EQ(st->reward_count, 2 * 8000, "every LB, every step after t = 0");
		mean[i] = st->reward_sum / st->reward_count;
		ASSERT_LT(mean[i], 0, "vbf is minus a variance");
		sim_free(s);
	}
	ASSERT_GT(mean[0], mean[1], "sed fairer than lsq");
}

static void test_bad_config_rejected(void)
{
	struct sim_config cfg;
	char err[256] = "";

	sim_config_default(&cfg);
	cfg.weights[3] = 0;
	ASSERT_NULL(sim_create(&cfg, err, sizeof(err)), "zero weight");
	ASSERT_TRUE(strstr(err, "server 3") != NULL, err);
	sim_config_default(&cfg);
	cfg.warmup = cfg.duration;
	ASSERT_NULL(sim_create(&cfg, err, sizeof(err)), "warmup = duration");
	sim_config_default(&cfg);
	cfg.changes[0] = (struct capacity_change){ .t = 1, .server = 99, .speed = 1 };
	cfg.n_changes = 1;
	ASSERT_NULL(sim_create(&cfg, err, sizeof(err)), "change of a missing server");
}

/* A trace drives arrivals: times and work come from its rows (n / scale). */
static void test_trace(void)
{
	char path[] = "/tmp/marllb-sim-trace-XXXXXX", err[256] = "";
	struct sim_config cfg;
	struct sim *s;
	FILE *fp;
	int fd = mkstemp(path);

	if (!ASSERT_GE(fd, 0, "mkstemp"))
		return;
	fp = fdopen(fd, "w");
	fprintf(fp, "time\tquery\n");
	for (int i = 0; i < 100; i++)
		fprintf(fp, "%d.5\t/dummy.php/?n=%d\n", i, 1000);
	fclose(fp);
	sim_config_default(&cfg);
	cfg.trace = path;
	cfg.trace_scale = 1000; /* 1 s of work per request */
	cfg.duration = 50;
	cfg.warmup = 0;
	s = run(&cfg);
	if (s) {
		/* rows at 0.5 .. 49.5: 50 requests, each alone on a worker: TCT exactly 1 s */
		ASSERT_EQ(sim_stats(s)->generated, 50, "one task per row");
		ASSERT_NEAR(stats_mean_tct(sim_stats(s)), 1.0, 1e-9, "work = n / scale");
		sim_free(s);
	}
	fp = fopen(path, "w");
	fprintf(fp, "time\tquery\n0.1\t/dummy.php/?n=5\n0.05\t/dummy.php/?n=5\n");
	fclose(fp);
	ASSERT_NULL(sim_create(&cfg, err, sizeof(err)), "times out of order");
	ASSERT_TRUE(strstr(err, ":3:") != NULL, err);
	unlink(path);
}

static const struct test_case tests[] = { TEST(mm1_processor_sharing),
					  TEST(mm1_fcfs),
					  TEST(task_duration_signal),
					  TEST(littles_law),
					  TEST(conservation),
					  TEST(policy_ordering),
					  TEST(capacity_change),
					  TEST(probe_reward),
					  TEST(bad_config_rejected),
					  TEST(trace),
					  {} };

int main(int argc, char **argv)
{
	return test_main(argc, argv, tests);
}
