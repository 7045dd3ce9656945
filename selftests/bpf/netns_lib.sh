# SPDX-License-Identifier: GPL-2.0
# The one-bridge topology of the data plane's namespace tests, sourced by them. Set P (a
# namespace prefix unique per run), VIP and B (build directory) first.
#   clients (10.99.0.1, .3, .4, ...) -- bridge -- LB (10.99.0.2, eth0)
#                                           \---- servers s1..s3 (10.99.0.11-13, VIP on lo)
# The clients reach the VIP through the LB; the servers answer them directly (L2 DSR). Gotchas
# of ../../shared/machine.md: TX checksum offload off (4), an XDP program on the LB's bridge
# port so that XDP_TX on native veth works (3).

nsx() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }

# netns_add NAME: a namespace that topo_down removes
TOPO_NS=""
netns_add() { ip netns add "$P$1" && TOPO_NS="$TOPO_NS $1"; }

# topo_up CLIENT...: the bridge, the LB, three servers and the named client namespaces
topo_up() {
	local ns i=0 addr
	netns_add sw && nsx sw ip link add br0 type bridge && nsx sw ip link set br0 up || return 1
	for ns in lb s1 s2 s3 "$@"; do
		netns_add "$ns" || return 1
		ip link add eth0 netns "$P$ns" type veth peer name "p$ns" netns "${P}sw" || return 1
		nsx sw ip link set "p$ns" master br0 up || return 1
		nsx "$ns" ip link set lo up
		nsx "$ns" ip link set eth0 up
		nsx "$ns" ethtool -K eth0 tx off >/dev/null 2>&1
	done
	nsx lb ip addr add 10.99.0.2/24 dev eth0
	for i in 1 2 3; do
		nsx "s$i" ip addr add "10.99.0.1$i/24" dev eth0
		nsx "s$i" ip addr add "$VIP/32" dev lo
		nsx "s$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	done
	i=0
	for ns in "$@"; do
		addr=$((i == 0 ? 1 : i + 2))
		nsx "$ns" ip addr add "10.99.0.$addr/24" dev eth0
		nsx "$ns" ip route add "$VIP/32" via 10.99.0.2
		i=$((i + 1))
	done
	nsx sw ip link set dev plb xdp obj "$B/xdp_pass.o" sec xdp
}

# topo_down: every namespace netns_add made, and the processes in them
topo_down() {
	local ns
	for ns in $TOPO_NS; do
		ip netns pids "$P$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$P$ns" 2>/dev/null
	done
	TOPO_NS=""
}

# backends_add VIP_ID: the three servers as backends 0..2 of the VIP (through marllb-dp -i)
backends_add() {
	local s mac
	for s in 1 2 3; do
		mac=$(nsx "s$s" cat /sys/class/net/eth0/address)
		nsx lb "$B/marllb-dp" -i eth0 backend "$1" $((s - 1)) "10.99.0.1$s" "$mac" active 1 ||
			return 1
	done
}

# servers_start PORT SECONDS: e2e_tcp servers named server1..3; pids in server_pids
server_pids=""
servers_start() {
	local s
	for s in 1 2 3; do
		ip netns exec "${P}s$s" "$B/e2e_tcp" serve "$1" "server$s" "$2" &
		server_pids="$server_pids $!"
	done
	sleep 0.3
}
