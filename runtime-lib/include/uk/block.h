/* Block devices for apps and storage libraries: acquire one by name, read, write and flush whole
 * blocks. */
#ifndef UK_BLOCK_H
#define UK_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include "uk.h"

/*
 * Contract (the model is Solo5's block API, plus flush).
 *
 * Devices. A driver (virtio-blk on kvm; blkfront on xen; a file named by UK_BLOCK on hosted)
 * registers each disk at boot under the name "blk0", "blk1", ... in the order the platform found
 * them (for virtio on PCI: slot order; on microvm: the order of the virtio-mmio slots, which is
 * the order QEMU was given the devices; on xen: the order of the virtual device numbers, xvda
 * first). An app MUST acquire a device before using it; acquiring the same
 * device twice returns the same handle.
 *
 * Addresses and sizes. (offset) and (size) are in bytes; both MUST be multiples of the
 * device's (block_size), (size) MUST be at least one block and at most UK_BLOCK_IO_MAX, and
 * [offset, offset + size) MUST lie within (capacity). (buf) MAY have any alignment. A call
 * that breaks these rules returns UK_EINVAL and touches neither the device nor (buf).
 *
 * Blocking. Calls are synchronous: they return once the device has completed the request (the
 * CPU halts meanwhile, woken by the device's interrupt where it has one). Single-threaded like
 * the rest of the runtime: MUST NOT be called from an interrupt handler.
 *
 * Durability. A write that returned UK_OK is visible to every later read. It is durable (it
 * survives the VMM or host being killed, or power loss where the host's storage honours
 * flushes) only once a later uk_block_flush() on the same device has returned UK_OK. A device
 * without a volatile cache (virtio-blk without VIRTIO_BLK_F_FLUSH) makes each write durable on
 * completion; flush then returns UK_OK at once. A write interrupted by a crash MAY leave each
 * block it covered old or new, and with sizes above the device's block size, some blocks old
 * and some new: storage code above this layer (uk/kv.h) MUST find torn writes itself.
 *
 * Cache. Drivers of devices whose requests cost far more than a memory copy (a virtio-blk request
 * is a trap to the VMM and an interrupt back) ask the registry to keep a block cache in front of
 * them (uk_block.cache): reads MAY then be served from memory. It is write-through: a write
 * reaches the device before uk_block_write() returns, exactly as without it, and flush is
 * unchanged, so everything above about durability and torn writes holds as written. It assumes
 * this program is the only writer of the device while it runs (another writer's changes to
 * cached blocks go unseen). Its size is bounded (uk_block_cache_limit()); it gives memory back
 * when malloc() runs short.
 *
 * Errors. UK_EINVAL for bad arguments (above) or an unknown name; UK_EUNSPEC when the device
 * reports an I/O error or does not answer (after UK_BLOCK_TIMEOUT_MS), or for a write to a
 * read-only device (info.read_only tells in advance).
 */

#define UK_BLOCK_IO_MAX (64u * 1024u) /* the largest single read or write, in bytes */
#define UK_BLOCK_TIMEOUT_MS 30000u    /* a request the device has not completed by then fails */

struct uk_block;

struct uk_block_info {
	uint64_t capacity;   /* bytes: a multiple of (block_size) */
	uint32_t block_size; /* bytes: a power of two, 512 or more */
	int read_only;       /* writes fail with UK_EUNSPEC */
	int flush;           /* nonzero if the device has a volatile cache that flush empties */
	const char *name;    /* "blk0", ... */
};

/*
 * Finds the device called (name) ("blk0", ...; NULL or "" means the first one) and stores its
 * handle in (*dev) and its description in (*info) (either MAY be NULL). Returns UK_OK, or
 * UK_EINVAL when there is no such device.
 */
uk_result_t uk_block_acquire(const char *name, struct uk_block **dev, struct uk_block_info *info);

/* Reads (size) bytes at (offset) into (buf). See the contract above. */
uk_result_t uk_block_read(struct uk_block *dev, uint64_t offset, void *buf, size_t size);

/* Writes (size) bytes from (buf) at (offset). See the contract above. */
uk_result_t uk_block_write(struct uk_block *dev, uint64_t offset, const void *buf, size_t size);

/* Makes every write that returned UK_OK before this call durable. */
uk_result_t uk_block_flush(struct uk_block *dev);

/*
 * Sets the most memory the block cache of all devices together may hold, in bytes (0: no cache;
 * cached blocks beyond it are dropped at once). Guests start with the runtime option
 * blkcache=SIZE, or else half the heap; host builds with 0.
 */
void uk_block_cache_limit(size_t bytes);

/* --- for drivers --- */

struct uk_block_ops {
	/* Transfer (size) bytes at (offset): arguments already checked against the contract, and
	 * (size) at most the device's (io_max) when it sets one. */
	uk_result_t (*read)(struct uk_block *dev, uint64_t offset, void *buf, size_t size);
	uk_result_t (*write)(struct uk_block *dev, uint64_t offset, const void *buf, size_t size);
	uk_result_t (*flush)(struct uk_block *dev); /* called only when (info.flush) is set */
};

struct uk_block {
	const struct uk_block_ops *ops; /* MUST be set, all three ops non-NULL */
	struct uk_block_info info;      /* filled by the driver; (name) by the registry */
	void *priv;                     /* the driver's own state */
	struct uk_block *next;          /* owned by the registry */
	char name[8];                   /* set by the registry */
	/* 0, or the largest transfer the driver takes (a multiple of block_size): the registry
	 * (and its cache) split larger ones. */
	uint32_t io_max;
	/* Counters kept by the registry: calls, and reads served from the cache alone. */
	uint64_t reads, writes, flushes, errors;
	uint64_t cache_hits;
	/* Set by the driver before registering: keep a block cache for this device (see Cache). */
	int cache;
};

/*
 * Adds (dev), which MUST stay valid for the rest of the run, naming it "blkN" in registration
 * order. Returns UK_OK; UK_EINVAL when (dev) or its ops are incomplete, its block size is not a
 * power of two of at least 512, its capacity or (io_max) is not a multiple of it, or it is
 * registered.
 */
uk_result_t uk_block_register(struct uk_block *dev);

#endif
