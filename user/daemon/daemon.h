/* SPDX-License-Identifier: GPL-2.0 */
/*
 * marllbd's state: one data plane on one interface, its VIPs (by data-plane VIP id) and their
 * backend slots (by data-plane slot k, stable for a backend's lifetime so that its flows stay
 * put across reloads and restarts).
 */
#ifndef MARLLBD_DAEMON_H
#define MARLLBD_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <bpf/libbpf.h>

#include "daemon/config.h"
#include "daemon/daemon_opts.h"
#include "daemon/health.h"
#include "daemon/metrics.h"
#include "daemon/safety.h"
#include "daemon/status.h"
#include "dp/dataplane.h"
#include "learn/agent.h"
#include "obs/features.h"
#include "obs/reward.h"

/* What an epoll event belongs to (epoll_data.ptr points at one of these). */
enum ev_kind {
	EV_SIGNAL,
	EV_STEP_TIMER,
	EV_HEALTH_TIMER,
	EV_SAMPLES,
	EV_METRICS,
	EV_HEALTH_CHECK,
};

struct ev_src {
	enum ev_kind kind;
	void *obj;
};

struct be_state {
	bool used; /* slot holds a backend this daemon manages */
	bool removed; /* gone from the configuration: draining until q is 0 */
	struct backend_conf conf;
	struct health_check hc;
	struct ev_src hc_ev;
	uint8_t dp_state; /* enum mlb_backend_state last written */
	uint32_t q;
	uint64_t samples; /* task-duration samples since start */
	double duration_sum; /* their sum, seconds (Prometheus summary _sum) */
	uint64_t step_samples; /* since the last control step */
	double samples_rate; /* per second, exponential average */
	float mean_s, p90_s; /* of the feature window */
	struct mlb_traffic traffic;
};

struct vip_state {
	struct vip_conf conf;
	uint32_t id;
	uint32_t n_slots; /* data plane n_backends */
	struct be_state be[MLB_MAX_BACKENDS];
	struct features *feat;
	int feat_n; /* servers the features (and the agent) were sized for */
	float *obs;
	struct agent *agent; /* marl only */
	bool agent_stepped; /* agent_step called since the last reset */
	struct safety safety;
	float weights[MLB_MAX_BACKENDS]; /* written last (marl) */
	double reward;
	struct agent_stats astats;
	uint64_t step_arrivals;
	double arrival_rate;
	uint64_t rejected_weights; /* vectors not written: NaN, inf or out of range */
	char model_path[PATH_MAX + 80]; /* where the learned model is saved */
};

struct daemon {
	struct marllbd_opts opts;
	enum reward_kind reward;
	char pin_dir[PATH_MAX]; /* PIN_ROOT/KEY (instance.h) */
	char state_dir[PATH_MAX]; /* STATE_DIR/KEY */
	int ifindex;
	struct mlb_dp *dp;
	struct mlb_dp_opts dp_opts; /* table sizes from the configuration, used to attach */
	bool attached_here;
	const char *attach_mode; /* "native", "generic", ... as found or made */
	struct ring_buffer *rb;
	struct status_maps sm;
	int epfd, sigfd, step_tfd, health_tfd, lock_fd, pin_lock_fd;
	struct metrics_server *metrics;
	struct ev_src ev_signal, ev_step, ev_health, ev_samples, ev_metrics;
	struct vip_state *vips[MLB_MAX_VIPS]; /* by data-plane VIP id */
	struct lb_conf conf; /* the configuration in force */
	struct agent *preloaded; /* --model, checked before anything was touched */
	double last_step, last_reconcile, last_save;
	uint64_t steps;
	uint64_t steps_missed, health_rounds_missed; /* periods the loop was held up past */
	double step_seconds, reconcile_seconds; /* how long the last ones took */
	uint64_t samples_unknown; /* samples for VIPs or slots this daemon does not know */
	uint64_t reclaimed_half_open, reclaimed_established, reclaimed_closed;
	uint64_t q_corrections;
	struct mlb_stats stats;
	bool stopping;
};

double mono_now(void);

/* dp_setup.c: find, adopt or attach the data plane; pin its maps; detach on exit. */
int dp_caps_check(void);
int dp_lock(struct daemon *d);
int dp_open(struct daemon *d);
int dp_attach(struct daemon *d);
int dp_status_open(struct daemon *d);
void dp_rollback(struct daemon *d);
void dp_teardown(struct daemon *d);
/* Logs the flow tables' sizes and memory; warns if conf asks for other sizes. */
void dp_tables_check(struct daemon *d, const struct lb_conf *conf);

/* sync.c: make the data plane match a configuration (start-up and SIGHUP). */
struct vip_plan {
	const struct vip_conf *nc;
	struct mlb_vip_cfg cfg;
	uint32_t id; /* the VIP's id on the data plane, now or once created */
	bool on_dp; /* the data plane has it already */
	uint32_t dp_policy; /* with this policy */
	struct vip_state *fresh; /* new daemon state when there is none for the id */
	uint32_t n_slots; /* after the sync (draining slots included) */
	uint16_t slot[CONF_MAX_BACKENDS]; /* of each backend of nc */
	struct features *feat; /* when the slot count changes */
	float *obs;
	struct agent *agent; /* when a marl VIP needs a new agent */
	const char *agent_from;
	char why[256]; /* what went wrong, when planning failed */
};

struct sync_plan {
	int n_vips;
	struct vip_plan vips[CONF_MAX_VIPS];
	int n_stale; /* VIPs the configuration no longer lists */
	struct mlb_vip_key stale_keys[MLB_MAX_VIPS];
	uint32_t stale_ids[MLB_MAX_VIPS];
};

/* Reads the data plane (none yet: d->dp NULL) and allocates all a configuration needs;
 * writes nothing. On failure returns a negative errno with the reason in err. */
int sync_prepare(struct daemon *d, const struct lb_conf *conf, struct sync_plan **plan, char *err,
		 size_t err_len);
/* Writes the plan into the data plane; fails only on a map update. */
int sync_apply(struct daemon *d, struct sync_plan *plan);
void sync_plan_free(struct sync_plan *plan);
/* Forgets the daemon's state of VIPs that conf does not list (after a failed apply). */
void sync_drop_unlisted(struct daemon *d, const struct lb_conf *conf);
int preload_model(struct daemon *d, const struct lb_conf *conf);
void vip_free(struct vip_state *v);
void backend_apply_state(struct daemon *d, struct vip_state *v, uint32_t k);

/* control.c: samples in, one control step out. */
int on_sample(void *ctx, void *data, size_t size);
void control_step(struct daemon *d, double now);
void save_models(struct daemon *d);
void save_vip_model(struct daemon *d, struct vip_state *v);

/* flows.c: idle flows and open-flow counts, one slice (a few ms) per call; call it every
 * control step. A pass starts every opts.reconcile_interval (last_reconcile) and spreads over
 * as many calls as it needs; reconcile_seconds: its longest slice. */
void flows_reconcile(struct daemon *d);

/* report.c: Prometheus text and the pinned status records. */
void metrics_render(FILE *out, void *ctx);
void status_publish(struct daemon *d);

#endif /* MARLLBD_DAEMON_H */
