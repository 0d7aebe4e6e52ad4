/* Read-only files embedded into the image at build time (ukcc --embed, the Ukfile's FILES). */
#ifndef UK_FILES_H
#define UK_FILES_H

#include <stddef.h>
#include <stdint.h>

/*
 * Contract. `ukcc --embed SRC:DST` (repeatable) compiles the files under SRC
 * into the image, at absolute paths under DST; see docs/http.md. At run time
 * they form one immutable table sorted by path (byte order, as strcmp): no
 * function here allocates, blocks or fails on a valid argument, and every
 * pointer returned stays valid for the whole run. An image built without
 * --embed has no files (uk_file_count() == 0).
 *
 * Paths are "/"-rooted, without "." or ".." components, doubled or trailing
 * slashes: "/www/index.html". Directories are implicit: a directory exists
 * when some file lies below it.
 *
 * The type is named uk_rofile ("read-only file") because struct uk_file is
 * already stdio's FILE.
 */
struct uk_rofile {
	const char *path;          /* "/www/css/site.css" */
	const unsigned char *data; /* (size) bytes, followed by a NUL not counted in (size) */
	size_t size;
	const char *etag; /* strong ETag with its quotes: "\"<16 hex digits>\"" (SHA-256 prefix) */
};

/* The file at exactly (path), or NULL when there is none (or (path) is NULL). */
const struct uk_rofile *uk_file_lookup(const char *path);

/* Nonzero when (path) is a directory: "/" when any file is embedded, or a proper prefix of
 * some file's path ending at a "/". (path) MAY end with one "/". */
int uk_file_is_dir(const char *path);

/* Number of embedded files. */
size_t uk_file_count(void);

/* The (i)th file in path order, or NULL when (i) >= uk_file_count(). */
const struct uk_rofile *uk_file_at(size_t i);

/* The first file whose path starts with (prefix), in path order, or NULL: with uk_file_at
 * and uk_file_index, lists a directory ("/www/"). */
const struct uk_rofile *uk_file_first_under(const char *prefix);

/* The index of (f) in path order (for iterating on from uk_file_first_under). */
size_t uk_file_index(const struct uk_rofile *f);

/*
 * The media type for (path)'s extension, compared case-insensitively: "text/html;
 * charset=utf-8" for .html, "image/png" for .png, ... (see lib/files.c for the table);
 * "application/octet-stream" for anything unknown. Never NULL.
 */
const char *uk_file_content_type(const char *path);

/*
 * The table ukcc --embed generates (files sorted by path); applications use the functions
 * above. Weak in the runtime, so an image without embedded files links.
 */
extern const struct uk_rofile uk_files_table[];
extern const size_t uk_files_count;

#endif
