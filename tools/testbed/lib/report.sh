# SPDX-License-Identifier: GPL-2.0
# Results of a comparison: table, CSV and gnuplot PNGs (sourced by marllb-testbed).
#
# Layout of OUT:  results.csv, table.txt, tct-cdf-load<L>.png, marl-lb<i>-load<L>.png and
# per load level load<L>/<policy>.csv (per request, from marllb-replay), <policy>.sum (its
# summary), <policy>.lbs (per-LB counters), marl-lb<i>.metrics (marllbd's metrics over time).

TB_NON_LEARNING="ecmp wcmp lsq sed haproxy"

tb_sum_get() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print "nan" }' "$1"; }

# One CSV row per policy of load level dir $1 (load $2), appended to $3.
tb_report_level() {
	local dir=$1 load=$2 csv=$3 p best_mean best_p99 mean p99 lbs util learned
	best_mean=""
	best_p99=""
	for p in $TB_POLICIES_RUN; do
		[ -f "$dir/$p.sum" ] || continue
		case " $TB_NON_LEARNING " in *" $p "*) ;; *) continue ;; esac
		mean=$(tb_sum_get "$dir/$p.sum" mean_s)
		p99=$(tb_sum_get "$dir/$p.sum" p99_s)
		best_mean=$(awk -v a="$best_mean" -v b="$mean" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }')
		best_p99=$(awk -v a="$best_p99" -v b="$p99" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }')
	done
	for p in $TB_POLICIES_RUN; do
		[ -f "$dir/$p.sum" ] || continue
		lbs=$(awk '$2 == "new_flows" { printf "%s%s", s, $3; s = "/" }' "$dir/$p.lbs" 2>/dev/null)
		util=$(awk '$1 == "all" { print $5 }' "$dir/$p.cpu" 2>/dev/null)
		learned=-
		[ "$p" = marl ] && learned=$(tb_marl_learned_share "$dir")
		awk -v load="$load" -v p="$p" -v bm="$best_mean" -v bp="$best_p99" -v lbs="${lbs:--}" \
			-v util="${util:--}" -v learned="${learned:--}" '
			{ v[$1] = $2 }
			END {
				rm = (bm > 0) ? sprintf("%.3f", v["mean_s"] / bm) : "nan"
				rp = (bp > 0) ? sprintf("%.3f", v["p99_s"] / bp) : "nan"
				printf "%s,%s,%d,%d,%d,%d,%.4f,%.4f,%.4f,%.4f,%.4f,%s,%s,%s,%s,%s\n",
					load, p, v["requests"], v["ok"], v["failed"], v["failed_timeout"],
					v["mean_s"], v["p50_s"], v["p90_s"], v["p99_s"], v["p999_s"],
					rm, rp, lbs, util, learned
			}' "$dir/$p.sum" >>"$csv"
	done
}

# Share of marl's measured phase each LB spent on learned weights (marllbd's agent mode
# metric, scraped once a second), as "a/b/...": the rest was its SED probe or fallback.
tb_marl_learned_share() {
	local dir=$1 i te out="" sep=""
	te=$(awk '$1 == "train_end" { print $2 }' "$dir/marl-phases.txt" 2>/dev/null)
	for ((i = 0; i < TB_M; i++)); do
		out="$out$sep$(awk -F'\t' -v te="${te:-0}" '$1 > te && $2 ~ /agent_mode\{.*mode="learned"/ {
			split($2, a, " "); n++; l += a[2] } END { printf n ? "%.2f" : "-", l / (n ? n : 1) }' \
			"$dir/marl-lb$i.metrics" 2>/dev/null)"
		sep=/
	done
	echo "$out"
}

tb_report_table() {
	local csv=$1
	awk -F, -v m="$TB_M" -v n="$TB_N" -v srv="$TB_SERVER" -v caps="$TB_CAPS_TEXT" '
		NR == 1 { next }
		$1 != load {
			load = $1
			printf "\nload %.0f%%: %d LBs, %d %s servers, capacities %s\n", load * 100, m, n,
				srv, caps
			printf "%-8s %8s %7s %9s %9s %9s %9s %10s %9s %8s  %s\n", "policy", "requests",
				"failed", "mean_s", "p50_s", "p90_s", "p99_s", "mean/best", "p99/best",
				"srv_util", "flows per LB"
		}
		{ printf "%-8s %8d %7d %9.4f %9.4f %9.4f %9.4f %10s %9s %8s  %s\n", $2, $3, $5, $7,
			$8, $9, $10, $12, $13, $15, $14 }
		$2 == "marl" && $16 != "-" && $16 != "" {
			printf "         (marl: share of the measured phase on learned weights per LB: %s;" \
				" the rest on SED weights, marllbd'"'"'s probe or safety-net fallback)\n", $16
		}
		END {
			print "\n(best: the best non-learning policy at that load; TCT of ok requests;"
			print " srv_util: CPU the servers used during the replay / their quotas;"
			print " flows per LB: for marl, training phase included)"
		}
	' "$csv"
}

# Cumulative distribution of the ok requests' TCT: "tct fraction" lines.
tb_cdf() {
	awk -F, 'NR > 1 && $8 == "ok" { print $5 }' "$1" | sort -g |
		awk '{ v[NR] = $1 } END { for (i = 1; i <= NR; i++) print v[i], i / NR }'
}

tb_plot_cdf() {
	local dir=$1 load=$2 png=$3 p plots="" sep=""
	command -v gnuplot >/dev/null || return 0
	for p in $TB_POLICIES_RUN; do
		[ -f "$dir/$p.csv" ] || continue
		tb_cdf "$dir/$p.csv" >"$dir/$p.cdf"
		[ -s "$dir/$p.cdf" ] || continue
		plots="$plots$sep'$dir/$p.cdf' using 1:2 with lines lw 2 title '$p'"
		sep=", "
	done
	[ -n "$plots" ] || return 0
	gnuplot <<EOF 2>>"$TB_OUT/gnuplot.log"
set terminal pngcairo size 900,600 noenhanced
set output '$png'
set title 'Task completion time, load $load, $TB_M LBs, $TB_N $TB_SERVER servers'
set xlabel 'task completion time (s)'
set ylabel 'fraction of requests'
set logscale x
set key bottom right
set grid
plot $plots
EOF
}

# marllbd's metrics of one LB over a marl phase: weights per backend and reward, against time
# (a dashed line where training ends).
# The metric names are matched loosely (…weight…{…backend…}, …reward…) so that the plot
# follows marllbd's exposition without a copy of its names here.
tb_plot_marl() {
	local metrics=$1 png=$2 title=$3 phases=$4 wdat=${1%.metrics}.weights rdat=${1%.metrics}.reward
	command -v gnuplot >/dev/null || return 0
	[ -s "$metrics" ] || return 0
	awk -F'\t' '$2 ~ /weight/ && $2 ~ /backend=/ && $2 !~ /static/ {
			split($2, a, " "); lab = a[1]; sub(/.*backend="/, "", lab); sub(/".*/, "", lab)
			if (!(lab in col)) { col[lab] = ++nc; name[nc] = lab }
			v[$1, col[lab]] = a[2]; if (!($1 in seen)) { seen[$1] = 1; t[++nt] = $1 }
		}
		END {
			printf "t"; for (c = 1; c <= nc; c++) printf " %s", name[c]; print ""
			for (i = 1; i <= nt; i++) {
				printf "%s", t[i] - t[1]
				for (c = 1; c <= nc; c++) printf " %s", ((t[i], c) in v) ? v[t[i], c] : "nan"
				print ""
			}
		}' "$metrics" >"$wdat"
	awk -F'\t' '$2 ~ /reward/ && $2 !~ /^#/ { split($2, a, " ");
			if (!n++) t0 = $1; print $1 - t0, a[2] }' "$metrics" >"$rdat"
	local ncol train_line=""
	ncol=$(head -n 1 "$wdat" | awk '{ print NF - 1 }')
	# The end of marl's training phase, if it had one: a line on both plots.
	[ -f "$phases" ] && train_line=$(awk -v t0="$(head -n 1 "$metrics" | cut -f 1)" \
		'$1 == "train_end" { printf "set arrow from %g, graph 0 to %g, graph 1 nohead dt 2", $2 - t0, $2 - t0 }' "$phases")
	[ "$ncol" -gt 0 ] || [ -s "$rdat" ] || return 0
	gnuplot <<EOF 2>>"$TB_OUT/gnuplot.log"
set terminal pngcairo size 900,800 noenhanced
set output '$png'
set multiplot layout 2,1 title '$title'
set xlabel 'time in the phase (s)'
set ylabel 'weight a_k'
set key outside right
set grid
$train_line
$( [ "$ncol" -gt 0 ] && echo "plot for [c=2:$((ncol + 1))] '$wdat' using 1:c with lines lw 2 title columnhead(c)" || echo "plot 0 notitle" )
set ylabel 'reward'
$( [ -s "$rdat" ] && echo "plot '$rdat' using 1:2 with lines lw 2 notitle" || echo "plot 0 notitle" )
unset multiplot
EOF
}
