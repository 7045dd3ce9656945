// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include "daemon/safety.h"

/* Probing gives up waiting for enough samples after this many probe periods. */
#define PROBE_PATIENCE 6

void safety_config_default(struct safety_config *cfg)
{
	*cfg = (struct safety_config){
		.ratio = 1.5,
		.sustain = 30,
		.hold = 60,
		.probe = 10,
		.window = 5,
		.load_band = 1.25,
		.min_samples = 20,
	};
}

const char *safety_mode_name(enum safety_mode m)
{
	switch (m) {
	case SAFETY_PROBE:
		return "probe";
	case SAFETY_LEARNED:
		return "learned";
	case SAFETY_FALLBACK:
		return "fallback";
	}
	return "?";
}

void safety_init(struct safety *s, const struct safety_config *cfg, double now, bool start_learned)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->mode = start_learned || cfg->ratio <= 0 ? SAFETY_LEARNED : SAFETY_PROBE;
	s->mode_since = now;
	s->win_start = now;
}

void safety_add_task_duration(struct safety *s, double seconds)
{
	s->win_sum += seconds;
	s->win_samples++;
}

void safety_add_arrival(struct safety *s)
{
	s->win_arrivals++;
}

static void set_mode(struct safety *s, enum safety_mode m, double now)
{
	s->mode = m;
	s->mode_since = now;
	s->worse_time = 0;
	s->worse_sum = 0;
	s->worse_windows = 0;
}

/* One complete window: update the baseline (SED) or judge the learned weights. */
static void close_window(struct safety *s, double now)
{
	double len = now - s->win_start;
	bool enough = s->win_samples >= s->cfg.min_samples && len > 0;

	if (enough) {
		s->last_mean = s->win_sum / s->win_samples;
		s->last_rate = s->win_arrivals / len;
	}
	if (enough && s->mode != SAFETY_LEARNED) {
		if (!s->has_baseline) {
			s->baseline_mean = s->last_mean;
			s->baseline_rate = s->last_rate;
		} else {
			s->baseline_mean = 0.5 * (s->baseline_mean + s->last_mean);
			s->baseline_rate = 0.5 * (s->baseline_rate + s->last_rate);
		}
		s->has_baseline = true;
	} else if (enough && s->has_baseline) {
		bool comparable = s->last_rate <= s->cfg.load_band * s->baseline_rate;
		bool worse = s->last_mean > s->cfg.ratio * s->baseline_mean;

		/* only comparable windows count, so a streak is made of worse windows alone */
		if (comparable && worse) {
			s->worse_time += len;
			s->worse_sum += s->last_mean;
			s->worse_windows++;
		} else if (comparable) {
			s->worse_time = 0;
			s->worse_sum = 0;
			s->worse_windows = 0;
		}
	}
	s->win_start = now;
	s->win_sum = 0;
	s->win_samples = 0;
	s->win_arrivals = 0;
}

bool safety_tick(struct safety *s, double now)
{
	double in_mode;

	if (s->cfg.ratio <= 0)
		return false;
	if (now - s->win_start >= s->cfg.window)
		close_window(s, now);
	in_mode = now - s->mode_since;

	switch (s->mode) {
	case SAFETY_PROBE:
		if (in_mode >= s->cfg.probe && s->has_baseline) {
			snprintf(s->reason, sizeof(s->reason),
				 "SED baseline measured: mean task duration %.4f s at %.1f new "
				 "flows/s; switching to learned weights",
				 s->baseline_mean, s->baseline_rate);
		} else if (in_mode >= PROBE_PATIENCE * s->cfg.probe) {
			snprintf(
				s->reason, sizeof(s->reason),
				"too little traffic to measure a SED baseline in %.0f s; switching "
				"to learned weights, safety net idle until a baseline exists",
				in_mode);
		} else {
			return false;
		}
		set_mode(s, SAFETY_LEARNED, now);
		return true;
	case SAFETY_LEARNED:
		if (!s->worse_windows || s->worse_time < s->cfg.sustain)
			return false;
		snprintf(s->reason, sizeof(s->reason),
			 "learned weights gave mean task duration %.4f s over %.0f s of windows, "
			 "above %.2f x the SED baseline %.4f s; falling back to SED for %.0f s",
			 s->worse_sum / s->worse_windows, s->worse_time, s->cfg.ratio,
			 s->baseline_mean, s->cfg.hold);
		s->fallbacks++;
		set_mode(s, SAFETY_FALLBACK, now);
		return true;
	case SAFETY_FALLBACK:
		if (in_mode < s->cfg.hold)
			return false;
		snprintf(s->reason, sizeof(s->reason),
			 "retrying learned weights after %.0f s on SED (baseline now %.4f s)",
			 in_mode, s->baseline_mean);
		set_mode(s, SAFETY_LEARNED, now);
		return true;
	}
	return false;
}
