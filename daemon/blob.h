/* An immutable byte buffer shared by any number of owners (reference counted): a cached
 * rendering goes out in many replies without a copy per request. */
#ifndef UKD_BLOB_H
#define UKD_BLOB_H

#include <stdatomic.h>
#include <stddef.h>

struct ukd_blob {
	atomic_int refs;
	size_t len;
	char data[];
};

/* A blob holding a copy of (data); NULL when out of memory. */
struct ukd_blob *ukd_blob_new(const char *data, size_t len);
struct ukd_blob *ukd_blob_ref(struct ukd_blob *b);
void ukd_blob_unref(struct ukd_blob *b); /* NULL is fine */

#endif
