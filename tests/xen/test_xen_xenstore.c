/* The xenstore client (runtime-lib/platform/xen/xenstore_xen.c) on the host against a fake
 * xenstored that answers on the ring page when the guest notifies, plus malformed replies. */
#include "platform/xen/xen.h"
#include "ukt_check.h"
#include <stdint.h>
#include <string.h>

#define PORT 5
#define RING 1024

struct iface {
	char req[RING];
	char rsp[RING];
	uint32_t req_cons, req_prod;
	uint32_t rsp_cons, rsp_prod;
};

static struct iface page;
static int yields, bad_ports, answering = 1;
static char store_key[64] = "control/shutdown", store_val[64];
static int reads, writes, watches;

static void rsp_put(const void *src, uint32_t n)
{
	const char *p = src;

	for (uint32_t i = 0; i < n; i++)
		page.rsp[(page.rsp_prod + i) & (RING - 1)] = p[i];
	page.rsp_prod += n;
}

static void reply(uint32_t type, uint32_t id, const void *body, uint32_t len)
{
	uint32_t hdr[4] = {type, id, 0, len};

	rsp_put(hdr, 16);
	rsp_put(body, len);
}

/* xenstored's side: takes every whole request off the ring and answers it. */
static void backend(void)
{
	while (answering && page.req_prod - page.req_cons >= 16) {
		uint32_t hdr[4];
		char body[XS_PAYLOAD_MAX + 1];

		for (uint32_t i = 0; i < 16; i++)
			((char *)hdr)[i] = page.req[(page.req_cons + i) & (RING - 1)];
		if (page.req_prod - page.req_cons < 16 + hdr[3])
			return;
		for (uint32_t i = 0; i < hdr[3]; i++)
			body[i] = page.req[(page.req_cons + 16 + i) & (RING - 1)];
		body[hdr[3]] = '\0';
		page.req_cons += 16 + hdr[3];
		if (hdr[0] == XS_READ) {
			reads++;
			if (strcmp(body, store_key))
				reply(XS_ERROR, hdr[1], "ENOENT", 7);
			else
				reply(XS_READ, hdr[1], store_val, (uint32_t)strlen(store_val));
		} else if (hdr[0] == XS_WRITE) {
			size_t kl = strlen(body);

			writes++;
			snprintf(store_key, sizeof(store_key), "%.63s", body);
			snprintf(store_val, sizeof(store_val), "%.*s", (int)(hdr[3] - kl - 1),
			         body + kl + 1);
			reply(XS_WRITE, hdr[1], "OK", 3);
		} else if (hdr[0] == XS_WATCH) {
			watches++;
			reply(XS_WATCH, hdr[1], "OK", 3);
		}
	}
}

long uk_xen_hypercall(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a3;
	if (nr == XEN_HC_EVENT_CHANNEL_OP && a1 == XEN_EVTCHNOP_SEND) {
		if (*(uint32_t *)(uintptr_t)a2 != PORT)
			bad_ports++;
		backend();
	} else if (nr == XEN_HC_SCHED_OP && a1 == XEN_SCHEDOP_YIELD) {
		yields++;
	} else {
		return -38;
	}
	return 0;
}

static void reset(uint32_t start)
{
	memset(&page, 0, sizeof(page));
	page.req_cons = page.req_prod = page.rsp_cons = page.rsp_prod = start;
	uk_xs_attach(&page, PORT);
	yields = bad_ports = reads = writes = watches = 0;
	answering = 1;
}

int main(void)
{
	char buf[64], path[XS_PATH_MAX];
	struct uk_xs_msg m;
	static char out[XS_PAYLOAD_MAX + 1];

	/* Write, read back, a missing key: the values, XS_ERROR as -1, the right port. */
	reset(0);
	CHECK(uk_xs_write("control/shutdown", "poweroff") == 0, "write failed");
	CHECK(uk_xs_read("control/shutdown", buf, sizeof(buf)) == 8 && !strcmp(buf, "poweroff"),
	      "read '%s'", buf);
	CHECK(uk_xs_read("no/such", buf, sizeof(buf)) == -1, "a missing key read");
	CHECK(uk_xs_read("control/shutdown", buf, 4) == -1, "a value larger than the buffer fit");
	CHECK(bad_ports == 0 && reads == 3 && writes == 1, "ports %d reads %d", bad_ports, reads);

	/* Indexes past 2^32 and messages wrapping around the ring's end. */
	reset(0xffffff00u);
	for (int i = 0; i < 40; i++) {
		snprintf(buf, sizeof(buf), "value-%d", i);
		CHECK(uk_xs_write("control/shutdown", buf) == 0, "write %d", i);
		CHECK(uk_xs_read("control/shutdown", out, sizeof(out)) == (int)strlen(buf) &&
		              !strcmp(out, buf),
		      "round %d read '%s'", i, out);
	}

	/* A watch event arriving before the reply it interleaves with: recorded, taken once. */
	reset(0);
	CHECK(uk_xs_watch("control/shutdown", "tok") == 0 && watches == 1, "watch failed");
	CHECK(uk_xs_take_watch_event(path, sizeof(path)) == 0, "an event out of nowhere");
	reply(XS_WATCH_EVENT, 0, "control/shutdown\0tok", 21);
	CHECK(uk_xs_read("control/shutdown", buf, sizeof(buf)) >= 0, "read past the event");
	CHECK(uk_xs_take_watch_event(path, sizeof(path)) == 1 && !strcmp(path, "control/shutdown"),
	      "event '%s'", path);
	CHECK(uk_xs_take_watch_event(path, sizeof(path)) == 0, "the event taken twice");
	/* ... and one arriving while idle. */
	reply(XS_WATCH_EVENT, 0, "control/shutdown\0tok", 21);
	CHECK(uk_xs_take_watch_event(path, sizeof(path)) == 1, "idle event missed");

	/* Malformed watch event (no NUL inside the payload): ignored, the ring stays usable. */
	reply(XS_WATCH_EVENT, 0, "abc", 3);
	CHECK(uk_xs_take_watch_event(path, sizeof(path)) == 0, "a path without its NUL taken");
	CHECK(uk_xs_read("control/shutdown", buf, sizeof(buf)) >= 0, "ring unusable after it");

	/* A backend that never answers: the call gives up (bounded), it does not hang. */
	reset(0);
	answering = 0;
	CHECK(uk_xs_read("control/shutdown", buf, sizeof(buf)) == -1 && yields > 0,
	      "no answer: %d yields", yields);

	/* A header announcing more than XS_PAYLOAD_MAX, or more than the ring holds: -1, for good.
	 */
	reset(0);
	{
		uint32_t hdr[4] = {XS_READ, 1, 0, XS_PAYLOAD_MAX + 1};

		CHECK(uk_xs_parse_header(hdr, &m) == -1, "oversized length accepted");
		rsp_put(hdr, 16);
		CHECK(uk_xs_recv(&m, out) == -1, "oversized message taken");
		CHECK(uk_xs_read("control/shutdown", buf, sizeof(buf)) == -1, "a broken ring used");
	}
	reset(0);
	{
		uint32_t hdr[4] = {XS_READ, 1, 0, RING};

		rsp_put(hdr, 16);
		CHECK(uk_xs_recv(&m, out) == -1, "a message larger than the ring waited for");
	}
	/* Backend indexes out of range (prod more than a ring ahead of cons). */
	reset(0);
	page.rsp_prod = RING + 1;
	CHECK(uk_xs_recv(&m, out) == -1, "inconsistent indexes accepted");

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
