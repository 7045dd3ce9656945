/* SPDX-License-Identifier: GPL-2.0 */
/* Command-line helpers shared by the traffic tools (replay, tracegen, testsrv). */
#ifndef MARLLB_TOOLS_CLI_H
#define MARLLB_TOOLS_CLI_H

/*
 * Parses arg as a finite number in [min, max] into *out. On failure prints
 * "prog: opt 'arg': expected a number in [min, max]" and returns -1, leaving *out alone.
 */
int cli_number(const char *prog, const char *opt, const char *arg, double min, double max,
	       double *out);

#endif /* MARLLB_TOOLS_CLI_H */
