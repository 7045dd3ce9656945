// SPDX-License-Identifier: GPL-2.0
/* Evaluation scenarios on a pool (scenario.h). */
#include <math.h>
#include <string.h>

#include "sim/scenario.h"
#include "sim/world.h"

const char *const scenario_names[SCENARIO__COUNT] = { "correct", "equal", "reversed", "slowdown",
						      "noisy" };

const char *const scenario_titles[SCENARIO__COUNT] = {
	"static capacities, configured weights right (the capacities)",
	"static unequal capacities, configured weights wrong (all equal)",
	"static unequal capacities, configured weights reversed (fast servers weighted as slow)",
	"some fast servers slow to half speed mid-run (configured weights right before)",
	"a noisy neighbour takes 40 % of some fast servers mid-run, then leaves",
};

void scenario_params_default(struct scenario_params *p)
{
	*p = (struct scenario_params){
		.ratio = 2,
		.fast_share = 3.0 / 7,
		.workers = 4,
		.change_share = 0.25,
	};
}

int scenario_parse(const char *name, enum scenario_kind *kind)
{
	for (int i = 0; i < SCENARIO__COUNT; i++) {
		if (!strcmp(name, scenario_names[i])) {
			*kind = (enum scenario_kind)i;
			return 0;
		}
	}
	return -1;
}

void scenario_two_classes(struct sim_config *cfg, const struct scenario_params *p)
{
	int n = cfg->n_servers, fast = (int)lround(p->fast_share * n);

	fast = fast < 1 ? 1 : fast > n ? n : fast;
	for (int k = 0; k < n; k++) {
		bool is_fast = k >= n - fast;

		cfg->workers[k] = p->workers;
		cfg->speed[k] = 1.0;
		if (is_fast && p->by_workers)
			cfg->workers[k] = (int)fmax(1, lround(p->workers * p->ratio));
		else if (is_fast)
			cfg->speed[k] = p->ratio;
		cfg->io_speed[k] = 0;
	}
	sim_config_capacity_weights(cfg);
}

int scenario_changed_servers(const struct sim_config *cfg, const struct scenario_params *p,
			     int *servers)
{
	int n = cfg->n_servers, count = (int)ceil(p->change_share * n - 1e-9);
	bool taken[SIM_MAX_SERVERS] = {};

	count = count < 1 ? 1 : count > n ? n : count;
	if (count > SIM_MAX_CHANGES / 2)
		count = SIM_MAX_CHANGES / 2;
	for (int i = 0; i < count; i++) {
		int best = -1;

		for (int k = 0; k < n; k++)
			if (!taken[k] &&
			    (best < 0 || cfg->workers[k] * cfg->speed[k] >
						 cfg->workers[best] * cfg->speed[best]))
				best = k;
		taken[best] = true;
		servers[i] = best;
	}
	return count;
}

void scenario_apply(enum scenario_kind kind, const struct scenario_params *p,
		    struct sim_config *cfg)
{
	double lo = INFINITY, hi = 0, span = cfg->duration - cfg->warmup, on, off, peak;
	int changed[SIM_MAX_CHANGES], count;

	sim_config_capacity_weights(cfg);
	for (int k = 0; k < cfg->n_servers; k++) {
		lo = fmin(lo, cfg->weights[k]);
		hi = fmax(hi, cfg->weights[k]);
	}
	for (int k = 0; k < cfg->n_servers; k++) {
		if (kind == SCENARIO_EQUAL)
			cfg->weights[k] = 1;
		else if (kind == SCENARIO_REVERSED)
			cfg->weights[k] = lo + hi - cfg->weights[k];
	}
	cfg->n_changes = 0;
	cfg->window_start = cfg->window_end = 0;
	if (!scenario_has_change(kind))
		return;
	/* the IO resources keep their speed through the CPU change */
	for (int k = 0; k < cfg->n_servers; k++)
		cfg->io_speed[k] = sim_config_io_speed(cfg, k);
	count = scenario_changed_servers(cfg, p, changed);
	on = cfg->warmup + span * (kind == SCENARIO_SLOWDOWN ? 0.5 : 1.0 / 3);
	off = kind == SCENARIO_SLOWDOWN ? cfg->duration : cfg->warmup + span * 2.0 / 3;
	for (int i = 0; i < count; i++) {
		int k = changed[i];
		double f = kind == SCENARIO_SLOWDOWN ? WORLD_SLOWDOWN_FACTOR : WORLD_NOISY_FACTOR;

		cfg->changes[cfg->n_changes++] = (struct capacity_change){
			.t = on, .server = k, .speed = cfg->speed[k] * f
		};
		if (kind == SCENARIO_NOISY)
			cfg->changes[cfg->n_changes++] = (struct capacity_change){
				.t = off, .server = k, .speed = cfg->speed[k]
			};
	}
	cfg->window_start = on;
	cfg->window_end = off;
	/* the load is what the run offers at its tightest: during the change */
	peak = world_peak_load(cfg);
	cfg->load *= cfg->load / peak;
}
