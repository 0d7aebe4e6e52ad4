/* TCP (RFC 9293) with RFC 7323 window scaling, RFC 6298 RTO, RFC 5681/6582 congestion control. */
#include <stdlib.h>
#include <string.h>
#include "net_internal.h"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)

#define TCP_RTO_INIT (1 * NET_S)
#define TCP_RTO_MIN (200 * NET_MS)
#define TCP_RTO_MAX (60 * NET_S)
#define TCP_DELACK (40 * NET_MS)
#define TCP_MSL (30 * NET_S)
#define TCP_FIN_WAIT_2_ORPHAN (60 * NET_S)
#define TCP_SYN_RETRIES 6
#define TCP_RETRIES 12
#define TCP_OOO_MAX 64
#define TCP_RING_MIN 4096u
#define TCP_MSS_DEFAULT 536

static void tcp_output(struct uk_tcp *c);
static void tcp_release(struct uk_tcp *c);

/* --- byte rings --- */

/* Makes room for up to (need) more bytes, within (r->max) and the memory cap; returns the room. */
static uint32_t ring_reserve(struct uk_net *s, struct net_ring *r, uint32_t need)
{
	uint32_t want = r->len + need, ncap;
	uint8_t *nb;

	if (want > r->max)
		want = r->max;
	if (want <= r->cap)
		return r->cap - r->len;
	ncap = r->cap ? r->cap : TCP_RING_MIN;
	while (ncap < want)
		ncap *= 2;
	if (ncap > r->max)
		ncap = r->max;
	nb = net_alloc(s, ncap);
	if (!nb)
		return r->cap - r->len;
	for (uint32_t i = 0, first = r->cap - r->head; i < r->len;) {
		uint32_t n = r->len - i < first ? r->len - i : first;
		memcpy(nb + i, r->buf + (r->head + i) % r->cap, n);
		i += n;
		first = r->cap;
	}
	net_free(s, r->buf, r->cap);
	r->buf = nb;
	r->cap = ncap;
	r->head = 0;
	return r->cap - r->len;
}

static void ring_put(struct net_ring *r, const uint8_t *p, uint32_t n)
{
	uint32_t tail = (r->head + r->len) % (r->cap ? r->cap : 1);

	while (n) {
		uint32_t k = r->cap - tail < n ? r->cap - tail : n;
		memcpy(r->buf + tail, p, k);
		p += k;
		n -= k;
		r->len += k;
		tail = (tail + k) % r->cap;
	}
}

static void ring_peek(const struct net_ring *r, uint32_t off, uint8_t *p, uint32_t n)
{
	uint32_t pos = (r->head + off) % (r->cap ? r->cap : 1);

	while (n) {
		uint32_t k = r->cap - pos < n ? r->cap - pos : n;
		memcpy(p, r->buf + pos, k);
		p += k;
		n -= k;
		pos = (pos + k) % r->cap;
	}
}

static void ring_drop(struct net_ring *r, uint32_t n)
{
	if (n > r->len)
		n = r->len;
	r->len -= n;
	r->head = r->len ? (r->head + n) % r->cap : 0;
}

static void ring_free(struct uk_net *s, struct net_ring *r)
{
	net_free(s, r->buf, r->cap);
	r->buf = NULL;
	r->cap = r->len = r->head = 0;
}

/* --- lookup, lists and lifetime --- */

static uint32_t tcp_hash(struct uk_net *s, uint32_t rip, uint16_t rport, uint16_t lport)
{
	uint32_t h = (rip ^ s->isn_key[0]) * 0x9e3779b1u;
	h ^= (((uint32_t)rport << 16 | lport) ^ s->isn_key[1]) * 0x85ebca77u;
	h ^= h >> 15;
	return h & (NET_TCP_HASH - 1);
}

static struct uk_tcp *tcp_lookup(struct uk_net *s, uint32_t rip, uint16_t rport, uint16_t lport)
{
	for (struct uk_tcp *c = s->hash[tcp_hash(s, rip, rport, lport)]; c; c = c->hnext)
		if (c->rip == rip && c->rport == rport && c->lport == lport)
			return c;
	return NULL;
}

static struct uk_tcp *tcp_listener(struct uk_net *s, uint16_t port)
{
	for (struct uk_tcp *l = s->listeners; l; l = l->hnext)
		if (l->lport == port)
			return l;
	return NULL;
}

static void tcp_hash_add(struct uk_tcp *c)
{
	struct uk_tcp **b = &c->s->hash[tcp_hash(c->s, c->rip, c->rport, c->lport)];

	c->hnext = *b;
	*b = c;
	c->hashed = 1;
}

static void tcp_unhash(struct uk_tcp *c)
{
	struct uk_tcp **pp;

	if (!c->hashed)
		return;
	for (pp = &c->s->hash[tcp_hash(c->s, c->rip, c->rport, c->lport)]; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	c->hashed = 0;
}

static void list_remove(struct uk_tcp **head, struct uk_tcp **tail, struct uk_tcp *c,
                        size_t link_off)
{
	struct uk_tcp *prev = NULL;

	for (struct uk_tcp *x = *head; x; prev = x, x = *(struct uk_tcp **)((char *)x + link_off))
		if (x == c) {
			struct uk_tcp *next = *(struct uk_tcp **)((char *)c + link_off);
			if (prev)
				*(struct uk_tcp **)((char *)prev + link_off) = next;
			else
				*head = next;
			if (tail && *tail == c)
				*tail = prev;
			return;
		}
}

static void tcp_notify(struct uk_tcp *c)
{
	struct uk_net *s = c->s;

	if (c->notify || !(c->owned || c->listener))
		return;
	c->notify = 1;
	c->notify_next = NULL;
	if (s->notify_tail)
		s->notify_tail->notify_next = c;
	else
		s->notify_head = c;
	s->notify_tail = c;
}

/* Marks (c) for tcp_output() at the end of this poll step. */
static void tcp_want_output(struct uk_tcp *c)
{
	if (!c->out_pending) {
		c->out_pending = 1;
		c->out_next = c->s->out_head;
		c->s->out_head = c;
	}
}

static void tcp_free_buffers(struct uk_tcp *c)
{
	ring_free(c->s, &c->snd);
	ring_free(c->s, &c->rcv);
	while (c->ooo) {
		struct tcp_seg *g = c->ooo;
		c->ooo = g->next;
		net_free(c->s, g, sizeof(*g) + g->len);
	}
	c->ooo_bytes = 0;
}

/* Frees (c) entirely: no list or table refers to it afterwards. */
static void tcp_release(struct uk_tcp *c)
{
	struct uk_net *s = c->s;

	tcp_unhash(c);
	if (c->notify)
		list_remove(&s->notify_head, &s->notify_tail, c,
		            offsetof(struct uk_tcp, notify_next));
	if (c->out_pending)
		list_remove(&s->out_head, NULL, c, offsetof(struct uk_tcp, out_next));
	if (c->queued && c->parent)
		list_remove(&c->parent->acc_head, &c->parent->acc_tail, c,
		            offsetof(struct uk_tcp, acc_next));
	if (c->parent)
		c->parent->children--;
	if (c->aprev)
		c->aprev->anext = c->anext;
	else if (s->all == c)
		s->all = c->anext;
	if (c->anext)
		c->anext->aprev = c->aprev;
	tcp_free_buffers(c);
	if (!c->listener)
		s->ntcp--;
	net_free(s, c, sizeof(*c));
}

/* The connection is over (state (st)); frees it unless the application still holds it. */
static void tcp_done(struct uk_tcp *c, uk_tcp_state_t st)
{
	c->state = st;
	c->t_rexmt = c->t_delack = c->t_close = 0;
	tcp_unhash(c);
	tcp_free_buffers(c);
	if (!c->owned) {
		tcp_release(c);
		return;
	}
	tcp_notify(c);
}

static struct uk_tcp *tcp_new(struct uk_net *s)
{
	struct uk_tcp *c;

	if (!net_mem_ok(s, sizeof(*c) + 2 * TCP_RING_MIN)) {
		s->st.tcp_refused_mem++;
		return NULL;
	}
	c = net_alloc(s, sizeof(*c));
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->snd.max = s->sndbuf_max;
	c->rcv.max = s->rcvbuf_max;
	c->rto = TCP_RTO_INIT;
	c->mss = TCP_MSS_DEFAULT;
	c->ssthresh = 0xffffffffu;
	c->anext = s->all;
	if (s->all)
		s->all->aprev = c;
	s->all = c;
	s->ntcp++;
	return c;
}

/* RFC 6528: a keyed hash of the connection plus a 4 µs clock. */
static uint32_t tcp_isn(struct uk_net *s, struct uk_tcp *c)
{
	uint32_t h = s->isn_key[2];
	uint32_t v[3] = {c->lip, c->rip, (uint32_t)c->lport << 16 | c->rport};

	for (int i = 0; i < 3; i++) {
		h ^= v[i] + s->isn_key[3];
		h *= 0xcc9e2d51u;
		h = (h << 15) | (h >> 17);
		h *= 0x1b873593u;
		h ^= h >> 13;
	}
	return h + (uint32_t)(s->now / 4000);
}

static uint8_t wscale_for(uint32_t max)
{
	uint8_t sh = 0;

	while (sh < 14 && (max >> sh) > 65535)
		sh++;
	return sh;
}

static uint16_t our_mss(struct uk_net *s)
{
	return (uint16_t)(s->mtu - 40);
}

/* --- output --- */

static uint32_t rcv_window(struct uk_tcp *c)
{
	uint32_t space = c->rcv.max - c->rcv.len;
	uint32_t adv = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t lim = c->ws_ok ? (65535u << c->rcv_wscale) : 65535u;

	if (c->fin_rcvd)
		space = 0;
	/* Receiver SWS avoidance (RFC 9293 3.8.6.2.2): open the window in big steps only. */
	if (space > adv && space - adv < (c->rcv.max / 2 < c->mss ? c->rcv.max / 2 : c->mss) && adv)
		space = adv;
	if (space < adv)
		space = adv; /* never shrink what we offered */
	return space > lim ? lim : space;
}

static void tcp_send(struct uk_tcp *c, uint32_t seq, uint8_t flags, uint32_t off, uint32_t len)
{
	struct uk_net *s = c->s;
	uint8_t *t = s->tx + NET_ETH_HLEN + NET_IP_HLEN;
	uint32_t hl = 20, wnd;

	if (flags & TH_SYN) {
		t[20] = 2; /* MSS */
		t[21] = 4;
		net_put16(t + 22, our_mss(s));
		hl = 24;
		if (c->state == UK_TCP_SYN_SENT || c->ws_ok) {
			t[24] = 1; /* NOP, window scale */
			t[25] = 3;
			t[26] = 3;
			t[27] = c->rcv_wscale;
			hl = 28;
		}
	}
	net_put16(t, c->lport);
	net_put16(t + 2, c->rport);
	net_put32(t + 4, seq);
	net_put32(t + 8, (flags & TH_ACK) ? c->rcv_nxt : 0);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	wnd = rcv_window(c);
	if (flags & TH_SYN)
		net_put16(t + 14, (uint16_t)(wnd > 65535 ? 65535 : wnd));
	else
		net_put16(t + 14, (uint16_t)(wnd >> (c->ws_ok ? c->rcv_wscale : 0)));
	net_put16(t + 16, 0);
	net_put16(t + 18, 0);
	if (len)
		ring_peek(&c->snd, off, t + hl, len);
	net_tcp_csum(s, t, net_pseudo_sum(c->lip, c->rip, NET_PROTO_TCP, (uint16_t)(hl + len)),
	             hl + len);
	if (len > c->mss && (s->txm.flags & UK_NETDEV_M_CSUM_PARTIAL)) {
		/* Longer than a segment (tcp_seg_max): the NIC cuts it into MSS-long ones. */
		s->txm.flags |= UK_NETDEV_M_GSO_TCPV4;
		s->txm.gso_size = c->mss;
		s->st.tx_tso_frames++;
	}
	if (flags & TH_ACK) {
		if (!(flags & TH_SYN))
			c->rcv_adv =
			        c->rcv_nxt + (wnd >> (c->ws_ok ? c->rcv_wscale : 0)
			                                     << (c->ws_ok ? c->rcv_wscale : 0));
		else
			c->rcv_adv = c->rcv_nxt + (wnd > 65535 ? 65535 : wnd);
		c->t_delack = 0;
		c->rcv_acked = c->rcv_nxt;
		c->ack_now = 0;
	}
	if (net_ip_send(s, c->lip, c->rip, NET_PROTO_TCP, hl + len) == UK_EAGAIN &&
	    (len || (flags & TH_FIN)) && !(flags & (TH_SYN | TH_RST))) {
		/* Not sent, not held: no address for the next hop yet (ARP asked). Sent again as
		 * soon as it resolves, rather than at the RTO. */
		if (!c->arp_wait || SEQ_LT(seq, c->arp_seq))
			c->arp_seq = seq;
		c->arp_wait = 1;
		s->tcp_arp_wait = 1;
	}
}

/* A RST for a segment that has no connection (RFC 9293 3.10.7.1). */
static void tcp_send_rst(struct uk_net *s, uint32_t src, uint16_t sport, uint16_t dport,
                         uint32_t seq, uint32_t ack, uint8_t flags)
{
	uint8_t *t = s->tx + NET_ETH_HLEN + NET_IP_HLEN;

	net_put16(t, dport);
	net_put16(t + 2, sport);
	net_put32(t + 4, seq);
	net_put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	net_put16(t + 14, 0);
	net_put16(t + 16, 0);
	net_put16(t + 18, 0);
	net_put16(t + 16, net_csum_fold(net_csum_add(net_pseudo_sum(s->ip, src, NET_PROTO_TCP, 20),
	                                             t, 20)));
	net_ip_send(s, s->ip, src, NET_PROTO_TCP, 20); /* from the NIC it came in on */
}

static void tcp_arm_rexmt(struct uk_tcp *c)
{
	c->t_rexmt = c->s->now + c->rto;
	net_timer_at(c->s, c->t_rexmt);
}

static uint32_t flight(struct uk_tcp *c)
{
	return c->snd_max - c->snd_una;
}

/*
 * The most payload one segment may carry: the MSS, or with a NIC that cuts segments (TSO) a
 * multiple of it, at most half the largest window the peer offered, so a second one is on its
 * way while the first is acknowledged.
 */
static uint32_t tcp_seg_max(struct uk_tcp *c)
{
	uint32_t n = net_tcp_seg_max(c->s, c->lip, c->rip, c->mss), half = c->max_wnd / 2;

	if (n > c->mss && n > half)
		n = half > c->mss ? half / c->mss * c->mss : c->mss;
	return n;
}

static void tcp_output(struct uk_tcp *c)
{
	struct uk_net *s = c->s;
	int sent = 0;

	if (c->state == UK_TCP_SYN_SENT || c->state == UK_TCP_SYN_RECEIVED) {
		if (c->snd_nxt == c->iss) {
			tcp_send(c, c->iss,
			         c->state == UK_TCP_SYN_SENT ? TH_SYN : (TH_SYN | TH_ACK), 0, 0);
			if (!c->retries)
				c->rtt_start = s->now; /* the handshake's RTT sample (Karn: first
				                          try only) */
			c->snd_nxt = c->iss + 1;
			if (SEQ_GT(c->snd_nxt, c->snd_max))
				c->snd_max = c->snd_nxt;
			if (!c->t_rexmt)
				tcp_arm_rexmt(c);
		}
		return;
	}
	if (c->state != UK_TCP_ESTABLISHED && c->state != UK_TCP_CLOSE_WAIT &&
	    c->state != UK_TCP_FIN_WAIT_1 && c->state != UK_TCP_CLOSING &&
	    c->state != UK_TCP_LAST_ACK) {
		if (c->ack_now && c->hashed)
			tcp_send(c, c->snd_max, TH_ACK, 0, 0);
		return;
	}
	for (;;) {
		/* Limited transmit (RFC 3042): a new segment for each of the first two dupacks. */
		uint32_t cw =
		        c->cwnd + (!c->in_recovery && c->dupacks <= 2 ? c->dupacks * c->mss : 0);
		uint32_t wnd = c->snd_wnd < cw ? c->snd_wnd : cw;
		uint32_t off = c->snd_nxt - c->snd_buf_seq;
		uint32_t avail = off < c->snd.len ? c->snd.len - off : 0;
		uint32_t infl = c->snd_nxt - c->snd_una;
		uint32_t usable = wnd > infl ? wnd - infl : 0;
		uint32_t n = avail < usable ? avail : usable, most = tcp_seg_max(c);
		int fin;

		if (off > c->snd.len)
			break; /* FIN already sent */
		if (n > most)
			n = most;
		else if (n > c->mss && n < avail)
			n -= n % c->mss; /* whole segments while more waits: no runt on the wire */
		fin = c->fin_queued && c->snd_nxt + n == c->fin_seq;
		if (!n && !fin)
			break;
		/* Sender SWS avoidance: no small segment while more data waits and some is in
		 * flight. */
		if (n < c->mss && n < avail && infl)
			break;
		if (fin && n == 0 && avail)
			break;
		tcp_send(c, c->snd_nxt, (uint8_t)(TH_ACK | (n ? TH_PSH : 0) | (fin ? TH_FIN : 0)),
		         off, n);
		sent = 1;
		if (!c->rtt_active && c->snd_nxt == c->snd_max && n) {
			c->rtt_active = 1;
			c->rtt_seq = c->snd_nxt;
			c->rtt_start = s->now;
		}
		c->snd_nxt += n + (fin ? 1 : 0);
		if (SEQ_GT(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		if (!c->t_rexmt)
			tcp_arm_rexmt(c);
		if (fin)
			break;
	}
	/* Zero window with data waiting and nothing in flight: probe (the persist timer). */
	if (!sent && c->snd_wnd == 0 && c->snd_una == c->snd_max &&
	    c->snd_nxt - c->snd_buf_seq < c->snd.len && !c->t_rexmt) {
		c->persist = 1;
		tcp_arm_rexmt(c);
	}
	/*
	 * A pure ACK carries snd_max, not snd_nxt (BSD's rule): after an RTO
	 * snd_nxt is back at snd_una, below what the peer already received, and
	 * the peer would answer that "old" sequence number with an ACK of its own.
	 * If it retransmitted too, each side's ACK is out of the other's window:
	 * an ACK storm in which neither ever processes the other's ACK field.
	 */
	if (!sent && c->ack_now)
		tcp_send(c, c->snd_max, TH_ACK, 0, 0);
}

/* --- RTT (RFC 6298) --- */

static void tcp_rtt_sample(struct uk_tcp *c, uint64_t r)
{
	if (!c->srtt) {
		c->srtt = r ? r : 1;
		c->rttvar = r / 2;
	} else {
		uint64_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
		c->rttvar = (3 * c->rttvar + d) / 4;
		c->srtt = (7 * c->srtt + r) / 8;
	}
	c->rto = c->srtt + (4 * c->rttvar > NET_MS ? 4 * c->rttvar : NET_MS);
	if (c->rto < TCP_RTO_MIN)
		c->rto = TCP_RTO_MIN;
	if (c->rto > TCP_RTO_MAX)
		c->rto = TCP_RTO_MAX;
}

/* --- input --- */

struct tcp_opts {
	uint16_t mss;
	int8_t ws; /* -1: absent */
};

static void tcp_parse_opts(const uint8_t *o, size_t len, struct tcp_opts *out)
{
	size_t i = 0;

	out->mss = 0;
	out->ws = -1;
	while (i < len) {
		uint8_t kind = o[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
			break;
		if (kind == 2 && o[i + 1] == 4)
			out->mss = net_get16(o + i + 2);
		else if (kind == 3 && o[i + 1] == 3)
			out->ws = (int8_t)(o[i + 2] > 14 ? 14 : o[i + 2]);
		i += o[i + 1];
	}
}

static void tcp_apply_syn_opts(struct uk_tcp *c, const struct tcp_opts *o)
{
	uint16_t m = o->mss ? o->mss : TCP_MSS_DEFAULT;

	if (m < 64)
		m = 64; /* a tiny MSS would make us send a flood of tiny segments */
	c->mss = m < our_mss(c->s) ? m : our_mss(c->s);
	if (o->ws >= 0 && (c->state == UK_TCP_SYN_SENT || c->ws_ok)) {
		c->ws_ok = 1;
		c->snd_wscale = (uint8_t)o->ws;
	} else {
		c->ws_ok = 0;
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
	/* RFC 5681 3.1 initial window. */
	c->cwnd = c->mss > 2190 ? 2u * c->mss : c->mss > 1095 ? 3u * c->mss : 4u * c->mss;
}

static void tcp_established(struct uk_tcp *c)
{
	c->state = UK_TCP_ESTABLISHED;
	c->snd_buf_seq = c->iss + 1;
	c->retries = 0;
	c->t_rexmt = 0;
	tcp_notify(c);
}

/* Appends in-order bytes; returns how many were taken (the ring may be unable to grow). */
static uint32_t tcp_take(struct uk_tcp *c, const uint8_t *p, uint32_t n)
{
	uint32_t room = ring_reserve(c->s, &c->rcv, n);

	if (n > room)
		n = room;
	ring_put(&c->rcv, p, n);
	c->rcv_nxt += n;
	return n;
}

static void tcp_ooo_insert(struct uk_tcp *c, uint32_t seq, const uint8_t *p, uint32_t n, int fin)
{
	struct tcp_seg **pp, *g;
	int count = 0;

	for (pp = &c->ooo; *pp; pp = &(*pp)->next, count++) {
		struct tcp_seg *x = *pp;
		if (SEQ_LEQ(x->seq, seq) && SEQ_GEQ(x->seq + x->len, seq + n) && (x->fin || !fin))
			return; /* already have it */
		if (SEQ_GT(x->seq, seq))
			break;
	}
	if (count >= TCP_OOO_MAX || c->ooo_bytes + n > c->rcv.max)
		return;
	g = net_alloc(c->s, sizeof(*g) + n);
	if (!g)
		return;
	g->seq = seq;
	g->len = n;
	g->fin = (uint8_t)fin;
	memcpy(g->data, p, n);
	g->next = *pp;
	*pp = g;
	c->ooo_bytes += n;
}

/*
 * The peer's FIN. Into CLOSE_WAIT its ACK is delayed, as Linux does: the application, told of
 * the EOF, usually closes within the delayed-ACK time, and its FIN carries the ACK (any segment
 * with ACK satisfies a pending delayed ACK, RFC 9293 3.8.6.3): one frame, not an ACK and a FIN.
 * A peer's FIN answering ours is acknowledged at once: we have nothing left to send.
 */
static void tcp_fin_received(struct uk_tcp *c)
{
	c->fin_rcvd = 1;
	c->rcv_nxt++;
	switch (c->state) {
	case UK_TCP_SYN_RECEIVED:
	case UK_TCP_ESTABLISHED:
		c->state = UK_TCP_CLOSE_WAIT;
		if (!c->t_delack) {
			c->t_delack = c->s->now + TCP_DELACK;
			net_timer_at(c->s, c->t_delack);
		}
		break;
	case UK_TCP_FIN_WAIT_1:
		c->ack_now = 1;
		c->state = UK_TCP_CLOSING; /* FIN_WAIT_1 with our FIN acked was moved on earlier */
		break;
	case UK_TCP_FIN_WAIT_2:
		c->ack_now = 1;
		c->state = UK_TCP_TIME_WAIT;
		c->t_close = c->s->now + 2 * TCP_MSL;
		c->t_rexmt = 0;
		net_timer_at(c->s, c->t_close);
		break;
	default:
		c->ack_now = 1;
		break;
	}
	tcp_notify(c);
}

/* Drains reassembled segments that now continue the stream. */
static void tcp_ooo_drain(struct uk_tcp *c)
{
	while (c->ooo && SEQ_LEQ(c->ooo->seq, c->rcv_nxt) && !c->fin_rcvd) {
		struct tcp_seg *g = c->ooo;
		uint32_t end = g->seq + g->len;
		if (SEQ_GT(end, c->rcv_nxt)) {
			uint32_t skip = c->rcv_nxt - g->seq, want = g->len - skip;
			if (tcp_take(c, g->data + skip, want) < want)
				break;
		}
		if (g->fin && c->rcv_nxt == end)
			tcp_fin_received(c);
		c->ooo = g->next;
		c->ooo_bytes -= g->len;
		net_free(c->s, g, sizeof(*g) + g->len);
	}
}

/* ACK processing for synchronized states (RFC 9293 3.10.7.4, fifth check). Returns 0 to stop. */
static int tcp_ack(struct uk_tcp *c, uint32_t seq, uint32_t ack, uint32_t wnd, uint32_t dlen,
                   uint8_t flags)
{
	struct uk_net *s = c->s;

	if (SEQ_GT(ack, c->snd_max)) {
		c->ack_now = 1;
		tcp_want_output(c);
		return 0;
	}
	if (SEQ_LT(ack, c->snd_una))
		return 1; /* old duplicate: ignore the ACK, keep the data */
	if (ack == c->snd_una) {
		if (!dlen && !(flags & (TH_SYN | TH_FIN)) && wnd == c->snd_wnd &&
		    c->snd_max != c->snd_una && !c->persist) {
			c->dupacks++;
			if (c->dupacks == 3 && !c->in_recovery && SEQ_GEQ(ack - 1, c->recover)) {
				/* Fast retransmit (RFC 5681 3.2, RFC 6582). */
				uint32_t f = flight(c);
				c->ssthresh = f / 2 > 2u * c->mss ? f / 2 : 2u * c->mss;
				c->recover = c->snd_max;
				c->in_recovery = 1;
				c->rtt_active = 0;
				uint32_t n = c->snd_max - c->snd_una;
				uint32_t off = c->snd_una - c->snd_buf_seq;
				if (n > c->mss)
					n = c->mss;
				if (off + n > c->snd.len)
					n = off < c->snd.len ? c->snd.len - off : 0;
				if (n)
					tcp_send(c, c->snd_una, TH_ACK, off, n);
				c->cwnd = c->ssthresh + 3u * c->mss;
				s->st.tcp_fast_retransmits++;
				tcp_arm_rexmt(c);
			} else if (c->dupacks < 3) {
				tcp_want_output(c); /* limited transmit */
			} else if (c->dupacks > 3 && c->in_recovery) {
				c->cwnd += c->mss;
				tcp_want_output(c);
			}
		}
	} else {
		uint32_t acked = ack - c->snd_una;

		if (c->rtt_active && SEQ_GT(ack, c->rtt_seq)) {
			c->rtt_active = 0;
			tcp_rtt_sample(c, s->now - c->rtt_start);
		}
		if (c->in_recovery) {
			if (SEQ_GEQ(ack, c->recover)) {
				/* RFC 6582 3.2 step 3 (1): min(ssthresh, max(FlightSize, SMSS) +
				 * SMSS). Never one segment: a loss then has no dupacks behind it
				 * and waits for the RTO. */
				uint32_t f = c->snd_max - ack;
				if (f < c->mss)
					f = c->mss;
				c->cwnd = c->ssthresh < f + c->mss ? c->ssthresh : f + c->mss;
				c->in_recovery = 0;
			} else {
				/* Partial ACK: resend the next hole, deflate (RFC 6582 3.2 step 5).
				 */
				uint32_t off = ack - c->snd_buf_seq, n = c->snd_max - ack;
				if (n > c->mss)
					n = c->mss;
				if (off + n > c->snd.len)
					n = off < c->snd.len ? c->snd.len - off : 0;
				if (n)
					tcp_send(c, ack, TH_ACK, off, n);
				c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
				c->cwnd += c->mss;
			}
		} else {
			/* Byte counting (RFC 3465) up to a segment's worth per ACK: one MSS
			 * without TSO; with it an ACK may cover a 64 KiB segment. */
			uint32_t most = tcp_seg_max(c), k = acked < most ? acked : most;

			if (c->cwnd < c->ssthresh) {
				c->cwnd += k;
			} else {
				uint32_t inc = (uint32_t)((uint64_t)c->mss * c->mss /
				                          (c->cwnd ? c->cwnd : 1));
				if (most > c->mss && k > c->mss)
					inc = (uint32_t)((uint64_t)c->mss * k /
					                 (c->cwnd ? c->cwnd : 1));
				c->cwnd += inc ? inc : 1;
			}
		}
		if (c->cwnd > (1u << 30))
			c->cwnd = 1u << 30;
		c->dupacks = 0;
		c->snd_una = ack;
		if (SEQ_GT(ack, c->snd_buf_seq)) {
			uint32_t d = ack - c->snd_buf_seq;
			if (d > c->snd.len)
				d = c->snd.len;
			ring_drop(&c->snd, d);
			c->snd_buf_seq += d;
			if (d)
				tcp_notify(c);
		}
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		c->retries = 0;
		if (c->srtt)
			tcp_rtt_sample(c, c->srtt); /* undo the backoff, keep the estimate */
		if (c->snd_una == c->snd_max) {
			c->t_rexmt = 0;
			c->persist = 0;
		} else if (!c->persist) {
			tcp_arm_rexmt(c);
		}
		tcp_want_output(c);
	}
	/* Window update (RFC 9293 3.10.7.4). */
	if (SEQ_LT(c->snd_wl1, seq) || (c->snd_wl1 == seq && SEQ_LEQ(c->snd_wl2, ack))) {
		if (wnd && c->persist) {
			c->persist = 0;
			c->t_rexmt = 0;
			if (SEQ_GT(c->snd_nxt, c->snd_una) && c->snd_una != c->snd_max)
				tcp_arm_rexmt(c);
		}
		if (wnd > c->snd_wnd)
			tcp_want_output(c);
		c->snd_wnd = wnd;
		c->snd_wl1 = seq;
		c->snd_wl2 = ack;
		if (wnd > c->max_wnd)
			c->max_wnd = wnd;
	}
	/* Our FIN acknowledged? */
	if (c->fin_queued && SEQ_GT(c->snd_una, c->fin_seq)) {
		switch (c->state) {
		case UK_TCP_FIN_WAIT_1:
			c->state = UK_TCP_FIN_WAIT_2;
			if (!c->owned) {
				c->t_close = s->now + TCP_FIN_WAIT_2_ORPHAN;
				net_timer_at(s, c->t_close);
			}
			tcp_notify(c);
			break;
		case UK_TCP_CLOSING:
			c->state = UK_TCP_TIME_WAIT;
			c->t_close = s->now + 2 * TCP_MSL;
			c->t_rexmt = 0;
			net_timer_at(s, c->t_close);
			tcp_notify(c);
			break;
		case UK_TCP_LAST_ACK:
			tcp_done(c, UK_TCP_CLOSED);
			return 0;
		default:
			break;
		}
	}
	return 1;
}

static void tcp_syn_to_listener(struct uk_net *s, struct uk_tcp *l, uint32_t src, uint16_t sport,
                                uint32_t seq, uint32_t wnd, const struct tcp_opts *o)
{
	struct uk_tcp *c;

	if (l->children >= l->backlog)
		return; /* the peer retransmits its SYN */
	c = tcp_new(s);
	if (!c)
		return;
	c->lip = s->ip;
	c->rip = src;
	c->lport = l->lport;
	c->rport = sport;
	c->parent = l;
	l->children++;
	c->state = UK_TCP_SYN_RECEIVED;
	c->irs = seq;
	c->rcv_nxt = seq + 1;
	c->rcv_wscale = wscale_for(c->rcv.max);
	c->ws_ok = o->ws >= 0;
	tcp_apply_syn_opts(c, o);
	c->snd_wnd = wnd; /* never scaled in a SYN */
	c->snd_wl1 = seq;
	c->iss = tcp_isn(s, c);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_buf_seq = c->iss + 1;
	c->recover = c->iss;
	tcp_hash_add(c);
	tcp_output(c);
}

void net_tcp_input(struct uk_net *s, uint32_t src, uint32_t dst, const uint8_t *p, size_t len)
{
	struct uk_tcp *c;
	struct tcp_opts o = {0, -1};
	size_t hl;
	uint32_t seq, ack, wnd, dlen, seglen;
	uint16_t sport, dport;
	uint8_t flags;
	const uint8_t *data;

	if (len < 20)
		goto bad;
	hl = (size_t)(p[12] >> 4) * 4;
	if (hl < 20 || hl > len)
		goto bad;
	if (s->rx_l4_ok)
		s->st.rx_csum_offloaded++;
	else if (net_csum_fold(net_csum_add(net_pseudo_sum(src, dst, NET_PROTO_TCP, (uint16_t)len),
	                                    p, len)) != 0)
		goto bad;
	sport = net_get16(p);
	dport = net_get16(p + 2);
	seq = net_get32(p + 4);
	ack = net_get32(p + 8);
	flags = p[13];
	wnd = net_get16(p + 14);
	data = p + hl;
	dlen = (uint32_t)(len - hl);
	if (!sport || !dport)
		goto bad;
	if (flags & TH_SYN)
		tcp_parse_opts(p + 20, hl - 20, &o);

	c = tcp_lookup(s, src, sport, dport);
	if (!c) {
		struct uk_tcp *l = tcp_listener(s, dport);
		if (flags & TH_RST)
			return;
		if (l && !(flags & TH_ACK)) {
			if ((flags & TH_SYN) && !(flags & TH_FIN))
				tcp_syn_to_listener(s, l, src, sport, seq, wnd, &o);
			return;
		}
		if (flags & TH_ACK)
			tcp_send_rst(s, src, sport, dport, ack, 0, TH_RST);
		else
			tcp_send_rst(s, src, sport, dport, 0,
			             seq + dlen + !!(flags & TH_SYN) + !!(flags & TH_FIN),
			             TH_RST | TH_ACK);
		return;
	}
	s->events++;

	if (c->state == UK_TCP_SYN_SENT) {
		if ((flags & TH_ACK) && (SEQ_LEQ(ack, c->iss) || SEQ_GT(ack, c->snd_max))) {
			if (flags & TH_RST)
				return;
			tcp_send_rst(s, src, sport, dport, ack, 0, TH_RST);
			/*
			 * An old connection on this port pair still lives at the peer (we
			 * restarted; it waits in LAST_ACK or TIME_WAIT for an ACK that never comes)
			 * and answered our SYN with its ACK. The RST ends it: SYN again now rather
			 * than after the RTO (a second of stall per dial), once per connect.
			 */
			if (!c->syn_again) {
				c->syn_again = 1;
				c->snd_nxt = c->iss;
				tcp_output(c);
			}
			return;
		}
		if (flags & TH_RST) {
			if (flags & TH_ACK)
				tcp_done(c, UK_TCP_RESET); /* refused */
			return;
		}
		if (!(flags & TH_SYN))
			return;
		c->irs = seq;
		c->rcv_nxt = seq + 1;
		tcp_apply_syn_opts(c, &o);
		if (flags & TH_ACK) {
			c->snd_una = ack;
			c->snd_wnd = wnd << c->snd_wscale;
			c->snd_wl1 = seq;
			c->snd_wl2 = ack;
			if (c->rtt_active || c->retries == 0)
				tcp_rtt_sample(c, s->now - c->rtt_start);
			c->rtt_active = 0;
			tcp_established(c);
			c->ack_now = 1;
			tcp_want_output(c);
		} else {
			/* Simultaneous open: send SYN,ACK from the same ISS. */
			c->state = UK_TCP_SYN_RECEIVED;
			c->snd_wnd = wnd;
			c->snd_nxt = c->iss;
			tcp_output(c);
		}
		return;
	}

	/* First check: is the sequence number acceptable? */
	seglen = dlen + !!(flags & TH_SYN) + !!(flags & TH_FIN);
	if (c->state == UK_TCP_TIME_WAIT && (flags & TH_FIN) && !(flags & TH_RST) &&
	    seq + seglen == c->rcv_nxt) {
		/* The peer's FIN again: our last ACK was lost. ACK it, restart 2 MSL. */
		c->t_close = s->now + 2 * TCP_MSL;
		net_timer_at(s, c->t_close);
		c->ack_now = 1;
		tcp_want_output(c);
		return;
	}
	{
		uint32_t rw = rcv_window(c), space = c->rcv.max - c->rcv.len;
		int ok;
		if (space > rw)
			rw = space;
		if (c->state == UK_TCP_TIME_WAIT || c->fin_rcvd)
			rw = rw ? rw : 1;
		/*
		 * With our window at zero, a bare ACK is taken whatever its
		 * sequence number ("special allowance should be made to accept
		 * valid ACKs", RFC 9293 3.10.7.4): the peer's window update may
		 * carry a sequence number past data we dropped for want of room,
		 * and ignoring it left both sides waiting on each other. Its ACK
		 * field is still checked below (never past snd_max).
		 */
		if (!seglen)
			ok = rw ? (SEQ_LEQ(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + rw))
			        : seq == c->rcv_nxt || ((flags & TH_ACK) && !(flags & TH_RST));
		else
			ok = rw && ((SEQ_LEQ(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + rw)) ||
			            (SEQ_LEQ(c->rcv_nxt, seq + seglen - 1) &&
			             SEQ_LT(seq + seglen - 1, c->rcv_nxt + rw)));
		if (!ok) {
			if (!(flags & TH_RST)) {
				c->ack_now = 1;
				tcp_want_output(c);
			}
			return;
		}
	}
	/* Second: RST (RFC 5961 3.2: exact match resets, in-window gets a challenge ACK). */
	if (flags & TH_RST) {
		if (seq == c->rcv_nxt) {
			if (c->state == UK_TCP_TIME_WAIT || c->state == UK_TCP_LAST_ACK ||
			    c->state == UK_TCP_CLOSING)
				tcp_done(c, UK_TCP_CLOSED);
			else
				tcp_done(c, UK_TCP_RESET);
		} else {
			c->ack_now = 1;
			tcp_want_output(c);
		}
		return;
	}
	/* Fourth: SYN in a synchronized state gets a challenge ACK (RFC 5961 4). */
	if (flags & TH_SYN) {
		if (c->state == UK_TCP_SYN_RECEIVED && seq == c->irs) {
			c->snd_nxt = c->iss; /* our SYN,ACK was lost: send it again */
			tcp_output(c);
			return;
		}
		c->ack_now = 1;
		tcp_want_output(c);
		return;
	}
	if (!(flags & TH_ACK))
		return;
	if (c->state == UK_TCP_SYN_RECEIVED) {
		if (SEQ_LEQ(ack, c->snd_una) || SEQ_GT(ack, c->snd_max)) {
			tcp_send_rst(s, src, sport, dport, ack, 0, TH_RST);
			return;
		}
		c->snd_una = ack;
		c->snd_wnd = wnd << c->snd_wscale;
		c->snd_wl1 = seq;
		c->snd_wl2 = ack;
		if (c->retries == 0)
			tcp_rtt_sample(c, s->now - c->rtt_start);
		tcp_established(c);
		if (c->parent) {
			struct uk_tcp *l = c->parent;
			c->queued = 1;
			c->acc_next = NULL;
			if (l->acc_tail)
				l->acc_tail->acc_next = c;
			else
				l->acc_head = c;
			l->acc_tail = c;
			tcp_notify(l);
		}
	}
	if (c->state == UK_TCP_TIME_WAIT) {
		if (flags & TH_FIN) {
			c->ack_now = 1;
			c->t_close = s->now + 2 * TCP_MSL;
			net_timer_at(s, c->t_close);
			tcp_want_output(c);
		}
		return;
	}
	if (!tcp_ack(c, seq, ack, wnd << c->snd_wscale, dlen, flags))
		return;

	/* Seventh: segment text, and eighth: FIN. */
	if (c->state != UK_TCP_ESTABLISHED && c->state != UK_TCP_FIN_WAIT_1 &&
	    c->state != UK_TCP_FIN_WAIT_2)
		return;
	if (!seglen)
		return;
	if (!c->owned && !c->parent && dlen) {
		/* Data for a connection the application closed: nobody will read it. */
		tcp_send(c, c->snd_nxt, TH_RST, 0, 0);
		tcp_done(c, UK_TCP_CLOSED);
		return;
	}
	{
		int fin = !!(flags & TH_FIN);
		uint32_t rw = c->rcv.max - c->rcv.len;
		if (SEQ_LT(seq, c->rcv_nxt)) {
			uint32_t skip = c->rcv_nxt - seq;
			if (skip >= dlen) {
				skip = dlen;
			}
			data += skip;
			dlen -= skip;
			seq += skip;
		}
		if (dlen > rw + (seq - c->rcv_nxt) && SEQ_GEQ(seq, c->rcv_nxt)) {
			uint32_t keep = rw > seq - c->rcv_nxt ? rw - (seq - c->rcv_nxt) : 0;
			if (keep < dlen) {
				dlen = keep;
				fin = 0;
			}
		}
		if (seq == c->rcv_nxt) {
			uint32_t took = dlen ? tcp_take(c, data, dlen) : 0;
			if (took < dlen)
				fin = 0;
			if (took)
				tcp_notify(c);
			if (fin && !c->fin_rcvd)
				tcp_fin_received(c);
			if (c->ooo) {
				tcp_ooo_drain(c);
				c->ack_now = 1; /* we filled a hole: tell the sender at once */
			}
			if (took) {
				/* An ACK at least every second full-sized segment (RFC 9293
				 * 3.8.6.3), counted in bytes as Linux does: a response of a
				 * segment and a bit is no reason to ACK at once, the ACK rides
				 * on the next request the application sends. Less waits for
				 * the delayed-ACK timer (40 ms, RFC 1122's bound is 500 ms). A
				 * small receive buffer lowers the bar: half of it unacked. A
				 * segment a NIC did not cut (GUEST_TSO4) counts as the bytes it
				 * carries: one of two MSS or more is acknowledged at once. */
				uint32_t bar =
				        2u * c->mss < c->rcv.max / 2 ? 2u * c->mss : c->rcv.max / 2;
				if (c->rcv_nxt - c->rcv_acked >= bar)
					c->ack_now = 1;
				else if (!c->t_delack) {
					c->t_delack = s->now + TCP_DELACK;
					net_timer_at(s, c->t_delack);
				}
			}
			if (took < dlen)
				c->ack_now = 1;
		} else if (SEQ_GT(seq, c->rcv_nxt)) {
			if (dlen || fin)
				tcp_ooo_insert(c, seq, data, dlen, fin);
			c->ack_now = 1; /* a duplicate ACK drives the peer's fast retransmit */
		} else {
			c->ack_now = 1;
		}
		/* ACK at once (every second segment, out of order, hole filled): deferring to
		 * the end of the poll step would merge the duplicate ACKs fast retransmit needs. */
		if (c->ack_now)
			tcp_output(c);
	}
	return;
bad:
	s->st.rx_bad++;
}

/* --- timers --- */

static void tcp_timeout(struct uk_tcp *c)
{
	struct uk_net *s = c->s;
	int max = (c->state == UK_TCP_SYN_SENT || c->state == UK_TCP_SYN_RECEIVED) ? TCP_SYN_RETRIES
	                                                                           : TCP_RETRIES;

	c->t_rexmt = 0;
	if (c->persist) {
		/* Window probe: one byte past the window, then back off. */
		uint32_t off = c->snd_nxt - c->snd_buf_seq;
		if (c->snd_wnd == 0 && off < c->snd.len) {
			tcp_send(c, c->snd_nxt, TH_ACK, off, 1);
			c->rto = c->rto * 2 > TCP_RTO_MAX ? TCP_RTO_MAX : c->rto * 2;
			tcp_arm_rexmt(c);
		} else {
			c->persist = 0;
			tcp_want_output(c);
		}
		return;
	}
	if (c->snd_una == c->snd_max)
		return;
	if (++c->retries > max) {
		if (c->state != UK_TCP_SYN_SENT)
			tcp_send(c, c->snd_nxt, TH_RST, 0, 0);
		tcp_done(c, UK_TCP_TIMED_OUT);
		return;
	}
	s->st.tcp_retransmits++;
	uint32_t f = flight(c);
	c->ssthresh = f / 2 > 2u * c->mss ? f / 2 : 2u * c->mss;
	c->cwnd = c->mss;
	c->recover = c->snd_max;
	c->in_recovery = 0;
	c->dupacks = 0;
	c->rtt_active = 0;
	c->rto = c->rto * 2 > TCP_RTO_MAX ? TCP_RTO_MAX : c->rto * 2;
	c->snd_nxt = c->snd_una; /* go back N */
	tcp_arm_rexmt(c);
	tcp_output(c);
	/*
	 * A zero window with data outstanding: tcp_output sent nothing, and the
	 * persist timer only runs when nothing is in flight. Resend the first
	 * unacknowledged byte as a probe (RFC 9293 3.8.6.1): the peer answers
	 * with its current window. Else a lost window update leaves both sides
	 * silent until the retries run out.
	 */
	if (c->snd_wnd == 0 && c->snd_nxt == c->snd_una) {
		uint32_t off = c->snd_una - c->snd_buf_seq;
		if (off < c->snd.len) {
			tcp_send(c, c->snd_una, TH_ACK, off, 1);
			c->snd_nxt = c->snd_una + 1;
		}
	}
}

void net_tcp_timers(struct uk_net *s)
{
	struct uk_tcp *c, *next;

	for (c = s->all; c; c = next) {
		next = c->anext;
		if (c->t_close && c->t_close <= s->now) {
			s->events++;
			c->t_close = 0;
			tcp_done(c, UK_TCP_CLOSED);
			continue;
		}
		if (c->t_delack && c->t_delack <= s->now) {
			s->events++;
			c->t_delack = 0;
			c->ack_now = 1;
			tcp_want_output(c);
		}
		if (c->t_rexmt && c->t_rexmt <= s->now) {
			s->events++;
			tcp_timeout(c);
			/* (c) may be gone, but (next) is still valid: tcp_release only frees (c).
			 */
			continue;
		}
		net_timer_at(s, c->t_rexmt);
		net_timer_at(s, c->t_delack);
		net_timer_at(s, c->t_close);
	}
}

void net_tcp_flush(struct uk_net *s)
{
	while (s->out_head) {
		struct uk_tcp *c = s->out_head;
		s->out_head = c->out_next;
		c->out_pending = 0;
		tcp_output(c);
	}
}

void net_tcp_arp_resolved(struct uk_net *s)
{
	s->tcp_arp_wait = 0;
	for (struct uk_tcp *c = s->all; c; c = c->anext) {
		if (!c->arp_wait)
			continue;
		c->arp_wait = 0;
		if (SEQ_GEQ(c->arp_seq, c->snd_una) && SEQ_LT(c->arp_seq, c->snd_nxt)) {
			c->snd_nxt = c->arp_seq; /* back to the first segment not sent */
			c->rtt_active = 0;       /* Karn: no sample from a segment sent twice */
		}
		tcp_want_output(c);
	}
}

unsigned uk_tcp_events(struct uk_tcp *c)
{
	unsigned ev = 0;

	if (!c)
		return 0;
	if (c->listener)
		return c->acc_head ? UK_NET_READABLE : 0;
	if (c->rcv.len || c->fin_rcvd)
		ev |= UK_NET_READABLE;
	if (c->fin_rcvd)
		ev |= UK_NET_HUP;
	if (c->state == UK_TCP_RESET || c->state == UK_TCP_TIMED_OUT)
		ev |= UK_NET_ERROR | UK_NET_READABLE;
	if ((c->state == UK_TCP_ESTABLISHED || c->state == UK_TCP_CLOSE_WAIT) && !c->fin_queued &&
	    c->snd.len < c->snd.max)
		ev |= UK_NET_WRITABLE;
	return ev;
}

void net_tcp_notify_run(struct uk_net *s)
{
	while (s->notify_head) {
		struct uk_tcp *c = s->notify_head;
		s->notify_head = c->notify_next;
		if (!s->notify_head)
			s->notify_tail = NULL;
		c->notify = 0;
		if (c->cb)
			c->cb(c, uk_tcp_events(c), c->cb_arg);
	}
}

int net_tcp_init(struct uk_net *s)
{
	s->hash = calloc(NET_TCP_HASH, sizeof(*s->hash));
	return s->hash ? 0 : -1;
}

void net_tcp_free_all(struct uk_net *s)
{
	while (s->listeners) {
		struct uk_tcp *l = s->listeners;
		s->listeners = l->hnext;
		net_free(s, l, sizeof(*l));
	}
	while (s->all) {
		s->all->owned = 0;
		s->all->parent = NULL;
		s->all->queued = 0;
		tcp_release(s->all);
	}
	free(s->hash);
	s->hash = NULL;
}

/* --- the public API --- */

struct uk_tcp *uk_tcp_listen(uint16_t port, int backlog)
{
	struct uk_net *s = uk_net_cur;
	struct uk_tcp *l;

	if (!s || !port || backlog < 1 || backlog > 1024 || tcp_listener(s, port))
		return NULL;
	l = net_alloc(s, sizeof(*l));
	if (!l)
		return NULL;
	memset(l, 0, sizeof(*l));
	l->s = s;
	l->listener = 1;
	l->owned = 1;
	l->state = UK_TCP_LISTEN;
	l->lport = port;
	l->backlog = backlog;
	l->hnext = s->listeners;
	s->listeners = l;
	return l;
}

struct uk_tcp *uk_tcp_accept(struct uk_tcp *l)
{
	struct uk_tcp *c;

	if (!l || !l->listener || !l->acc_head)
		return NULL;
	c = l->acc_head;
	l->acc_head = c->acc_next;
	if (!l->acc_head)
		l->acc_tail = NULL;
	c->queued = 0;
	c->parent = NULL;
	l->children--;
	c->owned = 1;
	c->cb = l->cb;
	c->cb_arg = l->cb_arg;
	if (uk_tcp_events(c))
		tcp_notify(c);
	return c;
}

static int port_in_use(struct uk_net *s, uint32_t ip, uint16_t rport, uint16_t lport)
{
	return tcp_listener(s, lport) || tcp_lookup(s, ip, rport, lport);
}

struct uk_tcp *uk_tcp_connect(uint32_t ip, uint16_t port)
{
	struct uk_net *s = uk_net_cur;
	struct uk_tcp *c;
	uint16_t lport = 0;

	if (!s || !s->ip || !ip || !port || ip == s->ip || ip == 0xffffffffu)
		return NULL;
	s->now = s->clock();
	for (int i = 0; i < 16384 && !lport; i++) {
		uint16_t p = (uint16_t)(49152 + (s->eph_next++ & 16383));
		if (!port_in_use(s, ip, port, p))
			lport = p;
	}
	if (!lport)
		return NULL;
	c = tcp_new(s);
	if (!c)
		return NULL;
	c->owned = 1;
	c->lip = net_src_for(s, ip); /* the NIC the route to (ip) takes */
	c->rip = ip;
	c->lport = lport;
	c->rport = port;
	c->state = UK_TCP_SYN_SENT;
	c->rcv_wscale = wscale_for(c->rcv.max);
	c->iss = tcp_isn(s, c);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_buf_seq = c->iss + 1;
	c->recover = c->iss;
	c->rtt_start = s->now;
	tcp_hash_add(c);
	tcp_output(c);
	return c;
}

long uk_tcp_read(struct uk_tcp *c, void *buf, size_t len)
{
	uint32_t n, before;

	if (!c || c->listener || (len && !buf))
		return UK_EINVAL;
	if (c->rcv.len) {
		n = len < c->rcv.len ? (uint32_t)len : c->rcv.len;
		before = rcv_window(c);
		ring_peek(&c->rcv, 0, buf, n);
		ring_drop(&c->rcv, n);
		if (!c->rcv.len && c->rcv.cap > TCP_RING_MIN)
			ring_free(c->s, &c->rcv); /* idle connections hold no buffer */
		/* Window update when it opened by two segments or half the buffer. */
		uint32_t after = c->rcv.max - c->rcv.len;
		uint32_t step = 2u * c->mss < c->rcv.max / 2 ? 2u * c->mss : c->rcv.max / 2;
		if (c->hashed && !c->fin_rcvd && after >= before + step) {
			c->ack_now = 1;
			tcp_want_output(c);
		}
		return (long)n;
	}
	if (c->state == UK_TCP_RESET || c->state == UK_TCP_TIMED_OUT)
		return UK_EUNSPEC;
	if (c->fin_rcvd || c->state == UK_TCP_CLOSED)
		return 0;
	return UK_EAGAIN;
}

long uk_tcp_write(struct uk_tcp *c, const void *buf, size_t len)
{
	uint32_t n;

	if (!c || c->listener || (len && !buf))
		return UK_EINVAL;
	if (c->state == UK_TCP_RESET || c->state == UK_TCP_TIMED_OUT)
		return UK_EUNSPEC;
	if (c->fin_queued)
		return UK_EINVAL;
	if (c->state == UK_TCP_SYN_SENT || c->state == UK_TCP_SYN_RECEIVED)
		return UK_EAGAIN;
	if (c->state != UK_TCP_ESTABLISHED && c->state != UK_TCP_CLOSE_WAIT)
		return UK_EINVAL;
	if (!len)
		return 0;
	n = len > 0x40000000u ? 0x40000000u : (uint32_t)len;
	n = n < ring_reserve(c->s, &c->snd, n) ? n : ring_reserve(c->s, &c->snd, n);
	if (!n)
		return UK_EAGAIN;
	ring_put(&c->snd, buf, n);
	tcp_want_output(c);
	return (long)n;
}

uk_result_t uk_tcp_shutdown(struct uk_tcp *c)
{
	if (!c || c->listener)
		return UK_EINVAL;
	if (c->fin_queued)
		return UK_OK;
	if (c->state == UK_TCP_ESTABLISHED || c->state == UK_TCP_SYN_RECEIVED)
		c->state = UK_TCP_FIN_WAIT_1;
	else if (c->state == UK_TCP_CLOSE_WAIT)
		c->state = UK_TCP_LAST_ACK;
	else
		return UK_EINVAL;
	c->fin_queued = 1;
	c->fin_seq = c->snd_buf_seq + c->snd.len;
	tcp_want_output(c);
	return UK_OK;
}

static void tcp_listener_close(struct uk_tcp *l)
{
	struct uk_net *s = l->s;
	struct uk_tcp **pp, *c, *next;

	for (pp = &s->listeners; *pp; pp = &(*pp)->hnext)
		if (*pp == l) {
			*pp = l->hnext;
			break;
		}
	for (c = s->all; c; c = next) {
		next = c->anext;
		if (c->parent == l) {
			tcp_send(c, c->snd_nxt, TH_RST, 0, 0);
			tcp_release(c);
		}
	}
	if (l->notify)
		list_remove(&s->notify_head, &s->notify_tail, l,
		            offsetof(struct uk_tcp, notify_next));
	net_free(s, l, sizeof(*l));
}

void uk_tcp_abort(struct uk_tcp *c)
{
	if (!c)
		return;
	if (c->listener) {
		tcp_listener_close(c);
		return;
	}
	c->owned = 0;
	c->cb = NULL;
	if (c->hashed && c->state != UK_TCP_SYN_SENT && c->state != UK_TCP_TIME_WAIT)
		tcp_send(c, c->snd_nxt, TH_RST | TH_ACK, 0, 0);
	tcp_release(c);
}

void uk_tcp_close(struct uk_tcp *c)
{
	if (!c)
		return;
	if (c->listener) {
		tcp_listener_close(c);
		return;
	}
	if (c->rcv.len || c->ooo) {
		uk_tcp_abort(c); /* unread data: RFC 9293 3.6 / RFC 2525 2.17 */
		return;
	}
	c->owned = 0;
	c->cb = NULL;
	if (c->notify)
		list_remove(&c->s->notify_head, &c->s->notify_tail, c,
		            offsetof(struct uk_tcp, notify_next));
	c->notify = 0;
	switch (c->state) {
	case UK_TCP_ESTABLISHED:
	case UK_TCP_CLOSE_WAIT:
	case UK_TCP_SYN_RECEIVED:
		uk_tcp_shutdown(c);
		break;
	case UK_TCP_FIN_WAIT_2:
		c->s->now = c->s->clock();
		c->t_close = c->s->now + TCP_FIN_WAIT_2_ORPHAN;
		net_timer_at(c->s, c->t_close);
		break;
	case UK_TCP_FIN_WAIT_1:
	case UK_TCP_CLOSING:
	case UK_TCP_LAST_ACK:
	case UK_TCP_TIME_WAIT:
		break;
	default:
		tcp_release(c);
		break;
	}
}

uk_tcp_state_t uk_tcp_state(struct uk_tcp *c)
{
	return c ? c->state : UK_TCP_CLOSED;
}

void uk_tcp_peer(struct uk_tcp *c, uint32_t *ip, uint16_t *port)
{
	if (ip)
		*ip = c ? (c->listener ? c->s->ip : c->rip) : 0;
	if (port)
		*port = c ? (c->listener ? c->lport : c->rport) : 0;
}

void uk_tcp_set_callback(struct uk_tcp *c, uk_tcp_callback_t fn, void *arg)
{
	if (!c)
		return;
	c->cb = fn;
	c->cb_arg = arg;
}
