/* Fuzz target: `uk volume import` (daemon/volume_tar.c) of arbitrary tar bytes into a volume. */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kv_file.h"
#include "volume_tar.h"

#define IMG_SIZE (1u << 20)

static char dir[64], img[96], img2[96];
static unsigned char before[IMG_SIZE], after[IMG_SIZE];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)f;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void read_img(const char *path, unsigned char *buf)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0 || pread(fd, buf, IMG_SIZE, 0) != IMG_SIZE)
		abort();
	close(fd);
}

/* A fresh volume: blank, or (seeded) a store holding one file and one directory. */
static void fresh(const char *path, int seeded)
{
	struct uk_block *dev;
	struct uk_kv *kv;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, IMG_SIZE) < 0)
		abort();
	close(fd);
	if (!seeded)
		return;
	if (uk_kv_file_open(path, 0, &dev) != UK_OK || uk_kv_format(dev) != UK_OK ||
	    uk_kv_mount(dev, &kv) != UK_OK)
		abort();
	if (uk_kv_put(kv, "f/a", "x", 1) != UK_OK || uk_kv_put(kv, "f/d/", "", 0) != UK_OK ||
	    uk_kv_commit(kv) != UK_OK)
		abort();
	uk_kv_unmount(kv);
	uk_kv_file_close(dev);
}

static int import(const char *path, int fd, uk_err_t *err)
{
	char scratch[128];
	int r;

	snprintf(scratch, sizeof(scratch), "%s/x-XXXXXX", dir);
	if (!mkdtemp(scratch))
		abort();
	r = ukd_voltar_import(path, fd, scratch, 256 * 1024, err);
	nftw(scratch, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return r;
}

static int memfd_of(const uint8_t *data, size_t len)
{
	int fd = memfd_create("tar", 0);

	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || lseek(fd, 0, SEEK_SET))
		abort();
	return fd;
}

static void export_to(const char *path, int fd)
{
	uk_err_t err = {0};

	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
	    ukd_voltar_export(path, fd, &err) < 0) {
		fprintf(stderr, "export after a good import failed: %s\n", err.message);
		abort();
	}
	lseek(fd, 0, SEEK_SET);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uk_err_t err = {0};
	int seeded = len && (data[0] & 1), fd, e1, e2;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz-voltar-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		snprintf(img, sizeof(img), "%s/data.img", dir);
		snprintf(img2, sizeof(img2), "%s/copy.img", dir);
	}
	fresh(img, seeded);
	read_img(img, before);
	fd = memfd_of(data, len);
	if (import(img, fd, &err) < 0) {
		/* refused: a clear status and the volume exactly as it was */
		if (err.status < 400 || !err.message[0])
			abort();
		read_img(img, after);
		if (memcmp(before, after, IMG_SIZE))
			abort();
		close(fd);
		return 0;
	}
	/* accepted: what it holds exports, and the export imports into a new volume the same */
	e1 = memfd_create("e1", 0);
	e2 = memfd_create("e2", 0);
	export_to(img, e1);
	fresh(img2, 0);
	if (import(img2, e1, &err) < 0) {
		fprintf(stderr, "re-import of an export failed: %s\n", err.message);
		abort();
	}
	export_to(img, e1);
	export_to(img2, e2);
	{
		off_t n1 = lseek(e1, 0, SEEK_END), n2 = lseek(e2, 0, SEEK_END);
		unsigned char *a = malloc((size_t)n1 + 1), *b = malloc((size_t)n2 + 1);

		if (n1 != n2 || pread(e1, a, (size_t)n1, 0) != n1 ||
		    pread(e2, b, (size_t)n2, 0) != n2 || memcmp(a, b, (size_t)n1))
			abort();
		free(a);
		free(b);
	}
	close(e1);
	close(e2);
	close(fd);
	return 0;
}
