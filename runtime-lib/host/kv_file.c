/* Host builds of runtime-lib's storage: block devices over files, the entropy uk/kv.h asks for,
 * messages. */
#include "kv_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_dev {
	struct uk_block blk;
	int fd;
};

static uk_result_t file_io(struct uk_block *b, int write, uint64_t off, void *buf, size_t size)
{
	struct file_dev *f = b->priv;
	char *p = buf;

	while (size) {
		ssize_t n = write ? pwrite(f->fd, p, size, (off_t)off)
		                  : pread(f->fd, p, size, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return UK_EUNSPEC;
		p += n;
		off += (uint64_t)n;
		size -= (size_t)n;
	}
	return UK_OK;
}

static uk_result_t file_read(struct uk_block *b, uint64_t off, void *buf, size_t size)
{
	return file_io(b, 0, off, buf, size);
}

static uk_result_t file_write(struct uk_block *b, uint64_t off, const void *buf, size_t size)
{
	return file_io(b, 1, off, (void *)(uintptr_t)buf, size);
}

static uk_result_t file_flush(struct uk_block *b)
{
	struct file_dev *f = b->priv;

	return fdatasync(f->fd) == 0 ? UK_OK : UK_EUNSPEC;
}

static const struct uk_block_ops file_ops = {file_read, file_write, file_flush};

uk_result_t uk_kv_file_open(const char *path, int read_only, struct uk_block **dev)
{
	struct file_dev *f = calloc(1, sizeof(*f));
	struct stat st;

	if (!f)
		return UK_ENOMEM;
	f->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st) < 0) {
		int e = errno;

		if (f->fd >= 0)
			close(f->fd);
		free(f);
		errno = e;
		return UK_EUNSPEC;
	}
	f->blk.ops = &file_ops;
	f->blk.priv = f;
	f->blk.info.block_size = 512;
	f->blk.info.capacity = (uint64_t)st.st_size / 512 * 512;
	f->blk.info.read_only = read_only;
	f->blk.info.flush = 1;
	f->blk.info.name = "file";
	*dev = &f->blk;
	return UK_OK;
}

void uk_kv_file_close(struct uk_block *dev)
{
	struct file_dev *f;

	if (!dev)
		return;
	f = dev->priv;
	close(f->fd);
	free(f);
}

/* uk/kv.h salts the records a handle writes; on the host the kernel gives the bytes. */
uk_result_t uk_entropy_get(void *buf, size_t len)
{
	return getrandom(buf, len, 0) == (ssize_t)len ? UK_OK : UK_EUNSPEC;
}

const char *uk_kv_strerror(uk_result_t r)
{
	switch (r) {
	case UK_OK:
		return "success";
	case UK_EAGAIN:
		return "try again";
	case UK_EINVAL:
		return "invalid argument";
	case UK_ENOMEM:
		return "out of memory";
	case UK_ENOENT:
		return "not found";
	case UK_ENOSPC:
		return "no space left in the store";
	default:
		return "I/O error or damaged store";
	}
}
