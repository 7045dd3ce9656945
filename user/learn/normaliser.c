// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "learn/normaliser.h"

int normaliser_init(struct normaliser *nz, int dim)
{
	nz->dim = dim;
	nz->count = 0.0;
	nz->mean = calloc(dim, sizeof(double));
	nz->m2 = calloc(dim, sizeof(double));
	if (!nz->mean || !nz->m2) {
		normaliser_free(nz);
		return -ENOMEM;
	}
	return 0;
}

void normaliser_free(struct normaliser *nz)
{
	free(nz->mean);
	free(nz->m2);
	nz->mean = nz->m2 = NULL;
}

void normaliser_update(struct normaliser *nz, const float *x)
{
	nz->count += 1.0;
	for (int i = 0; i < nz->dim; i++) {
		double delta = x[i] - nz->mean[i];

		nz->mean[i] += delta / nz->count;
		nz->m2[i] += delta * (x[i] - nz->mean[i]);
	}
}

static double inv_std(const struct normaliser *nz, int i)
{
	double var = nz->count > 0.0 ? nz->m2[i] / nz->count : 1.0;

	return 1.0 / sqrt(var + 1e-8);
}

void normaliser_apply(const struct normaliser *nz, const float *x, float *out)
{
	for (int i = 0; i < nz->dim; i++) {
		double y = (x[i] - nz->mean[i]) * inv_std(nz, i);

		out[i] = (float)fmin(fmax(y, -NORMALISER_CLIP), NORMALISER_CLIP);
	}
}

void normaliser_snapshot(const struct normaliser *nz, float *mean, float *inv_std_out)
{
	for (int i = 0; i < nz->dim; i++) {
		mean[i] = (float)nz->mean[i];
		inv_std_out[i] = (float)inv_std(nz, i);
	}
}
