/* Whole-buffer and whole-file I/O, recursive mkdir and removal (uk/io.h). */
#include "uk/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uk/cleanup.h"

int uk_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int uk_read_fd(int fd, size_t max, char **out, size_t *len_out, uk_err_t *err)
{
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);

	if (!buf)
		return uk_err_errno(err, ENOMEM, "read");
	for (;;) {
		if (len == cap) {
			char *nb;
			if (cap > max)
				return uk_err_set(err, 413, "too_large", "more than %zu bytes",
				                  max);
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb)
				return uk_err_errno(err, ENOMEM, "read");
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return uk_err_errno(err, errno, "read");
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return uk_err_set(err, 413, "too_large", "more than %zu bytes", max);
	}
	buf[len] = 0;
	*out = steal_ptr(buf);
	if (len_out)
		*len_out = len;
	return 0;
}

int uk_read_file(const char *path, size_t max, char **out, size_t *len_out, uk_err_t *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return uk_err_notfound(err, "%s: no such file", path);
		return uk_err_errno(err, errno, "open %s", path);
	}
	if (uk_read_fd(fd, max, out, len_out, err) < 0)
		return uk_err_wrap(err, "%s", path);
	return 0;
}

static int rm_rf_at(int dfd, const char *name)
{
	struct stat st;
	int rc = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d;
		struct dirent *de;

		if (fd < 0)
			return -1;
		/* A directory extracted without write permission could not be emptied. */
		fchmod(fd, 0700);
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			return -1;
		}
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (rm_rf_at(dirfd(d), de->d_name) < 0)
				rc = -1;
		}
		closedir(d);
		if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			rc = -1;
		return rc;
	}
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int uk_rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

int uk_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int uk_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}
