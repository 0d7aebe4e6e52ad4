/* Fuzz target: DNS queries a guest sends to ukd's resolver on its network's gateway (over UDP,
 * and as a TCP stream of length-framed queries), and the answers an upstream sends back to a
 * query ukd forwarded. */
#include "net_dns.h"

#include <stdlib.h>
#include <string.h>

/* (data) as what a TCP client sends: frames read one after another as net_dns_server.c does,
 * each within the stream and within (max); every prefix of the stream reads the same way. */
static void tcp_stream(const uint8_t *data, size_t size, size_t max)
{
	size_t off = 0, mlen;
	int r;

	while ((r = ukd_dns_tcp_frame(data + off, size - off, max, &mlen)) == 1) {
		if (mlen < 12 || mlen > max || off + 2 + mlen > size)
			abort();
		struct ukd_dns_query q;
		ukd_dns_parse_query(data + off + 2, mlen, &q);
		size_t part;
		for (size_t cut = 0; cut < 2 + mlen; cut += 1 + cut / 2)
			if (ukd_dns_tcp_frame(data + off, cut, max, &part) != 0)
				abort(); /* a part of a frame is never a whole one, nor wrong */
		off += 2 + mlen;
	}
	if (r == 0 && mlen != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tcp_stream(data, size, UKD_DNS_MAX);
	tcp_stream(data, size, UKD_DNS_TCP_MAX);
	if (size >= 12 && size <= 4096) {
		/* an upstream's answer cut for a UDP client: within 512 bytes, TC when cut */
		uint8_t resp[4096];
		size_t q = 12 + size % 300;
		memcpy(resp, data, size);
		size_t n = ukd_dns_fit_udp(resp, size, q < size ? q : size);
		if (n > UKD_DNS_MAX || (n != size && !ukd_dns_truncated(resp)))
			abort();
	}

	struct ukd_dns_query q;
	uint8_t out[UKD_DNS_MAX];
	uint32_t ips[40];
	uint8_t fwd[UKD_DNS_MAX];
	int r = ukd_dns_parse_query(data, size, &q);

	if (r < 0)
		return 0;
	if (r == 0) {
		/* forwarded: the question only, under a new ID; the input read as its answer */
		size_t fl = ukd_dns_forward_query(data, &q, 0x1234, fwd);
		if (fl != q.qend || fl > UKD_DNS_MAX || fwd[0] != 0x12 || fwd[2] & 0x80)
			abort();
		if (ukd_dns_response_matches(data, size, fwd, fl) != 0)
			abort(); /* a query (QR 0) never passes for its answer */
		memcpy(out, fwd, fl);
		out[2] |= 0x80;
		if (ukd_dns_response_matches(out, fl, fwd, fl) != 1)
			abort();
	}
	if (r > 15 || strlen(q.name) >= sizeof(q.name) || q.qend > size)
		abort();
	for (int i = 0; i < 40; i++)
		ips[i] = (uint32_t)i;
	/* as many records as fit, never past the buffer; a name holding a dot-less odd byte is ""
	 */
	size_t n = ukd_dns_answer(data, &q, r ? r : (size & 1 ? UKD_DNS_NXDOMAIN : 0), ips,
	                          (int)(size % 41), out);
	if (n < 12 || n > UKD_DNS_MAX || out[0] != data[0] || out[1] != data[1] || !(out[2] & 0x80))
		abort();
	for (size_t i = 0; q.name[i]; i++)
		if (q.name[i] >= 'A' && q.name[i] <= 'Z')
			abort();
	return 0;
}
