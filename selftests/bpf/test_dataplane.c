// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP data plane, driven with crafted frames through bpf_prog_test_run_opts: verdicts,
 * output bytes, flow table, q, samples, statistics and every policy's choice.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "dp_test.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static bool setup(struct fx *f, int family, uint32_t policy, uint32_t n)
{
	return dp_test_setup(f, family, policy, n, NULL);
}

/* Only the 12 MAC bytes may differ; dst must be backend k's MAC, src the frame's old dst. */
static bool assert_l2_rewrite(const uint8_t *in, const uint8_t *out, uint32_t len, int k)
{
	uint8_t mac[6];

	fx_backend_mac(k, mac);
	return ASSERT_MEMEQ(out, mac, 6, "dst MAC = backend's") &&
	       ASSERT_MEMEQ(out + 6, in, 6, "src MAC = old dst MAC") &&
	       ASSERT_MEMEQ(out + 12, in + 12, len - 12, "no other byte changed");
}

static void test_non_vip_pass_identical(void)
{
	struct pkt_spec cases[5];
	uint8_t in[PKT_MAX], out[PKT_MAX];
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, 4))
		return;
	pkt_spec_v4(&cases[0], "10.0.0.1", "10.0.0.200", 40000, 80, PKT_SYN); /* other addr */
	pkt_spec_v4(&cases[1], "10.0.0.1", "10.0.0.100", 40000, 81, PKT_SYN); /* other port */
	pkt_spec_v6(&cases[2], "fd00::1", "fd00::100", 40000, 80, PKT_SYN); /* v6, no VIP */
	pkt_spec_v4(&cases[3], "10.0.0.1", "10.0.0.200", 40000, 80, PKT_ACK);
	cases[3].vlan = 7;
	pkt_spec_v4(&cases[4], "10.0.0.100", "10.0.0.1", 80, 40000, PKT_ACK); /* reply dir */
	for (int i = 0; i < 5; i++) {
		uint32_t len = pkt_build(&cases[i], in), out_len = 0;

		ASSERT_EQ(fx_run_frame(&f, in, len, out, &out_len), XDP_PASS, "verdict");
		ASSERT_EQ(out_len, len, "length");
		ASSERT_MEMEQ(in, out, len, "byte-identical");
	}
	/* ARP and UDP to the VIP address */
	{
		uint32_t len = pkt_build(&cases[1], in), out_len;
		struct iphdr *iph = (struct iphdr *)(in + 14);

		iph->protocol = IPPROTO_UDP;
		ASSERT_EQ(fx_run_frame(&f, in, len, out, &out_len), XDP_PASS, "udp to VIP addr");
		ASSERT_MEMEQ(in, out, len, "udp identical");
		((struct ethhdr *)in)->h_proto = htons(ETH_P_ARP);
		ASSERT_EQ(fx_run_frame(&f, in, 60, out, &out_len), XDP_PASS, "arp");
		ASSERT_MEMEQ(in, out, 60, "arp identical");
	}
	ASSERT_EQ(stats(&f).new_flows, 0, "no flow created");
	fx_teardown(&f);
}

static void test_syn_creates_flow(void)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	struct mlb_flow_key key;
	enum mlb_flow_table table;
	struct mlb_flow flow;
	struct pkt_spec s;
	uint32_t len, out_len = 0;
	uint64_t t0 = mono_ns(), t_ack;
	struct fx f;
	int k;

	if (!setup(&f, 4, MLB_POLICY_MARL, 4))
		return;
	len = pkt_build(&f.vip_spec, in);
	ASSERT_EQ(fx_run_frame(&f, in, len, out, &out_len), XDP_TX, "SYN verdict");
	ASSERT_EQ(out_len, len, "length");
	k = fx_backend_of(out);
	ASSERT_TRUE(k >= 0 && k < 4, "sent to a backend");
	assert_l2_rewrite(in, out, len, k);
	ASSERT_EQ(fx_q(&f, f.vip, k), 0, "a half-open flow is not counted");
	ASSERT_EQ(stats(&f).new_flows, 1, "new_flows");
	key = fx_key(&f.vip_spec);
	if (ASSERT_OK(mlb_dp_lookup_flow(f.dp, &key, &flow, &table), "flow in a table")) {
		ASSERT_EQ(table, MLB_TABLE_HALF_OPEN, "in the half-open table");
		ASSERT_EQ(flow.backend, k, "flow backend");
		ASSERT_EQ(flow.vip_id, f.vip, "flow vip");
		ASSERT_EQ(flow.state, MLB_FLOW_SYN, "flow state");
		ASSERT_GE(flow.syn_ns, t0, "syn time");
		ASSERT_GT(flow.last_seen_ns, 0, "last seen");
	}
	/* a retransmitted SYN follows the flow, counts nothing */
	ASSERT_EQ(fx_run_frame(&f, in, len, out, &out_len), XDP_TX, "SYN again");
	ASSERT_EQ(fx_backend_of(out), k, "same backend");
	ASSERT_EQ(stats(&f).new_flows, 1, "not a new flow");
	fx_drain_samples(&f);
	ASSERT_EQ(f.n_samples, 0, "no sample before the handshake completes");
	/* the handshake-completing ACK counts it */
	s = f.vip_spec;
	s.flags = PKT_ACK;
	s.ack = 7001;
	t_ack = mono_ns();
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "handshake ACK");
	ASSERT_EQ(fx_backend_of(out), k, "same backend");
	ASSERT_EQ(fx_q(&f, f.vip, k), 1, "q +1");
	ASSERT_EQ(stats(&f).established, 1, "established");
	if (ASSERT_OK(mlb_dp_lookup_flow(f.dp, &key, &flow, &table), "flow")) {
		ASSERT_EQ(table, MLB_TABLE_FLOWS, "moved to the counted table");
		ASSERT_EQ(flow.state, MLB_FLOW_OPEN, "open");
		ASSERT_EQ(flow.ack0, 7001, "ack number kept");
	}
	ASSERT_NEQ(bpf_map_lookup_elem(mlb_dp_map_fd(f.dp, MLB_MAP_HALF_OPEN), &key, &flow), 0,
		   "gone from the half-open table");
	fx_drain_samples(&f);
	if (ASSERT_EQ(f.n_samples, 1, "one new-flow sample")) {
		ASSERT_EQ(f.samples[0].kind, MLB_SAMPLE_NEW_FLOW, "kind");
		ASSERT_EQ(f.samples[0].vip_id, f.vip, "vip");
		ASSERT_EQ(f.samples[0].backend, k, "backend");
		ASSERT_GE(f.samples[0].ts_ns, t_ack, "ts: the handshake ACK");
		ASSERT_LE(f.samples[0].ts_ns, mono_ns(), "ts before now");
	}
	fx_teardown(&f);
}

static void test_fin_decrements_once(void)
{
	struct pkt_spec s;
	uint8_t out[PKT_MAX];
	struct mlb_stats st;
	uint64_t t0 = mono_ns();
	struct fx f;
	int k;

	if (!setup(&f, 4, MLB_POLICY_LSQ, 3))
		return;
	s = f.vip_spec;
	k = fx_open(&f, s);
	ASSERT_TRUE(k >= 0, "handshake");
	ASSERT_EQ(fx_q(&f, f.vip, k), 1, "counted");
	usleep(2000);
	s.flags = PKT_FIN | PKT_ACK;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "FIN");
	ASSERT_EQ(fx_backend_of(out), k, "FIN to the flow's backend");
	ASSERT_EQ(fx_q(&f, f.vip, k), 0, "q back to 0");
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "FIN again");
	ASSERT_EQ(fx_backend_of(out), k, "repeated FIN still forwarded");
	s.flags = PKT_RST;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "RST after FIN");
	s.flags = PKT_ACK;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "last ACK of the close");
	ASSERT_EQ(fx_backend_of(out), k, "last ACK to the same backend");
	ASSERT_EQ(fx_q(&f, f.vip, k), 0, "q not decremented again, not counted again");
	st = stats(&f);
	ASSERT_EQ(st.closed_flows, 1, "closed once");
	ASSERT_EQ(st.established, 1, "established once");
	fx_drain_samples(&f);
	ASSERT_EQ(f.n_samples, 2, "new-flow and FCT samples");
	if (f.n_samples == 2) {
		ASSERT_EQ(f.samples[1].kind, MLB_SAMPLE_FCT, "FCT kind");
		ASSERT_EQ(f.samples[1].backend, k, "FCT backend");
		ASSERT_GE(f.samples[1].value_ns, 2000000, "FCT >= the 2 ms slept");
		ASSERT_LE(f.samples[1].value_ns, mono_ns() - t0, "FCT <= elapsed");
	}
	/* a new connection on the same 5-tuple is a new flow again */
	k = fx_open(&f, s);
	ASSERT_TRUE(k >= 0, "SYN reusing the tuple");
	ASSERT_EQ(stats(&f).new_flows, 2, "counted as new");
	ASSERT_EQ(fx_q(&f, f.vip, k), 1, "q +1 for the new one");
	fx_teardown(&f);
}

static void test_rst_decrements(void)
{
	struct pkt_spec s;
	uint8_t out[PKT_MAX];
	struct fx f;
	int k;

	if (!setup(&f, 4, MLB_POLICY_MARL, 2))
		return;
	s = f.vip_spec;
	k = fx_open(&f, s);
	s.flags = PKT_RST | PKT_ACK;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "RST");
	ASSERT_EQ(fx_q(&f, f.vip, k), 0, "q 0");
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "RST again");
	ASSERT_EQ(fx_q(&f, f.vip, k), 0, "still 0");
	ASSERT_EQ(stats(&f).closed_flows, 1, "closed once");
	/* a handshake aborted by the client: never counted, no completion sample */
	s.sport++;
	s.flags = PKT_SYN;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "SYN");
	s.flags = PKT_RST;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "RST of a half-open flow");
	ASSERT_EQ(fx_q_sum(&f, f.vip, 2), 0, "nothing counted");
	ASSERT_EQ(stats(&f).closed_flows, 1, "no decrement");
	fx_drain_samples(&f);
	ASSERT_EQ(f.n_samples, 2, "only the first flow's new-flow and FCT samples");
	fx_teardown(&f);
}

static void test_task_duration_sample(void)
{
	struct pkt_spec s;
	uint8_t out[PKT_MAX];
	uint64_t t_ack, t_done;
	struct fx f;
	int task = -1, k;

	if (!setup(&f, 4, MLB_POLICY_MARL, 2))
		return;
	s = f.vip_spec;
	fx_run(&f, &s, out, NULL);
	k = fx_backend_of(out);
	s.flags = PKT_ACK;
	s.seq = 1001;
	s.ack = 7001; /* server ISN 7000 + 1: completes the handshake */
	t_ack = mono_ns();
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "handshake ACK");
	s.flags = PKT_ACK | PKT_PSH;
	s.payload = 100; /* the request: acks nothing new */
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "request");
	fx_drain_samples(&f);
	ASSERT_EQ(f.n_samples, 1, "no task sample before server data");
	usleep(3000);
	s.flags = PKT_ACK;
	s.payload = 0;
	s.seq = 1101;
	s.ack = 7001 + 1448; /* the server sent data */
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "ACK of server data");
	t_done = mono_ns();
	s.ack = 7001 + 2896;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "later ACK");
	fx_drain_samples(&f);
	for (int i = 0; i < f.n_samples; i++)
		if (f.samples[i].kind == MLB_SAMPLE_TASK)
			task = task < 0 ? i : 1000;
	if (ASSERT_TRUE(task >= 0 && task < 1000, "exactly one task sample")) {
		ASSERT_EQ(f.samples[task].backend, k, "backend");
		ASSERT_EQ(f.samples[task].vip_id, f.vip, "vip");
		ASSERT_GE(f.samples[task].value_ns, 3000000, ">= the 3 ms slept");
		ASSERT_LE(f.samples[task].value_ns, t_done - t_ack, "<= elapsed");
	}
	fx_teardown(&f);
}

/* A client FIN (or RST) may be the first segment to acknowledge the server's data: it ends the
 * task too, counted or not (a refused flow). */
static void test_fin_acking_data_ends_task(void)
{
	int kinds[4] = {};
	struct pkt_spec s;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_LSQ, 2))
		return;
	for (int i = 0; i < 2; i++) {
		s = f.vip_spec;
		s.sport += i;
		fx_open(&f, s);
		s.flags = i ? PKT_RST | PKT_ACK : PKT_FIN | PKT_ACK;
		s.ack = 7001 + 100; /* the server's answer and FIN */
		ASSERT_EQ(fx_run(&f, &s, NULL, NULL), XDP_TX, "FIN/RST");
	}
	fx_drain_samples(&f);
	for (int i = 0; i < f.n_samples; i++)
		kinds[f.samples[i].kind & 3]++;
	ASSERT_EQ(kinds[MLB_SAMPLE_TASK], 2, "task samples");
	ASSERT_EQ(kinds[MLB_SAMPLE_FCT], 2, "FCT samples");
	ASSERT_EQ(fx_q_sum(&f, f.vip, 2), 0, "q 0");
	fx_teardown(&f);
}

/*
 * A segment of a flow with no entry goes where the consistent hash puts its 5-tuple: the same
 * backend for every such packet, the one ecmp (or a SYN beyond the SYN budget) gives it. It
 * is counted (`fallback`), creates nothing and changes no q. With no active backend: dropped.
 */
static void test_unknown_non_syn_falls_back(void)
{
	uint8_t kinds[3] = { PKT_ACK, PKT_SYN | PKT_ACK, PKT_FIN | PKT_ACK };
	struct pkt_spec s;
	uint8_t out[PKT_MAX];
	struct mlb_vip_cfg ecmp = { .family = MLB_AF_INET, .port = 80, .policy = MLB_POLICY_ECMP };
	int k = -1, got;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, 4))
		return;
	s = f.vip_spec;
	for (int i = 0; i < 3; i++) {
		s.flags = kinds[i];
		ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "unknown flow: forwarded");
		got = fx_backend_of(out);
		ASSERT_TRUE(got >= 0 && got < 4, "to a backend");
		if (k >= 0)
			ASSERT_EQ(got, k, "the same one every time");
		k = got;
	}
	ASSERT_EQ(stats(&f).fallback, 3, "counted");
	ASSERT_EQ(stats(&f).new_flows, 0, "nothing created");
	ASSERT_EQ(mlb_dp_for_each_flow(f.dp, MLB_TABLE_HALF_OPEN, NULL, NULL) +
			  mlb_dp_for_each_flow(f.dp, MLB_TABLE_FLOWS, NULL, NULL),
		  0, "no entry");
	ASSERT_EQ(fx_q_sum(&f, f.vip, 4), 0, "q untouched");
	/* the new flow ecmp would make of this 5-tuple goes to the same backend */
	inet_pton(AF_INET, "10.0.0.100", ecmp.addr);
	ASSERT_OK(mlb_dp_set_vip(f.dp, &ecmp, NULL), "switch to ecmp");
	s.flags = PKT_SYN;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "ecmp SYN");
	ASSERT_EQ(fx_backend_of(out), k, "ecmp's choice");
	for (int j = 0; j < 4; j++)
		mlb_dp_set_backend_state(f.dp, f.vip, j, MLB_BACKEND_DOWN);
	s.sport++;
	s.flags = PKT_ACK;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_DROP, "no backend: dropped");
	ASSERT_EQ(stats(&f).drops[MLB_DROP_NO_FLOW], 1, "counted");
	fx_teardown(&f);
}

static void test_flow_stays_on_backend(void)
{
	struct pkt_spec s, other;
	uint8_t out[PKT_MAX];
	uint32_t q[4] = { 0, 0, 0, 0 };
	struct fx f;
	int k;

	if (!setup(&f, 4, MLB_POLICY_LSQ, 4))
		return;
	s = f.vip_spec;
	fx_run(&f, &s, out, NULL);
	k = fx_backend_of(out);
	q[k] = 1000; /* now the worst choice for new flows */
	fx_set_q(&f, f.vip, q, 4);
	s.flags = PKT_ACK;
	for (int i = 0; i < 10; i++) {
		ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "established");
		ASSERT_EQ(fx_backend_of(out), k, "same backend");
	}
	other = f.vip_spec;
	other.sport = 40001;
	fx_run(&f, &other, out, NULL);
	ASSERT_NEQ(fx_backend_of(out), k, "a new flow avoids the loaded backend");
	fx_teardown(&f);
}

static void test_draining_and_down(void)
{
	struct pkt_spec s;
	uint8_t out[PKT_MAX];
	int k_drain, k_down;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_LSQ, 4))
		return;
	s = f.vip_spec;
	k_drain = fx_open(&f, s);
	s.sport++;
	k_down = fx_open(&f, s);
	ASSERT_NEQ(k_drain, k_down, "lsq spreads the first two (established) flows");
	ASSERT_OK(mlb_dp_set_backend_state(f.dp, f.vip, k_drain, MLB_BACKEND_DRAINING), "drain");
	ASSERT_OK(mlb_dp_set_backend_state(f.dp, f.vip, k_down, MLB_BACKEND_DOWN), "down");
	for (int i = 0; i < 200; i++) {
		s.sport = 41000 + i;
		s.flags = PKT_SYN;
		ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "new flow");
		if (fx_backend_of(out) == k_drain || fx_backend_of(out) == k_down) {
			ASSERT_TRUE(false, "new flow on a draining/down backend");
			break;
		}
	}
	s = f.vip_spec; /* the first flow, on the draining backend */
	s.flags = PKT_ACK;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "draining backend keeps its flow");
	ASSERT_EQ(fx_backend_of(out), k_drain, "to the draining backend");
	s.sport++; /* the second flow, on the down backend */
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_DROP, "down backend's flow dropped");
	ASSERT_EQ(stats(&f).drops[MLB_DROP_BACKEND_DOWN], 1, "counted");
	/* all down: no backend for new flows */
	for (int k = 0; k < 4; k++)
		mlb_dp_set_backend_state(f.dp, f.vip, k, MLB_BACKEND_DOWN);
	s.sport = 50000;
	s.flags = PKT_SYN;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_DROP, "no active backend");
	ASSERT_EQ(stats(&f).drops[MLB_DROP_NO_BACKEND], 1, "counted");
	fx_teardown(&f);
}

/* Sends one SYN with a fresh source port after setting q; returns the chosen backend. */
static int pick_once(struct fx *f, const uint32_t *q, uint32_t n, uint16_t sport)
{
	struct pkt_spec s = f->vip_spec;
	uint8_t out[PKT_MAX];

	if (q && fx_set_q(f, f->vip, q, n))
		return -2;
	s.sport = sport;
	if (fx_run(f, &s, out, NULL) != XDP_TX)
		return -1;
	return fx_backend_of(out);
}

static void check_argmin(uint32_t n, uint32_t policy)
{
	float a[MLB_MAX_BACKENDS], a_live[MLB_MAX_BACKENDS];
	uint32_t q[MLB_MAX_BACKENDS];
	int checked = 0;
	struct fx f;

	if (!setup(&f, 4, policy, n))
		return;
	srand(n * 7 + policy);
	for (int round = 0; round < 40; round++) {
		double best = 1e300, second = 1e300;
		int expect = -1;

		for (uint32_t k = 0; k < n; k++) {
			q[k] = rand() % 30;
			a[k] = 0.1f + (rand() % 1000) / 250.0f;
		}
		if (policy == MLB_POLICY_MARL) {
			ASSERT_GT(mlb_dp_set_weights(f.dp, f.vip, a, n), 0, "set weights");
			mlb_dp_get_weights(f.dp, f.vip, a_live, n, NULL);
		} else {
			for (uint32_t k = 0; k < n; k++) {
				struct mlb_backend_cfg b = { .family = MLB_AF_INET,
							     .state = MLB_BACKEND_ACTIVE,
							     .weight = 1 + rand() % 100 };

				b.addr[0] = 10, b.addr[3] = k;
				fx_backend_mac(k, b.mac);
				mlb_dp_set_backend(f.dp, f.vip, k, &b);
				a_live[k] = b.weight;
			}
		}
		for (uint32_t k = 0; k < n; k++) {
			double score = (q[k] + 1.0) / a_live[k];

			if (score < best) {
				second = best;
				best = score;
				expect = k;
			} else if (score < second) {
				second = score;
			}
		}
		if (second - best < 1e-6 * best)
			continue; /* a tie: covered by the tie tests */
		ASSERT_EQ(pick_once(&f, q, n, 30000 + round), expect, "argmin (q+1)/a");
		checked++;
	}
	ASSERT_GE(checked, 30, "enough unique-minimum rounds");
	fx_teardown(&f);
}

static void test_marl_argmin_8(void)
{
	check_argmin(8, MLB_POLICY_MARL);
}

static void test_marl_argmin_64(void)
{
	check_argmin(64, MLB_POLICY_MARL);
}

static void test_sed_argmin_static_weights(void)
{
	check_argmin(16, MLB_POLICY_SED);
}

/* A count that wrapped below zero (a bug, or written from outside) must not attract flows. */
static void test_wrapped_q_never_wins(void)
{
	uint32_t q[4] = { 5, UINT32_MAX, 5, 5 }, big[MLB_MAX_BACKENDS];
	float a[4] = { 1, 1000, 1, 1 };
	struct fx f, g;

	if (!setup(&f, 4, MLB_POLICY_MARL, 4))
		return;
	mlb_dp_set_weights(f.dp, f.vip, a, 4);
	for (int i = 0; i < 50; i++)
		if (!ASSERT_NEQ(pick_once(&f, q, 4, 30000 + i), 1,
				"exact scan: not the wrapped one"))
			break;
	fx_teardown(&f);
	if (!setup(&g, 4, MLB_POLICY_LSQ, MLB_MAX_BACKENDS))
		return;
	for (int k = 0; k < MLB_MAX_BACKENDS; k++)
		big[k] = k == 7 ? UINT32_MAX : 3;
	for (int i = 0; i < 200; i++)
		if (!ASSERT_NEQ(pick_once(&g, big, MLB_MAX_BACKENDS, 30000 + i), 7,
				"power of d: not the wrapped one"))
			break;
	fx_teardown(&g);
}

static void test_lsq_ignores_weights(void)
{
	uint32_t q[5] = { 4, 2, 7, 1, 3 };
	float a[5] = { 10, 10, 10, 0.01f, 10 };
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_LSQ, 5))
		return;
	mlb_dp_set_weights(f.dp, f.vip, a, 5); /* not used by lsq */
	for (int i = 0; i < 20; i++)
		ASSERT_EQ(pick_once(&f, q, 5, 30000 + i), 3, "least q");
	fx_teardown(&f);
}

/* With q reset before each flow, ties must spread evenly over all (and only) the minima. */
static void check_ties(const uint32_t *q, uint32_t n, const int *is_min, int n_min, int flows)
{
	int count[MLB_MAX_BACKENDS] = {};
	double p = 1.0 / n_min, sigma = sqrt(flows * p * (1 - p));
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, n))
		return;
	for (int i = 0; i < flows; i++) {
		int k = pick_once(&f, q, n, 1024 + i);

		if (!ASSERT_TRUE(k >= 0 && k < (int)n, "picked a backend"))
			break;
		count[k]++;
	}
	for (uint32_t k = 0; k < n; k++) {
		if (is_min[k])
			ASSERT_NEAR(count[k], flows * p, 5 * sigma, "even share of a minimum");
		else
			ASSERT_EQ(count[k], 0, "never a non-minimum");
	}
	fx_teardown(&f);
}

static void test_ties_spread_over_all_minima(void)
{
	uint32_t all[8] = {}, q_even[8] = { 0, 1, 0, 1, 0, 1, 0, 1 };
	uint32_t q_low3[8] = { 0, 0, 0, 1, 1, 1, 1, 1 }, q_odd3[8] = { 2, 2, 2, 0, 2, 0, 0, 2 };
	int min_all[8] = { 1, 1, 1, 1, 1, 1, 1, 1 }, min_even[8] = { 1, 0, 1, 0, 1, 0, 1, 0 };
	int min_low3[8] = { 1, 1, 1, 0, 0, 0, 0, 0 }, min_odd3[8] = { 0, 0, 0, 1, 0, 1, 1, 0 };

	check_ties(all, 8, min_all, 8, 4000);
	/* asymmetric sets catch tie-breaks that favour some indices */
	check_ties(q_even, 8, min_even, 4, 3000);
	check_ties(q_low3, 8, min_low3, 3, 3000);
	check_ties(q_odd3, 8, min_odd3, 3, 3000);
}

static void test_wcmp_proportions(void)
{
	uint32_t w[4] = { 1, 2, 3, 4 }, total = 10;
	int count[4] = {}, flows = 20000;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_WCMP, 4))
		return;
	for (uint32_t k = 0; k < 4; k++) {
		struct mlb_backend_cfg b = { .family = MLB_AF_INET,
					     .state = MLB_BACKEND_ACTIVE,
					     .weight = w[k] };

		fx_backend_mac(k, b.mac);
		mlb_dp_set_backend(f.dp, f.vip, k, &b);
	}
	for (int i = 0; i < flows; i++) {
		int k = pick_once(&f, NULL, 4, 1024 + i);

		if (!ASSERT_TRUE(k >= 0 && k < 4, "picked"))
			break;
		count[k]++;
	}
	for (int k = 0; k < 4; k++) {
		double p = (double)w[k] / total;

		ASSERT_NEAR(count[k], flows * p, 5 * sqrt(flows * p * (1 - p)), "share ~ weight");
	}
	fx_teardown(&f);
}

static void test_ecmp_stable_per_flow(void)
{
	int first[64], count[4] = {};
	struct pkt_spec s;
	uint8_t out[PKT_MAX];
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_ECMP, 4))
		return;
	for (int i = 0; i < 4000; i++) {
		int k = pick_once(&f, NULL, 4, 2000 + i);

		if (!ASSERT_TRUE(k >= 0, "picked"))
			break;
		count[k]++;
		if (i < 64)
			first[i] = k;
	}
	for (int k = 0; k < 4; k++)
		ASSERT_NEAR(count[k], 1000, 5 * sqrt(4000 * 0.25 * 0.75), "hash spreads");
	/* the same 5-tuple, closed and opened again, hashes to the same backend */
	for (int i = 0; i < 64; i++) {
		s = f.vip_spec;
		s.sport = 2000 + i;
		s.flags = PKT_RST;
		fx_run(&f, &s, out, NULL);
		s.flags = PKT_SYN;
		ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "reopened");
		ASSERT_EQ(fx_backend_of(out), first[i], "same backend for the same 5-tuple");
	}
	fx_teardown(&f);
}

static void test_power_of_d_large_pool(void)
{
	uint32_t q[MLB_MAX_BACKENDS];
	int low = 0, flows = 2000;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, MLB_MAX_BACKENDS))
		return;
	for (int k = 0; k < MLB_MAX_BACKENDS; k++)
		q[k] = k < 128 ? 0 : 50;
	for (int i = 0; i < flows; i++) {
		int k = pick_once(&f, q, MLB_MAX_BACKENDS, 1024 + i);

		if (!ASSERT_TRUE(k >= 0, "picked"))
			break;
		low += k < 128;
	}
	/* all 16 draws in the loaded half: probability 2^-16 per flow */
	ASSERT_GE(low, flows - 5, "picks the lightly loaded half");
	/* only even backends active: odd ones never chosen */
	for (int k = 1; k < MLB_MAX_BACKENDS; k += 2)
		mlb_dp_set_backend_state(f.dp, f.vip, k, MLB_BACKEND_DRAINING);
	for (int i = 0; i < 500; i++) {
		int k = pick_once(&f, q, MLB_MAX_BACKENDS, 10000 + i);

		if (!ASSERT_TRUE(k >= 0 && k % 2 == 0, "active backend only"))
			break;
	}
	/* a single active backend is found even when no draw hits it */
	for (int k = 0; k < MLB_MAX_BACKENDS; k += 2)
		if (k != 200)
			mlb_dp_set_backend_state(f.dp, f.vip, k, MLB_BACKEND_DOWN);
	for (int i = 0; i < 50; i++)
		ASSERT_EQ(pick_once(&f, q, MLB_MAX_BACKENDS, 20000 + i), 200, "the only one");
	fx_teardown(&f);
}

static void test_weights_double_buffer(void)
{
	float a0[3] = { 1, 0, 0 }, a1[3] = { 0, 0, 1 }, got[3];
	struct mlb_weights slot;
	struct mlb_pool pool;
	uint32_t idx;
	uint64_t gen;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, 3))
		return;
	ASSERT_EQ(mlb_dp_set_weights(f.dp, f.vip, a0, 3), 1, "generation 1");
	for (int i = 0; i < 10; i++)
		ASSERT_EQ(pick_once(&f, NULL, 3, 100 + i), 0, "only backend 0 has weight");
	ASSERT_EQ(mlb_dp_set_weights(f.dp, f.vip, a1, 3), 2, "generation 2");
	for (int i = 0; i < 10; i++)
		ASSERT_EQ(pick_once(&f, NULL, 3, 200 + i), 2, "only backend 2 now");
	ASSERT_OK(mlb_dp_get_weights(f.dp, f.vip, got, 3, &gen), "get");
	ASSERT_EQ(gen, 2, "live generation");
	ASSERT_EQ(got[2], 1.0, "live weights");
	/* the slot that was live before the flip still holds generation 1, untouched */
	bpf_map_lookup_elem(mlb_dp_map_fd(f.dp, MLB_MAP_POOLS), &f.vip, &pool);
	idx = f.vip * MLB_WEIGHT_SLOTS + (pool.weight_slot ^ 1);
	bpf_map_lookup_elem(mlb_dp_map_fd(f.dp, MLB_MAP_WEIGHTS), &idx, &slot);
	ASSERT_EQ(slot.gen, 1, "idle slot keeps the old vector");
	ASSERT_EQ(slot.a[0], MLB_WEIGHT_ONE, "old vector intact");
	fx_teardown(&f);
}

static void test_ipv6_flow(void)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	struct pkt_spec s;
	uint32_t len, out_len;
	struct fx f;
	int k;

	if (!setup(&f, 6, MLB_POLICY_MARL, 4))
		return;
	s = f.vip_spec;
	len = pkt_build(&s, in);
	ASSERT_EQ(fx_run_frame(&f, in, len, out, &out_len), XDP_TX, "v6 SYN");
	k = fx_backend_of(out);
	assert_l2_rewrite(in, out, len, k);
	s.flags = PKT_ACK;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "v6 ACK");
	ASSERT_EQ(fx_backend_of(out), k, "same backend");
	ASSERT_EQ(fx_q(&f, f.vip, k), 1, "q +1");
	s.flags = PKT_FIN | PKT_ACK;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "v6 FIN");
	ASSERT_EQ(fx_q(&f, f.vip, k), 0, "q 0");
	fx_teardown(&f);
}

static void test_vlan_tagged(void)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	struct pkt_spec s;
	uint32_t len, out_len;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, 4))
		return;
	s = f.vip_spec;
	s.vlan = 42;
	len = pkt_build(&s, in);
	ASSERT_EQ(fx_run_frame(&f, in, len, out, &out_len), XDP_TX, "tagged SYN");
	assert_l2_rewrite(in, out, len, fx_backend_of(out));
	s.vlan = 43; /* the same flow on another VLAN is the same 5-tuple */
	s.flags = PKT_ACK;
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "tagged ACK");
	fx_teardown(&f);
}

/* Broken frames to a VIP address are dropped with their reason; to others they pass. */
static void test_malformed_and_truncated(void)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	struct pkt_spec v4, v6;
	struct mlb_stats st;
	uint32_t len, out_len;
	struct iphdr *iph = (struct iphdr *)(in + 14);
	struct ipv6hdr *ip6h = (struct ipv6hdr *)(in + 14);
	struct tcphdr *th = (struct tcphdr *)(in + 34);
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, 2))
		return;
	ASSERT_OK(fx_add_vip(&f, 6, "fd00::100", 80, MLB_POLICY_MARL, 2, &(uint32_t){ 0 }),
		  "v6 vip");
	v4 = f.vip_spec;
	pkt_spec_v6(&v6, "fd00::1", "fd00::100", 40000, 80, PKT_SYN);

	for (int to_vip = 1; to_vip >= 0; to_vip--) {
		int expect = to_vip ? XDP_DROP : XDP_PASS;

		inet_pton(AF_INET, to_vip ? "10.0.0.100" : "10.0.0.99", v4.dst);
		inet_pton(AF_INET6, to_vip ? "fd00::100" : "fd00::99", v6.dst);
#define CASE(name, spec, mutate, cut)                                              \
	do {                                                                       \
		len = pkt_build(&(spec), in);                                      \
		mutate;                                                            \
		len -= (cut);                                                      \
		ASSERT_EQ(fx_run_frame(&f, in, len, out, &out_len), expect, name); \
		if (expect == XDP_PASS)                                            \
			ASSERT_MEMEQ(in, out, len, name " untouched");             \
	} while (0)
		CASE("tcp header cut", v4, , 10);
		CASE("ihl < 5", v4, iph->ihl = 4, 0);
		CASE("ipv4 version 5", v4, iph->version = 5, 0);
		CASE("tot_len > frame", v4, iph->tot_len = htons(400), 0);
		CASE("tot_len < ihl", v4, iph->tot_len = htons(10), 0);
		CASE("more fragments", v4, iph->frag_off = htons(0x2000), 0);
		CASE("fragment offset", v4, iph->frag_off = htons(0x0010), 0);
		CASE("doff < 5", v4, th->doff = 4, 0);
		CASE("doff past the end", v4, th->doff = 15, 0);
		CASE("v6 tcp cut", v6, , 5);
		CASE("v6 payload_len > frame", v6, ip6h->payload_len = htons(300), 0);
		CASE("v6 fragment header", v6, ip6h->nexthdr = IPPROTO_FRAGMENT, 0);
		CASE("v6 hop-by-hop", v6, ip6h->nexthdr = IPPROTO_HOPOPTS, 0);
#undef CASE
	}
	st = stats(&f);
	ASSERT_EQ(st.drops[MLB_DROP_TRUNCATED], 4, "truncated");
	ASSERT_EQ(st.drops[MLB_DROP_MALFORMED], 5, "malformed");
	ASSERT_EQ(st.drops[MLB_DROP_FRAGMENT], 4, "fragments / ext headers");
	/* too short to tell: passed on untouched */
	len = pkt_build(&v4, in);
	for (uint32_t cut = 14; cut < 34; cut += 3) {
		ASSERT_EQ(fx_run_frame(&f, in, cut, out, &out_len), XDP_PASS, "short frame");
		ASSERT_MEMEQ(in, out, cut, "short frame untouched");
	}
	ASSERT_EQ(stats(&f).new_flows, 0, "nothing forwarded");
	fx_teardown(&f);
}

/* IPv4 options are skipped, not refused: the segment behind them is a normal flow. */
static void test_ipv4_options(void)
{
	uint8_t in[PKT_MAX], opt[PKT_MAX], out[PKT_MAX];
	struct iphdr *iph = (struct iphdr *)(opt + 14);
	uint32_t len, out_len = 0;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, 2))
		return;
	len = pkt_build(&f.vip_spec, in);
	/* 4 bytes of options (NOP NOP NOP EOL) between the IPv4 and TCP headers */
	memcpy(opt, in, 34);
	memcpy(opt + 34, "\x01\x01\x01\x00", 4);
	memcpy(opt + 38, in + 34, len - 34);
	iph->ihl = 6;
	iph->tot_len = htons(ntohs(iph->tot_len) + 4);
	ASSERT_EQ(fx_run_frame(&f, opt, len + 4, out, &out_len), XDP_TX, "SYN with options");
	assert_l2_rewrite(opt, out, len + 4, fx_backend_of(out));
	ASSERT_EQ(stats(&f).new_flows, 1, "a flow");
	fx_teardown(&f);
}

static void test_group_mac_dropped(void)
{
	struct pkt_spec s;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, 2))
		return;
	s = f.vip_spec;
	memset(s.dmac, 0xff, 6);
	ASSERT_EQ(fx_run(&f, &s, NULL, NULL), XDP_DROP, "broadcast to VIP");
	ASSERT_EQ(stats(&f).drops[MLB_DROP_BAD_L2], 1, "counted");
	fx_teardown(&f);
}

static void test_traffic_stats(void)
{
	struct mlb_traffic vt, bt, pool[2];
	uint32_t id2;
	int k2;
	struct pkt_spec s;
	uint8_t in[PKT_MAX], out[PKT_MAX];
	uint32_t len;
	struct fx f;
	int k;

	if (!setup(&f, 4, MLB_POLICY_MARL, 2))
		return;
	s = f.vip_spec;
	len = pkt_build(&s, in);
	fx_run_frame(&f, in, len, out, NULL);
	k = fx_backend_of(out);
	s.flags = PKT_ACK;
	for (int i = 0; i < 9; i++)
		fx_run(&f, &s, NULL, NULL);
	ASSERT_OK(mlb_dp_read_vip_traffic(f.dp, f.vip, &vt), "vip traffic");
	ASSERT_OK(mlb_dp_read_backend_traffic(f.dp, f.vip, k, &bt), "backend traffic");
	ASSERT_EQ(vt.packets, 10, "vip packets");
	ASSERT_EQ(vt.bytes, 10 * len, "vip bytes");
	ASSERT_EQ(bt.packets, 10, "backend packets");
	ASSERT_EQ(bt.opened, 1, "one flow entered the count");
	ASSERT_EQ(vt.opened, 1, "for the VIP too");
	s.flags = PKT_FIN;
	fx_run(&f, &s, NULL, NULL);
	mlb_dp_read_backend_traffic(f.dp, f.vip, k, &bt);
	ASSERT_EQ(bt.closed, 1, "and left it");
	ASSERT_OK(mlb_dp_read_backend_traffic(f.dp, f.vip, !k, &bt), "other backend");
	ASSERT_EQ(bt.packets, 0, "other backend idle");
	/* the whole pool at once reads the same, for the first VIP id and another */
	ASSERT_OK(fx_add_vip(&f, 4, "10.0.0.101", 80, MLB_POLICY_LSQ, 2, &id2), "second VIP");
	s = f.vip_spec;
	inet_pton(AF_INET, "10.0.0.101", s.dst);
	k2 = fx_open(&f, s);
	for (uint32_t vip = f.vip; vip <= id2; vip += id2 - f.vip) {
		ASSERT_OK(mlb_dp_read_pool_traffic(f.dp, vip, pool, 2), "pool traffic");
		for (uint32_t j = 0; j < 2; j++) {
			mlb_dp_read_backend_traffic(f.dp, vip, j, &bt);
			ASSERT_MEMEQ(&pool[j], &bt, sizeof(bt), "pool == one by one");
		}
	}
	ASSERT_EQ(pool[k2].opened, 1, "second VIP's flow");
	fx_teardown(&f);
}

/* A full ring buffer loses samples (counted), never packets. */
static void test_ring_full_loses_samples_not_packets(void)
{
	int n = MLB_SAMPLES_BYTES / 32 + 5000; /* more new-flow records than the ring holds */
	struct mlb_stats st;
	struct pkt_spec s;
	struct fx f;
	long tx = 0;

	if (!setup(&f, 4, MLB_POLICY_MARL, 8))
		return;
	s = f.vip_spec;
	for (int i = 0; i < n; i++) {
		s.sport = 1024 + i % 60000;
		s.src[3] = 1 + i / 60000;
		tx += fx_open(&f, s) >= 0;
	}
	st = stats(&f);
	ASSERT_EQ(tx, n, "every handshake forwarded");
	ASSERT_EQ(st.established, n, "every flow counted (none dropped)");
	ASSERT_GT(st.ring_lost, 0, "losses counted");
	ASSERT_EQ(st.samples + st.ring_lost, n, "every sample written or counted lost");
	fx_teardown(&f);
}

static void test_del_vip(void)
{
	struct mlb_vip_cfg cfg = { .family = MLB_AF_INET, .port = 80 };
	uint8_t in[PKT_MAX], out[PKT_MAX];
	struct pkt_spec s;
	uint32_t len, id2;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, 2))
		return;
	s = f.vip_spec;
	for (int i = 0; i < 300; i++) {
		s.sport = 5000 + i;
		if (i % 2)
			fx_open(&f, s); /* counted */
		else
			fx_run(&f, &s, out, NULL); /* half-open */
	}
	s.sport = f.vip_spec.sport;
	fx_run(&f, &s, out, NULL);
	ASSERT_EQ(fx_q_sum(&f, f.vip, 2), 150, "counted flows");
	inet_pton(AF_INET, "10.0.0.100", cfg.addr);
	ASSERT_OK(mlb_dp_del_vip(f.dp, &cfg), "delete");
	ASSERT_EQ(mlb_dp_for_each_flow(f.dp, MLB_TABLE_FLOWS, NULL, NULL), 0, "counted forgotten");
	ASSERT_EQ(mlb_dp_for_each_flow(f.dp, MLB_TABLE_HALF_OPEN, NULL, NULL), 0,
		  "half-open forgotten");
	s.flags = PKT_ACK;
	len = pkt_build(&s, in);
	ASSERT_EQ(fx_run_frame(&f, in, len, out, NULL), XDP_PASS, "no longer a VIP");
	ASSERT_MEMEQ(in, out, len, "untouched");
	ASSERT_OK(mlb_dp_set_vip(f.dp, &cfg, &id2), "re-add");
	ASSERT_EQ(id2, f.vip, "id reused");
	ASSERT_EQ(fx_q(&f, id2, 0) + fx_q(&f, id2, 1), 0, "fresh q");
	ASSERT_EQ(mlb_dp_del_vip(f.dp, &(struct mlb_vip_cfg){ .family = MLB_AF_INET, .port = 9 }),
		  -ENOENT, "unknown VIP");
	fx_teardown(&f);
}

static int sum_vip_backends(const struct mlb_vip_key *key, const struct mlb_vip *vip, void *ctx)
{
	*(uint32_t *)ctx += vip->n_backends;
	return 0;
}

static void test_list_vips(void)
{
	uint32_t id, sum = 0;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, 3))
		return;
	ASSERT_OK(fx_add_vip(&f, 6, "fd00::100", 443, MLB_POLICY_ECMP, 5, &id), "second VIP");
	ASSERT_NEQ(id, f.vip, "its own id");
	ASSERT_EQ(mlb_dp_for_each_vip(f.dp, sum_vip_backends, &sum), 2, "two VIPs");
	ASSERT_EQ(sum, 8, "their backends");
	fx_teardown(&f);
}

static uint8_t filter_slot(struct fx *f, const struct pkt_spec *s)
{
	static struct mlb_vip_filter vf;
	struct mlb_flow_key k = fx_key(s);
	uint32_t zero = 0;

	bpf_map_lookup_elem(mlb_dp_map_fd(f->dp, MLB_MAP_VIP_FILTER), &zero, &vf);
	return vf.slot[mlb_vip_filter_hash(k.dst, k.dport)];
}

/*
 * The filter names the only VIP of a slot (the data plane checks its key), marks a slot that
 * several VIPs hash to (the data plane then asks mlb_vips), and a packet to a non-VIP (address,
 * port) in a VIP's slot passes untouched.
 */
static void test_vip_filter_slots(void)
{
	struct mlb_vip_cfg b = { .family = MLB_AF_INET, .policy = MLB_POLICY_LSQ };
	struct pkt_spec s, other;
	uint8_t in[PKT_MAX], out[PKT_MAX];
	uint16_t ports[2] = {};
	uint32_t id_b, len;
	struct fx f;
	int found = 0;

	if (!setup(&f, 4, MLB_POLICY_MARL, 2))
		return;
	s = f.vip_spec;
	ASSERT_EQ(filter_slot(&f, &s), f.vip + 1, "a lone VIP's slot names it");
	/* two more ports of the VIP address that hash to its slot */
	for (uint32_t p = 1; p < 65536 && found < 2; p++) {
		other = s;
		other.dport = p;
		if (p != s.dport && filter_slot(&f, &other) == f.vip + 1)
			ports[found++] = p;
	}
	if (!ASSERT_EQ(found, 2, "colliding ports exist"))
		return fx_teardown(&f);
	other = s;
	other.dport = ports[1]; /* not a VIP, same slot */
	len = pkt_build(&other, in);
	ASSERT_EQ(fx_run_frame(&f, in, len, out, NULL), XDP_PASS, "non-VIP in a VIP's slot");
	ASSERT_MEMEQ(in, out, len, "untouched");
	inet_pton(AF_INET, "10.0.0.100", b.addr);
	b.port = ports[0];
	ASSERT_OK(fx_add_vip(&f, 4, "10.0.0.100", ports[0], MLB_POLICY_LSQ, 2, &id_b), "VIP B");
	other.dport = ports[0];
	ASSERT_EQ(filter_slot(&f, &s), MLB_VIP_SLOT_MANY, "two VIPs: the slot says so");
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "VIP A served");
	ASSERT_EQ(fx_run(&f, &other, out, NULL), XDP_TX, "VIP B served");
	other.dport = ports[1];
	ASSERT_EQ(fx_run(&f, &other, out, NULL), XDP_PASS, "the non-VIP still passes");
	ASSERT_OK(mlb_dp_del_vip(f.dp, &b), "delete B");
	ASSERT_EQ(filter_slot(&f, &s), f.vip + 1, "the slot names A again");
	other.dport = ports[0];
	ASSERT_EQ(fx_run(&f, &other, out, NULL), XDP_PASS, "B is gone");
	ASSERT_EQ(fx_run(&f, &s, out, NULL), XDP_TX, "A still served");
	fx_teardown(&f);
}

static void test_bad_config_rejected(void)
{
	struct mlb_backend_cfg b = { .family = MLB_AF_INET, .state = MLB_BACKEND_ACTIVE };
	struct mlb_vip_cfg cfg = { .family = 5, .port = 80 };
	struct mlb_backend be;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, 1))
		return;
	ASSERT_EQ(mlb_dp_set_vip(f.dp, &cfg, NULL), -EAFNOSUPPORT, "bad family");
	cfg.family = MLB_AF_INET;
	cfg.policy = MLB_POLICY_MAX;
	ASSERT_EQ(mlb_dp_set_vip(f.dp, &cfg, NULL), -EINVAL, "bad policy");
	ASSERT_EQ(mlb_dp_set_backend(f.dp, f.vip, MLB_MAX_BACKENDS, &b), -ERANGE, "bad index");
	ASSERT_EQ(mlb_dp_set_backend(f.dp, 7, 0, &b), -ENOENT, "no such VIP");
	b.mac[0] = 0x01;
	ASSERT_EQ(mlb_dp_set_backend(f.dp, f.vip, 1, &b), -EINVAL, "multicast MAC");
	b.mac[0] = 0x02;
	b.state = 9;
	ASSERT_EQ(mlb_dp_set_backend(f.dp, f.vip, 1, &b), -EINVAL, "bad state");
	ASSERT_OK(mlb_dp_get_backend(f.dp, f.vip, 1, &be), "slot 1");
	ASSERT_EQ(be.state, MLB_BACKEND_UNUSED, "left unchanged");
	ASSERT_EQ(mlb_dp_set_weights(f.dp, f.vip, (float[1]){ 1 }, MLB_MAX_BACKENDS + 1), -ERANGE,
		  "too many weights");
	ASSERT_EQ(mlb_policy_parse("marl"), MLB_POLICY_MARL, "parse marl");
	ASSERT_EQ(mlb_policy_parse("nope"), -EINVAL, "parse unknown");
	fx_teardown(&f);
}

/*
 * While a writer keeps publishing two weight vectors in turn, new flows must always land on
 * the argmin of one of them: A = [4 1 1 1] picks 0, B = [1 1 1 4] picks 3. Any mix of the
 * two (a half-written vector) ties backends and would show up as 1 or 2.
 */
struct w_stress {
	struct fx *f;
	volatile bool stop;
	long published;
};

static void *w_stress_writer(void *arg)
{
	float A[4] = { 4, 1, 1, 1 }, B[4] = { 1, 1, 1, 4 };
	struct w_stress *w = arg;

	while (!w->stop) {
		if (mlb_dp_set_weights(w->f->dp, w->f->vip, w->published % 2 ? B : A, 4) < 0)
			break;
		w->published++;
	}
	return NULL;
}

static void test_weights_never_half_written(void)
{
	uint32_t q[4] = {};
	struct w_stress w = {};
	int seen[4] = {}, n = 0;
	uint64_t end;
	pthread_t t;
	struct fx f;

	if (!setup(&f, 4, MLB_POLICY_MARL, 4))
		return;
	w.f = &f;
	ASSERT_GT(mlb_dp_set_weights(f.dp, f.vip, (float[4]){ 4, 1, 1, 1 }, 4), 0, "A first");
	pthread_create(&t, NULL, w_stress_writer, &w);
	end = mono_ns() + 400000000ull; /* 0.4 s: about 40 flips at the 10 ms grace time */
	while (mono_ns() < end) {
		int k = pick_once(&f, q, 4, 1024 + n % 60000);

		if (k >= 0 && k < 4)
			seen[k]++;
		n++;
	}
	w.stop = true;
	pthread_join(t, NULL);
	ASSERT_GT(w.published, 10, "the writer published many vectors");
	ASSERT_EQ(seen[1] + seen[2], 0, "never a mixed vector");
	ASSERT_EQ(seen[0] + seen[3], n, "every flow placed by A or B");
	fx_teardown(&f);
}

static const struct test_case tests[] = {
	TEST(non_vip_pass_identical),
	TEST(syn_creates_flow),
	TEST(fin_decrements_once),
	TEST(rst_decrements),
	TEST(task_duration_sample),
	TEST(fin_acking_data_ends_task),
	TEST(unknown_non_syn_falls_back),
	TEST(flow_stays_on_backend),
	TEST(draining_and_down),
	TEST(marl_argmin_8),
	TEST(marl_argmin_64),
	TEST(sed_argmin_static_weights),
	TEST(lsq_ignores_weights),
	TEST(wrapped_q_never_wins),
	TEST(ties_spread_over_all_minima),
	TEST(wcmp_proportions),
	TEST(ecmp_stable_per_flow),
	TEST(power_of_d_large_pool),
	TEST(weights_double_buffer),
	TEST(weights_never_half_written),
	TEST(ipv6_flow),
	TEST(vlan_tagged),
	TEST(malformed_and_truncated),
	TEST(ipv4_options),
	TEST(group_mac_dropped),
	TEST(traffic_stats),
	TEST(ring_full_loses_samples_not_packets),
	TEST(del_vip),
	TEST(list_vips),
	TEST(vip_filter_slots),
	TEST(bad_config_rejected),
	{},
};

int main(int argc, char **argv)
{
	return test_main(argc, argv, tests);
}
