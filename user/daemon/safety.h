/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The safety net of a learned (marl) VIP: fall back to SED weights when the learned weights
 * make task durations clearly worse than SED's for a sustained period, and retry later.
 *
 * The SED baseline is measured, not guessed: SED runs for a probe period when the VIP starts
 * and during every fallback; each window (`window` seconds) with at least min_samples task
 * durations updates the baseline mean task duration and new-flow rate (an exponential
 * average, weight 1/2 for the newest window). While marl runs, a window counts as "worse"
 * when its mean task duration exceeds ratio x baseline and its new-flow rate is at most
 * load_band x the baseline's (under higher load, longer tasks say nothing about the policy:
 * such windows are neither worse nor better and do not count). Once the worse windows of a
 * streak add up to `sustain` seconds with no better one in between, SED takes over for `hold`
 * seconds (refreshing the baseline), then marl gets another chance. ratio = 0 turns the net off.
 */
#ifndef MARLLBD_SAFETY_H
#define MARLLBD_SAFETY_H

#include <stdbool.h>
#include <stdint.h>

struct safety_config {
	double ratio; /* worse: mean > ratio * baseline (default 1.5; 0 = off) */
	double sustain; /* seconds of worse windows before falling back (30) */
	double hold; /* seconds on SED before retrying marl (60) */
	double probe; /* seconds of SED when the VIP starts (10) */
	double window; /* comparison window in seconds (5) */
	double load_band; /* comparable only when rate <= load_band * baseline rate (1.25) */
	unsigned int min_samples; /* task durations a window needs to count (20) */
};

enum safety_mode {
	SAFETY_PROBE, /* SED, measuring the first baseline */
	SAFETY_LEARNED, /* the agent's weights */
	SAFETY_FALLBACK, /* SED after the learned weights did worse */
};

struct safety {
	struct safety_config cfg;
	enum safety_mode mode;
	double mode_since;
	double win_start, win_sum;
	uint64_t win_samples, win_arrivals;
	bool has_baseline;
	double baseline_mean, baseline_rate;
	double last_mean, last_rate; /* of the last complete window */
	/* the current streak of worse comparable windows: their length and mean durations */
	double worse_time, worse_sum;
	unsigned int worse_windows;
	uint64_t fallbacks;
	char reason[200]; /* why the last switch happened */
};

void safety_config_default(struct safety_config *cfg);
/* start_learned: skip the probe (ratio 0, or a model that is trusted). */
void safety_init(struct safety *s, const struct safety_config *cfg, double now, bool start_learned);
void safety_add_task_duration(struct safety *s, double seconds);
void safety_add_arrival(struct safety *s);
/* Closes windows and switches modes; returns true when the mode changed (reason says why). */
bool safety_tick(struct safety *s, double now);
const char *safety_mode_name(enum safety_mode m);

#endif /* MARLLBD_SAFETY_H */
