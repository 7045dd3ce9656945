# SPDX-License-Identifier: GPL-2.0
# One measured phase: one policy, one load level, one repeat (sourced by marllb-testbed after
# the other libraries).
#
#   LBs up -> a request through each path -> [marl-trained: --train s of learning, not
#   measured] -> the segment: --warmup s (not measured), then --duration s measured; the
#   noisy neighbours switch on and off at their times -> every connection closed -> LB
#   counters read -> LBs down
#
# Files in the level's directory, TAG = <policy>-r<repeat>: TAG.csv (every request), TAG.sum
# (the replay's summary of the measured requests), TAG.lbs (LB counters), TAG.events
# (replay_start, measured_start, measured_end, hog_on, hog_off: epoch seconds), TAG.cpu
# (servers' CPU over the measured window), TAG.cpu-samples (once a second), TAG.metrics
# (marllbd's Prometheus metrics once a second, marl only), logs-TAG/ (daemon logs).

TB_SCRAPER=""
TB_SAMPLER=""

# Every second: "time label cpu_seconds periods throttled" per server group and hog group.
tb_cpu_sampler_start() {
	local out=$1
	[ "$TB_USE_CGROUPS" = 1 ] || return 0
	(
		trap 'exit 0' TERM
		while :; do
			now=$(date +%s.%N)
			{ tb_servers_cpu; tb_hogs_cpu | awk '{ print $1, $2, 0, 0 }'; } |
				awk -v t="$now" '{ print t, $0 }' >>"$out"
			sleep 1 &
			wait $!
		done
	) &
	TB_SAMPLER=$!
}

tb_scraper_start() {
	local out=$1
	(
		trap 'exit 0' TERM
		while :; do
			now=$(date +%s.%N)
			for ((i = 0; i < TB_M; i++)); do
				tb_lb_scrape "$i" "$now" | sed "s/^/lb$i\t/" >>"$out"
			done
			sleep 1 &
			wait $!
		done
	) &
	TB_SCRAPER=$!
}

tb_background_stop() {
	local pid
	for pid in "$@"; do
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
}

tb_samplers_stop() {
	tb_background_stop "$TB_SCRAPER" "$TB_SAMPLER"
	TB_SCRAPER=""
	TB_SAMPLER=""
}

# Connections of the phase not yet closed at both ends, as "where:count(states)" words;
# nothing when all are closed. The client closes last, and its FIN is acknowledged only
# after it passed the LB, so a client without sockets to the VIP (but TIME-WAIT) means the
# LBs have seen every close. Servers: connections to the VIP (XDP, direct server return)
# or, with HAProxy, any on port 80 (marllbd's health checks, to the servers' own
# addresses, are not the phase's).
tb_open_connections() {
	local policy=$1 j i filter
	tb_conn_states cl "( dst = $TB_VIP )"
	if [ "$policy" = haproxy ]; then
		filter="( sport = :80 )"
		for ((i = 0; i < TB_M; i++)); do
			tb_conn_states "lb$i" "( sport = :$TB_VIP_PORT or dport = :80 )"
		done
	else
		filter="( src = $TB_VIP )"
	fi
	for ((j = 0; j < TB_N; j++)); do
		tb_conn_states "s$j" "$filter"
	done
}

tb_conn_states() {
	tb_exec "$1" ss -Htan "$2" 2>/dev/null | awk -v ns="$1" '
		$1 != "LISTEN" && $1 != "TIME-WAIT" { n++; c[$1]++ }
		END { if (n) { printf "%s:%d(", ns, n; s = ""
			for (k in c) { printf "%s%s %d", s, k, c[k]; s = ", " } printf ") " } }'
}

# Waits (60 s at most) until every connection of the phase is closed; says in LOG what it
# waited for when that took more than a second.
tb_wait_flows_closed() {
	local policy=$1 log=$2 t left first=""
	for ((t = 0; t < 600; t++)); do
		left=$(tb_open_connections "$policy")
		[ -z "$left" ] && break
		[ -z "$first" ] && first=$left
		sleep 0.1
	done
	if [ -n "$left" ]; then
		tb_log "warning: connections still open 60 s after the replay: $left"
		echo "still open after 60 s: $left" >>"$log"
	elif [ "$t" -ge 10 ]; then
		echo "waited $((t / 10)).$((t % 10)) s for connections to close; first seen: $first" >>"$log"
	fi
}

# Sends a request through each path of the LBs: proves the wiring before the measurement.
tb_wiring_check() {
	local policy=$1 logdir=$2 i ok=0
	for ((i = 0; i < 4 * TB_M; i++)); do
		[ "$(tb_exec cl curl -s -o /dev/null -m 5 -w '%{http_code}' \
			"http://$TB_VIP/dummy.php/?n=0")" = 200 ] && ok=$((ok + 1))
	done
	[ "$ok" = $((4 * TB_M)) ] || tb_die "only $ok of $((4 * TB_M)) requests through the VIP" \
		"answered with $policy (logs: $logdir)"
}

# The replay's progress lines, once every TB_PROGRESS_S seconds, on the testbed's log with
# the phase named; everything the replay says also goes to LOG.
tb_progress_filter() {
	local what=$1 log=$2 line
	while IFS= read -r line; do
		echo "$line" >>"$log"
		case $line in
		replay:*) tb_log "$what: ${line#replay: }" ;;
		esac
	done
}

# tb_replay_run TRACE WARMUP CSV SUM WHAT LOG WORK_SCALE: one replay from the client.
tb_replay_run() {
	local trace=$1 warmup=$2 csv=$3 sum=$4 what=$5 log=$6 ws=$7
	tb_exec cl "$TB_BIN/marllb-replay" --work-scale "$ws" --warmup "$warmup" \
		--timeout "$TB_TIMEOUT" --progress "$TB_PROGRESS_S" ${csv:+-o "$csv"} "$trace" \
		"http://$TB_VIP:$TB_VIP_PORT" >"$sum" 2> >(tb_progress_filter "$what" "$log")
}

# Servers' CPU over the measured window, from the samples: per server its own use (the
# group's minus its noisy neighbour's) over its quota, and the fraction of CFS periods it
# was throttled in; "all" sums the pool. Interpolated linearly between samples.
tb_cpu_window() {
	local samples=$1 events=$2
	[ -s "$samples" ] || return 0
	awk -v a="$(awk '$1 == "measured_start" { print $2 }' "$events")" \
		-v b="$(awk '$1 == "measured_end" { print $2 }' "$events")" \
		-v caps="${TB_CAP[*]}" -v u="$TB_CPU_UNIT" '
		function at(g, x, k, i, f) { # value k of group g at time x
			for (i = 1; i < cnt[g]; i++)
				if (T[g, i + 1] >= x) break
			if (i >= cnt[g]) return V[g, cnt[g], k]
			if (T[g, i] >= x) return V[g, i, k]
			f = (x - T[g, i]) / (T[g, i + 1] - T[g, i])
			return V[g, i, k] + (V[g, i + 1, k] - V[g, i, k]) * f
		}
		{ n = ++cnt[$2]; T[$2, n] = $1; V[$2, n, 1] = $3; V[$2, n, 2] = $4; V[$2, n, 3] = $5
		  if (!($2 in seen)) { seen[$2] = 1; if ($2 !~ /hog/) lab[++nl] = $2 } }
		END {
			split(caps, c, " ")
			d = b - a
			if (d <= 0) exit
			for (i = 1; i <= nl; i++) {
				s = lab[i]; j = substr(s, 2) + 1
				used = at(s, b, 1) - at(s, a, 1)
				if ((s "/hog") in seen) used -= at(s "/hog", b, 1) - at(s "/hog", a, 1)
				per = at(s, b, 2) - at(s, a, 2); thr = at(s, b, 3) - at(s, a, 3)
				q = c[j] * u * d
				printf "%s cpu_s %.3f util %.3f throttled %.3f\n", s, used, used / q,
					(per > 0 ? thr / per : 0)
				tot += used; cap += q; tper += per; tthr += thr
			}
			printf "all cpu_s %.3f util %.3f throttled %.3f\n", tot, tot / cap,
				(tper > 0 ? tthr / tper : 0)
		}' "$samples"
}

# tb_phase LOAD POLICY REPEAT DIR WORK_SCALE
tb_phase() {
	local load=$1 policy=$2 rep=$3 dir=$4 ws=$5 tag=$2-r$3 what t0 i
	local events=$dir/$2-r$3.events logdir=$dir/logs-$2-r$3
	what="load $load, $policy, repeat $rep/$TB_REPEATS"
	TB_REPEAT=$rep
	TB_PHASE_NO=$((TB_PHASE_NO + 1))
	tb_log "phase $TB_PHASE_NO/$TB_PHASES ($what): starting the LBs;" \
		"about $(tb_minutes_left) min left"
	rm -f "$dir/$tag".*
	tb_lbs_start "$policy" "$logdir"
	tb_wiring_check "$policy" "$logdir"
	case $policy in marl*) tb_scraper_start "$dir/$tag.metrics" ;; esac
	if [ "$policy" = marl-trained ]; then
		tb_log "$what: learning for $TB_TRAIN s (not measured)"
		tb_wait_child tb_replay_run "$dir/train.tsv" 0 "" "$dir/$tag.train-sum" \
			"$what, training" "$dir/replay.log" "$ws" ||
			tb_die "training replay failed (see $dir/replay.log)"
		echo "train_end $(date +%s.%N)" >>"$events"
	fi
	tb_cpu_sampler_start "$dir/$tag.cpu-samples"
	sleep 1.2 # a CPU sample before the replay starts
	t0=$(date +%s.%N)
	# marllb-replay starts its clock 10 ms after it starts
	awk -v t="$t0" -v w="$TB_WARMUP" -v d="$TB_DURATION" 'BEGIN {
		printf "replay_start %.3f\nmeasured_start %.3f\nmeasured_end %.3f\n", t + 0.01,
			t + 0.01 + w, t + 0.01 + w + d }' >>"$events"
	tb_hogs_schedule "$(awk '$1 == "measured_start" { print $2 }' "$events")" "$events"
	tb_log "$what: replaying $(tb_info_get "$dir/segment.info" warmup_requests) warm-up and" \
		"$(tb_info_get "$dir/segment.info" requests) measured requests" \
		"($TB_WARMUP + $TB_DURATION s at $(awk -v l="$load" -v r="$TB_RATE" 'BEGIN { print l * r }')/s)"
	tb_wait_child tb_replay_run "$dir/segment.tsv" "$TB_WARMUP" "$dir/$tag.csv" "$dir/$tag.sum" \
		"$what" "$dir/replay.log" "$ws" || tb_die "replay failed (see $dir/replay.log)"
	tb_hogs_stop
	tb_wait_flows_closed "$policy" "$logdir/flows.log"
	sleep 1.2 # a CPU sample after the last request
	tb_samplers_stop
	tb_cpu_window "$dir/$tag.cpu-samples" "$events" >"$dir/$tag.cpu"
	: >"$dir/$tag.lbs"
	for ((i = 0; i < TB_M; i++)); do
		tb_lb_counters "$i" | sed "s/^/lb$i /" >>"$dir/$tag.lbs"
	done
	tb_lbs_stop
	tb_log "$what: $(tb_phase_line "$dir" "$tag" "$load")"
}

# One line about a phase: requests, failures, mean and p99, servers' CPU against the load
# (flagged beyond 10 %).
tb_phase_line() {
	local dir=$1 tag=$2 load=$3
	awk '$1 == "ok" || $1 == "failed" || $1 == "mean_s" || $1 == "p99_s" { printf "%s %s  ", $1, $2 }' \
		"$dir/$tag.sum"
	awk -v l="$load" '$1 == "all" { d = $5 - l; if (d < 0) d = -d
		printf "servers used %.0f%% of their CPU (offered %.0f%%)%s", $5 * 100, l * 100,
			(d > 0.1 * l ? ", more than 10% off: see the .cpu file" : "") }' "$dir/$tag.cpu" 2>/dev/null
}

# Seconds a phase of POLICY takes, roughly: LB start and wiring, samples, warm-up,
# measurement, the last requests' completion, LB stop.
tb_phase_seconds() {
	awk -v w="$TB_WARMUP" -v d="$TB_DURATION" -v t="$TB_TRAIN" -v trained="$1" \
		'BEGIN { print 5 + w + d + (trained == "marl-trained" ? t + 1 : 0) }'
}

tb_minutes_left() {
	local p left=0
	for p in $TB_POLICIES_RUN; do
		left=$((left + $(tb_phase_seconds "$p")))
	done
	# the phases left, in whole rounds of all policies
	awk -v per_round="$left" -v n="$TB_POLICY_COUNT" -v done="$((TB_PHASE_NO - 1))" \
		-v total="$TB_PHASES" 'BEGIN { printf "%.0f", (total - done) * per_round / n / 60 }'
}
