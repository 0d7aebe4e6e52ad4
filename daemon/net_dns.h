/* The DNS wire format ukd's network resolver reads and writes (one question, A records). */
#ifndef UKD_NET_DNS_H
#define UKD_NET_DNS_H

#include <stddef.h>
#include <stdint.h>

#define UKD_DNS_MAX 512       /* a query larger than classic UDP DNS is dropped unread */
#define UKD_DNS_TCP_MAX 65535 /* a DNS message over TCP (its 2-byte length) */
#define UKD_DNS_TYPE_A 1
#define UKD_DNS_CLASS_IN 1
enum {
	UKD_DNS_NOERROR = 0,
	UKD_DNS_FORMERR = 1,
	UKD_DNS_SERVFAIL = 2,
	UKD_DNS_NXDOMAIN = 3,
	UKD_DNS_NOTIMP = 4,
	UKD_DNS_REFUSED = 5,
};

struct ukd_dns_query {
	uint16_t id, flags, qtype, qclass;
	char name[254]; /* lowercase, dotted, no trailing dot; "" if it holds odd bytes */
	size_t qend;    /* offset just past the question in the request */
};

/* Reads a query from (buf)[0..len). 0: a query to answer (q filled); a positive DNS rcode
 * (FORMERR, NOTIMP): answer with it (q->id, flags and qend set as far as read, qend 0 = no
 * question echoed); -1: not worth an answer (a response, shorter than a header, over
 * UKD_DNS_MAX). Never reads past (len). */
int ukd_dns_parse_query(const uint8_t *buf, size_t len, struct ukd_dns_query *q);

/* Writes the answer to (req)/(q) with (rcode) and (n) A records (network order addresses) into
 * (out) (at least UKD_DNS_MAX bytes); returns its length. */
size_t ukd_dns_answer(const uint8_t *req, const struct ukd_dns_query *q, int rcode,
                      const uint32_t *ips, int n, uint8_t *out);

/* Forwarding (--outbound networks): what ukd sends upstream is rebuilt from what it parsed, not
 * relayed: a header with (id) and the guest's RD bit, one question (req)[12..q->qend), nothing
 * else (no EDNS, no additional records). Writes into (out) (UKD_DNS_MAX bytes); returns its
 * length. (q) must come from a 0 of ukd_dns_parse_query(). */
size_t ukd_dns_forward_query(const uint8_t *req, const struct ukd_dns_query *q, uint16_t id,
                             uint8_t *out);

/* 1 if (resp)[0..len) is the answer to the forwarded query (fwd)[0..flen) (what
 * ukd_dns_forward_query() wrote): a response (QR), same ID, standard opcode, one question equal
 * byte for byte to the one asked; 0 otherwise (a stray, late or forged datagram: dropped). */
int ukd_dns_response_matches(const uint8_t *resp, size_t len, const uint8_t *fwd, size_t flen);

/* DNS over TCP (RFC 1035 4.2.2, RFC 7766): each message behind its length in 2 bytes, network
 * order. Reads (buf)[0..len), the start of a stream: 1 if a whole message is there, of (*mlen)
 * bytes at (buf) + 2; 0 if it is the start of one (read on); -1 if its length is under a DNS
 * header (12) or over (max): not DNS, close the connection. Never reads past (len). */
int ukd_dns_tcp_frame(const uint8_t *buf, size_t len, size_t max, size_t *mlen);

/* The upstream's answer (resp)[0..len) to a forwarded query of (qlen) bytes, for a client over
 * UDP that asked without EDNS: returned whole when it fits in UKD_DNS_MAX, else cut to its
 * header and question with TC set and no records (RFC 2181 9: the client asks again over TCP).
 * (resp) must have passed ukd_dns_response_matches() against that query. Returns the length. */
size_t ukd_dns_fit_udp(uint8_t *resp, size_t len, size_t qlen);

/* 1 if the answer (resp) (at least a header) has TC set: the upstream cut it. */
int ukd_dns_truncated(const uint8_t *resp);

#endif
