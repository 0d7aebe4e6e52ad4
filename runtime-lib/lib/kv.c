/* The log-structured key-value store of uk/kv.h (format in docs/storage.md); builds for the guest
 * and the host. */
#include <stdlib.h>
#include <string.h>
#include "uk/kv.h"

#define SB_MAGIC "UKKVSB01"
#define SB_VERSION 1u
#define SB_SIZE 52u
#define REC_MAGIC 0x31524b55u /* "UKR1" little-endian */
#define REC_HDR 32u
#define REC_PUT 1
#define REC_DEL 2
#define REC_COMMIT 3
#define WINDOW UK_BLOCK_IO_MAX
#define CHUNK_MAX (256u * 1024u) /* compaction writes live data in commits of about this size */

/* One key: what the last commit holds, and what is staged on top of it. */
struct entry {
	char *key;
	uint8_t committed; /* present in the last commit, at (off, len) */
	uint8_t staged;    /* 0, REC_PUT (sval, slen) or REC_DEL */
	uint64_t off;      /* absolute byte offset of the committed value */
	uint32_t len;
	uint8_t *sval;
	uint32_t slen;
};

struct uk_kv {
	struct uk_block *dev;
	uint32_t bs;
	uint64_t half, data_start;
	uint64_t gen;  /* generation of the active half */
	int region;    /* the active half: 0 or 1 */
	uint64_t end;  /* bytes of the active half in use (block-aligned) */
	uint32_t seq;  /* last commit number in the active half */
	uint32_t salt; /* this handle's: records it writes carry it */
	int broken;    /* a commit hit an I/O error: refuse more */
	struct entry *ents;
	size_t n, cap, nstaged;
	uint64_t live, commits, torn;
	uint8_t *win; /* read window: WINDOW bytes at win_off (win_len valid) */
	uint64_t win_off;
	size_t win_len;
};

/* --- little-endian fields and CRC-32C (Castagnoli) --- */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* crc_table[k][b]: the CRC of byte b followed by k zero bytes (slicing-by-8). */
static uint32_t crc_table[8][256];

/* CRC-32C, eight bytes per step: about 3.5 times the bytewise speed, natively and under QEMU's
 * TCG (50 us per 4 KiB bytewise there, most of a guest's time per put). */
static uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!crc_table[0][1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			crc_table[0][i] = c;
		}
		for (int k = 1; k < 8; k++)
			for (int i = 0; i < 256; i++)
				crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^
				                  crc_table[0][crc_table[k - 1][i] & 0xff];
	}
	crc = ~crc;
	for (; len >= 8; len -= 8, p += 8) {
		uint32_t lo = crc ^ get32(p), hi = get32(p + 4);

		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* A batch's CRC chain (its commit record's key) with one more record's CRC fed in. */
static uint32_t chain_add(uint32_t chain, uint32_t crc)
{
	uint8_t c[4];

	put32(c, crc);
	return crc32c(chain, c, 4);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static uint64_t rec_size(size_t klen, size_t vlen)
{
	return align_up(REC_HDR + klen + vlen, 8);
}

static uint64_t region_base(const struct uk_kv *kv, int region)
{
	return kv->data_start + (uint64_t)region * kv->half;
}

/* --- device access --- */

/* Reads (len) bytes at byte (off) of the device, any alignment, through the window. A window
 * filled here reads ahead up to WINDOW bytes (the log is read in order at mount and compaction);
 * with (exact), only the blocks (off, len) covers, unless the read starts where the window ends
 * (gets in log order): a get reads its value, not 64 KiB around it. */
static uk_result_t dev_read_n(struct uk_kv *kv, uint64_t off, void *buf, size_t len, int exact)
{
	uint8_t *out = buf;

	while (len) {
		size_t n;

		if (off < kv->win_off || off >= kv->win_off + kv->win_len) {
			uint64_t start = off / kv->bs * kv->bs;
			uint64_t cap = kv->dev->info.capacity;
			size_t want = WINDOW;
			uk_result_t r;

			if (start >= cap)
				return UK_EUNSPEC;
			/* A get right after the window (keys read in log order) reads ahead. */
			if (exact &&
			    !(kv->win_len && start >= kv->win_off &&
			      start <= kv->win_off + kv->win_len + kv->bs) &&
			    align_up(off + len, kv->bs) - start < want)
				want = (size_t)(align_up(off + len, kv->bs) - start);
			if (want > cap - start)
				want = (size_t)(cap - start);
			kv->win_len = 0;
			r = uk_block_read(kv->dev, start, kv->win, want);
			if (r != UK_OK)
				return r;
			kv->win_off = start;
			kv->win_len = want;
		}
		n = (size_t)(kv->win_off + kv->win_len - off);
		if (n > len)
			n = len;
		memcpy(out, kv->win + (off - kv->win_off), n);
		out += n;
		off += n;
		len -= n;
	}
	return UK_OK;
}

static uk_result_t dev_read(struct uk_kv *kv, uint64_t off, void *buf, size_t len)
{
	return dev_read_n(kv, off, buf, len, 0);
}

/* Writes (len) bytes (a multiple of the block size) at block-aligned (off), then drops the window.
 */
static uk_result_t dev_write(struct uk_kv *kv, uint64_t off, const uint8_t *buf, size_t len)
{
	kv->win_len = 0;
	while (len) {
		size_t n = len < WINDOW ? len : WINDOW;
		uk_result_t r = uk_block_write(kv->dev, off, buf, n);

		if (r != UK_OK)
			return r;
		off += n;
		buf += n;
		len -= n;
	}
	return UK_OK;
}

/* --- superblocks: two slots (blocks 0 and 1); generation g lives in slot g % 2 --- */

static uk_result_t sb_write(struct uk_kv *kv, uint64_t gen, int region)
{
	uint8_t *b = calloc(1, kv->bs);
	uk_result_t r;

	if (!b)
		return UK_ENOMEM;
	memcpy(b, SB_MAGIC, 8);
	put32(b + 8, SB_VERSION);
	put32(b + 12, kv->bs);
	put64(b + 16, gen);
	put32(b + 24, (uint32_t)region);
	put32(b + 28, 0);
	put64(b + 32, kv->half);
	put64(b + 40, kv->data_start);
	put32(b + 48, crc32c(0, b, 48));
	r = dev_write(kv, (gen % 2) * kv->bs, b, kv->bs);
	free(b);
	return r;
}

/* Reads slot (i): 1 valid (fields set), 0 empty (no magic), 2 damaged (the magic, but a bad
 * checksum or field), -1 I/O error, -2 newer format. */
static int sb_read(struct uk_kv *kv, int i, uint64_t *gen, int *region, uint64_t *half,
                   uint64_t *start)
{
	uint8_t b[SB_SIZE];

	if (dev_read(kv, (uint64_t)i * kv->bs, b, sizeof(b)) != UK_OK)
		return -1;
	if (memcmp(b, SB_MAGIC, 8))
		return 0;
	if (get32(b + 48) != crc32c(0, b, 48))
		return 2;
	if (get32(b + 8) != SB_VERSION)
		return -2;
	*gen = get64(b + 16);
	*region = (int)get32(b + 24);
	*half = get64(b + 32);
	*start = get64(b + 40);
	if (get32(b + 12) != kv->bs || *region > 1 || *gen % 2 != (uint64_t)i || !*half ||
	    *half % kv->bs || *start != 2ull * kv->bs ||
	    *start + 2 * *half > kv->dev->info.capacity)
		return 2;
	return 1;
}

/* --- the index: entries sorted by key --- */

/* The position of (key), or where it would go (*found 0). */
static size_t find(const struct uk_kv *kv, const char *key, int *found)
{
	size_t lo = 0, hi = kv->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(kv->ents[mid].key, key);

		if (!c) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

/* The entry for (key), made (empty) if absent; NULL when memory runs out. */
static struct entry *entry_get(struct uk_kv *kv, const char *key)
{
	int found;
	size_t i = find(kv, key, &found);
	char *k;

	if (found)
		return &kv->ents[i];
	if (kv->n == kv->cap) {
		size_t cap = kv->cap ? kv->cap * 2 : 64;
		struct entry *e = realloc(kv->ents, cap * sizeof(*e));

		if (!e)
			return NULL;
		kv->ents = e;
		kv->cap = cap;
	}
	k = strdup(key);
	if (!k)
		return NULL;
	memmove(&kv->ents[i + 1], &kv->ents[i], (kv->n - i) * sizeof(*kv->ents));
	kv->n++;
	memset(&kv->ents[i], 0, sizeof(*kv->ents));
	kv->ents[i].key = k;
	return &kv->ents[i];
}

/* Removes entries that hold nothing, committed or staged. */
static void entries_prune(struct uk_kv *kv)
{
	size_t j = 0;

	for (size_t i = 0; i < kv->n; i++) {
		if (!kv->ents[i].committed && !kv->ents[i].staged) {
			free(kv->ents[i].key);
			continue;
		}
		kv->ents[j++] = kv->ents[i];
	}
	kv->n = j;
}

static void unstage(struct entry *e)
{
	free(e->sval);
	e->sval = NULL;
	e->slen = 0;
	e->staged = 0;
}

/* --- building records --- */

/* Lays out one record at (p) (zeroed, rec_size bytes); returns its CRC. */
static uint32_t rec_build(uint8_t *p, int type, const char *key, size_t klen, const void *val,
                          uint32_t vlen, uint32_t gen, uint32_t seq, uint32_t salt)
{
	uint32_t crc;

	put32(p, REC_MAGIC);
	p[4] = (uint8_t)type;
	p[6] = (uint8_t)klen;
	p[7] = (uint8_t)(klen >> 8);
	put32(p + 8, vlen);
	put32(p + 12, gen);
	put32(p + 16, seq);
	put32(p + 20, salt);
	memcpy(p + REC_HDR, key, klen);
	if (vlen && val && val != p + REC_HDR + klen)
		memcpy(p + REC_HDR + klen, val, vlen);
	crc = crc32c(0, p, 24);
	crc = crc32c(crc, p + REC_HDR, klen + (type == REC_COMMIT ? 0 : vlen));
	put32(p + 24, crc);
	return crc;
}

/* A batch being laid out in memory: records, then a commit record, padded to a block. */
struct batch {
	uint8_t *buf;
	uint64_t len, cap;
	uint32_t count, chain;
};

static int batch_add(struct batch *b, int type, const char *key, const void *val, uint32_t vlen,
                     uint32_t gen, uint32_t seq, uint32_t salt)
{
	size_t klen = strlen(key);
	uint64_t sz = rec_size(klen, vlen);
	uint32_t crc;

	if (b->len + sz > b->cap)
		return -1;
	crc = rec_build(b->buf + b->len, type, key, klen, val, vlen, gen, seq, salt);
	b->chain = chain_add(b->chain, crc);
	b->len += sz;
	b->count++;
	return 0;
}

/* The commit record: its value field is the record count, its key the CRC chain of the batch. */
static void batch_seal(struct batch *b, uint32_t bs, uint32_t gen, uint32_t seq, uint32_t salt)
{
	uint8_t chain[4];

	put32(chain, b->chain);
	rec_build(b->buf + b->len, REC_COMMIT, (const char *)chain, 4, NULL, b->count, gen, seq,
	          salt);
	b->len = align_up(b->len + rec_size(4, 0), bs);
}

/* Room for (payload) bytes of records, the commit record, and one zero block after them. */
static uk_result_t batch_alloc(struct batch *b, uint64_t payload, uint32_t bs)
{
	b->cap = align_up(payload + rec_size(4, 0), bs);
	b->buf = calloc(1, (size_t)(b->cap + bs));
	b->len = 0;
	b->count = 0;
	b->chain = 0;
	return b->buf ? UK_OK : UK_ENOMEM;
}

/* --- mount: scan the active half --- */

struct pending {
	uint64_t off; /* value's absolute offset */
	uint32_t len;
	int type;
	char key[UK_KV_KEY_MAX + 1];
};

/*
 * Reads the record at (pos) of the active half: fills (*p) and (*size), returns 1 if it is
 * whole and belongs to this half's generation, 0 if not (the log ends before it), -1 on I/O error.
 */
static int rec_read(struct uk_kv *kv, uint64_t pos, struct pending *p, uint32_t *seq,
                    uint32_t *salt, uint32_t *crc_out, uint64_t *size)
{
	uint64_t base = region_base(kv, kv->region);
	uint8_t h[REC_HDR];
	uint32_t klen, vlen, crc;
	uint64_t off, left;

	if (pos + REC_HDR > kv->half || dev_read(kv, base + pos, h, REC_HDR) != UK_OK)
		return pos + REC_HDR > kv->half ? 0 : -1;
	if (get32(h) != REC_MAGIC || get32(h + 12) != (uint32_t)kv->gen || h[5] || get32(h + 28))
		return 0;
	p->type = h[4];
	klen = h[6] | (uint32_t)h[7] << 8;
	vlen = get32(h + 8);
	if (p->type < REC_PUT || p->type > REC_COMMIT || !klen || klen > UK_KV_KEY_MAX)
		return 0;
	if (p->type == REC_COMMIT ? klen != 4
	                          : vlen > UK_KV_VALUE_MAX || (p->type == REC_DEL && vlen))
		return 0;
	*size = rec_size(klen, p->type == REC_COMMIT ? 0 : vlen);
	if (pos + *size > kv->half)
		return 0;
	*seq = get32(h + 16);
	*salt = get32(h + 20);
	if (dev_read(kv, base + pos + REC_HDR, p->key, klen) != UK_OK)
		return -1;
	p->key[klen] = 0;
	if (p->type != REC_COMMIT && strlen(p->key) != klen)
		return 0; /* a NUL inside a key */
	crc = crc32c(crc32c(0, h, 24), p->key, klen);
	p->off = base + pos + REC_HDR + klen;
	p->len = vlen;
	if (p->type != REC_COMMIT)
		for (off = p->off, left = vlen; left;) {
			uint8_t chunk[512];
			size_t n = left < sizeof(chunk) ? (size_t)left : sizeof(chunk);

			if (dev_read(kv, off, chunk, n) != UK_OK)
				return -1;
			crc = crc32c(crc, chunk, n);
			off += n;
			left -= n;
		}
	*crc_out = crc;
	return crc == get32(h + 24);
}

/* Applies a verified batch of (n) records to the committed index. */
static uk_result_t apply(struct uk_kv *kv, const struct pending *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct entry *e = entry_get(kv, ps[i].key);

		if (!e)
			return UK_ENOMEM;
		if (e->committed)
			kv->live -= rec_size(strlen(e->key), e->len);
		e->committed = ps[i].type == REC_PUT;
		e->off = ps[i].off;
		e->len = ps[i].len;
		if (e->committed)
			kv->live += rec_size(strlen(e->key), e->len);
	}
	entries_prune(kv);
	return UK_OK;
}

/* Reads the active half's complete commits into the index; sets end, seq and torn. */
static uk_result_t scan(struct uk_kv *kv)
{
	struct pending *ps = NULL;
	size_t nps = 0, cap = 0;
	uint64_t pos = 0;
	uk_result_t r = UK_OK;

	kv->end = 0;
	kv->seq = 0;
	for (;;) {
		uint32_t salt0 = 0, chain = 0;
		uint64_t p = pos;
		int done = 0;

		nps = 0;
		/* One batch: records with one (seq, salt), the next commit number, then its commit.
		 */
		for (;;) {
			struct pending rec;
			uint32_t seq, salt, crc;
			uint64_t size;
			int ok = rec_read(kv, p, &rec, &seq, &salt, &crc, &size);

			if (ok < 0) {
				r = UK_EUNSPEC;
				goto out;
			}
			if (!ok)
				break;
			if (p == pos)
				salt0 = salt; /* the batch's first record names its writer */
			if (seq != kv->seq + 1 || salt != salt0)
				break;
			if (rec.type == REC_COMMIT) {
				uint8_t c[4];

				put32(c, chain);
				if (rec.len != nps || memcmp(rec.key, c, 4))
					break;
				pos = align_up(p + size, kv->bs);
				done = 1;
				break;
			}
			if (nps == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct pending *np = realloc(ps, nc * sizeof(*np));

				if (!np) {
					r = UK_ENOMEM;
					goto out;
				}
				ps = np;
				cap = nc;
			}
			ps[nps++] = rec;
			chain = chain_add(chain, crc);
			p += size;
		}
		if (!done) {
			kv->torn = nps;
			break;
		}
		r = apply(kv, ps, nps);
		if (r != UK_OK)
			goto out;
		kv->seq++;
		kv->commits++;
		kv->end = pos;
	}
out:
	free(ps);
	return r;
}

static struct uk_kv *kv_new(struct uk_block *dev)
{
	struct uk_kv *kv = calloc(1, sizeof(*kv));

	if (!kv)
		return NULL;
	kv->dev = dev;
	kv->bs = dev->info.block_size;
	kv->data_start = 2ull * kv->bs;
	kv->win = malloc(WINDOW);
	if (!kv->win) {
		free(kv);
		return NULL;
	}
	if (uk_entropy_get(&kv->salt, sizeof(kv->salt)) != UK_OK)
		kv->salt = 0x5eed;
	return kv;
}

uk_result_t uk_kv_format(struct uk_block *dev)
{
	struct uk_kv *kv;
	uk_result_t r;
	uint8_t *zero;

	if (!dev || dev->info.read_only)
		return UK_EINVAL;
	if (dev->info.capacity < 16ull * dev->info.block_size)
		return UK_ENOSPC;
	kv = kv_new(dev);
	if (!kv)
		return UK_ENOMEM;
	kv->half = (dev->info.capacity - kv->data_start) / 2 / kv->bs * kv->bs;
	zero = calloc(1, kv->bs);
	r = zero ? UK_OK : UK_ENOMEM;
	/* Slot 0 and the first block of each half zeroed, then generation 1 in slot 1. */
	if (r == UK_OK)
		r = dev_write(kv, 0, zero, kv->bs);
	for (int h = 0; h < 2 && r == UK_OK; h++)
		r = dev_write(kv, region_base(kv, h), zero, kv->bs);
	if (r == UK_OK)
		r = uk_block_flush(dev);
	if (r == UK_OK)
		r = sb_write(kv, 1, 0);
	if (r == UK_OK)
		r = uk_block_flush(dev);
	free(zero);
	uk_kv_unmount(kv);
	return r;
}

uk_result_t uk_kv_mount(struct uk_block *dev, struct uk_kv **out)
{
	struct uk_kv *kv;
	uint64_t gen[2] = {0, 0}, half[2], start[2];
	int region[2], ok[2], best;
	uk_result_t r;

	if (!dev || !out)
		return UK_EINVAL;
	*out = NULL;
	if (dev->info.capacity < 16ull * dev->info.block_size)
		return UK_ENOENT;
	kv = kv_new(dev);
	if (!kv)
		return UK_ENOMEM;
	for (int i = 0; i < 2; i++) {
		ok[i] = sb_read(kv, i, &gen[i], &region[i], &half[i], &start[i]);
		if (ok[i] < 0) {
			uk_kv_unmount(kv);
			return UK_EUNSPEC; /* an I/O error, or a format newer than this code */
		}
	}
	if (ok[0] != 1 && ok[1] != 1) {
		uk_kv_unmount(kv);
		/* No store, or one whose superblocks are both damaged: not the same (a caller
		 * formats on UK_ENOENT, which would destroy the latter). */
		return ok[0] == 2 || ok[1] == 2 ? UK_EUNSPEC : UK_ENOENT;
	}
	best = ok[1] == 1 && (ok[0] != 1 || gen[1] > gen[0]) ? 1 : 0;
	kv->gen = gen[best];
	kv->region = region[best];
	kv->half = half[best];
	r = scan(kv);
	if (r != UK_OK) {
		uk_kv_unmount(kv);
		return r;
	}
	*out = kv;
	return UK_OK;
}

void uk_kv_unmount(struct uk_kv *kv)
{
	if (!kv)
		return;
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->ents[i].key);
		free(kv->ents[i].sval);
	}
	free(kv->ents);
	free(kv->win);
	free(kv);
}

static int key_ok(const char *key)
{
	size_t n;

	if (!key)
		return 0;
	n = strlen(key);
	return n && n <= UK_KV_KEY_MAX;
}

/* The live entry for (key) as this handle sees it (staged changes included), or NULL. */
static struct entry *visible(struct uk_kv *kv, const char *key)
{
	int found;
	size_t i = find(kv, key, &found);
	struct entry *e = found ? &kv->ents[i] : NULL;

	if (!e || e->staged == REC_DEL || (!e->staged && !e->committed))
		return NULL;
	return e;
}

uk_result_t uk_kv_exists(struct uk_kv *kv, const char *key, size_t *len)
{
	struct entry *e;

	if (!kv || !key_ok(key))
		return UK_EINVAL;
	e = visible(kv, key);
	if (!e)
		return UK_ENOENT;
	if (len)
		*len = e->staged ? e->slen : e->len;
	return UK_OK;
}

uk_result_t uk_kv_get(struct uk_kv *kv, const char *key, void *buf, size_t cap, size_t *len)
{
	struct entry *e;
	size_t full, n;

	if (!kv || !key_ok(key) || (cap && !buf))
		return UK_EINVAL;
	e = visible(kv, key);
	if (!e)
		return UK_ENOENT;
	full = e->staged ? e->slen : e->len;
	if (len)
		*len = full;
	n = full < cap ? full : cap;
	if (!n)
		return UK_OK;
	if (e->staged) {
		memcpy(buf, e->sval, n);
		return UK_OK;
	}
	return dev_read_n(kv, e->off, buf, n, 1);
}

uk_result_t uk_kv_put(struct uk_kv *kv, const char *key, const void *value, size_t len)
{
	struct entry *e;
	uint8_t *copy;

	if (!kv || !key_ok(key) || len > UK_KV_VALUE_MAX || (len && !value))
		return UK_EINVAL;
	copy = malloc(len ? len : 1);
	if (!copy)
		return UK_ENOMEM;
	e = entry_get(kv, key);
	if (!e) {
		free(copy);
		return UK_ENOMEM;
	}
	if (len)
		memcpy(copy, value, len);
	if (!e->staged)
		kv->nstaged++;
	unstage(e);
	e->staged = REC_PUT;
	e->sval = copy;
	e->slen = (uint32_t)len;
	return UK_OK;
}

uk_result_t uk_kv_delete(struct uk_kv *kv, const char *key)
{
	int found;
	size_t i;
	struct entry *e;

	if (!kv || !key_ok(key))
		return UK_EINVAL;
	if (!visible(kv, key))
		return UK_ENOENT;
	i = find(kv, key, &found);
	e = &kv->ents[i];
	if (!e->staged)
		kv->nstaged++;
	unstage(e);
	if (e->committed) {
		e->staged = REC_DEL;
	} else {
		kv->nstaged--; /* a put staged on a key the store never held: nothing to write */
		entries_prune(kv);
	}
	return UK_OK;
}

uk_result_t uk_kv_list(struct uk_kv *kv, const char *prefix,
                       int (*fn)(const char *key, size_t len, void *arg), void *arg)
{
	size_t plen = prefix ? strlen(prefix) : 0, i;
	int found;

	if (!kv || !fn)
		return UK_EINVAL;
	i = plen ? find(kv, prefix, &found) : 0;
	for (; i < kv->n; i++) {
		struct entry *e = &kv->ents[i];

		if (plen && strncmp(e->key, prefix, plen))
			break;
		if (e->staged == REC_DEL || (!e->staged && !e->committed))
			continue;
		if (fn(e->key, e->staged ? e->slen : e->len, arg))
			break;
	}
	return UK_OK;
}

void uk_kv_rollback(struct uk_kv *kv)
{
	if (!kv)
		return;
	for (size_t i = 0; i < kv->n; i++)
		unstage(&kv->ents[i]);
	kv->nstaged = 0;
	entries_prune(kv);
}

/*
 * Writes (b) at the end of the active half, then flushes. A zero block after the batch (where
 * the half has room) ends the log there, whatever a commit that never completed left behind.
 */
static uk_result_t append(struct uk_kv *kv, const struct batch *b)
{
	uint64_t len = b->len + (kv->end + b->len + kv->bs <= kv->half ? kv->bs : 0);
	uk_result_t r = dev_write(kv, region_base(kv, kv->region) + kv->end, b->buf, (size_t)len);

	return r == UK_OK ? uk_block_flush(kv->dev) : r;
}

/* Log bytes the committed live values take when compacted: their records and commit records. */
static uint64_t compacted_size(const struct uk_kv *kv)
{
	return kv->live + (kv->live / CHUNK_MAX + 1) * kv->bs + kv->bs;
}

uk_result_t uk_kv_compact(struct uk_kv *kv)
{
	int to;
	uint64_t base, end = 0, *offs;
	uint32_t gen, seq = 0;
	size_t i = 0;
	uk_result_t r = UK_OK;

	if (!kv)
		return UK_EINVAL;
	if (kv->broken)
		return UK_EUNSPEC;
	to = !kv->region;
	base = region_base(kv, to);
	gen = (uint32_t)(kv->gen + 1);
	if (compacted_size(kv) > kv->half)
		return UK_ENOSPC;
	offs = calloc(kv->n + 1, sizeof(*offs));
	if (!offs)
		return UK_ENOMEM;
	while (i < kv->n && r == UK_OK) {
		struct batch b;
		uint64_t payload = 0;
		size_t j = i;

		/* The next chunk of committed values: at least one, about CHUNK_MAX bytes. */
		for (; j < kv->n; j++) {
			const struct entry *e = &kv->ents[j];
			uint64_t sz = e->committed ? rec_size(strlen(e->key), e->len) : 0;

			if (j > i && payload + sz > CHUNK_MAX)
				break;
			payload += sz;
		}
		r = batch_alloc(&b, payload, kv->bs);
		seq++;
		for (; r == UK_OK && i < j; i++) {
			struct entry *e = &kv->ents[i];
			size_t klen = strlen(e->key);

			if (!e->committed)
				continue;
			/* The value is read straight into its place in the new record. */
			r = dev_read(kv, e->off, b.buf + b.len + REC_HDR + klen, e->len);
			if (r != UK_OK)
				break;
			offs[i] = base + end + b.len + REC_HDR + klen;
			batch_add(&b, REC_PUT, e->key, b.buf + b.len + REC_HDR + klen, e->len, gen,
			          seq, kv->salt);
		}
		if (r == UK_OK) {
			batch_seal(&b, kv->bs, gen, seq, kv->salt);
			r = dev_write(kv, base + end, b.buf, (size_t)b.len);
			end += b.len;
		}
		free(b.buf);
	}
	/* The half after the last commit must not read as a record of the new generation. */
	if (r == UK_OK && end < kv->half) {
		uint8_t *zero = calloc(1, kv->bs);

		r = zero ? dev_write(kv, base + end, zero, kv->bs) : UK_ENOMEM;
		free(zero);
	}
	if (r == UK_OK)
		r = uk_block_flush(kv->dev);
	if (r == UK_OK)
		r = sb_write(kv, kv->gen + 1, to);
	if (r == UK_OK)
		r = uk_block_flush(kv->dev);
	if (r == UK_OK) {
		for (i = 0; i < kv->n; i++)
			if (kv->ents[i].committed)
				kv->ents[i].off = offs[i];
		kv->gen++;
		kv->region = to;
		kv->end = end;
		kv->seq = seq;
		kv->commits = seq;
	} else if (r == UK_EUNSPEC) {
		kv->broken = 1;
	}
	free(offs);
	return r;
}

uk_result_t uk_kv_commit(struct uk_kv *kv)
{
	struct batch b;
	uint64_t payload = 0, need;
	uint32_t seq;
	uk_result_t r;

	if (!kv)
		return UK_EINVAL;
	if (kv->broken)
		return UK_EUNSPEC;
	if (!kv->nstaged)
		return UK_OK;
	for (size_t i = 0; i < kv->n; i++) {
		const struct entry *e = &kv->ents[i];

		if (e->staged)
			payload += rec_size(strlen(e->key), e->staged == REC_PUT ? e->slen : 0);
	}
	need = align_up(payload + rec_size(4, 0), kv->bs);
	if (kv->end + need > kv->half) {
		/* Compacting first must leave room for the batch, else nothing is touched. */
		if (compacted_size(kv) + need > kv->half)
			return UK_ENOSPC;
		r = uk_kv_compact(kv);
		if (r != UK_OK)
			return r;
	}
	r = batch_alloc(&b, payload, kv->bs);
	if (r != UK_OK)
		return r;
	seq = kv->seq + 1;
	for (size_t i = 0; i < kv->n; i++) {
		struct entry *e = &kv->ents[i];

		if (e->staged)
			batch_add(&b, e->staged, e->key, e->sval,
			          e->staged == REC_PUT ? e->slen : 0, (uint32_t)kv->gen, seq,
			          kv->salt);
	}
	batch_seal(&b, kv->bs, (uint32_t)kv->gen, seq, kv->salt);
	r = append(kv, &b);
	if (r != UK_OK) {
		free(b.buf);
		if (r == UK_EUNSPEC)
			kv->broken = 1;
		return r;
	}
	/* Durable: the staged values now live in the log, at the offsets the batch gave them. */
	{
		uint64_t at = region_base(kv, kv->region) + kv->end;

		for (size_t i = 0; i < kv->n; i++) {
			struct entry *e = &kv->ents[i];
			size_t klen = strlen(e->key);

			if (!e->staged)
				continue;
			if (e->committed)
				kv->live -= rec_size(klen, e->len);
			if (e->staged == REC_PUT) {
				e->committed = 1;
				e->off = at + REC_HDR + klen;
				e->len = e->slen;
				kv->live += rec_size(klen, e->len);
				at += rec_size(klen, e->slen);
			} else {
				e->committed = 0;
				at += rec_size(klen, 0);
			}
			unstage(e);
		}
	}
	kv->end += b.len;
	kv->seq = seq;
	kv->commits++;
	kv->nstaged = 0;
	entries_prune(kv);
	free(b.buf);
	return UK_OK;
}

void uk_kv_stats(struct uk_kv *kv, struct uk_kv_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!kv)
		return;
	for (size_t i = 0; i < kv->n; i++)
		st->keys += kv->ents[i].committed;
	st->live_bytes = kv->live;
	st->log_bytes = kv->end;
	st->half_bytes = kv->half;
	st->generation = kv->gen;
	st->commits = kv->commits;
	st->torn = kv->torn;
}
