/* Host tests of uk/kv.h on a memory block device: the API's contract, and crash safety with writes
 * cut off at every possible point, without and with the block cache (lib/block_cache.c) in front.
 */
#include "kv_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/ukt_rand.h"

static int failures;

#define CHECK(c, ...)                                                         \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                         \
			fprintf(stderr, "\n");                                \
			failures++;                                           \
			return -1;                                            \
		}                                                             \
	} while (0)

/* CRC-32C, bitwise: the superblock's checksum, computed independently of the store's table. */
static uint32_t crc32c(const uint8_t *p, size_t len)
{
	uint32_t c = ~0u;

	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

/* --- a memory block device that forgets unflushed writes when it "crashes" --- */

#define BS 512u

struct memdev {
	struct uk_block blk;
	uint8_t *disk;  /* what survives a crash for sure: flushed blocks */
	uint8_t *view;  /* what reads see: every completed write */
	uint8_t *dirty; /* per block: written since the last flush */
	size_t nblocks;
	long writes_left; /* block writes and flushes until the device dies; -1: never */
	long writes;      /* block writes and flushes done */
	long reads;       /* read requests that reached the device */
	int dead;
};

/* Nonzero: md_new puts the block cache in front of its devices (with this limit in bytes). */
static size_t cache_bytes;

int uk_heap_reclaim(size_t want); /* lib/block_cache.c: what a guest's malloc calls */

static uk_result_t md_read(struct uk_block *b, uint64_t off, void *buf, size_t size)
{
	struct memdev *m = b->priv;

	if (m->dead)
		return UK_EUNSPEC;
	m->reads++;
	memcpy(buf, m->view + off, size);
	return UK_OK;
}

/* Block by block, so a cut can fall inside a multi-block write. */
static uk_result_t md_write(struct uk_block *b, uint64_t off, const void *buf, size_t size)
{
	struct memdev *m = b->priv;

	for (size_t i = 0; i < size; i += BS) {
		if (m->dead || m->writes_left == 0) {
			m->dead = 1;
			return UK_EUNSPEC;
		}
		if (m->writes_left > 0)
			m->writes_left--;
		m->writes++;
		memcpy(m->view + off + i, (const uint8_t *)buf + i, BS);
		m->dirty[(off + i) / BS] = 1;
	}
	return UK_OK;
}

static uk_result_t md_flush(struct uk_block *b)
{
	struct memdev *m = b->priv;

	/* A flush is a point of failure too: the cut can fall just before it. */
	if (m->dead || m->writes_left == 0) {
		m->dead = 1;
		return UK_EUNSPEC;
	}
	if (m->writes_left > 0)
		m->writes_left--;
	m->writes++;
	for (size_t i = 0; i < m->nblocks; i++)
		if (m->dirty[i]) {
			memcpy(m->disk + i * BS, m->view + i * BS, BS);
			m->dirty[i] = 0;
		}
	return UK_OK;
}

static const struct uk_block_ops md_ops = {md_read, md_write, md_flush};

static struct memdev *md_new(size_t bytes, const uint8_t *image)
{
	struct memdev *m = calloc(1, sizeof(*m));

	m->nblocks = bytes / BS;
	m->disk = calloc(1, bytes);
	m->view = calloc(1, bytes);
	m->dirty = calloc(1, m->nblocks);
	if (image) {
		memcpy(m->disk, image, bytes);
		memcpy(m->view, image, bytes);
	}
	m->blk.ops = &md_ops;
	m->blk.priv = m;
	m->blk.info.block_size = BS;
	m->blk.info.capacity = bytes;
	m->blk.info.flush = 1;
	m->blk.info.name = "mem";
	m->blk.cache = cache_bytes > 0;
	m->writes_left = -1;
	return m;
}

/* The test changed the device's bytes by hand, behind the cache (which assumes one writer). */
static void md_poked(struct memdev *m)
{
	if (m->blk.cache)
		uk_block_cache_limit(cache_bytes);
}

static void md_free(struct memdev *m)
{
	/* The cache knows devices by address, and the next memdev may get this one's. */
	if (m->blk.cache)
		uk_block_cache_limit(cache_bytes);
	free(m->disk);
	free(m->view);
	free(m->dirty);
	free(m);
}

enum crash { KEEP_NONE, KEEP_ALL, KEEP_SOME };

/* The image a crash leaves: flushed blocks, plus none, all or a random subset of the others. */
static uint8_t *md_crash(const struct memdev *m, enum crash how, uint64_t *rng)
{
	uint8_t *img = malloc(m->nblocks * BS);

	memcpy(img, m->disk, m->nblocks * BS);
	for (size_t i = 0; i < m->nblocks; i++)
		if (m->dirty[i] &&
		    (how == KEEP_ALL || (how == KEEP_SOME && ukt_rand_next(rng) & 1)))
			memcpy(img + i * BS, m->view + i * BS, BS);
	return img;
}

/* --- a model of the store's contents: key i of NKEYS holds (len, seed) or nothing --- */

#define NKEYS 24
struct model {
	int present[NKEYS];
	uint32_t len[NKEYS], seed[NKEYS];
};

static void key_name(int i, char *out)
{
	/* Keys share prefixes so listing by prefix has something to do. */
	sprintf(out, "%s/%02d", i % 3 ? "data" : "meta", i);
}

static void fill(uint8_t *p, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

/* Nonzero unless (kv) holds exactly (m). */
static int check_model(struct uk_kv *kv, const struct model *m)
{
	static uint8_t got[70000], want[70000];
	char key[32];
	size_t len;

	for (int i = 0; i < NKEYS; i++) {
		key_name(i, key);
		uk_result_t r = uk_kv_get(kv, key, got, sizeof(got), &len);

		if (!m->present[i]) {
			if (r != UK_ENOENT)
				return 1;
			continue;
		}
		if (r != UK_OK || len != m->len[i])
			return 1;
		fill(want, m->len[i], m->seed[i]);
		if (memcmp(got, want, len))
			return 1;
	}
	return 0;
}

/*
 * Commit (c) of the workload, staged onto (kv) and applied to (*m): 1 to 6 puts and deletes,
 * values from empty to 60 KB (a few large ones push the store into compaction).
 */
static void stage(struct uk_kv *kv, struct model *m, int c)
{
	uint64_t rng = 0x1234 + (uint64_t)c * 977;
	int n = 1 + (int)(ukt_rand_next(&rng) % 6);
	static uint8_t val[70000];
	char key[32];

	for (int k = 0; k < n; k++) {
		int i = (int)(ukt_rand_next(&rng) % NKEYS);

		key_name(i, key);
		if (m->present[i] && ukt_rand_next(&rng) % 4 == 0) {
			uk_kv_delete(kv, key);
			m->present[i] = 0;
			continue;
		}
		m->present[i] = 1;
		m->len[i] = ukt_rand_next(&rng) % 8 == 0
		                    ? 6000 + (uint32_t)(ukt_rand_next(&rng) % 10000)
		                    : (uint32_t)(ukt_rand_next(&rng) % 1500);
		m->seed[i] = (uint32_t)ukt_rand_next(&rng);
		fill(val, m->len[i], m->seed[i]);
		uk_kv_put(kv, key, val, m->len[i]);
	}
}

#define DEV_BYTES (256u * 1024u)
#define COMMITS 30

/*
 * Every possible cut: the device dies after (cut) block writes, then "loses power" keeping none,
 * all, or some of its unflushed blocks. The store MUST mount and hold the state of the last
 * acknowledged commit, or (if some unflushed blocks survived) of the commit in flight; and
 * commits made after that recovery MUST survive the next mount too.
 */
static int test_crash_every_point(void)
{
	static struct model states[COMMITS + 1];
	struct memdev *m = md_new(DEV_BYTES, NULL);
	struct uk_kv *kv;
	uint8_t *formatted;
	long total;
	int gens = 0, torn_seen = 0, cuts = 0;

	CHECK(uk_kv_format(&m->blk) == UK_OK, "format");
	formatted = malloc(DEV_BYTES);
	memcpy(formatted, m->disk, DEV_BYTES);
	CHECK(uk_kv_mount(&m->blk, &kv) == UK_OK, "mount after format");
	m->writes = 0;
	memset(&states[0], 0, sizeof(states[0]));
	for (int c = 0; c < COMMITS; c++) {
		struct uk_kv_stats st;

		states[c + 1] = states[c];
		stage(kv, &states[c + 1], c);
		uk_result_t r = uk_kv_commit(kv);

		CHECK(r == UK_OK, "commit %d on a healthy device: %s", c, uk_kv_strerror(r));
		uk_kv_stats(kv, &st);
		gens = (int)st.generation;
	}
	CHECK(!check_model(kv, &states[COMMITS]), "contents after the dry run");
	total = m->writes;
	uk_kv_unmount(kv);
	md_free(m);
	CHECK(gens >= 3, "the workload compacted only %d times: make it bigger", gens - 1);
	printf("crash test: %d commits, %ld block writes and flushes, %d compactions; cutting at "
	       "each\n",
	       COMMITS, total, gens - 1);

	for (long cut = 0; cut <= total; cut++) {
		for (int how = KEEP_NONE; how <= KEEP_SOME; how++) {
			uint64_t rng = (uint64_t)cut * 3 + (uint64_t)how;
			struct model after;
			struct memdev *d = md_new(DEV_BYTES, formatted), *r;
			struct uk_kv_stats st;
			uint8_t *img;
			int acked = 0, which;

			CHECK(uk_kv_mount(&d->blk, &kv) == UK_OK, "mount the formatted image");
			d->writes_left = cut;
			for (int c = 0; c < COMMITS; c++) {
				struct model scratch = states[c];

				stage(kv, &scratch, c);
				if (uk_kv_commit(kv) != UK_OK)
					break;
				acked++;
			}
			/* After an I/O error the handle refuses commits. */
			if (acked < COMMITS)
				CHECK(uk_kv_commit(kv) == UK_EUNSPEC || !d->dead,
				      "a broken handle accepted a commit");
			uk_kv_unmount(kv);
			img = md_crash(d, (enum crash)how, &rng);
			md_free(d);
			r = md_new(DEV_BYTES, img);
			free(img);
			CHECK(uk_kv_mount(&r->blk, &kv) == UK_OK,
			      "cut %ld (%d): mount after the crash", cut, how);
			which = !check_model(kv, &states[acked]) ? acked
			        : acked < COMMITS && !check_model(kv, &states[acked + 1])
			                ? acked + 1
			                : -1;
			CHECK(which >= 0,
			      "cut %ld, keep %d: the store holds neither commit %d's state nor the "
			      "next",
			      cut, how, acked);
			CHECK(how != KEEP_NONE || which == acked,
			      "cut %ld: an unflushed commit survived a crash that kept no "
			      "unflushed block",
			      cut);
			uk_kv_stats(kv, &st);
			torn_seen += st.torn > 0;
			/* Life goes on after recovery: two more commits, then one more mount. */
			after = states[which];
			for (int c = 0; c < 2; c++) {
				stage(kv, &after, 1000 + c);
				CHECK(uk_kv_commit(kv) == UK_OK, "cut %ld: commit after recovery",
				      cut);
			}
			uk_kv_unmount(kv);
			CHECK(uk_kv_mount(&r->blk, &kv) == UK_OK, "cut %ld: remount", cut);
			CHECK(!check_model(kv, &after),
			      "cut %ld, keep %d: commits after recovery lost", cut, how);
			uk_kv_unmount(kv);
			md_free(r);
			cuts++;
		}
	}
	free(formatted);
	printf("crash test: %d crashes recovered, %d of them with a torn tail ignored\n", cuts,
	       torn_seen);
	CHECK(torn_seen > 0, "no crash left a torn tail: the test does not reach that path");
	return 0;
}

static int count_cb(const char *key, size_t len, void *arg)
{
	char *out = arg;

	(void)len;
	strcat(out, key);
	strcat(out, ",");
	return 0;
}

static int stop_cb(const char *key, size_t len, void *arg)
{
	(void)key, (void)len;
	return ++*(int *)arg == 2;
}

/* The contract, call by call. */
static int test_api(void)
{
	struct memdev *m = md_new(256 * 1024, NULL);
	struct uk_kv *kv;
	char key[300], list[1024] = "";
	uint8_t buf[64];
	size_t len = 0;
	int n = 0;

	CHECK(uk_kv_mount(&m->blk, &kv) == UK_ENOENT, "mount of a blank device is not ENOENT");
	CHECK(uk_kv_format(&m->blk) == UK_OK, "format");
	CHECK(uk_kv_mount(&m->blk, &kv) == UK_OK, "mount");
	/* Keys: 1 to 255 bytes. */
	CHECK(uk_kv_put(kv, "", "x", 1) == UK_EINVAL, "empty key accepted");
	memset(key, 'k', 256);
	key[256] = 0;
	CHECK(uk_kv_put(kv, key, "x", 1) == UK_EINVAL, "256-byte key accepted");
	CHECK(uk_kv_put(kv, "big", buf, UK_KV_VALUE_MAX + 1) == UK_EINVAL, "oversized value");
	/* Staged changes are visible to this handle, and gone after a rollback. */
	CHECK(uk_kv_put(kv, "b", "bee", 3) == UK_OK, "put b");
	CHECK(uk_kv_put(kv, "a", "", 0) == UK_OK, "put a (empty value)");
	CHECK(uk_kv_exists(kv, "a", &len) == UK_OK && len == 0, "a staged, empty");
	uk_kv_rollback(kv);
	CHECK(uk_kv_exists(kv, "b", NULL) == UK_ENOENT, "b survived a rollback");
	CHECK(uk_kv_put(kv, "b", "bee", 3) == UK_OK && uk_kv_put(kv, "a", "", 0) == UK_OK &&
	              uk_kv_put(kv, "ab", "12345", 5) == UK_OK &&
	              uk_kv_put(kv, "c", "sea", 3) == UK_OK,
	      "puts");
	key[255] = 0;
	CHECK(uk_kv_put(kv, key, "x", 1) == UK_OK, "255-byte key refused");
	CHECK(uk_kv_commit(kv) == UK_OK, "commit");
	/* A short buffer gets a prefix and the full length. */
	CHECK(uk_kv_get(kv, "ab", buf, 2, &len) == UK_OK && len == 5 && !memcmp(buf, "12", 2),
	      "short get");
	CHECK(uk_kv_get(kv, "zz", buf, sizeof(buf), &len) == UK_ENOENT, "absent key");
	CHECK(uk_kv_delete(kv, "zz") == UK_ENOENT, "delete of an absent key");
	/* Listing: byte order, by prefix, staged changes included, stoppable. */
	CHECK(uk_kv_delete(kv, "c") == UK_OK && uk_kv_put(kv, "aa", "1", 1) == UK_OK, "stage");
	uk_kv_list(kv, "a", count_cb, list);
	CHECK(!strcmp(list, "a,aa,ab,"), "list a: %s", list);
	list[0] = 0;
	uk_kv_list(kv, NULL, count_cb, list);
	CHECK(!strncmp(list, "a,aa,ab,b,", 10) && !strstr(list, "c,"), "list all: %s", list);
	uk_kv_list(kv, "", stop_cb, &n);
	CHECK(n == 2, "a nonzero callback return did not stop the listing (%d)", n);
	/* Unmount drops what is staged; commits survive. */
	uk_kv_unmount(kv);
	CHECK(uk_kv_mount(&m->blk, &kv) == UK_OK, "remount");
	CHECK(uk_kv_exists(kv, "c", NULL) == UK_OK && uk_kv_exists(kv, "aa", NULL) == UK_ENOENT,
	      "staged changes outlived the unmount, or a commit was lost");
	CHECK(uk_kv_get(kv, key, buf, sizeof(buf), &len) == UK_OK && len == 1, "long key lost");
	/* A put and delete of a key the store never had stages nothing. */
	CHECK(uk_kv_put(kv, "tmp", "1", 1) == UK_OK && uk_kv_delete(kv, "tmp") == UK_OK, "tmp");
	CHECK(uk_kv_exists(kv, "tmp", NULL) == UK_ENOENT, "tmp still there");
	{
		struct uk_kv_stats before, after;

		uk_kv_stats(kv, &before);
		CHECK(uk_kv_commit(kv) == UK_OK, "empty commit");
		uk_kv_stats(kv, &after);
		CHECK(after.log_bytes == before.log_bytes, "an empty commit wrote to the log");
	}
	/* A value bigger than half the device: ENOSPC, nothing lost, the change still staged. */
	{
		uint8_t *big = calloc(1, 200 * 1024);

		CHECK(uk_kv_put(kv, "huge", big, 200 * 1024) == UK_OK, "stage huge");
		CHECK(uk_kv_commit(kv) == UK_ENOSPC,
		      "a value larger than half the device committed");
		CHECK(uk_kv_exists(kv, "huge", NULL) == UK_OK, "ENOSPC dropped the staged change");
		uk_kv_rollback(kv);
		free(big);
		uk_kv_unmount(kv);
		CHECK(uk_kv_mount(&m->blk, &kv) == UK_OK, "mount after ENOSPC");
		CHECK(uk_kv_exists(kv, "c", NULL) == UK_OK &&
		              uk_kv_exists(kv, "huge", NULL) == UK_ENOENT,
		      "ENOSPC changed the store");
	}
	/* Rewriting one key many times goes through compaction, and the last value wins. */
	for (int i = 0; i < 300; i++) {
		uint8_t v[1000];

		memset(v, i & 0xff, sizeof(v));
		CHECK(uk_kv_put(kv, "counter", v, sizeof(v)) == UK_OK && uk_kv_commit(kv) == UK_OK,
		      "rewrite %d", i);
	}
	uk_kv_unmount(kv);
	CHECK(uk_kv_mount(&m->blk, &kv) == UK_OK, "mount after rewrites");
	{
		struct uk_kv_stats st;

		uk_kv_stats(kv, &st);
		CHECK(st.generation > 2,
		      "300 rewrites of 1000 bytes did not compact a 128 KiB half");
		CHECK(uk_kv_get(kv, "counter", buf, 1, &len) == UK_OK && len == 1000 &&
		              buf[0] == (299 & 0xff),
		      "the last rewrite did not win");
		CHECK(uk_kv_exists(kv, "c", NULL) == UK_OK, "compaction lost a key");
	}
	uk_kv_unmount(kv);
	/* One damaged superblock: the other one serves. Both damaged: refused, not guessed. */
	{
		uint8_t slot0[BS], slot1[BS];

		memcpy(slot0, m->view, BS);
		memcpy(slot1, m->view + BS, BS);
		m->view[BS + 20] ^= 0xff;
		m->view[20] ^= 0xff;
		md_poked(m);
		/* UK_EUNSPEC as the contract says, not UK_ENOENT ("no store": callers format). */
		CHECK(uk_kv_mount(&m->blk, &kv) == UK_EUNSPEC,
		      "both superblocks damaged: not refused as damaged");
		memcpy(m->view, slot0, BS);
		m->view[BS + 20] ^= 0xff; /* only the newer... or older slot damaged now */
		memcpy(m->view + BS, slot1, BS);
		m->view[BS + 20] ^= 0xff;
		md_poked(m);
		CHECK(uk_kv_mount(&m->blk, &kv) == UK_OK,
		      "one damaged superblock refused the mount");
		uk_kv_unmount(kv);
		memcpy(m->view + BS, slot1, BS);
		md_poked(m);
		/* A newer format version (its checksum right): refused, not misread. */
		for (int slot = 0; slot < 2; slot++) {
			uint8_t *sb = m->view + slot * BS;
			uint32_t c;

			sb[8] = 9;
			c = crc32c(sb, 48);
			memcpy(sb + 48, &c, 4); /* little-endian host */
		}
		md_poked(m);
		CHECK(uk_kv_mount(&m->blk, &kv) == UK_EUNSPEC, "a superblock of version 9 mounted");
	}
	/* Read-only devices cannot be formatted. */
	m->blk.info.read_only = 1;
	CHECK(uk_kv_format(&m->blk) == UK_EINVAL, "format of a read-only device");
	md_free(m);
	return 0;
}

/*
 * The block cache against a model: random reads and writes of 1 to 128 blocks (whole pages and
 * parts of them, the device's tail after its last whole page) on a device twice the cache's size,
 * each read compared with what the device holds; writes that fail part-way (the device dies, then
 * comes back) must not leave the cache holding what the device does not; the heap's reclaim
 * hook empties it. Then the store's tests run again with the cache in front.
 */
static int test_cache(void)
{
	const size_t bytes = 512u * 1024u + 3 * BS; /* a tail of three blocks: never cached */
	struct memdev *m;
	static uint8_t buf[UK_BLOCK_IO_MAX], model[512u * 1024u + 3 * BS];
	uint64_t rng = 42;
	long hits0, reads_before;

	cache_bytes = 256u * 1024u;
	uk_block_cache_limit(cache_bytes);
	m = md_new(bytes, NULL);
	for (int i = 0; i < 20000; i++) {
		uint64_t nb = 1 + ukt_rand_next(&rng) % (UK_BLOCK_IO_MAX / BS);
		uint64_t blk = ukt_rand_next(&rng) % (bytes / BS);
		uint64_t off = blk * BS, size;
		int op = (int)(ukt_rand_next(&rng) % 10);

		if (blk + nb > bytes / BS)
			nb = bytes / BS - blk;
		size = nb * BS;
		if (op < 6) {
			CHECK(uk_block_read(&m->blk, off, buf, size) == UK_OK, "read %d", i);
			CHECK(!memcmp(buf, m->view + off, size),
			      "step %d: a read at %llu (%llu bytes) differs from the device", i,
			      (unsigned long long)off, (unsigned long long)size);
			continue;
		}
		for (uint64_t k = 0; k < size; k++)
			buf[k] = (uint8_t)ukt_rand_next(&rng);
		if (op == 9) /* the device dies inside this write, then works again */
			m->writes_left = (long)(ukt_rand_next(&rng) % nb);
		if (uk_block_write(&m->blk, off, buf, size) == UK_OK) {
			CHECK(op != 9, "step %d: a write the device cut off returned UK_OK", i);
			memcpy(model + off, buf, size);
		} else {
			CHECK(op == 9, "step %d: a healthy write failed", i);
			memcpy(model, m->view, bytes); /* the blocks before the cut landed */
			m->dead = 0;
			m->writes_left = -1;
		}
		CHECK(!memcmp(model, m->view, bytes), "step %d: the model lost track", i);
	}
	CHECK(m->blk.cache_hits > 1000, "the cache alone served only %llu of ~12000 reads",
	      (unsigned long long)m->blk.cache_hits);
	/* A page's worth read twice: the second read asks the device nothing. */
	reads_before = m->reads;
	hits0 = (long)m->blk.cache_hits;
	CHECK(uk_block_read(&m->blk, 8192, buf, 8192) == UK_OK, "read");
	CHECK(uk_block_read(&m->blk, 8192 + BS, buf, 4096) == UK_OK, "read");
	CHECK(m->reads <= reads_before + 1 && (long)m->blk.cache_hits >= hits0 + 1,
	      "a cached page was read from the device again");
	/* The tail (past the last whole page) goes straight to the device every time. */
	reads_before = m->reads;
	CHECK(uk_block_read(&m->blk, bytes - 2 * BS, buf, BS) == UK_OK &&
	              uk_block_read(&m->blk, bytes - 2 * BS, buf, BS) == UK_OK,
	      "tail reads");
	CHECK(m->reads == reads_before + 2 && !memcmp(buf, m->view + bytes - 2 * BS, BS),
	      "tail reads: %ld device reads", m->reads - reads_before);
	/* Memory pressure: reclaim gives pages back until none are left, reads stay right. */
	CHECK(uk_heap_reclaim(1) == 1, "reclaim with a full cache freed nothing");
	while (uk_heap_reclaim(1 << 20))
		;
	reads_before = m->reads;
	CHECK(uk_block_read(&m->blk, 8192, buf, 8192) == UK_OK &&
	              !memcmp(buf, m->view + 8192, 8192),
	      "read after reclaim");
	CHECK(m->reads == reads_before + 1, "a read after the cache was emptied was not a miss");
	/* Limit 0: no cache, every read is the device's. */
	uk_block_cache_limit(0);
	reads_before = m->reads;
	for (int i = 0; i < 3; i++)
		CHECK(uk_block_read(&m->blk, 0, buf, 4096) == UK_OK, "read");
	CHECK(m->reads == reads_before + 3, "limit 0 still cached");
	uk_block_cache_limit(cache_bytes);
	md_free(m);
	return 0;
}

int main(void)
{
	test_api();
	test_crash_every_point();
	if (!test_cache()) {
		/* The store's contract and its crash safety hold the same with the cache in front.
		 */
		printf("again with the block cache in front\n");
		test_api();
		test_crash_every_point();
	}
	if (failures) {
		printf("%d failure(s)\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
