/* Tests runtime-lib's printf family against glibc (random formats, edge values), and stdio. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <wchar.h>

#include "ukt.h"
#include "ukt_platform_stub.h"
#include "ukt_rand.h"

#define NRANDOM 200000
#define BUFSZ 20000
#define MAXSHOW 10

static long passed, failed;
static char b1[BUFSZ], b2[BUFSZ];

/*
 * On purpose we differ from glibc in one case: %#g when rounding carries into
 * a new digit and so switches from style f to e (999.6 with %#.3g). C says
 * "1.00e+03" (style e, precision P - 1); glibc prints "1.e+03". For a format
 * with one such conversion, writes to (alt) the %#e format that C's answer
 * equals, and returns 1.
 */
static int hash_g_alt(const char *fmt, char *alt)
{
	const char *p = strchr(fmt, '%');
	size_t n;

	if (!p || !strpbrk(fmt, "gG") || !memchr(fmt, '#', strcspn(fmt, "gG")))
		return 0;
	for (p++; *p && strchr("-+ #0'", *p); p++)
		;
	p += strspn(p, "0123456789*");
	n = p - fmt;
	memcpy(alt, fmt, n);
	int prec = 6;
	if (*p == '.') {
		p++;
		if (*p == '*')
			return 0;
		prec = atoi(p);
		p += strspn(p, "0123456789");
	}
	n += sprintf(alt + n, ".%d", prec ? prec - 1 : 0);
	for (; *p && *p != 'g' && *p != 'G'; p++)
		alt[n++] = *p;
	if (!*p)
		return 0;
	alt[n++] = *p++ == 'g' ? 'e' : 'E';
	strcpy(alt + n, p);
	return 1;
}

static long deviations;

/* Runs glibc's and our vsnprintf on the same arguments and compares result and bytes. */
static void both(size_t size, const char *what, const char *fmt, ...)
{
	va_list ap, aq, ar, as;
	int r1, r2;
	char alt[80];

	va_start(ap, fmt);
	va_copy(aq, ap);
	va_copy(ar, ap);
	va_copy(as, ap);
	memset(b1, 0x55, size + 1);
	memset(b2, 0x55, size + 1);
	r1 = vsnprintf(b1, size, fmt, ap);
	r2 = ukt_vsnprintf(b2, size, fmt, aq);
	size_t n = size == 0 ? 0 : r1 < 0 ? 0 : (size_t)r1 < size ? (size_t)r1 + 1 : size;
	int ok = r1 == r2 && memcmp(b1, b2, n) == 0 && b2[size] == 0x55;
	if (!ok && r2 >= 0 && hash_g_alt(fmt, alt)) {
		static char b3[BUFSZ];
		vsnprintf(b3, sizeof(b3), fmt, as);
		int style_e = strpbrk(b3, "eE") != NULL;
		int r3 = vsnprintf(b3, size, alt, ar);
		if (style_e && r3 == r2 && memcmp(b3, b2, n) == 0) {
			deviations++;
			ok = 1;
		}
	}
	va_end(as);
	va_end(ar);
	va_end(aq);
	va_end(ap);
	if (ok) {
		passed++;
		return;
	}
	if (failed++ < MAXSHOW) {
		printf("FAIL format \"%s\" size %zu arg %s\n  expected (%d) \"%.300s\"\n  got      "
		       "(%d) "
		       "\"%.300s\"\n",
		       fmt, size, what, r1, r1 >= 0 ? b1 : "", r2, r2 >= 0 ? b2 : "");
	}
}

enum kind { K_INT, K_LONG, K_DBL, K_LDBL, K_STR, K_PTR, K_NONE };

static const int64_t int_edges[] = {0,
                                    1,
                                    -1,
                                    7,
                                    8,
                                    9,
                                    10,
                                    15,
                                    16,
                                    99,
                                    100,
                                    127,
                                    128,
                                    255,
                                    256,
                                    -128,
                                    -129,
                                    32767,
                                    32768,
                                    65535,
                                    65536,
                                    INT_MAX,
                                    INT_MIN,
                                    UINT_MAX,
                                    LLONG_MAX,
                                    LLONG_MIN,
                                    1 << 20,
                                    -123456789,
                                    0x7ffffff,
                                    01234567,
                                    (int64_t)UINT64_MAX,
                                    1000000,
                                    999999,
                                    -1000000};

static const char *const strings[] = {"",          "a",     "hello",         "hello, world",
                                      "with\ttab", "12345", "\xff\x80 high", "x y z w v u t s"};

/* A double that exercises something: edge values, ties, integers, powers of ten, random bits. */
static double rand_double(void)
{
	static const double edges[] = {0.0,
	                               -0.0,
	                               1.0,
	                               -1.0,
	                               0.5,
	                               1.5,
	                               2.5,
	                               0.125,
	                               0.375,
	                               9.5,
	                               0.05,
	                               0.15,
	                               0.25,
	                               1e22,
	                               1e23,
	                               9.9999995,
	                               999999.5,
	                               99999.95,
	                               0.000123456,
	                               1e-5,
	                               1e-4,
	                               123456789.0,
	                               DBL_MAX,
	                               -DBL_MAX,
	                               DBL_MIN,
	                               DBL_TRUE_MIN,
	                               DBL_MIN / 3,
	                               DBL_EPSILON,
	                               M_PI,
	                               1.0 / 3,
	                               2.0 / 3,
	                               4503599627370496.5,
	                               9007199254740993.0,
	                               INFINITY,
	                               -INFINITY,
	                               NAN,
	                               -NAN};
	uint64_t bits;
	double d;

	switch (pick(8)) {
	case 0:
		return edges[pick(sizeof(edges) / sizeof(edges[0]))];
	case 1:
		/* Exact binary fractions (ties for %f/%e at some precision), or an ulp off one. */
		d = ldexp((double)(int64_t)(next() % 2000001) - 1000000, -pick(30));
		return pick(3) ? d : nextafter(d, pick(2) ? INFINITY : -INFINITY);
	case 2:
		return (double)(int64_t)(next() >> pick(64)) * (pick(2) ? 1 : -1);
	case 3:
		return (double)(int64_t)(next() % 100000000) / pow(10, pick(12));
	case 4:
		return pow(10, pick(700) - 350) * (pick(2) ? 1 : -1);
	case 5:
		/* Near-ties: k + 0.5 nudged by an ulp either way. */
		d = (double)pick(1000) + 0.5;
		return pick(2) ? nextafter(d, 0) : nextafter(d, 2000);
	default:
		bits = next();
		memcpy(&d, &bits, 8);
		return d;
	}
}

/* An x87 long double: random normal, subnormal, or a double widened. */
static long double rand_ldouble(void)
{
	long double x;
	uint64_t m = next();
	uint16_t se = (uint16_t)next();

	switch (pick(4)) {
	case 0:
		return rand_double();
	case 1:
		se &= 0x8000; /* subnormal or zero */
		m >>= 1 + pick(63);
		break;
	case 2:
		se = (se & 0x8000) | (uint16_t)(16383 + pick(200) - 100);
		m |= 1ull << 63;
		break;
	default:
		if ((se & 0x7fff) == 0)
			se |= 1;
		m |= 1ull << 63; /* no unnormals: glibc prints those its own way */
		break;
	}
	memset(&x, 0, sizeof(x));
	memcpy(&x, &m, 8);
	memcpy((char *)&x + 8, &se, 2);
	return x;
}

static void random_case(void)
{
	static const char *const intlens[] = {"", "hh", "h", "l", "ll", "z", "j", "t"};
	static const char convs[] = "diuoxXcspfFeEgGaA%";
	char fmt[64], what[128];
	int n = 0, nstar = 0, stars[2] = {0, 0};
	enum kind kind;
	int64_t iv = 0;
	double dv = 0;
	long double lv = 0;
	const char *sv = NULL;
	void *pv = NULL;
	char conv = convs[pick(sizeof(convs) - 1)];

	fmt[n++] = pick(4) == 0 ? 'x' : '%';
	if (fmt[0] != '%') {
		fmt[1] = '%';
		n = 2;
	}
	for (const char *f = "-+ #0"; *f; f++) {
		if (pick(4) == 0)
			fmt[n++] = *f;
	}
	switch (pick(4)) {
	case 0:
		break;
	case 1:
		fmt[n++] = '*';
		stars[nstar++] = pick(60) - 30;
		break;
	default:
		n += sprintf(fmt + n, "%d", pick(pick(8) == 0 ? 300 : 30));
	}
	switch (pick(4)) {
	case 0:
		break;
	case 1:
		fmt[n++] = '.';
		if (pick(3) == 0 && !((conv | 32) == 'g' && memchr(fmt, '#', n))) {
			fmt[n++] = '*';
			stars[nstar++] = pick(50) - 5;
		}
		break;
	default:
		n += sprintf(fmt + n, ".%d", pick(pick(10) == 0 ? 1100 : 45));
	}
	switch (conv) {
	case 'd':
	case 'i':
	case 'u':
	case 'o':
	case 'x':
	case 'X': {
		const char *len = intlens[pick(8)];
		n += sprintf(fmt + n, "%s", len);
		iv = pick(3) ? int_edges[pick(sizeof(int_edges) / sizeof(int_edges[0]))]
		             : (int64_t)(next() >> pick(64));
		kind = len[0] == 'l' || len[0] == 'z' || len[0] == 'j' || len[0] == 't' ? K_LONG
		                                                                        : K_INT;
		snprintf(what, sizeof(what), "%lld", (long long)iv);
		break;
	}
	case 'c':
		kind = K_INT;
		iv = pick(256);
		snprintf(what, sizeof(what), "char %d", (int)iv);
		break;
	case 's':
		kind = K_STR;
		sv = pick(10) == 0 ? NULL : strings[pick(sizeof(strings) / sizeof(strings[0]))];
		snprintf(what, sizeof(what), "\"%s\"", sv ? sv : "(NULL)");
		break;
	case 'p':
		kind = K_PTR;
		pv = pick(5) == 0 ? NULL : (void *)(uintptr_t)(next() >> pick(64));
		snprintf(what, sizeof(what), "pointer %#lx", (unsigned long)(uintptr_t)pv);
		break;
	case '%':
		kind = K_NONE;
		snprintf(what, sizeof(what), "none");
		break;
	default:
		if (pick(4) == 0) {
			fmt[n++] = 'L';
			kind = K_LDBL;
			lv = rand_ldouble();
			snprintf(what, sizeof(what), "long double %La (%.21Lg)", lv, lv);
		} else {
			if (pick(4) == 0)
				fmt[n++] = 'l';
			kind = K_DBL;
			dv = rand_double();
			snprintf(what, sizeof(what), "double %a (%.17g)", dv, dv);
		}
	}
	fmt[n++] = conv;
	if (pick(3) == 0)
		fmt[n++] = '|';
	fmt[n] = 0;

	size_t size = pick(8) == 0 ? (size_t)pick(20) : BUFSZ - 1;
	char full[160];
	snprintf(full, sizeof(full), "%s (stars %d %d)", what, stars[0], stars[1]);

#define DISPATCH(...)                                                           \
	do {                                                                    \
		if (nstar == 0)                                                 \
			both(size, full, fmt, __VA_ARGS__);                     \
		else if (nstar == 1)                                            \
			both(size, full, fmt, stars[0], __VA_ARGS__);           \
		else                                                            \
			both(size, full, fmt, stars[0], stars[1], __VA_ARGS__); \
	} while (0)

	switch (kind) {
	case K_INT:
		DISPATCH((int)iv);
		break;
	case K_LONG:
		DISPATCH((long long)iv);
		break;
	case K_DBL:
		DISPATCH(dv);
		break;
	case K_LDBL:
		DISPATCH(lv);
		break;
	case K_STR:
		DISPATCH(sv);
		break;
	case K_PTR:
		DISPATCH(pv);
		break;
	case K_NONE:
		DISPATCH(0);
		break;
	}
}

/* Values the task names, and the conversions that have to be exact over the whole range. */
static void fixed_cases(void)
{
	static const char *const dfmts[] = {
	        "%f",     "%.0f",    "%.1f",   "%.2f",   "%.3f",  "%.17f", "%.20f", "%e",
	        "%.0e",   "%.1e",    "%.16e",  "%.30e",  "%g",    "%.0g",  "%.1g",  "%.17g",
	        "%#g",    "%#.0f",   "%#.0e",  "%+.3e",  "% .3g", "%a",    "%.0a",  "%.1a",
	        "%.3a",   "%.13a",   "%.20a",  "%#a",    "%A",    "%F",    "%E",    "%G",
	        "%010f",  "%-12.4e", "%+010g", "%020a",  "%.40f", "%.60e", "%.60g", "%.99g",
	        "%.350f", "%.1100f", "%.800e", "%25.20g"};
	static const double dvals[] = {0.0,
	                               -0.0,
	                               0.125,
	                               0.375,
	                               0.5,
	                               1.5,
	                               2.5,
	                               -2.5,
	                               1e22,
	                               1e21,
	                               1e23,
	                               9.9999995,
	                               9.5,
	                               0.95,
	                               0.095,
	                               5e-324,
	                               DBL_MIN,
	                               DBL_MAX,
	                               -DBL_MAX,
	                               2.2250738585072009e-308,
	                               1.7976931348623157e308,
	                               1e-300,
	                               123.456,
	                               0.1,
	                               0.3,
	                               100.0,
	                               1e15,
	                               1e16,
	                               1e17,
	                               4.35,
	                               2.675,
	                               1.005,
	                               0.0001,
	                               0.00001,
	                               99999.5,
	                               999999.5,
	                               9999995.0,
	                               INFINITY,
	                               -INFINITY,
	                               NAN,
	                               -NAN,
	                               0.125 + 0x1p-55,
	                               0.125 - 0x1p-56,
	                               2.5 + 0x1p-51,
	                               0.5 + 0x1p-53,
	                               1e-300 + 1e-316,
	                               0x1.8p-1070};
	static const char *const lfmts[] = {"%Lf",   "%.0Lf", "%.3Le",  "%.25Lg",   "%La",
	                                    "%.0La", "%.2La", "%.30Le", "%.5000Lf", "%.40Lg"};
	static const long double lvals[] = {0.0L,
	                                    1.0L,
	                                    0.1L,
	                                    -2.5L,
	                                    3.0L,
	                                    15.9L,
	                                    1e4000L,
	                                    1e-4000L,
	                                    LDBL_MAX,
	                                    LDBL_MIN,
	                                    LDBL_TRUE_MIN,
	                                    0x1.ffp0L,
	                                    0x1.fffffffffffffffep0L,
	                                    12345678901234567890.0L,
	                                    INFINITY,
	                                    0.125L + 0x1p-66L,
	                                    0x1.8p-16440L,
	                                    -NAN};
	static const char *const ifmts[] = {"%d",    "%+d",    "% d",   "%5d",  "%-5d",  "%05d",
	                                    "%.0d",  "%+.0d",  "% .0d", "%.3d", "%8.3d", "%-8.3d",
	                                    "%#o",   "%#.0o",  "%#5o",  "%#x",  "%#X",   "%#.0x",
	                                    "%#08x", "%08.3x", "%u",    "%hhd", "%hd",   "%hhu",
	                                    "%hu",   "%x",     "%X",    "%o",   "%'d",   "%0-5d"};
	static const int ivals[] = {0, 1, -1, 7, 8, 255, 256, -129, 65535, 65536, INT_MAX, INT_MIN};

	for (size_t i = 0; i < sizeof(dfmts) / sizeof(dfmts[0]); i++) {
		for (size_t j = 0; j < sizeof(dvals) / sizeof(dvals[0]); j++) {
			char what[64];
			snprintf(what, sizeof(what), "double %a", dvals[j]);
			both(BUFSZ - 1, what, dfmts[i], dvals[j]);
		}
	}
	for (size_t i = 0; i < sizeof(lfmts) / sizeof(lfmts[0]); i++) {
		for (size_t j = 0; j < sizeof(lvals) / sizeof(lvals[0]); j++) {
			char what[64];
			snprintf(what, sizeof(what), "long double %La", lvals[j]);
			both(BUFSZ - 1, what, lfmts[i], lvals[j]);
		}
	}
	for (size_t i = 0; i < sizeof(ifmts) / sizeof(ifmts[0]); i++) {
		for (size_t j = 0; j < sizeof(ivals) / sizeof(ivals[0]); j++) {
			char what[32];
			snprintf(what, sizeof(what), "int %d", ivals[j]);
			both(BUFSZ - 1, what, ifmts[i], ivals[j]);
		}
	}
	both(BUFSZ - 1, "LLONG_MIN", "%lld|%llx|%llo|%+lli", LLONG_MIN, LLONG_MIN, LLONG_MIN,
	     LLONG_MIN);
	both(BUFSZ - 1, "UINT64_MAX", "%llu|%llX|%#llo|%zu", (unsigned long long)UINT64_MAX,
	     (unsigned long long)UINT64_MAX, (unsigned long long)UINT64_MAX, (size_t)UINT64_MAX);
	both(BUFSZ - 1, "strings", "[%s][%10s][%-10s][%.2s][%5.1s][%.0s]", "abc", "abc", "abc",
	     "abc", "abc", "abc");
	both(BUFSZ - 1, "NULL string", "[%s][%.3s][%.6s][%8s]", (char *)NULL, (char *)NULL,
	     (char *)NULL, (char *)NULL);
	both(BUFSZ - 1, "pointers", "[%p][%20p][%-20p][%+p][%p][%15p][%-8p]", (void *)0x1234,
	     (void *)0x1234, (void *)0x1234, (void *)0x1234, (void *)NULL, (void *)NULL,
	     (void *)NULL);
	both(BUFSZ - 1, "chars", "[%c][%5c][%-5c][%05c]", 'a', 'b', 'c', 'd');
	both(BUFSZ - 1, "wide", "[%lc][%ls][%5ls][%.2ls][%ls]", (wint_t)'w', L"wide", L"ab", L"abc",
	     (wchar_t *)NULL);
	both(BUFSZ - 1, "wide non-ASCII", "a%lcb", (wint_t)0xe9);
	both(BUFSZ - 1, "percent", "[%%][%5%][%-5%]", 0);
	both(BUFSZ - 1, "stars", "[%*d][%-*d][%.*d][%*.*f]", 6, 1, 6, 2, 4, 3, 10, 2, 3.14159);
	both(BUFSZ - 1, "negative stars", "[%*d][%.*f][%.*s]", -6, 1, -2, 3.14159, -1, "abc");
	both(BUFSZ - 1, "unknown", "[%y][%5y][%-#5.3y][%0-y][%#0y][% +y][%'y][%ly]", 0);
	both(BUFSZ - 1, "trailing %", "abc%", 0);
	both(BUFSZ - 1, "trailing %5l", "abc%5l", 0);
	both(0, "size 0", "%d", 12345);
	both(1, "size 1", "%d", 12345);
	both(5, "size 5", "%s", "hello world");
	both(BUFSZ - 1, "long", "%5000d|%-3000s|", 1, "x");
	both(BUFSZ - 1, "precision past 20000", "%.30000f|%.25000e|%#.30000g|%.30000g", 1.0 / 3,
	     1e-300, 2.5, 0.1);
	both(BUFSZ - 1, "long double precision past 20000", "%.20010Le|%.20010Lf", 0x1p-16445L,
	     0x1p-16445L);

	/* Our variadic entry points: doubles in vector registers, not a va_list. */
	char a[128];
	int r1 = snprintf(b1, sizeof(b1), "%d %.3f %s %g %Le %c", 42, 2.0 / 3, "s", 1e100, 1.5L,
	                  'z');
	int r2 = ukt_snprintf(a, sizeof(a), "%d %.3f %s %g %Le %c", 42, 2.0 / 3, "s", 1e100, 1.5L,
	                      'z');
	if (r1 == r2 && strcmp(a, b1) == 0) {
		passed++;
	} else if (failed++ < MAXSHOW) {
		printf("FAIL ukt_snprintf: expected \"%s\" got \"%s\"\n", b1, a);
	}
	r2 = ukt_sprintf(a, "%s-%05.1f", "sprintf", -2.25);
	if (r2 == 13 && strcmp(a, "sprintf--02.2") == 0) {
		passed++;
	} else if (failed++ < MAXSHOW) {
		printf("FAIL ukt_sprintf: got \"%s\"\n", a);
	}
}

/* Reads what the console (fds 1 and 2, both on one pipe) received since the last call. */
static const char *console(int fd)
{
	static char buf[16][4096];
	static int slot;
	char *b = buf[slot++ % 16];
	ssize_t n, len = 0;

	while ((n = read(fd, b + len, sizeof(buf[0]) - 1 - len)) > 0)
		len += n;
	b[len] = 0;
	return b;
}

/* stdout is line-buffered (flushed on newline and when full), stderr unbuffered. */
static void test_stdio(void)
{
	const char *got[16], *want[16];
	char big[1600], many[1100];
	int p[2], out, err, n = 0;

	fflush(stdout);
	fflush(stderr);
	if (pipe(p) != 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) != 0) {
		perror("pipe");
		failed++;
		return;
	}
	out = dup(1);
	err = dup(2);
	dup2(p[1], 1);
	dup2(p[1], 2);

	ukt_fputs("abc", ukt_stdout);
	got[n] = console(p[0]), want[n++] = "";
	ukt_printf("%d\n", 42);
	got[n] = console(p[0]), want[n++] = "abc42\n";
	ukt_fputs("a\nb", ukt_stdout);
	got[n] = console(p[0]), want[n++] = "a\n";
	ukt_fputc('x', ukt_stdout);
	ukt_fflush(ukt_stdout);
	got[n] = console(p[0]), want[n++] = "bx";
	ukt_fputs("partial", ukt_stdout);
	ukt_fputs("E", ukt_stderr);
	got[n] = console(p[0]), want[n++] = "E";
	ukt_fflush(NULL);
	got[n] = console(p[0]), want[n++] = "partial";
	ukt_errno = ENOENT;
	ukt_perror("ctx");
	got[n] = console(p[0]), want[n++] = "ctx: No such file or directory\n";
	ukt_fprintf(ukt_stderr, "%s=%d", "k", 5);
	got[n] = console(p[0]), want[n++] = "k=5";
	ukt_setvbuf(ukt_stdout, NULL, 2 /* _IONBF */, 0);
	ukt_fputs("u", ukt_stdout);
	got[n] = console(p[0]), want[n++] = "u";
	ukt_setvbuf(ukt_stdout, NULL, 1 /* _IOLBF */, 0);
	ukt_puts("line");
	got[n] = console(p[0]), want[n++] = "line\n";

	/* A full buffer (1024 bytes) goes out without a newline. */
	memset(many, 'z', 1000);
	memset(many + 1000, 'w', 100);
	ukt_fwrite(many, 1, 1000, ukt_stdout);
	got[n] = console(p[0]), want[n++] = "";
	ukt_fwrite(many + 1000, 1, 100, ukt_stdout);
	memcpy(big, many, 1024);
	big[1024] = 0;
	got[n] = console(p[0]), want[n++] = strdup(big);
	ukt_fflush(ukt_stdout);
	got[n] = console(p[0]), want[n++] = strndup(many + 1024, 76);

	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(p[0]);
	close(p[1]);
	for (int i = 0; i < n; i++) {
		if (strcmp(got[i], want[i]) == 0) {
			passed++;
		} else if (failed++ < MAXSHOW) {
			printf("FAIL stdio step %d: expected \"%.80s\" (%zu bytes), got \"%.80s\" "
			       "(%zu bytes)\n",
			       i, want[i], strlen(want[i]), got[i], strlen(got[i]));
		}
	}
	free((char *)want[n - 2]); /* the strdup'ed and strndup'ed expectations */
	free((char *)want[n - 1]);
}

int main(int argc, char **argv)
{
	const char *env = getenv("UKT_SEED");
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0)
	                : env    ? strtoull(env, NULL, 0)
	                         : 20240601;

	rng = seed;
	printf("test_printf: seed %llu (rerun with: test_printf SEED)\n", (unsigned long long)seed);
	fixed_cases();
	test_stdio();
	for (int i = 0; i < NRANDOM; i++)
		random_case();
	printf("test_printf: %ld passed (%ld of them the %%#g case where C and glibc differ), %ld "
	       "failed\n",
	       passed, deviations, failed);
	return failed ? 1 : 0;
}
