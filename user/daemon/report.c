// SPDX-License-Identifier: GPL-2.0
/* What marllbd tells the outside: Prometheus text and the pinned status records. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "daemon/daemon.h"
#include "daemon/metrics.h"

static void value(FILE *out, double v)
{
	if (isnan(v))
		fputs("NaN", out);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", out);
	else
		fprintf(out, "%.9g", v);
}

static void vip_label(const struct vip_state *v, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_addr_str(&v->conf.addr, a, sizeof(a));
	snprintf(buf, len, v->conf.addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, v->conf.port);
}

enum be_metric {
	BM_OPEN_FLOWS,
	BM_WEIGHT,
	BM_UP,
	BM_DRAINING,
	BM_PACKETS,
	BM_BYTES,
	BM_SAMPLES_RATE,
	BM_MEAN,
	BM_TASK_SUMMARY,
	BM__COUNT,
};

static const struct {
	const char *name, *type, *help;
} be_metrics[BM__COUNT] = {
	[BM_OPEN_FLOWS] = { "marllb_backend_open_flows", "gauge",
			    "Flows this LB has open on the backend (q)." },
	[BM_WEIGHT] = { "marllb_backend_weight", "gauge",
			"Weight in effect: the agent's for marl VIPs, else the static one." },
	[BM_UP] = { "marllb_backend_up", "gauge", "1 when the TCP health check passes." },
	[BM_DRAINING] = { "marllb_backend_draining", "gauge",
			  "1 when the backend takes no new flows but keeps its flows." },
	[BM_PACKETS] = { "marllb_backend_packets_total", "counter",
			 "Packets forwarded to the backend." },
	[BM_BYTES] = { "marllb_backend_bytes_total", "counter", "Bytes forwarded to the backend." },
	[BM_SAMPLES_RATE] = { "marllb_backend_samples_per_second", "gauge",
			      "Task-duration samples per second, recent." },
	[BM_MEAN] = { "marllb_backend_task_duration_mean_seconds", "gauge",
		      "Mean task duration of the recent samples." },
	[BM_TASK_SUMMARY] = { "marllb_backend_task_duration_seconds", "summary",
			      "Task duration: handshake ACK to the first ACK of server data." },
};

static void backend_metric(FILE *out, struct daemon *d, enum be_metric m)
{
	metrics_family(out, be_metrics[m].name, be_metrics[m].type, be_metrics[m].help);
	for (int id = 0; id < MLB_MAX_VIPS; id++) {
		struct vip_state *v = d->vips[id];
		char vl[64];

		if (!v)
			continue;
		vip_label(v, vl, sizeof(vl));
		for (uint32_t k = 0; k < v->n_slots && k < (uint32_t)v->feat_n; k++) {
			const struct be_state *b = &v->be[k];
			char a[INET6_ADDRSTRLEN], lbl[160];

			if (!b->used)
				continue;
			snprintf(lbl, sizeof(lbl), "vip=\"%s\",backend=\"%s\"", vl,
				 inet_addr_str(&b->conf.addr, a, sizeof(a)));
			switch (m) {
			case BM_OPEN_FLOWS:
				fprintf(out, "%s{%s} %u\n", be_metrics[m].name, lbl, b->q);
				break;
			case BM_WEIGHT:
				fprintf(out, "%s{%s} ", be_metrics[m].name, lbl);
				value(out, v->agent ? v->weights[k] : b->conf.weight);
				fputc('\n', out);
				break;
			case BM_UP:
				fprintf(out, "%s{%s} %d\n", be_metrics[m].name, lbl, b->hc.up);
				break;
			case BM_DRAINING:
				fprintf(out, "%s{%s} %d\n", be_metrics[m].name, lbl,
					b->dp_state == MLB_BACKEND_DRAINING);
				break;
			case BM_PACKETS:
				fprintf(out, "%s{%s} %llu\n", be_metrics[m].name, lbl,
					(unsigned long long)b->traffic.packets);
				break;
			case BM_BYTES:
				fprintf(out, "%s{%s} %llu\n", be_metrics[m].name, lbl,
					(unsigned long long)b->traffic.bytes);
				break;
			case BM_SAMPLES_RATE:
				fprintf(out, "%s{%s} ", be_metrics[m].name, lbl);
				value(out, b->samples_rate);
				fputc('\n', out);
				break;
			case BM_MEAN:
				fprintf(out, "%s{%s} ", be_metrics[m].name, lbl);
				value(out, b->mean_s);
				fputc('\n', out);
				break;
			case BM_TASK_SUMMARY:
				fprintf(out, "%s{%s,quantile=\"0.9\"} ", be_metrics[m].name, lbl);
				value(out, b->p90_s);
				fprintf(out, "\n%s_sum{%s} ", be_metrics[m].name, lbl);
				value(out, b->duration_sum);
				fprintf(out, "\n%s_count{%s} %llu\n", be_metrics[m].name, lbl,
					(unsigned long long)b->samples);
				break;
			case BM__COUNT:
				break;
			}
		}
	}
}

enum vip_metric {
	VM_ARRIVALS,
	VM_REWARD,
	VM_ALPHA,
	VM_Q_LOSS,
	VM_PI_LOSS,
	VM_UPDATES,
	VM_MODE,
	VM_FALLBACKS,
	VM_REJECTED,
	VM__COUNT,
};

static const struct {
	const char *name, *type, *help;
	bool marl_only;
} vip_metrics[VM__COUNT] = {
	[VM_ARRIVALS] = { "marllb_vip_new_flows_per_second", "gauge",
			  "New flows per second at this LB, recent." },
	[VM_REWARD] = { "marllb_agent_reward", "gauge", "Last reward of the learned policy.",
			true },
	[VM_ALPHA] = { "marllb_agent_alpha", "gauge", "Entropy temperature.", true },
	[VM_Q_LOSS] = { "marllb_agent_q_loss", "gauge", "Last critic loss.", true },
	[VM_PI_LOSS] = { "marllb_agent_pi_loss", "gauge", "Last actor loss.", true },
	[VM_UPDATES] = { "marllb_agent_updates_total", "counter", "Gradient updates done.", true },
	[VM_MODE] = { "marllb_agent_mode", "gauge",
		      "1 for the safety net's current mode (probe, learned, fallback).", true },
	[VM_FALLBACKS] = { "marllb_agent_fallbacks_total", "counter",
			   "Times the safety net went back to SED weights.", true },
	[VM_REJECTED] = { "marllb_agent_rejected_weights_total", "counter",
			  "Weight vectors not written: NaN, infinite or out of range.", true },
};

static void vip_metric(FILE *out, struct daemon *d, enum vip_metric m)
{
	metrics_family(out, vip_metrics[m].name, vip_metrics[m].type, vip_metrics[m].help);
	for (int id = 0; id < MLB_MAX_VIPS; id++) {
		struct vip_state *v = d->vips[id];
		const char *name = vip_metrics[m].name;
		char vl[64];

		if (!v || (vip_metrics[m].marl_only && !v->agent))
			continue;
		vip_label(v, vl, sizeof(vl));
		switch (m) {
		case VM_MODE:
			for (int i = SAFETY_PROBE; i <= SAFETY_FALLBACK; i++)
				fprintf(out, "%s{vip=\"%s\",mode=\"%s\"} %d\n", name, vl,
					safety_mode_name(i), v->safety.mode == (enum safety_mode)i);
			continue;
		case VM_UPDATES:
			fprintf(out, "%s{vip=\"%s\"} %llu\n", name, vl,
				(unsigned long long)v->astats.updates);
			continue;
		case VM_FALLBACKS:
			fprintf(out, "%s{vip=\"%s\"} %llu\n", name, vl,
				(unsigned long long)v->safety.fallbacks);
			continue;
		case VM_REJECTED:
			fprintf(out, "%s{vip=\"%s\"} %llu\n", name, vl,
				(unsigned long long)v->rejected_weights);
			continue;
		default:
			break;
		}
		fprintf(out, "%s{vip=\"%s\"} ", name, vl);
		value(out, m == VM_ARRIVALS ? v->arrival_rate :
			   m == VM_REWARD   ? v->reward :
			   m == VM_ALPHA    ? v->astats.alpha :
			   m == VM_Q_LOSS   ? v->astats.q_loss :
					      v->astats.pi_loss);
		fputc('\n', out);
	}
}

static void counter(FILE *out, const char *name, const char *help, unsigned long long v)
{
	metrics_family(out, name, "counter", help);
	fprintf(out, "%s %llu\n", name, v);
}

void metrics_render(FILE *out, void *ctx)
{
	struct daemon *d = ctx;

	metrics_family(out, "marllb_info", "gauge", "The interface and XDP mode served.");
	fprintf(out, "marllb_info{iface=\"%s\",mode=\"%s\",attached_by_this_daemon=\"%s\"} 1\n",
		d->opts.iface, d->attach_mode ? d->attach_mode : "unknown",
		d->attached_here ? "yes" : "no");
	for (int m = 0; m < BM__COUNT; m++)
		backend_metric(out, d, m);
	for (int m = 0; m < VM__COUNT; m++)
		vip_metric(out, d, m);
	counter(out, "marllb_new_flows_total", "SYNs that started a flow (spoofed ones too).",
		d->stats.new_flows);
	counter(out, "marllb_established_flows_total",
		"Flows entered into the open-flow count (handshake completed, or resumed).",
		d->stats.established);
	counter(out, "marllb_closed_flows_total", "Counted flows closed by a client FIN or RST.",
		d->stats.closed_flows);
	counter(out, "marllb_refused_flows_total",
		"Handshakes the full flow table could not count (served, uncounted).",
		d->stats.refused);
	counter(out, "marllb_stateless_flows_total",
		"New flows placed by the consistent hash without state (SYN budget spent).",
		d->stats.syn_stateless);
	counter(out, "marllb_fallback_packets_total",
		"Packets of flows with no entry, forwarded by the consistent hash.",
		d->stats.fallback);
	counter(out, "marllb_ring_lost_total", "Samples lost to a full ring buffer.",
		d->stats.ring_lost);
	counter(out, "marllb_samples_unknown_total",
		"Samples for VIPs or backends this daemon does not manage.", d->samples_unknown);
	metrics_family(out, "marllb_drops_total", "counter", "Packets dropped, by reason.");
	for (int r = 0; r < MLB_DROP_MAX; r++)
		fprintf(out, "marllb_drops_total{reason=\"%s\"} %llu\n", mlb_drop_reason_name(r),
			(unsigned long long)d->stats.drops[r]);
	metrics_family(out, "marllb_flows_reclaimed_total", "counter",
		       "Idle flows removed from the flow table by marllbd.");
	fprintf(out, "marllb_flows_reclaimed_total{kind=\"half_open\"} %llu\n",
		(unsigned long long)d->reclaimed_half_open);
	fprintf(out, "marllb_flows_reclaimed_total{kind=\"established\"} %llu\n",
		(unsigned long long)d->reclaimed_established);
	fprintf(out, "marllb_flows_reclaimed_total{kind=\"closed\"} %llu\n",
		(unsigned long long)d->reclaimed_closed);
	counter(out, "marllb_open_flow_corrections_total",
		"Open-flow counts corrected to match the flow table.", d->q_corrections);
	counter(out, "marllb_control_steps_total", "Control steps run.", d->steps);
	metrics_family(out, "marllb_timer_periods_missed_total", "counter",
		       "Periods of a timer that ended while the event loop was held up (0 when "
		       "nothing delays the loop by a whole period).");
	fprintf(out, "marllb_timer_periods_missed_total{timer=\"control_step\"} %llu\n",
		(unsigned long long)d->steps_missed);
	fprintf(out, "marllb_timer_periods_missed_total{timer=\"health_check\"} %llu\n",
		(unsigned long long)d->health_rounds_missed);
	if (d->metrics) {
		struct metrics_server_stats st;

		metrics_server_stats(d->metrics, &st);
		metrics_family(out, "marllb_metrics_clients_total", "counter",
			       "Clients of this endpoint, by outcome (cut: past the deadline; "
			       "refused: over the connection cap).");
		fprintf(out, "marllb_metrics_clients_total{result=\"served\"} %llu\n",
			(unsigned long long)st.served);
		fprintf(out, "marllb_metrics_clients_total{result=\"bad_request\"} %llu\n",
			(unsigned long long)st.bad);
		fprintf(out, "marllb_metrics_clients_total{result=\"cut\"} %llu\n",
			(unsigned long long)st.timed_out);
		fprintf(out, "marllb_metrics_clients_total{result=\"refused\"} %llu\n",
			(unsigned long long)st.refused);
	}
	metrics_family(out, "marllb_control_step_seconds", "gauge",
		       "Time the last control step took (samples, features, agent, weights).");
	fprintf(out, "marllb_control_step_seconds ");
	value(out, d->step_seconds);
	fputc('\n', out);
	metrics_family(
		out, "marllb_flow_scan_seconds", "gauge",
		"Longest the last flow-table pass (reclaim, reconcile) held the event loop: it "
		"runs in slices.");
	fprintf(out, "marllb_flow_scan_seconds ");
	value(out, d->reconcile_seconds);
	fputc('\n', out);
}

void status_publish(struct daemon *d)
{
	__u64 now_ns = (__u64)(mono_now() * 1e9);
	__u32 pid = getpid();

	if (d->sm.be_fd < 0 || d->sm.vip_fd < 0)
		return;
	for (__u32 id = 0; id < MLB_MAX_VIPS; id++) {
		struct vip_state *v = d->vips[id];
		struct mlbd_vip_status vs = {};

		if (!v)
			continue;
		vs.updated_ns = now_ns;
		vs.pid = pid;
		vs.mode = v->agent ? v->safety.mode : 0;
		vs.learning = v->agent && !d->opts.no_learn;
		vs.fallbacks = v->safety.fallbacks;
		vs.reward = (float)v->reward;
		vs.alpha = v->astats.alpha;
		vs.new_flows_per_s = (float)v->arrival_rate;
		bpf_map_update_elem(d->sm.vip_fd, &id, &vs, BPF_ANY);
		for (__u32 k = 0; k < v->n_slots && k < (__u32)v->feat_n; k++) {
			const struct be_state *b = &v->be[k];
			struct mlbd_be_status bs = {
				.updated_ns = now_ns,
				.samples = b->samples,
				.pid = pid,
				.health = b->hc.up ? MLBD_HEALTH_UP : MLBD_HEALTH_DOWN,
				.removed = b->removed,
				.samples_per_s = (float)b->samples_rate,
				.mean_s = b->mean_s,
				.p90_s = b->p90_s,
			};
			__u32 idx = id * MLB_MAX_BACKENDS + k;

			if (!b->used)
				bs.health = MLBD_HEALTH_UNKNOWN;
			bpf_map_update_elem(d->sm.be_fd, &idx, &bs, BPF_ANY);
		}
	}
}
