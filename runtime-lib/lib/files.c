/* Lookup, listing and media types of the read-only files ukcc --embed put into the image. */
#include <stddef.h>
#include <string.h>
#include <uk/files.h>

/* Defined by the object ukcc --embed generates; absent (address 0) in an image without files. */
extern const struct uk_rofile uk_files_table[] __attribute__((weak));
extern const size_t uk_files_count __attribute__((weak));

size_t uk_file_count(void)
{
	return &uk_files_count ? uk_files_count : 0;
}

const struct uk_rofile *uk_file_at(size_t i)
{
	return i < uk_file_count() ? &uk_files_table[i] : NULL;
}

size_t uk_file_index(const struct uk_rofile *f)
{
	return (size_t)(f - uk_files_table);
}

/* Index of the first file whose path is >= (key) (strcmp order), in [0, count]. */
static size_t lower_bound(const char *key)
{
	size_t lo = 0, hi = uk_file_count();

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(uk_files_table[mid].path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct uk_rofile *uk_file_lookup(const char *path)
{
	size_t i;

	if (!path)
		return NULL;
	i = lower_bound(path);
	if (i < uk_file_count() && strcmp(uk_files_table[i].path, path) == 0)
		return &uk_files_table[i];
	return NULL;
}

const struct uk_rofile *uk_file_first_under(const char *prefix)
{
	size_t i, n;

	if (!prefix)
		return NULL;
	n = strlen(prefix);
	i = lower_bound(prefix);
	if (i < uk_file_count() && strncmp(uk_files_table[i].path, prefix, n) == 0)
		return &uk_files_table[i];
	return NULL;
}

int uk_file_is_dir(const char *path)
{
	char buf[1024];
	size_t n;

	if (!path || path[0] != '/')
		return 0;
	n = strlen(path);
	if (n >= 2 && path[n - 2] == '/' && path[n - 1] == '/')
		return 0;
	if (path[n - 1] == '/')
		return uk_file_first_under(path) != NULL;
	if (n + 2 > sizeof(buf))
		return 0; /* longer than any path ukcc embeds */
	memcpy(buf, path, n);
	buf[n] = '/';
	buf[n + 1] = 0;
	return uk_file_first_under(buf) != NULL;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ext_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower((unsigned char)*a) != *b)
			return 0;
	return *a == *b;
}

static const struct {
	const char *ext, *type;
} types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"map", "application/json"},
        {"webmanifest", "application/manifest+json"},
        {"txt", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"},
        {"csv", "text/csv; charset=utf-8"},
        {"xml", "application/xml"},
        {"rss", "application/rss+xml"},
        {"atom", "application/atom+xml"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"avif", "image/avif"},
        {"ico", "image/vnd.microsoft.icon"},
        {"bmp", "image/bmp"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"ttf", "font/ttf"},
        {"otf", "font/otf"},
        {"wasm", "application/wasm"},
        {"pdf", "application/pdf"},
        {"zip", "application/zip"},
        {"gz", "application/gzip"},
        {"tar", "application/x-tar"},
        {"mp3", "audio/mpeg"},
        {"ogg", "audio/ogg"},
        {"wav", "audio/wav"},
        {"mp4", "video/mp4"},
        {"webm", "video/webm"},
};

const char *uk_file_content_type(const char *path)
{
	const char *slash, *dot;

	if (!path)
		return "application/octet-stream";
	slash = strrchr(path, '/');
	dot = strrchr(slash ? slash : path, '.');
	if (dot && dot[1])
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (ext_eq(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}
