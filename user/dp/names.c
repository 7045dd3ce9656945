// SPDX-License-Identifier: GPL-2.0
/* Names of policies and drop reasons, for CLIs and logs. */
#include <errno.h>
#include <string.h>

#include "dp/dataplane.h"

static const char *const policy_names[MLB_POLICY_MAX] = {
	[MLB_POLICY_MARL] = "marl", [MLB_POLICY_SED] = "sed",	[MLB_POLICY_LSQ] = "lsq",
	[MLB_POLICY_WCMP] = "wcmp", [MLB_POLICY_ECMP] = "ecmp",
};

static const char *const drop_names[MLB_DROP_MAX] = {
	[MLB_DROP_MALFORMED] = "malformed",   [MLB_DROP_TRUNCATED] = "truncated",
	[MLB_DROP_FRAGMENT] = "fragment",     [MLB_DROP_NO_FLOW] = "no_flow",
	[MLB_DROP_NO_BACKEND] = "no_backend", [MLB_DROP_BACKEND_DOWN] = "backend_down",
	[MLB_DROP_BAD_L2] = "bad_l2",	      [MLB_DROP_ENCAP] = "encap",
};

static const char *const fwd_names[MLB_FWD_MAX] = {
	[MLB_FWD_DSR_L2] = "dsr-l2",
	[MLB_FWD_IPIP] = "ipip",
	[MLB_FWD_GUE] = "gue",
};

const char *mlb_policy_name(uint32_t policy)
{
	return policy < MLB_POLICY_MAX ? policy_names[policy] : "?";
}

int mlb_policy_parse(const char *name)
{
	for (int i = 0; i < MLB_POLICY_MAX; i++)
		if (!strcmp(name, policy_names[i]))
			return i;
	return -EINVAL;
}

const char *mlb_drop_reason_name(uint32_t reason)
{
	return reason < MLB_DROP_MAX ? drop_names[reason] : "?";
}

const char *mlb_fwd_mode_name(uint32_t mode)
{
	return mode < MLB_FWD_MAX ? fwd_names[mode] : "?";
}

int mlb_fwd_mode_parse(const char *name)
{
	for (int i = 0; i < MLB_FWD_MAX; i++)
		if (!strcmp(name, fwd_names[i]))
			return i;
	return -EINVAL;
}
