/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Central finite differences for the learning tests. The networks compute in float, so the
 * losses are summed in double and the step is chosen so float rounding stays two orders
 * below the gradients. The error is the largest |numeric - analytic| over the largest
 * gradient of the tensor: a wrong term (a missing factor, a wrong sign, a dropped path)
 * pushes it to order 0.1..1.
 *
 * ReLU and min() have kinks; an entry whose step crosses one has one-sided differences that
 * disagree, which says nothing about the backward (they come from the forward alone). Such
 * entries are left out and counted; the caller bounds how many there may be.
 * GRADCHECK_VERBOSE=1 prints each check's error, =2 every entry.
 */
#ifndef MARLLB_SELFTEST_GRADCHECK_H
#define MARLLB_SELFTEST_GRADCHECK_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

typedef double (*gradcheck_loss_fn)(void *ctx);

struct gradcheck_result {
	double error; /* max |num - grad| / max |grad| over smooth entries */
	int checked, kinks;
};

/*
 * Checks at most max_checks entries of x (evenly spread). An entry is a kink when its
 * one-sided differences differ by more than kink_tol * max |grad|: its central difference
 * is then off by half that, so kink_tol = 2 * tolerance skips exactly the entries a kink
 * could fail. Smooth curvature adds h * L'' to that gap: keep h small (1e-3).
 */
static inline struct gradcheck_result gradcheck_kinks(gradcheck_loss_fn loss, void *ctx, float *x,
						      const float *grad, size_t n, float h,
						      size_t max_checks, double kink_tol)
{
	size_t stride = n > max_checks ? (n + max_checks - 1) / max_checks : 1;
	size_t m = (n + stride - 1) / stride, k = 0;
	double *num = malloc(m * sizeof(double)), *jump = malloc(m * sizeof(double));
	double scale = 1e-6, l0 = loss(ctx);
	const char *env = getenv("GRADCHECK_VERBOSE");
	int verbose = env ? atoi(env) : 0;
	struct gradcheck_result res = { 0.0, 0, 0 };

	for (size_t i = 0; i < n; i += stride, k++) {
		float x0 = x[i], xp = x0 + h, xm = x0 - h;
		double lp, lm;

		x[i] = xp;
		lp = loss(ctx);
		x[i] = xm;
		lm = loss(ctx);
		x[i] = x0;
		num[k] = (lp - lm) / ((double)xp - (double)xm);
		jump[k] = fabs((lp - l0) / ((double)xp - x0) - (l0 - lm) / ((double)x0 - xm));
		scale = fmax(scale, fabs(grad[i]));
	}
	k = 0;
	for (size_t i = 0; i < n; i += stride, k++) {
		bool kink = jump[k] > kink_tol * scale;

		if (verbose > 1)
			printf("      [%zu] analytic %.6g numeric %.6g%s\n", i, grad[i], num[k],
			       kink ? " (kink, skipped)" : "");
		res.checked++;
		if (kink) {
			res.kinks++;
			continue;
		}
		res.error = fmax(res.error, fabs(num[k] - grad[i]) / scale);
	}
	if (verbose)
		printf("    gradcheck: rel error %.2e over %d entries, %d kinks skipped\n",
		       res.error, res.checked, res.kinks);
	free(num);
	free(jump);
	return res;
}

/* For smooth functions: every entry counts. */
static inline double gradcheck(gradcheck_loss_fn loss, void *ctx, float *x, const float *grad,
			       size_t n, float h, size_t max_checks)
{
	return gradcheck_kinks(loss, ctx, x, grad, n, h, max_checks, INFINITY).error;
}

/*
 * The derivative along a direction d (unit length): (L(x + h d) - L(x - h d)) / 2h must equal
 * g . d. Every entry moves at once, so the loss changes by up to |g| h, far above float
 * rounding even where each entry's own gradient is not; a wrong term in any entry shows.
 * Returns |numeric - g . d| / |g|.
 */
static inline double gradcheck_along(gradcheck_loss_fn loss, void *ctx, float *x,
				     const float *grad, const float *dir, size_t n, float h)
{
	float *x0 = malloc(n * sizeof(float));
	double norm = 0, dot = 0, lp, lm, num;

	for (size_t i = 0; i < n; i++) {
		norm += (double)grad[i] * grad[i];
		dot += (double)grad[i] * dir[i];
	}
	norm = sqrt(norm);
	if (!x0 || norm == 0) {
		free(x0);
		return norm == 0 ? 0.0 : INFINITY;
	}
	for (size_t i = 0; i < n; i++) {
		x0[i] = x[i];
		x[i] = x0[i] + h * dir[i];
	}
	lp = loss(ctx);
	for (size_t i = 0; i < n; i++)
		x[i] = x0[i] - h * dir[i];
	lm = loss(ctx);
	for (size_t i = 0; i < n; i++)
		x[i] = x0[i];
	free(x0);
	num = (lp - lm) / (2 * h);
	if (getenv("GRADCHECK_VERBOSE"))
		printf("    gradcheck along a direction: numeric %.6g, g . d %.6g (|g| %.6g)\n", num,
		       dot, norm);
	return fabs(num - dot) / norm;
}

/* Along the gradient itself (d = g / |g|), and along a random unit direction of seed. */
static inline double gradcheck_directions(gradcheck_loss_fn loss, void *ctx, float *x,
					  const float *grad, size_t n, float h, unsigned int seed)
{
	float *dir = calloc(n, sizeof(float));
	double norm = 0, worst;

	if (!dir)
		return INFINITY;
	for (size_t i = 0; i < n; i++)
		norm += (double)grad[i] * grad[i];
	norm = sqrt(norm);
	for (size_t i = 0; i < n; i++)
		dir[i] = norm > 0 ? (float)(grad[i] / norm) : 0.0f;
	worst = gradcheck_along(loss, ctx, x, grad, dir, n, h);
	norm = 0;
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		dir[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
		norm += (double)dir[i] * dir[i];
	}
	for (size_t i = 0; i < n; i++)
		dir[i] /= (float)sqrt(norm);
	worst = fmax(worst, gradcheck_along(loss, ctx, x, grad, dir, n, h));
	free(dir);
	return worst;
}

#endif /* MARLLB_SELFTEST_GRADCHECK_H */
