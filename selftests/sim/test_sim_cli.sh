#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# marllb-sim's commands end to end: results that must not depend on what ran before them,
# options that must win or be refused, and the files the commands write.
SUITE=test_sim_cli
# shellcheck source=cli_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

# A small pool and a tiny model trained on it (seconds), shared by the marl cases.
SERVERS=(--workers 2 --speeds 1,1,2 --cpu-mean 0.2)
RUN=(--duration 120 --warmup 10)
tiny_model() {
	[ -f "$WORK/tiny/best.model" ] && return 0
	"$SIM" train --out "$WORK/tiny" --servers 3 --lbs 2 "${SERVERS[@]}" --episodes 2 \
		--eval-every 2 --val-seeds 1 --val-duration 20 --duration 20 --warmup 0 \
		--hidden 8 --batch-rows 12 --warmup-steps 10 \
		>"$WORK/train.log" 2>&1 || { cat "$WORK/train.log"; return 1; }
}

compare() { # compare OUT [OPTIONS]: the small pool's correct scenario
	local out=$1; shift
	"$SIM" compare --pools 3x2 --scenarios correct "${SERVERS[@]}" "${RUN[@]}" --out "$out" \
		"$@" >"$out.log" 2>&1 || { cat "$out.log"; return 1; }
}

row() { # row DIR POLICY SEED: that run's line of DIR/runs.csv
	grep ",$2,$3," "$1/runs.csv" | head -n 1
}

# Every seed runs on fresh agents: seed 3 alone gives what seed 3 gives after seeds 1-2, with
# the agents acting and with them learning online.
case_compare_seed_order() {
	local a b learn
	tiny_model || return 1
	for learn in "" --learn; do
		compare "$WORK/c5" --policies marl --model "$WORK/tiny/best.model" --seeds 5 \
			$learn || return 1
		compare "$WORK/c1" --policies marl --model "$WORK/tiny/best.model" --seed 3 \
			--seeds 1 $learn || return 1
		a=$(row "$WORK/c5" marl 3) b=$(row "$WORK/c1" marl 3)
		check "seed 3 has a row" [ -n "$a" ]
		check "${learn:-acting}: seed 3 alone ($b) = seed 3 within 1-5 ($a)" [ "$a" = "$b" ]
	done
}

# Two processes give the same results as one, and every table is written.
case_compare_jobs() {
	compare "$WORK/j1" --seeds 3 --policies lsq,sed,best-static,oracle || return 1
	compare "$WORK/j2" --seeds 3 --policies lsq,sed,best-static,oracle -j 2 || return 1
	check "same runs" cmp -s "$WORK/j1/runs.csv" "$WORK/j2/runs.csv"
	check "same search" cmp -s "$WORK/j1/best-static.csv" "$WORK/j2/best-static.csv"
	check "12 runs" [ "$(grep -c ',correct,' "$WORK/j1/runs.csv")" = 12 ]
	check "a table per metric" [ "$(grep -c '^| 3x2 |' "$WORK/j1/compare.md")" = 2 ]
	check "ratio CIs" grep -q 'sed / best-static' "$WORK/j1/compare.md"
}

# --mixes and explicit mean work contradict each other: refused, nothing written.
case_compare_refuses_mixes_with_means() {
	"$SIM" compare --mixes 50 --cpu-mean 0.18 --out "$WORK/bad" >"$WORK/bad.log" 2>&1
	check "exit status 2" [ $? = 2 ]
	check "says why" grep -q -- "--mixes and --mix/--cpu-mean/--io-mean" "$WORK/bad.log"
	check "wrote nothing" [ ! -e "$WORK/bad" ]
}

# --cpu-mean wins over --mix in either order (the arrival rate follows it).
case_run_explicit_mean_wins() {
	local a b
	a=$("$SIM" run --cpu-mean 0.18 --mix 100 --duration 50 --warmup 5 | grep 'arrival rate')
	b=$("$SIM" run --mix 100 --cpu-mean 0.18 --duration 50 --warmup 5 | grep 'arrival rate')
	# 8 servers of 4 and 2 workers: 24 CPU-s/s x 0.9 / 0.18 s = 120 tasks/s
	check "rate from --cpu-mean ($a)" grep -q '120.000 tasks/s' <<<"$a"
	check "same in either order" [ "$a" = "$b" ]
}

# A drawn world is printed with the options that rebuild it: both runs are the same run.
case_world_rebuilds() {
	local seed opts a b
	for seed in 1000000000 1000000001 100000007; do
		opts=$("$SIM" world --seed $seed --duration 100 --warmup 10 | sed -n 's/^options: //p')
		check "world $seed prints its options" [ -n "$opts" ] || return 1
		# shellcheck disable=SC2086
		a=$("$SIM" run $opts --policy sed | grep -E '^(mean TCT|p99 TCT|tasks )')
		b=$("$SIM" run --world $seed --duration 100 --warmup 10 --policy sed |
			grep -E '^(mean TCT|p99 TCT|tasks )')
		check "world $seed ran" [ "$(grep -c . <<<"$a")" = 3 ]
		check "world $seed: run --world ($b) = run with its options ($a)" [ "$a" = "$b" ]
	done
	"$SIM" world --seed 1000000000 --count 3 --servers-range 7 --weights-kinds reversed \
		>"$WORK/w.txt"
	check "three worlds" [ "$(grep -c '^world ' "$WORK/w.txt")" = 3 ]
	check "N fixed at 7" [ "$(grep -c '^world .*: N 7,' "$WORK/w.txt")" = 3 ]
	check "reversed weights" [ "$(grep -c 'weights reversed' "$WORK/w.txt")" = 3 ]
	"$SIM" run --world 5 --servers 3 >/dev/null 2>"$WORK/err.txt"
	check "--servers with --world refused" grep -q -- '--servers and --world' "$WORK/err.txt"
	"$SIM" world --servers-range 9:3 >/dev/null 2>&1
	check "a bad range refused" [ $? = 2 ]
}

# Weights over time: one row per control step, the change in the plot; the scenario's run.
case_run_weights_trace() {
	"$SIM" run --scenario slowdown --pool 7x2 --duration 100 --warmup 10 --policy sed \
		--weights-csv "$WORK/w.csv" --weights-png "$WORK/w.png" --weights-lb 1 \
		>"$WORK/w.log" 2>&1 || { cat "$WORK/w.log"; return 1; }
	check "header" [ "$(head -n 1 "$WORK/w.csv")" = "t,w0,w1,w2,w3,w4,w5,w6" ]
	check "a row every 0.25 s" [ "$(wc -l <"$WORK/w.csv")" = $((1 + 401)) ]
	check "sed's weights: the capacities" grep -q '^50.000,4,4,4,4,8,8,8$' "$WORK/w.csv"
	check "a PNG" [ "$(head -c 4 "$WORK/w.png" | tail -c 3)" = PNG ]
	check "window after the change" grep -q '^window  *55-100 s' "$WORK/w.log"
	"$SIM" run --weights-png "$WORK/x.png" >/dev/null 2>"$WORK/err.txt"
	check "png without csv refused" grep -q 'needs --weights-csv' "$WORK/err.txt"
}

# A loaded model trains with its own settings: changing them is refused, nothing written.
case_train_init_keeps_settings() {
	"$SIM" train --init "$ROOT/models/marllb.model" --lr 1e-3 --episodes 1 \
		--out "$WORK/init" >"$WORK/init.log" 2>&1
	check "exit status 2" [ $? = 2 ]
	check "says which options" grep -q -- "--init .*--lr .*give none of them" "$WORK/init.log"
	check "wrote nothing" [ ! -e "$WORK/init" ]
}

for c in run_weights_trace compare_seed_order compare_jobs compare_refuses_mixes_with_means \
	run_explicit_mean_wins world_rebuilds train_init_keeps_settings; do
	run_case "$c"
done
summary
