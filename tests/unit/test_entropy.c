/* Unit tests of lib/entropy.c: RFC 8439 vectors, output lengths, strength, bias. */
#include <cpuid.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ukt.h"
#include "../../runtime-lib/include/uk/uk.h"

#define SAMPLE (1 << 20)

#define UKT_PANIC_STUB
#include "ukt_check.h"

static void test_chacha20(void)
{
	/* RFC 8439 section 2.3.2 */
	static const uint8_t nonce1[12] = {0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0};
	static const uint8_t expect1[64] = {
	        0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3,
	        0x20, 0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22,
	        0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e, 0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa,
	        0x09, 0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1,
	        0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e};
	/* RFC 8439 appendix A.1, test vector #1: all-zero key and nonce, counter 0 */
	static const uint8_t expect2[64] = {
	        0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5, 0x53,
	        0x86, 0xbd, 0x28, 0xbd, 0xd2, 0x19, 0xb8, 0xa0, 0x8d, 0xed, 0x1a, 0xa8, 0x36,
	        0xef, 0xcc, 0x8b, 0x77, 0x0d, 0xc7, 0xda, 0x41, 0x59, 0x7c, 0x51, 0x57, 0x48,
	        0x8d, 0x77, 0x24, 0xe0, 0x3f, 0xb8, 0xd8, 0x4a, 0x37, 0x6a, 0x43, 0xb8, 0xf4,
	        0x15, 0x18, 0xa1, 0x1c, 0xc3, 0x87, 0xb6, 0x69, 0xb2, 0xee, 0x65, 0x86};
	uint8_t key[32], zero[32] = {0}, out[64];
	int i;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	ukt_uk_chacha20_block(key, 1, nonce1, out);
	CHECK(memcmp(out, expect1, 64) == 0, "RFC 8439 2.3.2 block mismatch");
	ukt_uk_chacha20_block(zero, 0, zero, out);
	CHECK(memcmp(out, expect2, 64) == 0, "RFC 8439 A.1 #1 block mismatch");
	ukt_uk_chacha20_block(zero, 1, zero, out);
	CHECK(memcmp(out, expect2, 64) != 0, "the counter changes nothing");
}

static int cpu_has_rng(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d) && (c >> 30 & 1))
		return 1;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 18 & 1);
}

static void test_output(void)
{
	static const size_t lens[] = {0, 1, 15, 32, 63, 64, 65, 127, 1000, 4096 + 3};
	uint8_t a[32], b[32], buf[4200], seed[32];
	size_t i, j;
	int strength, s2, nonzero;

	CHECK(ukt_uk_entropy_get(a, sizeof(a)) == UK_OK, "get");
	CHECK(ukt_uk_entropy_get(b, sizeof(b)) == UK_OK, "get");
	CHECK(memcmp(a, b, sizeof(a)) != 0, "two outputs are equal");

	strength = ukt_uk_entropy_strength();
	printf("strength before seed=: %d (CPU RNG: %s)\n", strength, cpu_has_rng() ? "yes" : "no");
	CHECK(strength == (cpu_has_rng() ? UK_ENTROPY_CPU : UK_ENTROPY_WEAK),
	      "strength %d, CPU RNG %d", strength, cpu_has_rng());
	ukt_uk_entropy_add_seed("short", 5);
	CHECK(ukt_uk_entropy_strength() == strength, "a 5-byte seed raised the strength");
	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(i * 7 + 1);
	ukt_uk_entropy_add_seed(seed, sizeof(seed));
	s2 = ukt_uk_entropy_strength();
	CHECK(s2 == (strength > UK_ENTROPY_SEED ? strength : UK_ENTROPY_SEED),
	      "strength %d after a 32-byte seed", s2);

	/* exact lengths: nothing written past the end, something written inside */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(buf, 0, sizeof(buf));
		CHECK(ukt_uk_entropy_get(buf, lens[i]) == UK_OK, "get %zu", lens[i]);
		for (nonzero = 0, j = 0; j < lens[i]; j++)
			nonzero += buf[j] != 0;
		CHECK(lens[i] < 16 || nonzero > (int)lens[i] / 2, "get %zu: %d nonzero bytes",
		      lens[i], nonzero);
		for (j = lens[i]; j < sizeof(buf) && !buf[j]; j++)
			;
		CHECK(j == sizeof(buf), "get %zu wrote byte %zu", lens[i], j);
	}
	CHECK(ukt_uk_entropy_get(NULL, 0) == UK_OK, "get(NULL, 0)");
}

/* 1 MiB in one request (and in small ones): bit and byte frequencies with no gross bias. */
static void test_bias(int chunk)
{
	uint8_t *buf = malloc(SAMPLE);
	unsigned long ones = 0, bytes[256] = {0}, lo = ~0ul, hi = 0;
	double frac;
	size_t i;

	for (i = 0; i < SAMPLE; i += (size_t)chunk)
		ukt_uk_entropy_get(buf + i, (size_t)chunk);
	for (i = 0; i < SAMPLE; i++) {
		ones += (unsigned long)__builtin_popcount(buf[i]);
		bytes[buf[i]]++;
	}
	for (i = 0; i < 256; i++) {
		lo = bytes[i] < lo ? bytes[i] : lo;
		hi = bytes[i] > hi ? bytes[i] : hi;
	}
	frac = (double)ones / (8.0 * SAMPLE);
	printf("bias (%d-byte requests): %.5f of bits set, byte counts %lu..%lu (expect 4096)\n",
	       chunk, frac, lo, hi);
	CHECK(frac > 0.495 && frac < 0.505, "%d-byte requests: %.5f of bits set", chunk, frac);
	/* 4096 per value, standard deviation 64: 25% off is 16 deviations */
	CHECK(lo > 3072 && hi < 5120, "%d-byte requests: byte counts %lu..%lu", chunk, lo, hi);
	free(buf);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_chacha20();
	test_output();
	test_bias(SAMPLE);
	test_bias(16);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
