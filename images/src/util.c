/* ukimages utilities: whole-file I/O, recursive removal, path normalization, string vectors, times.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int util_write_all(int fd, const void *buf, size_t len)
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

int util_read_fd(int fd, size_t max, char **out, size_t *len_out, uk_err_t *err)
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

int util_read_file(const char *path, size_t max, char **out, size_t *len_out, uk_err_t *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return uk_err_notfound(err, "%s: no such file", path);
		return uk_err_errno(err, errno, "open %s", path);
	}
	if (util_read_fd(fd, max, out, len_out, err) < 0)
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

int util_rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

int util_mkdir_p(const char *path, mode_t mode)
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

int util_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Shared by both normalizers: copies the components of (in) to (out) separated by '/'. */
static int path_components(const char *in, char *out, size_t outlen, size_t start)
{
	size_t o = start;
	const char *p = in;

	while (*p) {
		const char *c;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		c = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - c);
		if (n == 1 && c[0] == '.')
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return -1;
		if (o > start) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = '/';
		}
		if (o + n >= outlen)
			return -1;
		memcpy(out + o, c, n);
		o += n;
	}
	out[o] = 0;
	return (int)o;
}

int util_relpath_normalize(const char *in, char *out, size_t outlen)
{
	int n;

	if (!in || !*in || in[0] == '/' || outlen < 2)
		return -1;
	n = path_components(in, out, outlen, 0);
	if (n < 0)
		return -1;
	if (n == 0)
		strcpy(out, ".");
	return 0;
}

int util_abspath_normalize(const char *in, char *out, size_t outlen)
{
	if (!in || in[0] != '/' || outlen < 2)
		return -1;
	out[0] = '/';
	return path_components(in, out, outlen, 1) < 0 ? -1 : 0;
}

int util_path_within(const char *root, const char *path)
{
	char rr[PATH_MAX], rp[PATH_MAX];
	size_t n;

	if (!realpath(root, rr) || !realpath(path, rp))
		return 0;
	n = strlen(rr);
	return strncmp(rr, rp, n) == 0 && (rp[n] == 0 || rp[n] == '/');
}

char **util_strv_new(void)
{
	return calloc(1, sizeof(char *));
}

int util_strv_push(char ***v, size_t *n, const char *s)
{
	char **nv;
	char *d = strdup(s);

	if (!d)
		return -1;
	nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv) {
		free(d);
		return -1;
	}
	nv[*n] = d;
	nv[*n + 1] = NULL;
	(*n)++;
	*v = nv;
	return 0;
}

void ukimg_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void util_rfc3339(int64_t t, char out[40])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t util_rfc3339_parse(const char *s)
{
	struct tm tm = {0};
	const char *p;

	if (!s)
		return 0;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	/* Fractions and a zone other than Z are tolerated; the offset is applied. */
	if (*p == '.')
		while (*++p >= '0' && *p <= '9')
			;
	int64_t t = (int64_t)timegm(&tm);
	if ((*p == '+' || *p == '-') && strlen(p) >= 6) {
		int h = (p[1] - '0') * 10 + (p[2] - '0'), m = (p[4] - '0') * 10 + (p[5] - '0');
		int64_t off = (int64_t)h * 3600 + m * 60;
		t += *p == '+' ? -off : off;
	}
	return t;
}

const char *util_json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

size_t ukimg_json_nul_at(const char *buf, size_t len)
{
	int in_str = 0;

	for (size_t i = 0; i < len; i++) {
		if (!buf[i])
			return i + 1;
		if (buf[i] == '"') {
			in_str = !in_str;
		} else if (in_str && buf[i] == '\\' && i + 1 < len) {
			if (buf[i + 1] == 'u' && i + 6 <= len && !memcmp(buf + i + 2, "0000", 4))
				return i + 1;
			i++; /* the escaped character: \" does not end the string */
		}
	}
	return 0;
}

json_object *util_json_parse_exact(const char *buf, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if (len > INT_MAX || ukimg_json_nul_at(buf, len))
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (o && json_tokener_get_parse_end(tok) != len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}
