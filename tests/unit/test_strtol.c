/* Tests runtime-lib's strtol family against glibc: all bases, signs, prefixes, overflow, errno. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ukt.h"
#include "ukt_platform_stub.h"
#include "ukt_rand.h"

#define NRANDOM 100000
#define MAXSHOW 10

static long passed, failed;

static void result(int ok, const char *fn, const char *s, int base, const char *exp,
                   const char *got)
{
	if (ok) {
		passed++;
	} else if (failed++ < MAXSHOW) {
		printf("FAIL %s(\"%s\", base %d)\n  expected %s\n  got      %s\n", fn, s, base, exp,
		       got);
	}
}

/* Runs one function of both libraries on (s) and compares value, endptr and errno. */
#define COMPARE(fn, type, pfmt)                                                                  \
	do {                                                                                     \
		char *e1 = (char *)1, *e2 = (char *)1, x[96], y[96];                             \
		errno = 0;                                                                       \
		ukt_errno = 0;                                                                   \
		type v1 = fn(s, &e1, base);                                                      \
		int err1 = errno;                                                                \
		type v2 = ukt_##fn(s, &e2, base);                                                \
		int err2 = ukt_errno;                                                            \
		snprintf(x, sizeof(x), pfmt " end %+td errno %d", v1, e1 - s, err1);             \
		snprintf(y, sizeof(y), pfmt " end %+td errno %d", v2, e2 - s, err2);             \
		/* A bad base converts nothing: we set endptr to s, glibc leaves                 \
		 * it alone (ASan's interceptor sets it to s). */                                \
		int bad = base < 0 || base == 1 || base > 36;                                    \
		result(v1 == v2 && (e1 == e2 || (bad && e2 == s)) && err1 == err2, #fn, s, base, \
		       x, y);                                                                    \
	} while (0)

static void check(const char *s, int base)
{
	COMPARE(strtol, long, "%ld");
	COMPARE(strtoul, unsigned long, "%lu");
	COMPARE(strtoll, long long, "%lld");
	COMPARE(strtoull, unsigned long long, "%llu");
	COMPARE(strtoimax, intmax_t, "%" PRIdMAX);
	COMPARE(strtoumax, uintmax_t, "%" PRIuMAX);
	if (base == 10) {
		char x[32], y[32];
		snprintf(x, sizeof(x), "%d", atoi(s));
		snprintf(y, sizeof(y), "%d", ukt_atoi(s));
		result(strcmp(x, y) == 0, "atoi", s, 10, x, y);
		snprintf(x, sizeof(x), "%ld", atol(s));
		snprintf(y, sizeof(y), "%ld", ukt_atol(s));
		result(strcmp(x, y) == 0, "atol", s, 10, x, y);
		snprintf(x, sizeof(x), "%lld", atoll(s));
		snprintf(y, sizeof(y), "%lld", ukt_atoll(s));
		result(strcmp(x, y) == 0, "atoll", s, 10, x, y);
	}
}

/* (v) written in (base), most significant digit first; digits above 9 in random case. */
static char *put_base(char *p, uint64_t v, int base)
{
	char tmp[70];
	int n = 0;

	do {
		int d = (int)(v % (unsigned)base);
		tmp[n++] = (char)(d < 10 ? '0' + d : (pick(2) ? 'a' : 'A') + d - 10);
		v /= (unsigned)base;
	} while (v);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static void random_case(void)
{
	static const uint64_t edges[] = {0,
	                                 1,
	                                 INT64_MAX,
	                                 (uint64_t)INT64_MAX + 1,
	                                 (uint64_t)INT64_MAX + 2,
	                                 UINT64_MAX,
	                                 UINT64_MAX - 1,
	                                 UINT32_MAX,
	                                 (uint64_t)UINT32_MAX + 1,
	                                 (uint64_t)INT32_MAX + 1};
	char buf[128], *p = buf;
	int base = pick(10) == 0 ? 0 : pick(12) == 0 ? 16 : 2 + pick(35);
	int digits_base = base ? base : pick(3) == 0 ? 16 : pick(2) ? 8 : 10;

	if (pick(60) == 0)
		base = (int[]){-1, 1, 37, 100}[pick(4)];
	for (int i = pick(4) ? 0 : pick(4); i > 0; i--)
		*p++ = " \t\n\v\f\r"[pick(6)];
	if (pick(3) == 0)
		*p++ = "+-"[pick(2)];
	if (pick(4) == 0 || (base == 0 && digits_base == 16)) {
		*p++ = '0';
		if (digits_base == 16 || pick(4) == 0)
			*p++ = pick(2) ? 'x' : 'X';
	} else if (base == 0 && digits_base == 8) {
		*p++ = '0';
	}
	switch (pick(4)) {
	case 0: {
		/* random characters, valid in this base or not */
		static const char chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCXYZ-+ .";
		for (int i = pick(25); i > 0; i--)
			*p++ = chars[pick(sizeof(chars) - 1)];
		break;
	}
	case 1:
		/* near the limits, written in this base; sometimes with an extra digit */
		p = put_base(p,
		             edges[pick(sizeof(edges) / sizeof(edges[0]))] + (uint64_t)pick(3) - 1,
		             digits_base);
		if (pick(4) == 0)
			*p++ = '0';
		break;
	case 2:
		for (int i = pick(40); i > 0; i--)
			*p++ = '0';
		p = put_base(p, next() >> pick(64), digits_base);
		break;
	default:
		p = put_base(p, next() >> pick(64), digits_base);
	}
	if (pick(3) == 0)
		*p++ = "xg9Z .-"[pick(7)];
	*p = 0;
	check(buf, base);
}

int main(int argc, char **argv)
{
	static const char *const fixed[] = {"",
	                                    " ",
	                                    "-",
	                                    "+",
	                                    "0",
	                                    "-0",
	                                    "0x",
	                                    "0X",
	                                    "0x1",
	                                    "-0x1",
	                                    "0xg",
	                                    "0x-1",
	                                    "00x1",
	                                    "0b101",
	                                    "  \t\n\v\f\r42",
	                                    "+-1",
	                                    "9223372036854775807",
	                                    "9223372036854775808",
	                                    "-9223372036854775808",
	                                    "-9223372036854775809",
	                                    "18446744073709551615",
	                                    "18446744073709551616",
	                                    "-18446744073709551615",
	                                    "-18446744073709551616",
	                                    "99999999999999999999999999999999",
	                                    "-99999999999999999999999999999999",
	                                    "0x7fffffffffffffff",
	                                    "0x8000000000000000",
	                                    "0xffffffffffffffff",
	                                    "0x10000000000000000",
	                                    "zzzzzzzzzzzzzz",
	                                    "1z",
	                                    "077",
	                                    "089",
	                                    "12abc",
	                                    "   -0x7FFFFFFFFFFFFFFFx"};
	const char *env = getenv("UKT_SEED");
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0)
	                : env    ? strtoull(env, NULL, 0)
	                         : 20240601;

	rng = seed;
	printf("test_strtol: seed %llu (rerun with: test_strtol SEED)\n", (unsigned long long)seed);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		for (int base = -1; base <= 37; base++)
			check(fixed[i], base);
	}
	for (int i = 0; i < NRANDOM; i++)
		random_case();
	printf("test_strtol: %ld passed, %ld failed\n", passed, failed);
	return failed ? 1 : 0;
}
