/* Console streams (stdout line-buffered, stderr unbuffered), files under mount points
 * (lib/file.c) and the printf family. */
#ifndef UK_LIBC_STDIO_H
#define UK_LIBC_STDIO_H

#include <stddef.h>

#define EOF (-1)
#define BUFSIZ 1024

/* Buffering modes for setvbuf(). */
#define _IOFBF 0
#define _IOLBF 1
#define _IONBF 2

typedef struct uk_file FILE;

extern FILE *stdout;
extern FILE *stderr;
#define stdout stdout
#define stderr stderr

/*
 * Files (lib/file.c; docs/storage.md). Paths under a mount point (the mount=DEV:PATH runtime
 * option, e.g. /data) are files in that block device's key-value store (uk/kv.h); other paths
 * are the image's embedded files (uk/files.h), read-only. A FILE holds its whole file in memory:
 * fopen reads it, fread/fwrite/fseek work on that copy, and what was written reaches the store,
 * durably and atomically (old or new contents after a crash, never a mix), at fflush() or
 * fclose() (and at exit(), which flushes every open stream), not before. A failed fflush or
 * fclose (ENOSPC when the store is full, EIO) leaves the stored file as it was.
 *
 * fopen modes: r, r+, w, w+, a, a+, with b (ignored) and x (fail with EEXIST if it exists)
 * after the letter. A file fopen creates or truncates appears in the store at its first fflush
 * or fclose. Files are at most UK_KV_VALUE_MAX (4 MiB): a write past that fails with EFBIG.
 * Errors set errno: ENOENT, EISDIR, ENOTDIR, EROFS (a read-only mount, an embedded file or no
 * mount), EINVAL (mode), ENAMETOOLONG, ENOMEM; reading a stream opened for writing only, or
 * writing one opened for reading, is EBADF. Directories are implicit (see mkdir in sys/stat.h).
 */
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

FILE *fopen(const char *__restrict path, const char *__restrict mode);
/* Flushes (f) (see above) and frees it, whatever the flush returned: 0 or EOF. */
int fclose(FILE *f);
size_t fread(void *__restrict buf, size_t size, size_t n, FILE *__restrict f);
int fgetc(FILE *f);
int getc(FILE *f);
char *fgets(char *__restrict s, int n, FILE *__restrict f);
/* Past the end is allowed: a write there fills the gap with zeros. */
int fseek(FILE *f, long offset, int whence);
long ftell(FILE *f);
void rewind(FILE *f);
int feof(FILE *f);
int ferror(FILE *f);
void clearerr(FILE *f);
/* Removes a file, or an empty directory; durable on return. */
int remove(const char *path);
/* Renames a file or a directory (with everything under it) within one mount, atomically and
 * durably; replaces a file at (newpath). EXDEV across mounts. */
int rename(const char *oldpath, const char *newpath);

int fputc(int c, FILE *f);
int putc(int c, FILE *f);
int putchar(int c);
int fputs(const char *__restrict s, FILE *__restrict f);
int puts(const char *s);
size_t fwrite(const void *__restrict buf, size_t size, size_t n, FILE *__restrict f);
/* Writes out (f)'s buffer; NULL flushes every stream. */
int fflush(FILE *f);
/* Sets the buffering mode of (f); (buf) and (size) are ignored (each stream has its own buffer). */
int setvbuf(FILE *__restrict f, char *__restrict buf, int mode, size_t size);
/* Prints "(s): " (unless s is NULL or empty) and strerror(errno) to stderr. */
void perror(const char *s);

/*
 * Conversions: d i u o x X c s p % and f F e E g G a A, flags "-+ #0'", width and
 * precision (also *), lengths hh h l ll j z t L q. Output matches glibc's byte for
 * byte, doubles and long doubles converted exactly (round-half-even), except that
 * %#g keeps its trailing zeros when rounding carries into style e, as C says
 * (glibc drops them). %n is not supported: its argument is skipped. %lc and %ls
 * take ASCII only (the "C" locale); anything else fails with EILSEQ.
 */
int printf(const char *__restrict fmt, ...) __attribute__((format(printf, 1, 2)));
int fprintf(FILE *__restrict f, const char *__restrict fmt, ...)
        __attribute__((format(printf, 2, 3)));
int sprintf(char *__restrict buf, const char *__restrict fmt, ...)
        __attribute__((format(printf, 2, 3)));
int snprintf(char *__restrict buf, size_t size, const char *__restrict fmt, ...)
        __attribute__((format(printf, 3, 4)));
int vprintf(const char *__restrict fmt, __builtin_va_list ap) __attribute__((format(printf, 1, 0)));
int vfprintf(FILE *__restrict f, const char *__restrict fmt, __builtin_va_list ap)
        __attribute__((format(printf, 2, 0)));
int vsprintf(char *__restrict buf, const char *__restrict fmt, __builtin_va_list ap)
        __attribute__((format(printf, 2, 0)));
int vsnprintf(char *__restrict buf, size_t size, const char *__restrict fmt, __builtin_va_list ap)
        __attribute__((format(printf, 3, 0)));

#endif
