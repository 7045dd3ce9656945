// SPDX-License-Identifier: GPL-2.0
/*
 * Learning tests with fixed seeds and a fixed number of updates (seconds in all). Pools of
 * 3 servers; every server's feature 0 carries its own context c_k ~ U(-1, 1), feature 1 is 1;
 * the rest are 0. l_k is the centred log-weight the agent writes (log of its weight).
 *
 * bandit: the reward is -sum_k (l_k - l*_k)^2 with l*_k = 0.8 (c_k - mean c): what a server
 *   deserves depends on its own context and on the others' (the pooled mean). The learned
 *   greedy l must end within BANDIT_TOL of l* on average over fresh contexts. gamma = 0.5 so
 *   the bootstrapped targets take part though the best action does not depend on them.
 *
 * imitation: reward 0 everywhere, a teacher gives l*: the imitation term alone must teach
 *   it (the path a privileged teacher uses in the simulator).
 *
 * memory: periods of 4 steps; the first step shows a cue c = +-1 in server 0's feature 2 and
 *   -c in server 1's (server 2 sees 0), the next three show noise there (the phase is in
 *   features 3..6); every action earns -sum_k (l_k - 0.6 c s_k)^2 with s = (1, -1, 0).
 *   Scored on the last step of each period, three steps after the cue: only a memory can do
 *   better than l = 0. The GRU agent must get below MEMORY_TOL, the same agent with its
 *   recurrence cut must stay above MEMORY_CUT_MIN.
 *
 * Breaking the update on purpose (the actor's gradient sign) fails the bandit; gradient
 * errors are caught first, and more sharply, by test_learn_layers and test_learn_agent.
 */
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "learn/agent_impl.h"

#define N 3
#define F AGENT_FEATURES
#define BANDIT_TOL 0.12 /* mean |l - l*| (l* spans about +-1) */
#define IMITATION_TOL 0.08
#define MEMORY_TOL 0.2 /* mean |l - l*| on the scored step; l = 0 scores 0.4 */
#define MEMORY_CUT_MIN 0.3

static uint64_t seed_base; /* LEARN_SEED moves every seed: to check the margins by hand */

static void bandit_config(struct agent_config *cfg)
{
	agent_config_default(cfg);
	cfg->max_servers = N;
	cfg->hidden = 32, cfg->seq_len = 4, cfg->burn_in = 1, cfg->batch_rows = 96;
	cfg->warmup_steps = 256, cfg->lr = 1e-3f, cfg->gamma = 0.5f, cfg->tau = 0.05f;
	cfg->seed = seed_base + 3;
}

static void contexts(struct rng *env, float *obs, float *best)
{
	float mean = 0;

	memset(obs, 0, N * F * sizeof(float));
	for (int k = 0; k < N; k++) {
		obs[k * F] = 2.0f * rng_uniform(env) - 1.0f;
		obs[k * F + 1] = 1.0f;
		mean += obs[k * F] / N;
	}
	for (int k = 0; k < N; k++)
		best[k] = 0.8f * (obs[k * F] - mean);
}

/* Trains on contexts for steps steps, returns the mean |l - l*| of the greedy policy. */
static float context_task(struct agent *ag, int steps, bool teach, int *updates)
{
	struct rng env;
	float obs[N * F], w[N], best[N], reward = 0.0f, err = 0.0f;

	rng_seed(&env, seed_base + 100);
	*updates = 0;
	for (int s = 0; s < steps; s++) {
		contexts(&env, obs, best);
		agent_step(ag, 0, obs, N, reward, NULL, AGENT_EXPLORE | AGENT_RECORD, w);
		if (teach) {
			agent_set_teacher(ag, 0, best);
		} else {
			reward = 0.0f;
			for (int k = 0; k < N; k++)
				reward -= (logf(w[k]) - best[k]) * (logf(w[k]) - best[k]);
		}
		*updates += agent_train(ag, 1, NULL);
	}
	for (int i = 0; i < 200; i++) {
		contexts(&env, obs, best);
		agent_step(ag, 0, obs, N, 0, NULL, 0, w);
		for (int k = 0; k < N; k++)
			err += fabsf(logf(w[k]) - best[k]) / (200 * N);
	}
	return err;
}

static void test_bandit_mean_action(void)
{
	struct agent_config cfg;
	struct agent *ag;
	int updates;
	float err;

	bandit_config(&cfg);
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	err = context_task(ag, 3000, false, &updates);
	printf("    bandit: %d updates, mean |l - l*| = %.3f, alpha %.3f\n", updates, err,
	       expf(ag->log_alpha));
	ASSERT_LT(err, BANDIT_TOL, "mean action error");
	agent_free(ag);
}

static void test_imitation_of_a_teacher(void)
{
	struct agent_config cfg;
	struct agent *ag;
	int updates;
	float err;

	bandit_config(&cfg);
	cfg.bc_weight = 1.0f;
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	err = context_task(ag, 1500, true, &updates);
	printf("    imitation: %d updates, mean |l - l*| = %.3f\n", updates, err);
	ASSERT_LT(err, IMITATION_TOL, "imitated the teacher");
	agent_free(ag);
}

/* Trains on the memory task, returns the mean query error of the greedy policy. */
static float memory_task(bool recurrent, int *updates)
{
	const float sign[N] = { 1, -1, 0 };
	const int train_steps = 4000, eval_periods = 100;
	struct agent_config cfg;
	struct agent *ag;
	struct rng env;
	float obs[N * F], w[N], reward = 0.0f, cue = 0.0f, err = 0.0f;

	agent_config_default(&cfg);
	cfg.max_servers = N;
	cfg.hidden = 32, cfg.seq_len = 8, cfg.burn_in = 3, cfg.batch_rows = 96;
	cfg.warmup_steps = 256, cfg.lr = 1e-3f, cfg.gamma = 0.0f, cfg.tau = 0.05f;
	cfg.seed = seed_base + 4;
	cfg.recurrent = recurrent;
	ag = agent_create(&cfg);
	if (!ag)
		return NAN;
	rng_seed(&env, seed_base + 200);
	*updates = 0;
	for (int s = 0; s < train_steps + 4 * eval_periods; s++) {
		int phase = s % 4;
		bool eval = s >= train_steps;

		if (phase == 0)
			cue = rng_uniform(&env) < 0.5f ? -1.0f : 1.0f;
		memset(obs, 0, sizeof(obs));
		for (int k = 0; k < N; k++) {
			obs[k * F + 1] = 1.0f;
			obs[k * F + 2] = phase == 0 ? cue * sign[k] : rng_normal(&env);
			obs[k * F + 3 + phase] = 1.0f;
		}
		agent_step(ag, 0, obs, N, reward, NULL, eval ? 0 : AGENT_EXPLORE | AGENT_RECORD,
			   w);
		reward = 0.0f;
		for (int k = 0; k < N; k++) {
			float d = logf(w[k]) - 0.6f * cue * sign[k];

			reward -= d * d;
			if (eval && phase == 3)
				err += fabsf(d) / (eval_periods * N);
		}
		if (!eval)
			*updates += agent_train(ag, 1, NULL);
	}
	agent_free(ag);
	return err;
}

static void test_memory_needs_recurrence(void)
{
	int n_rec, n_cut;
	float with_gru = memory_task(true, &n_rec), cut = memory_task(false, &n_cut);

	printf("    memory: mean |l - l*| GRU %.3f (%d updates), recurrence cut %.3f (%d)\n",
	       with_gru, n_rec, cut, n_cut);
	ASSERT_LT(with_gru, MEMORY_TOL, "GRU agent remembers the cue");
	ASSERT_GT(cut, MEMORY_CUT_MIN, "cut agent cannot");
}

static const struct test_case tests[] = {
	TEST(bandit_mean_action),
	TEST(imitation_of_a_teacher),
	TEST(memory_needs_recurrence),
	{},
};

int main(int argc, char **argv)
{
	if (getenv("LEARN_SEED"))
		seed_base = strtoull(getenv("LEARN_SEED"), NULL, 0);
	return test_main(argc, argv, tests);
}
