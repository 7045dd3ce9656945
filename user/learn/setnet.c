// SPDX-License-Identifier: GPL-2.0
/* The set networks (setnet.h): per-server layers joined by masked means over the pool. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/matmul.h"
#include "learn/setnet.h"

size_t encoder_param_count(const struct setnet_dims *d)
{
	size_t H = d->hidden, I = 2 * (size_t)d->features;

	return 3 * H * I + 3 * H * H + 6 * H;
}

size_t actor_param_count(const struct setnet_dims *d)
{
	size_t H = d->hidden;

	return H * 2 * H + H + 2 * H + 2;
}

size_t critic_param_count(const struct setnet_dims *d)
{
	size_t H = d->hidden;

	return H * (2 * H + 1) + H + H * H + H + H + 1;
}

void encoder_point(struct encoder_params *p, float *x, const struct setnet_dims *d)
{
	size_t H = d->hidden, I = 2 * (size_t)d->features;

	p->gru.w_ih = x, x += 3 * H * I;
	p->gru.w_hh = x, x += 3 * H * H;
	p->gru.b_ih = x, x += 3 * H;
	p->gru.b_hh = x;
}

void actor_point(struct actor_params *p, float *x, const struct setnet_dims *d)
{
	size_t H = d->hidden;

	p->w1 = x, x += H * 2 * H;
	p->b1 = x, x += H;
	p->w2 = x, x += 2 * H;
	p->b2 = x;
}

void critic_point(struct critic_params *p, float *x, const struct setnet_dims *d)
{
	size_t H = d->hidden;

	p->w1 = x, x += H * (2 * H + 1);
	p->b1 = x, x += H;
	p->w2 = x, x += H * H;
	p->b2 = x, x += H;
	p->w3 = x, x += H;
	p->b3 = x;
}

void encoder_init(float *base, const struct setnet_dims *d, struct rng *rng)
{
	/* PyTorch's GRU: every tensor from U(-1/sqrt(H), 1/sqrt(H)) */
	rng_fan_in_fill(rng, base, encoder_param_count(d), d->hidden);
}

void actor_init(float *base, const struct setnet_dims *d, struct rng *rng)
{
	struct actor_params p;
	size_t H = d->hidden;

	actor_point(&p, base, d);
	rng_fan_in_fill(rng, p.w1, H * 2 * H + H, 2 * H);
	rng_fan_in_fill(rng, p.w2, 2 * H + 2, H);
}

void critic_init(float *base, const struct setnet_dims *d, struct rng *rng)
{
	struct critic_params p;
	size_t H = d->hidden;

	critic_point(&p, base, d);
	rng_fan_in_fill(rng, p.w1, H * (2 * H + 1) + H, 2 * H + 1);
	rng_fan_in_fill(rng, p.w2, H * H + H, H);
	rng_fan_in_fill(rng, p.w3, H + 1, H);
}

void segmean_forward(float *out, const float *in, const struct set_shape *s, int C)
{
	const int R = s->rows, B = s->windows;

	for (int t = 0; t < s->steps; t++) {
		for (int b = 0; b < B; b++) {
			float *o = out + ((size_t)t * B + b) * C;
			float n = 0.0f;

			memset(o, 0, C * sizeof(float));
			for (int r = s->seg[b]; r < s->seg[b + 1]; r++) {
				size_t row = (size_t)t * R + r;
				const float *x = in + row * C;

				if (s->mask[row] == 0.0f)
					continue;
				n += 1.0f;
				for (int c = 0; c < C; c++)
					o[c] += x[c];
			}
			if (n > 0.0f)
				for (int c = 0; c < C; c++)
					o[c] /= n;
		}
	}
}

void segmean_backward(float *din, const float *dout, const struct set_shape *s, int C)
{
	const int R = s->rows, B = s->windows;

	for (int t = 0; t < s->steps; t++) {
		for (int b = 0; b < B; b++) {
			const float *d = dout + ((size_t)t * B + b) * C;
			float n = 0.0f;

			for (int r = s->seg[b]; r < s->seg[b + 1]; r++)
				n += s->mask[(size_t)t * R + r] != 0.0f;
			if (n == 0.0f)
				continue;
			for (int r = s->seg[b]; r < s->seg[b + 1]; r++) {
				size_t row = (size_t)t * R + r;
				float *x = din + row * C;

				if (s->mask[row] == 0.0f)
					continue;
				for (int c = 0; c < C; c++)
					x[c] += d[c] / n;
			}
		}
	}
}

/* out (T, R, Ca + Cb [+ 1]) = [a_row | pooled_window(row) [| extra_row]] */
static void join_rows(float *out, const float *a, int Ca, const float *pooled, int Cb,
		      const float *extra, const struct set_shape *s)
{
	const int R = s->rows, B = s->windows, C = Ca + Cb + (extra ? 1 : 0);

	for (int t = 0; t < s->steps; t++) {
		for (int b = 0; b < B; b++) {
			const float *p = pooled + ((size_t)t * B + b) * Cb;

			for (int r = s->seg[b]; r < s->seg[b + 1]; r++) {
				size_t row = (size_t)t * R + r;
				float *o = out + row * C;

				memcpy(o, a + row * Ca, Ca * sizeof(float));
				memcpy(o + Ca, p, Cb * sizeof(float));
				if (extra)
					o[Ca + Cb] = extra[row];
			}
		}
	}
}

#define ALLOC(ptr, n)                                            \
	do {                                                     \
		(ptr) = calloc((size_t)(n), sizeof(*(ptr)));     \
		if (!(ptr))                                      \
			goto nomem;                              \
	} while (0)

int encoder_acts_alloc(struct encoder_acts *a, const struct setnet_dims *d, int max_steps,
		       int max_rows, int max_windows)
{
	struct gru_dims gd = { max_steps, max_rows, 2 * d->features, d->hidden, d->recurrent };
	size_t rows = (size_t)max_steps * max_rows;

	memset(a, 0, sizeof(*a));
	a->max_steps = max_steps;
	a->max_rows = max_rows;
	a->max_windows = max_windows;
	ALLOC(a->xbar, (size_t)max_steps * max_windows * d->features);
	ALLOC(a->xin, rows * 2 * d->features);
	ALLOC(a->de, rows * d->hidden);
	if (gru_acts_alloc(&a->gru, &gd))
		goto nomem;
	return 0;
nomem:
	encoder_acts_free(a);
	return -ENOMEM;
}

void encoder_acts_free(struct encoder_acts *a)
{
	free(a->xbar);
	free(a->xin);
	free(a->de);
	gru_acts_free(&a->gru);
	memset(a, 0, sizeof(*a));
}

int actor_acts_alloc(struct actor_acts *a, const struct setnet_dims *d, int max_rows,
		     int max_windows)
{
	size_t H = d->hidden, R = max_rows;

	memset(a, 0, sizeof(*a));
	a->max_rows = max_rows;
	a->max_windows = max_windows;
	ALLOC(a->ebar, (size_t)max_windows * H);
	ALLOC(a->in, R * 2 * H);
	ALLOC(a->pre, R * H);
	ALLOC(a->act, R * H);
	ALLOC(a->out, R * 2);
	ALLOC(a->dpre, R * H);
	ALLOC(a->dact, R * H);
	ALLOC(a->din, R * 2 * H);
	ALLOC(a->debar, (size_t)max_windows * H);
	return 0;
nomem:
	actor_acts_free(a);
	return -ENOMEM;
}

void actor_acts_free(struct actor_acts *a)
{
	free(a->ebar);
	free(a->in);
	free(a->pre);
	free(a->act);
	free(a->out);
	free(a->dpre);
	free(a->dact);
	free(a->din);
	free(a->debar);
	memset(a, 0, sizeof(*a));
}

int critic_acts_alloc(struct critic_acts *a, const struct setnet_dims *d, int max_rows,
		      int max_windows)
{
	size_t H = d->hidden, R = max_rows, W = max_windows;

	memset(a, 0, sizeof(*a));
	a->max_rows = max_rows;
	a->max_windows = max_windows;
	ALLOC(a->ebar, W * H);
	ALLOC(a->in, R * (2 * H + 1));
	ALLOC(a->pre1, R * H);
	ALLOC(a->phi, R * H);
	ALLOC(a->phibar, W * H);
	ALLOC(a->pre2, W * H);
	ALLOC(a->act2, W * H);
	ALLOC(a->q, W);
	ALLOC(a->din, R * (2 * H + 1));
	ALLOC(a->dpre1, R * H);
	ALLOC(a->dphi, R * H);
	ALLOC(a->dphibar, W * H);
	ALLOC(a->dpre2, W * H);
	ALLOC(a->dact2, W * H);
	ALLOC(a->debar, W * H);
	return 0;
nomem:
	critic_acts_free(a);
	return -ENOMEM;
}

void critic_acts_free(struct critic_acts *a)
{
	free(a->ebar);
	free(a->in);
	free(a->pre1);
	free(a->phi);
	free(a->phibar);
	free(a->pre2);
	free(a->act2);
	free(a->q);
	free(a->din);
	free(a->dpre1);
	free(a->dphi);
	free(a->dphibar);
	free(a->dpre2);
	free(a->dact2);
	free(a->debar);
	memset(a, 0, sizeof(*a));
}

const float *encoder_forward(struct encoder_acts *a, const struct encoder_params *p,
			     const struct setnet_dims *d, const float *x, const struct set_shape *s,
			     const float *h0)
{
	const int F = d->features;

	segmean_forward(a->xbar, x, s, F);
	join_rows(a->xin, x, F, a->xbar, F, NULL, s);
	a->gru.dims.batch = s->rows;
	a->gru.dims.steps = s->steps;
	gru_forward(&a->gru, &p->gru, a->xin, h0, s->steps);
	return gru_output(&a->gru);
}

void encoder_backward(struct encoder_params *g, struct encoder_acts *a,
		      const struct encoder_params *p, const struct setnet_dims *d,
		      const struct set_shape *s, int t_start)
{
	/* x is data: no gradient below the GRU's input */
	gru_backward(&g->gru, NULL, NULL, a->de, &a->gru, &p->gru, a->xin, t_start);
}

const float *actor_forward(struct actor_acts *a, const struct actor_params *p,
			   const struct setnet_dims *d, const float *e, const struct set_shape *s)
{
	const int H = d->hidden, rows = s->steps * s->rows;

	segmean_forward(a->ebar, e, s, H);
	join_rows(a->in, e, H, a->ebar, H, NULL, s);
	matmul_forward(a->pre, a->in, p->w1, p->b1, rows, 2 * H, H);
	relu_forward(a->act, a->pre, (size_t)rows * H);
	matmul_forward(a->out, a->act, p->w2, p->b2, rows, H, 2);
	return a->out;
}

/* din (rows, C) = [de | debar | extra]: de rows added into de, debar back through the pool */
static void split_pooled_grad(float *de, float *debar, const float *din, int C, int H,
			      const struct set_shape *s)
{
	const int R = s->rows, B = s->windows;

	memset(debar, 0, (size_t)s->steps * B * H * sizeof(float));
	for (int t = 0; t < s->steps; t++) {
		for (int b = 0; b < B; b++) {
			float *db = debar + ((size_t)t * B + b) * H;

			for (int r = s->seg[b]; r < s->seg[b + 1]; r++) {
				size_t row = (size_t)t * R + r;
				const float *g_in = din + row * C;

				for (int j = 0; j < H; j++) {
					de[row * H + j] += g_in[j];
					db[j] += g_in[H + j];
				}
			}
		}
	}
	segmean_backward(de, debar, s, H);
}

void actor_backward(struct actor_params *g, float *de, struct actor_acts *a,
		    const struct actor_params *p, const struct setnet_dims *d, const float *dout,
		    const struct set_shape *s)
{
	const int H = d->hidden, rows = s->steps * s->rows;

	memset(a->dact, 0, (size_t)rows * H * sizeof(float));
	memset(a->dpre, 0, (size_t)rows * H * sizeof(float));
	matmul_backward(a->dact, g ? g->w2 : NULL, g ? g->b2 : NULL, dout, a->act, p->w2, rows, H,
			2);
	relu_backward(a->dpre, a->dact, a->pre, (size_t)rows * H);
	if (de)
		memset(a->din, 0, (size_t)rows * 2 * H * sizeof(float));
	matmul_backward(de ? a->din : NULL, g ? g->w1 : NULL, g ? g->b1 : NULL, a->dpre, a->in,
			p->w1, rows, 2 * H, H);
	if (de)
		split_pooled_grad(de, a->debar, a->din, 2 * H, H, s);
}

const float *critic_forward(struct critic_acts *a, const struct critic_params *p,
			    const struct setnet_dims *d, const float *e, const float *l,
			    const struct set_shape *s)
{
	const int H = d->hidden, rows = s->steps * s->rows, wins = s->steps * s->windows;

	segmean_forward(a->ebar, e, s, H);
	join_rows(a->in, e, H, a->ebar, H, l, s);
	matmul_forward(a->pre1, a->in, p->w1, p->b1, rows, 2 * H + 1, H);
	relu_forward(a->phi, a->pre1, (size_t)rows * H);
	segmean_forward(a->phibar, a->phi, s, H);
	matmul_forward(a->pre2, a->phibar, p->w2, p->b2, wins, H, H);
	relu_forward(a->act2, a->pre2, (size_t)wins * H);
	matmul_forward(a->q, a->act2, p->w3, p->b3, wins, H, 1);
	return a->q;
}

void critic_backward(struct critic_params *g, float *de, float *dl, struct critic_acts *a,
		     const struct critic_params *p, const struct setnet_dims *d, const float *dq,
		     const struct set_shape *s)
{
	const int H = d->hidden, C = 2 * H + 1, rows = s->steps * s->rows;
	const int wins = s->steps * s->windows;

	memset(a->dact2, 0, (size_t)wins * H * sizeof(float));
	memset(a->dpre2, 0, (size_t)wins * H * sizeof(float));
	memset(a->dphibar, 0, (size_t)wins * H * sizeof(float));
	memset(a->dphi, 0, (size_t)rows * H * sizeof(float));
	memset(a->dpre1, 0, (size_t)rows * H * sizeof(float));
	memset(a->din, 0, (size_t)rows * C * sizeof(float));
	matmul_backward(a->dact2, g ? g->w3 : NULL, g ? g->b3 : NULL, dq, a->act2, p->w3, wins, H,
			1);
	relu_backward(a->dpre2, a->dact2, a->pre2, (size_t)wins * H);
	matmul_backward(a->dphibar, g ? g->w2 : NULL, g ? g->b2 : NULL, a->dpre2, a->phibar, p->w2,
			wins, H, H);
	segmean_backward(a->dphi, a->dphibar, s, H);
	relu_backward(a->dpre1, a->dphi, a->pre1, (size_t)rows * H);
	matmul_backward(a->din, g ? g->w1 : NULL, g ? g->b1 : NULL, a->dpre1, a->in, p->w1, rows,
			C, H);
	if (dl)
		for (size_t row = 0; row < (size_t)rows; row++)
			dl[row] += a->din[row * C + 2 * H];
	if (de)
		split_pooled_grad(de, a->debar, a->din, C, H, s);
}
