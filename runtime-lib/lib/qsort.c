/* qsort() as an introsort (quicksort, heapsort past a depth limit, insertion sort), bsearch(). */
#include <stdint.h>
#include <stdlib.h>

typedef int (*cmp_fn)(const void *, const void *);

static void swap(char *a, char *b, size_t size)
{
	for (; size >= 8; size -= 8, a += 8, b += 8) {
		uint64_t t, u;
		__builtin_memcpy(&t, a, 8);
		__builtin_memcpy(&u, b, 8);
		__builtin_memcpy(a, &u, 8);
		__builtin_memcpy(b, &t, 8);
	}
	for (; size > 0; size--, a++, b++) {
		char t = *a;
		*a = *b;
		*b = t;
	}
}

static void sift_down(char *base, size_t root, size_t n, size_t size, cmp_fn cmp)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && cmp(base + child * size, base + (child + 1) * size) < 0)
			child++;
		if (cmp(base + root * size, base + child * size) >= 0)
			return;
		swap(base + root * size, base + child * size, size);
	}
}

static void heap_sort(char *base, size_t n, size_t size, cmp_fn cmp)
{
	for (size_t i = n / 2; i > 0; i--)
		sift_down(base, i - 1, n, size, cmp);
	for (size_t end = n - 1; end > 0; end--) {
		swap(base, base + end * size, size);
		sift_down(base, 0, end, size, cmp);
	}
}

static void insertion_sort(char *base, size_t n, size_t size, cmp_fn cmp)
{
	for (size_t i = 1; i < n; i++) {
		for (char *p = base + i * size; p > base && cmp(p - size, p) > 0; p -= size)
			swap(p - size, p, size);
	}
}

/* Sorts (n) elements; recursion only into the smaller part, so the stack stays O(log n). */
static void intro_sort(char *base, size_t n, size_t size, cmp_fn cmp, int depth)
{
	while (n > 12) {
		if (depth-- == 0) {
			heap_sort(base, n, size, cmp);
			return;
		}
		/* Median of first, middle and last as the pivot, kept at base[0]. */
		char *mid = base + n / 2 * size, *last = base + (n - 1) * size;
		if (cmp(mid, base) < 0)
			swap(mid, base, size);
		if (cmp(last, mid) < 0) {
			swap(last, mid, size);
			if (cmp(mid, base) < 0)
				swap(mid, base, size);
		}
		swap(base, mid, size);

		/* Hoare partition; the bounds also keep an inconsistent cmp inside the array. */
		size_t i = 0, j = n;
		for (;;) {
			do
				i++;
			while (i < n && cmp(base + i * size, base) < 0);
			do
				j--;
			while (j > 0 && cmp(base + j * size, base) > 0);
			if (i >= j)
				break;
			swap(base + i * size, base + j * size, size);
		}
		swap(base, base + j * size, size);

		size_t left = j, right = n - j - 1;
		char *rbase = base + (j + 1) * size;
		if (left < right) {
			intro_sort(base, left, size, cmp, depth);
			base = rbase;
			n = right;
		} else {
			intro_sort(rbase, right, size, cmp, depth);
			n = left;
		}
	}
	insertion_sort(base, n, size, cmp);
}

void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	int depth = 0;

	if (n < 2 || size == 0)
		return;
	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	intro_sort(base, n, size, cmp, depth);
}

void *bsearch(const void *key, const void *base, size_t n, size_t size,
              int (*cmp)(const void *, const void *))
{
	const char *lo = base;

	while (n > 0) {
		const char *mid = lo + n / 2 * size;
		int c = cmp(key, mid);
		if (c == 0)
			return (void *)mid;
		if (c > 0) {
			lo = mid + size;
			n -= n / 2 + 1;
		} else {
			n /= 2;
		}
	}
	return NULL;
}
