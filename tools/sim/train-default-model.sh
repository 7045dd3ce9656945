#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Trains the default model shipped in models/ and writes its provenance beside it.
#
# The model is for the testbed's default: N = 7 servers, capacities 1,1,1,1,2,2,2 (here:
# 4 workers each at speeds 1,1,1,1,2,2,2), 2 LBs, CPU-bound tasks of 0.18 s mean work
# (the traces' mean n = 3.67e6 loop iterations at 2e7 iterations/s, the testbed's
# --iter-rate), load 0.9, and exactly marllbd's learning defaults: control step 0.25 s,
# feature discount gamma_d 0.9, reward vbf in relative units, weights in [0.5, 2], reward
# scaling on (the agent's default).
#
#   tools/sim/train-default-model.sh            (or: make sim-model)
#
# SEED and EPISODES may be set in the environment. Takes a few minutes on one core.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
seed=${SEED:-1}
episodes=${EPISODES:-60}
out=build/sim-model-train
model=models/marllb-n7.model
prov=models/marllb-n7.provenance

set -- build/marllb-sim train --out "$out" --model-out "$model" --seed "$seed" \
	--episodes "$episodes" --eval-every 4 --duration 120 \
	--servers 7 --lbs 2 --workers 4 --speeds 1,1,1,1,2,2,2 --cpu-mean 0.18 --load 0.9 \
	--step 0.25 --gamma-d 0.9 --reward vbf --reward-units relative \
	--gamma 0.8 --hidden 32 --batch 16 --warmup-steps 300 --w-min 0.5 --w-max 2

[ -x build/marllb-sim ] || make --no-print-directory build/marllb-sim
export OPENBLAS_NUM_THREADS=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" | tee "$log"
cp "$out/curve.csv" models/marllb-n7-curve.csv
cp "$out/curve.png" models/marllb-n7-curve.png

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- tools/sim user/obs user/learn 2>/dev/null || commit="$commit (with local changes)"
{
	echo "model:    $model"
	echo "for:      N = 7 servers, obs_dim 54 (features_obs_dim(7)), 2 LBs each loading it"
	echo "command:  $*"
	echo "seed:     $seed"
	echo "commit:   $commit"
	echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "result:   $(grep '^best evaluation' "$log")"
	echo "settings: $(tr '\n' ' ' <"$model.settings")($model.settings: marllbd's defaults)"
	echo "curve:    models/marllb-n7-curve.csv, models/marllb-n7-curve.png"
} >"$prov"
echo "wrote $model and $prov"
