#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Installs the Debian 12 packages marllb builds and tests with, only those missing.
# Quiet and quick when everything is there; needs root (or sudo) otherwise.
# A new machine's apt may be busy (unattended-upgrades, cloud-init): this waits for its lock,
# up to MARLLB_APT_LOCK_WAIT seconds (default 600), instead of failing at once.
set -e

PKGS="make gcc clang llvm libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev
pkg-config libopenblas-dev libconfig-dev libsystemd-dev libnl-route-3-dev iproute2 ethtool iputils-ping
gnuplot-nox curl jq systemd man-db"
[ -n "$MARLLB_EXTRA_PKGS" ] && PKGS="$PKGS $MARLLB_EXTRA_PKGS"
APT_GET=${MARLLB_APT_GET:-apt-get} # tests put a stand-in here
LOCK_WAIT=${MARLLB_APT_LOCK_WAIT:-600}
RETRY_EVERY=${MARLLB_APT_RETRY_EVERY:-5}

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# apt_get ARGS...: apt-get that waits (bounded) for apt's and dpkg's locks. apt-get waits for
# the dpkg lock itself with DPkg::Lock::Timeout; `update` takes the package lists' lock without
# waiting, so a lock error is retried too, until the deadline.
deadline=$(($(date +%s) + LOCK_WAIT))
apt_get() {
	said=""
	while :; do
		left=$((deadline - $(date +%s)))
		[ "$left" -lt 0 ] && left=0
		# shellcheck disable=SC2086
		if out=$($SUDO $APT_GET -o DPkg::Lock::Timeout="$left" "$@" 2>&1); then
			return 0
		fi
		if ! printf '%s\n' "$out" | grep -qiE 'could not get lock|unable to acquire|unable to lock'; then
			printf '%s\n' "$out" >&2
			return 1
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			printf '%s\n' "$out" >&2
			echo "install-deps: apt is still busy after ${LOCK_WAIT} s (another apt-get," \
				"dpkg or unattended-upgrades holds its lock); try again when it is done," \
				"or set MARLLB_APT_LOCK_WAIT." >&2
			return 1
		fi
		[ -z "$said" ] && echo "install-deps: apt is busy (another process holds its lock);" \
			"waiting up to $((deadline - $(date +%s))) s." >&2
		said=1
		sleep "$RETRY_EVERY"
	done
}

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt_get update -qq
# shellcheck disable=SC2086
apt_get install -y -qq --no-install-recommends $missing
