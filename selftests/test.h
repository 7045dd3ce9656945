/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal test harness in the style of tools/testing/selftests/bpf:
 * ASSERT_* print what was expected and what came, and return a bool so a test can bail out:
 *
 *	if (!ASSERT_OK(err, "load"))
 *		goto out;
 *
 * A test program lists its tests and calls test_main():
 *
 *	static const struct test_case tests[] = { TEST(parse_ipv4), TEST(policy_sed), {} };
 *	int main(int argc, char **argv) { return test_main(argc, argv, tests); }
 *
 * It prints one line per test ("ok", "FAIL" or "SKIP: why") and a closing line
 * "summary: P passed, F failed, S skipped" that selftests/run_tests.sh adds up.
 * Exit status is non-zero when any test failed.
 */
#ifndef MARLLB_SELFTEST_H
#define MARLLB_SELFTEST_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fnmatch.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST(fn) { #fn, test_##fn }

struct test_state {
	int assert_failed;
	const char *skip_reason;
};
static struct test_state test__state;

static inline void test__skip(const char *why)
{
	test__state.skip_reason = why;
}
#define test_skip(why) test__skip(why)
#define test_failed() (test__state.assert_failed > 0)

static inline bool test__check(bool ok, const char *file, int line, const char *name,
			       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#include <stdarg.h>
static inline bool test__check(bool ok, const char *file, int line, const char *name,
			       const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	test__state.assert_failed++;
	fprintf(stdout, "    %s:%d: FAIL %s: ", file, line, name);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	return false;
}

#define ASSERT_TRUE(c, name) test__check(!!(c), __FILE__, __LINE__, name, "unexpected false")
#define ASSERT_FALSE(c, name) test__check(!(c), __FILE__, __LINE__, name, "unexpected true")
#define ASSERT_EQ(a, b, name)                                                                   \
	({                                                                                      \
		long long __a = (long long)(a), __b = (long long)(b);                           \
		test__check(__a == __b, __FILE__, __LINE__, name,                               \
			    "got %lld, expected %lld", __a, __b);                               \
	})
#define ASSERT_NEQ(a, b, name)                                                                  \
	({                                                                                      \
		long long __a = (long long)(a), __b = (long long)(b);                           \
		test__check(__a != __b, __FILE__, __LINE__, name, "got %lld, expected other",   \
			    __a);                                                               \
	})
#define ASSERT_LT(a, b, name)                                                                   \
	({                                                                                      \
		double __a = (double)(a), __b = (double)(b);                                    \
		test__check(__a < __b, __FILE__, __LINE__, name, "got %g, expected < %g", __a, \
			    __b);                                                               \
	})
#define ASSERT_LE(a, b, name)                                                                   \
	({                                                                                      \
		double __a = (double)(a), __b = (double)(b);                                    \
		test__check(__a <= __b, __FILE__, __LINE__, name, "got %g, expected <= %g",    \
			    __a, __b);                                                          \
	})
#define ASSERT_GT(a, b, name)                                                                   \
	({                                                                                      \
		double __a = (double)(a), __b = (double)(b);                                    \
		test__check(__a > __b, __FILE__, __LINE__, name, "got %g, expected > %g", __a, \
			    __b);                                                               \
	})
#define ASSERT_GE(a, b, name)                                                                   \
	({                                                                                      \
		double __a = (double)(a), __b = (double)(b);                                    \
		test__check(__a >= __b, __FILE__, __LINE__, name, "got %g, expected >= %g",    \
			    __a, __b);                                                          \
	})
#define ASSERT_NEAR(a, b, tol, name)                                                            \
	({                                                                                      \
		double __a = (double)(a), __b = (double)(b), __t = (double)(tol);               \
		test__check(fabs(__a - __b) <= __t, __FILE__, __LINE__, name,                   \
			    "got %g, expected %g +- %g", __a, __b, __t);                        \
	})
/* 0 is success; negative errno or -1 is failure */
#define ASSERT_OK(err, name)                                                                    \
	({                                                                                      \
		long long __e = (long long)(err);                                               \
		test__check(__e == 0, __FILE__, __LINE__, name, "error %lld (%s)", __e,         \
			    __e < 0 ? strerror((int)-__e) : "non-zero");                        \
	})
#define ASSERT_ERR(err, name)                                                                   \
	({                                                                                      \
		long long __e = (long long)(err);                                               \
		test__check(__e != 0, __FILE__, __LINE__, name, "unexpected success");          \
	})
#define ASSERT_OK_PTR(p, name) test__check((p) != NULL, __FILE__, __LINE__, name, "NULL pointer")
#define ASSERT_NULL(p, name) test__check((p) == NULL, __FILE__, __LINE__, name, "not NULL")
#define ASSERT_MEMEQ(a, b, n, name)                                                             \
	test__check(memcmp((a), (b), (n)) == 0, __FILE__, __LINE__, name, "%zu bytes differ",   \
		    (size_t)(n))
#define ASSERT_STREQ(a, b, name)                                                                \
	({                                                                                      \
		const char *__a = (a), *__b = (b);                                              \
		test__check(__a && __b && strcmp(__a, __b) == 0, __FILE__, __LINE__, name,      \
			    "got \"%s\", expected \"%s\"", __a ? __a : "(null)",               \
			    __b ? __b : "(null)");                                              \
	})

/* Runs every test, or those matching argv[1] (a glob), and prints the summary line. */
static inline int test_main(int argc, char **argv, const struct test_case *tests)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int passed = 0, failed = 0, skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (const struct test_case *t = tests; t->name; t++) {
		if (filter && fnmatch(filter, t->name, 0))
			continue;
		memset(&test__state, 0, sizeof(test__state));
		t->fn();
		if (test__state.assert_failed) {
			printf("FAIL %s/%s\n", prog, t->name);
			failed++;
		} else if (test__state.skip_reason) {
			printf("SKIP %s/%s: %s\n", prog, t->name, test__state.skip_reason);
			skipped++;
		} else {
			printf("ok   %s/%s\n", prog, t->name);
			passed++;
		}
	}
	printf("summary: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}

#endif /* MARLLB_SELFTEST_H */
