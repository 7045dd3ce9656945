// SPDX-License-Identifier: GPL-2.0
#include <math.h>

#include "learn/optim.h"

void adam_update(float *params, const float *grads, float *m, float *v, size_t n, float lr,
		 long step)
{
	const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
	const float c1 = 1.0f - powf(beta1, (float)step), c2 = 1.0f - powf(beta2, (float)step);

	for (size_t i = 0; i < n; i++) {
		float g = grads[i];

		m[i] = beta1 * m[i] + (1.0f - beta1) * g;
		v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
		params[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + eps);
	}
}

float clip_grad_norm(float *grads, size_t n, float max_norm)
{
	double sum = 0.0;
	float norm;

	for (size_t i = 0; i < n; i++)
		sum += (double)grads[i] * grads[i];
	norm = (float)sqrt(sum);
	if (max_norm > 0.0f && norm > max_norm) {
		float scale = max_norm / (norm + 1e-6f);

		for (size_t i = 0; i < n; i++)
			grads[i] *= scale;
	}
	return norm;
}

void polyak_update(float *target, const float *params, size_t n, float tau)
{
	for (size_t i = 0; i < n; i++)
		target[i] += tau * (params[i] - target[i]);
}
