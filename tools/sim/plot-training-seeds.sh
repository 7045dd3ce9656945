#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The validation curves of several `marllb-sim train` runs (one per training seed) in one
# plot: each seed's curve, their mean and their range.
#
#   tools/sim/plot-training-seeds.sh OUT.png DIR...     (DIR: a train --out directory)
#
# Also writes OUT.csv: episode, each seed's validation score, mean, min, max.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OUT.png DIR..." >&2; exit 2; }
png=$1
shift
csv=${png%.png}.csv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
for dir in "$@"; do
	[ -r "$dir/curve.csv" ] || { echo "$0: no $dir/curve.csv" >&2; exit 1; }
	# episode and validation score of the rows that were validated
	awk -F, 'NR > 1 && $3 > 0 { print $1, $3 }' "$dir/curve.csv" | sort -n >"$tmp/$i"
	i=$((i + 1))
done
# join on the episodes every run validated
cp "$tmp/0" "$tmp/joined"
j=1
while [ $j -lt $i ]; do
	join "$tmp/joined" "$tmp/$j" >"$tmp/next"
	mv "$tmp/next" "$tmp/joined"
	j=$((j + 1))
done
{
	printf 'episode'
	j=0
	while [ $j -lt $i ]; do printf ',seed_run_%d' $((j + 1)); j=$((j + 1)); done
	printf ',mean,min,max\n'
	awk '{ s = 0; lo = $2; hi = $2
	       for (k = 2; k <= NF; k++) { s += $k; if ($k < lo) lo = $k; if ($k > hi) hi = $k }
	       printf "%s", $1; for (k = 2; k <= NF; k++) printf ",%s", $k
	       printf ",%.4f,%.4f,%.4f\n", s / (NF - 1), lo, hi }' "$tmp/joined"
} >"$csv"
n=$i
{
	echo "set terminal pngcairo size 900,500 noenhanced"
	echo "set output '$png'"
	echo "set datafile separator ','"
	echo "set grid"
	echo "set key top right"
	echo "set xlabel 'training episode (one random world each)'"
	echo "set ylabel 'validation: mean TCT / best of lsq and sed (geom. mean)'"
	printf "plot '%s' using 1:%d:%d skip 1 with filledcurves fc rgb '#cfe2f3' title 'range over %d seeds', " \
		"$csv" $((n + 3)) $((n + 4)) "$n"
	printf "'' using 1:%d skip 1 with linespoints lw 2 lc rgb '#0072b2' title 'mean', " $((n + 2))
	j=0
	while [ $j -lt $n ]; do
		printf "'' using 1:%d skip 1 with lines dt %d lc rgb '#999999' title 'seed run %d', " \
			$((j + 2)) $((j + 2)) $((j + 1))
		j=$((j + 1))
	done
	echo "1 with lines dt 2 lc rgb '#d55e00' title 'best of lsq and sed'"
} | gnuplot
echo "wrote $png and $csv"
