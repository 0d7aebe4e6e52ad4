/* ukimages utilities: path normalization and string vectors (I/O, time and JSON: base/). */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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
