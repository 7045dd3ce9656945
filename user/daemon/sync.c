// SPDX-License-Identifier: GPL-2.0
/*
 * Making the data plane match the configuration, at start-up (adopting whatever an earlier
 * run left) and on SIGHUP. Backends are matched by address to the slot they already have, so
 * flows to unchanged backends are not disturbed; a backend gone from the configuration drains
 * (no new flows, its flows finish) and its slot is freed once its open-flow count is 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/neigh.h"
#include "obs/settings.h"

#define NEIGH_WAIT_MS 1000
/* Static weights are relative; this many units per 1.0 keeps 1e-3 representable. */
#define STATIC_WEIGHT_UNITS 1000.0

static const char *vip_str(const struct vip_conf *v, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_addr_str(&v->addr, a, sizeof(a));
	snprintf(buf, len, v->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, v->port);
	return buf;
}

int resolve_macs(struct daemon *d, struct lb_conf *conf, char *err, size_t err_len)
{
	for (int i = 0; i < conf->n_vips; i++) {
		struct vip_conf *v = &conf->vips[i];

		for (int j = 0; j < v->n_backends; j++) {
			struct backend_conf *b = &v->backends[j];
			char why[256];
			int ret;

			if (b->has_mac)
				continue;
			ret = neigh_resolve(&b->addr, d->ifindex, NEIGH_WAIT_MS, b->mac, why,
					    sizeof(why));
			if (ret) {
				snprintf(err, err_len, "%s:%d: %s", d->opts.config, b->line, why);
				return ret;
			}
			if (why[0])
				pr_warn("marllbd: %s:%d: %s\n", d->opts.config, b->line, why);
			b->has_mac = true;
		}
	}
	return 0;
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

/* The n of a marl VIP's agent: one weight per backend of the configuration. */
int preload_model(struct daemon *d, const struct lb_conf *conf)
{
	char err[256];
	int n = -1;

	if (!d->opts.model)
		return 0;
	for (int i = 0; i < conf->n_vips; i++) {
		if (conf->vips[i].policy != POLICY_MARL)
			continue;
		if (n >= 0 && conf->vips[i].n_backends != n) {
			pr_warn("marllbd: --model %s: marl VIPs have different backend counts (%d "
				"and %d); one model cannot fit both.\n",
				d->opts.model, n, conf->vips[i].n_backends);
			return -EINVAL;
		}
		n = conf->vips[i].n_backends;
	}
	d->preloaded = agent_load(d->opts.model, n > 0 ? n : 0, n > 0 ? features_obs_dim(n) : 0,
				  err, sizeof(err));
	if (!d->preloaded) {
		pr_warn("marllbd: --model %s: %s\n", d->opts.model, err);
		return -EINVAL;
	}
	check_model_settings(d, d->opts.model);
	if (n < 0)
		pr_warn("marllbd: --model %s given but no VIP uses policy marl.\n", d->opts.model);
	return 0;
}

static struct agent *agent_for(struct daemon *d, struct vip_state *v, int n, const char **from)
{
	char err[256], vs[64];
	struct agent_config cfg;
	struct agent *ag;

	if (d->preloaded && agent_config(d->preloaded)->n_servers == n) {
		/* Each VIP learns on its own: the first takes the loaded agent, later ones a copy
		 * read from the same file. */
		ag = d->preloaded;
		d->preloaded = NULL;
		*from = d->opts.model;
		return ag;
	}
	if (d->opts.model) {
		ag = agent_load(d->opts.model, n, features_obs_dim(n), err, sizeof(err));
		if (ag) {
			*from = d->opts.model;
			return ag;
		}
		pr_warn("marllbd: VIP %s: --model %s does not fit (%s); starting from scratch.\n",
			vip_str(&v->conf, vs, sizeof(vs)), d->opts.model, err);
	} else {
		if (access(v->model_path, R_OK) == 0) {
			ag = agent_load(v->model_path, n, features_obs_dim(n), err, sizeof(err));
			if (ag) {
				check_model_settings(d, v->model_path);
				*from = v->model_path;
				return ag;
			}
			pr_warn("marllbd: VIP %s: saved model %s is unusable (%s); ignoring it.\n",
				vip_str(&v->conf, vs, sizeof(vs)), v->model_path, err);
		}
		if (d->opts.default_model && access(d->opts.default_model, R_OK) == 0) {
			ag = agent_load(d->opts.default_model, n, features_obs_dim(n), err,
					sizeof(err));
			if (ag) {
				check_model_settings(d, d->opts.default_model);
				*from = d->opts.default_model;
				return ag;
			}
			pr_info("marllbd: VIP %s: default model %s does not fit: %s\n",
				vip_str(&v->conf, vs, sizeof(vs)), d->opts.default_model, err);
		}
	}
	agent_config_default(&cfg, n, features_obs_dim(n));
	cfg.seed = d->opts.seed + v->id;
	cfg.updates_per_step = d->opts.updates_per_step;
	cfg.warmup_steps = d->opts.warmup_steps;
	cfg.w_min = (float)d->opts.w_min;
	cfg.w_max = (float)d->opts.w_max;
	*from = "scratch";
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

/* Features and agent sized for the VIP's slots; rebuilt when the pool grows. */
static int vip_size_learning(struct daemon *d, struct vip_state *v)
{
	int n = (int)v->n_slots;
	struct features_config fc;
	const char *from;
	char vs[64];

	if (v->feat_n != n) {
		features_free(v->feat);
		free(v->obs);
		features_config_default(&fc, n);
		v->feat = features_create(&fc);
		v->obs = calloc(features_obs_dim(n), sizeof(float));
		if (!v->feat || !v->obs)
			return -ENOMEM;
		if (v->agent) {
			pr_warn("marllbd: VIP %s grew from %d to %d backend slots; its model no "
				"longer fits and learning starts over.\n",
				vip_str(&v->conf, vs, sizeof(vs)), v->feat_n, n);
			vip_drop_agent(d, v);
		}
		v->feat_n = n;
	}
	if (v->conf.policy != POLICY_MARL) {
		vip_drop_agent(d, v);
		return 0;
	}
	if (v->agent)
		return 0;
	v->agent = agent_for(d, v, n, &from);
	if (!v->agent) {
		pr_warn("marllbd: VIP %s: cannot create an agent for %d backends: %s.\n",
			vip_str(&v->conf, vs, sizeof(vs)), n, strerror(errno));
		return -errno ?: -ENOMEM;
	}
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
	pr_warn("marllbd: VIP %s: policy marl, %d backends, model from %s, %s, reward %s.\n",
		vip_str(&v->conf, vs, sizeof(vs)), n, from,
		d->opts.no_learn ? "not learning" : "learning", reward_name(d->reward));
	return 0;
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

static int sync_backends(struct daemon *d, struct vip_state *v, const struct vip_conf *nc)
{
	struct mlb_backend cur[MLB_MAX_BACKENDS];
	bool claimed[MLB_MAX_BACKENDS] = {};
	uint32_t n = v->n_slots;
	char vs[64], as[INET6_ADDRSTRLEN];
	int err;

	for (uint32_t k = 0; k < n; k++) {
		err = mlb_dp_get_backend(d->dp, v->id, k, &cur[k]);
		if (err)
			return err;
	}
	for (int j = 0; j < nc->n_backends; j++) {
		const struct backend_conf *bc = &nc->backends[j];
		struct mlb_backend_cfg cfg;
		struct be_state *b;
		uint32_t k = n;
		bool fresh;

		for (uint32_t i = 0; i < n && k == n; i++)
			if (!claimed[i] && backend_matches(&cur[i], &bc->addr))
				k = i;
		for (uint32_t i = 0; i < n && k == n; i++)
			if (!claimed[i] && cur[i].state == MLB_BACKEND_UNUSED && !v->be[i].used)
				k = i;
		if (k == n) {
			if (n >= MLB_MAX_BACKENDS)
				return -ENOSPC;
			memset(&cur[n], 0, sizeof(cur[n]));
			n++;
		}
		claimed[k] = true;
		b = &v->be[k];
		fresh = !b->used || !inet_addr_equal(&b->conf.addr, &bc->addr);
		if (fresh) {
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

struct stale_vips {
	const struct lb_conf *conf;
	int n;
	struct mlb_vip_key keys[MLB_MAX_VIPS];
	uint32_t ids[MLB_MAX_VIPS];
};

static int collect_stale(const struct mlb_vip_key *key, const struct mlb_vip *vip, void *ctx)
{
	struct stale_vips *s = ctx;

	if (!vip_in_conf(s->conf, key) && s->n < MLB_MAX_VIPS) {
		s->keys[s->n] = *key;
		s->ids[s->n++] = vip->id;
	}
	return 0;
}

/* VIPs on the data plane that the configuration no longer lists go away. */
static int remove_stale_vips(struct daemon *d, const struct lb_conf *conf)
{
	struct stale_vips s = { .conf = conf };
	long n = mlb_dp_for_each_vip(d->dp, collect_stale, &s);

	if (n < 0)
		return (int)n;
	for (int i = 0; i < s.n; i++) {
		struct mlb_vip_cfg c;
		int err;

		vip_cfg_from_key(&s.keys[i], &c);
		if (s.ids[i] < MLB_MAX_VIPS)
			vip_remove(d, s.ids[i]);
		err = mlb_dp_del_vip(d->dp, &c);
		if (err)
			return err;
		pr_warn("marllbd: VIP id %u left the configuration and was removed.\n", s.ids[i]);
	}
	return 0;
}

int sync_config(struct daemon *d, const struct lb_conf *conf)
{
	char vs[64];
	int err;

	err = remove_stale_vips(d, conf);
	if (err) {
		pr_warn("marllbd: cannot remove old VIPs: %s.\n", strerror(-err));
		return err;
	}
	for (int i = 0; i < conf->n_vips; i++) {
		const struct vip_conf *nc = &conf->vips[i];
		struct mlb_vip_cfg c;
		struct mlb_vip vip;
		struct vip_state *v;
		uint32_t id;

		vip_cfg_make(nc, &c);
		/* creates it, or sets the policy and forwarding of the one there (flows go on) */
		err = mlb_dp_set_vip(d->dp, &c, &id);
		if (err) {
			pr_warn("marllbd: cannot set VIP %s: %s.\n", vip_str(nc, vs, sizeof(vs)),
				strerror(-err));
			return err;
		}
		if (mlb_dp_get_vip(d->dp, &c, &vip))
			vip.n_backends = 0;
		if (id >= MLB_MAX_VIPS)
			return -ERANGE;
		v = d->vips[id];
		if (!v) {
			v = calloc(1, sizeof(*v));
			if (!v)
				return -ENOMEM;
			v->id = id;
			v->n_slots = vip.n_backends;
			for (int k = 0; k < MLB_MAX_BACKENDS; k++)
				v->be[k].hc.fd = -1; /* no check in flight */
			d->vips[id] = v;
		} else if (v->conf.policy != nc->policy) {
			pr_warn("marllbd: VIP %s: policy %s -> %s.\n", vip_str(nc, vs, sizeof(vs)),
				policy_name(v->conf.policy), policy_name(nc->policy));
		}
		v->conf.addr = nc->addr;
		v->conf.port = nc->port;
		v->conf.proto = nc->proto;
		v->conf.policy = nc->policy;
		v->conf.line = nc->line;
		v->conf.n_backends = nc->n_backends;
		memcpy(v->conf.backends, nc->backends, sizeof(nc->backends[0]) * nc->n_backends);
		model_path_make(d, v);
		err = sync_backends(d, v, nc);
		if (err) {
			pr_warn("marllbd: VIP %s: cannot configure its backends: %s.\n",
				vip_str(nc, vs, sizeof(vs)), strerror(-err));
			return err;
		}
		err = vip_size_learning(d, v);
		if (err)
			return err;
	}
	return 0;
}
