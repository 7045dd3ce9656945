/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line helpers shared by the traffic tools (replay, tracegen, testsrv). */
#ifndef MARLLB_TOOLS_CLI_H
#define MARLLB_TOOLS_CLI_H

#include <stdio.h>

/*
 * Parses arg as a finite number in [min, max] into *out. On failure prints
 * "prog: opt 'arg': expected a number in [min, max]" and returns -1, leaving *out alone.
 */
int cli_number(const char *prog, const char *opt, const char *arg, double min, double max,
	       double *out);

/* A number option of a tool: its getopt key, its name for messages, its range, its place. */
struct cli_number_opt {
	int key;
	const char *name;
	double min, max;
	double *out;
};

/*
 * The options a tool's switch has no case for: a number option of opts (ended by a zero key)
 * is parsed into its place with cli_number; 'h' prints usage on stdout and exits 0; any other
 * key (getopt_long's '?') prints usage on stderr. Returns 0 when parsed, else -1.
 */
int cli_default_option(const char *prog, const struct cli_number_opt *opts, int key,
		       const char *arg, void (*usage)(FILE *out));

/*
 * Finds arg among the NULL-ended names and stores its index in *out. Otherwise prints
 * "prog: opt 'arg': expected a, b or c" and returns -1, leaving *out alone.
 */
int cli_choice(const char *prog, const char *opt, const char *arg, const char *const *names,
	       int *out);

/* Returns -1 with "prog: unexpected argument 'X' (see --help)" when operands follow. */
int cli_no_operands(const char *prog, int argc, char **argv);

#endif /* MARLLB_TOOLS_CLI_H */
