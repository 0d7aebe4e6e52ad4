/* The xen console's PV ring path on the host: runtime-lib's console_xen.c against a fake backend
 * (a page mapped where the console PFN says, hypercalls recorded), since no domU boots here. */
#include "platform/xen/xen.h"
#include "ukt_check.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define RING_PFN 0x7f000ULL /* below 4 GiB, as the guest requires */
#define RING_PORT 7
#define OUT_SIZE 2048

struct xencons {
	char in[1024];
	char out[OUT_SIZE];
	uint32_t in_cons, in_prod;
	uint32_t out_cons, out_prod;
};

static struct xencons *ring;
static uint64_t console_pfn = RING_PFN;
static int notifies, yields, console_io_calls, bad_ports;
static uint32_t backend_chunk; /* bytes the fake backend takes per notification; 0: stuck */
static char got[16384];
static size_t got_len;

/* The backend: xenconsoled's side of the ring, taking up to backend_chunk bytes. */
static void backend_read(void)
{
	uint32_t n = 0;

	while (ring->out_cons != ring->out_prod && n < backend_chunk && got_len < sizeof(got)) {
		got[got_len++] = ring->out[ring->out_cons & (OUT_SIZE - 1)];
		ring->out_cons++;
		n++;
	}
}

long uk_xen_hypercall(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	if (nr == XEN_HC_EVENT_CHANNEL_OP && a1 == XEN_EVTCHNOP_SEND) {
		notifies++;
		if (*(uint32_t *)(uintptr_t)a2 != RING_PORT)
			bad_ports++;
		backend_read();
	} else if (nr == XEN_HC_SCHED_OP && a1 == XEN_SCHEDOP_YIELD) {
		yields++;
	} else if (nr == XEN_HC_CONSOLE_IO && a1 == XEN_CONSOLEIO_WRITE) {
		console_io_calls++;
		memcpy(got + got_len, (const void *)(uintptr_t)a3, a2);
		got_len += a2;
	} else {
		return -38; /* -ENOSYS */
	}
	return 0;
}

uint64_t uk_xen_hvm_param(uint32_t index)
{
	if (index == XEN_HVM_PARAM_CONSOLE_PFN)
		return console_pfn;
	if (index == XEN_HVM_PARAM_CONSOLE_EVTCHN)
		return RING_PORT;
	return 0;
}

static void reset(uint32_t start_index, uint32_t chunk)
{
	memset(ring, 0, sizeof(*ring));
	ring->out_cons = ring->out_prod = start_index;
	notifies = yields = console_io_calls = bad_ports = 0;
	backend_chunk = chunk;
	got_len = 0;
}

static void pattern(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + i * 7 % 26);
}

int main(void)
{
	static char msg[5000];
	void *page = mmap((void *)(uintptr_t)(RING_PFN << 12), 4096, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (page != (void *)(uintptr_t)(RING_PFN << 12)) {
		printf("SKIP: cannot map the fake console page at 0x%llx (%s)\n", RING_PFN << 12,
		       strerror(errno));
		return 77;
	}
	ring = page;
	pattern(msg, sizeof(msg));

	/* A short write into a ring with room: the bytes, one notification, no console_io. */
	reset(0, OUT_SIZE);
	uk_xen_console_init(0);
	uk_xen_console_write(1, "hello\n", 6);
	CHECK(got_len == 6 && !memcmp(got, "hello\n", 6), "got %zu bytes", got_len);
	CHECK(notifies == 1 && console_io_calls == 0 && bad_ports == 0,
	      "notifies %d console_io %d bad ports %d", notifies, console_io_calls, bad_ports);

	/* More than the ring holds, the backend slower than the writer: every byte, in order. */
	reset(0, 100);
	uk_xen_console_write(1, msg, sizeof(msg));
	uk_xen_console_flush();
	CHECK(got_len == sizeof(msg) && !memcmp(got, msg, sizeof(msg)), "got %zu of %zu bytes",
	      got_len, sizeof(msg));
	CHECK(ring->out_prod == sizeof(msg), "out_prod %u", ring->out_prod);

	/* Indices are free-running 32-bit counters owned by the backend: wrapping past 2^32 works.
	 */
	reset(0xfffffff0u, 64);
	uk_xen_console_write(1, msg, 300);
	uk_xen_console_flush();
	CHECK(got_len == 300 && !memcmp(got, msg, 300), "got %zu of 300 bytes across the wrap",
	      got_len);
	CHECK(ring->out_prod == 0xfffffff0u + 300, "out_prod 0x%x", ring->out_prod);

	/* A backend that never reads: the writer gives up (bounded), the ring holds its first
	 * 2048 bytes, and flush returns too. */
	reset(0, 0);
	uk_xen_console_write(1, msg, 3000);
	uk_xen_console_flush();
	CHECK(ring->out_prod == OUT_SIZE && !memcmp(ring->out, msg, OUT_SIZE), "out_prod %u",
	      ring->out_prod);
	CHECK(yields > 0, "no yield while the ring was full");

	/* The exit path's line break: added only after a partial line. */
	reset(0, OUT_SIZE);
	uk_xen_console_write(1, "x", 1);
	uk_xen_console_end_line();
	uk_xen_console_write(1, "y\n", 2);
	uk_xen_console_end_line();
	CHECK(got_len == 4 && !memcmp(got, "x\ny\n", 4), "got '%.*s'", (int)got_len, got);

	/* dom0, or a domU without a console page: HYPERVISOR_console_io, the ring untouched. */
	for (int initdomain = 1; initdomain >= 0; initdomain--) {
		reset(0, OUT_SIZE);
		console_pfn = initdomain ? RING_PFN : 0;
		uk_xen_console_init(initdomain);
		uk_xen_console_write(1, "dom0\n", 5);
		CHECK(console_io_calls == 1 && notifies == 0 && ring->out_prod == 0,
		      "initdomain %d: console_io %d notifies %d", initdomain, console_io_calls,
		      notifies);
		CHECK(got_len == 5 && !memcmp(got, "dom0\n", 5), "got %zu bytes", got_len);
	}

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
