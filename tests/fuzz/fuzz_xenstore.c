/* Fuzz target: the xenstore reply ring (written by the backend, outside input) through the client's
 * parser: replies, watch events, malformed headers and indexes; and xenbus's parser of the numbers
 * a backend writes (sectors, sector-size, state). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/xen/xen.h"

struct iface {
	char req[1024];
	char rsp[1024];
	uint32_t req_cons, req_prod;
	uint32_t rsp_cons, rsp_prod;
};

static struct iface page;

long uk_xen_hypercall(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)nr, (void)a1, (void)a2, (void)a3;
	return 0;
}

/* xenbus_xen.c's console line about a slow wait, and its clock: a second a look. */
void uk_printk(const char *fmt, ...)
{
	(void)fmt;
}

uint64_t uk_time_monotonic_ns(void)
{
	static uint64_t t;

	return t += 1000000000ull;
}

uint64_t uk_time_block_until(uint64_t deadline)
{
	return deadline;
}

/* uk_xenbus_parse_u64 on the input as a string: it accepts exactly the decimal numbers that fit. */
static void parse_number(const uint8_t *data, size_t size)
{
	char s[40], back[40];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1, i;
	const char *digits;
	uint64_t v;

	memcpy(s, data, n);
	s[n] = '\0';
	if (uk_xenbus_parse_u64(s, &v) < 0)
		return;
	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			abort();
	for (digits = s; digits[0] == '0' && digits[1]; digits++)
		;
	snprintf(back, sizeof(back), "%llu", (unsigned long long)v);
	if (!*s || strcmp(back, digits))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[XS_PAYLOAD_MAX + 1];
	char path[XS_PATH_MAX], buf[64];
	struct uk_xs_msg m;
	uint32_t start = 0;
	int r, n = 0;

	parse_number(data, size);
	/* The first 4 bytes place the indexes (wrap-around); the rest is the reply ring's bytes. */
	if (size >= 4) {
		memcpy(&start, data, 4);
		data += 4, size -= 4;
	}
	memset(&page, 0, sizeof(page));
	page.req_cons = page.req_prod = start;
	page.rsp_cons = start;
	for (size_t i = 0; i < size && i < sizeof(page.rsp); i++)
		page.rsp[(start + i) & 1023] = (char)data[i];
	page.rsp_prod = start + (uint32_t)(size < sizeof(page.rsp) ? size : sizeof(page.rsp));
	uk_xs_attach(&page, 1);
	while ((r = uk_xs_recv(&m, out)) > 0)
		if (m.len > XS_PAYLOAD_MAX || ++n > 1024)
			abort();
	if (uk_xs_take_watch_event(path, sizeof(path)) == 1 && strlen(path) >= sizeof(path))
		abort();
	/* A request whose reply never comes (the ring is spent or broken): bounded, then -1. */
	if (r < 0 && uk_xs_read("k", buf, sizeof(buf)) != -1)
		abort();
	(void)uk_xs_watch_event_path(out, (uint32_t)(size % (XS_PAYLOAD_MAX + 1)), path,
	                             sizeof(path));
	return 0;
}
