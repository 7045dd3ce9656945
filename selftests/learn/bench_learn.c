// SPDX-License-Identifier: GPL-2.0
/*
 * Speed of the learning core for N = 7 servers, obs = 6N + 5 + N = 54: one full SAC update
 * (both critics, actor, alpha, targets) on batch x 16-step sequences, and one agent_step
 * (normalise, record, one GRU step, sample, map to weights). PyTorch 1.13 figures are the
 * issue's measurements of the same configurations on one thread of this machine.
 * OpenBLAS runs on one thread (matmul_init). Each figure is the best of 5 rounds (about
 * 0.3 s of updates and 0.1 s of steps each); wall time, and in brackets this thread's CPU
 * time, which a busy machine inflates less. Speed-ups are on wall time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "learn/agent.h"
#include "learn/rng.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* This thread's CPU time: what the work costs, whatever else the machine runs. */
static double cpu_s(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

#define ROUNDS 5

struct bench_cfg {
	int hidden, batch;
	double torch_ms, torch_us;
};

int main(void)
{
	static const struct bench_cfg cfgs[] = { { 64, 32, 30.9, 57 },
						 { 128, 32, 64, 91 },
						 { 512, 12, 1320, 483 } };
	const int N = 7, O = 54;
	struct rng rng;

	printf("learn: N=%d obs=%d seq=16 (burn-in 4), one OpenBLAS thread, best of %d rounds\n", N,
	       O, ROUNDS);
	printf("%-6s %-5s %10s %10s %9s %8s %10s %10s %9s %8s\n", "hidden", "batch", "update ms",
	       "(cpu ms)", "torch ms", "speed-up", "step us", "(cpu us)", "torch us", "speed-up");
	for (size_t c = 0; c < sizeof(cfgs) / sizeof(cfgs[0]); c++) {
		struct agent_config cfg;
		struct agent *ag;
		float obs[O], w[N];
		uint8_t mask[N];
		double t0, c0, upd_ms, step_us, upd_cpu_ms, step_cpu_us;

		agent_config_default(&cfg, N, O);
		cfg.hidden = cfgs[c].hidden;
		cfg.batch = cfgs[c].batch;
		cfg.warmup_steps = 0;
		cfg.replay_capacity = 4096;
		ag = agent_create(&cfg);
		if (!ag) {
			perror("agent_create");
			return 1;
		}
		rng_seed(&rng, 1);
		for (int k = 0; k < N; k++)
			mask[k] = 1;
		for (int s = 0; s < 1000; s++) {
			for (int i = 0; i < O; i++)
				obs[i] = rng_normal(&rng);
			agent_step(ag, obs, rng_normal(&rng), mask, true, w);
		}
		agent_train(ag, 2, NULL); /* first touches of the work buffers */
		/* Best of ROUNDS rounds: the fastest round is the one least disturbed by
		 * whatever else runs on the machine. */
		upd_ms = step_us = upd_cpu_ms = step_cpu_us = INFINITY;
		for (int round = 0; round < ROUNDS; round++) {
			int n_upd = 0, n_steps = 0;

			t0 = now_s();
			c0 = cpu_s();
			do {
				n_upd += agent_train(ag, 1, NULL);
			} while (now_s() - t0 < 0.3 || n_upd < 3);
			upd_ms = fmin(upd_ms, (now_s() - t0) * 1e3 / n_upd);
			upd_cpu_ms = fmin(upd_cpu_ms, (cpu_s() - c0) * 1e3 / n_upd);

			t0 = now_s();
			c0 = cpu_s();
			do {
				for (int r = 0; r < 100; r++, n_steps++) {
					obs[n_steps % O] += 0.01f;
					agent_step(ag, obs, 0.5f, mask, true, w);
				}
			} while (now_s() - t0 < 0.1);
			step_us = fmin(step_us, (now_s() - t0) * 1e6 / n_steps);
			step_cpu_us = fmin(step_cpu_us, (cpu_s() - c0) * 1e6 / n_steps);
		}

		printf("%-6d %-5d %10.2f %10.2f %9.1f %7.1fx %10.2f %10.2f %9.0f %7.1fx\n",
		       cfg.hidden, cfg.batch, upd_ms, upd_cpu_ms, cfgs[c].torch_ms,
		       cfgs[c].torch_ms / upd_ms, step_us, step_cpu_us, cfgs[c].torch_us,
		       cfgs[c].torch_us / step_us);
		agent_free(ag);
	}
	return 0;
}
