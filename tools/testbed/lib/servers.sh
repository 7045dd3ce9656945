# SPDX-License-Identifier: GPL-2.0
# The testbed's web servers: Apache 2 + PHP (default) or marllb-testsrv, one per server
# namespace, made unequal by cgroup v1 CPU quotas (sourced after topology.sh).
#
# Speed. Server j gets cap_j capacity units; one unit is TB_CPU_UNIT of a core (default
# 0.1): cpu.cfs_quota_us = cap_j * TB_CPU_UNIT * cpu.cfs_period_us, period 20 ms (longer
# when the smallest quota would fall below the kernel's 1 ms minimum). The default
# capacities 1:1:1:1:2:2:2 are 1.0 core in all, which leaves the second core to the client,
# the LBs and the kernel. With --server builtin --builtin-mode sleep no CPU is used at all:
# server j sleeps instead, TB_WORKERS requests at a time, at cap_j * TB_ITER_RATE iterations/s.

TB_CG_ROOT=/sys/fs/cgroup/cpu
TB_CG_QUOTA_MIN_US=1000
TB_PHP_PAGE=/dummy.php/
TB_APACHE_WORKERS=${TB_APACHE_WORKERS:-24}

TB_ACCT_ROOT=/sys/fs/cgroup/cpuacct

tb_cgroup() { echo "$TB_CG_ROOT/$TB_PREFIX/s$1"; }
# The same group in the cpuacct hierarchy: CPU time used, for calibration.
tb_acct_cgroup() { echo "$TB_ACCT_ROOT/$TB_PREFIX/s$1"; }

# Quota of server j: its capacity times the unit; -1 lifts the limit (calibration).
tb_cgroup_quota() {
	local j=$1 quota=$2 cg
	cg=$(tb_cgroup "$j")
	echo "$TB_CG_PERIOD_US" >"$cg/cpu.cfs_period_us" &&
		echo "$quota" >"$cg/cpu.cfs_quota_us" || tb_die "cannot set the CPU quota of $cg"
}

tb_cgroup_quota_of_cap() {
	awk -v c="$1" -v u="$TB_CPU_UNIT" -v p="$TB_CG_PERIOD_US" 'BEGIN { printf "%d", c * u * p + 0.5 }'
}

# 20 ms, or the shortest whole millisecond that gives the slowest server a 1 ms quota.
tb_cgroup_period_pick() {
	TB_CG_PERIOD_US=$(printf '%s\n' "${TB_CAP[@]}" | sort -g | head -n 1 |
		awk -v u="$TB_CPU_UNIT" -v m="$TB_CG_QUOTA_MIN_US" '{ p = 20000; need = m / ($1 * u)
			if (need > p) p = 1000 * int(need / 1000 + 0.999)
			print (p > 1000000 ? 1000000 : p) }')
}

tb_cgroups_up() {
	local j
	[ -w "$TB_CG_ROOT/cgroup.procs" ] ||
		tb_die "no cgroup v1 cpu controller at $TB_CG_ROOT (needed for CPU quotas)"
	[ -w "$TB_ACCT_ROOT/cgroup.procs" ] ||
		tb_die "no cgroup v1 cpuacct controller at $TB_ACCT_ROOT (needed for calibration)"
	mkdir -p "$TB_CG_ROOT/$TB_PREFIX" "$TB_ACCT_ROOT/$TB_PREFIX" ||
		tb_die "cannot create the CPU groups $TB_PREFIX"
	tb_cgroup_period_pick
	for ((j = 0; j < TB_N; j++)); do
		mkdir -p "$(tb_cgroup "$j")" "$(tb_acct_cgroup "$j")" ||
			tb_die "cannot create $(tb_cgroup "$j")"
		tb_cgroup_quota "$j" "$(tb_cgroup_quota_of_cap "${TB_CAP[$j]}")"
	done
}

# After tb_down has stopped every process. A killed process leaves its group a moment
# later, and only what this run started is in these groups: KILL any straggler, retry for 5 s.
# Child groups (a noisy neighbour's) go before their parents.
tb_cgroups_down() {
	local d root t left
	[ -n "${TB_PREFIX:-}" ] || return 0
	for root in "$TB_CG_ROOT/$TB_PREFIX" "$TB_ACCT_ROOT/$TB_PREFIX"; do
		[ -d "$root" ] || continue
		for ((t = 0; t < 50; t++)); do
			left=0
			for d in "$root"/s*/* "$root"/s*; do
				[ -d "$d" ] || continue
				# shellcheck disable=SC2046
				kill -KILL $(cat "$d/cgroup.procs") 2>/dev/null
				rmdir "$d" 2>/dev/null || left=1
			done
			[ "$left" = 0 ] && break
			sleep 0.1
		done
		rmdir "$root" 2>/dev/null || tb_log "warning: could not remove $root"
	done
}

# CPU each server has used so far: "s<j> <seconds> <periods> <throttled periods>" lines
# (nothing without cgroups). A busy server throttled in most periods had its whole quota; a
# busy server seldom throttled was short of CPU (the machine is shared).
tb_servers_cpu() {
	local j
	[ "$TB_USE_CGROUPS" = 1 ] || return 0
	for ((j = 0; j < TB_N; j++)); do
		awk -v j="$j" 'NR == FNR { usage = $1; next } { v[$1] = $2 }
			END { printf "s%d %.6f %d %d\n", j, usage / 1e9, v["nr_periods"], v["nr_throttled"] }' \
			"$(tb_acct_cgroup "$j")/cpuacct.usage" "$(tb_cgroup "$j")/cpu.stat"
	done
}

# Runs a command in server j's namespace, inside its CPU group when quotas are in use.
tb_srv_spawn() {
	local j=$1; shift
	if [ "$TB_USE_CGROUPS" = 1 ]; then
		tb_exec "s$j" sh -c 'echo $$ >"$0/cgroup.procs" && echo $$ >"$1/cgroup.procs" &&
			shift && exec "$@"' "$(tb_cgroup "$j")" "$(tb_acct_cgroup "$j")" "$@"
	else
		tb_exec "s$j" "$@"
	fi
}

tb_www_up() {
	local www=$TB_RUN/www
	mkdir -p "$www/static"
	# The paper's CPU-bound page: a loop of n iterations printing the counter every 4000.
	cat >"$www/dummy.php" <<'EOF'
<?php
$n = isset($_GET['n']) ? intval($_GET['n']) : 0;
for ($i = 0; $i < $n; $i++) {
	if ($i % 4000 == 0)
		echo $i, "\n";
}
EOF
	# An IO-bound page: waits wait_ms (a database, a disk), the same on every server.
	cat >"$www/io.php" <<'EOF'
<?php
$ms = isset($_GET['wait_ms']) ? floatval($_GET['wait_ms']) : 0;
if ($ms > 0)
	usleep((int)($ms * 1000));
echo "waited ", $ms, " ms\n";
EOF
	# Static files for IO-bound requests.
	head -c 1024 /dev/zero | tr '\0' 'a' >"$www/static/1k.html"
	head -c 65536 /dev/zero | tr '\0' 'b' >"$www/static/64k.html"
	head -c 1048576 /dev/zero | tr '\0' 'c' >"$www/static/1m.bin"
	chmod -R a+rX "$TB_RUN"
}

tb_apache_conf() {
	local j=$1 dir mods=/usr/lib/apache2/modules
	dir=$TB_RUN/apache/s$j
	mkdir -p "$dir"
	chmod a+rx "$dir"
	cat >"$dir/apache2.conf" <<EOF
# Generated by marllb-testbed for server $j.
ServerRoot /etc/apache2
ServerName s$j
DefaultRuntimeDir $dir
PidFile $dir/apache2.pid
Mutex file:$dir default
ErrorLog $dir/error.log
LogLevel warn
User www-data
Group www-data
Listen 80
LoadModule mpm_prefork_module $mods/mod_mpm_prefork.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule mime_module $mods/mod_mime.so
LoadModule dir_module $mods/mod_dir.so
LoadModule php_module $mods/libphp8.2.so
TypesConfig /etc/mime.types
# A bounded pool: a slow server queues (in its listen backlog), as a real one does.
StartServers $TB_APACHE_WORKERS
MinSpareServers $TB_APACHE_WORKERS
MaxSpareServers $TB_APACHE_WORKERS
ServerLimit $TB_APACHE_WORKERS
MaxRequestWorkers $TB_APACHE_WORKERS
MaxConnectionsPerChild 0
ListenBacklog 4096
KeepAlive Off
Timeout 120
DocumentRoot $TB_RUN/www
AcceptPathInfo On
<Directory $TB_RUN/www>
	Require all granted
</Directory>
<FilesMatch "\.php$">
	SetHandler application/x-httpd-php
</FilesMatch>
EOF
}

tb_servers_up() {
	local j
	case $TB_SERVER in
	apache)
		command -v apache2 >/dev/null || tb_die "apache2 is not installed (make demo installs it)"
		[ -f /usr/lib/apache2/modules/libphp8.2.so ] ||
			tb_die "libapache2-mod-php8.2 is not installed"
		tb_www_up
		for ((j = 0; j < TB_N; j++)); do
			tb_apache_conf "$j"
			tb_srv_spawn "$j" apache2 -f "$TB_RUN/apache/s$j/apache2.conf" -k start ||
				tb_die "apache2 did not start in server $j (see $TB_RUN/apache/s$j/error.log)"
		done
		;;
	builtin)
		for ((j = 0; j < TB_N; j++)); do
			if [ "$TB_BUILTIN_MODE" = cpu ]; then
				tb_srv_spawn "$j" "$TB_BIN/marllb-testsrv" -l 0.0.0.0:80 --mode cpu \
					-w "$TB_WORKERS" >/dev/null 2>"$TB_RUN/testsrv-s$j.log" &
			else
				tb_srv_spawn "$j" "$TB_BIN/marllb-testsrv" -l 0.0.0.0:80 --mode sleep \
					-w "$TB_WORKERS" --speed "${TB_CAP[$j]}" --iter-rate "$TB_ITER_RATE" \
					>/dev/null 2>"$TB_RUN/testsrv-s$j.log" &
			fi
		done
		;;
	*) tb_die "unknown server kind '$TB_SERVER' (apache or builtin)" ;;
	esac
	for ((j = 0; j < TB_N; j++)); do
		tb_wait_http "$(tb_srv_ip "$j")" "/dummy.php/?n=0" ||
			tb_die "server $j does not answer on $(tb_srv_ip "$j"):80"
	done
}

# Waits (up to 10 s) until http://ADDR/PATH answers 200 from the client namespace.
tb_wait_http() {
	local addr=$1 path=$2 t
	for ((t = 0; t < 100; t++)); do
		[ "$(tb_exec cl curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$addr$path")" = 200 ] &&
			return 0
		sleep 0.1
	done
	return 1
}

# CPU time (seconds) server 0's group spends on K sequential requests for PATH, per request.
# CPU time, not wall time: the machine is shared, and waiting is not work.
tb_cpu_per_request() {
	local path=$1 k=$2 u0 u1 i acct
	acct=$(tb_acct_cgroup 0)/cpuacct.usage
	u0=$(cat "$acct")
	for ((i = 0; i < k; i++)); do
		[ "$(tb_exec cl curl -s -o /dev/null -m 60 -w '%{http_code}' \
			"http://$(tb_srv_ip 0)$path")" = 200 ] || tb_die "calibration request $path failed"
	done
	u1=$(cat "$acct")
	awk -v a="$u0" -v b="$u1" -v k="$k" 'BEGIN { printf "%.6g", (b - a) / k / 1e9 }'
}

# Sets TB_ITERS_PER_S (loop iterations per second of one whole core, or of one capacity
# unit's sleeping workers) and TB_OVERHEAD_S (per-request cost in seconds of one core),
# then TB_CAPACITY: iterations per second the whole server pool can do.
tb_calibrate() {
	local c0 c1 n1=4000000
	if [ "$TB_SERVER" = builtin ] && [ "$TB_BUILTIN_MODE" = sleep ]; then
		TB_ITERS_PER_S=$TB_ITER_RATE
		TB_OVERHEAD_S=0
		TB_CAPACITY=$(awk -v r="$TB_ITER_RATE" -v w="$TB_WORKERS" -v s="$TB_CAP_SUM" \
			'BEGIN { printf "%.6g", r * w * s }')
		tb_log "calibration: sleeping servers, $TB_ITER_RATE iterations/s per worker and" \
			"capacity unit, $TB_WORKERS workers: pool capacity $TB_CAPACITY iterations/s"
		return
	fi
	# Measure the loop on server 0 without its quota, then put the quota back.
	tb_cgroup_quota 0 -1
	tb_cpu_per_request "$TB_PHP_PAGE?n=0" 5 >/dev/null || exit 1 # warm up (PHP's opcode cache)
	c0=$(tb_cpu_per_request "$TB_PHP_PAGE?n=0" 20) || exit 1
	c1=$(tb_cpu_per_request "$TB_PHP_PAGE?n=$n1" 5) || exit 1
	tb_cgroup_quota 0 "$(tb_cgroup_quota_of_cap "${TB_CAP[0]}")"
	TB_ITERS_PER_S=$(awk -v n="$n1" -v a="$c0" -v b="$c1" \
		'BEGIN { if (b <= a) exit 1; printf "%.6g", n / (b - a) }') ||
		tb_die "calibration failed: n=$n1 took ${c1}s of CPU, n=0 ${c0}s"
	TB_OVERHEAD_S=$c0
	TB_CAPACITY=$(awk -v r="$TB_ITERS_PER_S" -v u="$TB_CPU_UNIT" -v s="$TB_CAP_SUM" \
		'BEGIN { printf "%.6g", r * u * s }')
	tb_log "calibration: the page loops $TB_ITERS_PER_S iterations per CPU-second;" \
		"a request costs ${TB_OVERHEAD_S}s of CPU more; $TB_CAP_SUM units of $TB_CPU_UNIT" \
		"core: pool capacity $TB_CAPACITY iterations/s"
}
