// SPDX-License-Identifier: GPL-2.0
/*
 * Model files (little-endian, as written by x86-64 and arm64), version 2:
 *
 *   magic "MARLLBAG", u32 version, u32 header bytes
 *   config: i32 features hidden seq_len burn_in batch_rows max_windows replay_steps
 *           replay_rows warmup_steps updates_per_step;
 *           f32 lr gamma tau init_alpha target_entropy grad_clip log_w_range bc_weight;
 *           u8 recurrent reward_scaling, 2 pad; u64 seed
 *   state:  u64 steps updates; f32 log_alpha; u32 pad; u64 rng[4];
 *           f64 reward count, mean of reward^2
 *   u64 encoder floats, actor floats, critic floats
 *   f32 encoder[], encoder target[], actor[], critic0[], critic0 target[], critic1[],
 *       critic1 target[]
 *   u32 crc32 (zlib) of every byte before it
 *
 * No pool size: the set networks serve any. The loader chooses the lanes and the largest
 * pool. Adam moments and replay are not saved: a loaded agent acts at once and, when asked
 * to train, warms its replay up again and restarts Adam from zero moments. Saving writes a
 * temporary file and renames it, so a crash never leaves half a model.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "learn/agent_impl.h"
#include "learn/model_io.h"

#define MODEL_MAGIC "MARLLBAG"
#define MODEL_VERSION 2

struct model_header {
	char magic[8];
	uint32_t version;
	uint32_t header_bytes;
	int32_t features, hidden, seq_len, burn_in, batch_rows, max_windows, replay_steps;
	int32_t replay_rows, warmup_steps, updates_per_step;
	float lr, gamma, tau, init_alpha, target_entropy, grad_clip, log_w_range, bc_weight;
	uint8_t recurrent, reward_scaling, pad[2];
	uint64_t seed;
	uint64_t steps, updates;
	float log_alpha;
	uint32_t pad2;
	uint64_t rng[4];
	double reward_count, reward_sq_mean;
	uint64_t encoder_floats, actor_floats, critic_floats;
} __attribute__((packed));

static size_t model_bytes(uint64_t enc_n, uint64_t actor_n, uint64_t critic_n)
{
	return sizeof(struct model_header) + sizeof(float) * (2 * enc_n + actor_n + 4 * critic_n) +
	       sizeof(uint32_t);
}

static bool all_finite(const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return false;
	return true;
}

/* A checksum only proves the bytes are what was written; this proves they are usable. */
static bool model_values_finite(const struct agent *ag)
{
	if (!isfinite(ag->log_alpha) || !(ag->reward_count >= 0.0) ||
	    !(ag->reward_sq_mean >= 0.0) || isinf(ag->reward_sq_mean))
		return false;
	if (!all_finite(ag->enc.params, ag->enc.count) ||
	    !all_finite(ag->enc.target, ag->enc.count) ||
	    !all_finite(ag->actor.params, ag->actor.count))
		return false;
	for (int k = 0; k < 2; k++)
		if (!all_finite(ag->critic[k].params, ag->critic[k].count) ||
		    !all_finite(ag->critic[k].target, ag->critic[k].count))
			return false;
	return true;
}

/* The buffers in file order. */
static void model_buffers(const struct agent *ag, float *bufs[7], size_t counts[7])
{
	float *b[7] = { ag->enc.params,	      ag->enc.target,	    ag->actor.params,
			ag->critic[0].params, ag->critic[0].target, ag->critic[1].params,
			ag->critic[1].target };
	size_t c[7] = { ag->enc.count,	     ag->enc.count,	  ag->actor.count,
			ag->critic[0].count, ag->critic[0].count, ag->critic[1].count,
			ag->critic[1].count };

	memcpy(bufs, b, sizeof(b));
	memcpy(counts, c, sizeof(c));
}

static void put(uint8_t **p, const void *src, size_t n)
{
	memcpy(*p, src, n);
	*p += n;
}

int agent_save(const struct agent *ag, const char *path)
{
	const struct agent_config *c = &ag->cfg;
	struct model_header h = { .version = MODEL_VERSION };
	size_t len = model_bytes(ag->enc.count, ag->actor.count, ag->critic[0].count);
	float *bufs[7];
	size_t counts[7];
	uint8_t *buf, *p;
	uint32_t crc;
	int err;

	memcpy(h.magic, MODEL_MAGIC, 8);
	h.header_bytes = sizeof(h);
	h.features = ag->dims.features, h.hidden = c->hidden;
	h.seq_len = c->seq_len, h.burn_in = c->burn_in, h.batch_rows = c->batch_rows;
	h.max_windows = c->max_windows, h.replay_steps = c->replay_steps;
	h.replay_rows = c->replay_rows, h.warmup_steps = c->warmup_steps;
	h.updates_per_step = c->updates_per_step;
	h.lr = c->lr, h.gamma = c->gamma, h.tau = c->tau, h.init_alpha = c->init_alpha;
	h.target_entropy = c->target_entropy, h.grad_clip = c->grad_clip;
	h.log_w_range = c->log_w_range, h.bc_weight = c->bc_weight;
	h.recurrent = c->recurrent, h.reward_scaling = c->reward_scaling, h.seed = c->seed;
	h.reward_count = ag->reward_count, h.reward_sq_mean = ag->reward_sq_mean;
	h.steps = ag->stats.steps, h.updates = ag->stats.updates, h.log_alpha = ag->log_alpha;
	memcpy(h.rng, ag->rng.s, sizeof(h.rng));
	h.encoder_floats = ag->enc.count, h.actor_floats = ag->actor.count;
	h.critic_floats = ag->critic[0].count;

	buf = p = malloc(len);
	if (!buf)
		return -ENOMEM;
	put(&p, &h, sizeof(h));
	model_buffers(ag, bufs, counts);
	for (int i = 0; i < 7; i++)
		put(&p, bufs[i], sizeof(float) * counts[i]);
	crc = crc32(0L, buf, p - buf);
	put(&p, &crc, sizeof(crc));

	err = model_write_atomic(path, buf, len);
	free(buf);
	return err;
}

struct agent *agent_load(const char *path, int lanes, int max_servers, char *err, size_t err_len)
{
	struct agent_config cfg;
	struct model_header h;
	struct agent *ag = NULL;
	char why[160], dummy[8];
	size_t len = 0, need, counts[7];
	float *bufs[7];
	const uint8_t *p;
	uint8_t *buf;
	uint32_t crc;

	if (!err || !err_len)
		err = dummy, err_len = sizeof(dummy);
	buf = model_read_all(path, &len, err, err_len);
	if (!buf)
		return NULL;
	if (len < 16 || memcmp(buf, MODEL_MAGIC, 8)) {
		snprintf(err, err_len, "%s: not a marllb model file (bad magic)", path);
		goto out;
	}
	memcpy(&h, buf, 16);
	if (h.version != MODEL_VERSION) {
		snprintf(err, err_len, "%s: model format version %u, this build reads version %u%s",
			 path, h.version, MODEL_VERSION,
			 h.version == 1 ? " (a version 1 model was trained for one pool size; "
					  "the policy now serves any pool: use the shipped "
					  "models/marllb.model or retrain with marllb-sim train)" :
					  ": retrain or convert the model");
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
		/* same version, other layout: a file from a development build */
		snprintf(err, err_len,
			 "%s: %u-byte header, this build's version %u header has %zu bytes: the "
			 "file comes from an incompatible development build; retrain it",
			 path, h.header_bytes, MODEL_VERSION, sizeof(h));
		goto out;
	}
	if (h.features != AGENT_FEATURES) {
		snprintf(err, err_len,
			 "%s: the model reads %d features per server, this build computes %d: "
			 "retrain it with this build",
			 path, h.features, AGENT_FEATURES);
		goto out;
	}
	agent_config_default(&cfg);
	cfg.lanes = lanes > 0 ? lanes : 1;
	if (max_servers > 0)
		cfg.max_servers = max_servers;
	cfg.hidden = h.hidden, cfg.seq_len = h.seq_len, cfg.burn_in = h.burn_in;
	cfg.batch_rows = h.batch_rows, cfg.max_windows = h.max_windows;
	cfg.replay_steps = h.replay_steps, cfg.replay_rows = h.replay_rows;
	cfg.warmup_steps = h.warmup_steps, cfg.updates_per_step = h.updates_per_step;
	cfg.lr = h.lr, cfg.gamma = h.gamma, cfg.tau = h.tau, cfg.init_alpha = h.init_alpha;
	cfg.target_entropy = h.target_entropy, cfg.grad_clip = h.grad_clip;
	cfg.log_w_range = h.log_w_range, cfg.bc_weight = h.bc_weight, cfg.recurrent = h.recurrent;
	cfg.reward_scaling = h.reward_scaling, cfg.seed = h.seed;
	if (cfg.replay_rows && cfg.replay_rows < cfg.max_servers)
		cfg.replay_rows = 0; /* sized for a smaller pool than this one: automatic */
	if (agent_config_check(&cfg, why, sizeof(why))) {
		snprintf(err, err_len, "%s: %s", path, why);
		goto out;
	}
	{
		struct setnet_dims d;

		agent_dims(&cfg, &d);
		if (h.encoder_floats != encoder_param_count(&d) ||
		    h.actor_floats != actor_param_count(&d) ||
		    h.critic_floats != critic_param_count(&d)) {
			snprintf(err, err_len,
				 "%s: corrupt header: parameter counts do not match its dimensions",
				 path);
			goto out;
		}
	}
	need = model_bytes(h.encoder_floats, h.actor_floats, h.critic_floats);
	if (len != need) {
		snprintf(err, err_len, "%s: %s: %zu bytes, a model of these dimensions has %zu",
			 path, len < need ? "truncated" : "trailing data", len, need);
		goto out;
	}
	memcpy(&crc, buf + len - sizeof(crc), sizeof(crc));
	if (crc != crc32(0L, buf, len - sizeof(crc))) {
		snprintf(err, err_len, "%s: checksum mismatch: the file is corrupt", path);
		goto out;
	}

	ag = agent_create(&cfg);
	if (!ag) {
		snprintf(err, err_len, "%s: cannot create the agent: %s", path, strerror(errno));
		goto out;
	}
	p = buf + sizeof(h);
	model_buffers(ag, bufs, counts);
	for (int i = 0; i < 7; i++) {
		memcpy(bufs[i], p, sizeof(float) * counts[i]);
		p += sizeof(float) * counts[i];
	}
	ag->stats.steps = h.steps;
	ag->stats.updates = h.updates;
	ag->log_alpha = h.log_alpha;
	ag->stats.alpha = expf(h.log_alpha);
	memcpy(ag->rng.s, h.rng, sizeof(h.rng));
	ag->reward_count = h.reward_count;
	ag->reward_sq_mean = h.reward_sq_mean;
	if (!model_values_finite(ag)) {
		snprintf(err, err_len, "%s: holds NaN or infinite values: the model is unusable",
			 path);
		agent_free(ag);
		ag = NULL;
	}
out:
	free(buf);
	return ag;
}
