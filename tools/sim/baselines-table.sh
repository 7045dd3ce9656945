#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The paper's Table 3, row by row, in the simulator (Documentation/baselines.md): every
# learned method trained with the same budget on several training seeds, then evaluated with
# the heuristics and the Oracle on the same task streams; mean and p99 task completion time
# with their spread over the training seeds, the ratio to the Oracle, the communication each
# method needs in training, and learning curves.
#
#   tools/sim/baselines-table.sh [OPTIONS]        (--help: the options and their defaults)
#
# Resumable: a training or evaluation whose results exist is not run again (delete its
# directory under OUT/runs to redo it); an OUT made with another budget is refused.
set -eu -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SELF=$ROOT/tools/sim/baselines-table.sh
SIM=$ROOT/build/marllb-sim
export OPENBLAS_NUM_THREADS=1

: "${OUT:=$ROOT/build/baselines-table}"
: "${SEEDS:=3}" "${EPISODES:=100}" "${DURATION:=120}" "${EVAL_EVERY:=5}"
: "${VAL_SEEDS:=4}" "${VAL_DURATION:=300}"
: "${EVAL_SEEDS:=10}" "${EVAL_DURATION:=600}" "${EVAL_WARMUP:=60}" "${JOBS:=1}"
: "${SETTINGS:=paper-50 paper-75 paper-100 6x20-100}"
: "${METHODS:=marl:vbf marl:vbf-log distr-lb:vbf distr-lb:vbf-log qmix-lb:pbf qmix-lb:vbf qmix-lb:makespan centr-lb:vbf centr-lb:vbf-log rlb-sac:jain}"
: "${HEURISTICS:=ecmp,wcmp,lsq,sed,oracle}"
: "${SHIPPED:=$ROOT/models/marllb.model}"
: "${TRAIN_ARGS:=}"

usage() {
	cat <<EOF
usage: tools/sim/baselines-table.sh [OPTIONS]

Trains every method of METHODS (POLICY:REWARD) on every setting of SETTINGS with SEEDS
training seeds and the same budget (EPISODES episodes of DURATION simulated seconds;
validation every EVAL_EVERY episodes on VAL_SEEDS streams of VAL_DURATION s; the team best
on validation is kept), evaluates each on EVAL_SEEDS task streams of EVAL_DURATION s
(warmup EVAL_WARMUP s) with the heuristics and the Oracle on the same streams, and writes
OUT/table.md, OUT/table.csv and OUT/curves/*.png.

Settings: paper-M  the paper's simulator system: 8 servers of 4,4,4,4,2,2,2,2 workers at
                   speed 1, 2 LBs, load 0.9, mix M (100, 75 or 50 % CPU)
          6x20-M   20 servers (10 of 4 workers, 10 of 2), 6 LBs, load 0.9, mix M
Methods: marl (train's own policy, shared learner and privileged teacher), distr-lb,
         rlb-sac, qmix-lb, centr-lb (marllb-sim train --policy P --help), each with a
         reward of marllb-sim's --reward; the shipped model ($SHIPPED) is evaluated too.

  --out DIR            ($OUT)
  --seeds N            training seeds ($SEEDS)
  --episodes N         training episodes ($EPISODES)
  --duration S         simulated seconds per training episode ($DURATION)
  --eval-every K       validate every K episodes ($EVAL_EVERY)
  --val-seeds N        validation streams ($VAL_SEEDS)
  --val-duration S     seconds per validation run ($VAL_DURATION)
  --eval-seeds N       evaluation streams ($EVAL_SEEDS)
  --eval-duration S    seconds per evaluation run ($EVAL_DURATION)
  --eval-warmup S      ($EVAL_WARMUP)
  --settings "LIST"    ($SETTINGS)
  --methods "LIST"     ($METHODS)
  -j, --jobs N         trainings at a time ($JOBS; one per free core)
  --quick              a small run that proves the machinery: 2 seeds, 4 episodes of
                       60 s, each validated on 1 stream of 60 s, 3
                       evaluation streams of 300 s (warmup 30 s), updates from the
                       200th step (--warmup-steps 200); numbers of no weight
  --train-args "ARGS"  more options for every marllb-sim train (${TRAIN_ARGS:-none})
  --help
EOF
}

# ---- systems ----

workers_of() { # workers_of N: half the servers with 4 workers, half with 2
	local n=$1 i out=""
	for ((i = 0; i < n; i++)); do out+="${out:+,}$((i < n / 2 ? 4 : 2))"; done
	echo "$out"
}

# system SETTING: sets SERVERS LBS MIX
system() {
	case $1 in
	paper-*) SERVERS=8 LBS=2 ;;
	6x20-*) SERVERS=20 LBS=6 ;;
	*) echo "baselines-table: unknown setting $1" >&2; exit 2 ;;
	esac
	MIX=${1##*-}
	case $MIX in 100 | 75 | 50) ;; *) echo "baselines-table: $1: mix 100, 75 or 50" >&2; exit 2 ;; esac
}

train_args() {
	echo "--servers $SERVERS --lbs $LBS --workers $(workers_of "$SERVERS") --speeds 1 --mix $MIX"
}

compare_args() {
	echo "--pools ${SERVERS}x$LBS --workers $(workers_of "$SERVERS") --speeds 1 --mixes $MIX" \
	     "--scenarios correct --seeds $EVAL_SEEDS --duration $EVAL_DURATION --warmup $EVAL_WARMUP"
}

# ---- one job: train a method on a setting with a seed, then evaluate it ----

# result line: setting,method,reward,seed,mean,p99,wall_s,comm_step,comm_sync,comm_episode
job() {
	local setting=$1 policy=$2 reward=$3 seed=$4 dir
	dir=$OUT/runs/$setting/$policy-$reward/seed$seed
	[ -s "$dir/result.csv" ] && return 0
	system "$setting"
	mkdir -p "$dir"
	if [ ! -s "$dir/train/best.model" ]; then
		# shellcheck disable=SC2046,SC2086 # the option lists split into words
		"$SIM" train --policy "$policy" --reward "$reward" --seed "$seed" --out "$dir/train" \
			$(train_args) --episodes "$EPISODES" --duration "$DURATION" \
			--eval-every "$EVAL_EVERY" --val-seeds "$VAL_SEEDS" \
			--val-duration "$VAL_DURATION" $TRAIN_ARGS >"$dir/train.log" 2>&1 ||
			{ echo "baselines-table: training failed: $dir/train.log" >&2; return 1; }
	fi
	# shellcheck disable=SC2046
	"$SIM" compare --policies "$policy" --model "$dir/train/best.model" --reward "$reward" \
		$(compare_args) --out "$dir/eval" >"$dir/eval.log" 2>&1 ||
		{ echo "baselines-table: evaluation failed: $dir/eval.log" >&2; return 1; }
	awk -F, -v s="$setting" -v m="$policy" -v r="$reward" -v seed="$seed" \
		-v sum="$dir/train/summary.txt" -v curve="$dir/train/curve.csv" '
		BEGIN { wall = ""; up = down = sync = ""
			while ((getline l < sum) > 0) {
				split(l, kv, " ")
				if (kv[1] == "wall_s") wall = kv[2]
				if (kv[1] == "comm_up_bytes_per_step") up = kv[2]
				if (kv[1] == "comm_down_bytes_per_step") down = kv[2]
				if (kv[1] == "comm_params_bytes_per_sync") sync = kv[2]
				if (kv[1] == "comm_bytes_per_episode") ep = kv[2]
			}
			if (wall == "") # marl: train.c writes no summary; its curve has the time
				while ((getline l < curve) > 0) { split(l, c, ","); wall = c[10] }
		}
		NR > 1 { mean += $7; p99 += $8; n++ }
		END { printf "%s,%s,%s,%s,%.6f,%.6f,%s,%s,%s,%s\n", s, m, r, seed, mean / n,
			     p99 / n, wall, up == "" ? "" : up + down, sync, ep }' \
		"$dir/eval/runs.csv" >"$dir/result.csv.tmp"
	mv "$dir/result.csv.tmp" "$dir/result.csv"
	echo "$setting $policy $reward seed $seed: $(cut -d, -f5-7 "$dir/result.csv")"
}

# heuristics, the Oracle and the shipped model on a setting: one row per policy and stream
reference() {
	local setting=$1 dir policies=$HEURISTICS model=()
	dir=$OUT/runs/$setting/reference
	[ -s "$dir/result.csv" ] && return 0
	system "$setting"
	mkdir -p "$dir"
	if [ -f "$SHIPPED" ]; then
		policies+=,marl
		model=(--model "$SHIPPED")
	fi
	# shellcheck disable=SC2046
	"$SIM" compare --policies "$policies" "${model[@]}" $(compare_args) --out "$dir" \
		>"$dir/compare.log" 2>&1 ||
		{ echo "baselines-table: evaluation failed: $dir/compare.log" >&2; return 1; }
	awk -F, -v s="$setting" 'NR > 1 {
		printf "%s,%s,,%s,%s,%s,,,,\n", s, $5 == "marl" ? "marl-shipped" : $5, $6, $7, $8 }' \
		"$dir/runs.csv" >"$dir/result.csv"
	echo "$setting reference policies: done"
}

# ---- the table ----

aggregate() {
	local all=$OUT/results.csv mr s
	{ # the paper's order: references, then METHODS as listed
		for s in $SETTINGS; do cat "$OUT/runs/$s/reference/result.csv"; done
		for mr in $METHODS; do
			for s in $SETTINGS; do
				cat "$OUT/runs/$s/${mr%%:*}-${mr#*:}"/seed*/result.csv 2>/dev/null || true
			done
		done
	} >"$all"
	{
		echo "setting,method,reward,runs,mean_tct,mean_sd,p99_tct,p99_sd,mean_over_oracle,train_wall_s,comm_bytes_per_step,comm_bytes_per_sync,comm_bytes_per_episode"
		awk -F, '
		{ k = $1 "," $2 "," $3; if (!(k in n)) order[++nk] = k
		  n[k]++; m[k] += $5; m2[k] += $5 * $5; p[k] += $6; p2[k] += $6 * $6
		  w[k] += $7; cs[k] = $8; cy[k] = $9; ce[k] = $10 }
		END {
			for (k in n) if (split(k, f, ",") && f[2] == "oracle") orc[f[1]] = m[k] / n[k]
			for (i = 1; i <= nk; i++) { k = order[i]; split(k, f, ",")
				mean = m[k] / n[k]; pm = p[k] / n[k]
				sd = n[k] > 1 ? (m2[k] - n[k] * mean * mean) / (n[k] - 1) : 0
				psd = n[k] > 1 ? (p2[k] - n[k] * pm * pm) / (n[k] - 1) : 0
				sd = sd > 0 ? sqrt(sd) : 0; psd = psd > 0 ? sqrt(psd) : 0
				printf "%s,%d,%.4f,%.4f,%.4f,%.4f,%s,%s,%s,%s,%s\n", k, n[k], mean, sd,
					pm, psd, f[1] in orc ? sprintf("%.3f", mean / orc[f[1]]) : "",
					w[k] == "" || f[3] == "" ? "" : sprintf("%.0f", w[k] / n[k]),
					cs[k], cy[k], ce[k] }
		}' "$all"
	} >"$OUT/table.csv"
}

titles() { # the method's name in the paper's tables
	case $1 in
	marl) echo "marl (train: shared learner, teacher)" ;;
	marl-shipped) echo "marl, shipped model" ;;
	distr-lb) echo "Distr-LB" ;; rlb-sac) echo "RLB-SAC" ;; qmix-lb) echo "QMix-LB" ;;
	centr-lb) echo "Centr-LB" ;; oracle) echo "Oracle" ;; *) echo "$1" ;;
	esac
}

bytes() { # human bytes
	awk -v b="$1" 'BEGIN { if (b == "") { print "-"; exit }
		split("B KiB MiB GiB", u, " "); i = 1
		while (b >= 1024 && i < 4) { b /= 1024; i++ }
		printf (i == 1 ? "%d %s" : "%.1f %s"), b, u[i] }'
}

write_table() {
	local md=$OUT/table.md settings row s
	settings=$(cut -d, -f1 "$OUT/table.csv" | tail -n +2 | awk '!seen[$0]++' | tr '\n' ' ')
	{
		echo "# Table 3, row by row, in marllb-sim"
		echo
		echo "Measured by \`tools/sim/baselines-table.sh\` on $(date -u +%Y-%m-%d) (commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))."
		echo "Training: training seeds 1-$SEEDS, $EPISODES episodes of $DURATION s each${TRAIN_ARGS:+ (train $TRAIN_ARGS)}, validation every $EVAL_EVERY episodes on $VAL_SEEDS stream(s) of $VAL_DURATION s (the team best on validation kept)."
		echo "Evaluation: $EVAL_SEEDS task stream(s) of $EVAL_DURATION s (warmup $EVAL_WARMUP s), the same for every row, scenario \`correct\`."
		echo "Learned rows: mean over the training seeds of each seed's mean over the streams, +- the standard deviation over the training seeds;"
		echo "heuristics, Oracle and the shipped model: mean over the streams +- their standard deviation over the streams."
		echo
		for what in mean p99; do
			echo "## ${what} task completion time (s)"
			echo
			printf "| method | reward |"; for s in $settings; do printf " %s |" "$s"; done; echo
			printf "|---|---|"; for s in $settings; do printf -- "---|"; done; echo
			cut -d, -f2,3 "$OUT/table.csv" | tail -n +2 | awk '!seen[$0]++' | while IFS=, read -r m r; do
				printf "| %s | %s |" "$(titles "$m")" "${r:--}"
				for s in $settings; do
					row=$(awk -F, -v s="$s" -v m="$m" -v r="$r" '$1 == s && $2 == m && $3 == r' "$OUT/table.csv")
					if [ -z "$row" ]; then printf " - |"; continue; fi
					if [ "$what" = mean ]; then
						printf " %s +- %s (%sx) |" "$(cut -d, -f5 <<<"$row")" \
							"$(cut -d, -f6 <<<"$row")" "$(cut -d, -f9 <<<"$row")"
					else
						printf " %s +- %s |" "$(cut -d, -f7 <<<"$row")" "$(cut -d, -f8 <<<"$row")"
					fi
				done
				echo
			done
			[ "$what" = mean ] && { echo; echo "(Nx): mean over the Oracle's mean on the same streams."; }
			echo
		done
		echo "## Training: wall time and communication"
		echo
		echo "Bytes a training step moves between the LBs and a central learner (trajectories up; the central agent's weights down), and per episode with the acting parameters sent to every LB once an episode; 0 for learners that stay on their LB. marl is trained offline here (one learner for all LBs' lanes), marllbd learns on its own LB."
		echo
		echo "| setting | method | reward | training wall s | bytes/step | parameters/sync | bytes/episode |"
		echo "|---|---|---|---|---|---|---|"
		awk -F, 'NR > 1 && $3 != ""' "$OUT/table.csv" | while IFS=, read -r s m r _ _ _ _ _ _ w cs cy ce; do
			echo "| $s | $(titles "$m") | $r | ${w:--} | $(bytes "$cs") | $(bytes "$cy") | $(bytes "$ce") |"
		done
		echo
		echo "Learning curves (validation score: mean TCT / best of lsq and sed): \`curves/SETTING.png\` (every method's mean over the training seeds), \`curves/method-METHOD.png\` (a panel per setting, every seed and their mean), \`curves/SETTING-METHOD.png\`."
	} >"$md"
}

# the gnuplot plot command for one method on one setting: every seed's validation points,
# their mean (DIR/curve-mean.dat) and the line of the better of lsq and sed
plot_seeds_and_mean() {
	local dir=$1 c
	printf "plot "
	for c in "$dir"/seed*/train/curve.csv; do
		printf "'%s' using 1:(\$3 > 0 ? \$3 : 1/0) skip 1 with points pt 7 ps 0.5 lc rgb '#9090c0' title '%s', " \
			"$c" "$(basename "$(dirname "$(dirname "$c")")")"
	done
	echo "'$dir/curve-mean.dat' using 1:2 with linespoints lw 2 lc rgb '#c03030' title 'mean over seeds', 1 with lines dt 2 lc rgb 'black' title 'best of lsq, sed'"
}

curves() {
	local setting dir
	mkdir -p "$OUT/curves"
	: >"$OUT/gnuplot.log"
	for setting in "$OUT"/runs/*; do
		setting=$(basename "$setting")
		for dir in "$OUT/runs/$setting"/*-*; do
			[ -d "$dir" ] || continue
			case $(basename "$dir") in reference) continue ;; esac
			# every seed's validation points, and their mean per episode
			awk -F, 'FNR > 1 && $3 > 0 { s[$1] += $3; n[$1]++ }
				END { for (e in s) print e "," s[e] / n[e] }' "$dir"/seed*/train/curve.csv |
				sort -n >"$dir/curve-mean.dat"
			{
				echo "set terminal pngcairo size 800,450 noenhanced"
				echo "set output '$OUT/curves/$setting-$(basename "$dir").png'"
				echo "set datafile separator ','"
				echo "set grid; set key top right"
				echo "set title '$setting: $(basename "$dir")'"
				echo "set xlabel 'episode'; set ylabel 'mean TCT / best of lsq and sed (validation)'"
				plot_seeds_and_mean "$dir"
			} | gnuplot 2>>"$OUT/gnuplot.log" || echo "baselines-table: gnuplot failed for $dir (gnuplot.log)" >&2
		done
		{
			echo "set terminal pngcairo size 900,500 noenhanced"
			echo "set output '$OUT/curves/$setting.png'"
			echo "set datafile separator ','"
			echo "set grid; set key outside right"
			echo "set title '$setting: mean over training seeds'"
			echo "set xlabel 'episode'; set ylabel 'mean TCT / best of lsq and sed (validation)'"
			printf "plot "
			for dir in "$OUT/runs/$setting"/*-*; do
				[ -s "$dir/curve-mean.dat" ] || continue
				printf "'%s' using 1:2 with linespoints title '%s', " "$dir/curve-mean.dat" "$(basename "$dir")"
			done
			echo "1 with lines dt 2 lc rgb 'black' title 'best of lsq, sed'"
		} | gnuplot 2>>"$OUT/gnuplot.log" || echo "baselines-table: gnuplot failed for $setting (gnuplot.log)" >&2
	done
	method_curves
}

# one figure per learned method: a panel per setting, every seed's validation points and
# their mean (the curve-mean.dat files curves() wrote)
method_curves() {
	local method settings setting n dir
	for method in $(find "$OUT/runs" -mindepth 2 -maxdepth 2 -type d ! -name reference \
			-printf '%f\n' | sort -u); do
		settings=()
		for setting in "$OUT"/runs/*; do
			[ -s "$setting/$method/curve-mean.dat" ] && settings+=("$(basename "$setting")")
		done
		n=${#settings[@]}
		[ "$n" -gt 0 ] || continue
		{
			echo "set terminal pngcairo size $((420 * n)),400 noenhanced"
			echo "set output '$OUT/curves/method-$method.png'"
			echo "set datafile separator ','"
			echo "set grid; set key top right"
			echo "set multiplot layout 1,$n title '$method: validation score over training episodes'"
			for setting in "${settings[@]}"; do
				dir=$OUT/runs/$setting/$method
				echo "set title '$setting'; set xlabel 'episode'"
				echo "set ylabel 'mean TCT / best of lsq and sed'"
				plot_seeds_and_mean "$dir"
			done
			echo "unset multiplot"
		} | gnuplot 2>>"$OUT/gnuplot.log" || echo "baselines-table: gnuplot failed for $method (gnuplot.log)" >&2
	done
}

# ---- main ----

if [ "${1:-}" = --job ]; then
	shift
	job "$@"
	exit
fi
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=$2; shift ;;
	--seeds) SEEDS=$2; shift ;;
	--episodes) EPISODES=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--eval-every) EVAL_EVERY=$2; shift ;;
	--val-seeds) VAL_SEEDS=$2; shift ;;
	--val-duration) VAL_DURATION=$2; shift ;;
	--eval-seeds) EVAL_SEEDS=$2; shift ;;
	--eval-duration) EVAL_DURATION=$2; shift ;;
	--eval-warmup) EVAL_WARMUP=$2; shift ;;
	--settings) SETTINGS=$2; shift ;;
	--methods) METHODS=$2; shift ;;
	-j | --jobs) JOBS=$2; shift ;;
	--quick) SEEDS=2 EPISODES=4 DURATION=60 EVAL_EVERY=1 VAL_SEEDS=1 VAL_DURATION=60
		 EVAL_SEEDS=3 EVAL_DURATION=300 EVAL_WARMUP=30 TRAIN_ARGS="--warmup-steps 200" ;;
	--train-args) TRAIN_ARGS=$2; shift ;;
	--help | -h) usage; exit 0 ;;
	*) echo "baselines-table: unknown option $1 (--help)" >&2; exit 2 ;;
	esac
	shift
done
[ -x "$SIM" ] || { echo "baselines-table: build first: make (no $SIM)" >&2; exit 1; }
for s in $SETTINGS; do system "$s"; done
export OUT SEEDS EPISODES DURATION EVAL_EVERY VAL_SEEDS VAL_DURATION EVAL_SEEDS EVAL_DURATION \
	EVAL_WARMUP HEURISTICS SHIPPED TRAIN_ARGS
mkdir -p "$OUT"
# results are reused only under the budget that made them
budget="episodes $EPISODES duration $DURATION eval-every $EVAL_EVERY val-seeds $VAL_SEEDS"
budget+=" val-duration $VAL_DURATION eval-seeds $EVAL_SEEDS eval-duration $EVAL_DURATION"
budget+=" eval-warmup $EVAL_WARMUP train-args '$TRAIN_ARGS' heuristics $HEURISTICS"
if [ -f "$OUT/budget.txt" ] && [ "$(cat "$OUT/budget.txt")" != "$budget" ]; then
	echo "baselines-table: $OUT holds runs of another budget ($(cat "$OUT/budget.txt")):" \
	     "give another --out or delete it" >&2
	exit 2
fi
echo "$budget" >"$OUT/budget.txt"
start=$(date +%s)
for s in $SETTINGS; do reference "$s"; done
for s in $SETTINGS; do
	for mr in $METHODS; do
		for ((seed = 1; seed <= SEEDS; seed++)); do
			echo "$s ${mr%%:*} ${mr#*:} $seed"
		done
	done
done | xargs -P "$JOBS" -L 1 "$SELF" --job
aggregate
write_table
curves
echo "$(($(date +%s) - start)) s of wall time; wrote $OUT/table.md, $OUT/table.csv, $OUT/curves/"
