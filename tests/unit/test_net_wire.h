/* Test harness for runtime-lib/net: two stacks on an in-memory wire with a fake clock, ukt_ names.
 */
#ifndef TEST_NET_WIRE_H
#define TEST_NET_WIRE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The stack's functions carry the ukt_ prefix in libukt_uk_net.a. */
#define uk_netdev_register ukt_uk_netdev_register
#define uk_netdev_first ukt_uk_netdev_first
#define uk_netdev_next ukt_uk_netdev_next
#define uk_net_init ukt_uk_net_init
#define uk_net_configure_from_options ukt_uk_net_configure_from_options
#define uk_net_parse_config ukt_uk_net_parse_config
#define uk_net_ready ukt_uk_net_ready
#define uk_net_address ukt_uk_net_address
#define uk_net_poll ukt_uk_net_poll
#define uk_tcp_listen ukt_uk_tcp_listen
#define uk_tcp_accept ukt_uk_tcp_accept
#define uk_tcp_connect ukt_uk_tcp_connect
#define uk_tcp_read ukt_uk_tcp_read
#define uk_tcp_write ukt_uk_tcp_write
#define uk_tcp_shutdown ukt_uk_tcp_shutdown
#define uk_tcp_close ukt_uk_tcp_close
#define uk_tcp_abort ukt_uk_tcp_abort
#define uk_tcp_events ukt_uk_tcp_events
#define uk_tcp_state ukt_uk_tcp_state
#define uk_tcp_peer ukt_uk_tcp_peer
#define uk_tcp_set_callback ukt_uk_tcp_set_callback
#define uk_udp_open ukt_uk_udp_open
#define uk_udp_sendto ukt_uk_udp_sendto
#define uk_udp_recvfrom ukt_uk_udp_recvfrom
#define uk_udp_readable ukt_uk_udp_readable
#define uk_udp_close ukt_uk_udp_close
#define uk_net_get_stats ukt_uk_net_get_stats
#define uk_net_stack_new ukt_uk_net_stack_new
#define uk_net_stack_free ukt_uk_net_stack_free
#define uk_net_use ukt_uk_net_use
#define uk_net_set_clock ukt_uk_net_set_clock
#define uk_net_set_limits ukt_uk_net_set_limits
#define uk_net_set_secret ukt_uk_net_set_secret
#define uk_net_input ukt_uk_net_input
#define uk_net_step ukt_uk_net_step
#define uk_net_ping ukt_uk_net_ping
#define uk_net_ping_replies ukt_uk_net_ping_replies
#define uk_net_arp_resolved ukt_uk_net_arp_resolved
#define uk_net_cur ukt_uk_net_cur
#define net_csum_add ukt_net_csum_add
#define net_csum_fold ukt_net_csum_fold
#define net_pseudo_sum ukt_net_pseudo_sum
#define net_csum_complete ukt_net_csum_complete
#define environ ukt_environ

#include "../../runtime-lib/net/net_internal.h"
#include "ukt_platform_stub.h"

void ukt_uk_heap_add(void *base, size_t len);

#include "ukt_check.h"

static int finish(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

/* Gives the runtime's malloc (which the stack uses) a big lazily-mapped heap. */
static void heap_init(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(77);
	}
	ukt_uk_heap_add(p, bytes);
}

/* --- the fake clock --- */

static uint64_t fake_now = 1000000000ull;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* --- the wire: each device's tx lands in its peer's rx queue --- */

#define WIRE_QMAX 8192

struct wire_frame {
	uint16_t len;
	uint8_t partial; /* sent with its TCP/UDP checksum left partial (tx_meta) */
	struct uk_netdev_meta m;
	uint8_t *big; /* a frame longer than (data) (a TSO frame for an RX_GSO peer), malloc'd */
	uint8_t data[1600];
};

struct wire {
	struct uk_netdev nd;
	struct wire *peer;
	struct wire_frame *q;
	unsigned head, count;
	/* faults applied to frames this device sends */
	unsigned drop_every; /* drop every Nth frame (0: none) */
	unsigned drop_tcp_data_only;
	unsigned swap_pairs;     /* deliver frames 2k+1 before 2k */
	unsigned drop_pure_acks; /* drop TCP segments that carry only an ACK */
	unsigned sent;
	int held;
	struct wire_frame hold;
	int capture; /* keep a copy of the last frame sent */
	struct wire_frame last;
	unsigned dropped;
	/* Checksum offload, as a virtio-net NIC on a tap: wire_offload() sets it up. */
	unsigned guest_csum;   /* takes partial checksums (GUEST_CSUM): delivered vouched for */
	unsigned no_complete;  /* a broken peer: partial checksums delivered as they are */
	unsigned partial_sent; /* frames this device sent with a partial checksum */
	unsigned flushes;      /* flush calls */
	/* TSO, as a virtio-net NIC on a tap: wire_tso() sets it up. */
	unsigned rx_gso;        /* takes TCP frames not yet cut (GUEST_TSO4): delivered whole */
	unsigned tso_sent;      /* frames this device sent for the wire to cut */
	unsigned tso_max_pay;   /* the largest TCP payload among them */
	unsigned tso_min_gso;   /* the smallest gso_size among them */
	unsigned gso_delivered; /* frames longer than 1514 delivered to this device */
	unsigned cut_segments;  /* segments the wire cut for this device from its peer's */
	unsigned cut_bad;       /* TSO frames the wire could not cut (malformed) */
};

/* The metadata of the frame being pushed (tx_meta sets it around its wire_tx call). */
static const struct uk_netdev_meta *wire_cur_meta;

static void wire_push(struct wire *w, const void *f, size_t len);

/*
 * What a tap does with a TSO frame for a NIC that takes no GUEST_TSO4 (Linux's tcp_gso_segment):
 * cuts it into (m->gso_size) payload bytes, each segment with the headers copied, the IP total
 * length and id and the TCP sequence number moved on, FIN and PSH on the last only, and the
 * partial checksum's pseudo-header sum moved from the whole length to the segment's (so a
 * stack that summed the wrong length fails the receiver's check), then completed.
 */
static void wire_cut(struct wire *w, const uint8_t *f, size_t len, const struct uk_netdev_meta *m)
{
	size_t ihl = (f[14] & 15) * 4u, thl, hl, pay, off;
	uint8_t seg[1600];

	if (len < 54 || f[23] != 6 || ihl != 20 || !m->gso_size ||
	    (size_t)(f[16] << 8 | f[17]) != len - 14) {
		w->peer->cut_bad++;
		return;
	}
	thl = (size_t)(f[14 + ihl + 12] >> 4) * 4;
	hl = 14 + ihl + thl;
	pay = len - hl;
	for (off = 0; off < pay; off += m->gso_size) {
		size_t n = pay - off < m->gso_size ? pay - off : m->gso_size, slen = hl + n;
		uint8_t *ip = seg + 14, *t = seg + hl - thl;
		uint32_t old = (uint32_t)(len - 14 - ihl), sum;

		if (slen > sizeof(seg)) {
			w->peer->cut_bad++;
			return;
		}
		memcpy(seg, f, hl);
		memcpy(seg + hl, f + hl + off, n);
		net_put16(ip + 2, (uint16_t)(slen - 14));
		net_put16(ip + 4, (uint16_t)(net_get16(ip + 4) + off / m->gso_size));
		net_put16(ip + 10, 0);
		net_put16(ip + 10, net_csum_fold(net_csum_add(0, ip, ihl)));
		net_put32(t + 4, net_get32(t + 4) + (uint32_t)off);
		if (off + n < pay)
			t[13] &= (uint8_t)~0x09; /* FIN, PSH */
		sum = net_get16(t + 16) + (uint16_t)~old + (uint32_t)(thl + n);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		net_put16(t + 16, (uint16_t)sum);
		net_csum_complete(seg, slen, m);
		wire_cur_meta = NULL;
		wire_push(w, seg, slen);
		w->cut_segments++;
	}
}

static void wire_push(struct wire *w, const void *f, size_t len)
{
	if (w->count >= WIRE_QMAX)
		return;
	if (wire_cur_meta && (wire_cur_meta->flags & UK_NETDEV_M_GSO_TCPV4) && !w->rx_gso) {
		const struct uk_netdev_meta *m = wire_cur_meta;

		wire_cut(w, f, len, m);
		wire_cur_meta = m;
		return;
	}
	struct wire_frame *e = &w->q[(w->head + w->count) % WIRE_QMAX];
	e->len = (uint16_t)len;
	e->big = NULL;
	if (len > sizeof(e->data)) {
		e->big = malloc(len);
		if (!e->big)
			return;
		memcpy(e->big, f, len);
		w->gso_delivered++;
	} else {
		memcpy(e->data, f, len);
	}
	e->partial = 0;
	if (wire_cur_meta && (wire_cur_meta->flags & UK_NETDEV_M_CSUM_PARTIAL)) {
		/* What a tap does: hand the frame on as it is to a NIC that takes partial
		 * checksums, complete it for one that does not (Linux's skb_checksum_help). */
		if (w->guest_csum || w->no_complete) {
			e->partial = (uint8_t)w->guest_csum;
			e->m = *wire_cur_meta;
		} else {
			net_csum_complete(e->big ? e->big : e->data, len, wire_cur_meta);
		}
	}
	w->count++;
}

static int is_tcp_data(const uint8_t *f, size_t len)
{
	if (len < 54 || f[12] != 8 || f[13] != 0 || f[23] != 6)
		return 0;
	size_t ihl = (f[14] & 15) * 4, tot = (size_t)(f[16] << 8 | f[17]);
	size_t thl = (size_t)(f[14 + ihl + 12] >> 4) * 4;
	return tot > ihl + thl;
}

static uk_result_t wire_tx(struct uk_netdev *dev, const void *frame, size_t len)
{
	struct wire *w = dev->priv;
	int gso = wire_cur_meta && (wire_cur_meta->flags & UK_NETDEV_M_GSO_TCPV4);

	if (len < 14 || (!gso && len > sizeof(w->last.data)) || len > UK_NETDEV_GSO_MAX)
		return UK_EINVAL;
	if (getenv("NET_TRACE") && len >= 54 && ((const uint8_t *)frame)[23] == 6) {
		const uint8_t *t =
		        (const uint8_t *)frame + 14 + (((const uint8_t *)frame)[14] & 15) * 4;
		size_t tot =
		        (size_t)(((const uint8_t *)frame)[16] << 8 | ((const uint8_t *)frame)[17]);
		fprintf(stderr, "%llu %c %u>%u seq %u ack %u len %zu fl %02x win %u\n",
		        (unsigned long long)(fake_now / 1000000), dev->mac[5] == 0x0a ? 'A' : 'B',
		        t[0] << 8 | t[1], t[2] << 8 | t[3],
		        (unsigned)(t[4] << 24 | t[5] << 16 | t[6] << 8 | t[7]),
		        (unsigned)(t[8] << 24 | t[9] << 16 | t[10] << 8 | t[11]),
		        tot - (((const uint8_t *)frame)[14] & 15) * 4 - (size_t)(t[12] >> 4) * 4,
		        t[13], t[14] << 8 | t[15]);
	}
	if (w->capture && !gso) {
		w->last.len = (uint16_t)len;
		memcpy(w->last.data, frame, len);
	}
	if (w->drop_pure_acks && len >= 54 && ((const uint8_t *)frame)[23] == 6 &&
	    !is_tcp_data(frame, len) &&
	    ((const uint8_t *)frame)[14 + (((const uint8_t *)frame)[14] & 15) * 4 + 13] == 0x10) {
		w->dropped++;
		return UK_OK;
	}
	if (w->drop_every && (!w->drop_tcp_data_only || is_tcp_data(frame, len))) {
		if (++w->sent % w->drop_every == 0) {
			w->dropped++;
			return UK_OK;
		}
	}
	if (w->swap_pairs) {
		if (!w->held) {
			w->held = 1;
			w->hold.len = (uint16_t)len;
			memcpy(w->hold.data, frame, len);
			return UK_OK;
		}
		wire_push(w->peer, frame, len);
		wire_push(w->peer, w->hold.data, w->hold.len);
		w->held = 0;
		return UK_OK;
	}
	wire_push(w->peer, frame, len);
	return UK_OK;
}

static uk_result_t wire_tx_meta(struct uk_netdev *dev, const void *frame, size_t len,
                                const struct uk_netdev_meta *m)
{
	struct wire *w = dev->priv;
	uk_result_t r;

	if (m && (m->flags & UK_NETDEV_M_CSUM_PARTIAL)) {
		if (!(dev->flags & UK_NETDEV_F_TX_CSUM) || m->csum_start < 34 ||
		    (size_t)m->csum_start + m->csum_offset + 2 > len)
			return UK_EINVAL; /* the stack must never ask this */
		w->partial_sent++;
	}
	if (m && (m->flags & UK_NETDEV_M_GSO_TCPV4)) {
		const uint8_t *f = frame;
		size_t pay;

		if (!(dev->flags & UK_NETDEV_F_TSO4) || !(m->flags & UK_NETDEV_M_CSUM_PARTIAL) ||
		    !m->gso_size || len < 54 || len > UK_NETDEV_GSO_MAX || f[23] != 6 ||
		    len - 54 <= m->gso_size || w->swap_pairs)
			return UK_EINVAL; /* the stack must never ask this */
		pay = len - 14 - (f[14] & 15) * 4u -
		      (size_t)(f[14 + (f[14] & 15) * 4 + 12] >> 4) * 4;
		w->tso_sent++;
		if (pay > w->tso_max_pay)
			w->tso_max_pay = (unsigned)pay;
		if (!w->tso_min_gso || m->gso_size < w->tso_min_gso)
			w->tso_min_gso = m->gso_size;
	}
	/* The fault paths (swap_pairs) are left out: a held frame would lose its metadata. */
	wire_cur_meta = m;
	r = wire_tx(dev, frame, len);
	wire_cur_meta = NULL;
	return r;
}

static void wire_flush(struct uk_netdev *dev)
{
	((struct wire *)dev->priv)->flushes++;
}

/* Flushes a frame held back by swap_pairs (so a lone last frame is not stuck). */
static void wire_release(struct wire *w)
{
	if (w->held) {
		wire_push(w->peer, w->hold.data, w->hold.len);
		w->held = 0;
	}
}

static int wire_rx(struct uk_netdev *dev, void *buf, size_t cap)
{
	struct wire *w = dev->priv;
	struct wire_frame *e;

	if (!w->count)
		return 0;
	e = &w->q[w->head];
	w->head = (w->head + 1) % WIRE_QMAX;
	w->count--;
	if (e->len > cap) {
		free(e->big);
		e->big = NULL;
		return 0;
	}
	memcpy(buf, e->big ? e->big : e->data, e->len);
	free(e->big);
	e->big = NULL;
	return e->len;
}

static const struct uk_netdev_ops wire_ops = {.tx = wire_tx, .rx = wire_rx};

static int wire_rx_meta(struct uk_netdev *dev, void *buf, size_t cap, struct uk_netdev_meta *m)
{
	struct wire *w = dev->priv;
	uint8_t partial = w->count ? w->q[w->head].partial : 0;
	int big = w->count && w->q[w->head].big;

	m->flags = (partial ? UK_NETDEV_M_L4_CSUM_OK : 0) | (big ? UK_NETDEV_M_GSO_TCPV4 : 0);
	m->gso_size = big ? w->q[w->head].m.gso_size : 0;
	return wire_rx(dev, buf, cap);
}
static const struct uk_netdev_ops wire_offload_ops = {
        .tx = wire_tx,
        .rx = wire_rx,
        .tx_meta = wire_tx_meta,
        .rx_meta = wire_rx_meta,
        .flush = wire_flush,
};

/* Gives (w) the offload ops: (tx_csum) sets UK_NETDEV_F_TX_CSUM, (guest_csum) as above. Call
 * before the stack is made on it. */
static inline void wire_offload(struct wire *w, int tx_csum, int guest_csum)
{
	w->nd.ops = &wire_offload_ops;
	w->nd.flags = tx_csum ? UK_NETDEV_F_TX_CSUM : 0;
	w->guest_csum = (unsigned)guest_csum;
}

/* Gives (w) TSO as well: (tx) sets UK_NETDEV_F_TSO4 (the wire cuts what (w) sends unless the
 * peer takes it whole), (rx) UK_NETDEV_F_RX_GSO (frames not cut are delivered whole, vouched
 * for). Implies checksum offload both ways. Call before the stack is made on it. */
static inline void wire_tso(struct wire *w, int tx, int rx)
{
	wire_offload(w, 1, 1);
	w->nd.flags |= (tx ? UK_NETDEV_F_TSO4 : 0) | (rx ? UK_NETDEV_F_RX_GSO : 0);
	w->rx_gso = (unsigned)rx;
}

static void wire_init(struct wire *a, struct wire *b)
{
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	a->q = calloc(WIRE_QMAX, sizeof(*a->q));
	b->q = calloc(WIRE_QMAX, sizeof(*b->q));
	a->peer = b;
	b->peer = a;
	a->nd.ops = b->nd.ops = &wire_ops;
	a->nd.priv = a;
	b->nd.priv = b;
	a->nd.mtu = b->nd.mtu = 1500;
	memcpy(a->nd.mac, "\x52\x54\x00\x00\x00\x0a", 6);
	memcpy(b->nd.mac, "\x52\x54\x00\x00\x00\x0b", 6);
}

static void wire_free(struct wire *a, struct wire *b)
{
	for (unsigned i = 0; i < WIRE_QMAX; i++) {
		free(a->q[i].big);
		free(b->q[i].big);
	}
	free(a->q);
	free(b->q);
}

/* --- two stacks: A (10.0.2.1) and B (10.0.2.15) --- */

#define IP_A UK_IP4(10, 0, 2, 1)
#define IP_B UK_IP4(10, 0, 2, 15)

struct pair {
	struct wire wa, wb;
	struct uk_net *a, *b;
};

static struct uk_net *stack_on(struct wire *w, uint32_t ip, uint32_t seed)
{
	struct uk_net_config cfg = {ip, UK_IP4(255, 255, 255, 0), 0, 0};
	struct uk_net *s = uk_net_stack_new(&w->nd, &cfg);
	if (!s) {
		fprintf(stderr, "stack_new failed\n");
		exit(1);
	}
	uk_net_use(s);
	uk_net_set_clock(fake_clock);
	uk_net_set_secret(seed);
	return s;
}

static void pair_init(struct pair *p)
{
	wire_init(&p->wa, &p->wb);
	p->a = stack_on(&p->wa, IP_A, 1);
	p->b = stack_on(&p->wb, IP_B, 2);
}

static void pair_free(struct pair *p)
{
	uk_net_stack_free(p->a);
	uk_net_stack_free(p->b);
	wire_free(&p->wa, &p->wb);
}

/*
 * Runs both stacks for (ms) of fake time: steps them until the wire is quiet,
 * then jumps the clock to the next timer (or 1 ms). (until), when non-NULL,
 * stops early once it returns nonzero.
 */
static void run(struct pair *p, uint64_t ms, int (*until)(void *), void *arg)
{
	uint64_t end = fake_now + ms * 1000000ull;

	while (fake_now <= end) {
		int busy, spins = 0;
		do {
			if (++spins > 1000000) {
				fprintf(stderr, "run: the stacks never go quiet\n");
				abort();
			}
			uk_net_use(p->a);
			busy = uk_net_step(p->a);
			uk_net_use(p->b);
			busy += uk_net_step(p->b);
			if (until && until(arg))
				return;
		} while (busy || p->wa.count || p->wb.count);
		wire_release(&p->wa);
		wire_release(&p->wb);
		if (p->wa.count || p->wb.count)
			continue;
		uint64_t next =
		        p->a->next_timer < p->b->next_timer ? p->a->next_timer : p->b->next_timer;
		if (next <= fake_now)
			next = fake_now + 1;
		fake_now = next < end + 1 ? next : end + 1;
	}
}

/* Deterministic test data: byte (i) of stream (k). */
static inline uint8_t pat(uint32_t k, uint64_t i)
{
	uint64_t x = (i / 8 + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)k << 32);
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return (uint8_t)(x >> ((i % 8) * 8));
}

#endif
