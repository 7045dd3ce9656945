// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz the data plane: random frames and mutated valid ones (bytes flipped, truncated, VLAN
 * tags, IPv6) through bpf_prog_test_run. A reference classifier written from the rules in
 * Documentation/dataplane.md says what each frame is; the verdict and output must agree:
 *   not for a service          XDP_PASS, output byte-identical
 *   broken, to a VIP address   XDP_DROP
 *   TCP to a service           XDP_TX with only the MACs rewritten (dst: a backend's MAC,
 *                              src: the old dst), or XDP_DROP (e.g. non-SYN of no flow); a
 *                              clean SYN to a unicast MAC must be forwarded
 * fuzz_encap runs the same frames, some of them large, through VIPs in the encapsulating modes
 * (ipip IPv4 in IPv4 with a small MTU, gue IPv4 in IPv6, gue IPv6 in IPv6): a service frame
 * sent on must be exactly its encapsulation (encap_expect.h; GUE's UDP checksum right exactly
 * when the inner checksums are) or, when too big, exactly the ICMP answer, and
 * marllb_decap.o must turn every encapsulation back into the inner packet. The encapsulated
 * frames, mutated, then go through marllb_decap.o alone: each comes out untouched or with
 * exactly its outer headers stripped, and only when the inner packet is for one of its VIPs.
 * Frames: MLB_FUZZ_FRAMES (default 100000) per test; seed: MLB_FUZZ_SEED (default: time,
 * printed).
 */
#include <time.h>
#include "test.h"
#include "dp_fixture.h"
#include "dp/decap.h"
#include "encap_expect.h"

enum ref_class { REF_PASS, REF_DROP, REF_VIP };

static const char *vip_addrs_v4[] = { "10.0.0.100", "10.0.0.101" };
static const uint16_t vip_ports_v4[] = { 80, 443 };
static uint8_t vip4[2][4], vip6[16];

static uint64_t rng_state;
static bool big_frames; /* fuzz_encap: some frames above the MTUs */

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic per seed, fast */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static bool is_vip_addr(int family, const uint8_t *a)
{
	if (family == 6)
		return !memcmp(a, vip6, 16);
	return !memcmp(a, vip4[0], 4) || !memcmp(a, vip4[1], 4);
}

static bool is_service(int family, const uint8_t *a, uint16_t port)
{
	if (family == 6)
		return !memcmp(a, vip6, 16) && port == 80;
	for (int i = 0; i < 2; i++)
		if (!memcmp(a, vip4[i], 4) && port == vip_ports_v4[i])
			return true;
	return false;
}

static bool ipv6_exthdr(uint8_t h)
{
	return h == 0 || h == 43 || h == 44 || h == 60 || h == 51 || h == 50 || h == 135 ||
	       h == 139 || h == 140;
}

/* The rules, restated independently of the BPF code. *tcp_flags set for REF_VIP. */
static enum ref_class classify(const uint8_t *f, uint32_t len, uint8_t *tcp_flags)
{
	uint32_t l3 = 14, tcp, l4_len, doff;
	uint16_t proto = get16(f + 12);
	const uint8_t *dst;
	int family;

	if (proto == 0x8100) {
		if (len < 18)
			return REF_PASS;
		proto = get16(f + 16);
		l3 = 18;
	}
	if (proto == 0x0800) {
		uint32_t ihl, tot;

		if (l3 + 20 > len)
			return REF_PASS;
		family = 4;
		dst = f + l3 + 16;
		if (f[l3 + 9] != IPPROTO_TCP)
			return REF_PASS;
		ihl = (f[l3] & 15) * 4;
		tot = get16(f + l3 + 2);
		if (f[l3] >> 4 != 4 || ihl < 20 || tot < ihl)
			goto bad;
		if (l3 + tot > len)
			goto bad;
		if (get16(f + l3 + 6) & 0x3fff)
			goto bad;
		tcp = l3 + ihl;
		l4_len = tot - ihl;
	} else if (proto == 0x86dd) {
		if (l3 + 40 > len)
			return REF_PASS;
		family = 6;
		dst = f + l3 + 24;
		if (f[l3 + 6] != IPPROTO_TCP)
			return ipv6_exthdr(f[l3 + 6]) ?
				       (is_vip_addr(6, dst) ? REF_DROP : REF_PASS) :
				       REF_PASS;
		if (f[l3] >> 4 != 6)
			goto bad;
		l4_len = get16(f + l3 + 4);
		if (l3 + 40 + l4_len > len)
			goto bad;
		tcp = l3 + 40;
	} else {
		return REF_PASS;
	}
	if (tcp + 20 > len)
		goto bad;
	doff = (f[tcp + 12] >> 4) * 4;
	if (doff < 20 || doff > l4_len)
		goto bad;
	*tcp_flags = f[tcp + 13];
	return is_service(family, dst, get16(f + tcp + 2)) ? REF_VIP : REF_PASS;
bad:
	return is_vip_addr(family, dst) ? REF_DROP : REF_PASS;
}

static uint32_t make_frame(uint8_t *f)
{
	struct pkt_spec s;
	uint32_t len;
	int v6 = rnd() % 3 == 0;

	if (rnd() % 5 == 0) { /* pure noise, sometimes with an IP ethertype */
		len = 14 + rnd() % 120;
		for (uint32_t i = 0; i < len; i++)
			f[i] = rnd();
		if (rnd() % 2)
			f[12] = 0x08, f[13] = rnd() % 2 ? 0x00 : 0x06;
		return len;
	}
	if (v6) {
		pkt_spec_v6(&s, "fd00::1", rnd() % 4 ? "fd00::100" : "fd00::7", 1024 + rnd() % 64,
			    rnd() % 4 ? 80 : rnd() % 65536, 0);
	} else {
		int i = rnd() % 2;

		pkt_spec_v4(&s, "10.0.0.1", rnd() % 4 ? vip_addrs_v4[i] : "10.0.0.7",
			    1024 + rnd() % 64, rnd() % 4 ? vip_ports_v4[i] : rnd() % 65536, 0);
	}
	s.flags = rnd() % 2 ? PKT_SYN : rnd() % 256;
	s.ack = rnd();
	s.vlan = rnd() % 4 == 0 ? 1 + rnd() % 4094 : 0;
	s.payload = rnd() % 3 == 0 ? rnd() % 64 : 0;
	if (big_frames && rnd() % 8 == 0)
		s.payload = 560 + rnd() % 900;
	if (rnd() % 16 == 0)
		s.dmac[0] |= 1; /* group address */
	len = pkt_build(&s, f);
	switch (rnd() % 4) {
	case 0: /* intact */
		break;
	case 1: /* flip bytes, mostly in the headers */
		for (int n = 1 + rnd() % 4; n > 0; n--)
			f[rnd() % (len < 80 ? len : 80)] ^= 1 << (rnd() % 8);
		break;
	case 2: /* truncate */
		len = 14 + rnd() % (len - 13);
		break;
	default: /* a random byte anywhere, and maybe trailing garbage */
		f[rnd() % len] = rnd();
		if (rnd() % 2) {
			uint32_t extra = rnd() % 32;

			for (uint32_t i = 0; i < extra; i++)
				f[len + i] = rnd();
			len += extra;
		}
		break;
	}
	return len;
}

/* The rules every mode keeps; NULL if the frame kept them. */
static const char *check_rules(enum ref_class ref, int verdict, const uint8_t *in, uint32_t len,
			       const uint8_t *out, uint32_t out_len)
{
	if (verdict != XDP_PASS && verdict != XDP_TX && verdict != XDP_DROP)
		return "unexpected verdict";
	if (ref == REF_PASS && (verdict != XDP_PASS || out_len != len || memcmp(in, out, len)))
		return "non-VIP frame not passed byte-identical";
	if (ref == REF_DROP && verdict != XDP_DROP)
		return "broken frame to a VIP address not dropped";
	if (ref == REF_VIP && verdict == XDP_PASS)
		return "service frame passed";
	return NULL;
}

static void hexdump(const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len && i < 96; i++)
		printf("%02x%s", p[i], (i + 1) % 32 ? "" : "\n    ");
	printf("\n");
}

static void test_fuzz_frames(void)
{
	const char *env_n = getenv("MLB_FUZZ_FRAMES"), *env_seed = getenv("MLB_FUZZ_SEED");
	long n = env_n ? atol(env_n) : 100000, bad = 0, counts[3] = {}, tx = 0;
	uint8_t in[PKT_MAX + 64], out[PKT_MAX + 64];
	uint32_t vip_id, vip2, vip6_id;
	uint64_t seed;
	struct fx f;
	int err;

	seed = env_seed ? strtoull(env_seed, NULL, 0) : (uint64_t)time(NULL);
	rng_state = seed * 2 + 1;
	printf("    fuzz: %ld frames, MLB_FUZZ_SEED=%llu\n", n, (unsigned long long)seed);
	err = fx_setup(&f, 4, MLB_POLICY_MARL, 4);
	if (err == -EPERM) {
		test_skip("no permission to load BPF programs");
		return;
	}
	if (!ASSERT_OK(err, "setup"))
		return;
	vip_id = f.vip;
	ASSERT_OK(fx_add_vip(&f, 4, "10.0.0.101", 443, MLB_POLICY_WCMP, 3, &vip2), "vip 2");
	ASSERT_OK(fx_add_vip(&f, 6, "fd00::100", 80, MLB_POLICY_ECMP, 5, &vip6_id), "vip v6");
	for (int i = 0; i < 2; i++)
		inet_pton(AF_INET, vip_addrs_v4[i], vip4[i]);
	inet_pton(AF_INET6, "fd00::100", vip6);
	(void)vip_id;

	for (long i = 0; i < n && bad < 10; i++) {
		uint32_t len = make_frame(in), out_len = 0;
		uint8_t flags = 0;
		enum ref_class ref = classify(in, len, &flags);
		int verdict = fx_run_frame(&f, in, len, out, &out_len);
		const char *why = NULL;

		counts[ref]++;
		why = check_rules(ref, verdict, in, len, out, out_len);
		if (why)
			; /* reported below */
		else if (ref == REF_VIP && verdict == XDP_TX &&
			 (out_len != len || fx_backend_of(out) < 0 || memcmp(out + 6, in, 6) ||
			  memcmp(out + 12, in + 12, len - 12)))
			why = "forwarded frame changed beyond the MACs";
		else if (ref == REF_VIP && (in[0] & 1) && verdict != XDP_DROP)
			why = "service frame to a group MAC not dropped";
		else if (ref == REF_VIP && !(in[0] & 1) &&
			 (flags & (PKT_SYN | PKT_ACK | PKT_RST | PKT_FIN)) == PKT_SYN &&
			 verdict != XDP_TX)
			why = "clean SYN to a service not forwarded";
		tx += verdict == XDP_TX;
		if (why) {
			bad++;
			printf("    frame %ld (class %d, verdict %d): %s\n    ", i, ref, verdict,
			       why);
			hexdump(in, len);
		}
	}
	printf("    classes: pass %ld, drop %ld, service %ld (forwarded %ld)\n", counts[REF_PASS],
	       counts[REF_DROP], counts[REF_VIP], tx);
	ASSERT_EQ(bad, 0, "frames handled against the rules");
	ASSERT_GT(counts[REF_DROP], n / 100, "enough broken VIP frames");
	ASSERT_GT(tx, n / 100, "enough forwarded frames");
	fx_teardown(&f);
}

/* ---- the encapsulating modes and marllb_decap.o ---- */

struct fuzz_vip {
	const char *addr;
	uint16_t port;
	uint32_t policy, mode, n;
	int be_family;
	const char *src;
	uint16_t mtu;
	uint32_t id;
	struct mlb_vip_fwd fwd;
};

static struct fuzz_vip fvips[] = {
	{ "10.0.0.100", 80, MLB_POLICY_MARL, MLB_FWD_IPIP, 4, 4, "10.200.0.0/24", MLB_MTU_MIN4 },
	{ "10.0.0.101", 443, MLB_POLICY_WCMP, MLB_FWD_GUE, 3, 6, "fd00:200::/120", 0 },
	{ "fd00::100", 80, MLB_POLICY_ECMP, MLB_FWD_GUE, 5, 6, "fd00:200::7", MLB_MTU_MIN6 },
};

static void fuzz_be_addr(int family, uint32_t k, uint8_t *a)
{
	char s[64];

	snprintf(s, sizeof(s), family == 4 ? "10.0.2.%u" : "fd00:2::%x", 10 + k);
	inet_pton(family == 4 ? AF_INET : AF_INET6, s, a);
}

static int encap_setup(struct fx *f, struct mlb_decap **dc)
{
	struct mlb_dp_opts small = { .flow_table_size = FX_TABLE_SIZE,
				     .half_open_table_size = FX_TABLE_SIZE };
	int err;

	memset(f, 0, sizeof(*f));
	err = mlb_dp_load(&small, &f->dp);
	if (!err)
		err = mlb_dp_set_syn_budget(f->dp, MLB_SYN_BUDGET_OFF);
	if (!err)
		err = mlb_decap_load(dc);
	if (err)
		return err;
	f->prog_fd = mlb_dp_prog_fd(f->dp);
	for (int v = 0; v < 3; v++) {
		struct fuzz_vip *fv = &fvips[v];
		struct mlb_vip_cfg vc = { .port = fv->port,
					  .policy = fv->policy,
					  .fwd = { .mode = fv->mode, .mtu = fv->mtu } };

		vc.family = strchr(fv->addr, ':') ? MLB_AF_INET6 : MLB_AF_INET;
		inet_pton(vc.family == MLB_AF_INET ? AF_INET : AF_INET6, fv->addr, vc.addr);
		err = mlb_fwd_source_parse(&vc.fwd, fv->src);
		if (!err)
			err = mlb_dp_set_vip(f->dp, &vc, &fv->id);
		if (!err)
			err = mlb_decap_add_vip(*dc, &vc);
		for (uint32_t k = 0; !err && k < fv->n; k++) {
			struct mlb_backend_cfg b = { .state = MLB_BACKEND_ACTIVE, .weight = 1 };

			b.family = fv->be_family == 4 ? MLB_AF_INET : MLB_AF_INET6;
			fuzz_be_addr(fv->be_family, k, b.addr);
			fx_backend_mac(k, b.mac);
			err = mlb_dp_set_backend(f->dp, fv->id, k, &b);
		}
		if (!err)
			err = mlb_dp_get_forward(f->dp, fv->id, &fv->fwd);
		if (err)
			return err;
	}
	return 0;
}

/* The VIP a service frame is for (the classifier said it is one). */
static struct fuzz_vip *fuzz_vip_of(const uint8_t *in)
{
	const uint8_t *ip = in + l2_len(in);

	if (ip[0] >> 4 == 6)
		return &fvips[2];
	return ip[19] == 100 ? &fvips[0] : &fvips[1];
}

/* The decap program on an encapsulated frame: the inner packet, exactly. */
static const char *check_decap_back(struct mlb_decap *dc, const uint8_t *in, const uint8_t *enc,
				    uint32_t enc_len)
{
	uint32_t l2 = l2_len(in), n = l2 + inner_len(in + l2);
	uint8_t dec[PKT_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = enc, .data_size_in = enc_len, .data_out = dec,
		    .data_size_out = sizeof(dec), .repeat = 1);

	if (bpf_prog_test_run_opts(mlb_decap_prog_fd(dc), &o) || o.retval != XDP_PASS)
		return "decap: not passed";
	if (o.data_size_out != n || memcmp(dec, enc, 12) || memcmp(dec + 12, in + 12, n - 12))
		return "decap: not the inner packet";
	return NULL;
}

/* A service frame the data plane sent on (XDP_TX): its encapsulation or its ICMP answer. */
static const char *check_encapsulated(const uint8_t *in, const uint8_t *out, uint32_t out_len)
{
	const struct fuzz_vip *fv = fuzz_vip_of(in);
	uint32_t l2 = l2_len(in), overhead, xlen;
	uint8_t x[PKT_MAX + 64];
	const char *why = "malformed";
	struct encap_spec sp = { .mode = fv->mode, .outer = fv->be_family };
	int k;

	overhead = (fv->be_family == 4 ? 20 : 40) + (fv->mode == MLB_FWD_GUE ? 8 : 0);
	if (inner_len(in + l2) + overhead > fv->fwd.mtu) {
		xlen = expect_icmp(in, fv->fwd.mtu - overhead, x);
		return out_len == xlen && !memcmp(out, x, xlen) ? NULL : "not the ICMP answer";
	}
	k = fx_backend_of(out);
	if (k < 0 || (uint32_t)k >= fv->n)
		return "not to a backend's MAC";
	if (fv->be_family == 4) {
		memcpy(sp.src, &fv->fwd.src4, 4);
		sp.src_len = 32 - __builtin_popcount(fv->fwd.src4_mask);
	} else {
		memcpy(sp.src, fv->fwd.src6, 16);
		sp.src_len = 128 - __builtin_popcount(fv->fwd.src6_mask);
	}
	fuzz_be_addr(fv->be_family, k, sp.dst);
	fx_backend_mac(k, sp.mac);
	sp.gue_port = ntohs(fv->fwd.gue_port);
	xlen = expect_encap(&sp, in, out, x, &why);
	if (!xlen)
		return why;
	if (fv->mode == MLB_FWD_GUE && !inner_csums_ok(in + l2)) {
		/* a broken inner packet: its outer checksum must be broken too */
		uint32_t udp = l2 + (fv->be_family == 4 ? 20 : 40);

		if (udp_csum_ok(out + l2, out + udp))
			return "GUE checksum right over a broken inner packet";
		memcpy(x + udp + 6, out + udp + 6, 2);
	}
	return out_len == xlen && !memcmp(out, x, xlen) ? NULL : "not the encapsulation";
}

/* A mutated encapsulated frame through the decap program: untouched, or exactly stripped of its
 * outer headers (to a VIP's inner TCP packet). */
static const char *check_decap_mutant(struct mlb_decap *dc, const uint8_t *m, uint32_t len,
				      long *stripped)
{
	uint8_t dec[PKT_MAX + 64];
	uint32_t l2 = l2_len(m), outer;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = m, .data_size_in = len, .data_out = dec,
		    .data_size_out = sizeof(dec), .repeat = 1);
	const uint8_t *ip;

	if (bpf_prog_test_run_opts(mlb_decap_prog_fd(dc), &o) || o.retval != XDP_PASS)
		return "decap: not passed";
	if (o.data_size_out == len && !memcmp(dec, m, len))
		return NULL;
	outer = len - o.data_size_out;
	if (outer != 20 && outer != 28 && outer != 40 && outer != 48)
		return "decap: neither untouched nor stripped";
	ip = dec + l2;
	if (memcmp(dec, m, 12) || (l2 == 18 && memcmp(dec + 12, m + 12, 4)) ||
	    memcmp(ip, m + l2 + outer, len - l2 - outer) ||
	    get16(dec + l2 - 2) != (ip[0] >> 4 == 4 ? ETH_P_IP : ETH_P_IPV6))
		return "decap: stripped wrong";
	if (ip[0] >> 4 == 4 ? ip[9] != IPPROTO_TCP ||
				      !is_service(4, ip + 16, get16(ip + (ip[0] & 15) * 4 + 2)) :
			      ip[6] != IPPROTO_TCP || !is_service(6, ip + 24, get16(ip + 42)))
		return "decap: stripped a packet that is not for a VIP";
	(*stripped)++;
	return NULL;
}

static void test_fuzz_encap(void)
{
	const char *env_n = getenv("MLB_FUZZ_FRAMES"), *env_seed = getenv("MLB_FUZZ_SEED");
	long n = env_n ? atol(env_n) : 100000, bad = 0, tx = 0, icmp = 0, stripped = 0;
	uint8_t in[PKT_MAX + 64], out[PKT_MAX + 64];
	struct mlb_decap *dc = NULL;
	uint64_t seed;
	struct fx f;
	int err;

	seed = env_seed ? strtoull(env_seed, NULL, 0) : (uint64_t)time(NULL);
	rng_state = seed * 2 + 1;
	big_frames = true;
	printf("    fuzz: %ld frames, MLB_FUZZ_SEED=%llu\n", n, (unsigned long long)seed);
	err = encap_setup(&f, &dc);
	if (err == -EPERM) {
		test_skip("no permission to load BPF programs");
		return;
	}
	if (!ASSERT_OK(err, "setup"))
		goto out;
	for (int i = 0; i < 2; i++)
		inet_pton(AF_INET, vip_addrs_v4[i], vip4[i]);
	inet_pton(AF_INET6, "fd00::100", vip6);
	for (long i = 0; i < n && bad < 10; i++) {
		uint32_t len = make_frame(in), out_len = 0;
		uint8_t flags = 0;
		enum ref_class ref = classify(in, len, &flags);
		int verdict = fx_run_frame(&f, in, len, out, &out_len);
		const char *why = NULL;

		why = check_rules(ref, verdict, in, len, out, out_len);
		if (!why && ref == REF_VIP && verdict == XDP_TX)
			why = check_encapsulated(in, out, out_len);
		if (!why && ref == REF_VIP && verdict == XDP_TX && fx_backend_of(out) >= 0) {
			tx++;
			why = check_decap_back(dc, in, out, out_len);
			if (!why) { /* and the decap program alone on a mutant of it */
				for (int m = 1 + rnd() % 3; m > 0; m--)
					out[rnd() % (out_len < 100 ? out_len : 100)] ^=
						1 << rnd() % 8;
				if (rnd() % 4 == 0)
					out_len -= rnd() % 8;
				why = check_decap_mutant(dc, out, out_len, &stripped);
			}
		} else if (!why && ref == REF_VIP && verdict == XDP_TX) {
			icmp++;
		}
		if (why) {
			bad++;
			printf("    frame %ld (class %d, verdict %d): %s\n    ", i, ref, verdict,
			       why);
			hexdump(in, len);
		}
	}
	printf("    encapsulated %ld, answered (too big) %ld, mutants stripped %ld\n", tx, icmp,
	       stripped);
	ASSERT_EQ(bad, 0, "frames handled against the rules");
	ASSERT_GT(tx, n / 100, "enough encapsulated frames");
	ASSERT_GT(icmp, n / 1000, "enough answered frames");
	ASSERT_GT(stripped, n / 1000, "enough mutants still stripped");
out:
	big_frames = false;
	mlb_decap_close(dc);
	fx_teardown(&f);
}

static const struct test_case tests[] = {
	TEST(fuzz_frames),
	TEST(fuzz_encap),
	{},
};

int main(int argc, char **argv)
{
	return test_main(argc, argv, tests);
}
