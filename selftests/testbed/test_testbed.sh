#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Smoke runs of the testbed.
#  1. 2 LBs (native XDP, marllbd), 3 builtin servers of capacities 1:1:2, lsq and marl, 2
#     repeats of 2 s warm-up + 4 s measured: every request completes, each phase replays
#     exactly the measured requests the load claims (the same ones for every phase), the
#     phases are interleaved, progress lines are printed, both LBs carry traffic, every
#     flow an LB opened it saw closed (counters read only once every connection is closed),
#     the table has confidence intervals and a verdict, and nothing is left behind.
#  2. The same --seed replays the same requests whatever --train is, and a trace's ramp is
#     skipped or refused (dry runs).
#  3. A noisy neighbour (builtin servers burning CPU under quotas) switches on and off at
#     its times in the measured phase and uses its share of a core.
#  4. SIGTERM in the middle of a run: the testbed stops at once and removes everything.
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
verdict() { # NAME: OK when no assertion failed since errors=0
	if [ "$errors" = 0 ]; then result "$1" OK; else result "$1" FAIL; fi
}
finish() {
	echo "summary: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ]
	exit
}
kv_get() { awk -v k="$2" '$1 == k { print $2 }' "$1" 2>/dev/null; }
lbs_get() { awk -v lb="$2" -v k="$3" '$1 == lb && $2 == k { print $3 }' "$1" 2>/dev/null; }
run_pid() { sed -n 's|.*run dir /tmp/marllb-testbed\.\([0-9]*\)\..*|\1|p' "$1" | head -n 1; }

# What the testbed left behind for run PID: namespaces, pins, CPU groups (should be none).
leftovers() {
	local pid=$1
	ip netns list | awk '{ print $1 }' | grep "^mlbtb$pid-"
	[ -e "/sys/fs/bpf/mlbtb$pid" ] && echo "/sys/fs/bpf/mlbtb$pid"
	[ -e "/sys/fs/cgroup/cpu/mlbtb$pid" ] && echo "/sys/fs/cgroup/cpu/mlbtb$pid"
	[ -e "/sys/fs/cgroup/cpuacct/mlbtb$pid" ] && echo "/sys/fs/cgroup/cpuacct/mlbtb$pid"
	ip link show 2>/dev/null | grep -o "mt${pid}l[0-9]*"
}
teardown_result() { # NAME LOG
	local pid left
	pid=$(run_pid "$2")
	left=$([ -n "$pid" ] && leftovers "$pid")
	if [ -z "$pid" ]; then result "$1" FAIL "run pid not found in the log"
	elif [ -n "$left" ]; then result "$1" FAIL "left behind: $(echo $left)"
	else result "$1" OK; fi
}

tests="runs every_request_completes same_requests_every_phase interleaved_with_progress \
both_lbs_carry_traffic counters_return_to_zero table_with_intervals teardown_clean \
same_seed_whatever_train trace_ramp_skipped_or_refused noisy_neighbour_on_and_off \
sigterm_tears_down"
why=""
[ "$(id -u)" = 0 ] || why="needs root (network namespaces, XDP)"
for b in marllbd marllb-dp marllb-replay marllb-tracegen marllb-testsrv marllb-compare \
	testbed/xdp_pass.o; do
	[ -z "$why" ] && [ ! -e "$bin/$b" ] && why="$bin/$b is not built"
done
[ -z "$why" ] && ! command -v nsenter >/dev/null && why="nsenter (util-linux) is missing"
[ -z "$why" ] && ! command -v curl >/dev/null && why="curl is missing (tools/install-deps.sh)"
if [ -n "$why" ]; then
	echo "test_testbed: SKIPPING ALL: $why" >&2
	for t in $tests; do result "$t" SKIP "$why"; done
	finish
fi

# ---- 1. two policies, two interleaved repeats ----------------------------------------------
out=$tmp/out
lvl=$out/load0.6
phases="lsq-r1 marl-r1 lsq-r2 marl-r2"
MARLLB_BUILD=$bin "$testbed" --scenario default --server builtin --servers 3 --capacities 1,1,2 \
	--lbs 2 --policies lsq,marl --model scratch --loads 0.6 --duration 4 --warmup 2 \
	--repeats 2 --rate 40 --timeout 20 --progress 2 --out "$out" >"$tmp/run.log" 2>&1
rc=$?
if [ "$rc" = 0 ]; then result runs OK; else
	result runs FAIL "exit status $rc"
	sed 's/^/    | /' "$tmp/run.log" | tail -n 30
fi

# 0.6 x 40 requests/s x 4 s: the segment has exactly the load it claims.
errors=0
want=96
check "$([ "$(kv_get "$lvl/segment.info" requests)" = "$want" ]; echo $?)" \
	"segment.info: $(kv_get "$lvl/segment.info" requests) measured requests, expected $want"
for ph in $phases; do
	s=$lvl/$ph.sum
	if [ ! -s "$s" ]; then check 1 "$ph: no summary"; continue; fi
	check "$([ "$(kv_get "$s" requests)" = "$want" ]; echo $?)" \
		"$ph: $(kv_get "$s" requests) measured requests, expected $want"
	check "$([ "$(kv_get "$s" ok)" = "$want" ]; echo $?)" "$ph: $(kv_get "$s" ok) of $want ok"
	check "$([ "$(kv_get "$s" failed)" = 0 ]; echo $?)" "$ph: $(kv_get "$s" failed) failed"
	check "$([ "$(kv_get "$s" warmup)" = "$(kv_get "$lvl/segment.info" warmup_requests)" ]; echo $?)" \
		"$ph: $(kv_get "$s" warmup) warm-up requests, the segment has $(kv_get "$lvl/segment.info" warmup_requests)"
done
# ... and they are scheduled over exactly the 4 measured seconds after the 2 s warm-up
span=$(awk -F, 'NR > 1 && $9 == 1 { if (!n++ || $2 < a) a = $2; if ($2 > b) b = $2 }
	END { printf "%.3f %.3f", a, b }' "$lvl/lsq-r1.csv" 2>/dev/null)
check "$(awk -v s="$span" 'BEGIN { split(s, x, " "); exit !(x[1] >= 2 && x[1] < 2.2 && x[2] > 5.7 && x[2] < 6) }'; echo $?)" \
	"measured requests scheduled from ${span% *} to ${span#* } s, expected 2 to 6"
verdict every_request_completes

errors=0
for ph in lsq-r2 marl-r1 marl-r2; do
	check "$(cmp -s <(cut -d, -f2,9,10 "$lvl/lsq-r1.csv") <(cut -d, -f2,9,10 "$lvl/$ph.csv"); echo $?)" \
		"$ph replayed other requests (schedule, warm-up or path) than lsq-r1"
done
verdict same_requests_every_phase

# ABAB: each round runs every policy once; a replay prints progress lines.
errors=0
order=$(sed -n 's/.*phase [0-9]*\/4 (load 0.6, \([a-z]*\), repeat \([0-9]\)\/2).*/\1-r\2/p' "$tmp/run.log" | xargs)
check "$([ "$order" = "$phases" ]; echo $?)" "phase order '$order', expected '$phases'"
check "$(grep -q 'load 0.6, marl, repeat 2/2: [0-9]* of 6 s, [0-9]*/[0-9]* started' "$tmp/run.log"; echo $?)" \
	"no progress line during marl's replay"
verdict interleaved_with_progress

errors=0
for ph in $phases; do
	for lb in lb0 lb1; do
		n=$(lbs_get "$lvl/$ph.lbs" "$lb" new_flows)
		check "$([ "${n:-0}" -gt 0 ]; echo $?)" "$ph: $lb had ${n:-no} new flows"
	done
done
verdict both_lbs_carry_traffic

# Read after every connection closed at both ends: the data plane saw every close.
errors=0
for ph in $phases; do
	for lb in lb0 lb1; do
		f=$lvl/$ph.lbs
		q=$(lbs_get "$f" "$lb" q_sum)
		new=$(lbs_get "$f" "$lb" new_flows)
		closed=$(lbs_get "$f" "$lb" closed_flows)
		check "$([ "$q" = 0 ]; echo $?)" "$ph: $lb open flows after the load: ${q:-unread}"
		check "$([ -n "$new" ] && [ "$new" = "$closed" ]; echo $?)" \
			"$ph: $lb closed ${closed:-?} of ${new:-?} flows (reclaimed by marllbd: half-open $(lbs_get "$f" "$lb" reclaimed_half_open), established $(lbs_get "$f" "$lb" reclaimed_established); no_flow drops $(lbs_get "$f" "$lb" drop_no_flow); $(cat "$lvl/logs-$ph/flows.log" 2>/dev/null))"
	done
done
verdict counters_return_to_zero

errors=0
for p in lsq marl; do
	check "$(grep -Eq "^$p +2 +192 +0 +[0-9.]+ \[[0-9.]+, [0-9.]+\] +[0-9.]+ \[[0-9.]+, [0-9.]+\]" \
		"$out/table.txt" 2>/dev/null; echo $?)" "table.txt: no row for $p with 2 repeats, 192 requests, 0 failed and intervals"
done
check "$(grep -Eq "verdict mean: marl (better than|worse than|not distinguishable from) lsq" \
	"$out/table.txt"; echo $?)" "table.txt: no verdict on marl's mean"
check "$(grep -q "safety net: on learned weights" "$out/table.txt"; echo $?)" \
	"table.txt: marl's safety net not reported"
check "$([ "$(grep -c '^default,0.6,' "$out/results.csv" 2>/dev/null)" = 2 ]; echo $?)" \
	"results.csv: expected 2 rows at load 0.6"
check "$([ "$(grep -c '^default,0.6,all,marl,' "$out/verdicts.csv" 2>/dev/null)" = 2 ]; echo $?)" \
	"verdicts.csv: expected the mean and p99 verdicts"
if command -v gnuplot >/dev/null; then
	check "$([ -s "$out/tct-ci.png" ]; echo $?)" "no plot of the intervals"
	check "$([ -s "$out/marl-weights-load0.6-r1.png" ]; echo $?)" "no plot of marl's weights"
fi
verdict table_with_intervals

teardown_result teardown_clean "$tmp/run.log"

# ---- 2. --train changes the training requests, never the measured ones ----------------------
errors=0
for t in 3 9; do
	"$testbed" --scenario default --dry-run --policies lsq,marl-trained --train "$t" \
		--loads 0.6 --duration 4 --warmup 2 --rate 40 --seed 7 --out "$tmp/dry$t" \
		>"$tmp/dry$t.log" 2>&1
	check "$?" "dry run with --train $t failed: $(tail -n 2 "$tmp/dry$t.log")"
done
check "$(cmp -s "$tmp/dry3/load0.6/segment.tsv" "$tmp/dry9/load0.6/segment.tsv"; echo $?)" \
	"--train 3 and --train 9 measure different requests"
check "$([ "$(wc -l <"$tmp/dry3/load0.6/train.tsv")" -lt "$(wc -l <"$tmp/dry9/load0.6/train.tsv")" ]; echo $?)" \
	"--train 9 does not train longer than --train 3"
verdict same_seed_whatever_train

# A trace that ramps up over its first 20 s (as the shared traces do): skipped by default,
# refused when the skip is turned off.
errors=0
awk 'BEGIN { srand(3); print "time\tquery"; t = 0
	while (t < 120) { r = t < 20 ? 5 + 35 * t / 20 : 40; t += -log(1 - rand()) / r
		printf "%.6f\t/dummy.php/?n=%d\n", t, 1000 + int(rand() * 5000) } }' >"$tmp/ramp.tsv"
"$testbed" --scenario default --dry-run --policies lsq --trace "$tmp/ramp.tsv" --loads 0.8 \
	--duration 20 --warmup 5 --rate 50 --out "$tmp/ramp1" >"$tmp/ramp1.log" 2>&1
check "$?" "auto skip: $(tail -n 2 "$tmp/ramp1.log")"
from=$(kv_get "$tmp/ramp1/load0.8/segment.info" trace_from_s)
check "$(awk -v f="${from:-0}" 'BEGIN { exit !(f >= 15) }'; echo $?)" \
	"the measured part starts at ${from:-?} s of the trace, inside the ramp"
"$testbed" --scenario default --dry-run --policies lsq --trace "$tmp/ramp.tsv" --trace-skip 0 \
	--loads 0.8 --duration 20 --warmup 1 --rate 50 --out "$tmp/ramp2" >"$tmp/ramp2.log" 2>&1
check "$([ $? != 0 ] && grep -q "not steady.*--trace-skip" "$tmp/ramp2.log"; echo $?)" \
	"a segment across the ramp was not refused: $(tail -n 1 "$tmp/ramp2.log")"
verdict trace_ramp_skipped_or_refused

# ---- 3. a noisy neighbour from 1 s to 3 s of the measured phase ----------------------------
errors=0
out3=$tmp/out3
MARLLB_BUILD=$bin "$testbed" --scenario default --server builtin --builtin-mode cpu --servers 2 \
	--capacities 1,2 --lbs 1 --policies lsq --loads 0.5 --duration 4 --warmup 1 --repeats 1 \
	--rate 20 --hog 1:0.1@1-3 --out "$out3" >"$tmp/run3.log" 2>&1
check "$?" "run with a noisy neighbour failed: $(tail -n 3 "$tmp/run3.log")"
ev=$out3/load0.5/lsq-r1.events
# the times it switched, in seconds after the measured phase began
times=$(awk '$1 == "measured_start" { t0 = $2 } $1 == "hog_on" { on = $2 } $1 == "hog_off" { off = $2 }
	END { if (on && off) printf "%.2f %.2f", on - t0, off - t0 }' "$ev" 2>/dev/null)
check "$(awk -v t="$times" 'BEGIN { split(t, a, " "); exit !(t != "" && a[1] > 0.8 && a[1] < 1.5 && a[2] > 2.8 && a[2] < 3.5) }'; echo $?)" \
	"hog on/off at '${times:-never}' s, expected about 1 and 3"
# 0.1 of a core for 2 s: 0.2 CPU seconds in its group
used=$(awk '$2 == "s1/hog" { if (!n++) a = $3; b = $3 } END { printf "%.3f", b - a }' \
	"$out3/load0.5/lsq-r1.cpu-samples" 2>/dev/null)
check "$(awk -v u="$used" 'BEGIN { exit !(u > 0.1 && u < 0.3) }'; echo $?)" \
	"the hog used ${used:-no} CPU seconds, expected about 0.2"
check "$(grep -q '^all cpu_s [0-9.]* util [0-9.]*' "$out3/load0.5/lsq-r1.cpu" 2>/dev/null; echo $?)" \
	"no CPU use of the servers in the measured window"
verdict noisy_neighbour_on_and_off

# ---- 4. SIGTERM during the replay: everything goes (with CPU groups this time) --------------
MARLLB_BUILD=$bin "$testbed" --scenario default --server builtin --servers 2 --capacities 1,1 \
	--lbs 2 --builtin-mode cpu --policies lsq --loads 0.5 --duration 60 --warmup 1 --repeats 1 \
	--rate 20 --out "$tmp/out4" >"$tmp/run4.log" 2>&1 &
bg=$!
for ((t = 0; t < 600; t++)); do
	grep -q 'replaying' "$tmp/run4.log" 2>/dev/null && break
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
if [ "$rc" != 130 ]; then
	result sigterm_tears_down FAIL "exit status $rc, expected 130 ($took s)"
	tail -n 5 "$tmp/run4.log" | sed 's/^/    | /'
else
	teardown_result sigterm_tears_down "$tmp/run4.log"
fi
finish
