// SPDX-License-Identifier: GPL-2.0
/*
 * The agent: gradients of the real SAC losses (critics and actor, through GRU, heads,
 * tanh-Gaussian and the min of the twin critics) against finite differences; the whole
 * update on BLAS against the plain-loop oracle; the squashed log-density; determinism;
 * masking; bad input; model files (bit-exact round trip, corrupt, truncated, mismatched).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "gradcheck.h"
#include "learn/agent_impl.h"
#include "learn/matmul.h"

#define GRAD_TOL 3e-3 /* observed <= 1e-3 (GRADCHECK_VERBOSE=1); a wrong term gives >= 0.01 */
#define MAX_KINKS 8 /* of ~240 entries checked per network */

static void small_config(struct agent_config *cfg, bool layer_norm, bool recurrent)
{
	agent_config_default(cfg, 3, 5);
	cfg->hidden = 8;
	cfg->seq_len = 5;
	cfg->burn_in = 2;
	cfg->batch = 3;
	cfg->replay_capacity = 256;
	cfg->warmup_steps = 0;
	cfg->layer_norm = layer_norm;
	cfg->recurrent = recurrent;
	cfg->seed = 42;
}

/* Random steps with rewards and, now and then, an inactive server. */
static void feed(struct agent *ag, int steps, uint64_t seed)
{
	const int O = ag->cfg.obs_dim, A = ag->cfg.n_servers;
	float obs[O], w[A];
	uint8_t mask[A];
	struct rng rng;

	rng_seed(&rng, seed);
	for (int s = 0; s < steps; s++) {
		for (int i = 0; i < O; i++)
			obs[i] = 3.0f * rng_normal(&rng) + i;
		for (int k = 0; k < A; k++)
			mask[k] = rng_uniform(&rng) > 0.15f;
		agent_step(ag, obs, rng_normal(&rng), mask, true, w);
	}
}

static double q_loss_of(void *ctx)
{
	float q, pi, da;

	sac_losses(ctx, false, &q, &pi, &da);
	return q;
}

static double pi_loss_of(void *ctx)
{
	float q, pi, da;

	sac_losses(ctx, false, &q, &pi, &da);
	return pi;
}

static void check_sac_grads(bool layer_norm, bool recurrent)
{
	struct agent_config cfg;
	struct agent *ag;
	struct gradcheck_result r;
	float q, pi, da, *g;

	small_config(&cfg, layer_norm, recurrent);
	/* Burn-in drops, on purpose, the gradient through the state it warmed: finite
	 * differences would see it. Truncation is checked in test_learn_layers. */
	cfg.burn_in = 0;
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	feed(ag, 60, 7);
	if (!ASSERT_OK(sac_sample(ag), "sample"))
		goto out;
	sac_losses(ag, true, &q, &pi, &da);
	for (int k = 0; k < 2; k++) {
		struct net *c = &ag->critic[k];

		g = malloc(c->count * sizeof(float));
		memcpy(g, c->grads, c->count * sizeof(float));
		r = gradcheck_kinks(q_loss_of, ag, c->params, g, c->count, 1e-3f, 400,
				    2 * GRAD_TOL);
		ASSERT_LT(r.error, GRAD_TOL, k ? "critic 2" : "critic 1");
		ASSERT_LE(r.kinks, MAX_KINKS, "entries at a kink");
		free(g);
	}
	g = malloc(ag->actor.count * sizeof(float));
	memcpy(g, ag->actor.grads, ag->actor.count * sizeof(float));
	r = gradcheck_kinks(pi_loss_of, ag, ag->actor.params, g, ag->actor.count, 1e-3f, 400,
			    2 * GRAD_TOL);
	ASSERT_LT(r.error, GRAD_TOL, "actor");
	ASSERT_LE(r.kinks, MAX_KINKS, "entries at a kink");
	free(g);
out:
	agent_free(ag);
}

static void test_sac_grads_recurrent(void)
{
	check_sac_grads(false, true);
}

static void test_sac_grads_layer_norm(void)
{
	check_sac_grads(true, true);
}

static void test_sac_grads_recurrence_cut(void)
{
	check_sac_grads(false, false);
}

/* The whole update's gradients with OpenBLAS equal those of the plain loops. */
static void test_update_blas_equals_naive(void)
{
	struct agent_config cfg;
	struct agent *ag;
	struct net *nets[3];
	float *g[3], q[2], pi[2], da[2];

	agent_config_default(&cfg, 7, 54);
	cfg.hidden = 24, cfg.batch = 4, cfg.seq_len = 6, cfg.burn_in = 2, cfg.warmup_steps = 0;
	cfg.replay_capacity = 128, cfg.layer_norm = true;
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	nets[0] = &ag->actor, nets[1] = &ag->critic[0], nets[2] = &ag->critic[1];
	feed(ag, 50, 3);
	sac_sample(ag);
	sac_losses(ag, true, &q[0], &pi[0], &da[0]);
	for (int i = 0; i < 3; i++) {
		g[i] = malloc(nets[i]->count * sizeof(float));
		memcpy(g[i], nets[i]->grads, nets[i]->count * sizeof(float));
	}
	matmul_set_backend(MATMUL_NAIVE);
	sac_losses(ag, true, &q[1], &pi[1], &da[1]);
	matmul_set_backend(MATMUL_BLAS);
	ASSERT_NEAR(q[0], q[1], 1e-4 * fabs(q[1]), "critic loss");
	ASSERT_NEAR(pi[0], pi[1], 1e-4 * fabs(pi[1]), "actor loss");
	for (int i = 0; i < 3; i++) {
		double d = 0.0, scale = 1e-12;

		for (size_t j = 0; j < nets[i]->count; j++) {
			d = fmax(d, fabs(g[i][j] - nets[i]->grads[j]));
			scale = fmax(scale, fabs(nets[i]->grads[j]));
		}
		ASSERT_LT(d, 1e-4 * scale, i ? "critic gradients" : "actor gradients");
		free(g[i]);
	}
	agent_free(ag);
}

/* The stable squashed log-density against the textbook formula in double, and far out. */
static void test_squashed_log_prob(void)
{
	enum { A = 2 };
	float head[2 * A], eps[A], mask[A] = { 1, 1 }, act[A], logp;
	float masked[A] = { 1, 0 }, logp_masked;

	for (int trial = 0; trial < 50; trial++) {
		double ref = 0.0;

		for (int i = 0; i < A; i++) {
			head[i] = -2.0f + 0.08f * trial + i;
			head[A + i] = 0.3f * sinf(trial + i);
			eps[i] = cosf(3.0f * trial + i);
		}
		sac_policy_sample(head, eps, mask, 1, A, act, &logp);
		for (int i = 0; i < A; i++) {
			double log_std = sac_log_std(head[A + i]), std = exp(log_std);
			double u = head[i] + std * eps[i], a = tanh(u);

			ASSERT_NEAR(act[i], a, 1e-6, "action");
			ref += -0.5 * eps[i] * eps[i] - log_std - 0.5 * log(2 * M_PI) -
			       log(1 - a * a);
		}
		ASSERT_NEAR(logp, ref, 1e-4 * fmax(1.0, fabs(ref)), "log-density");
	}
	/* u = 30: 1 - tanh(u)^2 is 0 in float and in double; the stable form stays finite */
	head[0] = 30.0f, head[1] = -30.0f, head[2] = head[3] = -20.0f, eps[0] = eps[1] = 0.0f;
	sac_policy_sample(head, eps, mask, 1, A, act, &logp);
	ASSERT_TRUE(isfinite(logp), "finite far in the tails");
	ASSERT_NEAR(logp, 2 * (5.0 - 0.9189385 - 2 * (0.6931472 - 30.0)), 1e-2, "tail value");
	sac_policy_sample(head, eps, masked, 1, A, act, &logp_masked);
	ASSERT_NEAR(logp_masked, logp / 2, 1e-3, "masked dimension left out");
	ASSERT_EQ(act[1], 0, "masked action is 0");
}

static void run_steps_train(struct agent *ag, int n, uint64_t seed, float *last_weights, bool train)
{
	const int O = ag->cfg.obs_dim, A = ag->cfg.n_servers;
	float obs[O];
	uint8_t mask[A];
	struct rng rng;

	rng_seed(&rng, seed);
	memset(mask, 1, A);
	for (int s = 0; s < n; s++) {
		for (int i = 0; i < O; i++)
			obs[i] = rng_normal(&rng);
		agent_step(ag, obs, obs[0], mask, true, last_weights);
		if (train)
			agent_train(ag, 1, NULL);
	}
}

static void run_steps(struct agent *ag, int n, uint64_t seed, float *last_weights)
{
	run_steps_train(ag, n, seed, last_weights, true);
}

static void test_deterministic_given_seed(void)
{
	struct agent_config cfg;
	struct agent *a, *b;
	float wa[3], wb[3];

	small_config(&cfg, false, true);
	a = agent_create(&cfg);
	b = agent_create(&cfg);
	if (!ASSERT_OK_PTR(a, "a") || !ASSERT_OK_PTR(b, "b"))
		goto out;
	run_steps(a, 40, 5, wa);
	run_steps(b, 40, 5, wb);
	ASSERT_GT(a->stats.updates, 20, "trained");
	ASSERT_MEMEQ(wa, wb, sizeof(wa), "same weights");
	ASSERT_MEMEQ(a->actor.params, b->actor.params, a->actor.count * 4, "same actor");
	ASSERT_MEMEQ(a->critic[1].target, b->critic[1].target, a->critic[1].count * 4,
		     "same target critic");
	agent_free(b);
	cfg.seed = 43;
	b = agent_create(&cfg);
	run_steps(b, 40, 5, wb);
	ASSERT_TRUE(memcmp(a->actor.params, b->actor.params, a->actor.count * 4), "seed matters");
out:
	agent_free(a);
	agent_free(b);
}

static void test_step_masks_and_ranges(void)
{
	struct agent_config cfg;
	struct agent *ag;
	float obs[5] = { 1, 2, 3, 4, 5 }, w[3];
	uint8_t mask[3] = { 1, 0, 1 };

	small_config(&cfg, false, true);
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	for (int s = 0; s < 200; s++) {
		obs[s % 5] += 0.5f;
		ASSERT_OK(agent_step(ag, obs, 0.0f, mask, s % 2, w), "step");
		ASSERT_EQ(w[1], 0, "inactive server gets weight 0");
		for (int k = 0; k < 3; k += 2) {
			ASSERT_GE(w[k], cfg.w_min, "weight >= w_min");
			ASSERT_LE(w[k], cfg.w_max, "weight <= w_max");
		}
	}
	ASSERT_NEAR(agent_action_to_weight(&cfg, 0.0f), 1.0, 1e-6, "a = 0 -> 1");
	ASSERT_NEAR(agent_action_to_weight(&cfg, -1.0f), 0.125, 1e-6, "a = -1 -> w_min");
	ASSERT_NEAR(agent_action_to_weight(&cfg, 1.0f), 8.0, 1e-5, "a = 1 -> w_max");
	ASSERT_LE(agent_action_to_weight(&cfg, 1.0f), cfg.w_max, "never above w_max");
	ASSERT_GE(agent_action_to_weight(&cfg, -1.0f), cfg.w_min, "never below w_min");
	agent_free(ag);
}

static void test_rejects_bad_input(void)
{
	struct agent_config cfg;
	struct agent *ag;
	float obs[5] = { 0 }, w[3];
	uint64_t written;

	small_config(&cfg, false, true);
	cfg.burn_in = cfg.seq_len;
	errno = 0;
	ASSERT_NULL(agent_create(&cfg), "burn_in >= seq_len");
	ASSERT_EQ(errno, EINVAL, "EINVAL");
	small_config(&cfg, false, true);
	cfg.w_min = 2, cfg.w_max = 1;
	ASSERT_NULL(agent_create(&cfg), "w_min > w_max");
	small_config(&cfg, false, true);
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	ASSERT_OK(agent_step(ag, obs, 0, NULL, true, w), "first step");
	written = ag->replay.written;
	obs[2] = NAN;
	ASSERT_EQ(agent_step(ag, obs, 0, NULL, true, w), -EINVAL, "NaN observation");
	obs[2] = INFINITY;
	ASSERT_EQ(agent_step(ag, obs, 0, NULL, true, w), -EINVAL, "inf observation");
	obs[2] = 0;
	ASSERT_EQ(agent_step(ag, obs, NAN, NULL, true, w), -EINVAL, "NaN reward");
	ASSERT_EQ(ag->replay.written, written, "nothing recorded");
	ASSERT_EQ(ag->stats.steps, 1, "steps unchanged");
	ASSERT_EQ(ag->norm.count, 1, "normaliser unchanged");
	agent_free(ag);
}

static void test_normaliser_matches_two_pass(void)
{
	struct normaliser nz;
	float x[3], y[3];
	double sum[3] = { 0 }, sq[3] = { 0 };
	struct rng rng;
	const int n = 5000;
	static float data[5000][3];

	rng_seed(&rng, 8);
	normaliser_init(&nz, 3);
	for (int s = 0; s < n; s++) {
		data[s][0] = 1000.0f + 0.01f * rng_normal(&rng); /* large mean, tiny spread */
		data[s][1] = 3.0f * rng_normal(&rng) - 7.0f;
		data[s][2] = 5.0f; /* constant */
		normaliser_update(&nz, data[s]);
		for (int i = 0; i < 3; i++)
			sum[i] += data[s][i];
	}
	for (int s = 0; s < n; s++)
		for (int i = 0; i < 3; i++)
			sq[i] += (data[s][i] - sum[i] / n) * (data[s][i] - sum[i] / n);
	for (int i = 0; i < 3; i++) {
		ASSERT_NEAR(nz.mean[i], sum[i] / n, 1e-9 * fabs(sum[i] / n) + 1e-12, "mean");
		ASSERT_NEAR(nz.m2[i] / n, sq[i] / n, 1e-6 * sq[i] / n + 1e-12, "variance");
	}
	x[0] = 1000.0f + 0.02f, x[1] = -7.0f - 6.0f, x[2] = 5.0f;
	normaliser_apply(&nz, x, y);
	ASSERT_NEAR(y[0], 0.02 / sqrt(sq[0] / n), 0.05, "two std up");
	ASSERT_NEAR(y[1], (-13.0 - sum[1] / n) / sqrt(sq[1] / n), 0.01, "two std down");
	ASSERT_NEAR(y[2], 0.0, 1e-6, "constant feature maps to 0");
	x[1] = 1e6f;
	normaliser_apply(&nz, x, y);
	ASSERT_NEAR(y[1], 10.0, 0.0, "clipped at 10");
	normaliser_free(&nz);
}

/* Replayed windows never straddle agent_reset_state(), and hold what was stepped. */
static void test_replay_windows_stay_in_episode(void)
{
	struct agent_config cfg;
	struct agent *ag;
	float obs[5] = { 0 }, w[3];
	int crossed = 0;

	small_config(&cfg, false, true);
	cfg.replay_capacity = 64; /* wraps around */
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	for (int s = 0; s < 150; s++) {
		if (s % 9 == 0)
			agent_reset_state(ag);
		obs[0] = s;
		agent_step(ag, obs, s, NULL, true, w);
	}
	for (int i = 0; i < 2000; i++) {
		int64_t start = replay_sample_start(&ag->replay, cfg.seq_len + 1, &ag->rng);
		float first, last;

		if (!ASSERT_GE(start, 150 - 64, "window inside the ring"))
			break;
		first = ag->replay.obs[(start % 64) * 5];
		last = ag->replay.obs[((start + cfg.seq_len) % 64) * 5];
		crossed += (int)first / 9 != (int)last / 9 || last - first != cfg.seq_len;
		/* the reward of step s arrived with step s + 1, whose obs[0] was s + 1 */
		ASSERT_NEAR(ag->replay.reward[start % 64], first + 1, 0, "reward of the step");
	}
	ASSERT_EQ(crossed, 0, "windows crossing an episode boundary");
	agent_free(ag);
}

/* ---- model files ---- */
static char model_path[64];

static void write_bytes(const char *path, const void *buf, size_t n)
{
	FILE *f = fopen(path, "wb");

	fwrite(buf, 1, n, f);
	fclose(f);
}

static void *read_bytes(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	void *buf;

	fseek(f, 0, SEEK_END);
	*n = ftell(f);
	rewind(f);
	buf = malloc(*n);
	if (fread(buf, 1, *n, f) != *n)
		*n = 0;
	fclose(f);
	return buf;
}

static void test_model_round_trip_bit_exact(void)
{
	struct agent_config cfg;
	struct agent *a, *b = NULL;
	float wa[3], wb[3];
	char err[256] = "", path2[80];
	size_t n1, n2;
	void *f1, *f2;

	small_config(&cfg, true, true);
	a = agent_create(&cfg);
	if (!ASSERT_OK_PTR(a, "create"))
		return;
	run_steps(a, 30, 9, wa);
	if (!ASSERT_OK(agent_save(a, model_path), "save"))
		goto out;
	b = agent_load(model_path, 3, 5, err, sizeof(err));
	if (!ASSERT_OK_PTR(b, err))
		goto out;
	ASSERT_TRUE(a->cfg.n_servers == b->cfg.n_servers && a->cfg.obs_dim == b->cfg.obs_dim &&
			    a->cfg.hidden == b->cfg.hidden && a->cfg.seq_len == b->cfg.seq_len &&
			    a->cfg.burn_in == b->cfg.burn_in && a->cfg.batch == b->cfg.batch &&
			    a->cfg.replay_capacity == b->cfg.replay_capacity &&
			    a->cfg.warmup_steps == b->cfg.warmup_steps &&
			    a->cfg.updates_per_step == b->cfg.updates_per_step &&
			    a->cfg.lr == b->cfg.lr && a->cfg.gamma == b->cfg.gamma &&
			    a->cfg.tau == b->cfg.tau && a->cfg.init_alpha == b->cfg.init_alpha &&
			    a->cfg.grad_clip == b->cfg.grad_clip && a->cfg.w_min == b->cfg.w_min &&
			    a->cfg.w_max == b->cfg.w_max && a->cfg.recurrent == b->cfg.recurrent &&
			    a->cfg.layer_norm == b->cfg.layer_norm && a->cfg.seed == b->cfg.seed &&
			    a->cfg.reward_scaling == b->cfg.reward_scaling,
		    "config");
	ASSERT_MEMEQ(a->actor.params, b->actor.params, a->actor.count * 4, "actor");
	for (int k = 0; k < 2; k++) {
		ASSERT_MEMEQ(a->critic[k].params, b->critic[k].params, a->critic[k].count * 4,
			     "critic");
		ASSERT_MEMEQ(a->critic[k].target, b->critic[k].target, a->critic[k].count * 4,
			     "target");
	}
	ASSERT_MEMEQ(a->norm.mean, b->norm.mean, 5 * sizeof(double), "normaliser mean");
	ASSERT_MEMEQ(a->norm.m2, b->norm.m2, 5 * sizeof(double), "normaliser m2");
	ASSERT_EQ(a->log_alpha == b->log_alpha, 1, "log alpha");
	ASSERT_GT(a->reward_sq_mean, 0, "reward statistics collected");
	ASSERT_EQ(a->reward_sq_mean == b->reward_sq_mean && a->reward_count == b->reward_count, 1,
		  "reward statistics");
	ASSERT_EQ(b->stats.updates, a->stats.updates, "update count");
	/* same state, same future: both act (and explore) identically from a fresh state */
	agent_reset_state(a);
	run_steps_train(a, 3, 77, wa, false);
	run_steps_train(b, 3, 77, wb, false);
	ASSERT_MEMEQ(wa, wb, sizeof(wa), "same actions after load");
	/* saving the loaded model again gives the same bytes */
	snprintf(path2, sizeof(path2), "%s.2", model_path);
	agent_free(b);
	b = agent_load(model_path, 0, 0, err, sizeof(err));
	ASSERT_OK(agent_save(b, path2), "save again");
	f1 = read_bytes(model_path, &n1);
	f2 = read_bytes(path2, &n2);
	ASSERT_EQ(n1, n2, "same size");
	ASSERT_TRUE(n1 == n2 && !memcmp(f1, f2, n1), "same bytes");
	free(f1), free(f2);
	unlink(path2);
out:
	agent_free(a);
	agent_free(b);
}

static void expect_rejected(const char *path, int n, int o, const char *needle, const char *what)
{
	char err[256] = "";
	struct agent *ag = agent_load(path, n, o, err, sizeof(err));

	ASSERT_NULL(ag, what);
	agent_free(ag);
	if (!test__check(strstr(err, needle) != NULL, __FILE__, __LINE__, what,
			 "error \"%s\" does not mention \"%s\"", err, needle))
		return;
}

static void test_model_rejects_bad_files(void)
{
	struct agent_config cfg;
	struct agent *a;
	char bad[80];
	uint8_t *buf;
	size_t n;

	small_config(&cfg, false, true);
	a = agent_create(&cfg);
	if (!ASSERT_OK_PTR(a, "create"))
		return;
	feed(a, 10, 1);
	ASSERT_OK(agent_save(a, model_path), "save");
	agent_free(a);
	buf = read_bytes(model_path, &n);
	snprintf(bad, sizeof(bad), "%s.bad", model_path);

	expect_rejected(model_path, 4, 5, "expected 4", "wrong server count");
	expect_rejected(model_path, 3, 6, "observation features", "wrong obs dim");
	write_bytes(bad, buf, n - 100);
	expect_rejected(bad, 0, 0, "truncated", "truncated in the parameters");
	write_bytes(bad, buf, 20);
	expect_rejected(bad, 0, 0, "truncated", "truncated in the header");
	write_bytes(bad, buf, 0);
	expect_rejected(bad, 0, 0, "truncated", "empty");
	buf[n / 2] ^= 0x10;
	write_bytes(bad, buf, n);
	expect_rejected(bad, 0, 0, "checksum", "flipped bit in the parameters");
	buf[n / 2] ^= 0x10;
	buf[0] = 'X';
	write_bytes(bad, buf, n);
	expect_rejected(bad, 0, 0, "magic", "bad magic");
	buf[0] = 'M';
	buf[8] = 9; /* version */
	write_bytes(bad, buf, n);
	expect_rejected(bad, 0, 0, "version", "future version");
	buf[8] = 1;
	write_bytes(bad, buf, n);
	{
		char err[256];
		struct agent *ok = agent_load(bad, 3, 5, err, sizeof(err));

		ASSERT_OK_PTR(ok, "restored bytes load again");
		agent_free(ok);
	}
	expect_rejected("/nonexistent/marllb.model", 0, 0, "cannot open", "missing file");
	free(buf);
	unlink(bad);
	unlink(model_path);
}

static const struct test_case tests[] = {
	TEST(sac_grads_recurrent),
	TEST(sac_grads_layer_norm),
	TEST(sac_grads_recurrence_cut),
	TEST(update_blas_equals_naive),
	TEST(squashed_log_prob),
	TEST(deterministic_given_seed),
	TEST(step_masks_and_ranges),
	TEST(rejects_bad_input),
	TEST(normaliser_matches_two_pass),
	TEST(replay_windows_stay_in_episode),
	TEST(model_round_trip_bit_exact),
	TEST(model_rejects_bad_files),
	{},
};

int main(int argc, char **argv)
{
	int rc;

	snprintf(model_path, sizeof(model_path), "/tmp/learn-test-%d.model", (int)getpid());
	rc = test_main(argc, argv, tests);
	unlink(model_path);
	return rc;
}
