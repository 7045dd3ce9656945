// SPDX-License-Identifier: GPL-2.0
/* The options every learned policy's training takes (train_opts.h). */
#include <stdio.h>

#include "sim/cli.h"
#include "sim/train_opts.h"
#ifdef SIM_HAVE_LEARN
#include "learn/agent.h"
#endif

const char train_opts_help[] =
	"  --out DIR          output directory (created)\n"
	"  --episodes E       training episodes (100)\n"
	"  --eval-every K     validate every K episodes (5)\n"
	"  --val-seeds K      validation streams (4)\n"
	"  --val-duration S   simulated seconds of a validation run (300)\n"
	"  --hidden H         GRU/MLP width of a new model (agent default)\n"
	"  --updates U        gradient updates per control step, per learner (agent default)\n"
	"  --gamma G          discount per control step (agent default)\n"
	"  --lr X             Adam learning rate (agent default)\n"
	"  --alpha X          initial entropy temperature (agent default)\n"
	"  --batch-rows R     server rows per update (agent default)\n"
	"  --warmup-steps S   stored steps before the first update (agent default)\n";

void train_opts_init(struct train_opts *o)
{
	*o = (struct train_opts){ .episodes = 100,
				  .eval_every = 5,
				  .val_seeds = 4,
				  .val_duration = 300,
				  .updates = -1,
				  .warmup_steps = -1,
				  .gamma = -1,
				  .lr = -1,
				  .alpha = -1 };
}

int train_opts_parse(struct train_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 'o':
		o->out = arg;
		return 1;
	case 'e':
	case 'v':
	case 'E':
	case 'H': {
		long *dst = opt == 'e' ? &o->episodes :
			    opt == 'v' ? &o->eval_every :
			    opt == 'E' ? &o->val_seeds :
					 &o->hidden;

		if (parse_int(arg, 1, 100000, dst))
			CLI_BAD("%s: expected a count 1..100000", arg);
		return 1;
	}
	case 'u':
		if (parse_int(arg, 0, 1000, &o->updates))
			CLI_BAD("--updates %s: expected 0..1000", arg);
		return 1;
	case 'b':
	case 'w':
		if (parse_int(arg, opt == 'b' ? 1 : 0, 1 << 26,
			      opt == 'b' ? &o->batch_rows : &o->warmup_steps))
			CLI_BAD("%s: expected a count", arg);
		return 1;
	case 'D':
		if (parse_double(arg, 10, 1e6, &o->val_duration))
			CLI_BAD("--val-duration %s: expected 10..1e6 s", arg);
		return 1;
	case 'g':
	case 'l':
	case 'a': {
		double *dst = opt == 'g' ? &o->gamma : opt == 'l' ? &o->lr : &o->alpha;

		if (parse_double(arg, 1e-9, opt == 'g' ? 0.9999 : 100, dst))
			CLI_BAD("%s: out of range", arg);
		return 1;
	}
	}
	return 0;
}

int train_opts_finish(const struct train_opts *o, int argc, char **argv)
{
	if (optind < argc) {
		fprintf(stderr, "marllb-sim train: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!o->out) {
		fprintf(stderr, "marllb-sim train: --out DIR is required\n");
		return -1;
	}
	return 0;
}

bool train_opts_agent_knobs_given(const struct train_opts *o, const char *why)
{
	if (!o->hidden && o->updates < 0 && !o->batch_rows && o->warmup_steps < 0 &&
	    o->gamma < 0 && o->lr < 0 && o->alpha < 0)
		return false;
	fprintf(stderr, "marllb-sim: %s: the model's own --hidden, --updates, --batch-rows, "
			"--warmup-steps, --gamma, --lr and --alpha apply; give none of them\n", why);
	return true;
}

#ifdef SIM_HAVE_LEARN
void train_opts_apply(const struct train_opts *o, struct agent_config *c)
{
	if (o->hidden)
		c->hidden = (int)o->hidden;
	if (o->updates >= 0)
		c->updates_per_step = (int)o->updates;
	if (o->batch_rows)
		c->batch_rows = (int)o->batch_rows;
	if (o->warmup_steps >= 0)
		c->warmup_steps = (int)o->warmup_steps;
	if (o->gamma > 0)
		c->gamma = (float)o->gamma;
	if (o->lr > 0)
		c->lr = (float)o->lr;
	if (o->alpha > 0)
		c->init_alpha = (float)o->alpha;
}
#endif
