/* Directory listing (opendir, readdir, closedir) for mounted stores and embedded files. */
#ifndef UK_LIBC_DIRENT_H
#define UK_LIBC_DIRENT_H

#include <sys/types.h>

#define DT_UNKNOWN 0
#define DT_DIR 4
#define DT_REG 8

struct dirent {
	ino_t d_ino; /* 0: the store has no inode numbers */
	off_t d_off;
	unsigned short d_reclen;
	unsigned char d_type; /* DT_DIR or DT_REG */
	char d_name[256];
};

typedef struct uk_dir DIR;

/*
 * Lists (path)'s entries (lib/file.c): the files and directories right under it, in byte order
 * of their names, without "." and "..". The listing is taken at opendir (later changes do not
 * show). Mount points are not listed in their parent. ENOENT, ENOTDIR, ENOMEM, EIO.
 */
DIR *opendir(const char *path);
/* The next entry (valid until the next readdir or closedir), or NULL at the end. */
struct dirent *readdir(DIR *d);
int closedir(DIR *d);

#endif
