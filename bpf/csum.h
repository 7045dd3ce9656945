/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internet checksums (RFC 1071). Words are added as they lie in memory (raw loads, network
 * byte order bytes): a ones' complement sum does not depend on the byte order it is taken in,
 * so a field in network order enters as bpf_htons(x) and the result is stored as it comes.
 */
#ifndef MARLLB_BPF_CSUM_H
#define MARLLB_BPF_CSUM_H

#include <linux/types.h>

/* A 64-bit sum of 16- and 32-bit words, folded to 16 bits (not inverted). */
static __always_inline __u16 mlb_csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* The sum of n 32-bit words (n a constant, or the compiler unrolls nothing). */
static __always_inline __u64 mlb_csum_words(const void *p, int n)
{
	const __u32 *w = p;
	__u64 s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += w[i];
	return s;
}

/* The checksum field's value for a header of 20 bytes whose check field is 0. */
static __always_inline __u16 mlb_ip4_check(const void *iph)
{
	return ~mlb_csum_fold(mlb_csum_words(iph, 5));
}

#endif /* MARLLB_BPF_CSUM_H */
