/* Unikernel test: uk/block.h over virtio-blk (or UK_BLOCK on hosted): write, flush, read back,
 * reject bad requests, and find the data again in a second boot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uk/block.h>

#define CHECK(c, ...)                                 \
	do {                                          \
		if (!(c)) {                           \
			printf("FAIL: " __VA_ARGS__); \
			printf("\n");                 \
			return 1;                     \
		}                                     \
	} while (0)

/* The byte pattern of block (lba) for (seed): differs per block and per run. */
static void fill(uint8_t *p, size_t len, uint64_t lba, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((lba * 131 + i * 7 + seed) ^ (i >> 9));
}

/* Writes (nblocks) at (lba) with (seed)'s pattern, or checks they hold it. */
static int region(struct uk_block *d, uint32_t bs, uint64_t lba, size_t nblocks, unsigned seed,
                  int write)
{
	size_t len = nblocks * bs;
	uint8_t *want = malloc(len), *got = malloc(len + 1);

	if (!want || !got)
		return -1;
	for (size_t b = 0; b < nblocks; b++)
		fill(want + b * bs, bs, lba + b, seed);
	if (write) {
		if (uk_block_write(d, lba * bs, want, len) != UK_OK)
			return -1;
	} else {
		/* An odd buffer address: the API takes any alignment. */
		if (uk_block_read(d, lba * bs, got + 1, len) != UK_OK || memcmp(got + 1, want, len))
			return -1;
	}
	free(want);
	free(got);
	return 0;
}

/* usage: block write|verify|readonly SEED SIZE_BYTES */
int main(int argc, char **argv)
{
	struct uk_block *d = NULL;
	struct uk_block_info info;
	static uint8_t buf[UK_BLOCK_IO_MAX + 512];
	unsigned seed;
	uint64_t last;

	CHECK(argc == 4, "usage: block write|verify|readonly SEED SIZE_BYTES");
	seed = (unsigned)strtoul(argv[2], NULL, 0);
	CHECK(uk_block_acquire("nosuch", &d, &info) == UK_EINVAL, "an unknown name was found");
	CHECK(uk_block_acquire(NULL, &d, &info) == UK_OK, "no block device");
	printf("%s: %llu bytes, blocks of %u, read-only %d, flush %d\n", info.name,
	       (unsigned long long)info.capacity, info.block_size, info.read_only, info.flush);
	CHECK(!strcmp(info.name, "blk0"), "first device is %s, want blk0", info.name);
	CHECK(info.capacity == strtoull(argv[3], NULL, 0), "capacity %llu, want %s",
	      (unsigned long long)info.capacity, argv[3]);
	last = info.capacity / info.block_size - 1;

	/* Requests the contract refuses, before the device sees them. */
	CHECK(uk_block_read(d, 1, buf, info.block_size) == UK_EINVAL, "unaligned offset accepted");
	CHECK(uk_block_read(d, 0, buf, info.block_size - 1) == UK_EINVAL, "partial block accepted");
	CHECK(uk_block_read(d, 0, buf, 0) == UK_EINVAL, "empty read accepted");
	CHECK(uk_block_read(d, info.capacity, buf, info.block_size) == UK_EINVAL,
	      "read past the end accepted");
	CHECK(uk_block_read(d, last * info.block_size, buf, 2 * info.block_size) == UK_EINVAL,
	      "read across the end accepted");
	CHECK(uk_block_read(d, 0, buf, UK_BLOCK_IO_MAX + info.block_size) == UK_EINVAL,
	      "read above UK_BLOCK_IO_MAX accepted");
	CHECK(uk_block_read(d, ~0ull - info.block_size + 1, buf, info.block_size) == UK_EINVAL,
	      "offset near 2^64 accepted");

	if (!strcmp(argv[1], "readonly")) {
		CHECK(info.read_only, "device is writable, want read-only");
		CHECK(uk_block_read(d, 0, buf, info.block_size) == UK_OK, "read failed");
		CHECK(uk_block_write(d, 0, buf, info.block_size) == UK_EUNSPEC,
		      "write to a read-only device did not fail");
	} else if (!strcmp(argv[1], "write")) {
		CHECK(!info.read_only, "device is read-only");
		/* First block, last block, a transfer of UK_BLOCK_IO_MAX, and one in between. */
		CHECK(!region(d, info.block_size, 0, 1, seed, 1), "write block 0");
		CHECK(!region(d, info.block_size, last, 1, seed, 1), "write the last block");
		CHECK(!region(d, info.block_size, 8, UK_BLOCK_IO_MAX / info.block_size, seed, 1),
		      "write %u bytes", UK_BLOCK_IO_MAX);
		CHECK(!region(d, info.block_size, 300, 3, seed, 1), "write blocks 300-302");
		CHECK(uk_block_flush(d) == UK_OK, "flush failed");
		CHECK(!region(d, info.block_size, 8, UK_BLOCK_IO_MAX / info.block_size, seed, 0),
		      "read back what was written");
	} else {
		CHECK(!strcmp(argv[1], "verify"), "unknown mode %s", argv[1]);
		CHECK(!region(d, info.block_size, 0, 1, seed, 0), "block 0 lost across the reboot");
		CHECK(!region(d, info.block_size, last, 1, seed, 0), "last block lost");
		CHECK(!region(d, info.block_size, 8, UK_BLOCK_IO_MAX / info.block_size, seed, 0),
		      "the large write lost");
		CHECK(!region(d, info.block_size, 300, 3, seed, 0), "blocks 300-302 lost");
	}
	printf("SUCCESS\n");
	return 0;
}
