#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Simulator speed: tasks and events per second of wall time (see marllb-sim bench --help).
exec "$(dirname "$0")/../../build/marllb-sim" bench "$@"
