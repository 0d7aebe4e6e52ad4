/* Hosted block device over a plain file (UK_BLOCK=PATH[:ro]): pread, pwrite and fdatasync behind
 * uk/block.h. */
#include <stdlib.h>
#include <string.h>
#include <uk/block.h>
#include <uk/internal.h>

#define SYS_close 3
#define SYS_pread64 17
#define SYS_pwrite64 18
#define SYS_fdatasync 75
#define SYS_openat 257
#define SYS_fstat 5
#define AT_FDCWD_ (-100)
#define O_RDONLY_ 0
#define O_RDWR_ 2
#define O_CLOEXEC_ 02000000
#define EINTR_ 4
#define BLOCK_SIZE 512u
#define PATH_MAX_ 4096

long uk_hosted_syscall(long n, long a, long b, long c, long d, long e, long f);

/* Weak: only images that use uk/block.h link the registry, and only those open the file. */
uk_result_t uk_block_register(struct uk_block *dev) __attribute__((weak));

static struct uk_block file_dev;
static long file_fd = -1;

/* Moves all (size) bytes (pread64 or pwrite64 per (sys)), resuming after short transfers. */
static uk_result_t file_io(long sys, uint64_t offset, char *buf, size_t size)
{
	while (size) {
		long n = uk_hosted_syscall(sys, file_fd, (long)buf, (long)size, (long)offset, 0, 0);

		if (n == -EINTR_)
			continue;
		if (n <= 0)
			return UK_EUNSPEC; /* an error, or the file shrank under us */
		buf += n;
		offset += (uint64_t)n;
		size -= (size_t)n;
	}
	return UK_OK;
}

static uk_result_t file_read(struct uk_block *dev, uint64_t offset, void *buf, size_t size)
{
	(void)dev;
	return file_io(SYS_pread64, offset, buf, size);
}

static uk_result_t file_write(struct uk_block *dev, uint64_t offset, const void *buf, size_t size)
{
	(void)dev;
	return file_io(SYS_pwrite64, offset, (char *)(uintptr_t)buf, size);
}

static uk_result_t file_flush(struct uk_block *dev)
{
	(void)dev;
	return uk_hosted_syscall(SYS_fdatasync, file_fd, 0, 0, 0, 0, 0) == 0 ? UK_OK : UK_EUNSPEC;
}

static const struct uk_block_ops file_ops = {file_read, file_write, file_flush};

/*
 * Called once at start-up: when UK_BLOCK names a file (and the app uses uk/block.h), opens it
 * (read-only with a ":ro" suffix) and registers it as blk0, its capacity the file's size
 * rounded down to 512 bytes. Failures are reported on stderr and leave the app without it.
 */
void uk_hosted_block_init(void)
{
	const char *spec = getenv("UK_BLOCK");
	char path[PATH_MAX_];
	struct {
		unsigned long dev, ino, nlink;
		unsigned mode, uid, gid, pad0;
		unsigned long rdev;
		long size, blksize, blocks;
		unsigned long times[6];
		long unused[3];
	} st;
	size_t len;
	int ro = 0;

	if (!spec || !*spec || !uk_block_register)
		return;
	len = strlen(spec);
	if (len > 3 && !strcmp(spec + len - 3, ":ro")) {
		ro = 1;
		len -= 3;
	}
	if (len >= sizeof(path)) {
		uk_printk("uk: UK_BLOCK: path too long\n");
		return;
	}
	memcpy(path, spec, len);
	path[len] = 0;
	file_fd = uk_hosted_syscall(SYS_openat, AT_FDCWD_, (long)path,
	                            (ro ? O_RDONLY_ : O_RDWR_) | O_CLOEXEC_, 0, 0, 0);
	if (file_fd < 0) {
		uk_printk("uk: UK_BLOCK=%s: cannot open (errno %ld)\n", spec, -file_fd);
		return;
	}
	if (uk_hosted_syscall(SYS_fstat, file_fd, (long)&st, 0, 0, 0, 0) < 0 || st.size < 0) {
		uk_printk("uk: UK_BLOCK=%s: cannot stat\n", spec);
		uk_hosted_syscall(SYS_close, file_fd, 0, 0, 0, 0, 0);
		file_fd = -1;
		return;
	}
	file_dev.ops = &file_ops;
	file_dev.info.block_size = BLOCK_SIZE;
	file_dev.info.capacity = (uint64_t)st.size / BLOCK_SIZE * BLOCK_SIZE;
	file_dev.info.read_only = ro;
	file_dev.info.flush = 1;
	if (uk_block_register(&file_dev) != UK_OK) {
		uk_hosted_syscall(SYS_close, file_fd, 0, 0, 0, 0, 0);
		file_fd = -1;
	}
}
