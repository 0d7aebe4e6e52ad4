/* The FILE structure shared by the console streams (lib/stdio.c) and files (lib/file.c). */
#ifndef UK_LIB_STDIO_IMPL_H
#define UK_LIB_STDIO_IMPL_H

#include <stddef.h>
#include <stdio.h>

/* What a stream other than the console does with written bytes. */
struct uk_file_ops {
	/* Takes up to (n) bytes of (s) at the stream's position; returns how many it took (fewer
	 * only on an error, with errno and the stream's error flag set). */
	size_t (*write)(FILE *f, const char *s, size_t n);
	/* Makes what was written durable: 0, or EOF with errno and the error flag set. */
	int (*flush)(FILE *f);
};

struct uk_file {
	int fd;    /* console stream: 1 or 2 */
	int mode;  /* _IOFBF, _IOLBF or _IONBF */
	char *buf; /* BUFSIZ bytes, or NULL for a stream that never buffers */
	size_t len;
	const struct uk_file_ops *ops; /* NULL for the console streams */
	int eof, err;                  /* feof(), ferror() */
};

/* Set by lib/file.c once a file is open: flushes every open file for fflush(NULL) and exit(). */
extern int (*uk_stdio_flush_files)(void);

#endif
