/* The file descriptor table the libc subset shares: console fds 0-2, sockets, later files. */
#ifndef UK_FD_H
#define UK_FD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Contract. A descriptor is a small int naming an object and its operations.
 * 0, 1 and 2 are the console (read 0 is end of file; writes go to
 * uk_console_write). A subsystem (sockets in runtime-lib/net, files later)
 * allocates a descriptor with uk_fd_alloc() and gets its object back with
 * uk_fd_get(). read(), write(), close(), fcntl() and poll() in lib/fd.c
 * dispatch through the operations. Operations return a count or 0 on success,
 * or a negative errno value (-EAGAIN ...); the libc wrappers turn that into -1
 * and errno. Single-threaded, like the rest of the runtime.
 */

#define UK_FD_MAX 1024

struct uk_fd;

struct uk_fd_ops {
	const char *name; /* "socket", "file" ... */
	long (*read)(struct uk_fd *f, void *buf, size_t len);
	long (*write)(struct uk_fd *f, const void *buf, size_t len);
	int (*close)(struct uk_fd *f);     /* releases obj; the slot is freed afterwards */
	unsigned (*poll)(struct uk_fd *f); /* POLLIN/POLLOUT/POLLERR/POLLHUP bits now */
};

struct uk_fd {
	const struct uk_fd_ops *ops; /* NULL: the slot is free */
	void *obj;
	int flags; /* file status flags: O_NONBLOCK, O_RDWR ... (fcntl F_GETFL/F_SETFL) */
};

/* Takes the lowest free descriptor >= 3 for (obj); returns it, or -EMFILE. */
int uk_fd_alloc(const struct uk_fd_ops *ops, void *obj, int flags);

/* The entry of (fd) when it is open with (ops) (NULL: any ops); else NULL. */
struct uk_fd *uk_fd_get(int fd, const struct uk_fd_ops *ops);

/*
 * How blocking calls wait. A subsystem whose objects change state only while
 * something drives them (the network stack: uk_net_poll) installs a waiter;
 * without one, waiting is uk_time_block_until(). (now) is the clock deadlines
 * are measured on; (wait) idles until (deadline_ns) or until something may have
 * changed, whichever is first. Unit tests install a fake one.
 */
struct uk_fd_waiter {
	uint64_t (*now)(void);
	void (*wait)(uint64_t deadline_ns);
};
void uk_fd_set_waiter(const struct uk_fd_waiter *w);
uint64_t uk_fd_now(void);
void uk_fd_wait(uint64_t deadline_ns);

#endif
