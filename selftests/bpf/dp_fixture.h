/* SPDX-License-Identifier: GPL-2.0 */
/* A freshly loaded data plane with one VIP and n backends, for the tests and the benchmark. */
#ifndef MARLLB_TEST_DP_FIXTURE_H
#define MARLLB_TEST_DP_FIXTURE_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp/dataplane.h"
#include "pkt.h"

#define FX_MAX_SAMPLES 4096

struct fx {
	struct mlb_dp *dp;
	int prog_fd;
	uint32_t vip;
	struct pkt_spec vip_spec; /* a SYN from the client to the VIP */
	struct ring_buffer *rb;
	struct mlb_sample samples[FX_MAX_SAMPLES];
	int n_samples;
};

/* Backend k: 10.0.1.k (or fd00:1::k), MAC 02:00:00:00:k>>8:k */
static inline void fx_backend_mac(uint32_t k, uint8_t mac[6])
{
	uint8_t m[6] = { 0x02, 0x00, 0x00, 0xbe, (uint8_t)(k >> 8), (uint8_t)k };

	memcpy(mac, m, 6);
}

static inline int fx_sample_cb(void *ctx, void *data, size_t size)
{
	struct fx *f = ctx;

	if (size == sizeof(struct mlb_sample) && f->n_samples < FX_MAX_SAMPLES)
		memcpy(&f->samples[f->n_samples++], data, size);
	return 0;
}

static inline int fx_add_vip(struct fx *f, int family, const char *addr, uint16_t port,
			     uint32_t policy, uint32_t n_backends, uint32_t *vip_id)
{
	struct mlb_vip_cfg cfg = { .family = family == 4 ? MLB_AF_INET : MLB_AF_INET6,
				   .port = port,
				   .policy = policy };
	int err;

	inet_pton(family == 4 ? AF_INET : AF_INET6, addr, cfg.addr);
	err = mlb_dp_set_vip(f->dp, &cfg, vip_id);
	for (uint32_t k = 0; !err && k < n_backends; k++) {
		struct mlb_backend_cfg b = { .family = MLB_AF_INET,
					     .state = MLB_BACKEND_ACTIVE,
					     .weight = 1 };

		b.addr[0] = 10, b.addr[1] = 0, b.addr[2] = 1, b.addr[3] = k;
		fx_backend_mac(k, b.mac);
		err = mlb_dp_set_backend(f->dp, *vip_id, k, &b);
	}
	return err;
}

/* opts NULL: tables of FX_TABLE_SIZE entries (small: loads fast). */
#define FX_TABLE_SIZE 65536
static inline int fx_setup_opts(struct fx *f, int family, uint32_t policy, uint32_t n_backends,
				const struct mlb_dp_opts *opts)
{
	struct mlb_dp_opts small = { .flow_table_size = FX_TABLE_SIZE,
				     .half_open_table_size = FX_TABLE_SIZE };
	int err;

	memset(f, 0, sizeof(*f));
	err = mlb_dp_load(opts ? opts : &small, &f->dp);
	if (err)
		return err;
	/* tests send SYN bursts far above it: each test that wants the budget sets one */
	err = mlb_dp_set_syn_budget(f->dp, MLB_SYN_BUDGET_OFF);
	if (err)
		return err;
	f->prog_fd = mlb_dp_prog_fd(f->dp);
	if (family == 4) {
		err = fx_add_vip(f, 4, "10.0.0.100", 80, policy, n_backends, &f->vip);
		pkt_spec_v4(&f->vip_spec, "10.0.0.1", "10.0.0.100", 40000, 80, PKT_SYN);
	} else {
		err = fx_add_vip(f, 6, "fd00::100", 80, policy, n_backends, &f->vip);
		pkt_spec_v6(&f->vip_spec, "fd00::1", "fd00::100", 40000, 80, PKT_SYN);
	}
	if (err)
		return err;
	f->rb = mlb_dp_samples_new(f->dp, fx_sample_cb, f);
	return f->rb ? 0 : -errno;
}

static inline int fx_setup(struct fx *f, int family, uint32_t policy, uint32_t n_backends)
{
	return fx_setup_opts(f, family, policy, n_backends, NULL);
}

static inline void fx_teardown(struct fx *f)
{
	ring_buffer__free(f->rb);
	mlb_dp_close(f->dp);
	memset(f, 0, sizeof(*f));
}

/* Runs one frame; returns the verdict (or a negative errno), output in out/out_len. */
static inline int fx_run_frame(struct fx *f, const void *frame, uint32_t len, void *out,
			       uint32_t *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .data_out = out,
		    .data_size_out = PKT_MAX, .repeat = 1);
	int err = bpf_prog_test_run_opts(f->prog_fd, &o);

	if (err)
		return -errno;
	if (out_len)
		*out_len = o.data_size_out;
	return o.retval;
}

static inline int fx_run(struct fx *f, const struct pkt_spec *s, uint8_t *out, uint32_t *out_len)
{
	uint8_t frame[PKT_MAX], tmp[PKT_MAX];
	size_t len = pkt_build(s, frame);

	return fx_run_frame(f, frame, len, out ? out : tmp, out_len);
}

/* The backend a TX'd frame was sent to (from its destination MAC), or -1. */
static inline int fx_backend_of(const uint8_t *out)
{
	if (out[0] != 0x02 || out[1] || out[2] || out[3] != 0xbe)
		return -1;
	return out[4] << 8 | out[5];
}

static inline uint32_t fx_q(struct fx *f, uint32_t vip, uint32_t k)
{
	uint32_t q[MLB_MAX_BACKENDS];

	if (mlb_dp_read_queues(f->dp, vip, q, k + 1))
		return UINT32_MAX;
	return q[k];
}

/* Sets q of backends 0..n-1 directly (tests only: the data plane is idle meanwhile). */
static inline int fx_set_q(struct fx *f, uint32_t vip, const uint32_t *q, uint32_t n)
{
	struct mlb_queues qs = {};

	memcpy(qs.q, q, n * sizeof(*q));
	return bpf_map_update_elem(mlb_dp_map_fd(f->dp, MLB_MAP_QUEUES), &vip, &qs, 0);
}

static inline void fx_drain_samples(struct fx *f)
{
	ring_buffer__consume(f->rb);
}

/* The flow key of a spec (client -> VIP direction), as the data plane builds it. */
static inline struct mlb_flow_key fx_key(const struct pkt_spec *s)
{
	struct mlb_flow_key k = { .proto = IPPROTO_TCP,
				  .family = s->family == 4 ? MLB_AF_INET : MLB_AF_INET6 };

	memcpy(k.src, s->src, s->family == 4 ? 4 : 16);
	memcpy(k.dst, s->dst, s->family == 4 ? 4 : 16);
	k.sport = htons(s->sport);
	k.dport = htons(s->dport);
	return k;
}

/* SYN then the handshake-completing ACK: an established, counted flow. Returns its backend. */
static inline int fx_open(struct fx *f, struct pkt_spec s)
{
	uint8_t out[PKT_MAX];
	int k;

	s.flags = PKT_SYN;
	if (fx_run(f, &s, out, NULL) != XDP_TX)
		return -1;
	k = fx_backend_of(out);
	s.flags = PKT_ACK;
	s.ack = 7001;
	if (fx_run(f, &s, out, NULL) != XDP_TX || fx_backend_of(out) != k)
		return -1;
	return k;
}

/* Sum of q over backends 0..n-1 of VIP vip. */
static inline uint64_t fx_q_sum(struct fx *f, uint32_t vip, uint32_t n)
{
	uint32_t q[MLB_MAX_BACKENDS];
	uint64_t sum = 0;

	if (mlb_dp_read_queues(f->dp, vip, q, n))
		return UINT64_MAX;
	for (uint32_t k = 0; k < n; k++)
		sum += q[k];
	return sum;
}

#endif /* MARLLB_TEST_DP_FIXTURE_H */
