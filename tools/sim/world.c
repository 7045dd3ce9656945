// SPDX-License-Identifier: GPL-2.0
/* Randomized worlds: one seed, one complete sim_config (world.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/rng.h"
#include "sim/world.h"

#define WORLD_RNG_STREAM 3 /* the task stream is 1, the policy's 2 */

const char *const world_capacity_names[WORLD_CAP__COUNT] = { "equal", "two-classes", "spread" };
const char *const world_realise_names[WORLD_BY__COUNT] = { "workers", "speed", "both" };
const char *const world_weights_names[WORLD_W__COUNT] = { "right", "equal", "random", "reversed" };
const char *const world_change_names[WORLD_CHANGE__COUNT] = { "none", "slowdown", "noisy" };
const char *const world_io_names[WORLD_IO__COUNT] = { "proportional", "uniform" };

void world_ranges_default(struct world_ranges *r)
{
	*r = (struct world_ranges){
		.servers_min = 2,
		.servers_max = 64,
		.lbs_min = 1,
		.lbs_max = 8,
		.ratio_max = 8,
		.load_min = 0.3,
		.load_max = 0.97,
		.work_min = 0.1,
		.work_max = 1.0,
		.io_share_max = 0.6,
		.p_io = 0.5,
		.p_ps = 0.25,
		.p_heavy_tail = 0.3,
		.capacity_mask = (1u << WORLD_CAP__COUNT) - 1,
		.weights_mask = (1u << WORLD_W__COUNT) - 1,
		.change_mask = (1u << WORLD_CHANGE__COUNT) - 1,
		.changed_share_max = 0.25,
		.duration = 600,
		.warmup = 60,
	};
}

#define FAIL(...)                                    \
	do {                                         \
		snprintf(err, err_len, __VA_ARGS__); \
		return -EINVAL;                      \
	} while (0)

static bool probability(double p)
{
	return p >= 0 && p <= 1;
}

int world_ranges_check(const struct world_ranges *r, char *err, size_t err_len)
{
	if (r->servers_min < 1 || r->servers_max < r->servers_min ||
	    r->servers_max > SIM_MAX_SERVERS)
		FAIL("servers %d..%d: expected 1 <= min <= max <= %d", r->servers_min,
		     r->servers_max, SIM_MAX_SERVERS);
	if (r->lbs_min < 1 || r->lbs_max < r->lbs_min || r->lbs_max > SIM_MAX_LBS)
		FAIL("LBs %d..%d: expected 1 <= min <= max <= %d", r->lbs_min, r->lbs_max,
		     SIM_MAX_LBS);
	if (!(r->ratio_max >= 1 && r->ratio_max <= 64))
		FAIL("capacity ratio %g: expected 1..64", r->ratio_max);
	if (!(r->load_min > 0 && r->load_min <= r->load_max && r->load_max < 1))
		FAIL("load %g..%g: expected 0 < min <= max < 1", r->load_min, r->load_max);
	if (!(r->work_min > 0 && r->work_min <= r->work_max && r->work_max < 1e4))
		FAIL("work %g..%g s: expected 0 < min <= max", r->work_min, r->work_max);
	if (!(r->io_share_max >= 0 && r->io_share_max <= 0.95))
		FAIL("IO share %g: expected 0..0.95", r->io_share_max);
	if (!probability(r->p_io) || !probability(r->p_ps) || !probability(r->p_heavy_tail))
		FAIL("shares of worlds must be probabilities in [0, 1]");
	if (!r->capacity_mask || r->capacity_mask >> WORLD_CAP__COUNT)
		FAIL("no capacity kind to draw from");
	if (!r->weights_mask || r->weights_mask >> WORLD_W__COUNT)
		FAIL("no weights kind to draw from");
	if (!r->change_mask || r->change_mask >> WORLD_CHANGE__COUNT)
		FAIL("no change kind to draw from");
	if (!(r->changed_share_max > 0 && r->changed_share_max <= 1))
		FAIL("changed share %g: expected (0, 1]", r->changed_share_max);
	if (!(r->duration > 0) || !(r->warmup >= 0) || r->warmup >= r->duration)
		FAIL("duration %g and warmup %g: need 0 <= warmup < duration", r->duration,
		     r->warmup);
	return 0;
}

int world_mask_parse(const char *list, const char *const *names, int count, unsigned int *mask)
{
	char buf[256], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i;

		for (i = 0; i < count && strcmp(tok, names[i]); i++)
			;
		if (i == count)
			return -1;
		*mask |= 1u << i;
	}
	return *mask ? 0 : -1;
}

/* ---- draws ---- */

static double uniform(struct rng *r, double lo, double hi)
{
	return lo + (hi - lo) * rng_uniform(r);
}

static double log_uniform(struct rng *r, double lo, double hi)
{
	return exp(uniform(r, log(lo), log(hi)));
}

static int int_uniform(struct rng *r, int lo, int hi)
{
	return lo + (int)rng_below(r, hi - lo + 1);
}

/* Log-uniform over the integers lo..hi: small pools are as common as large ones. */
static int int_log_uniform(struct rng *r, int lo, int hi)
{
	int v = (int)floor(log_uniform(r, lo, hi + 1.0));

	return v < lo ? lo : v > hi ? hi : v;
}

/* One of the kinds in mask, uniformly. */
static int pick_kind(struct rng *r, unsigned int mask)
{
	int n = __builtin_popcount(mask), i = (int)rng_below(r, n);

	for (int k = 0;; k++)
		if (mask & (1u << k) && i-- == 0)
			return k;
}

/* The first m of a random permutation of 0..n-1 in idx. */
static void pick_servers(struct rng *r, int *idx, int n, int m)
{
	for (int k = 0; k < n; k++)
		idx[k] = k;
	for (int i = 0; i < m; i++) {
		int j = i + (int)rng_below(r, n - i), t = idx[i];

		idx[i] = idx[j];
		idx[j] = t;
	}
}

/* Capacity multipliers in [1, ratio], at random slots. */
static void draw_capacities(struct rng *r, enum world_capacity kind, int n, double ratio, double *c,
			    struct world_info *info)
{
	int idx[SIM_MAX_SERVERS];
	double lo = INFINITY, hi = 0;

	info->n_fast = 0;
	for (int k = 0; k < n; k++)
		c[k] = 1;
	if (kind == WORLD_CAP_TWO_CLASSES) {
		info->n_fast = int_uniform(r, 1, n - 1);
		pick_servers(r, idx, n, info->n_fast);
		for (int i = 0; i < info->n_fast; i++)
			c[idx[i]] = ratio;
	} else if (kind == WORLD_CAP_SPREAD) {
		for (int k = 0; k < n; k++) {
			c[k] = log(log_uniform(r, 1, ratio));
			lo = fmin(lo, c[k]);
			hi = fmax(hi, c[k]);
		}
		/* stretch so that the slowest is 1 and the fastest exactly the ratio */
		for (int k = 0; k < n; k++)
			c[k] = hi > lo ? exp((c[k] - lo) / (hi - lo) * log(ratio)) : 1;
	}
}

/* Workers and speeds that make capacities base x c[k] (by workers: rounded, within the
 * ratio). */
static void realise(struct rng *r, enum world_realise how, const double *c, double ratio,
		    struct sim_config *cfg)
{
	static const int base_workers[] = { 1, 2, 4, 8 };
	int base = how == WORLD_BY_SPEED ? base_workers[rng_below(r, 4)] :
					   base_workers[1 + rng_below(r, 2)];

	for (int k = 0; k < cfg->n_servers; k++) {
		switch (how) {
		case WORLD_BY_WORKERS:
			cfg->workers[k] =
				(int)fmax(base, fmin(lround(base * c[k]), floor(base * ratio)));
			cfg->speed[k] = 1;
			break;
		case WORLD_BY_SPEED:
			cfg->workers[k] = base;
			cfg->speed[k] = c[k];
			break;
		default:
			cfg->workers[k] = (int)fmax(1, lround(base * sqrt(c[k])));
			cfg->speed[k] = c[k] * base / cfg->workers[k];
			break;
		}
	}
}

static double capacity(const struct sim_config *cfg, int k)
{
	return cfg->workers[k] * cfg->speed[k];
}

static void draw_weights(struct rng *r, enum world_weights kind, double ratio_max,
			 struct sim_config *cfg)
{
	double lo = INFINITY, hi = 0;
	int n = cfg->n_servers;

	sim_config_capacity_weights(cfg);
	for (int k = 0; k < n; k++) {
		lo = fmin(lo, cfg->weights[k]);
		hi = fmax(hi, cfg->weights[k]);
	}
	for (int k = 0; k < n; k++) {
		switch (kind) {
		case WORLD_W_EQUAL:
			cfg->weights[k] = 1;
			break;
		case WORLD_W_RANDOM:
			cfg->weights[k] = log_uniform(r, 1, fmax(ratio_max, 2));
			break;
		case WORLD_W_REVERSED:
			cfg->weights[k] = lo + hi - cfg->weights[k];
			break;
		default:
			break;
		}
	}
}

static void draw_change(struct rng *r, const struct world_ranges *rg, struct sim_config *cfg,
			struct world_info *info)
{
	int idx[SIM_MAX_SERVERS], n = cfg->n_servers, most;
	double span = rg->duration - rg->warmup;

	info->n_changed = 0;
	info->change_on = info->change_off = 0;
	if (info->change == WORLD_CHANGE_NONE)
		return;
	most = (int)floor(rg->changed_share_max * n);
	most = most < 1 ? 1 : most;
	if (info->change == WORLD_CHANGE_NOISY && most > SIM_MAX_CHANGES / 2)
		most = SIM_MAX_CHANGES / 2;
	if (most > SIM_MAX_CHANGES)
		most = SIM_MAX_CHANGES;
	info->n_changed = int_uniform(r, 1, most);
	pick_servers(r, idx, n, info->n_changed);
	if (info->change == WORLD_CHANGE_SLOWDOWN) {
		info->change_on = rg->warmup + uniform(r, 0.2, 0.6) * span;
	} else {
		info->change_on = rg->warmup + uniform(r, 0.15, 0.45) * span;
		info->change_off = info->change_on + uniform(r, 0.2, 0.4) * span;
	}
	for (int i = 0; i < info->n_changed; i++) {
		int k = idx[i];
		double f = info->change == WORLD_CHANGE_SLOWDOWN ? WORLD_SLOWDOWN_FACTOR :
								   WORLD_NOISY_FACTOR;

		cfg->changes[cfg->n_changes++] = (struct capacity_change){
			.t = info->change_on, .server = k, .speed = cfg->speed[k] * f
		};
	}
	for (int i = 0; i < info->n_changed && info->change_off > 0; i++)
		cfg->changes[cfg->n_changes++] = (struct capacity_change){
			.t = info->change_off, .server = idx[i], .speed = cfg->speed[idx[i]]
		};
}

double world_peak_load(const struct sim_config *cfg)
{
	struct sim_config phase = *cfg;
	double rate = sim_config_rate(cfg), least = sim_config_throughput(cfg, cfg->cpu_mean);
	bool done[SIM_MAX_CHANGES] = {};

	/* the IO resources keep their speed through CPU changes */
	for (int k = 0; k < cfg->n_servers; k++)
		phase.io_speed[k] = sim_config_io_speed(cfg, k);
	for (int applied = 0; applied < cfg->n_changes;) {
		double t = INFINITY;

		for (int i = 0; i < cfg->n_changes; i++)
			if (!done[i])
				t = fmin(t, cfg->changes[i].t);
		for (int i = 0; i < cfg->n_changes; i++) {
			if (done[i] || cfg->changes[i].t != t)
				continue;
			phase.speed[cfg->changes[i].server] = cfg->changes[i].speed;
			done[i] = true;
			applied++;
		}
		if (t <= cfg->duration)
			least = fmin(least, sim_config_throughput(&phase, cfg->cpu_mean));
	}
	return rate / least;
}

int world_draw(uint64_t seed, const struct world_ranges *rg, struct sim_config *cfg,
	       struct world_info *info)
{
	double c[SIM_MAX_SERVERS], ratio, lo = INFINITY, hi = 0, mean_cap = 0, io_per;
	unsigned int cap_mask = rg->capacity_mask;
	struct rng r;
	char err[128];
	int n, workers_max = 1;

	if (world_ranges_check(rg, err, sizeof(err)))
		return -EINVAL;
	rng_seed(&r, seed, WORLD_RNG_STREAM);
	sim_config_default(cfg);
	memset(info, 0, sizeof(*info));
	info->seed = seed;

	n = cfg->n_servers = int_log_uniform(&r, rg->servers_min, rg->servers_max);
	cfg->n_lbs = int_uniform(&r, rg->lbs_min, rg->lbs_max);

	/* servers: one pool cannot have two classes */
	if (n == 1)
		cap_mask = 1u << WORLD_CAP_EQUAL;
	info->capacity = (enum world_capacity)pick_kind(&r, cap_mask);
	ratio = rg->ratio_max > 1.25 ? log_uniform(&r, 1.25, rg->ratio_max) : rg->ratio_max;
	draw_capacities(&r, info->capacity, n, ratio, c, info);
	info->realise = (enum world_realise)rng_below(&r, WORLD_BY__COUNT);
	realise(&r, info->realise, c, ratio, cfg);
	for (int k = 0; k < n; k++) {
		lo = fmin(lo, capacity(cfg, k));
		hi = fmax(hi, capacity(cfg, k));
		mean_cap += capacity(cfg, k) / n;
		if (cfg->workers[k] > workers_max)
			workers_max = cfg->workers[k];
	}
	info->ratio = hi / lo;

	/* IO: its own speed per server, fixed through CPU changes */
	info->io = rng_uniform(&r) < 0.7 ? WORLD_IO_PROPORTIONAL : WORLD_IO_UNIFORM;
	io_per = log_uniform(&r, 0.75, 2);
	for (int k = 0; k < n; k++)
		cfg->io_speed[k] =
			io_per * (info->io == WORLD_IO_PROPORTIONAL ? capacity(cfg, k) : mean_cap);

	/* tasks */
	info->work = log_uniform(&r, rg->work_min, rg->work_max);
	info->io_share = 0;
	if (rg->io_share_max > 0 && rng_uniform(&r) < rg->p_io)
		info->io_share = uniform(&r, fmin(0.1, rg->io_share_max), rg->io_share_max);
	cfg->cpu_mean = info->work * (1 - info->io_share);
	cfg->io_mean = info->work * info->io_share;
	cfg->dist = DIST_EXP;
	cfg->dist_shape = 0;
	if (rng_uniform(&r) < rg->p_heavy_tail) {
		bool lognormal = rng_below(&r, 2);

		cfg->dist = lognormal ? DIST_LOGNORMAL : DIST_PARETO;
		cfg->dist_shape = lognormal ? uniform(&r, 0.5, 1.25) : uniform(&r, 2.5, 4);
	}
	cfg->sharing = rng_uniform(&r) < rg->p_ps ? CPU_PS : CPU_FCFS;

	info->weights = (enum world_weights)pick_kind(&r, rg->weights_mask);
	draw_weights(&r, info->weights, rg->ratio_max, cfg);

	cfg->duration = rg->duration;
	cfg->warmup = rg->warmup;
	info->change = (enum world_change)pick_kind(&r, rg->change_mask);
	draw_change(&r, rg, cfg, info);

	/* load: lowered where a change would push it past the range */
	cfg->load = uniform(&r, rg->load_min, rg->load_max);
	info->load_peak = world_peak_load(cfg);
	if (info->load_peak > rg->load_max) {
		cfg->load *= rg->load_max / info->load_peak;
		info->load_peak = world_peak_load(cfg);
	}
	info->load = cfg->load;

	/* room to queue on many-worker servers too */
	cfg->resident_cap = workers_max * 4 > cfg->resident_cap ? workers_max * 4 :
								  cfg->resident_cap;
	cfg->seed = cfg->policy_seed = seed;
	cfg->features.n_servers = n;
	return 0;
}

/* ---- descriptions ---- */

static const char *dist_name(const struct sim_config *cfg, char *buf, size_t len)
{
	switch (cfg->dist) {
	case DIST_LOGNORMAL:
		snprintf(buf, len, "lognormal:%.17g", cfg->dist_shape);
		break;
	case DIST_PARETO:
		snprintf(buf, len, "pareto:%.17g", cfg->dist_shape);
		break;
	case DIST_CONST:
		snprintf(buf, len, "const");
		break;
	default:
		snprintf(buf, len, "exp");
	}
	return buf;
}

int world_describe(const struct world_info *info, const struct sim_config *cfg, char *buf,
		   size_t len)
{
	char cap[64] = "", change[96] = "";

	if (info->capacity == WORLD_CAP_TWO_CLASSES)
		snprintf(cap, sizeof(cap), " (%d fast)", info->n_fast);
	if (info->change == WORLD_CHANGE_SLOWDOWN)
		snprintf(change, sizeof(change), "slowdown: %d to half speed at %.0f s",
			 info->n_changed, info->change_on);
	else if (info->change == WORLD_CHANGE_NOISY)
		snprintf(change, sizeof(change), "noisy neighbour: %d at 60 %% %.0f-%.0f s",
			 info->n_changed, info->change_on, info->change_off);
	else
		snprintf(change, sizeof(change), "no change");
	return snprintf(buf, len,
			"world %llu: N %d, M %d, capacity %s 1:%.2f%s by %s, IO %s, weights %s, "
			"%s, load %.2f (peak %.2f), work %.3f s (IO %.0f %%), %s, %s",
			(unsigned long long)info->seed, cfg->n_servers, cfg->n_lbs,
			world_capacity_names[info->capacity], info->ratio, cap,
			world_realise_names[info->realise], world_io_names[info->io],
			world_weights_names[info->weights], change, info->load, info->load_peak,
			info->work, 100 * info->io_share,
			cfg->dist == DIST_EXP	    ? "exp" :
			cfg->dist == DIST_LOGNORMAL ? "lognormal" :
			cfg->dist == DIST_PARETO    ? "pareto" :
						      "const",
			cfg->sharing == CPU_PS ? "ps" : "fcfs");
}

static void print_list(FILE *fp, const char *opt, const struct sim_config *cfg, int what)
{
	fprintf(fp, " %s ", opt);
	for (int k = 0; k < cfg->n_servers; k++) {
		double v = what == 0 ? cfg->workers[k] :
			   what == 1 ? cfg->speed[k] :
			   what == 2 ? sim_config_io_speed(cfg, k) :
				       cfg->weights[k];

		fprintf(fp, "%s%.17g", k ? "," : "", v);
	}
}

void world_print(FILE *fp, const struct world_info *info, const struct sim_config *cfg)
{
	char line[512], dist[64];

	world_describe(info, cfg, line, sizeof(line));
	fprintf(fp, "%s\n", line);
	fprintf(fp, "%6s %8s %8s %9s %9s %8s\n", "server", "workers", "speed", "capacity",
		"IO speed", "weight");
	for (int k = 0; k < cfg->n_servers; k++)
		fprintf(fp, "%6d %8d %8.3f %9.3f %9.3f %8.3f\n", k, cfg->workers[k], cfg->speed[k],
			capacity(cfg, k), sim_config_io_speed(cfg, k), cfg->weights[k]);
	for (int i = 0; i < cfg->n_changes; i++)
		fprintf(fp, "change at %.1f s: server %d speed %.3f\n", cfg->changes[i].t,
			cfg->changes[i].server, cfg->changes[i].speed);
	fprintf(fp, "arrival rate %.3f tasks/s, cpu mean %.4f s, io mean %.4f s\n",
		sim_config_rate(cfg), cfg->cpu_mean, cfg->io_mean);
	fprintf(fp, "options: --servers %d --lbs %d", cfg->n_servers, cfg->n_lbs);
	print_list(fp, "--workers", cfg, 0);
	print_list(fp, "--speeds", cfg, 1);
	print_list(fp, "--io-speed", cfg, 2);
	print_list(fp, "--weights", cfg, 3);
	fprintf(fp, " --cpu-mean %.17g --io-mean %.17g --dist %s --load %.17g --sharing %s",
		cfg->cpu_mean, cfg->io_mean, dist_name(cfg, dist, sizeof(dist)), cfg->load,
		cfg->sharing == CPU_PS ? "ps" : "fcfs");
	fprintf(fp, " --cap %d --duration %.17g --warmup %.17g --seed %llu", cfg->resident_cap,
		cfg->duration, cfg->warmup, (unsigned long long)cfg->seed);
	for (int i = 0; i < cfg->n_changes; i++)
		fprintf(fp, " --change %.17g:%d:%.17g", cfg->changes[i].t, cfg->changes[i].server,
			cfg->changes[i].speed);
	fprintf(fp, "\n");
}
