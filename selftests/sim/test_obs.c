// SPDX-License-Identifier: GPL-2.0
/* Unit tests of user/obs: the feature reducer, the rewards and the settings sidecar. */
#include "../test.h"
#include "obs/features.h"
#include "obs/reward.h"
#include "obs/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 3

static struct features *make(int window, double gamma_d)
{
	struct features_config cfg;

	features_config_default(&cfg, N);
	cfg.window = window;
	cfg.gamma_d = gamma_d;
	return features_create(&cfg);
}

static void test_defaults(void)
{
	struct features_config cfg;

	features_config_default(&cfg, 7);
	ASSERT_EQ(cfg.n_servers, 7, "n");
	ASSERT_EQ(cfg.window, 64, "window");
	ASSERT_NEAR(cfg.gamma_d, 0.9, 1e-12, "gamma_d");
	ASSERT_NEAR(cfg.max_age, 10, 1e-12, "max_age");
	ASSERT_EQ(features_obs_dim(7), 54, "7N + 5");
}

static void test_bad_config(void)
{
	struct features_config cfg;

	features_config_default(&cfg, 0);
	ASSERT_NULL(features_create(&cfg), "no servers");
	features_config_default(&cfg, 2);
	cfg.gamma_d = 1.5;
	ASSERT_NULL(features_create(&cfg), "gamma above 1");
	cfg.gamma_d = 0.9;
	cfg.window = 0;
	ASSERT_NULL(features_create(&cfg), "empty window");
}

static void test_empty_windows(void)
{
	struct features *f = make(8, 0.5);
	float prev[N] = { 0.5f, 1.0f, 2.0f }, obs[7 * N + 5];
	double l[N];
	uint8_t has[N];

	if (!ASSERT_OK_PTR(f, "create"))
		return;
	memset(obs, 0xff, sizeof(obs));
	features_observe(f, 100.0, prev, obs);
	for (int i = 0; i < 6 * N + 5; i++)
		ASSERT_EQ(obs[i], 0, "every reduction of nothing is 0");
	for (int k = 0; k < N; k++)
		ASSERT_NEAR(obs[6 * N + 5 + k], prev[k], 0, "previous action");
	features_load_signal(f, 100.0, l, has);
	for (int k = 0; k < N; k++) {
		ASSERT_EQ(has[k], 0, "no sample");
		ASSERT_EQ(l[k], 0, "load of nothing");
	}
	features_free(f);
}

/* Samples 1, 2, 3, 4 at t = 0, 1, 2, 3, reduced at t = 3 with gamma_d = 0.5:
 * weights 1/8, 1/4, 1/2, 1; sum f = 1.875, sum f v = 6.125, sum f v^2 = 21.625. */
static void test_reductions(void)
{
	struct features *f = make(8, 0.5);
	float obs[7 * N + 5];
	double l[N];
	uint8_t has[N];

	if (!ASSERT_OK_PTR(f, "create"))
		return;
	for (int i = 0; i < 4; i++)
		features_add_task_duration(f, 1, i, i + 1.0);
	features_set_open_flows(f, 1, 5);
	features_observe(f, 3.0, NULL, obs);
	ASSERT_NEAR(obs[6 + 0], 5, 0, "q");
	ASSERT_NEAR(obs[6 + 1], 2.5, 1e-6, "mean");
	ASSERT_NEAR(obs[6 + 2], 3.7, 1e-6, "p90: 3 + 0.7 (4 - 3)");
	ASSERT_NEAR(obs[6 + 3], sqrt(1.25), 1e-6, "population std");
	ASSERT_NEAR(obs[6 + 4], 6.125 / 1.875, 1e-6, "discounted mean");
	ASSERT_NEAR(obs[6 + 5], 21.625 / 6.125, 1e-6, "weighted discounted mean");
	for (int j = 0; j < 6; j++)
		ASSERT_EQ(obs[j], 0, "server 0 untouched");
	features_load_signal(f, 3.0, l, has);
	ASSERT_NEAR(l[1], 6.125 / 1.875, 1e-9, "load signal = discounted mean");
	ASSERT_EQ(has[1], 1, "has sample");
	ASSERT_EQ(has[0], 0, "server 0 has none");
	features_free(f);
}

/* One sample in a 64-slot window: the discounted mean is the sample, not sample / 64. */
static void test_discount_over_existing_samples_only(void)
{
	struct features *f = make(64, 0.9);
	float obs[7 * N + 5];
	double l[N];

	if (!ASSERT_OK_PTR(f, "create"))
		return;
	features_add_task_duration(f, 2, 0.0, 2.0);
	features_observe(f, 5.0, NULL, obs);
	ASSERT_NEAR(obs[12 + 4], 2.0, 1e-6, "discounted mean of one old sample");
	ASSERT_NEAR(obs[12 + 1], 2.0, 1e-6, "mean");
	ASSERT_NEAR(obs[12 + 2], 2.0, 1e-6, "p90 of one");
	ASSERT_NEAR(obs[12 + 3], 0.0, 1e-6, "std of one");
	features_load_signal(f, 5.0, l, NULL);
	ASSERT_NEAR(l[2], 2.0, 1e-9, "load signal");
	/* a fresh sample outweighs an old one by gamma^-age */
	features_add_task_duration(f, 2, 5.0, 4.0);
	features_load_signal(f, 5.0, l, NULL);
	ASSERT_NEAR(l[2], (2.0 * pow(0.9, 5) + 4.0) / (pow(0.9, 5) + 1), 1e-9, "two samples");
	features_free(f);
}

static void test_max_age_and_ring(void)
{
	struct features *f = make(4, 0.5);
	float obs[7 * N + 5];
	uint8_t has[N];
	double l[N];

	if (!ASSERT_OK_PTR(f, "create"))
		return;
	features_add_task_duration(f, 0, 0.0, 9.0);
	features_load_signal(f, 10.5, l, has);
	ASSERT_EQ(has[0], 0, "older than max_age is gone");
	ASSERT_EQ(l[0], 0, "no load from expired samples");
	/* window 4: six samples keep the last four (3, 4, 5, 6) */
	for (int i = 1; i <= 6; i++)
		features_add_task_duration(f, 0, 20.0, i);
	features_observe(f, 20.0, NULL, obs);
	ASSERT_NEAR(obs[1], 4.5, 1e-6, "mean of the last four");
	features_free(f);
}

static void test_arrivals_and_layout(void)
{
	struct features *f = make(8, 0.5);
	float prev[N] = { 3, 4, 5 }, obs[7 * N + 5];

	if (!ASSERT_OK_PTR(f, "create"))
		return;
	features_add_arrival(f, 10.0);
	features_add_arrival(f, 11.0);
	features_add_arrival(f, 13.0);
	features_observe(f, 13.0, prev, obs);
	ASSERT_NEAR(obs[6 * N + 0], 1.5, 1e-6, "mean inter-arrival of 1 and 2");
	ASSERT_NEAR(obs[6 * N + 2], 0.5, 1e-6, "std");
	ASSERT_NEAR(obs[6 * N + 3], (1 * 0.25 + 2 * 1) / 1.25, 1e-6,
		    "discounted: gap 1 at t 11, gap 2 at t 13");
	ASSERT_NEAR(obs[6 * N + 5 + 2], 5, 0, "previous action last");
	features_free(f);
}

static void test_bad_samples_change_nothing(void)
{
	struct features *f = make(8, 0.5);
	float before[7 * N + 5], after[7 * N + 5];

	if (!ASSERT_OK_PTR(f, "create"))
		return;
	features_add_task_duration(f, 0, 1.0, 1.0);
	features_observe(f, 2.0, NULL, before);
	features_add_task_duration(f, -1, 1.0, 1.0);
	features_add_task_duration(f, N, 1.0, 1.0);
	features_add_task_duration(f, 0, 1.0, NAN);
	features_add_task_duration(f, 0, 1.0, -3.0);
	features_add_flow_completion(f, 0, 1.0, 100.0); /* FCT is kept apart */
	features_set_open_flows(f, 7, 3);
	features_add_arrival(f, NAN);
	features_observe(f, 2.0, NULL, after);
	ASSERT_MEMEQ(before, after, sizeof(before), "observation unchanged");
	features_free(f);
}

static void test_flow_completion_reduce(void)
{
	struct features *f = make(8, 0.5);
	double red[5];

	if (!ASSERT_OK_PTR(f, "create"))
		return;
	features_add_flow_completion(f, 1, 1.0, 2.0);
	features_add_flow_completion(f, 1, 2.0, 4.0);
	features_flow_completion_reduce(f, 1, 2.0, red);
	ASSERT_NEAR(red[0], 3.0, 1e-12, "mean");
	ASSERT_NEAR(red[3], (2 * 0.5 + 4) / 1.5, 1e-12, "discounted mean");
	features_flow_completion_reduce(f, 0, 2.0, red);
	ASSERT_NEAR(red[0], 0, 0, "empty");
	features_free(f);
}

static void test_reward_formulas(void)
{
	const double l[4] = { 1, 2, 3, 6 };
	const uint8_t mask[4] = { 1, 1, 1, 0 };

	/* mean 3, population variance (4 + 1 + 0 + 9) / 4 = 3.5 */
	ASSERT_NEAR(reward_compute(REWARD_VBF, l, NULL, 4), -3.5, 1e-12, "vbf");
	ASSERT_NEAR(reward_compute(REWARD_VBF_LOG, l, NULL, 4), -3.5 - log(3.5 + 1e-6), 1e-12,
		    "vbf-log");
	ASSERT_NEAR(reward_compute(REWARD_PBF, l, NULL, 4), 36.0 / 6, 1e-12, "pbf");
	ASSERT_NEAR(reward_compute(REWARD_JAIN, l, NULL, 4), 144.0 / (4 * 50), 1e-12, "jain");
	ASSERT_NEAR(reward_compute(REWARD_MAKESPAN, l, NULL, 4), -6, 1e-12, "makespan");
	/* masked: 1, 2, 3: variance 2/3, max 3 */
	ASSERT_NEAR(reward_compute(REWARD_VBF, l, mask, 4), -2.0 / 3, 1e-12, "vbf masked");
	ASSERT_NEAR(reward_compute(REWARD_MAKESPAN, l, mask, 4), -3, 1e-12, "makespan masked");
	ASSERT_NEAR(reward_compute(REWARD_PBF, l, mask, 4), 2, 1e-12, "pbf masked");
	ASSERT_NEAR(reward_compute(REWARD_JAIN, l, mask, 4), 36.0 / 42, 1e-12, "jain masked");
	/* equal loads: fair by every measure; vbf-log is finite */
	const double even[3] = { 2, 2, 2 };

	ASSERT_NEAR(reward_compute(REWARD_VBF, even, NULL, 3), 0, 1e-12, "vbf even");
	ASSERT_NEAR(reward_compute(REWARD_JAIN, even, NULL, 3), 1, 1e-12, "jain even");
	ASSERT_NEAR(reward_compute(REWARD_VBF_LOG, even, NULL, 3), -log(1e-6), 1e-6,
		    "vbf-log even");
	const uint8_t none[4] = {};

	ASSERT_EQ(reward_compute(REWARD_VBF_LOG, l, none, 4), 0, "no server: 0");
	ASSERT_EQ(reward_compute(REWARD_JAIN, l, NULL, 0), 0, "n = 0: 0");
}

/* A server without samples counts as idle (l = 0): starving it raises the variance. */
static void test_reward_observe_counts_idle_servers(void)
{
	struct features *f = make(8, 0.5);
	const uint8_t active[N] = { 1, 1, 0 };
	double l[N];

	if (!ASSERT_OK_PTR(f, "create"))
		return;
	features_add_task_duration(f, 0, 1.0, 2.0);
	/* l = (2, 0, 0): mean 2/3, variance 8/9 */
	ASSERT_NEAR(reward_observe(REWARD_VBF, REWARD_UNITS_SECONDS, f, 1.0, NULL, l), -8.0 / 9,
		    1e-12, "vbf");
	ASSERT_NEAR(l[0], 2, 1e-12, "l[0]");
	ASSERT_EQ(l[1], 0, "idle l[1]");
	/* server 2 out of service: l = (2, 0), variance 1 */
	ASSERT_NEAR(reward_observe(REWARD_VBF, REWARD_UNITS_SECONDS, f, 1.0, active, NULL), -1,
		    1e-12, "masked");
	ASSERT_NEAR(reward_observe(REWARD_MAKESPAN, REWARD_UNITS_SECONDS, f, 1.0, NULL, NULL), -2,
		    1e-12, "makespan");
	features_free(f);
}

/* Relative units divide by the mean over the scored servers: the same reward whatever the
 * time scale of the application. */
static void test_reward_observe_relative_units(void)
{
	struct features *f = make(8, 0.5), *g = make(8, 0.5);
	const uint8_t active[N] = { 1, 1, 0 };
	double l[N];

	if (!ASSERT_OK_PTR(f, "create") || !ASSERT_OK_PTR(g, "create"))
		goto out;
	features_add_task_duration(f, 0, 1.0, 2.0);
	features_add_task_duration(g, 0, 1.0, 0.002);
	/* l = (2, 0, 0) / (2/3) = (3, 0, 0): variance 2 */
	ASSERT_NEAR(reward_observe(REWARD_VBF, REWARD_UNITS_RELATIVE, f, 1.0, NULL, l), -2, 1e-12,
		    "vbf");
	ASSERT_NEAR(l[0], 3, 1e-12, "l[0] relative");
	ASSERT_NEAR(reward_observe(REWARD_VBF, REWARD_UNITS_RELATIVE, g, 1.0, NULL, NULL), -2,
		    1e-9, "1000x shorter tasks: same reward");
	/* server 2 out of service: mean over (2, 0) is 1, l = (2, 0), variance 1 */
	ASSERT_NEAR(reward_observe(REWARD_VBF, REWARD_UNITS_RELATIVE, f, 1.0, active, l), -1, 1e-12,
		    "masked");
	/* all idle: left at 0, no division by zero */
	ASSERT_EQ(reward_observe(REWARD_VBF, REWARD_UNITS_RELATIVE, f, 100.0, NULL, l), 0, "idle");
	ASSERT_EQ(reward_units_parse("seconds", &(enum reward_units){ 0 }), 0, "parse");
	ASSERT_EQ(reward_units_parse("ms", &(enum reward_units){ 0 }), -EINVAL, "bad units");
out:
	features_free(f);
	features_free(g);
}

/* MODEL.settings: round trip, differences named, bad files refused, none = -ENOENT. */
static void test_learn_settings(void)
{
	char dir[] = "/tmp/test_obs_settings.XXXXXX", model[256], side[300], err[512];
	struct learn_settings def, got, other;
	FILE *f;

	if (!ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	snprintf(model, sizeof(model), "%s/m.model", dir);
	snprintf(side, sizeof(side), "%s%s", model, LEARN_SETTINGS_SUFFIX);
	learn_settings_default(&def);
	ASSERT_NEAR(def.step, 0.25, 1e-12, "default step");
	ASSERT_NEAR(def.gamma_d, 0.9, 1e-12, "default gamma_d: the features' default");
	ASSERT_EQ(def.reward_units, REWARD_UNITS_RELATIVE, "default units");
	ASSERT_EQ(learn_settings_check(model, &def, err, sizeof(err)), -ENOENT, "no sidecar");

	other = def;
	other.step = 2;
	other.gamma_d = 0.7;
	other.reward_units = REWARD_UNITS_SECONDS;
	ASSERT_OK(learn_settings_save(model, &other), "save");
	ASSERT_OK(learn_settings_load(model, &got, err, sizeof(err)), "load");
	ASSERT_NEAR(got.step, 2, 1e-12, "step round trip");
	ASSERT_NEAR(got.gamma_d, 0.7, 1e-12, "gamma_d round trip");
	ASSERT_EQ(got.reward, REWARD_VBF, "reward round trip");
	ASSERT_EQ(got.reward_units, REWARD_UNITS_SECONDS, "units round trip");
	ASSERT_OK(learn_settings_check(model, &other, err, sizeof(err)), "same settings pass");
	ASSERT_EQ(learn_settings_check(model, &def, err, sizeof(err)), -EINVAL, "mismatch");
	ASSERT_TRUE(strstr(err, "--step 2 (trained) vs 0.25 (running)") &&
			    strstr(err, "--gamma-d 0.7") && strstr(err, "--reward-units seconds"),
		    err);

	f = fopen(side, "w");
	if (ASSERT_OK_PTR(f, "rewrite")) {
		fputs("step 0.25\ngamma_d 0.9\nreward vbf\nreward_units furlongs\n", f);
		fclose(f);
	}
	got = def;
	ASSERT_EQ(learn_settings_load(model, &got, err, sizeof(err)), -EINVAL, "bad units");
	ASSERT_TRUE(strstr(err, "line 4") != NULL, err);
	f = fopen(side, "w");
	if (ASSERT_OK_PTR(f, "rewrite")) {
		fputs("step 0.25\ngamma_d 0.9\n", f);
		fclose(f);
	}
	ASSERT_EQ(learn_settings_load(model, &got, err, sizeof(err)), -EINVAL, "missing keys");
	ASSERT_NEAR(got.step, def.step, 0, "nothing changed on error");
	unlink(side);
	rmdir(dir);
}

static void test_reward_names(void)
{
	const char *names[] = { "vbf", "vbf-log", "pbf", "jain", "makespan" };
	enum reward_kind k;

	for (int i = 0; i < 5; i++) {
		ASSERT_OK(reward_parse(names[i], &k), names[i]);
		ASSERT_STREQ(reward_name(k), names[i], "round trip");
	}
	k = REWARD_PBF;
	ASSERT_EQ(reward_parse("VBF", &k), -EINVAL, "case matters");
	ASSERT_EQ(reward_parse("", &k), -EINVAL, "empty");
	ASSERT_EQ(k, REWARD_PBF, "unchanged on error");
}

/* Four servers; durations scaled by `scale`, queues and weights as given. */
static struct features *policy_world(double scale, const double *q)
{
	struct features_config cfg;
	struct features *f;

	features_config_default(&cfg, 4);
	f = features_create(&cfg);
	if (!f)
		return NULL;
	for (int k = 0; k < 4; k++) {
		features_set_open_flows(f, k, q[k]);
		if (k == 3)
			continue; /* server 3: no samples */
		for (int i = 0; i < 5; i++)
			features_add_task_duration(f, k, 9.0 + 0.2 * i, scale * (k + 1) * (1 + 0.1 * i));
	}
	return f;
}

static void test_policy_obs(void)
{
	const int P = FEATURES_POLICY;
	const double q[4] = { 3, 1, 0, 2 };
	const float prev[4] = { 2, 1, 1, 0.5 }, conf[4] = { 4, 2, 2, 1 };
	struct features *f = policy_world(0.1, q), *g = policy_world(1.0, q);
	float o[4 * P], o10[4 * P];
	uint8_t active[4] = { 1, 1, 1, 1 };
	double sum0 = 0;

	if (!ASSERT_OK_PTR(f, "create") || !ASSERT_OK_PTR(g, "create"))
		goto out;
	features_policy_obs(f, 10.0, prev, conf, active, o);
	features_policy_obs(g, 10.0, prev, conf, active, o10);
	/* durations 10x longer change only the pool's time-scale feature (11) */
	for (int i = 0; i < 4 * P; i++)
		if (i % P != 11 && i % P != 7)
			ASSERT_NEAR(o[i], o10[i], 1e-5, "unit-free");
	ASSERT_NEAR(o10[11] - o[11], log(10.0), 1e-5, "time scale in control steps");
	/* server 1 is twice as slow as server 0 (durations), server 2 three times */
	ASSERT_NEAR(o[P + 0] - o[0], log(2.0), 1e-5, "relative duration");
	ASSERT_NEAR(o[2 * P + 0] - o[0], log(3.0), 1e-5, "relative duration");
	for (int k = 0; k < 3; k++)
		sum0 += o[k * P];
	ASSERT_NEAR(o[1] + o[P + 1] + o[2 * P + 1], 3, 1e-6, "three servers with samples");
	ASSERT_EQ(o[3 * P + 1], 0, "server 3 has none");
	ASSERT_EQ(o[3 * P + 0], 0, "no duration feature without samples");
	ASSERT_NEAR(o[0 * P + 3] - o[3 * P + 3], log(4.0), 1e-5, "previous weights, in logs");
	ASSERT_NEAR(o[0 * P + 4] - o[1 * P + 4], log(2.0), 1e-5, "configured weights, in logs");
	ASSERT_NEAR(o[0 * P + 3] + o[1 * P + 3] + o[2 * P + 3] + o[3 * P + 3], 0, 1e-5,
		    "centred");
	ASSERT_NEAR(o[0 * P + 2] - o[2 * P + 2], log(4.0), 1e-5, "open flows (q + 1)");
	/* Little: (q + 1) / d, server 0: 4 / d0, server 1: 2 / (2 d0) */
	ASSERT_NEAR(o[0 * P + 5] - o[1 * P + 5], log(4.0), 1e-5, "flows per second of delay");
	ASSERT_NEAR(o[12], 0.75, 1e-6, "coverage");
	ASSERT_NEAR(o[13], log(4.0), 1e-6, "pool size");
	ASSERT_NEAR(o[9], log1p(1.5), 1e-6, "load: mean open flows");
	ASSERT_NEAR(o[7], log1p(5.0), 1e-6, "5 new samples");
	features_policy_obs(f, 10.0, prev, conf, active, o);
	ASSERT_EQ(o[7], 0, "nothing new since the last call");
	/* an inactive server is left out of every mean and reads zeros */
	active[1] = 0;
	features_policy_obs(f, 10.0, prev, conf, active, o10);
	for (int j = 0; j < P; j++)
		ASSERT_EQ(o10[P + j], 0, "inactive server: zeros");
	ASSERT_NEAR(o10[2 * P] - o10[0], log(3.0), 1e-5, "others unchanged relative");
	ASSERT_NEAR(o10[13], log(3.0), 1e-6, "three active");
out:
	features_free(f);
	features_free(g);
}

static const struct test_case tests[] = { TEST(defaults),
					  TEST(policy_obs),
					  TEST(bad_config),
					  TEST(empty_windows),
					  TEST(reductions),
					  TEST(discount_over_existing_samples_only),
					  TEST(max_age_and_ring),
					  TEST(arrivals_and_layout),
					  TEST(bad_samples_change_nothing),
					  TEST(flow_completion_reduce),
					  TEST(reward_formulas),
					  TEST(reward_observe_counts_idle_servers),
					  TEST(reward_observe_relative_units),
					  TEST(learn_settings),
					  TEST(reward_names),
					  {} };

int main(int argc, char **argv)
{
	return test_main(argc, argv, tests);
}
