// SPDX-License-Identifier: GPL-2.0
/*
 * marl: one independent agent per LB. Every control step each LB reduces its own samples
 * with features_observe() (the code marllbd runs), scores the step with reward_compute()
 * and lets its agent write new weights for the argmin rule.
 */
#include <errno.h>

#include "sim/internal.h"

#ifdef SIM_HAVE_LEARN
#include "learn/agent.h"

bool marl_available(void)
{
	return true;
}

int marl_step(struct sim *s)
{
	int n = s->cfg.n_servers;
	uint8_t active[SIM_MAX_SERVERS];

	for (int k = 0; k < n; k++)
		active[k] = 1;
	for (int i = 0; i < s->cfg.n_lbs; i++) {
		struct lb *lb = &s->lbs[i];
		struct agent *ag = s->agents[i];
		float weights[SIM_MAX_SERVERS];
		double reward;
		int ret;

		for (int k = 0; k < n; k++)
			features_set_open_flows(lb->feat, k, lb->q[k]);
		features_observe(lb->feat, s->now, lb->prev_action, lb->obs);
		reward = reward_observe(s->cfg.reward, s->cfg.reward_units, lb->feat, s->now, active, lb->load);
		ret = agent_step(ag, lb->obs, (float)reward, active, s->explore, weights);
		if (ret)
			return ret;
		for (int k = 0; k < n; k++) {
			lb->a[k] = weights[k];
			lb->prev_action[k] = weights[k];
		}
		if (s->now > 0) {
			s->stats.reward_sum += reward;
			s->stats.reward_count++;
		}
		if (s->learn)
			agent_train(ag, agent_config(ag)->updates_per_step, NULL);
	}
	return 0;
}

#else

bool marl_available(void)
{
	return false;
}

int marl_step(struct sim *s)
{
	return -ENOSYS; /* built without user/learn: sim_run refuses marl before this */
}

#endif
