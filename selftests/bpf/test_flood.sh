#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Flow accounting end to end, in network namespaces (selftests/bpf/netns_lib.sh: a client, a
# flooder, the LB with marllb attached natively by `marllb-dp attach`, three DSR servers):
#   syn_flood    a bounded spoofed SYN flood (build/synflood: 250 000 SYNs at 50 000/s from
#                random sources) while the client holds 30 long-lived connections and makes
#                real requests at 200/s: no request fails; each backend's share of the new
#                flows during and right after the flood stays within 10 points of before it;
#                q of each backend equals the connections established on its server at every
#                sample (within the requests in flight); q is exactly 0 after
#   table_full   3000 long-lived connections through a flow table of 2048: the first 2048 are
#                counted, the other 952 refused (and counted as such) yet served; none is
#                black-holed; when counted ones close, refused ones take their room; q is
#                exactly 0 after
set -u
cd "$(dirname "$0")/../.."
B=build
P="mlbf$$" # namespace prefix, unique per run
VIP=10.99.0.100
PORT=8080
TOL=3 # requests that may open or close between reading q and the servers' sockets
passed=0 failed=0 skipped=0
WORK=$(mktemp -d)

ok() { echo "ok   test_flood/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL test_flood/$1: $2"; failed=$((failed + 1)); }
check() { # check NAME WHAT command...
	local name=$1 what=$2
	shift 2
	if "$@"; then ok "$name"; else fail "$name" "$what"; fi
}
finish() {
	echo "summary: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}
. selftests/bpf/netns_lib.sh
trap 'topo_down; rm -rf "$WORK"' EXIT

if [ "$(id -u)" -ne 0 ] || ! ip netns add "${P}probe" 2>/dev/null; then
	echo "SKIP test_flood: needs root and network namespaces"
	skipped=2
	finish
fi
ip netns del "${P}probe"
for f in $B/marllb-dp $B/xdp_pass.o $B/e2e_tcp $B/synflood; do
	[ -e "$f" ] || { fail setup "$f missing (run make)"; finish; }
done
if ! topo_up cli fl; then
	fail setup "building the namespaces failed"
	finish
fi
servers_start $PORT 120

DP="nsx lb $B/marllb-dp -i eth0"
stat_of() { $DP stats | awk -v k="$1" '$1 == k { print $2 }'; }
q_all() { $DP queues 0 3 | tr '\n' ' '; }
q_sum() { $DP queues 0 3 | awk '{ s += $1 } END { print s }'; }
est_of() { nsx "s$1" ss -Htn state established "( sport = :$PORT )" | wc -l; }
# wait_q_sum N: up to 3 s for the sum of q to reach N
wait_q_sum() {
	local i
	for i in $(seq 30); do
		[ "$(q_sum)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# attach ARGS...: marllb-dp attach with ARGS on the LB (bpffs mounted for its pins), a VIP
# (lsq) with the three servers; prints what attach printed
attach() {
	nsx lb ip link set dev eth0 xdp off 2>/dev/null
	# (libxdp's own messages about its dispatcher, which it cannot use here, go to a log)
	nsx lb sh -c "mount -t bpf bpf /sys/fs/bpf && $B/marllb-dp $* attach eth0 native" \
		2>"$WORK/attach.log" && [ "$($DP vip $VIP $PORT lsq)" = 0 ] && backends_add 0 ||
		{ cat "$WORK/attach.log"; return 1; }
}

# The half-open table gives each CPU 131072 entries, whatever the number of CPUs: the SYN
# budget then lets a CPU create 65 000 half-open entries a second, above the flood's rate, so
# every new flow is placed by the policy (the budget's own regime is tested in test_flows).
case_syn_flood() {
	local out flood_start flood_end line bad=0 n=0 k

	out=$(attach -H $(($(nproc) * 131072))) || { fail syn_flood_setup "attach"; return; }
	echo "    $out"
	# 30 long-lived connections first (lsq puts 10 on each server), then real requests
	coproc HOLD { ip netns exec "${P}cli" "$B/e2e_tcp" hold $VIP $PORT 30 60; }
	read -r -t 30 line <&"${HOLD[0]}"
	[ "$line" = "opened 30 0" ] || { fail syn_flood_setup "long-lived: $line"; return; }
	(
		while [ ! -e "$WORK/stop" ]; do
			echo "$(date +%s%3N) $(q_all)$(est_of 1) $(est_of 2) $(est_of 3)"
			sleep 0.2
		done
	) >"$WORK/samples" &
	local sampler=$!
	nsx cli "$B/e2e_tcp" load $VIP $PORT 200 14 >"$WORK/load" &
	local loader=$!
	sleep 4
	nsx fl "$B/synflood" $VIP $PORT 250000 50000 172.16.0.0 >"$WORK/flood"
	sleep 6 # the rest of the load: 4 s after the flood ends
	wait $loader
	local load_rc=$?
	touch "$WORK/stop"
	wait $sampler
	exec {HOLD[1]}>&-
	wait "$HOLD_PID" 2>/dev/null
	flood_start=$(awk '$1 == "start" { print $2 }' "$WORK/flood")
	flood_end=$(awk '$1 == "end" { print $2 }' "$WORK/flood")
	echo "    flood: $(awk '$1 == "end" { print $4 }' "$WORK/flood") SYNs sent in" \
		"$(((flood_end - flood_start) / 1000)).$(((flood_end - flood_start) % 1000 / 100)) s;" \
		"data plane: new_flows $(stat_of new_flows), syn_stateless $(stat_of syn_stateless)," \
		"established $(stat_of established)"
	check syn_flood_sent ">= 200000 SYNs reached the data plane" \
		[ "$(stat_of new_flows)" -ge 200000 ]
	check syn_flood_no_failed_request "$(grep -c FAIL "$WORK/load") of $(wc -l <"$WORK/load") failed" \
		[ "$load_rc:$(grep -c FAIL "$WORK/load")" = 0:0 ]
	# shares of new flows per server: before, during, and in the 3 s right after the flood
	awk -v s="$flood_start" -v e="$flood_end" '
		$2 == "FAIL" { next }
		{ p = $1 < s ? "before" : $1 < e ? "during" : $1 < e + 3000 ? "after" : "" }
		p != "" { n[p]++; c[p, $2]++ }
		END {
			for (i = 1; i <= 3; i++) {
				b = 100 * c["before", "server" i] / n["before"]
				d = 100 * c["during", "server" i] / n["during"]
				a = 100 * c["after", "server" i] / n["after"]
				printf "    server%d: %.1f%% before (%d), %.1f%% during (%d), %.1f%% after (%d)\n",
					i, b, n["before"], d, n["during"], a, n["after"]
				if (d - b > 10 || b - d > 10 || a - b > 10 || b - a > 10)
					bad = 1
			}
			exit bad
		}' "$WORK/load"
	check syn_flood_shares "a share moved by more than 10 points" [ $? = 0 ]
	# q == established connections on each server, at every sample
	while read -r t q0 q1 q2 e0 e1 e2; do
		n=$((n + 1))
		for k in 0 1 2; do
			local q=q$k e=e$k
			if [ $((${!q} - ${!e})) -gt $TOL ] || [ $((${!e} - ${!q})) -gt $TOL ]; then
				[ $bad -lt 3 ] && echo "    sample at $t: q $q0 $q1 $q2, established $e0 $e1 $e2"
				bad=$((bad + 1))
				break
			fi
		done
	done <"$WORK/samples"
	echo "    $n samples of q and the servers' established connections"
	check syn_flood_q_matches "q off the established connections by more than $TOL in $bad samples" \
		[ $n -gt 40 -a $bad = 0 ]
	check syn_flood_q_zero_after "q sums to $(q_sum) after all closed" wait_q_sum 0
}

# The client opens its 3000 connections as fast as it can: the half-open table gives each CPU
# 65536 entries so that this stays within the SYN budget and every connection is placed by the
# policy (with a smaller one the excess would be placed by the hash without state: served, not
# counted).
case_table_full() {
	local out line h=$(($(nproc) * 65536))

	out=$(attach -F 2048 -H $h) || { fail table_full_setup "attach"; return; }
	echo "    $out"
	check table_full_memory_printed "attach printed: $out" \
		grep -q "flow table 2048 entries (.* MiB), half-open table $h entries" <<<"$out"
	coproc HOLD { ip netns exec "${P}cli" "$B/e2e_tcp" hold $VIP $PORT 3000 60; }
	read -r -t 30 line <&"${HOLD[0]}"
	check table_full_opened "$line" [ "$line" = "opened 3000 0" ]
	check table_full_counted "established $(stat_of established), q $(q_sum)" \
		[ "$(stat_of established):$(q_sum)" = 2048:2048 ]
	check table_full_refused_counted "refused $(stat_of refused)" [ "$(stat_of refused)" = 952 ]
	echo ping >&"${HOLD[1]}"
	read -r -t 30 line <&"${HOLD[0]}"
	check table_full_none_blackholed "$line" [ "$line" = "ping 3000 0" ]
	echo "close 500" >&"${HOLD[1]}"
	read -r -t 30 line <&"${HOLD[0]}"
	check table_full_counted_closed "q $(q_sum) after closing 500 counted" wait_q_sum 1548
	echo ping >&"${HOLD[1]}"
	read -r -t 30 line <&"${HOLD[0]}"
	check table_full_answered_after_close "$line" [ "$line" = "ping 2500 0" ]
	check table_full_refused_take_room "q $(q_sum), established $(stat_of established)" \
		wait_q_sum 2048
	exec {HOLD[1]}>&-
	wait "$HOLD_PID" 2>/dev/null
	check table_full_q_zero_after "q sums to $(q_sum) after all closed" wait_q_sum 0
	check table_full_no_lost_entry "fallback $(stat_of fallback), syn_stateless $(stat_of syn_stateless)" \
		[ "$(stat_of fallback):$(stat_of syn_stateless)" = 0:0 ]
}

CASES=(syn_flood table_full)
[ $# -gt 0 ] && CASES=("$@")
for c in "${CASES[@]}"; do
	echo "--- $c"
	rm -f "$WORK/stop"
	"case_$c"
done
finish
