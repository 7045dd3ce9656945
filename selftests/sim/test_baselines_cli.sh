#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The paper's baselines through marllb-sim (Documentation/baselines.md): train writes what it
# says for every policy, with the communication each needs; compare runs their teams (several
# in one run through %p), fresh for every seed; wrong files and options are refused with a
# reason; QMix-LB's agent runs as a marl model.
SUITE=test_baselines_cli
# shellcheck source=cli_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

# 3 servers, 2 LBs; tiny teams trained for seconds
SYSTEM=(--servers 3 --lbs 2 --workers 2 --speeds 1,1,2 --cpu-mean 0.2)
POOL=(--pools 3x2 --workers 2 --speeds 1,1,2 --cpu-mean 0.2)
TINY=(--episodes 2 --eval-every 2 --val-seeds 1 --val-duration 20 --duration 20 --warmup 0
      --hidden 8 --batch-rows 12 --warmup-steps 10)

train() { # train DIR POLICY [OPTIONS]
	local dir=$1 policy=$2; shift 2
	[ -f "$dir/best.model" ] && return 0
	"$SIM" train --policy "$policy" --out "$dir" "${SYSTEM[@]}" "${TINY[@]}" "$@" \
		>"$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
}

value() { # value DIR KEY: KEY's value in DIR/summary.txt
	awk -v k="$2" '$1 == k { print $2 }' "$1/summary.txt"
}

# 14 features per server (features_policy_obs), 4-byte floats
case_train_writes_each_policy() {
	local p
	for p in distr-lb rlb-sac qmix-lb centr-lb; do
		train "$WORK/$p" $p --reward vbf || return 1
		check "$p: files" test -s "$WORK/$p/best.model" -a -s "$WORK/$p/best.model.settings" \
			-a -s "$WORK/$p/last.model" -a -s "$WORK/$p/curve.png"
		check "$p: a curve row per episode" \
			test "$(wc -l <"$WORK/$p/curve.csv")" = 3
		check "$p: the reward asked for" test "$(value "$WORK/$p" reward)" = vbf
		check "$p: budget in the summary" test "$(value "$WORK/$p" episodes)" = 2
	done
	check "distr-lb: recurrent" test "$(value "$WORK/distr-lb" recurrent)" = 1
	check "rlb-sac: no recurrence" test "$(value "$WORK/rlb-sac" recurrent)" = 0
	for p in distr-lb rlb-sac; do
		check "$p: independent learners send nothing" \
			test "$(value "$WORK/$p" comm_bytes_total)" = 0
	done
	check "qmix-lb: trajectories up, 2 x (3 x (14 + 1) + 1) x 4 bytes a step" \
		test "$(value "$WORK/qmix-lb" comm_up_bytes_per_step)" = 368
	check "qmix-lb: parameters down" \
		test "$(value "$WORK/qmix-lb" comm_params_bytes_per_sync)" -gt 0
	check "centr-lb: observations up, 2 x (3 x 14 + 1) x 4 bytes a step" \
		test "$(value "$WORK/centr-lb" comm_up_bytes_per_step)" = 344
	check "centr-lb: weights down, 2 x 3 x 4 bytes a step" \
		test "$(value "$WORK/centr-lb" comm_down_bytes_per_step)" = 24
	check "qmix-lb: its agent as a marl model" test -s "$WORK/qmix-lb/best-agent.model"
}

case_train_paper_rewards_by_default() {
	train "$WORK/default-qmix" qmix-lb --episodes 1 --eval-every 1 || return 1
	check "qmix-lb: pbf" test "$(value "$WORK/default-qmix" reward)" = pbf
	check "sidecar says so" grep -q "reward pbf" "$WORK/default-qmix/best.model.settings"
	train "$WORK/default-rlb" rlb-sac --episodes 1 --eval-every 1 || return 1
	check "rlb-sac: jain" test "$(value "$WORK/default-rlb" reward)" = jain
}

# Four learned policies in one compare through %p; every seed on a fresh team (seed 3 alone
# is seed 3 after 1 and 2).
case_compare_runs_teams() {
	local p a b
	for p in distr-lb rlb-sac qmix-lb centr-lb; do
		train "$WORK/$p" $p --reward vbf || return 1
	done
	"$SIM" compare "${POOL[@]}" --scenarios correct --duration 60 --warmup 5 --seeds 3 \
		--policies lsq,distr-lb,rlb-sac,qmix-lb,centr-lb --model "$WORK/%p/best.model" \
		--out "$WORK/c3" >"$WORK/c3.log" 2>&1 || { cat "$WORK/c3.log"; return 1; }
	"$SIM" compare "${POOL[@]}" --scenarios correct --duration 60 --warmup 5 --seed 3 \
		--seeds 1 --policies qmix-lb,centr-lb --model "$WORK/%p/best.model" \
		--out "$WORK/c1" >"$WORK/c1.log" 2>&1 || { cat "$WORK/c1.log"; return 1; }
	for p in distr-lb rlb-sac qmix-lb centr-lb; do
		check "$p: three rows" test "$(grep -c ",$p," "$WORK/c3/runs.csv")" = 3
	done
	for p in qmix-lb centr-lb; do
		a=$(grep ",$p,3," "$WORK/c3/runs.csv" | cut -d, -f7)
		b=$(grep ",$p,3," "$WORK/c1/runs.csv" | cut -d, -f7)
		check "$p: seed 3 alone = seed 3 after 1, 2 ($a, $b)" test -n "$a" -a "$a" = "$b"
	done
	check "the table names each team" grep -q "centr-lb: .*%p: centr-lb" "$WORK/c3/compare.md"
}

refused() { # refused "what" PATTERN command...: exits non-zero, says PATTERN
	local what=$1 pattern=$2; shift 2
	if "$@" >"$WORK/refused.log" 2>&1; then
		echo "    FAIL: $what: accepted"
		CASE_FAILED=1
		return 1
	fi
	check "$what: says '$pattern'" grep -q -- "$pattern" "$WORK/refused.log" ||
		cat "$WORK/refused.log"
}

case_refused_with_a_reason() {
	train "$WORK/qmix-lb" qmix-lb --reward vbf || return 1
	train "$WORK/centr-lb" centr-lb --reward vbf || return 1
	refused "another kind of team" "holds a central team, not qmix-lb" \
		"$SIM" compare "${POOL[@]}" --scenarios correct --seeds 1 --duration 30 --warmup 5 \
		--policies qmix-lb --model "$WORK/centr-lb/best.model"
	refused "another number of LBs" "trained for 2 LBs, this system has 6" \
		"$SIM" compare --pools 3x6 --workers 2 --speeds 1,1,2 --cpu-mean 0.2 \
		--scenarios correct --seeds 1 --duration 30 --warmup 5 --policies centr-lb \
		--model "$WORK/centr-lb/best.model"
	refused "other learning settings" "reward" \
		"$SIM" compare "${POOL[@]}" --scenarios correct --seeds 1 --duration 30 --warmup 5 \
		--policies qmix-lb --model "$WORK/qmix-lb/best.model" --reward pbf
	refused "a marl model as a team" "load it with --policy marl" \
		"$SIM" compare "${POOL[@]}" --scenarios correct --seeds 1 --duration 30 --warmup 5 \
		--policies qmix-lb --model "$WORK/qmix-lb/best-agent.model"
	refused "a team without --model" "need --model" \
		"$SIM" compare "${POOL[@]}" --scenarios correct --seeds 1 --policies lsq,centr-lb
	refused "an unknown policy" "expected marl, distr-lb" \
		"$SIM" train --policy qmix --out "$WORK/x" "${SYSTEM[@]}"
	refused "a mixer for a team without one" "only qmix-lb has a mixer" \
		"$SIM" train --policy centr-lb --mixer-embed 8 --out "$WORK/x" "${SYSTEM[@]}"
}

# QMix-LB's agents act on their own observations: its agent file runs as marl does.
case_qmix_agent_runs_as_marl() {
	train "$WORK/qmix-lb" qmix-lb --reward vbf || return 1
	check "run --policy marl with it" "$SIM" run --policy marl \
		--model "$WORK/qmix-lb/best-agent.model" "${SYSTEM[@]}" --duration 30 --warmup 5 \
		>"$WORK/run.log" 2>&1 || cat "$WORK/run.log"
	check "train --policy marl is marl's training" "$SIM" train --policy marl \
		--out "$WORK/marl" "${SYSTEM[@]}" "${TINY[@]}" >"$WORK/marl.log" 2>&1 ||
		cat "$WORK/marl.log"
	check "an agent model" cmp -s -n 8 "$WORK/marl/best.model" \
		"$WORK/qmix-lb/best-agent.model"
}

for c in train_writes_each_policy train_paper_rewards_by_default compare_runs_teams \
	refused_with_a_reason qmix_agent_runs_as_marl; do
	run_case $c
done
summary
