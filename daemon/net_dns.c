/* DNS queries in, answers out: the pure part of ukd's per-network resolver (fuzzed). */
#include "net_dns.h"

#include <ctype.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Reads the question's name at (off); returns the offset past it or 0 if malformed. Names
 * with bytes outside [a-zA-Z0-9_-] come back as "" (they match nothing). */
static size_t read_name(const uint8_t *buf, size_t len, size_t off, char *name, size_t cap)
{
	size_t n = 0;
	int odd = 0;

	for (;;) {
		if (off >= len)
			return 0;
		uint8_t l = buf[off++];
		if (l == 0)
			break;
		if (l > 63 || off + l > len) /* compression pointers have no place in a question */
			return 0;
		if (n + l + 1 >= cap)
			return 0;
		if (n)
			name[n++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			int c = buf[off + i];
			if (!isalnum(c) && c != '-' && c != '_')
				odd = 1;
			name[n++] = (char)tolower(c);
		}
		off += l;
	}
	name[odd ? 0 : n] = 0;
	return off;
}

int ukd_dns_parse_query(const uint8_t *buf, size_t len, struct ukd_dns_query *q)
{
	memset(q, 0, sizeof(*q));
	if (len < 12 || len > UKD_DNS_MAX)
		return -1;
	q->id = rd16(buf);
	q->flags = rd16(buf + 2);
	if (q->flags & 0x8000) /* a response: never answer one (no loops) */
		return -1;
	if ((q->flags >> 11 & 0xf) != 0)
		return UKD_DNS_NOTIMP;
	if (rd16(buf + 4) != 1 || rd16(buf + 6) || rd16(buf + 8) || rd16(buf + 10) > 1)
		return UKD_DNS_FORMERR;
	size_t off = read_name(buf, len, 12, q->name, sizeof(q->name));
	if (!off || off + 4 > len) {
		q->name[0] = 0;
		return UKD_DNS_FORMERR;
	}
	q->qtype = rd16(buf + off);
	q->qclass = rd16(buf + off + 2);
	q->qend = off + 4;
	return 0;
}

size_t ukd_dns_answer(const uint8_t *req, const struct ukd_dns_query *q, int rcode,
                      const uint32_t *ips, int n, uint8_t *out)
{
	size_t len = 12;

	memset(out, 0, 12);
	wr16(out, q->id);
	/* QR, AA, RD as asked; RA 0: nothing recursive here */
	wr16(out + 2, (uint16_t)(0x8400 | (q->flags & 0x0100) | (rcode & 0xf)));
	if (q->qend && q->qend <= UKD_DNS_MAX) {
		wr16(out + 4, 1);
		memcpy(out + 12, req + 12, q->qend - 12);
		len = q->qend;
	}
	if (rcode != UKD_DNS_NOERROR || !q->qend)
		return len;
	int an = 0;
	for (int i = 0; i < n && len + 16 <= UKD_DNS_MAX; i++, an++) {
		wr16(out + len, 0xc00c); /* the name of the question */
		wr16(out + len + 2, UKD_DNS_TYPE_A);
		wr16(out + len + 4, UKD_DNS_CLASS_IN);
		memset(out + len + 6, 0, 4); /* TTL 0: instances come and go */
		wr16(out + len + 10, 4);
		memcpy(out + len + 12, &ips[i], 4);
		len += 16;
	}
	wr16(out + 6, (uint16_t)an);
	return len;
}

size_t ukd_dns_forward_query(const uint8_t *req, const struct ukd_dns_query *q, uint16_t id,
                             uint8_t *out)
{
	memset(out, 0, 12);
	wr16(out, id);
	wr16(out + 2, (uint16_t)(q->flags & 0x0100)); /* a standard query, RD as the guest asked */
	wr16(out + 4, 1);
	memcpy(out + 12, req + 12, q->qend - 12);
	return q->qend;
}

int ukd_dns_response_matches(const uint8_t *resp, size_t len, const uint8_t *fwd, size_t flen)
{
	if (len < flen || flen < 12)
		return 0;
	if (rd16(resp) != rd16(fwd) || !(resp[2] & 0x80) || (resp[2] >> 3 & 0xf) != 0)
		return 0;
	/* the question: what was asked, byte for byte (a spoofer must also guess the name) */
	return rd16(resp + 4) == 1 && !memcmp(resp + 12, fwd + 12, flen - 12);
}

int ukd_dns_tcp_frame(const uint8_t *buf, size_t len, size_t max, size_t *mlen)
{
	*mlen = 0;
	if (len < 2)
		return 0;
	size_t m = rd16(buf);
	if (m < 12 || m > max)
		return -1;
	if (len - 2 < m)
		return 0;
	*mlen = m;
	return 1;
}

size_t ukd_dns_fit_udp(uint8_t *resp, size_t len, size_t qlen)
{
	if (len <= UKD_DNS_MAX)
		return len;
	resp[2] |= 0x02; /* TC */
	memset(resp + 6, 0, 6);
	return qlen;
}

int ukd_dns_truncated(const uint8_t *resp)
{
	return (resp[2] & 0x02) != 0;
}
