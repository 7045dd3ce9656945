# SPDX-License-Identifier: GPL-2.0
# The testbed's workload (sourced by marllb-testbed): the trace, and per load level the
# segment every policy replays.
#
# A segment has exactly the load it claims. At level L (rate L x R requests/s) the measured
# part is the next K = round(L x R x D) requests of the trace after the skipped ramp and the
# warm-up, re-timed so that they span exactly D seconds: the trace's own rate over those
# requests sets the time scale, not its rate over the whole file (a trace that ramps up over
# its first seconds would otherwise run far below the claimed load). The W seconds of
# requests before them are the warm-up: sent, not measured. Their work n is scaled at replay
# time (marllb-replay --work-scale) by the segment's own mean, so that the measured requests
# need exactly L of the pool's CPU (see tb_segment_work_scale).
#
# The measured requests depend only on the trace, --seed, the level, --rate, --duration,
# --warmup and the skip, never on --train: marl-trained learns on a separate trace (a
# generated one from another seed, or a file's requests after the last measured segment).
#
# Files per level: segment.tsv (trace format, times from 0, n unscaled), segment.info
# ("key value": requests, warmup_requests, trace_from_s, trace_to_s, time_scale, mean_n,
# first_half, second_half), train.tsv for marl-trained.

TB_TRACE_HEADER=$(printf 'time\tquery')

# Generated traces: TB_TRACE (measured segments) and TB_TRAIN_TRACE (training), or the
# given file for both. Sets TB_TRACE_RATE (requests/s after the skip) and TB_SKIP_S.
tb_trace_prepare() {
	local span
	if [ -z "$TB_TRACE_ARG" ]; then
		TB_TRACE=$TB_OUT/trace.tsv
		# Enough for the longest segment at the highest level, with room for Poisson luck.
		span=$(awk -v w="$TB_WARMUP" -v d="$TB_DURATION" 'BEGIN { print (w + d) * 1.3 + 10 }')
		"$TB_BIN/marllb-tracegen" --rate "$TB_RATE" --duration "$span" --seed "$TB_SEED" \
			--io-share "$TB_IO_SHARE" --io-mean-ms "$TB_IO_MEAN_MS" -o "$TB_TRACE" ||
			tb_die "trace generation failed"
		TB_TRAIN_TRACE=""
		if tb_policy_listed marl-trained; then
			TB_TRAIN_TRACE=$TB_OUT/train-trace.tsv
			"$TB_BIN/marllb-tracegen" --rate "$TB_RATE" \
				--duration "$(awk -v t="$TB_TRAIN" 'BEGIN { print t * 1.3 + 10 }')" \
				--seed $((TB_SEED + 1000)) --io-share "$TB_IO_SHARE" \
				--io-mean-ms "$TB_IO_MEAN_MS" -o "$TB_TRAIN_TRACE" ||
				tb_die "training trace generation failed"
		fi
		TB_SKIP_S=0
	else
		TB_TRACE=$TB_TRACE_ARG
		TB_TRAIN_TRACE=$TB_TRACE_ARG
		[ -r "$TB_TRACE" ] || tb_die "cannot read trace $TB_TRACE"
		[ "$(head -n 1 "$TB_TRACE" | tr -d '\r')" = "$TB_TRACE_HEADER" ] ||
			tb_die "$TB_TRACE: expected the header 'time<TAB>query' (see marllb-replay --help)"
		if [ "$TB_TRACE_SKIP" = auto ]; then
			TB_SKIP_S=$(tb_trace_ramp_end "$TB_TRACE")
		else
			TB_SKIP_S=$TB_TRACE_SKIP
		fi
	fi
	TB_TRACE_RATE=$(awk -F'\t' -v s="$TB_SKIP_S" 'NR > 1 && $1 >= s { if (!n++) t0 = $1; t = $1 }
		END { printf "%.6g", (n > 1 && t > t0) ? (n - 1) / (t - t0) : 0 }' "$TB_TRACE")
	awk -v r="$TB_TRACE_RATE" 'BEGIN { exit !(r > 0) }' ||
		tb_die "trace $TB_TRACE has fewer than two requests after ${TB_SKIP_S} s"
}

# Where a trace's ramp ends: the start of the first 5 s window whose arrivals reach 90 % of
# the median window (the trace's plateau rate). 0 for a trace without a ramp.
tb_trace_ramp_end() {
	awk -F'\t' 'NR > 1 { w = int($1 / 5); c[w]++; if (w > m) m = w }
		END {
			if (m < 4) { print 0; exit }
			for (i = 0; i < m; i++) v[i] = c[i] + 0 # the last window is partial
			n = m
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
			med = v[int(n / 2)]
			for (i = 0; i < m; i++) if (c[i] >= 0.9 * med) { print i * 5; exit }
			print 0
		}' "$1"
}

# tb_segment LOAD DIR: writes DIR/segment.tsv and DIR/segment.info (see above); refuses a
# segment whose arrivals are not steady (its halves differ by more than 10 %, beyond what
# Poisson noise explains), or a trace too short for it.
tb_segment() {
	local load=$1 dir=$2 k kw
	k=$(awk -v l="$load" -v r="$TB_RATE" -v d="$TB_DURATION" 'BEGIN { printf "%d", l * r * d + 0.5 }')
	[ "$k" -ge 2 ] || tb_die "load $load: $k requests in $TB_DURATION s; raise --duration or --rate"
	awk -F'\t' -v k="$k" -v skip="$TB_SKIP_S" -v w="$TB_WARMUP" -v d="$TB_DURATION" \
		-v est="$TB_TRACE_RATE" -v l="$load" -v r="$TB_RATE" \
		-v seg="$dir/segment.tsv" -v info="$dir/segment.info" -v hdr="$TB_TRACE_HEADER" '
		BEGIN { n = 0 } # t[0], not t[""]
		NR == 1 { next }
		$1 >= skip { t[n] = $1; q[n] = $2; n++ }
		END {
			# the first measured request: a warm-up of W s (at the estimated scale) before
			# it, after the skip
			s0 = est > 0 ? k / (est * d) : 1 # trace seconds per replay second, estimated
			for (i0 = 0; i0 < n && t[i0] < t[0] + w * s0; i0++) ;
			if (i0 + k >= n) {
				printf "the trace has %d requests after the skip; load %s needs %d\n",
					n, l, i0 + k + 1 > "/dev/stderr"
				exit 3
			}
			# K requests in exactly D seconds: the scale is their own span
			scale = (t[i0 + k] - t[i0]) / d
			if (scale <= 0) { print "requests with equal times only" > "/dev/stderr"; exit 3 }
			from = t[i0] - w * scale
			print hdr > seg
			nw = 0
			for (i = 0; i < i0 + k; i++) {
				if (t[i] < from) continue
				if (i < i0) nw++
				printf "%.6f\t%s\n", (t[i] - from) / scale, q[i] > seg
			}
			half = t[i0] + d * scale / 2
			for (i = i0; i < i0 + k; i++) {
				if (t[i] < half) h1++; else h2++
				if (match(q[i], /[?&]n=[0-9.]+/)) sn += substr(q[i], RSTART + 3, RLENGTH - 3)
			}
			printf "requests %d\nwarmup_requests %d\ntrace_from_s %.6f\ntrace_to_s %.6f\n" \
				"time_scale %.6g\nmean_n %.6g\nfirst_half %d\nsecond_half %d\n" \
				"next_index %d\n", k, nw, t[i0], t[i0 + k], scale, sn / k, h1, h2,
				i0 + k > info
		}' "$TB_TRACE" || tb_die "load $load: cannot cut a segment of $k requests from $TB_TRACE"
	tb_segment_steady "$load" "$dir/segment.info"
}

tb_info_get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# The two halves of the measured part should carry the same load: refuse a ramp.
tb_segment_steady() {
	local load=$1 info=$2
	awk -v a="$(tb_info_get "$info" first_half)" -v b="$(tb_info_get "$info" second_half)" '
		BEGIN { d = a - b; if (d < 0) d = -d
			# 10 % of a half, and beyond 3 sd of the difference of two Poisson counts
			exit !(d > 0.1 * (a + b) / 2 && d > 3 * sqrt(a + b)) }' &&
		tb_die "load $load: the segment's arrivals are not steady: $(tb_info_get "$info" first_half)" \
			"requests in its first half, $(tb_info_get "$info" second_half) in its second" \
			"(a ramp?); skip it with --trace-skip SECONDS"
	return 0
}

# tb_train_segment LOAD DIR: DIR/train.tsv, --train seconds at the level's rate, from the
# training trace (a file trace: the requests after this level's measured segment).
tb_train_segment() {
	local load=$1 dir=$2 first=0 k
	k=$(awk -v l="$load" -v r="$TB_RATE" -v d="$TB_TRAIN" 'BEGIN { printf "%d", l * r * d + 0.5 }')
	[ "$TB_TRAIN_TRACE" = "$TB_TRACE" ] && first=$(tb_info_get "$dir/segment.info" next_index)
	awk -F'\t' -v k="$k" -v first="$first" -v skip="$TB_SKIP_S" -v d="$TB_TRAIN" \
		-v out="$dir/train.tsv" -v hdr="$TB_TRACE_HEADER" '
		BEGIN { n = 0; m = 0 }
		NR == 1 { next }
		$1 >= skip { if (n >= first) { t[m] = $1; q[m] = $2; m++ } n++ }
		END {
			if (m <= k) {
				printf "%d requests left for training, %d needed\n", m, k + 1 > "/dev/stderr"
				exit 3
			}
			scale = (t[k] - t[0]) / d
			print hdr > out
			for (i = 0; i < k; i++) printf "%.6f\t%s\n", (t[i] - t[0]) / scale, q[i] > out
		}' "$TB_TRAIN_TRACE" || tb_die "load $load: the trace is too short to train marl-trained" \
		"for $TB_TRAIN s after the measured segment"
}

# Work scale of a segment: its measured requests (mean n over all of them, IO-bound ones
# counting 0) need exactly the level's share of the pool's CPU:
#   K x (overhead x iters_per_s + ws x mean_n) = L x capacity x D, with K = L x R x D
# so ws = (capacity / R - overhead x iters_per_s) / mean_n.
tb_segment_work_scale() {
	local info=$1 mean_n
	mean_n=$(tb_info_get "$info" mean_n)
	awk -v r="$TB_RATE" -v n="$mean_n" -v c="$TB_CAPACITY" -v o="$TB_OVERHEAD_S" \
		-v i="$TB_ITERS_PER_S" 'BEGIN {
		if (n <= 0) { print 1; exit } # no CPU-bound request: nothing to scale
		ws = (c / r - o * i) / n
		if (ws <= 0) exit 1
		printf "%.6g", ws }' ||
		tb_die "at $TB_RATE requests/s the per-request overhead alone exceeds the servers'" \
			"capacity: lower --rate or raise --cpu-unit"
}
