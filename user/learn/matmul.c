// SPDX-License-Identifier: GPL-2.0
#include <cblas.h>
#include <pthread.h>
#include <string.h>

#include "learn/matmul.h"

static enum matmul_backend backend = MATMUL_BLAS;

void matmul_set_backend(enum matmul_backend b)
{
	backend = b;
}

static void set_one_thread(void)
{
	openblas_set_num_threads(1);
}

void matmul_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, set_one_thread);
}

/* The oracle: textbook loops, double accumulators, no cleverness. */
static void naive_forward(float *out, const float *inp, const float *weight, const float *bias,
			  int rows, int ic, int oc)
{
	for (int r = 0; r < rows; r++) {
		for (int o = 0; o < oc; o++) {
			double acc = bias ? bias[o] : 0.0;

			for (int i = 0; i < ic; i++)
				acc += (double)inp[r * ic + i] * weight[o * ic + i];
			out[r * oc + o] = (float)acc;
		}
	}
}

static void naive_backward(float *dinp, float *dweight, const float *dout, const float *inp,
			   const float *weight, int rows, int ic, int oc)
{
	if (dinp) {
		for (int r = 0; r < rows; r++) {
			for (int i = 0; i < ic; i++) {
				double acc = 0.0;

				for (int o = 0; o < oc; o++)
					acc += (double)dout[r * oc + o] * weight[o * ic + i];
				dinp[r * ic + i] += (float)acc;
			}
		}
	}
	if (dweight) {
		for (int o = 0; o < oc; o++) {
			for (int i = 0; i < ic; i++) {
				double acc = 0.0;

				for (int r = 0; r < rows; r++)
					acc += (double)dout[r * oc + o] * inp[r * ic + i];
				dweight[o * ic + i] += (float)acc;
			}
		}
	}
}

void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int rows,
		    int ic, int oc)
{
	float beta = 0.0f; /* without a bias, out is written, never read */

	if (backend == MATMUL_NAIVE) {
		naive_forward(out, inp, weight, bias, rows, ic, oc);
		return;
	}
	if (bias) {
		for (int r = 0; r < rows; r++)
			memcpy(out + (size_t)r * oc, bias, oc * sizeof(float));
		beta = 1.0f;
	}
	/* One row (acting, one step at a time): gemv reads W once, gemm would pack it first.
	 * One output (a critic's Q): the same product seen from the other side. */
	if (oc == 1) {
		cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, ic, 1.0f, inp, ic, weight, 1, beta,
			    out, 1);
		return;
	}
	if (rows == 1) {
		cblas_sgemv(CblasRowMajor, CblasNoTrans, oc, ic, 1.0f, weight, ic, inp, 1, beta,
			    out, 1);
		return;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, oc, ic, 1.0f, inp, ic, weight,
		    ic, beta, out, oc);
}

void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
		     const float *weight, int rows, int ic, int oc)
{
	if (dbias) {
		for (int r = 0; r < rows; r++)
			for (int o = 0; o < oc; o++)
				dbias[o] += dout[r * oc + o];
	}
	if (backend == MATMUL_NAIVE) {
		naive_backward(dinp, dweight, dout, inp, weight, rows, ic, oc);
		return;
	}
	/* A single output: an outer product and a vector product, which gemm does slowly. */
	if (oc == 1) {
		if (dinp)
			cblas_sger(CblasRowMajor, rows, ic, 1.0f, dout, 1, weight, 1, dinp, ic);
		if (dweight)
			cblas_sgemv(CblasRowMajor, CblasTrans, rows, ic, 1.0f, inp, ic, dout, 1,
				    1.0f, dweight, 1);
		return;
	}
	if (dinp)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, ic, oc, 1.0f, dout, oc,
			    weight, ic, 1.0f, dinp, ic);
	if (dweight)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, oc, ic, rows, 1.0f, dout, oc,
			    inp, ic, 1.0f, dweight, ic);
}
