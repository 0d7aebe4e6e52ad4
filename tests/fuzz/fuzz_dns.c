/* Fuzz target: DNS replies (from the network) through getaddrinfo's parser, the TCP framing
 * (RFC 7766: a stream read in pieces) and query building. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int uk_dns_parse_reply(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                       uint32_t *addrs, int max);
int uk_dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name);
int uk_dns_tcp_frame(const uint8_t *buf, size_t have, size_t cap);

/* The bytes as a TCP stream arriving in pieces of 1 + (a byte's value % 61) bytes: the framing
 * must report the same message (or refusal) at whatever piece it completes, never read past
 * what it has, and the message found goes through the parser. */
static void tcp_stream(const uint8_t *data, size_t size)
{
	size_t cap = size > 300 ? 300 : size, have = 0;
	uint8_t *buf = malloc(cap ? cap : 1);
	uint32_t addrs[4];
	int n = 0;

	if (!buf)
		return;
	for (size_t i = 0; have < size && !n; i++) {
		size_t piece = 1 + data[i % size] % 61;
		if (piece > size - have)
			piece = size - have;
		if (have + piece > cap)
			piece = cap - have;
		if (!piece)
			break;
		memcpy(buf + have, data + have, piece); /* a copy: reads past it are ASan's */
		have += piece;
		n = uk_dns_tcp_frame(buf, have, cap);
		if (n > 0 && ((size_t)n + 2 > have || n != (data[0] << 8 | data[1])))
			abort();
	}
	/* the message's own id (a framed seed gets past the id check) */
	if (n >= 2 && uk_dns_parse_reply(buf + 2, (size_t)n, (uint16_t)(buf[2] << 8 | buf[3]),
	                                 "svc.test", addrs, 4) > 4)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t addrs[4];
	uint8_t q[512];
	char name[300];
	int n, max = size ? data[size - 1] % 5 : 0;

	/* The reply's own id, so the fuzzer gets past the id check; the seeds ask for svc.test. */
	uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
	n = uk_dns_parse_reply(data, size, id, "svc.test", addrs, max);
	if (n > max || n < -4)
		abort();
	tcp_stream(data, size);
	/* The same bytes as a name: a query is built or refused, never longer than its buffer. */
	size_t l = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data, l);
	name[l] = 0;
	n = uk_dns_build_query(q, sizeof(q), id, name);
	if (n > (int)sizeof(q) || (n >= 0 && (size_t)n != 12 + strlen(name) + 2 + 4))
		abort();
	return 0;
}
