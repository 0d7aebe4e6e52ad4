/* stat() and mkdir() for files under mount points and embedded files (lib/file.c). */
#ifndef UK_LIBC_SYS_STAT_H
#define UK_LIBC_SYS_STAT_H

#include <sys/types.h>

#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFREG 0100000
#define S_ISDIR(m) (((m)&S_IFMT) == S_IFDIR)
#define S_ISREG(m) (((m)&S_IFMT) == S_IFREG)

/* Only st_mode (S_IFDIR | 0755 or S_IFREG | 0644), st_size, st_nlink and st_blksize are set. */
struct stat {
	dev_t st_dev;
	ino_t st_ino;
	nlink_t st_nlink;
	mode_t st_mode;
	uid_t st_uid;
	gid_t st_gid;
	dev_t st_rdev;
	off_t st_size;
	blksize_t st_blksize;
	blkcnt_t st_blocks;
};

/* ENOENT, ENOTDIR, ENAMETOOLONG, EIO. A file's size is that of its stored contents. */
int stat(const char *__restrict path, struct stat *__restrict st);

/*
 * Creates directory (path) under a mount point, durably; (mode) is ignored. Directories are
 * implicit: creating /data/a/b/f needs no mkdir of /data/a or /data/a/b, and a directory exists
 * while something lies under it. mkdir keeps an empty one (a marker key). EEXIST, EROFS,
 * ENOTDIR, ENOSPC.
 */
int mkdir(const char *path, mode_t mode);

#endif
