// SPDX-License-Identifier: GPL-2.0
/*
 * The agent: gradients of the real SAC losses (encoder, critics and actor, through the GRU,
 * the pooled means, the tanh-Gaussian, the centring of the log-weights and the min of the
 * twin critics) against finite differences; the whole update on BLAS against the plain-loop
 * oracle; the squashed log-density; permutation equivariance and pools of any size; masking;
 * determinism; bad input; ragged replay with interleaved lanes; model files (bit-exact round
 * trip, no pool size recorded, corrupt, truncated, old version).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "gradcheck.h"
#include "learn/agent_impl.h"
#include "learn/matmul.h"

#define GRAD_TOL 3e-3 /* a wrong term gives >= 0.01 (GRADCHECK_VERBOSE=1 shows the errors) */
#define MAX_KINKS 12 /* of up to 400 entries checked per network */
/*
 * The encoder's gradients are ~0.01 per entry: float rounding of the loss leaves ~5e-5 of
 * noise in each entry's difference, so entry by entry the check cannot be tight. The encoder
 * is held instead to the derivatives along its whole gradient and along a random direction
 * (every entry moves at once: far above the rounding), with a step small enough (2e-4) that
 * few of the ReLUs above the encoder change sides over it.
 */
#define GRAD_TOL_DIRECTION 5e-3
#define F AGENT_FEATURES

static void small_config(struct agent_config *cfg, bool recurrent)
{
	agent_config_default(cfg);
	cfg->max_servers = 6;
	cfg->lanes = 2;
	cfg->hidden = 8;
	cfg->seq_len = 5;
	cfg->burn_in = 2;
	cfg->batch_rows = 10;
	cfg->max_windows = 4;
	cfg->replay_steps = 256;
	cfg->replay_rows = 1024;
	cfg->warmup_steps = 0;
	cfg->recurrent = recurrent;
	cfg->seed = 42;
}

static void random_obs(struct rng *rng, float *obs, int n)
{
	for (int i = 0; i < n * F; i++)
		obs[i] = rng_normal(rng) + 0.1f * (i % F);
}

/* Random steps in two lanes with pools of 3 and 5 servers, rewards, and now and then an
 * inactive server. */
static void feed(struct agent *ag, int steps, uint64_t seed)
{
	float obs[6 * F], w[6];
	uint8_t mask[6];
	struct rng rng;

	rng_seed(&rng, seed);
	for (int s = 0; s < steps; s++) {
		int lane = s % 2, n = lane ? 5 : 3;

		random_obs(&rng, obs, n);
		for (int k = 0; k < n; k++)
			mask[k] = rng_uniform(&rng) > 0.15f;
		mask[0] = 1;
		agent_step(ag, lane, obs, n, rng_normal(&rng), mask, AGENT_EXPLORE | AGENT_RECORD,
			   w);
		if (s % 3) { /* a teacher now and then */
			float teach[6];

			for (int k = 0; k < n; k++)
				teach[k] = rng_normal(&rng);
			agent_set_teacher(ag, lane, teach);
		}
	}
}

static double q_loss_of(void *ctx)
{
	struct sac_loss l;

	sac_losses(ctx, false, &l);
	return l.q;
}

static double pi_loss_of(void *ctx)
{
	struct sac_loss l;

	sac_losses(ctx, false, &l);
	return l.pi;
}

/* what the encoder learns from: the critics' loss and the imitation term */
static double encoder_loss_of(void *ctx)
{
	struct sac_loss l;

	sac_losses(ctx, false, &l);
	return l.q + l.bc;
}

/*
 * h: the encoder sits under every ReLU of the actor and the critics, and its gradients are
 * small: a larger step keeps float rounding of the loss (~1e-7) below them, at the price of
 * more entries whose step crosses a ReLU's kink.
 */
static void check_one(gradcheck_loss_fn loss, struct agent *ag, struct pbuf *b, float h,
		      double tol, int max_kinks, const char *name)
{
	struct gradcheck_result r;
	float *g = malloc(b->count * sizeof(float));

	memcpy(g, b->grads, b->count * sizeof(float));
	r = gradcheck_kinks(loss, ag, b->params, g, b->count, h, 400, 2 * tol);
	ASSERT_LT(r.error, tol, name);
	ASSERT_LE(r.kinks, max_kinks, "entries at a kink");
	free(g);
}

static void check_sac_grads(bool recurrent, float bc_weight)
{
	struct agent_config cfg;
	struct agent *ag;
	struct sac_loss l;

	small_config(&cfg, recurrent);
	cfg.bc_weight = bc_weight;
	/* Burn-in drops, on purpose, the gradient through the state it warmed: finite
	 * differences would see it. Truncation is checked in test_learn_layers. */
	cfg.burn_in = 0;
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	feed(ag, 80, 7);
	if (!ASSERT_OK(sac_sample(ag), "sample"))
		goto out;
	ASSERT_GE(ag->sb.windows, 2, "several windows");
	sac_losses(ag, true, &l);
	if (bc_weight > 0)
		ASSERT_GT(l.bc, 0, "imitation term present");
	/* the critic targets are constants of the update: hold them while the encoder moves */
	ag->sb.hold_targets = true;
	check_one(q_loss_of, ag, &ag->critic[0], 1e-3f, GRAD_TOL, MAX_KINKS, "critic 1");
	check_one(q_loss_of, ag, &ag->critic[1], 1e-3f, GRAD_TOL, MAX_KINKS, "critic 2");
	ASSERT_LT(gradcheck_directions(encoder_loss_of, ag, ag->enc.params, ag->enc.grads,
				       ag->enc.count, 2e-4f, 7),
		  GRAD_TOL_DIRECTION, "encoder (critic loss and imitation), along two directions");
	check_one(pi_loss_of, ag, &ag->actor, 1e-3f, GRAD_TOL, MAX_KINKS, "actor");
out:
	agent_free(ag);
}

static void test_sac_grads_recurrent(void)
{
	check_sac_grads(true, 0.0f);
}

static void test_sac_grads_recurrence_cut(void)
{
	check_sac_grads(false, 0.0f);
}

static void test_sac_grads_with_teacher(void)
{
	check_sac_grads(true, 0.7f);
}

/* A broken gradient must fail the same check: the test can tell. */
static void test_gradcheck_catches_a_wrong_gradient(void)
{
	struct agent_config cfg;
	struct agent *ag;
	struct gradcheck_result r;
	struct sac_loss l;
	float *g;

	small_config(&cfg, true);
	cfg.burn_in = 0;
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	feed(ag, 80, 7);
	sac_sample(ag);
	sac_losses(ag, true, &l);
	g = malloc(ag->actor.count * sizeof(float));
	for (size_t i = 0; i < ag->actor.count; i++)
		g[i] = -ag->actor.grads[i]; /* the wrong sign */
	r = gradcheck_kinks(pi_loss_of, ag, ag->actor.params, g, ag->actor.count, 1e-3f, 400,
			    2 * GRAD_TOL);
	ASSERT_GT(r.error, 0.1, "a flipped actor gradient is caught");
	free(g);
	agent_free(ag);
}

/* The whole update's gradients with OpenBLAS equal those of the plain loops. */
static void test_update_blas_equals_naive(void)
{
	struct agent_config cfg;
	struct agent *ag;
	struct pbuf *nets[4];
	float *g[4];
	struct sac_loss l[2];

	small_config(&cfg, true);
	cfg.hidden = 24, cfg.batch_rows = 20, cfg.bc_weight = 0.5f;
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	nets[0] = &ag->actor, nets[1] = &ag->critic[0], nets[2] = &ag->critic[1];
	nets[3] = &ag->enc;
	feed(ag, 60, 3);
	sac_sample(ag);
	sac_losses(ag, true, &l[0]);
	for (int i = 0; i < 4; i++) {
		g[i] = malloc(nets[i]->count * sizeof(float));
		memcpy(g[i], nets[i]->grads, nets[i]->count * sizeof(float));
	}
	matmul_set_backend(MATMUL_NAIVE);
	sac_losses(ag, true, &l[1]);
	matmul_set_backend(MATMUL_BLAS);
	ASSERT_NEAR(l[0].q, l[1].q, 1e-4 * fabs(l[1].q), "critic loss");
	ASSERT_NEAR(l[0].pi, l[1].pi, 1e-4 * fabs(l[1].pi) + 1e-6, "actor loss");
	for (int i = 0; i < 4; i++) {
		double d = 0.0, scale = 1e-12;

		for (size_t j = 0; j < nets[i]->count; j++) {
			d = fmax(d, fabs(g[i][j] - nets[i]->grads[j]));
			scale = fmax(scale, fabs(nets[i]->grads[j]));
		}
		ASSERT_LT(d, 1e-4 * scale, i == 0 ? "actor gradients" :
					   i == 3 ? "encoder gradients" :
						    "critic gradients");
		free(g[i]);
	}
	agent_free(ag);
}

/* The stable squashed log-density against the textbook formula in double; centring. */
static void test_squashed_log_prob(void)
{
	enum { N = 3 };
	const float L = 1.5f;
	float head[2 * N], eps[N], mask[N] = { 1, 1, 1 }, a[N], l[N], logp;
	int seg[2] = { 0, N };
	struct set_shape s = { 1, N, 1, seg, mask };

	for (int trial = 0; trial < 50; trial++) {
		double ref = 0.0, sum_l = 0.0;

		for (int i = 0; i < N; i++) {
			head[2 * i] = -2.0f + 0.08f * trial + i;
			head[2 * i + 1] = 0.3f * sinf(trial + i);
			eps[i] = cosf(3.0f * trial + i);
		}
		sac_policy_act(head, eps, &s, L, a, l, &logp);
		for (int i = 0; i < N; i++) {
			double log_std = sac_log_std(head[2 * i + 1]), std = exp(log_std);
			double u = head[2 * i] + std * eps[i], ai = tanh(u);

			ASSERT_NEAR(a[i], ai, 1e-6, "action");
			ref += -0.5 * eps[i] * eps[i] - log_std - 0.5 * log(2 * M_PI) -
			       log(1 - ai * ai);
			sum_l += l[i];
		}
		ASSERT_NEAR(logp, ref, 1e-4 * fmax(1.0, fabs(ref)), "log-density");
		ASSERT_NEAR(sum_l, 0.0, 1e-5, "log-weights centred");
		ASSERT_NEAR(l[0] - l[1], L * (a[0] - a[1]), 1e-5, "log-weight differences");
	}
	/* u = 30: 1 - tanh(u)^2 is 0 in float and in double; the stable form stays finite */
	head[0] = 30.0f, head[2] = -30.0f, head[4] = 0.0f;
	head[1] = head[3] = head[5] = -20.0f;
	eps[0] = eps[1] = eps[2] = 0.0f;
	mask[2] = 0.0f;
	sac_policy_act(head, eps, &s, L, a, l, &logp);
	ASSERT_TRUE(isfinite(logp), "finite far in the tails");
	ASSERT_NEAR(logp, 2 * (5.0 - 0.9189385 - 2 * (0.6931472 - 30.0)), 1e-2, "tail value");
	ASSERT_EQ(l[2], 0, "masked server: log-weight 0");
	ASSERT_NEAR(l[0] + l[1], 0.0, 1e-5, "masked server left out of the centring");
}

/* Reordering the servers reorders the weights and nothing else, step after step. */
static void test_permutation_equivariant(void)
{
	const int n = 6, perm[6] = { 4, 2, 5, 0, 3, 1 };
	struct agent_config cfg;
	struct agent *ag;
	float obs[6 * F], pobs[6 * F], w[6], pw[6];
	uint8_t mask[6] = { 1, 1, 0, 1, 1, 1 }, pmask[6];
	struct rng rng;
	double max_err = 0;

	small_config(&cfg, true);
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	rng_seed(&rng, 11);
	for (int k = 0; k < n; k++)
		pmask[k] = mask[perm[k]];
	for (int step = 0; step < 20; step++) {
		random_obs(&rng, obs, n);
		for (int k = 0; k < n; k++)
			memcpy(pobs + k * F, obs + perm[k] * F, F * sizeof(float));
		ASSERT_OK(agent_step(ag, 0, obs, n, 0, mask, 0, w), "step");
		ASSERT_OK(agent_step(ag, 1, pobs, n, 0, pmask, 0, pw), "permuted step");
		for (int k = 0; k < n; k++)
			max_err = fmax(max_err, fabs(pw[k] - w[perm[k]]));
	}
	ASSERT_LT(max_err, 1e-5, "permuted weights = weights permuted");
	ASSERT_EQ(w[2], 0, "inactive server: weight 0");
	agent_free(ag);
}

/* One agent acts on pools of 1, 3 and 64 servers; weights have geometric mean 1 over the
 * active servers; an inactive server's features change nothing. */
static void test_any_pool_size(void)
{
	static float obs[64 * F];
	struct agent_config cfg;
	struct agent *ag;
	float w[64], w2[64];
	uint8_t mask[64];
	struct rng rng;
	const int sizes[3] = { 1, 3, 64 };

	agent_config_default(&cfg);
	cfg.hidden = 16;
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	rng_seed(&rng, 5);
	for (int i = 0; i < 3; i++) {
		int n = sizes[i];
		double log_sum = 0;

		random_obs(&rng, obs, n);
		memset(mask, 1, sizeof(mask));
		ASSERT_OK(agent_step(ag, 0, obs, n, 0, mask, AGENT_EXPLORE, w), "step");
		for (int k = 0; k < n; k++) {
			ASSERT_GT(w[k], 0, "positive weight");
			log_sum += log(w[k]);
		}
		ASSERT_NEAR(log_sum / n, 0.0, 1e-4, "geometric mean 1");
	}
	ASSERT_EQ(agent_step(ag, 0, obs, 65, 0, NULL, 0, w), -EINVAL, "more than max_servers");
	/* the inactive server's features are junk: the others' weights do not move */
	agent_reset_state(ag);
	random_obs(&rng, obs, 5);
	memset(mask, 1, 5);
	mask[3] = 0;
	agent_step(ag, 0, obs, 5, 0, mask, 0, w);
	for (int j = 0; j < F; j++)
		obs[3 * F + j] = 100.0f * (j + 1);
	agent_reset_state(ag);
	agent_step(ag, 0, obs, 5, 0, mask, 0, w2);
	ASSERT_MEMEQ(w, w2, 5 * sizeof(float), "inactive server left out");
	agent_free(ag);
}

static void run_steps(struct agent *ag, int n, uint64_t seed, float *last_weights)
{
	float obs[3 * F];
	struct rng rng;

	rng_seed(&rng, seed);
	for (int s = 0; s < n; s++) {
		random_obs(&rng, obs, 3);
		agent_step(ag, 0, obs, 3, obs[0], NULL, AGENT_EXPLORE | AGENT_RECORD, last_weights);
		agent_train(ag, 1, NULL);
	}
}

static void test_deterministic_given_seed(void)
{
	struct agent_config cfg;
	struct agent *a, *b;
	float wa[3], wb[3];

	small_config(&cfg, true);
	a = agent_create(&cfg);
	b = agent_create(&cfg);
	if (!ASSERT_OK_PTR(a, "a") || !ASSERT_OK_PTR(b, "b"))
		goto out;
	run_steps(a, 40, 5, wa);
	run_steps(b, 40, 5, wb);
	ASSERT_GT(a->stats.updates, 20, "trained");
	ASSERT_MEMEQ(wa, wb, sizeof(wa), "same weights");
	ASSERT_MEMEQ(a->actor.params, b->actor.params, a->actor.count * 4, "same actor");
	ASSERT_MEMEQ(a->enc.target, b->enc.target, a->enc.count * 4, "same target encoder");
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

static void test_rejects_bad_input(void)
{
	struct agent_config cfg;
	struct agent *ag;
	float obs[3 * F] = { 0 }, w[3];
	uint64_t written;

	small_config(&cfg, true);
	cfg.burn_in = cfg.seq_len;
	errno = 0;
	ASSERT_NULL(agent_create(&cfg), "burn_in >= seq_len");
	ASSERT_EQ(errno, EINVAL, "EINVAL");
	small_config(&cfg, true);
	cfg.log_w_range = 0;
	ASSERT_NULL(agent_create(&cfg), "log_w_range 0");
	small_config(&cfg, true);
	cfg.max_servers = 0;
	ASSERT_NULL(agent_create(&cfg), "no servers");
	small_config(&cfg, true);
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	ASSERT_OK(agent_step(ag, 0, obs, 3, 0, NULL, AGENT_RECORD, w), "first step");
	written = ag->replay.written;
	obs[4] = NAN;
	ASSERT_EQ(agent_step(ag, 0, obs, 3, 0, NULL, AGENT_RECORD, w), -EINVAL, "NaN obs");
	obs[4] = 0;
	ASSERT_EQ(agent_step(ag, 0, obs, 3, INFINITY, NULL, AGENT_RECORD, w), -EINVAL,
		  "inf reward");
	ASSERT_EQ(agent_step(ag, 2, obs, 3, 0, NULL, AGENT_RECORD, w), -EINVAL, "lane 2 of 2");
	ASSERT_EQ(agent_step(ag, -1, obs, 3, 0, NULL, AGENT_RECORD, w), -EINVAL, "lane -1");
	ASSERT_EQ(agent_step(ag, 0, obs, 0, 0, NULL, AGENT_RECORD, w), -EINVAL, "empty pool");
	ASSERT_EQ(ag->replay.written, written, "nothing recorded");
	ASSERT_OK(agent_step(ag, 0, obs, 3, 0, NULL, 0, w), "acting without recording");
	ASSERT_EQ(ag->replay.written, written, "not recorded");
	agent_free(ag);
}

/* An agent that only acts allocates no replay. */
static void test_acting_needs_no_replay(void)
{
	struct agent_config cfg;
	struct agent *ag;
	float obs[3 * F] = { 0 }, w[3];

	small_config(&cfg, true);
	ag = agent_create(&cfg);
	if (!ASSERT_OK_PTR(ag, "create"))
		return;
	for (int s = 0; s < 10; s++)
		agent_step(ag, 0, obs, 3, 0, NULL, 0, w);
	ASSERT_NULL(ag->replay.obs, "no replay allocated");
	ASSERT_EQ(agent_train(ag, 5, NULL), 0, "nothing to train on");
	agent_free(ag);
}

/* Ragged steps from interleaved lanes: windows follow one lane's episode; the row ring drops
 * the oldest steps when it wraps and never hands out overwritten rows. */
static void test_replay_ragged_lanes(void)
{
	struct replay rb;
	struct rng rng;
	uint64_t prev[3] = { REPLAY_NO_STEP, REPLAY_NO_STEP, REPLAY_NO_STEP }, chain[4];
	float obs[7 * 2];
	int bad = 0, windows = 0;

	if (!ASSERT_OK(replay_init(&rb, 2, 64, 120), "init"))
		return;
	rng_seed(&rng, 9);
	for (int s = 0; s < 300; s++) {
		int lane = s % 3, n = 3 + 2 * lane; /* 3, 5 and 7 rows */

		for (int i = 0; i < n; i++) {
			obs[2 * i] = (float)lane; /* which lane */
			obs[2 * i + 1] = (float)s; /* when */
		}
		if (s % 50 == 49)
			prev[lane] = REPLAY_NO_STEP; /* a new episode */
		if (replay_holds(&rb, prev[lane]))
			replay_set_reward(&rb, prev[lane], (float)s);
		prev[lane] = replay_append(&rb, obs, NULL, n, prev[lane]);
		ASSERT_LE(replay_size(&rb), 64, "step ring bound");
		for (int t = 0; t < 4 && s > 30; t++) {
			if (replay_sample_window(&rb, 4, &rng, chain))
				continue;
			windows++;
			for (int j = 0; j < 4; j++) {
				const float *o = rb.obs + rb.row_start[chain[j] % 64] * 2;
				int len = rb.n[chain[j] % 64];

				bad += !replay_holds(&rb, chain[j]);
				bad += len != rb.n[chain[0] % 64];
				bad += o[0] != rb.obs[rb.row_start[chain[0] % 64] * 2];
				bad += j && o[1] != rb.obs[rb.row_start[chain[j - 1] % 64] * 2 + 1] + 3;
				for (int i = 0; i < len; i++)
					bad += o[2 * i + 1] != o[1]; /* no row overwritten */
				bad += j < 3 && !rb.has_reward[chain[j] % 64];
			}
		}
	}
	ASSERT_GT(windows, 500, "windows drawn");
	ASSERT_EQ(bad, 0, "every window: one lane, one episode, consecutive, intact rows");
	replay_free(&rb);
}

static void test_model_round_trip_bit_exact(void)
{
	char path[] = "/tmp/marllb-test-model-XXXXXX";
	struct agent_config cfg;
	struct agent *a, *b;
	float obs[3 * F], wa[3], wb[3], w64[64];
	static float big[64 * F];
	struct rng rng;
	char err[256];
	int fd = mkstemp(path);

	if (!ASSERT_GE(fd, 0, "temp file"))
		return;
	close(fd);
	small_config(&cfg, true);
	a = agent_create(&cfg);
	run_steps(a, 40, 1, wa);
	ASSERT_OK(agent_save(a, path), "save");
	b = agent_load(path, 1, 64, err, sizeof(err));
	if (!ASSERT_OK_PTR(b, err))
		goto out;
	ASSERT_MEMEQ(a->enc.params, b->enc.params, a->enc.count * 4, "encoder");
	ASSERT_MEMEQ(a->actor.params, b->actor.params, a->actor.count * 4, "actor");
	ASSERT_MEMEQ(a->critic[0].target, b->critic[0].target, a->critic[0].count * 4, "target");
	ASSERT_EQ(b->cfg.max_servers, 64, "pool limit chosen by the loader");
	ASSERT_EQ(b->cfg.lanes, 1, "lanes chosen by the loader");
	agent_reset_state(a);
	rng_seed(&rng, 77);
	random_obs(&rng, obs, 3);
	agent_step(a, 0, obs, 3, 0, NULL, 0, wa);
	agent_step(b, 0, obs, 3, 0, NULL, 0, wb);
	ASSERT_MEMEQ(wa, wb, sizeof(wa), "same greedy weights");
	/* the file records no pool size: the same model acts on 64 servers */
	random_obs(&rng, big, 64);
	ASSERT_OK(agent_step(b, 0, big, 64, 0, NULL, 0, w64), "64 servers");
out:
	agent_free(a);
	agent_free(b);
	unlink(path);
}

static void test_model_rejects_bad_files(void)
{
	char path[] = "/tmp/marllb-test-model-XXXXXX";
	struct agent_config cfg;
	struct agent *a;
	char err[256];
	FILE *f;
	long size;
	uint8_t *buf;
	int fd = mkstemp(path);

	if (!ASSERT_GE(fd, 0, "temp file"))
		return;
	close(fd);
	small_config(&cfg, true);
	a = agent_create(&cfg);
	agent_save(a, path);
	agent_free(a);
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc(size);
	ASSERT_EQ(fread(buf, 1, size, f), (size_t)size, "read back");
	fclose(f);

#define REWRITE(bytes, len)                            \
	do {                                           \
		f = fopen(path, "wb");                 \
		fwrite((bytes), 1, (len), f);          \
		fclose(f);                             \
	} while (0)
	REWRITE(buf, size - 10);
	ASSERT_NULL(agent_load(path, 1, 0, err, sizeof(err)), "truncated");
	ASSERT_TRUE(strstr(err, "truncated"), err);
	buf[size / 2] ^= 0x40;
	REWRITE(buf, size);
	ASSERT_NULL(agent_load(path, 1, 0, err, sizeof(err)), "bit flip");
	ASSERT_TRUE(strstr(err, "checksum"), err);
	buf[size / 2] ^= 0x40;
	buf[8] = 1; /* version 1: a model for one pool size */
	REWRITE(buf, size);
	ASSERT_NULL(agent_load(path, 1, 0, err, sizeof(err)), "version 1");
	ASSERT_TRUE(strstr(err, "version 1"), err);
	buf[8] = 2;
	buf[0] = 'X';
	REWRITE(buf, size);
	ASSERT_NULL(agent_load(path, 1, 0, err, sizeof(err)), "bad magic");
	ASSERT_TRUE(strstr(err, "magic"), err);
	buf[0] = 'M';
	REWRITE(buf, size);
	a = agent_load(path, 1, 0, err, sizeof(err));
	ASSERT_OK_PTR(a, "restored file loads");
	agent_free(a);
	ASSERT_NULL(agent_load("/nonexistent/model", 1, 0, err, sizeof(err)), "missing file");
	ASSERT_TRUE(strstr(err, "cannot open"), err);
	free(buf);
	unlink(path);
}

/* Mean |l - l0| of the greedy log-weights over probe pools, l0 those of `before`. */
static double drift(struct agent *ag, struct agent *before)
{
	float obs[3 * F], w[3], w0[3];
	struct rng rng;
	double sum = 0;

	rng_seed(&rng, 99);
	agent_reset_state(ag);
	agent_reset_state(before);
	for (int s = 0; s < 50; s++) {
		random_obs(&rng, obs, 3);
		agent_step(ag, 0, obs, 3, 0, NULL, 0, w);
		agent_step(before, 0, obs, 3, 0, NULL, 0, w0);
		for (int k = 0; k < 3; k++)
			sum += fabs(log(w[k]) - log(w0[k])) / (50 * 3);
	}
	return sum;
}

/* Online learning on noise: anchored, the policy stays near where it started. */
static void test_anchor_holds_the_policy(void)
{
	struct agent_config cfg;
	struct agent *before, *free_ag, *anchored;
	double d_free, d_anchored;

	small_config(&cfg, true);
	cfg.lanes = 1, cfg.hidden = 16, cfg.bc_weight = 10, cfg.lr = 1e-3f;
	before = agent_create(&cfg);
	free_ag = agent_create(&cfg);
	anchored = agent_create(&cfg);
	if (!ASSERT_OK_PTR(before, "create") || !ASSERT_OK_PTR(free_ag, "create") ||
	    !ASSERT_OK_PTR(anchored, "create"))
		goto out;
	ASSERT_OK(agent_set_anchor(anchored), "anchor");
	run_steps(free_ag, 400, 8, (float[3]){ 0 });
	run_steps(anchored, 400, 8, (float[3]){ 0 });
	ASSERT_GT(anchored->stats.updates, 300, "trained");
	d_free = drift(free_ag, before);
	d_anchored = drift(anchored, before);
	printf("    greedy log-weights moved by %.3f free, %.3f anchored\n", d_free, d_anchored);
	ASSERT_LT(d_anchored, 0.5 * d_free, "the anchor holds the policy");
out:
	agent_free(before);
	agent_free(free_ag);
	agent_free(anchored);
}

/*
 * Act smoothing: the weights written are the exponential average of the ones the policy
 * would write alone, restarted with a lane's episode; a bad time constant is refused.
 */
static void test_act_smoothing_averages(void)
{
	const float tau = 4.0f, keep = expf(-1.0f / tau);
	struct agent_config cfg;
	struct agent *plain, *smooth;
	float obs[3 * F], wp[3], ws[3], avg[3];
	double max_err = 0;

	small_config(&cfg, true);
	cfg.log_w_quantum = 0;
	plain = agent_create(&cfg);
	smooth = agent_create(&cfg);
	if (!ASSERT_OK_PTR(plain, "create") || !ASSERT_OK_PTR(smooth, "create"))
		goto out;
	ASSERT_EQ(agent_set_act_smoothing(smooth, -1.0f), -EINVAL, "negative refused");
	ASSERT_EQ(agent_set_act_smoothing(smooth, NAN), -EINVAL, "NaN refused");
	ASSERT_OK(agent_set_act_smoothing(smooth, tau), "set");
	srand(7);
	for (int t = 0; t < 40; t++) {
		if (t == 30) /* a new episode: the average starts again */
			agent_reset_lane(smooth, 0), agent_reset_lane(plain, 0);
		for (int i = 0; i < 3 * F; i++)
			obs[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
		ASSERT_OK(agent_step(plain, 0, obs, 3, 0, NULL, 0, wp), "plain acts");
		ASSERT_OK(agent_step(smooth, 0, obs, 3, 0, NULL, 0, ws), "smooth acts");
		for (int k = 0; k < 3; k++) {
			float l = logf(wp[k]);

			avg[k] = t == 0 || t == 30 ? l : keep * avg[k] + (1.0f - keep) * l;
			max_err = fmax(max_err, fabs(logf(ws[k]) - avg[k]));
		}
	}
	printf("    |written - average| <= %.2g over 40 steps\n", max_err);
	ASSERT_LT(max_err, 1e-4, "the written log-weights are the average");
	ASSERT_GT(fabs(logf(wp[0]) - logf(ws[0])) + fabs(logf(wp[1]) - logf(ws[1])), 1e-3,
		  "and differ from the policy's own");
out:
	agent_free(plain);
	agent_free(smooth);
}

static const struct test_case tests[] = {
	TEST(sac_grads_recurrent),
	TEST(sac_grads_recurrence_cut),
	TEST(sac_grads_with_teacher),
	TEST(gradcheck_catches_a_wrong_gradient),
	TEST(update_blas_equals_naive),
	TEST(squashed_log_prob),
	TEST(permutation_equivariant),
	TEST(any_pool_size),
	TEST(deterministic_given_seed),
	TEST(rejects_bad_input),
	TEST(acting_needs_no_replay),
	TEST(anchor_holds_the_policy),
	TEST(act_smoothing_averages),
	TEST(replay_ragged_lanes),
	TEST(model_round_trip_bit_exact),
	TEST(model_rejects_bad_files),
	{},
};

int main(int argc, char **argv)
{
	return test_main(argc, argv, tests);
}
