// SPDX-License-Identifier: GPL-2.0
/*
 * marllbd's flow hygiene (user/daemon/flows.c) against a loaded data plane: passes run in
 * slices of the event loop; counts written from outside are repaired exactly when the data
 * plane is quiet and brought within the traffic of one pass of the truth while it is busy; no
 * correction is ever made that the traffic alone could explain; idle counted flows are
 * reclaimed (and kept uncounted), stale half-open entries deleted.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "dp_test.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

static double slice_max_ms, slice_max_cpu_ms;

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static struct daemon *daemon_new(struct fx *f, uint32_t n)
{
	struct daemon *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->dp = f->dp;
	d->opts.idle_established = 300;
	d->opts.idle_half_open = 10;
	d->opts.reconcile_interval = 0; /* passes back to back */
	d->vips[f->vip] = calloc(1, sizeof(struct vip_state));
	if (!d->vips[f->vip]) {
		free(d);
		return NULL;
	}
	d->vips[f->vip]->id = f->vip;
	d->vips[f->vip]->n_slots = n;
	for (uint32_t k = 0; k < n; k++)
		inet_addr_parse("10.0.1.1", &d->vips[f->vip]->be[k].conf.addr);
	return d;
}

static void daemon_free(struct daemon *d)
{
	for (int i = 0; i < MLB_MAX_VIPS; i++)
		free(d->vips[i]);
	free(d);
}

/* Runs slices until a pass completes; returns the number of slices it took. */
static int one_pass(struct daemon *d)
{
	int slices = 0;

	d->reconcile_seconds = -1;
	while (d->reconcile_seconds < 0 && slices < 100000) {
		double t = cpu_ms();

		d->last_reconcile = 0;
		flows_reconcile(d);
		slices++;
		t = cpu_ms() - t;
		slice_max_cpu_ms = t > slice_max_cpu_ms ? t : slice_max_cpu_ms;
	}
	if (d->reconcile_seconds * 1e3 > slice_max_ms)
		slice_max_ms = d->reconcile_seconds * 1e3;
	return slices;
}

static bool q_matches_table(struct fx *f, uint32_t n, const char *what)
{
	uint32_t count[MLB_MAX_BACKENDS] = {}, q[MLB_MAX_BACKENDS];
	struct mlb_flow_key keys[256];
	struct mlb_flow flows[256];
	struct mlb_flow_scan s;
	bool ok = true;
	long got;

	mlb_flow_scan_init(&s, MLB_TABLE_FLOWS);
	while ((got = mlb_dp_flow_scan(f->dp, &s, keys, flows, 256)) > 0)
		for (long i = 0; i < got; i++)
			count[flows[i].backend % MLB_MAX_BACKENDS]++;
	mlb_dp_read_queues(f->dp, f->vip, q, n);
	for (uint32_t k = 0; k < n; k++)
		ok &= ASSERT_EQ(q[k], count[k], what);
	return ok;
}

static struct pkt_spec flow_spec(struct fx *f, int i)
{
	struct pkt_spec s = f->vip_spec;

	s.sport = 1024 + i % 50000;
	s.src[2] = i / 50000;
	return s;
}

/* Counts written from outside (a leak of 5, a wrap below zero) are fixed exactly. */
static void test_drift_fixed_when_quiet(void)
{
	uint32_t q[3];
	struct daemon *d;
	struct fx f;

	if (!dp_test_setup(&f, 4, MLB_POLICY_LSQ, 3, NULL))
		return;
	d = daemon_new(&f, 3);
	for (int i = 0; i < 90; i++)
		fx_open(&f, flow_spec(&f, i));
	one_pass(d);
	ASSERT_EQ(d->q_corrections, 0, "nothing to correct");
	mlb_dp_read_queues(f.dp, f.vip, q, 3);
	q[0] += 5;
	q[1] = UINT32_MAX;
	fx_set_q(&f, f.vip, q, 3);
	one_pass(d);
	q_matches_table(&f, 3, "q == table after one quiet pass");
	ASSERT_EQ(d->q_corrections, 2, "two counts corrected");
	daemon_free(d);
	fx_teardown(&f);
}

/* Traffic opening and closing flows on every backend while passes run. */
struct churn {
	struct fx *f;
	volatile bool stop;
	long packets;
};

static void *churn_run(void *arg)
{
	struct churn *c = arg;
	unsigned int seed = 7;

	while (!c->stop) {
		struct pkt_spec s = flow_spec(c->f, 10000 + rand_r(&seed) % 2000);

		if (rand_r(&seed) % 2) {
			fx_open(c->f, s);
		} else {
			s.flags = PKT_FIN | PKT_ACK;
			fx_run(c->f, &s, NULL, NULL);
		}
		c->packets++;
	}
	return NULL;
}

/*
 * Under continuous traffic: no correction without drift (a pass sees flows come and go, and
 * must not mistake that for drift); a drift of 1000 is brought within the traffic of one pass
 * while the traffic runs, and fixed exactly by the first pass after it stops.
 */
static void test_drift_under_traffic(void)
{
	struct churn c = {};
	uint32_t q[3], before;
	struct daemon *d;
	pthread_t t;
	struct fx f;

	if (!dp_test_setup(&f, 4, MLB_POLICY_LSQ, 3, NULL))
		return;
	d = daemon_new(&f, 3);
	for (int i = 0; i < 3000; i++)
		fx_open(&f, flow_spec(&f, i)); /* a table worth several batches */
	c.f = &f;
	pthread_create(&t, NULL, churn_run, &c);
	for (int p = 0; p < 20; p++)
		one_pass(d);
	ASSERT_EQ(d->q_corrections, 0, "no correction while nothing drifted");
	mlb_dp_read_queues(f.dp, f.vip, q, 3);
	before = q[2];
	mlb_dp_adjust_queue(f.dp, f.vip, 2, 1000, NULL);
	for (int p = 0; p < 5; p++)
		one_pass(d);
	mlb_dp_read_queues(f.dp, f.vip, q, 3);
	ASSERT_GT(d->q_corrections, 0, "corrected during the traffic");
	ASSERT_LT(q[2], before + 1000, "the drift shrank while traffic ran");
	c.stop = true;
	pthread_join(t, NULL);
	ASSERT_GT(c.packets, 1000, "traffic ran");
	one_pass(d);
	q_matches_table(&f, 3, "exact after one quiet pass");
	daemon_free(d);
	fx_teardown(&f);
}

/* A large table is read over many slices, never in one go. */
static void test_pass_in_slices(void)
{
	struct mlb_dp_opts o = { .flow_table_size = 262144, .half_open_table_size = 65536 };
	static struct mlb_flow_key keys[200000];
	static struct mlb_flow vals[200000];
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	struct mlb_flow_key base;
	uint32_t q[3] = {}, n = 200000;
	struct timespec ts;
	struct daemon *d;
	int slices;
	struct fx f;

	if (!dp_test_setup(&f, 4, MLB_POLICY_LSQ, 3, &o))
		return;
	d = daemon_new(&f, 3);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	base = fx_key(&f.vip_spec);
	for (uint32_t i = 0; i < n; i++) {
		keys[i] = base;
		keys[i].src[1] = i;
		vals[i] = (struct mlb_flow){ .last_seen_ns = ts.tv_sec * 1000000000ull,
					     .vip_id = f.vip,
					     .backend = i % 3,
					     .state = MLB_FLOW_OPEN };
		q[i % 3]++;
	}
	if (!ASSERT_OK(bpf_map_update_batch(mlb_dp_map_fd(f.dp, MLB_MAP_FLOWS), keys, vals, &n,
					    &bo),
		       "fill the counted table"))
		goto out;
	fx_set_q(&f, f.vip, q, 3);
	slices = one_pass(d);
	printf("    a pass over 200000 counted flows: %d slices, the longest %.2f ms\n", slices,
	       d->reconcile_seconds * 1e3);
	ASSERT_GT(slices, 5, "the pass was spread over slices");
	ASSERT_EQ(d->q_corrections, 0, "nothing to correct");
	q_matches_table(&f, 3, "q == table");
out:
	daemon_free(d);
	fx_teardown(&f);
}

/* Idle counted flows leave the count (kept uncounted); stale half-open entries are deleted. */
static void test_idle_reclaim(void)
{
	struct mlb_flow flow = { .last_seen_ns = 1, .state = MLB_FLOW_SYN };
	struct mlb_flow_key key;
	enum mlb_flow_table t;
	struct pkt_spec s;
	struct daemon *d;
	struct fx f;

	if (!dp_test_setup(&f, 4, MLB_POLICY_LSQ, 3, NULL))
		return;
	d = daemon_new(&f, 3);
	d->opts.idle_established = 1e-9; /* everything counted is idle */
	for (int i = 0; i < 50; i++)
		fx_open(&f, flow_spec(&f, i));
	s = flow_spec(&f, 100);
	key = fx_key(&s);
	flow.vip_id = f.vip;
	bpf_map_update_elem(mlb_dp_map_fd(f.dp, MLB_MAP_HALF_OPEN), &key, &flow, BPF_NOEXIST);
	usleep(20000); /* the coarse clock moves on */
	one_pass(d);
	ASSERT_EQ(d->reclaimed_established, 50, "idle flows reclaimed");
	ASSERT_EQ(fx_q_sum(&f, f.vip, 3), 0, "their q given back");
	ASSERT_EQ(d->reclaimed_half_open, 1, "the stale half-open entry");
	ASSERT_NEQ(mlb_dp_lookup_flow(f.dp, &key, &flow, &t), 0, "deleted");
	s = flow_spec(&f, 0);
	key = fx_key(&s);
	if (ASSERT_OK(mlb_dp_lookup_flow(f.dp, &key, &flow, &t), "a reclaimed flow is kept"))
		ASSERT_EQ(t, MLB_TABLE_HALF_OPEN, "uncounted");
	ASSERT_EQ(d->q_corrections, 0, "reclaim is no correction");
	daemon_free(d);
	fx_teardown(&f);
}

static void test_slices_report(void)
{
	/* wall time includes this thread's preemptions on a loaded machine; CPU time does not */
	printf("    longest slice in these tests: %.2f ms wall, %.2f ms CPU (budget: 2 ms)\n",
	       slice_max_ms, slice_max_cpu_ms);
}

static const struct test_case tests[] = {
	TEST(drift_fixed_when_quiet), TEST(drift_under_traffic), TEST(pass_in_slices),
	TEST(idle_reclaim),	      TEST(slices_report),	 {},
};

int main(int argc, char **argv)
{
	log_level = LOG_WARN; /* corrections are logged at info */
	return test_main(argc, argv, tests);
}
