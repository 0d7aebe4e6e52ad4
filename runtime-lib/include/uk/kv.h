/* A crash-safe key-value store on a block device: staged puts and deletes, atomic commits, prefix
 * listing. */
#ifndef UK_KV_H
#define UK_KV_H

#include <stddef.h>
#include <stdint.h>
#include "uk.h"
#include "block.h"

/*
 * Contract.
 *
 * A store fills one block device (uk/block.h). uk_kv_format() makes an empty one; uk_kv_mount()
 * opens it, reading the whole log once into an in-memory index of the keys (values stay on the
 * device). The on-disk format is in docs/storage.md; the same code runs in a guest and on the
 * host (the ukkv tool), so a volume file can be read and written without booting anything.
 *
 * Keys are NUL-terminated strings of 1 to UK_KV_KEY_MAX bytes. Values are 0 to UK_KV_VALUE_MAX
 * bytes of anything.
 *
 * Changes are staged: uk_kv_put() and uk_kv_delete() change what uk_kv_get(), uk_kv_exists()
 * and uk_kv_list() of this handle see at once, and nothing on the device. uk_kv_commit() makes
 * every change staged since the last commit durable, all together or (after a crash during
 * it) none of them: it appends the changes and a commit record to the log, then flushes the
 * device, and returns UK_OK only after the flush did. A crash (the VMM killed, power lost) at any
 * moment leaves, at the next mount, exactly the state of the last commit that returned UK_OK,
 * or of a later one whose records had all reached the device. uk_kv_rollback() drops what is
 * staged. uk_kv_unmount() drops uncommitted changes too (commit first).
 *
 * Space: the log uses half of the device at a time. When a commit does not fit in what is left
 * of the half, the store first compacts: it copies the committed live values into the other
 * half and switches to it (crash-safe: the switch is one superblock write after a flush). A
 * commit whose live data would not fit in half the device returns UK_ENOSPC and leaves the
 * changes staged (delete something and commit again, or roll back).
 *
 * Errors: UK_EINVAL for bad keys, sizes or handles; UK_ENOENT for a key that is not there (or, at
 * mount, no store on the device); UK_ENOSPC (above); UK_ENOMEM when the index or the staged
 * changes do not fit in the heap; UK_EUNSPEC for an I/O error or (at mount) a store whose
 * superblocks are both damaged. A handle whose commit failed with an I/O error refuses further
 * commits (UK_EUNSPEC): remount to learn what the device holds. Single-threaded, like the rest
 * of the runtime; one handle per device at a time.
 */

#define UK_KV_KEY_MAX 255u
#define UK_KV_VALUE_MAX (4u * 1024u * 1024u)

struct uk_kv;

/* Makes an empty store on (dev), discarding whatever the device held. Flushes before returning. */
uk_result_t uk_kv_format(struct uk_block *dev);

/*
 * Opens the store on (dev) and stores its handle in (*kv). UK_ENOENT when the device holds no
 * store (never formatted, or its superblocks are zero); UK_EUNSPEC when it holds a damaged or
 * newer-format one. Records after the last complete commit (a torn tail) are ignored.
 */
uk_result_t uk_kv_mount(struct uk_block *dev, struct uk_kv **kv);

/* Drops staged changes and frees (kv); NULL is a no-op. */
void uk_kv_unmount(struct uk_kv *kv);

/*
 * Copies the value of (key) into (buf) (up to (cap) bytes) and sets (*len) (if not NULL) to its
 * full length, which MAY exceed (cap): call again with a larger buffer. UK_ENOENT if absent.
 */
uk_result_t uk_kv_get(struct uk_kv *kv, const char *key, void *buf, size_t cap, size_t *len);

/* UK_OK if (key) exists (and its value's length in (*len), if not NULL), else UK_ENOENT. */
uk_result_t uk_kv_exists(struct uk_kv *kv, const char *key, size_t *len);

/* Stages (key) = the (len) bytes at (value) (copied). */
uk_result_t uk_kv_put(struct uk_kv *kv, const char *key, const void *value, size_t len);

/* Stages the removal of (key). UK_ENOENT if it does not exist (nothing staged). */
uk_result_t uk_kv_delete(struct uk_kv *kv, const char *key);

/*
 * Calls (fn)(key, value length, arg) for every key that starts with (prefix) ("" or NULL: all),
 * in byte order of the keys, staged changes included. (fn) MUST NOT change the store; a nonzero
 * return from it stops the listing. Returns UK_OK.
 */
uk_result_t uk_kv_list(struct uk_kv *kv, const char *prefix,
                       int (*fn)(const char *key, size_t len, void *arg), void *arg);

/* Makes the staged changes durable, atomically (see the contract). UK_OK with nothing staged. */
uk_result_t uk_kv_commit(struct uk_kv *kv);

/* Drops the staged changes. */
void uk_kv_rollback(struct uk_kv *kv);

/* Copies the committed live values into the other half now (commit first). */
uk_result_t uk_kv_compact(struct uk_kv *kv);

struct uk_kv_stats {
	uint64_t keys;       /* committed keys */
	uint64_t live_bytes; /* log bytes the committed keys take */
	uint64_t log_bytes;  /* bytes of the active half in use */
	uint64_t half_bytes; /* size of each half */
	uint64_t generation; /* compactions since format, plus one */
	uint64_t commits;    /* commits in the active half */
	uint64_t torn;       /* at mount: records after the last complete commit, ignored */
};

/* Fills (*st). */
void uk_kv_stats(struct uk_kv *kv, struct uk_kv_stats *st);

#endif
