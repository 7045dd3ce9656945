// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet cost of the data plane with bpf_prog_test_run_opts in the in-kernel repeat loop,
 * beside an empty XDP program measured in the same run (alternating, median of the rounds).
 *
 * The repeat loop feeds each iteration the previous iteration's output, so every case checks
 * afterwards that it timed the path it names (verdict and counters):
 *   non-VIP      PASS, the frame is unchanged, no counter moves
 *   established  TX to the flow's backend, backend packets += repeat, no new flow
 *   new flow     the program is loaded with mlb_bench_new_flows = 1, which turns the flow key
 *                of every packet into a new one (a counter in the source port and address), so
 *                each iteration runs the full new-flow path: argmin, flow insert, q update and
 *                a new-flow sample; new_flows += repeat, no sample lost (the ring is drained
 *                between runs). The flow table is emptied between runs (and q reset), so every
 *                run inserts into a table below capacity, as in a served LB whose daemon
 *                reclaims idle flows; with BENCH_FULL_TABLE=1 it is not, and from the third
 *                round on every insert also evicts. All weights are 1.0, so
 *                q stays balanced and most candidates tie: the scan's worst case.
 *   insert alone a program that only inserts fresh keys into a copy of the flow table
 *                (build/bench_ref.o): the floor a new flow pays for the table's memory
 */
#include <stdio.h>
#include <stdlib.h>
#include "test.h"
#include "dp_fixture.h"

#ifndef ROUNDS
#define ROUNDS 9
#endif

struct bench_case {
	const char *name;
	int family, n_backends;
	bool new_flows;
	bool established;
	bool reference; /* the bare flow-table insert program, not marllb */
	int repeat;
	int backend; /* established: the flow's backend */
	struct fx fx;
	uint8_t frame[PKT_MAX];
	uint32_t len;
	double ns[ROUNDS], empty_ns[ROUNDS];
};

static uint8_t run_out[PKT_MAX];

static int run_repeat(int prog_fd, const void *frame, uint32_t len, int repeat, uint32_t *verdict,
		      double *ns)
{
	uint8_t *out = run_out;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .data_out = out,
		    .data_size_out = PKT_MAX, .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	*verdict = o.retval;
	*ns = o.duration;
	return 0;
}

static uint64_t ref_inserted(struct bpf_object *ref)
{
	struct bpf_map *bss = bpf_object__find_map_by_name(ref, ".bss");
	char val[16] = {};
	uint32_t zero = 0;
	uint64_t n;

	if (!bss || bpf_map_lookup_elem(bpf_map__fd(bss), &zero, val))
		return 0;
	memcpy(&n, val + 8, sizeof(n)); /* ref_seq (u32, padded), then ref_inserted */
	return n;
}

/* Empties a flow table (batch lookup-and-delete) so that the next run does not evict. */
static int flush_flows(int fd)
{
	static struct mlb_flow_key keys[8192];
	static struct mlb_flow vals[8192];
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u64 in = 0, out;
	bool first = true;

	if (getenv("BENCH_FULL_TABLE"))
		return 0;
	for (;;) {
		__u32 n = 8192;
		int err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in, &out, keys, vals,
							  &n, &o);

		first = false;
		if (err && errno != ENOENT)
			return -errno;
		if (err || !n)
			break;
		in = out;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int setup_case(struct bench_case *c)
{
	struct pkt_spec s;
	uint32_t verdict;
	double ns;
	int err;

	err = fx_setup_opts(&c->fx, c->family, MLB_POLICY_MARL, c->n_backends, c->new_flows);
	if (err)
		return err;
	s = c->fx.vip_spec;
	if (!c->new_flows && !c->established) /* non-VIP: same frame, another address */
		inet_pton(AF_INET, "10.0.0.200", s.dst);
	if (c->established) {
		c->len = pkt_build(&s, c->frame);
		if (run_repeat(c->fx.prog_fd, c->frame, c->len, 1, &verdict, &ns) ||
		    verdict != XDP_TX)
			return -EIO;
		c->backend = fx_backend_of(run_out);
		s.flags = PKT_ACK;
		s.ack = 5001;
	}
	c->len = pkt_build(&s, c->frame);
	return 0;
}

/* Runs one timed repeat of the case and checks it took the path it claims. */
static int time_case(struct bench_case *c, double *ns)
{
	struct mlb_stats before, after;
	struct mlb_traffic tb = {}, ta = {};
	uint32_t verdict, expect = c->new_flows || c->established ? XDP_TX : XDP_PASS;
	int err;

	mlb_dp_read_stats(c->fx.dp, &before);
	mlb_dp_read_backend_traffic(c->fx.dp, c->fx.vip, c->backend, &tb);
	err = run_repeat(c->fx.prog_fd, c->frame, c->len, c->repeat, &verdict, ns);
	if (err)
		return err;
	mlb_dp_read_stats(c->fx.dp, &after);
	fx_drain_samples(&c->fx);
	if (c->new_flows) {
		uint32_t zero_q[MLB_MAX_BACKENDS] = {};

		if (flush_flows(mlb_dp_map_fd(c->fx.dp, MLB_MAP_FLOWS)) ||
		    fx_set_q(&c->fx, c->fx.vip, zero_q, MLB_MAX_BACKENDS))
			return -EIO;
	}
	c->fx.n_samples = 0;
	if (verdict != expect) {
		fprintf(stderr, "%s: verdict %u, expected %u\n", c->name, verdict, expect);
		return -EIO;
	}
	if (after.new_flows - before.new_flows != (c->new_flows ? (uint64_t)c->repeat : 0) ||
	    after.ring_lost != before.ring_lost ||
	    memcmp(after.drops, before.drops, sizeof(after.drops))) {
		fprintf(stderr, "%s: counters show another path (new flows +%llu)\n", c->name,
			(unsigned long long)(after.new_flows - before.new_flows));
		return -EIO;
	}
	if (c->established) {
		mlb_dp_read_backend_traffic(c->fx.dp, c->fx.vip, c->backend, &ta);
		if (ta.packets - tb.packets != (uint64_t)c->repeat ||
		    fx_backend_of(run_out) != c->backend) {
			fprintf(stderr, "%s: backend %d got %llu packets, expected %d\n", c->name,
				c->backend, (unsigned long long)(ta.packets - tb.packets),
				c->repeat);
			return -EIO;
		}
	}
	return 0;
}

int main(void)
{
	struct bench_case cases[] = {
		{ .name = "non-VIP packet (IPv4 TCP)",
		  .family = 4,
		  .n_backends = 64,
		  .repeat = 200000 },
		{ .name = "established flow, IPv4",
		  .family = 4,
		  .n_backends = 64,
		  .established = true,
		  .repeat = 200000 },
		{ .name = "established flow, IPv6",
		  .family = 6,
		  .n_backends = 64,
		  .established = true,
		  .repeat = 200000 },
		{ .name = "new flow, 8 backends",
		  .family = 4,
		  .n_backends = 8,
		  .new_flows = true,
		  .repeat = 30000 },
		{ .name = "new flow, 64 backends",
		  .family = 4,
		  .n_backends = 64,
		  .new_flows = true,
		  .repeat = 30000 },
		{ .name = "new flow, 256 backends",
		  .family = 4,
		  .n_backends = 256,
		  .new_flows = true,
		  .repeat = 30000 },
	};
	int n_cases = sizeof(cases) / sizeof(cases[0]), empty_fd, ref_fd, err;
	struct bpf_object *empty, *ref;
	struct bench_case ref_case = { .name = "  flow-table insert alone", .repeat = 30000 };
	uint32_t verdict;

	empty = bpf_object__open_file("build/xdp_pass.o", NULL);
	ref = bpf_object__open_file("build/bench_ref.o", NULL);
	if (!empty || bpf_object__load(empty) || !ref || bpf_object__load(ref)) {
		fprintf(stderr,
			"bench: cannot load build/xdp_pass.o or build/bench_ref.o (make)\n");
		return 1;
	}
	empty_fd = bpf_program__fd(bpf_object__find_program_by_name(empty, "xdp_pass"));
	ref_fd = bpf_program__fd(bpf_object__find_program_by_name(ref, "lru_insert"));
	for (int i = 0; i < n_cases; i++) {
		err = setup_case(&cases[i]);
		if (err) {
			fprintf(stderr, "bench: setting up '%s' failed: %s\n", cases[i].name,
				strerror(-err));
			return 1;
		}
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < n_cases; i++) {
			struct bench_case *c = &cases[i];

			if (run_repeat(empty_fd, c->frame, c->len, c->repeat, &verdict,
				       &c->empty_ns[r]) ||
			    verdict != XDP_PASS)
				return 1;
			if (time_case(c, &c->ns[r]))
				return 1;
		}
		/* the reference: every iteration must have inserted a fresh key */
		{
			uint64_t before = ref_inserted(ref), after;

			if (run_repeat(empty_fd, cases[4].frame, cases[4].len, ref_case.repeat,
				       &verdict, &ref_case.empty_ns[r]) ||
			    run_repeat(ref_fd, cases[4].frame, cases[4].len, ref_case.repeat,
				       &verdict, &ref_case.ns[r]))
				return 1;
			after = ref_inserted(ref);
			if (flush_flows(
				    bpf_map__fd(bpf_object__find_map_by_name(ref, "ref_flows"))))
				return 1;
			if (after - before != (uint64_t)ref_case.repeat) {
				fprintf(stderr, "reference: %llu inserts, expected %d\n",
					(unsigned long long)(after - before), ref_case.repeat);
				return 1;
			}
		}
	}
	printf("marllb data plane, ns per packet (bpf_prog_test_run_opts in-kernel repeat loop,\n"
	       "median of %d alternating rounds; empty = an XDP_PASS program on the same "
	       "frame)\n\n",
	       ROUNDS);
	printf("| %-28s | %8s | %8s | %8s | %7s | %8s |\n", "case", "marllb", "empty", "minus",
	       "ratio", "min");
	printf("|------------------------------|----------|----------|----------|---------|"
	       "----------|\n");
	for (int i = 0; i <= n_cases; i++) {
		struct bench_case *c = i < n_cases ? &cases[i] : &ref_case;
		double m = median(c->ns, ROUNDS), e = median(c->empty_ns, ROUNDS);

		/* sorted by median(): [0] is the fastest round */
		printf("| %-28s | %8.1f | %8.1f | %8.1f | %6.1fx | %8.1f |\n", c->name, m, e, m - e,
		       m / e, c->ns[0]);
	}
	printf("\nmarllb, empty: medians; min: marllb's fastest round\n"
	       "paths verified after every run: verdicts, new-flow/drop/ring-loss counters\n"
	       "\"flow-table insert alone\": a program that only inserts a fresh 5-tuple into a "
	       "map\n"
	       "defined like mlb_flows (build/bench_ref.o): the part of a new flow that is the\n"
	       "table's memory traffic on this machine\n");
	for (int i = 0; i < n_cases; i++)
		fx_teardown(&cases[i].fx);
	bpf_object__close(empty);
	bpf_object__close(ref);
	return 0;
}
