/* bench/storage.sh's workload: 4 KiB puts with a commit every 64, then reads of every key, on the
 * uk/kv.h store; built for a guest (ukcc, blk0) and for the host (ukkv_host, a file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "uk/block.h"
#include "uk/kv.h"
#ifdef STORAGE_BENCH_HOST
#include <time.h>
#include "kv_file.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#else
#define now_ns uk_time_monotonic_ns
#endif

#define VALUE 4096
#define BATCH 64

static unsigned char val[VALUE], got[VALUE];

static int fail(const char *what, uk_result_t r)
{
	printf("FAIL: %s: %d\n", what, (int)r);
	return 1;
}

/* usage: storage_bench RECORDS [FILE (host only)]; prints "puts/s N reads/s M inorder/s K
 * devreads/get D": the puts (commits included), gets of every key in scattered order, then in the
 * order written; D is the device reads (not served by the block cache) per scattered get. */
int main(int argc, char **argv)
{
	struct uk_block *dev;
	struct uk_kv *kv;
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 4096;
	uint64_t t0, t1, t2, t3, reads, hits;
	uk_result_t r;
	char key[32];

#ifdef STORAGE_BENCH_HOST
	if (argc != 3)
		return printf("usage: storage_bench_host RECORDS FILE\n"), 2;
	if ((r = uk_kv_file_open(argv[2], 0, &dev)) != UK_OK)
		return fail("open", r);
#else
	if ((r = uk_block_acquire("blk0", &dev, NULL)) != UK_OK)
		return fail("no blk0", r);
#endif
	if ((r = uk_kv_format(dev)) != UK_OK || (r = uk_kv_mount(dev, &kv)) != UK_OK)
		return fail("format", r);
	t0 = now_ns();
	for (unsigned i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "rec/%08u", i);
		memset(val, (int)i, sizeof(val));
		if ((r = uk_kv_put(kv, key, val, sizeof(val))) != UK_OK)
			return fail("put", r);
		if ((i + 1) % BATCH == 0 || i + 1 == n)
			if ((r = uk_kv_commit(kv)) != UK_OK)
				return fail("commit", r);
	}
	t1 = now_ns();
	reads = dev->reads;
	hits = dev->cache_hits;
	for (unsigned i = 0; i < n; i++) {
		unsigned k = (unsigned)((i * 2654435761u) % n); /* every key, scattered */
		size_t len = 0;

		snprintf(key, sizeof(key), "rec/%08u", k);
		if ((r = uk_kv_get(kv, key, got, sizeof(got), &len)) != UK_OK)
			return fail("get", r);
		if (len != VALUE || got[0] != (unsigned char)k ||
		    got[VALUE - 1] != (unsigned char)k)
			return fail("get: wrong value", UK_EUNSPEC);
	}
	t2 = now_ns();
	reads = dev->reads - reads - (dev->cache_hits - hits); /* device requests by the gets */
	for (unsigned i = 0; i < n; i++) {
		size_t len = 0;

		snprintf(key, sizeof(key), "rec/%08u", i);
		if ((r = uk_kv_get(kv, key, got, sizeof(got), &len)) != UK_OK)
			return fail("get", r);
		if (len != VALUE || got[0] != (unsigned char)i)
			return fail("get: wrong value", UK_EUNSPEC);
	}
	t3 = now_ns();
	printf("puts/s %llu reads/s %llu inorder/s %llu devreads/get %llu.%02llu\n",
	       (unsigned long long)(n * 1000000000ull / (t1 - t0 + 1)),
	       (unsigned long long)(n * 1000000000ull / (t2 - t1 + 1)),
	       (unsigned long long)(n * 1000000000ull / (t3 - t2 + 1)),
	       (unsigned long long)(reads / n), (unsigned long long)(reads * 100 / n % 100));
	uk_kv_unmount(kv);
#ifdef STORAGE_BENCH_HOST
	uk_kv_file_close(dev);
#endif
	printf("SUCCESS\n");
	return 0;
}
