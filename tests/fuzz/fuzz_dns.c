/* Fuzz target: DNS replies (from the network) through getaddrinfo's parser, and query building. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int uk_dns_parse_reply(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                       uint32_t *addrs, int max);
int uk_dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t addrs[4];
	uint8_t q[512];
	char name[300];
	int n, max = size ? data[size - 1] % 5 : 0;

	/* The reply's own id, so the fuzzer gets past the id check; the seeds ask for svc.test. */
	uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
	n = uk_dns_parse_reply(data, size, id, "svc.test", addrs, max);
	if (n > max || n < -3)
		abort();
	/* The same bytes as a name: a query is built or refused, never longer than its buffer. */
	size_t l = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data, l);
	name[l] = 0;
	n = uk_dns_build_query(q, sizeof(q), id, name);
	if (n > (int)sizeof(q) || (n >= 0 && (size_t)n != 12 + strlen(name) + 2 + 4))
		abort();
	return 0;
}
