/* A volume's files as a tar and back (export, import) through the host build of the KV store. */
#include "volume_tar.h"
#include "ukd.h"

#include "kv_file.h"
#include "uk/images.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_PREFIX "f/" /* lib/file.c's key prefix for files */
#define SB_BYTES 1024    /* the two superblock slots (512-byte blocks) */
#define IMPORT_ENTRIES_MAX 10000

static void kv_close(struct uk_block **dev)
{
	uk_kv_file_close(*dev);
}
#define _cleanup_dev_ __attribute__((cleanup(kv_close)))

static void kv_unmount(struct uk_kv **kv)
{
	uk_kv_unmount(*kv);
}
#define _cleanup_kv_ __attribute__((cleanup(kv_unmount)))

static int kv_fail(uk_err_t *err, uk_result_t r, const char *what, const char *img)
{
	if (r == UK_ENOSPC)
		return uk_err_set(err, 507, "volume_full",
		                  "%s %s: the volume is full (its live data may fill half of it): "
		                  "make a larger volume",
		                  what, img);
	if (r == UK_ENOMEM)
		return uk_err_set(err, 507, "no_memory", "%s %s: out of memory", what, img);
	return uk_err_internal(err, "%s %s: %s", what, img, uk_kv_strerror(r));
}

/* 1 if (img)'s superblock slots are all zero: a volume no guest or import has formatted yet. */
static int image_blank(const char *img, uk_err_t *err)
{
	unsigned char sb[SB_BYTES];
	int fd = open(img, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return uk_err_errno(err, errno, "open %s", img);
	n = pread(fd, sb, sizeof(sb), 0);
	close(fd);
	if (n != (ssize_t)sizeof(sb))
		return uk_err_internal(err, "read %s: %s", img, n < 0 ? strerror(errno) : "short");
	for (size_t i = 0; i < sizeof(sb); i++)
		if (sb[i])
			return 0;
	return 1;
}

/* Opens and mounts (img)'s store; a blank image is formatted first when (writes), else (*kv)
 * stays NULL. */
static int store_open(const char *img, int writes, struct uk_block **dev, struct uk_kv **kv,
                      uk_err_t *err)
{
	int blank = image_blank(img, err);
	uk_result_t r;

	*dev = NULL;
	*kv = NULL;
	if (blank < 0)
		return -1;
	if (blank && !writes)
		return 0;
	if (uk_kv_file_open(img, !writes, dev) != UK_OK)
		return uk_err_errno(err, errno, "open %s", img);
	if (blank && (r = uk_kv_format(*dev)) != UK_OK)
		return kv_fail(err, r, "format", img);
	if ((r = uk_kv_mount(*dev, kv)) != UK_OK)
		return kv_fail(err, r, "mount the store on", img);
	return 0;
}

/* A file key's path (after "f/", without a directory marker's trailing '/') is safe to name in
 * a tar: not empty, no empty, "." or ".." component, no control characters. */
static int path_safe(const char *p, size_t len)
{
	size_t start = 0;

	if (!len)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && (unsigned char)p[i] < 0x20)
			return 0;
		if (i == len || p[i] == '/') {
			size_t c = i - start;
			if (!c || (c == 1 && p[start] == '.') ||
			    (c == 2 && p[start] == '.' && p[start + 1] == '.'))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

struct keys {
	char **v;
	size_t n, cap;
	int oom;
};

static void keys_free(struct keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
}
#define _cleanup_keys_ __attribute__((cleanup(keys_free)))

static int keys_add(const char *key, size_t len, void *arg)
{
	struct keys *k = arg;

	(void)len;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		char **v = realloc(k->v, cap * sizeof(*v));
		if (!v)
			return k->oom = 1;
		k->v = v;
		k->cap = cap;
	}
	if (!(k->v[k->n] = strdup(key)))
		return k->oom = 1;
	k->n++;
	return 0;
}

static void tar_freep(ukimg_tar_t **t)
{
	ukimg_tar_free(*t);
}

int ukd_voltar_export(const char *img, int fd, uk_err_t *err)
{
	_cleanup_dev_ struct uk_block *dev = NULL;
	_cleanup_kv_ struct uk_kv *kv = NULL;
	_cleanup_keys_ struct keys keys = {0};
	__attribute__((cleanup(tar_freep))) ukimg_tar_t *tar = ukimg_tar_new();

	if (!tar)
		return uk_err_errno(err, ENOMEM, "export %s", img);
	if (store_open(img, 0, &dev, &kv, err) < 0)
		return -1;
	if (kv && (uk_kv_list(kv, FILE_PREFIX, keys_add, &keys), keys.oom))
		return uk_err_errno(err, ENOMEM, "list %s", img);
	for (size_t i = 0; i < keys.n; i++) {
		const char *p = keys.v[i] + strlen(FILE_PREFIX);
		size_t len = strlen(p), vlen = 0;
		int dir = len && p[len - 1] == '/';
		char name[UK_KV_KEY_MAX + 1];
		_cleanup_free_ char *buf = NULL;
		uk_result_t r;

		snprintf(name, sizeof(name), "%.*s", (int)(len - (size_t)dir), p);
		if (!path_safe(name, strlen(name)))
			return uk_err_set(err, 422, "unsafe_path",
			                  "export %s: the store holds key \"%.64s\", which is no "
			                  "safe file path: nothing was exported",
			                  img, keys.v[i]);
		if (dir) {
			if (ukimg_tar_add_dir(tar, name, err) < 0)
				return -1;
			continue;
		}
		if ((r = uk_kv_exists(kv, keys.v[i], &vlen)) != UK_OK)
			return kv_fail(err, r, "read", img);
		if (!(buf = malloc(vlen ? vlen : 1)))
			return uk_err_errno(err, ENOMEM, "export %s", img);
		if ((r = uk_kv_get(kv, keys.v[i], buf, vlen, NULL)) != UK_OK)
			return kv_fail(err, r, "read", img);
		if (ukimg_tar_add_buf(tar, name, buf, vlen, 0, err) < 0)
			return -1;
	}
	return ukimg_tar_write(tar, fd, err);
}

/* ---- import ---- */

struct walk {
	struct uk_kv *kv;
	const char *img;
	size_t entries;
	uk_err_t *err;
};

static int bad_entry(uk_err_t *err, const char *rel, const char *why)
{
	return uk_err_bad(err, "import: tar entry \"%.200s\": %s: nothing was imported", rel, why);
}

/* 1 if a key other than (except) starts with (prefix) in the store. */
struct under {
	const char *except;
	int found;
};
static int under_one(const char *key, size_t len, void *arg)
{
	struct under *u = arg;

	(void)len;
	if (strcmp(key, u->except)) {
		u->found = 1;
		return 1;
	}
	return 0;
}

/* Refuses a file at (rel) where the store has a directory, or a path through a file. */
static int shape_check(struct walk *w, const char *rel, int dir)
{
	char key[UK_KV_KEY_MAX + 2], marker[UK_KV_KEY_MAX + 2];
	struct under u = {marker, 0};

	snprintf(key, sizeof(key), FILE_PREFIX "%s", rel);
	snprintf(marker, sizeof(marker), FILE_PREFIX "%s/", rel);
	if (!dir) {
		uk_kv_list(w->kv, marker, under_one, &u);
		if (u.found || uk_kv_exists(w->kv, marker, NULL) == UK_OK)
			return bad_entry(w->err, rel, "the volume has a directory of that name");
	} else if (uk_kv_exists(w->kv, key, NULL) == UK_OK) {
		return bad_entry(w->err, rel, "the volume has a file of that name");
	}
	for (char *s = key + strlen(FILE_PREFIX); (s = strchr(s, '/')); s++) {
		*s = 0;
		int file = uk_kv_exists(w->kv, key, NULL) == UK_OK;
		*s = '/';
		if (file)
			return bad_entry(w->err, rel,
			                 "a directory on its path is a file in the volume");
	}
	return 0;
}

static int stage_file(struct walk *w, int dirfd, const char *name, const char *rel,
                      const struct stat *st)
{
	char key[UK_KV_KEY_MAX + 2];
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	size_t got = 0;
	uk_result_t r;

	if (st->st_nlink > 1)
		return bad_entry(w->err, rel, "hard links are not supported in a volume");
	if ((uint64_t)st->st_size > UK_KV_VALUE_MAX)
		return uk_err_set(w->err, 413, "too_large",
		                  "import: tar entry \"%.200s\": %lld bytes, over a volume file's "
		                  "limit of %u: nothing was imported",
		                  rel, (long long)st->st_size, UK_KV_VALUE_MAX);
	if (snprintf(key, sizeof(key), FILE_PREFIX "%s", rel) > (int)UK_KV_KEY_MAX)
		return bad_entry(w->err, rel, "the path is over 253 bytes");
	if (!w->kv)
		return 0; /* the checking pass */
	if (shape_check(w, rel, 0) < 0)
		return -1;
	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    !(buf = malloc(st->st_size ? (size_t)st->st_size : 1)))
		return uk_err_errno(w->err, errno, "import: read %s", rel);
	while (got < (size_t)st->st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st->st_size - got);
		if (n <= 0)
			return uk_err_errno(w->err, n < 0 ? errno : EIO, "import: read %s", rel);
		got += (size_t)n;
	}
	if ((r = uk_kv_put(w->kv, key, buf, got)) != UK_OK)
		return kv_fail(w->err, r, "import into", w->img);
	return 0;
}

/* Stages every entry under (dirfd) (taken), whose path in the archive is (prefix). */
static int walk_dir(struct walk *w, int dirfd, const char *prefix)
{
	DIR *dp = fdopendir(dirfd);
	struct dirent *e;
	int r = 0;

	if (!dp) {
		close(dirfd);
		return uk_err_errno(w->err, errno, "import: read the extracted archive");
	}
	while (r == 0 && (e = readdir(dp))) {
		char rel[PATH_MAX];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (++w->entries > IMPORT_ENTRIES_MAX) {
			r = uk_err_set(w->err, 413, "too_large", "import: more than %d entries",
			               IMPORT_ENTRIES_MAX);
			break;
		}
		if (snprintf(rel, sizeof(rel), "%s%s%s", prefix, *prefix ? "/" : "", e->d_name) >=
		    (int)UK_KV_KEY_MAX) {
			r = bad_entry(w->err, rel, "the path is over 253 bytes");
			break;
		}
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = uk_err_errno(w->err, errno, "import: stat %s", rel);
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, e->d_name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub < 0 ? uk_err_errno(w->err, errno, "import: open %s", rel)
			            : walk_dir(w, sub, rel);
		} else if (S_ISREG(st.st_mode)) {
			r = stage_file(w, dirfd, e->d_name, rel, &st);
		} else if (S_ISLNK(st.st_mode)) {
			r = bad_entry(w->err, rel, "symbolic links are not supported in a volume");
		} else {
			r = bad_entry(w->err, rel, "only files and directories go in a volume");
		}
	}
	closedir(dp);
	if (r == 0 && *prefix && w->kv) {
		/* lib/file.c's marker (mkdir): every directory keeps one, so an export lists it */
		char key[UK_KV_KEY_MAX + 2];
		uk_result_t kr;

		if (shape_check(w, prefix, 1) < 0)
			return -1;
		snprintf(key, sizeof(key), FILE_PREFIX "%s/", prefix);
		if ((kr = uk_kv_put(w->kv, key, "", 0)) != UK_OK)
			return kv_fail(w->err, kr, "import into", w->img);
	}
	return r;
}

/* One pass over the extracted archive: with (kv) NULL it only checks, else it stages. */
static int walk_all(struct walk *w, const char *scratch)
{
	int dirfd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	w->entries = 0;
	if (dirfd < 0)
		return uk_err_errno(w->err, errno, "open %s", scratch);
	return walk_dir(w, dirfd, "");
}

int ukd_voltar_import(const char *img, int fd, const char *scratch, uint64_t max_bytes,
                      uk_err_t *err)
{
	ukimg_tar_limits_t lim = {IMPORT_ENTRIES_MAX, max_bytes ? max_bytes : 1};
	_cleanup_dev_ struct uk_block *dev = NULL;
	_cleanup_kv_ struct uk_kv *kv = NULL;
	struct walk w = {NULL, img, 0, err};
	uk_result_t r;

	if (ukimg_tar_extract(fd, scratch, &lim, err) < 0)
		return uk_err_wrap(err, "import: nothing was imported");
	/* every entry checked before the volume is touched (a blank one is formatted only then) */
	if (walk_all(&w, scratch) < 0 || store_open(img, 1, &dev, &kv, err) < 0)
		return -1;
	w.kv = kv;
	if (walk_all(&w, scratch) < 0) {
		uk_kv_rollback(kv);
		return -1;
	}
	if ((r = uk_kv_commit(kv)) != UK_OK) {
		uk_kv_rollback(kv);
		return kv_fail(err, r, "import into", img);
	}
	return 0;
}
