// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cli.h"

enum {
	OPT_LBS = 1000,
	OPT_SERVERS,
	OPT_WORKERS,
	OPT_SPEEDS,
	OPT_WEIGHTS,
	OPT_MISCONFIG,
	OPT_IO_SPEED,
	OPT_IO_PER_CAPACITY,
	OPT_MIX,
	OPT_DIST,
	OPT_LOAD,
	OPT_RATE,
	OPT_TRACE,
	OPT_TRACE_SCALE,
	OPT_CAP,
	OPT_TIMEOUT,
	OPT_SHARING,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_STEP,
	OPT_SEED,
	OPT_CHANGE,
	OPT_FIRST_RESPONSE,
	OPT_GAMMA_D,
	OPT_REWARD,
	OPT_REWARD_UNITS,
	OPT_CPU_MEAN,
	OPT_IO_MEAN,
};

const struct option cli_model_options[] = {
	{ "lbs", required_argument, NULL, OPT_LBS },
	{ "servers", required_argument, NULL, OPT_SERVERS },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "speeds", required_argument, NULL, OPT_SPEEDS },
	{ "weights", required_argument, NULL, OPT_WEIGHTS },
	{ "misconfig", no_argument, NULL, OPT_MISCONFIG },
	{ "io-speed", required_argument, NULL, OPT_IO_SPEED },
	{ "io-per-capacity", required_argument, NULL, OPT_IO_PER_CAPACITY },
	{ "mix", required_argument, NULL, OPT_MIX },
	{ "cpu-mean", required_argument, NULL, OPT_CPU_MEAN },
	{ "io-mean", required_argument, NULL, OPT_IO_MEAN },
	{ "dist", required_argument, NULL, OPT_DIST },
	{ "load", required_argument, NULL, OPT_LOAD },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "trace-scale", required_argument, NULL, OPT_TRACE_SCALE },
	{ "cap", required_argument, NULL, OPT_CAP },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "sharing", required_argument, NULL, OPT_SHARING },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "step", required_argument, NULL, OPT_STEP },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "change", required_argument, NULL, OPT_CHANGE },
	{ "first-response", required_argument, NULL, OPT_FIRST_RESPONSE },
	{ "gamma-d", required_argument, NULL, OPT_GAMMA_D },
	{ "reward", required_argument, NULL, OPT_REWARD },
	{ "reward-units", required_argument, NULL, OPT_REWARD_UNITS },
	{}
};

const char cli_model_help[] =
	"Model options (defaults: the paper's moderate scale):\n"
	"  --lbs M              load balancers (2)\n"
	"  --servers N          servers (8)\n"
	"  --workers LIST       CPU workers per server, one value or N values\n"
	"                       (first half of the servers 4, second half 2)\n"
	"  --speeds LIST        work per second of one worker, one value or N values (1)\n"
	"  --weights LIST       static weights of wcmp and sed, one or N values\n"
	"                       (default: capacity = workers x speed)\n"
	"  --misconfig          static weights inverted: fast servers get the slow ones' weight\n"
	"  --io-speed LIST      IO work per second of each server's IO resource, one value\n"
	"                       or N values (default: --io-per-capacity x CPU capacity)\n"
	"  --io-per-capacity X  IO speed of a server per unit of its CPU capacity (workers x\n"
	"                       speed) where --io-speed does not set it (1)\n"
	"  --mix MIX            application mix by mean (CPU, IO) work in seconds:\n"
	"                       100 = (1, 0), 75 = (0.75, 0.25), 50 = (0.5, 0.5) (100)\n"
	"  --cpu-mean S         mean CPU work per task (s); wins over --mix (the mix's)\n"
	"  --io-mean S          mean IO work per task (s); wins over --mix (the mix's)\n"
	"  --dist D             work distribution: exp, lognormal[:SIGMA] (1),\n"
	"                       pareto[:ALPHA] (2.5), const (every task the mean) (exp)\n"
	"  --load X             offered load: fraction of the tasks/s the pool can serve,\n"
	"                       each server limited by its CPU or its IO (0.9)\n"
	"  --rate R             arrivals per second (overrides --load)\n"
	"  --trace FILE         arrivals from a trace (time<TAB>/dummy.php/?n=N), looped\n"
	"  --trace-scale X      loop iterations per second of CPU work (default: such that\n"
	"                       the trace offers --load)\n"
	"  --cap N              resident tasks per server; more are rejected (65)\n"
	"  --timeout S          completion time charged to a rejected task (40)\n"
	"  --sharing fcfs|ps    CPU: FCFS queue on the workers, or processor sharing (fcfs)\n"
	"  --duration S         simulated seconds per run (600)\n"
	"  --warmup S           tasks arriving earlier are not measured (60)\n"
	"  --step S             control step (0.25, marllbd's default)\n"
	"  --seed N             seed of the task stream (1)\n"
	"  --change T:K:SPEED   at T s, server K's workers run at SPEED (repeatable)\n"
	"  --first-response W   CPU work before the first byte of the answer (0.01)\n"
	"  --gamma-d G          sample discount per second in the features (0.9, marllbd's)\n"
	"  --reward R           marl reward: vbf, vbf-log, pbf, jain, makespan (vbf)\n"
	"  --reward-units U     loads the reward sees: relative (divided by their mean) or\n"
	"                       seconds (relative, marllbd's default)\n";

int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int parse_list(const char *s, double *out, int max)
{
	int n = 0;

	for (;;) {
		char *end;
		double v;

		errno = 0;
		v = strtod(s, &end);
		if (errno || end == s || !isfinite(v) || n == max)
			return -1;
		out[n++] = v;
		if (*end == '\0')
			return n;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

int mix_parse(const char *name, double *cpu_mean, double *io_mean)
{
	if (!strcmp(name, "100"))
		*cpu_mean = 1.0, *io_mean = 0.0;
	else if (!strcmp(name, "75"))
		*cpu_mean = 0.75, *io_mean = 0.25;
	else if (!strcmp(name, "50"))
		*cpu_mean = 0.5, *io_mean = 0.5;
	else
		return -1;
	return 0;
}

void cli_model_init(struct cli_model *m)
{
	memset(m, 0, sizeof(*m));
	sim_config_default(&m->cfg);
}

bool cli_model_given(const struct cli_model *m, const char *name)
{
	for (int i = 0; cli_model_options[i].name; i++)
		if (!strcmp(cli_model_options[i].name, name))
			return m->given & (1ULL << i);
	return false;
}

const char *cli_model_unused(const struct cli_model *m, const char *const *allowed)
{
	for (int i = 0; cli_model_options[i].name; i++) {
		const char *const *a = allowed;

		if (!(m->given & (1ULL << i)))
			continue;
		while (*a && strcmp(*a, cli_model_options[i].name))
			a++;
		if (!*a)
			return cli_model_options[i].name;
	}
	return NULL;
}

int cli_model_option(struct cli_model *m, int opt, const char *arg)
{
	struct sim_config *c = &m->cfg;
	double *list_buf = m->list_buf, d;
	long v;
	int n;

	for (int i = 0; cli_model_options[i].name; i++)
		if (cli_model_options[i].val == opt)
			m->given |= 1ULL << i;

	switch (opt) {
	case OPT_LBS:
		if (parse_int(arg, 1, SIM_MAX_LBS, &v))
			CLI_BAD("--lbs %s: expected 1..%d", arg, SIM_MAX_LBS);
		c->n_lbs = v;
		break;
	case OPT_SERVERS:
		if (parse_int(arg, 1, SIM_MAX_SERVERS, &v))
			CLI_BAD("--servers %s: expected 1..%d", arg, SIM_MAX_SERVERS);
		c->n_servers = v;
		break;
	case OPT_WORKERS:
	case OPT_SPEEDS:
	case OPT_WEIGHTS:
	case OPT_IO_SPEED:
		n = parse_list(arg, list_buf, SIM_MAX_SERVERS);
		if (n < 1)
			CLI_BAD("%s %s: expected a comma-separated list of numbers",
				opt == OPT_WORKERS  ? "--workers" :
				opt == OPT_SPEEDS   ? "--speeds" :
				opt == OPT_IO_SPEED ? "--io-speed" :
						      "--weights",
				arg);
		if (opt == OPT_WORKERS) {
			for (int i = 0; i < n; i++)
				if (list_buf[i] != floor(list_buf[i]) || list_buf[i] < 1 ||
				    list_buf[i] > 1024)
					CLI_BAD("--workers %s: counts must be whole numbers 1..1024",
						arg);
			memcpy(m->workers_list, list_buf, n * sizeof(double));
			m->workers_len = n;
			m->workers_set = true;
		} else if (opt == OPT_SPEEDS) {
			memcpy(m->speeds_list, list_buf, n * sizeof(double));
			m->speeds_len = n;
		} else if (opt == OPT_IO_SPEED) {
			for (int i = 0; i < n; i++)
				if (!(list_buf[i] > 0))
					CLI_BAD("--io-speed %s: speeds must be positive", arg);
			memcpy(m->io_speeds_list, list_buf, n * sizeof(double));
			m->io_speeds_len = n;
		} else {
			memcpy(m->weights_list, list_buf, n * sizeof(double));
			m->weights_len = n;
			m->weights_set = true;
		}
		break;
	case OPT_MISCONFIG:
		m->misconfig = true;
		break;
	case OPT_IO_PER_CAPACITY:
		if (parse_double(arg, 1e-6, 1e6, &c->io_per_capacity))
			CLI_BAD("--io-per-capacity %s: expected a positive number", arg);
		break;
	case OPT_MIX:
		if (mix_parse(arg, &c->cpu_mean, &c->io_mean))
			CLI_BAD("--mix %s: expected 100, 75 or 50", arg);
		m->mix = arg;
		break;
	case OPT_CPU_MEAN:
		if (parse_double(arg, 1e-9, 1e6, &m->cpu_mean))
			CLI_BAD("--cpu-mean %s: expected positive seconds", arg);
		m->cpu_mean_set = true;
		break;
	case OPT_IO_MEAN:
		if (parse_double(arg, 0, 1e6, &m->io_mean))
			CLI_BAD("--io-mean %s: expected seconds >= 0", arg);
		m->io_mean_set = true;
		break;
	case OPT_DIST:
		if (!strcmp(arg, "exp")) {
			c->dist = DIST_EXP;
		} else if (!strcmp(arg, "const")) {
			c->dist = DIST_CONST;
		} else if (!strncmp(arg, "lognormal", 9) && (!arg[9] || arg[9] == ':')) {
			c->dist = DIST_LOGNORMAL;
			c->dist_shape = 1.0;
			if (arg[9] && parse_double(arg + 10, 1e-3, 4.9, &c->dist_shape))
				CLI_BAD("--dist %s: sigma must be in (0, 5)", arg);
		} else if (!strncmp(arg, "pareto", 6) && (!arg[6] || arg[6] == ':')) {
			c->dist = DIST_PARETO;
			c->dist_shape = 2.5;
			if (arg[6] && parse_double(arg + 7, 1.01, 99, &c->dist_shape))
				CLI_BAD("--dist %s: alpha must be in (1, 100)", arg);
		} else {
			CLI_BAD("--dist %s: expected exp, lognormal[:SIGMA], pareto[:ALPHA] or const",
				arg);
		}
		break;
	case OPT_LOAD:
		if (parse_double(arg, 1e-6, 9.99, &c->load))
			CLI_BAD("--load %s: expected a number in (0, 10)", arg);
		break;
	case OPT_RATE:
		if (parse_double(arg, 1e-6, 1e9, &c->rate))
			CLI_BAD("--rate %s: expected a positive number", arg);
		break;
	case OPT_TRACE:
		c->trace = arg;
		break;
	case OPT_TRACE_SCALE:
		if (parse_double(arg, 1e-9, 1e15, &c->trace_scale))
			CLI_BAD("--trace-scale %s: expected a positive number", arg);
		break;
	case OPT_CAP:
		if (parse_int(arg, 1, 1L << 30, &v))
			CLI_BAD("--cap %s: expected a positive count", arg);
		c->resident_cap = v;
		break;
	case OPT_TIMEOUT:
		if (parse_double(arg, 0, 1e6, &c->reject_timeout))
			CLI_BAD("--timeout %s: expected seconds >= 0", arg);
		break;
	case OPT_SHARING:
		if (!strcmp(arg, "fcfs"))
			c->sharing = CPU_FCFS;
		else if (!strcmp(arg, "ps"))
			c->sharing = CPU_PS;
		else
			CLI_BAD("--sharing %s: expected fcfs or ps", arg);
		break;
	case OPT_DURATION:
		if (parse_double(arg, 1e-3, 1e9, &c->duration))
			CLI_BAD("--duration %s: expected positive seconds", arg);
		break;
	case OPT_WARMUP:
		if (parse_double(arg, 0, 1e9, &c->warmup))
			CLI_BAD("--warmup %s: expected seconds >= 0", arg);
		break;
	case OPT_STEP:
		if (parse_double(arg, 1e-3, 1e3, &c->step))
			CLI_BAD("--step %s: expected seconds in [0.001, 1000]", arg);
		break;
	case OPT_SEED:
		if (parse_int(arg, 0, LONG_MAX, &v))
			CLI_BAD("--seed %s: expected a non-negative integer", arg);
		c->seed = v;
		c->policy_seed = v;
		break;
	case OPT_CHANGE: {
		struct capacity_change *ch = &c->changes[c->n_changes];
		char tail;

		if (c->n_changes == SIM_MAX_CHANGES)
			CLI_BAD("--change: at most %d changes", SIM_MAX_CHANGES);
		if (sscanf(arg, "%lf:%d:%lf%c", &ch->t, &ch->server, &ch->speed, &tail) != 3)
			CLI_BAD("--change %s: expected TIME:SERVER:SPEED", arg);
		c->n_changes++;
		break;
	}
	case OPT_FIRST_RESPONSE:
		if (parse_double(arg, 0, 1e3, &c->first_response_work))
			CLI_BAD("--first-response %s: expected seconds of work >= 0", arg);
		break;
	case OPT_GAMMA_D:
		if (parse_double(arg, 1e-6, 1, &d))
			CLI_BAD("--gamma-d %s: expected a number in (0, 1]", arg);
		c->features.gamma_d = d;
		break;
	case OPT_REWARD:
		if (reward_parse(arg, &c->reward))
			CLI_BAD("--reward %s: expected vbf, vbf-log, pbf, jain or makespan", arg);
		break;
	case OPT_REWARD_UNITS:
		if (reward_units_parse(arg, &c->reward_units))
			CLI_BAD("--reward-units %s: expected relative or seconds", arg);
		break;
	default:
		return 1;
	}
	return 0;
}

static int fill(const char *name, const double *list, int len, int n, double *out_d, int *out_i)
{
	if (len != 1 && len != n) {
		fprintf(stderr, "marllb-sim: %s has %d values for %d servers\n", name, len, n);
		return -1;
	}
	for (int k = 0; k < n; k++) {
		if (out_d)
			out_d[k] = list[len == 1 ? 0 : k];
		else
			out_i[k] = (int)list[len == 1 ? 0 : k];
	}
	return 0;
}

static void apply_means(const struct cli_model *m, struct sim_config *cfg)
{
	if (m->cpu_mean_set)
		cfg->cpu_mean = m->cpu_mean;
	if (m->io_mean_set)
		cfg->io_mean = m->io_mean;
}

/* Static weights: capacity for the mix, or --weights; --misconfig mirrors them. */
static int set_weights(const struct cli_model *m, struct sim_config *c)
{
	double lo = INFINITY, hi = 0;
	int n = c->n_servers;

	sim_config_capacity_weights(c);
	if (m->weights_len &&
	    fill("--weights", m->weights_list, m->weights_len, n, c->weights, NULL))
		return -1;
	if (m->misconfig) {
		for (int k = 0; k < n; k++)
			lo = fmin(lo, c->weights[k]), hi = fmax(hi, c->weights[k]);
		for (int k = 0; k < n; k++)
			c->weights[k] = lo + hi - c->weights[k];
	}
	return 0;
}

int cli_model_mix(const struct cli_model *m, const char *mix, struct sim_config *cfg)
{
	if (mix_parse(mix, &cfg->cpu_mean, &cfg->io_mean))
		return -1;
	apply_means(m, cfg);
	return set_weights(m, cfg);
}

int cli_model_finish(struct cli_model *m)
{
	struct sim_config *c = &m->cfg;
	int n = c->n_servers;
	char err[256];

	apply_means(m, c);
	for (int k = 0; k < n; k++) {
		c->workers[k] = k < n / 2 ? 4 : 2;
		c->speed[k] = 1.0;
		c->io_speed[k] = 0;
	}
	if (m->workers_len &&
	    fill("--workers", m->workers_list, m->workers_len, n, NULL, c->workers))
		return -1;
	if (m->speeds_len && fill("--speeds", m->speeds_list, m->speeds_len, n, c->speed, NULL))
		return -1;
	if (m->io_speeds_len &&
	    fill("--io-speed", m->io_speeds_list, m->io_speeds_len, n, c->io_speed, NULL))
		return -1;
	if (set_weights(m, c))
		return -1;
	c->features.n_servers = n;
	if (sim_config_check(c, err, sizeof(err))) {
		fprintf(stderr, "marllb-sim: %s\n", err);
		return -1;
	}
	return 0;
}

enum { OPT_RATIO = 3000, OPT_FAST_SHARE, OPT_CHANGE_SHARE, OPT_CLASS_BY, OPT_POOL_WORKERS };

const struct option cli_pool_options[] = {
	{ "ratio", required_argument, NULL, OPT_RATIO },
	{ "fast-share", required_argument, NULL, OPT_FAST_SHARE },
	{ "change-share", required_argument, NULL, OPT_CHANGE_SHARE },
	{ "class-by", required_argument, NULL, OPT_CLASS_BY },
	{ "pool-workers", required_argument, NULL, OPT_POOL_WORKERS },
	{}
};

const char cli_pool_help[] =
	"Pools (NxM: N servers, M LBs; two classes unless --workers/--speeds set them):\n"
	"  --ratio X          fast / slow capacity (2)\n"
	"  --class-by HOW     speed: the fast servers' workers are X times as fast (the\n"
	"                     testbed's way); workers: they have X times the workers (speed)\n"
	"  --pool-workers N   workers of a slow server (4)\n"
	"  --fast-share X     share of fast servers, the last ones (0.428571 = 3/7, the\n"
	"                     testbed's 4 slow and 3 fast)\n"
	"  --change-share X   share of servers a capacity change touches, the fastest\n"
	"                     first, at least one (0.25)\n";

int cli_pool_option(struct scenario_params *p, int opt, const char *arg)
{
	long v;

	switch (opt) {
	case OPT_RATIO:
		if (parse_double(arg, 1, 64, &p->ratio))
			CLI_BAD("--ratio %s: expected 1..64", arg);
		break;
	case OPT_FAST_SHARE:
		if (parse_double(arg, 1e-6, 1, &p->fast_share))
			CLI_BAD("--fast-share %s: expected a share in (0, 1]", arg);
		break;
	case OPT_CHANGE_SHARE:
		if (parse_double(arg, 1e-6, 1, &p->change_share))
			CLI_BAD("--change-share %s: expected a share in (0, 1]", arg);
		break;
	case OPT_CLASS_BY:
		if (strcmp(arg, "speed") && strcmp(arg, "workers"))
			CLI_BAD("--class-by %s: expected speed or workers", arg);
		p->by_workers = !strcmp(arg, "workers");
		break;
	case OPT_POOL_WORKERS:
		if (parse_int(arg, 1, 1024, &v))
			CLI_BAD("--pool-workers %s: expected 1..1024", arg);
		p->workers = (int)v;
		break;
	default:
		return 1;
	}
	return 0;
}

int parse_pool(const char *s, int *servers, int *lbs)
{
	char tail;

	if (sscanf(s, "%dx%d%c", servers, lbs, &tail) != 2 || *servers < 1 ||
	    *servers > SIM_MAX_SERVERS || *lbs < 1 || *lbs > SIM_MAX_LBS)
		return -1;
	return 0;
}

bool cli_model_two_classes(const struct cli_model *m)
{
	return !cli_model_given(m, "workers") && !cli_model_given(m, "speeds");
}

int cli_model_pool(const struct cli_model *m, int servers, int lbs, const char *mix,
		   const struct scenario_params *p, struct sim_config *cfg)
{
	struct cli_model pm = *m;

	pm.cfg.n_servers = servers;
	pm.cfg.n_lbs = lbs;
	if (cli_model_finish(&pm))
		return -1;
	*cfg = pm.cfg;
	if (mix && cli_model_mix(&pm, mix, cfg))
		return -1;
	if (cli_model_two_classes(m))
		scenario_two_classes(cfg, p);
	return 0;
}

struct option *cli_options_join(const struct option *a, const struct option *b)
{
	static struct option table[128];
	int n = 0;

	for (const struct option *o = a; o && o->name && n < 127; o++)
		table[n++] = *o;
	for (const struct option *o = b; o && o->name && n < 127; o++)
		table[n++] = *o;
	table[n] = (struct option){};
	return table;
}

struct option *cli_options(const struct option *own)
{
	return cli_options_join(own, cli_model_options);
}
