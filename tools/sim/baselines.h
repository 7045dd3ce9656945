/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The paper's learned baselines as simulator policies (Documentation/baselines.md): teams of
 * learners (user/learn/team.h) that train (`marllb-sim train --policy P`) and run
 * (`marllb-sim compare --policies ...,P`) like marl.
 *
 *   distr-lb   Distr-LB: an independent recurrent SAC agent per LB (reward vbf by default)
 *   rlb-sac    RLB-SAC [40]: an independent SAC agent per LB, no recurrence (reward jain)
 *   qmix-lb    QMix-LB: decentralised agents, a monotonic mixer trained centrally (pbf)
 *   centr-lb   Centr-LB: one agent for every LB's observation and weights (vbf)
 */
#ifndef MARLLB_SIM_BASELINES_H
#define MARLLB_SIM_BASELINES_H

#include <stdbool.h>

#include "sim/sim.h"

/* Whether name is one of the policies above. */
bool baseline_known(const char *name);

/* Whether train's command line names one of them (--policy P); such a run is theirs. */
bool baseline_train_requested(int argc, char **argv);
int cmd_train_team(int argc, char **argv);

/*
 * The team file at path (what `train --policy P` wrote) for cfg's system: it must hold
 * policy P's kind of team, for cfg's LBs, trained with cfg's learning settings (its
 * .settings sidecar, as for marl models). Returns 0 or -1 after printing why.
 */
int baseline_check(const char *policy, const struct sim_config *cfg, const char *path);
/*
 * One simulation of cfg (policy marl) with a team fresh from path acting for every LB, on
 * its mean, learning online with learn. Returns the sim (caller frees) or NULL after
 * printing why.
 */
struct sim *baseline_run(const char *policy, const struct sim_config *cfg, const char *path,
			 bool learn);

#endif /* MARLLB_SIM_BASELINES_H */
