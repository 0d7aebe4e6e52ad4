/* The block device registry and the checks every uk/block.h call goes through before a driver sees
 * it. */
#include <stdio.h>
#include <string.h>
#include "uk/block.h"
#include "block_cache.h"

static struct uk_block *first, **tail = &first;
static unsigned count;

uk_result_t uk_block_register(struct uk_block *dev)
{
	uint32_t bs;

	if (!dev || !dev->ops || !dev->ops->read || !dev->ops->write || !dev->ops->flush)
		return UK_EINVAL;
	bs = dev->info.block_size;
	if (bs < 512 || (bs & (bs - 1)) || dev->info.capacity % bs || dev->io_max % bs)
		return UK_EINVAL;
	for (struct uk_block *d = first; d; d = d->next)
		if (d == dev)
			return UK_EINVAL;
	snprintf(dev->name, sizeof(dev->name), "blk%u", count++);
	dev->info.name = dev->name;
	dev->next = NULL;
	*tail = dev;
	tail = &dev->next;
	return UK_OK;
}

uk_result_t uk_block_acquire(const char *name, struct uk_block **dev, struct uk_block_info *info)
{
	for (struct uk_block *d = first; d; d = d->next) {
		if (name && *name && strcmp(name, d->name))
			continue;
		if (dev)
			*dev = d;
		if (info)
			*info = d->info;
		return UK_OK;
	}
	return UK_EINVAL;
}

/* The contract's rules on one request: whole blocks, within the device, one bounded transfer. */
static int request_ok(const struct uk_block *dev, uint64_t offset, const void *buf, size_t size)
{
	uint64_t bs;

	if (!dev || !buf || !size || size > UK_BLOCK_IO_MAX)
		return 0;
	bs = dev->info.block_size;
	return offset % bs == 0 && size % bs == 0 && offset <= dev->info.capacity &&
	       size <= dev->info.capacity - offset;
}

static uk_result_t counted(struct uk_block *dev, uk_result_t r)
{
	if (r != UK_OK)
		dev->errors++;
	return r;
}

/* Hands the driver (size) bytes at (offset) in pieces of at most its (io_max). */
uk_result_t uk_block_dev_io(struct uk_block *dev, int write, uint64_t offset, uint8_t *buf,
                            size_t size)
{
	size_t max = dev->io_max ? dev->io_max : size;

	while (size) {
		size_t n = size < max ? size : max;
		uk_result_t r = write ? dev->ops->write(dev, offset, buf, n)
		                      : dev->ops->read(dev, offset, buf, n);

		if (r != UK_OK)
			return r;
		offset += n;
		buf += n;
		size -= n;
	}
	return UK_OK;
}

uk_result_t uk_block_read(struct uk_block *dev, uint64_t offset, void *buf, size_t size)
{
	if (!request_ok(dev, offset, buf, size))
		return UK_EINVAL;
	dev->reads++;
	if (dev->cache)
		return counted(dev, uk_block_cache_read(dev, offset, buf, size));
	return counted(dev, uk_block_dev_io(dev, 0, offset, buf, size));
}

uk_result_t uk_block_write(struct uk_block *dev, uint64_t offset, const void *buf, size_t size)
{
	if (!request_ok(dev, offset, buf, size))
		return UK_EINVAL;
	dev->writes++;
	if (dev->info.read_only)
		return counted(dev, UK_EUNSPEC);
	if (dev->cache)
		return counted(dev, uk_block_cache_write(dev, offset, buf, size));
	/* The driver only reads (buf). */
	return counted(dev, uk_block_dev_io(dev, 1, offset, (uint8_t *)(uintptr_t)buf, size));
}

uk_result_t uk_block_flush(struct uk_block *dev)
{
	if (!dev)
		return UK_EINVAL;
	dev->flushes++;
	if (!dev->info.flush || dev->info.read_only)
		return UK_OK;
	return counted(dev, dev->ops->flush(dev));
}
