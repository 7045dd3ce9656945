#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The long fuzz run of the data plane (make bench): 3 million frames instead of 100 000.
cd "$(dirname "$0")/../.." && MLB_FUZZ_FRAMES=${MLB_FUZZ_FRAMES:-3000000} exec build/test_fuzz
