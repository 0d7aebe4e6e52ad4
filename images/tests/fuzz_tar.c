/* libFuzzer target: safe tar extraction of arbitrary bytes; nothing may appear outside the target
 * dir. */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char base[PATH_MAX], dest[PATH_MAX + 8];

static void cleanup(void)
{
	uk_rm_rf(base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	(void)argc;
	(void)argv;
	snprintf(base, sizeof(base), "%s/ukimg-fuzz-tar-XXXXXX", t);
	if (!mkdtemp(base))
		abort();
	snprintf(dest, sizeof(dest), "%s/d", base);
	atexit(cleanup);
	return 0;
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		abort();
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ukimg_tar_limits_t lim = {.max_entries = 64, .max_bytes = 1 << 20};
	uk_err_t err = {0};
	int fd = memfd_create("tar", MFD_CLOEXEC), rc;

	if (fd < 0 || mkdir(dest, 0700) < 0)
		abort();
	if (size && uk_write_all(fd, data, size) < 0)
		abort();
	lseek(fd, 0, SEEK_SET);
	rc = ukimg_tar_extract(fd, dest, &lim, &err);
	close(fd);
	if (rc < 0 && (err.status < 400 || !err.message[0]))
		abort();
	/* base/ holds d/ and nothing else: no entry escaped. */
	if (entries(base) != 1)
		abort();
	if (uk_rm_rf(dest) < 0)
		abort();
	return 0;
}
