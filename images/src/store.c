/* The content-addressed blob store: atomic writes (temp file, fsync, rename), SHA-256 while
 * streaming. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

struct ukimg_store {
	char root[PATH_MAX];
	char blobs[PATH_MAX + 16];
	char tmp[PATH_MAX + 16];
	char kernels[PATH_MAX + 16];
};

#define STORE_TMP_MAX_AGE 3600

int ukimg_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0)
		return 0;
	for (int i = 0; i < 64; i++) {
		char c = d[7 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return d[71] == 0;
}

static void digest_format(const unsigned char *md, char out[UKIMG_DIGEST_SIZE])
{
	static const char hex[] = "0123456789abcdef";

	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[71] = 0;
}

void ukimg_digest_buf(const void *buf, size_t len, char out[UKIMG_DIGEST_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
	digest_format(md, out);
}

static void store_tmp_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	time_t now = time(NULL);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;
		char p[PATH_MAX * 2];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (lstat(p, &st) == 0 && now - st.st_mtime > STORE_TMP_MAX_AGE)
			uk_rm_rf(p);
	}
	closedir(d);
}

ukimg_store_t *ukimg_store_open(const char *root, uk_err_t *err)
{
	_cleanup_free_ ukimg_store_t *s = NULL;
	size_t len;

	if (!root || root[0] != '/') {
		uk_err_bad(err, "image store: root \"%s\" must be an absolute path",
		           root ? root : "");
		return NULL;
	}
	len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (len >= PATH_MAX - 64) {
		uk_err_bad(err, "image store: root path too long");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		uk_err_errno(err, ENOMEM, "image store");
		return NULL;
	}
	memcpy(s->root, root, len);
	snprintf(s->blobs, sizeof(s->blobs), "%s/blobs/sha256", s->root);
	snprintf(s->tmp, sizeof(s->tmp), "%s/tmp", s->root);
	snprintf(s->kernels, sizeof(s->kernels), "%s/kernels", s->root);
	/* The root is searchable (0711) so a QEMU running as another user (qemu:///system) can
	 * reach kernels/, which is world-readable; blobs/ and tmp/ stay private. */
	if (uk_mkdir_p(s->root, 0711) < 0 || uk_mkdir_p(s->blobs, 0700) < 0 ||
	    uk_mkdir_p(s->tmp, 0700) < 0 || uk_mkdir_p(s->kernels, 0755) < 0) {
		uk_err_errno(err, errno, "image store: create directories under %s", s->root);
		return NULL;
	}
	store_tmp_sweep(s->tmp);
	return steal_ptr(s);
}

void ukimg_store_free(ukimg_store_t *store)
{
	free(store);
}

const char *ukimg_store_root(const ukimg_store_t *store)
{
	return store->root;
}

static int check_digest(const char *digest, uk_err_t *err)
{
	if (!ukimg_digest_valid(digest))
		return uk_err_bad(err,
		                  "invalid digest \"%.80s\" (expected sha256: and 64 hex digits)",
		                  digest ? digest : "");
	return 0;
}

int ukimg_store_path(const ukimg_store_t *store, const char *digest, char *buf, size_t buflen,
                     uk_err_t *err)
{
	if (check_digest(digest, err) < 0)
		return -1;
	if ((size_t)snprintf(buf, buflen, "%s/%s", store->blobs, digest + 7) >= buflen)
		return uk_err_internal(err, "blob path too long");
	return 0;
}

int store_tmp_create(const ukimg_store_t *store, const char *prefix, char *path, size_t pathlen,
                     uk_err_t *err)
{
	int fd;

	if ((size_t)snprintf(path, pathlen, "%s/%s-XXXXXX", store->tmp, prefix) >= pathlen)
		return uk_err_internal(err, "temp path too long");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return uk_err_errno(err, errno, "create temp file in %s", store->tmp);
	return fd;
}

int store_tmp_dir(const ukimg_store_t *store, const char *prefix, char *path, size_t pathlen,
                  uk_err_t *err)
{
	if ((size_t)snprintf(path, pathlen, "%s/%s-XXXXXX", store->tmp, prefix) >= pathlen)
		return uk_err_internal(err, "temp path too long");
	if (!mkdtemp(path))
		return uk_err_errno(err, errno, "create temp dir in %s", store->tmp);
	return 0;
}

EVP_MD_CTX *store_hash_new(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx && !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void store_hash_finish(EVP_MD_CTX *ctx, char out[UKIMG_DIGEST_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	digest_format(md, out);
}

int store_hash_fd(int fd, char out[UKIMG_DIGEST_SIZE], int64_t *size_out, uk_err_t *err)
{
	EVP_MD_CTX *ctx = store_hash_new();
	char buf[65536];
	int64_t total = 0;

	if (!ctx)
		return uk_err_internal(err, "sha256: cannot initialize OpenSSL digest");
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			EVP_MD_CTX_free(ctx);
			return uk_err_errno(err, errno, "read");
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		total += n;
	}
	store_hash_finish(ctx, out);
	if (size_out)
		*size_out = total;
	return 0;
}

/* Moves the complete, fsync'ed temp file (tmp) to its blob path; consumes (tmp). */
static int store_commit(ukimg_store_t *store, const char *tmp, const char *digest, uk_err_t *err)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", store->blobs, digest + 7);
	if (access(path, F_OK) == 0) {
		unlink(tmp);
		return 0;
	}
	if (chmod(tmp, 0644) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return uk_err_errno(err, e, "store blob %s", digest);
	}
	uk_fsync_dir(store->blobs);
	return 0;
}

static int check_expect(const char *expect, const char *got, uk_err_t *err)
{
	if (expect && strcmp(expect, got) != 0)
		return uk_err_bad(err, "digest mismatch: expected %s, got %s", expect, got);
	return 0;
}

int ukimg_store_put_fd(ukimg_store_t *store, int fd, int64_t max_len, const char *expect,
                       char out[UKIMG_DIGEST_SIZE], int64_t *size_out, uk_err_t *err)
{
	char tmp[PATH_MAX * 2], digest[UKIMG_DIGEST_SIZE];
	_cleanup_close_ int tfd = -1;
	EVP_MD_CTX *ctx = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char buf[65536];
	int64_t total = 0;

	if (expect && check_digest(expect, err) < 0)
		return -1;
	tfd = store_tmp_create(store, "blob", tmp, sizeof(tmp), err);
	if (tfd < 0)
		return -1;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		uk_err_internal(err, "sha256: cannot initialize OpenSSL digest");
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			uk_err_errno(err, errno, "store blob: read input");
			goto fail;
		}
		if (n == 0)
			break;
		total += n;
		if (max_len >= 0 && total > max_len) {
			uk_err_set(err, 413, "too_large", "store blob: larger than %lld bytes",
			           (long long)max_len);
			goto fail;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		if (uk_write_all(tfd, buf, (size_t)n) < 0) {
			uk_err_errno(err, errno, "store blob: write %s", tmp);
			goto fail;
		}
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	ctx = NULL;
	digest_format(md, digest);
	if (check_expect(expect, digest, err) < 0) {
		uk_err_wrap(err, "store blob");
		goto fail;
	}
	if (fsync(tfd) < 0) {
		uk_err_errno(err, errno, "store blob: fsync %s", tmp);
		goto fail;
	}
	if (store_commit(store, tmp, digest, err) < 0)
		return -1;
	if (out)
		memcpy(out, digest, UKIMG_DIGEST_SIZE);
	if (size_out)
		*size_out = total;
	return 0;
fail:
	EVP_MD_CTX_free(ctx);
	unlink(tmp);
	return -1;
}

int ukimg_store_put_buf(ukimg_store_t *store, const void *buf, size_t len, const char *expect,
                        char out[UKIMG_DIGEST_SIZE], uk_err_t *err)
{
	char tmp[PATH_MAX * 2], digest[UKIMG_DIGEST_SIZE];
	_cleanup_close_ int tfd = -1;

	if (expect && check_digest(expect, err) < 0)
		return -1;
	ukimg_digest_buf(buf, len, digest);
	if (check_expect(expect, digest, err) < 0)
		return uk_err_wrap(err, "store blob");
	if (ukimg_store_has(store, digest))
		goto done;
	tfd = store_tmp_create(store, "blob", tmp, sizeof(tmp), err);
	if (tfd < 0)
		return -1;
	if (uk_write_all(tfd, buf, len) < 0 || fsync(tfd) < 0) {
		int e = errno;
		unlink(tmp);
		return uk_err_errno(err, e, "store blob: write %s", tmp);
	}
	if (store_commit(store, tmp, digest, err) < 0)
		return -1;
done:
	if (out)
		memcpy(out, digest, UKIMG_DIGEST_SIZE);
	return 0;
}

int ukimg_store_put_file(ukimg_store_t *store, const char *path, const char *expect,
                         char out[UKIMG_DIGEST_SIZE], int64_t *size_out, uk_err_t *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return uk_err_errno(err, errno, "store blob: open %s", path);
	return ukimg_store_put_fd(store, fd, -1, expect, out, size_out, err);
}

int store_adopt(ukimg_store_t *store, const char *path, const char *expect, int64_t size,
                uk_err_t *err)
{
	char digest[UKIMG_DIGEST_SIZE];
	int64_t got;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || store_hash_fd(fd, digest, &got, err) < 0) {
		if (fd < 0)
			uk_err_errno(err, errno, "open %s", path);
		unlink(path);
		return -1;
	}
	if (check_expect(expect, digest, err) < 0) {
		unlink(path);
		return -1;
	}
	if (size >= 0 && size != got) {
		unlink(path);
		return uk_err_bad(err, "blob %s: size %lld, descriptor says %lld", digest,
		                  (long long)got, (long long)size);
	}
	return store_adopt_hashed(store, path, digest, err);
}

int store_adopt_hashed(ukimg_store_t *store, const char *path, const char *digest, uk_err_t *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		int e = errno;
		unlink(path);
		return uk_err_errno(err, e, "sync %s", path);
	}
	return store_commit(store, path, digest, err);
}

int ukimg_store_has(const ukimg_store_t *store, const char *digest)
{
	char path[PATH_MAX * 2];

	if (ukimg_store_path(store, digest, path, sizeof(path), NULL) < 0)
		return 0;
	return access(path, F_OK) == 0;
}

int ukimg_store_open_blob(const ukimg_store_t *store, const char *digest, uk_err_t *err)
{
	char path[PATH_MAX * 2];
	int fd;

	if (ukimg_store_path(store, digest, path, sizeof(path), err) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return uk_err_notfound(err, "blob %s not found", digest);
		return uk_err_errno(err, errno, "open blob %s", digest);
	}
	return fd;
}

int ukimg_store_read(const ukimg_store_t *store, const char *digest, size_t max, char **out,
                     size_t *len_out, uk_err_t *err)
{
	_cleanup_close_ int fd = ukimg_store_open_blob(store, digest, err);

	if (fd < 0)
		return -1;
	if (uk_read_fd(fd, max, out, len_out, err) < 0)
		return uk_err_wrap(err, "read blob %s", digest);
	return 0;
}

int64_t ukimg_store_size(const ukimg_store_t *store, const char *digest, uk_err_t *err)
{
	char path[PATH_MAX * 2];
	struct stat st;

	if (ukimg_store_path(store, digest, path, sizeof(path), err) < 0)
		return -1;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return uk_err_notfound(err, "blob %s not found", digest);
		return uk_err_errno(err, errno, "stat blob %s", digest);
	}
	return (int64_t)st.st_size;
}

int ukimg_store_delete(ukimg_store_t *store, const char *digest, uk_err_t *err)
{
	char path[PATH_MAX * 2];

	if (ukimg_store_path(store, digest, path, sizeof(path), err) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return uk_err_errno(err, errno, "delete blob %s", digest);
	return 0;
}

int ukimg_store_verify(const ukimg_store_t *store, const char *digest, uk_err_t *err)
{
	char got[UKIMG_DIGEST_SIZE];
	_cleanup_close_ int fd = ukimg_store_open_blob(store, digest, err);

	if (fd < 0)
		return -1;
	if (store_hash_fd(fd, got, NULL, err) < 0)
		return uk_err_wrap(err, "verify blob %s", digest);
	if (strcmp(got, digest) != 0)
		return uk_err_internal(err,
		                       "blob %s is corrupt (its content hashes to %s): remove the "
		                       "image and build or pull it again",
		                       digest, got);
	return 0;
}

static int strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int live_has(char **v, size_t n, const char *s)
{
	return bsearch(&s, v, n, sizeof(char *), strcmp_p) != NULL;
}

int ukimg_store_gc(ukimg_store_t *store, const char *const *live, size_t n, size_t *removed_out,
                   uk_err_t *err)
{
	_cleanup_strv_ char **keep = util_strv_new();
	size_t n_keep = 0, removed = 0;
	DIR *d;
	struct dirent *de;

	if (!keep)
		return uk_err_errno(err, ENOMEM, "gc");
	for (size_t i = 0; i < n; i++) {
		size_t nb = 0;
		_cleanup_strv_ char **blobs = ukimg_image_blobs(store, live[i], &nb, err);

		if (!blobs)
			return uk_err_wrap(err, "gc: live image %s", live[i]);
		for (size_t j = 0; j < nb; j++)
			if (util_strv_push(&keep, &n_keep, blobs[j]) < 0)
				return uk_err_errno(err, ENOMEM, "gc");
	}
	qsort(keep, n_keep, sizeof(char *), strcmp_p);

	d = opendir(store->blobs);
	if (!d)
		return uk_err_errno(err, errno, "gc: open %s", store->blobs);
	while ((de = readdir(d))) {
		char digest[300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(digest, sizeof(digest), "sha256:%s", de->d_name);
		if (live_has(keep, n_keep, digest))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);

	/* Kernels are named by config hex; the config is in (keep). */
	d = opendir(store->kernels);
	if (d) {
		while ((de = readdir(d))) {
			char digest[300], p[PATH_MAX * 2];

			if (de->d_name[0] == '.')
				continue;
			snprintf(digest, sizeof(digest), "sha256:%s", de->d_name);
			if (live_has(keep, n_keep, digest))
				continue;
			snprintf(p, sizeof(p), "%s/%s", store->kernels, de->d_name);
			uk_rm_rf(p);
		}
		closedir(d);
	}
	d = opendir(store->tmp);
	if (d) {
		while ((de = readdir(d))) {
			char p[PATH_MAX * 2];

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(p, sizeof(p), "%s/%s", store->tmp, de->d_name);
			uk_rm_rf(p);
		}
		closedir(d);
	}
	if (removed_out)
		*removed_out = removed;
	return 0;
}

int ukimg_kernel_remove(ukimg_store_t *store, const char *config_digest, uk_err_t *err)
{
	char p[PATH_MAX * 2];

	if (check_digest(config_digest, err) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/%s", store->kernels, config_digest + 7);
	if (uk_rm_rf(p) < 0)
		return uk_err_errno(err, errno, "remove kernel %s", p);
	return 0;
}
