// SPDX-License-Identifier: GPL-2.0
/*
 * marllb-tracegen: writes a Poisson trace in the replay's format (header "time<TAB>query",
 * then "seconds<TAB>/path?n=<iterations>"), optionally mixed with IO-bound requests
 * ("seconds<TAB>/io-path?wait_ms=<ms>": a wait the same on every server, no CPU), so the project makes its own default trace at
 * run time instead of shipping big files. Same seed, same trace, on any machine: the random
 * numbers come from the project's xoshiro256** (user/learn/rng.h), not from the C library;
 * the doubles are drawn here with 53 random bits.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "learn/rng.h"
#include "trace.h"

enum work_dist { WORK_EXP, WORK_LOGNORMAL, WORK_CONST };

struct options {
	double rate, duration, mean_n, sigma;
	double io_share, io_mean_ms;
	uint64_t seed;
	enum work_dist dist;
	const char *path, *io_path, *out;
};

static const struct options defaults = {
	.rate = 150,
	.duration = 60,
	.mean_n = 3.67e6, /* the paper's traces: n ~ exponential, mean 3.67e6 */
	.sigma = 1.0,
	.seed = 1,
	.dist = WORK_EXP,
	.io_share = 0,
	.io_mean_ms = 200,
	.path = "/dummy.php/",
	.io_path = "/io.php/",
	.out = "-",
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: marllb-tracegen [OPTIONS]\n"
		"Writes a trace for marllb-replay: Poisson arrivals, random work per request.\n\n"
		"  -r, --rate R          mean arrivals per second (default %g)\n"
		"  -d, --duration S      seconds of trace (default %g)\n"
		"  -W, --work DIST       distribution of n: exp, lognormal or const (default exp)\n"
		"  -n, --mean-n N        mean of n, loop iterations per request (default %g)\n"
		"  -g, --sigma S         lognormal shape: sd of log n (default %g)\n"
		"  -S, --seed X          random seed, an integer (default %llu)\n"
		"  -p, --path P          request path before '?n=' (default %s)\n"
		"  -i, --io-share F      fraction of requests that are IO-bound instead, 0..1\n"
		"                        (default 0: all CPU-bound)\n"
		"  -I, --io-path P       path of the IO-bound requests (default %s)\n"
		"  -M, --io-mean-ms M    their wait, exponential with mean M ms, as '?wait_ms=';\n"
		"                        0: the path alone, e.g. a static file (default %g)\n"
		"  -o, --output FILE     where to write, '-' for stdout (default -)\n"
		"  -h, --help            this text\n"
		"The same seed gives the same trace, and a longer --duration only appends to it.\n",
		defaults.rate, defaults.duration, defaults.mean_n, defaults.sigma,
		(unsigned long long)defaults.seed, defaults.path, defaults.io_path,
		defaults.io_mean_ms);
}

/* Uniform in (0, 1]: never 0, so log() is safe. */
static double uniform_open0(struct rng *g)
{
	return ((double)(rng_next(g) >> 11) + 1.0) / 9007199254740992.0;
}

static double draw_exp(struct rng *g, double mean)
{
	return -mean * log(uniform_open0(g));
}

static double draw_normal(struct rng *g)
{
	return sqrt(-2 * log(uniform_open0(g))) * cos(2 * M_PI * uniform_open0(g));
}

static double draw_work(struct rng *g, const struct options *o)
{
	switch (o->dist) {
	case WORK_EXP:
		return draw_exp(g, o->mean_n);
	case WORK_LOGNORMAL:
		/* mean of exp(mu + sigma Z) is exp(mu + sigma^2 / 2) */
		return exp(log(o->mean_n) - o->sigma * o->sigma / 2 + o->sigma * draw_normal(g));
	case WORK_CONST:
	default:
		return o->mean_n;
	}
}

static int check_path(const char *opt, const char *path)
{
	if (path[0] == '/' && !strpbrk(path, " \t\r\n?") && strlen(path) <= TRACE_MAX_QUERY / 2)
		return 0;
	fprintf(stderr, "tracegen: %s '%s': expected '/...' without spaces or '?'\n", opt, path);
	return -1;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "work", required_argument, NULL, 'W' },
		{ "mean-n", required_argument, NULL, 'n' },
		{ "sigma", required_argument, NULL, 'g' },
		{ "seed", required_argument, NULL, 'S' },
		{ "path", required_argument, NULL, 'p' },
		{ "io-share", required_argument, NULL, 'i' },
		{ "io-path", required_argument, NULL, 'I' },
		{ "io-mean-ms", required_argument, NULL, 'M' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static const char *const dist_names[] = {
		[WORK_EXP] = "exp", [WORK_LOGNORMAL] = "lognormal", [WORK_CONST] = "const", NULL
	};
	const struct cli_number_opt numbers[] = {
		{ 'r', "--rate", 1e-3, 1e6, &o->rate },
		{ 'd', "--duration", 1e-3, 1e7, &o->duration },
		{ 'n', "--mean-n", 0, 1e12, &o->mean_n },
		{ 'g', "--sigma", 0, 10, &o->sigma },
		{ 'i', "--io-share", 0, 1, &o->io_share },
		{ 'M', "--io-mean-ms", 0, 3.6e6, &o->io_mean_ms },
		{},
	};
	char *end;
	int c, dist;

	*o = defaults;
	while ((c = getopt_long(argc, argv, "r:d:W:n:g:S:p:i:I:M:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'W':
			if (cli_choice("tracegen", "--work", optarg, dist_names, &dist))
				return -1;
			o->dist = (enum work_dist)dist;
			break;
		case 'S':
			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end || *optarg == '-') {
				fprintf(stderr, "tracegen: --seed '%s': expected an integer\n",
					optarg);
				return -1;
			}
			break;
		case 'p':
		case 'I':
			if (check_path(c == 'p' ? "--path" : "--io-path", optarg))
				return -1;
			*(c == 'p' ? &o->path : &o->io_path) = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		default:
			if (cli_default_option("tracegen", numbers, c, optarg, usage))
				return -1;
			break;
		}
	}
	return cli_no_operands("tracegen", argc, argv);
}

int main(int argc, char **argv)
{
	struct options o;
	struct rng g, mix;
	FILE *f;
	double t = 0, work;

	if (parse_options(argc, argv, &o))
		return 2;
	f = strcmp(o.out, "-") ? fopen(o.out, "w") : stdout;
	if (!f) {
		fprintf(stderr, "tracegen: %s: %s\n", o.out, strerror(errno));
		return 1;
	}
	rng_seed(&g, o.seed);
	rng_seed(&mix, o.seed ^ 0x6d69782d696f2d31ull); /* "mix-io-1" */
	fprintf(f, "%s\n", TRACE_HEADER);
	for (;;) {
		t += draw_exp(&g, 1.0 / o.rate);
		if (t >= o.duration)
			break;
		work = round(draw_work(&g, &o));
		/* The mix has its own stream: arrivals and the CPU-bound requests' work are the
		 * same whatever --io-share is (IO requests take the place of some). */
		if (o.io_share > 0 && uniform_open0(&mix) <= o.io_share) {
			if (o.io_mean_ms > 0)
				fprintf(f, "%.6f\t%s?wait_ms=%.1f\n", t, o.io_path,
					draw_exp(&mix, o.io_mean_ms));
			else
				fprintf(f, "%.6f\t%s\n", t, o.io_path);
			continue;
		}
		fprintf(f, "%.6f\t%s?n=%.0f\n", t, o.path, work);
	}
	if (ferror(f) || (f != stdout ? fclose(f) : fflush(f))) {
		fprintf(stderr, "tracegen: %s: write failed: %s\n", o.out, strerror(errno));
		return 1;
	}
	return 0;
}
