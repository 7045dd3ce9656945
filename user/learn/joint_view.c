// SPDX-License-Identifier: GPL-2.0
/* The joint observation's views for centralised learners (joint_view.h). */
#include <math.h>
#include <string.h>

#include "learn/joint_view.h"

void joint_state(const float *obs, int lbs, int n, int F, float *out)
{
	float *mean = out, *server_sd = out + F, *lb_sd = out + 2 * F;

	memset(out, 0, JOINT_STATE_WIDTH(F) * sizeof(float));
	for (int c = 0; c < F; c++) {
		double all = 0, s_sq = 0, l_sq = 0;

		for (int i = 0; i < lbs; i++)
			for (int k = 0; k < n; k++)
				all += obs[((size_t)i * n + k) * F + c];
		all /= (double)lbs * n;
		for (int k = 0; k < n; k++) {
			double col = 0;

			for (int i = 0; i < lbs; i++)
				col += obs[((size_t)i * n + k) * F + c];
			col = col / lbs - all;
			s_sq += col * col;
		}
		for (int i = 0; i < lbs; i++) {
			double row = 0;

			for (int k = 0; k < n; k++)
				row += obs[((size_t)i * n + k) * F + c];
			row = row / n - all;
			l_sq += row * row;
		}
		mean[c] = (float)all;
		server_sd[c] = (float)sqrt(s_sq / n);
		lb_sd[c] = (float)sqrt(l_sq / lbs);
	}
}

void joint_context(const float *obs, int lbs, int n, int F, float *out)
{
	const int C = JOINT_CONTEXT_WIDTH(F);

	for (int k = 0; k < n; k++) {
		float *col = out + (size_t)k * C + F; /* LB 0's row of server k holds the sums */

		memset(col, 0, F * sizeof(float));
		for (int i = 0; i < lbs; i++)
			for (int c = 0; c < F; c++)
				col[c] += obs[((size_t)i * n + k) * F + c] / lbs;
	}
	for (int c = 0; c < F; c++) {
		float all = 0;

		for (int k = 0; k < n; k++)
			all += out[(size_t)k * C + F + c] / n;
		for (int k = 0; k < n; k++)
			out[(size_t)k * C + 2 * F + c] = all;
	}
	for (int i = lbs - 1; i >= 0; i--) { /* last to first: LB 0's rows hold the sums */
		for (int k = 0; k < n; k++) {
			float *row = out + ((size_t)i * n + k) * C;

			if (i)
				memcpy(row + F, out + (size_t)k * C + F, 2 * F * sizeof(float));
			memcpy(row, obs + ((size_t)i * n + k) * F, F * sizeof(float));
		}
	}
}
