/* netfront: Xen's PV NIC (device/vif/0) behind uk_netdev: one TX and one RX ring shared with the
 * backend through grants, copy mode (the backend copies into our granted RX pages). */
#include "platform/xen/xen.h"
#include <uk/netdev.h>
#include <uk/uk.h>
#include <uk/internal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096
#define NF_TX 32    /* TX buffers (a page each, granted read-only) */
#define NF_RX 64    /* RX buffers (a page each, granted writable, always posted) */
#define TX_RING 256 /* (4096 - 64) / 12 entries, rounded down to a power of two */
#define RX_RING 256 /* (4096 - 64) / 8 */
#define RXF_MORE 4  /* NETRXF_more_data */
#define RXF_EXTRA 8 /* NETRXF_extra_info */
#define CONNECT_WAIT_NS 10000000000ULL
#define CLOSE_WAIT_NS 2000000000ULL
#define VIF "device/vif/0"

/*
 * The stack links this driver in: uk_netdev_register lives in libuk-net.a. Weak, so an image
 * without the stack spends nothing on it.
 */
uk_result_t uk_netdev_register(struct uk_netdev *dev) __attribute__((weak));

struct tx_req {
	uint32_t gref;
	uint16_t offset, flags, id, size;
};
struct tx_rsp {
	uint16_t id;
	int16_t status;
};
struct rx_req {
	uint16_t id, pad;
	uint32_t gref;
};
struct rx_rsp {
	uint16_t id, offset, flags;
	int16_t status;
};

struct tx_sring {
	struct uk_xen_sring_hdr h;
	union {
		struct tx_req req;
		struct tx_rsp rsp;
	} e[TX_RING];
};
struct rx_sring {
	struct uk_xen_sring_hdr h;
	union {
		struct rx_req req;
		struct rx_rsp rsp;
	} e[RX_RING];
};

_Static_assert(sizeof(struct uk_xen_sring_hdr) == 64 && sizeof(struct tx_req) == 12 &&
                       sizeof(struct rx_rsp) == 8 && sizeof(struct tx_sring) <= PAGE &&
                       sizeof(struct rx_sring) <= PAGE,
               "netif ring layout");

/* The ring pages and buffers: allocated at connect time (an image booted on QEMU spends nothing).
 */
static volatile struct tx_sring *txs;
static volatile struct rx_sring *rxs;
static uint8_t (*txbuf)[PAGE], (*rxbuf)[PAGE];
static uint32_t tx_gref[NF_TX], rx_gref[NF_RX], ring_gref[2];
static char be[128]; /* the backend's xenstore directory */
static uint16_t tx_free[NF_TX], ntx_free;
static uint32_t tx_prod, tx_cons, rx_prod, rx_cons, port;
static struct uk_netdev nf_dev;

static void rx_post(uint16_t id)
{
	volatile struct rx_req *r = &rxs->e[rx_prod & (RX_RING - 1)].req;

	r->id = id;
	r->gref = rx_gref[id];
	rx_prod++;
}

static void tx_reclaim(void)
{
	uint32_t prod = txs->h.rsp_prod;

	__asm__ volatile("" ::: "memory");
	for (; tx_cons != prod; tx_cons++) {
		uint16_t id = txs->e[tx_cons & (TX_RING - 1)].rsp.id;

		if (id < NF_TX && ntx_free < NF_TX)
			tx_free[ntx_free++] = id;
	}
}

static uk_result_t nf_tx(struct uk_netdev *nd, const void *frame, size_t len)
{
	volatile struct tx_req *r;
	uint16_t id;

	if (len < UK_NETDEV_ETH_HLEN || len > (size_t)nd->mtu + UK_NETDEV_ETH_HLEN)
		return UK_EINVAL;
	tx_reclaim();
	if (!ntx_free)
		return UK_EAGAIN;
	id = tx_free[--ntx_free];
	memcpy(txbuf[id], frame, len);
	r = &txs->e[tx_prod & (TX_RING - 1)].req;
	r->gref = tx_gref[id];
	r->offset = 0;
	r->flags = 0; /* checksums are complete: the stack computes them */
	r->id = id;
	r->size = (uint16_t)len;
	tx_prod++;
	uk_xen_ring_push(&txs->h, tx_prod, port);
	return UK_OK;
}

static int nf_rx(struct uk_netdev *nd, void *buf, size_t cap)
{
	(void)nd;
	for (;;) {
		uint32_t prod = rxs->h.rsp_prod;
		struct rx_rsp rsp;
		int len = 0;

		__asm__ volatile("" ::: "memory");
		if (rx_cons == prod) {
			/* Ask for an event on the next response, then look once more (no lost
			 * wakeup). */
			rxs->h.rsp_event = rx_cons + 1;
			__sync_synchronize();
			if (rx_cons == rxs->h.rsp_prod)
				return 0;
			continue;
		}
		rsp.id = rxs->e[rx_cons & (RX_RING - 1)].rsp.id;
		rsp.offset = rxs->e[rx_cons & (RX_RING - 1)].rsp.offset;
		rsp.flags = rxs->e[rx_cons & (RX_RING - 1)].rsp.flags;
		rsp.status = rxs->e[rx_cons & (RX_RING - 1)].rsp.status;
		rx_cons++;
		if (rsp.id >= NF_RX)
			continue; /* not ours: the backend is confused; its buffer is lost */
		/* Single-slot frames only (no feature-sg, no GSO): anything else is dropped. */
		if (rsp.status > 0 && !(rsp.flags & (RXF_MORE | RXF_EXTRA)) &&
		    (size_t)rsp.offset + (size_t)rsp.status <= PAGE && (size_t)rsp.status <= cap) {
			memcpy(buf, rxbuf[rsp.id] + rsp.offset, (size_t)rsp.status);
			len = rsp.status;
		}
		rx_post(rsp.id);
		uk_xen_ring_push(&rxs->h, rx_prod, port);
		if (len)
			return len;
	}
}

static const struct uk_netdev_ops nf_ops = {.tx = nf_tx, .rx = nf_rx};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "aa:bb:cc:dd:ee:ff" into (mac); 0 or -1. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	int i;

	for (i = 0; i < 6; i++, s += 3) {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);

		if (lo < 0 || (i < 5 ? s[2] != ':' : s[2] != '\0'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/*
 * At exit() (an atexit handler registered before main, so it runs after the app's): Closing, the
 * backend follows and lets go of our pages, then Closed, and every grant is ended. Bounded.
 */
static void nf_close(void)
{
	int i;

	if (uk_xenbus_write_u32(VIF, "state", XENBUS_CLOSING))
		return;
	uk_xenbus_wait_state(be, XENBUS_CLOSING, CLOSE_WAIT_NS);
	uk_xenbus_write_u32(VIF, "state", XENBUS_CLOSED);
	for (i = 0; i < NF_TX; i++)
		uk_xen_grant_end((int)tx_gref[i]);
	for (i = 0; i < NF_RX; i++)
		uk_xen_grant_end((int)rx_gref[i]);
	uk_xen_grant_end((int)ring_gref[0]);
	uk_xen_grant_end((int)ring_gref[1]);
}

void uk_xen_netfront_init(void)
{
	char v[64];
	uint8_t *pages;
	uint16_t domid;
	uint64_t id;
	int i, g, st;

	if (!uk_netdev_register || uk_xenbus_read_u64(VIF, "backend-id", &id) < 0)
		return; /* no stack linked, or no vif given to this domain */
	domid = (uint16_t)id;
	if (uk_xs_read(VIF "/backend", be, sizeof(be)) < 0 ||
	    uk_xs_read(VIF "/mac", v, sizeof(v)) < 0 || parse_mac(v, nf_dev.mac) < 0) {
		uk_printk("netfront: device/vif/0 lacks its backend or a valid mac: no network\n");
		return;
	}
	/* One block: the TX ring page, the RX ring page, then the TX and RX buffers. */
	pages = aligned_alloc(PAGE, (size_t)(2 + NF_TX + NF_RX) * PAGE);
	if (!pages) {
		uk_printk("netfront: no memory for its rings and buffers: no network\n");
		return;
	}
	memset(pages, 0, 2 * PAGE);
	txs = (volatile struct tx_sring *)pages;
	rxs = (volatile struct rx_sring *)(pages + PAGE);
	txbuf = (uint8_t(*)[PAGE])(pages + 2 * PAGE);
	rxbuf = txbuf + NF_TX;
	txs->h.req_event = txs->h.rsp_event = 1;
	rxs->h.req_event = rxs->h.rsp_event = 1;
	for (i = 0; i < NF_TX; i++) {
		if ((g = uk_xen_grant(domid, (uintptr_t)txbuf[i], 1)) < 0)
			goto no_grant;
		tx_gref[i] = (uint32_t)g;
		tx_free[ntx_free++] = (uint16_t)i;
	}
	for (i = 0; i < NF_RX; i++) {
		if ((g = uk_xen_grant(domid, (uintptr_t)rxbuf[i], 0)) < 0)
			goto no_grant;
		rx_gref[i] = (uint32_t)g;
		rx_post((uint16_t)i);
	}
	rxs->h.req_prod = rx_prod;
	if ((g = uk_xen_grant(domid, (uintptr_t)txs, 0)) < 0 ||
	    uk_xenbus_write_u32(VIF, "tx-ring-ref", ring_gref[0] = (uint32_t)g) ||
	    (g = uk_xen_grant(domid, (uintptr_t)rxs, 0)) < 0 ||
	    uk_xenbus_write_u32(VIF, "rx-ring-ref", ring_gref[1] = (uint32_t)g))
		goto no_grant;
	if (uk_xen_evtchn_alloc_unbound(domid, &port) < 0 ||
	    uk_xenbus_write_u32(VIF, "event-channel", port) ||
	    uk_xenbus_write_u32(VIF, "request-rx-copy", 1) ||
	    uk_xenbus_write_u32(VIF, "feature-rx-notify", 1) ||
	    uk_xenbus_write_u32(VIF, "feature-no-csum-offload", 1) ||
	    uk_xenbus_write_u32(VIF, "state", 4)) {
		uk_printk(
		        "netfront: cannot publish device/vif/0's rings in xenstore: no network\n");
		return;
	}
	/* Wait (bounded) for the backend to connect (XenbusStateConnected). */
	st = uk_xenbus_wait_state(be, XENBUS_CONNECTED, CONNECT_WAIT_NS);
	if (st != XENBUS_CONNECTED) {
		uk_printk("netfront: backend %s did not connect (state %d): no network\n", be, st);
		return;
	}
	uk_xen_notify(port);
	nf_dev.ops = &nf_ops;
	nf_dev.mtu = UK_NETDEV_MTU_DEFAULT;
	nf_dev.name = "netfront0";
	nf_dev.flags = UK_NETDEV_F_IRQ; /* the event upcall wakes the idle wait */
	uk_netdev_register(&nf_dev);
	atexit(nf_close);
	return;
no_grant:
	uk_printk("netfront: granting the backend its pages failed: no network\n");
}
