/* The registry's block cache (lib/block_cache.c): what lib/block.c calls for cached devices. */
#ifndef UK_LIB_BLOCK_CACHE_H
#define UK_LIB_BLOCK_CACHE_H

#include "uk/block.h"

/* The driver's read (write 0) or write (write 1) of a checked request, split at dev->io_max:
 * the one way to the device, for the registry and its cache. */
uk_result_t uk_block_dev_io(struct uk_block *dev, int write, uint64_t offset, uint8_t *buf,
                            size_t size);

/* Reads a checked request through the cache (misses go to the driver, a run of them at a time). */
uk_result_t uk_block_cache_read(struct uk_block *dev, uint64_t offset, void *buf, size_t size);

/* Writes a checked request to the driver, then updates the cached copies (write-through). */
uk_result_t uk_block_cache_write(struct uk_block *dev, uint64_t offset, const void *buf,
                                 size_t size);

#endif
