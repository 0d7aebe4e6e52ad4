/* Splits a Xen guest's console stream (its only channel): whole "UK_EXIT=<digits>" lines to the
 * status file, everything else to the console log. */
#include "xen_split.h"

#include <string.h>

#define EXIT_PREFIX "UK_EXIT="

/* 1 if (line, len) may still become a status line "UK_EXIT=<digits>". */
static int split_maybe_status(const char *line, size_t len)
{
	size_t p = sizeof(EXIT_PREFIX) - 1;

	if (memcmp(line, EXIT_PREFIX, len < p ? len : p))
		return 0;
	for (; p < len; p++)
		if ((line[p] < '0' || line[p] > '9') && !(line[p] == '\r' && p + 1 == len))
			return 0;
	return 1;
}

void ukd_xen_split_feed(struct ukd_xen_split *s, const char *buf, size_t len, int eof,
                        ukd_xen_out_fn out, void *opaque)
{
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) + 1 : len;

		if (s->midline) {
			out(opaque, 0, buf, n);
		} else if (s->len + n > sizeof(s->line)) { /* too long for a status line */
			if (s->len)
				out(opaque, 0, s->line, s->len);
			out(opaque, 0, buf, n);
			s->len = 0;
		} else {
			memcpy(s->line + s->len, buf, n);
			s->len += n;
			if (!split_maybe_status(s->line, s->len - (nl ? 1 : 0))) {
				out(opaque, 0, s->line, s->len);
				s->len = 0;
			} else if (nl) { /* a whole line that is "UK_EXIT=" and digits */
				out(opaque, s->len > sizeof(EXIT_PREFIX), s->line, s->len);
				s->len = 0;
			}
		}
		s->midline = !nl && !s->len;
		buf += n;
		len -= n;
	}
	if (eof && s->len) {
		out(opaque, 0, s->line, s->len);
		s->len = 0;
	}
}
