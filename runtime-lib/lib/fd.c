/* The descriptor table (uk/fd.h) and the calls on it: read, write, close, fcntl, poll. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <unistd.h>
#include <uk/fd.h>
#include <uk/uk.h>

static long console_read(struct uk_fd *f, void *buf, size_t len)
{
	return 0; /* no console input: end of file */
}

static long console_write(struct uk_fd *f, const void *buf, size_t len)
{
	uk_console_write((int)(long)f->obj, buf, len);
	return (long)len;
}

static int console_close(struct uk_fd *f)
{
	return 0;
}

static unsigned console_poll(struct uk_fd *f)
{
	return (int)(long)f->obj == 0 ? POLLIN : POLLOUT;
}

static const struct uk_fd_ops console_ops = {"console", console_read, console_write, console_close,
                                             console_poll};

static struct uk_fd table[UK_FD_MAX] = {
        {&console_ops, (void *)0L, O_RDONLY},
        {&console_ops, (void *)1L, O_WRONLY},
        {&console_ops, (void *)2L, O_WRONLY},
};

int uk_fd_alloc(const struct uk_fd_ops *ops, void *obj, int flags)
{
	for (int i = 3; i < UK_FD_MAX; i++) {
		if (!table[i].ops) {
			table[i].ops = ops;
			table[i].obj = obj;
			table[i].flags = flags;
			return i;
		}
	}
	return -EMFILE;
}

struct uk_fd *uk_fd_get(int fd, const struct uk_fd_ops *ops)
{
	if (fd < 0 || fd >= UK_FD_MAX || !table[fd].ops || (ops && table[fd].ops != ops))
		return NULL;
	return &table[fd];
}

/* --- waiting --- */

static uint64_t plain_now(void)
{
	return uk_time_monotonic_ns();
}

static void plain_wait(uint64_t deadline)
{
	uk_time_block_until(deadline);
}

static const struct uk_fd_waiter plain_waiter = {plain_now, plain_wait};
static const struct uk_fd_waiter *waiter = &plain_waiter;

void uk_fd_set_waiter(const struct uk_fd_waiter *w)
{
	waiter = w ? w : &plain_waiter;
}

uint64_t uk_fd_now(void)
{
	return waiter->now();
}

void uk_fd_wait(uint64_t deadline_ns)
{
	waiter->wait(deadline_ns);
}

/* --- the calls --- */

static long ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

ssize_t read(int fd, void *buf, size_t len)
{
	struct uk_fd *f = uk_fd_get(fd, NULL);

	if (!f || !f->ops->read)
		return ret(-EBADF);
	return ret(f->ops->read(f, buf, len));
}

ssize_t write(int fd, const void *buf, size_t len)
{
	struct uk_fd *f = uk_fd_get(fd, NULL);

	if (!f || !f->ops->write)
		return ret(-EBADF);
	return ret(f->ops->write(f, buf, len));
}

int close(int fd)
{
	struct uk_fd *f = uk_fd_get(fd, NULL);
	int r;

	if (!f)
		return (int)ret(-EBADF);
	r = f->ops->close(f);
	f->ops = NULL;
	f->obj = NULL;
	f->flags = 0;
	return (int)ret(r);
}

int fcntl(int fd, int cmd, ...)
{
	struct uk_fd *f = uk_fd_get(fd, NULL);
	va_list ap;
	int arg;

	if (!f)
		return (int)ret(-EBADF);
	switch (cmd) {
	case F_GETFL:
		return f->flags;
	case F_SETFL:
		va_start(ap, cmd);
		arg = va_arg(ap, int);
		va_end(ap);
		f->flags = (f->flags & ~O_NONBLOCK) | (arg & O_NONBLOCK);
		return 0;
	case F_GETFD:
		return 0;
	case F_SETFD:
		return 0;
	default:
		return (int)ret(-EINVAL);
	}
}

/* Fills revents for every entry; returns how many have any. */
static int poll_scan(struct pollfd *fds, nfds_t nfds)
{
	int n = 0;

	for (nfds_t i = 0; i < nfds; i++) {
		struct uk_fd *f;
		unsigned ev;

		fds[i].revents = 0;
		if (fds[i].fd < 0)
			continue;
		if (!(f = uk_fd_get(fds[i].fd, NULL)))
			ev = POLLNVAL;
		else
			ev = f->ops->poll ? f->ops->poll(f) : POLLIN | POLLOUT;
		ev &= (unsigned)fds[i].events | POLLERR | POLLHUP | POLLNVAL;
		fds[i].revents = (short)ev;
		n += ev != 0;
	}
	return n;
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	uint64_t deadline =
	        timeout_ms < 0 ? UINT64_MAX : uk_fd_now() + (uint64_t)timeout_ms * 1000000ull;
	int n;

	if (nfds > UK_FD_MAX)
		return (int)ret(-EINVAL);
	for (;;) {
		if ((n = poll_scan(fds, nfds)) || uk_fd_now() >= deadline)
			return n;
		uk_fd_wait(deadline);
	}
}
