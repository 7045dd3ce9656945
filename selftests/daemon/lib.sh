#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared pieces of marllbd's end-to-end tests: a topology in network namespaces, servers,
# a bounded load client, metrics scraping, and the test bookkeeping (ok/FAIL/SKIP lines and
# the "summary:" line selftests/run_tests.sh adds up).
#
# Topology (all namespaces are created here and removed on exit, even on failure):
#
#   client ─┐                         10.201.0.0/24 on a bridge in its own namespace
#   lb ─────┤ bridge (ns $NS_BR)      VIP 10.201.0.100:80 is owned by the servers on lo
#   s1..s3 ─┘                         (direct server return: replies go straight to client)
#
# The client routes the VIP via the LB; the LB's XDP program rewrites the destination MAC to
# the chosen server's and bounces the frame (XDP_TX). Native XDP on veth needs an XDP program
# on the peer too (xdp_pass.o), and TX checksum offload off on the senders (machine.md).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$ROOT/build
TAG=md$$
NS_BR=${TAG}br NS_C=${TAG}c NS_L=${TAG}l
LB_IF=${TAG}l0			# unique per run (the tests of another run may be cleaning up)
NET=10.201.$(($$ % 200 + 20))
VIP=$NET.100
LB_IP=$NET.2 CLIENT_IP=$NET.3
SERVER_IPS=("$NET.11" "$NET.12" "$NET.13")
PIN_DIR=/sys/fs/bpf/marllb/$LB_IF@$NS_L	# marllbd keys its pins by namespace and interface
WORK=$(mktemp -d /tmp/marllbd-e2e-XXXXXX)
PASSED=0 FAILED=0 SKIPPED=0
CASE_FAILED=0
DAEMON_PID=
SERVER_PIDS=()

log() { echo "    $*"; }

# Runs a command in a namespace's network without remounting /sys (ip netns exec would hide
# /sys/fs/bpf, where the maps are pinned).
in_ns() { local ns=$1; shift; nsenter --net=/run/netns/"$ns" "$@"; }

check() { # check "what" command...: one assertion
	local what=$1; shift
	if "$@"; then return 0; fi
	echo "    FAIL: $what"
	CASE_FAILED=1
	return 1
}

run_case() { # run_case name: calls case_name, prints ok/FAIL
	local name=$1
	CASE_FAILED=0
	echo "--- $name"
	local start=$SECONDS
	"case_$name"
	local rc=$?
	if [ "$rc" = 77 ]; then
		echo "SKIP daemon_e2e/$name: $SKIP_REASON"; SKIPPED=$((SKIPPED + 1))
	elif [ "$CASE_FAILED" = 0 ] && [ "$rc" = 0 ]; then
		echo "ok   daemon_e2e/$name ($((SECONDS - start)) s)"; PASSED=$((PASSED + 1))
	else
		echo "FAIL daemon_e2e/$name ($((SECONDS - start)) s)"; FAILED=$((FAILED + 1))
		[ -f "$WORK/daemon.log" ] && sed 's/^/    | /' "$WORK/daemon.log" | tail -n 25
	fi
	stop_daemon
}

summary() {
	echo "summary: $PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" = 0 ]
}

declare -A NS_PIDS=() # daemons of case two_namespaces

cleanup() {
	[ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null
	for pid in "${NS_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
	for i in "${!SERVER_PIDS[@]}"; do stop_server "$i"; done
	for ns in $NS_C $NS_L $NS_BR ${TAG}s1 ${TAG}s2 ${TAG}s3 ${TAG}n1 ${TAG}n2; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$PIN_DIR" /sys/fs/bpf/marllb/eth[01]@"$TAG"n? /sys/fs/bpf/marllb-"$TAG" \
		/run/marllb/"$LB_IF"@netns-*.lock /run/marllb/pins-*"$TAG"*.lock "$WORK"
	{ wait; } 2>/dev/null
}

# veth pair: $1 end in ns $2 named eth0 with address $3; the other end on the bridge.
attach_host() {
	local name=$1 ns=$2 ip=$3 ifname=${4:-eth0}
	ip netns add "$ns"
	ip link add "$ifname" netns "$ns" type veth peer name "$name" netns "$NS_BR"
	in_ns "$NS_BR" ip link set "$name" master br0 up
	in_ns "$ns" ip link set lo up
	in_ns "$ns" ip addr add "$ip/24" dev "$ifname"
	in_ns "$ns" ip link set "$ifname" up
	in_ns "$ns" ethtool -K "$ifname" tx off >/dev/null 2>&1
}

topology_up() {
	ip netns add "$NS_BR" || return 1
	in_ns "$NS_BR" ip link add br0 type bridge
	in_ns "$NS_BR" ip link set br0 up
	attach_host vc "$NS_C" "$CLIENT_IP" || return 1
	attach_host vl "$NS_L" "$LB_IP" "$LB_IF" || return 1
	# Native XDP_TX on the LB's veth needs an XDP program on its peer.
	in_ns "$NS_BR" ip link set dev vl xdpdrv obj "$BUILD/testbed/xdp_pass.o" sec xdp || return 1
	for i in 0 1 2; do
		local ns=${TAG}s$((i + 1))
		attach_host "v$((i + 1))" "$ns" "${SERVER_IPS[$i]}" || return 1
		in_ns "$ns" ip addr add "$VIP/32" dev lo
		in_ns "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	done
	in_ns "$NS_C" ip route add "$VIP/32" via "$LB_IP"
}

# start_server i service_ms [workers]: marllb-testsrv in server i's namespace on port 80
start_server() {
	local i=$1 ms=$2 workers=${3:-4}
	# nsenter execs the server: $! is the server's pid (a function in the background
	# would be a subshell, and killing it would leave the server running).
	nsenter --net=/run/netns/"${TAG}s$((i + 1))" "$BUILD/marllb-testsrv" --listen 0.0.0.0:80 \
		--workers "$workers" --service-ms "$ms" >"$WORK/srv$i.out" 2>&1 &
	SERVER_PIDS[$i]=$!
	for _ in $(seq 50); do
		grep -q "listening on" "$WORK/srv$i.out" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "    server $i did not start"; cat "$WORK/srv$i.out"
	return 1
}

stop_server() { # SIGTERM: the server stops accepting, finishes what it accepted, exits 0
	local i=$1 pid=${SERVER_PIDS[$1]}
	[ -z "$pid" ] && return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	SERVER_PIDS[$i]=
}

# write_config file policy [backend-line-override...]: the three servers behind the VIP
write_config() {
	local file=$1 policy=$2; shift 2
	{
		echo "vips = ( { address = \"$VIP\"; port = 80; protocol = \"tcp\";"
		echo "  policy = \"$policy\";"
		echo "  backends = ("
		local sep=""
		if [ $# -gt 0 ]; then
			for line in "$@"; do echo "$sep    $line"; sep=","; done
		else
			for ip in "${SERVER_IPS[@]}"; do
				echo "$sep    { address = \"$ip\"; weight = 1.0; }"; sep=","
			done
		fi
		echo "  ); } );"
	} >"$file"
}

METRICS_PORT=$((20000 + $$ % 20000))

# start_daemon args...: marllbd in the LB namespace; waits until the metrics endpoint answers.
# DAEMON_WRAP: a command marllbd runs under (e.g. setpriv with fewer capabilities).
DAEMON_WRAP=()
start_daemon() {
	nsenter --net=/run/netns/"$NS_L" "${DAEMON_WRAP[@]}" "$BUILD/marllbd" --iface "$LB_IF" \
		--metrics-port "$METRICS_PORT" --state-dir "$WORK/state" "$@" >>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		metrics >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "    marllbd did not come up"
	return 1
}

stop_daemon() { # SIGTERM, then wait (bounded)
	[ -z "$DAEMON_PID" ] && return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$DAEMON_PID" 2>/dev/null
	{ wait "$DAEMON_PID"; } 2>/dev/null
	DAEMON_PID=
}

metrics() { in_ns "$NS_L" curl -sf --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics"; }

# metric NAME backend-ip: the value of a per-backend sample of the last scrape in $WORK/m
metric() {
	awk -v n="$1" -v b="backend=\"$2\"" '$1 ~ "^"n"[{]" && index($1, b) { print $2 }' \
		"$WORK/m"
}
scrape() { metrics >"$WORK/m"; }

# load seconds rate [csv]: open-loop HTTP load from the client through the VIP
load() {
	local secs=$1 rate=$2 out=${3:-$WORK/load.out}
	# Poisson arrivals; the query "/" takes each server's own --service-ms.
	awk -v r="$rate" -v d="$secs" -v seed=$$ 'BEGIN { srand(seed); print "time\tquery"
		for (t = -log(1 - rand()) / r; t < d; t += -log(1 - rand()) / r)
			printf "%.6f\t/\n", t }' >"$WORK/trace.tsv" || return 1
	in_ns "$NS_C" "$BUILD/marllb-replay" --quiet --timeout 10 "$WORK/trace.tsv" \
		"http://$VIP:80" >"$out" 2>&1
}
load_field() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

# Open flows per backend straight from the pinned maps (found from the LB's namespace).
ctl_json() { in_ns "$NS_L" "$BUILD/marllbctl" status --iface "$LB_IF" --json; }

require_tools() {
	for t in nsenter unshare findmnt curl ethtool jq; do
		command -v $t >/dev/null || { SKIP_REASON="$t not installed"; return 77; }
	done
	for f in marllbd marllbctl marllb-testsrv marllb-replay testbed/xdp_pass.o; do
		[ -e "$BUILD/$f" ] || { echo "missing $BUILD/$f (run make)"; return 1; }
	done
	# No bpffs at /sys/fs/bpf (a fresh machine) is no reason to skip: marllbd mounts it.
}
