// SPDX-License-Identifier: GPL-2.0
/*
 * marl: every LB acts through a learning agent. Every control step each LB reduces its own
 * samples with features_policy_obs() (the code marllbd runs), scores the step with
 * reward_observe() and lets its agent write new weights for the argmin rule.
 *
 * LBs given the same agent act through its lanes in LB order (the first such LB in lane 0,
 * the next in lane 1, ...): that is how one learner trains every LB of a world with one set
 * of parameters. It then trains once per control step, not once per LB.
 */
#include <errno.h>
#include <math.h>

#include "sim/internal.h"

void sim_set_teacher(struct sim *s, double beta)
{
	s->teacher = true;
	s->teacher_beta = beta;
}

/*
 * What a teacher knowing the servers would write: capacity^beta, in logs, where a server's
 * capacity is the throughput of its bottleneck for this mix, min(CPU work / s / cpu_mean, IO
 * work / s / io_mean), at its speed now.
 */
static void teacher_log_weights(const struct sim *s, float *out)
{
	for (int k = 0; k < s->cfg.n_servers; k++) {
		const struct server *sv = &s->servers[k];
		double cap = sv->workers * sv->speed / s->cfg.cpu_mean;

		if (s->cfg.io_mean > 0)
			cap = fmin(cap, sv->io.speed / s->cfg.io_mean);
		out[k] = (float)(s->teacher_beta * log(cap));
	}
}

/* The teacher acting itself (run --teacher): every LB writes capacity(t)^beta. */
static int teacher_acts(struct sim *s)
{
	float teacher[SIM_MAX_SERVERS];

	if (!s->teacher)
		return -EINVAL;
	teacher_log_weights(s, teacher);
	for (int i = 0; i < s->cfg.n_lbs; i++)
		for (int k = 0; k < s->cfg.n_servers; k++)
			s->lbs[i].a[k] = exp(teacher[k]);
	return 0;
}

#ifdef SIM_HAVE_LEARN
#include "learn/agent.h"
#include "obs/settings.h"

bool marl_available(void)
{
	return true;
}

/* LB i's lane in its agent: how many LBs before it share that agent. */
static int lane_of(const struct sim *s, int i)
{
	int lane = 0;

	for (int j = 0; j < i; j++)
		lane += s->agents[j] == s->agents[i];
	return lane;
}

int marl_step(struct sim *s)
{
	const int n = s->cfg.n_servers;
	const unsigned int flags = (s->explore ? AGENT_EXPLORE : 0) | (s->learn ? AGENT_RECORD : 0);
	float config_weights[SIM_MAX_SERVERS], teacher[SIM_MAX_SERVERS];

	for (int k = 0; k < n; k++)
		config_weights[k] = (float)s->cfg.weights[k];
	if (s->teacher)
		teacher_log_weights(s, teacher);
	if (!s->agents)
		return teacher_acts(s);
	for (int i = 0; i < s->cfg.n_lbs && !s->agents_ready; i++)
		if (agent_set_act_smoothing(s->agents[i], learn_act_tau_steps(s->cfg.step)))
			return -EINVAL;
	s->agents_ready = true;
	for (int i = 0; i < s->cfg.n_lbs; i++) {
		struct lb *lb = &s->lbs[i];
		struct agent *ag = s->agents[i];
		int lane = lane_of(s, i), ret;
		float weights[SIM_MAX_SERVERS];
		double reward;

		for (int k = 0; k < n; k++)
			features_set_open_flows(lb->feat, k, lb->q[k]);
		features_policy_obs(lb->feat, s->now, lb->prev_action, config_weights, NULL,
				    lb->obs);
		reward = reward_observe(s->cfg.reward, s->cfg.reward_units, lb->feat, s->now, NULL,
					lb->load);
		ret = agent_step(ag, lane, lb->obs, n, (float)reward, NULL, flags, weights);
		if (ret)
			return ret;
		if (s->learn && s->teacher)
			agent_set_teacher(ag, lane, teacher);
		for (int k = 0; k < n; k++) {
			lb->a[k] = weights[k];
			lb->prev_action[k] = weights[k];
		}
		if (s->now > 0) {
			s->stats.reward_sum += reward;
			s->stats.reward_count++;
		}
		if (s->learn && lane == 0)
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
	/* built without user/learn: sim_run refuses marl before this; the teacher still acts */
	return s->agents ? -ENOSYS : teacher_acts(s);
}

#endif
