/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The options every learned policy's training takes (marl's `train`, the baselines'
 * `train --policy P`): the run (output, episodes, validation) and the agent's knobs. Each
 * command adds its own options to TRAIN_OPTS_OPTIONS and hands the rest here.
 */
#ifndef MARLLB_SIM_TRAIN_OPTS_H
#define MARLLB_SIM_TRAIN_OPTS_H

#include <getopt.h>
#include <stdbool.h>

struct agent_config;

struct train_opts {
	const char *out;
	long episodes, eval_every, val_seeds;
	double val_duration;
	/* the agent's knobs: 0 (hidden, batch_rows) or < 0 (the others) keeps its default */
	long hidden, updates, batch_rows, warmup_steps;
	double gamma, lr, alpha;
};

#define TRAIN_OPTS_OPTIONS                                           \
	{ "out", required_argument, NULL, 'o' },                     \
	{ "episodes", required_argument, NULL, 'e' },                \
	{ "eval-every", required_argument, NULL, 'v' },              \
	{ "val-seeds", required_argument, NULL, 'E' },               \
	{ "val-duration", required_argument, NULL, 'D' },            \
	{ "hidden", required_argument, NULL, 'H' },                  \
	{ "updates", required_argument, NULL, 'u' },                 \
	{ "gamma", required_argument, NULL, 'g' },                   \
	{ "lr", required_argument, NULL, 'l' },                      \
	{ "alpha", required_argument, NULL, 'a' },                   \
	{ "batch-rows", required_argument, NULL, 'b' },              \
	{ "warmup-steps", required_argument, NULL, 'w' }

/* the help lines of TRAIN_OPTS_OPTIONS */
extern const char train_opts_help[];

void train_opts_init(struct train_opts *o);

/* 1: opt is one of TRAIN_OPTS_OPTIONS, taken; 0: not one of them; -1: a bad value (said). */
int train_opts_parse(struct train_opts *o, int opt, const char *arg);

/* After the options: -1 (said why) on a stray argument or without --out, else 0. */
int train_opts_finish(const struct train_opts *o, int argc, char **argv);

/* true, after saying so, when an agent knob is given: a loaded model keeps its own */
bool train_opts_agent_knobs_given(const struct train_opts *o, const char *why);

/* The agent knobs given, into c. */
void train_opts_apply(const struct train_opts *o, struct agent_config *c);

#endif /* MARLLB_SIM_TRAIN_OPTS_H */
