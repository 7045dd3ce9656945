/* SPDX-License-Identifier: GPL-2.0 */
/* Updates over a network's flat buffers: each is one loop over n floats. */
#ifndef MARLLB_LEARN_OPTIM_H
#define MARLLB_LEARN_OPTIM_H

#include <stddef.h>

/*
 * Adam (Kingma and Ba) with bias correction; step is the 1-based update count of this
 * parameter set. beta1 0.9, beta2 0.999, eps 1e-8 as in PyTorch.
 */
void adam_update(float *params, const float *grads, float *m, float *v, size_t n, float lr,
		 long step);

/* Scales grads so that their global L2 norm is at most max_norm (0: no clipping).
 * Returns the norm before clipping. */
float clip_grad_norm(float *grads, size_t n, float max_norm);

/* target = (1 - tau) * target + tau * params */
void polyak_update(float *target, const float *params, size_t n, float tau);

#endif /* MARLLB_LEARN_OPTIM_H */
