/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The set networks of the agent: every server of a pool goes through the same weights, and
 * servers meet only through masked means over the pool. Reordering the servers reorders the
 * outputs and nothing else, and one set of parameters serves a pool of any size.
 *
 * Rows are server-steps. A batch holds B windows (pools) of T steps, time-major: step t is
 * the block of rows [t R, (t + 1) R), and inside a step window b owns rows
 * [seg[b], seg[b + 1]) (R = seg[B]). Pooled quantities are per window-step, (T, B, C).
 * mask (T, R) is 1 for a server in service, 0 otherwise: inactive rows are computed but left
 * out of every mean, and their outputs are ignored.
 *
 *   encoder  x (T,R,F), xbar = mean(x) (T,B,F)
 *            [x | xbar] (2F) -> GRU (H), one state per server -> e (T,R,H)
 *   actor    [e | ebar] (2H) -> linear H -> ReLU -> linear 2 -> (mean, log-std pre-act)
 *   critic   [e | ebar | l] (2H + 1) -> linear H -> ReLU -> phi;  phibar = mean(phi) (T,B,H)
 *            phibar -> linear H -> ReLU -> linear 1 -> Q (T,B)
 *
 * l is the action: the server's log-weight, centred over the pool (only ratios reach the data
 * plane). The actor and critics read the encoder's output; only the critics' loss trains the
 * encoder (as in SAC-AE and DrQ), so the actor's head works on a representation that the
 * value function shapes, and one recurrent pass serves all three networks.
 */
#ifndef MARLLB_LEARN_SETNET_H
#define MARLLB_LEARN_SETNET_H

#include <stdbool.h>
#include <stddef.h>

#include "learn/layers.h"
#include "learn/rng.h"

struct setnet_dims {
	int features; /* F: per-server observation */
	int hidden; /* H */
	bool recurrent; /* false: the GRU state is cut every step (ablation) */
};

/* Parameters of each part; pointers into one flat buffer (see struct pbuf). */
struct encoder_params {
	struct gru_params gru; /* input 2F */
};

struct actor_params {
	float *w1, *b1; /* (H, 2H), (H) */
	float *w2, *b2; /* (2, H), (2) */
};

struct critic_params {
	float *w1, *b1; /* (H, 2H + 1), (H) */
	float *w2, *b2; /* (H, H), (H) */
	float *w3, *b3; /* (1, H), (1) */
};

size_t encoder_param_count(const struct setnet_dims *d);
size_t actor_param_count(const struct setnet_dims *d);
size_t critic_param_count(const struct setnet_dims *d);
void encoder_point(struct encoder_params *p, float *base, const struct setnet_dims *d);
void actor_point(struct actor_params *p, float *base, const struct setnet_dims *d);
void critic_point(struct critic_params *p, float *base, const struct setnet_dims *d);
/* PyTorch's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
void encoder_init(float *base, const struct setnet_dims *d, struct rng *rng);
void actor_init(float *base, const struct setnet_dims *d, struct rng *rng);
void critic_init(float *base, const struct setnet_dims *d, struct rng *rng);

/* The shape of one batch: T steps of R rows, B windows with row offsets seg (B + 1). */
struct set_shape {
	int steps, rows, windows;
	const int *seg;
	const float *mask; /* (T, R) */
};

/*
 * Masked mean over each window's rows, at every step: out (T, B, C). A window with no active
 * row pools to zeros. backward accumulates into din (T, R, C).
 */
void segmean_forward(float *out, const float *in, const struct set_shape *s, int C);
void segmean_backward(float *din, const float *dout, const struct set_shape *s, int C);

/* Activations, sized for at most max_steps x max_rows rows and max_windows windows. */
struct encoder_acts {
	int max_steps, max_rows, max_windows;
	float *xbar; /* (T, B, F) */
	float *xin; /* (T, R, 2F) */
	struct gru_acts gru;
	float *de; /* (T, R, H): d loss / d e, filled by the caller */
};

struct actor_acts {
	int max_rows, max_windows;
	float *ebar; /* (T, B, H) */
	float *in; /* (rows, 2H) */
	float *pre, *act; /* (rows, H) */
	float *out; /* (rows, 2) */
	float *dpre, *dact; /* (rows, H) */
	float *din; /* (rows, 2H) */
	float *debar; /* (T, B, H) */
};

struct critic_acts {
	int max_rows, max_windows;
	float *ebar; /* (T, B, H) */
	float *in; /* (rows, 2H + 1) */
	float *pre1, *phi; /* (rows, H) */
	float *phibar; /* (T, B, H) */
	float *pre2, *act2; /* (T, B, H) */
	float *q; /* (T, B) */
	float *din, *dpre1, *dphi; /* (rows, 2H + 1), (rows, H), (rows, H) */
	float *dphibar, *dpre2, *dact2; /* (T, B, H) */
	float *debar; /* (T, B, H) */
};

int encoder_acts_alloc(struct encoder_acts *a, const struct setnet_dims *d, int max_steps,
		       int max_rows, int max_windows);
void encoder_acts_free(struct encoder_acts *a);
int actor_acts_alloc(struct actor_acts *a, const struct setnet_dims *d, int max_rows,
		     int max_windows);
void actor_acts_free(struct actor_acts *a);
int critic_acts_alloc(struct critic_acts *a, const struct setnet_dims *d, int max_rows,
		      int max_windows);
void critic_acts_free(struct critic_acts *a);

/*
 * Encoder over s->steps steps from h0 (R, H; NULL = zeros). Returns e (T, R, H), valid until
 * the next forward on these activations.
 */
const float *encoder_forward(struct encoder_acts *a, const struct encoder_params *p,
			     const struct setnet_dims *d, const float *x, const struct set_shape *s,
			     const float *h0);
/* Back-propagates a->de (steps t >= t_start only) into g (accumulates). */
void encoder_backward(struct encoder_params *g, struct encoder_acts *a,
		      const struct encoder_params *p, const struct setnet_dims *d,
		      const struct set_shape *s, int t_start);

/*
 * Actor head on e (T, R, H) of shape s: out (T, R, 2) = [mean | log-std pre-activation] per
 * row. backward: given dout (T, R, 2), accumulates parameter gradients into g (may be NULL)
 * and d e into de (T, R, H; may be NULL).
 */
const float *actor_forward(struct actor_acts *a, const struct actor_params *p,
			   const struct setnet_dims *d, const float *e, const struct set_shape *s);
void actor_backward(struct actor_params *g, float *de, struct actor_acts *a,
		    const struct actor_params *p, const struct setnet_dims *d, const float *dout,
		    const struct set_shape *s);

/*
 * Critic on e (T, R, H) and actions l (T, R): returns Q (T, B). backward: given dq (T, B),
 * accumulates into g (may be NULL: no parameter gradients), de (T, R, H; may be NULL) and
 * dl (T, R; may be NULL).
 */
const float *critic_forward(struct critic_acts *a, const struct critic_params *p,
			    const struct setnet_dims *d, const float *e, const float *l,
			    const struct set_shape *s);
void critic_backward(struct critic_params *g, float *de, float *dl, struct critic_acts *a,
		     const struct critic_params *p, const struct setnet_dims *d, const float *dq,
		     const struct set_shape *s);

#endif /* MARLLB_LEARN_SETNET_H */
