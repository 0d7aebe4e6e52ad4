/* Tests runtime-lib's strtod/strtof against glibc: random decimals, midpoints, hex, bad input. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ukt.h"
#include "ukt_platform_stub.h"
#include "ukt_rand.h"

#define NRANDOM 60000
#define MAXSHOW 10

static long passed, failed;

/* Converts (s) with both libraries as double and as float; compares bits, endptr and errno. */
static void check(const char *s)
{
	char *e1, *e2;
	int err1, err2;

	errno = 0;
	ukt_errno = 0;
	double d1 = strtod(s, &e1);
	err1 = errno;
	double d2 = ukt_strtod(s, &e2);
	err2 = ukt_errno;
	if (memcmp(&d1, &d2, sizeof(d1)) == 0 && e1 == e2 && err1 == err2) {
		passed++;
	} else if (failed++ < MAXSHOW) {
		printf("FAIL strtod(\"%.200s\")\n  expected %a (%.17g) end +%td errno %d\n  got    "
		       "  %a "
		       "(%.17g) end +%td errno %d\n",
		       s, d1, d1, e1 - s, err1, d2, d2, e2 - s, err2);
	}

	errno = 0;
	ukt_errno = 0;
	float f1 = strtof(s, &e1);
	err1 = errno;
	float f2 = ukt_strtof(s, &e2);
	err2 = ukt_errno;
	if (memcmp(&f1, &f2, sizeof(f1)) == 0 && e1 == e2 && err1 == err2) {
		passed++;
	} else if (failed++ < MAXSHOW) {
		printf("FAIL strtof(\"%.200s\")\n  expected %a (%.9g) end +%td errno %d\n  got     "
		       " %a "
		       "(%.9g) end +%td errno %d\n",
		       s, (double)f1, (double)f1, e1 - s, err1, (double)f2, (double)f2, e2 - s,
		       err2);
	}
}

static char *put_digits(char *p, int n, int first_nonzero)
{
	for (int i = 0; i < n; i++)
		*p++ = (char)('0' + (i == 0 && first_nonzero ? 1 + pick(9) : pick(10)));
	return p;
}

/* A random decimal: sign, digits around a point, exponent; sometimes whitespace or junk. */
static void random_decimal(char *buf)
{
	char *p = buf;
	int ndig = pick(5) == 0 ? 20 + pick(21) : pick(12) == 0 ? 100 + pick(900) : 1 + pick(19);
	int before = pick(ndig + 1);

	if (pick(8) == 0)
		*p++ = " \t\n"[pick(3)];
	if (pick(3) == 0)
		*p++ = "+-"[pick(2)];
	if (pick(6) == 0) {
		for (int i = pick(30); i > 0; i--)
			*p++ = '0';
	}
	p = put_digits(p, before, 0);
	if (before < ndig || pick(4) == 0)
		*p++ = '.';
	p = put_digits(p, ndig - before, 0);
	if (pick(4)) {
		*p++ = pick(2) ? 'e' : 'E';
		int e = pick(641) - 330 - (before > 0 ? before : 0);
		p += sprintf(p, pick(5) == 0 && e >= 0 ? "+%d" : "%d", e);
	}
	if (pick(8) == 0)
		*p++ = "x.e+"[pick(4)];
	*p = 0;
}

/* A decimal on, just below or just above the midpoint of two adjacent doubles or floats. */
static void halfway(char *buf)
{
	uint64_t bits = next();
	long double mid;
	char tmp[1200];

	if (pick(2)) {
		double d, up;
		bits &= 0x7fefffffffffffffull;
		memcpy(&d, &bits, 8);
		if (pick(4) == 0)
			d = ldexp(1.0 + (double)pick(1000) / 1000, pick(2098) - 1074);
		up = nextafter(d, INFINITY);
		if (isinf(up))
			up = d;
		mid = ((long double)d + up) / 2; /* exact: 54 bits */
	} else {
		float f, up;
		uint32_t b32 = (uint32_t)bits & 0x7f7fffffu;
		memcpy(&f, &b32, 4);
		up = nextafterf(f, INFINITY);
		mid = ((long double)f + up) / 2;
	}
	/* %.800Le is exact for every such midpoint (glibc converts exactly). */
	snprintf(tmp, sizeof(tmp), "%.800Le", mid);
	char *e = strchr(tmp, 'e'), exp[16];
	char *last = e - 1;
	snprintf(exp, sizeof(exp), "%s", e);
	while (*last == '0')
		last--;
	int keep = (int)(last - tmp) + 1;
	switch (pick(4)) {
	case 0: /* exactly halfway */
		break;
	case 1: /* a little above */
		memcpy(tmp + keep, "0000000000000000000001", 22);
		keep += 22;
		break;
	case 2: /* truncated: just below */
		if (keep > 4)
			keep -= 1 + pick(keep - 3);
		break;
	default: /* last digit one lower: just below */
		tmp[keep - 1]--;
		break;
	}
	memcpy(buf, tmp, keep);
	strcpy(buf + keep, exp);
}

static void random_hex(char *buf)
{
	static const char hx[] = "0123456789abcdefABCDEF";
	char *p = buf;
	int ndig = pick(4) == 0 ? 14 + pick(20) : 1 + pick(14);
	int before = pick(ndig + 1);

	if (pick(3) == 0)
		*p++ = "+-"[pick(2)];
	*p++ = '0';
	*p++ = pick(2) ? 'x' : 'X';
	for (int i = 0; i < ndig; i++) {
		if (i == before)
			*p++ = '.';
		*p++ = hx[pick(22)];
	}
	if (pick(5)) {
		*p++ = pick(2) ? 'p' : 'P';
		p += sprintf(p, "%d", pick(2300) - 1150);
	}
	*p = 0;
}

static void fixed_cases(void)
{
	static const char *const cases[] = {
	        "0",
	        "-0",
	        "+0",
	        "0.0",
	        ".0",
	        "0.",
	        "1",
	        "-1",
	        "1.5",
	        "0.1",
	        "0.2",
	        "0.3",
	        "3.14159",
	        "1e22",
	        "1e23",
	        "9007199254740993",
	        "9007199254740992.5",
	        "2.2250738585072011e-308",
	        "2.2250738585072012e-308",
	        "2.2250738585072014e-308",
	        "4.9406564584124654e-324",
	        "2.4703282292062327e-324",
	        "2.4703282292062328e-324",
	        "2.4703282292062327e-324",
	        "1.7976931348623157e308",
	        "1.7976931348623158e308",
	        "1.7976931348623159e308",
	        "1e308",
	        "1e309",
	        "-1e309",
	        "1e-320",
	        "1e-324",
	        "1e-400",
	        "1e-99999999999",
	        "1e99999999999",
	        "0e99999999999",
	        "123456789012345678901234567890",
	        "1.00000000000000011102230246251565404",
	        "1.00000000000000011102230246251565405",
	        "3.4028234663852886e38",
	        "3.4028235677973366e38",
	        "3.4028235677973367e38",
	        "1.1754943508222875e-38",
	        "1.4012984643248171e-45",
	        "7.006492321624085e-46",
	        "7.006492321624086e-46",
	        "0x1p-1074",
	        "0x1p-1075",
	        "0x1.8p-1075",
	        "0x1p-1022",
	        "0x1.fffffffffffffp-1023",
	        "0x1.fffffffffffff8p-1023",
	        "0x1.fffffffffffff7p-1023",
	        "0x1.fffffffffffff7ffp-1023",
	        "0x1.fffffep-127",
	        "0x1.ffffffp-127",
	        "0x1.fffffffffffffp1023",
	        "0x1.fffffffffffff8p1023",
	        "0x1p1024",
	        "0x.8p1",
	        "0x1.",
	        "0xA.Bp3",
	        "0X1P+3",
	        "0x1p",
	        "0x1p+",
	        "0x",
	        "0x.",
	        "0x.p1",
	        "0xg",
	        "-0x",
	        "0x000000000000000000001p0",
	        "0x1.000000000000000000001p0",
	        "0x1.00000000000008p0",
	        "0x1.000000000000080000000001p0",
	        "inf",
	        "-inf",
	        "INF",
	        "infinity",
	        "INFINITY",
	        "infinit",
	        "infx",
	        "nan",
	        "-nan",
	        "NaN",
	        "nan(",
	        "nan()",
	        "nan(123)",
	        "nan(0x8)",
	        "nan(abc)",
	        "nan(abc)x",
	        "nan(0xfffffffffffffffff)",
	        "nan(a b)",
	        "",
	        " ",
	        "-",
	        "+",
	        "+-1",
	        ".",
	        ".e1",
	        "e1",
	        "1e",
	        "1e+",
	        "1e-x",
	        "1.5junk",
	        "  \t\n+0.0e-0",
	        "00000000000000000000001e-20",
	        "0.000000000000000000000000000000000000000000000000000000000000000001e66",
	        "1000000000000000000000000000000000000000000000000000000000000000000e-66",
	        "1..2",
	        "1.2.3",
	        "-.5",
	        "+.5e+1",
	        "5.e-1"};
	char big[3000];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(cases[i]);

	/* Very long inputs: more digits than are kept, with the deciding digit far out. */
	memset(big, '0', sizeof(big));
	memcpy(big, "1.", 2);
	strcpy(big + 2000, "1e-5");
	check(big);
	memcpy(big, "0.", 2);
	big[1000] = '5';
	check(big);
	char *h = big;
	h += sprintf(
	        h, "2.47032822920623272088284396434110686182529901307162382212792841250337753635"
	           "104375932649918180817996189898282347722858865463328355177969898199387398005390"
	           "939063150356595155702263922908583924491051844359318028499365361525003193704576"
	           "782492193656236698636584807570015857692699037063119282795585513329278343384093"
	           "519780155312465972635795746227664652728272200563740064854999770965994704540208"
	           "281662262378573934507363390079677619305775067401763246736009689513405355374585"
	           "166611342237666786041621596804619144672918403005300575308490487653917113865916"
	           "462395249126236538818796362393732804238910186723484976682350898633885879256283"
	           "027559956575244555178820000000000000");
	check(big);
	strcpy(h, "1e-324");
	check(big);
}

int main(int argc, char **argv)
{
	const char *env = getenv("UKT_SEED");
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0)
	                : env    ? strtoull(env, NULL, 0)
	                         : 20240601;
	char buf[4096];

	rng = seed;
	printf("test_strtod: seed %llu (rerun with: test_strtod SEED)\n", (unsigned long long)seed);
	fixed_cases();
	for (int i = 0; i < NRANDOM; i++) {
		random_decimal(buf);
		check(buf);
		halfway(buf);
		check(buf);
		random_hex(buf);
		check(buf);
	}
	printf("test_strtod: %ld passed, %ld failed\n", passed, failed);
	return failed ? 1 : 0;
}
