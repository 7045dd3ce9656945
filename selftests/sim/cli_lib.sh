#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared by marllb-sim's command-line tests: the binary, a scratch directory removed on exit,
# and the bookkeeping (ok/FAIL lines and the "summary:" line selftests/run_tests.sh adds up).
# The sourcing script sets SUITE (the name in its ok/FAIL lines) first.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SIM=$ROOT/build/marllb-sim
WORK=$(mktemp -d "/tmp/marllb-$SUITE-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PASSED=0 FAILED=0 CASE_FAILED=0
export OPENBLAS_NUM_THREADS=1

check() { # check "what" command...
	local what=$1; shift
	"$@" && return 0
	echo "    FAIL: $what"
	CASE_FAILED=1
	return 1
}

run_case() {
	CASE_FAILED=0
	"case_$1"
	if [ $? = 0 ] && [ "$CASE_FAILED" = 0 ]; then
		echo "ok   $SUITE/$1"; PASSED=$((PASSED + 1))
	else
		echo "FAIL $SUITE/$1"; FAILED=$((FAILED + 1))
	fi
}

summary() { # the last line; the exit status says whether every case passed
	echo "summary: $PASSED passed, $FAILED failed, 0 skipped"
	[ "$FAILED" = 0 ]
}
