/* Fuzz target: the key-value store's mount and recovery (uk/kv.h) on a device image of arbitrary
 * bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv_file.h"

#define IMG (32u * 1024u)

static uint8_t img[IMG];

static uk_result_t rd(struct uk_block *b, uint64_t off, void *buf, size_t size)
{
	(void)b;
	memcpy(buf, img + off, size);
	return UK_OK;
}

static uk_result_t wr(struct uk_block *b, uint64_t off, const void *buf, size_t size)
{
	(void)b;
	memcpy(img + off, buf, size);
	return UK_OK;
}

static uk_result_t fl(struct uk_block *b)
{
	(void)b;
	return UK_OK;
}

static const struct uk_block_ops ops = {rd, wr, fl};

/* Reads every key the listing names: sizes must agree with what get returns. */
static int visit(const char *key, size_t len, void *arg)
{
	static uint8_t buf[IMG];
	struct uk_kv *kv = arg;
	size_t got = 0;

	if (uk_kv_get(kv, key, buf, sizeof(buf), &got) != UK_OK || got != len)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uk_block dev = {.ops = &ops, .info = {IMG, 512, 0, 1, "fuzz"}};
	struct uk_kv *kv;

	memset(img, 0, IMG);
	memcpy(img, data, size < IMG ? size : IMG);
	/* Inputs of odd length go through the block cache (a small one: evictions too); it is
	 * emptied first, as (dev) has the last input's address. */
	dev.cache = (int)(size & 1);
	uk_block_cache_limit(dev.cache ? 8 * 4096 : 0);
	if (uk_kv_mount(&dev, &kv) != UK_OK)
		return 0;
	uk_kv_list(kv, NULL, visit, kv);
	/* Recovery must leave a store that takes a commit and mounts again with it. */
	if (uk_kv_put(kv, "fuzz/key", "value", 5) == UK_OK && uk_kv_commit(kv) == UK_OK) {
		uint8_t v[8];
		size_t n = 0;

		uk_kv_unmount(kv);
		if (uk_kv_mount(&dev, &kv) != UK_OK)
			abort();
		if (uk_kv_get(kv, "fuzz/key", v, sizeof(v), &n) != UK_OK || n != 5 ||
		    memcmp(v, "value", 5))
			abort();
		uk_kv_list(kv, NULL, visit, kv);
	}
	uk_kv_unmount(kv);
	return 0;
}
