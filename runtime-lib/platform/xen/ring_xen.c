/* Writing into a Xen shared ring (console, xenstore): free-running 32-bit indexes, the writer
 * waits (bounded) for room by notifying the backend and yielding. */
#include "platform/xen/xen.h"

int uk_xen_ring_put(volatile char *data, uint32_t size, volatile uint32_t *cons,
                    volatile uint32_t *prod, uint32_t port, const void *src, size_t n)
{
	const char *p = src;
	uint32_t spins = 0;

	while (n) {
		uint32_t c = *cons, pr = *prod, room;

		__asm__ volatile("" ::: "memory");
		if (pr - c > size)
			return -1; /* the backend's index is out of range */
		room = size - (pr - c);
		if (!room) {
			/* Full: wake the backend and give it the CPU, a bounded number of times. */
			uk_xen_notify(port);
			uk_xen_hypercall(XEN_HC_SCHED_OP, XEN_SCHEDOP_YIELD, 0, 0);
			if (++spins > XEN_RING_SPINS)
				return -1;
			continue;
		}
		for (; room && n; room--, n--, pr++)
			data[pr & (size - 1)] = *p++;
		__asm__ volatile(
		        "" ::
		                : "memory"); /* x86 keeps store order: data before the index */
		*prod = pr;
	}
	return 0;
}

void uk_xen_notify(uint32_t port)
{
	uk_xen_hypercall(XEN_HC_EVENT_CHANNEL_OP, XEN_EVTCHNOP_SEND, (uintptr_t)&port, 0);
}

void uk_xen_ring_push(volatile struct uk_xen_sring_hdr *h, uint32_t prod, uint32_t port)
{
	uint32_t old = h->req_prod;

	/* The entries before the index (x86 keeps store order). */
	__asm__ volatile("" ::: "memory");
	h->req_prod = prod;
	__sync_synchronize(); /* the index before reading req_event */
	if ((uint32_t)(prod - h->req_event) < (uint32_t)(prod - old))
		uk_xen_notify(port);
}
