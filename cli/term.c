/* Guest output made harmless for a terminal: control bytes shown as ^X, bad UTF-8 as \xNN. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

/* Bytes of the UTF-8 sequence lead (b) starts, 0 if it cannot start one. */
static size_t utf8_len(unsigned char b)
{
	return b >= 0xc2 && b <= 0xdf   ? 2
	       : b >= 0xe0 && b <= 0xef ? 3
	       : b >= 0xf0 && b <= 0xf4 ? 4
	                                : 0;
}

/* Appends the visible form of (s)[0..*n) to (out); returns bytes of (s) used, 0 if (s) ends
 * inside a sequence (more input may complete it; (final): it will not). */
static size_t term_one(const unsigned char *s, size_t n, int final, char *out, size_t *o)
{
	unsigned char b = s[0];
	size_t len;

	if (b == '\n' || b == '\t' || (b >= 0x20 && b < 0x7f)) {
		out[(*o)++] = (char)b;
		return 1;
	}
	if (b == '\r') {
		if (n < 2 && !final)
			return 0;
		if (n >= 2 && s[1] == '\n') { /* CRLF: a line end */
			out[(*o)++] = '\r';
			return 1;
		}
	}
	if (b < 0x20 || b == 0x7f) {
		out[(*o)++] = '^';
		out[(*o)++] = (char)(b ^ 0x40);
		return 1;
	}
	len = utf8_len(b);
	if (len && n < len && !final) {
		size_t i = 1;
		while (i < n && (s[i] & 0xc0) == 0x80)
			i++;
		if (i == n)
			return 0; /* so far a good start */
	}
	if (len && n >= len) {
		size_t i = 1;
		while (i < len && (s[i] & 0xc0) == 0x80)
			i++;
		/* C1 controls (U+0080..U+009F) act as ESC sequences on some terminals */
		if (i == len && !(b == 0xc2 && s[1] < 0xa0) && !(b == 0xe0 && s[1] < 0xa0) &&
		    !(b == 0xed && s[1] >= 0xa0) && !(b == 0xf0 && s[1] < 0x90) &&
		    !(b == 0xf4 && s[1] >= 0x90)) {
			memcpy(out + *o, s, len);
			*o += len;
			return len;
		}
	}
	*o += (size_t)sprintf(out + *o, "\\x%02x", b);
	return 1;
}

size_t cli_term_escape(struct cli_term *t, const char *data, size_t len, int final, char *out)
{
	unsigned char buf[8];
	size_t o = 0, used;

	/* a sequence cut by the previous chunk, completed from this one */
	while (t->ncarry > 0) {
		size_t take = len < sizeof(buf) - t->ncarry ? len : sizeof(buf) - t->ncarry;
		memcpy(buf, t->carry, t->ncarry);
		memcpy(buf + t->ncarry, data, take);
		used = term_one(buf, t->ncarry + take, final, out, &o);
		if (!used) { /* still cut: all of this chunk was in it */
			memcpy(t->carry + t->ncarry, data, take);
			t->ncarry += take;
			return o;
		}
		if (used >= t->ncarry) {
			data += used - t->ncarry;
			len -= used - t->ncarry;
			t->ncarry = 0;
		} else {
			memmove(t->carry, t->carry + used, t->ncarry - used);
			t->ncarry -= used;
		}
	}
	while (len > 0) {
		used = term_one((const unsigned char *)data, len, final, out, &o);
		if (!used) {
			memcpy(t->carry, data, len);
			t->ncarry = len;
			return o;
		}
		data += used;
		len -= used;
	}
	return o;
}
