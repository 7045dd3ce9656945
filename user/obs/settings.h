/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The learning settings a model's file does not record but its behaviour depends on: the
 * control step and the feature discount shape its observations, the reward and its units what
 * it learned to maximise. marllbd and the simulator share these defaults; a model trained
 * with other settings carries them in a sidecar, MODEL.settings ("key value" lines), that both
 * read and compare with the settings they run.
 */
#ifndef MARLLB_SETTINGS_H
#define MARLLB_SETTINGS_H

#include <stddef.h>

#include "obs/reward.h"

#define LEARN_STEP_DEFAULT 0.25	/* control step (s), the paper's */
#define LEARN_SETTINGS_SUFFIX ".settings"
/*
 * marllbd clamps the learned weights it writes into [W_MIN, W_MAX] (the weights' geometric
 * mean over a pool is 1). The policy's own range is wider (e^(+-2L), L = ln 4 by default):
 * the clamp is the operator's bound on how far one server may be preferred, 16:1 by default,
 * twice the widest capacity ratio the policy was trained on.
 */
#define LEARN_W_MIN_DEFAULT 0.25
#define LEARN_W_MAX_DEFAULT 4.0

/*
 * The weights marl writes are an exponential average of its policy's per-step log-weights
 * over this many seconds (agent_set_act_smoothing()): a step's log-weights read each
 * server's speed from a few noisy task durations; averaged they keep the speed and lose the
 * noise, and a change still shows within a few time constants. Chosen on the validation
 * worlds (Documentation/policy.md), never on the reported ones.
 */
#define LEARN_ACT_TAU_S 12.5

/* LEARN_ACT_TAU_S in control steps of `step` seconds */
static inline float learn_act_tau_steps(double step)
{
	return (float)(LEARN_ACT_TAU_S / step);
}

struct learn_settings {
	double step;		/* control step (s) */
	double gamma_d;		/* feature discount per second (features_config) */
	enum reward_kind reward;
	enum reward_units reward_units;
};

/* marllbd's defaults: LEARN_STEP_DEFAULT, features_config_default()'s gamma_d, vbf,
 * REWARD_UNITS_DEFAULT. */
void learn_settings_default(struct learn_settings *s);

/* Writes MODEL.settings beside model_path. Returns 0 or -errno. */
int learn_settings_save(const char *model_path, const struct learn_settings *s);

/*
 * Reads MODEL.settings. Returns 0; -ENOENT when the model has no sidecar (s untouched);
 * -EINVAL with a sentence in err when it is malformed (unknown key, bad value, missing key).
 */
int learn_settings_load(const char *model_path, struct learn_settings *s, char *err,
			size_t err_len);

/*
 * Returns 0 when a model trained with `trained` runs as it was trained under `running`; else
 * -EINVAL and err lists each difference as "--step 2 (trained) vs 0.25 (running)".
 */
int learn_settings_compare(const struct learn_settings *trained,
			   const struct learn_settings *running, char *err, size_t err_len);

/*
 * The check both programs run when they load a model: reads the sidecar and compares it.
 * Returns 0 when they agree, -ENOENT when there is no sidecar (nothing known: the caller may
 * warn), -EINVAL with a sentence in err otherwise.
 */
int learn_settings_check(const char *model_path, const struct learn_settings *running,
			 char *err, size_t err_len);

#endif /* MARLLB_SETTINGS_H */
