// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/opts.h"

#define OPTS_MAX 64

static void *field(void *opts, const struct opt *o)
{
	return (char *)opts + o->offset;
}

static const void *cfield(const void *opts, const struct opt *o)
{
	return (const char *)opts + o->offset;
}

static int parse_value(const char *prog, const struct opt *o, void *opts, const char *arg)
{
	char *end;

	switch (o->type) {
	case OPT_FLAG:
		*(bool *)field(opts, o) = true;
		return 0;
	case OPT_COUNT:
		(*(int *)field(opts, o))++;
		return 0;
	case OPT_STRING:
		if (!*arg) {
			fprintf(stderr, "%s: --%s needs a non-empty value.\n", prog, o->name);
			return -EINVAL;
		}
		*(const char **)field(opts, o) = arg;
		return 0;
	case OPT_UINT: {
		unsigned long v;

		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-' || v < o->min || v > o->max) {
			fprintf(stderr, "%s: --%s: '%s' is not a whole number in [%g, %g].\n", prog,
				o->name, arg, o->min, o->max);
			return -EINVAL;
		}
		*(unsigned int *)field(opts, o) = (unsigned int)v;
		return 0;
	}
	case OPT_DOUBLE: {
		double v;

		errno = 0;
		v = strtod(arg, &end);
		if (errno || end == arg || *end || !isfinite(v) || v < o->min || v > o->max) {
			fprintf(stderr, "%s: --%s: '%s' is not a number in [%g, %g].\n", prog,
				o->name, arg, o->min, o->max);
			return -EINVAL;
		}
		*(double *)field(opts, o) = v;
		return 0;
	}
	case OPT_ENUM:
		for (int i = 0; o->choices[i]; i++) {
			if (!strcmp(arg, o->choices[i])) {
				*(int *)field(opts, o) = i;
				return 0;
			}
		}
		fprintf(stderr, "%s: --%s: '%s' is not one of:", prog, o->name, arg);
		for (int i = 0; o->choices[i]; i++)
			fprintf(stderr, " %s", o->choices[i]);
		fprintf(stderr, ".\n");
		return -EINVAL;
	}
	return -EINVAL;
}

int opts_parse(const char *prog, const struct opt *table, void *opts, int argc, char **argv,
	       int *first_arg)
{
	struct option longopts[OPTS_MAX + 2];
	char shortopts[OPTS_MAX * 2 + 2];
	bool seen[OPTS_MAX] = {};
	int n = 0, s = 0, c, idx;

	shortopts[s++] = ':'; /* report a missing argument as ':' */
	for (const struct opt *o = table; o->name; o++, n++) {
		bool arg = o->type != OPT_FLAG && o->type != OPT_COUNT;

		longopts[n] = (struct option){ o->name, arg ? required_argument : no_argument, NULL,
					       256 + n };
		if (o->short_name) {
			shortopts[s++] = o->short_name;
			if (arg)
				shortopts[s++] = ':';
		}
	}
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n] = (struct option){};
	shortopts[s++] = 'h';
	shortopts[s] = '\0';

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, &idx)) != -1) {
		const struct opt *o = NULL;
		int i = 0;

		if (c == 'h')
			return 1;
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];

			if (optopt && optopt < 256)
				fprintf(stderr, "%s: option -%c %s.\n", prog, optopt,
					c == ':' ? "needs a value" : "is unknown");
			else
				fprintf(stderr, "%s: option '%s' %s.\n", prog, bad,
					c == ':' ? "needs a value" : "is unknown");
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return -EINVAL;
		}
		for (const struct opt *t = table; t->name; t++, i++) {
			if (c == 256 + i || (c < 256 && c == t->short_name)) {
				o = t;
				break;
			}
		}
		if (!o)
			return -EINVAL;
		seen[o - table] = true;
		if (parse_value(prog, o, opts, optarg))
			return -EINVAL;
	}
	for (const struct opt *o = table; o->name; o++) {
		if (o->required && !seen[o - table]) {
			fprintf(stderr, "%s: --%s is required. Try '%s --help'.\n", prog, o->name,
				prog);
			return -EINVAL;
		}
	}
	if (first_arg)
		*first_arg = optind;
	return 0;
}

const char *opts_default_str(const struct opt *o, const void *defaults, char *buf, size_t len)
{
	const void *v = cfield(defaults, o);

	if (o->default_text) {
		snprintf(buf, len, "%s", o->default_text);
		return buf;
	}
	switch (o->type) {
	case OPT_FLAG:
		snprintf(buf, len, "%s", *(const bool *)v ? "on" : "off");
		break;
	case OPT_COUNT:
		return NULL;
	case OPT_STRING:
		if (o->required)
			return NULL;
		snprintf(buf, len, "%s", *(const char *const *)v ?: "none");
		break;
	case OPT_UINT:
		snprintf(buf, len, "%u", *(const unsigned int *)v);
		break;
	case OPT_DOUBLE:
		snprintf(buf, len, "%g", *(const double *)v);
		break;
	case OPT_ENUM:
		snprintf(buf, len, "%s", o->choices[*(const int *)v]);
		break;
	}
	return buf;
}

void opts_print_help(FILE *out, const struct opt *table, const void *defaults)
{
	for (const struct opt *o = table; o->name; o++) {
		char left[64], def[256];
		int len;

		if (o->short_name)
			len = snprintf(left, sizeof(left), "  -%c, --%s", o->short_name, o->name);
		else
			len = snprintf(left, sizeof(left), "      --%s", o->name);
		if (o->metavar && len < (int)sizeof(left))
			snprintf(left + len, sizeof(left) - len, " %s", o->metavar);
		fprintf(out, "%-32s %s", left, o->help);
		if (o->type == OPT_ENUM) {
			fprintf(out, ": ");
			for (int i = 0; o->choices[i]; i++)
				fprintf(out, "%s%s", i ? "|" : "", o->choices[i]);
		}
		if (opts_default_str(o, defaults, def, sizeof(def)))
			fprintf(out, " (default: %s)", def);
		if (o->required)
			fprintf(out, " (required)");
		fputc('\n', out);
	}
	fprintf(out, "%-32s %s\n", "  -h, --help", "Print this help and exit");
}
