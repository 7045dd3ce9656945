// SPDX-License-Identifier: GPL-2.0
/*
 * Team files (little-endian), version 1, with the conventions of marl's model files
 * (model_file.c):
 *
 *   magic "MARLLBTM", u32 version, u32 header bytes
 *   i32 method lbs features mixer_embed
 *   agent config: i32 hidden seq_len burn_in batch_rows max_windows replay_steps replay_rows
 *                 warmup_steps updates_per_step;
 *                 f32 lr gamma tau init_alpha target_entropy grad_clip log_w_range
 *                 log_w_quantum; u8 recurrent reward_scaling mixer_negated, 1 pad; u64 seed
 *   state:  u64 steps updates
 *   u64 encoder floats, actor floats, critic floats, mixer floats (0 but for QMix)
 *   parameters, per network set (independent: every LB's agent; QMix: the shared agent;
 *   central: the central agent): f32 encoder[], encoder target[], actor[], critic0[],
 *       critic0 target[], critic1[], critic1 target[], log alpha;
 *   QMix then: f32 mixer0[], mixer0 target[], mixer1[], mixer1 target[]
 *   u32 crc32 (zlib) of every byte before it
 *
 * No pool size (the set networks serve any); the number of LBs is fixed. Adam moments,
 * replay and random state are not saved. Saving writes a temporary file and renames it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "learn/model_io.h"
#include "learn/team_impl.h"

#define TEAM_MAGIC "MARLLBTM"
#define TEAM_VERSION 1

struct team_header {
	char magic[8];
	uint32_t version;
	uint32_t header_bytes;
	int32_t method, lbs, features, mixer_embed;
	int32_t hidden, seq_len, burn_in, batch_rows, max_windows, replay_steps, replay_rows;
	int32_t warmup_steps, updates_per_step;
	float lr, gamma, tau, init_alpha, target_entropy, grad_clip, log_w_range, log_w_quantum;
	uint8_t recurrent, reward_scaling, mixer_negated, pad;
	uint64_t seed;
	uint64_t steps, updates;
	uint64_t encoder_floats, actor_floats, critic_floats, mixer_floats;
} __attribute__((packed));

/* At most 8 buffers per LB's agent and 4 mixer buffers. */
#define TEAM_MAX_BUFFERS (8 * TEAM_MAX_LBS + 4)

static int net_buffers(const struct team_nets *nt, float **bufs, size_t *counts)
{
	float *b[8] = { nt->enc.params,	      nt->enc.target,	    nt->actor.params,
			nt->critic[0].params, nt->critic[0].target, nt->critic[1].params,
			nt->critic[1].target, nt->log_alpha };
	size_t c[8] = { nt->enc.count,	     nt->enc.count,
			nt->actor.count,     nt->critic[0].count,
			nt->critic[0].count, nt->critic[1].count,
			nt->critic[1].count, 1 };

	memcpy(bufs, b, sizeof(b));
	memcpy(counts, c, sizeof(c));
	return 8;
}

/* Every saved buffer in file order; returns how many. */
static int team_buffers(const struct team *t, float **bufs, size_t *counts)
{
	struct team_nets nt;
	int n = 0;

	if (t->cfg.method == TEAM_INDEPENDENT) {
		for (int i = 0; i < t->n_agents; i++) {
			team_nets_of_agent(&nt, t->agents[i]);
			n += net_buffers(&nt, bufs + n, counts + n);
		}
		return n;
	}
	n = net_buffers(&t->nets, bufs, counts);
	for (int k = 0; t->cfg.method == TEAM_QMIX && k < 2; k++) {
		bufs[n] = t->mix[k].params, counts[n++] = t->mix[k].count;
		bufs[n] = t->mix[k].target, counts[n++] = t->mix[k].count;
	}
	return n;
}

static size_t body_bytes(const size_t *counts, int n)
{
	size_t sum = 0;

	for (int i = 0; i < n; i++)
		sum += counts[i] * sizeof(float);
	return sum;
}

static void header_of(const struct team *t, struct team_header *h)
{
	const struct agent_config *c = &t->cfg.agent;
	struct team_nets nt;

	memset(h, 0, sizeof(*h));
	memcpy(h->magic, TEAM_MAGIC, 8);
	h->version = TEAM_VERSION;
	h->header_bytes = sizeof(*h);
	h->method = t->cfg.method, h->lbs = t->cfg.lbs, h->features = t->F;
	h->mixer_embed = t->cfg.mixer_embed;
	h->hidden = c->hidden, h->seq_len = c->seq_len, h->burn_in = c->burn_in;
	h->batch_rows = c->batch_rows, h->max_windows = c->max_windows;
	h->replay_steps = c->replay_steps, h->replay_rows = c->replay_rows;
	h->warmup_steps = c->warmup_steps, h->updates_per_step = c->updates_per_step;
	h->lr = c->lr, h->gamma = c->gamma, h->tau = c->tau, h->init_alpha = c->init_alpha;
	h->target_entropy = c->target_entropy, h->grad_clip = c->grad_clip;
	h->log_w_range = c->log_w_range, h->log_w_quantum = c->log_w_quantum;
	h->recurrent = c->recurrent, h->reward_scaling = c->reward_scaling;
	h->mixer_negated = t->cfg.mixer_negated, h->seed = c->seed;
	h->steps = t->stats.steps;
	h->updates = t->stats.updates;
	if (t->cfg.method == TEAM_INDEPENDENT)
		team_nets_of_agent(&nt, t->agents[0]);
	else
		nt = t->nets;
	h->encoder_floats = nt.enc.count, h->actor_floats = nt.actor.count;
	h->critic_floats = nt.critic[0].count;
	h->mixer_floats = t->cfg.method == TEAM_QMIX ? t->mix[0].count : 0;
}

int team_save(const struct team *t, const char *path)
{
	float **bufs = malloc(TEAM_MAX_BUFFERS * sizeof(*bufs));
	size_t *counts = malloc(TEAM_MAX_BUFFERS * sizeof(*counts)), len;
	struct team_header h;
	uint8_t *buf = NULL, *p;
	int n, err = -ENOMEM;
	uint32_t crc;

	if (!bufs || !counts)
		goto out;
	header_of(t, &h);
	n = team_buffers(t, bufs, counts);
	len = sizeof(h) + body_bytes(counts, n) + sizeof(crc);
	buf = p = malloc(len);
	if (!buf)
		goto out;
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	for (int i = 0; i < n; i++) {
		memcpy(p, bufs[i], counts[i] * sizeof(float));
		p += counts[i] * sizeof(float);
	}
	crc = crc32(0L, buf, p - buf);
	memcpy(p, &crc, sizeof(crc));
	err = model_write_atomic(path, buf, len);
out:
	free(buf);
	free(bufs);
	free(counts);
	return err;
}

/* The team the header describes, or NULL with err written. */
static struct team *team_of_header(const char *path, const struct team_header *h, int max_servers,
				   char *err, size_t err_len)
{
	struct team_config cfg;
	struct agent_config *c = &cfg.agent;
	struct team *t;
	char why[160];

	if (h->method < 0 || h->method >= TEAM__COUNT || h->lbs < 1 || h->lbs > TEAM_MAX_LBS) {
		snprintf(err, err_len, "%s: corrupt header: method %d, %d LBs", path, h->method,
			 h->lbs);
		return NULL;
	}
	team_config_default(&cfg, (enum team_method)h->method, h->lbs);
	cfg.mixer_embed = h->mixer_embed;
	cfg.mixer_negated = h->mixer_negated;
	if (max_servers > 0)
		c->max_servers = max_servers;
	c->hidden = h->hidden, c->seq_len = h->seq_len, c->burn_in = h->burn_in;
	c->batch_rows = h->batch_rows, c->max_windows = h->max_windows;
	c->replay_steps = h->replay_steps, c->replay_rows = h->replay_rows;
	c->warmup_steps = h->warmup_steps, c->updates_per_step = h->updates_per_step;
	c->lr = h->lr, c->gamma = h->gamma, c->tau = h->tau, c->init_alpha = h->init_alpha;
	c->target_entropy = h->target_entropy, c->grad_clip = h->grad_clip;
	c->log_w_range = h->log_w_range, c->log_w_quantum = h->log_w_quantum;
	c->recurrent = h->recurrent, c->reward_scaling = h->reward_scaling, c->seed = h->seed;
	if (c->replay_rows && c->replay_rows < c->max_servers)
		c->replay_rows = 0; /* sized for a smaller pool than this one: automatic */
	if (team_config_check(&cfg, why, sizeof(why))) {
		snprintf(err, err_len, "%s: %s", path, why);
		return NULL;
	}
	t = team_create(&cfg);
	if (!t)
		snprintf(err, err_len, "%s: cannot create the team: %s", path, strerror(errno));
	return t;
}

static bool all_finite(const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return false;
	return true;
}

struct team *team_load(const char *path, int max_servers, char *err, size_t err_len)
{
	float **bufs = malloc(TEAM_MAX_BUFFERS * sizeof(*bufs));
	size_t *counts = malloc(TEAM_MAX_BUFFERS * sizeof(*counts)), len = 0, need;
	struct team_header h, mine;
	struct team *t = NULL;
	uint8_t *buf = NULL;
	const uint8_t *p;
	char dummy[8];
	uint32_t crc;
	int n;

	if (!err || !err_len)
		err = dummy, err_len = sizeof(dummy);
	if (!bufs || !counts) {
		snprintf(err, err_len, "%s: out of memory", path);
		goto out;
	}
	buf = model_read_all(path, &len, err, err_len);
	if (!buf)
		goto out;
	if (len < 16 || memcmp(buf, TEAM_MAGIC, 8)) {
		snprintf(err, err_len, "%s: not a marllb team file (bad magic)%s", path,
			 len >= 8 && !memcmp(buf, "MARLLBAG", 8) ?
				 ": it is a marl agent model; load it with --policy marl" :
				 "");
		goto out;
	}
	memcpy(&h, buf, 16);
	if (h.version != TEAM_VERSION) {
		snprintf(err, err_len,
			 "%s: team file version %u, this build reads version %u: "
			 "retrain it",
			 path, h.version, TEAM_VERSION);
		goto out;
	}
	if (len < sizeof(h)) {
		snprintf(err, err_len,
			 "%s: truncated: %zu bytes is shorter than the %zu-byte header", path, len,
			 sizeof(h));
		goto out;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.header_bytes != sizeof(h)) {
		snprintf(err, err_len,
			 "%s: %u-byte header, this build's has %zu bytes: the file "
			 "comes from an incompatible development build; retrain it",
			 path, h.header_bytes, sizeof(h));
		goto out;
	}
	if (h.features != AGENT_FEATURES) {
		snprintf(err, err_len,
			 "%s: the team reads %d features per server, this build "
			 "computes %d: retrain it with this build",
			 path, h.features, AGENT_FEATURES);
		goto out;
	}
	t = team_of_header(path, &h, max_servers, err, err_len);
	if (!t)
		goto out;
	header_of(t, &mine);
	if (mine.encoder_floats != h.encoder_floats || mine.actor_floats != h.actor_floats ||
	    mine.critic_floats != h.critic_floats || mine.mixer_floats != h.mixer_floats) {
		snprintf(err, err_len,
			 "%s: corrupt header: parameter counts do not match its "
			 "dimensions",
			 path);
		goto fail;
	}
	n = team_buffers(t, bufs, counts);
	need = sizeof(h) + body_bytes(counts, n) + sizeof(crc);
	if (len != need) {
		snprintf(err, err_len, "%s: %s: %zu bytes, a team of these dimensions has %zu",
			 path, len < need ? "truncated" : "trailing data", len, need);
		goto fail;
	}
	memcpy(&crc, buf + len - sizeof(crc), sizeof(crc));
	if (crc != crc32(0L, buf, len - sizeof(crc))) {
		snprintf(err, err_len, "%s: checksum mismatch: the file is corrupt", path);
		goto fail;
	}
	p = buf + sizeof(h);
	for (int i = 0; i < n; i++) {
		memcpy(bufs[i], p, counts[i] * sizeof(float));
		p += counts[i] * sizeof(float);
		if (!all_finite(bufs[i], counts[i])) {
			snprintf(err, err_len,
				 "%s: holds NaN or infinite values: the team is "
				 "unusable",
				 path);
			goto fail;
		}
	}
	t->stats.steps = h.steps;
	t->stats.updates = h.updates;
	goto out;
fail:
	team_free(t);
	t = NULL;
out:
	free(buf);
	free(bufs);
	free(counts);
	return t;
}
