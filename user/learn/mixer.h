/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QMix's monotonic mixing network (Rashid et al. 2018): the joint value of M agents from
 * their utilities q (M) and a global state s (S), with weights that hypernetworks write
 * from s:
 *
 *   W1 = |s A1^T + a1|  (M, E)     b1 = s B1^T + c1  (E)
 *   W2 = |s A2^T + a2|  (E)        V  = relu(s V1^T + v1) V2^T + v2  (1)
 *   Qtot = elu(q W1 + b1) . W2 + V
 *
 * |.| keeps W1 and W2 non-negative and elu is increasing, so dQtot/dq_i >= 0 for every
 * agent and state: the joint value is monotonic in every agent's utility. That is what lets
 * every agent improve its own utility alone, from its own observations, and still improve
 * the joint value (QMix's decentralised argmax; user/learn/team.h says how the actors use
 * it with continuous actions). The state shapes the weights but is data: no gradient flows
 * into it.
 *
 * A batch is `rows` independent samples (one per joint window-step). Parameters are one flat
 * buffer like every other network here (struct pbuf); activations are sized by
 * mixer_acts_alloc. Every backward ACCUMULATES into its gradients.
 */
#ifndef MARLLB_LEARN_MIXER_H
#define MARLLB_LEARN_MIXER_H

#include <stdbool.h>
#include <stddef.h>

#include "learn/rng.h"

struct mixer_dims {
	int agents; /* M */
	int state; /* S */
	int embed; /* E: width of the mixing layer and of V's hidden layer */
	bool negated; /* a deliberately broken mixer, for tests: W2 = -|.|, so Qtot DEcreases in
		       * every utility and agents improving their own utility harm the team */
};

struct mixer_params {
	float *a1, *c1; /* hyper W1: (M E, S), (M E) */
	float *b1w, *b1b; /* hyper b1: (E, S), (E) */
	float *a2, *c2; /* hyper W2: (E, S), (E) */
	float *v1, *vb1; /* V, first layer: (E, S), (E) */
	float *v2, *vb2; /* V, second layer: (1, E), (1) */
};

struct mixer_acts {
	int max_rows;
	const float *q, *s; /* the forward's inputs, kept for the backward */
	float *w1pre, *w1; /* (rows, M E): before and after |.| */
	float *b1; /* (rows, E) */
	float *w2pre, *w2; /* (rows, E) */
	float *vpre, *vact; /* (rows, E) */
	float *v; /* (rows) */
	float *hpre, *h; /* (rows, E): q W1 + b1, and its elu */
	float *qtot; /* (rows) */
	/* backward scratch */
	float *dw1, *db1, *dw2, *dvact, *dvpre, *dv, *dh; /* shapes as above */
};

size_t mixer_param_count(const struct mixer_dims *d);
void mixer_point(struct mixer_params *p, float *base, const struct mixer_dims *d);
/* PyTorch's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
void mixer_init(float *base, const struct mixer_dims *d, struct rng *rng);

int mixer_acts_alloc(struct mixer_acts *a, const struct mixer_dims *d, int max_rows);
void mixer_acts_free(struct mixer_acts *a);

/* q (rows, M), s (rows, S): returns Qtot (rows), valid until the next forward on a. q and s
 * must stay unchanged until the backward. */
const float *mixer_forward(struct mixer_acts *a, const struct mixer_params *p,
			   const struct mixer_dims *d, const float *q, const float *s, int rows);
/*
 * Given dqtot (rows), accumulates parameter gradients into g (may be NULL) and d q into dq
 * (rows, M; may be NULL).
 */
void mixer_backward(struct mixer_params *g, float *dq, struct mixer_acts *a,
		    const struct mixer_params *p, const struct mixer_dims *d, const float *dqtot,
		    int rows);

#endif /* MARLLB_LEARN_MIXER_H */
