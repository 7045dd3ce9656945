// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cli_number(const char *prog, const char *opt, const char *arg, double min, double max,
	       double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v < min || v > max) {
		fprintf(stderr, "%s: %s '%s': expected a number in [%g, %g]\n", prog, opt, arg, min,
			max);
		return -1;
	}
	*out = v;
	return 0;
}
