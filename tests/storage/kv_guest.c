/* Storage test guest: a persistent counter, and numbered records committed one by one until the VMM
 * is killed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uk/block.h>
#include <uk/kv.h>

static uint8_t val[2048], got[2048];

/* Record (i)'s value: its length and bytes follow from (i). */
static size_t record(unsigned i, uint8_t *p)
{
	size_t len = 100 + i * 37 % 900;

	for (size_t k = 0; k < len; k++)
		p[k] = (uint8_t)(i * 13 + k);
	return len;
}

static struct uk_kv *open_store(void)
{
	struct uk_block *dev;
	struct uk_kv *kv;
	uk_result_t r;

	if (uk_block_acquire(NULL, &dev, NULL) != UK_OK) {
		printf("FAIL: no block device\n");
		exit(1);
	}
	r = uk_kv_mount(dev, &kv);
	if (r == UK_ENOENT) {
		printf("formatting a new store\n");
		r = uk_kv_format(dev);
		if (r == UK_OK)
			r = uk_kv_mount(dev, &kv);
	}
	if (r != UK_OK) {
		printf("FAIL: mount: %d\n", (int)r);
		exit(1);
	}
	return kv;
}

/* Every record 1..n there, each whole; returns n (the records are numbered without gaps). */
static unsigned verify(struct uk_kv *kv)
{
	unsigned n = 0;
	char key[32];

	for (;;) {
		size_t len = 0, want;

		snprintf(key, sizeof(key), "rec/%08u", n + 1);
		if (uk_kv_get(kv, key, got, sizeof(got), &len) == UK_ENOENT)
			break;
		want = record(n + 1, val);
		if (len != want || memcmp(got, val, len)) {
			printf("FAIL: record %u is damaged (%zu bytes, want %zu)\n", n + 1, len,
			       want);
			exit(1);
		}
		n++;
	}
	snprintf(key, sizeof(key), "rec/%08u", n + 2);
	if (uk_kv_exists(kv, key, NULL) == UK_OK) {
		printf("FAIL: record %u exists after a gap\n", n + 2);
		exit(1);
	}
	return n;
}

/* usage: kv_guest counter | records | verify */
int main(int argc, char **argv)
{
	struct uk_kv *kv;

	if (argc != 2) {
		printf("usage: kv_guest counter|records|verify\n");
		return 2;
	}
	kv = open_store();
	if (!strcmp(argv[1], "counter")) {
		unsigned long long c = 0;
		size_t len = 0;

		if (uk_kv_get(kv, "counter", &c, sizeof(c), &len) == UK_OK && len != sizeof(c)) {
			printf("FAIL: counter has %zu bytes\n", len);
			return 1;
		}
		c++;
		if (uk_kv_put(kv, "counter", &c, sizeof(c)) != UK_OK || uk_kv_commit(kv) != UK_OK) {
			printf("FAIL: commit\n");
			return 1;
		}
		printf("count %llu\n", c);
	} else {
		unsigned n = verify(kv);

		printf("verified %u records\n", n);
		if (!strcmp(argv[1], "records")) {
			for (unsigned i = n + 1;; i++) {
				char key[32];
				uk_result_t r;

				snprintf(key, sizeof(key), "rec/%08u", i);
				r = uk_kv_put(kv, key, val, record(i, val));
				if (r == UK_OK)
					r = uk_kv_commit(kv);
				if (r != UK_OK) {
					printf("FAIL: commit %u: %d\n", i, (int)r);
					return 1;
				}
				printf("committed %u\n", i);
			}
		}
	}
	uk_kv_unmount(kv);
	printf("SUCCESS\n");
	return 0;
}
