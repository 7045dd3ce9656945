#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install / make uninstall: the files land where the FHS puts them (DESTDIR and PREFIX
# honoured), an existing /etc/marllb/marllbd.conf is kept, the systemd unit passes
# `systemd-analyze verify` and scores 3.0 or better in `systemd-analyze security`, and the
# README's usage block runs as written from the installed files (in a network namespace with
# an eth0 of its own; paths under DESTDIR).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TAG=mi$$
NS=${TAG}lb
WORK=$(mktemp -d /tmp/marllb-install-XXXXXX)
D=$WORK/dest
PASSED=0 FAILED=0 SKIPPED=0
DAEMON=

cleanup() {
	[ -n "$DAEMON" ] && kill -9 "$DAEMON" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "/sys/fs/bpf/marllb/eth0@$NS" /run/marllb/eth0@netns-"${NS_INODE:-x}".lock \
		/run/marllb/pins-sys-fs-bpf-marllb-eth0@"$NS".lock "$WORK"
}
trap cleanup EXIT

result() { # name ok|fail|skip [detail]
	case $2 in
	ok) echo "ok   install/$1"; PASSED=$((PASSED + 1)) ;;
	skip) echo "SKIP install/$1: $3"; SKIPPED=$((SKIPPED + 1)) ;;
	*) echo "FAIL install/$1: $3"; FAILED=$((FAILED + 1)) ;;
	esac
}
mk() { make -C "$ROOT" --no-print-directory "$@" >"$WORK/make.out" 2>&1; }

FILES="usr/sbin/marllbd usr/sbin/marllbctl usr/sbin/marllb-dp usr/lib/marllb/marllb.o
usr/share/marllb/models/marllb.model usr/share/marllb/models/marllb.model.settings
usr/share/man/man8/marllbd.8 usr/share/man/man8/marllbctl.8
usr/lib/systemd/system/marllbd@.service etc/marllb/marllbd.conf"

# 1. DESTDIR, default PREFIX: every file where the FHS wants it; the installed marllbd looks
# for its configuration and model there.
missing=""
if mk install DESTDIR="$D"; then
	for f in $FILES; do [ -f "$D/$f" ] || missing="$missing $f"; done
	[ -x "$D/usr/sbin/marllbd" ] || missing="$missing (marllbd not executable)"
	help=$("$D/usr/sbin/marllbd" --help)
	grep -q "(default: /etc/marllb/marllbd.conf)" <<<"$help" || missing="$missing (config default)"
	grep -q "(default: /usr/share/marllb/models/marllb.model)" <<<"$help" ||
		missing="$missing (model default)"
	cmp -s "$ROOT/tools/systemd/marllbd.conf.example" "$D/etc/marllb/marllbd.conf" ||
		missing="$missing (config is not the example)"
	[ -z "$missing" ] && result destdir_files ok || result destdir_files fail "missing:$missing"
else
	result destdir_files fail "$(tail -5 "$WORK/make.out")"
fi

# 2. An existing configuration is never overwritten, and uninstall keeps a changed one.
echo "# changed by the operator" >>"$D/etc/marllb/marllbd.conf"
cp "$D/etc/marllb/marllbd.conf" "$WORK/changed.conf"
if mk install DESTDIR="$D" && cmp -s "$WORK/changed.conf" "$D/etc/marllb/marllbd.conf" &&
	grep -q "kept .*marllbd.conf (exists)" "$WORK/make.out"; then
	result config_kept ok
else
	result config_kept fail "$(tail -3 "$WORK/make.out")"
fi

# 3. The README's usage block, as written, from the installed files: eth0 in a namespace of
# its own, the example configuration's backends in its neighbour table (10.0.0.13 has its MAC
# in the file).
run_readme() {
	local line pidfile=$WORK/marllbd.pid out ok=1
	ip netns add "$NS" || return 1
	NS_INODE=$(stat -L -c %i "/run/netns/$NS")
	ip -n "$NS" link add eth0 type veth peer name peer0
	ip -n "$NS" link set lo up
	ip -n "$NS" link set eth0 up
	ip -n "$NS" link set peer0 up
	ip -n "$NS" addr add 10.0.0.2/24 dev eth0
	ip -n "$NS" neigh add 10.0.0.11 lladdr 02:00:00:00:00:11 dev eth0 nud permanent
	ip -n "$NS" neigh add 10.0.0.12 lladdr 02:00:00:00:00:12 dev eth0 nud permanent
	cp "$ROOT/tools/systemd/marllbd.conf.example" "$D/etc/marllb/marllbd.conf"
	# The indented lines of the section's second code block (the first is `make install`).
	awk '/^## Using it/ { s = 1; next } /^## / { s = 0 }
		s && /^    / { if (!inb) { b++; inb = 1 } if (b == 2) print substr($0, 5); next }
		{ inb = 0 }' "$ROOT/README.md" | sed 's/[[:space:]]*#.*$//' >"$WORK/usage.sh"
	echo "    README usage block:"; sed 's/^/    | /' "$WORK/usage.sh"
	[ "$(wc -l <"$WORK/usage.sh")" -ge 3 ] || { echo "    no usage block found"; return 1; }
	while IFS= read -r line; do
		line=${line//\/usr\/lib\/marllb/$D\/usr\/lib\/marllb}
		line=${line//\/etc\/marllb/$D\/etc\/marllb}
		case $line in
		*'&')
			nsenter --net=/run/netns/"$NS" env PATH="$D/usr/sbin:$PATH" bash -c \
				"$line"$'\n'"echo \$! >$pidfile" >"$WORK/daemon.log" 2>&1
			DAEMON=$(cat "$pidfile")
			;;
		marllbctl*)
			for _ in $(seq 100); do # marllbd needs a moment to come up
				out=$(nsenter --net=/run/netns/"$NS" env PATH="$D/usr/sbin:$PATH" \
					bash -c "$line" 2>&1) && grep -q "^VIP " <<<"$out" && break
				sleep 0.1
			done
			echo "$out" | sed 's/^/    > /'
			grep -q "VIP 10.0.0.100:80 tcp, policy marl" <<<"$out" || ok=0
			[ "$(grep -cE '^  10\.0\.0\.1[123] ' <<<"$out")" = 3 ] || ok=0
			;;
		*)
			out=$(nsenter --net=/run/netns/"$NS" env PATH="$D/usr/sbin:$PATH" \
				bash -c "$line" 2>&1) || { echo "    '$line' failed: $out"; ok=0; }
			;;
		esac
	done <"$WORK/usage.sh"
	kill -0 "${DAEMON:-0}" 2>/dev/null || { echo "    marllbd is not running"; ok=0; }
	grep -q "adopted the marllb program" "$WORK/daemon.log" || ok=0
	[ "$ok" = 1 ]
}
if run_readme; then
	result readme_usage ok
else
	result readme_usage fail "$(sed 's/^/    | /' "$WORK/daemon.log" 2>/dev/null)"
fi
[ -n "$DAEMON" ] && kill -TERM "$DAEMON" && { wait "$DAEMON" 2>/dev/null; DAEMON=; }
ip -n "$NS" link set dev eth0 xdp off 2>/dev/null

# 4. Uninstall: everything goes but a changed configuration.
cp "$WORK/changed.conf" "$D/etc/marllb/marllbd.conf"
left=""
if mk uninstall DESTDIR="$D"; then
	for f in $FILES; do
		[ "$f" = etc/marllb/marllbd.conf ] && continue
		[ -e "$D/$f" ] && left="$left $f"
	done
	[ -f "$D/etc/marllb/marllbd.conf" ] || left="$left (changed config removed)"
	[ -z "$left" ] && result uninstall ok || result uninstall fail "left:$left"
else
	result uninstall fail "$(tail -3 "$WORK/make.out")"
fi

# 5. PREFIX (no DESTDIR): the unit names that prefix's marllbd, and systemd-analyze accepts it
# (executables and man pages exist) and rates it 3.0 or better.
P=$WORK/prefix
if ! command -v systemd-analyze >/dev/null; then
	result unit_verify fail "systemd-analyze is not installed (tools/install-deps.sh installs it)"
elif mk install PREFIX="$P" SYSCONFDIR="$P/etc"; then
	unit=$P/lib/systemd/system/marllbd@.service
	out=$(MANPATH=$P/share/man systemd-analyze verify "$unit" 2>&1)
	if [ $? = 0 ] && [ -z "$out" ] && grep -q "^ExecStart=$P/sbin/marllbd " "$unit"; then
		result unit_verify ok
	else
		result unit_verify fail "$out"
	fi
	score=$(systemd-analyze security --offline=true "$unit" 2>&1 |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	echo "    systemd-analyze security: $score"
	if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }'; then
		result unit_security ok
	else
		result unit_security fail "exposure ${score:-?} (want <= 3.0)"
	fi
	mk uninstall PREFIX="$P" SYSCONFDIR="$P/etc"
	[ -z "$(find "$P" -type f)" ] && result prefix_uninstall ok ||
		result prefix_uninstall fail "left: $(find "$P" -type f)"
else
	result unit_verify fail "$(tail -3 "$WORK/make.out")"
fi

echo "summary: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" = 0 ]
