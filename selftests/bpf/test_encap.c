// SPDX-License-Identifier: GPL-2.0
/*
 * The encapsulating modes (ipip, gue) and the server side (marllb_decap.o), driven with
 * crafted frames through bpf_prog_test_run_opts. The frame each case should produce is built
 * here field by field from the modes' definitions (Documentation/dataplane.md,
 * "Forwarding modes") and compared whole; its checksums are computed here over the bytes
 * (the outer UDP checksum over the whole datagram, not as the data plane derives it). Only the
 * fields a hash of the flow picks (outer source host bits, GUE source port, IPv6 flow label)
 * come from the output, after their range is checked; their spread and stability are tested
 * on their own.
 */
#include <linux/udp.h>
#include "dp_test.h"
#include "dp/decap.h"
#include "encap_expect.h"

#define VIP4 "10.0.0.100"
#define VIP6 "fd00::100"
#define SRC4 "10.200.0.1"
#define SRC6 "fd00:200::1"
#define GUE_PORT 7777

struct enc {
	struct fx fx; /* dp, prog_fd, vip, vip_spec (a SYN to the VIP), samples */
	int be_family;
	uint32_t mode;
	uint8_t src4[4], src6[16];
};

static void be_addr(int family, uint32_t k, uint8_t *a)
{
	char s[64];

	snprintf(s, sizeof(s), family == 4 ? "10.0.2.%u" : "fd00:2::%x", 10 + k);
	inet_pton(family == 4 ? AF_INET : AF_INET6, s, a);
}

/* opts: "source" prefixes (NULL-terminated), mtu (0: default) */
static bool enc_setup_opts(struct enc *e, int vip_family, int be_family, uint32_t mode,
			   const char *const *sources, uint16_t mtu, int n_backends)
{
	struct mlb_dp_opts small = { .flow_table_size = FX_TABLE_SIZE,
				     .half_open_table_size = FX_TABLE_SIZE };
	struct mlb_vip_cfg vc = { .family = vip_family == 4 ? MLB_AF_INET : MLB_AF_INET6,
				  .port = 80,
				  .policy = MLB_POLICY_LSQ,
				  .fwd = { .mode = mode, .mtu = mtu, .gue_port = GUE_PORT } };
	int err;

	memset(e, 0, sizeof(*e));
	e->be_family = be_family;
	e->mode = mode;
	inet_pton(AF_INET, SRC4, e->src4);
	inet_pton(AF_INET6, SRC6, e->src6);
	err = mlb_dp_load(&small, &e->fx.dp);
	if (err == -EPERM) {
		test_skip("no permission to load BPF programs (run as root)");
		return false;
	}
	if (!ASSERT_OK(err, "load"))
		return false;
	e->fx.prog_fd = mlb_dp_prog_fd(e->fx.dp);
	mlb_dp_set_syn_budget(e->fx.dp, MLB_SYN_BUDGET_OFF);
	inet_pton(vip_family == 4 ? AF_INET : AF_INET6, vip_family == 4 ? VIP4 : VIP6, vc.addr);
	for (int i = 0; sources && sources[i]; i++)
		ASSERT_OK(mlb_fwd_source_parse(&vc.fwd, sources[i]), "source");
	err = mlb_dp_set_vip(e->fx.dp, &vc, &e->fx.vip);
	for (int k = 0; !err && k < n_backends; k++) {
		struct mlb_backend_cfg b = { .family = be_family == 4 ? MLB_AF_INET : MLB_AF_INET6,
					     .state = MLB_BACKEND_ACTIVE,
					     .weight = 1 };

		be_addr(be_family, k, b.addr);
		fx_backend_mac(k, b.mac);
		err = mlb_dp_set_backend(e->fx.dp, e->fx.vip, k, &b);
	}
	if (vip_family == 4)
		pkt_spec_v4(&e->fx.vip_spec, "10.0.0.1", VIP4, 40000, 80, PKT_SYN);
	else
		pkt_spec_v6(&e->fx.vip_spec, "fd00::1", VIP6, 40000, 80, PKT_SYN);
	e->fx.rb = mlb_dp_samples_new(e->fx.dp, fx_sample_cb, &e->fx);
	return ASSERT_OK(err, "VIP and backends") && ASSERT_OK_PTR(e->fx.rb, "samples");
}

static bool enc_setup(struct enc *e, int vip_family, int be_family, uint32_t mode)
{
	static const char *const both[] = { SRC4, SRC6, NULL };

	return enc_setup_opts(e, vip_family, be_family, mode, both, 0, 2);
}

/* Sets the inner TOS (IPv4: and DF, re-checksummed) or traffic class of a built frame. */
static void set_tos(uint8_t *f, int family, uint8_t tos, bool df)
{
	uint8_t *ip = f + l2_len(f);

	if (family == 4) {
		ip[1] = tos;
		put16(ip + 6, df ? 0x4000 : 0);
		put16(ip + 10, 0);
		put16(ip + 10, pkt_sum_final(pkt_sum(ip, (ip[0] & 15) * 4, 0)));
	} else {
		ip[0] = 0x60 | tos >> 4;
		ip[1] = (ip[1] & 0x0f) | (tos & 0x0f) << 4;
	}
}

/* How e encapsulates for backend k. */
static void enc_spec(const struct enc *e, int k, struct encap_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->mode = e->mode;
	sp->outer = e->be_family;
	memcpy(sp->src, e->be_family == 4 ? e->src4 : e->src6, e->be_family == 4 ? 4 : 16);
	sp->src_len = e->be_family == 4 ? 32 : 128;
	be_addr(e->be_family, k, sp->dst);
	fx_backend_mac(k, sp->mac);
	sp->gue_port = GUE_PORT;
}

/* Runs frame in (len) and checks the output against the expected encapsulation. Returns the
 * backend it went to (-1 on failure); the output in out. */
static int check_encap(struct enc *e, const uint8_t *in, uint32_t len, uint8_t *out,
		       uint32_t *out_len)
{
	const char *why = "";
	struct encap_spec sp;
	uint8_t x[PKT_MAX];
	uint32_t xlen;
	int k;

	if (!ASSERT_EQ(fx_run_frame(&e->fx, in, len, out, out_len), XDP_TX, "verdict"))
		return -1;
	k = fx_backend_of(out);
	if (!ASSERT_TRUE(k >= 0 && k < 2, "to a backend's MAC"))
		return -1;
	enc_spec(e, k, &sp);
	xlen = expect_encap(&sp, in, out, x, &why);
	if (!ASSERT_TRUE(xlen, why) || !ASSERT_EQ(*out_len, xlen, "length") ||
	    !ASSERT_MEMEQ(out, x, xlen, "bytes")) {
		for (uint32_t i = 0; i < xlen && i < *out_len; i++)
			if (out[i] != x[i])
				printf("    byte %u: got %02x, expected %02x\n", i, out[i], x[i]);
		return -1;
	}
	return k;
}

/* The decap program strips out (len) back to the inner packet of in. */
static void check_decap(const struct enc *e, const uint8_t *in, uint32_t in_len, const uint8_t *out,
			uint32_t len)
{
	struct mlb_vip_cfg vc = { .family = e->fx.vip_spec.family == 4 ? MLB_AF_INET : MLB_AF_INET6,
				  .port = 80 };
	uint8_t dec[PKT_MAX];
	uint32_t dec_len = 0;
	struct mlb_decap_stats st;
	struct mlb_decap *d;

	memcpy(vc.addr, e->fx.vip_spec.dst, 16);
	if (!ASSERT_OK(mlb_decap_load(&d), "decap load"))
		return;
	ASSERT_OK(mlb_decap_set_gue_port(d, GUE_PORT), "gue port");
	ASSERT_OK(mlb_decap_add_vip(d, &vc), "decap vip");
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = out, .data_size_in = len,
			    .data_out = dec, .data_size_out = PKT_MAX, .repeat = 1);

		ASSERT_OK(bpf_prog_test_run_opts(mlb_decap_prog_fd(d), &o), "decap run");
		ASSERT_EQ(o.retval, XDP_PASS, "decap verdict");
		dec_len = o.data_size_out;
	}
	if (ASSERT_EQ(dec_len, in_len, "decapsulated length")) {
		ASSERT_MEMEQ(dec, out, 12, "MACs of the frame as received");
		ASSERT_MEMEQ(dec + 12, in + 12, in_len - 12, "the original packet, byte for byte");
	}
	ASSERT_OK(mlb_decap_read_stats(d, &st), "decap stats");
	ASSERT_EQ(st.ipip + st.ip6ip6 + st.ip4ip6 + st.gue, 1, "one decapsulated");
	if (e->mode == MLB_FWD_GUE)
		ASSERT_EQ(st.gue, 1, "as gue");
	else if (e->be_family == 4)
		ASSERT_EQ(st.ipip, 1, "as ipip");
	else if (e->fx.vip_spec.family == 4)
		ASSERT_EQ(st.ip4ip6, 1, "as ip4ip6");
	else
		ASSERT_EQ(st.ip6ip6, 1, "as ip6ip6");
	mlb_decap_close(d);
}

/* A SYN, a data segment with TOS and DF, a VLAN-tagged one: exact bytes, then decap. */
static void check_mode(int vip_family, int be_family, uint32_t mode)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	uint32_t len, out_len = 0;
	struct pkt_spec s;
	struct enc e;
	int k;

	if (!enc_setup(&e, vip_family, be_family, mode))
		return;
	s = e.fx.vip_spec;
	len = pkt_build(&s, in);
	k = check_encap(&e, in, len, out, &out_len);
	if (k >= 0)
		check_decap(&e, in, len, out, out_len);
	s.flags = PKT_ACK | PKT_PSH;
	s.ack = 7001;
	s.payload = 333;
	len = pkt_build(&s, in);
	set_tos(in, vip_family, 0xb8, true);
	ASSERT_EQ(check_encap(&e, in, len, out, &out_len), k, "data segment, same backend");
	check_decap(&e, in, len, out, out_len);
	s.vlan = 42;
	len = pkt_build(&s, in);
	set_tos(in, vip_family, 0x02, false);
	ASSERT_EQ(check_encap(&e, in, len, out, &out_len), k, "VLAN-tagged, same backend");
	check_decap(&e, in, len, out, out_len);
	ASSERT_EQ(stats(&e.fx).icmp_too_big, 0, "no ICMP");
	fx_teardown(&e.fx);
}

static void test_ipip_4in4(void)
{
	check_mode(4, 4, MLB_FWD_IPIP);
}

static void test_ipip_6in6(void)
{
	check_mode(6, 6, MLB_FWD_IPIP);
}

static void test_ipip_4in6(void)
{
	check_mode(4, 6, MLB_FWD_IPIP);
}

static void test_gue_4in4(void)
{
	check_mode(4, 4, MLB_FWD_GUE);
}

static void test_gue_6in6(void)
{
	check_mode(6, 6, MLB_FWD_GUE);
}

static void test_gue_4in6(void)
{
	check_mode(4, 6, MLB_FWD_GUE);
}

/* Flow accounting and samples do not depend on the mode: a connection through gue. */
static void test_samples_and_q_through_encap(void)
{
	uint8_t out[PKT_MAX];
	struct pkt_spec s;
	struct enc e;
	int k, kinds[4] = {};

	if (!enc_setup(&e, 4, 4, MLB_FWD_GUE))
		return;
	s = e.fx.vip_spec;
	k = fx_open(&e.fx, s);
	ASSERT_TRUE(k >= 0, "handshake through gue");
	ASSERT_EQ(fx_q(&e.fx, e.fx.vip, k), 1, "counted");
	s.flags = PKT_ACK;
	s.ack = 7001 + 1448; /* the server answered */
	ASSERT_EQ(fx_run(&e.fx, &s, out, NULL), XDP_TX, "ACK of server data");
	s.flags = PKT_FIN | PKT_ACK;
	ASSERT_EQ(fx_run(&e.fx, &s, out, NULL), XDP_TX, "FIN");
	ASSERT_EQ(fx_backend_of(out), k, "FIN to the flow's backend");
	ASSERT_EQ(fx_q(&e.fx, e.fx.vip, k), 0, "q back to 0");
	fx_drain_samples(&e.fx);
	for (int i = 0; i < e.fx.n_samples; i++)
		if (e.fx.samples[i].kind < 4 && e.fx.samples[i].backend == k)
			kinds[e.fx.samples[i].kind]++;
	ASSERT_EQ(kinds[MLB_SAMPLE_NEW_FLOW], 1, "new-flow sample");
	ASSERT_EQ(kinds[MLB_SAMPLE_TASK], 1, "task sample");
	ASSERT_EQ(kinds[MLB_SAMPLE_FCT], 1, "FCT sample");
	fx_teardown(&e.fx);
}

/* One client's flows spread over the outer source prefix; each flow keeps its source, GUE
 * source port and flow label. */
static void test_outer_source_spreads(void)
{
	static const char *const srcs[] = { "10.200.7.0/24", "fd00:200::/112", NULL };
	uint8_t out[PKT_MAX], again[PKT_MAX], seen4[256] = {};
	int distinct4 = 0, ports4 = 0, hosts6 = 0, bad = 0;
	uint16_t first_port = 0;
	struct pkt_spec s;
	struct enc e;

	for (int fam = 4; fam <= 6; fam += 2) {
		if (!enc_setup_opts(&e, fam, fam, MLB_FWD_GUE, srcs, 0, 2))
			return;
		s = e.fx.vip_spec;
		for (int i = 0; i < 256; i++) {
			uint32_t l2 = 14, n = 0;

			s.sport = 20000 + i;
			fx_run(&e.fx, &s, out, &n);
			fx_run(&e.fx, &s, again, NULL);
			if (memcmp(out, again, n))
				bad++; /* a retransmission must look the same */
			if (fam == 4) {
				bad += memcmp(out + l2 + 12, "\x0a\xc8\x07", 3) != 0;
				distinct4 += !seen4[out[l2 + 15]]++;
				ports4 += first_port != get16(out + l2 + 20);
				first_port = get16(out + l2 + 20);
			} else {
				static const uint8_t p6[14] = { 0xfd, 0, 2, 0 };

				bad += memcmp(out + l2 + 8, p6, 14) != 0;
				hosts6 += get16(out + l2 + 22) != 0; /* host bits of the /112 */
			}
		}
		fx_teardown(&e.fx);
	}
	ASSERT_EQ(bad, 0, "inside the prefix, stable per flow");
	ASSERT_GT(distinct4, 120, "256 flows of one client: many IPv4 sources (of 256)");
	ASSERT_GT(ports4, 200, "GUE source ports change from flow to flow");
	ASSERT_GT(hosts6, 200, "IPv6 sources use the prefix's host bits");
}

/* The largest inner packet that fits is encapsulated; one byte more is answered. */
static void check_too_big(int family, int be_family, uint32_t mode, int vlan, int ip_options)
{
	uint32_t overhead = (be_family == 4 ? 20 : 40) + (mode == MLB_FWD_GUE ? 8 : 0);
	uint32_t base = (family == 4 ? 20 : 40) + 20, len, out_len = 0, xlen;
	uint8_t in[PKT_MAX], out[PKT_MAX], x[PKT_MAX];
	struct mlb_traffic vt;
	struct pkt_spec s;
	struct enc e;
	int k;

	if (!enc_setup(&e, family, be_family, mode))
		return;
	s = e.fx.vip_spec;
	k = fx_open(&e.fx, s);
	s.flags = PKT_ACK;
	s.ack = 7001;
	s.vlan = vlan;
	s.payload = 1500 - overhead - base; /* fits exactly */
	len = pkt_build(&s, in);
	ASSERT_EQ(check_encap(&e, in, len, out, &out_len), k, "the largest that fits goes");
	s.payload++;
	len = pkt_build(&s, in);
	if (ip_options) { /* 8 bytes of options (NOPs): a longer quote */
		uint32_t l2 = l2_len(in);

		memmove(in + l2 + 28, in + l2 + 20, len - l2 - 20);
		memset(in + l2 + 20, 1, 8);
		in[l2] = 0x47;
		put16(in + l2 + 2, get16(in + l2 + 2) + 8);
		len += 8;
		set_tos(in, 4, 0, true);
	}
	ASSERT_EQ(fx_run_frame(&e.fx, in, len, out, &out_len), XDP_TX, "too big: answered");
	xlen = expect_icmp(in, 1500 - overhead, x);
	if (ASSERT_EQ(out_len, xlen, "answer length"))
		ASSERT_MEMEQ(out, x, xlen, "answer bytes");
	ASSERT_EQ(stats(&e.fx).icmp_too_big, 1, "counted");
	ASSERT_OK(mlb_dp_read_vip_traffic(e.fx.dp, e.fx.vip, &vt), "traffic");
	ASSERT_EQ(vt.packets, 3, "the answered packet is not counted as forwarded");
	ASSERT_EQ(fx_q(&e.fx, e.fx.vip, k), 1, "the flow goes on");
	fx_teardown(&e.fx);
}

static void test_too_big_ipip4(void)
{
	check_too_big(4, 4, MLB_FWD_IPIP, 0, 0);
}

static void test_too_big_gue4_vlan_options(void)
{
	check_too_big(4, 4, MLB_FWD_GUE, 9, 1);
}

static void test_too_big_4in6(void)
{
	check_too_big(4, 6, MLB_FWD_IPIP, 0, 0);
}

static void test_too_big_ipip6(void)
{
	check_too_big(6, 6, MLB_FWD_IPIP, 0, 0);
}

static void test_too_big_gue6_vlan(void)
{
	check_too_big(6, 6, MLB_FWD_GUE, 3, 0);
}

/* A trailer after the IP packet (Ethernet padding) is not carried inside the tunnel. */
static void test_trailer_not_carried(void)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	uint32_t len, out_len = 0;
	struct enc e;

	if (!enc_setup(&e, 4, 4, MLB_FWD_IPIP))
		return;
	len = pkt_build(&e.fx.vip_spec, in);
	memset(in + len, 0, 6); /* padded to the 60-byte minimum */
	ASSERT_GE(check_encap(&e, in, len + 6, out, &out_len), 0, "encapsulated");
	ASSERT_EQ(out_len, len + 20, "without the padding");
	fx_teardown(&e.fx);
}

/* A VIP changes mode: its established flows go on, now encapsulated, and back. */
static void test_mode_change_keeps_flows(void)
{
	struct mlb_vip_cfg vc = { .family = MLB_AF_INET, .port = 80, .policy = MLB_POLICY_LSQ };
	uint8_t out[PKT_MAX];
	uint32_t n = 0, n0 = 0;
	struct pkt_spec s;
	struct enc e;
	int k;

	if (!enc_setup(&e, 4, 4, MLB_FWD_DSR_L2))
		return;
	inet_pton(AF_INET, VIP4, vc.addr);
	s = e.fx.vip_spec;
	k = fx_open(&e.fx, s);
	s.flags = PKT_ACK;
	ASSERT_EQ(fx_run(&e.fx, &s, out, &n0), XDP_TX, "dsr-l2");
	vc.fwd.mode = MLB_FWD_IPIP;
	ASSERT_OK(mlb_fwd_source_parse(&vc.fwd, SRC4), "source");
	ASSERT_OK(mlb_dp_set_vip(e.fx.dp, &vc, NULL), "to ipip");
	ASSERT_EQ(fx_run(&e.fx, &s, out, &n), XDP_TX, "ipip");
	ASSERT_EQ(fx_backend_of(out), k, "same backend");
	ASSERT_EQ(n, n0 + 20, "encapsulated");
	vc.fwd.mode = MLB_FWD_DSR_L2;
	ASSERT_OK(mlb_dp_set_vip(e.fx.dp, &vc, NULL), "back to dsr-l2");
	ASSERT_EQ(fx_run(&e.fx, &s, out, &n), XDP_TX, "dsr-l2 again");
	ASSERT_EQ(n, n0, "not encapsulated");
	ASSERT_EQ(fx_q(&e.fx, e.fx.vip, k), 1, "still one flow");
	fx_teardown(&e.fx);
}

/* Configurations that cannot work are refused and change nothing. */
static void test_bad_forwarding_rejected(void)
{
	static const char *const only6[] = { SRC6, NULL }, *const only4[] = { SRC4, NULL };
	struct mlb_vip_cfg vc = { .family = MLB_AF_INET, .port = 80, .policy = MLB_POLICY_LSQ };
	struct mlb_backend_cfg b = { .family = MLB_AF_INET, .state = MLB_BACKEND_ACTIVE };
	struct mlb_fwd_cfg fc = {};
	struct mlb_vip_fwd fwd;
	struct enc e;

	ASSERT_ERR(mlb_fwd_source_parse(&fc, "10.0.0.0/8"), "a /8 spreads too wide");
	ASSERT_ERR(mlb_fwd_source_parse(&fc, "fd00::/64"), "so does a /64");
	ASSERT_ERR(mlb_fwd_source_parse(&fc, "10.0.0.1/33"), "no /33");
	ASSERT_ERR(mlb_fwd_source_parse(&fc, "nonsense"), "not an address");
	ASSERT_OK(mlb_fwd_source_parse(&fc, "10.0.0.0/16"), "a /16");
	ASSERT_EQ(mlb_fwd_mode_parse("ipip"), MLB_FWD_IPIP, "ipip");
	ASSERT_EQ(mlb_fwd_mode_parse("gue"), MLB_FWD_GUE, "gue");
	ASSERT_EQ(mlb_fwd_mode_parse("dsr-l2"), MLB_FWD_DSR_L2, "dsr-l2");
	ASSERT_EQ(mlb_fwd_mode_parse("gre"), -EINVAL, "no gre");

	/* an IPv4 VIP with IPv4 backends, in ipip, has only an IPv6 source: refused */
	if (!enc_setup_opts(&e, 4, 4, MLB_FWD_DSR_L2, NULL, 0, 2))
		return;
	inet_pton(AF_INET, VIP4, vc.addr);
	vc.fwd.mode = MLB_FWD_IPIP;
	ASSERT_OK(mlb_fwd_source_parse(&vc.fwd, SRC6), "v6 source");
	ASSERT_EQ(mlb_dp_set_vip(e.fx.dp, &vc, NULL), -EINVAL, "IPv4 backends need src4");
	vc.fwd.src6_len = 0;
	ASSERT_EQ(mlb_dp_set_vip(e.fx.dp, &vc, NULL), -EINVAL, "no source at all");
	ASSERT_OK(mlb_fwd_source_parse(&vc.fwd, SRC4), "v4 source");
	vc.fwd.mtu = 600;
	ASSERT_EQ(mlb_dp_set_vip(e.fx.dp, &vc, NULL), -EINVAL, "MTU below 576 + 48");
	vc.fwd.mode = 7;
	vc.fwd.mtu = 0;
	ASSERT_EQ(mlb_dp_set_vip(e.fx.dp, &vc, NULL), -EINVAL, "unknown mode");
	ASSERT_OK(mlb_dp_get_forward(e.fx.dp, e.fx.vip, &fwd), "read");
	ASSERT_EQ(fwd.mode, MLB_FWD_DSR_L2, "unchanged");
	fx_teardown(&e.fx);

	/* an IPv4 VIP in ipip with only an IPv4 source: no IPv6 backend */
	if (!enc_setup_opts(&e, 4, 4, MLB_FWD_IPIP, only4, 0, 1))
		return;
	b.family = MLB_AF_INET6;
	be_addr(6, 1, b.addr);
	ASSERT_EQ(mlb_dp_set_backend(e.fx.dp, e.fx.vip, 1, &b), -EINVAL, "no IPv6 source");
	fx_teardown(&e.fx);

	/* an IPv6 VIP: IPv6 source needed, no IPv4 backend */
	if (!enc_setup_opts(&e, 6, 6, MLB_FWD_GUE, only6, 0, 1))
		return;
	b.family = MLB_AF_INET;
	be_addr(4, 1, b.addr);
	ASSERT_EQ(mlb_dp_set_backend(e.fx.dp, e.fx.vip, 1, &b), -EINVAL, "no IPv6 in IPv4");
	memset(&vc, 0, sizeof(vc));
	vc.family = MLB_AF_INET6;
	vc.port = 80;
	inet_pton(AF_INET6, VIP6, vc.addr);
	vc.fwd.mode = MLB_FWD_GUE;
	ASSERT_OK(mlb_fwd_source_parse(&vc.fwd, SRC4), "v4 source only");
	ASSERT_EQ(mlb_dp_set_vip(e.fx.dp, &vc, NULL), -EINVAL, "an IPv6 VIP needs src6");
	ASSERT_OK(mlb_fwd_source_parse(&vc.fwd, SRC6), "v6 source");
	vc.fwd.mtu = 1320;
	ASSERT_EQ(mlb_dp_set_vip(e.fx.dp, &vc, NULL), -EINVAL, "MTU below 1280 + 48");
	fx_teardown(&e.fx);
}

/* Forwarding that the library would refuse, written into the map: the data plane drops and
 * counts instead of sending garbage (an IPv6 packet cannot go into IPv4). */
static void test_impossible_encap_dropped(void)
{
	struct mlb_vip_fwd fwd;
	struct pkt_spec s;
	struct fx f;

	if (!dp_test_setup(&f, 6, MLB_POLICY_LSQ, 2, NULL)) /* IPv4 backends */
		return;
	memset(&fwd, 0, sizeof(fwd));
	fwd.mode = MLB_FWD_IPIP;
	fwd.mtu = 1500;
	ASSERT_OK(bpf_map_update_elem(mlb_dp_map_fd(f.dp, MLB_MAP_VIP_FWD), &f.vip, &fwd, 0),
		  "write");
	for (uint32_t k = 0; k < 2; k++) {
		uint32_t idx = f.vip * MLB_MAX_BACKENDS + k;
		struct mlb_backend be;

		ASSERT_OK(mlb_dp_get_backend(f.dp, f.vip, k, &be), "backend");
		be.encap = 1;
		ASSERT_OK(bpf_map_update_elem(mlb_dp_map_fd(f.dp, MLB_MAP_BACKENDS), &idx, &be, 0),
			  "write backend");
	}
	s = f.vip_spec;
	ASSERT_EQ(fx_run(&f, &s, NULL, NULL), XDP_DROP, "dropped");
	ASSERT_EQ(stats(&f).drops[MLB_DROP_ENCAP], 1, "counted");
	fx_teardown(&f);
}

/* The decap program leaves alone what is not for it, and counts what it declines. */
static void test_decap_leaves_others(void)
{
	struct mlb_vip_cfg vc = { .family = MLB_AF_INET, .port = 80 };
	uint8_t in[PKT_MAX], enc_frame[PKT_MAX], out[PKT_MAX];
	uint32_t len, enc_len = 0, out_len;
	struct mlb_decap_stats st;
	struct mlb_decap *d;
	struct pkt_spec s;
	struct enc e;

	if (!enc_setup(&e, 4, 4, MLB_FWD_IPIP))
		return;
	len = pkt_build(&e.fx.vip_spec, in);
	fx_run_frame(&e.fx, in, len, enc_frame, &enc_len);
	fx_teardown(&e.fx);
	if (!ASSERT_OK(mlb_decap_load(&d), "decap load"))
		return;
	inet_pton(AF_INET, "10.0.0.101", vc.addr); /* another VIP */
	ASSERT_OK(mlb_decap_add_vip(d, &vc), "vip");
#define RUN(frame, n)                                                                  \
	({                                                                             \
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = n, \
			    .data_out = out, .data_size_out = PKT_MAX, .repeat = 1);   \
		bpf_prog_test_run_opts(mlb_decap_prog_fd(d), &o);                      \
		out_len = o.data_size_out;                                             \
		o.retval;                                                              \
	})
	ASSERT_EQ(RUN(enc_frame, enc_len), XDP_PASS, "not our VIP: passed");
	ASSERT_TRUE(out_len == enc_len && !memcmp(out, enc_frame, enc_len), "untouched");
	ASSERT_EQ(RUN(in, len), XDP_PASS, "plain TCP");
	ASSERT_TRUE(out_len == len && !memcmp(out, in, len), "untouched");
	inet_pton(AF_INET, VIP4, vc.addr);
	vc.port = 0; /* every port of the VIP */
	ASSERT_OK(mlb_decap_add_vip(d, &vc), "vip, every port");
	enc_frame[14 + 10] ^= 1; /* outer header checksum broken */
	ASSERT_EQ(RUN(enc_frame, enc_len), XDP_PASS, "broken outer header: passed");
	ASSERT_TRUE(out_len == enc_len && !memcmp(out, enc_frame, enc_len), "untouched");
	enc_frame[14 + 10] ^= 1;
	ASSERT_EQ(RUN(enc_frame, enc_len - 1), XDP_PASS, "truncated: passed");
	ASSERT_EQ(out_len, enc_len - 1, "untouched");
	ASSERT_EQ(RUN(enc_frame, enc_len), XDP_PASS, "intact");
	ASSERT_EQ(out_len, len, "stripped (port 0: every port)");
	pkt_spec_v4(&s, "10.0.0.1", VIP4, 1, 80, PKT_SYN); /* UDP to another port: not ours */
	len = pkt_build(&s, in);
	in[14 + 9] = IPPROTO_UDP;
	ASSERT_EQ(RUN(in, len), XDP_PASS, "UDP");
	ASSERT_MEMEQ(out, in, len, "untouched");
#undef RUN
	ASSERT_OK(mlb_decap_read_stats(d, &st), "stats");
	ASSERT_EQ(st.not_vip, 1, "not_vip");
	ASSERT_EQ(st.malformed, 2, "malformed");
	ASSERT_EQ(st.ipip, 1, "ipip");
	ASSERT_EQ(st.gue + st.ip4ip6 + st.ip6ip6, 0, "nothing else");
	mlb_decap_close(d);
}

static const struct test_case tests[] = {
	TEST(ipip_4in4),
	TEST(ipip_6in6),
	TEST(ipip_4in6),
	TEST(gue_4in4),
	TEST(gue_6in6),
	TEST(gue_4in6),
	TEST(samples_and_q_through_encap),
	TEST(outer_source_spreads),
	TEST(too_big_ipip4),
	TEST(too_big_gue4_vlan_options),
	TEST(too_big_4in6),
	TEST(too_big_ipip6),
	TEST(too_big_gue6_vlan),
	TEST(trailer_not_carried),
	TEST(mode_change_keeps_flows),
	TEST(bad_forwarding_rejected),
	TEST(impossible_encap_dropped),
	TEST(decap_leaves_others),
	{},
};

int main(int argc, char **argv)
{
	return test_main(argc, argv, tests);
}
