// SPDX-License-Identifier: GPL-2.0
/*
 * A team of learners at the control step (user/learn/team.h): the joint view that
 * centralised training needs is all here, at EV_STEP, with the whole struct sim in reach.
 * Each LB still reduces its own samples to its own observation and reward, as marl's do
 * (marl.c); the team gets them all at once, acts for every LB (each on its own observation,
 * or centrally) and learns when asked.
 */
#include <errno.h>
#include <stdlib.h>

#include "sim/internal.h"

#ifdef SIM_HAVE_LEARN
#include "learn/team.h"

void sim_set_team(struct sim *s, struct team *team, bool learn, bool explore)
{
	s->team = team;
	s->learn = learn;
	s->explore = explore;
}

int team_sim_step(struct sim *s)
{
	const int n = s->cfg.n_servers, M = s->cfg.n_lbs;
	const unsigned int flags = (s->explore ? AGENT_EXPLORE : 0) | (s->learn ? AGENT_RECORD : 0);
	float config_weights[SIM_MAX_SERVERS], rewards[SIM_MAX_LBS] = { 0 };
	float *obs = calloc((size_t)M * n * AGENT_FEATURES, sizeof(float));
	float *weights = malloc((size_t)M * n * sizeof(float));
	int ret = -ENOMEM;

	if (!obs || !weights)
		goto out;
	for (int k = 0; k < n; k++)
		config_weights[k] = (float)s->cfg.weights[k];
	for (int i = 0; i < M; i++) {
		struct lb *lb = &s->lbs[i];

		for (int k = 0; k < n; k++)
			features_set_open_flows(lb->feat, k, lb->q[k]);
		features_policy_obs(lb->feat, s->now, lb->prev_action, config_weights, NULL,
				    obs + (size_t)i * n * AGENT_FEATURES);
		rewards[i] = (float)reward_observe(s->cfg.reward, s->cfg.reward_units, lb->feat,
						   s->now, NULL, lb->load);
		if (s->now > 0) {
			s->stats.reward_sum += rewards[i];
			s->stats.reward_count++;
		}
	}
	ret = team_step(s->team, obs, n, rewards, flags, weights);
	if (ret)
		goto out;
	for (int i = 0; i < M; i++) {
		for (int k = 0; k < n; k++) {
			s->lbs[i].a[k] = weights[(size_t)i * n + k];
			s->lbs[i].prev_action[k] = weights[(size_t)i * n + k];
		}
	}
	if (s->learn)
		team_train(s->team, team_config(s->team)->agent.updates_per_step, NULL);
out:
	free(obs);
	free(weights);
	return ret;
}

#else

void sim_set_team(struct sim *s, struct team *team, bool learn, bool explore)
{
	s->team = team;
}

int team_sim_step(struct sim *s)
{
	return -ENOSYS; /* built without user/learn: there is no team to set */
}

#endif
