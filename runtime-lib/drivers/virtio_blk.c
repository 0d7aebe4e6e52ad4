/* virtio-blk driver: one request queue, one synchronous request at a time, behind uk/block.h. */
#include "drivers/virtio.h"
#include <stdlib.h>
#include <string.h>
#include <uk/uk.h>
#include <uk/block.h>

#define BLK_F_SIZE_MAX (1ull << 1)
#define BLK_F_SEG_MAX (1ull << 2)
#define BLK_F_RO (1ull << 5)
#define BLK_F_BLK_SIZE (1ull << 6)
#define BLK_F_FLUSH (1ull << 9) /* legacy: VIRTIO_BLK_F_WCE, the same bit */
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_S_OK 0
#define SECTOR 512u
#define CFG_CAPACITY 0
#define CFG_SIZE_MAX 8
#define CFG_BLK_SIZE 20
#define STATUS_PENDING 0xff
/* TSC cycles to watch the ring before halting: QEMU completes most requests within that. */
#define BLK_SPIN_TSC 200000ull
#define BLK_STEP_NS 1000000ull

/*
 * Weak: the registry (lib/block.c) is linked only into images that call uk/block.h, and only
 * those set up their disks; others leave them untouched.
 */
uk_result_t uk_block_register(struct uk_block *dev) __attribute__((weak));

int uk_virtio_blk_wanted(void)
{
	return uk_block_register != NULL;
}

struct vblk_req {
	uint32_t type, reserved;
	uint64_t sector;
} __attribute__((packed));

struct vblk {
	struct uk_block blk;
	struct uk_virtio_dev *dev;
	struct uk_virtq q;
	struct vblk_req *req;
	volatile uint8_t *status;
};

/* Waits for the request at descriptor 0 to come back; bounded by UK_BLOCK_TIMEOUT_MS. */
static int vblk_wait(struct vblk *v)
{
	uint64_t start = uk_rdtsc(), now, deadline;
	uint16_t id;
	uint32_t len;

	while (uk_rdtsc() - start < BLK_SPIN_TSC) {
		if (uk_virtq_take(&v->q, &id, &len))
			return 0;
		__asm__ volatile("pause");
	}
	now = uk_time_monotonic_ns();
	deadline = now + UK_BLOCK_TIMEOUT_MS * 1000000ull;
	while (now < deadline) {
		if (uk_virtq_take(&v->q, &id, &len))
			return 0;
		now = uk_time_block_until(now + BLK_STEP_NS);
	}
	return -1;
}

/* One request: header, then (data, len) unless len is 0, then the status byte. */
static uk_result_t vblk_do(struct vblk *v, uint32_t type, uint64_t offset, void *data, uint32_t len)
{
	struct uk_virtq_desc *d = v->q.desc;
	int n = 1;

	v->req->type = type;
	v->req->reserved = 0;
	v->req->sector = offset / SECTOR;
	*v->status = STATUS_PENDING;
	d[0].addr = (uintptr_t)v->req;
	d[0].len = sizeof(*v->req);
	d[0].flags = UK_VIRTQ_DESC_F_NEXT;
	d[0].next = 1;
	if (len) {
		d[1].addr = (uintptr_t)data;
		d[1].len = len;
		d[1].flags = UK_VIRTQ_DESC_F_NEXT | (type == BLK_T_IN ? UK_VIRTQ_DESC_F_WRITE : 0);
		d[1].next = 2;
		n = 2;
	}
	d[n].addr = (uintptr_t)v->status;
	d[n].len = 1;
	d[n].flags = UK_VIRTQ_DESC_F_WRITE;
	if (n == 1)
		d[0].next = (uint16_t)n;
	uk_virtq_post(&v->q, 0);
	uk_virtq_kick(v->dev, &v->q);
	if (vblk_wait(v) < 0)
		return UK_EUNSPEC; /* the device still owns the ring: later requests fail too */
	return *v->status == BLK_S_OK ? UK_OK : UK_EUNSPEC;
}

/* Splits a transfer into requests the device accepts (size_max). */
/* One request each: the registry splits a transfer at blk.io_max (lib/block.c). */
static uk_result_t vblk_read(struct uk_block *b, uint64_t offset, void *buf, size_t size)
{
	return vblk_do(b->priv, BLK_T_IN, offset, buf, (uint32_t)size);
}

static uk_result_t vblk_write(struct uk_block *b, uint64_t offset, const void *buf, size_t size)
{
	/* The device only reads (buf): the descriptor has no WRITE flag. */
	return vblk_do(b->priv, BLK_T_OUT, offset, (void *)(uintptr_t)buf, (uint32_t)size);
}

static uk_result_t vblk_flush(struct uk_block *b)
{
	return vblk_do(b->priv, BLK_T_FLUSH, 0, NULL, 0);
}

static const struct uk_block_ops vblk_ops = {vblk_read, vblk_write, vblk_flush};

int uk_virtio_blk_probe(struct uk_virtio_dev *dev)
{
	struct vblk *v;
	uint64_t sectors = 0;
	uint32_t bs = SECTOR, size_max = 0;

	if (uk_virtio_negotiate(dev, BLK_F_SIZE_MAX | BLK_F_SEG_MAX | BLK_F_RO | BLK_F_BLK_SIZE |
	                                     BLK_F_FLUSH | uk_virtio_event_idx_want()))
		return -1;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -1;
	v->dev = dev;
	v->req = aligned_alloc(64, 64);
	v->status = (volatile uint8_t *)v->req + sizeof(struct vblk_req);
	uk_virtio_config_read(dev, CFG_CAPACITY, &sectors, 8);
	if (dev->features & BLK_F_BLK_SIZE)
		uk_virtio_config_read(dev, CFG_BLK_SIZE, &bs, 4);
	if (dev->features & BLK_F_SIZE_MAX)
		uk_virtio_config_read(dev, CFG_SIZE_MAX, &size_max, 4);
	if (bs < SECTOR || (bs & (bs - 1)) || bs > UK_BLOCK_IO_MAX)
		bs = SECTOR;
	v->blk.io_max = UK_BLOCK_IO_MAX; /* the largest data descriptor the device takes */
	if (size_max >= bs && size_max < v->blk.io_max)
		v->blk.io_max = size_max & ~(bs - 1);
	uk_virtio_irq_setup(dev); /* requests halt while they wait; the interrupt ends the wait */
	if (!v->req || uk_virtio_queue_init(dev, &v->q, 0, 4, 0)) {
		free(v->req);
		free(v);
		return -1;
	}
	uk_virtio_driver_ok(dev);
	v->blk.ops = &vblk_ops;
	v->blk.priv = v;
	v->blk.info.block_size = bs;
	v->blk.info.capacity = sectors * SECTOR / bs * bs;
	v->blk.info.read_only = !!(dev->features & BLK_F_RO);
	v->blk.info.flush = !!(dev->features & BLK_F_FLUSH);
	v->blk.cache = 1; /* a request is a trap to the VMM and an interrupt: keep a cache */
	return uk_block_register(&v->blk) == UK_OK ? 0 : -1;
}
