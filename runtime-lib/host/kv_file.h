/* Host builds of runtime-lib's storage: a uk/block.h device over a file (or memory), for ukkv and
 * tests. */
#ifndef UK_HOST_KV_FILE_H
#define UK_HOST_KV_FILE_H

#include "uk/block.h"
#include "uk/kv.h"

/*
 * Opens (path) as a block device of 512-byte blocks (its size rounded down), read-only when
 * (read_only) is set, and stores it in (*dev) (not registered: uk_block_acquire() does not
 * see it). Flushes are fdatasync(2). Returns UK_OK, or UK_EUNSPEC with errno set.
 * uk_kv_file_close() closes and frees it; NULL is a no-op.
 */
uk_result_t uk_kv_file_open(const char *path, int read_only, struct uk_block **dev);
void uk_kv_file_close(struct uk_block *dev);

/* A readable message for a uk_result_t. */
const char *uk_kv_strerror(uk_result_t r);

#endif
