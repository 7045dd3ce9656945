/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The evaluation scenarios of issue 9 on a pool of servers: configured weights that are
 * right, wrong (all equal) or reversed on unequal capacities, and capacity changes mid-run
 * (a slowdown to half speed; a noisy neighbour taking 40 %, on then off), each with the
 * window after the change measured apart (Documentation/simulator.md, "Evaluation").
 */
#ifndef MARLLB_SIM_SCENARIO_H
#define MARLLB_SIM_SCENARIO_H

#include "sim/sim.h"

enum scenario_kind {
	SCENARIO_CORRECT, /* configured weights = capacities */
	SCENARIO_EQUAL, /* configured weights all 1 */
	SCENARIO_REVERSED, /* configured weights mirrored: fast servers weighted as slow */
	SCENARIO_SLOWDOWN, /* some fast servers drop to half speed mid-run, and stay */
	SCENARIO_NOISY, /* a noisy neighbour takes 40 % of some fast servers, then leaves */
	SCENARIO__COUNT
};

extern const char *const scenario_names[SCENARIO__COUNT];
/* One line on what the scenario is, for table headings. */
extern const char *const scenario_titles[SCENARIO__COUNT];

struct scenario_params {
	double ratio; /* fast / slow capacity of the two classes (2) */
	double fast_share; /* share of fast servers, rounded, at least 1 (3/7: the testbed) */
	int workers; /* workers of a slow server (4) */
	bool by_workers; /* fast servers have ratio x the workers; else (default) the same
				 * workers, ratio x as fast (the testbed's way) */
	double change_share; /* share of the servers a change touches, fastest first, at least
				 * one (0.25) */
};

void scenario_params_default(struct scenario_params *p);
int scenario_parse(const char *name, enum scenario_kind *kind);
/* The static world of a scenario: every kind but the changes shares it. */
static inline bool scenario_has_change(enum scenario_kind kind)
{
	return kind == SCENARIO_SLOWDOWN || kind == SCENARIO_NOISY;
}

/* Two classes on cfg's n_servers: slow ones first, then the fast (as the testbed's
 * 1,1,1,1,2,2,2), by speed or by workers (rounded); capacity weights. */
void scenario_two_classes(struct sim_config *cfg, const struct scenario_params *p);

/*
 * Applies the scenario to a pool: its configured weights (from the capacities cfg has), and
 * for the changes their events, the measurement window (after the slowdown; while the
 * neighbour is there) and a load scaled so that the highest load of the run (during the
 * change) is cfg->load. Changes fall at fractions of the measured time: the slowdown at
 * 1/2, the neighbour from 1/3 to 2/3.
 */
void scenario_apply(enum scenario_kind kind, const struct scenario_params *p,
		    struct sim_config *cfg);

/* Servers the changes of p touch on cfg (the fastest first, ties by lower index): count. */
int scenario_changed_servers(const struct sim_config *cfg, const struct scenario_params *p,
			     int *servers);

#endif /* MARLLB_SIM_SCENARIO_H */
