/* Tests runtime-lib's string, ctype, qsort, environment, setjmp and time functions vs glibc. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ukt.h"
#include "ukt_platform_stub.h"
#include "ukt_rand.h"

#define NRANDOM 100000
#define MAXSHOW 10

static long passed, failed;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (cond) {                                                    \
			passed++;                                              \
		} else if (failed++ < MAXSHOW) {                               \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                   \
			putchar('\n');                                         \
		}                                                              \
	} while (0)

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

/* A random string of (len) bytes over a small alphabet (so searches hit), NUL-terminated. */
static void random_string(char *s, int len)
{
	static const char alpha[] = "abcABC \t,.\x80\xff";
	for (int i = 0; i < len; i++)
		s[i] = alpha[pick(sizeof(alpha) - 1)];
	s[len] = 0;
}

static void test_mem(void)
{
	static char a[600], b[600], x[600], y[600]; /* room for 300 + 63 + 199 */

	for (int i = 0; i < NRANDOM; i++) {
		int n = pick(200), off1 = pick(64), off2 = pick(64);
		for (int k = 0; k < 600; k++)
			a[k] = (char)next();
		memcpy(b, a, sizeof(b));

		CHECK(ukt_memcpy(b + off1, a + 300 + off2, n) == b + off1, "memcpy result");
		memcpy(x, a, sizeof(x));
		memcpy(x + off1, a + 300 + off2, n);
		CHECK(memcmp(b, x, sizeof(b)) == 0, "memcpy n %d", n);

		/* memmove within one buffer, both directions */
		memcpy(x, a, sizeof(x));
		memcpy(y, a, sizeof(y));
		CHECK(ukt_memmove(x + off1, x + off2, n) == x + off1, "memmove result");
		memmove(y + off1, y + off2, n);
		CHECK(memcmp(x, y, sizeof(x)) == 0, "memmove %d <- %d n %d", off1, off2, n);

		int c = pick(2) ? pick(256) : 0x100 + pick(256);
		memcpy(x, a, sizeof(x));
		memcpy(y, a, sizeof(y));
		CHECK(ukt_memset(x + off1, c, n) == x + off1, "memset result");
		memset(y + off1, c, n);
		CHECK(memcmp(x, y, sizeof(x)) == 0, "memset c %#x n %d", c, n);

		memcpy(x, a, sizeof(x));
		if (n > 0 && pick(2))
			x[off1 + pick(n)] ^= (char)(1 + pick(255));
		CHECK(sign(ukt_memcmp(x + off1, a + off1, n)) ==
		              sign(memcmp(x + off1, a + off1, n)),
		      "memcmp n %d", n);
		CHECK(ukt_memchr(a + off1, c, n) == memchr(a + off1, c, n), "memchr c %#x n %d", c,
		      n);
	}
}

static void test_str(void)
{
	/* Called through pointers: gcc's truncation warnings are about exactly what is tested. */
	char *(*volatile host_strncpy)(char *, const char *, size_t) = strncpy;
	char *(*volatile host_strncat)(char *, const char *, size_t) = strncat;
	static char s[300], t[300], x[700], y[700];

	for (int i = 0; i < NRANDOM; i++) {
		int ls = pick(pick(4) ? 20 : 250), lt = pick(pick(4) ? 6 : 40);
		size_t n = (size_t)pick(30);
		random_string(s, ls);
		random_string(t, lt);
		if (pick(3) == 0 && ls > 2) {
			/* make t occur in s, or share a prefix with it */
			int at = pick(ls), len = pick(ls - at + 1);
			memcpy(t, s + at, len);
			t[len] = 0;
			lt = len;
		}
		int c = pick(4) == 0 ? 0
		        : pick(2)    ? (unsigned char)s[pick(ls + 1)]
		                     : pick(512) - 128;

		CHECK(ukt_strlen(s) == strlen(s), "strlen");
		CHECK(ukt_strnlen(s, n) == strnlen(s, n), "strnlen %zu", n);
		CHECK(sign(ukt_strcmp(s, t)) == sign(strcmp(s, t)), "strcmp \"%s\" \"%s\"", s, t);
		CHECK(sign(ukt_strncmp(s, t, n)) == sign(strncmp(s, t, n)),
		      "strncmp \"%s\" \"%s\" %zu", s, t, n);
		CHECK(sign(ukt_strcasecmp(s, t)) == sign(strcasecmp(s, t)),
		      "strcasecmp \"%s\" \"%s\"", s, t);
		CHECK(sign(ukt_strncasecmp(s, t, n)) == sign(strncasecmp(s, t, n)),
		      "strncasecmp \"%s\" \"%s\" %zu", s, t, n);
		CHECK(ukt_strchr(s, c) == strchr(s, c), "strchr \"%s\" %d", s, c);
		CHECK(ukt_strrchr(s, c) == strrchr(s, c), "strrchr \"%s\" %d", s, c);
		CHECK(ukt_strstr(s, t) == strstr(s, t), "strstr \"%s\" \"%s\"", s, t);
		CHECK(ukt_strspn(s, t) == strspn(s, t), "strspn \"%s\" \"%s\"", s, t);
		CHECK(ukt_strcspn(s, t) == strcspn(s, t), "strcspn \"%s\" \"%s\"", s, t);
		CHECK(ukt_strpbrk(s, t) == strpbrk(s, t), "strpbrk \"%s\" \"%s\"", s, t);

		memset(x, 'Z', sizeof(x));
		memset(y, 'Z', sizeof(y));
		CHECK(ukt_strcpy(x, s) == x && strcpy(y, s) && memcmp(x, y, sizeof(x)) == 0,
		      "strcpy");
		CHECK(ukt_strcat(x, t) == x && strcat(y, t) && memcmp(x, y, sizeof(x)) == 0,
		      "strcat");
		CHECK(ukt_strncat(x, s, n) == x && host_strncat(y, s, n) &&
		              memcmp(x, y, sizeof(x)) == 0,
		      "strncat %zu", n);
		memset(x, 'Z', sizeof(x));
		memset(y, 'Z', sizeof(y));
		CHECK(ukt_strncpy(x, s, n) == x && host_strncpy(y, s, n) &&
		              memcmp(x, y, sizeof(x)) == 0,
		      "strncpy %zu", n);

		char *d1 = ukt_strdup(s), *d2 = ukt_strndup(s, n);
		CHECK(d1 && strcmp(d1, s) == 0, "strdup");
		CHECK(d2 && strlen(d2) == strnlen(s, n) && strncmp(d2, s, n) == 0, "strndup %zu",
		      n);
		ukt_free(d1);
		ukt_free(d2);

		/* strtok_r: the same tokens from both */
		char *save1, *save2, *p1, *p2;
		strcpy(x, s);
		strcpy(y, s);
		const char *delim = lt ? t : " ,";
		p1 = ukt_strtok_r(x, delim, &save1);
		p2 = strtok_r(y, delim, &save2);
		for (;;) {
			int same = (p1 == NULL && p2 == NULL) || (p1 && p2 && p1 - x == p2 - y);
			CHECK(same, "strtok_r \"%s\" by \"%s\"", s, delim);
			if (!same || !p1)
				break;
			CHECK(strcmp(p1, p2) == 0, "strtok_r token");
			p1 = ukt_strtok_r(NULL, delim, &save1);
			p2 = strtok_r(NULL, delim, &save2);
		}
	}
}

static void test_ctype(void)
{
	static int (*const ours[])(int) = {ukt_isalnum, ukt_isalpha, ukt_isblank, ukt_iscntrl,
	                                   ukt_isdigit, ukt_isgraph, ukt_islower, ukt_isprint,
	                                   ukt_ispunct, ukt_isspace, ukt_isupper, ukt_isxdigit};
	static int (*const theirs[])(int) = {isalnum, isalpha, isblank, iscntrl, isdigit, isgraph,
	                                     islower, isprint, ispunct, isspace, isupper, isxdigit};

	for (int c = -1; c < 256; c++) {
		for (size_t f = 0; f < sizeof(ours) / sizeof(ours[0]); f++)
			CHECK(!ours[f](c) == !theirs[f](c), "ctype function %zu of %d", f, c);
		CHECK(ukt_tolower(c) == tolower(c), "tolower %d", c);
		CHECK(ukt_toupper(c) == toupper(c), "toupper %d", c);
	}
}

static void test_strerror(void)
{
	for (int e = -3; e < 140; e++) {
		const char *ours = ukt_strerror(e);
		char want[64];
		if (strncmp(ours, "Unknown error ", 14) == 0) {
			snprintf(want, sizeof(want), "Unknown error %d", e);
			CHECK(strcmp(ours, want) == 0, "strerror(%d) = \"%s\"", e, ours);
		} else {
			CHECK(strcmp(ours, strerror(e)) == 0, "strerror(%d) = \"%s\", glibc \"%s\"",
			      e, ours, strerror(e));
		}
	}
	CHECK(strcmp(ukt_strerror(ERANGE), "Numerical result out of range") == 0, "ERANGE text");
	CHECK(strcmp(ukt_strerror(-2147483647 - 1), "Unknown error -2147483648") == 0, "INT_MIN");
}

struct rec {
	int key;
	int pad[2];
};

static long ncmp;

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	ncmp++;
	return (x > y) - (x < y);
}

static int cmp_rec(const void *a, const void *b)
{
	return cmp_int(&((const struct rec *)a)->key, &((const struct rec *)b)->key);
}

/* McIlroy's adversary: decides element values as late as possible to make quicksort quadratic. */
static int *adv_val, adv_gas, adv_nsolid, adv_candidate;

static int cmp_adversary(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	ncmp++;
	if (adv_val[x] == adv_gas && adv_val[y] == adv_gas) {
		if (x == adv_candidate)
			adv_val[x] = adv_nsolid++;
		else
			adv_val[y] = adv_nsolid++;
	}
	if (adv_val[x] == adv_gas)
		adv_candidate = x;
	else if (adv_val[y] == adv_gas)
		adv_candidate = y;
	return adv_val[x] - adv_val[y];
}

static void test_qsort(void)
{
	static int a[5000], b[5000];
	static struct rec r[3000];

	for (int round = 0; round < 400; round++) {
		int n = pick(round < 300 ? 100 : 5000), range = 1 + pick(pick(2) ? 10 : 1000000);
		int shape = pick(6);
		for (int i = 0; i < n; i++) {
			a[i] = shape == 0   ? i
			       : shape == 1 ? n - i
			       : shape == 2 ? (i < n / 2 ? i : n - i)
			       : shape == 3 ? 7
			                    : pick(range) - range / 2;
		}
		memcpy(b, a, n * sizeof(int));
		ukt_qsort(a, n, sizeof(int), cmp_int);
		qsort(b, n, sizeof(int), cmp_int);
		CHECK(memcmp(a, b, n * sizeof(int)) == 0, "qsort ints n %d shape %d", n, shape);
		for (int k = 0; k < 5 && n > 0; k++) {
			int key = pick(3) ? a[pick(n)] : pick(range) - range / 2;
			int *hit = ukt_bsearch(&key, a, n, sizeof(int), cmp_int);
			CHECK(hit ? *hit == key : bsearch(&key, b, n, sizeof(int), cmp_int) == NULL,
			      "bsearch %d in %d", key, n);
		}
	}
	for (int round = 0; round < 50; round++) {
		int n = pick(3000);
		for (int i = 0; i < n; i++) {
			r[i].key = pick(100);
			r[i].pad[0] = r[i].key * 3;
			r[i].pad[1] = i;
		}
		ukt_qsort(r, n, sizeof(r[0]), cmp_rec);
		int ok = 1;
		for (int i = 0; i < n; i++) {
			ok &= r[i].pad[0] == r[i].key * 3;
			if (i > 0)
				ok &= r[i - 1].key <= r[i].key;
		}
		CHECK(ok, "qsort 12-byte records n %d", n);
	}

	/* Against the adversary, introsort stays O(n log n); plain quicksort would need ~n^2/4. */
	int n = 5000;
	adv_val = b;
	for (int i = 0; i < n; i++) {
		a[i] = i;
		b[i] = n; /* gas */
	}
	adv_gas = n;
	adv_nsolid = 0;
	adv_candidate = 0;
	ncmp = 0;
	ukt_qsort(a, n, sizeof(int), cmp_adversary);
	CHECK(ncmp < 12L * n * 13, "adversary: %ld comparisons for %d elements", ncmp, n);
	int sorted = 1;
	for (int i = 1; i < n; i++)
		sorted &= b[a[i - 1]] <= b[a[i]];
	CHECK(sorted, "adversary input sorted");
}

static void test_env(void)
{
	static char *env[] = {"HOME=/root", "PATH=/bin", "EMPTY=", "A=1", NULL};
	char **saved = ukt_environ;

	ukt_environ = env;
	CHECK(ukt_getenv("HOME") && strcmp(ukt_getenv("HOME"), "/root") == 0, "getenv HOME");
	CHECK(ukt_getenv("EMPTY") && *ukt_getenv("EMPTY") == 0, "getenv EMPTY");
	CHECK(ukt_getenv("HOM") == NULL && ukt_getenv("HOMEX") == NULL, "getenv prefix");
	CHECK(ukt_getenv("A=1") == NULL, "getenv with '='");
	CHECK(ukt_setenv("NEW", "v", 0) == 0 && strcmp(ukt_getenv("NEW"), "v") == 0, "setenv new");
	CHECK(ukt_setenv("HOME", "/h", 0) == 0 && strcmp(ukt_getenv("HOME"), "/root") == 0,
	      "setenv no overwrite");
	CHECK(ukt_setenv("HOME", "/h", 1) == 0 && strcmp(ukt_getenv("HOME"), "/h") == 0,
	      "setenv overwrite");
	CHECK(ukt_unsetenv("PATH") == 0 && ukt_getenv("PATH") == NULL, "unsetenv");
	CHECK(strcmp(ukt_getenv("A"), "1") == 0 && strcmp(ukt_getenv("NEW"), "v") == 0,
	      "others kept");
	ukt_errno = 0;
	CHECK(ukt_setenv("", "x", 1) == -1 && ukt_errno == EINVAL, "setenv empty name");
	ukt_errno = 0;
	CHECK(ukt_setenv("A=B", "x", 1) == -1 && ukt_errno == EINVAL, "setenv name with '='");
	ukt_errno = 0;
	CHECK(ukt_unsetenv("X=") == -1 && ukt_errno == EINVAL, "unsetenv name with '='");
	ukt_environ = saved;
}

static long jmp_env[8];
static int depth;

/* Unwinds (level) frames of its own with longjmp. */
static void jump_from(int level, int val)
{
	static void (*volatile deeper)(int, int) = jump_from; /* hides the recursion from gcc */

	depth = level;
	if (level == 0)
		ukt_longjmp(jmp_env, val);
	deeper(level - 1, val);
}

static void test_setjmp(void)
{
	volatile int calls = 0, local = 11;
	int r = ukt_setjmp(jmp_env);

	calls++;
	if (calls == 1) {
		CHECK(r == 0, "setjmp first returns 0, got %d", r);
		local = 22;
		jump_from(10, 7);
	} else if (calls == 2) {
		CHECK(r == 7 && local == 22 && depth == 0, "longjmp(7): r %d local %d", r, local);
		jump_from(3, 0);
	} else {
		CHECK(r == 1 && calls == 3, "longjmp(0) makes setjmp return 1, got %d", r);
	}
}

static void test_time(void)
{
	struct timespec mine, real;
	long t1 = ukt_time(NULL), t0 = (long)time(NULL);

	CHECK(labs(t1 - t0) <= 1, "time() %ld vs %ld", t1, t0);
	CHECK(ukt_clock_gettime(CLOCK_REALTIME, &mine) == 0 && mine.tv_nsec >= 0 &&
	              mine.tv_nsec < 1000000000,
	      "clock_gettime realtime");
	clock_gettime(CLOCK_REALTIME, &real);
	CHECK(labs(real.tv_sec - mine.tv_sec) <= 1, "realtime %ld vs %ld", (long)mine.tv_sec,
	      (long)real.tv_sec);
	ukt_errno = 0;
	CHECK(ukt_clock_gettime(42, &mine) == -1 && ukt_errno == EINVAL, "bad clock is EINVAL");

	struct timespec a, b, req = {0, 20000000}, bad = {0, 1000000000};
	ukt_clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK(ukt_nanosleep(&req, NULL) == 0, "nanosleep 20 ms");
	ukt_clock_gettime(CLOCK_MONOTONIC, &b);
	long ns = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
	CHECK(ns >= 20000000 && ns < 2000000000, "slept %ld ns", ns);
	ukt_errno = 0;
	CHECK(ukt_nanosleep(&bad, NULL) == -1 && ukt_errno == EINVAL, "nanosleep tv_nsec 1e9");
}

int main(int argc, char **argv)
{
	static char heap[8 << 20];
	const char *env = getenv("UKT_SEED");
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0)
	                : env    ? strtoull(env, NULL, 0)
	                         : 20240601;

	rng = seed;
	printf("test_string: seed %llu (rerun with: test_string SEED)\n", (unsigned long long)seed);
	ukt_uk_heap_add(heap, sizeof(heap));
	test_mem();
	test_str();
	test_ctype();
	test_strerror();
	test_qsort();
	test_env();
	test_setjmp();
	test_time();
	printf("test_string: %ld passed, %ld failed\n", passed, failed);
	return failed ? 1 : 0;
}
