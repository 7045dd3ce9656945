# SPDX-License-Identifier: GPL-2.0
# Noisy neighbours (sourced after servers.sh): `--hog J:F[@ON-OFF]` puts a busy loop that
# wants F of a core into server J's CPU group, from ON to OFF seconds into each measured
# phase (the whole replay without @ON-OFF), in every phase alike.
#
# The hog has its own child group, <server group>/hog, with the largest cpu.shares and a quota
# of F of a core: under contention it takes F of a core out of the server's quota first (a
# neighbour the server cannot push back), and never more. Server J keeps its quota minus F
# while the hog runs; its own CPU use is the group's minus the hog's.

TB_HOG_SHARES=262144

# Parses the --hog values into TB_HOG_SRV, TB_HOG_CORE, TB_HOG_ON, TB_HOG_OFF (arrays;
# ON/OFF empty for the whole replay).
tb_hogs_parse() {
	local h
	TB_HOG_SRV=() TB_HOG_CORE=() TB_HOG_ON=() TB_HOG_OFF=()
	for h in "${TB_HOGS[@]+"${TB_HOGS[@]}"}"; do
		[[ $h =~ ^([0-9]+):([0-9]*\.?[0-9]+)(@([0-9]*\.?[0-9]+)-([0-9]*\.?[0-9]+))?$ ]] ||
			tb_die "--hog '$h': expected SERVER:FRACTION[@ON-OFF]"
		[ "${BASH_REMATCH[1]}" -lt "$TB_N" ] || tb_die "--hog '$h': no server ${BASH_REMATCH[1]}"
		TB_HOG_SRV+=("${BASH_REMATCH[1]}")
		TB_HOG_CORE+=("${BASH_REMATCH[2]}")
		TB_HOG_ON+=("${BASH_REMATCH[4]}")
		TB_HOG_OFF+=("${BASH_REMATCH[5]}")
		[ -z "${BASH_REMATCH[4]}" ] || awk -v a="${BASH_REMATCH[4]}" -v b="${BASH_REMATCH[5]}" \
			-v d="$TB_DURATION" 'BEGIN { exit !(a < b && b <= d) }' ||
			tb_die "--hog '$h': expected ON < OFF <= --duration ($TB_DURATION)"
	done
}

tb_hog_group() { echo "$(tb_cgroup "$1")/hog"; }
tb_hog_acct_group() { echo "$(tb_acct_cgroup "$1")/hog"; }

# After tb_cgroups_up: the hogs' child groups. A hog may not take a server's whole quota.
tb_hogs_up() {
	local k j cg quota
	for ((k = 0; k < ${#TB_HOG_SRV[@]}; k++)); do
		j=${TB_HOG_SRV[$k]}
		cg=$(tb_hog_group "$j")
		mkdir -p "$cg" "$(tb_hog_acct_group "$j")" || tb_die "cannot create $cg"
		quota=$(awk -v f="${TB_HOG_CORE[$k]}" -v p="$TB_CG_PERIOD_US" 'BEGIN { printf "%d", f * p }')
		[ "$quota" -lt "$(cat "$(tb_cgroup "$j")/cpu.cfs_quota_us")" ] ||
			tb_die "--hog $j:${TB_HOG_CORE[$k]}: server $j has only" \
				"$(awk -v c="${TB_CAP[$j]}" -v u="$TB_CPU_UNIT" 'BEGIN { print c * u }') of a core"
		echo "$TB_CG_PERIOD_US" >"$cg/cpu.cfs_period_us" && echo "$quota" >"$cg/cpu.cfs_quota_us" &&
			echo "$TB_HOG_SHARES" >"$cg/cpu.shares" || tb_die "cannot configure $cg"
	done
}

# Starts hog k now (in server J's namespace and its hog groups); prints its pid.
tb_hog_start() {
	local j=${TB_HOG_SRV[$1]}
	# nsenter itself in the background (not the tb_exec function): $! is the hog's pid
	nsenter --net="/run/netns/$(tb_ns "s$j")" -- sh -c 'echo $$ >"$0/cgroup.procs" && echo $$ >"$1/cgroup.procs" &&
		exec sh -c "while :; do :; done"' "$(tb_hog_group "$j")" "$(tb_hog_acct_group "$j")" \
		</dev/null >/dev/null 2>&1 &
	echo $!
}

# tb_hogs_schedule T0 EVENTS: in the background, switches every hog on and off at its times
# after T0 (the measured phase's start, epoch seconds) and logs "hog_on|hog_off TIME SERVER"
# to EVENTS. Sets TB_HOG_SCHED (kill it to stop every hog at once).
tb_hogs_schedule() {
	local t0=$1 events=$2
	[ "${#TB_HOG_SRV[@]}" -gt 0 ] || return 0
	(
		pids=()
		trap 'kill "${pids[@]}" 2>/dev/null; exit 0' TERM
		# (time, kind, hog) in time order
		while read -r t kind k; do
			now=$(date +%s.%N)
			# sleep in the background: the TERM trap runs at once, not after the sleep
			if awk -v t="$t" -v n="$now" 'BEGIN { exit !(t > n) }'; then
				sleep "$(awk -v t="$t" -v n="$now" 'BEGIN { print t - n }')" &
				wait $!
			fi
			if [ "$kind" = on ]; then
				pids[k]=$(tb_hog_start "$k")
			else
				kill "${pids[k]}" 2>/dev/null
				unset "pids[k]"
			fi
			echo "hog_$kind $(date +%s.%N) ${TB_HOG_SRV[$k]}" >>"$events"
		done < <(for ((k = 0; k < ${#TB_HOG_SRV[@]}; k++)); do
			if [ -n "${TB_HOG_ON[$k]}" ]; then
				awk -v t0="$t0" -v a="${TB_HOG_ON[$k]}" -v b="${TB_HOG_OFF[$k]}" -v k="$k" \
					'BEGIN { printf "%.3f on %d\n%.3f off %d\n", t0 + a, k, t0 + b, k }'
			else # the whole replay, warm-up included
				awk -v t0="$t0" -v w="$TB_WARMUP" -v k="$k" \
					'BEGIN { printf "%.3f on %d\n", t0 - w, k }'
			fi
		done | sort -g)
		while :; do # hogs without an end run until the phase stops them
			sleep 1 &
			wait $!
		done
	) &
	TB_HOG_SCHED=$!
}

tb_hogs_stop() {
	[ -n "${TB_HOG_SCHED:-}" ] || return 0
	kill -TERM "$TB_HOG_SCHED" 2>/dev/null
	wait "$TB_HOG_SCHED" 2>/dev/null
	TB_HOG_SCHED=""
}

# CPU seconds hog groups have used so far: "s<j>/hog <seconds>" lines.
tb_hogs_cpu() {
	local k j
	for ((k = 0; k < ${#TB_HOG_SRV[@]}; k++)); do
		j=${TB_HOG_SRV[$k]}
		awk -v j="$j" '{ printf "s%d/hog %.6f\n", j, $1 / 1e9 }' "$(tb_hog_acct_group "$j")/cpuacct.usage"
	done
}
