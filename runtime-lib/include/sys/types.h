/* The POSIX scalar types the libc subset and applications use (LP64, Linux sizes). */
#ifndef UK_LIBC_SYS_TYPES_H
#define UK_LIBC_SYS_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef long ssize_t;
typedef long off_t;
typedef int pid_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
typedef unsigned int mode_t;
typedef unsigned long ino_t;
typedef unsigned long dev_t;
typedef unsigned long nlink_t;
typedef long blksize_t;
typedef long blkcnt_t;
typedef unsigned int useconds_t;
#ifndef UK_LIBC_SUSECONDS_T
#define UK_LIBC_SUSECONDS_T
typedef long suseconds_t;
#endif
#ifndef UK_LIBC_TIME_T
#define UK_LIBC_TIME_T
typedef long time_t;
typedef int clockid_t;
#endif

#endif
