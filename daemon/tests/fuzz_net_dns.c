/* Fuzz target: DNS queries a guest sends to ukd's resolver on its network's gateway. */
#include "net_dns.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ukd_dns_query q;
	uint8_t out[UKD_DNS_MAX];
	uint32_t ips[40];
	int r = ukd_dns_parse_query(data, size, &q);

	if (r < 0)
		return 0;
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
