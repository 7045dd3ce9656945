#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs each test program (a binary or a script) and adds up their "summary:" lines.
# A program that dies without a summary, or exits non-zero with no failure counted,
# counts as one failed test. Last line: "N passed, N failed, N skipped".
# MARLLB_TEST_TIMEOUT (seconds, default 600) bounds each program.
set -u
timeout_s=${MARLLB_TEST_TIMEOUT:-600}
passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for prog in "$@"; do
	echo "=== $prog"
	start=$(date +%s)
	timeout -k 10 "$timeout_s" "$prog" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^summary: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		read -r p f s <<<"$(echo "$line" | sed -E 's/^summary: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/')"
		passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "FAIL $prog: exit status $rc with no failed test reported"
			failed=$((failed + 1))
		fi
	else
		echo "FAIL $prog: exit status $rc and no summary line (crashed or timed out?)"
		failed=$((failed + 1))
	fi
	echo "    ($(( $(date +%s) - start )) s)"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
