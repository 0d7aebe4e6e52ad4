/* Whole-buffer and whole-file I/O, directories made and removed: what every host part needs. */
#ifndef UK_IO_H
#define UK_IO_H

#include <stddef.h>
#include <sys/types.h>

#include "uk/error.h"

/* Writes all of (buf) to (fd), again after EINTR; -1 with errno on failure. */
int uk_write_all(int fd, const void *buf, size_t len);
/* Reads (fd) to EOF (at most (max) bytes, else 413 "too_large") into a NUL-terminated buffer the
 * caller frees; its length in (*len_out) when that is not NULL. */
int uk_read_fd(int fd, size_t max, char **out, size_t *len_out, uk_err_t *err);
/* uk_read_fd on the file at (path); a missing file is 404. */
int uk_read_file(const char *path, size_t max, char **out, size_t *len_out, uk_err_t *err);
/* Makes (path) and its missing parents with (mode); existing ones are fine. -1 with errno. */
int uk_mkdir_p(const char *path, mode_t mode);
/* Removes (path) recursively without following symlinks; a missing path is fine. */
int uk_rm_rf(const char *path);
/* fsyncs the directory (path), so that a rename in it is durable. */
int uk_fsync_dir(const char *path);

#endif
