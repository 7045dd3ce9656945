/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For tests of the project's programs: the directory they are built in (next to the test
 * program) and a scratch directory removed at the end. A test program includes this once:
 *
 *	static char tmpdir[] = "/tmp/marllb-NAME-XXXXXX";
 *	int main(int argc, char **argv) { return test_dir_main(argc, argv, tests, tmpdir); }
 */
#ifndef MARLLB_SELFTEST_TEST_DIR_H
#define MARLLB_SELFTEST_TEST_DIR_H

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../test.h"

static char bindir[PATH_MAX];
static const char *test_dir__tmp;

/* A path in the scratch directory; eight at a time stay valid. */
static inline const char *tmp_path(const char *name)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *p = bufs[next++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", test_dir__tmp, name);
	return p;
}

/* Sets bindir and creates tmpdir (a mkdtemp template), runs the tests, removes tmpdir. */
static inline int test_dir_main(int argc, char **argv, const struct test_case *tests, char *tmpdir)
{
	char self[PATH_MAX], cmd[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int rc;

	if (n <= 0 || !mkdtemp(tmpdir)) {
		perror("test setup");
		return 1;
	}
	self[n] = '\0';
	snprintf(bindir, sizeof(bindir), "%s", dirname(self));
	test_dir__tmp = tmpdir;
	rc = test_main(argc, argv, tests);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}

#endif /* MARLLB_SELFTEST_TEST_DIR_H */
