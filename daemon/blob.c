/* Reference-counted immutable buffers (blob.h). */
#include "blob.h"

#include <stdlib.h>
#include <string.h>

struct ukd_blob *ukd_blob_new(const char *data, size_t len)
{
	struct ukd_blob *b = malloc(sizeof(*b) + len);

	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->len = len;
	memcpy(b->data, data, len);
	return b;
}

struct ukd_blob *ukd_blob_ref(struct ukd_blob *b)
{
	atomic_fetch_add(&b->refs, 1);
	return b;
}

void ukd_blob_unref(struct ukd_blob *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1)
		free(b);
}
