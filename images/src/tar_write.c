/* A deterministic ustar writer: sorted entries, mtime 0, uid/gid 0, fixed modes, pax for long
 * names. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#define TAR_BLOCK 512
#define USTAR_MAX_SIZE 077777777777ULL /* 11 octal digits */

enum tar_kind { TAR_DIR, TAR_FILE, TAR_BUF };

struct tar_entry {
	char *name;
	enum tar_kind kind;
	char *path;
	void *data;
	size_t len;
	int exec;
};

struct ukimg_tar {
	struct tar_entry *e;
	size_t n, cap;
};

ukimg_tar_t *ukimg_tar_new(void)
{
	return calloc(1, sizeof(ukimg_tar_t));
}

void ukimg_tar_free(ukimg_tar_t *tar)
{
	if (!tar)
		return;
	for (size_t i = 0; i < tar->n; i++) {
		free(tar->e[i].name);
		free(tar->e[i].path);
		free(tar->e[i].data);
	}
	free(tar->e);
	free(tar);
}

static struct tar_entry *tar_add(ukimg_tar_t *tar, const char *name, uk_err_t *err)
{
	char norm[PATH_MAX];
	struct tar_entry *e;

	if (!name || util_relpath_normalize(name, norm, sizeof(norm)) < 0 || strcmp(norm, name) ||
	    !strcmp(name, ".")) {
		uk_err_bad(err, "tar: bad entry name \"%s\" (relative, normalized, no \"..\")",
		           name ? name : "");
		return NULL;
	}
	if (tar->n == tar->cap) {
		size_t nc = tar->cap ? tar->cap * 2 : 16;
		struct tar_entry *ne = realloc(tar->e, nc * sizeof(*ne));
		if (!ne) {
			uk_err_errno(err, ENOMEM, "tar");
			return NULL;
		}
		tar->e = ne;
		tar->cap = nc;
	}
	e = &tar->e[tar->n];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	if (!e->name) {
		uk_err_errno(err, ENOMEM, "tar");
		return NULL;
	}
	tar->n++;
	return e;
}

int ukimg_tar_add_dir(ukimg_tar_t *tar, const char *name, uk_err_t *err)
{
	struct tar_entry *e = tar_add(tar, name, err);

	if (!e)
		return -1;
	e->kind = TAR_DIR;
	return 0;
}

int ukimg_tar_add_file(ukimg_tar_t *tar, const char *name, const char *path, int exec,
                       uk_err_t *err)
{
	struct tar_entry *e = tar_add(tar, name, err);

	if (!e)
		return -1;
	e->kind = TAR_FILE;
	e->exec = exec;
	e->path = strdup(path);
	if (!e->path)
		return uk_err_errno(err, ENOMEM, "tar");
	return 0;
}

int ukimg_tar_add_buf(ukimg_tar_t *tar, const char *name, const void *buf, size_t len, int exec,
                      uk_err_t *err)
{
	struct tar_entry *e = tar_add(tar, name, err);

	if (!e)
		return -1;
	e->kind = TAR_BUF;
	e->exec = exec;
	e->len = len;
	e->data = malloc(len ? len : 1);
	if (!e->data)
		return uk_err_errno(err, ENOMEM, "tar");
	memcpy(e->data, buf, len);
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tar_entry *)a)->name, ((const struct tar_entry *)b)->name);
}

static void octal(char *dst, size_t width, uint64_t v)
{
	/* width includes the terminating NUL */
	snprintf(dst, width, "%0*llo", (int)width - 1, (unsigned long long)v);
}

static void header_finish(unsigned char *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < TAR_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 7, "%06o", sum);
	h[154] = 0;
	h[155] = ' ';
}

static void header_init(unsigned char *h, const char *name, char type, unsigned mode, uint64_t size)
{
	memset(h, 0, TAR_BLOCK);
	memcpy(h, name, strnlen(name, 100));
	octal((char *)h + 100, 8, mode);
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
	static const char zero[TAR_BLOCK];
	size_t pad = (size_t)((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK);

	return pad ? util_write_all(fd, zero, pad) : 0;
}

/* Writes a pax 'x' header carrying "path=(name)". */
static int write_pax_path(int fd, const char *name, uk_err_t *err)
{
	unsigned char h[TAR_BLOCK];
	char rec[PATH_MAX + 64];
	size_t body = strlen(name) + strlen(" path=\n"), len = body + 1;
	int n;

	/* The record length counts its own digits. */
	while ((size_t)snprintf(NULL, 0, "%zu", len) + body != len)
		len = (size_t)snprintf(NULL, 0, "%zu", len) + body;
	n = snprintf(rec, sizeof(rec), "%zu path=%s\n", len, name);
	if (n < 0 || (size_t)n != len)
		return uk_err_internal(err, "tar: pax record for %s", name);
	header_init(h, "PaxHeader", 'x', 0644, len);
	header_finish(h);
	if (util_write_all(fd, h, TAR_BLOCK) < 0 || util_write_all(fd, rec, len) < 0 ||
	    write_padding(fd, len) < 0)
		return uk_err_errno(err, errno, "tar: write");
	return 0;
}

static int write_entry(int fd, const struct tar_entry *e, uk_err_t *err)
{
	unsigned char h[TAR_BLOCK];
	char name[PATH_MAX + 2];
	_cleanup_close_ int in = -1;
	uint64_t size = 0;
	char type = '0';
	unsigned mode = e->exec ? 0755 : 0644;
	struct stat st;

	snprintf(name, sizeof(name), "%s%s", e->name, e->kind == TAR_DIR ? "/" : "");
	if (e->kind == TAR_DIR) {
		type = '5';
		mode = 0755;
	} else if (e->kind == TAR_BUF) {
		size = e->len;
	} else {
		in = open(e->path, O_RDONLY | O_CLOEXEC);
		if (in < 0 || fstat(in, &st) < 0)
			return uk_err_errno(err, errno, "tar: open %s", e->path);
		if (!S_ISREG(st.st_mode))
			return uk_err_bad(err, "tar: %s is not a regular file", e->path);
		size = (uint64_t)st.st_size;
	}
	if (size > USTAR_MAX_SIZE)
		return uk_err_set(err, 413, "too_large", "tar: %s is larger than 8 GiB", e->name);
	header_init(h, "", type, mode, size);
	if (ustar_split(name, h) < 0) {
		if (write_pax_path(fd, name, err) < 0)
			return -1;
		memcpy(h, name, 100);
	}
	header_finish(h);
	if (util_write_all(fd, h, TAR_BLOCK) < 0)
		return uk_err_errno(err, errno, "tar: write");
	if (e->kind == TAR_BUF) {
		if (util_write_all(fd, e->data, e->len) < 0)
			return uk_err_errno(err, errno, "tar: write");
	} else if (e->kind == TAR_FILE) {
		char buf[65536];
		uint64_t left = size;
		while (left) {
			ssize_t n = read(in, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return uk_err_errno(err, errno, "tar: read %s", e->path);
			if (n == 0)
				return uk_err_internal(err, "tar: %s shrank while being read",
				                       e->path);
			if (util_write_all(fd, buf, (size_t)n) < 0)
				return uk_err_errno(err, errno, "tar: write");
			left -= (uint64_t)n;
		}
	}
	if (write_padding(fd, size) < 0)
		return uk_err_errno(err, errno, "tar: write");
	return 0;
}

int ukimg_tar_write(ukimg_tar_t *tar, int fd, uk_err_t *err)
{
	static const char zero[TAR_BLOCK * 2];

	qsort(tar->e, tar->n, sizeof(*tar->e), entry_cmp);
	for (size_t i = 1; i < tar->n; i++)
		if (!strcmp(tar->e[i - 1].name, tar->e[i].name) &&
		    (tar->e[i - 1].kind != TAR_DIR || tar->e[i].kind != TAR_DIR))
			return uk_err_bad(err, "tar: \"%s\" added twice", tar->e[i].name);
	for (size_t i = 0; i < tar->n; i++) {
		if (i > 0 && !strcmp(tar->e[i - 1].name, tar->e[i].name))
			continue; /* the same directory, added twice */
		if (write_entry(fd, &tar->e[i], err) < 0)
			return -1;
	}
	if (util_write_all(fd, zero, sizeof(zero)) < 0)
		return uk_err_errno(err, errno, "tar: write");
	return 0;
}
