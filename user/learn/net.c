// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/matmul.h"
#include "learn/net.h"

size_t net_param_count(const struct net_dims *d)
{
	size_t H = d->hidden, I = d->in, E = d->extra, O = d->out;
	size_t n = 3 * H * I + 3 * H * H + 6 * H;

	if (d->layer_norm)
		n += 2 * H;
	return n + H * (H + E) + H + O * H + O;
}

void net_point(struct net_params *p, float *base, const struct net_dims *d)
{
	size_t H = d->hidden, I = d->in, E = d->extra, O = d->out;
	float *x = base;

	p->gru.w_ih = x, x += 3 * H * I;
	p->gru.w_hh = x, x += 3 * H * H;
	p->gru.b_ih = x, x += 3 * H;
	p->gru.b_hh = x, x += 3 * H;
	p->ln_gain = p->ln_bias = NULL;
	if (d->layer_norm) {
		p->ln_gain = x, x += H;
		p->ln_bias = x, x += H;
	}
	p->w1 = x, x += H * (H + E);
	p->b1 = x, x += H;
	p->w2 = x, x += O * H;
	p->b2 = x;
}

static void fill_uniform(float *x, size_t n, float bound, struct rng *rng)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (2.0f * rng_uniform(rng) - 1.0f) * bound;
}

int net_create(struct net *n, const struct net_dims *d, bool with_target, struct rng *rng)
{
	size_t H = d->hidden, E = d->extra, O = d->out;
	int nbuf = with_target ? 5 : 4;

	memset(n, 0, sizeof(*n));
	n->dims = *d;
	n->count = net_param_count(d);
	n->params = calloc(n->count * nbuf, sizeof(float));
	if (!n->params)
		return -ENOMEM;
	n->grads = n->params + n->count;
	n->adam_m = n->grads + n->count;
	n->adam_v = n->adam_m + n->count;
	n->target = with_target ? n->adam_v + n->count : NULL;
	net_point(&n->p, n->params, d);
	net_point(&n->g, n->grads, d);
	if (with_target)
		net_point(&n->t, n->target, d);

	/* PyTorch's defaults: U(-1/sqrt(fan), 1/sqrt(fan)), fan = H for every GRU tensor. */
	fill_uniform(n->params, 3 * H * (d->in + H + 2), 1.0f / sqrtf(H), rng);
	if (d->layer_norm)
		for (size_t i = 0; i < H; i++)
			n->p.ln_gain[i] = 1.0f;
	fill_uniform(n->p.w1, H * (H + E) + H, 1.0f / sqrtf(H + E), rng);
	fill_uniform(n->p.w2, O * H + O, 1.0f / sqrtf(H), rng);
	if (with_target)
		memcpy(n->target, n->params, n->count * sizeof(float));
	return 0;
}

void net_free(struct net *n)
{
	free(n->params);
	memset(n, 0, sizeof(*n));
}

int encoder_acts_alloc(struct encoder_acts *e, const struct net_dims *d, int steps, int batch)
{
	struct gru_dims gd = { steps, batch, d->in, d->hidden, d->recurrent };
	size_t tbh = (size_t)steps * batch * d->hidden, tb = (size_t)steps * batch;

	memset(e, 0, sizeof(*e));
	if (gru_acts_alloc(&e->gru, &gd))
		return -ENOMEM;
	e->denc = calloc(tbh, sizeof(float));
	if (!e->denc)
		goto fail;
	if (d->layer_norm) {
		e->ln_out = calloc(tbh, sizeof(float));
		e->ln_mean = calloc(tb, sizeof(float));
		e->ln_rstd = calloc(tb, sizeof(float));
		e->dgru = calloc(tbh, sizeof(float));
		if (!e->ln_out || !e->ln_mean || !e->ln_rstd || !e->dgru)
			goto fail;
	}
	return 0;
fail:
	encoder_acts_free(e);
	return -ENOMEM;
}

void encoder_acts_free(struct encoder_acts *e)
{
	gru_acts_free(&e->gru);
	free(e->ln_out);
	free(e->ln_mean);
	free(e->ln_rstd);
	free(e->denc);
	free(e->dgru);
	memset(e, 0, sizeof(*e));
}

int head_acts_alloc(struct head_acts *h, const struct net_dims *d, int max_rows)
{
	size_t R = max_rows, H = d->hidden, E = d->extra, O = d->out;

	memset(h, 0, sizeof(*h));
	h->max_rows = max_rows;
	h->in = calloc(R * (H + E), sizeof(float));
	h->pre = calloc(R * H, sizeof(float));
	h->act = calloc(R * H, sizeof(float));
	h->out = calloc(R * O, sizeof(float));
	h->din = calloc(R * (H + E), sizeof(float));
	h->dact = calloc(R * H, sizeof(float));
	h->dpre = calloc(R * H, sizeof(float));
	if (!h->in || !h->pre || !h->act || !h->out || !h->din || !h->dact || !h->dpre) {
		head_acts_free(h);
		return -ENOMEM;
	}
	return 0;
}

void head_acts_free(struct head_acts *h)
{
	free(h->in);
	free(h->pre);
	free(h->act);
	free(h->out);
	free(h->din);
	free(h->dact);
	free(h->dpre);
	memset(h, 0, sizeof(*h));
}

const float *encoder_forward(struct encoder_acts *e, const struct net_params *p, const float *x,
			     const float *h0, int steps)
{
	const struct gru_dims *d = &e->gru.dims;
	float *y;

	gru_forward(&e->gru, &p->gru, x, h0, steps);
	y = gru_output(&e->gru);
	if (!e->ln_out)
		return y;
	layernorm_forward(e->ln_out, e->ln_mean, e->ln_rstd, y, p->ln_gain, p->ln_bias,
			  steps * d->batch, d->hidden);
	return e->ln_out;
}

void encoder_backward(struct net_params *g, struct encoder_acts *e, const struct net_params *p,
		      const float *x, int t_start)
{
	const struct gru_dims *d = &e->gru.dims;
	size_t off = (size_t)t_start * d->batch * d->hidden;
	float *dgru = e->denc;

	if (e->ln_out) {
		int rows = (d->steps - t_start) * d->batch;

		memset(e->dgru, 0, (size_t)d->steps * d->batch * d->hidden * sizeof(float));
		layernorm_backward(e->dgru + off, g->ln_gain, g->ln_bias, e->denc + off,
				   gru_output(&e->gru) + off, p->ln_gain,
				   e->ln_mean + t_start * d->batch, e->ln_rstd + t_start * d->batch,
				   rows, d->hidden);
		dgru = e->dgru;
	}
	gru_backward(&g->gru, NULL, NULL, dgru, &e->gru, &p->gru, x, t_start);
}

const float *head_forward(struct head_acts *h, const struct net_dims *d, const struct net_params *p,
			  const float *enc, const float *extra, int rows)
{
	const int H = d->hidden, E = d->extra, C = H + E;

	for (int r = 0; r < rows; r++) {
		memcpy(h->in + (size_t)r * C, enc + (size_t)r * H, H * sizeof(float));
		if (E)
			memcpy(h->in + (size_t)r * C + H, extra + (size_t)r * E, E * sizeof(float));
	}
	matmul_forward(h->pre, h->in, p->w1, p->b1, rows, C, H);
	relu_forward(h->act, h->pre, (size_t)rows * H);
	matmul_forward(h->out, h->act, p->w2, p->b2, rows, H, d->out);
	return h->out;
}

void head_backward(struct net_params *g, float *denc, float *dextra, const float *dout,
		   struct head_acts *h, const struct net_dims *d, const struct net_params *p,
		   int rows)
{
	const int H = d->hidden, E = d->extra, C = H + E;

	memset(h->dact, 0, (size_t)rows * H * sizeof(float));
	memset(h->dpre, 0, (size_t)rows * H * sizeof(float));
	memset(h->din, 0, (size_t)rows * C * sizeof(float));
	matmul_backward(h->dact, g ? g->w2 : NULL, g ? g->b2 : NULL, dout, h->act, p->w2, rows, H,
			d->out);
	relu_backward(h->dpre, h->dact, h->pre, (size_t)rows * H);
	matmul_backward(h->din, g ? g->w1 : NULL, g ? g->b1 : NULL, h->dpre, h->in, p->w1, rows, C,
			H);
	for (int r = 0; r < rows; r++) {
		const float *din = h->din + (size_t)r * C;

		if (denc)
			for (int j = 0; j < H; j++)
				denc[(size_t)r * H + j] += din[j];
		if (dextra)
			for (int j = 0; j < E; j++)
				dextra[(size_t)r * E + j] += din[H + j];
	}
}
