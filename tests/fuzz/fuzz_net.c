/* libFuzzer target: arbitrary frames, crafted TCP segments, clock jumps and app calls against
 * runtime-lib/net. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime-lib/net/net_internal.h"
#include "../../runtime-lib/drivers/virtio_net_hdr.h"

/* The platform functions the stack calls, for a host process. */
static uint64_t now_ns = 1000000000ull;
uint64_t uk_time_monotonic_ns(void)
{
	return now_ns;
}
uint64_t uk_time_block_until(uint64_t deadline)
{
	if (deadline > now_ns)
		now_ns = deadline;
	return now_ns;
}
/* net_core.c's console lines (a NIC's MAC not found): nothing to print to */
void uk_printk(const char *fmt, ...)
{
	(void)fmt;
}
uk_result_t uk_entropy_get(void *buf, size_t len)
{
	memset(buf, 0x5a, len);
	return UK_OK;
}

/* A wire: each side's frames queue for the other (bounded). */
#define QMAX 64
struct fwire {
	struct uk_netdev nd;
	struct fwire *peer;
	uint8_t q[QMAX][1514];
	uint16_t len[QMAX];
	int head, count;
};

static uk_result_t ftx(struct uk_netdev *dev, const void *f, size_t len)
{
	struct fwire *w = ((struct fwire *)dev->priv)->peer;
	if (len < 14 || len > 1514)
		__builtin_trap(); /* the stack never builds such a frame */
	if (w->count == QMAX)
		return UK_EAGAIN;
	int i = (w->head + w->count++) % QMAX;
	memcpy(w->q[i], f, len);
	w->len[i] = (uint16_t)len;
	return UK_OK;
}

static int frx(struct uk_netdev *dev, void *buf, size_t cap)
{
	struct fwire *w = dev->priv;
	if (!w->count)
		return 0;
	int i = w->head;
	w->head = (w->head + 1) % QMAX;
	w->count--;
	if (w->len[i] > cap)
		return 0;
	memcpy(buf, w->q[i], w->len[i]);
	return w->len[i];
}

static const struct uk_netdev_ops fops = {.tx = ftx, .rx = frx};
static struct fwire wa, wb;

#define IPA UK_IP4(10, 0, 2, 15)
#define IPB UK_IP4(10, 0, 2, 2)

static void settle(struct uk_net *a, struct uk_net *b)
{
	for (int i = 0; i < 64 && (wa.count || wb.count || i < 2); i++) {
		uk_net_step(a);
		uk_net_step(b);
	}
}

/*
 * MRG_RXBUF: a used ring of small buffers (so short inputs span several), made of (p): byte 0
 * picks the features (bit 0 no GUEST_TSO4, bit 1 no MRG_RXBUF) and a buffer whose used length
 * is a lie (bits 4-6, with bit 7), byte 1 how often the last chunk repeats (a long frame), then
 * a 12-byte header and the frame's bytes in GBUF-byte chunks. What the merge returns goes to
 * stack A as a frame, with A's MAC.
 */
#define GBUF 96u
struct gfeed {
	const uint8_t *p;
	size_t n, at;
	unsigned i, lie, reps;
	uint8_t chunk[GBUF];
};

static int gfeed_next(void *ctx, const uint8_t **p, uint32_t *len)
{
	struct gfeed *g = ctx;
	size_t k;

	if (g->at >= g->n) {
		if (!g->reps || !g->n)
			return 0;
		g->reps--;
		g->at = g->n - (g->n % GBUF ? g->n % GBUF : GBUF); /* the last chunk again */
	}
	k = g->n - g->at < GBUF ? g->n - g->at : GBUF;
	memcpy(g->chunk, g->p + g->at, k);
	g->at += k;
	*p = g->chunk;
	*len = (uint32_t)k;
	if (g->lie && g->i == (g->lie & 7))
		*len = GBUF + 1 + (g->lie >> 3);
	g->i++;
	return 1;
}

static void vnet_merged(struct uk_net *a, const uint8_t *p, size_t n)
{
	static uint8_t big[UK_NETDEV_GSO_MAX + 64];
	const size_t cap = UK_NETDEV_GSO_MAX + 4;
	struct uk_netdev_meta m;
	uint64_t feat = UK_VNET_F_GUEST_CSUM;
	struct gfeed g;
	int r;

	if (n < 2)
		return;
	if (!(p[0] & 1))
		feat |= UK_VNET_F_GUEST_TSO4;
	if (!(p[0] & 2))
		feat |= UK_VNET_F_MRG_RXBUF;
	memset(&g, 0, sizeof(g));
	g.p = p + 2;
	g.n = n - 2;
	g.lie = (p[0] & 0x80) ? (p[0] >> 4) & 7 : 0;
	g.reps = (unsigned)p[1] * 4;
	memset(big + cap, 0xee, sizeof(big) - cap);
	while ((r = uk_vnet_rx_gather(big, cap, 12, GBUF, feat, gfeed_next, &g, &m)) != 0) {
		for (size_t i = cap; i < sizeof(big); i++)
			if (big[i] != 0xee)
				__builtin_trap(); /* written past (cap) */
		if (r == -2)
			__builtin_trap(); /* gfeed never breaks the ring */
		if (r < 0)
			continue;
		if (r < 14 || (size_t)r > cap || (r > 1514 && !(m.flags & UK_NETDEV_M_GSO_TCPV4)))
			__builtin_trap(); /* a runt, or long without GSO */
		if ((m.flags & UK_NETDEV_M_GSO_TCPV4) && !(feat & UK_VNET_F_GUEST_TSO4))
			__builtin_trap();
		memcpy(big, wa.nd.mac, 6);
		a->rx_l4_ok = (m.flags & UK_NETDEV_M_L4_CSUM_OK) != 0;
		uk_net_input(a, big, (size_t)r);
		a->rx_l4_ok = 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uk_net_config ca = {IPA, 0xffffff00u, IPB, 0}, cb = {IPB, 0xffffff00u, 0, 0};
	struct uk_net *a, *b;
	struct uk_tcp *l, *c, *s = NULL;
	struct uk_udp *u;
	uint8_t f[1600], buf[2048];

	memset(&wa, 0, sizeof(wa));
	memset(&wb, 0, sizeof(wb));
	wa.peer = &wb;
	wb.peer = &wa;
	wa.nd.ops = wb.nd.ops = &fops;
	wa.nd.priv = &wa;
	wb.nd.priv = &wb;
	wa.nd.mtu = wb.nd.mtu = 1500;
	wa.nd.flags = UK_NETDEV_F_RX_GSO; /* A takes 64 KiB frames (vnet_merged) */
	memcpy(wa.nd.mac, "\x52\x54\x00\x12\x34\x56", 6);
	memcpy(wb.nd.mac, "\x52\x55\x0a\x00\x02\x02", 6);
	now_ns = 1000000000ull;
	a = uk_net_stack_new(&wa.nd, &ca);
	b = uk_net_stack_new(&wb.nd, &cb);
	uk_net_use(a);
	uk_net_set_secret(1);
	uk_net_set_limits(0, 0, 1u << 20);
	l = uk_tcp_listen(80, 4);
	u = uk_udp_open(53);
	uk_net_use(b);
	uk_net_set_secret(2);
	c = uk_tcp_connect(IPA, 80);
	settle(a, b);
	s = uk_tcp_accept(l);

	/* Records: kind, length, bytes. */
	while (size >= 2) {
		uint8_t kind = data[0];
		size_t n = data[1];
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		switch (kind & 7) {
		case 0: /* a raw frame to A, with A's MAC so it gets past Ethernet */
		case 1:
			memcpy(f, wa.nd.mac, 6);
			memcpy(f + 6, wb.nd.mac, 6);
			memcpy(f + 12, data, n);
			if (kind & 1 && n >= 2 + 20) { /* fix the IP header checksum */
				f[12] = 8;
				f[13] = 0;
				uint8_t *ip = f + 14;
				size_t hl = (size_t)(ip[0] & 15) * 4;
				if (hl >= 20 && 14 + hl <= 12 + n) {
					net_put16(ip + 10, 0);
					net_put16(ip + 10, net_csum_fold(net_csum_add(0, ip, hl)));
				}
			}
			uk_net_input(a, f, 12 + n);
			break;
		case 2: { /* a TCP segment on the established connection, valid checksums */
			if (n < 12 || !s)
				break;
			uint8_t *ip = f + 14, *t = ip + 20;
			size_t optlen = (data[10] & 7) * 4, plen = n - 12;
			if (optlen > plen)
				optlen = plen & ~3u;
			plen -= optlen;
			memcpy(f, wa.nd.mac, 6);
			memcpy(f + 6, wb.nd.mac, 6);
			f[12] = 8;
			f[13] = 0;
			memset(ip, 0, 20);
			ip[0] = 0x45;
			net_put16(ip + 2, (uint16_t)(40 + optlen + plen));
			ip[8] = 64;
			ip[9] = 6;
			net_put32(ip + 12, IPB);
			net_put32(ip + 16, IPA);
			net_put16(ip + 10, net_csum_fold(net_csum_add(0, ip, 20)));
			net_put16(t, s->rport);
			net_put16(t + 2, (data[11] & 0x80) ? (uint16_t)(data[11] * 7) : 80);
			net_put32(t + 4, s->rcv_nxt + (uint32_t)(int16_t)net_get16(data) * 8u);
			net_put32(t + 8, s->snd_una + (uint32_t)(int16_t)net_get16(data + 2));
			t[12] = (uint8_t)(((20 + optlen) / 4) << 4);
			t[13] = data[4];
			memcpy(t + 14, data + 5, 2);
			net_put16(t + 16, 0);
			memcpy(t + 18, data + 7, 2);
			memcpy(t + 20, data + 12, optlen + plen);
			net_put16(t + 16, net_csum_fold(net_csum_add(
			                          net_pseudo_sum(IPB, IPA, 6,
			                                         (uint16_t)(20 + optlen + plen)),
			                          t, 20 + optlen + plen)));
			uk_net_input(a, f, 54 + optlen + plen);
			break;
		}
		case 5: { /* a frame behind a virtio-net header: the driver's check, then the stack
			   * with the metadata the check gave (checksums vouched for or not) */
			struct uk_netdev_meta m;
			uint64_t feat;

			if (kind & 8) { /* in MRG_RXBUF buffers: the driver's merge first */
				vnet_merged(a, data, n);
				break;
			}
			if (n < 12 + 2)
				break;
			feat = (data[0] & 0x80) ? 0 : UK_VNET_F_GUEST_CSUM;
			memcpy(f, wa.nd.mac, 6);
			memcpy(f + 6, wb.nd.mac, 6);
			memcpy(f + 12, data + 12, n - 12);
			if (uk_vnet_hdr_rx(data, n, feat, &m) == 0) {
				if ((m.flags & UK_NETDEV_M_L4_CSUM_OK) && !feat)
					__builtin_trap(); /* vouched for without GUEST_CSUM */
				if (m.csum_start && (size_t)m.csum_start + m.csum_offset + 2 > n)
					__builtin_trap(); /* a partial checksum outside the frame */
				if (m.flags & UK_NETDEV_M_GSO_TCPV4)
					__builtin_trap(); /* GSO without GUEST_TSO4 */
				a->rx_l4_ok = (m.flags & UK_NETDEV_M_L4_CSUM_OK) != 0;
				uk_net_input(a, f, n);
				a->rx_l4_ok = 0;
			}
			break;
		}
		case 3: /* time passes */
			now_ns += (uint64_t)(n ? data[0] : 1) * 50000000ull;
			settle(a, b);
			break;
		case 4: /* the application acts */
			if (!n)
				break;
			switch (data[0] & 7) {
			case 0:
				if (s)
					uk_tcp_write(s, data, n);
				break;
			case 1:
				if (s)
					uk_tcp_read(s, buf, sizeof(buf));
				break;
			case 2:
				if (s)
					uk_tcp_shutdown(s);
				break;
			case 3:
				uk_tcp_close(s);
				s = NULL;
				break;
			case 4:
				uk_tcp_write(c, data, n);
				break;
			case 5: {
				struct uk_tcp *x = uk_tcp_accept(l);
				if (x)
					uk_tcp_close(x);
				break;
			}
			case 6:
				uk_udp_recvfrom(u, buf, sizeof(buf), NULL, NULL);
				break;
			case 7:
				uk_net_use(a);
				uk_udp_sendto(u, IPB, 9, data, n);
				break;
			}
			break;
		default: /* step A and let B answer */
			settle(a, b);
			break;
		}
		data += n;
		size -= n;
	}
	settle(a, b);
	if (a->mem_used > a->mem_limit)
		__builtin_trap();
	uk_net_stack_free(a);
	uk_net_stack_free(b);
	return 0;
}
