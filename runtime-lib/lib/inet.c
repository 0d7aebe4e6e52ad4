/* inet_pton, inet_ntop and the older inet_addr/inet_aton/inet_ntoa: dotted-quad IPv4 text. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Parses exactly four decimal parts 0-255 (no leading zeros beyond one digit, as glibc's pton). */
static int parse_quad(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int part = 0; part < 4; part++) {
		unsigned n = 0, digits = 0;

		if (part && *s++ != '.')
			return 0;
		while (*s >= '0' && *s <= '9') {
			if (digits && n == 0)
				return 0;
			n = n * 10 + (unsigned)(*s++ - '0');
			if (++digits > 3 || n > 255)
				return 0;
		}
		if (!digits)
			return 0;
		v = v << 8 | n;
	}
	if (*s)
		return 0;
	*out = v;
	return 1;
}

int inet_pton(int af, const char *src, void *dst)
{
	uint32_t v;

	if (af != AF_INET) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (!parse_quad(src, &v))
		return 0;
	v = htonl(v);
	memcpy(dst, &v, 4);
	return 1;
}

const char *inet_ntop(int af, const void *src, char *dst, socklen_t size)
{
	const unsigned char *b = src;
	char tmp[INET_ADDRSTRLEN];
	int n;

	if (af != AF_INET) {
		errno = EAFNOSUPPORT;
		return NULL;
	}
	n = snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	if (n < 0 || (socklen_t)n >= size) {
		errno = ENOSPC;
		return NULL;
	}
	memcpy(dst, tmp, (size_t)n + 1);
	return dst;
}

int inet_aton(const char *cp, struct in_addr *inp)
{
	return inet_pton(AF_INET, cp, &inp->s_addr) == 1;
}

in_addr_t inet_addr(const char *cp)
{
	struct in_addr a;

	return inet_aton(cp, &a) ? a.s_addr : INADDR_NONE;
}

char *inet_ntoa(struct in_addr in)
{
	static char buf[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &in.s_addr, buf, sizeof(buf));
	return buf;
}
