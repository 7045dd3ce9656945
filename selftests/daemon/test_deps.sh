#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/install-deps.sh on a machine whose apt is busy: it waits for the lock (bounded) and
# retries, instead of failing at once. apt-get is replaced by a stand-in that answers with
# apt's own lock errors (MARLLB_APT_GET), so no package is installed and no lock is taken.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/marllb-deps-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PASSED=0 FAILED=0

result() { # name ok|fail [detail]
	if [ "$2" = ok ]; then
		echo "ok   deps/$1"; PASSED=$((PASSED + 1))
	else
		echo "FAIL deps/$1: $3"; FAILED=$((FAILED + 1))
	fi
}

# The stand-in fails with a lock error while $WORK/busy holds a positive count (one less per
# call), and logs its arguments.
cat >"$WORK/apt-get" <<'STANDIN'
#!/bin/sh
echo "$*" >>"$WORK/calls"
n=$(cat "$WORK/busy" 2>/dev/null || echo 0)
case "$*" in *frobnicate*) echo "E: Unable to locate package frobnicate" >&2; exit 100 ;; esac
if [ "$n" -gt 0 ]; then
	echo $((n - 1)) >"$WORK/busy"
	echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
	echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
	exit 100
fi
exit 0
STANDIN
chmod +x "$WORK/apt-get"

deps() { # extra-packages lock-wait: runs install-deps.sh with the stand-in
	WORK=$WORK MARLLB_APT_GET="$WORK/apt-get" MARLLB_EXTRA_PKGS="$1" MARLLB_APT_LOCK_WAIT="$2" \
		MARLLB_APT_RETRY_EVERY=1 "$ROOT/tools/install-deps.sh" >"$WORK/out" 2>&1
}
PKG=marllb-test-not-a-package

# 1. Busy for two calls: waits, says so, then updates and installs.
echo 2 >"$WORK/busy"; : >"$WORK/calls"
if deps "$PKG" 30 && grep -q "apt is busy" "$WORK/out" && [ "$(grep -c '^-o DPkg::Lock::Timeout=[0-9]* update' "$WORK/calls")" = 3 ] &&
	grep -qE "^-o DPkg::Lock::Timeout=[0-9]+ install -y .*$PKG" "$WORK/calls"; then
	result waits_for_lock ok
else
	result waits_for_lock fail "$(cat "$WORK/out" "$WORK/calls")"
fi

# 2. Busy for ever: gives up after the bound, naming the cause.
echo 1000 >"$WORK/busy"; : >"$WORK/calls"
start=$SECONDS
deps "$PKG" 2; rc=$?
took=$((SECONDS - start))
if [ "$rc" != 0 ] && [ "$took" -le 10 ] && grep -q "apt is still busy after 2 s" "$WORK/out"; then
	result bounded_wait ok
else
	result bounded_wait fail "rc $rc after $took s: $(cat "$WORK/out")"
fi

# 3. Any other apt error fails at once, with apt's message.
echo 0 >"$WORK/busy"; : >"$WORK/calls"
start=$SECONDS
deps "$PKG frobnicate" 30; rc=$?
if [ "$rc" != 0 ] && [ $((SECONDS - start)) -le 3 ] && grep -q "Unable to locate package frobnicate" "$WORK/out"; then
	result other_errors_fail_at_once ok
else
	result other_errors_fail_at_once fail "rc $rc: $(cat "$WORK/out")"
fi

# 4. Nothing missing: apt is not called at all.
: >"$WORK/calls"
if deps "" 30 && [ ! -s "$WORK/calls" ]; then
	result nothing_missing_no_apt ok
else
	result nothing_missing_no_apt fail "$(cat "$WORK/out" "$WORK/calls")"
fi

echo "summary: $PASSED passed, $FAILED failed, 0 skipped"
[ "$FAILED" = 0 ]
