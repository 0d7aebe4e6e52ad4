/* Fuzz target: DNS queries a guest sends to ukd's resolver on its network's gateway, and the
 * answers an upstream sends back to a query ukd forwarded. */
#include "net_dns.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
