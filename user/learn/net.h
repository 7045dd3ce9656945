/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one network shape the agent uses, for the actor and for each critic:
 *
 *   x (T, B, I) -> GRU (H) -> [LayerNorm] -> enc (T, B, H)
 *   [enc | extra] (R, H + E) -> linear (H) -> ReLU -> linear (O) -> out (R, O)
 *
 * The encoder runs over whole sequences; the head runs on R rows of them (the trained time
 * steps), with an extra input E (the action, for a critic; nothing for the actor).
 *
 * All parameters live in one flat buffer, and the gradients, Adam moments and target copy
 * are buffers of the same size and layout (struct net_params points into any of them), so
 * zeroing, Adam, Polyak averaging and saving are single loops over `count` floats.
 */
#ifndef MARLLB_LEARN_NET_H
#define MARLLB_LEARN_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "learn/layers.h"
#include "learn/rng.h"

struct net_dims {
	int in; /* I: observation features */
	int extra; /* E: extra head input (action), 0 for none */
	int hidden; /* H */
	int out; /* O */
	bool layer_norm;
	bool recurrent;
};

struct net_params {
	struct gru_params gru;
	float *ln_gain, *ln_bias; /* (H), only with layer_norm */
	float *w1; /* (H, H + E) */
	float *b1; /* (H) */
	float *w2; /* (O, H) */
	float *b2; /* (O) */
};

struct net {
	struct net_dims dims;
	size_t count; /* floats in each of the buffers below */
	float *params, *grads, *adam_m, *adam_v;
	float *target; /* NULL unless created with a target copy */
	struct net_params p, g, t;
};

size_t net_param_count(const struct net_dims *d);
/* Points *p into base (count floats) with the layout every buffer of the net shares. */
void net_point(struct net_params *p, float *base, const struct net_dims *d);

/* Allocates all buffers (zeroed) and initialises params like PyTorch's defaults. */
int net_create(struct net *n, const struct net_dims *d, bool with_target, struct rng *rng);
void net_free(struct net *n);

/* Activations of the encoder for one (T, B) shape. */
struct encoder_acts {
	struct gru_acts gru;
	float *ln_out, *ln_mean, *ln_rstd; /* (T, B, H), (T, B), (T, B): only with layer_norm */
	float *denc; /* (T, B, H): d loss / d enc */
	float *dgru; /* (T, B, H): d loss / d GRU output (layer_norm) */
};

/* Activations of the head for up to max_rows rows. */
struct head_acts {
	int max_rows;
	float *in; /* (R, H + E) */
	float *pre, *act; /* (R, H) before and after the ReLU */
	float *out; /* (R, O) */
	float *din; /* (R, H + E) */
	float *dact; /* (R, H) */
	float *dpre; /* (R, H) */
};

int encoder_acts_alloc(struct encoder_acts *e, const struct net_dims *d, int steps, int batch);
void encoder_acts_free(struct encoder_acts *e);
int head_acts_alloc(struct head_acts *h, const struct net_dims *d, int max_rows);
void head_acts_free(struct head_acts *h);

/* Runs `steps` steps of x (T, B, I) from h0 (B, H, NULL = zeros); returns enc (T, B, H). */
const float *encoder_forward(struct encoder_acts *e, const struct net_params *p, const float *x,
			     const float *h0, int steps);
/* From e->denc (filled by the caller, rows t < t_start ignored) into g; see gru_backward. */
void encoder_backward(struct net_params *g, struct encoder_acts *e, const struct net_params *p,
		      const float *x, int t_start);

/* out (rows, O) from enc (rows, H) and extra (rows, E; NULL when E = 0). */
const float *head_forward(struct head_acts *h, const struct net_dims *d, const struct net_params *p,
			  const float *enc, const float *extra, int rows);
/*
 * Given dout (rows, O): accumulates parameter gradients into g (NULL: skip them, e.g. the
 * critic under the actor's loss), d enc into denc (rows, H) and d extra into dextra
 * (rows, E); either may be NULL.
 */
void head_backward(struct net_params *g, float *denc, float *dextra, const float *dout,
		   struct head_acts *h, const struct net_dims *d, const struct net_params *p,
		   int rows);

#endif /* MARLLB_LEARN_NET_H */
