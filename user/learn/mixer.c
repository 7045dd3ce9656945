// SPDX-License-Identifier: GPL-2.0
/* The monotonic mixing network (mixer.h): hypernetworks on the state, then one mixing layer. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/layers.h"
#include "learn/matmul.h"
#include "learn/mixer.h"

size_t mixer_param_count(const struct mixer_dims *d)
{
	size_t M = d->agents, S = d->state, E = d->embed;

	/* hyper W1; hyper b1, hyper W2 and V's first layer; V's second layer */
	return M * E * (S + 1) + 3 * E * (S + 1) + E + 1;
}

void mixer_point(struct mixer_params *p, float *x, const struct mixer_dims *d)
{
	size_t M = d->agents, S = d->state, E = d->embed;

	p->a1 = x, x += M * E * S;
	p->c1 = x, x += M * E;
	p->b1w = x, x += E * S;
	p->b1b = x, x += E;
	p->a2 = x, x += E * S;
	p->c2 = x, x += E;
	p->v1 = x, x += E * S;
	p->vb1 = x, x += E;
	p->v2 = x, x += E;
	p->vb2 = x;
}

void mixer_init(float *base, const struct mixer_dims *d, struct rng *rng)
{
	struct mixer_params p;
	size_t S = d->state, E = d->embed;

	mixer_point(&p, base, d);
	/* every layer reading the state has fan-in S; V's second layer reads E */
	rng_fan_in_fill(rng, p.a1, p.v2 - p.a1, S);
	rng_fan_in_fill(rng, p.v2, E + 1, E);
}

#define ALLOC(ptr, n)                                        \
	do {                                                 \
		(ptr) = calloc((size_t)(n), sizeof(*(ptr))); \
		if (!(ptr))                                  \
			goto nomem;                          \
	} while (0)

int mixer_acts_alloc(struct mixer_acts *a, const struct mixer_dims *d, int max_rows)
{
	size_t R = max_rows, ME = (size_t)d->agents * d->embed, E = d->embed;

	memset(a, 0, sizeof(*a));
	a->max_rows = max_rows;
	ALLOC(a->w1pre, R * ME);
	ALLOC(a->w1, R * ME);
	ALLOC(a->b1, R * E);
	ALLOC(a->w2pre, R * E);
	ALLOC(a->w2, R * E);
	ALLOC(a->vpre, R * E);
	ALLOC(a->vact, R * E);
	ALLOC(a->v, R);
	ALLOC(a->hpre, R * E);
	ALLOC(a->h, R * E);
	ALLOC(a->qtot, R);
	ALLOC(a->dw1, R * ME);
	ALLOC(a->db1, R * E);
	ALLOC(a->dw2, R * E);
	ALLOC(a->dvact, R * E);
	ALLOC(a->dvpre, R * E);
	ALLOC(a->dv, R);
	ALLOC(a->dh, R * E);
	return 0;
nomem:
	mixer_acts_free(a);
	return -ENOMEM;
}

void mixer_acts_free(struct mixer_acts *a)
{
	free(a->w1pre);
	free(a->w1);
	free(a->b1);
	free(a->w2pre);
	free(a->w2);
	free(a->vpre);
	free(a->vact);
	free(a->v);
	free(a->hpre);
	free(a->h);
	free(a->qtot);
	free(a->dw1);
	free(a->db1);
	free(a->dw2);
	free(a->dvact);
	free(a->dvpre);
	free(a->dv);
	free(a->dh);
	memset(a, 0, sizeof(*a));
}

/* The sign of W2: + for the monotonic mixer, - for the broken one (W1 stays |.|: negating
 * both would make the mixer increasing again). */
static float w2_sign(const struct mixer_dims *d)
{
	return d->negated ? -1.0f : 1.0f;
}

static void abs_signed(float *out, const float *in, size_t n, float sign)
{
	for (size_t i = 0; i < n; i++)
		out[i] = sign * fabsf(in[i]);
}

const float *mixer_forward(struct mixer_acts *a, const struct mixer_params *p,
			   const struct mixer_dims *d, const float *q, const float *s, int rows)
{
	const int M = d->agents, S = d->state, E = d->embed;
	const float sign = w2_sign(d);

	a->q = q;
	a->s = s;
	matmul_forward(a->w1pre, s, p->a1, p->c1, rows, S, M * E);
	abs_signed(a->w1, a->w1pre, (size_t)rows * M * E, 1.0f);
	matmul_forward(a->b1, s, p->b1w, p->b1b, rows, S, E);
	matmul_forward(a->w2pre, s, p->a2, p->c2, rows, S, E);
	abs_signed(a->w2, a->w2pre, (size_t)rows * E, sign);
	matmul_forward(a->vpre, s, p->v1, p->vb1, rows, S, E);
	relu_forward(a->vact, a->vpre, (size_t)rows * E);
	matmul_forward(a->v, a->vact, p->v2, p->vb2, rows, E, 1);
	for (int r = 0; r < rows; r++) {
		const float *qr = q + (size_t)r * M, *w1 = a->w1 + (size_t)r * M * E;
		float *hpre = a->hpre + (size_t)r * E, *h = a->h + (size_t)r * E;
		const float *w2 = a->w2 + (size_t)r * E;
		float out = a->v[r];

		memcpy(hpre, a->b1 + (size_t)r * E, E * sizeof(float));
		for (int i = 0; i < M; i++)
			for (int e = 0; e < E; e++)
				hpre[e] += qr[i] * w1[i * E + e];
		for (int e = 0; e < E; e++) {
			h[e] = hpre[e] > 0.0f ? hpre[e] : expm1f(hpre[e]); /* elu */
			out += h[e] * w2[e];
		}
		a->qtot[r] = out;
	}
	return a->qtot;
}

void mixer_backward(struct mixer_params *g, float *dq, struct mixer_acts *a,
		    const struct mixer_params *p, const struct mixer_dims *d, const float *dqtot,
		    int rows)
{
	const int M = d->agents, S = d->state, E = d->embed;
	const float sign = w2_sign(d);

	for (int r = 0; r < rows; r++) {
		const float *qr = a->q + (size_t)r * M, *w1 = a->w1 + (size_t)r * M * E;
		const float *h = a->h + (size_t)r * E, *w2 = a->w2 + (size_t)r * E;
		const float *hpre = a->hpre + (size_t)r * E;
		float *dw1 = a->dw1 + (size_t)r * M * E, *dw2 = a->dw2 + (size_t)r * E;
		float *db1 = a->db1 + (size_t)r * E;

		a->dv[r] = dqtot[r];
		for (int e = 0; e < E; e++) {
			/* elu' = 1 above 0, exp(x) = elu(x) + 1 below */
			float dhpre = dqtot[r] * w2[e] * (hpre[e] > 0.0f ? 1.0f : h[e] + 1.0f);

			dw2[e] = dqtot[r] * h[e];
			db1[e] = dhpre;
			for (int i = 0; i < M; i++)
				dw1[i * E + e] = qr[i] * dhpre;
			if (dq)
				for (int i = 0; i < M; i++)
					dq[(size_t)r * M + i] += w1[i * E + e] * dhpre;
		}
	}
	if (!g)
		return;
	/* through |.|: d|x|/dx = sign(x) (0 at 0), times W2's sign */
	for (size_t i = 0; i < (size_t)rows * M * E; i++)
		a->dw1[i] *= a->w1pre[i] > 0.0f ? 1.0f : a->w1pre[i] < 0.0f ? -1.0f : 0.0f;
	for (size_t i = 0; i < (size_t)rows * E; i++)
		a->dw2[i] *= a->w2pre[i] > 0.0f ? sign : a->w2pre[i] < 0.0f ? -sign : 0.0f;
	matmul_backward(NULL, g->a1, g->c1, a->dw1, a->s, p->a1, rows, S, M * E);
	matmul_backward(NULL, g->b1w, g->b1b, a->db1, a->s, p->b1w, rows, S, E);
	matmul_backward(NULL, g->a2, g->c2, a->dw2, a->s, p->a2, rows, S, E);
	memset(a->dvact, 0, (size_t)rows * E * sizeof(float));
	memset(a->dvpre, 0, (size_t)rows * E * sizeof(float));
	matmul_backward(a->dvact, g->v2, g->vb2, a->dv, a->vact, p->v2, rows, E, 1);
	relu_backward(a->dvpre, a->dvact, a->vpre, (size_t)rows * E);
	matmul_backward(NULL, g->v1, g->vb1, a->dvpre, a->s, p->v1, rows, S, E);
}
