#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End to end in network namespaces, routed: the client, the LB and three servers each in their
# own subnet behind a router. The LB (marllb.o by `ip link ... xdp obj`, native veth XDP)
# encapsulates to the servers' addresses and sends to the router; each server strips the outer
# header with marllb_decap.o (`ip link ... xdp obj`, native) and answers the client directly.
# For ipip and gue, IPv4 and IPv6, and IPv4 in IPv6: real TCP requests all complete, spread
# over the servers, q returns to 0, one new-flow, task and FCT sample per connection, and the
# servers count what they stripped. Requests larger than the path MTU allows once
# encapsulated get through by path MTU discovery (the LB's ICMP "too big" answers).
#
#   cli 10.91.1.1 --- rt --- lb 10.91.2.2 (eth0: marllb.o)
#                      |
#                      br0 --- s1..s3 10.91.3.11-13 (eth0: marllb_decap.o; VIPs on lo)
# and fd91:1::1, fd91:2::2, fd91:3::11-13; the router routes the VIPs (and the LB's outer
# sources) to the LB.
set -u
cd "$(dirname "$0")/../.."
B=build
P="mlbx$$" # namespace prefix, unique per run
VIP4=10.91.9.100
VIP6=fd91:9::100
VIP46=10.91.9.101 # an IPv4 VIP with IPv6 backends
# The LB's outer sources: prefixes of their own, routed to the LB. (Inside the LB's subnet
# they would take in the router's address and the broadcast address, whose packets the
# router drops as martians: Documentation/dataplane.md, "Forwarding modes".)
SRC4=10.91.200.0/24
SRC6=fd91:200::/112
N_CONN=20
BIG=6000 # bytes of a large request: full-sized segments
passed=0 failed=0 skipped=0

ok() { echo "ok   test_encap_e2e/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL test_encap_e2e/$1: $2"; failed=$((failed + 1)); }
finish() {
	echo "summary: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}
. selftests/bpf/netns_lib.sh # nsx, netns_add, topo_down
cleanup() {
	topo_down
	rm -f "${samples:-}"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ] || ! ip netns add "${P}probe" 2>/dev/null; then
	echo "SKIP test_encap_e2e: needs root and network namespaces"
	skipped=1
	finish
fi
ip netns del "${P}probe"
for f in marllb.o marllb_decap.o $B/marllb-dp $B/xdp_pass.o $B/e2e_tcp; do
	[ -e "$f" ] || { fail setup "$f missing (run make)"; finish; }
done

# link NS IFACE RT_IFACE: a veth from namespace NS (IFACE) to the router (RT_IFACE)
link() {
	ip link add "$2" netns "$P$1" type veth peer name "$3" netns "${P}rt" &&
		nsx "$1" ip link set "$2" up && nsx rt ip link set "$3" up &&
		nsx "$1" ethtool -K "$2" tx off >/dev/null && nsx rt ethtool -K "$3" tx off >/dev/null
}

topo_up() {
	local ns i
	for ns in rt cli lb s1 s2 s3; do
		netns_add "$ns" || return 1
		nsx "$ns" ip link set lo up
	done
	# loose reverse-path filtering, as a DSR fabric has it: the servers' answers come from the
	# VIP, which is routed to the LB
	nsx rt sysctl -qw net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=2
	nsx rt sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	link cli eth0 ecli && link lb eth0 elb || return 1
	nsx rt ip link add br0 type bridge && nsx rt ip link set br0 up || return 1
	for i in 1 2 3; do
		link "s$i" eth0 "es$i" && nsx rt ip link set "es$i" master br0 || return 1
	done
	nsx rt ip addr add 10.91.1.254/24 dev ecli
	nsx rt ip addr add fd91:1::fe/64 dev ecli nodad
	nsx rt ip addr add 10.91.2.254/24 dev elb
	nsx rt ip addr add fd91:2::fe/64 dev elb nodad
	nsx rt ip addr add 10.91.3.254/24 dev br0
	nsx rt ip addr add fd91:3::fe/64 dev br0 nodad
	nsx cli ip addr add 10.91.1.1/24 dev eth0
	nsx cli ip addr add fd91:1::1/64 dev eth0 nodad
	nsx lb ip addr add 10.91.2.2/24 dev eth0
	nsx lb ip addr add fd91:2::2/64 dev eth0 nodad
	nsx cli ip route add default via 10.91.1.254
	nsx lb ip route add default via 10.91.2.254
	nsx cli ip -6 route add default via fd91:1::fe
	nsx lb ip -6 route add default via fd91:2::fe
	for i in 1 2 3; do
		nsx "s$i" ip addr add "10.91.3.1$i/24" dev eth0
		nsx "s$i" ip addr add "fd91:3::1$i/64" dev eth0 nodad
		nsx "s$i" ip route add default via 10.91.3.254
		nsx "s$i" ip -6 route add default via fd91:3::fe
		for v in $VIP4/32 $VIP46/32 $VIP6/128; do
			nsx "s$i" ip addr add "$v" dev lo
		done
	done
	for v in $VIP4 $VIP46 $SRC4; do
		nsx rt ip route add "$v" via 10.91.2.2
	done
	nsx rt ip -6 route add "$VIP6" via fd91:2::2
	nsx rt ip -6 route add "$SRC6" via fd91:2::2
	# XDP_TX on native veth needs a program on the peer (../../shared/machine.md, 3)
	nsx rt ip link set dev elb xdp obj "$B/xdp_pass.o" sec xdp
}

if ! topo_up; then
	fail setup "building the namespaces failed"
	finish
fi

# The documented commands: the LB and the servers attach by ip link.
ok_attach=1
nsx lb ip link set dev eth0 xdp obj marllb.o || ok_attach=0
for i in 1 2 3; do
	nsx "s$i" ip link set dev eth0 xdp obj marllb_decap.o || ok_attach=0
	for v in $VIP4 $VIP46 $VIP6; do
		nsx "s$i" $B/marllb-dp -i eth0 decap vip $v || ok_attach=0
	done
done
if [ $ok_attach = 1 ] && nsx s1 ip link show dev eth0 | grep -q 'prog/xdp id .* name marllb_decap' &&
	nsx lb ip link show dev eth0 | grep -q 'prog/xdp id .* name marllb '; then
	ok attach_ip_link_native
else
	fail attach_ip_link_native "marllb.o or marllb_decap.o did not attach natively"
	finish
fi

DP="nsx lb $B/marllb-dp -i eth0"
RT_MAC=$(nsx rt cat /sys/class/net/elb/address) # the next hop towards every server
SRC="source $SRC4 source $SRC6"
# vip NAME ADDR PORT MODE BACKEND_FAMILY: configures a VIP, prints its id
vip() {
	local id i addr
	id=$($DP vip "$2" "$3" lsq forward "$4" $SRC) || return 1
	for i in 1 2 3; do
		addr=10.91.3.1$i
		[ "$5" = 6 ] && addr=fd91:3::1$i
		$DP backend "$id" $((i - 1)) "$addr" "$RT_MAC" active 1 >/dev/null || return 1
	done
	echo "$id"
}
# name addr port mode backend-family
CASES="ipip4 $VIP4 8080 ipip 4
gue4 $VIP4 8081 gue 4
ipip6 $VIP6 8080 ipip 6
gue6 $VIP6 8081 gue 6
ipip4in6 $VIP46 8080 ipip 6"
declare -A ID
while read -r name addr port mode fam; do
	ID[$name]=$(vip "$name" "$addr" "$port" "$mode" "$fam") || { fail configure "$name"; finish; }
done <<<"$CASES"
ok configure_vips

server_pids=""
for i in 1 2 3; do
	for port in 8080 8081; do
		nsx "s$i" $B/e2e_tcp serve $port "server$i" 120 &
		server_pids="$server_pids $!"
	done
done
sleep 0.3
samples=$(mktemp)
$DP samples 120 >"$samples" &
sampler=$!
sleep 0.3

stat_of() { $DP stats | awk -v k="$1" '$1 == k {print $2}'; }
while read -r name addr port mode fam; do
	id=${ID[$name]}
	out=$(nsx cli timeout 30 $B/e2e_tcp connect "$addr" "$port" $N_CONN 25)
	rc=$?
	used=$(echo "$out" | grep -c '^server[123] [1-9]')
	if [ $rc -eq 0 ] && [ "$used" -eq 3 ]; then
		ok "${name}_requests_complete"
	else
		fail "${name}_requests_complete" "rc $rc, $used of 3 servers used: $(echo $out)"
	fi
	icmp0=$(stat_of icmp_too_big)
	out=$(nsx cli timeout 30 $B/e2e_tcp connect "$addr" "$port" 3 25 $BIG)
	rc=$?
	icmp1=$(stat_of icmp_too_big)
	if [ $rc -eq 0 ] && [ "$icmp1" -gt "$icmp0" ]; then
		ok "${name}_path_mtu_discovery"
	else
		fail "${name}_path_mtu_discovery" "rc $rc, ICMP answers $icmp0 -> $icmp1"
	fi
	qsum=-1
	for _ in $(seq 20); do
		qsum=$($DP queues "$id" 3 | awk '{s += $1} END {print s}')
		[ "$qsum" = 0 ] && break
		sleep 0.1
	done
	if [ "$qsum" = 0 ]; then
		ok "${name}_queues_back_to_zero"
	else
		fail "${name}_queues_back_to_zero" "sum of q is $qsum after all connections closed"
	fi
done <<<"$CASES"

kill $sampler 2>/dev/null
wait $sampler 2>/dev/null
want=$((N_CONN + 3))
while read -r name addr port mode fam; do
	id=${ID[$name]}
	got=$(awk -v v="$id" '$3 != "" && $2 == v {n[$1]++} END {printf "%d %d %d", n["new_flow"], n["task"], n["fct"]}' "$samples")
	if [ "$got" = "$want $want $want" ]; then
		ok "${name}_samples"
	else
		fail "${name}_samples" "new_flow task fct: $got, expected $want each"
	fi
done <<<"$CASES"

# Each server stripped the kinds it was sent, and declined nothing.
bad=""
for i in 1 2 3; do
	st=$(nsx "s$i" $B/marllb-dp -i eth0 decap stats | tr '\n' ' ')
	echo "    s$i: $st"
	for k in ipip ip6ip6 ip4ip6 gue; do
		echo "$st" | grep -qE "(^| )$k [1-9]" || bad="$bad s$i:$k"
	done
	echo "$st" | grep -qE "not_vip 0 .*malformed 0" || bad="$bad s$i:declined"
done
if [ -z "$bad" ]; then
	ok decap_counters
else
	fail decap_counters "missing or wrong:$bad"
fi
kill $server_pids 2>/dev/null
wait $server_pids 2>/dev/null
drops=$($DP stats | awk '$1 ~ /^drop_/ && $2 != 0' | tr '\n' ' ')
if [ -z "$drops" ]; then
	ok no_drops
else
	fail no_drops "$drops"
fi
finish
