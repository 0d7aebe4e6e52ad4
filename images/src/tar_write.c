/* A deterministic archive of collected entries, sorted by name, over the one ustar writer
 * (base/uk/tar.h). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "uk/tar.h"

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

static int write_entry(int fd, const struct tar_entry *e, uk_err_t *err)
{
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
	if (uk_tar_header(fd, name, type, mode, size, err) < 0)
		return -1;
	if (e->kind == TAR_BUF)
		return uk_tar_data(fd, e->data, e->len, err);
	if (e->kind == TAR_FILE)
		return uk_tar_copy(fd, in, size, e->path, err);
	return 0;
}

int ukimg_tar_write(ukimg_tar_t *tar, int fd, uk_err_t *err)
{
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
	return uk_tar_end(fd, err);
}
