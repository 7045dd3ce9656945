// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cli_default_option(const char *prog, const struct cli_number_opt *opts, int key,
		       const char *arg, void (*usage)(FILE *out))
{
	for (; opts && opts->key; opts++)
		if (opts->key == key)
			return cli_number(prog, opts->name, arg, opts->min, opts->max, opts->out);
	if (key == 'h') {
		usage(stdout);
		exit(0);
	}
	usage(stderr);
	return -1;
}

int cli_choice(const char *prog, const char *opt, const char *arg, const char *const *names,
	       int *out)
{
	int i;

	for (i = 0; names[i]; i++) {
		if (!strcmp(arg, names[i])) {
			*out = i;
			return 0;
		}
	}
	fprintf(stderr, "%s: %s '%s': expected ", prog, opt, arg);
	for (i = 0; names[i]; i++)
		fprintf(stderr, "%s%s", i ? (names[i + 1] ? ", " : " or ") : "", names[i]);
	fputc('\n', stderr);
	return -1;
}

int cli_no_operands(const char *prog, int argc, char **argv)
{
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, argv[optind]);
		return -1;
	}
	return 0;
}
