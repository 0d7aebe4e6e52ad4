/* The one ustar writer: headers (pax 'x' for names ustar cannot hold), data, padding, the end. */
#ifndef UK_TAR_H
#define UK_TAR_H

#include <stdint.h>

#include "uk/error.h"

#define UK_TAR_BLOCK 512
#define UK_TAR_MAX_SIZE 077777777777ULL /* 11 octal digits: 8 GiB - 1 */

/*
 * Writes the header of an entry (name) of (type) ('0' file, '5' directory: name ends in "/"),
 * (mode) and (size) to (fd), deterministically: mtime, uid and gid 0, no user or group names.
 * A name over 100 bytes goes into ustar's prefix/name split at the first slash that fits, else
 * a pax 'x' header carrying "path=(name)" comes first. 413 when (size) exceeds UK_TAR_MAX_SIZE.
 */
int uk_tar_header(int fd, const char *name, char type, unsigned mode, uint64_t size, uk_err_t *err);
/* Copies exactly (size) bytes of (in) (the entry (what), for messages) to (fd) with the padding
 * to the block: 400 if (in) ends early (it changed while it was read). */
int uk_tar_copy(int fd, int in, uint64_t size, const char *what, uk_err_t *err);
/* Writes (len) bytes of (buf) and the padding to the block. */
int uk_tar_data(int fd, const void *buf, uint64_t len, uk_err_t *err);
/* Writes the end of the archive: two zero blocks. */
int uk_tar_end(int fd, uk_err_t *err);

#endif
