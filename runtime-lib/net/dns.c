/* DNS messages (RFC 1035 4.1): the A query getaddrinfo sends, the parser of the replies and
 * the TCP framing (4.2.2). */
#include <string.h>

#include "net_internal.h"
#include "socket_internal.h"

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int uk_dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name)
{
	size_t n = strlen(name), o = 12;

	if (!n || n > UK_DNS_NAME_MAX || cap < 12 + n + 2 + 4)
		return -1;
	memset(buf, 0, 12);
	net_put16(buf, id);
	net_put16(buf + 2, 0x0100); /* RD */
	net_put16(buf + 4, 1);
	for (const char *p = name; *p;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (!l || l > 63)
			return -1;
		buf[o++] = (uint8_t)l;
		memcpy(buf + o, p, l);
		o += l;
		p += l;
		if (*p && !*++p)
			return -1; /* "a." after stripping, or ".." */
	}
	buf[o++] = 0;
	net_put16(buf + o, 1);     /* A */
	net_put16(buf + o + 2, 1); /* IN */
	return (int)(o + 4);
}

/*
 * Reads the name at (*off) into (out) (dotted, NUL-terminated), following
 * compression pointers (at most 32, always backwards in effect bounded by the
 * count). Advances (*off) past the name as it sits at (*off). Returns 0 or -1.
 */
static int read_name(const uint8_t *m, size_t len, size_t *off, char *out, size_t cap)
{
	size_t p = *off, o = 0, after = 0;
	int jumps = 0;

	for (;;) {
		if (p >= len)
			return -1;
		uint8_t l = m[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len || ++jumps > 32)
				return -1;
			if (!after)
				after = p + 2;
			p = (size_t)(l & 0x3f) << 8 | m[p + 1];
			continue;
		}
		if (l & 0xc0)
			return -1;
		if (!l) {
			if (!after)
				after = p + 1;
			break;
		}
		if (p + 1 + l > len || o + l + 2 > cap)
			return -1;
		if (o)
			out[o++] = '.';
		memcpy(out + o, m + p + 1, l);
		o += l;
		p += 1 + (size_t)l;
	}
	out[o] = 0;
	*off = after;
	return 0;
}

int uk_dns_name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

int uk_dns_tcp_frame(const uint8_t *buf, size_t have, size_t cap)
{
	size_t n;

	if (have < 2)
		return 0;
	n = net_get16(buf);
	if (!n || n + 2 > cap)
		return -1;
	return have >= n + 2 ? (int)n : 0;
}

int uk_dns_parse_reply(const uint8_t *m, size_t len, uint16_t id, const char *name, uint32_t *addrs,
                       int max)
{
	char qname[UK_DNS_NAME_MAX + 2];
	size_t off = 12;
	unsigned flags, qd, an;
	int n = 0;

	if (len < 12 || net_get16(m) != id)
		return -1;
	flags = net_get16(m + 2);
	qd = net_get16(m + 4);
	an = net_get16(m + 6);
	if (!(flags & 0x8000) || (flags >> 11 & 15) != 0 || qd != 1)
		return -1;
	if (read_name(m, len, &off, qname, sizeof(qname)) < 0 || off + 4 > len ||
	    !uk_dns_name_eq(qname, name) || net_get16(m + off) != 1 || net_get16(m + off + 2) != 1)
		return -1;
	off += 4;
	if (flags & 0x0200)
		return UK_DNS_TRUNCATED;
	if ((flags & 15) == 3)
		return -2;
	if (flags & 15)
		return -3;
	for (unsigned i = 0; i < an; i++) {
		char rname[UK_DNS_NAME_MAX + 2];
		unsigned type, cls, rdlen;
		if (read_name(m, len, &off, rname, sizeof(rname)) < 0 || off + 10 > len)
			return -1;
		type = net_get16(m + off);
		cls = net_get16(m + off + 2);
		rdlen = net_get16(m + off + 8);
		off += 10;
		if (off + rdlen > len)
			return -1;
		if (type == 1 && cls == 1 && rdlen == 4 && n < max)
			addrs[n++] = net_get32(m + off);
		off += rdlen;
	}
	return n;
}
