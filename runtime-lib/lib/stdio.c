/* The console streams: stdout (line-buffered) and stderr (unbuffered) over uk_console_write(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uk/uk.h>
#include "stdio_impl.h"

int (*uk_stdio_flush_files)(void);

static char outbuf[BUFSIZ];
static struct uk_file out = {.fd = 1, .mode = _IOLBF, .buf = outbuf};
static struct uk_file err = {.fd = 2, .mode = _IONBF};

#undef stdout
#undef stderr
FILE *stdout = &out;
FILE *stderr = &err;

static void drain(FILE *f)
{
	if (f->len) {
		uk_console_write(f->fd, f->buf, f->len);
		f->len = 0;
	}
}

/* Appends (n) bytes of (s) to (f), writing out whatever its mode says must go now. Returns the
 * bytes taken: (n), or fewer when a file (lib/file.c) failed. */
static size_t put(FILE *f, const char *s, size_t n)
{
	size_t line = 0, room, all = n;

	if (f->ops)
		return f->ops->write(f, s, n);
	if (f->mode == _IONBF || !f->buf) {
		drain(f);
		uk_console_write(f->fd, s, n);
		return all;
	}
	if (f->mode == _IOLBF) {
		for (line = n; line > 0 && s[line - 1] != '\n'; line--)
			;
	}
	if (line) {
		/* Everything up to the last newline goes out now, in one write if it fits. */
		if (f->len + line <= BUFSIZ) {
			memcpy(f->buf + f->len, s, line);
			f->len += line;
			drain(f);
		} else {
			drain(f);
			uk_console_write(f->fd, s, line);
		}
		s += line;
		n -= line;
	}
	while (n > 0) {
		if (f->len == 0 && n >= BUFSIZ) {
			uk_console_write(f->fd, s, n);
			return all;
		}
		room = BUFSIZ - f->len;
		if (room > n)
			room = n;
		memcpy(f->buf + f->len, s, room);
		f->len += room;
		s += room;
		n -= room;
		if (f->len == BUFSIZ)
			drain(f);
	}
	return all;
}

size_t fwrite(const void *restrict buf, size_t size, size_t n, FILE *restrict f)
{
	if (size == 0 || n == 0)
		return 0;
	if (n > (size_t)-1 / size) {
		errno = EOVERFLOW;
		return 0;
	}
	return put(f, buf, size * n) / size;
}

int fputc(int c, FILE *f)
{
	char ch = (char)c;

	return put(f, &ch, 1) == 1 ? (unsigned char)c : EOF;
}

int putc(int c, FILE *f)
{
	return fputc(c, f);
}

int putchar(int c)
{
	return fputc(c, stdout);
}

int fputs(const char *restrict s, FILE *restrict f)
{
	size_t n = strlen(s);

	return put(f, s, n) == n ? 1 : EOF;
}

int puts(const char *s)
{
	size_t n = strlen(s);

	put(stdout, s, n);
	put(stdout, "\n", 1);
	return n < 0x7fffffff ? (int)n + 1 : 0x7fffffff;
}

int fflush(FILE *f)
{
	if (!f) {
		drain(stdout);
		drain(stderr);
		return uk_stdio_flush_files ? uk_stdio_flush_files() : 0;
	}
	if (f->ops)
		return f->ops->flush(f);
	drain(f);
	return 0;
}

int setvbuf(FILE *restrict f, char *restrict buf, int mode, size_t size)
{
	if (mode != _IOFBF && mode != _IOLBF && mode != _IONBF) {
		errno = EINVAL;
		return -1;
	}
	if (f->ops)
		return 0; /* a file is held in memory until fflush or fclose: nothing to choose */
	drain(f);
	f->mode = mode;
	return 0;
}

void perror(const char *s)
{
	const char *msg = strerror(errno);

	if (s && *s) {
		fputs(s, stderr);
		fputs(": ", stderr);
	}
	fputs(msg, stderr);
	fputs("\n", stderr);
}
