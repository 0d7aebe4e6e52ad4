/* The entropy source: ChaCha20, fast key erasure, seeded by RDSEED/RDRAND, seed= and TSC jitter. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <uk/uk.h>
#include <uk/internal.h>

#define ABSORB_COUNTER 0xffffffffu /* output blocks never reach it: CHUNK / 64 < 2^32 */
#define CHUNK ((size_t)1 << 20)    /* output bytes per key: long requests rekey on the way */
#define CPU_TRIES 64               /* RDSEED/RDRAND may fail transiently (CF=0) */

static uint8_t rng_key[32]; /* the generator's whole state, with the flags below */
static int seeded;
static uk_entropy_strength_t strength = UK_ENTROPY_WEAK;

static void wipe(void *p, size_t n)
{
	memset(p, 0, n);
	__asm__ volatile("" : : "r"(p) : "memory"); /* keep the stores: key material */
}

static uint32_t rotl(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static void quarter(uint32_t *x, int a, int b, int c, int d)
{
	x[a] += x[b];
	x[d] = rotl(x[d] ^ x[a], 16);
	x[c] += x[d];
	x[b] = rotl(x[b] ^ x[c], 12);
	x[a] += x[b];
	x[d] = rotl(x[d] ^ x[a], 8);
	x[c] += x[d];
	x[b] = rotl(x[b] ^ x[c], 7);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

void uk_chacha20_block(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12],
                       uint8_t out[64])
{
	uint32_t s[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574}, x[16];
	int i;

	for (i = 0; i < 8; i++)
		s[4 + i] = le32(key + 4 * i);
	s[12] = counter;
	for (i = 0; i < 3; i++)
		s[13 + i] = le32(nonce + 4 * i);
	for (i = 0; i < 16; i++)
		x[i] = s[i];
	for (i = 0; i < 10; i++) {
		quarter(x, 0, 4, 8, 12);
		quarter(x, 1, 5, 9, 13);
		quarter(x, 2, 6, 10, 14);
		quarter(x, 3, 7, 11, 15);
		quarter(x, 0, 5, 10, 15);
		quarter(x, 1, 6, 11, 12);
		quarter(x, 2, 7, 8, 13);
		quarter(x, 3, 4, 9, 14);
	}
	for (i = 0; i < 16; i++) {
		x[i] += s[i];
		out[4 * i] = x[i];
		out[4 * i + 1] = x[i] >> 8;
		out[4 * i + 2] = x[i] >> 16;
		out[4 * i + 3] = x[i] >> 24;
	}
	wipe(s, sizeof(s));
	wipe(x, sizeof(x));
}

/* Mixes (buf) into the key, 32 bytes at a time: XOR them in, then rekey from the keystream. */
static void absorb(const void *buf, size_t len)
{
	static const uint8_t nonce[12];
	const uint8_t *p = buf;
	uint8_t blk[64];
	size_t i, n;

	while (len) {
		n = len < 32 ? len : 32;
		for (i = 0; i < n; i++)
			rng_key[i] ^= p[i];
		uk_chacha20_block(rng_key, ABSORB_COUNTER, nonce, blk);
		memcpy(rng_key, blk, 32);
		p += n;
		len -= n;
	}
	wipe(blk, sizeof(blk));
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid"
	                 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
	                 : "a"(leaf), "c"(0));
}

/* One 64-bit word from RDSEED (seed) or RDRAND; 0 if the CPU keeps failing. */
static int cpu_word(int seed, uint64_t *v)
{
	uint8_t ok;
	int i;

	for (i = 0; i < CPU_TRIES; i++) {
		if (seed)
			__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok));
		else
			__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
		/* 0 and all ones: what known-broken parts return with CF=1 */
		if (ok && *v + 1 > 1)
			return 1;
	}
	return 0;
}

static void seed(void)
{
	uint32_t r[4];
	uint64_t w[4] = {0};
	int i, j, has_seed = 0, has_rand, got = 0;

	seeded = 1;
	cpuid(0, r);
	if (r[0] >= 7) {
		cpuid(7, r);
		has_seed = r[1] >> 18 & 1;
	}
	cpuid(1, r);
	has_rand = r[2] >> 30 & 1;
	for (i = 0; i < 4; i++)
		got += (has_seed && cpu_word(1, &w[i])) || (has_rand && cpu_word(0, &w[i]));
	if (got)
		absorb(w, sizeof(w));
	if (got == 4) /* a full 256-bit key's worth */
		strength = UK_ENTROPY_CPU;
	/* Timer jitter: caches, interrupts and the host make each absorb() take a varying time. */
	for (i = 0; i < 16; i++) {
		for (j = 0; j < 4; j++)
			w[j] = uk_rdtsc();
		absorb(w, sizeof(w));
	}
	wipe(w, sizeof(w));
}

void uk_entropy_add_seed(const void *buf, size_t len)
{
	absorb(buf, len);
	if (len >= 16 && strength < UK_ENTROPY_SEED)
		strength = UK_ENTROPY_SEED;
}

uk_entropy_strength_t uk_entropy_strength(void)
{
	if (!seeded)
		seed();
	return strength;
}

uk_result_t uk_entropy_get(void *buf, size_t len)
{
	uint8_t *p = buf, blk[64], nonce[12] = {0};
	uint64_t t;
	uint32_t ctr;
	size_t n, k;

	if (!seeded)
		seed();
	do {
		t = uk_rdtsc(); /* jitter into every request */
		memcpy(nonce, &t, sizeof(t));
		n = len < CHUNK ? len : CHUNK;
		len -= n;
		for (ctr = 1; n; ctr++, p += k, n -= k) {
			k = n < 64 ? n : 64;
			uk_chacha20_block(rng_key, ctr, nonce, blk);
			memcpy(p, blk, k);
		}
		/* Fast key erasure: the key that made this output is gone before we return it. */
		uk_chacha20_block(rng_key, 0, nonce, blk);
		memcpy(rng_key, blk, 32);
	} while (len);
	wipe(blk, sizeof(blk));
	return UK_OK;
}
