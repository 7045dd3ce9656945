// SPDX-License-Identifier: GPL-2.0
/*
 * Making the data plane match the configuration, at start-up (adopting whatever an earlier
 * run left) and on SIGHUP. Backends are matched by address to the slot they already have, so
 * flows to unchanged backends are not disturbed; a backend gone from the configuration drains
 * (no new flows, its flows finish) and its slot is freed once its open-flow count is 0.
 *
 * All or nothing, in two steps: sync_prepare() reads the data plane, assigns every VIP id and
 * backend slot and allocates every VIP state, feature reducer and agent, writing nothing;
 * only when all of that succeeded does sync_apply() write the maps (and then only system
 * calls on maps that exist can fail: the caller restores a snapshot of them).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "obs/settings.h"

/* Static weights are relative; this many units per 1.0 keeps 1e-3 representable. */
#define STATIC_WEIGHT_UNITS 1000.0

static const char *vip_str(const struct vip_conf *v, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_addr_str(&v->addr, a, sizeof(a));
	snprintf(buf, len, v->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, v->port);
	return buf;
}

static void vip_cfg_make(const struct vip_conf *v, struct mlb_vip_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->family = v->addr.family == AF_INET ? MLB_AF_INET : MLB_AF_INET6;
	memcpy(c->addr, &v->addr.v4, v->addr.family == AF_INET ? 4 : 16);
	c->port = v->port;
	c->policy = (uint32_t)v->policy; /* enum lb_policy follows enum mlb_policy */
	c->fwd.mode = v->forward; /* enum mlb_fwd_mode */
	c->fwd.mtu = v->mtu;
	c->fwd.gue_port = v->gue_port;
	for (int i = 0; i < v->n_outer_src; i++) {
		if (v->outer_src[i].family == AF_INET) {
			memcpy(c->fwd.src4, &v->outer_src[i].v4, 4);
			c->fwd.src4_len = v->outer_src_len[i];
		} else {
			memcpy(c->fwd.src6, &v->outer_src[i].v6, 16);
			c->fwd.src6_len = v->outer_src_len[i];
		}
	}
}

static void backend_cfg_make(const struct backend_conf *b, uint8_t state, struct mlb_backend_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->family = b->addr.family == AF_INET ? MLB_AF_INET : MLB_AF_INET6;
	memcpy(c->addr, &b->addr.v4, b->addr.family == AF_INET ? 4 : 16);
	memcpy(c->mac, b->mac, 6);
	c->state = state;
	c->weight = (uint32_t)fmax(1, lround(b->weight * STATIC_WEIGHT_UNITS));
}

static bool backend_matches(const struct mlb_backend *be, const struct inet_addr *a)
{
	if (be->state == MLB_BACKEND_UNUSED)
		return false;
	if (a->family == AF_INET)
		return be->family == MLB_AF_INET && be->addr[0] == a->v4.s_addr;
	return be->family == MLB_AF_INET6 && !memcmp(be->addr, &a->v6, 16);
}

static uint8_t desired_state(const struct be_state *b)
{
	if (!b->used)
		return MLB_BACKEND_UNUSED;
	if (b->removed || b->conf.admin == ADMIN_DRAINING)
		return MLB_BACKEND_DRAINING;
	return b->hc.up ? MLB_BACKEND_ACTIVE : MLB_BACKEND_DOWN;
}

static const char *dp_state_name(uint8_t s)
{
	static const char *const names[] = { "unused", "active", "draining", "down" };

	return s < 4 ? names[s] : "?";
}

void backend_apply_state(struct daemon *d, struct vip_state *v, uint32_t k)
{
	struct be_state *b = &v->be[k];
	uint8_t want = desired_state(b);
	char vs[64], as[INET6_ADDRSTRLEN];
	int err;

	if (want == b->dp_state)
		return;
	err = mlb_dp_set_backend_state(d->dp, v->id, k, want);
	if (err) {
		pr_warn("marllbd: VIP %s: cannot set backend %s to %s: %s.\n",
			vip_str(&v->conf, vs, sizeof(vs)),
			inet_addr_str(&b->conf.addr, as, sizeof(as)), dp_state_name(want),
			strerror(-err));
		return;
	}
	pr_info("marllbd: VIP %s: backend %s is now %s (was %s).\n",
		vip_str(&v->conf, vs, sizeof(vs)), inet_addr_str(&b->conf.addr, as, sizeof(as)),
		dp_state_name(want), dp_state_name(b->dp_state));
	b->dp_state = want;
}

/* The settings this daemon runs a model with: its step, feature discount and reward. */
static void running_settings(const struct daemon *d, struct learn_settings *s)
{
	struct features_config fc;

	features_config_default(&fc, 1);
	s->step = d->opts.step;
	s->gamma_d = fc.gamma_d;
	s->reward = d->reward;
	s->reward_units = d->opts.reward_units;
}

/*
 * A model trained under other settings (its MODEL.settings sidecar) still loads, since the
 * networks fit, but it sees observations and rewards it was not trained on: say so.
 */
static void check_model_settings(const struct daemon *d, const char *path)
{
	struct learn_settings running;
	char err[256];
	int ret;

	running_settings(d, &running);
	ret = learn_settings_check(path, &running, err, sizeof(err));
	if (ret == -ENOENT)
		pr_info("marllbd: model %s has no %s file; its training settings are unknown.\n",
			path, LEARN_SETTINGS_SUFFIX);
	else if (ret)
		pr_warn("marllbd: model %s: %s; it will act on observations or rewards it has "
			"not learned. Hint: run with the trained settings, or retrain.\n",
			path, err);
}

/* ---- models ---- */

static void model_path_make(struct daemon *d, struct vip_state *v)
{
	char a[INET6_ADDRSTRLEN];

	inet_addr_str(&v->conf.addr, a, sizeof(a));
	for (char *p = a; *p; p++)
		if (*p == ':')
			*p = '_';
	snprintf(v->model_path, sizeof(v->model_path), "%s/vip-%s-%u.model", d->state_dir, a,
		 v->conf.port);
}

/*
 * --model is loaded once before anything is touched, so a bad file stops the start. One model
 * serves every marl VIP, whatever its pool size: each VIP gets its own copy.
 */
int preload_model(struct daemon *d, const struct lb_conf *conf)
{
	bool any_marl = false;
	char err[256];

	if (!d->opts.model)
		return 0;
	for (int i = 0; i < conf->n_vips; i++)
		any_marl |= conf->vips[i].policy == POLICY_MARL;
	d->preloaded = agent_load(d->opts.model, 1, MLB_MAX_BACKENDS, err, sizeof(err));
	if (!d->preloaded) {
		pr_warn("marllbd: --model %s: %s\n", d->opts.model, err);
		return -EINVAL;
	}
	check_model_settings(d, d->opts.model);
	if (!any_marl)
		pr_warn("marllbd: --model %s given but no VIP uses policy marl.\n", d->opts.model);
	return 0;
}

/* Loads a model for a VIP, or NULL after saying why. */
static struct agent *agent_from(struct daemon *d, struct vip_state *v, const char *path,
				const char *what)
{
	char err[256], vs[64];
	struct agent *ag = agent_load(path, 1, MLB_MAX_BACKENDS, err, sizeof(err));

	if (ag)
		check_model_settings(d, path);
	else
		pr_warn("marllbd: VIP %s: %s %s is unusable (%s).\n",
			vip_str(&v->conf, vs, sizeof(vs)), what, path, err);
	return ag;
}

/*
 * The VIP's agent: --model (the preloaded copy for the first VIP), else its own saved state,
 * else the shipped default model, else new parameters. Every one acts on pools of any size up
 * to MLB_MAX_BACKENDS; its replay is sized by the pool it learns on.
 */
static struct agent *agent_for(struct daemon *d, struct vip_state *v, const char **from)
{
	struct agent_config cfg;
	struct agent *ag;

	if (d->preloaded) {
		ag = d->preloaded;
		d->preloaded = NULL;
		*from = d->opts.model;
		return ag;
	}
	if (d->opts.model) {
		ag = agent_from(d, v, d->opts.model, "--model");
		*from = d->opts.model;
		return ag;
	}
	if (access(v->model_path, R_OK) == 0) {
		ag = agent_from(d, v, v->model_path, "saved model");
		if (ag) {
			*from = v->model_path;
			return ag;
		}
	}
	if (d->opts.default_model && access(d->opts.default_model, R_OK) == 0) {
		ag = agent_from(d, v, d->opts.default_model, "default model");
		if (ag) {
			*from = d->opts.default_model;
			return ag;
		}
	}
	agent_config_default(&cfg);
	cfg.max_servers = MLB_MAX_BACKENDS;
	cfg.seed = d->opts.seed + v->id;
	cfg.updates_per_step = d->opts.updates_per_step;
	cfg.warmup_steps = d->opts.warmup_steps;
	*from = "new parameters";
	return agent_create(&cfg);
}

/* Saves a learning VIP's model and its settings sidecar; quiet when not learning. */
void save_vip_model(struct daemon *d, struct vip_state *v)
{
	struct learn_settings running;
	char vs[64];
	int err;

	if (d->opts.no_learn || !v->agent)
		return;
	running_settings(d, &running);
	err = agent_save(v->agent, v->model_path);
	if (!err)
		err = learn_settings_save(v->model_path, &running);
	if (err)
		pr_warn("marllbd: VIP %s: cannot save the model to %s: %s.\n",
			vip_str(&v->conf, vs, sizeof(vs)), v->model_path, strerror(-err));
	else
		pr_info("marllbd: VIP %s: model saved to %s.\n", vip_str(&v->conf, vs, sizeof(vs)),
			v->model_path);
}

static void vip_drop_agent(struct daemon *d, struct vip_state *v)
{
	if (!v->agent)
		return;
	save_vip_model(d, v);
	agent_free(v->agent);
	v->agent = NULL;
}

/* Features and agent sized for the VIP's slots, from the plan (allocated there); rebuilt
 * when the pool grows. */
static void vip_size_learning(struct daemon *d, struct vip_state *v, struct vip_plan *p)
{
	int n = (int)v->n_slots;
	char vs[64];

	if (p->feat) {
		features_free(v->feat);
		free(v->obs);
		v->feat = p->feat;
		v->obs = p->obs;
		p->feat = NULL;
		p->obs = NULL;
		/* the policy serves any pool size: its agent stays, a new episode begins */
		if (v->agent)
			pr_info("marllbd: VIP %s now has %d backend slots (was %d).\n",
				vip_str(&v->conf, vs, sizeof(vs)), n, v->feat_n);
		v->feat_n = n;
	}
	if (v->conf.policy != POLICY_MARL) {
		vip_drop_agent(d, v);
		return;
	}
	if (!p->agent)
		return; /* keeps its agent */
	vip_drop_agent(d, v);
	v->agent = p->agent;
	p->agent = NULL;
	v->agent_stepped = false;
	{
		struct safety_config sc;

		safety_config_default(&sc);
		sc.ratio = d->opts.fallback_ratio;
		sc.sustain = d->opts.fallback_sustain;
		sc.hold = d->opts.fallback_hold;
		sc.probe = d->opts.fallback_probe;
		safety_init(&v->safety, &sc, mono_now(), sc.probe <= 0);
	}
	pr_warn("marllbd: VIP %s: policy marl, %d backends, model from %s, %s, %s, reward %s.\n",
		vip_str(&v->conf, vs, sizeof(vs)), n, p->agent_from,
		d->opts.explore ? "exploring" : "acting on the policy's mean",
		d->opts.no_learn ? "not learning" : "learning", reward_name(d->reward));
}

void vip_free(struct vip_state *v)
{
	if (!v)
		return;
	for (int k = 0; k < MLB_MAX_BACKENDS; k++)
		health_stop(&v->be[k].hc);
	features_free(v->feat);
	agent_free(v->agent);
	free(v->obs);
	free(v);
}

static void vip_remove(struct daemon *d, uint32_t id)
{
	struct vip_state *v = d->vips[id];

	if (!v)
		return;
	vip_drop_agent(d, v);
	vip_free(v);
	d->vips[id] = NULL;
}

/* ---- backends ---- */

/* A slot starts over for a new backend: no check in flight, a fresh health state. */
static void slot_reset(struct vip_state *v, uint32_t k, const struct backend_conf *bc)
{
	struct be_state *b = &v->be[k];

	health_stop(&b->hc);
	memset(b, 0, sizeof(*b));
	b->conf = *bc;
	health_init(&b->hc, &b->conf.addr, v->conf.port);
	b->hc_ev = (struct ev_src){ EV_HEALTH_CHECK, b };
}

/* The data plane's backend entries 0..n-1 of a VIP (all unused for a VIP not there yet). */
static int read_slots(struct daemon *d, const struct vip_plan *p, uint32_t n,
		      struct mlb_backend *cur)
{
	memset(cur, 0, sizeof(*cur) * MLB_MAX_BACKENDS);
	for (uint32_t k = 0; p->on_dp && k < n; k++) {
		int err = mlb_dp_get_backend(d->dp, p->id, k, &cur[k]);

		if (err)
			return err;
	}
	return 0;
}

/*
 * Slots for the backends of the configuration: the slot a backend already has (same
 * address), else a free one, else a new one at the end. Slots of backends that left keep
 * draining until their flows are gone, so a pool can run out of slots.
 */
static int plan_slots(struct daemon *d, const struct vip_state *v, struct vip_plan *p)
{
	struct mlb_backend cur[MLB_MAX_BACKENDS];
	bool claimed[MLB_MAX_BACKENDS] = {};
	uint32_t n = v->n_slots;
	char vs[64];
	int err = read_slots(d, p, n, cur);

	if (err)
		return err;
	for (int j = 0; j < p->nc->n_backends; j++) {
		const struct backend_conf *bc = &p->nc->backends[j];
		uint32_t k = n;

		for (uint32_t i = 0; i < n && k == n; i++)
			if (!claimed[i] && backend_matches(&cur[i], &bc->addr))
				k = i;
		for (uint32_t i = 0; i < n && k == n; i++)
			if (!claimed[i] && cur[i].state == MLB_BACKEND_UNUSED && !v->be[i].used)
				k = i;
		if (k == n) {
			if (n >= MLB_MAX_BACKENDS) {
				snprintf(
					p->why, sizeof(p->why),
					"VIP %s: its %d backends and those still draining need "
					"more than %d slots; wait until the drained ones are freed",
					vip_str(p->nc, vs, sizeof(vs)), p->nc->n_backends,
					MLB_MAX_BACKENDS);
				return -ENOSPC;
			}
			n++;
		}
		claimed[k] = true;
		p->slot[j] = (uint16_t)k;
	}
	p->n_slots = n;
	return 0;
}

static int sync_backends(struct daemon *d, struct vip_state *v, const struct vip_plan *p)
{
	const struct vip_conf *nc = p->nc;
	struct mlb_backend cur[MLB_MAX_BACKENDS];
	bool claimed[MLB_MAX_BACKENDS] = {};
	uint32_t n = p->n_slots;
	char vs[64], as[INET6_ADDRSTRLEN];
	int err = read_slots(d, p, v->n_slots, cur);

	if (err)
		return err;
	for (int j = 0; j < nc->n_backends; j++) {
		const struct backend_conf *bc = &nc->backends[j];
		uint32_t k = p->slot[j];
		struct mlb_backend_cfg cfg;
		struct be_state *b = &v->be[k];

		claimed[k] = true;
		if (!b->used || !inet_addr_equal(&b->conf.addr, &bc->addr)) {
			slot_reset(v, k, bc);
			b->dp_state = cur[k].state;
		}
		b->conf = *bc;
		b->used = true;
		b->removed = false;
		backend_cfg_make(bc, desired_state(b), &cfg);
		if (cur[k].state != cfg.state || memcmp(cur[k].mac, cfg.mac, 6) ||
		    cur[k].weight != cfg.weight || !backend_matches(&cur[k], &bc->addr)) {
			err = mlb_dp_set_backend(d->dp, v->id, k, &cfg);
			if (err) {
				pr_warn("marllbd: VIP %s: cannot set backend %s in slot %u: %s.\n",
					vip_str(&v->conf, vs, sizeof(vs)),
					inet_addr_str(&bc->addr, as, sizeof(as)), k,
					strerror(-err));
				return err;
			}
			if (cur[k].state == MLB_BACKEND_UNUSED)
				pr_info("marllbd: VIP %s: backend %s added in slot %u.\n",
					vip_str(&v->conf, vs, sizeof(vs)),
					inet_addr_str(&bc->addr, as, sizeof(as)), k);
			b->dp_state = cfg.state;
		}
	}
	/* Slots whose backend left the configuration drain. */
	for (uint32_t k = 0; k < n; k++) {
		struct be_state *b = &v->be[k];

		if (claimed[k] || cur[k].state == MLB_BACKEND_UNUSED)
			continue;
		if (!b->used) { /* adopted from an earlier run */
			struct backend_conf bc = { .weight = cur[k].weight / STATIC_WEIGHT_UNITS };

			bc.addr.family = cur[k].family == MLB_AF_INET ? AF_INET : AF_INET6;
			memcpy(&bc.addr.v4, cur[k].addr, cur[k].family == MLB_AF_INET ? 4 : 16);
			memcpy(bc.mac, cur[k].mac, 6);
			slot_reset(v, k, &bc);
			b->dp_state = cur[k].state;
			b->used = true;
		}
		health_stop(&b->hc);
		if (!b->removed)
			pr_info("marllbd: VIP %s: backend %s left the configuration; draining "
				"its flows.\n",
				vip_str(&v->conf, vs, sizeof(vs)),
				inet_addr_str(&b->conf.addr, as, sizeof(as)));
		b->removed = true;
		backend_apply_state(d, v, k);
	}
	v->n_slots = n;
	return 0;
}

/* ---- VIPs ---- */

static bool vip_in_conf(const struct lb_conf *conf, const struct mlb_vip_key *key)
{
	for (int i = 0; i < conf->n_vips; i++) {
		struct mlb_vip_cfg c;
		struct mlb_vip_key k;

		vip_cfg_make(&conf->vips[i], &c);
		if (!mlb_vip_key_make(&k, &c) && !memcmp(&k, key, sizeof(k)))
			return true;
	}
	return false;
}

static void vip_cfg_from_key(const struct mlb_vip_key *key, struct mlb_vip_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->family = key->family;
	memcpy(c->addr, key->addr, key->family == MLB_AF_INET ? 4 : 16);
	c->port = ntohs(key->port);
}

struct vip_scan {
	const struct lb_conf *conf;
	struct sync_plan *plan;
	bool used[MLB_MAX_VIPS]; /* ids of VIPs that stay */
};

static int scan_vip(const struct mlb_vip_key *key, const struct mlb_vip *vip, void *ctx)
{
	struct vip_scan *s = ctx;
	struct sync_plan *p = s->plan;

	if (vip->id >= MLB_MAX_VIPS)
		return 0;
	if (vip_in_conf(s->conf, key)) {
		s->used[vip->id] = true;
	} else if (p->n_stale < MLB_MAX_VIPS) {
		p->stale_keys[p->n_stale] = *key;
		p->stale_ids[p->n_stale++] = vip->id;
	}
	return 0;
}

/*
 * A saved model this run does not start from (unreadable, made for another pool, or
 * --model given) would be overwritten by the next save: it is moved aside, kept, and said.
 */
static void model_move_aside(const struct vip_state *v, const char *from)
{
	char aside[sizeof(v->model_path) + 40], a[sizeof(aside) + 16], b[sizeof(aside) + 16];
	char stamp[32], vs[64];
	time_t now = time(NULL);
	struct tm tm;

	if (!strcmp(from, v->model_path) || access(v->model_path, F_OK))
		return;
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
	snprintf(aside, sizeof(aside), "%s.unused-%s", v->model_path, stamp);
	if (rename(v->model_path, aside)) {
		pr_warn("marllbd: VIP %s: cannot move the unused saved model %s aside: %s; the "
			"next save overwrites it.\n",
			vip_str(&v->conf, vs, sizeof(vs)), v->model_path, strerror(errno));
		return;
	}
	snprintf(a, sizeof(a), "%s%s", v->model_path, LEARN_SETTINGS_SUFFIX);
	snprintf(b, sizeof(b), "%s%s", aside, LEARN_SETTINGS_SUFFIX);
	rename(a, b);
	pr_warn("marllbd: VIP %s: the saved model %s is not used (the model comes from %s); "
		"kept as %s.\n",
		vip_str(&v->conf, vs, sizeof(vs)), v->model_path, from, aside);
}

/* What one VIP needs: its id, its daemon state, its slots, its feature reducer and agent. */
static int plan_vip(struct daemon *d, struct vip_scan *s, struct vip_plan *p)
{
	struct features_config fc;
	struct vip_state *v;
	struct mlb_vip vip = {};
	uint32_t n_dp = 0;
	char vs[64];
	int n, err;

	vip_cfg_make(p->nc, &p->cfg);
	if (d->dp && !mlb_dp_get_vip(d->dp, &p->cfg, &vip)) {
		p->on_dp = true;
		p->id = vip.id;
		p->dp_policy = vip.policy;
		n_dp = vip.n_backends;
		if (p->id >= MLB_MAX_VIPS)
			return -ERANGE;
	} else {
		/* The data plane gives a new VIP the lowest free id. */
		p->id = 0;
		while (p->id < MLB_MAX_VIPS && s->used[p->id])
			p->id++;
		if (p->id == MLB_MAX_VIPS) {
			snprintf(p->why, sizeof(p->why), "no free VIP id (at most %d VIPs)",
				 MLB_MAX_VIPS);
			return -ENOSPC;
		}
		s->used[p->id] = true;
	}
	v = p->on_dp ? d->vips[p->id] : NULL;
	if (!v) {
		v = p->fresh = calloc(1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		v->id = p->id;
		v->n_slots = n_dp;
		v->conf.addr = p->nc->addr;
		v->conf.port = p->nc->port;
		v->conf.policy = p->nc->policy;
		for (int k = 0; k < MLB_MAX_BACKENDS; k++)
			v->be[k].hc.fd = -1; /* no check in flight */
		model_path_make(d, v);
	}
	err = plan_slots(d, v, p);
	if (err)
		return err;

	n = (int)p->n_slots;
	if (v->feat_n != n) {
		features_config_default(&fc, n);
		fc.step = d->opts.step;
		p->feat = features_create(&fc);
		p->obs = calloc((size_t)n * FEATURES_POLICY, sizeof(float));
		if (!p->feat || !p->obs)
			return -ENOMEM;
	}
	/* the policy serves any pool size: a VIP keeps its agent when its pool changes */
	if (p->nc->policy != POLICY_MARL || v->agent)
		return 0;
	p->agent = agent_for(d, v, &p->agent_from);
	/* it writes an average of its policy over seconds (obs/settings.h), as in the simulator */
	if (p->agent)
		agent_set_act_smoothing(p->agent, learn_act_tau_steps(d->opts.step));
	/* learning online stays anchored to the model it started from (agent.h); its replay is
	 * allocated now, with everything else, before the data plane is touched */
	if (p->agent && !d->opts.no_learn &&
	    (agent_set_anchor(p->agent) || agent_reserve_replay(p->agent, n))) {
		agent_free(p->agent);
		p->agent = NULL;
		errno = ENOMEM;
	}
	if (!p->agent) {
		err = -errno ?: -ENOMEM;
		snprintf(p->why, sizeof(p->why),
			 "VIP %s: cannot create an agent for %d backends: %s",
			 vip_str(p->nc, vs, sizeof(vs)), n, strerror(-err));
		return err;
	}
	if (!d->opts.no_learn)
		model_move_aside(v, p->agent_from);
	return 0;
}

void sync_drop_unlisted(struct daemon *d, const struct lb_conf *conf)
{
	for (uint32_t id = 0; id < MLB_MAX_VIPS; id++) {
		struct mlb_vip_cfg c;
		struct mlb_vip_key key;

		if (!d->vips[id])
			continue;
		vip_cfg_make(&d->vips[id]->conf, &c);
		if (mlb_vip_key_make(&key, &c) || !vip_in_conf(conf, &key))
			vip_remove(d, id);
	}
}

void sync_plan_free(struct sync_plan *plan)
{
	if (!plan)
		return;
	for (int i = 0; i < plan->n_vips; i++) {
		struct vip_plan *p = &plan->vips[i];

		vip_free(p->fresh);
		features_free(p->feat);
		free(p->obs);
		agent_free(p->agent);
	}
	free(plan);
}

int sync_prepare(struct daemon *d, const struct lb_conf *conf, struct sync_plan **out, char *err,
		 size_t err_len)
{
	struct sync_plan *plan = calloc(1, sizeof(*plan));
	struct vip_scan scan = { .conf = conf };
	int ret = 0;

	*out = NULL;
	if (!plan) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	scan.plan = plan;
	if (d->dp) {
		long n = mlb_dp_for_each_vip(d->dp, scan_vip, &scan);

		if (n < 0)
			ret = (int)n;
	}
	for (int i = 0; !ret && i < conf->n_vips; i++) {
		struct vip_plan *p = &plan->vips[plan->n_vips++];

		p->nc = &conf->vips[i];
		ret = plan_vip(d, &scan, p);
		if (ret)
			snprintf(err, err_len, "%s", p->why[0] ? p->why : strerror(-ret));
	}
	if (ret) {
		sync_plan_free(plan);
		return ret;
	}
	*out = plan;
	return 0;
}

int sync_apply(struct daemon *d, struct sync_plan *plan)
{
	char vs[64];
	int err;

	/* VIPs on the data plane that the configuration no longer lists go away. */
	for (int i = 0; i < plan->n_stale; i++) {
		struct mlb_vip_cfg c;

		vip_cfg_from_key(&plan->stale_keys[i], &c);
		vip_remove(d, plan->stale_ids[i]);
		err = mlb_dp_del_vip(d->dp, &c);
		if (err) {
			pr_warn("marllbd: cannot remove VIP id %u: %s.\n", plan->stale_ids[i],
				strerror(-err));
			return err;
		}
		pr_warn("marllbd: VIP id %u left the configuration and was removed.\n",
			plan->stale_ids[i]);
	}
	for (int i = 0; i < plan->n_vips; i++) {
		struct vip_plan *p = &plan->vips[i];
		const struct vip_conf *nc = p->nc;
		struct vip_state *v;
		uint32_t id = p->id;

		/* creates it, or sets the policy and forwarding of the one there (flows go on) */
		err = mlb_dp_set_vip(d->dp, &p->cfg, &id);
		if (!err && id != p->id)
			err = -EIO; /* the library gave another id than planned */
		if (err) {
			pr_warn("marllbd: cannot set VIP %s: %s.\n", vip_str(nc, vs, sizeof(vs)),
				strerror(-err));
			return err;
		}
		if (p->on_dp && p->dp_policy != p->cfg.policy)
			pr_warn("marllbd: VIP %s: policy %s -> %s.\n", vip_str(nc, vs, sizeof(vs)),
				mlb_policy_name(p->dp_policy), policy_name(nc->policy));
		if (p->fresh) {
			vip_remove(d, id); /* a stale state under a reused id */
			d->vips[id] = p->fresh;
			p->fresh = NULL;
		}
		v = d->vips[id];
		v->conf.addr = nc->addr;
		v->conf.port = nc->port;
		v->conf.proto = nc->proto;
		v->conf.policy = nc->policy;
		v->conf.line = nc->line;
		v->conf.n_backends = nc->n_backends;
		memcpy(v->conf.backends, nc->backends, sizeof(nc->backends[0]) * nc->n_backends);
		model_path_make(d, v);
		err = sync_backends(d, v, p);
		if (err) {
			pr_warn("marllbd: VIP %s: cannot configure its backends: %s.\n",
				vip_str(nc, vs, sizeof(vs)), strerror(-err));
			return err;
		}
		vip_size_learning(d, v, p);
	}
	return 0;
}
