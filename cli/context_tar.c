/* The build context: a deterministic ustar archive of a directory, filtered by .ukignore. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAR_BLOCK 512

struct tar_ctx {
	int rootfd; /* the context directory */
	char root_real[PATH_MAX];
	int out;
	char **ignore;
	size_t nignore;
	uk_err_t *err;
};

/* .ukignore */

char **cli_ignore_parse(const char *text, size_t *n)
{
	char **pats = NULL;
	size_t count = 0;
	const char *p = text;

	*n = 0;
	while (*p) {
		size_t len = strcspn(p, "\n");
		const char *line = p;
		char *pat, *s, *d;
		int neg = 0;

		p += len;
		if (*p)
			p++;
		while (len &&
		       (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		while (len && (*line == ' ' || *line == '\t'))
			line++, len--;
		if (!len || line[0] == '#')
			continue;
		if (line[0] == '!') {
			neg = 1;
			line++, len--;
		}
		pat = malloc(len + 2);
		if (!pat)
			break;
		pat[0] = neg ? '!' : '+';
		/* clean: drop leading "/" and "./", doubled and trailing slashes */
		d = pat + 1;
		s = (char *)line;
		while (len && (*s == '/' || (len >= 2 && s[0] == '.' && s[1] == '/'))) {
			if (*s == '.')
				s++, len--;
			s++, len--;
		}
		for (; len; s++, len--) {
			if (*s == '/' && d > pat + 1 && d[-1] == '/')
				continue;
			*d++ = *s;
		}
		while (d > pat + 1 && d[-1] == '/')
			d--;
		*d = '\0';
		if (d == pat + 1 || strcmp(pat + 1, ".") == 0) {
			free(pat);
			continue;
		}
		s = realloc(pats, (count + 1) * sizeof(*pats));
		if (!s) {
			free(pat);
			break;
		}
		pats = (char **)s;
		pats[count++] = pat;
	}
	*n = count;
	return pats;
}

void cli_ignore_free(char **patterns, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(patterns[i]);
	free(patterns);
}

/* Does glob (pat) match (path) exactly, with "**" for any number of directories? */
static int glob_match(const char *pat, const char *path)
{
	const char *slash;

	if (strncmp(pat, "**/", 3) == 0) {
		/* zero or more leading directories */
		if (glob_match(pat + 3, path))
			return 1;
		for (slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/'))
			if (glob_match(pat + 3, slash + 1))
				return 1;
		return 0;
	}
	if (strcmp(pat, "**") == 0)
		return 1;
	return fnmatch(pat, path, FNM_PATHNAME) == 0;
}

/* (pat) matches (path) or one of its parent directories. */
static int pattern_match(const char *pat, const char *path)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(path);

	if (n >= sizeof(buf))
		return 0;
	if (glob_match(pat, path))
		return 1;
	memcpy(buf, path, n + 1);
	for (i = n; i > 0; i--) {
		if (buf[i - 1] != '/')
			continue;
		buf[i - 1] = '\0';
		if (glob_match(pat, buf))
			return 1;
	}
	return 0;
}

int cli_ignore_match(char *const *patterns, size_t n, const char *path, int is_dir)
{
	size_t i;
	int excluded = 0;

	(void)is_dir;
	for (i = 0; i < n; i++) {
		const char *pat = patterns[i] + 1;
		int neg = patterns[i][0] == '!';
		if (neg != excluded)
			continue; /* cannot change the outcome */
		if (pattern_match(pat, path))
			excluded = !neg;
	}
	return excluded;
}

/* ustar */

static int tar_octal(char *field, size_t width, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%0*llo", (int)width - 1, (unsigned long long)v);

	if (n < 0 || (size_t)n > width - 1)
		return -1;
	memcpy(field, tmp, width - 1);
	field[width - 1] = '\0';
	return 0;
}

static int tar_header(struct tar_ctx *t, const char *name, char type, unsigned mode, uint64_t size)
{
	unsigned char h[TAR_BLOCK];
	size_t n = strlen(name), split;
	unsigned sum = 0;
	int i;

	memset(h, 0, sizeof(h));
	if (n <= 100) {
		memcpy(h, name, n);
	} else {
		/* ustar: prefix (155) "/" name (100), split at a slash */
		for (split = n - 1; split > 0; split--)
			if (name[split] == '/' && split <= 155 && n - split - 1 <= 100 &&
			    n - split - 1 > 0)
				break;
		if (split == 0)
			return uk_err_bad(t->err,
			                  "%s: the path is too long for a ustar archive "
			                  "(at most 255 bytes, file name 100)",
			                  name);
		memcpy(h + 345, name, split);
		memcpy(h, name + split + 1, n - split - 1);
	}
	if (tar_octal((char *)h + 100, 8, mode) || tar_octal((char *)h + 108, 8, 0) ||
	    tar_octal((char *)h + 116, 8, 0) || tar_octal((char *)h + 124, 12, size) ||
	    tar_octal((char *)h + 136, 12, 0))
		return uk_err_bad(t->err, "%s: too large for a ustar archive (8 GiB at most)",
		                  name);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (i = 0; i < TAR_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	if (cli_write_all(t->out, h, sizeof(h)))
		return uk_err_errno(t->err, errno, "write the build context");
	return 0;
}

static int tar_file(struct tar_ctx *t, int dirfd, const char *entry, const char *rel)
{
	static const char zeros[TAR_BLOCK];
	char buf[65536];
	struct stat st;
	uint64_t left;
	int fd, r = -1;

	fd = openat(dirfd, entry, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return uk_err_errno(t->err, errno, "open %s", rel);
	if (fstat(fd, &st) < 0) {
		uk_err_errno(t->err, errno, "stat %s", rel);
		goto out;
	}
	if (tar_header(t, rel, '0', (st.st_mode & 0111) ? 0755 : 0644, (uint64_t)st.st_size) < 0)
		goto out;
	for (left = (uint64_t)st.st_size; left;) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			uk_err_errno(t->err, errno, "read %s", rel);
			goto out;
		}
		if (n == 0) {
			uk_err_bad(t->err, "%s changed while it was being read; try again", rel);
			goto out;
		}
		if (cli_write_all(t->out, buf, (size_t)n)) {
			uk_err_errno(t->err, errno, "write the build context");
			goto out;
		}
		left -= (uint64_t)n;
	}
	if (st.st_size % TAR_BLOCK &&
	    cli_write_all(t->out, zeros, TAR_BLOCK - (size_t)(st.st_size % TAR_BLOCK))) {
		uk_err_errno(t->err, errno, "write the build context");
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int tar_dir(struct tar_ctx *t, int dirfd, const char *rel);

static int tar_entry(struct tar_ctx *t, int dirfd, const char *name, const char *relparent)
{
	_cleanup_free_ char *rel = NULL;
	struct stat st;

	rel = *relparent ? cli_sprintf("%s/%s", relparent, name) : cli_sprintf("%s", name);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return uk_err_errno(t->err, errno, "stat %s", rel);
	if (cli_ignore_match(t->ignore, t->nignore, rel, S_ISDIR(st.st_mode)) &&
	    strcmp(rel, "Ukfile") != 0)
		return 0;
	if (S_ISLNK(st.st_mode)) {
		_cleanup_free_ char *full = cli_sprintf("%s/%s", t->root_real, rel);
		char real[PATH_MAX];
		size_t rl = strlen(t->root_real);

		if (!realpath(full, real)) {
			cli_warn("warning: skipping %s: a symbolic link that does not resolve",
			         rel);
			return 0;
		}
		if (strncmp(real, t->root_real, rl) != 0 || real[rl] != '/') {
			cli_warn("warning: skipping %s: a symbolic link out of the build context "
			         "(%s)",
			         rel, real);
			return 0;
		}
		if (stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
			cli_warn("warning: skipping %s: a symbolic link to something other than a "
			         "regular file",
			         rel);
			return 0;
		}
		return tar_file(t, dirfd, name, rel);
	}
	if (S_ISREG(st.st_mode))
		return tar_file(t, dirfd, name, rel);
	if (S_ISDIR(st.st_mode)) {
		_cleanup_free_ char *dname = cli_sprintf("%s/", rel);
		int sub, r;

		if (tar_header(t, dname, '5', 0755, 0) < 0)
			return -1;
		sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return uk_err_errno(t->err, errno, "open %s", rel);
		r = tar_dir(t, sub, rel);
		close(sub);
		return r;
	}
	cli_warn("warning: skipping %s: not a regular file or directory", rel);
	return 0;
}

/* Emits the entries of (dirfd) sorted by name; takes nothing. */
static int tar_dir(struct tar_ctx *t, int dirfd, const char *rel)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int dupfd, r = 0;

	dupfd = dup(dirfd);
	if (dupfd < 0)
		return uk_err_errno(t->err, errno, "open %s", *rel ? rel : ".");
	d = fdopendir(dupfd);
	if (!d) {
		close(dupfd);
		return uk_err_errno(t->err, errno, "open %s", *rel ? rel : ".");
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nn;
			cap = cap ? 2 * cap : 32;
			nn = realloc(names, cap * sizeof(*names));
			if (!nn) {
				r = uk_err_errno(t->err, ENOMEM, "read %s", rel);
				goto out;
			}
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = uk_err_errno(t->err, ENOMEM, "read %s", rel);
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n && r == 0; i++)
		r = tar_entry(t, dirfd, names[i], rel);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

static char *read_small_file(int dirfd, const char *name, uk_err_t *err, int *missing)
{
	char *buf = NULL;
	size_t len = 0;
	int fd;

	*missing = 0;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*missing = 1;
			return NULL;
		}
		uk_err_errno(err, errno, "open %s", name);
		return NULL;
	}
	for (;;) {
		char *nb = realloc(buf, len + 4097);
		ssize_t n;
		if (!nb) {
			uk_err_errno(err, ENOMEM, "read %s", name);
			goto fail;
		}
		buf = nb;
		n = read(fd, buf + len, 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			uk_err_errno(err, errno, "read %s", name);
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > (1u << 20)) {
			uk_err_bad(err, "%s is over 1 MiB", name);
			goto fail;
		}
	}
	buf[len] = '\0';
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

int cli_tar_context(const char *dir, int fd, uk_err_t *err)
{
	static const char zeros[2 * TAR_BLOCK];
	struct tar_ctx t = {.out = fd, .err = err};
	_cleanup_free_ char *ign = NULL;
	struct stat st;
	int missing, r;

	if (!realpath(dir, t.root_real))
		return uk_err_errno(err, errno, "build context %s", dir);
	t.rootfd = open(t.root_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t.rootfd < 0)
		return uk_err_errno(err, errno, "build context %s", dir);
	if (fstatat(t.rootfd, "Ukfile", &st, 0) < 0 || !S_ISREG(st.st_mode)) {
		close(t.rootfd);
		return uk_err_bad(err, "build context %s has no Ukfile", dir);
	}
	ign = read_small_file(t.rootfd, ".ukignore", err, &missing);
	if (!ign && !missing) {
		close(t.rootfd);
		return uk_err_wrap(err, "build context %s", dir);
	}
	if (ign)
		t.ignore = cli_ignore_parse(ign, &t.nignore);
	r = tar_dir(&t, t.rootfd, "");
	if (r == 0 && cli_write_all(fd, zeros, sizeof(zeros)))
		r = uk_err_errno(err, errno, "write the build context");
	cli_ignore_free(t.ignore, t.nignore);
	close(t.rootfd);
	if (r < 0)
		return uk_err_wrap(err, "build context %s", dir);
	return 0;
}
