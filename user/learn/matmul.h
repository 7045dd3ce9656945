/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dense product every layer uses, y = x W^T + b with W stored (out, in) like nn.Linear,
 * row-major. Two back ends: OpenBLAS cblas_sgemm (the default) and plain loops kept as the
 * oracle the tests hold the BLAS path to.
 */
#ifndef MARLLB_LEARN_MATMUL_H
#define MARLLB_LEARN_MATMUL_H

#include <stdbool.h>

enum matmul_backend {
	MATMUL_BLAS,
	MATMUL_NAIVE,
};

/* Process-wide: the tests flip it to compare both paths on the same network. */
void matmul_set_backend(enum matmul_backend b);

/*
 * Pins OpenBLAS to one thread (idempotent). We run beside the data plane on two cores and
 * our products are small, so threads only add wake-up latency and steal the packet core.
 */
void matmul_init(void);

/* out (rows, oc) = inp (rows, ic) . weight (oc, ic)^T + bias (oc); bias may be NULL. */
void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int rows,
		    int ic, int oc);

/*
 * Accumulates (+=) the gradients of matmul_forward given dout (rows, oc):
 *   dinp (rows, ic) += dout . weight;  dweight (oc, ic) += dout^T . inp;  dbias (oc) += sum dout
 * Any of dinp, dweight, dbias may be NULL to skip it.
 */
void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
		     const float *weight, int rows, int ic, int oc);

#endif /* MARLLB_LEARN_MATMUL_H */
