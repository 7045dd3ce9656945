/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command-line options declared as a table next to a struct that holds the defaults (the
 * xdp-tools way): the parser, --help and the man page's option list come from one text.
 */
#ifndef MARLLBD_OPTS_H
#define MARLLBD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum opt_type {
	OPT_FLAG, /* bool, no argument */
	OPT_COUNT, /* int, no argument, counts repeats (-vv) */
	OPT_STRING, /* const char * */
	OPT_UINT, /* unsigned int within [min, max] */
	OPT_DOUBLE, /* double within [min, max] */
	OPT_ENUM, /* int: index into choices */
};

struct opt {
	const char *name;
	char short_name; /* 0: long form only */
	enum opt_type type;
	size_t offset; /* of the field in the options struct */
	const char *metavar;
	const char *help;
	const char *const *choices; /* OPT_ENUM: NULL-terminated names */
	double min, max; /* OPT_UINT, OPT_DOUBLE */
	bool required;
	const char *default_text; /* a default computed at run time, in words */
};

#define OPT_FIELD(type, field) offsetof(type, field)

/*
 * Parses argv from optind on into opts (already holding the defaults). Prints a sentence
 * naming the option and the problem and returns -EINVAL on bad input; returns 1 when --help
 * was asked (usage printed to stdout), 0 otherwise. *first_arg gets the index of the first
 * non-option argument.
 */
int opts_parse(const char *prog, const struct opt *table, void *opts, int argc, char **argv,
	       int *first_arg);

/* The default of o as text ("0.25", "vbf", "on"), or NULL when it has none to show. */
const char *opts_default_str(const struct opt *o, const void *defaults, char *buf, size_t len);

/* One line per option with its default, as --help prints it. */
void opts_print_help(FILE *out, const struct opt *table, const void *defaults);

#endif /* MARLLBD_OPTS_H */
