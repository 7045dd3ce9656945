// SPDX-License-Identifier: GPL-2.0
/* The simulator against queueing theory, conservation, and the policies' ordering. */
#include <unistd.h>

#include "../test.h"
#include "sim/best_static.h"
#include "sim/cli.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "sim/world.h"

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

static void count_step(const struct sim *s, void *ctx)
{
	(*(int *)ctx)++;
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

/* Writes a trace of rows (time, iterations) to a temporary file; returns 0 or -1. */
static int write_trace(char *path, const double (*rows)[2], int n)
{
	int fd = mkstemp(path);
	FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!fp)
		return -1;
	fprintf(fp, "time\tquery\n");
	for (int i = 0; i < n; i++)
		fprintf(fp, "%g\t/dummy.php/?n=%.0f\n", rows[i][0], rows[i][1]);
	fclose(fp);
	return 0;
}

/*
 * A task back from IO waits behind older tasks only (arrival order), not behind those that
 * arrived while it was in IO. One worker of speed 1, constant IO of 0.9 s, CPU split in
 * halves. A (t 0, CPU 2): CPU1 0-1, IO 1-1.9. B (t 0.5, CPU 4): CPU1 1-3, IO 3-3.9.
 * C (t 1.5, CPU 2) waits. At 3 A (back at 1.9, older than C) runs CPU2 3-4; at 4 B (back at
 * 3.9, older than C) runs CPU2 4-6; C: CPU1 6-7, IO 7-7.9, CPU2 7.9-8.9. TCTs 4, 5.5, 7.4.
 * (Joining the tail instead gives C first: 5, 6.5, 6.5.)
 */
static void test_fcfs_arrival_order(void)
{
	const double rows[][2] = { { 0, 2000 }, { 0.5, 4000 }, { 1.5, 2000 }, { 1000, 1 } };
	char path[] = "/tmp/marllb-sim-order-XXXXXX";
	struct sim_config cfg;
	struct sim *s;

	if (!ASSERT_OK(write_trace(path, rows, 4), "trace"))
		return;
	single_server(&cfg, 0);
	cfg.trace = path;
	cfg.trace_scale = 1000;
	cfg.io_mean = 0.9;
	cfg.dist = DIST_CONST;
	cfg.duration = 100;
	cfg.warmup = 0;
	s = run(&cfg);
	if (s) {
		ASSERT_EQ(sim_stats(s)->measured, 3, "three tasks");
		ASSERT_NEAR(stats_mean_tct(sim_stats(s)), (4 + 5.5 + 7.4) / 3, 1e-9,
			    "arrival order");
		sim_free(s);
	}
	unlink(path);
}

/* IO has a per-server speed: the IO stage alone is M/M/1-PS with mu = io_speed / io_mean. */
static void test_io_per_server(void)
{
	struct sim_config cfg;
	struct sim *s;

	single_server(&cfg, 1.0);
	cfg.cpu_mean = 1e-4;
	cfg.io_mean = 1.0;
	cfg.io_speed[0] = 2.0; /* mu 2, lambda 1: sojourn 1 / (2 - 1) */
	cfg.duration = 200000;
	cfg.warmup = 1000;
	s = run(&cfg);
	if (!s)
		return;
	ASSERT_NEAR(stats_mean_tct(sim_stats(s)), 1.0, 0.05, "IO sojourn at io_speed 2");
	sim_free(s);

	/* default: IO speed proportional to CPU capacity (io_per_capacity x workers x speed) */
	sim_config_default(&cfg);
	cfg.io_per_capacity = 1.5;
	cfg.speed[0] = 2;
	ASSERT_NEAR(sim_config_io_speed(&cfg, 0), 1.5 * 4 * 2, 1e-12, "server 0: 4 x 2");
	ASSERT_NEAR(sim_config_io_speed(&cfg, 7), 1.5 * 2 * 1, 1e-12, "server 7: 2 x 1");
	cfg.io_speed[7] = 5;
	ASSERT_NEAR(sim_config_io_speed(&cfg, 7), 5, 1e-12, "explicit IO speed");
}

/*
 * The load is offered to the bottleneck: every server serves min(CPU / cpu_mean,
 * IO / io_mean) tasks/s. On an IO-heavy mix with the same IO speed on every server (where
 * the CPU-only load used to overload the IO of every server), every mix runs at load 0.9
 * without rejections, and SED's capacity weights follow the bottleneck.
 */
static void test_every_mix_feasible(void)
{
	const double mixes[][2] = { { 1, 0 }, { 0.75, 0.25 }, { 0.5, 0.5 }, { 0.25, 0.75 } };
	struct sim_config cfg;

	sim_config_default(&cfg);
	cfg.cpu_mean = 0.25;
	cfg.io_mean = 0.75;
	/* 4 x 1 and 2 x 1 CPU, IO as fast: min(c / 0.25, c / 0.75) = c / 0.75 */
	ASSERT_NEAR(sim_config_throughput(&cfg, cfg.cpu_mean), 24 / 0.75, 1e-9, "IO-bound");
	ASSERT_NEAR(sim_config_rate(&cfg), 0.9 * 24 / 0.75, 1e-9, "rate at load 0.9");
	for (unsigned int i = 0; i < sizeof(mixes) / sizeof(mixes[0]); i++) {
		const struct sim_stats *st;
		struct sim *s;

		sim_config_default(&cfg);
		for (int k = 0; k < cfg.n_servers; k++)
			cfg.io_speed[k] = 4; /* the old uniform IO: the 2-worker half is IO-rich */
		cfg.cpu_mean = mixes[i][0];
		cfg.io_mean = mixes[i][1];
		sim_config_capacity_weights(&cfg);
		if (i == 3)
			ASSERT_NEAR(cfg.weights[0], cfg.weights[7], 1e-12,
				    "IO-bound everywhere: equal weights");
		cfg.duration = 4000;
		cfg.warmup = 400;
		cfg.seed = 5;
		s = run(&cfg);
		if (!s)
			return;
		st = sim_stats(s);
		ASSERT_EQ(st->rejected, 0, "no rejections at load 0.9");
		ASSERT_LT(stats_mean_tct(st), 15 * (mixes[i][0] + mixes[i][1]), "stable queues");
		sim_free(s);
	}
}

/* Parses argv with the model options, as every subcommand does. */
static int parse_model(struct cli_model *m, int argc, char **argv)
{
	struct option *opts = cli_options(NULL);
	int opt;

	cli_model_init(m);
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (cli_model_option(m, opt, optarg))
			return -1;
	return cli_model_finish(m);
}

/* --cpu-mean and --io-mean win over --mix in either order. */
static void test_explicit_means_win(void)
{
	char *a[] = { "x", "--cpu-mean", "0.18", "--mix", "75", NULL };
	char *b[] = { "x", "--mix", "75", "--cpu-mean", "0.18", NULL };
	char *c[] = { "x", "--io-mean", "0", "--mix", "50", NULL };
	struct cli_model m;

	if (!ASSERT_OK(parse_model(&m, 5, a), "parse"))
		return;
	ASSERT_NEAR(m.cfg.cpu_mean, 0.18, 0, "--cpu-mean before --mix");
	ASSERT_NEAR(m.cfg.io_mean, 0.25, 0, "the mix's IO mean");
	if (!ASSERT_OK(parse_model(&m, 5, b), "parse"))
		return;
	ASSERT_NEAR(m.cfg.cpu_mean, 0.18, 0, "--cpu-mean after --mix");
	if (!ASSERT_OK(parse_model(&m, 5, c), "parse"))
		return;
	ASSERT_NEAR(m.cfg.cpu_mean, 0.5, 0, "the mix's CPU mean");
	ASSERT_NEAR(m.cfg.io_mean, 0, 0, "--io-mean 0 over the mix's IO");
	/* a compare over mixes applies them the same way */
	ASSERT_OK(cli_model_mix(&m, "75", &m.cfg), "mix 75");
	ASSERT_NEAR(m.cfg.cpu_mean, 0.75, 0, "mix 75 CPU");
	ASSERT_NEAR(m.cfg.io_mean, 0, 0, "--io-mean still wins");
}

static bool same_world(const struct sim_config *a, const struct sim_config *b)
{
	if (a->n_servers != b->n_servers || a->n_lbs != b->n_lbs || a->cpu_mean != b->cpu_mean ||
	    a->io_mean != b->io_mean || a->load != b->load || a->dist != b->dist ||
	    a->dist_shape != b->dist_shape || a->sharing != b->sharing ||
	    a->n_changes != b->n_changes || a->seed != b->seed ||
	    a->resident_cap != b->resident_cap)
		return false;
	for (int k = 0; k < a->n_servers; k++)
		if (a->workers[k] != b->workers[k] || a->speed[k] != b->speed[k] ||
		    a->io_speed[k] != b->io_speed[k] || a->weights[k] != b->weights[k])
			return false;
	for (int i = 0; i < a->n_changes; i++)
		if (a->changes[i].t != b->changes[i].t ||
		    a->changes[i].server != b->changes[i].server ||
		    a->changes[i].speed != b->changes[i].speed)
			return false;
	return true;
}

/* A seed draws one world, always the same; the next seed another. */
static void test_world_deterministic(void)
{
	struct sim_config a, b;
	struct world_info ia, ib;
	struct world_ranges r;
	int differ = 0;

	world_ranges_default(&r);
	for (uint64_t seed = SEED_TRAIN_BASE; seed < SEED_TRAIN_BASE + 50; seed++) {
		ASSERT_OK(world_draw(seed, &r, &a, &ia), "draw");
		ASSERT_OK(world_draw(seed, &r, &b, &ib), "draw again");
		ASSERT_TRUE(same_world(&a, &b), "same seed, same world");
		ASSERT_TRUE(ia.change == ib.change && ia.weights == ib.weights, "same info");
		ASSERT_EQ(a.seed, seed, "the world's own task stream");
		world_draw(seed + 1, &r, &b, &ib);
		differ += !same_world(&a, &b);
	}
	ASSERT_EQ(differ, 50, "the next seed draws another world");
}

/*
 * Over many seeds: every value within the ranges, every world valid and feasible (its
 * highest load over the run below 1), and every kind drawn.
 */
static void test_world_ranges_and_kinds(void)
{
	int cap[WORLD_CAP__COUNT] = {}, how[WORLD_BY__COUNT] = {}, wk[WORLD_W__COUNT] = {},
	    ch[WORLD_CHANGE__COUNT] = {}, io[WORLD_IO__COUNT] = {}, ps = 0, with_io = 0, tails = 0,
	    n_small = 0, n_large = 0, bad = 0;
	struct world_ranges r;
	char err[256];

	world_ranges_default(&r);
	for (uint64_t seed = SEED_TRAIN_BASE; seed < SEED_TRAIN_BASE + 2000; seed++) {
		struct sim_config c;
		struct world_info in;
		double lo = INFINITY, hi = 0;

		if (!ASSERT_OK(world_draw(seed, &r, &c, &in), "draw"))
			return;
		err[0] = '\0';
		if (sim_config_check(&c, err, sizeof(err)) || world_peak_load(&c) >= 1 ||
		    c.n_servers < 2 || c.n_servers > 64 || c.n_lbs < 1 || c.n_lbs > 8 ||
		    in.load_peak > r.load_max + 1e-12 ||
		    (in.change == WORLD_CHANGE_NONE &&
		     (c.load < r.load_min || c.load > r.load_max)) ||
		    in.work < r.work_min || in.work > r.work_max || in.io_share > r.io_share_max ||
		    c.duration != r.duration || c.warmup != r.warmup) {
			if (!bad++)
				printf("    world %llu out of range: %s\n",
				       (unsigned long long)seed, err);
			continue;
		}
		for (int k = 0; k < c.n_servers; k++) {
			lo = fmin(lo, c.workers[k] * c.speed[k]);
			hi = fmax(hi, c.workers[k] * c.speed[k]);
		}
		ASSERT_LE(hi / lo, r.ratio_max + 1e-9, "capacity ratio");
		ASSERT_NEAR(hi / lo, in.ratio, 1e-9, "info says the ratio");
		for (int i = 0; i < c.n_changes; i++)
			ASSERT_TRUE(c.changes[i].t > c.warmup && c.changes[i].t < c.duration,
				    "changes fall in the measured part");
		ASSERT_EQ(c.n_changes, in.n_changed * (in.change == WORLD_CHANGE_NOISY ? 2 : 1),
			  "changes as described");
		cap[in.capacity]++;
		how[in.realise]++;
		wk[in.weights]++;
		ch[in.change]++;
		io[in.io]++;
		ps += c.sharing == CPU_PS;
		with_io += c.io_mean > 0;
		tails += c.dist != DIST_EXP;
		n_small += c.n_servers <= 4;
		n_large += c.n_servers >= 32;
	}
	ASSERT_EQ(bad, 0, "worlds out of range");
	for (int i = 0; i < WORLD_CAP__COUNT; i++)
		ASSERT_GT(cap[i], 400, world_capacity_names[i]);
	for (int i = 0; i < WORLD_BY__COUNT; i++)
		ASSERT_GT(how[i], 400, world_realise_names[i]);
	for (int i = 0; i < WORLD_W__COUNT; i++)
		ASSERT_GT(wk[i], 300, world_weights_names[i]);
	for (int i = 0; i < WORLD_CHANGE__COUNT; i++)
		ASSERT_GT(ch[i], 400, world_change_names[i]);
	for (int i = 0; i < WORLD_IO__COUNT; i++)
		ASSERT_GT(io[i], 300, world_io_names[i]);
	ASSERT_GT(ps, 300, "processor sharing");
	ASSERT_GT(with_io, 700, "tasks with IO");
	ASSERT_GT(tails, 300, "heavy tails");
	ASSERT_GT(n_small, 300, "small pools");
	ASSERT_GT(n_large, 200, "large pools");
}

/* Narrowed ranges hold: a fixed N and M, one kind of weights, no change. */
static void test_world_narrowed(void)
{
	struct world_ranges r;
	char err[256] = "";

	world_ranges_default(&r);
	r.servers_min = r.servers_max = 7;
	r.lbs_min = r.lbs_max = 2;
	r.weights_mask = 1u << WORLD_W_REVERSED;
	r.change_mask = 1u << WORLD_CHANGE_NONE;
	r.capacity_mask = 1u << WORLD_CAP_TWO_CLASSES;
	r.load_min = r.load_max = 0.8;
	r.duration = 100;
	r.warmup = 10;
	for (uint64_t seed = SEED_VALID_BASE; seed < SEED_VALID_BASE + 200; seed++) {
		struct sim_config c;
		struct world_info in;
		double fast = 0, slow = INFINITY;

		world_draw(seed, &r, &c, &in);
		ASSERT_EQ(c.n_servers, 7, "N fixed");
		ASSERT_EQ(c.n_lbs, 2, "M fixed");
		ASSERT_EQ(in.weights, WORLD_W_REVERSED, "reversed weights");
		ASSERT_EQ(c.n_changes, 0, "no change");
		ASSERT_NEAR(c.load, 0.8, 1e-12, "load fixed");
		/* reversed: the fastest server carries the least weight */
		for (int k = 0; k < 7; k++) {
			fast = fmax(fast, c.workers[k] * c.speed[k]);
			slow = fmin(slow, c.workers[k] * c.speed[k]);
		}
		for (int k = 0; k < 7 && fast > slow; k++)
			if (c.workers[k] * c.speed[k] == fast)
				ASSERT_LT(c.weights[k], fast, "fast server weighted low");
	}
	r.servers_min = 9;
	ASSERT_EQ(world_ranges_check(&r, err, sizeof(err)), -EINVAL, "min > max refused");
	ASSERT_TRUE(strstr(err, "servers 9..7") != NULL, err);
	r.servers_min = 7;
	r.weights_mask = 0;
	ASSERT_EQ(world_draw(1, &r, &(struct sim_config){}, &(struct world_info){}), -EINVAL,
		  "no kind to draw");
}

/* Drawn worlds run; a slowdown's capacity shows in the peak load. */
static void test_world_runs(void)
{
	struct world_ranges r;
	struct sim_config c;
	struct world_info in;

	world_ranges_default(&r);
	r.duration = 60;
	r.warmup = 5;
	r.servers_max = 16;
	for (uint64_t seed = SEED_TRAIN_BASE; seed < SEED_TRAIN_BASE + 8; seed++) {
		struct sim *s;

		world_draw(seed, &r, &c, &in);
		c.policy = POLICY_SED;
		s = run(&c);
		if (!s)
			return;
		ASSERT_GT(sim_stats(s)->measured, 100, "tasks measured");
		sim_free(s);
	}
	/* two servers of capacity 1, one slows to half: the peak load is 2 / 1.5 times */
	sim_config_default(&c);
	c.n_servers = 2;
	c.workers[0] = c.workers[1] = 1;
	c.load = 0.6;
	c.changes[0] = (struct capacity_change){ .t = 100, .server = 1, .speed = 0.5 };
	c.n_changes = 1;
	ASSERT_NEAR(world_peak_load(&c), 0.6 * 2 / 1.5, 1e-12, "peak load after a slowdown");
	ASSERT_EQ(seed_space_of(SEED_SELECT_BASE - 1), SEED_EVAL, "evaluation space");
	ASSERT_EQ(seed_space_of(SEED_SELECT_BASE), SEED_SELECT, "selection space");
	ASSERT_EQ(seed_space_of(SEED_VALID_BASE), SEED_VALID, "validation space");
	ASSERT_EQ(seed_space_of(SEED_TRAIN_BASE), SEED_TRAIN, "training space");
}

/* Scenarios on a pool of two classes: weights, changes of the fastest, window, peak load. */
static void test_scenarios(void)
{
	struct scenario_params p;
	struct sim_config base, c;
	int changed[SIM_MAX_CHANGES];

	scenario_params_default(&p);
	sim_config_default(&base);
	base.n_servers = 7;
	scenario_two_classes(&base, &p);
	for (int k = 0; k < 7; k++) {
		ASSERT_EQ(base.workers[k], 4, "4 workers");
		ASSERT_NEAR(base.speed[k], k >= 4 ? 2 : 1, 0, "slow first, 3 of 7 fast");
	}
	c = base;
	scenario_apply(SCENARIO_CORRECT, &p, &c);
	ASSERT_NEAR(c.weights[0], 4, 0, "capacity weight, slow");
	ASSERT_NEAR(c.weights[6], 8, 0, "capacity weight, fast");
	ASSERT_EQ(c.n_changes, 0, "no change");
	c = base;
	scenario_apply(SCENARIO_EQUAL, &p, &c);
	ASSERT_NEAR(c.weights[0], c.weights[6], 0, "all equal");
	c = base;
	scenario_apply(SCENARIO_REVERSED, &p, &c);
	ASSERT_NEAR(c.weights[0], 8, 0, "slow weighted as fast");
	ASSERT_NEAR(c.weights[6], 4, 0, "fast weighted as slow");

	/* a quarter of 7, rounded up: 2 servers, the fastest */
	ASSERT_EQ(scenario_changed_servers(&base, &p, changed), 2, "two servers change");
	ASSERT_TRUE(changed[0] == 4 && changed[1] == 5, "the fastest, lowest index first");
	c = base;
	scenario_apply(SCENARIO_SLOWDOWN, &p, &c);
	ASSERT_EQ(c.n_changes, 2, "two slowdowns");
	ASSERT_NEAR(c.changes[0].speed, 1, 0, "half speed");
	ASSERT_NEAR(c.window_start, 60 + 540 / 2.0, 1e-9, "half-way through the measured time");
	ASSERT_NEAR(c.window_end, c.duration, 0, "to the end");
	ASSERT_NEAR(c.weights[4], 8, 0, "configured weights right before the change");
	/* capacity 20, then 16: the load during the change is the configured one */
	ASSERT_NEAR(world_peak_load(&c), 0.9, 1e-9, "peak load = --load");
	ASSERT_NEAR(c.load, 0.9 * 16 / 20, 1e-9, "lower before the change");
	c = base;
	scenario_apply(SCENARIO_NOISY, &p, &c);
	ASSERT_EQ(c.n_changes, 4, "on and off for two servers");
	ASSERT_NEAR(c.changes[0].speed, 2 * 0.6, 1e-12, "40 % taken");
	ASSERT_NEAR(c.changes[1].speed, 2, 0, "given back");
	ASSERT_NEAR(c.window_start, 240, 1e-9, "from 1/3");
	ASSERT_NEAR(c.window_end, 420, 1e-9, "to 2/3 of the measured time");
}

/* The window measures the tasks arriving in it: all of them when it spans the run. */
static void test_window_and_step_hook(void)
{
	struct sim_config cfg;
	const struct sim_stats *st;
	struct sim *s;
	int steps = 0;

	sim_config_default(&cfg);
	cfg.duration = 300;
	cfg.warmup = 0;
	cfg.window_start = 0;
	cfg.window_end = 1e9;
	cfg.step_hook = count_step;
	cfg.step_hook_ctx = &steps;
	s = run(&cfg);
	if (!s)
		return;
	st = sim_stats(s);
	ASSERT_EQ(st->window.measured, st->measured, "the whole run");
	ASSERT_NEAR(stats_window_mean_tct(st), stats_mean_tct(st), 1e-12, "same mean");
	ASSERT_EQ(steps, 300 / 0.25 + 1, "a hook call every control step");
	sim_free(s);
	cfg.window_start = 100;
	cfg.window_end = 200;
	cfg.step_hook = NULL;
	s = run(&cfg);
	if (!s)
		return;
	st = sim_stats(s);
	ASSERT_NEAR((double)st->window.measured / st->measured, 1 / 3.0, 0.05, "a third");
	sim_free(s);
}

static void test_paired_ratio_ci(void)
{
	const double a[] = { 2, 4, 6 }, b[] = { 1, 2, 3 }, x[] = { 1, 2, 3 };
	struct mean_ci ci;

	paired_ratio_ci(a, b, 3, &ci);
	ASSERT_NEAR(ci.mean, 2, 1e-12, "ratio 2 on every seed");
	ASSERT_NEAR(ci.hi - ci.lo, 0, 1e-12, "no spread");
	mean_ci(x, 3, &ci);
	/* sd 1, se 1/sqrt(3), t(0.975, 2) = 4.303 */
	ASSERT_NEAR(ci.hi - ci.mean, 4.303 / sqrt(3), 1e-9, "t interval");
	ASSERT_NEAR(t_quantile_975(9), 2.262, 0, "t(0.975, 9)");
	ASSERT_NEAR(t_quantile_975(60), 2.000, 0.002, "t(0.975, 60)");
}

/*
 * The search on the paper's system (8 servers of 4 and 2 workers, 2 LBs, load 0.9): lsq and
 * the capacity ratio 2 itself are among its candidates (the search tries every small ratio
 * p/q on and on either side), so on the selection streams it is never worse than lsq or
 * sed; and the ratio it finds is near the capacity ratio, not beyond it (issue 9: 1.85-1.99
 * on a similar system; 2.01 loses a lot).
 */
static void test_best_static_search(void)
{
	struct best_static_opts o;
	struct best_static b;
	struct sim_config cfg, lsq, sed;
	double lsq_mean = 0, sed_mean = 0, ratio;
	char err[256] = "";

	sim_config_default(&cfg);
	cfg.duration = 400;
	best_static_opts_default(&o);
	if (!ASSERT_OK(best_static_search(&cfg, &o, &b, err, sizeof(err)), err))
		return;
	lsq = sed = cfg;
	lsq.policy = POLICY_LSQ;
	for (int i = 0; i < o.seeds; i++) {
		struct sim *s;

		lsq.seed = lsq.policy_seed = sed.seed = sed.policy_seed = o.seed + i;
		s = run(&lsq);
		lsq_mean += s ? stats_mean_tct(sim_stats(s)) / o.seeds : 0;
		sim_free(s);
		s = run(&sed);
		sed_mean += s ? stats_mean_tct(sim_stats(s)) / o.seeds : 0;
		sim_free(s);
	}
	ratio = b.weights[0] / b.weights[7];
	printf("    best static: ratio %.3f (beta %.3f), %.4f s; lsq %.4f, sed %.4f; %d vectors\n",
	       ratio, b.beta, b.score, lsq_mean, sed_mean, b.evaluations);
	ASSERT_EQ(b.classes, 2, "two classes");
	ASSERT_LE(b.score, lsq_mean, "never worse than lsq");
	ASSERT_LE(b.score, sed_mean, "never worse than sed's exact 2:1");
	ASSERT_TRUE(ratio > 1.5 && ratio <= 2, "near the capacity ratio, not beyond");
	ASSERT_TRUE(b.weights[0] == b.weights[3], "one weight per class");
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
					  TEST(fcfs_arrival_order),
					  TEST(io_per_server),
					  TEST(every_mix_feasible),
					  TEST(explicit_means_win),
					  TEST(world_deterministic),
					  TEST(world_ranges_and_kinds),
					  TEST(world_narrowed),
					  TEST(world_runs),
					  TEST(scenarios),
					  TEST(window_and_step_hook),
					  TEST(paired_ratio_ci),
					  TEST(best_static_search),
					  {} };

int main(int argc, char **argv)
{
	return test_main(argc, argv, tests);
}
