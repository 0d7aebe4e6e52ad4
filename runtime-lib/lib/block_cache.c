/* The block cache in front of devices whose requests are expensive: 4 KiB pages (each knowing
 * which of its 512-byte sectors it holds), one CLOCK ring for all devices, write-through,
 * bounded, and given back to malloc() when the heap runs short. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "block_cache.h"

#define PAGE 4096u
#define SECTOR 512u /* a page holds each of its 8 sectors or not (bit i of valid) */
#define RUN_MAX (UK_BLOCK_IO_MAX / PAGE) /* pages one miss may read with one request */
#define RECLAIM_MIN 16                   /* pages dropped at least per call of the heap */

struct page {
	struct uk_block *dev;
	uint64_t no;        /* offset / PAGE */
	struct page *hnext; /* hash chain */
	uint32_t slot;      /* its place in ring[] */
	uint8_t ref;        /* used since the clock hand last passed it */
	uint8_t valid;      /* sectors that hold what the device holds */
	uint8_t data[PAGE];
};

/* From lib/cmdline.c and lib/malloc.c in a guest; absent (NULL) in host builds. */
extern size_t uk_block_cache_opt __attribute__((weak));
size_t uk_heap_total(void) __attribute__((weak));

/*
 * CLOCK rather than an LRU list: a hit only sets its page's (ref), where moving it to the front
 * of a list writes two other pages' links as well; under QEMU's TCG every page a get touches
 * that is not in the emulated TLB (256 entries) costs a page walk.
 */
static struct page **buckets, **ring;
static size_t nbuckets, npages, maxpages, hand;
static int limit_set, busy; /* busy: the cache itself is in malloc(), do not reclaim */
static uint8_t bounce[UK_BLOCK_IO_MAX] __attribute__((aligned(64)));

static size_t bucket(const struct uk_block *dev, uint64_t no)
{
	uint64_t h = (no ^ (uint64_t)(uintptr_t)dev) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (nbuckets - 1);
}

static struct page *find(const struct uk_block *dev, uint64_t no)
{
	if (!buckets)
		return NULL;
	for (struct page *p = buckets[bucket(dev, no)]; p; p = p->hnext)
		if (p->no == no && p->dev == dev)
			return p;
	return NULL;
}

static void touch(struct page *p)
{
	p->ref = 1;
}

/* Takes (p) out of the hash; its memory and its ring slot stay the caller's. */
static void unhash(struct page *p)
{
	struct page **pp = &buckets[bucket(p->dev, p->no)];

	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
}

/* The page the clock hand stops at: the next one not used since the hand last passed. */
static struct page *victim(void)
{
	for (;;) {
		struct page *p = ring[hand];

		hand = hand + 1 < npages ? hand + 1 : 0;
		if (!p->ref)
			return p;
		p->ref = 0;
	}
}

static void drop(struct page *p)
{
	struct page *last = ring[--npages];

	unhash(p);
	ring[p->slot] = last;
	last->slot = p->slot;
	if (hand >= npages)
		hand = 0;
	free(p);
}

static void drop_all(void)
{
	while (npages)
		drop(ring[npages - 1]);
	free(buckets);
	free(ring);
	buckets = NULL;
	ring = NULL;
	nbuckets = 0;
}

void uk_block_cache_limit(size_t bytes)
{
	drop_all();
	/* a page costs its struct and the heap's 16-byte header */
	maxpages = bytes / (sizeof(struct page) + 16);
	limit_set = 1;
}

static void limit_init(void)
{
	if (limit_set)
		return;
	if (&uk_block_cache_opt && uk_block_cache_opt != SIZE_MAX)
		uk_block_cache_limit(uk_block_cache_opt);
	else
		uk_block_cache_limit(uk_heap_total ? uk_heap_total() / 2 : 0);
}

/* The sectors of a page that bytes [from, to) of it touch (block-aligned: whole sectors). */
static uint8_t sectors(uint64_t from, uint64_t to)
{
	return (uint8_t)(((1u << ((to + SECTOR - 1) / SECTOR)) - 1) &
	                 ~((1u << (from / SECTOR)) - 1));
}

/* Page (no) of (dev) if it holds the sectors bytes [from, to) of it touch. */
static struct page *holding(const struct uk_block *dev, uint64_t no, uint64_t from, uint64_t to)
{
	struct page *p = find(dev, no);
	uint8_t want = sectors(from, to);

	return p && (p->valid & want) == want ? p : NULL;
}

/* A page for (dev, no), holding no sectors: a new one while under the limit, else the least
 * recently used one; NULL when there is neither. */
static struct page *page_new(struct uk_block *dev, uint64_t no)
{
	struct page *p = NULL;

	if (!buckets) {
		size_t nb = 64;

		while (nb < maxpages && nb < (1u << 22))
			nb *= 2;
		busy = 1;
		buckets = calloc(nb, sizeof(*buckets));
		ring = calloc(maxpages, sizeof(*ring));
		busy = 0;
		if (!buckets || !ring) {
			free(buckets);
			free(ring);
			buckets = ring = NULL;
			return NULL;
		}
		nbuckets = nb;
	}
	if (npages < maxpages) {
		busy = 1;
		p = malloc(sizeof(*p));
		busy = 0;
		if (p) {
			p->slot = (uint32_t)npages;
			ring[npages++] = p;
		}
	}
	if (!p && npages) {
		p = victim();
		unhash(p);
	}
	if (!p)
		return NULL;
	p->dev = dev;
	p->no = no;
	p->valid = 0;
	p->ref = 0;
	p->hnext = buckets[bucket(dev, no)];
	buckets[bucket(dev, no)] = p;
	return p;
}

/* Whether page (no) of (dev) may be cached: the cache is on and the page lies whole inside. */
static int cacheable(const struct uk_block *dev, uint64_t no)
{
	return maxpages && dev->info.block_size <= PAGE && (no + 1) * PAGE <= dev->info.capacity;
}

/* The heap ran short (lib/malloc.c): drops pages the clock hand finds unused; 0 if none are left.
 */
int uk_heap_reclaim(size_t want)
{
	size_t n = want / PAGE + 2;

	if (busy || !npages)
		return 0;
	if (n < RECLAIM_MIN)
		n = RECLAIM_MIN;
	while (n-- && npages)
		drop(victim());
	return 1;
}

uk_result_t uk_block_cache_read(struct uk_block *dev, uint64_t offset, void *buf, size_t size)
{
	uint8_t *out = buf;
	uint64_t end = offset + size;
	int missed = 0;

	limit_init();
	while (offset < end) {
		uint64_t no = offset / PAGE, at = no * PAGE, stop;
		struct page *p;
		size_t k = 1;
		uk_result_t r;

		if (!cacheable(dev, no)) /* the device's tail, or no cache: straight through */
			return uk_block_dev_io(dev, 0, offset, out, (size_t)(end - offset));
		stop = at + PAGE < end ? at + PAGE : end;
		p = holding(dev, no, offset - at, stop - at);
		if (p) {
			memcpy(out, p->data + (offset - at), (size_t)(stop - offset));
			touch(p);
			out += stop - offset;
			offset = stop;
			continue;
		}
		/* A run of missing pages, read with one request. */
		while (k < RUN_MAX && at + k * PAGE < end && cacheable(dev, no + k) &&
		       !holding(dev, no + k, 0,
		                end - at - k * PAGE < PAGE ? end - at - k * PAGE : PAGE))
			k++;
		missed = 1;
		r = uk_block_dev_io(dev, 0, at, bounce, k * PAGE);
		if (r != UK_OK)
			return r;
		for (size_t i = 0; i < k; i++) {
			p = find(dev, no + i);
			if (p)
				touch(p);
			else
				p = page_new(dev, no + i);
			if (p) {
				memcpy(p->data, bounce + i * PAGE, PAGE);
				p->valid = 0xff;
			}
		}
		stop = at + k * PAGE < end ? at + k * PAGE : end;
		memcpy(out, bounce + (offset - at), (size_t)(stop - offset));
		out += stop - offset;
		offset = stop;
	}
	if (!missed)
		dev->cache_hits++;
	return UK_OK;
}

uk_result_t uk_block_cache_write(struct uk_block *dev, uint64_t offset, const void *buf,
                                 size_t size)
{
	const uint8_t *in = buf;
	uint64_t end = offset + size;
	uk_result_t r = uk_block_dev_io(dev, 1, offset, (uint8_t *)(uintptr_t)buf, size);

	limit_init();
	while (offset < end) {
		uint64_t no = offset / PAGE, at = no * PAGE;
		uint64_t stop = at + PAGE < end ? at + PAGE : end;
		struct page *p = find(dev, no);

		if (r != UK_OK) {
			/* What the device holds there is unknown now: the next read asks it. */
			if (p)
				drop(p);
		} else {
			if (p)
				touch(p);
			else if (cacheable(dev, no))
				p = page_new(dev, no);
			if (p) {
				memcpy(p->data + (offset - at), in, (size_t)(stop - offset));
				p->valid |= sectors(offset - at, stop - at);
			}
		}
		in += stop - offset;
		offset = stop;
	}
	return r;
}
