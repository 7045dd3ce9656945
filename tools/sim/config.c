// SPDX-License-Identifier: GPL-2.0
/* Simulator configuration: defaults (the paper's moderate scale) and range checks. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "obs/settings.h"
#include "sim/sim.h"

static const char *const policy_names[POLICY__COUNT] = {
	[POLICY_ECMP] = "ecmp",
	[POLICY_WCMP] = "wcmp",
	[POLICY_LSQ] = "lsq",
	[POLICY_SED] = "sed",
	[POLICY_ORACLE] = "oracle",
	[POLICY_MARL] = "marl",
	[POLICY_CLAIRVOYANT] = "clairvoyant",
};

int policy_parse(const char *name, enum sim_policy *policy)
{
	for (int i = 0; i < POLICY__COUNT; i++) {
		if (!strcmp(name, policy_names[i])) {
			*policy = (enum sim_policy)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *policy_name(enum sim_policy policy)
{
	return (unsigned int)policy < POLICY__COUNT ? policy_names[policy] : "unknown";
}

double sim_config_io_speed(const struct sim_config *cfg, int k)
{
	return cfg->io_speed[k] > 0 ? cfg->io_speed[k] :
				      cfg->io_per_capacity * cfg->workers[k] * cfg->speed[k];
}

double sim_config_server_throughput(const struct sim_config *cfg, int k, double cpu_mean)
{
	double cpu = cfg->workers[k] * cfg->speed[k] / cpu_mean;

	if (cfg->io_mean > 0)
		return fmin(cpu, sim_config_io_speed(cfg, k) / cfg->io_mean);
	return cpu;
}

double sim_config_throughput(const struct sim_config *cfg, double cpu_mean)
{
	double sum = 0;

	for (int k = 0; k < cfg->n_servers; k++)
		sum += sim_config_server_throughput(cfg, k, cpu_mean);
	return sum;
}

void sim_config_capacity_weights(struct sim_config *cfg)
{
	for (int k = 0; k < cfg->n_servers; k++)
		cfg->weights[k] =
			sim_config_server_throughput(cfg, k, cfg->cpu_mean) * cfg->cpu_mean;
}

/* 2 LBs, 8 servers: the first half with 4 workers, the second with 2; 100% CPU mix. */
void sim_config_default(struct sim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->n_lbs = 2;
	cfg->n_servers = 8;
	for (int k = 0; k < SIM_MAX_SERVERS; k++) {
		cfg->workers[k] = k < cfg->n_servers / 2 ? 4 : 2;
		cfg->speed[k] = 1.0;
	}
	cfg->io_per_capacity = 1.0;
	cfg->cpu_mean = 1.0;
	cfg->io_mean = 0.0;
	sim_config_capacity_weights(cfg);
	cfg->dist = DIST_EXP;
	cfg->dist_shape = 0;
	cfg->cpu_split = 0.5;
	cfg->first_response_work = 0.01;
	cfg->load = 0.9;
	cfg->resident_cap = 65;
	cfg->reject_timeout = 40.0;
	cfg->sharing = CPU_FCFS;
	cfg->duration = 600;
	cfg->warmup = 60;
	cfg->step = LEARN_STEP_DEFAULT;
	cfg->seed = 1;
	cfg->policy_seed = 1;
	cfg->policy = POLICY_SED;
	/* marllbd's learning defaults (step above, reward, units, feature discount), so that
	 * models trained here run there as trained */
	cfg->reward = REWARD_VBF;
	cfg->reward_units = REWARD_UNITS_DEFAULT;
	features_config_default(&cfg->features, cfg->n_servers);
}

double sim_config_rate(const struct sim_config *cfg)
{
	if (cfg->rate > 0)
		return cfg->rate;
	return cfg->load * sim_config_throughput(cfg, cfg->cpu_mean);
}

double sim_config_cpu_mean_for_rate(const struct sim_config *cfg, double rate)
{
	double lo = 1e-12, hi = 1e12, io_only = 0;

	/* the throughput falls as the CPU work grows, down to what the IO resources allow */
	for (int k = 0; k < cfg->n_servers && cfg->io_mean > 0; k++)
		io_only += sim_config_io_speed(cfg, k) / cfg->io_mean;
	if (cfg->io_mean > 0 && cfg->load * io_only <= rate)
		return -1;
	for (int i = 0; i < 200; i++) {
		double mid = sqrt(lo * hi);

		if (cfg->load * sim_config_throughput(cfg, mid) > rate)
			lo = mid;
		else
			hi = mid;
	}
	return sqrt(lo * hi);
}

#define FAIL(...)                                    \
	do {                                         \
		snprintf(err, err_len, __VA_ARGS__); \
		return -EINVAL;                      \
	} while (0)

int sim_config_check(const struct sim_config *cfg, char *err, size_t err_len)
{
	if (cfg->n_lbs < 1 || cfg->n_lbs > SIM_MAX_LBS)
		FAIL("number of LBs %d out of range 1..%d", cfg->n_lbs, SIM_MAX_LBS);
	if (cfg->n_servers < 1 || cfg->n_servers > SIM_MAX_SERVERS)
		FAIL("number of servers %d out of range 1..%d", cfg->n_servers, SIM_MAX_SERVERS);
	for (int k = 0; k < cfg->n_servers; k++) {
		if (cfg->workers[k] < 1 || cfg->workers[k] > 1024)
			FAIL("server %d: %d workers, expected 1..1024", k, cfg->workers[k]);
		if (!(cfg->speed[k] > 0) || !isfinite(cfg->speed[k]))
			FAIL("server %d: speed %g, expected > 0", k, cfg->speed[k]);
		if (!(cfg->weights[k] > 0) || !isfinite(cfg->weights[k]))
			FAIL("server %d: static weight %g, expected > 0", k, cfg->weights[k]);
		if (!(cfg->io_speed[k] >= 0) || !isfinite(cfg->io_speed[k]))
			FAIL("server %d: IO speed %g, expected > 0 (or 0: from the CPU capacity)",
			     k, cfg->io_speed[k]);
		if (cfg->io_mean > 0 && !(sim_config_io_speed(cfg, k) > 0))
			FAIL("server %d: no IO speed (IO per capacity %g)", k,
			     cfg->io_per_capacity);
	}
	if (!(cfg->cpu_mean > 0) || !(cfg->io_mean >= 0))
		FAIL("mean work (cpu %g, io %g): CPU must be > 0, IO >= 0", cfg->cpu_mean,
		     cfg->io_mean);
	if (!(cfg->io_per_capacity >= 0) || !isfinite(cfg->io_per_capacity))
		FAIL("IO per capacity %g, expected > 0", cfg->io_per_capacity);
	if (cfg->dist == DIST_LOGNORMAL && !(cfg->dist_shape > 0 && cfg->dist_shape < 5))
		FAIL("log-normal sigma %g, expected in (0, 5)", cfg->dist_shape);
	if (cfg->dist == DIST_PARETO && !(cfg->dist_shape > 1 && cfg->dist_shape < 100))
		FAIL("Pareto alpha %g, expected in (1, 100): the mean must exist", cfg->dist_shape);
	if (!(cfg->cpu_split > 0 && cfg->cpu_split <= 1))
		FAIL("CPU split %g, expected in (0, 1]", cfg->cpu_split);
	if (!(cfg->first_response_work >= 0))
		FAIL("first-response work %g, expected >= 0", cfg->first_response_work);
	if (!cfg->trace && !(cfg->rate > 0) && !(cfg->load > 0 && cfg->load < 10))
		FAIL("load %g, expected in (0, 10)", cfg->load);
	if (cfg->resident_cap < 1)
		FAIL("resident cap %d, expected >= 1", cfg->resident_cap);
	if (!(cfg->reject_timeout >= 0))
		FAIL("reject timeout %g, expected >= 0", cfg->reject_timeout);
	if (!(cfg->duration > 0) || !(cfg->warmup >= 0) || cfg->warmup >= cfg->duration)
		FAIL("duration %g and warmup %g: need 0 <= warmup < duration", cfg->duration,
		     cfg->warmup);
	if (!(cfg->window_start >= 0) || !(cfg->window_end >= cfg->window_start))
		FAIL("measurement window %g-%g s: need 0 <= start <= end", cfg->window_start,
		     cfg->window_end);
	if (!(cfg->step > 0))
		FAIL("control step %g, expected > 0", cfg->step);
	for (int i = 0; i < cfg->n_changes; i++) {
		const struct capacity_change *c = &cfg->changes[i];

		if (c->server < 0 || c->server >= cfg->n_servers || !(c->speed > 0) || !(c->t >= 0))
			FAIL("capacity change %d: server %d at %g s to speed %g is out of range", i,
			     c->server, c->t, c->speed);
	}
	return 0;
}
