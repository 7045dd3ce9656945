/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running mean and variance of the raw observation (Welford/Chan, in double so that a long
 * run does not drift), used to give the networks inputs of unit scale whatever the units of
 * the features (flow counts, seconds). Saved with the model.
 */
#ifndef MARLLB_LEARN_NORMALISER_H
#define MARLLB_LEARN_NORMALISER_H

#define NORMALISER_CLIP 10.0f

struct normaliser {
	int dim;
	double count;
	double *mean; /* (dim) */
	double *m2; /* (dim): sum of squared deviations */
};

int normaliser_init(struct normaliser *nz, int dim);
void normaliser_free(struct normaliser *nz);
void normaliser_update(struct normaliser *nz, const float *x);
/* out = clip((x - mean) / sqrt(var + 1e-8), -10, 10); zeros before the first update. */
void normaliser_apply(const struct normaliser *nz, const float *x, float *out);

/* The same map as float mean and 1/std, for applying it to many rows. */
void normaliser_snapshot(const struct normaliser *nz, float *mean, float *inv_std);
static inline void normaliser_apply_fast(const float *mean, const float *inv_std, int dim,
					 const float *x, float *out)
{
	for (int i = 0; i < dim; i++) {
		float y = (x[i] - mean[i]) * inv_std[i];

		y = y < -NORMALISER_CLIP ? -NORMALISER_CLIP : y;
		out[i] = y > NORMALISER_CLIP ? NORMALISER_CLIP : y;
	}
}

#endif /* MARLLB_LEARN_NORMALISER_H */
