/* The heap: a TLSF-style allocator (segregated free lists, boundary tags, O(1) malloc and free). */
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uk/uk.h>

/*
 * Every block starts with a 16-byte header, so payloads are 16-byte aligned.
 * A free block keeps its free-list links in its payload and its size in the
 * next block's header (the boundary tag), so free() merges both neighbours in
 * O(1) and no two free blocks are ever adjacent. While a block's predecessor
 * is in use, the header word that would hold that size holds a canary instead:
 * it is the first thing a buffer overrun from the predecessor destroys.
 * Free blocks sit in size classes (exact below 128 bytes, then 8 per power of
 * two); a bitmap of non-empty classes finds a fit in a few word operations.
 * The block that ends a region carries B_LAST and has no successor: no end
 * sentinel, no boundary tag, no canary. So the heap touches only what it hands
 * out and the headers of the blocks it splits off; a region is all guest RAM,
 * and touching its far end at boot would make the host zero a fresh huge page.
 */
struct blk {
	size_t prev;             /* predecessor's size while it is free, else CANARY(this) */
	size_t info;             /* size of this block, header included, | B_* flags */
	struct blk *next, *back; /* free-list links, valid only while free */
};

#define B_FREE 1ul
#define B_PREV 2ul /* the predecessor is free and (prev) is its size */
#define B_LAST 4ul /* the block ends its region: NEXT() is not a header */
#define HDR 16ul
#define MINBLK 32ul
#define MAXREQ ((size_t)1 << 46) /* bigger requests fail, so sizes stay below 2^48 */
#define MAXREG ((size_t)1 << 47)
#define CANARY(b) ((uintptr_t)(b) ^ 0x9e3779b97f4a7c15ul)
#define SIZE(b) ((b)->info & ~15ul)
#define NEXT(b) ((struct blk *)((char *)(b) + SIZE(b)))
/* What a block that absorbs (b) adds to its info: the size and the B_LAST of (b). */
#define TAIL(b) (SIZE(b) | ((b)->info & B_LAST))
#define NCLS 336 /* cls() of any size below 2^48 */
#define NWORDS ((NCLS + 63) / 64)
#define NREG 16

static struct blk *heads[NCLS];
static uint64_t nonempty[NWORDS];
static struct {
	uintptr_t lo, hi; /* first block, end of the last block */
} regs[NREG];
static int nregs;
static size_t total, free_bytes;

static unsigned cls(size_t s)
{
	unsigned f;

	if (s < 128)
		return s >> 4;
	f = 63 - __builtin_clzl(s);
	return (f - 6) * 8 + ((s >> (f - 3)) & 7);
}

static void link_blk(struct blk *b)
{
	unsigned c = cls(SIZE(b));
	struct blk *n = NEXT(b);

	if (!(b->info & B_LAST)) {
		n->prev = SIZE(b);
		n->info |= B_PREV;
	}
	b->info |= B_FREE;
	b->back = NULL;
	b->next = heads[c];
	if (b->next)
		b->next->back = b;
	heads[c] = b;
	nonempty[c / 64] |= 1ul << (c % 64);
	free_bytes += SIZE(b);
}

static void unlink_blk(struct blk *b)
{
	unsigned c = cls(SIZE(b));

	if ((b->next && b->next->back != b) || (b->back ? b->back->next : heads[c]) != b)
		uk_panic("malloc: free list corrupted at %p", (void *)b);
	if (b->next)
		b->next->back = b->back;
	if (b->back)
		b->back->next = b->next;
	else if (!(heads[c] = b->next))
		nonempty[c / 64] &= ~(1ul << (c % 64));
	free_bytes -= SIZE(b);
}

/* Marks (b), just unlinked, as in use. */
static void use(struct blk *b)
{
	struct blk *n = NEXT(b);

	b->info &= ~B_FREE;
	if (!(b->info & B_LAST)) {
		n->info &= ~B_PREV;
		n->prev = CANARY(n);
	}
}

/* Frees (b), merging it with free neighbours. */
static void release(struct blk *b)
{
	struct blk *n = NEXT(b), *p;

	b->info |= B_FREE; /* stays in a merged-away header, so a second free() sees it */
	if (!(b->info & B_LAST) && (n->info & B_FREE)) {
		unlink_blk(n);
		b->info += TAIL(n);
	}
	if (b->info & B_PREV) {
		p = (struct blk *)((char *)b - b->prev);
		unlink_blk(p);
		p->info += TAIL(b);
		b = p;
	}
	link_blk(b);
}

/* Shrinks (b), in use, to (bs) bytes when the rest can make a block of its own. */
static void trim(struct blk *b, size_t bs)
{
	struct blk *r;

	if (SIZE(b) - bs < MINBLK)
		return;
	r = (struct blk *)((char *)b + bs);
	r->info = (SIZE(b) - bs) | (b->info & B_LAST);
	r->prev = CANARY(r);
	b->info -= r->info; /* B_LAST, if any, moves to (r) */
	release(r);
}

static size_t bsize(size_t n)
{
	size_t bs = (n + HDR + 15) & ~15ul;

	return bs < MINBLK ? MINBLK : bs;
}

static struct blk *find(size_t bs)
{
	/* Round up to the next class boundary: every block from there on fits. */
	size_t r = bs < 128 ? bs : bs + ((size_t)1 << (60 - __builtin_clzl(bs))) - 1;
	unsigned c = cls(r), w = c / 64;
	uint64_t m = nonempty[w] & (~0ul << (c % 64));
	struct blk *b;

	for (;;) {
		if (m)
			return heads[w * 64 + __builtin_ctzl(m)];
		if (++w == NWORDS)
			break;
		m = nonempty[w];
	}
	/* Nothing bigger: a block in the request's own class may still fit (a full heap). */
	for (b = heads[cls(bs)]; b; b = b->next)
		if (SIZE(b) >= bs)
			return b;
	return NULL;
}

/* The block cache (lib/block_cache.c, in images that use disks) gives pages back when the heap
 * runs short: nonzero while it freed some. */
int uk_heap_reclaim(size_t want) __attribute__((weak));

static struct blk *take(size_t n)
{
	struct blk *b;
	size_t bs;

	if (n > MAXREQ)
		return NULL;
	bs = bsize(n);
	b = find(bs);
	while (!b && uk_heap_reclaim && uk_heap_reclaim(bs))
		b = find(bs);
	if (!b)
		return NULL;
	unlink_blk(b);
	use(b);
	trim(b, bs);
	return b;
}

/* The header of (p), a pointer (who) was handed; panics unless it is a live block. */
static struct blk *chk(void *p, const char *who)
{
	struct blk *b = (struct blk *)((char *)p - HDR), *n;
	uintptr_t a = (uintptr_t)b;
	int i = 0, ok;

	while (i < nregs && (a < regs[i].lo || a >= regs[i].hi))
		i++;
	if (i == nregs || a % 16)
		uk_panic("%s: %p is not a heap pointer", who, p);
	if (b->info & B_FREE)
		uk_panic("%s: double free of %p", who, p);
	if (b->info & B_PREV)
		ok = b->prev >= MINBLK && b->prev <= a - regs[i].lo &&
		     ((struct blk *)(a - b->prev))->info == (b->prev | B_FREE);
	else
		ok = b->prev == CANARY(b);
	if (!ok || SIZE(b) < MINBLK || SIZE(b) > regs[i].hi - a)
		uk_panic("%s: %p is not from malloc or its header was overwritten", who, p);
	/* A region's last block has no next header: an overrun off it goes unseen. */
	n = NEXT(b);
	if (!(b->info & B_LAST) && (n->prev != CANARY(n) || (n->info & B_PREV)))
		uk_panic("%s: %p was written past its end", who, p);
	return b;
}

void uk_heap_add(void *base, size_t len)
{
	uintptr_t lo = ((uintptr_t)base + 15) & ~15ul, hi;
	struct blk *b = (struct blk *)lo;

	if (len < 96 || (uintptr_t)base + len < (uintptr_t)base)
		return;
	if (len > MAXREG)
		len = MAXREG;
	hi = ((uintptr_t)base + len) & ~15ul;
	b->prev = CANARY(b);
	b->info = (hi - lo) | B_LAST;
	if (nregs < NREG) {
		regs[nregs].lo = lo;
		regs[nregs++].hi = hi;
	} else { /* table full: widen the last entry, free() checks get coarser */
		if (lo < regs[NREG - 1].lo)
			regs[NREG - 1].lo = lo;
		if (hi > regs[NREG - 1].hi)
			regs[NREG - 1].hi = hi;
	}
	total += hi - lo;
	link_blk(b);
}

size_t uk_heap_total(void)
{
	return total;
}

size_t uk_heap_used(void)
{
	return total - free_bytes;
}

void *malloc(size_t n)
{
	struct blk *b = take(n);

	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	return (char *)b + HDR;
}

void free(void *p)
{
	if (p)
		release(chk(p, "free"));
}

void *calloc(size_t n, size_t m)
{
	size_t t;
	void *p;

	if (__builtin_mul_overflow(n, m, &t)) {
		errno = ENOMEM;
		return NULL;
	}
	p = malloc(t);
	if (p)
		memset(p, 0, t);
	return p;
}

/* Grows in place into a free successor when it can; realloc(p, 0) keeps a minimal block. */
void *realloc(void *p, size_t n)
{
	struct blk *b, *nx;
	size_t bs;
	void *q;

	if (!p)
		return malloc(n);
	b = chk(p, "realloc");
	if (n > MAXREQ) {
		errno = ENOMEM;
		return NULL;
	}
	bs = bsize(n);
	nx = NEXT(b);
	if (bs > SIZE(b) && !(b->info & B_LAST) && (nx->info & B_FREE) &&
	    SIZE(b) + SIZE(nx) >= bs) {
		unlink_blk(nx);
		b->info += TAIL(nx);
		use(b);
	}
	if (bs <= SIZE(b)) {
		trim(b, bs);
		return p;
	}
	q = malloc(n);
	if (q) {
		memcpy(q, p, SIZE(b) - HDR);
		release(b);
	}
	return q;
}

static void *alloc_aligned(size_t al, size_t n)
{
	struct blk *b, *a;
	uintptr_t p;
	size_t gap;

	if (al <= HDR)
		return malloc(n);
	if (al > MAXREQ || n > MAXREQ || !(b = take(n + al + MINBLK))) {
		errno = ENOMEM;
		return NULL;
	}
	p = ((uintptr_t)b + HDR + al - 1) & ~(al - 1);
	gap = p - HDR - (uintptr_t)b;
	if (gap && gap < MINBLK) {
		p += al;
		gap += al;
	}
	if (gap) { /* give the bytes before (p) back as a block of their own */
		a = (struct blk *)(p - HDR);
		a->info = (SIZE(b) - gap) | (b->info & B_LAST);
		a->prev = CANARY(a);
		b->info = gap | (b->info & B_PREV);
		release(b);
		b = a;
	}
	trim(b, bsize(n));
	return (void *)p;
}

void *aligned_alloc(size_t al, size_t n)
{
	if (!al || (al & (al - 1))) {
		errno = EINVAL;
		return NULL;
	}
	return alloc_aligned(al, n);
}

void *memalign(size_t al, size_t n)
{
	return aligned_alloc(al, n);
}

int posix_memalign(void **out, size_t al, size_t n)
{
	void *p;

	if (al < sizeof(void *) || (al & (al - 1)))
		return EINVAL;
	p = alloc_aligned(al, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

size_t malloc_usable_size(void *p)
{
	return p ? SIZE(chk(p, "malloc_usable_size")) - HDR : 0;
}
