// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE /* sched_setaffinity */
/*
 * The exact scan's cost, before and after, side by side in one run (build/bench_argmin.o):
 * ns per call of the argmin over pools of 8 to 64 backends, and the cost per backend (the
 * slope of a least-squares line through them). bpf_prog_test_run_opts' in-kernel repeat
 * loop, 64 calls per packet through bpf_loop (its call overhead is in both columns), the two
 * programs alternating, median of the rounds, one CPU. Cases:
 *   marl, all tie    weights 1.0 and q 0: every backend ties (the tie pick's worst case)
 *   marl, distinct   q and weights drawn at random: one minimum, checked against a double
 *                    computation for both programs
 *   lsq, all tie     no weight vector, q 0
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test.h"
#include "dp/dataplane.h"

#ifndef ROUNDS
#define ROUNDS 9
#endif
#define AM_CALLS 64 /* as in bench_argmin.bpf.c */
#define PACKETS 2000

struct am_in { /* as in bench_argmin.bpf.c */
	struct mlb_pool pool;
	struct mlb_queues qs;
	struct mlb_weights w;
	uint32_t n;
	uint32_t lsq;
};

enum am_case { AM_TIE, AM_DISTINCT, AM_LSQ, AM_CASES };
static const char *const case_names[AM_CASES] = { "marl, all tie", "marl, distinct",
						  "lsq, all tie" };
static const uint32_t sizes[] = { 8, 16, 32, 64 };
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))

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

/* Fills the input; returns the expected pick when it is unique, else -1. */
static int make_input(struct am_in *in, enum am_case c, uint32_t n)
{
	double best = 1e300;
	int expect = -1;

	memset(in, 0, sizeof(*in));
	in->n = n;
	in->lsq = c == AM_LSQ;
	in->pool.active[0] = n == 64 ? ~0ull : (1ull << n) - 1;
	for (uint32_t k = 0; k < MLB_MAX_BACKENDS; k++) {
		in->w.a[k] = MLB_WEIGHT_ONE;
		if (c == AM_DISTINCT && k < n) {
			in->qs.q[k] = 10 + rand() % 30;
			in->w.a[k] = MLB_WEIGHT_ONE / 2 + rand() % (3 * MLB_WEIGHT_ONE / 2);
		}
	}
	mlb_weights_derive(&in->w);
	if (c != AM_DISTINCT)
		return -1;
	for (uint32_t k = 0; k < n; k++) {
		double s = (in->qs.q[k] + 1.0) / in->w.a[k];

		if (s < best * (1 - 1e-6)) {
			best = s;
			expect = k;
		} else if (s < best * (1 + 1e-6)) {
			expect = -2; /* too close to call: draw again */
		}
	}
	return expect;
}

static int run(int prog_fd, int repeat, double *ns_per_call)
{
	uint8_t frame[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o) || o.retval != XDP_PASS)
		return -1;
	*ns_per_call = (double)o.duration / AM_CALLS;
	return 0;
}

static uint64_t sum_of(int bss_fd)
{
	uint64_t v = 0;
	uint32_t zero = 0;

	bpf_map_lookup_elem(bss_fd, &zero, &v);
	return v;
}

/* least-squares slope of y over sizes[] */
static double slope(const double *y)
{
	double mx = 0, my = 0, sxy = 0, sxx = 0;

	for (size_t i = 0; i < N_SIZES; i++) {
		mx += sizes[i] / (double)N_SIZES;
		my += y[i] / N_SIZES;
	}
	for (size_t i = 0; i < N_SIZES; i++) {
		sxy += (sizes[i] - mx) * (y[i] - my);
		sxx += (sizes[i] - mx) * (sizes[i] - mx);
	}
	return sxy / sxx;
}

int main(void)
{
	double med[AM_CASES][N_SIZES][2];
	struct bpf_object *obj;
	int fd[2], in_fd, bss_fd;
	uint32_t zero = 0;
	cpu_set_t cpu;

	CPU_ZERO(&cpu);
	CPU_SET(0, &cpu);
	sched_setaffinity(0, sizeof(cpu), &cpu);
	obj = bpf_object__open_file("build/bench_argmin.o", NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "bench_argmin: cannot load build/bench_argmin.o (make)\n");
		return 1;
	}
	fd[0] = bpf_program__fd(bpf_object__find_program_by_name(obj, "argmin_before"));
	fd[1] = bpf_program__fd(bpf_object__find_program_by_name(obj, "argmin_after"));
	in_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "am_in"));
	bss_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, ".bss"));
	srand(1);
	for (int c = 0; c < AM_CASES; c++) {
		for (size_t s = 0; s < N_SIZES; s++) {
			static struct am_in in;
			double ns[2][ROUNDS];
			int expect;

			do
				expect = make_input(&in, c, sizes[s]);
			while (expect == -2);
			if (bpf_map_update_elem(in_fd, &zero, &in, 0))
				return 1;
			for (int r = 0; r < ROUNDS; r++) {
				for (int p = 0; p < 2; p++) {
					uint64_t before = sum_of(bss_fd), want;

					if (run(fd[p], PACKETS, &ns[p][r]))
						return 1;
					want = (uint64_t)PACKETS * AM_CALLS * expect;
					if (expect >= 0 && sum_of(bss_fd) - before != want) {
						fprintf(stderr,
							"%s picked another backend than %d (%s, n %u)\n",
							p ? "after" : "before", expect,
							case_names[c], sizes[s]);
						return 1;
					}
				}
			}
			med[c][s][0] = median(ns[0], ROUNDS);
			med[c][s][1] = median(ns[1], ROUNDS);
		}
	}
	printf("exact scan, ns per call (in-kernel repeat loop, %d calls per packet through "
	       "bpf_loop,\nmedian of %d alternating rounds, one CPU; before: main at 4841092)\n\n",
	       AM_CALLS, ROUNDS);
	printf("| %-15s | %4s | %8s | %8s | %6s |\n", "case", "n", "before", "after", "ratio");
	printf("|-----------------|------|----------|----------|--------|\n");
	for (int c = 0; c < AM_CASES; c++)
		for (size_t s = 0; s < N_SIZES; s++)
			printf("| %-15s | %4u | %8.1f | %8.1f | %5.2fx |\n", case_names[c],
			       sizes[s], med[c][s][0], med[c][s][1], med[c][s][1] / med[c][s][0]);
	printf("\ncost per backend (least-squares slope over n = 8..64), ns:\n");
	for (int c = 0; c < AM_CASES; c++) {
		double b[N_SIZES], a[N_SIZES];

		for (size_t s = 0; s < N_SIZES; s++) {
			b[s] = med[c][s][0];
			a[s] = med[c][s][1];
		}
		printf("  %-15s before %.2f  after %.2f\n", case_names[c], slope(b), slope(a));
	}
	printf("unique minima checked for both programs against a double computation\n");
	bpf_object__close(obj);
	return 0;
}
