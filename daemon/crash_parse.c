/* The runtime's panic report read back from a console log: the backtrace's addresses. */
#include "debug.h"

#include <stdlib.h>
#include <string.h>

/* The hex number at (p) (up to 16 digits after "0x") into (*out); its end, or NULL. */
static const char *hex_addr(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;

	if (end - p < 3 || p[0] != '0' || p[1] != 'x')
		return NULL;
	for (p += 2; p < end && n < 16; p++, n++) {
		char c = *p;
		int x = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                               : -1;
		if (x < 0)
			break;
		v = v << 4 | (uint64_t)x;
	}
	if (!n || (p < end && *p != ' ' && *p != '\n' && *p != '\r'))
		return NULL;
	*out = v;
	return p;
}

/* Last occurrence of (needle) in (text)[0..len), or NULL. */
static const char *last_of(const char *text, size_t len, const char *needle)
{
	size_t nl = strlen(needle);
	const char *found = NULL;

	for (const char *p = text; len >= nl && p <= text + len - nl; p++) {
		p = memchr(p, needle[0], (size_t)(text + len - nl - p) + 1);
		if (!p)
			break;
		if (!memcmp(p, needle, nl))
			found = p;
	}
	return found;
}

int ukd_crash_frames(const char *text, size_t len, struct ukd_crash_frame *out, int max)
{
	const char *p = last_of(text, len, "\npanic: "), *end = text + len;
	int n = 0;

	if (!p || !(p = last_of(p, (size_t)(end - p), "\nbacktrace:")))
		return 0;
	/* one frame a line: "  #  0x<rip> (faulting instruction)" or "  #<n> 0x<return>" */
	for (p = memchr(p + 1, '\n', (size_t)(end - p - 1)); p && p + 1 < end && n < max;
	     p = memchr(p + 1, '\n', (size_t)(end - p - 1))) {
		const char *l = p + 1, *q = l;
		uint64_t a;
		int rip;

		if (end - l < 4 || l[0] != ' ' || l[1] != ' ' || l[2] != '#')
			break;
		q = l + 3;
		rip = *q == ' ';
		while (q < end && *q >= '0' && *q <= '9') /* the frame's number */
			q++;
		while (q < end && *q == ' ')
			q++;
		if (!(q = hex_addr(q, end, &a)))
			break;
		out[n++] = (struct ukd_crash_frame){a, rip};
	}
	return n;
}
