/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layers as forward/backward pairs in the style of llm.c. Tensors are row-major float arrays;
 * sequences are time-major, (T, B, C), so that one time step of a batch is one contiguous
 * block and a whole sequence is one tall matrix for a single GEMM. Every backward
 * ACCUMULATES (+=) into its gradient outputs; callers zero them once per update.
 *
 * The linear layer is matmul_forward/matmul_backward (matmul.h).
 */
#ifndef MARLLB_LEARN_LAYERS_H
#define MARLLB_LEARN_LAYERS_H

#include <stdbool.h>
#include <stddef.h>

/* Elementwise, n values. Backward takes the forward's output (or input for ReLU). */
void relu_forward(float *restrict out, const float *restrict inp, size_t n);
void relu_backward(float *restrict dinp, const float *restrict dout, const float *restrict inp,
		   size_t n);
void tanh_forward(float *out, const float *inp, size_t n);
void tanh_backward(float *dinp, const float *dout, const float *out, size_t n);
void sigmoid_forward(float *out, const float *inp, size_t n);
void sigmoid_backward(float *dinp, const float *dout, const float *out, size_t n);

/*
 * LayerNorm over the last dimension: out (rows, c) = (inp - mean) * rstd * gain + bias.
 * mean and rstd (rows) are saved for the backward.
 */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *gain,
		       const float *bias, int rows, int c);
void layernorm_backward(float *dinp, float *dgain, float *dbias, const float *dout,
			const float *inp, const float *gain, const float *mean, const float *rstd,
			int rows, int c);

/*
 * GRU with PyTorch's equations (gate order r, z, n in the weight rows):
 *   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))      <- b_hn inside the reset product
 *   h' = (1 - z) * n + z * h
 * recurrent = false cuts the recurrence: every step starts from h = 0 (ablation).
 */
struct gru_params {
	float *w_ih; /* (3H, I) */
	float *w_hh; /* (3H, H) */
	float *b_ih; /* (3H) */
	float *b_hh; /* (3H) */
};

struct gru_dims {
	int steps, batch, in, hidden;
	bool recurrent;
};

/* Saved activations and backward scratch for one (T, B) shape. */
struct gru_acts {
	struct gru_dims dims;
	float *hs; /* (T + 1, B, H): hs[0] = h0, hs[t + 1] = output of step t */
	float *gi; /* (T, B, 3H): x W_ih^T (the cell adds the biases) */
	float *gh; /* (T, B, 3H): h W_hh^T; its n part + b_hn, needed for dr */
	float *gates; /* (T, B, 3H): r, z, n after their nonlinearities */
	float *dgi; /* (T, B, 3H): d loss / d gi */
	float *dgh; /* (T, B, 3H): d loss / d gh */
	float *dh; /* (B, H): gradient carried to the previous step */
	float *zeros; /* (B, H): the previous state when the recurrence is cut */
};

int gru_acts_alloc(struct gru_acts *a, const struct gru_dims *dims);
void gru_acts_free(struct gru_acts *a);

/* The output sequence (T, B, H), i.e. hs + B*H. */
static inline float *gru_output(const struct gru_acts *a)
{
	return a->hs + (size_t)a->dims.batch * a->dims.hidden;
}

/*
 * x (T, B, I); h0 (B, H) or NULL for zeros. Runs the first `steps` <= dims.steps steps
 * (inference runs one step at a time with steps = 1 on a T = 1 cache).
 */
void gru_forward(struct gru_acts *a, const struct gru_params *p, const float *x, const float *h0,
		 int steps);

/*
 * Truncated back-propagation through time. dout (T, B, H) is d loss / d output; only steps
 * t >= t_start are back-propagated (steps before t_start are burn-in: they warmed the state
 * and get no gradient, the state at t_start is treated as a constant). Accumulates into g;
 * dx (T, B, I) and dh0 (B, H, only meaningful for t_start = 0) may be NULL.
 */
void gru_backward(struct gru_params *g, float *dx, float *dh0, const float *dout,
		  struct gru_acts *a, const struct gru_params *p, const float *x, int t_start);

#endif /* MARLLB_LEARN_LAYERS_H */
