# SPDX-License-Identifier: GPL-2.0
# The testbed's plots (gnuplot, PNG; sourced by marllb-testbed). Colours are the Okabe-Ito
# palette (safe for colour-blind readers), each policy also with its own dash pattern and
# point shape, so that the plots read in grey too.
#
#   tct-ci.png                mean and p99 TCT per policy and load, 95 % confidence bars
#   tct-cdf-load<L>.png       TCT distribution per policy (all repeats)
#   marl-weights-load<L>-r<R>.png   marl's weights over time, one row per capacity class,
#                             one column per LB; warm-up, noisy neighbour and the periods
#                             off learned weights (probe, fallback) shaded

TB_GNUPLOT_LOG=""

tb_has_gnuplot() { command -v gnuplot >/dev/null; }

# "colour dash point" of a policy.
tb_style() {
	case $1 in
	marl) echo "#D55E00 1 7" ;;         # vermillion, solid, filled circle
	marl-trained) echo "#56B4E9 1 9" ;; # sky blue, solid, filled triangle
	sed) echo "#0072B2 2 5" ;;          # blue, dashed, filled square
	lsq) echo "#009E73 3 13" ;;         # bluish green, short dashes, filled diamond
	haproxy) echo "#CC79A7 4 11" ;;     # reddish purple, dash-dot, filled triangle down
	wcmp) echo "#E69F00 5 4" ;;         # orange, dash-dot-dot, square
	*) echo "#000000 6 6" ;;            # black (ecmp), dotted, circle
	esac
}

# Colour of server number I in a panel of marl's weights; its dash pattern is its number.
tb_server_colour() {
	local colours=("#0072B2" "#D55E00" "#009E73" "#CC79A7" "#E69F00" "#56B4E9" "#000000")
	echo "lc rgb '${colours[$(($1 % 7))]}'"
}

tb_gnuplot() {
	gnuplot 2>>"${TB_GNUPLOT_LOG:-/dev/null}" || tb_log "warning: gnuplot failed (see $TB_GNUPLOT_LOG)"
}

# Mean and p99 with their intervals, every load, one bar per policy.
tb_plot_tct_ci() {
	local png=$1 data=$TB_OUT/tct-ci.dat p i=0 plots_m="" plots_p="" st c dt pt np
	tb_has_gnuplot || return 0
	np=$(echo "$TB_POLICIES_RUN" | wc -w)
	: >"$data"
	for load in "${TB_LOAD_LIST[@]}"; do
		awk -v l="$load" '$1 == "policy" && $7 != "nan" { print l, $2, $7, $8, $9, $12, $13, $14 }' \
			"$TB_OUT/load$load/compare.txt" >>"$data"
	done
	for p in $TB_POLICIES_RUN; do
		read -r c dt pt <<<"$(tb_style "$p")"
		st="lc rgb '$c' dt $dt pt $pt ps 1.3 lw 2"
		# x: the load's group, the policy's place within it
		plots_m="$plots_m${plots_m:+, }'$data' using (loadx(\$1) + $i * bw):(strcol(2) eq '$p' ? \$3 : NaN):4:5 with yerrorbars $st title '$p'"
		plots_p="$plots_p${plots_p:+, }'$data' using (loadx(\$1) + $i * bw):(strcol(2) eq '$p' ? \$6 : NaN):7:8 with yerrorbars $st title '$p'"
		i=$((i + 1))
	done
	local xtics="" k=0
	for load in "${TB_LOAD_LIST[@]}"; do
		xtics="$xtics${xtics:+, }'$(awk -v l="$load" 'BEGIN { printf "%.0f%%%%", l * 100 }')' $k"
		k=$((k + 1))
	done
	tb_gnuplot <<EOF
set terminal pngcairo size 1100,500 noenhanced font ',10'
set output '$png'
bw = 0.6 / $np
array loads[${#TB_LOAD_LIST[@]}] = [$(IFS=,; echo "${TB_LOAD_LIST[*]}")]
loadx(l) = sum [k=1:${#TB_LOAD_LIST[@]}] (abs(loads[k] - l) < 1e-9 ? k - 1 : 0) - 0.3 + bw / 2
set multiplot layout 1,2 title '$TB_SCENARIO_TITLE: task completion time per policy (95% confidence intervals over requests and $TB_REPEATS repeats)'
set xtics ($xtics)
set xrange [-0.5:${#TB_LOAD_LIST[@]} - 0.5]
set xlabel 'offered load'
set grid ytics
set key top left
set ylabel 'mean TCT (s)'
set title 'mean'
plot $plots_m
set ylabel 'p99 TCT (s)'
set title '99th percentile'
plot $plots_p
unset multiplot
EOF
}

# TCT distribution per policy at one level, all repeats pooled.
tb_plot_cdf() {
	local dir=$1 load=$2 png=$3 p plots="" c dt pt
	tb_has_gnuplot || return 0
	for p in $TB_POLICIES_RUN; do
		cat "$dir/$p"-r*.csv 2>/dev/null | awk -F, '$8 == "ok" && $9 == 1 { print $5 }' | sort -g |
			awk '{ v[NR] = $1 } END { for (i = 1; i <= NR; i++) print v[i], i / NR }' >"$dir/$p.cdf"
		[ -s "$dir/$p.cdf" ] || continue
		read -r c dt pt <<<"$(tb_style "$p")"
		plots="$plots${plots:+, }'$dir/$p.cdf' using 1:2 with lines lw 2 lc rgb '$c' dt $dt title '$p'"
	done
	[ -n "$plots" ] || return 0
	tb_gnuplot <<EOF
set terminal pngcairo size 900,600 noenhanced font ',10'
set output '$png'
set title '$TB_SCENARIO_TITLE: task completion time at load $load ($TB_REPEATS repeats pooled)'
set xlabel 'task completion time (s)'
set ylabel 'fraction of requests'
set logscale x
set key bottom right
set grid
plot $plots
EOF
}

# Capacity classes of the servers: "class_label server server ..." lines, slowest first. At
# most four distinct capacities get a class each; more (a drawn pool) go into three classes
# by rank.
tb_capacity_classes() {
	for ((j = 0; j < TB_N; j++)); do echo "${TB_CAP[$j]} $j"; done | sort -g -k1,1 -k2,2 |
		awk '{ c[NR] = $1; s[NR] = $2; if (!($1 in seen)) { seen[$1] = 1; nd++ } }
		END {
			if (nd <= 4) {
				for (i = 1; i <= NR; i++) {
					if (c[i] != prev) { if (i > 1) print line; line = "capacity_" c[i]; prev = c[i] }
					line = line " " s[i]
				}
				print line
				exit
			}
			for (k = 0; k < 3; k++) {
				a = int(k * NR / 3) + 1; b = int((k + 1) * NR / 3)
				line = sprintf("capacities_%s-%s", c[a], c[b])
				for (i = a; i <= b; i++) line = line " " s[i]
				print line
			}
		}'
}

# marl's weights of one repeat at one level: TAG.metrics -> one PNG.
tb_plot_weights() {
	local dir=$1 load=$2 tag=$3 png=$4
	local metrics=$1/$3.metrics events=$1/$3.events wdat=$1/$3.weights
	local i j k t0 cls servers plots nclass hog=""
	tb_has_gnuplot || return 0
	[ -s "$metrics" ] || return 0
	t0=$(awk '$1 == "measured_start" { print $2 }' "$events")
	# "lb t server weight" with weights normalised to mean 1 per LB and time (the rule is
	# scale-free), then a 5-sample (5 s) centred moving average per LB and server
	awk -F'\t' -v t0="$t0" '$3 ~ /^marllb_backend_weight\{/ {
			split($3, a, " "); b = a[1]; sub(/.*backend="/, "", b); sub(/".*/, "", b)
			key = $1 SUBSEP $2; w[key, b] = a[2]; sum[key] += a[2]; n[key]++
			if (!(key in seenk)) { seenk[key] = 1; keys[++nk] = key }
			srv[b] = 1
		}
		END { for (k = 1; k <= nk; k++) { split(keys[k], p, SUBSEP)
			for (b in srv) if ((keys[k], b) in w && sum[keys[k]] > 0)
				printf "%s %.3f %s %.5f\n", p[1], p[2] - t0, b, w[keys[k], b] * n[keys[k]] / sum[keys[k]] } }' \
		"$metrics" | sort -k1,1 -k3,3 -k2,2g | awk '
		{ k = $1 " " $3; if (k != prev) { flush(); prev = k; m = 0 } m++; T[m] = $2; V[m] = $4; L = $1; S = $3 }
		function flush(  i, j, s, c) {
			for (i = 1; i <= m; i++) { s = 0; c = 0
				for (j = i - 2; j <= i + 2; j++) if (j >= 1 && j <= m) { s += V[j]; c++ }
				printf "%s %s %.3f %.5f\n", L, S, T[i], s / c }
		}
		END { flush() }' >"$wdat"
	[ -s "$wdat" ] || return 0
	# periods off learned weights per LB: "lb from to mode"
	awk -F'\t' -v t0="$t0" '$3 ~ /^marllb_agent_mode\{/ && $3 ~ / 1$/ {
			m = $3; sub(/.*mode="/, "", m); sub(/".*/, "", m)
			if (m != cur[$1]) { if (cur[$1] != "" && cur[$1] != "learned") printf "%s %.3f %.3f %s\n", $1, from[$1] - t0, $2 - t0, cur[$1]
				cur[$1] = m; from[$1] = $2 }
			last[$1] = $2 }
		END { for (lb in cur) if (cur[lb] != "learned") printf "%s %.3f %.3f %s\n", lb, from[lb] - t0, last[lb] - t0, cur[lb] }' \
		"$metrics" >"$dir/$tag.modes"
	hog=$(awk -v t0="$t0" '$1 == "hog_on" { a = $2 - t0; s = $3 } $1 == "hog_off" { printf "%.3f %.3f %s\n", a, $2 - t0, s }' "$events")
	nclass=$(tb_capacity_classes | wc -l)
	{
		cat <<EOF
set terminal pngcairo size $((520 * TB_M + 200)),$((260 * nclass + 110)) noenhanced font ',10'
set output '$png'
set multiplot layout $nclass,$TB_M title "$TB_SCENARIO_TITLE: ${tag%-r*} at load $load, repeat ${tag##*-r}: weights per server, normalised to mean 1, 5 s moving average\nshaded: warm-up (grey), noisy neighbour (orange), SED probe or fallback (red hatching); dotted: each server's capacity share" noenhanced
set key outside right top
set grid
set xrange [-$TB_WARMUP:$TB_DURATION]
set yrange [0:*]
EOF
		while read -r cls servers; do
			for ((i = 0; i < TB_M; i++)); do
				echo "unset object"
				echo "set object rect from -$TB_WARMUP, graph 0 to 0, graph 1 fc rgb '#BBBBBB' fs transparent solid 0.35 noborder behind"
				[ -n "$hog" ] && echo "$hog" | while read -r a b s; do
					echo "set object rect from $a, graph 0 to $b, graph 1 fc rgb '#E69F00' fs transparent solid 0.25 noborder behind"
				done
				awk -v lb="lb$i" '$1 == lb { printf "set object rect from %s, graph 0 to %s, graph 1 fc rgb \"#D55E00\" fs transparent pattern 4 noborder behind\n", $2, $3 }' "$dir/$tag.modes"
				echo "set title 'LB $i, ${cls//_/ }'"
				echo "set xlabel 'seconds since the measured phase began'"
				echo "set ylabel 'weight / mean weight'"
				plots="" k=0
				for j in $servers; do
					plots="$plots${plots:+, }'$wdat' using (strcol(1) eq 'lb$i' && strcol(2) eq '$(tb_srv_ip "$j")' ? \$3 : NaN):4 with lines $(tb_server_colour "$k") dt $((k % 5 + 1)) lw 2 title 's$j (cap ${TB_CAP[$j]})'"
					# its capacity share: the weight SED would give it with the right weights
					plots="$plots, $(awk -v c="${TB_CAP[$j]}" -v s="$TB_CAP_SUM" -v n="$TB_N" 'BEGIN { print c * n / s }') with lines $(tb_server_colour "$k") dt 3 lw 1 $([ "$k" = 0 ] && echo "title 'capacity share'" || echo notitle)"
					k=$((k + 1))
				done
				echo "plot $plots"
			done
		done < <(tb_capacity_classes)
		echo "unset multiplot"
	} | tb_gnuplot
}

# All scenarios: marl / best non-learning policy, mean and p99, with intervals.
tb_plot_verdicts() {
	local csv=$1 png=$2 data=${2%.png}.dat
	tb_has_gnuplot || return 0
	# one row per scenario and load: label, mean ratio lo hi, p99 ratio lo hi
	awk -F, 'NR > 1 && $3 == "all" && $4 == "marl" {
			k = sprintf("%s@%.0f%%", $1, $2 * 100); if (!(k in seen)) { seen[k] = 1; key[++n] = k }
			v[k, $5] = $7 " " $8 " " $9 }
		END { for (i = 1; i <= n; i++) printf "%s %s %s\n", key[i],
			(key[i], "mean") in v ? v[key[i], "mean"] : "NaN NaN NaN",
			(key[i], "p99") in v ? v[key[i], "p99"] : "NaN NaN NaN" }' "$csv" >"$data"
	[ -s "$data" ] || return 0
	tb_gnuplot <<EOF
set terminal pngcairo size 1000,500 noenhanced font ',10'
set output '$png'
set title 'marl / best non-learning policy per scenario and load (95% confidence intervals): below 1 marl is better; dotted: the 15% bar'
set ylabel 'ratio of task completion times'
set grid ytics
set xtics rotate by -20
set offsets 0.5, 0.5, 0, 0
set key top right
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#000000'
set arrow from graph 0, first 0.85 to graph 1, first 0.85 nohead dt 3 lc rgb '#009E73'
plot '$data' using (\$0 - 0.12):2:3:4:xtic(1) with yerrorbars pt 7 ps 1.3 lw 2 lc rgb '#D55E00' title 'mean', \
     '$data' using (\$0 + 0.12):5:6:7 with yerrorbars pt 5 ps 1.3 lw 2 dt 2 lc rgb '#0072B2' title 'p99'
EOF
}
