/* libFuzzer target: ukimg_load on arbitrary bytes (tar + oci-layout + index/manifest/config JSON).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char base[PATH_MAX];

static void cleanup(void)
{
	uk_rm_rf(base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	(void)argc;
	(void)argv;
	snprintf(base, sizeof(base), "%s/ukimg-fuzz-load-XXXXXX", t);
	if (!mkdtemp(base))
		abort();
	atexit(cleanup);
	return 0;
}

static int on_image(void *ctx, const char *name, const char *digest, uk_err_t *err)
{
	ukimg_store_t *s = ctx;
	ukimg_info_t info;

	(void)name;
	/* What load reports must be a stored, inspectable uk image. */
	if (!ukimg_store_has(s, digest) || ukimg_inspect(s, digest, &info, err) < 0)
		abort();
	ukimg_info_clear(&info);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ukimg_tar_limits_t lim = {.max_entries = 64, .max_bytes = 1 << 20};
	char root[PATH_MAX + 8];
	uk_err_t err = {0};
	ukimg_store_t *s;
	int fd = memfd_create("oci", MFD_CLOEXEC), rc;

	snprintf(root, sizeof(root), "%s/r", base);
	s = ukimg_store_open(root, &err);
	if (fd < 0 || !s)
		abort();
	if (size && uk_write_all(fd, data, size) < 0)
		abort();
	lseek(fd, 0, SEEK_SET);
	rc = ukimg_load(s, fd, &lim, on_image, s, &err);
	close(fd);
	if (rc < 0 && (err.status < 400 || !err.message[0]))
		abort();
	ukimg_store_free(s);
	uk_rm_rf(root);
	return 0;
}
