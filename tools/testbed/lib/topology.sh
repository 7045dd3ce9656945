# SPDX-License-Identifier: GPL-2.0
# Testbed topology in network namespaces (sourced by marllb-testbed and the selftest).
#
#   client ns   eth0 10.200.0.2 ──── c0 10.200.0.1   router ns
#                                     br0 10.200.1.1 (bridge; ports l<i>, s<j>)
#   LB ns i     mt<tag>l<i> 10.200.1.(10+i) ── l<i>  XDP marllb.o (native) on it
#   server ns j eth0 10.200.1.(100+j) ── s<j>         VIP 10.200.100.1 on lo (DSR)
#
# With --forward ipip or gue the servers sit in a subnet of their own behind the router
# (br1 10.200.2.1, servers 10.200.2.(100+j)): the LBs encapsulate to them through the router
# and each server strips the outer header with marllb_decap.o.
#
# The router reaches the VIP through a multipath route over the LBs, hashed on the 4-tuple
# (fib_multipath_hash_policy=1): the ECMP in front of a real LB tier. An LB rewrites the
# destination MAC to a server's and sends the frame back out (XDP_TX) onto the bridge; the
# server owns the VIP on lo (arp_ignore=1, arp_announce=2) and answers the client directly
# through the router (direct server return). In haproxy mode the LB owns the VIP instead and
# proxies to the servers' own addresses.
#
# Names: namespaces "$TB_PREFIX-<role>" and LB links "mt$TB_TAG<i>", which must be unique per
# run (the caller puts its pid in both). Addresses repeat across runs: every run has its own namespaces.

TB_VIP=10.200.100.1
TB_VIP_PORT=80
TB_CLIENT_IP=10.200.0.2
TB_ROUTER_IP=10.200.1.1
TB_FORWARD=${TB_FORWARD:-dsr-l2}

tb_ns() { echo "$TB_PREFIX-$1"; }
# LB links get names unique on the machine: marllbd locks and pins by interface name.
tb_lb_if() { echo "mt${TB_TAG}l$1"; }
tb_lb_ip() { echo "10.200.1.$((10 + $1))"; }
tb_srv_net() { [ "$TB_FORWARD" = dsr-l2 ] && echo 10.200.1 || echo 10.200.2; }
tb_srv_ip() { echo "$(tb_srv_net).$((100 + $1))"; }
# ipip, gue: LB i's outer sources, a prefix of its own
tb_lb_outer() { echo "10.201.$1.0/24"; }
# Fixed MACs make the LB configuration independent of ARP: 02:6d:6c:<role>:00:<index>.
tb_lb_mac() { printf '02:6d:6c:01:00:%02x' "$1"; }
tb_srv_mac() { printf '02:6d:6c:02:00:%02x' "$1"; }
TB_ROUTER_MAC=02:6d:6c:03:00:00 # br0: the LBs' next hop towards the servers (ipip, gue)
# The MAC an LB sends server j's packets to: the server's, or the router's when encapsulating.
tb_backend_mac() { [ "$TB_FORWARD" = dsr-l2 ] && tb_srv_mac "$1" || echo "$TB_ROUTER_MAC"; }

# nsenter, not `ip netns exec`: that one remounts /sys, which hides bpffs (pinned maps, libxdp)
# and the cgroup hierarchies; only the network namespace must change.
tb_exec() { local ns=$1; shift; nsenter --net="/run/netns/$(tb_ns "$ns")" -- "$@"; }
# In the background, output to LOG; TB_SPAWNED is the command's own pid (nsenter execs it).
tb_spawn() {
	local ns=$1 log=$2; shift 2
	nsenter --net="/run/netns/$(tb_ns "$ns")" -- "$@" >"$log" 2>&1 &
	TB_SPAWNED=$!
}

tb_log() { printf '[testbed %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
tb_die() { tb_log "error: $*"; exit 1; }

# Checksum offload off: after native XDP turns an skb into a frame and back, a partial
# checksum left by the sender would make the receiver drop the segment as corrupt.
tb_no_csum_offload() {
	local ns=$1 dev=$2
	tb_exec "$ns" ethtool -K "$dev" tx off >/dev/null 2>&1 ||
		tb_die "ethtool -K $dev tx off failed in $(tb_ns "$ns")"
}

# Moves one end of a new veth pair into each namespace: tb_veth NS_A DEV_A NS_B DEV_B MAC_B
tb_veth() {
	local ns_a=$1 dev_a=$2 ns_b=$3 dev_b=$4 mac_b=$5 tmp_a="tbv$$a" tmp_b="tbv$$b"
	ip link add "$tmp_a" type veth peer name "$tmp_b" || tb_die "cannot create veth"
	ip link set "$tmp_a" netns "$(tb_ns "$ns_a")" name "$dev_a" || tb_die "veth to $ns_a"
	ip link set "$tmp_b" netns "$(tb_ns "$ns_b")" name "$dev_b" || tb_die "veth to $ns_b"
	[ -n "$mac_b" ] && tb_exec "$ns_b" ip link set "$dev_b" address "$mac_b"
	tb_no_csum_offload "$ns_a" "$dev_a"
	tb_no_csum_offload "$ns_b" "$dev_b"
}

tb_sysctl() { tb_exec "$1" sysctl -qw "$2" >/dev/null || tb_die "sysctl $2 in $1"; }

# tb_up M N: builds the whole topology; tb_down removes it (safe to call twice).
tb_up() {
	local m=$1 n=$2 i j dev nexthops="" srv_br

	for r in cl rt; do ip netns add "$(tb_ns $r)" || tb_die "ip netns add $(tb_ns $r)"; done
	for ((i = 0; i < m; i++)); do ip netns add "$(tb_ns lb$i)" || tb_die "netns lb$i"; done
	for ((j = 0; j < n; j++)); do ip netns add "$(tb_ns s$j)" || tb_die "netns s$j"; done
	TB_UP=1

	# router
	tb_exec rt ip link set lo up
	tb_sysctl rt net.ipv4.ip_forward=1
	tb_sysctl rt net.ipv4.fib_multipath_hash_policy=1
	tb_sysctl rt net.ipv4.conf.all.rp_filter=0
	tb_sysctl rt net.ipv4.conf.default.rp_filter=0
	tb_exec rt ip link add br0 type bridge forward_delay 0 stp_state 0
	tb_exec rt ip link set br0 address "$TB_ROUTER_MAC"
	tb_exec rt ip addr add "$TB_ROUTER_IP/24" dev br0
	tb_exec rt ip link set br0 up
	srv_br=br0
	if [ "$TB_FORWARD" != dsr-l2 ]; then
		srv_br=br1
		tb_exec rt ip link add br1 type bridge forward_delay 0 stp_state 0
		tb_exec rt ip addr add "$(tb_srv_net).1/24" dev br1
		tb_exec rt ip link set br1 up
	fi

	# client
	tb_veth cl eth0 rt c0 ""
	tb_exec cl ip link set lo up
	tb_exec cl ip addr add "$TB_CLIENT_IP/24" dev eth0
	tb_exec cl ip link set eth0 up
	tb_exec cl ip route add default via 10.200.0.1
	tb_exec rt ip addr add 10.200.0.1/24 dev c0
	tb_exec rt ip link set c0 up

	for ((i = 0; i < m; i++)); do
		dev=$(tb_lb_if $i)
		tb_veth lb$i "$dev" rt l$i "" && tb_exec lb$i ip link set "$dev" address "$(tb_lb_mac $i)"
		tb_exec lb$i ip link set lo up
		tb_exec lb$i ip addr add "$(tb_lb_ip $i)/24" dev "$dev"
		tb_exec lb$i ip link set "$dev" up
		tb_exec lb$i ip route add default via "$TB_ROUTER_IP"
		tb_exec rt ip link set l$i master br0
		tb_exec rt ip link set l$i up
		nexthops="$nexthops nexthop via $(tb_lb_ip $i) dev br0"
	done
	for ((j = 0; j < n; j++)); do
		tb_veth s$j eth0 rt s$j "" && tb_exec s$j ip link set eth0 address "$(tb_srv_mac $j)"
		tb_exec s$j ip link set lo up
		tb_exec s$j ip addr add "$TB_VIP/32" dev lo
		tb_sysctl s$j net.ipv4.conf.all.arp_ignore=1
		tb_sysctl s$j net.ipv4.conf.all.arp_announce=2
		tb_sysctl s$j net.ipv4.conf.eth0.arp_ignore=1
		tb_sysctl s$j net.ipv4.conf.eth0.arp_announce=2
		tb_exec s$j ip addr add "$(tb_srv_ip $j)/24" dev eth0
		tb_exec s$j ip link set eth0 up
		tb_exec s$j ip route add default via "$(tb_srv_net).1"
		tb_exec rt ip link set s$j master "$srv_br"
		tb_exec rt ip link set s$j up
	done
	# shellcheck disable=SC2086
	tb_exec rt ip route add "$TB_VIP/32" $nexthops || tb_die "multipath route to the VIP"
	TB_M=$m
	TB_N=$n
}

# Native XDP_TX on a veth drops the frame unless the peer has an XDP program too: give the
# router's end of each LB link a pass-through program.
tb_peer_xdp_on() {
	local obj=$1 i
	for ((i = 0; i < TB_M; i++)); do
		tb_exec rt ip link set dev l$i xdpdrv obj "$obj" sec xdp ||
			tb_die "cannot attach $obj to the router's end of LB $i"
	done
}

# ipip, gue: each server strips the encapsulation for the VIP (native XDP, as users would).
tb_decap_on() {
	local obj=$1 j
	for ((j = 0; j < TB_N; j++)); do
		tb_exec s$j ip link set dev eth0 xdpdrv obj "$obj" ||
			tb_die "cannot attach $obj to server $j"
		tb_exec s$j "$TB_BIN/marllb-dp" -i eth0 decap vip "$TB_VIP" "$TB_VIP_PORT" ||
			tb_die "cannot configure the decapsulation on server $j"
	done
}

tb_any_alive() {
	local p
	for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done
	return 1
}

# Every process inside this run's namespaces was started by this run: stop them (TERM, then
# KILL after 3 s), then delete the namespaces and with them every link.
tb_down() {
	local ns pids all="" t
	[ -n "${TB_PREFIX:-}" ] || return 0
	for ns in $(ip netns list | awk '{print $1}' | grep "^$TB_PREFIX-"); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && all="$all $pids"
	done
	if [ -n "$all" ]; then
		# shellcheck disable=SC2086
		kill -TERM $all 2>/dev/null
		for ((t = 0; t < 30; t++)); do
			tb_any_alive $all || break
			sleep 0.1
		done
		# shellcheck disable=SC2086
		kill -KILL $all 2>/dev/null
	fi
	for ns in $(ip netns list | awk '{print $1}' | grep "^$TB_PREFIX-"); do
		ip netns del "$ns" 2>/dev/null
	done
	TB_UP=
}
