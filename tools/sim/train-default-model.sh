#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Trains the default model shipped in models/ (marllbd's --default-model) and writes its
# provenance and learning curve beside it.
#
# One set of parameters for every pool: training draws a new random world every episode
# (2-64 servers, 1-8 LBs each running the same parameters, capacity ratios up to 1:8, right,
# wrong or reversed configured weights, slowdowns and noisy neighbours, load 0.3-0.97, CPU
# and IO mixes; tools/sim/world.h), with marllbd's learning defaults: control step 0.25 s,
# feature discount 0.9, reward vbf in relative units. The model kept is the one best on the
# validation worlds (tools/sim/seeds.h), never trained on.
#
#   tools/sim/train-default-model.sh            (or: make sim-model)
#
# The actor learns by imitation of a privileged teacher (--bc-weight 10) with the SAC actor
# term off (--sac-weight 0: it destabilised training); the critics are trained all the same
# (Documentation/policy.md, "Training"). The shipped model is seed 2 of seeds 1-3, chosen
# on further validation worlds (models/marllb.provenance).
#
# SEED, EPISODES and OUT may be set in the environment. About 80 min of one core.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
seed=${SEED:-2}
episodes=${EPISODES:-300}
out=${OUT:-build/sim-model-train}
model=${MODEL:-models/marllb.model}
prov=${model%.model}.provenance

set -- build/marllb-sim train --worlds --out "$out" --model-out "$model" --seed "$seed" \
	--episodes "$episodes" --eval-every 20 --val-seeds 24 --duration 200 \
	--val-duration 300 --bc-weight 10 --sac-weight 0 \
	--step 0.25 --gamma-d 0.9 --reward vbf --reward-units relative

[ -x build/marllb-sim ] || make --no-print-directory build/marllb-sim
export OPENBLAS_NUM_THREADS=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
t0=$(date +%s)
"$@" | tee "$log"
cp "$out/curve.csv" "${model%.model}-curve.csv"
cp "$out/curve.png" "${model%.model}-curve.png"

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- tools/sim user/obs user/learn 2>/dev/null || commit="$commit (with local changes)"
{
	echo "model:    $model (any pool size: the file records none)"
	echo "command:  $*"
	echo "seed:     $seed"
	echo "commit:   $commit"
	echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "wall:     $(( ($(date +%s) - t0) / 60 )) min"
	echo "result:   $(grep '^best validation' "$log")"
	echo "settings: $(tr '\n' ' ' <"$model.settings")($model.settings: marllbd's defaults)"
	echo "curve:    ${model%.model}-curve.csv, ${model%.model}-curve.png"
} >"$prov"
echo "wrote $model and $prov"
