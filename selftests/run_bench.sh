#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs each benchmark program in turn; they print their own tables.
set -u
rc=0
for prog in "$@"; do
	echo "=== $prog"
	"$prog" || { echo "benchmark $prog failed (exit $?)"; rc=1; }
done
exit $rc
