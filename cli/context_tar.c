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

#include "uk/tar.h"

struct tar_ctx {
	int rootfd; /* the context directory */
	char root_real[PATH_MAX];
	int out;
	char **ignore;
	size_t nignore;
	const char *ukfile; /* the Ukfile's name at the top: kept whatever .ukignore says */
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

/* ustar, through the one writer (base/uk/tar.h) */

static int tar_file(struct tar_ctx *t, int dirfd, const char *entry, const char *rel)
{
	_cleanup_close_ int fd = openat(dirfd, entry, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return uk_err_errno(t->err, errno, "open %s", rel);
	if (fstat(fd, &st) < 0)
		return uk_err_errno(t->err, errno, "stat %s", rel);
	if (uk_tar_header(t->out, rel, '0', (st.st_mode & 0111) ? 0755 : 0644, (uint64_t)st.st_size,
	                  t->err) < 0)
		return -1;
	return uk_tar_copy(t->out, fd, (uint64_t)st.st_size, rel, t->err);
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
	    strcmp(rel, t->ukfile) != 0)
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

		if (uk_tar_header(t->out, dname, '5', 0755, 0, t->err) < 0)
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

#define UKIGNORE_MAX (1u << 20)

static char *read_small_file(int dirfd, const char *name, uk_err_t *err, int *missing)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;

	*missing = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			*missing = 1;
		else
			uk_err_errno(err, errno, "open %s", name);
		return NULL;
	}
	if (uk_read_fd(fd, UKIGNORE_MAX, &buf, NULL, err) < 0)
		uk_err_wrap(err, "%s", name);
	return buf;
}

/* uk build -f (ukfile): its name in the archive, at the top. One in the context's top keeps its
 * name; one elsewhere (outside the context, or in a subdirectory) is added under its base name,
 * or ".uk-" and its base name when the context's top has a file of that name (as Docker adds an
 * outside Dockerfile under a name of its own). (*extra) is set to the path to add, or NULL. */
static char *ukfile_name(struct tar_ctx *t, const char *ukfile, char **extra, uk_err_t *err)
{
	char real[PATH_MAX];
	const char *base;
	struct stat st;
	size_t rl = strlen(t->root_real);

	*extra = NULL;
	if (!realpath(ukfile, real) || stat(real, &st) < 0)
		return uk_err_errno(err, errno, "-f %s", ukfile), NULL;
	if (!S_ISREG(st.st_mode))
		return uk_err_bad(err, "-f %s: not a regular file", ukfile), NULL;
	base = strrchr(real, '/') + 1;
	if (!strncmp(real, t->root_real, rl) && real[rl] == '/' && !strchr(real + rl + 1, '/'))
		return cli_sprintf("%s", base);
	if (fstatat(t->rootfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		_cleanup_free_ char *alt = cli_sprintf(".uk-%s", base);

		if (fstatat(t->rootfd, alt, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			uk_err_bad(err,
			           "-f %s: the build context already has files named %s and %s; "
			           "rename the Ukfile",
			           ukfile, base, alt);
			return NULL;
		}
		*extra = cli_sprintf("%s", real);
		return steal_ptr(alt);
	}
	*extra = cli_sprintf("%s", real);
	return cli_sprintf("%s", base);
}

int cli_tar_context_ukfile(const char *dir, const char *ukfile, int fd, char **name, uk_err_t *err)
{
	struct tar_ctx t = {.out = fd, .err = err, .ukfile = "Ukfile"};
	_cleanup_free_ char *ign = NULL, *extra = NULL, *uname = NULL;
	struct stat st;
	int missing, r;

	*name = NULL;
	if (!realpath(dir, t.root_real))
		return uk_err_errno(err, errno, "build context %s", dir);
	t.rootfd = open(t.root_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t.rootfd < 0)
		return uk_err_errno(err, errno, "build context %s", dir);
	if (ukfile && !(t.ukfile = uname = ukfile_name(&t, ukfile, &extra, err))) {
		close(t.rootfd);
		return -1;
	}
	if (!ukfile && (fstatat(t.rootfd, "Ukfile", &st, 0) < 0 || !S_ISREG(st.st_mode))) {
		close(t.rootfd);
		return uk_err_bad(err, "build context %s has no Ukfile (or name one with -f)", dir);
	}
	ign = read_small_file(t.rootfd, ".ukignore", err, &missing);
	if (!ign && !missing) {
		close(t.rootfd);
		return uk_err_wrap(err, "build context %s", dir);
	}
	if (ign)
		t.ignore = cli_ignore_parse(ign, &t.nignore);
	r = extra ? tar_file(&t, AT_FDCWD, extra, uname) : 0;
	if (r == 0)
		r = tar_dir(&t, t.rootfd, "");
	if (r == 0)
		r = uk_tar_end(fd, err);
	cli_ignore_free(t.ignore, t.nignore);
	close(t.rootfd);
	if (r < 0)
		return uk_err_wrap(err, "build context %s", dir);
	*name = uname ? steal_ptr(uname) : NULL;
	return 0;
}

int cli_tar_context(const char *dir, int fd, uk_err_t *err)
{
	char *name;

	return cli_tar_context_ukfile(dir, NULL, fd, &name, err);
}
