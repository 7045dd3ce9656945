/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The seed spaces: what each seed is for, so that training, model selection and the
 * streams results are reported on never share a world or a task stream.
 *
 *   [0, SEED_SELECT_BASE)                 evaluation: the task streams tables report on
 *                                         (compare --seed, run --seed); never trained on
 *   [SEED_SELECT_BASE, SEED_EVAL_END)     selection of reference policies (the best static
 *                                         weights): searched here, reported on the above
 *   [SEED_EVAL_END, SEED_VALID_BASE)      unassigned (earlier `train` runs used seeds from
 *                                         1e6 for their episodes and evaluations)
 *   [SEED_VALID_BASE, SEED_TRAIN_BASE)    validation worlds: the model kept is the one best
 *                                         here
 *   [SEED_TRAIN_BASE, ...)                training worlds: world_draw(SEED_TRAIN_BASE + e)
 *                                         for episode e
 *
 * A seed is one world (world_draw) and one task stream (struct sim_config.seed): the same
 * number names both, each drawn from its own random stream.
 */
#ifndef MARLLB_SIM_SEEDS_H
#define MARLLB_SIM_SEEDS_H

#include <stdint.h>

#define SEED_SELECT_BASE 900000ULL
#define SEED_EVAL_END 1000000ULL
#define SEED_VALID_BASE 100000000ULL
#define SEED_TRAIN_BASE 1000000000ULL

enum seed_space { SEED_EVAL, SEED_SELECT, SEED_UNASSIGNED, SEED_VALID, SEED_TRAIN };

static inline enum seed_space seed_space_of(uint64_t seed)
{
	if (seed >= SEED_TRAIN_BASE)
		return SEED_TRAIN;
	if (seed >= SEED_VALID_BASE)
		return SEED_VALID;
	if (seed >= SEED_EVAL_END)
		return SEED_UNASSIGNED;
	if (seed >= SEED_SELECT_BASE)
		return SEED_SELECT;
	return SEED_EVAL;
}

static inline const char *seed_space_name(enum seed_space space)
{
	static const char *const names[] = { "evaluation", "selection", "unassigned", "validation",
					     "training" };

	return names[space];
}

#endif /* MARLLB_SIM_SEEDS_H */
