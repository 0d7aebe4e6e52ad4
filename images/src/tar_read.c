/* Safe tar extraction (ustar, GNU long names, pax paths): nothing is ever written outside the
 * target dir. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#define TAR_BLOCK 512
#define TAR_META_MAX (1U << 20) /* size of one GNU long name or pax header */
#define TAR_META_RUN 8          /* meta headers allowed before a real entry */

struct tar_in {
	int fd;
	int rootfd;
	uint64_t max_entries, max_bytes;
	uint64_t entries, bytes;
	/* overrides set by meta entries, consumed by the next real entry */
	char *long_name, *long_link;
	bool have_size;
	uint64_t pax_size;
	int meta_run;
	uk_err_t *err;
};

/* Copies (s) for messages, escaping control characters and bounding the length. */
static const char *esc(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == '"')
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (*s && o + 4 < len)
		o += (size_t)snprintf(buf + o, len - o, "...");
	buf[o] = 0;
	return buf;
}

__attribute__((format(printf, 4, 5))) static int terr(struct tar_in *t, int status,
                                                      const char *name, const char *fmt, ...)
{
	char msg[1024], e[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (name)
		return uk_err_set(t->err, status, status == 413 ? "too_large" : "bad_request",
		                  "tar entry \"%s\": %s", esc(name, e, sizeof(e)), msg);
	return uk_err_set(t->err, status, status == 413 ? "too_large" : "bad_request", "tar: %s",
	                  msg);
}

/*
 * Reads exactly (len) bytes; returns 0, 1 at a clean EOF before any byte, -1 on error.
 * (name) is the entry being read, for messages, or NULL.
 */
static int read_full(struct tar_in *t, void *buf, size_t len, const char *name)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(t->fd, (char *)buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return uk_err_errno(t->err, errno, "tar: read");
		}
		if (n == 0) {
			if (got == 0)
				return 1;
			return terr(t, 400, name, "truncated archive (a block is cut short)");
		}
		got += (size_t)n;
	}
	return 0;
}

static int read_block(struct tar_in *t, unsigned char *b, const char *name)
{
	int r = read_full(t, b, TAR_BLOCK, name);
	if (r == 1)
		return terr(t, 400, name, "truncated archive (ends inside an entry)");
	return r;
}

/* Skips (size) bytes of data plus padding to the block size. */
static int skip_data(struct tar_in *t, uint64_t size, const char *name)
{
	unsigned char b[TAR_BLOCK];
	uint64_t blocks = (size + TAR_BLOCK - 1) / TAR_BLOCK;

	while (blocks--)
		if (read_block(t, b, name) < 0)
			return -1;
	return 0;
}

static int parse_octal(const unsigned char *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	/* GNU base-256 for big values: high bit of the first byte set. */
	if (p[0] & 0x80) {
		if (p[0] & 0x40)
			return -1; /* negative */
		v = p[0] & 0x3f;
		for (i = 1; i < len; i++) {
			if (v >> 55)
				return -1;
			v = (v << 8) | p[i];
		}
		*out = v;
		return 0;
	}
	while (i < len && (p[i] == ' ' || p[i] == 0))
		i++;
	if (i == len) {
		*out = 0;
		return 0;
	}
	for (; i < len && p[i] >= '0' && p[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(p[i] - '0');
	}
	for (; i < len; i++)
		if (p[i] != ' ' && p[i] != 0)
			return -1;
	*out = v;
	return 0;
}

static int checksum_ok(const unsigned char *b)
{
	uint64_t want;
	unsigned long su = 0;
	long ss = 0;

	if (parse_octal(b + 148, 8, &want) < 0)
		return 0;
	for (int i = 0; i < TAR_BLOCK; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : b[i];
		su += c;
		ss += (signed char)c;
	}
	return want == su || (long)want == ss;
}

static int is_zero(const unsigned char *b)
{
	for (int i = 0; i < TAR_BLOCK; i++)
		if (b[i])
			return 0;
	return 1;
}

/* Reads a meta entry's data (GNU long name/link, pax) into a NUL-terminated buffer. */
static int read_meta(struct tar_in *t, uint64_t size, char **out)
{
	_cleanup_free_ char *buf = NULL;
	unsigned char b[TAR_BLOCK];
	uint64_t off = 0;

	if (size > TAR_META_MAX)
		return terr(t, 400, NULL, "extended header of %llu bytes is too large",
		            (unsigned long long)size);
	buf = malloc(size + 1);
	if (!buf)
		return uk_err_errno(t->err, ENOMEM, "tar");
	while (off < size) {
		size_t n = size - off < TAR_BLOCK ? (size_t)(size - off) : TAR_BLOCK;
		if (read_block(t, b, NULL) < 0)
			return -1;
		memcpy(buf + off, b, n);
		off += n;
	}
	buf[size] = 0;
	*out = steal_ptr(buf);
	return 0;
}

static int set_str(struct tar_in *t, char **dst, const char *s, size_t len)
{
	char *d;

	if (memchr(s, 0, len))
		return terr(t, 400, NULL, "extended header path contains a NUL byte");
	d = strndup(s, len);
	if (!d)
		return uk_err_errno(t->err, ENOMEM, "tar");
	free(*dst);
	*dst = d;
	return 0;
}

static int parse_pax(struct tar_in *t, const char *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t rlen = 0, i = off;
		const char *key, *eq, *val, *end;

		while (i < len && p[i] >= '0' && p[i] <= '9' && rlen < TAR_META_MAX)
			rlen = rlen * 10 + (size_t)(p[i++] - '0');
		if (i == off || i >= len || p[i] != ' ' || rlen < 5 || rlen > len - off ||
		    p[off + rlen - 1] != '\n')
			return terr(t, 400, NULL, "malformed pax extended header");
		key = p + i + 1;
		end = p + off + rlen - 1;
		eq = memchr(key, '=', (size_t)(end - key));
		if (!eq)
			return terr(t, 400, NULL, "malformed pax record (no '=')");
		val = eq + 1;
		if ((size_t)(eq - key) == 4 && !memcmp(key, "path", 4)) {
			if (set_str(t, &t->long_name, val, (size_t)(end - val)) < 0)
				return -1;
		} else if ((size_t)(eq - key) == 8 && !memcmp(key, "linkpath", 8)) {
			if (set_str(t, &t->long_link, val, (size_t)(end - val)) < 0)
				return -1;
		} else if ((size_t)(eq - key) == 4 && !memcmp(key, "size", 4)) {
			uint64_t v = 0;
			if (val == end)
				return terr(t, 400, NULL, "malformed pax size");
			for (const char *q = val; q < end; q++) {
				if (*q < '0' || *q > '9' || v > (UINT64_MAX - 9) / 10)
					return terr(t, 400, NULL, "malformed pax size");
				v = v * 10 + (uint64_t)(*q - '0');
			}
			t->pax_size = v;
			t->have_size = true;
		}
		off += rlen;
	}
	return 0;
}

/*
 * Normalizes an entry path: strips a leading "./", refuses absolute paths and "..".
 * Returns 0 and (out) ("." for the root itself), or -1.
 */
static int entry_path(struct tar_in *t, const char *name, char *out, size_t outlen)
{
	if (!*name)
		return terr(t, 400, NULL, "entry with an empty name");
	if (name[0] == '/')
		return terr(t, 400, name,
		            "absolute path refused: build contexts hold relative "
		            "paths only");
	if (util_relpath_normalize(name, out, outlen) < 0) {
		if (strlen(name) >= outlen)
			return terr(t, 400, name, "path too long");
		return terr(t, 400, name,
		            "path with a \"..\" component refused: it would leave the "
		            "extraction directory");
	}
	return 0;
}

/*
 * Opens the directory that holds (path)'s last component, creating missing directories,
 * never following a symlink. (*base) points at the last component in (path).
 */
static int walk_parent(struct tar_in *t, const char *path, bool create, const char **base,
                       const char *ename)
{
	char comp[NAME_MAX + 1];
	const char *p = path, *slash;
	int dfd = dup(t->rootfd);

	if (dfd < 0)
		return uk_err_errno(t->err, errno, "tar: dup");
	while ((slash = strchr(p, '/'))) {
		size_t n = (size_t)(slash - p);
		int nfd;

		if (n > NAME_MAX) {
			close(dfd);
			return terr(t, 400, ename, "path component too long");
		}
		memcpy(comp, p, n);
		comp[n] = 0;
		nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(dfd, comp, 0755) < 0 && errno != EEXIST) {
				int e = errno;
				close(dfd);
				return uk_err_errno(t->err, e, "tar: mkdir %s", comp);
			}
			nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (nfd >= 0 && fchmod(nfd, 0755) < 0) { /* whatever the umask */
				close(nfd);
				nfd = -1;
			}
		}
		if (nfd < 0) {
			int e = errno;
			close(dfd);
			if (e == ELOOP || e == ENOTDIR)
				return terr(
				        t, 400, ename,
				        "path goes through \"%s\", which is a symlink or a file, "
				        "not a directory",
				        comp);
			if (e == ENOENT)
				return terr(t, 400, ename, "link target does not exist");
			return uk_err_errno(t->err, e, "tar: open %s", comp);
		}
		close(dfd);
		dfd = nfd;
		p = slash + 1;
	}
	if (strlen(p) > NAME_MAX) {
		close(dfd);
		return terr(t, 400, ename, "file name too long");
	}
	*base = p;
	return dfd;
}

/* Removes whatever non-directory sits at (name), so a later entry replaces an earlier one. */
static int clear_slot(struct tar_in *t, int dfd, const char *name, bool want_dir, const char *ename)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : uk_err_errno(t->err, errno, "tar: stat");
	if (S_ISDIR(st.st_mode)) {
		if (want_dir)
			return 1;
		return terr(t, 400, ename, "would replace a directory");
	}
	if (unlinkat(dfd, name, 0) < 0)
		return uk_err_errno(t->err, errno, "tar: unlink");
	return 0;
}

/*
 * A symlink may point only inside the extraction directory. Its target is relative, and ".."
 * may appear only as leading components: the link's own directory and its ancestors are real
 * directories (walk_parent never goes through a symlink), so leading ".." resolve exactly as
 * counted here, and the names after them only descend, through real directories or through
 * other symlinks that obey the same rule. (A ".." after a name could climb out of a symlinked
 * directory: "sub/up" -> ".." then "t" -> "sub/up/.." would be the parent of the root.)
 */
static int symlink_target_ok(const char *path, const char *target)
{
	int depth = 0;
	bool named = false;
	const char *p;

	if (!*target || target[0] == '/')
		return 0;
	for (p = path; *p; p++)
		depth += *p == '/';
	/* (path) "a/b/link" lives at depth 2 */
	p = target;
	while (*p) {
		const char *c = p;
		size_t n;

		while (*p && *p != '/')
			p++;
		n = (size_t)(p - c);
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			if (named || --depth < 0)
				return 0;
		} else if (n > 0 && !(n == 1 && c[0] == '.')) {
			depth++;
			named = true;
		}
		while (*p == '/')
			p++;
	}
	return 1;
}

static int extract_file(struct tar_in *t, int dfd, const char *base, uint64_t size, uint64_t mode,
                        const char *ename)
{
	unsigned char b[TAR_BLOCK * 16];
	_cleanup_close_ int fd = -1;
	uint64_t left = size;

	if (clear_slot(t, dfd, base, false, ename) < 0)
		return -1;
	fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	            (mode & 0111) ? 0755 : 0644);
	/* The documented modes whatever the umask: the build sandbox's user must read them. */
	if (fd < 0 || fchmod(fd, (mode & 0111) ? 0755 : 0644) < 0)
		return uk_err_errno(t->err, errno, "tar: create %s", base);
	while (left) {
		uint64_t padded = (left + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
		size_t chunk = padded > sizeof(b) ? sizeof(b) : (size_t)padded;
		size_t data = left < chunk ? (size_t)left : chunk;
		int r = read_full(t, b, chunk, ename);

		if (r == 1)
			return terr(t, 400, ename, "truncated archive (file data cut short)");
		if (r < 0)
			return -1;
		if (uk_write_all(fd, b, data) < 0)
			return uk_err_errno(t->err, errno, "tar: write %s", base);
		left -= data;
	}
	return 0;
}

static int extract_hardlink(struct tar_in *t, int dfd, const char *base, const char *self,
                            const char *link, const char *ename)
{
	char norm[PATH_MAX];
	const char *tbase;
	struct stat st;
	int tfd, rc;

	if (!*link || link[0] == '/' || util_relpath_normalize(link, norm, sizeof(norm)) < 0 ||
	    !strcmp(norm, "."))
		return terr(t, 400, ename,
		            "hard link to \"%s\" refused: its target must be a file extracted "
		            "earlier from this archive",
		            link);
	if (!strcmp(norm, self))
		return terr(t, 400, ename, "hard link to itself refused");
	tfd = walk_parent(t, norm, false, &tbase, ename);
	if (tfd < 0)
		return -1;
	if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		close(tfd);
		return terr(t, 400, ename,
		            "hard link to \"%s\" refused: its target must be a regular file "
		            "extracted earlier from this archive",
		            link);
	}
	if (clear_slot(t, dfd, base, false, ename) < 0) {
		close(tfd);
		return -1;
	}
	rc = linkat(tfd, tbase, dfd, base, 0);
	if (rc < 0)
		rc = uk_err_errno(t->err, errno, "tar: link %s", base);
	close(tfd);
	return rc;
}

/* Handles one real entry whose header is (h). */
static int extract_entry(struct tar_in *t, const unsigned char *h, char type)
{
	char raw[PATH_MAX + 256], rawlink[PATH_MAX + 256], path[PATH_MAX];
	_cleanup_free_ char *lname = steal_ptr(t->long_name);
	_cleanup_free_ char *llink = steal_ptr(t->long_link);
	uint64_t size, mode;
	const char *base;
	int dfd, rc = 0;

	if (parse_octal(h + 124, 12, &size) < 0 || parse_octal(h + 100, 8, &mode) < 0)
		return terr(t, 400, NULL, "malformed header (size or mode)");
	if (t->have_size)
		size = t->pax_size;
	t->have_size = false;
	t->meta_run = 0;

	if ((lname && strlen(lname) >= sizeof(raw)) || (llink && strlen(llink) >= sizeof(rawlink)))
		return terr(t, 400, lname, "path or link target too long");
	if (lname) {
		snprintf(raw, sizeof(raw), "%s", lname);
	} else if (!memcmp(h + 257, "ustar\0", 6) && h[345]) {
		snprintf(raw, sizeof(raw), "%.155s/%.100s", (const char *)h + 345,
		         (const char *)h + 0);
	} else {
		snprintf(raw, sizeof(raw), "%.100s", (const char *)h);
	}
	if (llink)
		snprintf(rawlink, sizeof(rawlink), "%s", llink);
	else
		snprintf(rawlink, sizeof(rawlink), "%.100s", (const char *)h + 157);

	if (++t->entries > t->max_entries)
		return terr(t, 413, NULL, "more than %llu entries: the archive is too large",
		            (unsigned long long)t->max_entries);
	if (entry_path(t, raw, path, sizeof(path)) < 0)
		return -1;

	switch (type) {
	case '0':
	case '\0':
	case '7':
		break;
	case '5':
	case '2':
	case '1':
		break;
	case '3':
	case '4':
		return terr(t, 400, raw, "device nodes are refused");
	case '6':
		return terr(t, 400, raw, "fifos are refused");
	default:
		return terr(t, 400, raw, "unsupported entry type '%c'",
		            type >= 0x20 && type < 0x7f ? type : '?');
	}
	if (type == '0' || type == '\0' || type == '7') {
		if (size > t->max_bytes || t->bytes + size > t->max_bytes)
			return terr(t, 413, raw,
			            "the archive holds more than %llu bytes of file data",
			            (unsigned long long)t->max_bytes);
		t->bytes += size;
	}
	if (!strcmp(path, ".")) {
		if (type == '5')
			return skip_data(t, size, raw);
		return terr(t, 400, raw, "entry names the extraction directory itself");
	}

	dfd = walk_parent(t, path, true, &base, raw);
	if (dfd < 0)
		return -1;
	switch (type) {
	case '5':
		rc = clear_slot(t, dfd, base, true, raw);
		if (rc == 0 && (mkdirat(dfd, base, 0755) < 0 || fchmodat(dfd, base, 0755, 0) < 0))
			rc = uk_err_errno(t->err, errno, "tar: mkdir %s", base);
		if (rc >= 0)
			rc = skip_data(t, size, raw);
		break;
	case '2':
		if (!symlink_target_ok(path, rawlink)) {
			char e[256];
			rc = terr(t, 400, raw,
			          "symlink to \"%s\" refused: it may point outside the extraction "
			          "directory (absolute, too many \"..\", or \"..\" after a name)",
			          esc(rawlink, e, sizeof(e)));
			break;
		}
		rc = clear_slot(t, dfd, base, false, raw);
		if (rc == 0 && symlinkat(rawlink, dfd, base) < 0)
			rc = uk_err_errno(t->err, errno, "tar: symlink %s", base);
		if (rc >= 0)
			rc = skip_data(t, size, raw);
		break;
	case '1':
		rc = extract_hardlink(t, dfd, base, path, rawlink, raw);
		if (rc >= 0)
			rc = skip_data(t, size, raw);
		break;
	default:
		rc = extract_file(t, dfd, base, size, mode, raw);
		break;
	}
	close(dfd);
	return rc < 0 ? -1 : 0;
}

int ukimg_tar_extract(int fd, const char *destdir, const ukimg_tar_limits_t *limits, uk_err_t *err)
{
	struct tar_in t = {.fd = fd, .err = err};
	unsigned char h[TAR_BLOCK];
	int rc = -1;
	bool any = false;

	t.max_entries = limits && limits->max_entries ? limits->max_entries : UKIMG_TAR_MAX_ENTRIES;
	t.max_bytes = limits && limits->max_bytes ? limits->max_bytes : UKIMG_TAR_MAX_BYTES;
	t.rootfd = open(destdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t.rootfd < 0)
		return uk_err_errno(err, errno, "tar: open %s", destdir);

	for (;;) {
		int r = read_full(&t, h, TAR_BLOCK, NULL);
		uint64_t size;
		char type;

		if (r < 0)
			goto out;
		if (r == 1) {
			if (!any) {
				terr(&t, 400, NULL, "empty archive");
				goto out;
			}
			terr(&t, 400, NULL, "truncated archive (no end-of-archive blocks)");
			goto out;
		}
		if (is_zero(h)) {
			/* End of archive; drain the rest (record padding) within the limit. */
			uint64_t extra = 0;
			while ((r = read_full(&t, h, TAR_BLOCK, NULL)) == 0) {
				extra += TAR_BLOCK;
				if (extra > t.max_bytes) {
					terr(&t, 413, NULL,
					     "too much data after the end of archive");
					goto out;
				}
			}
			if (r < 0 && t.err && t.err->status == 500)
				goto out;
			if (r < 0)
				uk_err_clear(err); /* a short trailing block is padding too */
			if (!any) {
				terr(&t, 400, NULL, "empty archive");
				goto out;
			}
			rc = 0;
			goto out;
		}
		any = true;
		if (!checksum_ok(h)) {
			terr(&t, 400, NULL, "bad header checksum: not a tar archive, or corrupt");
			goto out;
		}
		type = (char)h[156];
		if (type == 'L' || type == 'K' || type == 'x' || type == 'g') {
			char *data = NULL;

			if (++t.meta_run > TAR_META_RUN) {
				terr(&t, 400, NULL, "too many extended headers in a row");
				goto out;
			}
			if (parse_octal(h + 124, 12, &size) < 0) {
				terr(&t, 400, NULL, "malformed header (size)");
				goto out;
			}
			if (read_meta(&t, size, &data) < 0)
				goto out;
			if (type == 'L')
				r = set_str(&t, &t.long_name, data, strnlen(data, size));
			else if (type == 'K')
				r = set_str(&t, &t.long_link, data, strnlen(data, size));
			else if (type == 'x')
				r = parse_pax(&t, data, size);
			free(data);
			if (r < 0)
				goto out;
			continue;
		}
		if (extract_entry(&t, h, type) < 0)
			goto out;
	}
out:
	free(t.long_name);
	free(t.long_link);
	close(t.rootfd);
	return rc;
}
