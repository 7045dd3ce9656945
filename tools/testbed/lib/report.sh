# SPDX-License-Identifier: GPL-2.0
# Results of a comparison (sourced by marllb-testbed): per load level the table with 95 %
# confidence intervals (marllb-compare), the servers' CPU against the offered load, marl's
# safety net, and the verdicts; results.csv and verdicts.csv.

TB_NON_LEARNING="ecmp wcmp lsq sed haproxy"
TB_LEARNERS="marl marl-trained"

tb_sum_get() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print "nan" }' "$1"; }

tb_is_learner() { case " $TB_LEARNERS " in *" $1 "*) return 0 ;; esac; return 1; }

# POLICY=r1.csv,r2.csv,... operands of marllb-compare for the policies run at a level.
tb_compare_operands() {
	local dir=$1 p r files sep
	for p in $TB_POLICIES_RUN; do
		files="" sep=""
		for ((r = 1; r <= TB_REPEATS; r++)); do
			[ -s "$dir/$p-r$r.csv" ] || continue
			files="$files$sep$dir/$p-r$r.csv"
			sep=,
		done
		[ -n "$files" ] && echo "$p=$files"
	done
}

# tb_compare DIR OUT [marllb-compare options]: the statistics of every learner against the
# baselines run (the policies' lines once, then each learner's comparisons).
tb_compare() {
	local dir=$1 out=$2 l baselines="" p first=1
	shift 2
	for p in $TB_POLICIES_RUN; do
		tb_is_learner "$p" || baselines="$baselines${baselines:+,}$p"
	done
	: >"$out"
	# shellcheck disable=SC2046 # one operand per policy
	for l in $TB_LEARNERS; do
		case " $TB_POLICIES_RUN " in *" $l "*) ;; *) continue ;; esac
		"$TB_BIN/marllb-compare" --learner "$l" ${baselines:+--baselines "$baselines"} \
			--seed "$TB_SEED" "$@" $(tb_compare_operands "$dir") >"$out.part" ||
			tb_die "marllb-compare failed on $dir"
		awk -v first="$first" '$1 == "policy" && !first { next } { print }' "$out.part" >>"$out"
		first=0
	done
	# shellcheck disable=SC2046
	[ "$first" = 1 ] && { "$TB_BIN/marllb-compare" --seed "$TB_SEED" "$@" \
		$(tb_compare_operands "$dir") >"$out" || tb_die "marllb-compare failed on $dir"; }
	rm -f "$out.part"
	return 0
}

# Mean over the repeats of the servers' CPU use (all servers) in the measured windows.
tb_policy_cpu() {
	local dir=$1 p=$2
	cat "$dir/$p"-r*.cpu 2>/dev/null | awk '$1 == "all" { s += $5; n++ }
		END { if (n) printf "%.3f", s / n; else print "-" }'
}

# marl's safety net over the measured windows of its repeats, from marllbd's metrics:
# "learned SHARE fallbacks N per_lb a/b/..." (share of scraped seconds on learned weights).
tb_marl_safety() {
	local dir=$1 p=$2 r
	for ((r = 1; r <= TB_REPEATS; r++)); do
		[ -s "$dir/$p-r$r.metrics" ] || continue
		awk -v a="$(awk '$1 == "measured_start" { print $2 }' "$dir/$p-r$r.events")" \
			-v b="$(awk '$1 == "measured_end" { print $2 }' "$dir/$p-r$r.events")" -F'\t' '
			$2 < a || $2 > b { next }
			$3 ~ /^marllb_agent_mode\{.*mode="learned"/ { split($3, v, " "); n[$1]++; l[$1] += v[2] }
			$3 ~ /^marllb_agent_fallbacks_total/ { split($3, v, " ")
				if (!($1 in f0)) f0[$1] = v[2]; f1[$1] = v[2] }
			END { for (lb in n) printf "%s %.4f %d\n", lb, l[lb] / n[lb], f1[lb] - f0[lb] }' \
			"$dir/$p-r$r.metrics"
	done | sort | awk '{ s[$1] += $2; c[$1]++; f += $3; all += $2; na++ }
		END { if (!na) { print "- - -"; exit }
			for (lb in s) { per = per sep sprintf("%.0f%%", 100 * s[lb] / c[lb]); sep = "/" }
			printf "%.3f %d %s\n", all / na, f, per }'
}

# tb_report_level LOAD DIR: DIR/compare*.txt, the level's table (stdout and DIR/report.txt),
# rows of results.csv and verdicts.csv.
tb_report_level() {
	local load=$1 dir=$2 p cpu safety
	tb_compare "$dir" "$dir/compare.txt"
	if [ "${#TB_HOG_SRV[@]}" -gt 0 ] && [ -n "${TB_HOG_ON[0]}" ]; then
		tb_compare "$dir" "$dir/compare-hog.txt" \
			--from "$(awk -v w="$TB_WARMUP" -v a="${TB_HOG_ON[0]}" 'BEGIN { print w + a }')" \
			--to "$(awk -v w="$TB_WARMUP" -v b="${TB_HOG_OFF[0]}" 'BEGIN { print w + b }')"
	fi
	if awk -v s="$TB_IO_SHARE" 'BEGIN { exit !(s > 0) }'; then
		tb_compare "$dir" "$dir/compare-cpu.txt" --path /dummy.php/
	fi
	: >"$dir/policy-extra.txt"
	for p in $TB_POLICIES_RUN; do
		cpu=$(tb_policy_cpu "$dir" "$p")
		safety="- - -"
		tb_is_learner "$p" && safety=$(tb_marl_safety "$dir" "$p")
		echo "$p $cpu $safety" >>"$dir/policy-extra.txt"
	done
	tb_level_table "$load" "$dir" | tee "$dir/report.txt"
	tb_level_csv "$load" "$dir"
}

tb_level_header() {
	local load=$1 dir=$2
	awk -v l="$load" -v r="$TB_RATE" -v k="$(tb_info_get "$dir/segment.info" requests)" \
		-v d="$TB_DURATION" -v reps="$TB_REPEATS" -v ts="$(tb_info_get "$dir/segment.info" time_scale)" \
		-v cal="$TB_LOAD_BY" 'BEGIN {
		printf "load %.0f%%: offered %.4g requests/s (%.0f%% of %g), %d measured requests in %g s" \
			" per phase, %d repeat%s; by %s the measured requests need %.0f%% of the" \
			" servers'\'' CPU (trace time scale %.4g)\n", l * 100, l * r, l * 100, r, k, d, reps,
			(reps == 1 ? "" : "s"), cal, l * 100, ts }'
}

# The table of one level from compare.txt (and the hog-window and CPU-only ones).
tb_level_table() {
	local load=$1 dir=$2 f
	tb_level_header "$load" "$dir"
	tb_table_rows "$load" "$dir/compare.txt" "$dir/policy-extra.txt" 1
	if [ -s "$dir/compare-hog.txt" ]; then
		echo "  while the noisy neighbour ran (measured seconds ${TB_HOG_ON[0]}-${TB_HOG_OFF[0]}," \
			"server ${TB_HOG_SRV[0]} lost ${TB_HOG_CORE[0]} of a core):"
		tb_table_rows "$load" "$dir/compare-hog.txt" "$dir/policy-extra.txt" 0
	fi
	if [ -s "$dir/compare-cpu.txt" ]; then
		echo "  CPU-bound requests only (/dummy.php/; the rest wait ${TB_IO_MEAN_MS} ms on average, no CPU):"
		tb_table_rows "$load" "$dir/compare-cpu.txt" "$dir/policy-extra.txt" 0
	fi
	return 0
}

# Rows of a compare file; with EXTRA = 1 the servers' CPU, per-repeat means and marl's
# safety net too.
tb_table_rows() {
	local load=$1 cmp=$2 extra=$3 full=$4
	awk -v load="$load" -v full="$full" -v cgroups="$TB_USE_CGROUPS" '
		NR == FNR { cpu[$1] = $2; learned[$1] = $3; fb[$1] = $4; per[$1] = $5; next }
		$1 == "policy" && !hdr++ {
			printf "%-13s %4s %8s %6s  %-27s %-27s", "policy", "reps", "requests",
				"failed", "mean_s [95% CI]", "p99_s [95% CI]"
			if (full) printf " %7s  %s", "srv_cpu", "mean_s per repeat"
			printf "\n"
		}
		$1 == "policy" {
			m = $7 == "nan" ? "no data" : sprintf("%.4f [%.4f, %.4f]", $7, $8, $9)
			q = $12 == "nan" ? "no data" : sprintf("%.4f [%.4f, %.4f]", $12, $13, $14)
			printf "%-13s %4d %8d %6d  %-27s %-27s", $2, $3, $4, $6, m, q
			if (full) {
				c = cpu[$2]
				flag = (c != "-" && c != "" && (c - load > 0.1 * load || load - c > 0.1 * load)) ? "!" : " "
				if (flag == "!") warn = 1
				printf " %6s%s  %s", c == "-" || c == "" ? "-" : sprintf("%.0f%%", c * 100),
					flag, $15
			}
			printf "\n"
			if (full && learned[$2] != "-" && learned[$2] != "")
				printf "%13s safety net: on learned weights %.0f%% of the measured time" \
					" (per LB %s), %d fallback%s to SED\n", "", learned[$2] * 100,
					per[$2], fb[$2], fb[$2] == 1 ? "" : "s"
		}
		$1 == "compare" {
			v = $8 == "indistinguishable" ? "not distinguishable from" : $8 " than"
			t = ""
			if ($10 == "target-met") t = "; 15% target met"
			if ($10 == "target-missed") t = "; 15% target missed"
			printf "  verdict %-4s: %s %s %s (%s / %s = %.3f [%.3f, %.3f], intervals %s%s)\n",
				$2, $3, v, $4, $3, $4, $5, $6, $7, $9, t
		}
		END {
			if (full && warn)
				printf "  ! srv_cpu more than 10%% away from the offered %.0f%%: the servers did not" \
					" get or did not need the CPU the load claims (see the .cpu files:" \
					" throttled = had its quota; a backlogged server seldom throttled was" \
					" short of CPU)\n", load * 100
		}' "$extra" "$cmp"
}

tb_level_csv() {
	local load=$1 dir=$2
	awk -v load="$load" -v scen="$TB_SCENARIO" '
		NR == FNR { cpu[$1] = $2; learned[$1] = $3; fb[$1] = $4; next }
		$1 == "policy" {
			printf "%s,%s,%s,%d,%d,%d,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", scen, load,
				$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, cpu[$2],
				learned[$2], fb[$2] >> results
		}
		$1 == "compare" {
			printf "%s,%s,all,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", scen, load, $3, $2, $4, $5, $6,
				$7, $8, $9, $10 >> verdicts
		}' results="$TB_OUT/results.csv" verdicts="$TB_OUT/verdicts.csv" "$dir/policy-extra.txt" \
		"$dir/compare.txt"
	[ -s "$dir/compare-hog.txt" ] && awk -v load="$load" -v scen="$TB_SCENARIO" '$1 == "compare" {
		printf "%s,%s,hog-window,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", scen, load, $3, $2, $4, $5, $6,
			$7, $8, $9, $10 }' "$dir/compare-hog.txt" >>"$TB_OUT/verdicts.csv"
	[ -s "$dir/compare-cpu.txt" ] && awk -v load="$load" -v scen="$TB_SCENARIO" '$1 == "compare" {
		printf "%s,%s,cpu-bound,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", scen, load, $3, $2, $4, $5, $6,
			$7, $8, $9, $10 }' "$dir/compare-cpu.txt" >>"$TB_OUT/verdicts.csv"
	return 0
}

tb_csv_headers() {
	echo "scenario,load,policy,repeats,requests,ok,failed,mean_s,mean_lo,mean_hi,p50_s,p90_s,p99_s,p99_lo,p99_hi,mean_per_repeat,server_cpu,learned_share,fallbacks" \
		>"$TB_OUT/results.csv"
	echo "scenario,load,requests,learner,metric,best,ratio,lo,hi,verdict,intervals,target" \
		>"$TB_OUT/verdicts.csv"
}

# What the report needs, saved in OUT/run.env for --report-only.
TB_STATE_VARS="TB_SCENARIO TB_SCENARIO_TEXT TB_SCENARIO_TITLE TB_M TB_N TB_CAP TB_WEIGHT
TB_CAPS_TEXT TB_WEIGHTS_TEXT TB_CAP_SUM TB_CPU_UNIT TB_LOAD_LIST TB_POLICIES_RUN TB_POLICY_COUNT
TB_REPEATS TB_WARMUP TB_DURATION TB_RATE TB_HOGS TB_IO_SHARE TB_IO_MEAN_MS TB_USE_CGROUPS
TB_LOAD_BY TB_SERVER TB_LB_CTL TB_USE_MARLLBD TB_ITERS_PER_S TB_OVERHEAD_S TB_CAPACITY TB_SEED
TB_MODEL"

# Tables, CSV and plots of every level measured so far, then table.txt.
tb_report_all() {
	local load dir rep p
	tb_csv_headers
	: >"$TB_OUT/levels.txt"
	for load in "${TB_LOAD_LIST[@]}"; do
		dir=$TB_OUT/load$load
		ls "$dir"/*-r1.csv >/dev/null 2>&1 || continue
		tb_report_level "$load" "$dir" >/dev/null
		cat "$dir/report.txt" >>"$TB_OUT/levels.txt"
		echo >>"$TB_OUT/levels.txt"
		tb_plot_cdf "$dir" "$load" "$TB_OUT/tct-cdf-load$load.png"
		[ "$TB_USE_MARLLBD" = 1 ] || continue
		for ((rep = 1; rep <= TB_REPEATS; rep++)); do
			for p in $TB_POLICIES_RUN; do
				tb_is_learner "$p" && tb_plot_weights "$dir" "$load" "$p-r$rep" \
					"$TB_OUT/$p-weights-load$load-r$rep.png"
			done
		done
	done
	tb_plot_tct_ci "$TB_OUT/tct-ci.png"
	{
		echo "marllb-testbed $(date -u +%Y-%m-%dT%H:%M:%SZ), scenario $TB_SCENARIO: $TB_SCENARIO_TEXT"
		echo "$TB_M LBs, $TB_N $TB_SERVER servers, LB control $TB_LB_CTL; per phase $TB_WARMUP s" \
			"warm-up + $TB_DURATION s measured, $TB_REPEATS repeats interleaved; marl: $(tb_model_text)"
		echo "calibration: $TB_ITERS_PER_S iterations/s per core, overhead ${TB_OVERHEAD_S}s per" \
			"request, pool capacity $TB_CAPACITY iterations/s, 100% = $TB_RATE requests/s"
		echo
		cat "$TB_OUT/levels.txt"
		echo "(TCT: connect to the server's FIN, ok requests only; 95% intervals: bootstrap over the"
		echo " repeats and the requests within each; verdicts against the best non-learning policy"
		echo " run; srv_cpu: CPU the servers used in the measured windows / their quotas, against"
		echo " the offered load)"
	} >"$TB_OUT/table.txt"
	cat "$TB_OUT/table.txt"
	echo "results: $TB_OUT (table.txt, results.csv, verdicts.csv, *.png)"
}


# --report-only: a scenario's directory (run.env), or a full run's (one per scenario).
tb_report_only() {
	local s
	if [ -f "$TB_OUT/run.env" ]; then
		# shellcheck disable=SC1091
		. "$TB_OUT/run.env"
		tb_hogs_parse
		tb_report_all
		return
	fi
	for s in $TB_SCENARIOS; do
		[ -f "$TB_OUT/$s/run.env" ] && "$0" --report-only --out "$TB_OUT/$s" >/dev/null
	done
	ls "$TB_OUT"/*/run.env >/dev/null 2>&1 || tb_die "$TB_OUT: no testbed results (run.env) in it"
	tb_summary_all
}
