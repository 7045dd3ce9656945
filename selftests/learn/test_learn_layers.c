// SPDX-License-Identifier: GPL-2.0
/*
 * Layers against independent references: every backward against central finite
 * differences, the GRU forward against a double-precision transcription of PyTorch's
 * equations, truncated BPTT against a run that starts where the burn-in ends, and the BLAS
 * products against the plain-loop oracle.
 */
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "gradcheck.h"
#include "learn/fastmath.h"
#include "learn/layers.h"
#include "learn/matmul.h"
#include "learn/rng.h"

#define GRAD_TOL 2e-3 /* observed <= 1e-4 (GRADCHECK_VERBOSE=1); a wrong term gives ~0.1..1 */

static struct rng rng;

static float *randn(size_t n, float scale)
{
	float *x = malloc(n * sizeof(float));

	for (size_t i = 0; i < n; i++)
		x[i] = scale * rng_normal(&rng);
	return x;
}

static double dot(const float *a, const float *c, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * c[i];
	return s;
}

/* ---- linear ---- */
struct linear_ctx {
	int rows, ic, oc;
	float *inp, *w, *b, *out, *c;
};

static double linear_loss(void *p)
{
	struct linear_ctx *x = p;

	matmul_forward(x->out, x->inp, x->w, x->b, x->rows, x->ic, x->oc);
	return dot(x->out, x->c, (size_t)x->rows * x->oc);
}

static void test_linear_grad(void)
{
	struct linear_ctx x = { .rows = 5, .ic = 7, .oc = 4 };
	float *dinp, *dw, *db;

	rng_seed(&rng, 11);
	x.inp = randn(5 * 7, 1), x.w = randn(4 * 7, 0.5), x.b = randn(4, 0.5);
	x.out = randn(5 * 4, 0), x.c = randn(5 * 4, 1);
	dinp = calloc(5 * 7, 4), dw = calloc(4 * 7, 4), db = calloc(4, 4);
	linear_loss(&x);
	matmul_backward(dinp, dw, db, x.c, x.inp, x.w, 5, 7, 4);
	ASSERT_LT(gradcheck(linear_loss, &x, x.inp, dinp, 35, 1e-2f, 100), GRAD_TOL, "d input");
	ASSERT_LT(gradcheck(linear_loss, &x, x.w, dw, 28, 1e-2f, 100), GRAD_TOL, "d weight");
	ASSERT_LT(gradcheck(linear_loss, &x, x.b, db, 4, 1e-2f, 100), GRAD_TOL, "d bias");
	/* backward accumulates: a second call doubles the gradient */
	matmul_backward(NULL, NULL, db, x.c, x.inp, x.w, 5, 7, 4);
	{
		float db1[4] = { 0 };

		matmul_backward(NULL, NULL, db1, x.c, x.inp, x.w, 5, 7, 4);
		ASSERT_NEAR(db[2], 2 * db1[2], 1e-5, "accumulates");
	}
	free(x.inp), free(x.w), free(x.b), free(x.out), free(x.c), free(dinp), free(dw), free(db);
}

/* ---- elementwise ---- */
enum act_kind { ACT_RELU, ACT_TANH, ACT_SIGMOID };
struct act_ctx {
	enum act_kind kind;
	size_t n;
	float *inp, *out, *c;
};

static double act_loss(void *p)
{
	struct act_ctx *x = p;

	if (x->kind == ACT_RELU)
		relu_forward(x->out, x->inp, x->n);
	else if (x->kind == ACT_TANH)
		tanh_forward(x->out, x->inp, x->n);
	else
		sigmoid_forward(x->out, x->inp, x->n);
	return dot(x->out, x->c, x->n);
}

static void check_activation(enum act_kind kind, const char *name)
{
	struct act_ctx x = { .kind = kind, .n = 40 };
	float *dinp = calloc(40, sizeof(float));

	x.inp = randn(40, 1.5), x.out = randn(40, 0), x.c = randn(40, 1);
	for (int i = 0; i < 40; i++) /* keep ReLU's kink out of the finite-difference step */
		if (fabsf(x.inp[i]) < 0.05f)
			x.inp[i] = 0.1f;
	act_loss(&x);
	if (kind == ACT_RELU)
		relu_backward(dinp, x.c, x.inp, 40);
	else if (kind == ACT_TANH)
		tanh_backward(dinp, x.c, x.out, 40);
	else
		sigmoid_backward(dinp, x.c, x.out, 40);
	ASSERT_LT(gradcheck(act_loss, &x, x.inp, dinp, 40, 1e-2f, 100), GRAD_TOL, name);
	free(x.inp), free(x.out), free(x.c), free(dinp);
}

static void test_activation_grads(void)
{
	rng_seed(&rng, 12);
	check_activation(ACT_RELU, "relu");
	check_activation(ACT_TANH, "tanh");
	check_activation(ACT_SIGMOID, "sigmoid");
}

/* ---- layernorm ---- */
struct ln_ctx {
	int rows, c;
	float *inp, *gain, *bias, *out, *mean, *rstd, *w;
};

static double ln_loss(void *p)
{
	struct ln_ctx *x = p;

	layernorm_forward(x->out, x->mean, x->rstd, x->inp, x->gain, x->bias, x->rows, x->c);
	return dot(x->out, x->w, (size_t)x->rows * x->c);
}

static void test_layernorm_grad(void)
{
	struct ln_ctx x = { .rows = 3, .c = 8 };
	float *dinp = calloc(24, 4), *dg = calloc(8, 4), *db = calloc(8, 4);

	rng_seed(&rng, 13);
	x.inp = randn(24, 2), x.gain = randn(8, 1), x.bias = randn(8, 1), x.out = randn(24, 0);
	x.mean = randn(3, 0), x.rstd = randn(3, 0), x.w = randn(24, 1);
	ln_loss(&x);
	layernorm_backward(dinp, dg, db, x.w, x.inp, x.gain, x.mean, x.rstd, 3, 8);
	ASSERT_LT(gradcheck(ln_loss, &x, x.inp, dinp, 24, 1e-2f, 100), GRAD_TOL, "d input");
	ASSERT_LT(gradcheck(ln_loss, &x, x.gain, dg, 8, 1e-2f, 100), GRAD_TOL, "d gain");
	ASSERT_LT(gradcheck(ln_loss, &x, x.bias, db, 8, 1e-2f, 100), GRAD_TOL, "d bias");
	free(x.inp), free(x.gain), free(x.bias), free(x.out), free(x.mean), free(x.rstd);
	free(x.w), free(dinp), free(dg), free(db);
}

/* ---- GRU ---- */
struct gru_ctx {
	struct gru_dims d;
	struct gru_acts acts;
	struct gru_params p;
	float *x, *h0, *c;
};

static void gru_ctx_init(struct gru_ctx *g, int T, int B, int I, int H, bool recurrent)
{
	memset(g, 0, sizeof(*g));
	g->d = (struct gru_dims){ T, B, I, H, recurrent };
	gru_acts_alloc(&g->acts, &g->d);
	g->p.w_ih = randn(3 * H * I, 0.5), g->p.w_hh = randn(3 * H * H, 0.5);
	g->p.b_ih = randn(3 * H, 0.5), g->p.b_hh = randn(3 * H, 0.5);
	g->x = randn((size_t)T * B * I, 1), g->h0 = randn((size_t)B * H, 0.5);
	g->c = randn((size_t)T * B * H, 1);
}

static void gru_ctx_free(struct gru_ctx *g)
{
	gru_acts_free(&g->acts);
	free(g->p.w_ih), free(g->p.w_hh), free(g->p.b_ih), free(g->p.b_hh);
	free(g->x), free(g->h0), free(g->c);
}

static double gru_loss(void *p)
{
	struct gru_ctx *g = p;

	gru_forward(&g->acts, &g->p, g->x, g->h0, g->d.steps);
	return dot(gru_output(&g->acts), g->c, (size_t)g->d.steps * g->d.batch * g->d.hidden);
}

static void check_gru_grads(bool recurrent)
{
	const int T = 5, B = 3, I = 4, H = 6;
	struct gru_ctx g;
	struct gru_params d;
	float *dx = calloc(T * B * I, 4), *dh0 = calloc(B * H, 4);

	gru_ctx_init(&g, T, B, I, H, recurrent);
	d.w_ih = calloc(3 * H * I, 4), d.w_hh = calloc(3 * H * H, 4);
	d.b_ih = calloc(3 * H, 4), d.b_hh = calloc(3 * H, 4);
	gru_loss(&g);
	gru_backward(&d, dx, dh0, g.c, &g.acts, &g.p, g.x, 0);
	ASSERT_LT(gradcheck(gru_loss, &g, g.p.w_ih, d.w_ih, 3 * H * I, 1e-2f, 200), GRAD_TOL,
		  "d W_ih");
	ASSERT_LT(gradcheck(gru_loss, &g, g.p.b_ih, d.b_ih, 3 * H, 1e-2f, 200), GRAD_TOL, "d b_ih");
	ASSERT_LT(gradcheck(gru_loss, &g, g.p.b_hh, d.b_hh, 3 * H, 1e-2f, 200), GRAD_TOL, "d b_hh");
	ASSERT_LT(gradcheck(gru_loss, &g, g.x, dx, T * B * I, 1e-2f, 200), GRAD_TOL, "d x");
	if (recurrent) {
		ASSERT_LT(gradcheck(gru_loss, &g, g.p.w_hh, d.w_hh, 3 * H * H, 1e-2f, 200),
			  GRAD_TOL, "d W_hh");
		ASSERT_LT(gradcheck(gru_loss, &g, g.h0, dh0, B * H, 1e-2f, 200), GRAD_TOL, "d h0");
	} else {
		/* cut recurrence: the output does not depend on W_hh or h0 at all */
		double ref = gru_loss(&g);

		for (int i = 0; i < 3 * H * H; i++)
			g.p.w_hh[i] += 1.0f;
		for (int i = 0; i < B * H; i++)
			g.h0[i] += 1.0f;
		ASSERT_NEAR(gru_loss(&g), ref, 0.0, "independent of W_hh and h0");
	}
	free(d.w_ih), free(d.w_hh), free(d.b_ih), free(d.b_hh), free(dx), free(dh0);
	gru_ctx_free(&g);
}

static void test_gru_grad_through_time(void)
{
	rng_seed(&rng, 14);
	check_gru_grads(true);
}

static void test_gru_grad_recurrence_cut(void)
{
	rng_seed(&rng, 15);
	check_gru_grads(false);
}

static double sigmoid_d(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/* PyTorch's GRU written out in double, gate rows r, z, n, b_hn inside the reset product. */
static void test_gru_matches_pytorch_equations(void)
{
	const int T = 4, B = 2, I = 3, H = 5;
	struct gru_ctx g;
	double h[B][H], worst = 0.0;

	rng_seed(&rng, 16);
	gru_ctx_init(&g, T, B, I, H, true);
	gru_forward(&g.acts, &g.p, g.x, g.h0, T);
	for (int b = 0; b < B; b++)
		for (int j = 0; j < H; j++)
			h[b][j] = g.h0[b * H + j];
	for (int t = 0; t < T; t++) {
		for (int b = 0; b < B; b++) {
			const float *x = g.x + (t * B + b) * I;
			double hn[H];

			for (int j = 0; j < H; j++) {
				double a[3], c[3];

				for (int k = 0; k < 3; k++) {
					int row = k * H + j;

					a[k] = g.p.b_ih[row];
					c[k] = g.p.b_hh[row];
					for (int i = 0; i < I; i++)
						a[k] += (double)g.p.w_ih[row * I + i] * x[i];
					for (int i = 0; i < H; i++)
						c[k] += (double)g.p.w_hh[row * H + i] * h[b][i];
				}
				double r = sigmoid_d(a[0] + c[0]), z = sigmoid_d(a[1] + c[1]);
				double n = tanh(a[2] + r * c[2]);

				hn[j] = (1 - z) * n + z * h[b][j];
			}
			for (int j = 0; j < H; j++) {
				h[b][j] = hn[j];
				worst = fmax(worst, fabs(hn[j] -
							 gru_output(&g.acts)[(t * B + b) * H + j]));
			}
		}
	}
	ASSERT_LT(worst, 1e-5, "max |h - h_ref|");
	gru_ctx_free(&g);
}

/*
 * Burn-in: gradients with t_start = k must equal those of a fresh run from the (detached)
 * state at k over the remaining steps.
 */
static void test_gru_burn_in_truncates(void)
{
	const int T = 6, B = 2, I = 3, H = 4, K = 2;
	struct gru_ctx full, tail;
	struct gru_params d1, d2;
	size_t n_ih = 3 * H * I, n_hh = 3 * H * H;
	double worst = 0.0, ref = 0.0;

	rng_seed(&rng, 17);
	gru_ctx_init(&full, T, B, I, H, true);
	gru_ctx_init(&tail, T - K, B, I, H, true);
	memcpy(tail.p.w_ih, full.p.w_ih, n_ih * 4), memcpy(tail.p.w_hh, full.p.w_hh, n_hh * 4);
	memcpy(tail.p.b_ih, full.p.b_ih, 3 * H * 4), memcpy(tail.p.b_hh, full.p.b_hh, 3 * H * 4);
	memcpy(tail.x, full.x + K * B * I, (size_t)(T - K) * B * I * 4);
	memcpy(tail.c, full.c + K * B * H, (size_t)(T - K) * B * H * 4);
	gru_forward(&full.acts, &full.p, full.x, full.h0, T);
	gru_forward(&tail.acts, &tail.p, tail.x, full.acts.hs + K * B * H, T - K);
	d1 = (struct gru_params){ calloc(n_ih, 4), calloc(n_hh, 4), calloc(3 * H, 4),
				  calloc(3 * H, 4) };
	d2 = (struct gru_params){ calloc(n_ih, 4), calloc(n_hh, 4), calloc(3 * H, 4),
				  calloc(3 * H, 4) };
	gru_backward(&d1, NULL, NULL, full.c, &full.acts, &full.p, full.x, K);
	gru_backward(&d2, NULL, NULL, tail.c, &tail.acts, &tail.p, tail.x, 0);
	for (size_t i = 0; i < n_hh; i++) {
		worst = fmax(worst, fabs(d1.w_hh[i] - d2.w_hh[i]));
		ref = fmax(ref, fabs(d2.w_hh[i]));
	}
	for (size_t i = 0; i < n_ih; i++)
		worst = fmax(worst, fabs(d1.w_ih[i] - d2.w_ih[i]));
	ASSERT_GT(ref, 1e-3, "gradient is not trivially zero");
	ASSERT_LT(worst, 1e-5 * fmax(ref, 1.0), "burn-in gradient == detached-tail gradient");
	free(d1.w_ih), free(d1.w_hh), free(d1.b_ih), free(d1.b_hh);
	free(d2.w_ih), free(d2.w_hh), free(d2.b_ih), free(d2.b_hh);
	gru_ctx_free(&full);
	gru_ctx_free(&tail);
}

/* ---- BLAS against the oracle ---- */
static double max_diff(const float *a, const float *b, size_t n, double *scale)
{
	double d = 0.0;

	*scale = 1e-12;
	for (size_t i = 0; i < n; i++) {
		d = fmax(d, fabs((double)a[i] - b[i]));
		*scale = fmax(*scale, fabs(b[i]));
	}
	return d;
}

static void test_blas_equals_naive(void)
{
	static const int shapes[][3] = {
		{ 1, 54, 192 }, { 37, 29, 13 }, { 544, 64, 192 }, { 3, 1, 1 }
	};

	rng_seed(&rng, 18);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		int R = shapes[s][0], C = shapes[s][1], O = shapes[s][2];
		float *inp = randn((size_t)R * C, 1), *w = randn((size_t)O * C, 1);
		float *b = randn(O, 1), *dout = randn((size_t)R * O, 1);
		float *y[2], *dx[2], *dw[2], *db[2];
		double scale, d;

		for (int k = 0; k < 2; k++) {
			matmul_set_backend(k ? MATMUL_NAIVE : MATMUL_BLAS);
			y[k] = calloc((size_t)R * O, 4), dx[k] = calloc((size_t)R * C, 4);
			dw[k] = calloc((size_t)O * C, 4), db[k] = calloc(O, 4);
			matmul_forward(y[k], inp, w, b, R, C, O);
			matmul_backward(dx[k], dw[k], db[k], dout, inp, w, R, C, O);
		}
		matmul_set_backend(MATMUL_BLAS);
		d = max_diff(y[0], y[1], (size_t)R * O, &scale);
		ASSERT_LT(d, 1e-5 * scale, "forward");
		d = max_diff(dx[0], dx[1], (size_t)R * C, &scale);
		ASSERT_LT(d, 1e-5 * scale, "d input");
		d = max_diff(dw[0], dw[1], (size_t)O * C, &scale);
		ASSERT_LT(d, 1e-5 * scale, "d weight");
		d = max_diff(db[0], db[1], O, &scale);
		ASSERT_LT(d, 1e-5 * scale, "d bias");
		for (int k = 0; k < 2; k++)
			free(y[k]), free(dx[k]), free(dw[k]), free(db[k]);
		free(inp), free(w), free(b), free(dout);
	}
}

/* The vectorisable exp/sigmoid/tanh against libm in double. */
static void test_fast_math_accuracy(void)
{
	double worst_exp = 0.0, worst_sig = 0.0, worst_tanh = 0.0;

	for (int i = -8700; i <= 8800; i++) {
		float x = i * 0.01f;

		worst_exp = fmax(worst_exp, fabs(exp_fast(x) / exp((double)x) - 1.0));
	}
	for (int i = -3000; i <= 3000; i++) {
		float x = i * 0.01f;

		worst_sig = fmax(worst_sig, fabs(sigmoid_fast(x) - 1.0 / (1.0 + exp(-(double)x))));
		worst_tanh = fmax(worst_tanh, fabs(tanh_fast(x) - tanh((double)x)));
	}
	ASSERT_LT(worst_exp, 5e-7, "exp relative error");
	ASSERT_LT(worst_sig, 5e-7, "sigmoid absolute error");
	ASSERT_LT(worst_tanh, 1e-6, "tanh absolute error");
	ASSERT_EQ(exp_fast(-1000.0f) < 1e-37f, 1, "clamped below");
	ASSERT_EQ(isfinite(exp_fast(1000.0f)), 1, "clamped above");
	ASSERT_NEAR(tanh_fast(50.0f), 1.0, 0.0, "tanh saturates to 1");
	ASSERT_NEAR(tanh_fast(-50.0f), -1.0, 0.0, "tanh saturates to -1");
}

static const struct test_case tests[] = {
	TEST(fast_math_accuracy),
	TEST(linear_grad),
	TEST(activation_grads),
	TEST(layernorm_grad),
	TEST(gru_grad_through_time),
	TEST(gru_grad_recurrence_cut),
	TEST(gru_matches_pytorch_equations),
	TEST(gru_burn_in_truncates),
	TEST(blas_equals_naive),
	{},
};

int main(int argc, char **argv)
{
	matmul_init();
	return test_main(argc, argv, tests);
}
