/* The libc subset inside a real guest: formatted output with floats, conversions, sorting, setjmp,
 * entropy. */
#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uk/uk.h>

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                            \
		}                                                              \
	} while (0)

static void check_fmt(const char *want, const char *fmt, ...)
{
	char buf[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strcmp(buf, want)) {
		printf("FAIL: format \"%s\" gave \"%s\", want \"%s\"\n", fmt, buf, want);
		failures++;
	}
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int ctor_ran;

__attribute__((constructor)) static void ctor(void)
{
	ctor_ran = 1;
}

static jmp_buf jb;

static void jump(int v)
{
	longjmp(jb, v);
}

int main(void)
{
	int v[100], i, key = 37, *hit;
	volatile int reached = 0;
	unsigned char r1[32], r2[32];
	char *end;

	CHECK(ctor_ran);
	CHECK(INT_MAX == 2147483647 && LLONG_MIN < 0 && CHAR_BIT == 8);
	check_fmt("42 -7 ff 0X2A 17 x", "%d %i %x %#X %o %c", 42, -7, 255, 42, 15, 'x');
	check_fmt("[   hi] [hi   ] [00042]", "[%5s] [%-5s] [%05d]", "hi", "hi", 42);
	check_fmt("3.14159 2.500000e+00 0.0001 1e+20", "%.5f %e %g %g", 3.14159265, 2.5, 0.0001,
	          1e20);
	check_fmt("18446744073709551615 -9223372036854775808", "%llu %lld", UINT64_MAX,
	          (long long)INT64_MIN);
	check_fmt("0.13 inf -inf nan -nan", "%.2f %f %f %f %f", 0.125 + 1e-9, __builtin_inf(),
	          -__builtin_inf(), __builtin_nan(""), -__builtin_nan(""));
	CHECK(strtol("  -0x1f", &end, 0) == -31 && *end == 0);
	errno = 0;
	CHECK(strtoul("99999999999999999999", NULL, 10) == UINT64_MAX && errno == ERANGE);
	CHECK(strtod("1e-5", NULL) == 1e-5 && strtod("0x1p4", NULL) == 16.0);
	CHECK(atoi("123abc") == 123 && toupper('q') == 'Q' && isdigit('7'));
	for (i = 0; i < 100; i++)
		v[i] = (i * 7919) % 100;
	qsort(v, 100, sizeof(int), cmp_int);
	for (i = 0; i < 100; i++)
		CHECK(v[i] == i);
	hit = bsearch(&key, v, 100, sizeof(int), cmp_int);
	CHECK(hit && *hit == 37);
	if (setjmp(jb) == 0) {
		reached = 1;
		jump(5);
		CHECK(0);
	} else {
		CHECK(reached == 1);
	}
	CHECK(uk_entropy_get(r1, sizeof(r1)) == UK_OK && uk_entropy_get(r2, sizeof(r2)) == UK_OK);
	CHECK(memcmp(r1, r2, sizeof(r1)) != 0);
	printf("entropy strength %d on %s\n", (int)uk_entropy_strength(), uk_platform());
	fprintf(stderr, "stderr works\n");
	if (failures)
		return 1;
	printf("SUCCESS\n");
	return 0;
}
