/* virtio-net driver: one rx and one tx split virtqueue behind the uk_netdev interface. */
#include "drivers/virtio.h"
#include "drivers/virtio_net_hdr.h"
#include <stdlib.h>
#include <string.h>
#include <uk/uk.h>
#include <uk/internal.h>
#include <uk/netdev.h>

#define BUF_SIZE 2048u /* one frame with its header per buffer: 12 + 1514 fits */
#define RX_MAX 256u
#define TX_MAX 128u
#define HDR_MODERN 12u /* struct virtio_net_hdr with num_buffers (VERSION_1 or MRG_RXBUF) */
#define HDR_LEGACY 10u /* without MRG_RXBUF a legacy device omits num_buffers */
#define TX_BIG 4u      /* buffers for frames the device cuts (HOST_TSO4): 64 KiB each */
#define BIG_SIZE (HDR_MODERN + UK_NETDEV_GSO_MAX)
#define RX_KICK_BATCH 16u
#define TX_KICK_BATCH 32u /* frames held back before a notification inside a poll step */
#define RXQ 0
#define TXQ 1

/*
 * The stack links this driver in: uk_netdev_register lives in libuk-net.a.
 * Weak, so an image without the stack neither links the stack nor spends
 * memory on receive buffers: the NIC is left untouched.
 */
uk_result_t uk_netdev_register(struct uk_netdev *dev) __attribute__((weak));

struct vnet {
	struct uk_netdev nd;
	struct uk_virtio_dev *dev;
	struct uk_virtq rxq, txq;
	uint8_t *rxbuf, *txbuf;
	uint16_t tx_free[TX_MAX];
	uint16_t ntx_free;
	uint8_t *txbig[TX_BIG];    /* HOST_TSO4 only */
	uint8_t tx_big_of[TX_MAX]; /* the big buffer descriptor id holds (1 + index), 0 none */
	uint8_t big_used;          /* bit i: txbig[i] is with the device */
	uint32_t hdr;
	uint8_t rx_quiet; /* rx interrupts suppressed (NO_INTERRUPT) while we drain the ring */
	char name[16];
};

static int nnet;

int uk_virtio_net_wanted(void)
{
	return uk_netdev_register != NULL;
}

static void tx_reclaim(struct vnet *v)
{
	uint16_t id;
	uint32_t len;

	while (uk_virtq_take(&v->txq, &id, &len))
		if (id < v->txq.size && v->ntx_free < v->txq.size) {
			if (v->tx_big_of[id]) { /* the descriptor goes back to its own buffer */
				v->big_used &= (uint8_t) ~(1u << (v->tx_big_of[id] - 1));
				v->tx_big_of[id] = 0;
				v->txq.desc[id].addr =
				        (uintptr_t)(v->txbuf + (size_t)id * BUF_SIZE);
			}
			v->tx_free[v->ntx_free++] = id;
		}
}

/* A free big buffer's index, or -1. */
static int big_free(const struct vnet *v)
{
	for (unsigned i = 0; i < TX_BIG; i++)
		if (v->txbig[i] && !(v->big_used & (1u << i)))
			return (int)i;
	return -1;
}

/* Queues a frame; the notification waits for (flush) or a full batch (the stack flushes at
 * the end of each poll step, and at once outside one). */
static uk_result_t vnet_tx_meta(struct uk_netdev *nd, const void *frame, size_t len,
                                const struct uk_netdev_meta *m)
{
	struct vnet *v = nd->priv;
	int gso = m && (m->flags & UK_NETDEV_M_GSO_TCPV4), big = -1;
	uint16_t id;
	uint8_t *b;

	if (len < 14 || (!gso && len > (size_t)(nd->mtu ? nd->mtu : 1500) + 14) ||
	    (!gso && len + v->hdr > BUF_SIZE) || len > UK_NETDEV_GSO_MAX)
		return UK_EINVAL;
	if (m && (m->flags & UK_NETDEV_M_CSUM_PARTIAL) &&
	    (!(v->dev->features & UK_VNET_F_CSUM) ||
	     (size_t)m->csum_start + m->csum_offset + 2 > len))
		return UK_EINVAL;
	if (gso && (!(v->dev->features & UK_VNET_F_HOST_TSO4) || !m->gso_size ||
	            !(m->flags & UK_NETDEV_M_CSUM_PARTIAL)))
		return UK_EINVAL;
	if (v->ntx_free < TX_KICK_BATCH) {
		/* Running low: what is held back goes now, so it can come back in time. */
		uk_virtq_kick(v->dev, &v->txq);
		tx_reclaim(v);
	}
	if (len + v->hdr > BUF_SIZE && (big = big_free(v)) < 0) {
		uk_virtq_kick(v->dev, &v->txq);
		tx_reclaim(v);
		big = big_free(v);
	}
	if (!v->ntx_free || (len + v->hdr > BUF_SIZE && big < 0))
		return UK_EAGAIN;
	id = v->tx_free[--v->ntx_free];
	b = v->txbuf + (size_t)id * BUF_SIZE;
	if (big >= 0) { /* a frame the device cuts: the descriptor points at a big buffer */
		b = v->txbig[big];
		v->big_used |= (uint8_t)(1u << big);
		v->tx_big_of[id] = (uint8_t)(big + 1);
		v->txq.desc[id].addr = (uintptr_t)b;
	}
	uk_vnet_hdr_tx(b, v->hdr, m);
	memcpy(b + v->hdr, frame, len);
	v->txq.desc[id].len = (uint32_t)(v->hdr + len);
	uk_virtq_post(&v->txq, id);
	if (v->txq.pending >= TX_KICK_BATCH)
		uk_virtq_kick(v->dev, &v->txq);
	return UK_OK;
}

static uk_result_t vnet_tx(struct uk_netdev *nd, const void *frame, size_t len)
{
	struct vnet *v = nd->priv;
	uk_result_t r = vnet_tx_meta(nd, frame, len, NULL);

	uk_virtq_kick(v->dev, &v->txq); /* (tx) sends at once (uk/netdev.h) */
	return r;
}

static void vnet_flush(struct uk_netdev *nd)
{
	struct vnet *v = nd->priv;

	uk_virtq_kick(v->dev, &v->txq);
}

static unsigned vnet_tx_pending(struct uk_netdev *nd)
{
	struct vnet *v = nd->priv;

	uk_virtq_kick(v->dev, &v->txq); /* none held back unseen */
	tx_reclaim(v);
	return (unsigned)(v->txq.size - v->ntx_free);
}

static void rx_irq(struct vnet *v, int on)
{
	v->rx_quiet = (uint8_t)!on;
	uk_virtq_irq(&v->rxq, on);
}

/* The used buffers of the frame being gathered: posted back once it is copied. */
struct rx_take {
	struct vnet *v;
	uint16_t ids[UK_VNET_RX_BUFS_MAX];
	uint32_t n;
};

static int rx_next(void *ctx, const uint8_t **p, uint32_t *len)
{
	struct rx_take *t = ctx;
	uint16_t id;

	if (t->n == UK_VNET_RX_BUFS_MAX || !uk_virtq_take(&t->v->rxq, &id, len))
		return 0;
	if (id >= t->v->rxq.size)
		return -1; /* the device broke the ring's contract */
	t->ids[t->n++] = id;
	*p = t->v->rxbuf + (size_t)id * BUF_SIZE;
	return 1;
}

/*
 * Takes the next good frame. While frames come, the device is asked not to interrupt (each
 * one costs an exit and a handler under TCG): the stack is reading the ring anyway. Before
 * saying "nothing more" the interrupt is asked for again and the ring read once more, so a
 * frame that came in between is not left without a wake-up. With MRG_RXBUF a frame spans
 * num_buffers buffers (GUEST_TSO4: up to 64 KiB in 2 KiB ones).
 */
static int vnet_rx_meta(struct uk_netdev *nd, void *buf, size_t cap, struct uk_netdev_meta *m)
{
	struct vnet *v = nd->priv;
	struct rx_take t = {.v = v};
	int got = 0, r;

	for (;;) {
		while (!got) {
			t.n = 0;
			r = uk_vnet_rx_gather(buf, cap, v->hdr, BUF_SIZE, v->dev->features, rx_next,
			                      &t, m);
			for (uint32_t i = 0; i < t.n; i++)
				uk_virtq_post(&v->rxq, t.ids[i]);
			if (r == -2)
				return UK_EUNSPEC;
			if (r == 0)
				break;
			if (r > 0)
				got = r;
			else
				nd->rx_bad_hdr++; /* dropped, as the contract says */
		}
		if (got) {
			if (!v->rx_quiet)
				rx_irq(v, 0);
			break;
		}
		/* Hand buffers back in batches, and always before saying "nothing more". */
		uk_virtq_kick(v->dev, &v->rxq);
		if (!v->rx_quiet)
			break;
		rx_irq(v, 1);
		__asm__ volatile("mfence" ::: "memory"); /* the flag before we look again */
		if (*(volatile uint16_t *)&v->rxq.used->idx == v->rxq.used_seen)
			break;
		rx_irq(v, 0);
	}
	if (got && v->rxq.pending >= RX_KICK_BATCH)
		uk_virtq_kick(v->dev, &v->rxq);
	if (v->ntx_free < v->txq.size / 2)
		tx_reclaim(v);
	return got;
}

static int vnet_rx(struct uk_netdev *nd, void *buf, size_t cap)
{
	struct uk_netdev_meta m;

	return vnet_rx_meta(nd, buf, cap, &m);
}

static const struct uk_netdev_ops vnet_ops = {
        .tx = vnet_tx,
        .rx = vnet_rx,
        .tx_meta = vnet_tx_meta,
        .rx_meta = vnet_rx_meta,
        .flush = vnet_flush,
        .tx_pending = vnet_tx_pending,
};

/*
 * (f) without the features whose prerequisite (virtio 1.0 5.1.3.1) is missing: HOST_TSO4 needs
 * CSUM; GUEST_TSO4 needs GUEST_CSUM, and here MRG_RXBUF too (our buffers are 2 KiB); MRG_RXBUF
 * only with GUEST_TSO4 (else every frame fits one buffer, and slirp stays as it was).
 */
static uint64_t vnet_want(uint64_t f)
{
	if (!(f & UK_VNET_F_CSUM))
		f &= ~UK_VNET_F_HOST_TSO4;
	if (!(f & UK_VNET_F_GUEST_CSUM) || !(f & UK_VNET_F_MRG_RXBUF))
		f &= ~UK_VNET_F_GUEST_TSO4;
	if (!(f & UK_VNET_F_GUEST_TSO4))
		f &= ~UK_VNET_F_MRG_RXBUF;
	return f;
}

int uk_virtio_net_probe(struct uk_virtio_dev *dev)
{
	struct vnet *v;
	uint16_t i;

	if (!uk_netdev_register)
		return -1; /* no stack linked in */
	v = calloc(1, sizeof(*v));
	if (!v)
		return -1;
	v->dev = dev;
	/* Checksum offload and TSO both ways: QEMU offers them only with a peer that takes the
	 * virtio-net header (a tap), never with slirp, so there the stack sums and cuts in
	 * software as before. */
	if (uk_virtio_negotiate(dev, vnet_want(UK_VNET_F_MAC | UK_VNET_F_CSUM |
	                                       UK_VNET_F_GUEST_CSUM | UK_VNET_F_HOST_TSO4 |
	                                       UK_VNET_F_GUEST_TSO4 | UK_VNET_F_MRG_RXBUF) |
	                                     uk_virtio_event_idx_want()))
		goto fail;
	if (vnet_want(dev->features) != dev->features &&
	    uk_virtio_negotiate(dev, vnet_want(dev->features))) /* again, without the orphans */
		goto fail;
	v->hdr = dev->transport == UK_VIRTIO_MMIO_LEGACY && !(dev->features & UK_VNET_F_MRG_RXBUF)
	                 ? HDR_LEGACY
	                 : HDR_MODERN;
	uk_virtio_irq_setup(dev); /* without an interrupt the stack polls every millisecond */
	if (uk_virtio_queue_init(dev, &v->rxq, RXQ, RX_MAX, 0) ||
	    uk_virtio_queue_init(dev, &v->txq, TXQ, TX_MAX, -1))
		goto fail;
	v->rxbuf = aligned_alloc(4096, (size_t)v->rxq.size * BUF_SIZE);
	v->txbuf = aligned_alloc(4096, (size_t)v->txq.size * BUF_SIZE);
	if (!v->rxbuf || !v->txbuf)
		goto fail;
	for (i = 0; i < TX_BIG && (dev->features & UK_VNET_F_HOST_TSO4); i++)
		if (!(v->txbig[i] = aligned_alloc(4096, (BIG_SIZE + 4095) & ~4095u)))
			goto fail;
	for (i = 0; i < v->rxq.size; i++) {
		v->rxq.desc[i].addr = (uintptr_t)(v->rxbuf + (size_t)i * BUF_SIZE);
		v->rxq.desc[i].len = BUF_SIZE;
		v->rxq.desc[i].flags = UK_VIRTQ_DESC_F_WRITE;
		uk_virtq_post(&v->rxq, i);
	}
	for (i = 0; i < v->txq.size; i++) {
		v->txq.desc[i].addr = (uintptr_t)(v->txbuf + (size_t)i * BUF_SIZE);
		v->tx_free[v->ntx_free++] = (uint16_t)(v->txq.size - 1 - i);
	}
	/* We reclaim tx buffers when we need them: no interrupt for them. */
	uk_virtq_irq(&v->txq, 0);
	if (dev->features & UK_VNET_F_MAC) {
		uk_virtio_config_read(dev, 0, v->nd.mac, 6);
	} else {
		uk_entropy_get(v->nd.mac, 6);
		v->nd.mac[0] =
		        (uint8_t)((v->nd.mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
	}
	uk_virtio_driver_ok(dev);
	uk_virtq_kick(dev, &v->rxq);
	memcpy(v->name, "virtio-net0", 12);
	v->name[10] = (char)('0' + nnet++ % 10);
	v->nd.ops = &vnet_ops;
	v->nd.mtu = 1500;
	v->nd.name = v->name;
	v->nd.flags = (dev->vector ? UK_NETDEV_F_IRQ : 0) |
	              (dev->features & UK_VNET_F_CSUM ? UK_NETDEV_F_TX_CSUM : 0) |
	              (dev->features & UK_VNET_F_HOST_TSO4 ? UK_NETDEV_F_TSO4 : 0) |
	              (dev->features & UK_VNET_F_GUEST_TSO4 ? UK_NETDEV_F_RX_GSO : 0);
	v->nd.priv = v;
	if (uk_netdev_register(&v->nd) != UK_OK)
		goto fail;
	return 0;
fail:
	/* Almost always memory: say how much there is, so "no NIC" is not the guess. */
	uk_printk("virtio-net: %s: could not start the device (heap: %zu KiB free of %zu KiB; "
	          "give the guest more memory?)\n",
	          dev->where, (uk_heap_total() - uk_heap_used()) / 1024, uk_heap_total() / 1024);
	free(v->rxbuf);
	free(v->txbuf);
	for (i = 0; i < TX_BIG; i++)
		free(v->txbig[i]);
	free(v); /* the rings stay allocated: the device may still hold their addresses */
	return -1;
}
