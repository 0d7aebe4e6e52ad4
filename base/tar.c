/* The one deterministic ustar writer (uk/tar.h): images' layers and save, the build context. */
#include "uk/tar.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "uk/io.h"

/* (v) in (width) - 1 octal digits and a NUL; callers keep (v) within them (size, mode & 07777) */
static void octal(char *dst, size_t width, uint64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)width - 1, (unsigned long long)v);
	memcpy(dst, tmp, width - 1);
	dst[width - 1] = '\0';
}

static void header_finish(unsigned char *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < UK_TAR_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 7, "%06o", sum);
	h[154] = 0;
	h[155] = ' ';
}

static void header_init(unsigned char *h, const char *name, char type, unsigned mode, uint64_t size)
{
	memset(h, 0, UK_TAR_BLOCK);
	memcpy(h, name, strnlen(name, 100));
	octal((char *)h + 100, 8, mode & 07777);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, 0);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
}

/* Splits (name) into ustar prefix/name if possible; returns 0 or -1 (needs pax). */
static int ustar_split(const char *name, unsigned char *h)
{
	size_t len = strlen(name);

	if (len <= 100) {
		memset(h, 0, 100);
		memcpy(h, name, len);
		return 0;
	}
	for (size_t i = len > 101 ? len - 101 : 0; i < len && i <= 155; i++) {
		if (name[i] != '/' || len - i - 1 > 100 || len - i - 1 == 0)
			continue;
		memset(h, 0, 100);
		memcpy(h, name + i + 1, len - i - 1);
		memcpy(h + 345, name, i);
		return 0;
	}
	return -1;
}

static int write_padding(int fd, uint64_t size)
{
	static const char zero[UK_TAR_BLOCK];
	size_t pad = (size_t)((UK_TAR_BLOCK - size % UK_TAR_BLOCK) % UK_TAR_BLOCK);

	return pad ? uk_write_all(fd, zero, pad) : 0;
}

int uk_tar_data(int fd, const void *buf, uint64_t len, uk_err_t *err)
{
	if (uk_write_all(fd, buf, (size_t)len) < 0 || write_padding(fd, len) < 0)
		return uk_err_errno(err, errno, "tar: write");
	return 0;
}

/* Writes a pax 'x' header carrying "path=(name)". */
static int write_pax_path(int fd, const char *name, uk_err_t *err)
{
	unsigned char h[UK_TAR_BLOCK];
	char rec[PATH_MAX + 64];
	size_t body = strlen(name) + strlen(" path=\n"), len = body + 1;
	int n;

	/* The record length counts its own digits. */
	while ((size_t)snprintf(NULL, 0, "%zu", len) + body != len)
		len = (size_t)snprintf(NULL, 0, "%zu", len) + body;
	n = snprintf(rec, sizeof(rec), "%zu path=%s\n", len, name);
	if (n < 0 || (size_t)n != len)
		return uk_err_bad(err, "tar: %s: the path is too long (at most %d bytes)", name,
		                  PATH_MAX);
	header_init(h, "PaxHeader", 'x', 0644, len);
	header_finish(h);
	if (uk_write_all(fd, h, UK_TAR_BLOCK) < 0)
		return uk_err_errno(err, errno, "tar: write");
	return uk_tar_data(fd, rec, len, err);
}

int uk_tar_header(int fd, const char *name, char type, unsigned mode, uint64_t size, uk_err_t *err)
{
	unsigned char h[UK_TAR_BLOCK];

	if (size > UK_TAR_MAX_SIZE)
		return uk_err_set(err, 413, "too_large", "tar: %s is larger than 8 GiB", name);
	header_init(h, "", type, mode, size);
	if (ustar_split(name, h) < 0) {
		if (write_pax_path(fd, name, err) < 0)
			return -1;
		memcpy(h, name, 100);
	}
	header_finish(h);
	if (uk_write_all(fd, h, UK_TAR_BLOCK) < 0)
		return uk_err_errno(err, errno, "tar: write");
	return 0;
}

int uk_tar_copy(int fd, int in, uint64_t size, const char *what, uk_err_t *err)
{
	char buf[65536];
	uint64_t left = size;

	while (left) {
		ssize_t n = read(in, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return uk_err_errno(err, errno, "tar: read %s", what);
		if (n == 0)
			return uk_err_bad(err, "tar: %s changed while it was being read; try again",
			                  what);
		if (uk_write_all(fd, buf, (size_t)n) < 0)
			return uk_err_errno(err, errno, "tar: write");
		left -= (uint64_t)n;
	}
	if (write_padding(fd, size) < 0)
		return uk_err_errno(err, errno, "tar: write");
	return 0;
}

int uk_tar_end(int fd, uk_err_t *err)
{
	static const char zero[UK_TAR_BLOCK * 2];

	if (uk_write_all(fd, zero, sizeof(zero)) < 0)
		return uk_err_errno(err, errno, "tar: write");
	return 0;
}
