/* SPDX-License-Identifier: GPL-2.0 */
/* Subcommands of marllb-sim and helpers they share. */
#ifndef MARLLB_SIM_CMDS_H
#define MARLLB_SIM_CMDS_H

#include <stdio.h>

#include "sim/cli.h"
#include "sim/sim.h"

int cmd_run(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_world(int argc, char **argv);

/* World range options (world.h), shared by the commands that draw worlds; values from 2000. */
struct world_ranges;
extern const struct option world_range_options[];
extern const char world_range_help[];
/* Handles one range option; returns 0, 1 when opt is not one, -1 on bad input (printed). */
int world_range_option(struct world_ranges *r, int opt, const char *arg);

double wall_seconds(void);

/*
 * Loads one agent per LB from path (all LBs load the same file, as every LB of a testbed
 * loads the shipped model) for cfg's servers and LBs. The model's PATH.settings (obs/settings.h),
 * when there is one, must match cfg's step, gamma_d, reward and units: a model run with other
 * settings than it was trained with is refused. Returns 0, or -1 after printing why.
 */
struct agent;
int agents_load(struct agent **agents, const struct sim_config *cfg, const char *path);
/* cfg's learning settings, as recorded beside a model (obs/settings.h). */
struct learn_settings;
void sim_learn_settings(const struct sim_config *cfg, struct learn_settings *ls);
void agents_free(struct agent **agents, int n_lbs);

/* Runs one simulation (agents may be NULL unless cfg->policy is marl). Returns the sim for
 * its statistics (caller frees), or NULL after printing why. */
struct sim *run_one(const struct sim_config *cfg, struct agent **agents, bool learn, bool explore);

/* Pipes a script to gnuplot; returns 0, or -1 when gnuplot failed or is missing. */
int gnuplot_run(const char *script);

#endif /* MARLLB_SIM_CMDS_H */
