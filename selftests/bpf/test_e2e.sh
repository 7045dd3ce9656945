#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End to end in network namespaces: a client, the LB with marllb.o attached by the documented
# `ip link set dev eth0 xdp obj marllb.o` (native veth XDP), three servers owning the VIP on
# lo, all on one bridge. Real TCP connections must complete, spread over the servers, and
# leave every q at 0 once closed. Also: the library's attach/pin/detach path.
set -u
cd "$(dirname "$0")/../.."
B=build
ID=$$
P="mlbe$ID"		# namespace prefix, unique per run
VIP=10.99.0.100
PORT=8080
N_CONN=30
passed=0 failed=0 skipped=0

ok() { echo "ok   test_e2e/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL test_e2e/$1: $2"; failed=$((failed + 1)); }
finish() {
	echo "summary: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}
. selftests/bpf/netns_lib.sh
cleanup() { topo_down; }
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ] || ! ip netns add "${P}probe" 2>/dev/null; then
	echo "SKIP test_e2e: needs root and network namespaces"
	skipped=1
	finish
fi
ip netns del "${P}probe"
for f in marllb.o $B/marllb-dp $B/xdp_pass.o $B/e2e_tcp; do
	[ -e "$f" ] || { fail setup "$f missing (run make)"; finish; }
done

if ! topo_up cli; then
	fail setup "building the namespaces failed"
	finish
fi

# The documented command, exactly.
if nsx lb ip link set dev eth0 xdp obj marllb.o &&
	nsx lb ip link show dev eth0 | grep -q 'prog/xdp id .* name marllb'; then
	ok attach_ip_link_native
else
	fail attach_ip_link_native "ip link set dev eth0 xdp obj marllb.o did not attach natively"
	finish
fi

DP="nsx lb $B/marllb-dp -i eth0"
vip_id=$($DP vip $VIP $PORT marl) || { fail configure "vip"; finish; }
backends_add "$vip_id" || { fail configure "backends"; finish; }
ok configure_from_interface

if nsx lb bpftool map dump name mlb_vips 2>/dev/null | grep -q '"n_backends": 3'; then
	ok bpftool_dump_shows_fields
else
	fail bpftool_dump_shows_fields "bpftool map dump name mlb_vips has no named fields"
fi

servers_start $PORT 60
samples=$(mktemp)
trap 'topo_down; rm -f "$samples"' EXIT
$DP samples 4 >"$samples" &
sampler=$!
sleep 0.3
out=$(nsx cli timeout 60 $B/e2e_tcp connect $VIP $PORT $N_CONN 50)
rc=$?
echo "$out" | sed 's/^/    /'
if [ $rc -eq 0 ]; then
	ok tcp_connections_complete
else
	fail tcp_connections_complete "not all $N_CONN connections got an answer"
fi
used=$(echo "$out" | grep -c '^server[123] [1-9]')
if [ "$used" -eq 3 ]; then
	ok spread_over_servers
else
	fail spread_over_servers "only $used of 3 servers used"
fi

# q back to 0 once every client FIN went through (poll: the last FIN may still be in flight)
qsum=-1
for _ in $(seq 20); do
	qsum=$($DP queues "$vip_id" 3 | awk '{s += $1} END {print s}')
	[ "$qsum" = 0 ] && break
	sleep 0.1
done
if [ "$qsum" = 0 ]; then
	ok queues_back_to_zero
else
	fail queues_back_to_zero "sum of q is $qsum after all connections closed"
fi
wait $sampler
n_new=$(grep -c '^new_flow ' "$samples")
n_task=$(grep -c '^task ' "$samples")
n_fct=$(grep -c '^fct ' "$samples")
# every value positive and below the test's length (10 s)
bad=$(awk '$1 != "new_flow" && ($4 <= 0 || $4 > 10000000000)' "$samples" | wc -l)
for kind in task fct; do
	awk -v k=$kind '$1 == k {print $4 / 1000}' "$samples" | sort -n |
		awk -v k=$kind '{v[NR] = $1} END {if (NR) printf "    %s us: min %.0f median %.0f max %.0f\n", k, v[1], v[int((NR + 1) / 2)], v[NR]}'
done
if [ "$n_new" = "$N_CONN" ] && [ "$n_task" = "$N_CONN" ] && [ "$n_fct" = "$N_CONN" ] &&
	[ "$bad" = 0 ]; then
	ok samples_from_real_tcp
else
	fail samples_from_real_tcp "new_flow $n_new task $n_task fct $n_fct (bad values $bad)," \
		"expected $N_CONN of each"
fi
stats=$($DP stats)
new=$(echo "$stats" | awk '$1 == "new_flows" {print $2}')
closed=$(echo "$stats" | awk '$1 == "closed_flows" {print $2}')
if [ "$new" = "$N_CONN" ] && [ "$closed" = "$N_CONN" ]; then
	ok flows_counted
else
	fail flows_counted "new_flows $new closed_flows $closed, expected $N_CONN each"
fi
kill $server_pids 2>/dev/null
wait $server_pids 2>/dev/null

# The library's own path: attach with libxdp, pin (0600), open the pins, detach.
netns_add at && ip link add eth0 netns "${P}at" type veth peer name peer0 netns "${P}at"
nsx at ip link set eth0 up && nsx at ip link set peer0 up
res=$(nsx at sh -c "mount -t bpf bpf /sys/fs/bpf &&
	$B/marllb-dp attach eth0 generic 2>/dev/null | grep -c 'flow table 262144 entries (.* MiB)' &&
	ip link show dev eth0 | grep -c 'prog/xdp.*name marllb' &&
	stat -c %a /sys/fs/bpf/marllb/eth0/mlb_vips &&
	$B/marllb-dp -p /sys/fs/bpf/marllb/eth0 vip 10.98.0.1 80 sed &&
	$B/marllb-dp -i eth0 vip 10.98.0.1 80 lsq &&
	$B/marllb-dp detach eth0 &&
	ip link show dev eth0 | grep -c xdp; ls /sys/fs/bpf/marllb/eth0 2>&1 | grep -c 'No such'
	ip link set dev eth0 xdp obj marllb.o && $B/marllb-dp -i eth0 pin /sys/fs/bpf/mlb/x &&
	$B/marllb-dp -p /sys/fs/bpf/mlb/x stats | grep -c new_flows &&
	ip link set dev eth0 xdp off")
if [ "$(echo $res)" = "1 1 600 0 0 0 1 1" ]; then
	ok library_attach_pin_detach
else
	fail library_attach_pin_detach "got '$(echo $res)', expected '1 1 600 0 0 0 1 1'"
fi
finish
