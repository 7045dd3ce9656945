/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a learner that sees every LB at once reads of them (centralised training, and the
 * central agent's acting). A joint observation is M LBs' observations of their pools of n
 * servers, LB-major: rows [i n, (i + 1) n) are LB i's, F features each (the features every
 * LB computes for itself, features_policy_obs()). Both views are means, so neither depends
 * on the order of the servers, and neither records a pool size.
 *
 * joint_state: QMix's global state, JOINT_STATE_WIDTH(F) floats: the mean of every feature
 *   over all rows; the spread (population standard deviation) over the servers of each
 *   server's feature averaged over the LBs (how unequal the servers look to everyone); the
 *   spread over the LBs of each LB's pool mean (how differently the LBs see the pool).
 *
 * joint_context: the central agent's input per row, JOINT_CONTEXT_WIDTH(F) floats:
 *   [x_ik | mean over LBs of x_.k | mean over all rows]: LB i's view of server k, everyone's
 *   view of server k (its load from all LBs' flows), and the whole system's.
 */
#ifndef MARLLB_LEARN_JOINT_VIEW_H
#define MARLLB_LEARN_JOINT_VIEW_H

#define JOINT_STATE_WIDTH(F) (3 * (F))
#define JOINT_CONTEXT_WIDTH(F) (3 * (F))

/* obs (lbs n, F) -> out (JOINT_STATE_WIDTH(F)) */
void joint_state(const float *obs, int lbs, int n, int F, float *out);
/* obs (lbs n, F) -> out (lbs n, JOINT_CONTEXT_WIDTH(F)) */
void joint_context(const float *obs, int lbs, int n, int F, float *out);

#endif /* MARLLB_LEARN_JOINT_VIEW_H */
