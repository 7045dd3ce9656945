// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/fastmath.h"
#include "learn/layers.h"
#include "learn/matmul.h"

void relu_forward(float *restrict out, const float *restrict inp, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void relu_backward(float *restrict dinp, const float *restrict dout, const float *restrict inp,
		   size_t n)
{
	for (size_t i = 0; i < n; i++)
		dinp[i] += dout[i] * (float)(inp[i] > 0.0f); /* no branch: vectorises */
}

void tanh_forward(float *out, const float *inp, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = tanh_fast(inp[i]);
}

void tanh_backward(float *dinp, const float *dout, const float *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
}

void sigmoid_forward(float *out, const float *inp, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = sigmoid_fast(inp[i]);
}

void sigmoid_backward(float *dinp, const float *dout, const float *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dinp[i] += dout[i] * out[i] * (1.0f - out[i]);
}

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *gain,
		       const float *bias, int rows, int c)
{
	const float eps = 1e-5f;

	for (int r = 0; r < rows; r++) {
		const float *x = inp + (size_t)r * c;
		float *y = out + (size_t)r * c;
		float m = 0.0f, v = 0.0f, s;

		for (int i = 0; i < c; i++)
			m += x[i];
		m /= c;
		for (int i = 0; i < c; i++)
			v += (x[i] - m) * (x[i] - m);
		v /= c;
		s = 1.0f / sqrtf(v + eps);
		for (int i = 0; i < c; i++)
			y[i] = (x[i] - m) * s * gain[i] + bias[i];
		mean[r] = m;
		rstd[r] = s;
	}
}

void layernorm_backward(float *dinp, float *dgain, float *dbias, const float *dout,
			const float *inp, const float *gain, const float *mean, const float *rstd,
			int rows, int c)
{
	for (int r = 0; r < rows; r++) {
		const float *x = inp + (size_t)r * c;
		const float *dy = dout + (size_t)r * c;
		float *dx = dinp + (size_t)r * c;
		float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;

		for (int i = 0; i < c; i++) {
			float norm = (x[i] - mean[r]) * rstd[r];
			float dnorm = gain[i] * dy[i];

			dnorm_mean += dnorm;
			dnorm_norm_mean += dnorm * norm;
		}
		dnorm_mean /= c;
		dnorm_norm_mean /= c;
		for (int i = 0; i < c; i++) {
			float norm = (x[i] - mean[r]) * rstd[r];
			float dnorm = gain[i] * dy[i];

			dbias[i] += dy[i];
			dgain[i] += norm * dy[i];
			dx[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * rstd[r];
		}
	}
}

int gru_acts_alloc(struct gru_acts *a, const struct gru_dims *d)
{
	size_t bh = (size_t)d->batch * d->hidden, tb3h = (size_t)d->steps * bh * 3;

	memset(a, 0, sizeof(*a));
	a->dims = *d;
	a->hs = calloc((d->steps + 1) * bh, sizeof(float));
	a->gi = calloc(tb3h, sizeof(float));
	a->gh = calloc(tb3h, sizeof(float));
	a->gates = calloc(tb3h, sizeof(float));
	a->dgi = calloc(tb3h, sizeof(float));
	a->dgh = calloc(tb3h, sizeof(float));
	a->dh = calloc(bh, sizeof(float));
	a->zeros = calloc(bh, sizeof(float));
	if (!a->hs || !a->gi || !a->gh || !a->gates || !a->dgi || !a->dgh || !a->dh || !a->zeros) {
		gru_acts_free(a);
		return -ENOMEM;
	}
	return 0;
}

void gru_acts_free(struct gru_acts *a)
{
	free(a->hs);
	free(a->gi);
	free(a->gh);
	free(a->gates);
	free(a->dgi);
	free(a->dgh);
	free(a->dh);
	free(a->zeros);
	memset(a, 0, sizeof(*a));
}

/*
 * One row of gates; separate restrict pointers so that the loop vectorises. gi and gh come
 * without their biases (adding them here saves a pass over memory); gh's n part leaves with
 * b_hn added, as W_hn h + b_hn is what the backward needs.
 */
VECTOR_CLONES
static void gru_cell(float *restrict r, float *restrict z, float *restrict n, float *restrict h,
		     const float *restrict gi, float *restrict gh, const float *restrict hp,
		     const float *restrict b_ih, const float *restrict b_hh, int H)
{
	const float *gi_z = gi + H, *gi_n = gi + 2 * H, *gh_z = gh + H;
	float *gh_n = gh + 2 * H;

	for (int j = 0; j < H; j++) {
		r[j] = sigmoid_fast(gi[j] + b_ih[j] + gh[j] + b_hh[j]);
		z[j] = sigmoid_fast(gi_z[j] + b_ih[H + j] + gh_z[j] + b_hh[H + j]);
		gh_n[j] += b_hh[2 * H + j];
		n[j] = tanh_fast(gi_n[j] + b_ih[2 * H + j] + r[j] * gh_n[j]);
		h[j] = (1.0f - z[j]) * n[j] + z[j] * hp[j];
	}
}

/*
 * One row back through the gates. dh holds the gradient reaching h' from later steps (used
 * when rec) and leaves with the direct part d h'/d h = z; the W_hh part is added by the
 * caller. hn = W_hn h + b_hn, the n part of gh.
 */
VECTOR_CLONES
static void gru_cell_backward(float *restrict dgi, float *restrict dgh, float *restrict dh,
			      const float *restrict dy, const float *restrict r,
			      const float *restrict z, const float *restrict n,
			      const float *restrict hn, const float *restrict hp, bool rec, int H)
{
	float *dgi_z = dgi + H, *dgi_n = dgi + 2 * H, *dgh_z = dgh + H, *dgh_n = dgh + 2 * H;

	for (int j = 0; j < H; j++) {
		float dht = dy[j] + (rec ? dh[j] : 0.0f);
		float dn = dht * (1.0f - z[j]) * (1.0f - n[j] * n[j]);
		float dz = dht * (hp[j] - n[j]) * z[j] * (1.0f - z[j]);
		float dr = dn * hn[j] * r[j] * (1.0f - r[j]);

		dgi[j] = dr;
		dgi_z[j] = dz;
		dgi_n[j] = dn;
		dgh[j] = dr;
		dgh_z[j] = dz;
		dgh_n[j] = dn * r[j];
		dh[j] = dht * z[j];
	}
}

static inline const float *gru_prev_state(const struct gru_acts *a, int t)
{
	size_t bh = (size_t)a->dims.batch * a->dims.hidden;

	return a->dims.recurrent ? a->hs + t * bh : a->zeros;
}

void gru_forward(struct gru_acts *a, const struct gru_params *p, const float *x, const float *h0,
		 int steps)
{
	const int B = a->dims.batch, I = a->dims.in, H = a->dims.hidden;
	const size_t bh = (size_t)B * H, b3h = bh * 3;

	if (h0)
		memcpy(a->hs, h0, bh * sizeof(float));
	else
		memset(a->hs, 0, bh * sizeof(float));
	/* The input half of every step at once: one (T*B, I) x (I, 3H) product. */
	matmul_forward(a->gi, x, p->w_ih, NULL, steps * B, I, 3 * H);
	for (int t = 0; t < steps; t++) {
		const float *hprev = gru_prev_state(a, t);
		const float *gi = a->gi + t * b3h;
		float *gh = a->gh + t * b3h;
		float *gates = a->gates + t * b3h;
		float *hnext = a->hs + (t + 1) * bh;

		/* gh (B, 3H) = hprev (B, H) . W_hh^T, zero when the recurrence is cut */
		if (a->dims.recurrent)
			matmul_forward(gh, hprev, p->w_hh, NULL, B, H, 3 * H);
		else
			memset(gh, 0, b3h * sizeof(float));
		for (int b = 0; b < B; b++) {
			float *r = gates + b * 3 * H;

			gru_cell(r, r + H, r + 2 * H, hnext + b * H, gi + b * 3 * H, gh + b * 3 * H,
				 hprev + b * H, p->b_ih, p->b_hh, H);
		}
	}
}

void gru_backward(struct gru_params *g, float *dx, float *dh0, const float *dout,
		  struct gru_acts *a, const struct gru_params *p, const float *x, int t_start)
{
	const int T = a->dims.steps, B = a->dims.batch, I = a->dims.in, H = a->dims.hidden;
	const size_t bh = (size_t)B * H, b3h = bh * 3;
	const bool rec = a->dims.recurrent;
	const int rows = (T - t_start) * B;

	if (rows <= 0)
		return;
	memset(a->dh, 0, bh * sizeof(float));
	for (int t = T - 1; t >= t_start; t--) {
		const float *hprev = gru_prev_state(a, t);
		const float *gates = a->gates + t * b3h, *gh = a->gh + t * b3h;
		const float *dy = dout + t * bh;
		float *dgi = a->dgi + t * b3h, *dgh = a->dgh + t * b3h;

		for (int b = 0; b < B; b++) {
			const float *r = gates + b * 3 * H;

			gru_cell_backward(dgi + b * 3 * H, dgh + b * 3 * H, a->dh + b * H,
					  dy + b * H, r, r + H, r + 2 * H, gh + b * 3 * H + 2 * H,
					  hprev + b * H, rec, H);
		}
		/* Through W_hh into the previous state, unless that state is burn-in or cut. */
		if (rec && (t > t_start || dh0))
			matmul_backward(a->dh, NULL, NULL, dgh, hprev, p->w_hh, B, H, 3 * H);
	}
	if (dh0 && rec && t_start == 0)
		for (size_t i = 0; i < bh; i++)
			dh0[i] += a->dh[i];

	/* Weight gradients of all trained steps at once. */
	matmul_backward(dx ? dx + (size_t)t_start * B * I : NULL, g->w_ih, g->b_ih,
			a->dgi + t_start * b3h, x + (size_t)t_start * B * I, p->w_ih, rows, I,
			3 * H);
	if (rec)
		matmul_backward(NULL, g->w_hh, g->b_hh, a->dgh + t_start * b3h,
				a->hs + t_start * bh, p->w_hh, rows, H, 3 * H);
	else
		matmul_backward(NULL, NULL, g->b_hh, a->dgh + t_start * b3h, NULL, NULL, rows, H,
				3 * H);
}
