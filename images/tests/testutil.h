/* Helpers for the ukimages tests: temp dirs, files, hand-made (also malicious) tar archives, a fake
 * ukcc. */
#ifndef UKIMG_TESTUTIL_H
#define UKIMG_TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "uk/images.h"

static inline char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *p = malloc(PATH_MAX);

	snprintf(p, PATH_MAX, "%s/ukimg-test-XXXXXX", base);
	assert_non_null(mkdtemp(p));
	return p;
}

static inline void tu_rm_rf(const char *path)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

__attribute__((format(printf, 3, 4))) static inline void tu_write(const char *dir, const char *name,
                                                                  const char *fmt, ...)
{
	char path[PATH_MAX * 2], *slash;
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (slash = path + strlen(dir) + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = 0;
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* Number of directory entries in (dir), not counting . and ..; -1 if it doesn't exist. */
static inline int tu_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static inline int tu_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* A tar archive built by hand in memory, to write entries ukimages' writer refuses. */
struct rawtar {
	unsigned char *buf;
	size_t len, cap;
};

static inline void rawtar_bytes(struct rawtar *t, const void *p, size_t n)
{
	if (t->len + n + 512 > t->cap) {
		t->cap = (t->len + n + 512) * 2;
		t->buf = realloc(t->buf, t->cap);
		assert_non_null(t->buf);
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	if (n % 512) {
		memset(t->buf + t->len, 0, 512 - n % 512);
		t->len += 512 - n % 512;
	}
}

static inline void rawtar_header(struct rawtar *t, const char *name, char type, const char *link,
                                 size_t size, int bad_checksum)
{
	unsigned char h[512] = {0};
	unsigned sum = 0;

	strncpy((char *)h, name, 100);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011zo", size);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = (unsigned char)type;
	if (link)
		strncpy((char *)h + 157, link, 100);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum + (bad_checksum ? 1 : 0));
	rawtar_bytes(t, h, 512);
}

/* Adds an entry; (data) is the file content for regular files (may be NULL). */
static inline void rawtar_add(struct rawtar *t, const char *name, char type, const char *link,
                              const char *data, size_t size)
{
	rawtar_header(t, name, type, link, size, 0);
	if (size)
		rawtar_bytes(t, data, size);
}

static inline void rawtar_pax(struct rawtar *t, const char *key, const char *value)
{
	char rec[8192];
	size_t body = strlen(key) + strlen(value) + 3, len = body + 1;

	while ((size_t)snprintf(NULL, 0, "%zu", len) + body != len)
		len = (size_t)snprintf(NULL, 0, "%zu", len) + body;
	snprintf(rec, sizeof(rec), "%zu %s=%s\n", len, key, value);
	rawtar_add(t, "PaxHeader", 'x', NULL, rec, len);
}

static inline void rawtar_gnu_longname(struct rawtar *t, const char *name)
{
	rawtar_add(t, "././@LongLink", 'L', NULL, name, strlen(name) + 1);
}

static inline void rawtar_end(struct rawtar *t)
{
	static const char zero[1024];
	rawtar_bytes(t, zero, 1024);
}

/* Writes the archive to a file in (dir) and returns an fd open on it at offset 0. */
static inline int rawtar_fd(struct rawtar *t, const char *dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/archive-XXXXXX", dir);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, t->buf, t->len), (ssize_t)t->len);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static inline void rawtar_free(struct rawtar *t)
{
	free(t->buf);
	t->buf = NULL;
	t->len = 0;
	t->cap = 0;
}

/*
 * A stand-in for ukcc: writes an ELF-looking kernel made of its sources, prints a line, and
 * fails like a compiler when a source holds COMPILE_ERROR, hangs on SLEEP_FOREVER. It also
 * refuses an unknown -l component, as ukcc does.
 */
static inline char *tu_fake_ukcc(const char *dir)
{
	char *path = malloc(PATH_MAX);
	FILE *f;

	snprintf(path, PATH_MAX, "%s/fake-ukcc", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\n"
	      "out=; srcs=\n"
	      "while [ $# -gt 0 ]; do\n"
	      "  case $1 in\n"
	      "  -o) out=$2; shift ;;\n"
	      "  --embed) [ -e \"${2%%:/*}\" ] || { echo \"ukcc: --embed $2: no such file\" >&2; "
	      "exit 1; }; embeds=\"$embeds $2\"; shift ;;\n"
	      "  -lbogus) echo \"ukcc: unknown runtime-lib component 'bogus'\" >&2; exit 1 ;;\n"
	      "  -*) ;;\n"
	      "  *) srcs=\"$srcs $1\" ;;\n"
	      "  esac\n"
	      "  shift\n"
	      "done\n"
	      "for s in $srcs; do\n"
	      "  [ -f \"$s\" ] || { echo \"$s: No such file or directory\" >&2; exit 1; }\n"
	      "  if grep -q COMPILE_ERROR \"$s\"; then\n"
	      "    echo \"$s:3:1: error: expected ';' before '}' token\" >&2; exit 1\n"
	      "  fi\n"
	      "  if grep -q SLEEP_FOREVER \"$s\"; then sleep 60; fi\n"
	      "  if grep -q BIG_OUTPUT \"$s\"; then\n"
	      "    head -c 3000000 /dev/zero > \"${TMPDIR:-/tmp}/big.o\"; exit 1\n"
	      "  fi\n"
	      "  if grep -q BURN_CPU \"$s\"; then while :; do :; done; fi\n"
	      "  if grep -q SAY_CPU_SPLIT \"$s\"; then\n"
	      "    printf 'gcc: fatal error: CPU time lim' >&2; sleep 0.3\n"
	      "    echo 'it exceeded signal terminated program cc1' >&2; exit 1\n"
	      "  fi\n"
	      "done\n"
	      "printf '\\177ELF fake kernel\\n' > \"$out\"\n"
	      "cat $srcs >> \"$out\"\n"
	      "echo \"fake-ukcc: linked $srcs${embeds:+ embedding$embeds}\"\n",
	      f);
	fclose(f);
	chmod(path, 0755);
	return path;
}

#endif
