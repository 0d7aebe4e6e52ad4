/* Files for ordinary C code: fopen and friends, directories and stat on the key-value stores of
 * mount=DEV:PATH options, and the image's embedded files read-only. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uk/block.h>
#include <uk/files.h>
#include <uk/internal.h>
#include <uk/kv.h>
#include "stdio_impl.h"

/*
 * Key layout (docs/storage.md): file /data/a/b.txt of a store mounted at /data is the key
 * "f/a/b.txt", its whole contents one value; a directory made by mkdir is the empty key
 * "f/a/" (a marker), and any key under "f/a/" makes "a" a directory.
 */
#define MOUNT_MAX 8
#define PATH_MAX_ 1024

struct mount {
	const char *path; /* "/data" (lib/cmdline.c keeps it) */
	size_t plen;
	const char *dev; /* "blk0" */
	struct uk_kv
	        *kv; /* NULL when the mount failed (err) or the device is empty and read-only */
	int ro;
	int err; /* the errno of every access when the mount failed, else 0 */
};

static struct mount mounts[MOUNT_MAX];
static int nmounts;

/* A resolved path: in a mount (m and key), or outside any (m NULL; path, for embedded files). */
struct where {
	struct mount *m;
	char path[PATH_MAX_];        /* normalized: "/"-rooted, no ".", "..", "//" */
	char key[UK_KV_KEY_MAX + 1]; /* "f" (the mount's root) or "f/a/b" */
	size_t klen;
};

enum kind { K_NONE, K_FILE, K_DIR };

struct vfile {
	struct uk_file f;   /* first: a FILE * is a struct vfile * */
	struct vfile *next; /* the open files, for fflush(NULL) */
	struct mount *m;    /* NULL for an embedded file (data not owned) */
	char key[UK_KV_KEY_MAX + 1];
	char *data;
	size_t size, cap, pos;
	int rd, wr, append, dirty;
};

static struct vfile *open_files;

struct uk_dir {
	struct dirent *ents;
	size_t n, cap, next;
};

/* --- mounting (at startup, before main) --- */

/* Nonzero when the device's first two blocks (where a store's superblocks go) are all zero. */
static int zeroed(struct uk_block *dev, uint32_t bs)
{
	unsigned char *b = malloc(2 * (size_t)bs);
	int z = 0;

	if (b && uk_block_read(dev, 0, b, 2 * (size_t)bs) == UK_OK) {
		z = 1;
		for (size_t i = 0; i < 2 * (size_t)bs; i++)
			if (b[i])
				z = 0;
	}
	free(b);
	return z;
}

static void mount_one(struct mount *m)
{
	struct uk_block *dev;
	struct uk_block_info info;
	uk_result_t r;

	if (uk_block_acquire(m->dev, &dev, &info) != UK_OK) {
		uk_printk("uk: mount %s on %s: no such block device (attach a disk, and link the "
		          "image with -lblock / LIBS block)\n",
		          m->dev, m->path);
		m->err = ENODEV;
		return;
	}
	if (info.read_only)
		m->ro = 1;
	r = uk_kv_mount(dev, &m->kv);
	if (r == UK_ENOENT && zeroed(dev, info.block_size)) {
		if (m->ro)
			return; /* an empty device, read-only: an empty directory */
		r = uk_kv_format(dev);
		if (r == UK_OK)
			r = uk_kv_mount(dev, &m->kv);
		if (r == UK_OK)
			uk_printk("uk: %s was empty: formatted it for %s\n", m->dev, m->path);
	}
	if (r != UK_OK) {
		uk_printk(
		        "uk: mount %s on %s: %s\n", m->dev, m->path,
		        r == UK_ENOENT ? "the device holds no store and is not empty (not "
		                         "formatted; check it with ukkv check)"
		        : r == UK_ENOMEM
		                ? "out of memory for the store's index"
		                : "damaged, newer or unreadable store (check it with ukkv check)");
		m->kv = NULL;
		m->err = EIO;
	}
}

/* A constructor: linked only into images that use files, it runs after the runtime options and
 * the drivers, before main. */
__attribute__((constructor)) static void mount_all(void)
{
	const char *dev, *path;
	int ro;

	for (int i = 0; nmounts < MOUNT_MAX && uk_cmdline_mount(i, &dev, &path, &ro) == UK_OK;
	     i++) {
		struct mount *m = &mounts[nmounts++];

		m->dev = dev;
		m->path = path;
		m->plen = strlen(path);
		m->ro = ro;
		mount_one(m);
	}
}

/* --- paths --- */

/* Normalizes (path) into (w->path) and finds its mount; 0, or -1 with errno. */
static int resolve(const char *path, struct where *w)
{
	size_t n = 0;

	if (!path || !*path) {
		errno = ENOENT;
		return -1;
	}
	if (path[0] != '/') { /* no working directory: relative to the root */
		w->path[n++] = '/';
	}
	for (const char *p = path; *p;) {
		const char *e;
		size_t len;

		while (*p == '/')
			p++;
		for (e = p; *e && *e != '/'; e++)
			;
		len = (size_t)(e - p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && w->path[n - 1] != '/')
				n--;
			if (n > 1)
				n--;
		} else {
			if (n + 1 + len >= sizeof(w->path)) {
				errno = ENAMETOOLONG;
				return -1;
			}
			if (n == 0 || w->path[n - 1] != '/')
				w->path[n++] = '/';
			memcpy(w->path + n, p, len);
			n += len;
		}
		p = e;
	}
	if (n == 0)
		w->path[n++] = '/';
	w->path[n] = 0;
	w->m = NULL;
	for (int i = 0; i < nmounts; i++) {
		struct mount *m = &mounts[i];

		if (!strncmp(w->path, m->path, m->plen) &&
		    (w->path[m->plen] == 0 || w->path[m->plen] == '/')) {
			size_t rest = n - m->plen;

			/* Room for the key, and for a "/" after it (a directory's prefix). */
			if (1 + rest + 1 > UK_KV_KEY_MAX) {
				errno = ENAMETOOLONG;
				return -1;
			}
			if (m->err) {
				errno = m->err;
				return -1;
			}
			w->m = m;
			w->key[0] = 'f';
			memcpy(w->key + 1, w->path + m->plen, rest + 1);
			w->klen = 1 + rest;
			return 0;
		}
	}
	return 0;
}

static int any_cb(const char *key, size_t len, void *arg)
{
	(void)key;
	(void)len;
	*(int *)arg = 1;
	return 1;
}

/* Nonzero when some key starts with (key) followed by "/". */
static int has_children(struct uk_kv *kv, const char *key, size_t klen)
{
	char prefix[UK_KV_KEY_MAX + 1];
	int any = 0;

	memcpy(prefix, key, klen);
	prefix[klen] = '/';
	prefix[klen + 1] = 0;
	uk_kv_list(kv, prefix, any_cb, &any);
	return any;
}

/* What (w) names; a file's size in (*size). */
static enum kind kind_of(const struct where *w, size_t *size)
{
	const struct uk_rofile *rf;
	size_t len = 0;

	*size = 0;
	if (!w->m) {
		if ((rf = uk_file_lookup(w->path))) {
			*size = rf->size;
			return K_FILE;
		}
		return uk_file_is_dir(w->path) ? K_DIR : K_NONE;
	}
	if (w->klen == 1)
		return K_DIR; /* the mount point */
	if (!w->m->kv)
		return K_NONE;
	if (uk_kv_exists(w->m->kv, w->key, &len) == UK_OK) {
		*size = len;
		return K_FILE;
	}
	return has_children(w->m->kv, w->key, w->klen) ? K_DIR : K_NONE;
}

/* 0 when (w)'s parent directories are not files (creating (w) may go ahead), else ENOTDIR. */
static int parents_ok(const struct where *w)
{
	char k[UK_KV_KEY_MAX + 1];

	for (size_t i = 2; i < w->klen; i++) {
		if (w->key[i] != '/')
			continue;
		memcpy(k, w->key, i);
		k[i] = 0;
		if (uk_kv_exists(w->m->kv, k, NULL) == UK_OK) {
			errno = ENOTDIR;
			return -1;
		}
	}
	return 0;
}

/* 0 when (w) is in a mount that takes writes; else -1 with EROFS. */
static int writable(const struct where *w)
{
	if (!w->m || w->m->ro || !w->m->kv) {
		errno = EROFS;
		return -1;
	}
	return 0;
}

static int kv_errno(uk_result_t r)
{
	return r == UK_ENOSPC ? ENOSPC : r == UK_ENOMEM ? ENOMEM : r == UK_EINVAL ? EINVAL : EIO;
}

/* Commits what the caller staged; on failure drops it (the store keeps its last commit). */
static int commit(struct uk_kv *kv, uk_result_t r)
{
	if (r == UK_OK)
		r = uk_kv_commit(kv);
	if (r != UK_OK) {
		uk_kv_rollback(kv);
		errno = kv_errno(r);
		return -1;
	}
	return 0;
}

/* --- streams --- */

static int vf_flush(FILE *f)
{
	struct vfile *v = (struct vfile *)f;
	struct uk_kv *kv;

	if (!v->dirty)
		return 0;
	kv = v->m->kv;
	if (commit(kv, uk_kv_put(kv, v->key, v->data ? v->data : "", v->size)) < 0) {
		f->err = 1;
		return EOF;
	}
	v->dirty = 0;
	return 0;
}

static size_t vf_write(FILE *f, const char *s, size_t n)
{
	struct vfile *v = (struct vfile *)f;
	size_t end;

	if (!v->wr) {
		errno = EBADF;
		f->err = 1;
		return 0;
	}
	if (v->append)
		v->pos = v->size;
	if (v->pos > UK_KV_VALUE_MAX || n > UK_KV_VALUE_MAX - v->pos) {
		errno = EFBIG;
		f->err = 1;
		return 0;
	}
	end = v->pos + n;
	if (end > v->cap) {
		size_t cap = v->cap < 256 ? 256 : v->cap;
		char *p;

		while (cap < end)
			cap *= 2;
		if (cap > UK_KV_VALUE_MAX)
			cap = UK_KV_VALUE_MAX;
		p = realloc(v->data, cap);
		if (!p) {
			errno = ENOMEM;
			f->err = 1;
			return 0;
		}
		v->data = p;
		v->cap = cap;
	}
	if (v->pos > v->size)
		memset(v->data + v->size, 0, v->pos - v->size);
	memcpy(v->data + v->pos, s, n);
	v->pos = end;
	if (end > v->size)
		v->size = end;
	v->dirty = 1;
	return n;
}

static const struct uk_file_ops vf_ops = {vf_write, vf_flush};

static int flush_all(void)
{
	int r = 0;

	for (struct vfile *v = open_files; v; v = v->next)
		if (v->f.ops->flush(&v->f))
			r = EOF;
	return r;
}

/* (f) as a file of ours, or NULL with EBADF (a console stream). */
static struct vfile *vf(FILE *f)
{
	if (!f || !f->ops) {
		errno = EBADF;
		return NULL;
	}
	return (struct vfile *)f;
}

FILE *fopen(const char *restrict path, const char *restrict mode)
{
	struct where *w = malloc(sizeof(*w));
	struct vfile *v = NULL;
	const struct uk_rofile *rf;
	int rd, wr, create, trunc, append, excl = 0, plus = 0;
	enum kind k;
	size_t size;

	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	if (!mode || !strchr("rwa", mode[0]) || !mode[0])
		goto einval;
	for (const char *c = mode + 1; *c; c++) {
		if (*c == '+')
			plus = 1;
		else if (*c == 'x' && mode[0] == 'w')
			excl = 1;
		else if (*c != 'b')
			goto einval;
	}
	rd = mode[0] == 'r' || plus;
	wr = mode[0] != 'r' || plus;
	create = mode[0] != 'r';
	trunc = mode[0] == 'w';
	append = mode[0] == 'a';
	if (resolve(path, w) < 0)
		goto fail;
	k = kind_of(w, &size);
	if (k == K_DIR) {
		errno = EISDIR;
		goto fail;
	}
	if (k == K_NONE && !create) {
		errno = ENOENT;
		goto fail;
	}
	if (k == K_FILE && excl) {
		errno = EEXIST;
		goto fail;
	}
	if (wr && writable(w) < 0)
		goto fail;
	if (k == K_NONE && parents_ok(w) < 0)
		goto fail;
	v = calloc(1, sizeof(*v));
	if (!v)
		goto enomem;
	v->f.ops = &vf_ops;
	v->m = w->m;
	v->rd = rd;
	v->wr = wr;
	v->append = append;
	if (!w->m) {
		rf = uk_file_lookup(w->path);
		v->data = (char *)(uintptr_t)rf->data; /* never written: the stream is read-only */
		v->size = rf->size;
	} else {
		memcpy(v->key, w->key, w->klen + 1);
		if (k == K_FILE && !trunc && size) {
			v->data = malloc(size);
			if (!v->data)
				goto enomem;
			v->cap = v->size = size;
			if (uk_kv_get(w->m->kv, w->key, v->data, size, NULL) != UK_OK) {
				free(v->data);
				errno = EIO;
				goto fail;
			}
		}
		v->dirty = k == K_NONE || (trunc && size);
	}
	v->next = open_files;
	open_files = v;
	uk_stdio_flush_files = flush_all;
	free(w);
	return &v->f;
einval:
	errno = EINVAL;
	goto fail;
enomem:
	errno = ENOMEM;
fail:
	free(v);
	free(w);
	return NULL;
}

int fclose(FILE *f)
{
	struct vfile *v, **pp;
	int r;

	if (f && !f->ops)
		return fflush(f);
	if (!(v = vf(f)))
		return EOF;
	r = vf_flush(f);
	for (pp = &open_files; *pp; pp = &(*pp)->next)
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	if (v->m)
		free(v->data);
	free(v);
	return r;
}

size_t fread(void *restrict buf, size_t size, size_t n, FILE *restrict f)
{
	struct vfile *v = vf(f);
	size_t want, avail;

	if (!v)
		return 0;
	if (!v->rd) {
		errno = EBADF;
		f->err = 1;
		return 0;
	}
	if (size == 0 || n == 0)
		return 0;
	if (n > (size_t)-1 / size) {
		errno = EOVERFLOW;
		return 0;
	}
	want = size * n;
	avail = v->pos < v->size ? v->size - v->pos : 0;
	if (want > avail) {
		want = avail / size * size;
		f->eof = 1;
	}
	memcpy(buf, v->data + v->pos, want);
	v->pos += want;
	return want / size;
}

int fgetc(FILE *f)
{
	unsigned char c;

	return fread(&c, 1, 1, f) == 1 ? c : EOF;
}

int getc(FILE *f)
{
	return fgetc(f);
}

char *fgets(char *restrict s, int n, FILE *restrict f)
{
	struct vfile *v = vf(f);
	size_t k = 0;

	if (!v)
		return NULL;
	if (!v->rd) {
		errno = EBADF;
		f->err = 1;
		return NULL;
	}
	if (n <= 0) {
		errno = EINVAL;
		return NULL;
	}
	while (k + 1 < (size_t)n) {
		if (v->pos >= v->size) {
			f->eof = 1;
			break;
		}
		s[k] = v->data[v->pos++];
		if (s[k++] == '\n')
			break;
	}
	if (k == 0 && n > 1)
		return NULL;
	s[k] = 0;
	return s;
}

int fseek(FILE *f, long offset, int whence)
{
	struct vfile *v;
	long base;

	if (f && !f->ops) {
		errno = ESPIPE;
		return -1;
	}
	if (!(v = vf(f)))
		return -1;
	base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (long)v->pos : (long)v->size;
	if ((whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) ||
	    (offset < 0 && base + offset < 0) || (offset > 0 && base > __LONG_MAX__ - offset)) {
		errno = EINVAL;
		return -1;
	}
	v->pos = (size_t)(base + offset);
	f->eof = 0;
	return 0;
}

long ftell(FILE *f)
{
	struct vfile *v;

	if (f && !f->ops) {
		errno = ESPIPE;
		return -1;
	}
	if (!(v = vf(f)))
		return -1;
	return (long)v->pos;
}

void rewind(FILE *f)
{
	if (fseek(f, 0, SEEK_SET) == 0)
		f->err = 0;
}

int feof(FILE *f)
{
	return f->eof;
}

int ferror(FILE *f)
{
	return f->err;
}

void clearerr(FILE *f)
{
	f->eof = f->err = 0;
}

/* --- names --- */

struct keys {
	char **k;
	size_t n, cap;
	int fail;
};

static int keys_cb(const char *key, size_t len, void *arg)
{
	struct keys *ks = arg;
	char **p;

	(void)len;
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? 2 * ks->cap : 16;
		p = realloc(ks->k, ks->cap * sizeof(*p));
		if (!p) {
			ks->fail = 1;
			return 1;
		}
		ks->k = p;
	}
	if (!(ks->k[ks->n] = strdup(key))) {
		ks->fail = 1;
		return 1;
	}
	ks->n++;
	return 0;
}

static void keys_free(struct keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		free(ks->k[i]);
	free(ks->k);
}

/* The keys under directory (w) ("f/a/..."), in (*ks); 0 or -1 with ENOMEM. */
static int keys_under(const struct where *w, struct keys *ks)
{
	char prefix[UK_KV_KEY_MAX + 1];

	memset(ks, 0, sizeof(*ks));
	memcpy(prefix, w->key, w->klen);
	prefix[w->klen] = '/';
	prefix[w->klen + 1] = 0;
	uk_kv_list(w->m->kv, prefix, keys_cb, ks);
	if (ks->fail) {
		keys_free(ks);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* Stages the removal of an empty directory (its marker, if any); -1 with ENOTEMPTY otherwise. */
static int rmdir_stage(const struct where *w)
{
	struct keys ks;
	int r = 0;

	if (keys_under(w, &ks) < 0)
		return -1;
	for (size_t i = 0; i < ks.n && !r; i++) {
		if (ks.k[i][w->klen + 1] != 0) {
			errno = ENOTEMPTY;
			r = -1;
		} else {
			uk_kv_delete(w->m->kv, ks.k[i]);
		}
	}
	keys_free(&ks);
	if (r < 0)
		uk_kv_rollback(w->m->kv);
	return r;
}

int remove(const char *path)
{
	struct where w;
	enum kind k;
	size_t size;

	if (resolve(path, &w) < 0)
		return -1;
	k = kind_of(&w, &size);
	if (k == K_NONE) {
		errno = ENOENT;
		return -1;
	}
	if (writable(&w) < 0)
		return -1;
	if (k == K_FILE)
		return commit(w.m->kv, uk_kv_delete(w.m->kv, w.key));
	if (w.klen == 1) {
		errno = EBUSY; /* the mount point */
		return -1;
	}
	if (rmdir_stage(&w) < 0)
		return -1;
	return commit(w.m->kv, UK_OK);
}

/* Stages (to) = the value of (from), and the removal of (from). */
static uk_result_t move_key(struct uk_kv *kv, const char *from, const char *to)
{
	size_t len = 0;
	uk_result_t r;
	char *buf;

	if ((r = uk_kv_exists(kv, from, &len)) != UK_OK)
		return r;
	if (!(buf = malloc(len ? len : 1)))
		return UK_ENOMEM;
	r = uk_kv_get(kv, from, buf, len, NULL);
	if (r == UK_OK)
		r = uk_kv_put(kv, to, buf, len);
	if (r == UK_OK)
		r = uk_kv_delete(kv, from);
	free(buf);
	return r;
}

/* Stages the move of every key under directory (from) to directory (to). */
static uk_result_t move_dir(const struct where *from, const struct where *to)
{
	char nk[UK_KV_KEY_MAX + 1];
	uk_result_t r = UK_OK;
	struct keys ks;

	if (keys_under(from, &ks) < 0)
		return UK_ENOMEM;
	for (size_t i = 0; i < ks.n && r == UK_OK; i++) {
		const char *rest = ks.k[i] + from->klen;

		if (to->klen + strlen(rest) > UK_KV_KEY_MAX) {
			keys_free(&ks);
			return UK_EINVAL;
		}
		memcpy(nk, to->key, to->klen);
		strcpy(nk + to->klen, rest);
		r = move_key(from->m->kv, ks.k[i], nk);
	}
	keys_free(&ks);
	return r;
}

int rename(const char *oldpath, const char *newpath)
{
	struct where *a = malloc(2 * sizeof(*a)), *b = a + 1;
	enum kind ka, kb;
	size_t size;
	uk_result_t r;
	int rc = -1;

	if (!a) {
		errno = ENOMEM;
		return -1;
	}
	if (resolve(oldpath, a) < 0 || resolve(newpath, b) < 0)
		goto out;
	ka = kind_of(a, &size);
	kb = kind_of(b, &size);
	if (ka == K_NONE) {
		errno = ENOENT;
		goto out;
	}
	if (a->m != b->m) {
		errno = a->m && b->m ? EXDEV : EROFS;
		goto out;
	}
	if (writable(a) < 0)
		goto out;
	if (!strcmp(a->key, b->key)) {
		rc = 0;
		goto out;
	}
	if (a->klen == 1 || b->klen == 1) {
		errno = EBUSY;
		goto out;
	}
	if (parents_ok(b) < 0)
		goto out;
	if (ka == K_FILE) {
		if (kb == K_DIR) {
			errno = EISDIR;
			goto out;
		}
		rc = commit(a->m->kv, move_key(a->m->kv, a->key, b->key));
		goto out;
	}
	/* A directory: not into itself; over nothing, or over an empty directory. */
	if (!strncmp(b->key, a->key, a->klen) && b->key[a->klen] == '/') {
		errno = EINVAL;
		goto out;
	}
	if (kb == K_FILE) {
		errno = ENOTDIR;
		goto out;
	}
	if (kb == K_DIR && rmdir_stage(b) < 0)
		goto out;
	r = move_dir(a, b);
	if (r == UK_EINVAL) {
		uk_kv_rollback(a->m->kv);
		errno = ENAMETOOLONG;
		goto out;
	}
	rc = commit(a->m->kv, r);
out:
	free(a);
	return rc;
}

int mkdir(const char *path, mode_t mode)
{
	struct where w;
	size_t size;

	(void)mode;
	if (resolve(path, &w) < 0)
		return -1;
	if (kind_of(&w, &size) != K_NONE) {
		errno = EEXIST;
		return -1;
	}
	if (writable(&w) < 0 || parents_ok(&w) < 0)
		return -1;
	w.key[w.klen] = '/';
	w.key[w.klen + 1] = 0;
	return commit(w.m->kv, uk_kv_put(w.m->kv, w.key, "", 0));
}

int stat(const char *restrict path, struct stat *restrict st)
{
	struct where w;
	enum kind k;
	size_t size;

	if (resolve(path, &w) < 0)
		return -1;
	k = kind_of(&w, &size);
	if (k == K_NONE) {
		errno = ENOENT;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	st->st_mode = k == K_DIR ? S_IFDIR | 0755 : S_IFREG | 0644;
	st->st_nlink = 1;
	st->st_size = (off_t)size;
	st->st_blksize = 512;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	return 0;
}

/* --- directories --- */

/* Adds the first component of (rest) (up to a "/" or the end) unless it is the last one added. */
static int dir_add(DIR *d, const char *rest)
{
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	struct dirent *e;

	if (n == 0 || n >= sizeof(e->d_name))
		return 0;
	if (d->n && !strncmp(d->ents[d->n - 1].d_name, rest, n) && !d->ents[d->n - 1].d_name[n])
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 8;

		if (!(e = realloc(d->ents, cap * sizeof(*e))))
			return -1;
		d->ents = e;
		d->cap = cap;
	}
	e = &d->ents[d->n];
	memset(e, 0, sizeof(*e));
	memcpy(e->d_name, rest, n);
	e->d_type = slash ? DT_DIR : DT_REG;
	e->d_reclen = sizeof(*e);
	e->d_off = (off_t)++d->n;
	return 0;
}

DIR *opendir(const char *path)
{
	struct where w;
	struct keys ks = {0};
	DIR *d;
	size_t size;
	int r = 0;

	if (resolve(path, &w) < 0)
		return NULL;
	switch (kind_of(&w, &size)) {
	case K_NONE:
		errno = ENOENT;
		return NULL;
	case K_FILE:
		errno = ENOTDIR;
		return NULL;
	case K_DIR:
		break;
	}
	if (!(d = calloc(1, sizeof(*d)))) {
		errno = ENOMEM;
		return NULL;
	}
	if (w.m && w.m->kv) {
		if (keys_under(&w, &ks) < 0) {
			free(d);
			return NULL;
		}
		for (size_t i = 0; i < ks.n && !r; i++)
			r = dir_add(d, ks.k[i] + w.klen + 1);
		keys_free(&ks);
	} else if (!w.m) {
		size_t plen = strlen(w.path);
		const struct uk_rofile *f;

		if (plen > 1)
			w.path[plen++] = '/', w.path[plen] = 0;
		for (f = uk_file_first_under(w.path); f && !r && !strncmp(f->path, w.path, plen);
		     f = uk_file_at(uk_file_index(f) + 1))
			r = dir_add(d, f->path + plen);
	}
	if (r) {
		closedir(d);
		errno = ENOMEM;
		return NULL;
	}
	return d;
}

struct dirent *readdir(DIR *d)
{
	return d && d->next < d->n ? &d->ents[d->next++] : NULL;
}

int closedir(DIR *d)
{
	if (!d) {
		errno = EBADF;
		return -1;
	}
	free(d->ents);
	free(d);
	return 0;
}
