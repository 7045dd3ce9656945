/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Central finite differences for the learning tests. The networks compute in float, so the
 * losses are summed in double and the step is large enough (1e-2 .. 1e-3) for float
 * rounding to stay two orders below the gradients; the error measure is the largest
 * difference over the largest gradient of the tensor, which a wrong term (a missing factor,
 * a wrong sign, a dropped path) pushes to order 1.
 */
#ifndef MARLLB_SELFTEST_GRADCHECK_H
#define MARLLB_SELFTEST_GRADCHECK_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

typedef double (*gradcheck_loss_fn)(void *ctx);

/* Checks at most max_checks entries of x (evenly spread). Returns the relative error. */
static inline double gradcheck(gradcheck_loss_fn loss, void *ctx, float *x, const float *grad,
			       size_t n, float h, size_t max_checks)
{
	size_t stride = n > max_checks ? (n + max_checks - 1) / max_checks : 1;
	double max_err = 0.0, max_ref = 1e-6;

	for (size_t i = 0; i < n; i += stride) {
		float x0 = x[i], xp = x0 + h, xm = x0 - h;
		double lp, lm, num;

		x[i] = xp;
		lp = loss(ctx);
		x[i] = xm;
		lm = loss(ctx);
		x[i] = x0;
		num = (lp - lm) / ((double)xp - (double)xm);
		max_err = fmax(max_err, fabs(num - grad[i]));
		max_ref = fmax(max_ref, fmax(fabs(num), fabs(grad[i])));
	}
	if (getenv("GRADCHECK_VERBOSE"))
		printf("    gradcheck: rel error %.2e over %zu entries\n", max_err / max_ref,
		       (n + stride - 1) / stride);
	return max_err / max_ref;
}

#endif /* MARLLB_SELFTEST_GRADCHECK_H */
