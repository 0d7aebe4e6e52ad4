/* The xen platform's console: HYPERVISOR_console_io for dom0, the PV console ring and its event
 * channel for a domU (one hypercall per write either way). */
#include "platform/xen/xen.h"

#define RING_OUT_SIZE 2048

/* struct xencons_interface: the shared console page. */
struct xencons {
	char in[1024];
	char out[RING_OUT_SIZE];
	uint32_t in_cons, in_prod;
	uint32_t out_cons, out_prod;
};

static enum { CONS_NONE, CONS_IO, CONS_RING } kind;
static volatile struct xencons *ring;
static uint32_t ring_port;
static char last = '\n'; /* the last byte written */

void uk_xen_console_init(int initdomain)
{
	uint64_t pfn;

	if (!initdomain && (pfn = uk_xen_hvm_param(XEN_HVM_PARAM_CONSOLE_PFN)) != 0 &&
	    pfn < (1ULL << 20)) { /* the ring must sit in the identity-mapped first 4 GiB */
		ring = (volatile struct xencons *)(uintptr_t)(pfn << 12);
		ring_port = (uint32_t)uk_xen_hvm_param(XEN_HVM_PARAM_CONSOLE_EVTCHN);
		kind = CONS_RING;
		return;
	}
	kind = CONS_IO; /* dom0, or a domU on a Xen that lets it (debug builds) */
}

void uk_xen_console_write(int fd, const char *buf, size_t len)
{
	(void)fd; /* stdout and stderr share the console */
	if (len)
		last = buf[len - 1];
	if (kind == CONS_RING) {
		uk_xen_ring_put(ring->out, RING_OUT_SIZE, &ring->out_cons, &ring->out_prod,
		                ring_port, buf, len);
		uk_xen_notify(ring_port);
	} else if (kind == CONS_IO)
		uk_xen_hypercall(XEN_HC_CONSOLE_IO, XEN_CONSOLEIO_WRITE, len, (uintptr_t)buf);
}

void uk_xen_console_end_line(void)
{
	if (last != '\n')
		uk_xen_console_write(2, "\n", 1);
}

void uk_xen_console_flush(void)
{
	int spins = 0;

	if (kind != CONS_RING)
		return;
	while (ring->out_cons != ring->out_prod && ++spins < XEN_RING_SPINS) {
		uk_xen_notify(ring_port);
		uk_xen_hypercall(XEN_HC_SCHED_OP, XEN_SCHEDOP_YIELD, 0, 0);
	}
}
