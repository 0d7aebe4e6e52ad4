/* read, write and close on the descriptor table (console, sockets); the POSIX subset uk has. */
#ifndef UK_LIBC_UNISTD_H
#define UK_LIBC_UNISTD_H

#include <stddef.h>
#include <sys/types.h>

#define STDIN_FILENO 0
#define STDOUT_FILENO 1
#define STDERR_FILENO 2

/* -1 with errno on error: EBADF, EAGAIN (non-blocking), ECONNRESET ... (see docs/net.md). */
ssize_t read(int fd, void *buf, size_t len);
ssize_t write(int fd, const void *buf, size_t len);
int close(int fd);

#endif
