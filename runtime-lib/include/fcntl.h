/* fcntl() on the descriptor table: F_GETFL/F_SETFL with O_NONBLOCK, F_GETFD/F_SETFD. */
#ifndef UK_LIBC_FCNTL_H
#define UK_LIBC_FCNTL_H

#define O_RDONLY 00
#define O_WRONLY 01
#define O_RDWR 02
#define O_ACCMODE 03
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000

#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define FD_CLOEXEC 1

/* F_GETFL/F_SETFL (only O_NONBLOCK changes), F_GETFD/F_SETFD (accepted, no exec); else EINVAL. */
int fcntl(int fd, int cmd, ...);

#endif
