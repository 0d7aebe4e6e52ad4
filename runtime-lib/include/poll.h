/* poll() over the descriptor table: sockets and the console. */
#ifndef UK_LIBC_POLL_H
#define UK_LIBC_POLL_H

#define POLLIN 0x001
#define POLLPRI 0x002
#define POLLOUT 0x004
#define POLLERR 0x008
#define POLLHUP 0x010
#define POLLNVAL 0x020
#define POLLRDNORM 0x040
#define POLLWRNORM 0x100
#define POLLRDHUP 0x2000

typedef unsigned long nfds_t;

struct pollfd {
	int fd;
	short events;
	short revents;
};

/*
 * Waits until one of (fds) is ready or (timeout_ms) passes (-1: forever, 0:
 * never waits); drives the network stack while it waits. Returns the number of
 * entries with revents set, 0 on timeout, -1 with EINVAL (nfds too large).
 * A negative fd is skipped; a closed one gets POLLNVAL.
 */
int poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);

#endif
