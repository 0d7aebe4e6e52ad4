/* Splits a Xen guest's console stream: its "UK_EXIT=<n>" status lines from the rest. */
#ifndef UKD_XEN_SPLIT_H
#define UKD_XEN_SPLIT_H

#include <stddef.h>

/*
 * The guest's exit status travels on its only console on Xen (docs/xen.md): its "UK_EXIT=<n>"
 * lines go to the status file, everything else to the console log. A splitter holds the part of
 * a line that may still become "UK_EXIT=...".
 */
struct ukd_xen_split {
	char line[64]; /* a pending line start, a prefix of "UK_EXIT=" + digits */
	size_t len;
	int midline; /* the current line went to the console already */
};
typedef void (*ukd_xen_out_fn)(void *opaque, int status, const char *buf, size_t len);
/* Feeds (len) console bytes: calls (out) with status 0 for console bytes, 1 for a status line
 * (with its '\n'). (eof): the stream ended, flush what is pending to the console. */
void ukd_xen_split_feed(struct ukd_xen_split *s, const char *buf, size_t len, int eof,
                        ukd_xen_out_fn out, void *opaque);

#endif
