#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Installs the Debian 12 packages marllb builds and tests with, only those missing.
# Quiet and quick when everything is there; needs root (or sudo) otherwise.
set -e

PKGS="make gcc clang llvm libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev
pkg-config libopenblas-dev libconfig-dev libsystemd-dev libnl-route-3-dev iproute2 ethtool iputils-ping
gnuplot-nox curl jq"
[ -n "$MARLLB_EXTRA_PKGS" ] && PKGS="$PKGS $MARLLB_EXTRA_PKGS"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
