/* A volume's files as a tar and back (export, import) through the host build of the KV store. */
#include "volume_tar.h"
#include "ukd.h"

#include "kv_file.h"
#include "uk/images.h"

#include <ctype.h>
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
#define KV_DIR ".ukkv"   /* the archive's directory for the other keys (one file per key) */
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

/* ---- export: the archive made entry by entry as it is read (no copy of it anywhere) ---- */

struct ukd_voltar_exp {
	struct uk_block *dev;
	struct uk_kv *kv;
	struct keys keys;
	char *img;
	size_t next;    /* the next key to turn into an entry */
	int kv_dir;     /* the KV_DIR entry was written */
	int ended;      /* the end-of-archive blocks are in (buf) */
	uint8_t *buf;   /* the current entry's bytes: header(s), data, padding */
	size_t len, at; /* bytes in (buf), bytes of them already handed out */
};

/* A key outside "f/" is entry KV_DIR "/" + its bytes with '%', '/', control bytes and a leading
 * '.' as %XX: one flat name per key, which no file path of the volume can take (FILE_PREFIX keys
 * named ".ukkv..." are refused). Writes it to (out) (NAME_MAX + 8 bytes); 0 if it is too long. */
static int kv_name(const char *key, char *out)
{
	size_t n = snprintf(out, NAME_MAX + 1, "%s/", KV_DIR);

	for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
		int esc = *k == '%' || *k == '/' || *k < 0x20 || *k == 0x7f ||
		          (k == (const unsigned char *)key && *k == '.');

		if (n + (esc ? 3 : 1) > NAME_MAX + strlen(KV_DIR) + 1)
			return 0;
		n += (size_t)sprintf(out + n, esc ? "%%%02X" : "%c", *k);
	}
	return 1;
}

/* A ustar header for (name) at (h) (512 bytes, zeroed): a name over 100 bytes goes into the
 * prefix field when it splits at a '/', else the caller writes a GNU long name first. */
static void tar_header(uint8_t *h, const char *name, char type, uint64_t size)
{
	size_t len = strlen(name), split = 0;
	unsigned sum = 0;

	if (len > 100)
		for (size_t i = len - 1; i > 0 && !split; i--)
			if (name[i] == '/' && i <= 155 && len - i - 1 <= 100 && len - i - 1 > 0)
				split = i;
	if (split) {
		memcpy(h + 345, name, split);
		memcpy(h, name + split + 1, len - split - 1);
	} else {
		memcpy(h, name, len < 100 ? len : 100);
	}
	sprintf((char *)h + 100, "%07o", type == '5' ? 0755 : 0644);
	sprintf((char *)h + 108, "%07o", 0);
	sprintf((char *)h + 116, "%07o", 0);
	sprintf((char *)h + 124, "%011llo", (unsigned long long)size);
	sprintf((char *)h + 136, "%011o", 0);
	memset(h + 148, ' ', 8);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	sprintf((char *)h + 148, "%06o", sum);
	h[155] = ' ';
}

/* Whether (name) needs a GNU long name entry before its header. */
static int tar_long(const char *name)
{
	uint8_t h[512] = {0};

	tar_header(h, name, '0', 0);
	return strlen(name) > 100 && !h[345];
}

/* Lays out the entry (name) with (size) bytes of data in x->buf, the data left for the caller at
 * x->buf + the returned offset; -1 when memory runs out. */
static ssize_t entry_new(struct ukd_voltar_exp *x, const char *name, char type, size_t size)
{
	size_t nlen = strlen(name), head = 512, off = 0;

	if (tar_long(name))
		head += 512 + (nlen + 1 + 511) / 512 * 512;
	free(x->buf);
	x->len = head + (size + 511) / 512 * 512;
	x->at = 0;
	if (!(x->buf = calloc(1, x->len)))
		return -1;
	if (head > 512) {
		tar_header(x->buf, "././@LongLink", 'L', nlen + 1);
		memcpy(x->buf + 512, name, nlen);
		off = head - 512;
	}
	tar_header(x->buf + off, name, type, size);
	return (ssize_t)head;
}

void ukd_voltar_export_close(struct ukd_voltar_exp *x)
{
	if (!x)
		return;
	uk_kv_unmount(x->kv);
	if (x->dev)
		uk_kv_file_close(x->dev);
	keys_free(&x->keys);
	free(x->img);
	free(x->buf);
	free(x);
}

static void exp_freep(struct ukd_voltar_exp **x)
{
	ukd_voltar_export_close(*x);
}

int ukd_voltar_export_open(const char *img, struct ukd_voltar_exp **out, uk_err_t *err)
{
	__attribute__((cleanup(exp_freep))) struct ukd_voltar_exp *x = calloc(1, sizeof(*x));
	size_t flen = strlen(FILE_PREFIX);

	*out = NULL;
	if (!x || !(x->img = strdup(img)))
		return uk_err_errno(err, ENOMEM, "export %s", img);
	if (store_open(img, 0, &x->dev, &x->kv, err) < 0)
		return -1;
	if (x->kv && (uk_kv_list(x->kv, "", keys_add, &x->keys), x->keys.oom))
		return uk_err_errno(err, ENOMEM, "list %s", img);
	/* Every name checked before the first byte goes out. */
	for (size_t i = 0; i < x->keys.n; i++) {
		const char *k = x->keys.v[i], *p = k + flen;
		size_t len = strlen(p);
		char name[NAME_MAX + 8];

		if (strncmp(k, FILE_PREFIX, flen)) {
			if (!kv_name(k, name))
				return uk_err_set(
				        err, 422, "unsafe_path",
				        "export %s: key \"%.64s\" is too long to name in an "
				        "archive once escaped: nothing was exported",
				        img, k);
			continue;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(len - (len && p[len - 1] == '/')), p);
		if (!path_safe(name, strlen(name)) ||
		    (!strncmp(name, KV_DIR, strlen(KV_DIR)) &&
		     (!name[strlen(KV_DIR)] || name[strlen(KV_DIR)] == '/')))
			return uk_err_set(err, 422, "unsafe_path",
			                  "export %s: the store holds key \"%.64s\", which is no "
			                  "safe file path (or one under " KV_DIR
			                  ", which archives keep for other keys): nothing was "
			                  "exported",
			                  img, k);
	}
	*out = x;
	x = NULL;
	return 0;
}

/* Fills x->buf with the next entry, or the end of the archive; -1 with (err). */
static int entry_next(struct ukd_voltar_exp *x, uk_err_t *err)
{
	const char *k;
	size_t flen = strlen(FILE_PREFIX), vlen = 0;
	char name[NAME_MAX + 8];
	ssize_t at;
	uk_result_t r;

	if (x->next == x->keys.n) {
		free(x->buf);
		x->len = 1024; /* two zero blocks end an archive */
		x->at = 0;
		x->ended = 1;
		if (!(x->buf = calloc(1, x->len)))
			return uk_err_errno(err, ENOMEM, "export %s", x->img);
		return 0;
	}
	k = x->keys.v[x->next];
	if (strncmp(k, FILE_PREFIX, flen) && !x->kv_dir) {
		x->kv_dir = 1; /* its directory first, once */
		return entry_new(x, KV_DIR "/", '5', 0) < 0
		               ? uk_err_errno(err, ENOMEM, "export %s", x->img)
		               : 0;
	}
	x->next++;
	if (strncmp(k, FILE_PREFIX, flen))
		kv_name(k, name);
	else
		snprintf(name, sizeof(name), "%s", k + flen);
	if (name[strlen(name) - 1] == '/')
		return entry_new(x, name, '5', 0) < 0
		               ? uk_err_errno(err, ENOMEM, "export %s", x->img)
		               : 0;
	if ((r = uk_kv_exists(x->kv, k, &vlen)) != UK_OK)
		return kv_fail(err, r, "read", x->img);
	if ((at = entry_new(x, name, '0', vlen)) < 0)
		return uk_err_errno(err, ENOMEM, "export %s", x->img);
	if (vlen && (r = uk_kv_get(x->kv, k, x->buf + at, vlen, NULL)) != UK_OK)
		return kv_fail(err, r, "read", x->img);
	return 0;
}

ssize_t ukd_voltar_export_read(struct ukd_voltar_exp *x, void *buf, size_t max, uk_err_t *err)
{
	size_t n;

	while (x->at == x->len) {
		if (x->ended)
			return 0;
		if (entry_next(x, err) < 0)
			return -1;
	}
	n = x->len - x->at < max ? x->len - x->at : max;
	memcpy(buf, x->buf + x->at, n);
	x->at += n;
	return (ssize_t)n;
}

int ukd_voltar_export(const char *img, int fd, uk_err_t *err)
{
	__attribute__((cleanup(exp_freep))) struct ukd_voltar_exp *x = NULL;
	char buf[65536];
	ssize_t n;

	if (ukd_voltar_export_open(img, &x, err) < 0)
		return -1;
	while ((n = ukd_voltar_export_read(x, buf, sizeof(buf), err)) > 0)
		for (ssize_t w = 0, k; w < n; w += k)
			if ((k = write(fd, buf + w, (size_t)(n - w))) < 0) {
				if (errno == EINTR) {
					k = 0;
					continue;
				}
				return uk_err_errno(err, errno, "export %s: write", img);
			}
	return n < 0 ? -1 : 0;
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

/* The key an entry KV_DIR/(name) stands for (kv_name() backwards) into (key) (UK_KV_KEY_MAX + 2
 * bytes); 0 when (name) is no such encoding, or names a file key. */
static int kv_key(const char *name, char *key)
{
	size_t n = 0;

	for (const char *p = name; *p; p++) {
		unsigned v;

		if (n > UK_KV_KEY_MAX)
			return 0;
		if (*p != '%') {
			key[n++] = *p;
			continue;
		}
		if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]) ||
		    sscanf(p + 1, "%2x", &v) != 1 || !v)
			return 0;
		key[n++] = (char)v;
		p += 2;
	}
	key[n] = 0;
	return n && n <= UK_KV_KEY_MAX && strncmp(key, FILE_PREFIX, strlen(FILE_PREFIX));
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
	if (!strncmp(rel, KV_DIR "/", strlen(KV_DIR) + 1)) {
		if (!kv_key(rel + strlen(KV_DIR) + 1, key))
			return bad_entry(w->err, rel,
			                 "not a key's name (" KV_DIR "/ holds keys outside f/, "
			                 "escaped as an export writes them)");
	} else if (snprintf(key, sizeof(key), FILE_PREFIX "%s", rel) > (int)UK_KV_KEY_MAX) {
		return bad_entry(w->err, rel, "the path is over 253 bytes");
	} else if (!strcmp(rel, KV_DIR)) {
		return bad_entry(w->err, rel, "the name " KV_DIR " is kept for keys outside f/");
	}
	if (!w->kv)
		return 0; /* the checking pass */
	if (strncmp(rel, KV_DIR "/", strlen(KV_DIR) + 1) && shape_check(w, rel, 0) < 0)
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
		/* a path becomes "f/" + it; a key's file name has limits of its own (kv_key) */
		if (snprintf(rel, sizeof(rel), "%s%s%s", prefix, *prefix ? "/" : "", e->d_name) >=
		    (int)(strcmp(prefix, KV_DIR) ? UK_KV_KEY_MAX : sizeof(KV_DIR) + NAME_MAX)) {
			r = bad_entry(w->err, rel, "the path is over 253 bytes");
			break;
		}
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = uk_err_errno(w->err, errno, "import: stat %s", rel);
		} else if (S_ISDIR(st.st_mode) && !strcmp(prefix, KV_DIR)) {
			r = bad_entry(w->err, rel,
			              KV_DIR "/ holds one file per key, no directories");
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
	if (r == 0 && *prefix && w->kv && strcmp(prefix, KV_DIR)) {
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
