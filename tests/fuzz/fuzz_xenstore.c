/* Fuzz target: the xenstore reply ring (written by the backend, outside input) through the client's
 * parser: replies, watch events, malformed headers and indexes. */
#include <stdint.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[XS_PAYLOAD_MAX + 1];
	char path[XS_PATH_MAX], buf[64];
	struct uk_xs_msg m;
	uint32_t start = 0;
	int r, n = 0;

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
