// SPDX-License-Identifier: GPL-2.0
/* The team of learners (team.h): configuration, acting one control step of every LB, training. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/joint_view.h"
#include "learn/team_impl.h"

static const char *const method_names[TEAM__COUNT] = {
	[TEAM_INDEPENDENT] = "independent",
	[TEAM_QMIX] = "qmix",
	[TEAM_CENTRAL] = "central",
};

int team_method_parse(const char *name, enum team_method *method)
{
	for (int m = 0; m < TEAM__COUNT; m++) {
		if (!strcmp(name, method_names[m])) {
			*method = (enum team_method)m;
			return 0;
		}
	}
	return -EINVAL;
}

const char *team_method_name(enum team_method method)
{
	return method >= 0 && method < TEAM__COUNT ? method_names[method] : "?";
}

void team_config_default(struct team_config *cfg, enum team_method method, int lbs)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->method = method;
	cfg->lbs = lbs;
	agent_config_default(&cfg->agent);
	cfg->mixer_embed = 32;
}

int team_config_check(const struct team_config *cfg, char *err, size_t err_len)
{
	struct agent_config ac = cfg->agent;

	if (cfg->method < 0 || cfg->method >= TEAM__COUNT) {
		snprintf(err, err ? err_len : 0, "unknown team method %d", (int)cfg->method);
		return -EINVAL;
	}
	if (cfg->lbs < 1 || cfg->lbs > TEAM_MAX_LBS) {
		snprintf(err, err ? err_len : 0, "lbs %d is not in 1..%d", cfg->lbs, TEAM_MAX_LBS);
		return -EINVAL;
	}
	if (cfg->method == TEAM_QMIX && (cfg->mixer_embed < 1 || cfg->mixer_embed > 1024)) {
		snprintf(err, err ? err_len : 0, "mixer_embed %d is not in 1..1024",
			 cfg->mixer_embed);
		return -EINVAL;
	}
	ac.lanes = cfg->method == TEAM_QMIX ? cfg->lbs : 1;
	return agent_config_check(&ac, err, err_len);
}

const struct team_config *team_config(const struct team *t)
{
	return &t->cfg;
}

void team_nets_of_agent(struct team_nets *nt, struct agent *ag)
{
	nt->dims = ag->dims;
	nt->enc = ag->enc;
	nt->actor = ag->actor;
	nt->ep = ag->ep, nt->eg = ag->eg, nt->et = ag->et;
	nt->ap = ag->ap, nt->ag = ag->ag;
	for (int k = 0; k < 2; k++) {
		nt->critic[k] = ag->critic[k];
		nt->cp[k] = ag->cp[k], nt->cg[k] = ag->cg[k], nt->ct[k] = ag->ct[k];
	}
	nt->log_alpha = &ag->log_alpha;
	nt->log_alpha_m = &ag->log_alpha_m;
	nt->log_alpha_v = &ag->log_alpha_v;
}

/* Takes a pbuf's buffers (params, grads, Adam moments, target when asked) from *base. */
static void pbuf_carve(struct pbuf *b, float **base, size_t count, bool with_target)
{
	b->count = count;
	b->params = *base;
	b->grads = b->params + count;
	b->adam_m = b->grads + count;
	b->adam_v = b->adam_m + count;
	b->target = with_target ? b->adam_v + count : NULL;
	*base += count * (with_target ? 5 : 4);
}

/* The central agent's networks: the set networks on the joint context of every row. */
static int central_alloc(struct team *t)
{
	const struct agent_config *ac = &t->cfg.agent;
	struct team_nets *nt = &t->nets;
	struct setnet_dims d = { JOINT_CONTEXT_WIDTH(t->F), ac->hidden, ac->recurrent };
	size_t ne = encoder_param_count(&d), na = actor_param_count(&d),
	       nc = critic_param_count(&d);
	float *p;

	nt->dims = d;
	p = t->central_buf = calloc(5 * ne + 4 * na + 10 * nc, sizeof(float));
	if (!p)
		return -ENOMEM;
	pbuf_carve(&nt->enc, &p, ne, true);
	pbuf_carve(&nt->actor, &p, na, false);
	pbuf_carve(&nt->critic[0], &p, nc, true);
	pbuf_carve(&nt->critic[1], &p, nc, true);
	encoder_point(&nt->ep, nt->enc.params, &d);
	encoder_point(&nt->eg, nt->enc.grads, &d);
	encoder_point(&nt->et, nt->enc.target, &d);
	actor_point(&nt->ap, nt->actor.params, &d);
	actor_point(&nt->ag, nt->actor.grads, &d);
	encoder_init(nt->enc.params, &d, &t->rng);
	actor_init(nt->actor.params, &d, &t->rng);
	memcpy(nt->enc.target, nt->enc.params, ne * sizeof(float));
	for (int k = 0; k < 2; k++) {
		critic_point(&nt->cp[k], nt->critic[k].params, &d);
		critic_point(&nt->cg[k], nt->critic[k].grads, &d);
		critic_point(&nt->ct[k], nt->critic[k].target, &d);
		critic_init(nt->critic[k].params, &d, &t->rng);
		memcpy(nt->critic[k].target, nt->critic[k].params, nc * sizeof(float));
	}
	t->central_log_alpha[0] = logf(ac->init_alpha);
	nt->log_alpha = &t->central_log_alpha[0];
	nt->log_alpha_m = &t->central_log_alpha[1];
	nt->log_alpha_v = &t->central_log_alpha[2];
	return 0;
}

static int mixers_alloc(struct team *t)
{
	size_t nm;
	float *p;

	t->mdims = (struct mixer_dims){ t->cfg.lbs, JOINT_STATE_WIDTH(t->F), t->cfg.mixer_embed,
					t->cfg.mixer_negated };
	nm = mixer_param_count(&t->mdims);
	p = t->mix_buf = calloc(10 * nm, sizeof(float));
	if (!p)
		return -ENOMEM;
	for (int k = 0; k < 2; k++) {
		pbuf_carve(&t->mix[k], &p, nm, true);
		mixer_point(&t->mp[k], t->mix[k].params, &t->mdims);
		mixer_point(&t->mg[k], t->mix[k].grads, &t->mdims);
		mixer_point(&t->mt[k], t->mix[k].target, &t->mdims);
		mixer_init(t->mix[k].params, &t->mdims, &t->rng);
		memcpy(t->mix[k].target, t->mix[k].params, nm * sizeof(float));
	}
	return 0;
}

/* Acting buffers of the joint methods; the central agent also keeps its recurrent state. */
static int acting_alloc(struct team *t)
{
	const int rows = t->cfg.lbs * t->cfg.agent.max_servers, M = t->cfg.lbs;
	const struct setnet_dims *d = &t->nets.dims;

	t->act_l = calloc(rows, sizeof(float));
	if (!t->act_l)
		return -ENOMEM;
	if (t->cfg.method != TEAM_CENTRAL)
		return 0;
	t->h = calloc((size_t)rows * d->hidden, sizeof(float));
	t->act_xin = calloc((size_t)rows * d->features, sizeof(float));
	t->act_mask = malloc(rows * sizeof(float));
	t->act_a = calloc(rows, sizeof(float));
	t->act_eps = calloc(rows, sizeof(float));
	t->act_seg = calloc(M + 1, sizeof(int));
	if (!t->h || !t->act_xin || !t->act_mask || !t->act_a || !t->act_eps || !t->act_seg ||
	    encoder_acts_alloc(&t->act_enc, d, 1, rows, M) ||
	    actor_acts_alloc(&t->act_actor, d, rows, M))
		return -ENOMEM;
	for (int r = 0; r < rows; r++)
		t->act_mask[r] = 1.0f;
	return 0;
}

struct team *team_create(const struct team_config *cfg)
{
	struct team *t;
	int err = 0;

	if (team_config_check(cfg, NULL, 0)) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	t->cfg = *cfg;
	t->F = AGENT_FEATURES;
	rng_seed(&t->rng, cfg->agent.seed ^ 0x7ea3c0ffeeULL);
	t->n_agents = cfg->method == TEAM_INDEPENDENT ? cfg->lbs : cfg->method == TEAM_QMIX;
	t->agents = calloc(cfg->lbs, sizeof(*t->agents));
	if (!t->agents)
		goto nomem;
	for (int i = 0; i < t->n_agents; i++) {
		struct agent_config ac = cfg->agent;

		ac.lanes = cfg->method == TEAM_QMIX ? cfg->lbs : 1;
		ac.seed = cfg->agent.seed + 7919ULL * i; /* independent learners, own streams */
		t->agents[i] = agent_create(&ac);
		if (!t->agents[i])
			goto nomem;
	}
	if (cfg->method == TEAM_QMIX) {
		team_nets_of_agent(&t->nets, t->agents[0]);
		err = mixers_alloc(t);
	} else if (cfg->method == TEAM_CENTRAL) {
		err = central_alloc(t);
	}
	if (!err && cfg->method != TEAM_INDEPENDENT)
		err = acting_alloc(t);
	if (err)
		goto nomem;
	return t;
nomem:
	team_free(t);
	errno = ENOMEM;
	return NULL;
}

void team_free(struct team *t)
{
	if (!t)
		return;
	for (int i = 0; t->agents && i < t->n_agents; i++)
		agent_free(t->agents[i]);
	free(t->agents);
	free(t->central_buf);
	free(t->mix_buf);
	replay_free(&t->replay);
	free(t->h);
	free(t->act_xin);
	free(t->act_mask);
	free(t->act_a);
	free(t->act_l);
	free(t->act_eps);
	free(t->act_seg);
	encoder_acts_free(&t->act_enc);
	actor_acts_free(&t->act_actor);
	team_batch_free(&t->tb);
	free(t);
}

struct agent *team_agent(struct team *t, int lb)
{
	if (lb < 0 || lb >= t->cfg.lbs)
		return NULL;
	switch (t->cfg.method) {
	case TEAM_INDEPENDENT:
		return t->agents[lb];
	case TEAM_QMIX:
		return t->agents[0];
	default:
		return NULL;
	}
}

void team_reset_state(struct team *t)
{
	for (int i = 0; i < t->n_agents; i++)
		agent_reset_state(t->agents[i]);
	if (t->h)
		memset(t->h, 0,
		       (size_t)t->cfg.lbs * t->cfg.agent.max_servers * t->nets.dims.hidden *
			       sizeof(float));
	t->have_prev = false;
	t->n = 0;
}

/* Joint steps: the M pools of a control step, LB-major; replay_steps of the first recorded
 * step's size, at most 2^20 rows, as marl's replay (agent_reserve_replay). */
static int replay_ready(struct team *t, int n)
{
	const struct agent_config *ac = &t->cfg.agent;
	int64_t step_rows = (int64_t)t->cfg.lbs * ac->max_servers, rows = ac->replay_rows;

	if (t->replay.step_capacity)
		return 0;
	if (!rows)
		rows = (int64_t)ac->replay_steps * t->cfg.lbs * n;
	if (rows > (1 << 20))
		rows = 1 << 20;
	if (rows < step_rows)
		rows = step_rows;
	return replay_init(&t->replay, t->F, ac->replay_steps, rows);
}

/*
 * The log-weights of one pool onto a grid of step q, centred again: near-equal servers are
 * equal and the data plane breaks their ties at random (agent.c does the same for marl).
 */
static void quantise_pool(float *l, int n, float q)
{
	float mean = 0.0f;

	if (q <= 0.0f)
		return;
	for (int k = 0; k < n; k++) {
		l[k] = q * roundf(l[k] / q);
		mean += l[k] / n;
	}
	for (int k = 0; k < n; k++)
		l[k] -= mean;
}

/* The central agent: every LB's weights from the joint observation, into t->act_l. */
static void central_act(struct team *t, const float *obs, int n, bool explore)
{
	const struct team_nets *nt = &t->nets;
	const int M = t->cfg.lbs, R = M * n, H = nt->dims.hidden;
	struct set_shape shape;
	const float *e, *out;

	joint_context(obs, M, n, t->F, t->act_xin);
	for (int i = 0; i <= M; i++)
		t->act_seg[i] = i * n;
	shape = (struct set_shape){ 1, R, M, t->act_seg, t->act_mask };
	e = encoder_forward(&t->act_enc, &nt->ep, &nt->dims, t->act_xin, &shape,
			    nt->dims.recurrent ? t->h : NULL);
	if (nt->dims.recurrent)
		memcpy(t->h, e, (size_t)R * H * sizeof(float));
	out = actor_forward(&t->act_actor, &nt->ap, &nt->dims, e, &shape);
	if (explore)
		rng_normal_fill(&t->rng, t->act_eps, R);
	sac_policy_act(out, explore ? t->act_eps : NULL, &shape, t->cfg.agent.log_w_range, t->act_a,
		       t->act_l, NULL);
	for (int i = 0; i < M; i++)
		quantise_pool(t->act_l + i * n, n, t->cfg.agent.log_w_quantum);
}

static bool all_finite(const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return false;
	return true;
}

void team_comm(const struct team *t, int n, struct team_comm *c)
{
	const uint64_t M = t->cfg.lbs, F = t->F, fl = sizeof(float);

	memset(c, 0, sizeof(*c));
	switch (t->cfg.method) {
	case TEAM_QMIX: /* trajectories up; the shared agent's encoder and actor down */
		c->up_per_step = M * (n * (F + 1) + 1) * fl;
		c->params_per_sync = M * (t->nets.enc.count + t->nets.actor.count) * fl;
		break;
	case TEAM_CENTRAL: /* observations and rewards up, weights down, every step */
		c->up_per_step = M * (n * F + 1) * fl;
		c->down_per_step = M * n * fl;
		break;
	default: /* independent learners: nothing leaves an LB */
		break;
	}
	c->up_total = t->up_total;
	c->down_total = t->down_total;
}

int team_step(struct team *t, const float *obs, int n, const float *rewards, unsigned int flags,
	      float *weights_out)
{
	const int M = t->cfg.lbs, F = t->F;
	const bool record = flags & AGENT_RECORD;
	uint64_t step = REPLAY_NO_STEP;
	struct team_comm c;
	int ret;

	if (n < 1 || n > t->cfg.agent.max_servers || !all_finite(obs, (size_t)M * n * F) ||
	    (record && rewards && !all_finite(rewards, M)))
		return -EINVAL;
	if (t->cfg.method == TEAM_INDEPENDENT) {
		for (int i = 0; i < M; i++) {
			ret = agent_step(t->agents[i], 0, obs + (size_t)i * n * F, n,
					 rewards ? rewards[i] : 0.0f, NULL, flags,
					 weights_out + (size_t)i * n);
			if (ret)
				return ret;
		}
		t->stats.steps++;
		return 0;
	}
	if (n != t->n)
		team_reset_state(t);
	t->n = n;
	if (record) {
		if (replay_ready(t, n))
			return -ENOMEM;
		if (t->have_prev) {
			float joint = 0.0f;

			for (int i = 0; rewards && i < M; i++)
				joint += rewards[i] / M;
			replay_set_reward(&t->replay, t->prev_step, joint);
		}
		step = replay_append(&t->replay, obs, NULL, M * n,
				     t->have_prev ? t->prev_step : REPLAY_NO_STEP);
	}
	if (t->cfg.method == TEAM_QMIX) {
		/* decentralised: every LB acts through its own lane on its own observations */
		for (int i = 0; i < M; i++) {
			float *w = weights_out + (size_t)i * n;

			ret = agent_step(t->agents[0], i, obs + (size_t)i * n * F, n, 0.0f, NULL,
					 flags & AGENT_EXPLORE, w);
			if (ret)
				return ret;
			for (int k = 0; k < n; k++)
				t->act_l[i * n + k] = logf(w[k]);
		}
	} else {
		central_act(t, obs, n, flags & AGENT_EXPLORE);
		for (int r = 0; r < M * n; r++)
			weights_out[r] = expf(t->act_l[r]);
	}
	if (record) {
		memcpy(replay_action(&t->replay, step), t->act_l, (size_t)M * n * sizeof(float));
		t->prev_step = step;
		team_comm(t, n, &c);
		t->up_total += c.up_per_step;
		t->down_total += c.down_per_step;
	}
	t->have_prev = record;
	t->stats.steps++;
	return 0;
}

void team_get_stats(const struct team *t, struct team_stats *stats)
{
	*stats = t->stats;
	if (t->cfg.method != TEAM_INDEPENDENT) {
		stats->alpha = expf(*t->nets.log_alpha);
		return;
	}
	stats->q_loss = stats->pi_loss = stats->alpha = stats->entropy = 0.0f;
	for (int i = 0; i < t->n_agents; i++) {
		struct agent_stats as;

		agent_get_stats(t->agents[i], &as);
		if (!i)
			stats->updates = as.updates;
		stats->q_loss += as.q_loss / t->n_agents;
		stats->pi_loss += as.pi_loss / t->n_agents;
		stats->alpha += as.alpha / t->n_agents;
		stats->entropy += as.entropy / t->n_agents;
	}
}

int team_train(struct team *t, int n, struct team_stats *stats)
{
	const struct agent_config *ac = &t->cfg.agent;
	uint64_t need = ac->warmup_steps > ac->seq_len ? ac->warmup_steps : ac->seq_len + 1;
	int done = 0;

	if (t->cfg.method == TEAM_INDEPENDENT) {
		for (int i = 0; i < t->n_agents; i++) {
			int d = agent_train(t->agents[i], n, NULL);

			if (!i)
				done = d;
		}
	} else {
		while (done < n && replay_size(&t->replay) >= need && team_update(t) == 0)
			done++;
	}
	if (stats)
		team_get_stats(t, stats);
	return done;
}
