/* SPDX-License-Identifier: GPL-2.0 */
/* What the data-plane test programs share on top of the fixture: setup that skips loudly
 * without BPF permission, and the summed statistics. */
#ifndef MARLLB_TEST_DP_TEST_H
#define MARLLB_TEST_DP_TEST_H

#include "test.h"
#include "dp_fixture.h"

/* opts NULL: the fixture's small tables */
static inline bool dp_test_setup(struct fx *f, int family, uint32_t policy, uint32_t n,
				 const struct mlb_dp_opts *opts)
{
	int err = fx_setup_opts(f, family, policy, n, opts);

	if (err == -EPERM) {
		test_skip("no permission to load BPF programs (run as root)");
		return false;
	}
	return ASSERT_OK(err, "fixture setup");
}

static inline struct mlb_stats stats(struct fx *f)
{
	struct mlb_stats s = {};

	mlb_dp_read_stats(f->dp, &s);
	return s;
}

#endif /* MARLLB_TEST_DP_TEST_H */
