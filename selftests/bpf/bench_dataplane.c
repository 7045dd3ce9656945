// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE /* sched_setaffinity */
/*
 * Per-packet cost of the data plane with bpf_prog_test_run_opts in the in-kernel repeat loop,
 * beside an empty XDP program measured in the same run (alternating, median of the rounds).
 * The process stays on one CPU: the flow tables' LRU lists are per CPU. Tables have their
 * default sizes.
 *
 * The repeat loop feeds each iteration the previous iteration's output, so every case checks
 * afterwards that it timed the path it names (verdict and counters). The new-flow cases load
 * the program with mlb_bench_new_flows = 1, which turns the flow key of every packet into a
 * new one (a counter in the source port and address):
 *   non-VIP         PASS, the frame unchanged, no counter moves
 *   established     TX to the flow's backend, its packets += repeat, no new flow
 *   new flow        a SYN of a never-seen 5-tuple: argmin, the half-open insert; all weights
 *                   1.0 and q 0, so every candidate ties: the scan's worst case.
 *                   empty: the half-open table holds every round's inserts (never flushed,
 *                   never full); full: filled to capacity first, so every insert evicts
 *   beyond budget   a SYN of a never-seen 5-tuple once the SYN budget is spent: placed by the
 *                   consistent hash, no insert
 *   handshake ACK   the ACK that completes a half-open flow's handshake (entries made ahead,
 *                   untimed): insert into mlb_flows, q + 1, the new-flow sample, the
 *                   half-open entry deleted
 *   no entry        an ACK of a 5-tuple with no entry: the consistent-hash fallback
 *   insert alone    reference programs (build/bench_ref.o) that only insert fresh keys into
 *                   copies of the tables (LRU empty and full, hash): the floor a new flow pays
 *                   for the table's memory
 *   forwarding      established and new flows in dsr-l2, ipip and gue, loaded with
 *                   mlb_bench_encap_undo = 1: an encapsulated packet is stripped again before
 *                   the program returns, so that the next run gets the same packet; the
 *                   stripping (a bpf_xdp_adjust_head and an Ethernet header) is timed with the
 *                   encapsulation, so the difference to dsr-l2 (loaded alike) is an upper bound
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "test.h"
#include "dp_fixture.h"

#ifndef ROUNDS
#define ROUNDS 9
#endif
#define NEW_FLOW_REPEAT 10000 /* x ROUNDS stays below a CPU's share of an empty table */

enum bench_kind {
	B_NON_VIP,
	B_ESTABLISHED,
	B_SYN,
	B_SYN_STATELESS,
	B_HANDSHAKE,
	B_NO_ENTRY,
	B_REF_LRU,
	B_REF_HASH,
	B_REF_HEAD,
};

struct bench_case {
	const char *name;
	enum bench_kind kind;
	int family, n_backends;
	bool full; /* its LRU table is full: every insert evicts */
	int repeat;
	int backend; /* established: the flow's backend */
	uint32_t mode; /* enum mlb_fwd_mode */
	bool undo; /* loaded with mlb_bench_encap_undo */
	struct fx fx; /* marllb cases */
	struct bpf_object *ref; /* reference cases */
	int run_fd, bss_fd;
	uint8_t frame[PKT_MAX];
	uint32_t len;
	double ns[ROUNDS], empty_ns[ROUNDS];
};

static uint8_t run_out[PKT_MAX];

static bool is_ref(const struct bench_case *c)
{
	return c->kind == B_REF_LRU || c->kind == B_REF_HASH || c->kind == B_REF_HEAD;
}

static bool new_keys(const struct bench_case *c)
{
	return c->kind == B_SYN || c->kind == B_SYN_STATELESS || c->kind == B_HANDSHAKE ||
	       c->kind == B_NO_ENTRY;
}

static int run_repeat(int prog_fd, const void *frame, uint32_t len, int repeat, uint32_t *verdict,
		      double *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .data_out = run_out, .data_size_out = PKT_MAX, .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	*verdict = o.retval;
	*ns = o.duration;
	return 0;
}

/* The .bss map of a loaded program (marllb's mlb_bench_seq, a reference's counters). */
static int prog_bss_fd(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[32];

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) || info.nr_map_ids > 32)
		return -1;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 32;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -1;
	for (__u32 i = 0; i < info.nr_map_ids; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &mi, &mlen) && strstr(mi.name, ".bss"))
			return fd;
		if (fd >= 0)
			close(fd);
	}
	return -1;
}

/* bss word at off: marllb's mlb_bench_seq (0); a reference's ref_seq (0), ref_inserted (8) */
static uint64_t bss_read(int fd, int off, int size)
{
	char val[64] = {};
	uint32_t zero = 0;
	uint64_t v = 0;

	bpf_map_lookup_elem(fd, &zero, val);
	memcpy(&v, val + off, size);
	return v;
}

/* Half-open entries for the next n keys the knob will make: what their ACKs complete. */
static int make_half_open(struct bench_case *c, int n)
{
	static struct mlb_flow_key keys[NEW_FLOW_REPEAT];
	static struct mlb_flow vals[NEW_FLOW_REPEAT];
	uint32_t seq = bss_read(c->bss_fd, 0, 4), count = n;
	struct mlb_flow_key base = fx_key(&c->fx.vip_spec);
	LIBBPF_OPTS(bpf_map_batch_opts, o);

	for (int i = 0; i < n; i++) {
		keys[i] = base;
		keys[i].sport = (uint16_t)(seq + i); /* as the knob: raw, no byte swap */
		keys[i].src[3] ^= (seq + i) >> 16;
		vals[i] = (struct mlb_flow){ .vip_id = c->fx.vip,
					     .backend = i % c->n_backends,
					     .state = MLB_FLOW_SYN };
	}
	return bpf_map_update_batch(mlb_dp_map_fd(c->fx.dp, MLB_MAP_HALF_OPEN), keys, vals, &count,
				    &o);
}

static int setup_ref(struct bench_case *c, struct bench_case *like)
{
	const char *prog = c->kind == B_REF_LRU	 ? "lru_insert" :
			   c->kind == B_REF_HASH ? "hash_insert" :
						   "head_pair";
	struct bpf_map *lru, *hash;

	c->ref = bpf_object__open_file("build/bench_ref.o", NULL);
	if (!c->ref)
		return -errno;
	lru = bpf_object__find_map_by_name(c->ref, "ref_lru");
	hash = bpf_object__find_map_by_name(c->ref, "ref_hash");
	if (!lru || !hash || bpf_map__set_max_entries(lru, MLB_HALF_OPEN_TABLE_DEFAULT) ||
	    bpf_map__set_max_entries(hash, MLB_FLOW_TABLE_DEFAULT) || bpf_object__load(c->ref))
		return -EINVAL;
	c->run_fd = bpf_program__fd(bpf_object__find_program_by_name(c->ref, prog));
	c->bss_fd = bpf_map__fd(bpf_object__find_map_by_name(c->ref, ".bss"));
	memcpy(c->frame, like->frame, like->len); /* any frame: the program ignores it */
	c->len = like->len;
	return 0;
}

/* Fills the LRU the case inserts into, on this CPU, so that every later insert evicts. */
static int fill(struct bench_case *c)
{
	int share = MLB_HALF_OPEN_TABLE_DEFAULT / libbpf_num_possible_cpus();
	uint32_t verdict;
	double ns;

	return run_repeat(c->run_fd, c->frame, c->len, share + 10000, &verdict, &ns);
}

/* A handshake; the backend from the flow table (the output's MAC is not the backend's when
 * the encapsulation is stripped again). */
static int open_flow(struct fx *f, struct pkt_spec s)
{
	struct mlb_flow_key key = fx_key(&s);
	struct mlb_flow flow;

	s.flags = PKT_SYN;
	if (fx_run(f, &s, NULL, NULL) != XDP_TX)
		return -1;
	s.flags = PKT_ACK;
	s.ack = 7001;
	if (fx_run(f, &s, NULL, NULL) != XDP_TX || mlb_dp_lookup_flow(f->dp, &key, &flow, NULL))
		return -1;
	return flow.backend;
}

/* The case's VIP in its mode: backends of its family (4 in 4, 6 in 6), prefixes as sources. */
static int set_mode(struct bench_case *c)
{
	struct mlb_vip_cfg vc = { .family = c->family == 4 ? MLB_AF_INET : MLB_AF_INET6,
				  .port = 80,
				  .policy = MLB_POLICY_MARL,
				  .fwd = { .mode = c->mode } };
	int err = 0;

	memcpy(vc.addr, c->fx.vip_spec.dst, 16);
	for (int k = 0; !err && c->family == 6 && k < c->n_backends; k++) {
		struct mlb_backend_cfg b = { .family = MLB_AF_INET6,
					     .state = MLB_BACKEND_ACTIVE,
					     .weight = 1 };

		inet_pton(AF_INET6, "fd00:1::", b.addr);
		b.addr[14] = k >> 8;
		b.addr[15] = k;
		fx_backend_mac(k, b.mac);
		err = mlb_dp_set_backend(c->fx.dp, c->fx.vip, k, &b);
	}
	if (!err)
		err = mlb_fwd_source_parse(&vc.fwd, "10.200.0.0/24");
	if (!err)
		err = mlb_fwd_source_parse(&vc.fwd, "fd00:200::/112");
	return err ? err : mlb_dp_set_vip(c->fx.dp, &vc, NULL);
}

static int setup_case(struct bench_case *c, struct bench_case *like)
{
	struct mlb_dp_opts o = { .bench_new_flows = new_keys(c), .bench_encap_undo = c->undo };
	struct pkt_spec s;
	int err;

	if (is_ref(c))
		err = setup_ref(c, like);
	else
		err = fx_setup_opts(&c->fx, c->family, MLB_POLICY_MARL, c->n_backends, &o);
	if (!err && c->mode != MLB_FWD_DSR_L2)
		err = set_mode(c);
	if (err)
		return err;
	if (is_ref(c))
		return c->full ? fill(c) : 0;
	c->run_fd = c->fx.prog_fd;
	c->bss_fd = prog_bss_fd(c->run_fd);
	if (new_keys(c) && c->bss_fd < 0)
		return -ENOENT;
	s = c->fx.vip_spec;
	switch (c->kind) {
	case B_NON_VIP: /* the same frame, another address */
		inet_pton(AF_INET, "10.0.0.200", s.dst);
		break;
	case B_ESTABLISHED:
		c->backend = c->undo ? open_flow(&c->fx, s) : fx_open(&c->fx, s);
		if (c->backend < 0)
			return -EIO;
		s.flags = PKT_ACK | PKT_PSH;
		s.ack = 7001; /* acknowledges nothing new: the task timer waits */
		break;
	case B_SYN_STATELESS:
		err = mlb_dp_set_syn_budget(c->fx.dp, 1);
		break;
	case B_HANDSHAKE:
	case B_NO_ENTRY:
		s.flags = PKT_ACK;
		s.ack = 7001;
		break;
	default:
		break;
	}
	c->len = pkt_build(&s, c->frame);
	if (!err && c->full)
		err = fill(c);
	return err;
}

static uint64_t stat_of(const struct bench_case *c, const struct mlb_stats *st)
{
	switch (c->kind) {
	case B_SYN:
		return st->new_flows - st->syn_stateless;
	case B_SYN_STATELESS:
		return st->syn_stateless;
	case B_HANDSHAKE:
		return st->established;
	case B_NO_ENTRY:
		return st->fallback;
	default:
		return st->new_flows + st->established + st->fallback;
	}
}

/* The counters a timed run is checked against. */
struct path_snap {
	struct mlb_stats st;
	struct mlb_traffic be;
	uint64_t ref;
};

static void path_begin(struct bench_case *c, struct path_snap *b)
{
	if (is_ref(c)) {
		b->ref = bss_read(c->bss_fd, 8, 8);
		return;
	}
	mlb_dp_read_stats(c->fx.dp, &b->st);
	mlb_dp_read_backend_traffic(c->fx.dp, c->fx.vip, c->backend, &b->be);
}

/* Did the c->repeat packets since b take the path the case names? */
static int path_check(struct bench_case *c, const struct path_snap *b, uint32_t verdict)
{
	uint32_t expect = c->kind == B_NON_VIP ? XDP_PASS : XDP_TX;
	struct mlb_traffic ta = {};
	struct mlb_stats after;
	uint64_t want, got;

	if (is_ref(c)) {
		got = bss_read(c->bss_fd, 8, 8) - b->ref;
		if (got == (uint64_t)c->repeat)
			return 0;
		fprintf(stderr, "%s: %llu inserts, expected %d\n", c->name, (unsigned long long)got,
			c->repeat);
		return -EIO;
	}
	mlb_dp_read_stats(c->fx.dp, &after);
	fx_drain_samples(&c->fx);
	c->fx.n_samples = 0;
	if (verdict != expect) {
		fprintf(stderr, "%s: verdict %u, expected %u\n", c->name, verdict, expect);
		return -EIO;
	}
	want = c->kind == B_NON_VIP || c->kind == B_ESTABLISHED ? 0 : c->repeat;
	got = stat_of(c, &after) - stat_of(c, &b->st);
	/* beyond the budget, the first SYN of each 67 ms window still gets an entry */
	if ((c->kind == B_SYN_STATELESS ? got + 100 < want : got != want) ||
	    after.ring_lost != b->st.ring_lost ||
	    memcmp(after.drops, b->st.drops, sizeof(after.drops))) {
		fprintf(stderr, "%s: counters show another path (%llu of %llu)\n", c->name,
			(unsigned long long)got, (unsigned long long)want);
		return -EIO;
	}
	if (c->kind == B_ESTABLISHED) {
		mlb_dp_read_backend_traffic(c->fx.dp, c->fx.vip, c->backend, &ta);
		if (ta.packets - b->be.packets != (uint64_t)c->repeat ||
		    (!c->undo && fx_backend_of(run_out) != c->backend)) {
			fprintf(stderr, "%s: backend %d got %llu packets, expected %d\n", c->name,
				c->backend, (unsigned long long)(ta.packets - b->be.packets),
				c->repeat);
			return -EIO;
		}
	}
	return 0;
}

/* Runs one timed repeat of the case and checks it took the path it claims. */
static int time_case(struct bench_case *c, double *ns)
{
	struct path_snap b;
	uint32_t verdict;
	int err;

	if (c->kind == B_HANDSHAKE && make_half_open(c, c->repeat))
		return -EIO;
	path_begin(c, &b);
	err = run_repeat(c->run_fd, c->frame, c->len, c->repeat, &verdict, ns);
	return err ? err : path_check(c, &b, verdict);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return s[n / 2];
}

static double minimum(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

/* median over the rounds of (a - b), each round's pair measured side by side */
static double median_diff(const struct bench_case *a, const struct bench_case *b)
{
	double d[ROUNDS];

	for (int r = 0; r < ROUNDS; r++)
		d[r] = a->ns[r] - b->ns[r];
	return median(d, ROUNDS);
}

int main(void)
{
	struct bench_case cases[] = {
		{ "non-VIP packet (IPv4 TCP)", B_NON_VIP, 4, 64, false, 200000 },
		{ "established flow, IPv4", B_ESTABLISHED, 4, 64, false, 200000 },
		{ "established flow, IPv6", B_ESTABLISHED, 6, 64, false, 200000 },
		{ "new flow, 8 backends", B_SYN, 4, 8, false, NEW_FLOW_REPEAT },
		{ "new flow, 64 backends", B_SYN, 4, 64, false, NEW_FLOW_REPEAT },
		{ "new flow, 256 backends", B_SYN, 4, 256, false, NEW_FLOW_REPEAT },
		{ "new flow, 64, full table", B_SYN, 4, 64, true, NEW_FLOW_REPEAT },
		{ "  LRU insert alone, empty", B_REF_LRU, 4, 0, false, NEW_FLOW_REPEAT },
		{ "  LRU insert alone, full", B_REF_LRU, 4, 0, true, NEW_FLOW_REPEAT },
		{ "new flow beyond SYN budget", B_SYN_STATELESS, 4, 64, false, NEW_FLOW_REPEAT },
		{ "handshake ACK (counted)", B_HANDSHAKE, 4, 64, false, NEW_FLOW_REPEAT },
		{ "  hash insert alone", B_REF_HASH, 4, 0, false, NEW_FLOW_REPEAT },
		{ "no entry: hash fallback", B_NO_ENTRY, 4, 64, false, NEW_FLOW_REPEAT },
	/* the forwarding modes, each loaded with mlb_bench_encap_undo */
#define FWD_CASE(name, kind, family, fwd, repeat) \
	{ name, kind, family, 64, false, repeat, .mode = fwd, .undo = true }
		FWD_CASE("established v4 dsr-l2 (u)", B_ESTABLISHED, 4, MLB_FWD_DSR_L2, 200000),
		FWD_CASE("established v4 ipip (u)", B_ESTABLISHED, 4, MLB_FWD_IPIP, 200000),
		FWD_CASE("established v4 gue (u)", B_ESTABLISHED, 4, MLB_FWD_GUE, 200000),
		FWD_CASE("established v6 dsr-l2 (u)", B_ESTABLISHED, 6, MLB_FWD_DSR_L2, 200000),
		FWD_CASE("established v6 ipip (u)", B_ESTABLISHED, 6, MLB_FWD_IPIP, 200000),
		FWD_CASE("established v6 gue (u)", B_ESTABLISHED, 6, MLB_FWD_GUE, 200000),
		FWD_CASE("new flow 64 dsr-l2 (u)", B_SYN, 4, MLB_FWD_DSR_L2, NEW_FLOW_REPEAT),
		FWD_CASE("new flow 64 ipip (u)", B_SYN, 4, MLB_FWD_IPIP, NEW_FLOW_REPEAT),
		FWD_CASE("new flow 64 gue (u)", B_SYN, 4, MLB_FWD_GUE, NEW_FLOW_REPEAT),
#undef FWD_CASE
		{ "  adjust_head pair alone", B_REF_HEAD, 4, 0, false, 200000 },
	};
	enum {
		SYN8 = 3,
		SYN64 = 4,
		SYN64_FULL = 6,
		REF_EMPTY,
		REF_FULL,
		HANDSHAKE = 10,
		REF_HASH,
		FWD = 13 /* the first forwarding row: established v4 dsr-l2 */,
		REF_HEAD = FWD + 9
	};
	int n_cases = sizeof(cases) / sizeof(cases[0]), empty_fd, err;
	struct bpf_object *empty;
	uint32_t verdict;
	cpu_set_t cpu;

	CPU_ZERO(&cpu);
	CPU_SET(0, &cpu);
	if (sched_setaffinity(0, sizeof(cpu), &cpu))
		fprintf(stderr, "bench: cannot stay on CPU 0: %s\n", strerror(errno));
	empty = bpf_object__open_file("build/xdp_pass.o", NULL);
	if (!empty || bpf_object__load(empty)) {
		fprintf(stderr, "bench: cannot load build/xdp_pass.o (make)\n");
		return 1;
	}
	empty_fd = bpf_program__fd(bpf_object__find_program_by_name(empty, "xdp_pass"));
	for (int i = 0; i < n_cases; i++) {
		err = setup_case(&cases[i], &cases[SYN64]);
		if (err) {
			fprintf(stderr, "bench: setting up '%s' failed: %s (make?)\n",
				cases[i].name, strerror(-err));
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
	}
	printf("marllb data plane, ns per packet (bpf_prog_test_run_opts in-kernel repeat loop,\n"
	       "median of %d alternating rounds, one CPU; empty = an XDP_PASS program on the same "
	       "frame;\ntables of the default sizes: %u counted, %u half-open)\n\n",
	       ROUNDS, MLB_FLOW_TABLE_DEFAULT, MLB_HALF_OPEN_TABLE_DEFAULT);
	printf("| %-28s | %8s | %8s | %8s | %7s | %8s |\n", "case", "marllb", "empty", "minus",
	       "ratio", "min");
	printf("|------------------------------|----------|----------|----------|---------|"
	       "----------|\n");
	for (int i = 0; i < n_cases; i++) {
		struct bench_case *c = &cases[i];
		double m = median(c->ns, ROUNDS), e = median(c->empty_ns, ROUNDS);

		printf("| %-28s | %8.1f | %8.1f | %8.1f | %6.1fx | %8.1f |\n", c->name, m, e, m - e,
		       m / e, minimum(c->ns, ROUNDS));
	}
	printf("\nmarllb's own part of a new flow (64 backends), median of the rounds' differences:\n"
	       "  empty table: new flow - LRU insert alone = %.1f ns\n"
	       "  full table:  new flow - LRU insert alone = %.1f ns (both evicting)\n"
	       "  handshake ACK - hash insert alone = %.1f ns\n"
	       "  exact scan, per backend: (64 backends - 8) / 56 = %.2f ns\n",
	       median_diff(&cases[SYN64], &cases[REF_EMPTY]),
	       median_diff(&cases[SYN64_FULL], &cases[REF_FULL]),
	       median_diff(&cases[HANDSHAKE], &cases[REF_HASH]),
	       median_diff(&cases[SYN64], &cases[SYN8]) / 56);
	{
		/* one bpf_xdp_adjust_head: half the reference pair over the empty program */
		double head[ROUNDS], est[4], nf[2];
		const int est_rows[4][2] = { { 1, 0 }, { 2, 0 }, { 4, 3 }, { 5, 3 } };

		for (int r = 0; r < ROUNDS; r++)
			head[r] = (cases[REF_HEAD].ns[r] - cases[REF_HEAD].empty_ns[r]) / 2;
		for (int i = 0; i < 4; i++)
			est[i] = median_diff(&cases[FWD + est_rows[i][0]],
					     &cases[FWD + est_rows[i][1]]);
		nf[0] = median_diff(&cases[FWD + 7], &cases[FWD + 6]);
		nf[1] = median_diff(&cases[FWD + 8], &cases[FWD + 6]);
		printf("\nencapsulation over dsr-l2 (both loaded with mlb_bench_encap_undo), median of the "
		       "rounds' differences;\nin brackets: minus the stripping's bpf_xdp_adjust_head "
		       "(half the reference pair: %.1f ns)\n"
		       "  established IPv4: ipip %+.1f (%+.1f) ns, gue %+.1f (%+.1f) ns\n"
		       "  established IPv6: ipip %+.1f (%+.1f) ns, gue %+.1f (%+.1f) ns\n"
		       "  new flow (64 backends): ipip %+.1f ns, gue %+.1f ns\n",
		       median(head, ROUNDS), est[0], est[0] - median(head, ROUNDS), est[1],
		       est[1] - median(head, ROUNDS), est[2], est[2] - median(head, ROUNDS), est[3],
		       est[3] - median(head, ROUNDS), nf[0], nf[1]);
	}
	printf("\nmarllb, empty: medians; min: marllb's fastest round; (u): loaded with "
	       "mlb_bench_encap_undo\n"
	       "paths verified after every run: verdicts and the counters of each path\n");
	for (int i = 0; i < n_cases; i++) {
		if (is_ref(&cases[i]))
			bpf_object__close(cases[i].ref);
		else
			fx_teardown(&cases[i].fx);
	}
	bpf_object__close(empty);
	return 0;
}
