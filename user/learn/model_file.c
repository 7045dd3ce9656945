// SPDX-License-Identifier: GPL-2.0
/*
 * Model files (little-endian, as written by x86-64 and arm64):
 *
 *   magic "MARLLBAG", u32 version, u32 header bytes
 *   config: i32 n_servers obs_dim hidden seq_len burn_in batch replay_capacity
 *           warmup_steps updates_per_step; f32 lr gamma tau init_alpha grad_clip w_min w_max;
 *           u8 recurrent layer_norm reward_scaling pad; u64 seed
 *   state:  u64 steps updates; f32 log_alpha; u32 pad; u64 rng[4];
 *           f64 reward count, mean of reward^2
 *   u64 actor floats, u64 critic floats
 *   normaliser: f64 count, f64 mean[obs_dim], f64 m2[obs_dim]
 *   f32 actor[], critic0[], critic0 target[], critic1[], critic1 target[]
 *   u32 crc32 (zlib) of every byte before it
 *
 * Adam moments and replay are not saved: a loaded agent acts at once and, when asked to
 * train, warms its replay up again and restarts Adam from zero moments.
 * Saving writes a temporary file and renames it, so a crash never leaves half a model.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "learn/agent_impl.h"

#define MODEL_MAGIC "MARLLBAG"
#define MODEL_VERSION 1
#define MODEL_MAX_BYTES (1ULL << 32)

struct model_header {
	char magic[8];
	uint32_t version;
	uint32_t header_bytes;
	int32_t n_servers, obs_dim, hidden, seq_len, burn_in, batch, replay_capacity;
	int32_t warmup_steps, updates_per_step;
	float lr, gamma, tau, init_alpha, grad_clip, w_min, w_max;
	uint8_t recurrent, layer_norm, reward_scaling, pad;
	uint64_t seed;
	uint64_t steps, updates;
	float log_alpha;
	uint32_t pad2;
	uint64_t rng[4];
	double reward_count, reward_sq_mean;
	uint64_t actor_floats, critic_floats;
} __attribute__((packed));

static size_t model_bytes(const struct agent_config *cfg, uint64_t actor_n, uint64_t critic_n)
{
	return sizeof(struct model_header) + sizeof(double) * (1 + 2 * (size_t)cfg->obs_dim) +
	       sizeof(float) * (actor_n + 4 * critic_n) + sizeof(uint32_t);
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
	if (!isfinite(ag->log_alpha) || !(ag->norm.count >= 0.0) || !(ag->reward_count >= 0.0) ||
	    !(ag->reward_sq_mean >= 0.0) || isinf(ag->reward_sq_mean))
		return false;
	for (int i = 0; i < ag->cfg.obs_dim; i++)
		if (!isfinite(ag->norm.mean[i]) || !(ag->norm.m2[i] >= 0.0) ||
		    isinf(ag->norm.m2[i]))
			return false;
	if (!all_finite(ag->actor.params, ag->actor.count))
		return false;
	for (int k = 0; k < 2; k++)
		if (!all_finite(ag->critic[k].params, ag->critic[k].count) ||
		    !all_finite(ag->critic[k].target, ag->critic[k].count))
			return false;
	return true;
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
	size_t len = model_bytes(c, ag->actor.count, ag->critic[0].count), tmp_len;
	uint8_t *buf, *p;
	char *tmp = NULL;
	uint32_t crc;
	int err = 0;
	FILE *f;

	memcpy(h.magic, MODEL_MAGIC, 8);
	h.header_bytes = sizeof(h);
	h.n_servers = c->n_servers, h.obs_dim = c->obs_dim, h.hidden = c->hidden;
	h.seq_len = c->seq_len, h.burn_in = c->burn_in, h.batch = c->batch;
	h.replay_capacity = c->replay_capacity, h.warmup_steps = c->warmup_steps;
	h.updates_per_step = c->updates_per_step;
	h.lr = c->lr, h.gamma = c->gamma, h.tau = c->tau, h.init_alpha = c->init_alpha;
	h.grad_clip = c->grad_clip, h.w_min = c->w_min, h.w_max = c->w_max;
	h.recurrent = c->recurrent, h.layer_norm = c->layer_norm, h.seed = c->seed;
	h.reward_scaling = c->reward_scaling;
	h.reward_count = ag->reward_count, h.reward_sq_mean = ag->reward_sq_mean;
	h.steps = ag->stats.steps, h.updates = ag->stats.updates, h.log_alpha = ag->log_alpha;
	memcpy(h.rng, ag->rng.s, sizeof(h.rng));
	h.actor_floats = ag->actor.count, h.critic_floats = ag->critic[0].count;

	buf = p = malloc(len);
	if (!buf)
		return -ENOMEM;
	put(&p, &h, sizeof(h));
	put(&p, &ag->norm.count, sizeof(double));
	put(&p, ag->norm.mean, sizeof(double) * c->obs_dim);
	put(&p, ag->norm.m2, sizeof(double) * c->obs_dim);
	put(&p, ag->actor.params, sizeof(float) * ag->actor.count);
	for (int k = 0; k < 2; k++) {
		put(&p, ag->critic[k].params, sizeof(float) * ag->critic[k].count);
		put(&p, ag->critic[k].target, sizeof(float) * ag->critic[k].count);
	}
	crc = crc32(0L, buf, p - buf);
	put(&p, &crc, sizeof(crc));

	tmp_len = strlen(path) + 16;
	tmp = malloc(tmp_len);
	if (!tmp) {
		err = -ENOMEM;
		goto out;
	}
	snprintf(tmp, tmp_len, "%s.tmp%d", path, (int)getpid());
	f = fopen(tmp, "wb");
	if (!f) {
		err = -errno;
		goto out;
	}
	if (fwrite(buf, 1, len, f) != len || fflush(f) || fsync(fileno(f)))
		err = errno ? -errno : -EIO;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	free(tmp);
	free(buf);
	return err;
}

static uint8_t *read_file(const char *path, size_t *len, char *err, size_t err_len)
{
	struct stat st;
	uint8_t *buf;
	FILE *f = fopen(path, "rb");

	if (!f) {
		snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > MODEL_MAX_BYTES) {
		snprintf(err, err_len, "%s: not a regular file of at most 4 GiB", path);
		fclose(f);
		return NULL;
	}
	*len = st.st_size;
	buf = malloc(*len ? *len : 1);
	if (!buf || fread(buf, 1, *len, f) != *len) {
		snprintf(err, err_len, "%s: cannot read %zu bytes", path, *len);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	return buf;
}

struct agent *agent_load(const char *path, int expect_n_servers, int expect_obs_dim, char *err,
			 size_t err_len)
{
	struct agent_config cfg;
	struct model_header h;
	struct agent *ag = NULL;
	char why[160], dummy[8];
	size_t len = 0, need;
	const uint8_t *p;
	uint8_t *buf;
	uint32_t crc;

	if (!err || !err_len)
		err = dummy, err_len = sizeof(dummy);
	buf = read_file(path, &len, err, err_len);
	if (!buf)
		return NULL;
	if (len < sizeof(h)) {
		snprintf(err, err_len,
			 "%s: truncated: %zu bytes is shorter than the %zu-byte header", path, len,
			 sizeof(h));
		goto out;
	}
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, MODEL_MAGIC, 8)) {
		snprintf(err, err_len, "%s: not a marllb model file (bad magic)", path);
		goto out;
	}
	if (h.version != MODEL_VERSION) {
		snprintf(err, err_len,
			 "%s: model format version %u, this build reads version %u: retrain or "
			 "convert the model",
			 path, h.version, MODEL_VERSION);
		goto out;
	}
	if (h.header_bytes != sizeof(h)) {
		/* same version, other layout: a file from a development build */
		snprintf(err, err_len,
			 "%s: %u-byte header, this build's version %u header has %zu bytes: the "
			 "file comes from an incompatible development build; retrain it",
			 path, h.header_bytes, MODEL_VERSION, sizeof(h));
		goto out;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.n_servers = h.n_servers, cfg.obs_dim = h.obs_dim, cfg.hidden = h.hidden;
	cfg.seq_len = h.seq_len, cfg.burn_in = h.burn_in, cfg.batch = h.batch;
	cfg.replay_capacity = h.replay_capacity, cfg.warmup_steps = h.warmup_steps;
	cfg.updates_per_step = h.updates_per_step, cfg.lr = h.lr, cfg.gamma = h.gamma;
	cfg.tau = h.tau, cfg.init_alpha = h.init_alpha, cfg.grad_clip = h.grad_clip;
	cfg.w_min = h.w_min, cfg.w_max = h.w_max, cfg.recurrent = h.recurrent;
	cfg.layer_norm = h.layer_norm, cfg.seed = h.seed, cfg.reward_scaling = h.reward_scaling;
	if (agent_config_check(&cfg, why, sizeof(why))) {
		snprintf(err, err_len, "%s: corrupt header: %s", path, why);
		goto out;
	}
	{
		struct net_dims ad, cd;

		agent_net_dims(&cfg, &ad, &cd);
		if (h.actor_floats != net_param_count(&ad) ||
		    h.critic_floats != net_param_count(&cd)) {
			snprintf(err, err_len,
				 "%s: corrupt header: parameter counts do not match its dimensions",
				 path);
			goto out;
		}
	}
	need = model_bytes(&cfg, h.actor_floats, h.critic_floats);
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
	if ((expect_n_servers && expect_n_servers != cfg.n_servers) ||
	    (expect_obs_dim && expect_obs_dim != cfg.obs_dim)) {
		snprintf(err, err_len,
			 "%s: model is for %d servers and %d observation features, expected %d and "
			 "%d",
			 path, cfg.n_servers, cfg.obs_dim,
			 expect_n_servers ? expect_n_servers : cfg.n_servers,
			 expect_obs_dim ? expect_obs_dim : cfg.obs_dim);
		goto out;
	}

	ag = agent_create(&cfg);
	if (!ag) {
		snprintf(err, err_len, "%s: cannot create the agent: %s", path, strerror(errno));
		goto out;
	}
	p = buf + sizeof(h);
	memcpy(&ag->norm.count, p, sizeof(double)), p += sizeof(double);
	memcpy(ag->norm.mean, p, sizeof(double) * cfg.obs_dim), p += sizeof(double) * cfg.obs_dim;
	memcpy(ag->norm.m2, p, sizeof(double) * cfg.obs_dim), p += sizeof(double) * cfg.obs_dim;
	memcpy(ag->actor.params, p, sizeof(float) * ag->actor.count);
	p += sizeof(float) * ag->actor.count;
	for (int k = 0; k < 2; k++) {
		memcpy(ag->critic[k].params, p, sizeof(float) * ag->critic[k].count);
		p += sizeof(float) * ag->critic[k].count;
		memcpy(ag->critic[k].target, p, sizeof(float) * ag->critic[k].count);
		p += sizeof(float) * ag->critic[k].count;
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
