/* SPDX-License-Identifier: GPL-2.0 */
/* marllbd's options: the struct with the defaults and the table --help is printed from. */
#ifndef MARLLBD_DAEMON_OPTS_H
#define MARLLBD_DAEMON_OPTS_H

#include <stdbool.h>

#include "daemon/opts.h"

#ifndef MARLLB_CONFIG_DEFAULT
#define MARLLB_CONFIG_DEFAULT "/etc/marllb/marllbd.conf"
#endif
#ifndef MARLLB_MODEL_DEFAULT
#define MARLLB_MODEL_DEFAULT "/usr/share/marllb/models/marllb.model"
#endif
#define MARLLB_PIN_ROOT_DEFAULT "/sys/fs/bpf/marllb"
#define MARLLB_STATE_DIR_DEFAULT "/var/lib/marllb"
/* The metrics port defaults to this plus IFACE's ifindex: unique among the interfaces of a
 * namespace, so instances (marllbd@eth0, marllbd@eth1) never collide. */
#define METRICS_PORT_BASE 9640
#define METRICS_PORT_AUTO 0xffffffffu

enum attach_mode_opt {
	MODE_NATIVE,
	MODE_GENERIC,
};

struct marllbd_opts {
	const char *iface;
	const char *config;
	const char *pin_root;
	const char *state_dir;
	const char *model;
	const char *default_model;
	int mode; /* enum attach_mode_opt */
	int reward; /* enum reward_kind */
	int reward_units; /* enum reward_units (obs/reward.h) */
	double step;
	bool no_learn;
	bool explore; /* sample actions instead of the policy's mean */
	unsigned int updates_per_step;
	unsigned int warmup_steps;
	double w_min, w_max;
	double save_interval;
	unsigned int seed;
	bool detach_on_exit;
	bool check_config;
	unsigned int metrics_port;
	double health_interval;
	double health_timeout;
	unsigned int health_rise;
	double idle_established;
	double idle_half_open;
	double reconcile_interval;
	unsigned int health_fall;
	double fallback_ratio;
	double fallback_sustain;
	double fallback_hold;
	double fallback_probe;
	int verbose;
};

extern const struct marllbd_opts marllbd_defaults;
extern const struct opt marllbd_options[];

#endif /* MARLLBD_DAEMON_OPTS_H */
