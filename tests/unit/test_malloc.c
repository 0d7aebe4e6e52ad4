/* Unit tests of lib/malloc.c: stress, alignment, coalescing, exhaustion, corruption panics. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ukt.h"

#define MiB ((size_t)1 << 20)
#define SPAN (80 * MiB) /* one mapping: region A, a PROT_NONE gap, region B, PROT_NONE */
#define OFF_A 3         /* region A: unaligned start and end on purpose */
#define LEN_A (48 * MiB - 10)
#define OFF_B (56 * MiB)
#define LEN_B (16 * MiB)
#define LEN_C (8 * MiB) /* a third mapping, added late, whose last two pages are PROT_NONE */
#define OFF_C 5
#define NSLOTS 4096
#define NOPS 200000
#define PANIC_STATUS 134

#define UKT_PANIC_STUB
#include "ukt_check.h"
#include "ukt_rand.h"

/* 0 to 1 MiB, mostly small. */
static size_t rnd_size(void)
{
	uint64_t r = next() % 1000;

	if (r < 600)
		return next() % 129;
	if (r < 900)
		return next() % 4097;
	if (r < 990)
		return next() % 65537;
	return next() % (MiB + 1);
}

/* Byte (i) of the fill pattern (key): byte i % 8 of a hash of (key, i / 8). */
static uint64_t pat_word(uint64_t key, size_t w)
{
	uint64_t z = key + (w + 1) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 29)) * 0xbf58476d1ce4e5b9ull;
	return z ^ (z >> 32);
}

static void fill(unsigned char *p, size_t n, uint64_t key)
{
	size_t i, w = n / 8;

	for (i = 0; i < w; i++) {
		uint64_t v = pat_word(key, i);
		memcpy(p + 8 * i, &v, 8);
	}
	for (i = 8 * w; i < n; i++)
		p[i] = (unsigned char)(pat_word(key, i / 8) >> (8 * (i % 8)));
}

static int intact(const unsigned char *p, size_t n, uint64_t key)
{
	size_t i, w = n / 8;

	for (i = 0; i < w; i++) {
		uint64_t v = pat_word(key, i), got;
		memcpy(&got, p + 8 * i, 8);
		if (got != v)
			return 0;
	}
	for (i = 8 * w; i < n; i++)
		if (p[i] != (unsigned char)(pat_word(key, i / 8) >> (8 * (i % 8))))
			return 0;
	return 1;
}

static int all_zero(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

static unsigned char *span;
static struct {
	unsigned char *base;
	size_t len;
} regions[3]; /* what the test gave ukt_uk_heap_add */
static int nregions;

static void heap_add(unsigned char *base, size_t len)
{
	regions[nregions].base = base;
	regions[nregions++].len = len;
	ukt_uk_heap_add(base, len);
}

/* Where malloc may place (n) bytes at (p): inside one of the regions. */
static int in_heap(const void *p, size_t n)
{
	const unsigned char *c = p;
	int i;

	for (i = 0; i < nregions; i++)
		if (c >= regions[i].base && c + n <= regions[i].base + regions[i].len)
			return 1;
	return 0;
}

/* White box: the largest malloc() a region of (len) bytes at (base) can serve,
 * one 16-byte header off the aligned region. */
static size_t largest(const unsigned char *base, size_t len)
{
	uintptr_t lo = ((uintptr_t)base + 15) & ~(uintptr_t)15;
	uintptr_t hi = ((uintptr_t)base + len) & ~(uintptr_t)15;

	return hi - lo - 16;
}

/* Runs (fn) in a child with stderr captured; passes if it panicked saying (expect). */
static void expect_panic(const char *what, void (*fn)(void), const char *expect)
{
	char buf[4096];
	int fds[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	fflush(NULL);
	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		CHECK(0, "%s: pipe/fork: %s", what, strerror(errno));
		return;
	}
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		fn();
		_exit(0); /* not reached if fn() panicked */
	}
	close(fds[1]);
	while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	CHECK((WIFEXITED(status) && WEXITSTATUS(status) == PANIC_STATUS) ||
	              (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT),
	      "%s: child status 0x%x, expected a panic (output: %s)", what, status, buf);
	CHECK(strstr(buf, expect) != NULL, "%s: expected \"%s\" in the child's output, got \"%s\"",
	      what, expect, buf);
}

static void panic_double_free(void)
{
	void *p = ukt_malloc(100);

	ukt_malloc(100); /* keeps p from merging with the rest */
	ukt_free(p);
	ukt_free(p);
}

static void panic_double_free_merged(void)
{
	void *a = ukt_malloc(100), *b = ukt_malloc(100);

	ukt_malloc(100);
	ukt_free(a);
	ukt_free(b); /* merges into a's block */
	ukt_free(b);
}

static void panic_stack_pointer(void)
{
	char local[64];

	ukt_free(local + 16);
}

static void panic_interior_pointer(void)
{
	char *p = ukt_calloc(1, 256);

	ukt_free(p + 32);
}

static void panic_overrun(void)
{
	char *p = ukt_malloc(24);

	ukt_malloc(24);
	memset(p, 'x', ukt_malloc_usable_size(p) + 8);
	ukt_free(p);
}

static void panic_header_smash(void)
{
	size_t *p = ukt_malloc(64);

	p[-2] ^= 0x40;
	ukt_free(p);
}

static void panic_realloc_freed(void)
{
	void *p = ukt_malloc(300);

	ukt_malloc(16);
	ukt_free(p);
	ukt_realloc(p, 600);
}

static void panic_use_after_free(void)
{
	void **a = ukt_malloc(200), **b = ukt_malloc(200);

	ukt_malloc(200);
	ukt_free(b);
	b[1] = a; /* the free-list back link */
	a[2] = NULL;
	ukt_malloc(200);
}

static void test_basics(void)
{
	void *z1 = ukt_malloc(0), *z2 = ukt_malloc(0), *p, *q, *r;
	char *s;
	size_t i;
	int rc;

	CHECK(z1 && z2 && z1 != z2, "malloc(0) twice: %p %p", z1, z2);
	ukt_free(z1);
	ukt_free(z2);
	ukt_free(NULL);
	p = ukt_malloc(1);
	CHECK(p && (uintptr_t)p % 16 == 0 && in_heap(p, 1), "malloc(1) = %p", p);
	CHECK(ukt_malloc_usable_size(p) >= 1 && ukt_malloc_usable_size(NULL) == 0, "usable size");
	ukt_free(p);

	/* realloc grows in place into a free successor, and shrinks in place */
	p = ukt_malloc(100);
	q = ukt_malloc(100);
	r = ukt_malloc(100);
	fill(p, 100, 1);
	ukt_free(q);
	s = ukt_realloc(p, 200);
	CHECK(s == p && intact(p, 100, 1), "realloc into the free neighbour moved: %p -> %p", p, s);
	s = ukt_realloc(p, 40);
	CHECK(s == p && intact(p, 40, 1), "realloc shrink moved: %p -> %p", p, s);
	s = ukt_realloc(p, 100000); /* r is in the way: must move and copy */
	CHECK(s && intact((unsigned char *)s, 40, 1), "realloc move lost data");
	ukt_free(s);
	ukt_free(r);
	s = ukt_realloc(NULL, 10);
	CHECK(s != NULL, "realloc(NULL, 10)");
	s = ukt_realloc(s, 0);
	CHECK(s != NULL, "realloc(p, 0) keeps a minimal block");
	ukt_free(s);

	/* every power-of-two alignment up to 4 MiB */
	for (i = 1; i <= 4 * MiB; i <<= 1) {
		p = ukt_aligned_alloc(i, 3 * i / 2 + 1);
		CHECK(p && (uintptr_t)p % i == 0 && in_heap(p, 3 * i / 2 + 1) &&
		              ukt_malloc_usable_size(p) >= 3 * i / 2 + 1,
		      "aligned_alloc(%zu) = %p", i, p);
		if (p)
			memset(p, 0xa5, 3 * i / 2 + 1);
		ukt_free(p);
	}
	ukt_errno = 0;
	CHECK(!ukt_aligned_alloc(0, 8) && ukt_errno == EINVAL, "aligned_alloc(0)");
	ukt_errno = 0;
	CHECK(!ukt_aligned_alloc(48, 8) && ukt_errno == EINVAL, "aligned_alloc(48)");
	CHECK(ukt_posix_memalign(&p, 4, 8) == EINVAL, "posix_memalign(4)");
	CHECK(ukt_posix_memalign(&p, 24, 8) == EINVAL, "posix_memalign(24)");
	p = NULL;
	rc = ukt_posix_memalign(&p, 8, 8);
	CHECK(rc == 0 && p && (uintptr_t)p % 16 == 0, "posix_memalign(8)");
	ukt_free(p);
	rc = ukt_posix_memalign(&p, 4096, 10);
	CHECK(rc == 0 && (uintptr_t)p % 4096 == 0, "posix_memalign(4096)");
	ukt_free(p);
	p = ukt_memalign(64, 10);
	CHECK(p && (uintptr_t)p % 64 == 0, "memalign(64)");
	ukt_free(p);

	/* calloc zeroes recycled memory and refuses overflowing products */
	p = ukt_malloc(5000);
	memset(p, 0xff, 5000);
	ukt_free(p);
	q = ukt_calloc(50, 100);
	CHECK(q && all_zero(q, 5000), "calloc(50, 100) not zeroed");
	ukt_free(q);
	ukt_errno = 0;
	CHECK(!ukt_calloc(SIZE_MAX / 2 + 1, 2) && ukt_errno == ENOMEM, "calloc overflow");
	ukt_errno = 0;
	CHECK(!ukt_calloc((size_t)1 << 32, (size_t)1 << 32) && ukt_errno == ENOMEM,
	      "calloc 2^32 * 2^32");
	CHECK(!ukt_calloc(SIZE_MAX, SIZE_MAX), "calloc(SIZE_MAX, SIZE_MAX)");
}

static void test_oom(void)
{
	size_t used = ukt_uk_heap_used();
	void *p = ukt_malloc(1000), *q;

	fill(p, 1000, 7);
	ukt_errno = 0;
	CHECK(!ukt_malloc(SIZE_MAX) && ukt_errno == ENOMEM, "malloc(SIZE_MAX)");
	ukt_errno = 0;
	CHECK(!ukt_malloc(LEN_A + LEN_B) && ukt_errno == ENOMEM, "malloc(more than the heap)");
	CHECK(!ukt_malloc(largest(span + OFF_A, LEN_A) + 1), "malloc(largest region + 1)");
	CHECK(!ukt_aligned_alloc(16, SIZE_MAX), "aligned_alloc(16, SIZE_MAX)");
	CHECK(!ukt_aligned_alloc(2 * MiB, SIZE_MAX - 100), "aligned_alloc size + align wraps");
	CHECK(!ukt_aligned_alloc((size_t)1 << 62, 16), "aligned_alloc(2^62)");
	CHECK(ukt_posix_memalign(&q, 64, SIZE_MAX - 10) == ENOMEM, "posix_memalign huge");
	ukt_errno = 0;
	CHECK(!ukt_realloc(p, SIZE_MAX - 8) && ukt_errno == ENOMEM && intact(p, 1000, 7),
	      "realloc huge must fail and keep the block");
	CHECK(!ukt_realloc(p, 40 * MiB + 100 * MiB) && intact(p, 1000, 7),
	      "realloc beyond the heap must fail and keep the block");
	q = ukt_malloc(1000);
	CHECK(q != NULL, "heap unusable after out-of-memory");
	ukt_free(q);
	ukt_free(p);
	CHECK(ukt_uk_heap_used() == used, "used %zu, expected %zu", ukt_uk_heap_used(), used);
}

/* Fills the heap to exhaustion, then proves freed space is found again. */
static void test_exhaustion(void)
{
	size_t cap = (LEN_A + LEN_B) / 4000 + 16, n = 0, nsmall = 0, i, used0 = ukt_uk_heap_used();
	void **big = calloc(cap, sizeof(void *)), **small = calloc(4096, sizeof(void *)), *p;
	int adjacent = -1;

	while (n < cap && (big[n] = ukt_malloc(4000)))
		n++;
	while (nsmall < 4096 && (small[nsmall] = ukt_malloc(1)))
		nsmall++;
	CHECK(n > (LEN_A + LEN_B) / 4016 - 16 && nsmall < 4096, "exhaustion: %zu blocks, %zu small",
	      n, nsmall);
	ukt_errno = 0;
	CHECK(!ukt_malloc(0) && ukt_errno == ENOMEM, "heap should be exhausted");
	p = big[n / 2];
	ukt_free(p);
	CHECK(ukt_malloc(4000) == p, "the freed block is not reused");
	CHECK(!ukt_malloc(1), "heap should be exhausted again");
	for (i = 0; i + 1 < n; i++)
		if ((char *)big[i + 1] == (char *)big[i] + 4016) {
			adjacent = (int)i;
			break;
		}
	CHECK(adjacent >= 0, "no two adjacent blocks");
	if (adjacent >= 0) {
		ukt_free(big[adjacent]);
		ukt_free(big[adjacent + 1]);
		p = ukt_malloc(8016);
		CHECK(p == big[adjacent], "two freed neighbours did not merge: %p", p);
		big[adjacent] = p;
		big[adjacent + 1] = NULL;
	}
	for (i = 0; i < n; i++)
		ukt_free(big[i]);
	for (i = 0; i < nsmall; i++)
		ukt_free(small[i]);
	CHECK(ukt_uk_heap_used() == used0, "after exhaustion: used %zu, expected %zu",
	      ukt_uk_heap_used(), used0);
	free(big);
	free(small);
}

struct slot {
	unsigned char *p;
	size_t n;
	uint64_t key;
};

/* Random malloc/calloc/aligned/realloc/free on NSLOTS slots; (small): blocks of at most 256
 * bytes aligned to at most 256. */
static void test_stress(uint64_t seed, int small)
{
	static struct slot slots[NSLOTS];
	size_t used0 = ukt_uk_heap_used(), i;
	unsigned long bad_pattern = 0, bad_place = 0, bad_errno = 0, bad_zero = 0, oom = 0;
	unsigned long nalloc = 0, nfree = 0, nrealloc = 0, id = 0;
	int op;

	rng = seed;
	for (op = 0; op < NOPS; op++) {
		struct slot *s = &slots[next() % NSLOTS];
		size_t n = small ? next() % 257 : rnd_size(), al = 16;
		unsigned char *p = NULL;
		int kind = (int)(next() % 10), rc = 0;

		if (s->p && next() % 3) {
			bad_pattern += !intact(s->p, s->n, s->key);
			ukt_free(s->p);
			s->p = NULL;
			nfree++;
			continue;
		}
		if (s->p) {
			ukt_errno = 0;
			bad_pattern += !intact(s->p, s->n, s->key);
			p = ukt_realloc(s->p, n);
			nrealloc++;
			if (!p) {
				oom++;
				bad_errno += ukt_errno != ENOMEM;
				bad_pattern += !intact(s->p, s->n, s->key);
				continue;
			}
			bad_pattern += !intact(p, n < s->n ? n : s->n, s->key);
		} else {
			ukt_errno = 0;
			nalloc++;
			if (kind < 5) {
				p = ukt_malloc(n);
			} else if (kind < 7) {
				size_t m = 1 + next() % 8;
				n = n / m * m;
				p = ukt_calloc(n / m, m);
				bad_zero += p && !all_zero(p, n);
			} else if (kind == 7) {
				al = (size_t)1 << (4 + next() % (small ? 5 : 18));
				p = ukt_aligned_alloc(al, n);
			} else if (kind == 8) {
				al = (size_t)1 << (3 + next() % (small ? 6 : 10));
				rc = ukt_posix_memalign((void **)&p, al, n);
				bad_errno += rc != (p ? 0 : ENOMEM);
			} else {
				p = ukt_realloc(NULL, n);
			}
			if (!p) {
				oom++;
				bad_errno += kind != 8 && ukt_errno != ENOMEM;
				continue;
			}
		}
		bad_place += (uintptr_t)p % (al < 16 ? 16 : al) || !in_heap(p, n) ||
		             ukt_malloc_usable_size(p) < n;
		s->p = p;
		s->n = n;
		s->key = (uintptr_t)p ^ (++id * 0x2545f4914f6cdd1dull);
		fill(p, n, s->key);
	}
	for (i = 0; i < NSLOTS; i++) {
		if (slots[i].p) {
			bad_pattern += !intact(slots[i].p, slots[i].n, slots[i].key);
			ukt_free(slots[i].p);
			slots[i].p = NULL;
		}
	}
	printf("stress%s: %d ops: %lu allocs, %lu reallocs, %lu frees, %lu out of memory\n",
	       small ? " (small)" : "", NOPS, nalloc, nrealloc, nfree, oom);
	CHECK(bad_pattern == 0, "stress: %lu blocks lost their contents", bad_pattern);
	CHECK(bad_place == 0, "stress: %lu blocks misaligned, outside the heap or short",
	      bad_place);
	CHECK(bad_errno == 0, "stress: %lu failures without ENOMEM", bad_errno);
	CHECK(bad_zero == 0, "stress: %lu calloc blocks not zeroed", bad_zero);
	CHECK(oom < NOPS / 100, "stress: %lu out of memory of %d ops", oom, NOPS);
	CHECK(ukt_uk_heap_used() == used0, "stress: used %zu after freeing all, expected %zu",
	      ukt_uk_heap_used(), used0);
}

static void panic_double_free_last(void)
{
	void *p = ukt_malloc(largest(regions[2].base, regions[2].len));

	ukt_free(p);
	ukt_free(p);
}

/* Pages of [p, p + len) the process has touched. */
static size_t resident(unsigned char *p, size_t len, size_t pg)
{
	static unsigned char vec[LEN_C / 4096 + 1];
	size_t i, n = 0;

	if (len / pg > sizeof(vec) || mincore(p, len, vec) < 0)
		return (size_t)-1;
	for (i = 0; i < len / pg; i++)
		n += vec[i] & 1;
	return n;
}

/*
 * A unikernel's heap region is all guest RAM, and the first touch of a page makes the host
 * zero it (a 2 MiB one with huge pages): the heap must touch only what it hands out and the
 * headers it splits off. Region C's last two pages are PROT_NONE inside the region, so any
 * access to its end before a block reaching there is handed out kills the test. Regions A and
 * B are full throughout, so every block comes from C.
 */
static void test_untouched_end(unsigned char *map, size_t pg, uint64_t seed)
{
	unsigned char *base = map + OFF_C, *end = map + LEN_C, *p, *q, *r, *s;
	size_t lc = largest(base, LEN_C - OFF_C), total0, n;
	void *a = ukt_malloc(largest(span + OFF_A, LEN_A));
	void *b = ukt_malloc(largest(span + OFF_B, LEN_B));
	void *v[8];
	int i, rc;

	CHECK(a && b && !ukt_malloc(0), "untouched end: regions A and B should be full");
	total0 = ukt_uk_heap_total();
	heap_add(base, LEN_C - OFF_C);
	n = resident(map, LEN_C, pg);
	CHECK(n == 1, "heap_add touched %zu pages, expected 1", n);
	CHECK(ukt_uk_heap_total() - total0 == lc + 16, "region C adds %zu bytes, expected %zu",
	      ukt_uk_heap_total() - total0, lc + 16);

	/* every entry point, on small blocks */
	p = ukt_malloc(1);
	q = ukt_calloc(10, 30);
	r = ukt_malloc(100);
	CHECK(p && q && r && all_zero(q, 300) && in_heap(p, 1) && (unsigned char *)p > base &&
	              (unsigned char *)r < base + 4096,
	      "small blocks in C: %p %p %p", p, q, r);
	fill(r, 100, 3);
	ukt_free(q);
	s = ukt_realloc(r, 200); /* grows in place into the rest of C */
	CHECK(s == r && intact(s, 100, 3), "realloc grow in place: %p -> %p", r, s);
	s = ukt_realloc(r, 50);
	CHECK(s == r && intact(s, 50, 3), "realloc shrink: %p -> %p", r, s);
	v[0] = ukt_malloc(400); /* right after r, which cannot grow now: it moves */
	s = ukt_realloc(r, 300);
	CHECK(s && s != r && intact(s, 50, 3), "realloc move: %p -> %p", r, s);
	r = s;
	v[1] = ukt_aligned_alloc(64, 50);
	v[2] = ukt_aligned_alloc(4096, 100);
	v[3] = ukt_memalign(256, 1);
	rc = ukt_posix_memalign(&v[4], 32, 70);
	v[5] = ukt_realloc(NULL, 0);
	v[6] = ukt_calloc(1, 0);
	v[7] = ukt_malloc(0);
	CHECK(rc == 0 && (uintptr_t)v[1] % 64 == 0 && (uintptr_t)v[2] % 4096 == 0 &&
	              (uintptr_t)v[3] % 256 == 0 && (uintptr_t)v[4] % 32 == 0,
	      "aligned blocks in C: %p %p %p %p", v[1], v[2], v[3], v[4]);
	for (i = 0; i < 8; i++) {
		CHECK(v[i] && in_heap(v[i], 1) && (unsigned char *)v[i] < base + 3 * 4096,
		      "block %d in C at %p", i, v[i]);
		memset(v[i], 0x5a, ukt_malloc_usable_size(v[i]));
	}
	for (i = 7; i >= 0; i -= 2)
		ukt_free(v[i]);
	ukt_free(p);
	ukt_free(r);
	for (i = 0; i < 8; i += 2)
		ukt_free(v[i]);
	n = ukt_uk_heap_used() - (ukt_uk_heap_total() - lc - 16);
	CHECK(n == 0, "C: %zu bytes still used after freeing all", n);
	test_stress(seed ^ 0xc, 1);

	/* the end back: C is one block that malloc hands out whole */
	CHECK(mprotect(end - 2 * pg, 2 * pg, PROT_READ | PROT_WRITE) == 0, "mprotect: %s",
	      strerror(errno));
	p = ukt_malloc(lc);
	CHECK(p && p == (unsigned char *)(((uintptr_t)base + 31) & ~(uintptr_t)15) &&
	              ukt_uk_heap_used() == ukt_uk_heap_total() && !ukt_malloc(0),
	      "whole C: %p, used %zu of %zu", p, ukt_uk_heap_used(), ukt_uk_heap_total());
	if (p)
		memset(p, 0x77, lc);
	ukt_free(p);

	/* the block at the end: split, handed out, shrunk, freed in either order, merged */
	p = ukt_malloc(lc - 4096);
	q = ukt_malloc(4096 - 16);
	CHECK(p && q == p + lc - 4096 + 16 && q + 4096 - 16 == end && !ukt_malloc(0),
	      "end block: %p %p", p, q);
	if (q)
		memset(q, 0x33, 4096 - 16);
	CHECK(!ukt_realloc(q, 5000) && q[4095 - 16] == 0x33, "the end block cannot grow");
	CHECK(ukt_realloc(q, 100) == q, "the end block shrinks in place");
	r = ukt_malloc(4096 - 16 - 128);
	CHECK(r == q + 128 && !ukt_malloc(0), "the end after a shrink: %p", r);
	ukt_free(r);
	ukt_free(q);
	CHECK(ukt_malloc(4096 - 16) == q, "the end block is one block again");
	ukt_free(p);
	ukt_free(q);
	p = ukt_malloc(lc - 4096);
	q = ukt_malloc(4096 - 16);
	ukt_free(q);
	ukt_free(p);
	p = ukt_malloc(lc);
	CHECK(p != NULL, "C did not merge back into one block");
	ukt_free(p);
	expect_panic("double free of a region's last block", panic_double_free_last,
	             "free: double free");

	ukt_free(a);
	ukt_free(b);
	CHECK(ukt_uk_heap_used() == 0, "untouched end: used %zu, expected 0", ukt_uk_heap_used());
}

/* After everything is freed, each region is one block again. */
static void test_whole_regions(const char *when)
{
	size_t la = largest(span + OFF_A, LEN_A), lb = largest(span + OFF_B, LEN_B);
	void *a = ukt_malloc(la), *b = ukt_malloc(lb);

	CHECK(a && b, "%s: whole-region allocations failed: %p %p", when, a, b);
	CHECK(ukt_uk_heap_used() == ukt_uk_heap_total(), "%s: used %zu of %zu with all allocated",
	      when, ukt_uk_heap_used(), ukt_uk_heap_total());
	CHECK(!ukt_malloc(0), "%s: the heap should be full", when);
	ukt_free(a);
	ukt_free(b);
	CHECK(ukt_uk_heap_used() == 0, "%s: used %zu, expected 0", when, ukt_uk_heap_used());
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x75b0c0ffeeull;
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *map_c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("test_malloc: seed 0x%" PRIx64 " (pass another as argv[1])\n", seed);
	span = mmap(NULL, SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (span == MAP_FAILED) {
		perror("mmap");
		return 77;
	}
	map_c = mmap(NULL, LEN_C, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map_c == MAP_FAILED || pg <= 0 || LEN_C % (size_t)pg) {
		perror("mmap");
		return 77;
	}
	/* Small pages, so mincore() counts the pages the heap touched (fails without THP). */
	madvise(map_c, LEN_C, MADV_NOHUGEPAGE);
	if (mprotect(span + 48 * MiB, OFF_B - 48 * MiB, PROT_NONE) ||
	    mprotect(span + OFF_B + LEN_B, SPAN - OFF_B - LEN_B, PROT_NONE) ||
	    mprotect(map_c + LEN_C - 2 * pg, 2 * (size_t)pg, PROT_NONE)) {
		perror("mprotect");
		return 77;
	}
	heap_add(span + OFF_A, LEN_A);
	heap_add(span + OFF_B, LEN_B);
	CHECK(ukt_uk_heap_used() == 0, "fresh heap: used %zu", ukt_uk_heap_used());
	CHECK(ukt_uk_heap_total() <= LEN_A + LEN_B && ukt_uk_heap_total() > LEN_A + LEN_B - 128,
	      "total %zu", ukt_uk_heap_total());
	test_whole_regions("fresh");
	test_basics();
	test_oom();
	test_exhaustion();
	test_stress(seed, 0);
	test_whole_regions("after stress");
	test_untouched_end(map_c, (size_t)pg, seed);

	expect_panic("double free", panic_double_free, "free: double free");
	expect_panic("double free after merge", panic_double_free_merged, "free: double free");
	expect_panic("free of a stack pointer", panic_stack_pointer, "free: ");
	expect_panic("free of an interior pointer", panic_interior_pointer, "free: ");
	expect_panic("overrun into the next header", panic_overrun, "written past its end");
	expect_panic("smashed header", panic_header_smash, "free: ");
	expect_panic("realloc of a freed block", panic_realloc_freed, "realloc: double free");
	expect_panic("free-list link overwritten", panic_use_after_free, "free list corrupted");

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
