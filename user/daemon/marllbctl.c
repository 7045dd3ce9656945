// SPDX-License-Identifier: GPL-2.0
/*
 * marllbctl: shows the state of a marllb data plane from its pinned maps (and the status
 * records marllbd keeps next to them), whether or not marllbd is running.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "daemon/bpffs.h"
#include "daemon/instance.h"
#include "daemon/log.h"
#include "daemon/opts.h"
#include "daemon/safety.h"
#include "daemon/status.h"
#include "dp/dataplane.h"

#define STATIC_WEIGHT_UNITS 1000.0
/* Status records older than this, or from a dead pid, are shown as stale. */
#define STALE_AFTER_S 10.0

struct ctl_opts {
	const char *iface;
	const char *pin_root;
	bool json;
	int verbose;
};

static const struct ctl_opts ctl_defaults = { .pin_root = MLB_PIN_ROOT };

#define F(field) OPT_FIELD(struct ctl_opts, field)
static const struct opt ctl_options[] = {
	{ "iface", 'i', OPT_STRING, F(iface), "IFACE",
	  "Interface to show; all pinned interfaces when not given" },
	{ "pin-root", 0, OPT_STRING, F(pin_root), "DIR", "Where marllbd pins the maps (bpffs)" },
	{ "json", 'j', OPT_FLAG, F(json), NULL, "Print JSON instead of a table" },
	{ "verbose", 'v', OPT_COUNT, F(verbose), NULL, "Show libbpf's messages" },
	{},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: marllbctl status [options]\n\n"
		     "Shows per VIP and backend: state, health, open flows, weight, task-duration\n"
		     "samples per second, mean and p90 task duration, packets. Reads the maps\n"
		     "pinned under PIN_ROOT/IFACE, so it works when marllbd is not running.\n"
		     "See marllbctl(8).\n\nOptions:\n");
	opts_print_help(out, ctl_options, &ctl_defaults);
}

static const char *be_state_name(uint8_t s)
{
	static const char *const names[] = { "unused", "active", "draining", "down" };

	return s < 4 ? names[s] : "?";
}

static const char *health_name(const struct mlbd_be_status *bs, bool have)
{
	if (!have || bs->health == MLBD_HEALTH_UNKNOWN)
		return "unknown";
	return bs->health == MLBD_HEALTH_UP ? "up" : "down";
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct vip_entry {
	struct mlb_vip_key key;
	struct mlb_vip vip;
};

static int cmp_vip(const void *a, const void *b)
{
	return (int)((const struct vip_entry *)a)->vip.id -
	       (int)((const struct vip_entry *)b)->vip.id;
}

struct vip_list {
	struct vip_entry *v;
	int n;
};

static int collect_vip(const struct mlb_vip_key *key, const struct mlb_vip *vip, void *ctx)
{
	struct vip_list *l = ctx;

	if (l->n >= MLB_MAX_VIPS)
		return 1;
	l->v[l->n++] = (struct vip_entry){ *key, *vip };
	return 0;
}

static void addr_str(uint8_t family, const __u32 *addr, char *buf, size_t len)
{
	inet_ntop(family == MLB_AF_INET ? AF_INET : AF_INET6, addr, buf, len);
}

/* JSON numbers cannot be NaN. */
static void jnum(double v)
{
	if (v != v)
		printf("null");
	else
		printf("%.6g", v);
}

/* iface: an interface name (--iface: its pin directory as marllbd names it from this
 * namespace), or the name of a directory under the pin root (listing them all). */
static int show_iface(const struct ctl_opts *o, const char *iface, bool named_iface,
		      bool *first_json)
{
	struct vip_entry vips[MLB_MAX_VIPS];
	struct status_maps sm = { -1, -1 };
	char dir[4096], a[INET6_ADDRSTRLEN];
	struct vip_list list = { .v = vips };
	struct mlb_dp *dp;
	bool have_status, live = false;
	int n, err;
	double now = mono_now(), age = -1;
	__u32 pid = 0;

	if (named_iface)
		instance_pin_dir(o->pin_root, !strcmp(o->pin_root, MLB_PIN_ROOT), iface, dir,
				 sizeof(dir));
	else
		snprintf(dir, sizeof(dir), "%s/%s", o->pin_root, iface);
	err = mlb_dp_open_pinned(dir, &dp);
	if (err) {
		if (err == -EACCES || err == -EPERM)
			fprintf(stderr,
				"marllbctl: cannot read the pins in %s: permission denied (they are "
				"root's, mode 0600, under a bpffs of mode 0700): run marllbctl as "
				"root.\n",
				dir);
		else if (!bpffs_is_mounted(dir))
			fprintf(stderr,
				"marllbctl: no marllb data plane pinned in %s: no bpffs is mounted "
				"there (marllbd mounts it at " BPFFS_DEFAULT
				" when it starts: has it "
				"run on %s since boot?).\n",
				dir, iface);
		else
			fprintf(stderr,
				"marllbctl: no marllb data plane pinned in %s: %s (is marllbd "
				"running on %s, or did it ever?).\n",
				dir, strerror(-err), iface);
		return err;
	}
	have_status = !status_maps_open(dir, false, &sm);
	mlb_dp_for_each_vip(dp, collect_vip, &list);
	n = list.n;
	qsort(vips, n, sizeof(vips[0]), cmp_vip);

	if (have_status) {
		for (int i = 0; i < n && !pid; i++) {
			struct mlbd_vip_status vs;
			__u32 id = vips[i].vip.id;

			if (!bpf_map_lookup_elem(sm.vip_fd, &id, &vs) && vs.pid) {
				pid = vs.pid;
				age = now - vs.updated_ns * 1e-9;
			}
		}
		live = pid && kill((pid_t)pid, 0) == 0 && age < STALE_AFTER_S;
	}

	if (o->json) {
		printf("%s{\"iface\":\"%s\",\"pin_dir\":\"%s\",\"daemon\":{\"running\":%s,\"pid\":%u,"
		       "\"status_age_s\":",
		       *first_json ? "" : ",", iface, dir, live ? "true" : "false", pid);
		jnum(age);
		printf("},\"vips\":[");
		*first_json = false;
	} else {
		printf("marllb on %s (maps in %s); marllbd: ", iface, dir);
		if (live)
			printf("running (pid %u)\n", pid);
		else if (pid)
			printf("not running; health and task figures are %.0f s old\n", age);
		else
			printf("no status records (health and task figures unknown)\n");
	}

	for (int i = 0; i < n; i++) {
		const struct mlb_vip *vip = &vips[i].vip;
		struct mlbd_vip_status vs = {};
		float w[MLB_MAX_BACKENDS];
		uint32_t q[MLB_MAX_BACKENDS];
		uint64_t gen = 0;
		__u32 id = vip->id, nb = vip->n_backends;
		bool marl = vip->policy == MLB_POLICY_MARL;
		bool have_vs = have_status && !bpf_map_lookup_elem(sm.vip_fd, &id, &vs) && vs.pid;

		if (nb > MLB_MAX_BACKENDS)
			nb = MLB_MAX_BACKENDS;
		if (mlb_dp_read_queues(dp, id, q, nb))
			memset(q, 0, sizeof(q));
		if (!marl || mlb_dp_get_weights(dp, id, w, nb, &gen))
			marl = false;
		addr_str(vips[i].key.family, vips[i].key.addr, a, sizeof(a));
		if (o->json) {
			printf("%s{\"id\":%u,\"address\":\"%s\",\"port\":%u,\"protocol\":\"tcp\","
			       "\"policy\":\"%s\",\"mode\":\"%s\",\"new_flows_per_s\":",
			       i ? "," : "", id, a, ntohs(vips[i].key.port),
			       mlb_policy_name(vip->policy),
			       marl && have_vs ? safety_mode_name(vs.mode) : "static");
			jnum(have_vs ? vs.new_flows_per_s : 0.0 / 0.0);
			printf(",\"weight_generation\":%llu,\"backends\":[",
			       (unsigned long long)gen);
		} else {
			printf("\nVIP %s%s%s:%u tcp, policy %s",
			       vips[i].key.family == MLB_AF_INET6 ? "[" : "", a,
			       vips[i].key.family == MLB_AF_INET6 ? "]" : "",
			       ntohs(vips[i].key.port), mlb_policy_name(vip->policy));
			if (marl && have_vs)
				printf(" (%s weights, %s)", safety_mode_name(vs.mode),
				       vs.learning ? "learning" : "not learning");
			if (have_vs)
				printf(", %.1f new flows/s", vs.new_flows_per_s);
			printf("\n  %-24s %-8s %-7s %6s %8s %9s %9s %9s %10s\n", "BACKEND", "STATE",
			       "HEALTH", "FLOWS", "WEIGHT", "SAMPLES/S", "MEAN_MS", "P90_MS",
			       "PACKETS");
		}
		for (__u32 k = 0, shown = 0; k < nb; k++) {
			struct mlbd_be_status bs = {};
			struct mlb_traffic tr = {};
			struct mlb_backend be;
			__u32 idx = id * MLB_MAX_BACKENDS + k;
			bool have_bs;
			double weight;

			if (mlb_dp_get_backend(dp, id, k, &be) || be.state == MLB_BACKEND_UNUSED)
				continue;
			have_bs = have_status && !bpf_map_lookup_elem(sm.be_fd, &idx, &bs) &&
				  bs.pid;
			mlb_dp_read_backend_traffic(dp, id, k, &tr);
			weight = marl ? w[k] : be.weight / STATIC_WEIGHT_UNITS;
			addr_str(be.family, be.addr, a, sizeof(a));
			if (o->json) {
				printf("%s{\"slot\":%u,\"address\":\"%s\",\"state\":\"%s\","
				       "\"health\":\"%s\",\"removed\":%s,\"open_flows\":%u,"
				       "\"weight\":",
				       shown ? "," : "", k, a, be_state_name(be.state),
				       health_name(&bs, have_bs),
				       have_bs && bs.removed ? "true" : "false", q[k]);
				jnum(weight);
				printf(",\"samples_per_s\":");
				jnum(have_bs ? bs.samples_per_s : 0.0 / 0.0);
				printf(",\"mean_task_s\":");
				jnum(have_bs ? bs.mean_s : 0.0 / 0.0);
				printf(",\"p90_task_s\":");
				jnum(have_bs ? bs.p90_s : 0.0 / 0.0);
				printf(",\"packets\":%llu,\"bytes\":%llu}",
				       (unsigned long long)tr.packets,
				       (unsigned long long)tr.bytes);
			} else {
				char sps[16] = "-", mean[16] = "-", p90[16] = "-";

				if (have_bs) {
					snprintf(sps, sizeof(sps), "%.1f", bs.samples_per_s);
					snprintf(mean, sizeof(mean), "%.2f", bs.mean_s * 1e3);
					snprintf(p90, sizeof(p90), "%.2f", bs.p90_s * 1e3);
				}
				printf("  %-24s %-8s %-7s %6u %8.3f %9s %9s %9s %10llu\n", a,
				       be_state_name(be.state), health_name(&bs, have_bs), q[k],
				       weight, sps, mean, p90, (unsigned long long)tr.packets);
			}
			shown++;
		}
		if (o->json)
			printf("]}");
	}
	if (o->json)
		printf("]}");
	else if (!n)
		printf("no VIPs configured\n");
	status_maps_close(&sm);
	mlb_dp_close(dp);
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl_opts o = ctl_defaults;
	bool first_json = true;
	int first, ret, shown = 0, failed = 0;

	ret = opts_parse("marllbctl", ctl_options, &o, argc, argv, &first);
	if (ret == 1) {
		usage(stdout);
		return 0;
	}
	if (ret < 0)
		return 2;
	if (first >= argc || strcmp(argv[first], "status")) {
		fprintf(stderr,
			"marllbctl: expected the command 'status'%s%s%s. Try 'marllbctl "
			"--help'.\n",
			first < argc ? ", got '" : "", first < argc ? argv[first] : "",
			first < argc ? "'" : "");
		return 2;
	}
	if (first + 1 < argc) {
		fprintf(stderr,
			"marllbctl: unexpected argument '%s' after 'status'. Try 'marllbctl "
			"--help'.\n",
			argv[first + 1]);
		return 2;
	}
	log_level = o.verbose ? LOG_TRACE2 : LOG_WARN; /* libbpf's chatter only with -v */
	log_hook_libraries();

	if (o.json)
		printf("[");
	if (o.iface) {
		failed = show_iface(&o, o.iface, true, &first_json) != 0;
		shown = !failed;
	} else {
		DIR *dir = opendir(o.pin_root);
		struct dirent *de;

		if (!dir && (errno == EACCES || errno == EPERM)) {
			fprintf(stderr,
				"marllbctl: cannot read %s: permission denied (the pins are root's): "
				"run marllbctl as root.\n",
				o.pin_root);
			failed++;
		}

		while (dir && (de = readdir(dir))) {
			char path[4096];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", o.pin_root, de->d_name,
				 MLB_MAP_VIPS);
			if (access(path, F_OK))
				continue;
			if (shown && !o.json)
				printf("\n");
			if (show_iface(&o, de->d_name, false, &first_json))
				failed++;
			else
				shown++;
		}
		if (dir)
			closedir(dir);
		if (!shown && !failed)
			fprintf(stderr, "marllbctl: no marllb data plane is pinned under %s%s.\n",
				o.pin_root,
				bpffs_is_mounted(o.pin_root) ? "" :
							       " (no bpffs is mounted there: "
							       "marllbd mounts it when it starts)");
	}
	if (o.json)
		printf("]\n");
	return failed || !shown ? 1 : 0;
}
