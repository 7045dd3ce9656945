# SPDX-License-Identifier: GPL-2.0
# The testbed's scenarios (sourced by marllb-testbed): the server pool and its configured
# weights, the noisy neighbour of the hog scenario, what each scenario is called, and the
# full run (every scenario in turn, then one summary).

TB_POOL_UNITS=10 # the default pool's capacity units: a drawn pool has the same total CPU

# Park-Miller "minimal standard" draws in [0, 1): exact in awk's doubles, so a seed draws
# the same pool with any awk.
tb_draw_capacities() {
	local n=$1 lo=$2 hi=$3 seed=$4
	awk -v n="$n" -v lo="$lo" -v hi="$hi" -v seed="$seed" -v units="$TB_POOL_UNITS" 'BEGIN {
		x = (seed % 2147483646) + 1
		for (j = 0; j < n; j++) { x = (16807 * x) % 2147483647; c[j] = lo + (hi - lo) * (x - 1) / 2147483646; s += c[j] }
		for (j = 0; j < n; j++) printf "%s%.2f", j ? "," : "", c[j] * units / s
		print "" }'
}

# TB_CAP, TB_WEIGHT (configured), their texts, and the hog preset's neighbour.
tb_pool_setup() {
	local c j fast=0 w
	case $TB_CAPS_ARG in
	draw:*)
		[[ $TB_CAPS_ARG =~ ^draw:([0-9]*\.?[0-9]+)-([0-9]*\.?[0-9]+)$ ]] &&
			awk -v a="${BASH_REMATCH[1]}" -v b="${BASH_REMATCH[2]}" 'BEGIN { exit !(a > 0 && a <= b) }' ||
			tb_die "--capacities '$TB_CAPS_ARG': expected draw:A-B with 0 < A <= B"
		IFS=, read -r -a TB_CAP <<<"$(tb_draw_capacities "$TB_N" "${BASH_REMATCH[1]}" \
			"${BASH_REMATCH[2]}" "$TB_SEED")"
		;;
	"")
		if [ "$TB_N" = 7 ]; then
			TB_CAP=(1 1 1 1 2 2 2)
		else
			TB_CAP=()
			for ((j = 0; j < TB_N; j++)); do TB_CAP+=($((j < (TB_N + 1) / 2 ? 1 : 2))); done
		fi
		;;
	*)
		IFS=, read -r -a TB_CAP <<<"$TB_CAPS_ARG"
		[ "${#TB_CAP[@]}" = "$TB_N" ] ||
			tb_die "--capacities has ${#TB_CAP[@]} values for $TB_N servers"
		for c in "${TB_CAP[@]}"; do tb_need_number --capacities "$c"; done
		;;
	esac
	TB_CAPS_TEXT=$(IFS=:; echo "${TB_CAP[*]}")
	TB_CAP_SUM=$(printf '%s\n' "${TB_CAP[@]}" | awk '{ s += $1 } END { print s }')
	case $TB_WEIGHTS_ARG in
	caps) TB_WEIGHT=("${TB_CAP[@]}") ;;
	equal) TB_WEIGHT=(); for ((j = 0; j < TB_N; j++)); do TB_WEIGHT+=(1); done ;;
	inverse)
		TB_WEIGHT=()
		# largest capacity / capacity: the slowest server gets the largest weight
		for ((j = 0; j < TB_N; j++)); do
			TB_WEIGHT+=("$(printf '%s\n' "${TB_CAP[@]}" | sort -g | tail -n 1 |
				awk -v c="${TB_CAP[$j]}" '{ printf "%.3g", $1 / c }')")
		done
		;;
	*)
		IFS=, read -r -a TB_WEIGHT <<<"$TB_WEIGHTS_ARG"
		[ "${#TB_WEIGHT[@]}" = "$TB_N" ] ||
			tb_die "--weights has ${#TB_WEIGHT[@]} values for $TB_N servers (or caps, equal, inverse)"
		for w in "${TB_WEIGHT[@]}"; do tb_need_number --weights "$w"; done
		;;
	esac
	TB_WEIGHTS_TEXT=$(IFS=:; echo "${TB_WEIGHT[*]}")
	[ "$TB_WEIGHTS_ARG" = caps ] && TB_WEIGHTS_TEXT="= capacities"
	if [ "$TB_HOG_PRESET" = 1 ] && [ "${#TB_HOGS[@]}" = 0 ]; then
		# the first of the fastest servers loses three quarters of its CPU over the middle third
		for ((j = 1; j < TB_N; j++)); do
			awk -v a="${TB_CAP[$j]}" -v b="${TB_CAP[$fast]}" 'BEGIN { exit !(a > b) }' && fast=$j
		done
		TB_HOGS=("$(awk -v j="$fast" -v c="${TB_CAP[$fast]}" -v u="$TB_CPU_UNIT" -v d="$TB_DURATION" \
			'BEGIN { printf "%d:%.3g@%.3g-%.3g", j, c * u * 0.75, d / 3, 2 * d / 3 }')")
	fi
	tb_scenario_text
}

tb_scenario_text() {
	local hog=""
	[ "${#TB_HOGS[@]}" -gt 0 ] && hog="; noisy neighbour ${TB_HOGS[*]} (server:core@from-to s of the measured phase)"
	case $TB_SCENARIO in
	default) TB_SCENARIO_TITLE="default pool, right weights" ;;
	wrong-weights) TB_SCENARIO_TITLE="configured weights wrong ($TB_WEIGHTS_ARG)" ;;
	hog) TB_SCENARIO_TITLE="noisy neighbour on a fast server" ;;
	mixed) TB_SCENARIO_TITLE="CPU + IO mix ($TB_IO_SHARE IO-bound)" ;;
	large) TB_SCENARIO_TITLE="$TB_N servers, capacities drawn ($TB_CAPS_ARG)" ;;
	*) TB_SCENARIO_TITLE=$TB_SCENARIO ;;
	esac
	TB_SCENARIO_TEXT="$TB_N servers, capacities $TB_CAPS_TEXT (units of $TB_CPU_UNIT core), weights $TB_WEIGHTS_TEXT$hog"
	awk -v s="$TB_IO_SHARE" 'BEGIN { exit !(s > 0) }' &&
		TB_SCENARIO_TEXT="$TB_SCENARIO_TEXT; $TB_IO_SHARE of the requests IO-bound (wait $TB_IO_MEAN_MS ms on average, no CPU)"
	return 0
}

# Which model marl used, as marllbd said it in its first log.
tb_model_text() {
	local log
	log=$(ls "$TB_OUT"/load*/logs-marl*-r1/marllbd-lb0.log 2>/dev/null | head -n 1)
	if [ -n "$log" ] && grep -q "model from" "$log"; then
		sed -n 's/.*policy marl, \(.*\)\.$/\1/p' "$log" | head -n 1
	elif [ "$TB_MODEL" = scratch ]; then
		echo "from scratch"
	else
		echo "model $TB_MODEL"
	fi
}

# The full run: each scenario by a child invocation into OUT/<scenario>, then the summary.
tb_run_all() {
	local s a skip=0 args=() failed="" k=0 n per=0 p child rc
	for a in "${TB_ARGS[@]}"; do
		if [ "$skip" = 1 ]; then skip=0; continue; fi
		case $a in --scenario | --out) skip=1; continue ;; esac
		args+=("$a")
	done
	[ "$TB_DRY_RUN" = 1 ] || [ "$(id -u)" = 0 ] || tb_die "needs root (network namespaces, XDP, cgroups)"
	n=$(echo "$TB_SCENARIOS" | wc -w)
	for p in "${TB_POLICY_LIST[@]}"; do per=$((per + $(tb_phase_seconds "$p"))); done
	tb_log "full run: $n scenarios ($TB_SCENARIOS), each ${#TB_LOAD_LIST[@]} loads x" \
		"$TB_REPEATS repeats x ${#TB_POLICY_LIST[@]} policies: about" \
		"$(( (n * (${#TB_LOAD_LIST[@]} * TB_REPEATS * per + 60)) / 60 )) min; results in $TB_OUT"
	child=""
	trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; tb_log "interrupted"; exit 130' INT TERM
	for s in $TB_SCENARIOS; do
		k=$((k + 1))
		tb_log "=== scenario $k/$n: $s ==="
		"$0" --scenario "$s" --out "$TB_OUT/$s" "${args[@]}" &
		child=$!
		wait "$child"
		rc=$?
		child=""
		[ "$rc" = 0 ] || { failed="$failed $s"; tb_log "scenario $s failed (exit status $rc)"; }
	done
	trap - INT TERM
	[ "$TB_DRY_RUN" = 1 ] && { [ -z "$failed" ]; return; }
	tb_summary_all
	[ -z "$failed" ] || { tb_log "failed scenarios:$failed"; return 1; }
}

tb_summary_all() {
	local s first=1
	: >"$TB_OUT/verdicts.csv"
	{
		echo "marllb-testbed full run, $(date -u +%Y-%m-%dT%H:%M:%SZ): $TB_SCENARIOS"
		for s in $TB_SCENARIOS; do
			echo
			echo "=== $s"
			if [ -s "$TB_OUT/$s/table.txt" ]; then cat "$TB_OUT/$s/table.txt"; else echo "(no results)"; fi
			[ -s "$TB_OUT/$s/verdicts.csv" ] || continue
			if [ "$first" = 1 ]; then cat "$TB_OUT/$s/verdicts.csv"; else tail -n +2 "$TB_OUT/$s/verdicts.csv"; fi >>"$TB_OUT/verdicts.csv"
			first=0
		done
	} >"$TB_OUT/summary.txt"
	echo
	echo "verdicts, marl against the best non-learning policy (ratio of TCT, 95% interval):"
	awk -F, 'NR > 1 && $4 == "marl" { printf "  %-14s load %-5s %-10s %-4s: %-17s vs %-7s %.3f [%.3f, %.3f]%s\n",
		$1, $2, $3, $5, $10, $6, $7, $8, $9, $12 != "" ? " (" $12 ")" : "" }' "$TB_OUT/verdicts.csv" |
		tee -a "$TB_OUT/summary.txt"
	tb_targets "$TB_OUT/verdicts.csv" | tee -a "$TB_OUT/summary.txt"
	tb_plot_verdicts "$TB_OUT/verdicts.csv" "$TB_OUT/verdicts.png"
	echo "results: $TB_OUT (summary.txt, verdicts.csv, verdicts.png, <scenario>/)"
}

# The bar issue 12 sets for marl in each scenario, per load, from the verdicts (measured
# window): default: not worse than the best of the baselines, mean and p99; wrong-weights
# and hog: at least 15 % lower mean with its interval below the best's; mixed and large:
# not worse, mean and p99.
tb_targets() {
	echo
	echo "targets (issue 12), marl against the best non-learning policy:"
	awk -F, 'NR > 1 && $3 == "all" && $4 == "marl" {
			k = $1 "," $2; if (!(k in seen)) { seen[k] = 1; key[++n] = k }
			v[k, $5] = $10; t[k, $5] = $12 }
		END {
			for (i = 1; i <= n; i++) {
				split(key[i], a, ","); s = a[1]
				if (s == "wrong-weights" || s == "hog") {
					bar = "mean at least 15% lower, interval below"
					ok = t[key[i], "mean"] == "target-met"
				} else {
					bar = "mean and p99 not worse"
					ok = v[key[i], "mean"] != "worse" && v[key[i], "p99"] != "worse"
				}
				printf "  %-14s load %-5s %-40s %s (mean %s, p99 %s)\n", s, a[2], bar,
					ok ? "MET" : "MISSED", v[key[i], "mean"], v[key[i], "p99"]
			}
		}' "$1"
}
