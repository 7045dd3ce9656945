// SPDX-License-Identifier: GPL-2.0
/*
 * The team of learners (user/learn/team.h): the paper's baselines on the shared core.
 *
 * mixer: monotonic in every agent's utility for any parameters and state (analytic
 *   derivatives and finite steps), the deliberately broken (negated) mixer decreasing; its
 *   gradients (parameters and utilities) against finite differences.
 * losses: the gradients of the joint SAC losses of QMix-LB (critics, mixers, encoder, actor)
 *   and of Centr-LB (the centralised critic, its encoder, its actor) against finite
 *   differences; a flipped mixer gradient is caught.
 * coordination: two LBs of two servers each; a context c in [-0.6, 0.6] that both see; the
 *   joint reward -(d_0 + d_1 - 2 c)^2 where d_i is LB i's log-weight of its second server:
 *   neither LB's reward says what it should do alone, only the sum of both actions does.
 *   QMix-LB and Centr-LB must bring the mean |d_0 + d_1 - 2c| of their greedy policies
 *   below COORD_TOL (writing equal weights scores 0.3); QMix-LB with the negated mixer
 *   must stay above COORD_BROKEN_MIN.
 * acting: QMix's agents are decentralised (an LB's weights do not move when another LB's
 *   observation does), the central agent's are not; communication counted per step; bad
 *   input; team files (round trip, corrupt, truncated, a marl model given instead).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "gradcheck.h"
#include "learn/joint_view.h"
#include "learn/team_impl.h"

#define F AGENT_FEATURES
/* Float rounding leaves ~3e-3 of noise in the entries of these losses (16 seeds checked
 * with LEARN_SEED); a wrong term gives 0.1 and more (a flipped gradient: below). */
#define GRAD_TOL 5e-3
#define GRAD_TOL_ENCODER 2.5e-2
#define GRAD_TOL_DIRECTION 5e-3
/*
 * Of up to 400 entries per network. A joint batch has many ReLU units (rows x hidden, two
 * critics), and one unit of a window-level layer near its kink makes every entry feeding it
 * a kink: more are skipped than in test_learn_agent. A kink never hides a wrong term: it is
 * where the one-sided differences disagree, which a smooth error does not make them do.
 */
#define MAX_KINKS 40
static float grad_h = 1e-3f;
#define COORD_TOL 0.15
#define COORD_BROKEN_MIN 0.3

static uint64_t seed_base; /* LEARN_SEED moves every seed: to check the margins by hand */

/* ---- the mixer alone ---- */

struct mixer_case {
	struct mixer_dims d;
	struct mixer_params p, g;
	struct mixer_acts a;
	float *params, *grads, *q, *s, *c, *dq;
	int rows;
};

static int mixer_case_init(struct mixer_case *m, bool negated, int rows, uint64_t seed)
{
	size_t n;
	struct rng rng;

	memset(m, 0, sizeof(*m));
	m->d = (struct mixer_dims){ 3, 6, 8, negated };
	m->rows = rows;
	n = mixer_param_count(&m->d);
	m->params = calloc(n, sizeof(float));
	m->grads = calloc(n, sizeof(float));
	m->q = calloc((size_t)rows * 3, sizeof(float));
	m->dq = calloc((size_t)rows * 3, sizeof(float));
	m->s = calloc((size_t)rows * 6, sizeof(float));
	m->c = calloc(rows, sizeof(float));
	if (!m->params || !m->grads || !m->q || !m->dq || !m->s || !m->c ||
	    mixer_acts_alloc(&m->a, &m->d, rows))
		return -1;
	rng_seed(&rng, seed);
	mixer_point(&m->p, m->params, &m->d);
	mixer_point(&m->g, m->grads, &m->d);
	mixer_init(m->params, &m->d, &rng);
	for (int i = 0; i < rows * 3; i++)
		m->q[i] = 2.0f * rng_normal(&rng);
	for (int i = 0; i < rows * 6; i++)
		m->s[i] = rng_normal(&rng);
	for (int i = 0; i < rows; i++)
		m->c[i] = rng_normal(&rng);
	return 0;
}

static void mixer_case_free(struct mixer_case *m)
{
	free(m->params);
	free(m->grads);
	free(m->q);
	free(m->dq);
	free(m->s);
	free(m->c);
	mixer_acts_free(&m->a);
}

/* sum_r c_r Qtot_r */
static double mixer_loss(void *ctx)
{
	struct mixer_case *m = ctx;
	const float *qt = mixer_forward(&m->a, &m->p, &m->d, m->q, m->s, m->rows);
	double sum = 0;

	for (int r = 0; r < m->rows; r++)
		sum += (double)m->c[r] * qt[r];
	return sum;
}

static void mixer_grads(struct mixer_case *m)
{
	memset(m->grads, 0, mixer_param_count(&m->d) * sizeof(float));
	memset(m->dq, 0, (size_t)m->rows * 3 * sizeof(float));
	mixer_loss(m);
	mixer_backward(&m->g, m->dq, &m->a, &m->p, &m->d, m->c, m->rows);
}

/* The sign of dQtot/dq_i over many states, utilities and parameter draws. */
static void check_monotonic(bool negated, double *min_d, double *max_d, double *worst_step)
{
	*min_d = INFINITY, *max_d = -INFINITY, *worst_step = INFINITY;
	for (int draw = 0; draw < 20; draw++) {
		struct mixer_case m;

		if (!ASSERT_OK(mixer_case_init(&m, negated, 64, seed_base + 50 + draw), "mixer"))
			return;
		for (int r = 0; r < m.rows; r++)
			m.c[r] = 1.0f; /* dq = dQtot/dq */
		mixer_grads(&m);
		for (int i = 0; i < m.rows * 3; i++) {
			*min_d = fmin(*min_d, m.dq[i]);
			*max_d = fmax(*max_d, m.dq[i]);
		}
		/* finite steps up one utility at a time: Qtot never goes down (up, if negated) */
		for (int r = 0; r < m.rows; r++) {
			for (int i = 0; i < 3; i++) {
				float q0 = m.q[r * 3 + i], before, after;
				const float *qt;

				qt = mixer_forward(&m.a, &m.p, &m.d, m.q, m.s, m.rows);
				before = qt[r];
				m.q[r * 3 + i] = q0 + 0.5f;
				qt = mixer_forward(&m.a, &m.p, &m.d, m.q, m.s, m.rows);
				after = qt[r];
				m.q[r * 3 + i] = q0;
				*worst_step = fmin(*worst_step,
						   negated ? before - after : after - before);
			}
		}
		mixer_case_free(&m);
	}
}

static void test_mixer_monotonic(void)
{
	double lo, hi, step;

	check_monotonic(false, &lo, &hi, &step);
	printf("    monotonic mixer: dQtot/dq in [%.3g, %.3g], least rise %.3g\n", lo, hi, step);
	ASSERT_GE(lo, 0.0, "dQtot/dq_i >= 0 everywhere");
	ASSERT_GT(hi, 0.01, "and not flat");
	ASSERT_GE(step, -1e-5, "raising a utility never lowers Qtot");
	check_monotonic(true, &lo, &hi, &step);
	printf("    negated mixer:   dQtot/dq in [%.3g, %.3g]\n", lo, hi);
	ASSERT_LE(hi, 0.0, "the broken mixer decreases in every utility");
	ASSERT_GE(step, -1e-5, "raising a utility never raises its Qtot");
}

static double mixer_loss_of_q(void *ctx)
{
	return mixer_loss(ctx);
}

static void test_mixer_gradients(void)
{
	for (int negated = 0; negated < 2; negated++) {
		struct mixer_case m;
		struct gradcheck_result r;
		float *g, *dq;

		if (!ASSERT_OK(mixer_case_init(&m, negated, 16, seed_base + 9), "mixer"))
			return;
		mixer_grads(&m);
		g = malloc(mixer_param_count(&m.d) * sizeof(float));
		dq = malloc((size_t)m.rows * 3 * sizeof(float));
		memcpy(g, m.grads, mixer_param_count(&m.d) * sizeof(float));
		memcpy(dq, m.dq, (size_t)m.rows * 3 * sizeof(float));
		r = gradcheck_kinks(mixer_loss, &m, m.params, g, mixer_param_count(&m.d), 1e-3f,
				    600, 2 * GRAD_TOL);
		ASSERT_LT(r.error, GRAD_TOL,
			  negated ? "negated mixer parameters" : "mixer parameters");
		ASSERT_LE(r.kinks, MAX_KINKS, "entries at a kink");
		r = gradcheck_kinks(mixer_loss_of_q, &m, m.q, dq, (size_t)m.rows * 3, 1e-3f, 48,
				    2 * GRAD_TOL);
		ASSERT_LT(r.error, GRAD_TOL, "d Qtot / d utilities");
		free(g);
		free(dq);
		mixer_case_free(&m);
	}
}

/* ---- the joint losses ---- */

static void small_team(struct team_config *cfg, enum team_method method, int lbs)
{
	team_config_default(cfg, method, lbs);
	cfg->agent.max_servers = 5;
	cfg->agent.hidden = 8;
	cfg->agent.seq_len = 5;
	cfg->agent.burn_in = 0; /* finite differences see through the whole window */
	cfg->agent.batch_rows = 16;
	cfg->agent.max_windows = 8;
	cfg->agent.replay_steps = 256;
	cfg->agent.warmup_steps = 0;
	cfg->agent.log_w_quantum = 0.0f;
	cfg->agent.seed = seed_base + 42;
	cfg->mixer_embed = 6;
}

static void random_obs(struct rng *rng, float *obs, int rows)
{
	for (int i = 0; i < rows * F; i++)
		obs[i] = rng_normal(rng) + 0.1f * (i % F);
}

/* Random joint steps on pools of 3, then 4 servers (two episodes), with rewards. */
static void feed_team(struct team *t, int steps, uint64_t seed)
{
	const int M = t->cfg.lbs;
	float obs[8 * 5 * F], w[8 * 5], rewards[8]; /* up to 8 LBs */
	struct rng rng;

	rng_seed(&rng, seed);
	for (int s = 0; s < steps; s++) {
		int n = s < steps / 2 ? 3 : 4;

		random_obs(&rng, obs, M * n);
		for (int i = 0; i < M; i++)
			rewards[i] = rng_normal(&rng);
		team_step(t, obs, n, rewards, AGENT_EXPLORE | AGENT_RECORD, w);
	}
}

static double team_q_loss(void *ctx)
{
	struct team_loss l;

	team_losses(ctx, false, &l);
	return l.q;
}

static double team_pi_loss(void *ctx)
{
	struct team_loss l;

	team_losses(ctx, false, &l);
	return l.pi;
}

static void check_net(gradcheck_loss_fn loss, struct team *t, struct pbuf *b, double tol,
		      int max_kinks, const char *name)
{
	struct gradcheck_result r;
	float *g = malloc(b->count * sizeof(float));

	memcpy(g, b->grads, b->count * sizeof(float));
	r = gradcheck_kinks(loss, t, b->params, g, b->count, grad_h, 400, 2 * tol);
	ASSERT_LT(r.error, tol, name);
	ASSERT_LE(r.kinks, max_kinks, "entries at a kink");
	free(g);
}

/*
 * The derivative along the encoder's whole gradient (gradcheck_along_gradient), where the
 * line through the parameters crosses no kink: with ~1000 ReLU units in a joint batch, one
 * can sit within a step of the point (its one-sided slopes then differ by a few %, seen).
 * Such a point is left for a nearby one (every entry moved by a fixed pseudo-random 1e-3)
 * and the gradient taken there again; a wrong term is smooth and fails at every point.
 */
static double encoder_direction_error(struct team *t)
{
	struct pbuf *enc = &t->nets.enc;
	const float h = 1e-3f;
	double err = INFINITY;
	struct team_loss l;
	struct rng rng;

	rng_seed(&rng, 99);
	for (int attempt = 0; attempt < 4; attempt++) {
		double norm = 0, lp, l0, lm;
		float *x0 = malloc(enc->count * sizeof(float));

		team_losses(t, true, &l); /* the gradient here (targets held) */
		for (size_t i = 0; i < enc->count; i++)
			norm += (double)enc->grads[i] * enc->grads[i];
		norm = sqrt(norm);
		memcpy(x0, enc->params, enc->count * sizeof(float));
		l0 = team_q_loss(t);
		for (size_t i = 0; i < enc->count; i++)
			enc->params[i] = x0[i] + h * enc->grads[i] / norm;
		lp = team_q_loss(t);
		for (size_t i = 0; i < enc->count; i++)
			enc->params[i] = x0[i] - h * enc->grads[i] / norm;
		lm = team_q_loss(t);
		for (size_t i = 0; i < enc->count; i++)
			enc->params[i] = x0[i] + 1e-3f * (2.0f * rng_uniform(&rng) - 1.0f);
		free(x0);
		err = fabs((lp - lm) / (2 * h) - norm) / norm;
		if (getenv("GRADCHECK_VERBOSE"))
			printf("    along the encoder gradient: %.3g (slopes %.6g, %.6g, |g| %.6g)\n",
			       err, (lp - l0) / h, (l0 - lm) / h, norm);
		if (fabs((lp - l0) - (l0 - lm)) / h < 2 * GRAD_TOL_DIRECTION * norm)
			break; /* no kink on the line */
	}
	return err;
}

static struct team *fed_team(enum team_method method, bool recurrent)
{
	struct team_config cfg;
	struct team *t;
	struct team_loss l;

	small_team(&cfg, method, 2);
	cfg.agent.recurrent = recurrent;
	t = team_create(&cfg);
	if (!ASSERT_OK_PTR(t, "create"))
		return NULL;
	feed_team(t, 80, seed_base + 7);
	if (!ASSERT_OK(team_sample(t), "sample")) {
		team_free(t);
		return NULL;
	}
	ASSERT_GE(t->tb.joint, 2, "several joint windows");
	team_losses(t, true, &l);
	/* the targets are constants of the update: hold them while the encoder moves */
	t->tb.hold_targets = true;
	return t;
}

static void check_team_grads(enum team_method method, bool recurrent)
{
	struct team *t = fed_team(method, recurrent);
	struct team_nets *nt;

	if (!t)
		return;
	nt = &t->nets;
	check_net(team_q_loss, t, &nt->critic[0], GRAD_TOL, MAX_KINKS, "critic 1");
	check_net(team_q_loss, t, &nt->critic[1], GRAD_TOL, MAX_KINKS, "critic 2");
	if (method == TEAM_QMIX) {
		check_net(team_q_loss, t, &t->mix[0], GRAD_TOL, MAX_KINKS, "mixer 1");
		check_net(team_q_loss, t, &t->mix[1], GRAD_TOL, MAX_KINKS, "mixer 2");
	}
	check_net(team_q_loss, t, &nt->enc, GRAD_TOL_ENCODER, 3 * MAX_KINKS, "encoder");
	ASSERT_LT(encoder_direction_error(t), GRAD_TOL_DIRECTION, "encoder, along its gradient");
	check_net(team_pi_loss, t, &nt->actor, GRAD_TOL, MAX_KINKS, "actor");
	team_free(t);
}

static void test_qmix_gradients(void)
{
	check_team_grads(TEAM_QMIX, true);
}

static void test_qmix_gradients_recurrence_cut(void)
{
	check_team_grads(TEAM_QMIX, false);
}

static void test_central_critic_gradients(void)
{
	check_team_grads(TEAM_CENTRAL, true);
}

/* A wrong mixer gradient fails the same check: the test can tell. */
static void test_gradcheck_catches_a_wrong_mixer_gradient(void)
{
	struct team *t = fed_team(TEAM_QMIX, true);
	struct gradcheck_result r;
	float *g;

	if (!t)
		return;
	g = malloc(t->mix[0].count * sizeof(float));
	for (size_t i = 0; i < t->mix[0].count; i++)
		g[i] = -t->mix[0].grads[i];
	r = gradcheck_kinks(team_q_loss, t, t->mix[0].params, g, t->mix[0].count, 1e-3f, 400,
			    2 * GRAD_TOL);
	ASSERT_GT(r.error, 0.1, "a flipped mixer gradient is caught");
	free(g);
	team_free(t);
}

/* ---- coordination ---- */

#define COORD_N 2
#define COORD_CTX 0.6f

/* Both LBs see the context c in their feature 0 (+c on server 1, -c on server 0). */
static void coord_obs(struct rng *env, float *obs, float *c)
{
	*c = COORD_CTX * (2.0f * rng_uniform(env) - 1.0f);
	memset(obs, 0, 2 * COORD_N * F * sizeof(float));
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < COORD_N; k++) {
			obs[(i * COORD_N + k) * F] = k ? *c : -*c;
			obs[(i * COORD_N + k) * F + 1] = 1.0f;
		}
	}
}

/* d_i: LB i's centred log-weight of its second server */
static float coord_miss(const float *w, float c)
{
	float d0 = logf(w[1]) - 0.5f * (logf(w[0]) + logf(w[1]));
	float d1 = logf(w[3]) - 0.5f * (logf(w[2]) + logf(w[3]));

	return d0 + d1 - 2.0f * c;
}

/* Trains a team on the task; returns the mean |d_0 + d_1 - 2c| of its greedy policy. */
static float coordination(enum team_method method, bool negated, int *updates)
{
	struct team_config cfg;
	struct team *t;
	struct rng env;
	float obs[2 * COORD_N * F], w[2 * COORD_N], rewards[2] = { 0, 0 }, c, err = 0.0f;

	team_config_default(&cfg, method, 2);
	cfg.agent.max_servers = COORD_N;
	cfg.agent.hidden = 32, cfg.agent.seq_len = 2, cfg.agent.burn_in = 0;
	cfg.agent.batch_rows = 64, cfg.agent.max_windows = 32;
	cfg.agent.warmup_steps = 200, cfg.agent.lr = 1e-3f, cfg.agent.gamma = 0.0f;
	cfg.agent.tau = 0.05f, cfg.agent.recurrent = false;
	cfg.agent.seed = seed_base + 5;
	cfg.mixer_embed = 16;
	cfg.mixer_negated = negated;
	t = team_create(&cfg);
	if (!t)
		return NAN;
	rng_seed(&env, seed_base + 300);
	*updates = 0;
	for (int s = 0; s < 3000; s++) {
		coord_obs(&env, obs, &c);
		team_step(t, obs, COORD_N, rewards, AGENT_EXPLORE | AGENT_RECORD, w);
		rewards[0] = rewards[1] = -coord_miss(w, c) * coord_miss(w, c);
		*updates += team_train(t, 1, NULL);
	}
	for (int s = 0; s < 200; s++) {
		coord_obs(&env, obs, &c);
		team_step(t, obs, COORD_N, rewards, 0, w);
		err += fabsf(coord_miss(w, c)) / 200;
	}
	team_free(t);
	return err;
}

static void test_coordination_centralised_learn(void)
{
	int uq, uc;
	float qmix = coordination(TEAM_QMIX, false, &uq);
	float central = coordination(TEAM_CENTRAL, false, &uc);

	printf("    coordination: mean |d0 + d1 - 2c|: QMix-LB %.3f (%d updates), Centr-LB %.3f "
	       "(%d); equal weights 0.3\n",
	       qmix, uq, central, uc);
	ASSERT_LT(qmix, COORD_TOL, "QMix-LB coordinates");
	ASSERT_LT(central, COORD_TOL, "Centr-LB coordinates");
}

static void test_coordination_broken_mixer_fails(void)
{
	int u;
	float broken = coordination(TEAM_QMIX, true, &u);

	printf("    coordination, negated mixer: mean |d0 + d1 - 2c| %.3f (%d updates)\n", broken,
	       u);
	ASSERT_GT(broken, COORD_BROKEN_MIN, "a mixer that is not monotonic increasing fails");
}

/* ---- acting, communication, files ---- */

static void test_decentralised_execution(void)
{
	for (int m = TEAM_QMIX; m <= TEAM_CENTRAL; m++) {
		struct team_config cfg;
		struct team *t;
		float obs[2 * 4 * F], w[8], w2[8];
		struct rng rng;
		double moved0 = 0, moved1 = 0;

		small_team(&cfg, (enum team_method)m, 2);
		cfg.agent.recurrent = false; /* every step alike: compare two calls */
		t = team_create(&cfg);
		if (!ASSERT_OK_PTR(t, "create"))
			return;
		rng_seed(&rng, 3);
		random_obs(&rng, obs, 8);
		ASSERT_OK(team_step(t, obs, 4, NULL, 0, w), "step");
		for (int i = 4 * F; i < 8 * F; i++) /* LB 1 sees something else */
			obs[i] += 1.0f;
		ASSERT_OK(team_step(t, obs, 4, NULL, 0, w2), "step");
		for (int k = 0; k < 4; k++) {
			moved0 += fabs(w[k] - w2[k]);
			moved1 += fabs(w[4 + k] - w2[4 + k]);
		}
		ASSERT_GT(moved1, 1e-4, "LB 1's weights follow its observation");
		if (m == TEAM_QMIX)
			ASSERT_LT(moved0, 1e-7, "QMix: LB 0 acts on its own observation only");
		else
			ASSERT_GT(moved0, 1e-4, "central: LB 0's weights read LB 1's observation");
		team_free(t);
	}
}

static void test_communication_counted(void)
{
	const int n = 4, steps = 10;

	for (int m = 0; m < TEAM__COUNT; m++) {
		struct team_config cfg;
		struct team_comm c;
		struct team *t;

		small_team(&cfg, (enum team_method)m, 2);
		t = team_create(&cfg);
		if (!ASSERT_OK_PTR(t, "create"))
			return;
		for (int s = 0; s < steps; s++) {
			float obs[2 * 4 * F] = {}, w[8], r[2] = { 0, 0 };

			team_step(t, obs, n, r, AGENT_RECORD, w);
			team_step(t, obs, n, r, 0, w); /* acting only: not training traffic */
		}
		team_comm(t, n, &c);
		switch (m) {
		case TEAM_INDEPENDENT:
			ASSERT_EQ(c.up_total + c.down_total + c.params_per_sync, 0,
				  "independent learners: nothing");
			break;
		case TEAM_QMIX:
			ASSERT_EQ(c.up_per_step, 2 * (n * (F + 1) + 1) * 4, "QMix: trajectories");
			ASSERT_EQ(c.down_per_step, 0, "QMix: no weights sent");
			ASSERT_EQ(c.params_per_sync,
				  2 * 4 * (t->nets.enc.count + t->nets.actor.count),
				  "QMix: encoder and actor to every LB");
			break;
		case TEAM_CENTRAL:
			ASSERT_EQ(c.up_per_step, 2 * (n * F + 1) * 4, "central: observations");
			ASSERT_EQ(c.down_per_step, 2 * n * 4, "central: weights");
			break;
		}
		ASSERT_EQ(c.up_total, steps * c.up_per_step, "counted per recorded step");
		ASSERT_EQ(c.down_total, steps * c.down_per_step, "counted per recorded step");
		team_free(t);
	}
}

static void test_bad_input(void)
{
	struct team_config cfg;
	struct team *t;
	float obs[2 * 5 * F] = {}, w[10], r[2] = { 0, NAN };

	small_team(&cfg, TEAM_QMIX, 2);
	cfg.lbs = 0;
	ASSERT_NULL(team_create(&cfg), "0 LBs refused");
	small_team(&cfg, TEAM_QMIX, 2);
	cfg.mixer_embed = 0;
	ASSERT_NULL(team_create(&cfg), "mixer of width 0 refused");
	small_team(&cfg, TEAM_CENTRAL, 2);
	t = team_create(&cfg);
	if (!ASSERT_OK_PTR(t, "create"))
		return;
	ASSERT_EQ(team_step(t, obs, 6, r, 0, w), -EINVAL, "pool above max_servers");
	ASSERT_EQ(team_step(t, obs, 0, r, 0, w), -EINVAL, "empty pool");
	ASSERT_EQ(team_step(t, obs, 5, r, AGENT_RECORD, w), -EINVAL, "NaN reward recorded");
	obs[7] = INFINITY;
	ASSERT_EQ(team_step(t, obs, 5, r, 0, w), -EINVAL, "inf in an observation");
	ASSERT_EQ(t->replay.written, 0, "nothing recorded");
	team_free(t);
}

/* Greedy weights on a fixed sequence of observations. */
static void act_sequence(struct team *t, float *w)
{
	struct rng rng;
	float obs[2 * 4 * F];

	rng_seed(&rng, 77);
	team_reset_state(t);
	for (int s = 0; s < 5; s++) {
		random_obs(&rng, obs, 8);
		team_step(t, obs, 4, NULL, 0, w + s * 8);
	}
}

static void test_team_files(void)
{
	char path[64], err[256];

	snprintf(path, sizeof(path), "/tmp/test_learn_team.%d", (int)getpid());
	for (int m = 0; m < TEAM__COUNT; m++) {
		struct team_config cfg;
		struct team *t, *u;
		float a[40], b[40];
		FILE *f;
		long len;

		small_team(&cfg, (enum team_method)m, 2);
		t = team_create(&cfg);
		if (!ASSERT_OK_PTR(t, "create"))
			return;
		feed_team(t, 40, 5);
		team_train(t, 3, NULL);
		ASSERT_OK(team_save(t, path), "save");
		u = team_load(path, 8, err, sizeof(err));
		if (!ASSERT_OK_PTR(u, err))
			goto next;
		ASSERT_EQ(u->cfg.method, m, "method");
		ASSERT_EQ(u->cfg.lbs, 2, "LBs");
		act_sequence(t, a);
		act_sequence(u, b);
		ASSERT_EQ(memcmp(a, b, sizeof(a)), 0, "the loaded team acts bit for bit alike");
		team_free(u);

		f = fopen(path, "r+b");
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, len / 2, SEEK_SET);
		fputc(0x5a ^ fgetc(f), f);
		fclose(f);
		ASSERT_NULL(team_load(path, 0, err, sizeof(err)), "corrupt file refused");
		ASSERT_TRUE(strstr(err, "checksum"), err);
		ASSERT_OK(truncate(path, len - 9), "truncate");
		ASSERT_NULL(team_load(path, 0, err, sizeof(err)), "truncated file refused");
		ASSERT_TRUE(strstr(err, "truncated"), err);
		if (m == TEAM_QMIX) { /* its agents run as marl does */
			ASSERT_OK(agent_save(team_agent(t, 1), path), "the agent as a marl model");
			ASSERT_NULL(team_load(path, 0, err, sizeof(err)), "an agent model refused");
			ASSERT_TRUE(strstr(err, "--policy marl"), err);
		}
next:
		team_free(t);
	}
	unlink(path);
}

/* The joint views are means: reordering the servers (the same way at every LB) reorders the
 * context rows and leaves the state alone. */
static void test_joint_views_order_free(void)
{
	const int M = 3, n = 4, perm[4] = { 2, 0, 3, 1 }, C = JOINT_CONTEXT_WIDTH(F);
	float obs[3 * 4 * F], pobs[3 * 4 * F], s[3 * F], ps[3 * F], ctx[3 * 4 * 3 * F],
		pctx[3 * 4 * 3 * F];
	struct rng rng;
	double err = 0;

	rng_seed(&rng, 1);
	random_obs(&rng, obs, M * n);
	for (int i = 0; i < M; i++)
		for (int k = 0; k < n; k++)
			memcpy(pobs + (i * n + k) * F, obs + (i * n + perm[k]) * F,
			       F * sizeof(float));
	joint_state(obs, M, n, F, s);
	joint_state(pobs, M, n, F, ps);
	joint_context(obs, M, n, F, ctx);
	joint_context(pobs, M, n, F, pctx);
	for (int c = 0; c < 3 * F; c++)
		err = fmax(err, fabs(s[c] - ps[c]));
	for (int i = 0; i < M; i++)
		for (int k = 0; k < n; k++)
			for (int c = 0; c < C; c++)
				err = fmax(err, fabs(pctx[(i * n + k) * C + c] -
						     ctx[(i * n + perm[k]) * C + c]));
	ASSERT_LT(err, 1e-5, "permuted views = views permuted");
	/* server 1's column mean over the LBs */
	ASSERT_NEAR(ctx[(2 * n + 1) * C + F],
		    (obs[(0 * n + 1) * F] + obs[(1 * n + 1) * F] + obs[(2 * n + 1) * F]) / 3, 1e-5,
		    "everyone's view of a server");
}

static const struct test_case tests[] = {
	TEST(mixer_monotonic),
	TEST(mixer_gradients),
	TEST(qmix_gradients),
	TEST(qmix_gradients_recurrence_cut),
	TEST(central_critic_gradients),
	TEST(gradcheck_catches_a_wrong_mixer_gradient),
	TEST(coordination_centralised_learn),
	TEST(coordination_broken_mixer_fails),
	TEST(decentralised_execution),
	TEST(communication_counted),
	TEST(bad_input),
	TEST(team_files),
	TEST(joint_views_order_free),
	{},
};

int main(int argc, char **argv)
{
	if (getenv("LEARN_SEED"))
		seed_base = strtoull(getenv("LEARN_SEED"), NULL, 0);
	return test_main(argc, argv, tests);
}
