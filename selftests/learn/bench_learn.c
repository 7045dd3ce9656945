// SPDX-License-Identifier: GPL-2.0
/*
 * Speed of the learning core, measured in this run (nothing here is a typed-in figure):
 *
 *  - one LB's control step (agent_step: encoder and actor over the pool, greedy) for pools of
 *    N = 7, 20, 64 servers;
 *  - one full SAC update (encoder and target encoder, actor, twin critics and their targets,
 *    alpha) with the default batch (windows drawn until their pools hold 256 server rows,
 *    16-step windows, burn-in 6), replay filled from pools of N servers.
 *
 * OpenBLAS runs on one thread (matmul_init). Each figure is the best of ROUNDS rounds; wall
 * time, and in brackets this thread's CPU time, which a busy machine inflates less.
 *
 * Then the burn-in gap: replay windows start from a zero recurrent state and warm it up over
 * the burn-in steps, while the acting agent carried its state through the whole episode. For
 * the model given (default models/marllb.model when it exists, else new parameters) on a
 * random-walk observation stream, the relative L2 distance between the two states after b
 * burn-in steps, for several b: what the training windows see against what the policy saw.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "learn/agent_impl.h"
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
#define F AGENT_FEATURES

static void random_obs(struct rng *rng, float *obs, int n)
{
	for (int i = 0; i < n * F; i++)
		obs[i] = rng_normal(rng);
}

static void bench_pool(int n)
{
	static float obs[AGENT_MAX_SERVERS * F];
	float w[AGENT_MAX_SERVERS];
	double step_w = INFINITY, step_c = INFINITY, upd_w = INFINITY, upd_c = INFINITY;
	struct agent_config cfg;
	struct agent *ag;
	struct rng rng;
	int steps = 2000, updates = 20;

	agent_config_default(&cfg);
	cfg.max_servers = n;
	cfg.warmup_steps = 0;
	ag = agent_create(&cfg);
	if (!ag) {
		printf("%-4d cannot create the agent\n", n);
		return;
	}
	rng_seed(&rng, 1);
	for (int s = 0; s < 400; s++) {
		random_obs(&rng, obs, n);
		agent_step(ag, 0, obs, n, rng_normal(&rng), NULL, AGENT_EXPLORE | AGENT_RECORD, w);
	}
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_s(), c0 = cpu_s();

		for (int s = 0; s < steps; s++)
			agent_step(ag, 0, obs, n, 0, NULL, 0, w);
		step_w = fmin(step_w, (now_s() - t0) / steps);
		step_c = fmin(step_c, (cpu_s() - c0) / steps);
		t0 = now_s(), c0 = cpu_s();
		agent_train(ag, updates, NULL);
		upd_w = fmin(upd_w, (now_s() - t0) / updates);
		upd_c = fmin(upd_c, (cpu_s() - c0) / updates);
	}
	printf("%-4d %10.1f %10.1f %11.2f %10.2f %8d\n", n, step_w * 1e6, step_c * 1e6, upd_w * 1e3,
	       upd_c * 1e3, ag->sb.rows);
	agent_free(ag);
}

/* Relative distance between the carried state and the one warmed from zero over b steps. */
static void burn_in_gap(const char *model)
{
	const int n = 7, history = 200, bs[] = { 0, 2, 4, 6, 8, 12, 16 };
	static float stream[300][7 * F];
	struct agent *carried, *warmed;
	struct agent_config cfg;
	char err[256];
	struct rng rng;

	if (model && access(model, R_OK) == 0) {
		carried = agent_load(model, 1, n, err, sizeof(err));
		warmed = agent_load(model, 1, n, err, sizeof(err));
		if (!carried || !warmed) {
			printf("burn-in gap: %s\n", err);
			return;
		}
	} else {
		agent_config_default(&cfg);
		cfg.max_servers = n;
		carried = agent_create(&cfg);
		warmed = agent_create(&cfg);
		model = "new parameters";
	}
	printf("\nburn-in gap (%s, N = %d, the default burn-in is %d steps):\n", model, n,
	       agent_config(carried)->burn_in);
	printf("%8s %22s\n", "burn-in", "|h_warmed - h| / |h|");
	/* a slowly drifting observation stream, like a pool's features */
	rng_seed(&rng, 3);
	random_obs(&rng, stream[0], n);
	for (int t = 1; t < history + 16; t++)
		for (int i = 0; i < n * F; i++)
			stream[t][i] = 0.9f * stream[t - 1][i] + 0.3f * rng_normal(&rng);
	for (size_t i = 0; i < sizeof(bs) / sizeof(bs[0]); i++) {
		int b = bs[i];
		float w[7];
		double diff = 0, norm = 0;

		agent_reset_state(carried);
		agent_reset_state(warmed);
		for (int t = 0; t < history; t++)
			agent_step(carried, 0, stream[t], n, 0, NULL, 0, w);
		for (int t = history - b; t < history; t++)
			agent_step(warmed, 0, stream[t], n, 0, NULL, 0, w);
		for (int j = 0; j < n * agent_config(carried)->hidden; j++) {
			double d = warmed->lanes[0].h[j] - carried->lanes[0].h[j];

			diff += d * d;
			norm += (double)carried->lanes[0].h[j] * carried->lanes[0].h[j];
		}
		printf("%8d %22.4f\n", b, sqrt(diff / fmax(norm, 1e-30)));
	}
	agent_free(carried);
	agent_free(warmed);
}

int main(int argc, char **argv)
{
	const int pools[] = { 7, 20, 64 };

	printf("learn: hidden 32, %d features per server, one OpenBLAS thread, best of %d "
	       "rounds\n",
	       F, ROUNDS);
	printf("%-4s %10s %10s %11s %10s %8s\n", "N", "step us", "(cpu us)", "update ms",
	       "(cpu ms)", "rows");
	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++)
		bench_pool(pools[i]);
	burn_in_gap(argc > 1 ? argv[1] : "models/marllb.model");
	return 0;
}
