/* The console streams: stdout (line-buffered) and stderr (unbuffered) over uk_console_write(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uk/uk.h>

struct uk_file {
	int fd;    /* console stream: 1 or 2 */
	int mode;  /* _IOFBF, _IOLBF or _IONBF */
	char *buf; /* BUFSIZ bytes, or NULL for a stream that never buffers */
	size_t len;
};

static char outbuf[BUFSIZ];
static struct uk_file out = {1, _IOLBF, outbuf, 0};
static struct uk_file err = {2, _IONBF, NULL, 0};

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

/* Appends (n) bytes of (s) to (f), writing out whatever its mode says must go now. */
static void put(FILE *f, const char *s, size_t n)
{
	size_t line = 0, room;

	if (f->mode == _IONBF || !f->buf) {
		drain(f);
		uk_console_write(f->fd, s, n);
		return;
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
			return;
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
}

size_t fwrite(const void *restrict buf, size_t size, size_t n, FILE *restrict f)
{
	if (size == 0 || n == 0)
		return 0;
	if (n > (size_t)-1 / size) {
		errno = EOVERFLOW;
		return 0;
	}
	put(f, buf, size * n);
	return n;
}

int fputc(int c, FILE *f)
{
	char ch = (char)c;

	put(f, &ch, 1);
	return (unsigned char)c;
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
	put(f, s, strlen(s));
	return 1;
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
	} else {
		drain(f);
	}
	return 0;
}

int setvbuf(FILE *restrict f, char *restrict buf, int mode, size_t size)
{
	if (mode != _IOFBF && mode != _IOLBF && mode != _IONBF) {
		errno = EINVAL;
		return -1;
	}
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
