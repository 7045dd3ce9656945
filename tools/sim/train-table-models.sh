#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Trains the marl agents behind the simulator's comparison table (one model per
# application mix, default system: 2 LBs, 8 servers half with 4 workers and half with 2)
# into models/sim/mix<MIX>.model, and appends each run's provenance to
# models/sim/provenance.txt (learning curves beside them). MIXES (default "100 75 50") and SEED (1) from the environment.
# About 5 minutes per mix on one free core.
#
# Evaluate them with the same control step and feature discount:
#   build/marllb-sim compare --pools 8x2 --workers 4,4,4,4,2,2,2,2 --speeds 1 \
#           --scenarios correct,reversed --mixes 100,75,50 --step 2 --gamma-d 0.7 \
#           --reward-units seconds --model 'models/sim/mix%m.model' --out build/sim-table3
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
seed=${SEED:-1}
mkdir -p models/sim
[ -x build/marllb-sim ] || make --no-print-directory build/marllb-sim
export OPENBLAS_NUM_THREADS=1
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- tools/sim user/obs user/learn 2>/dev/null || commit="$commit (with local changes)"

for mix in ${MIXES:-100 75 50}; do
	out=build/sim-train-mix$mix
	set -- build/marllb-sim train --out "$out" --mix "$mix" --seed "$seed" --reward vbf \
		--episodes 200 --duration 300 --step 2 --gamma 0.8 --hidden 32 --batch 16 --lr 1e-4 \
		--gamma-d 0.7 --reward-units seconds --warmup-steps 300 --eval-every 4 --eval-seeds 3 \
		--w-min 0.5 --w-max 2 \
		--no-reward-scaling --model-out "models/sim/mix$mix.model"
	log=$(mktemp)
	"$@" | tee "$log"
	cp "$out/curve.csv" "models/sim/mix$mix-curve.csv"
	cp "$out/curve.png" "models/sim/mix$mix-curve.png"
	{
		echo "model:    models/sim/mix$mix.model (N = 8, obs_dim 61)"
		echo "command:  $*"
		echo "seed:     $seed"
		echo "commit:   $commit"
		echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "result:   $(grep '^best evaluation' "$log")"
		echo
	} >>models/sim/provenance.txt
	rm -f "$log"
done
