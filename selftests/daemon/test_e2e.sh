#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End-to-end tests of marllbd and marllbctl: a client, one LB running marllbd on native veth
# XDP, and three marllb-testsrv servers, all in network namespaces made here (lib.sh).
# Every load is bounded in requests and seconds. Run: selftests/daemon/test_e2e.sh [case...]
set -u
source "$(dirname "$0")/lib.sh"
MODEL_DEFAULT=$ROOT/models/marllb.model # compiled into marllbd as --default-model
trap cleanup EXIT
trap 'exit 130' INT TERM

xdp_prog_id() { in_ns "$NS_L" ip link show dev "$LB_IF" | grep -oE 'prog/xdp id [0-9]+' | awk '{print $3}'; }
# The configuration-derived part of the data plane as marllbctl shows it.
dp_shape() { ctl_json | jq -c '[.[].vips[] | {address, port, policy, backends: [.backends[] | {address, state, weight}]}]'; }
q_of() { ctl_json | jq -r --arg a "$1" '.[0].vips[0].backends[] | select(.address == $a) | .open_flows'; }
state_of() { ctl_json | jq -r --arg a "$1" '.[0].vips[0].backends[] | select(.address == $a) | "\(.state)/\(.health)"'; }
flows_to() { scrape; metric marllb_backend_task_duration_seconds_count "$1"; }
# The whole data plane, byte for byte: the attached program (id, tag) and every pinned map's
# contents (the ring buffer has none to dump). dp_dump config: only the maps a configuration
# writes (the others move with traffic and with a running daemon's status records).
CONFIG_MAPS="mlb_vips mlb_vip_addrs mlb_vip_filter mlb_backends mlb_pools mlb_weights"
dp_dump() {
	local id m
	id=$(xdp_prog_id)
	echo "prog: ${id:-none} $( [ -n "$id" ] && bpftool prog show id "$id" -j | jq -r .tag)"
	for m in "$PIN_DIR"/*; do
		[ -e "$m" ] || continue
		[ "${1:-}" = config ] && ! grep -qw "$(basename "$m")" <<<"$CONFIG_MAPS" && continue
		[ "$(bpftool map show pinned "$m" -j | jq -r .type)" = ringbuf ] && continue
		echo "map: $(basename "$m") $(bpftool map dump pinned "$m" -j | sha256sum | cut -c1-16)"
	done
}

# expect_fail "what" pattern args...: marllbd must exit non-zero and print pattern, both for a
# real start and for --check-config (the same validation)
expect_fail() {
	local what=$1 pattern=$2; shift 2
	local out rc check_only
	for check_only in "" --check-config; do
		out=$(in_ns "$NS_L" timeout 20 "$BUILD/marllbd" --iface "$LB_IF" --metrics-port 0 \
			--state-dir "$WORK/state" "$@" $check_only 2>&1)
		rc=$?
		check "$what${check_only:+ ($check_only)}: non-zero exit (got $rc)" [ "$rc" -ne 0 ]
		check "$what: exited by itself" [ "$rc" -ne 124 ]
		if ! echo "$out" | grep -qE -- "$pattern"; then
			echo "    FAIL: $what${check_only:+ ($check_only)}: message does not match /$pattern/: $out"
			CASE_FAILED=1
		fi
	done
}

bad_inputs() { # runs every bad input; each must fail cleanly
	local c=$WORK/bad.conf
	expect_fail "unknown option" "option '--frobnicate' is unknown" --frobnicate
	expect_fail "bad number" "--step: 'soon' is not a number" --step soon
	expect_fail "bad mode" "--mode: 'turbo' is not one of: native generic" --mode turbo
	expect_fail "missing config" "cannot open" --config "$WORK/none.conf"
	printf 'vips = (\n { address = ; port = 80; }\n);\n' >"$c"
	expect_fail "syntax error" "bad.conf:2: syntax error" --config "$c"
	write_config "$c" lsq "{ address = \"${SERVER_IPS[0]}\"; colour = \"red\"; }"
	expect_fail "unknown key" "bad.conf:4: unknown key 'colour' in a backend" --config "$c"
	write_config "$c" lsq "{ address = \"${SERVER_IPS[0]}\"; }" "{ address = \"10.0.0.300\"; }"
	expect_fail "bad address" "bad.conf:5: '10.0.0.300' is not an IPv4 or IPv6 address" \
		--config "$c"
	write_config "$c" lsq "{ address = \"${SERVER_IPS[0]}\"; }" "{ address = \"${SERVER_IPS[1]}\"; }" \
		"{ address = \"${SERVER_IPS[0]}\"; }"
	expect_fail "duplicate backend" "bad.conf:6: duplicate backend ${SERVER_IPS[0]} \\(first at line 4\\)" \
		--config "$c"
	write_config "$c" lsq "{ address = \"${SERVER_IPS[0]}\"; }" "{ address = \"$NET.99\"; }"
	expect_fail "unresolvable backend" "bad.conf:5: no MAC address for backend $NET.99" --config "$c"
	# Addresses that parse but make no sense (each once accepted and half applied).
	write_config "$c" sed "{ address = \"${SERVER_IPS[0]}\"; }" "{ address = \"fd00::12\"; }"
	expect_fail "IPv6 backend of an IPv4 VIP" "bad.conf:5: backend fd00::12 is IPv6 but VIP $VIP is IPv4" \
		--config "$c"
	write_config "$c" sed "{ address = \"0.0.0.0\"; }"
	expect_fail "backend 0.0.0.0" "bad.conf:4: backend 0.0.0.0 is the unspecified address" --config "$c"
	write_config "$c" sed "{ address = \"${SERVER_IPS[0]}\"; }" "{ address = \"$VIP\"; }"
	expect_fail "backend = VIP" "bad.conf:5: backend $VIP is the VIP itself" --config "$c"
	write_config "$c" sed "{ address = \"${SERVER_IPS[0]}\"; mac = \"00:00:00:00:00:00\"; }"
	expect_fail "MAC 00:00:00:00:00:00" "bad.conf:4: backend MAC 00:00:00:00:00:00 is the all-zero" \
		--config "$c"
	write_config "$c" lsq "{ address = \"${SERVER_IPS[0]}\"; weight = 5; }" \
		"{ address = \"${SERVER_IPS[1]}\"; mac = \"01:00:5e:00:00:01\"; }"
	expect_fail "multicast MAC" "bad.conf:5: backend MAC 01:00:5e:00:00:01 is a multicast" \
		--config "$c"
	write_config "$c" sed
	sed -i "s/\"$VIP\"/\"224.0.0.1\"/" "$c"
	expect_fail "multicast VIP" "bad.conf:1: VIP 224.0.0.1 is a multicast address" --config "$c"
	write_config "$c" sed
	sed -i "s/\"$VIP\"; port = 80/\"$LB_IP\"; port = 22/" "$c"
	expect_fail "VIP = the LB's own address, port 22" \
		"bad.conf:1: VIP $LB_IP is this host's own address \\($LB_IP/24 on $LB_IF\\)" --config "$c"
	write_config "$c" sed "{ address = \"${SERVER_IPS[0]}\"; }" "{ address = \"$LB_IP\"; }"
	expect_fail "backend = the LB" "bad.conf:5: backend $LB_IP is an address of this host" --config "$c"
	# A metrics port in use is found before the data plane is touched.
	nsenter --net=/run/netns/"$NS_L" "$BUILD/marllb-testsrv" --listen "127.0.0.1:$METRICS_PORT" \
		--workers 1 >"$WORK/squat.out" 2>&1 &
	local squat=$!
	for _ in $(seq 50); do grep -q "listening on" "$WORK/squat.out" && break; sleep 0.1; done
	write_config "$c" sed
	out=$(in_ns "$NS_L" timeout 20 "$BUILD/marllbd" --iface "$LB_IF" --config "$c" \
		--metrics-port "$METRICS_PORT" --state-dir "$WORK/state" 2>&1)
	rc=$?
	check "metrics port in use: exit 1 (got $rc)" [ "$rc" = 1 ]
	check "metrics port in use: said so ($out)" \
		grep -q "cannot listen on 127.0.0.1:$METRICS_PORT for metrics: Address already in use" <<<"$out"
	kill "$squat"
	{ wait "$squat"; } 2>/dev/null
	out=$(in_ns "$NS_L" "$BUILD/marllbd" --iface "${TAG}nosuch" --config "$c" 2>&1)
	local rc=$?
	check "missing interface: exit 1 (got $rc)" [ "$rc" -eq 1 ]
	check "missing interface named ($out)" grep -q "interface ${TAG}nosuch: No such device" <<<"$out"
	write_config "$c" marl
	expect_fail "missing model" "--model $WORK/no.model: .+" --config "$c" --model "$WORK/no.model"
	head -c 4096 /dev/urandom >"$WORK/corrupt.model"
	expect_fail "corrupt model" "--model $WORK/corrupt.model: .+" --config "$c" \
		--model "$WORK/corrupt.model"
}

case_bad_input() {
	local before after id_before
	# 1. Nothing attached yet: a bad input attaches nothing and pins nothing.
	bad_inputs
	check "nothing attached after bad inputs" [ -z "$(xdp_prog_id)" ]
	check "nothing pinned after bad inputs" [ ! -e "$PIN_DIR" ]
	# 2. A data plane left attached by an earlier daemon (fail static) stays as it was.
	write_config "$WORK/good.conf" sed
	start_daemon --config "$WORK/good.conf" || return 1
	stop_daemon
	id_before=$(xdp_prog_id)
	check "still attached after SIGTERM (fail static)" [ -n "$id_before" ]
	before=$(dp_dump)
	check "marllbctl reads the pinned maps without the daemon" \
		[ "$(ctl_json | jq -r '.[0].daemon.running')" = false ]
	check "marllbctl shows 3 backends" [ "$(dp_shape | jq '.[0].backends | length')" = 3 ]
	check "the dump covers the maps" [ "$(grep -c '^map: ' <<<"$before")" -ge 10 ]
	log "$(echo "$before" | tr "\n" " ")"
	bad_inputs
	after=$(dp_dump)
	check "program and maps byte-identical after bad inputs" [ "$before" = "$after" ]
	[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | sed 's/^/    /'
	check "same program attached" [ "$(xdp_prog_id)" = "$id_before" ]
	# marllbctl's man page names every option its --help lists.
	for o in $("$BUILD/marllbctl" --help | grep -oE -- '--[a-z-]+'); do
		check "marllbctl.8 documents $o" grep -qF -- "$(echo "$o" | sed 's/-/\\-/g')" \
			"$ROOT/Documentation/marllbctl.8"
	done
	# 3. --check-config validates without touching anything.
	out=$(in_ns "$NS_L" "$BUILD/marllbd" --iface "$LB_IF" --config "$WORK/good.conf" --check-config)
	check "--check-config OK ($out)" grep -q "OK: 1 VIPs, 3 backends" <<<"$out"
	# 4. --detach-on-exit leaves alone what this daemon did not attach...
	start_daemon --config "$WORK/good.conf" --detach-on-exit || return 1
	stop_daemon
	check "adopted program not detached" [ "$(xdp_prog_id)" = "$id_before" ]
	check "log says why" grep -q "was attached before this daemon started" "$WORK/daemon.log"
	# ... and detaches what it attached.
	in_ns "$NS_L" ip link set dev "$LB_IF" xdp off
	rm -rf "$PIN_DIR"
	start_daemon --config "$WORK/good.conf" --detach-on-exit || return 1
	check "attached in native mode, loudly" grep -q "attached marllb to $LB_IF in native XDP mode" \
		"$WORK/daemon.log"
	stop_daemon
	check "detached on exit" [ -z "$(xdp_prog_id)" ]
	check "pins removed on exit" [ ! -e "$PIN_DIR" ]
}

# The metrics text must follow the Prometheus exposition format: HELP/TYPE before samples,
# names and labels well-formed, values numbers.
prometheus_wellformed() {
	awk '
	function fail(why) { print "    bad line " NR ": " why ": " $0; bad = 1 }
	/^# HELP / { if ($3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) fail("HELP name"); next }
	/^# TYPE / {
		if ($4 !~ /^(counter|gauge|summary|histogram|untyped)$/) fail("TYPE")
		type[$3] = $4; next
	}
	/^#/ { next }
	/^$/ { fail("empty line"); next }
	{
		if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (NaN|[+-]Inf|[-+]?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?)$/)
			fail("sample syntax")
		name = $1; sub(/\{.*/, "", name); base = name
		sub(/_(sum|count)$/, "", base)
		if (!(name in type) && !((base in type) && type[base] == "summary"))
			fail("no TYPE for " name)
		samples++
	}
	END { if (!samples) { print "    no samples"; bad = 1 } exit bad }' "$1"
}

case_lsq_counts_and_metrics() {
	write_config "$WORK/lsq.conf" lsq
	start_daemon --config "$WORK/lsq.conf" --step 0.1 || return 1
	load 5 150 "$WORK/lsq.out" || return 1
	check "no request failed" [ "$(load_field failed "$WORK/lsq.out")" = 0 ]
	check "requests were served" [ "$(load_field ok "$WORK/lsq.out")" -gt 300 ]
	local total=0 n
	for _ in $(seq 30); do
		total=0
		for ip in "${SERVER_IPS[@]}"; do total=$((total + $(q_of "$ip"))); done
		[ "$total" = 0 ] && break
		sleep 0.1
	done
	check "all open-flow counts back to 0 (sum $total)" [ "$total" = 0 ]
	# the metric is marllbd's snapshot of q, taken each step: it may trail the maps by one
	for _ in $(seq 10); do
		scrape
		[ -z "$(awk '/^marllb_backend_open_flows[{]/ && $2 != 0' "$WORK/m")" ] && break
		sleep 0.1
	done
	check "metrics are well-formed Prometheus text" prometheus_wellformed "$WORK/m"
	log "task-duration samples per backend: $(for ip in "${SERVER_IPS[@]}"; do
		printf '%s ' "$(metric marllb_backend_task_duration_seconds_count "$ip")"; done)" \
		"(requests ok $(load_field ok "$WORK/lsq.out"), samples lost to the ring" \
		"$(m_value marllb_ring_lost_total), load average $(cut -d' ' -f1 /proc/loadavg))"
	for ip in "${SERVER_IPS[@]}"; do
		n=$(metric marllb_backend_task_duration_seconds_count "$ip")
		check "task durations sampled for $ip ($n)" [ "${n:-0}" -gt 50 ]
		check "open flows metric 0 for $ip" [ "$(metric marllb_backend_open_flows "$ip")" = 0 ]
	done
	check "slow server's mean task duration above twice a fast one's" awk -v s="$(metric marllb_backend_task_duration_mean_seconds "${SERVER_IPS[2]}")" \
		-v f="$(metric marllb_backend_task_duration_mean_seconds "${SERVER_IPS[0]}")" 'BEGIN { exit !(s > 2 * f) }'
	check "metrics says native mode" grep -q 'marllb_info{iface="'"$LB_IF"'",mode="native"' "$WORK/m"
	# The table form names every backend.
	check "marllbctl table" [ "$(in_ns "$NS_L" "$BUILD/marllbctl" status --iface "$LB_IF" | grep -c ' active ')" = 3 ]
}

case_heterogeneity_marl() {
	local t0 slow=${SERVER_IPS[2]}
	write_config "$WORK/marl.conf" marl
	rm -rf "$WORK/state" # a model saved by an earlier case would be resumed instead
	# marl as users run it: the shipped model (one model for any pool), acting on its mean,
	# learning online (a short warm-up so updates happen within the test's bounded load).
	# The safety net is off (its own unit test covers it) so the weights seen are the
	# agent's. The slow server is 4x slower; nothing tells the model so but its samples.
	start_daemon --config "$WORK/marl.conf" --warmup-steps 100 --updates-per-step 4 \
		--fallback-ratio 0 --seed 3 --save-interval 30 || return 1
	check "the shipped model, whatever the pool size" \
		grep -q "model from $MODEL_DEFAULT" "$WORK/daemon.log"
	load 75 250 "$WORK/marl.out" &
	local lp=$! logw="$WORK/weights.tsv"
	sleep 52
	local c0 c1 c2
	c0=$(flows_to "${SERVER_IPS[0]}") c1=$(flows_to "${SERVER_IPS[1]}") c2=$(flows_to "$slow")
	: >"$logw"
	for _ in $(seq 40); do # the last 20 s
		scrape
		echo "$(metric marllb_backend_weight "${SERVER_IPS[0]}") $(metric marllb_backend_weight "${SERVER_IPS[1]}") $(metric marllb_backend_weight "$slow")" >>"$logw"
		sleep 0.5
	done
	c0=$(($(flows_to "${SERVER_IPS[0]}") - c0)) c1=$(($(flows_to "${SERVER_IPS[1]}") - c1))
	c2=$(($(flows_to "$slow") - c2))
	wait $lp
	read -r g0 g1 g2 <<<"$(awk '{ for (i = 1; i <= 3; i++) s[i] += log($i) }
		END { printf "%.3f %.3f %.3f", exp(s[1]/NR), exp(s[2]/NR), exp(s[3]/NR) }' "$logw")"
	log "geometric mean weights over the last 20 s: fast $g0 $g1, slow $g2"
	log "new flows over the last 20 s: fast $c0 $c1, slow $c2"
	check "slow server's weight below the fast ones'" awk -v a="$g0" -v b="$g1" -v s="$g2" \
		'BEGIN { exit !(s < a && s < b) }'
	check "slow server's share of new flows below a third" \
		[ $((3 * c2)) -lt $((c0 + c1 + c2)) ]
	check "no request failed" [ "$(load_field failed "$WORK/marl.out")" = 0 ]
	scrape
	check "metrics with agent figures are well-formed" prometheus_wellformed "$WORK/m"
	for m in marllb_agent_reward marllb_agent_alpha marllb_agent_q_loss marllb_agent_pi_loss; do
		check "$m exported" grep -q "^$m{vip=" "$WORK/m"
	done
	check "marllbctl shows learned weights" \
		[ "$(ctl_json | jq -r '.[0].vips[0].mode')" = learned ]
	check "agent trained online" \
		[ "$(awk '/^marllb_agent_updates_total/ { print $2 }' "$WORK/m")" -gt 100 ]
	local saved
	saved=$(ls "$WORK/state/$LB_IF@$NS_L"/vip-*.model 2>/dev/null | head -1)
	check "model saved while running (--save-interval 30)" test -s "$saved"
	check "its training settings saved beside it" grep -q "^step 0.25" "$saved.settings"
	local inode # a save writes a new file and renames it over the old one
	inode=$(stat -c %i "$saved")
	stop_daemon
	check "model saved again on SIGTERM" [ "$(stat -c %i "$saved")" != "$inode" ]
	# The saved model loads as --model, and a restart resumes from it.
	local out
	out=$(in_ns "$NS_L" "$BUILD/marllbd" --iface "$LB_IF" --config "$WORK/marl.conf" \
		--model "$saved" --check-config 2>&1)
	check "saved model accepted by --model ($out)" grep -q "OK: 1 VIPs, 3 backends" <<<"$out"
	out=$(in_ns "$NS_L" "$BUILD/marllbd" --iface "$LB_IF" --config "$WORK/marl.conf" \
		--model "$saved" --step 1 --check-config 2>&1)
	check "a model run with other settings is warned about" \
		grep -q -- "--step 0.25 (trained) vs 1 (running)" <<<"$out"
	write_config "$WORK/marl2.conf" marl "{ address = \"${SERVER_IPS[0]}\"; }" \
		"{ address = \"${SERVER_IPS[1]}\"; }"
	out=$(in_ns "$NS_L" "$BUILD/marllbd" --iface "$LB_IF" --config "$WORK/marl2.conf" \
		--model "$saved" --check-config 2>&1)
	check "the same model serves a pool of another size ($out)" \
		grep -q "OK: 1 VIPs, 2 backends" <<<"$out"
	start_daemon --config "$WORK/marl.conf" --no-learn || return 1
	check "restart resumes the saved model" grep -q "model from $saved, .*not learning" \
		"$WORK/daemon.log"
}

# IPv6: a second VIP on the same data plane, backends found by neighbour discovery.
case_ipv6() {
	local net6=fd00:201:$(($$ % 9000 + 1000))
	local vip6=$net6::100 lb6=$net6::2 i ns
	in_ns "$NS_C" ip -6 addr add "$net6::3/64" dev eth0 nodad
	in_ns "$NS_L" ip -6 addr add "$lb6/64" dev "$LB_IF" nodad
	in_ns "$NS_C" ip -6 route add "$vip6/128" via "$lb6"
	for i in 0 1 2; do
		ns=${TAG}s$((i + 1))
		in_ns "$ns" ip -6 addr add "$net6::1$((i + 1))/64" dev eth0 nodad
		in_ns "$ns" ip -6 addr add "$vip6/128" dev lo nodad
		nsenter --net=/run/netns/"$ns" "$BUILD/marllb-testsrv" --listen "[::]:81" --workers 2 \
			--service-ms 5 >"$WORK/srv6_$i.out" 2>&1 &
		SERVER_PIDS[$((i + 3))]=$!
	done
	{
		echo "vips = ( { address = \"$VIP\"; port = 80; policy = \"lsq\";"
		echo "  backends = ( { address = \"${SERVER_IPS[0]}\"; } ); },"
		echo " { address = \"$vip6\"; port = 81; policy = \"sed\"; backends = ("
		echo "  { address = \"$net6::11\"; }, { address = \"$net6::12\"; },"
		echo "  { address = \"$net6::13\"; } ); } );"
	} >"$WORK/v6.conf"
	sleep 0.3
	start_daemon --config "$WORK/v6.conf" --step 0.1 --health-interval 0.2 || return 1
	local v6json health
	# health starts unknown: rise (2) checks at 0.2 s must pass first; bounded wait
	for _ in $(seq 50); do
		v6json=$(ctl_json | jq -c --arg a "$vip6" '.[0].vips[] | select(.address == $a)')
		health=$(echo "$v6json" | jq -r '[.backends[].health] | unique | join(",")')
		[ "$health" = up ] && break
		sleep 0.1
	done
	check "IPv6 VIP listed" [ "$(echo "$v6json" | jq '.backends | length')" = 3 ]
	check "IPv6 backends healthy within 5 s (health: $health)" [ "$health" = up ]
	awk -v d=3 -v r=100 -v seed=$$ 'BEGIN { srand(seed); print "time\tquery"
		for (t = -log(1 - rand()) / r; t < d; t += -log(1 - rand()) / r)
			printf "%.6f\t/\n", t }' >"$WORK/trace6.tsv"
	in_ns "$NS_C" "$BUILD/marllb-replay" --quiet --timeout 10 "$WORK/trace6.tsv" \
		"http://[$vip6]:81" >"$WORK/v6.out" 2>&1
	check "IPv6 requests served ($(load_field ok "$WORK/v6.out"))" \
		[ "$(load_field ok "$WORK/v6.out")" -gt 200 ]
	check "no IPv6 request failed" [ "$(load_field failed "$WORK/v6.out")" = 0 ]
	sleep 0.5
	v6json=$(ctl_json | jq -c --arg a "$vip6" '.[0].vips[] | select(.address == $a)')
	check "every IPv6 backend got flows" [ "$(echo "$v6json" | jq '[.backends[].packets | select(. > 0)] | length')" = 3 ]
	check "IPv6 open flows back to 0" [ "$(echo "$v6json" | jq '[.backends[].open_flows] | add')" = 0 ]
	scrape
	check "IPv6 VIP label in metrics" grep -q "vip=\"\[$vip6\]:81\"" "$WORK/m"
	for i in 3 4 5; do stop_server "$i"; done
}

# A program attached by the documented ip link command is adopted: configured through its
# own maps, which marllbd pins for marllbctl.
case_adopt_ip_link() {
	in_ns "$NS_L" ip link set dev "$LB_IF" xdp off
	rm -rf "$PIN_DIR"
	in_ns "$NS_L" ip link set dev "$LB_IF" xdpdrv obj "$ROOT/marllb.o" sec prog || return 1
	local id
	id=$(xdp_prog_id)
	write_config "$WORK/lsq.conf" lsq
	start_daemon --config "$WORK/lsq.conf" || return 1
	check "adopted the ip-link program" grep -q "adopted the marllb program attached to $LB_IF" \
		"$WORK/daemon.log"
	check "same program" [ "$(xdp_prog_id)" = "$id" ]
	check "maps pinned for marllbctl" [ "$(ctl_json | jq '.[0].vips[0].backends | length')" = 3 ]
	load 3 100 "$WORK/ip.out" || return 1
	check "traffic flows through it" [ "$(load_field ok "$WORK/ip.out")" -gt 200 ]
	check "no request failed" [ "$(load_field failed "$WORK/ip.out")" = 0 ]
}

case_kill9_adopt() {
	local id_before
	write_config "$WORK/lsq.conf" lsq
	start_daemon --config "$WORK/lsq.conf" || return 1
	id_before=$(xdp_prog_id)
	load 8 100 "$WORK/k9.out" &
	local lp=$!
	sleep 2
	kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
	sleep 1
	local before=0
	for ip in "${SERVER_IPS[@]}"; do before=$((before + $(ctl_json | jq -r --arg a "$ip" '.[0].vips[0].backends[] | select(.address == $a) | .packets'))); done
	start_daemon --config "$WORK/lsq.conf" || return 1
	check "restarted daemon adopted the program" grep -q "adopted the marllb program" "$WORK/daemon.log"
	check "same XDP program" [ "$(xdp_prog_id)" = "$id_before" ]
	wait $lp
	check "no request failed across kill -9 and restart ($(load_field failed "$WORK/k9.out") failed)" \
		[ "$(load_field failed "$WORK/k9.out")" = 0 ]
	check "all requests done" [ "$(load_field ok "$WORK/k9.out")" = "$(load_field requests "$WORK/k9.out")" ]
	local after=0
	for ip in "${SERVER_IPS[@]}"; do after=$((after + $(ctl_json | jq -r --arg a "$ip" '.[0].vips[0].backends[] | select(.address == $a) | .packets'))); done
	check "traffic continued after the restart ($before -> $after packets)" [ "$after" -gt "$before" ]
	sleep 0.5
	check "counts exact after the load" [ "$(ctl_json | jq '[.[0].vips[0].backends[].open_flows] | add')" = 0 ]
}

case_sighup_drain() {
	local drained=${SERVER_IPS[0]}
	stop_server 0 && start_server 0 1500 8 || return 1 # long requests: flows in progress
	write_config "$WORK/sed.conf" sed
	start_daemon --config "$WORK/sed.conf" --step 0.1 || return 1
	load 6 20 "$WORK/drain.out" &
	local lp=$!
	sleep 1
	local q_at_drain
	for _ in $(seq 20); do # drain while a flow is in progress on it
		q_at_drain=$(q_of "$drained")
		[ "$q_at_drain" -gt 0 ] && break
		sleep 0.1
	done
	write_config "$WORK/sed.conf" sed "{ address = \"$drained\"; state = \"draining\"; }" \
		"{ address = \"${SERVER_IPS[1]}\"; }" "{ address = \"${SERVER_IPS[2]}\"; }"
	kill -HUP "$DAEMON_PID"
	sleep 0.3
	check "backend draining after SIGHUP" [ "$(state_of "$drained")" = "draining/up" ]
	local prev grew=0 q
	prev=$(q_of "$drained") # from now on it takes no new flow
	local others_at_drain=$(($(flows_to "${SERVER_IPS[1]}") + $(flows_to "${SERVER_IPS[2]}")))
	for _ in $(seq 20); do
		q=$(q_of "$drained")
		[ "$q" -gt "$prev" ] && grew=1
		prev=$q
		sleep 0.2
	done
	wait $lp
	log "open flows on the drained backend at the reload: $q_at_drain"
	check "flows were open on it when it started draining" [ "$q_at_drain" -gt 0 ]
	check "no new flow went to the drained backend" [ "$grew" = 0 ]
	check "existing flows finished: no request failed" [ "$(load_field failed "$WORK/drain.out")" = 0 ]
	local others_after=$(($(flows_to "${SERVER_IPS[1]}") + $(flows_to "${SERVER_IPS[2]}")))
	check "the other backends took the new flows ($others_at_drain -> $others_after)" \
		[ $((others_after - others_at_drain)) -ge 40 ]
	# Removing a backend from the configuration drains it and frees its slot once idle.
	write_config "$WORK/sed.conf" sed "{ address = \"${SERVER_IPS[1]}\"; }" \
		"{ address = \"${SERVER_IPS[2]}\"; }"
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 30); do
		[ -z "$(state_of "$drained")" ] && break
		sleep 0.1
	done
	check "removed backend's slot freed" [ -z "$(state_of "$drained")" ]
	check "unchanged backends untouched" [ "$(state_of "${SERVER_IPS[1]}")" = "active/up" ]
	# Adding a backend takes a free slot (the one just freed) and puts it in service.
	write_config "$WORK/sed.conf" sed "{ address = \"${SERVER_IPS[1]}\"; }" \
		"{ address = \"${SERVER_IPS[2]}\"; }" "{ address = \"$drained\"; }"
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 20); do
		[ "$(state_of "$drained")" = "active/up" ] && break
		sleep 0.1
	done
	check "added backend active" [ "$(state_of "$drained")" = "active/up" ]
	check "added backend reuses the freed slot" [ "$(ctl_json | jq --arg a "$drained" \
		'.[0].vips[0].backends[] | select(.address == $a) | .slot')" = 0 ]
	# A broken file on reload changes nothing.
	local shape
	shape=$(dp_shape)
	printf 'vips = ( { address = "%s"; port = 80; policy = "lsq"; bogus = 1;\n backends = ( { address = "%s"; } ); } );\n' \
		"$VIP" "${SERVER_IPS[1]}" >"$WORK/sed.conf"
	kill -HUP "$DAEMON_PID"
	sleep 0.5
	check "bad reload rejected with file:line" grep -q "reload failed, the running configuration stays: $WORK/sed.conf:1: unknown key 'bogus'" \
		"$WORK/daemon.log"
	check "bad reload changed nothing" [ "$(dp_shape)" = "$shape" ]
	# The policy changes by reload too.
	write_config "$WORK/sed.conf" lsq "{ address = \"${SERVER_IPS[1]}\"; }" \
		"{ address = \"${SERVER_IPS[2]}\"; }"
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 20); do
		[ "$(ctl_json | jq -r '.[0].vips[0].policy')" = lsq ] && break
		sleep 0.1
	done
	check "policy switched to lsq by SIGHUP" [ "$(ctl_json | jq -r '.[0].vips[0].policy')" = lsq ]
	check "backends kept across the policy switch" [ "$(state_of "${SERVER_IPS[2]}")" = "active/up" ]
	stop_server 0 && start_server 0 10 4
}

case_health_down() {
	local dead=${SERVER_IPS[2]}
	write_config "$WORK/lsq.conf" lsq
	start_daemon --config "$WORK/lsq.conf" --step 0.1 --health-interval 0.2 \
		--health-timeout 0.2 --health-fall 2 --health-rise 2 || return 1
	sleep 0.5
	check "all up at first" [ "$(state_of "$dead")" = "active/up" ]
	stop_server 2
	# Expected after about fall x interval + timeout = 0.6 s; allowed 3 s (a loaded machine).
	local t0=$SECONDS
	for _ in $(seq 60); do
		[ "$(state_of "$dead")" = "down/down" ] && break
		sleep 0.1
	done
	check "stopped server marked down" [ "$(state_of "$dead")" = "down/down" ]
	check "within the health-check time ($((SECONDS - t0)) s)" [ $((SECONDS - t0)) -le 3 ]
	local before
	before=$(flows_to "$dead")
	load 3 100 "$WORK/hc.out" || return 1
	check "traffic avoids the down server: no request failed" \
		[ "$(load_field failed "$WORK/hc.out")" = 0 ]
	check "no new flow to the down server" [ "$(flows_to "$dead")" = "$before" ]
	start_server 2 40 2 || return 1
	for _ in $(seq 30); do
		[ "$(state_of "$dead")" = "active/up" ] && break
		sleep 0.1
	done
	check "recovered server back up" [ "$(state_of "$dead")" = "active/up" ]
}

# The safety net's mechanism end to end. The ratio 0.5 makes the learned weights "worse"
# unless they halve the task durations, so the fallback is certain; the thresholds
# themselves are covered by the unit test.
case_safety_fallback() {
	write_config "$WORK/marl.conf" marl
	start_daemon --config "$WORK/marl.conf" --step 0.1 --fallback-probe 1 --fallback-ratio 0.5 \
		--fallback-sustain 1 --fallback-hold 3 --no-learn --default-model "$WORK/none.model" ||
		return 1
	check "starts on SED weights (probe)" [ "$(ctl_json | jq -r '.[0].vips[0].mode')" = probe ]
	load 16 200 "$WORK/fb.out" &
	local lp=$! mode= w
	for _ in $(seq 140); do
		mode=$(ctl_json | jq -r '.[0].vips[0].mode')
		[ "$mode" = fallback ] && break
		sleep 0.1
	done
	check "fell back to SED (mode $mode)" [ "$mode" = fallback ]
	w=$(ctl_json | jq -c '[.[0].vips[0].backends[].weight]')
	check "SED weights in effect ($w)" [ "$w" = "[1,1,1]" ]
	check "the log says why" grep -qE "above 0.50 x the SED baseline .*falling back to SED for 3 s" \
		"$WORK/daemon.log"
	for _ in $(seq 50); do
		mode=$(ctl_json | jq -r '.[0].vips[0].mode')
		[ "$mode" = learned ] && break
		sleep 0.1
	done
	check "retried the learned weights after the hold" [ "$mode" = learned ]
	check "retry logged" grep -q "retrying learned weights after 3 s on SED" "$WORK/daemon.log"
	wait $lp
	check "no request failed" [ "$(load_field failed "$WORK/fb.out")" = 0 ]
}

# The part of case_fresh_bpffs that runs in a private mount namespace with /sys/fs/bpf
# unmounted: a brand-new machine's view, while the host's mounts stay as they are.
fresh_machine_run() {
	while findmnt -n -t bpf /sys/fs/bpf >/dev/null; do umount /sys/fs/bpf || return 1; done
	echo "before: $(stat -f -c %T /sys/fs/bpf)"
	nsenter --net=/run/netns/"$NS_L" "$BUILD/marllbd" --iface "$LB_IF" --config "$WORK/fresh.conf" \
		--metrics-port 0 --state-dir "$WORK/state" --detach-on-exit >"$WORK/fresh.log" 2>&1 &
	local pid=$!
	for _ in $(seq 100); do
		[ -e "$PIN_DIR/mlb_vips" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "after: $(stat -f -c %T /sys/fs/bpf)"
	local policy=
	for _ in $(seq 50); do # the pins come first, the configuration right after
		policy=$(in_ns "$NS_L" "$BUILD/marllbctl" status --iface "$LB_IF" --json |
			jq -r '.[0].vips[0].policy')
		[ "$policy" = lsq ] && break
		sleep 0.1
	done
	echo "policy: $policy"
	kill -TERM "$pid"
	wait "$pid"
	echo "exit: $?"
}

# A brand-new machine has no bpffs at /sys/fs/bpf: marllbd mounts it, says so, pins its maps
# there, and marllbctl reads them. Under `ip netns exec` (which remounts /sys, hiding bpffs)
# it mounts one too and warns that those pins are private to it.
case_fresh_bpffs() {
	local out host_bpffs
	host_bpffs=$(findmnt -n -t bpf /sys/fs/bpf)
	in_ns "$NS_L" ip link set dev "$LB_IF" xdp off
	write_config "$WORK/fresh.conf" lsq
	out=$(unshare --mount --propagation private bash -c \
		"$(declare -p NS_L LB_IF BUILD WORK PIN_DIR); $(declare -f in_ns fresh_machine_run);
		fresh_machine_run" 2>&1)
	log "$(echo "$out" | tr '\n' ' ')"
	check "no bpffs to start with" grep -qx "before: sysfs" <<<"$out"
	check "marllbd mounted bpffs" grep -qx "after: bpf_fs" <<<"$out"
	check "and said so" grep -q "bpffs was not mounted at /sys/fs/bpf; mounted it there" \
		"$WORK/fresh.log"
	check "marllbctl read the pins" grep -qx "policy: lsq" <<<"$out"
	check "clean exit" grep -qx "exit: 0" <<<"$out"
	check "detached on exit" [ -z "$(xdp_prog_id)" ]
	check "the host's mounts untouched" [ "$(findmnt -n -t bpf /sys/fs/bpf)" = "$host_bpffs" ]
	[ "$CASE_FAILED" = 0 ] || sed 's/^/    | /' "$WORK/fresh.log"

	ip netns exec "$NS_L" "$BUILD/marllbd" --iface "$LB_IF" --config "$WORK/fresh.conf" \
		--metrics-port "$METRICS_PORT" --state-dir "$WORK/state" --detach-on-exit \
		>>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		metrics >/dev/null 2>&1 && break
		sleep 0.1
	done
	check "serves under ip netns exec" metrics >/dev/null
	check "warns that its pins are private" grep -q "mount namespace of its own" \
		"$WORK/daemon.log"
	stop_daemon
	check "detached on exit" [ -z "$(xdp_prog_id)" ]
}

# write_many file n [policy]: a VIP (sed) with n backends 10.77.x.y that are not there (MACs
# given)
write_many() {
	local i
	{
		echo "vips = ( { address = \"$VIP\"; port = 80; policy = \"${3:-sed}\"; backends = ("
		for ((i = 0; i < $2; i++)); do
			printf '%s { address = "10.77.%d.%d"; mac = "02:77:00:00:%02x:%02x"; }\n' \
				"$([ "$i" -gt 0 ] && echo ,)" $((i / 200)) $((i % 200 + 1)) $((i / 200)) \
				$((i % 200 + 1))
		done
		echo "); } );"
	} >"$1"
}

# A reload is all or nothing: one that fails (in validation, or because the pool would need
# more slots than there are) leaves the running configuration byte for byte; the daemon goes
# on serving it; a good reload after it applies.
case_reload_all_or_nothing() {
	local before after c=$WORK/reload.conf
	write_config "$c" sed
	start_daemon --config "$c" --step 0.1 || return 1
	sleep 0.5
	before=$(dp_dump config)
	# 1. A policy change and a group MAC in one file (once: policy changed, then EINVAL).
	write_config "$c" lsq "{ address = \"${SERVER_IPS[0]}\"; weight = 5; }" \
		"{ address = \"${SERVER_IPS[1]}\"; mac = \"01:00:5e:00:00:01\"; }"
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 30); do grep -q "reload failed" "$WORK/daemon.log" && break; sleep 0.1; done
	check "bad MAC reload refused with file:line" grep -q \
		"reload failed, the running configuration stays: $c:5: backend MAC 01:00:5e:00:00:01" \
		"$WORK/daemon.log"
	after=$(dp_dump config)
	check "configuration maps byte-identical after the refused reload" [ "$before" = "$after" ]
	# 2. 254 new backends while the 3 old ones drain: 257 slots, 256 exist.
	write_many "$c" 254
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 50); do
		[ "$(grep -c "reload failed" "$WORK/daemon.log")" = 2 ] && break
		sleep 0.1
	done
	check "a reload that needs too many slots is refused" grep -q \
		"reload failed, the running configuration stays: VIP $VIP:80: its 254 backends and those still draining need more than 256 slots" \
		"$WORK/daemon.log"
	after=$(dp_dump config)
	check "configuration maps byte-identical after it" [ "$before" = "$after" ]
	check "nothing was applied in part" bash -c "! grep -q 'applied only in part\|added in slot 3' $WORK/daemon.log"
	load 2 100 "$WORK/ra.out" || return 1
	check "the running configuration still serves" [ "$(load_field failed "$WORK/ra.out")" = 0 ]
	check "and health checks go on" [ "$(state_of "${SERVER_IPS[0]}")" = "active/up" ]
	# 3. 253 fit (3 draining + 253): applied.
	write_many "$c" 253
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 50); do grep -q "configuration reloaded" "$WORK/daemon.log" && break; sleep 0.1; done
	check "a reload that fits is applied" grep -q "configuration reloaded (1 VIPs)" "$WORK/daemon.log"
	check "all its backends are on the data plane" \
		[ "$(ctl_json | jq '[.[0].vips[0].backends[] | select(.address | startswith("10.77."))] | length')" = 253 ]
}

# two_ns_daemon i iface args...: marllbd on an interface of namespace ${TAG}n$i, in the
# background, with the default metrics port
two_ns_daemon() {
	local i=$1 ifc=$2; shift 2
	nsenter --net=/run/netns/"${TAG}n$i" "$BUILD/marllbd" --iface "$ifc" --config "$WORK/ns$i.conf" \
		--mode generic --state-dir "$WORK/state2" --detach-on-exit "$@" >>"$WORK/ns$i.log" 2>&1 &
	NS_PIDS[$i$ifc]=$!
}

two_ns_stop() {
	local i
	for i in "${!NS_PIDS[@]}"; do
		kill -TERM "${NS_PIDS[$i]}" 2>/dev/null
		{ wait "${NS_PIDS[$i]}"; } 2>/dev/null
	done
	NS_PIDS=()
}

# Two namespaces, each with an interface named eth0 and a marllbd of its own: they run side by
# side, each with its own lock, pins and saved models, and marllbctl in each namespace shows
# its own. A --pin-root that both are given is refused to the second. Two instances in one
# namespace (eth0, eth1) take different default metrics ports.
case_two_namespaces() {
	local i ns ifc policy port pins=/sys/fs/bpf/marllb
	for i in 1 2; do
		ns=${TAG}n$i
		ip netns add "$ns" || return 1
		ip -n "$ns" link set lo up
		for ifc in eth0 eth1; do
			ip -n "$ns" link add "$ifc" type veth peer name "p$ifc"
			ip -n "$ns" link set "$ifc" up
			ip -n "$ns" link set "p$ifc" up
		done
		ip -n "$ns" addr add 10.99.0.1/24 dev eth0
		policy=$([ "$i" = 1 ] && echo sed || echo lsq)
		printf 'vips = ( { address = "10.99.0.100"; port = 80; policy = "%s";\n backends = ( { address = "10.99.0.1%d"; mac = "02:99:00:00:00:1%d"; } ); } );\n' \
			"$policy" "$i" "$i" >"$WORK/ns$i.conf"
		two_ns_daemon "$i" eth0
	done
	two_ns_daemon 1 eth1
	for _ in $(seq 100); do
		[ -e "$pins/eth0@${TAG}n1/mlb_vips" ] && [ -e "$pins/eth0@${TAG}n2/mlb_vips" ] &&
			[ -e "$pins/eth1@${TAG}n1/mlb_vips" ] && break
		sleep 0.1
	done
	sleep 0.5
	for i in 1 2; do
		check "marllbd in namespace $i runs" kill -0 "${NS_PIDS[${i}eth0]}"
		check "its pins are keyed by namespace" [ -e "$pins/eth0@${TAG}n$i/mlb_vips" ]
		check "marllbctl in namespace $i shows its own backend" [ "$(in_ns "${TAG}n$i" \
			"$BUILD/marllbctl" status --iface eth0 --json | jq -r '.[0].vips[0].backends[0].address')" = "10.99.0.1$i" ]
	done
	for ifc in eth0 eth1; do
		port=$((9640 + $(ip -n "${TAG}n1" -o link show dev "$ifc" | cut -d: -f1)))
		check "marllbd on $ifc serves metrics on its own default port $port" \
			bash -c "in_ns() { nsenter --net=/run/netns/\$1 \"\${@:2}\"; }; in_ns ${TAG}n1 curl -sf --max-time 2 http://127.0.0.1:$port/metrics | grep -q 'iface=\"$ifc\"'"
	done
	check "one lock each" [ "$(ls /run/marllb/eth[01]@netns-*.lock 2>/dev/null | wc -l)" -ge 3 ]
	# Stopping one leaves the other's pins alone.
	kill -TERM "${NS_PIDS[1eth0]}"; { wait "${NS_PIDS[1eth0]}"; } 2>/dev/null; unset 'NS_PIDS[1eth0]'
	check "the first's pins gone with it (--detach-on-exit)" [ ! -e "$pins/eth0@${TAG}n1" ]
	check "the second's pins untouched" [ "$(in_ns "${TAG}n2" "$BUILD/marllbctl" status \
		--iface eth0 --json | jq -r '.[0].vips[0].policy')" = lsq ]
	# One --pin-root for both: the second is refused, with the fix.
	two_ns_stop
	two_ns_daemon 1 eth0 --pin-root "$pins-$TAG"
	for _ in $(seq 50); do [ -e "$pins-$TAG/eth0/mlb_vips" ] && break; sleep 0.1; done
	local out rc
	out=$(in_ns "${TAG}n2" timeout 20 "$BUILD/marllbd" --iface eth0 --config "$WORK/ns2.conf" \
		--mode generic --metrics-port 0 --state-dir "$WORK/state2" --pin-root "$pins-$TAG" 2>&1)
	rc=$?
	check "a shared --pin-root is refused (rc $rc)" [ "$rc" = 1 ]
	check "naming the fix ($out)" grep -q "give this one a --pin-root of its own" <<<"$out"
	check "the first keeps its pins" [ -e "$pins-$TAG/eth0/mlb_vips" ]
	two_ns_stop
	for i in 1 2; do
		rm -f /run/marllb/eth[01]@netns-"$(stat -L -c %i "/run/netns/${TAG}n$i")".lock
		ip netns del "${TAG}n$i"
	done
	rm -f /run/marllb/pins-sys-fs-bpf-marllb-eth[01]@"$TAG"n?.lock
	rmdir "$pins-$TAG" 2>/dev/null
	rm -f /run/marllb/pins-sys-fs-bpf-marllb\\x2d"$TAG"-eth0.lock
}

# marllbd with exactly the systemd unit's capabilities (CAP_NET_ADMIN, CAP_SYS_ADMIN) attaches,
# serves and adopts; without CAP_SYS_ADMIN it names what is missing and changes nothing;
# marllbctl run by an unprivileged user says "permission denied".
case_capabilities() {
	local before out rc
	in_ns "$NS_L" ip link set dev "$LB_IF" xdp off
	rm -rf "$PIN_DIR"
	write_config "$WORK/caps.conf" sed
	DAEMON_WRAP=(setpriv --bounding-set -all,+net_admin,+sys_admin --inh-caps -all)
	start_daemon --config "$WORK/caps.conf" || { DAEMON_WRAP=(); return 1; }
	check "the unit's capabilities attach" grep -q "attached marllb to $LB_IF" "$WORK/daemon.log"
	check "and configure" [ "$(ctl_json | jq '.[0].vips[0].backends | length')" = 3 ]
	stop_daemon
	start_daemon --config "$WORK/caps.conf" || { DAEMON_WRAP=(); return 1; }
	DAEMON_WRAP=()
	check "and adopt" grep -q "adopted the marllb program on $LB_IF" "$WORK/daemon.log"
	stop_daemon
	before=$(dp_dump)
	out=$(in_ns "$NS_L" setpriv --bounding-set -sys_admin --inh-caps -all "$BUILD/marllbd" \
		--iface "$LB_IF" --config "$WORK/caps.conf" --metrics-port 0 --state-dir "$WORK/state" 2>&1)
	rc=$?
	check "without CAP_SYS_ADMIN: exit 1 (got $rc)" [ "$rc" = 1 ]
	check "naming the missing capability ($out)" grep -q "missing capabilities: CAP_SYS_ADMIN\." <<<"$out"
	check "and changing nothing" [ "$(dp_dump)" = "$before" ]
	out=$(in_ns "$NS_L" setpriv --reuid=65534 --regid=65534 --clear-groups "$BUILD/marllbctl" \
		status --iface "$LB_IF" 2>&1)
	rc=$?
	check "marllbctl as nobody: exit 1 (got $rc)" [ "$rc" = 1 ]
	check "says permission denied ($out)" grep -q "permission denied" <<<"$out"
}

# A corrupt saved model is reported, moved aside (kept) and never overwritten by the next save.
case_corrupt_saved_model() {
	local dir=$WORK/state/$LB_IF@$NS_L model aside
	model=$dir/vip-$VIP-80.model
	mkdir -p "$dir"
	head -c 4096 /dev/urandom >"$model"
	cp "$model" "$WORK/garbage.model"
	write_config "$WORK/marl.conf" marl
	start_daemon --config "$WORK/marl.conf" --step 0.1 --default-model "$WORK/none.model" || return 1
	check "reported as unusable" grep -q "saved model $model is unusable" "$WORK/daemon.log"
	aside=$(ls "$model".unused-* 2>/dev/null | head -1)
	check "moved aside, and said where" grep -q "kept as $aside" "$WORK/daemon.log"
	check "kept as it was" cmp -s "$aside" "$WORK/garbage.model"
	stop_daemon
	check "the new model saved in its place" test -s "$model"
	check "the copy still there after the save" cmp -s "$aside" "$WORK/garbage.model"
	rm -f "$model"*
}

# A reload whose map update fails half-way (a second VIP, while its address table is frozen
# read-only with bpftool) is rolled back: the configuration maps byte-identical, the daemon
# back on the running configuration (one VIP in marllbctl and the metrics), traffic served.
case_reload_map_failure() {
	local before after c=$WORK/fail.conf
	in_ns "$NS_L" ip link set dev "$LB_IF" xdp off
	rm -rf "$PIN_DIR"
	write_config "$c" lsq
	start_daemon --config "$c" --step 0.1 || return 1
	sleep 0.3
	before=$(dp_dump config)
	bpftool map freeze pinned "$PIN_DIR/mlb_vip_addrs" || { CASE_FAILED=1; return 1; }
	{
		echo "vips = ( { address = \"$VIP\"; port = 80; policy = \"lsq\";"
		echo "  backends = ( { address = \"${SERVER_IPS[0]}\"; }, { address = \"${SERVER_IPS[1]}\"; },"
		echo "    { address = \"${SERVER_IPS[2]}\"; } ); },"
		echo " { address = \"$NET.101\"; port = 80; policy = \"sed\";"
		echo "  backends = ( { address = \"${SERVER_IPS[1]}\"; } ); } );"
	} >"$c"
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 30); do grep -q "reload failed" "$WORK/daemon.log" && break; sleep 0.1; done
	check "the failed map update is reported" \
		grep -q "applying the configuration failed (Operation not permitted); the data plane's previous configuration was restored" \
		"$WORK/daemon.log"
	check "and the reload refused" grep -q "reload failed, the running configuration stays" \
		"$WORK/daemon.log"
	after=$(dp_dump config)
	check "configuration maps byte-identical" [ "$before" = "$after" ]
	[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | sed 's/^/    /'
	check "marllbctl shows the one VIP" [ "$(ctl_json | jq '.[0].vips | length')" = 1 ]
	scrape
	check "the daemon is back on it too" \
		[ "$(grep -c '^marllb_vip_new_flows_per_second{' "$WORK/m")" = 1 ]
	load 2 100 "$WORK/mf.out" || return 1
	check "traffic served" [ "$(load_field failed "$WORK/mf.out")" = 0 ]
	stop_daemon
	in_ns "$NS_L" ip link set dev "$LB_IF" xdp off # the frozen map goes with its program
	rm -rf "$PIN_DIR"
}

# vm_peak config: the address space (kB) a marllbd serving config peaked at
vm_peak() {
	local peak
	start_daemon --config "$1" --detach-on-exit --default-model "$WORK/none.model" || return 1
	peak=$(awk '/^VmPeak:/ { print $2 }' "/proc/$DAEMON_PID/status")
	stop_daemon
	echo "$peak"
}

# Running out of memory at start (a marl VIP of 256 backends under an address-space limit
# between what the same pool needs with lsq and with marl) leaves the interface as it was:
# nothing attached, nothing pinned (without --detach-on-exit, as operators run it). A start
# that fits is fully configured.
case_out_of_memory() {
	local lsq marl frac limit pid rc failed=0 started=0
	in_ns "$NS_L" ip link set dev "$LB_IF" xdp off
	rm -rf "$PIN_DIR"
	write_many "$WORK/oom-lsq.conf" 256 lsq
	write_many "$WORK/oom-marl.conf" 256 marl
	lsq=$(vm_peak "$WORK/oom-lsq.conf") && marl=$(vm_peak "$WORK/oom-marl.conf") || return 1
	rm -rf "$WORK/state" # the model it saved: the runs below start from scratch
	log "VmPeak serving 256 backends: lsq $lsq kB, marl $marl kB"
	check "the marl pool needs more memory ($lsq vs $marl kB)" [ "$marl" -gt "$lsq" ]
	for frac in 10 50 90; do
		limit=$((lsq + (marl - lsq) * frac / 100))
		: >"$WORK/oom.log"
		nsenter --net=/run/netns/"$NS_L" prlimit --as=$((limit * 1024)) "$BUILD/marllbd" \
			--iface "$LB_IF" --config "$WORK/oom-marl.conf" --metrics-port 0 \
			--state-dir "$WORK/state" --default-model "$WORK/none.model" >"$WORK/oom.log" 2>&1 &
		pid=$!
		for _ in $(seq 100); do
			grep -q "serving 1 VIPs" "$WORK/oom.log" && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null && ! grep -q "serving 1 VIPs" "$WORK/oom.log"; then
			check "limit $limit kB: marllbd neither served nor exited within 10 s" false
			kill -9 "$pid" 2>/dev/null
		elif grep -q "serving 1 VIPs" "$WORK/oom.log"; then
			started=$((started + 1))
			check "a start that fits is configured" \
				[ "$(ctl_json | jq '.[0].vips[0].backends | length')" = 256 ]
			kill -TERM "$pid"
		else
			failed=$((failed + 1))
			log "limit $limit kB: $(grep -m1 -E 'nothing was changed|as it was' "$WORK/oom.log")"
			check "out of memory: nothing attached" [ -z "$(xdp_prog_id)" ]
			check "out of memory: nothing pinned" [ ! -e "$PIN_DIR/mlb_vips" ]
		fi
		{ wait "$pid"; } 2>/dev/null
		rc=$?
		[ "$rc" != 0 ] && check "a failed start says so (rc $rc)" grep -q . "$WORK/oom.log"
		in_ns "$NS_L" ip link set dev "$LB_IF" xdp off
		rm -rf "$PIN_DIR"
	done
	log "under 3 limits: $failed starts ran out of memory, $started started"
	check "at least one start ran out of memory" [ "$failed" -ge 1 ]
}

m_value() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/m"; } # after scrape

# hostile_clients seconds: as nobody, one connection to the metrics port that sends a byte
# every 150 ms and never a whole request (connecting again whenever it is cut), and 12 more
# that send nothing
hostile_clients() {
	in_ns "$NS_L" setpriv --reuid=65534 --regid=65534 --clear-groups bash -c "
		trap '' PIPE
		exec 3<>/dev/tcp/127.0.0.1/$METRICS_PORT || exit 1
		for i in \$(seq 12); do exec {fd}<>/dev/tcp/127.0.0.1/$METRICS_PORT || true; done
		for i in \$(seq $(($1 * 100 / 15))); do
			printf G >&3 || exec 3<>/dev/tcp/127.0.0.1/$METRICS_PORT
			sleep 0.15
		done" 2>/dev/null
}

# An unprivileged local user once froze marllbd with one slow connection to the metrics port
# (control steps, health checks and metrics stopped for as long as it ran). The endpoint now
# cuts it at its deadline, refuses connections over its cap, and the loop keeps its period.
case_metrics_slow_client() {
	local steps0 steps1 t0 t1 expected age
	write_config "$WORK/lsq.conf" lsq
	start_daemon --config "$WORK/lsq.conf" --health-interval 0.5 || return 1 # step 0.25 s
	sleep 0.5
	scrape
	steps0=$(m_value marllb_control_steps_total)
	t0=$(date +%s.%N)
	hostile_clients 6 &
	local hp=$!
	sleep 3
	age=$(ctl_json | jq -r '.[0].daemon.status_age_s')
	check "status fresh while the hostile clients are connected (age $age s)" \
		awk -v a="$age" 'BEGIN { exit !(a < 0.75) }'
	wait "$hp"
	check "the hostile clients ran their 6 s" awk -v a="$t0" -v b="$(date +%s.%N)" \
		'BEGIN { exit !(b - a >= 5.5) }'
	for _ in $(seq 30); do scrape 2>/dev/null && break; sleep 0.1; done
	t1=$(date +%s.%N)
	steps1=$(m_value marllb_control_steps_total)
	expected=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) / 0.25 }')
	log "control steps in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s: $((steps1 - steps0)) (period 0.25 s: $expected)"
	check "control steps kept their period" [ $((steps1 - steps0)) -ge $((expected - 2)) ]
	check "no control step held up by a period or more" \
		[ "$(m_value 'marllb_timer_periods_missed_total{timer="control_step"}')" = 0 ]
	check "no health-check round held up" \
		[ "$(m_value 'marllb_timer_periods_missed_total{timer="health_check"}')" = 0 ]
	check "the slow client was cut at its deadline" \
		[ "$(m_value 'marllb_metrics_clients_total{result="cut"}')" -ge 1 ]
	check "connections over the cap were refused" \
		[ "$(m_value 'marllb_metrics_clients_total{result="refused"}')" -ge 1 ]
}

q_sum() { ctl_json | jq '[.[0].vips[0].backends[].open_flows] | add'; }

# set_q slot value: overwrite one open-flow count of VIP id 0 (a leak or a wrap made by hand)
set_q() {
	local hex i
	hex=$(printf '%08x' "$2" | sed -E 's/(..)(..)(..)(..)/\4 \3 \2 \1/')
	local bytes=()
	for i in $(seq 0 255); do
		if [ "$i" = "$1" ]; then bytes+=($hex); else bytes+=(00 00 00 00); fi
	done
	bpftool map update pinned "$PIN_DIR/mlb_queues" key 0 0 0 0 value hex "${bytes[@]}"
}

case_flow_hygiene() {
	write_config "$WORK/lsq.conf" lsq
	start_daemon --config "$WORK/lsq.conf" --step 0.1 --idle-established 1 --idle-half-open 1 \
		--reconcile-interval 0.3 || return 1
	# An established connection that then stays silent: counted, then reclaimed as idle.
	nsenter --net=/run/netns/"$NS_C" bash -c "exec 3<>/dev/tcp/$VIP/80; sleep 3.5" &
	local cp=$! seen=0 q
	for _ in $(seq 20); do
		q=$(q_sum); [ "$q" = 1 ] && { seen=1; break; }; sleep 0.1
	done
	check "idle connection counted" [ "$seen" = 1 ]
	for _ in $(seq 30); do
		q=$(q_sum); [ "$q" = 0 ] && break; sleep 0.1
	done
	check "idle flow reclaimed (q $q)" [ "$q" = 0 ]
	check "while the connection is still open" kill -0 "$cp"
	{ wait "$cp"; } 2>/dev/null # the client closes now: FIN of a reclaimed flow
	local max=0
	for _ in $(seq 10); do
		q=$(q_sum); [ "$q" -gt "$max" ] && max=$q; sleep 0.1
	done
	check "no double decrement after the late FIN (max q $max)" [ "$max" = 0 ]
	scrape
	check "reclaim counted" [ "$(awk '/^marllb_flows_reclaimed_total\{kind="established"\}/ { print $2 }' "$WORK/m")" -ge 1 ]
	# Counts that drifted (as after an LRU eviction) or wrapped below zero are corrected.
	set_q 0 5 && set_q 1 4294967295 || { CASE_FAILED=1; return 1; }
	for _ in $(seq 30); do
		[ "$(q_of "${SERVER_IPS[0]}")" = 0 ] && [ "$(q_of "${SERVER_IPS[1]}")" = 0 ] && break
		sleep 0.1
	done
	check "leaked count reconciled to 0" [ "$(q_of "${SERVER_IPS[0]}")" = 0 ]
	check "wrapped count reconciled to 0" [ "$(q_of "${SERVER_IPS[1]}")" = 0 ]
	scrape
	check "corrections counted" [ "$(awk '/^marllb_open_flow_corrections_total/ { print $2 }' "$WORK/m")" -ge 1 ]
}

CASES=(fresh_bpffs bad_input reload_all_or_nothing reload_map_failure metrics_slow_client two_namespaces
	capabilities corrupt_saved_model out_of_memory lsq_counts_and_metrics flow_hygiene health_down sighup_drain adopt_ip_link kill9_adopt
	ipv6 safety_fallback heterogeneity_marl)
[ $# -gt 0 ] && CASES=("$@")

if [ "$(id -u)" != 0 ]; then
	echo "SKIP daemon_e2e: needs root (network namespaces, XDP)"
	echo "summary: 0 passed, 0 failed, ${#CASES[@]} skipped"; exit 0
fi
require_tools; rc=$?
if [ "$rc" = 77 ]; then
	echo "SKIP daemon_e2e: $SKIP_REASON"
	echo "summary: 0 passed, 0 failed, ${#CASES[@]} skipped"; exit 0
elif [ "$rc" != 0 ]; then
	echo "summary: 0 passed, 1 failed, 0 skipped"; exit 1
fi
if ! topology_up; then
	echo "FAIL daemon_e2e: cannot build the test topology"
	echo "summary: 0 passed, 1 failed, 0 skipped"; exit 1
fi
start_server 0 10 2 && start_server 1 10 2 && start_server 2 40 2 || {
	echo "summary: 0 passed, 1 failed, 0 skipped"; exit 1; }
for c in "${CASES[@]}"; do
	: >"$WORK/daemon.log"
	run_case "$c"
done
summary
