/* blkfront: Xen's PV disks (device/vbd/N) behind uk/block.h: one ring a disk, one synchronous
 * request at a time through a bounce buffer whose pages are granted for each request and taken
 * back when it completes. */
#include "platform/xen/xen.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uk/block.h>
#include <uk/uk.h>
#include <uk/internal.h>

#define PAGE 4096u
#define SECTOR 512u  /* blkif's unit for sector numbers and segment bounds, whatever sector-size */
#define SEGS 11      /* BLKIF_MAX_SEGMENTS_PER_REQUEST */
#define BLK_RING 32  /* (4096 - 64) / 112 entries, rounded down to a power of two */
#define MAX_DISKS 8  /* device/vbd/ entries looked at */
#define OP_READ 0    /* BLKIF_OP_READ */
#define OP_WRITE 1   /* BLKIF_OP_WRITE */
#define OP_BARRIER 2 /* BLKIF_OP_WRITE_BARRIER: with no segment, a flush */
#define OP_FLUSH 3   /* BLKIF_OP_FLUSH_DISKCACHE */
#define VDISK_READONLY 4
#define CONNECT_WAIT_NS 10000000000ull /* the handshake takes well under 1 s under TCG */
#define CLOSE_WAIT_NS 2000000000ull
#define BLK_STEP_NS 1000000ull

/*
 * Weak, as for virtio-blk: the registry (lib/block.c) is linked only into images that call
 * uk/block.h, and only those connect their disks.
 */
uk_result_t uk_block_register(struct uk_block *dev) __attribute__((weak));

/* struct blkif_request, blkif_response and their ring (x86_64 layout). */
struct blk_seg {
	uint32_t gref;
	uint8_t first_sect, last_sect; /* 512-byte sectors within the page, inclusive */
	uint16_t pad;
};
struct blk_req {
	uint8_t op, nr_segments;
	uint16_t handle;
	uint32_t pad;
	uint64_t id, sector;
	struct blk_seg seg[SEGS];
};
struct blk_rsp {
	uint64_t id;
	uint8_t op, pad;
	int16_t status; /* 0 OK, -1 error, -2 not supported */
	uint32_t pad2;
};
struct blk_sring {
	struct uk_xen_sring_hdr h;
	union {
		struct blk_req req;
		struct blk_rsp rsp;
	} e[BLK_RING];
};

_Static_assert(sizeof(struct blk_req) == 112 && sizeof(struct blk_rsp) == 16 &&
                       sizeof(struct blk_sring) <= PAGE,
               "blkif ring layout");

struct blkfront {
	struct uk_block blk;
	volatile struct blk_sring *ring;
	uint8_t *bounce; /* SEGS pages */
	int ring_gref;
	uint32_t port, req_prod, rsp_cons;
	uint16_t domid, handle;
	uint8_t flush_op;
	int broken; /* a request timed out or the backend broke the ring: every later one fails */
	char front[32], back[128];
};

static struct blkfront *disks[MAX_DISKS];
static unsigned ndisks;

/* Waits (bounded) for the response to the one request in flight; 0 and its status in (*status),
 * or -1 (no answer by UK_BLOCK_TIMEOUT_MS, or the backend's indexes or id make no sense). */
static int bf_wait(struct blkfront *f, int16_t *status)
{
	uint64_t now = uk_time_monotonic_ns(), deadline = now + UK_BLOCK_TIMEOUT_MS * 1000000ull;

	for (;;) {
		uint32_t prod = f->ring->h.rsp_prod;

		__asm__ volatile("" ::: "memory"); /* the index before the entry */
		if (prod - f->rsp_cons > BLK_RING)
			return -1;
		if (prod != f->rsp_cons) {
			volatile struct blk_rsp *r = &f->ring->e[f->rsp_cons & (BLK_RING - 1)].rsp;

			*status = r->status;
			f->rsp_cons++;
			return r->id == f->req_prod - 1 ? 0 : -1;
		}
		/* Ask for an event on the next response, then look once more (no lost wakeup). */
		f->ring->h.rsp_event = f->rsp_cons + 1;
		__sync_synchronize();
		if (f->ring->h.rsp_prod != f->rsp_cons)
			continue;
		if (now >= deadline)
			return -1;
		/* The event channel's upcall ends the wait early. */
		now = uk_time_block_until(now + BLK_STEP_NS);
	}
}

/* One request of (len) bytes (a multiple of 512, at most SEGS pages) at (offset): (buf) is copied
 * into the bounce pages for a write, out of them for a read. */
static uk_result_t bf_do(struct blkfront *f, uint8_t op, uint64_t offset, uint8_t *buf,
                         uint32_t len)
{
	volatile struct blk_req *r;
	int grefs[SEGS], nseg = (int)((len + PAGE - 1) / PAGE), i, lost = 0;
	int16_t status = -1;
	int answered;

	if (f->broken)
		return UK_EUNSPEC;
	for (i = 0; i < nseg; i++) {
		/* The backend only reads the pages of a write. */
		grefs[i] = uk_xen_grant(f->domid, (uintptr_t)(f->bounce + (size_t)i * PAGE),
		                        op == OP_WRITE);
		if (grefs[i] < 0) {
			while (i--)
				uk_xen_grant_end(grefs[i]);
			uk_printk("blkfront: %s: no free grant entry\n", f->blk.name);
			return UK_EUNSPEC;
		}
	}
	if (op == OP_WRITE)
		memcpy(f->bounce, buf, len);
	r = &f->ring->e[f->req_prod & (BLK_RING - 1)].req;
	r->op = op;
	r->nr_segments = (uint8_t)nseg;
	r->handle = f->handle;
	r->id = f->req_prod;
	r->sector = offset / SECTOR;
	for (i = 0; i < nseg; i++) {
		uint32_t n = len - (uint32_t)i * PAGE < PAGE ? len - (uint32_t)i * PAGE : PAGE;

		r->seg[i].gref = (uint32_t)grefs[i];
		r->seg[i].first_sect = 0;
		r->seg[i].last_sect = (uint8_t)(n / SECTOR - 1);
	}
	f->req_prod++;
	uk_xen_ring_push(&f->ring->h, f->req_prod, f->port);
	answered = bf_wait(f, &status) == 0;
	/* Take the pages back: blkback unmaps them before it answers. One it still maps stays
	 * granted (and the device unused) rather than handed to the allocator. */
	for (i = 0; answered && i < nseg; i++)
		lost |= uk_xen_grant_end(grefs[i]) < 0;
	if (!answered || lost) {
		f->broken = 1;
		uk_printk("blkfront: %s: the backend %s; the disk is unusable until reboot\n",
		          f->blk.name,
		          !answered ? "did not answer a request in time or broke the ring"
		                    : "kept a page mapped after answering");
		return UK_EUNSPEC;
	}
	if (status != 0)
		return UK_EUNSPEC;
	if (op == OP_READ)
		memcpy(buf, f->bounce, len);
	return UK_OK;
}

static uk_result_t bf_read(struct uk_block *b, uint64_t offset, void *buf, size_t size)
{
	return bf_do(b->priv, OP_READ, offset, buf, (uint32_t)size); /* at most io_max */
}

static uk_result_t bf_write(struct uk_block *b, uint64_t offset, const void *buf, size_t size)
{
	/* Only read: bf_do copies (buf) into the bounce pages. */
	return bf_do(b->priv, OP_WRITE, offset, (uint8_t *)(uintptr_t)buf, (uint32_t)size);
}

static uk_result_t bf_flush(struct uk_block *b)
{
	struct blkfront *f = b->priv;

	return bf_do(f, f->flush_op, 0, NULL, 0);
}

static const struct uk_block_ops bf_ops = {bf_read, bf_write, bf_flush};

/* The backend's description once it is connected: size, sector size, read-only, flush. */
static int bf_describe(struct blkfront *f)
{
	uint64_t sectors, ssize = SECTOR, info = 0, flag = 0;
	char mode[8] = "";
	char path[XS_PATH_MAX];

	if (uk_xenbus_read_u64(f->back, "sectors", &sectors) < 0) {
		uk_printk("blkfront: %s/sectors is missing or not a number\n", f->back);
		return -1;
	}
	uk_xenbus_read_u64(f->back, "sector-size", &ssize);
	if (ssize < SECTOR || ssize > PAGE || (ssize & (ssize - 1))) {
		uk_printk("blkfront: %s: sector-size %llu is not a power of two from 512 to 4096\n",
		          f->back, (unsigned long long)ssize);
		return -1;
	}
	if (sectors == 0 || sectors > UINT64_MAX / SECTOR) {
		uk_printk("blkfront: %s: a disk of %llu sectors\n", f->back,
		          (unsigned long long)sectors);
		return -1;
	}
	uk_xenbus_read_u64(f->back, "info", &info);
	snprintf(path, sizeof(path), "%s/mode", f->back);
	uk_xs_read(path, mode, sizeof(mode));
	f->blk.info.block_size = (uint32_t)ssize;
	f->blk.info.capacity = sectors * SECTOR / ssize * ssize;
	f->blk.info.read_only = (info & VDISK_READONLY) || mode[0] == 'r';
	if (uk_xenbus_read_u64(f->back, "feature-flush-cache", &flag) == 0 && flag)
		f->flush_op = OP_FLUSH;
	else if (uk_xenbus_read_u64(f->back, "feature-barrier", &flag) == 0 && flag)
		f->flush_op = OP_BARRIER;
	f->blk.info.flush = f->flush_op != 0;
	return 0;
}

/* Frees (f)'s ring and pages if every grant on them could be ended (else leaves them granted). */
static void bf_release(struct blkfront *f)
{
	if (f->ring_gref >= 0 && uk_xen_grant_end(f->ring_gref) < 0)
		return;
	free(f->bounce);
	free((void *)f->ring);
	free(f);
}

/* The xenbus handshake for device/vbd/(id): 0 once connected, -1 with the reason printed. */
static int bf_connect(struct blkfront *f)
{
	char path[XS_PATH_MAX];
	uint64_t domid;
	int st;

	snprintf(path, sizeof(path), "%s/backend", f->front);
	if (uk_xenbus_read_u64(f->front, "backend-id", &domid) < 0 || domid > 0x7fef ||
	    uk_xs_read(path, f->back, sizeof(f->back)) < 0) {
		uk_printk("blkfront: %s lacks its backend\n", f->front);
		return -1;
	}
	f->domid = (uint16_t)domid;
	st = uk_xenbus_wait_state(f->back, XENBUS_INIT_WAIT, CONNECT_WAIT_NS);
	if (st != XENBUS_INIT_WAIT && st != XENBUS_INITIALISED && st != XENBUS_CONNECTED) {
		uk_printk("blkfront: backend %s is not waiting for us (state %d)\n", f->back, st);
		return -1;
	}
	f->ring = aligned_alloc(PAGE, PAGE);
	f->bounce = aligned_alloc(PAGE, SEGS * PAGE);
	if (!f->ring || !f->bounce) {
		uk_printk("blkfront: no memory for %s's ring\n", f->front);
		return -1;
	}
	memset((void *)f->ring, 0, PAGE);
	f->ring->h.req_event = f->ring->h.rsp_event = 1;
	f->ring_gref = uk_xen_grant(f->domid, (uintptr_t)f->ring, 0);
	snprintf(path, sizeof(path), "%s/protocol", f->front);
	if (f->ring_gref < 0 || uk_xen_evtchn_alloc_unbound(f->domid, &f->port) < 0 ||
	    uk_xenbus_write_u32(f->front, "ring-ref", (uint32_t)f->ring_gref) ||
	    uk_xenbus_write_u32(f->front, "event-channel", f->port) ||
	    uk_xs_write(path, "x86_64-abi") ||
	    uk_xenbus_write_u32(f->front, "state", XENBUS_INITIALISED)) {
		uk_printk("blkfront: cannot publish %s's ring in xenstore\n", f->front);
		return -1;
	}
	st = uk_xenbus_wait_state(f->back, XENBUS_CONNECTED, CONNECT_WAIT_NS);
	if (st != XENBUS_CONNECTED) {
		uk_printk("blkfront: backend %s did not connect (state %d)\n", f->back, st);
		uk_xenbus_write_u32(f->front, "state", XENBUS_CLOSED);
		return -1;
	}
	if (bf_describe(f) < 0 || uk_xenbus_write_u32(f->front, "state", XENBUS_CONNECTED)) {
		uk_xenbus_write_u32(f->front, "state", XENBUS_CLOSED);
		return -1;
	}
	return 0;
}

/*
 * At exit() (an atexit handler, so after the app's own and the files layer's): Closing, the
 * backend follows (it unmaps the ring), then Closed; bounded, then the ring's grant is ended (if
 * the backend has let go). A fault or panic skips it: the toolstack's teardown does the same
 * without a broken runtime talking to xenstore.
 */
static void bf_close_all(void)
{
	for (unsigned i = 0; i < ndisks; i++) {
		struct blkfront *f = disks[i];

		if (f->broken || uk_xenbus_write_u32(f->front, "state", XENBUS_CLOSING))
			continue;
		uk_xenbus_wait_state(f->back, XENBUS_CLOSING, CLOSE_WAIT_NS);
		uk_xenbus_write_u32(f->front, "state", XENBUS_CLOSED);
		if (uk_xen_grant_end(f->ring_gref) == 0)
			f->ring_gref = -1;
	}
	ndisks = 0;
}

void uk_xen_blkfront_init(void)
{
	char names[256];
	uint64_t ids[MAX_DISKS];
	unsigned n = 0, i, j;
	int len;

	if (!uk_block_register)
		return; /* no registry linked: the image does not use disks */
	len = uk_xs_directory("device/vbd", names, sizeof(names));
	/* The disks in the order of their virtual device numbers (xvda before xvdb). */
	for (char *p = names; len > 0 && p < names + len && n < MAX_DISKS; p += strlen(p) + 1) {
		uint64_t id;

		if (uk_xenbus_parse_u64(p, &id) < 0 || id > 0xffffffffu)
			continue;
		for (i = n++; i > 0 && ids[i - 1] > id; i--)
			ids[i] = ids[i - 1];
		ids[i] = id;
	}
	for (j = 0; j < n; j++) {
		struct blkfront *f = calloc(1, sizeof(*f));

		if (!f)
			return;
		f->ring_gref = -1;
		f->handle = (uint16_t)ids[j];
		snprintf(f->front, sizeof(f->front), "device/vbd/%llu", (unsigned long long)ids[j]);
		if (bf_connect(f) < 0) {
			uk_printk("blkfront: %s: no disk\n", f->front);
			bf_release(f);
			continue;
		}
		f->blk.ops = &bf_ops;
		f->blk.priv = f;
		f->blk.io_max = SEGS * PAGE; /* one request: the registry splits larger transfers */
		f->blk.cache = 1; /* a request is a hypercall and an event: keep a cache */
		if (uk_block_register(&f->blk) != UK_OK) {
			uk_printk("blkfront: %s: the registry refused it\n", f->front);
			continue;
		}
		disks[ndisks++] = f;
	}
	if (ndisks)
		atexit(bf_close_all);
}
