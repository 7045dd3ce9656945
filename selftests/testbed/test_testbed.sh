#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Smoke run of the testbed: 2 LBs (native XDP, marllbd), 3 builtin servers of capacities
# 1:1:2, a few seconds of generated traffic through lsq and marl. Asserts that every request
# completes, both LBs carry traffic, the open-flow counters return to 0, the table is
# produced, and that nothing of the testbed is left afterwards, also after a SIGTERM in
# the middle of a run.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${MARLLB_BUILD:-$top/build}
testbed=$top/tools/testbed/marllb-testbed
passed=0 failed=0 skipped=0
tmp=$(mktemp -d /tmp/marllb-test-testbed.XXXXXX)
bg=""
trap '[ -n "$bg" ] && kill "$bg" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

result() { # NAME OK|FAIL|SKIP [why]
	case $2 in
	OK) echo "ok   test_testbed/$1"; passed=$((passed + 1)) ;;
	FAIL) echo "FAIL test_testbed/$1${3:+: $3}"; failed=$((failed + 1)) ;;
	SKIP) echo "SKIP test_testbed/$1: $3"; skipped=$((skipped + 1)) ;;
	esac
}
check() { # CONDITION-STATUS MESSAGE: records a failed assertion
	if [ "$1" != 0 ]; then
		echo "    FAIL $2"
		errors=$((errors + 1))
	fi
}
finish() {
	echo "summary: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ]
	exit
}
sum_get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
lbs_get() { awk -v lb="$2" -v k="$3" '$1 == lb && $2 == k { print $3 }' "$1"; }

# What the testbed left behind for run PID: namespaces, pins, CPU groups (should be none).
leftovers() {
	local pid=$1
	ip netns list | awk '{ print $1 }' | grep "^mlbtb$pid-"
	[ -e "/sys/fs/bpf/mlbtb$pid" ] && echo "/sys/fs/bpf/mlbtb$pid"
	[ -e "/sys/fs/cgroup/cpu/mlbtb$pid" ] && echo "/sys/fs/cgroup/cpu/mlbtb$pid"
	[ -e "/sys/fs/cgroup/cpuacct/mlbtb$pid" ] && echo "/sys/fs/cgroup/cpuacct/mlbtb$pid"
	ip link show 2>/dev/null | grep -o "mt${pid}l[0-9]*"
}

tests="runs every_request_completes both_lbs_carry_traffic counters_return_to_zero \
table_produced teardown_clean sigterm_tears_down"
why=""
[ "$(id -u)" = 0 ] || why="needs root (network namespaces, XDP)"
for b in marllbd marllb-dp marllb-replay marllb-tracegen marllb-testsrv testbed/xdp_pass.o; do
	[ -z "$why" ] && [ ! -e "$bin/$b" ] && why="$bin/$b is not built"
done
[ -z "$why" ] && ! command -v nsenter >/dev/null && why="nsenter (util-linux) is missing"
[ -z "$why" ] && ! command -v curl >/dev/null && why="curl is missing (tools/install-deps.sh)"
if [ -n "$why" ]; then
	echo "test_testbed: SKIPPING ALL: $why" >&2
	for t in $tests; do result "$t" SKIP "$why"; done
	finish
fi

out=$tmp/out
MARLLB_BUILD=$bin "$testbed" --server builtin --servers 3 --capacities 1,1,2 --lbs 2 \
	--policies lsq,marl --loads 0.6 --duration 4 --train 3 --rate 40 --timeout 20 \
	--out "$out" >"$tmp/run.log" 2>&1
rc=$?
pid=$(sed -n 's|.*run dir /tmp/marllb-testbed\.\([0-9]*\)\..*|\1|p' "$tmp/run.log" | head -n 1)
if [ "$rc" = 0 ]; then result runs OK; else
	result runs FAIL "exit status $rc"
	sed 's/^/    | /' "$tmp/run.log" | tail -n 30
fi

errors=0
for p in lsq marl; do
	s=$out/load0.6/$p.sum
	if [ ! -s "$s" ]; then check 1 "$p: no summary"; continue; fi
	req=$(sum_get "$s" requests)
	check "$([ "${req:-0}" -gt 50 ]; echo $?)" "$p: $req requests replayed, expected > 50"
	check "$([ "$(sum_get "$s" ok)" = "$req" ]; echo $?)" "$p: $(sum_get "$s" ok) of $req ok"
	check "$([ "$(sum_get "$s" failed)" = 0 ]; echo $?)" "$p: $(sum_get "$s" failed) failed"
done
[ "$errors" = 0 ] && result every_request_completes OK || result every_request_completes FAIL

errors=0
for p in lsq marl; do
	for lb in lb0 lb1; do
		n=$(lbs_get "$out/load0.6/$p.lbs" "$lb" new_flows)
		check "$([ "${n:-0}" -gt 0 ]; echo $?)" "$p: $lb had ${n:-no} new flows"
	done
done
[ "$errors" = 0 ] && result both_lbs_carry_traffic OK || result both_lbs_carry_traffic FAIL

errors=0
for p in lsq marl; do
	for lb in lb0 lb1; do
		q=$(lbs_get "$out/load0.6/$p.lbs" "$lb" q_sum)
		new=$(lbs_get "$out/load0.6/$p.lbs" "$lb" new_flows)
		closed=$(lbs_get "$out/load0.6/$p.lbs" "$lb" closed_flows)
		check "$([ "$q" = 0 ]; echo $?)" "$p: $lb open flows after the load: ${q:-unread}"
		check "$([ -n "$new" ] && [ "$new" = "$closed" ]; echo $?)" \
			"$p: $lb closed ${closed:-?} of ${new:-?} flows"
	done
done
[ "$errors" = 0 ] && result counters_return_to_zero OK || result counters_return_to_zero FAIL

errors=0
for p in lsq marl; do
	check "$(grep -Eq "^$p +[0-9]+ +0 " "$out/table.txt" 2>/dev/null; echo $?)" \
		"table.txt has no row for $p with 0 failures"
done
check "$([ "$(grep -c '^0.6,' "$out/results.csv" 2>/dev/null)" = 2 ]; echo $?)" \
	"results.csv: expected 2 rows at load 0.6"
if command -v gnuplot >/dev/null; then
	check "$([ -s "$out/tct-cdf-load0.6.png" ]; echo $?)" "no TCT CDF plot"
fi
[ "$errors" = 0 ] && result table_produced OK || result table_produced FAIL

left=$( [ -n "$pid" ] && leftovers "$pid")
if [ -z "$pid" ]; then result teardown_clean FAIL "run pid not found in the log"
elif [ -n "$left" ]; then result teardown_clean FAIL "left behind: $(echo $left)"
else result teardown_clean OK; fi

# SIGTERM during the replay: the testbed stops at once and removes everything (with CPU
# groups this time: builtin servers burning CPU under quotas).
MARLLB_BUILD=$bin "$testbed" --server builtin --servers 2 --capacities 1,1 --lbs 2 \
	--builtin-mode cpu --policies lsq --loads 0.5 --duration 60 --rate 20 --out "$tmp/out2" \
	>"$tmp/run2.log" 2>&1 &
bg=$!
for ((t = 0; t < 600; t++)); do
	grep -q 'replaying' "$tmp/run2.log" && break
	kill -0 "$bg" 2>/dev/null || break
	sleep 0.1
done
sleep 1
kill -TERM "$bg" 2>/dev/null
start=$(date +%s)
wait "$bg"
rc=$?
bg=""
took=$(($(date +%s) - start))
pid2=$(sed -n 's|.*run dir /tmp/marllb-testbed\.\([0-9]*\)\..*|\1|p' "$tmp/run2.log" | head -n 1)
left=$( [ -n "$pid2" ] && leftovers "$pid2")
if [ "$rc" != 130 ]; then
	result sigterm_tears_down FAIL "exit status $rc, expected 130 ($took s)"
	tail -n 5 "$tmp/run2.log" | sed 's/^/    | /'
elif [ -z "$pid2" ] || [ -n "$left" ]; then
	result sigterm_tears_down FAIL "left behind: ${left:-run pid unknown}"
else
	result sigterm_tears_down OK
fi
finish
