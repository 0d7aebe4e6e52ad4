/* The stack's core: device registry, Ethernet, ARP, IPv4, ICMP echo, configuration and the poll
 * loop. */
#include <stdlib.h>
#include <string.h>
#include <uk/internal.h>

#include "net_internal.h"

static struct uk_netdev *netdevs;
struct uk_net *uk_net_cur;

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* --- device registry --- */

uk_result_t uk_netdev_register(struct uk_netdev *dev)
{
	struct uk_netdev **pp;

	if (!dev || !dev->ops || !dev->ops->tx || !dev->ops->rx)
		return UK_EINVAL;
	for (pp = &netdevs; *pp; pp = &(*pp)->next)
		if (*pp == dev)
			return UK_EINVAL;
	dev->next = NULL;
	*pp = dev;
	return UK_OK;
}

struct uk_netdev *uk_netdev_first(void)
{
	return netdevs;
}

struct uk_netdev *uk_netdev_next(struct uk_netdev *dev)
{
	return dev ? dev->next : NULL;
}

/* --- helpers --- */

uint64_t net_now(struct uk_net *s)
{
	return s->now;
}

/*
 * The one's complement sum is the same in either byte order (RFC 1071 2(B)): add the data as
 * little-endian 64-bit words with end-around carry, fold, swap the two bytes back to the wire's
 * order. Under TCG a guest instruction costs several host ones: this is some 6 times fewer
 * than two bytes a step, and every frame sent and received goes through it at least once.
 */
uint32_t net_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t acc = 0, w;
	uint32_t le;

	for (; len >= 8; p += 8, len -= 8) {
		__builtin_memcpy(&w, p, 8);
		acc += w;
		acc += acc < w;
	}
	w = 0;
	for (size_t i = 0; i < len; i++) /* the tail, in its lanes; an odd byte is a high byte */
		w |= (uint64_t)p[i] << (8 * i);
	acc += w;
	acc += acc < w;
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	le = (uint32_t)acc;
	le = (le & 0xffff) + (le >> 16);
	le = (le & 0xffff) + (le >> 16);
	sum += ((le & 0xff) << 8) | (le >> 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

void net_csum_complete(uint8_t *f, size_t flen, const struct uk_netdev_meta *m)
{
	uint8_t *c = f + m->csum_start + m->csum_offset;

	net_put16(c, net_csum_fold(net_csum_add(0, f + m->csum_start, flen - m->csum_start)));
}

void net_tcp_csum(struct uk_net *s, uint8_t *t, uint32_t sum, size_t len)
{
	if ((s->dev->flags & UK_NETDEV_F_TX_CSUM) && s->dev->ops->tx_meta) {
		/* The field holds the folded pseudo-header sum; the device adds the rest. */
		net_put16(t + 16, (uint16_t)~net_csum_fold(sum));
		s->txm.flags = UK_NETDEV_M_CSUM_PARTIAL;
		s->txm.csum_start = NET_ETH_HLEN + NET_IP_HLEN;
		s->txm.csum_offset = 16;
		s->st.tx_csum_offloaded++;
		return;
	}
	net_put16(t + 16, net_csum_fold(net_csum_add(sum, t, len)));
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff);
	return sum + proto + len;
}

void net_timer_at(struct uk_net *s, uint64_t t)
{
	if (t && t < s->next_timer)
		s->next_timer = t;
}

int net_mem_ok(struct uk_net *s, size_t n)
{
	return s->mem_used + n <= s->mem_limit;
}

void *net_alloc(struct uk_net *s, size_t n)
{
	void *p;

	if (!net_mem_ok(s, n))
		return NULL;
	p = malloc(n);
	if (p)
		s->mem_used += n;
	return p;
}

void net_free(struct uk_net *s, void *p, size_t n)
{
	if (!p)
		return;
	free(p);
	s->mem_used -= n;
}

static uint64_t default_clock(void)
{
	return uk_time_monotonic_ns();
}

/* --- ARP (RFC 826) --- */

/* Sends a frame with offloads (m) (NULL: none). Outside uk_net_step (an app's send, close or
 * abort) the device is flushed at once: nothing later would. */
static void dev_tx(struct uk_net *s, const uint8_t *frame, size_t len,
                   const struct uk_netdev_meta *m)
{
	uk_result_t r = s->dev->ops->tx_meta ? s->dev->ops->tx_meta(s->dev, frame, len, m)
	                                     : s->dev->ops->tx(s->dev, frame, len);

	if (r == UK_OK) {
		s->st.tx_frames++;
		s->dev->tx_frames++;
	} else {
		s->dev->tx_dropped++;
	}
	if (!s->in_step && s->dev->ops->flush)
		s->dev->ops->flush(s->dev);
}

static void eth_header(struct uk_net *s, uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, s->dev->mac, 6);
	net_put16(f + 12, type);
}

static void arp_send(struct uk_net *s, uint16_t op, const uint8_t *dmac, uint32_t tip,
                     const uint8_t *tmac)
{
	uint8_t f[NET_ETH_HLEN + 28];
	uint8_t *a = f + NET_ETH_HLEN;

	eth_header(s, f, dmac, NET_ETH_ARP);
	net_put16(a, 1);
	net_put16(a + 2, NET_ETH_IP);
	a[4] = 6;
	a[5] = 4;
	net_put16(a + 6, op);
	memcpy(a + 8, s->dev->mac, 6);
	net_put32(a + 14, s->ip);
	memcpy(a + 18, tmac, 6);
	net_put32(a + 24, tip);
	dev_tx(s, f, sizeof(f), NULL);
}

static struct net_arp *arp_find(struct uk_net *s, uint32_t ip)
{
	for (int i = 0; i < NET_ARP_SIZE; i++)
		if (s->arp[i].state && s->arp[i].ip == ip) {
			if (s->arp[i].state == 2 && s->arp[i].expires <= s->now) {
				s->arp[i].state = 0;
				return NULL;
			}
			return &s->arp[i];
		}
	return NULL;
}

/* A free entry, or the one that expires first (never one still resolving with frames queued). */
static struct net_arp *arp_slot(struct uk_net *s)
{
	struct net_arp *best = NULL;

	for (int i = 0; i < NET_ARP_SIZE; i++) {
		struct net_arp *e = &s->arp[i];
		if (!e->state)
			return e;
		if (e->state == 2 && (!best || e->expires < best->expires))
			best = e;
	}
	return best;
}

/* (e) starts resolving (hop) on the current NIC: the first request out, a retry timer set. */
static void arp_ask(struct uk_net *s, struct net_arp *e, uint32_t hop)
{
	e->ip = hop;
	e->ifx = (uint8_t)s->cur_if;
	e->state = 1;
	e->tries = 1;
	e->expires = s->now + NET_ARP_RETRY;
	net_timer_at(s, e->expires);
	arp_send(s, 1, bcast_mac, hop, (const uint8_t[6]){0});
}

static void arp_flush_pending(struct uk_net *s, uint32_t ip, const uint8_t *mac, int drop)
{
	for (int i = 0; i < NET_ARP_PENDING; i++) {
		struct net_pending *p = &s->pend[i];
		if (!p->frame || p->nexthop != ip)
			continue;
		if (!drop) {
			memcpy(p->frame, mac, 6);
			dev_tx(s, p->frame, p->len, NULL);
		}
		free(p->frame);
		p->frame = NULL;
		p->nexthop = 0;
	}
}

static void arp_learn(struct uk_net *s, uint32_t ip, const uint8_t *mac, int create)
{
	struct net_arp *e = arp_find(s, ip);

	if (!e) {
		if (!create)
			return;
		e = arp_slot(s);
		if (!e)
			return;
	}
	e->ip = ip;
	e->ifx = (uint8_t)s->cur_if;
	memcpy(e->mac, mac, 6);
	e->state = 2;
	e->tries = 0;
	e->expires = s->now + NET_ARP_EXPIRE;
	arp_flush_pending(s, ip, mac, 0);
	if (s->tcp_arp_wait)
		net_tcp_arp_resolved(s);
}

static void arp_input(struct uk_net *s, const uint8_t *f, size_t len)
{
	const uint8_t *a = f + NET_ETH_HLEN;
	uint32_t sip, tip;
	uint16_t op;

	if (len < NET_ETH_HLEN + 28 || net_get16(a) != 1 || net_get16(a + 2) != NET_ETH_IP ||
	    a[4] != 6 || a[5] != 4) {
		s->st.rx_bad++;
		return;
	}
	op = net_get16(a + 6);
	sip = net_get32(a + 14);
	tip = net_get32(a + 24);
	if (!s->ip || (a[8] & 1))
		return; /* no address yet, or a multicast sender: ignore */
	if (sip && sip != s->ip)
		arp_learn(s, sip, a + 8, tip == s->ip);
	if (op == 1 && tip == s->ip)
		arp_send(s, 2, a + 8, sip, a + 8);
}

int uk_net_arp_resolved(uint32_t ip)
{
	struct net_arp *e;

	if (!uk_net_cur)
		return 0;
	uk_net_cur->now = uk_net_cur->clock();
	e = arp_find(uk_net_cur, ip);
	return e && e->state == 2;
}

static void arp_timers(struct uk_net *s)
{
	int prev = s->cur_if;

	for (int i = 0; i < NET_ARP_SIZE; i++) {
		struct net_arp *e = &s->arp[i];
		if (e->state != 1)
			continue;
		if (e->expires <= s->now) {
			if (e->tries >= NET_ARP_TRIES) {
				arp_flush_pending(s, e->ip, NULL, 1);
				e->state = 0;
				continue;
			}
			e->tries++;
			e->expires = s->now + NET_ARP_RETRY;
			net_if_use(s, e->ifx <= s->nextra ? e->ifx : 0); /* asked on its NIC */
			arp_send(s, 1, bcast_mac, e->ip, (const uint8_t[6]){0});
			net_if_use(s, prev);
			s->events++;
		}
		net_timer_at(s, e->expires);
	}
}

/* --- several NICs: the one a packet uses --- */

void net_if_use(struct uk_net *s, int k)
{
	if (k == s->cur_if)
		return;
	s->ifs[s->cur_if] = (struct net_if){s->dev, s->ip, s->mask, s->gw};
	s->dev = s->ifs[k].dev;
	s->ip = s->ifs[k].ip;
	s->mask = s->ifs[k].mask;
	s->gw = s->ifs[k].gw;
	s->cur_if = k;
}

static struct net_if if_get(struct uk_net *s, int k)
{
	return k == s->cur_if ? (struct net_if){s->dev, s->ip, s->mask, s->gw} : s->ifs[k];
}

/* The NIC for a packet from (src) (0: any) to (dst): see net_internal.h. */
static int if_route(struct uk_net *s, uint32_t src, uint32_t dst)
{
	for (int k = 0; src && k <= s->nextra; k++)
		if (if_get(s, k).ip == src)
			return k;
	for (int k = 0; k <= s->nextra; k++) {
		struct net_if f = if_get(s, k);
		if (f.ip && (dst & f.mask) == (f.ip & f.mask))
			return k;
	}
	return 0;
}

uint32_t net_src_for(struct uk_net *s, uint32_t dst)
{
	return if_get(s, if_route(s, 0, dst)).ip;
}

uint32_t net_tcp_seg_max(struct uk_net *s, uint32_t src, uint32_t dst, uint16_t mss)
{
	struct uk_netdev *d = s->nextra ? if_get(s, if_route(s, src, dst)).dev : s->dev;
	uint32_t most = UK_NETDEV_GSO_MAX - NET_ETH_HLEN - NET_IP_HLEN - 20; /* TCP, no options */

	if (!mss || !d->ops->tx_meta ||
	    (d->flags & (UK_NETDEV_F_TSO4 | UK_NETDEV_F_TX_CSUM)) !=
	            (UK_NETDEV_F_TSO4 | UK_NETDEV_F_TX_CSUM))
		return mss;
	return most / mss * mss;
}

unsigned net_tx_pending(struct uk_net *s)
{
	unsigned n = 0;

	for (int k = 0; k <= s->nextra; k++) {
		struct uk_netdev *d = if_get(s, k).dev;
		if (d->ops->tx_pending)
			n += d->ops->tx_pending(d);
	}
	return n;
}

/* --- IPv4 output --- */

static uk_result_t ip_send_here(struct uk_net *s, uint32_t src, uint32_t dst, uint8_t proto,
                                size_t len);

uk_result_t net_ip_send(struct uk_net *s, uint32_t src, uint32_t dst, uint8_t proto, size_t len)
{
	int prev = s->cur_if;
	uk_result_t r;

	if (!s->nextra || dst == 0xffffffffu)
		return ip_send_here(s, src, dst, proto, len);
	net_if_use(s, if_route(s, src, dst));
	r = ip_send_here(s, src, dst, proto, len);
	net_if_use(s, prev);
	return r;
}

/* Sends on the NIC in use (s->dev). */
static uk_result_t ip_send_here(struct uk_net *s, uint32_t src, uint32_t dst, uint8_t proto,
                                size_t len)
{
	uint8_t *f = s->tx, *ip = f + NET_ETH_HLEN;
	size_t flen = NET_ETH_HLEN + NET_IP_HLEN + len;
	uint32_t hop;
	struct net_arp *e;
	struct uk_netdev_meta m = s->txm;

	s->txm.flags = 0; /* this frame's only */
	if ((m.flags & UK_NETDEV_M_GSO_TCPV4)
	            ? flen > UK_NETDEV_GSO_MAX || proto != NET_PROTO_TCP
	            : len > (size_t)s->mtu - NET_IP_HLEN || flen > NET_FRAME_MAX)
		return UK_EINVAL;
	ip[0] = 0x45;
	ip[1] = 0;
	net_put16(ip + 2, (uint16_t)(NET_IP_HLEN + len));
	net_put16(ip + 4, s->ip_id++);
	net_put16(ip + 6, 0x4000); /* DF: we never fragment */
	ip[8] = 64;
	ip[9] = proto;
	net_put16(ip + 10, 0);
	net_put32(ip + 12, src ? src : s->ip);
	net_put32(ip + 16, dst);
	net_put16(ip + 10, net_csum_fold(net_csum_add(0, ip, NET_IP_HLEN)));

	if (dst == 0xffffffffu || (s->ip && s->mask != 0xffffffffu && dst == (s->ip | ~s->mask))) {
		eth_header(s, f, bcast_mac, NET_ETH_IP);
		dev_tx(s, f, flen, &m);
		return UK_OK;
	}
	if (!s->ip)
		return UK_EAGAIN;
	if (dst == s->ip)
		return UK_EINVAL; /* no loopback path */
	hop = dst;
	if ((dst & s->mask) != (s->ip & s->mask)) {
		if (!s->gw)
			return UK_EINVAL;
		hop = s->gw;
	}
	e = arp_find(s, hop);
	if (e && e->state == 2) {
		eth_header(s, f, e->mac, NET_ETH_IP);
		dev_tx(s, f, flen, &m);
		return UK_OK;
	}
	/* Queue a copy until the address resolves (not a TSO frame: it is sent without its
	 * metadata; TCP sends it again once the address resolves, net_tcp_arp_resolved). */
	int slot = -1;
	for (int i = 0; i < NET_ARP_PENDING && !(m.flags & UK_NETDEV_M_GSO_TCPV4); i++)
		if (!s->pend[i].frame) {
			slot = i;
			break;
		}
	if (slot < 0) {
		if (!e && (m.flags & UK_NETDEV_M_GSO_TCPV4) && (e = arp_slot(s)))
			arp_ask(s, e, hop); /* still ask for the address */
		return UK_EAGAIN;
	}
	eth_header(s, f, bcast_mac, NET_ETH_IP);
	s->pend[slot].frame = malloc(flen);
	if (!s->pend[slot].frame)
		return UK_ENOMEM;
	memcpy(s->pend[slot].frame, f, flen);
	if (m.flags & UK_NETDEV_M_CSUM_PARTIAL) /* sent later without its metadata */
		net_csum_complete(s->pend[slot].frame, flen, &m);
	s->pend[slot].len = (uint16_t)flen;
	s->pend[slot].nexthop = hop;
	if (!e) {
		e = arp_slot(s);
		if (!e) {
			free(s->pend[slot].frame);
			s->pend[slot].frame = NULL;
			return UK_EAGAIN;
		}
		arp_ask(s, e, hop);
	}
	return UK_OK;
}

/* --- ICMP (RFC 792): echo --- */

static void icmp_input(struct uk_net *s, uint32_t src, const uint8_t *p, size_t len)
{
	if (len < 8 || net_csum_fold(net_csum_add(0, p, len)) != 0) {
		s->st.rx_bad++;
		return;
	}
	if (p[0] == 0 && p[1] == 0) {
		s->icmp_echo_replies++;
		s->icmp_last_id = net_get16(p + 4);
		s->icmp_last_seq = net_get16(p + 6);
		return;
	}
	if (p[0] != 8 || p[1] != 0 || len > NET_FRAME_MAX - NET_ETH_HLEN - NET_IP_HLEN)
		return;
	uint8_t *r = s->tx + NET_ETH_HLEN + NET_IP_HLEN;
	memcpy(r, p, len);
	r[0] = 0;
	net_put16(r + 2, 0);
	net_put16(r + 2, net_csum_fold(net_csum_add(0, r, len)));
	net_ip_send(s, s->ip, src, NET_PROTO_ICMP, len);
}

uk_result_t uk_net_ping(uint32_t ip, uint16_t id, uint16_t seq, const void *data, size_t len)
{
	struct uk_net *s = uk_net_cur;
	uint8_t *r;

	if (!s || len > (size_t)s->mtu - NET_IP_HLEN - 8)
		return UK_EINVAL;
	r = s->tx + NET_ETH_HLEN + NET_IP_HLEN;
	r[0] = 8;
	r[1] = 0;
	net_put16(r + 2, 0);
	net_put16(r + 4, id);
	net_put16(r + 6, seq);
	if (len)
		memcpy(r + 8, data, len);
	net_put16(r + 2, net_csum_fold(net_csum_add(0, r, len + 8)));
	return net_ip_send(s, 0, ip, NET_PROTO_ICMP, len + 8);
}

uint64_t uk_net_ping_replies(uint16_t *id, uint16_t *seq)
{
	if (!uk_net_cur)
		return 0;
	if (id)
		*id = uk_net_cur->icmp_last_id;
	if (seq)
		*seq = uk_net_cur->icmp_last_seq;
	return uk_net_cur->icmp_echo_replies;
}

/* --- IPv4 input (RFC 791) --- */

static void ip_input(struct uk_net *s, const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + NET_ETH_HLEN;
	size_t hl, tot;
	uint32_t src, dst;

	if (len < NET_ETH_HLEN + NET_IP_HLEN)
		goto bad;
	len -= NET_ETH_HLEN;
	hl = (size_t)(ip[0] & 15) * 4;
	tot = net_get16(ip + 2);
	if ((ip[0] >> 4) != 4 || hl < NET_IP_HLEN || tot < hl || tot > len)
		goto bad;
	if (net_csum_fold(net_csum_add(0, ip, hl)) != 0)
		goto bad;
	if (net_get16(ip + 6) & 0x3fff)
		return; /* a fragment (MF set or offset nonzero): dropped, see docs/net.md */
	src = net_get32(ip + 12);
	dst = net_get32(ip + 16);
	if ((src >> 24) == 127 || (src >> 28) == 14 || src == 0xffffffffu)
		return; /* martian source */
	if (ip[9] == NET_PROTO_UDP && s->dhcp.state) {
		/* DHCP offers arrive before we own the address they are sent to. */
		net_udp_input(s, src, dst, ip + hl, tot - hl);
		return;
	}
	if (!s->ip)
		return;
	if (dst != s->ip && dst != 0xffffffffu && dst != (s->ip | ~s->mask))
		return;
	switch (ip[9]) {
	case NET_PROTO_ICMP:
		if (dst == s->ip)
			icmp_input(s, src, ip + hl, tot - hl);
		break;
	case NET_PROTO_UDP:
		net_udp_input(s, src, dst, ip + hl, tot - hl);
		break;
	case NET_PROTO_TCP:
		if (dst == s->ip && src != s->ip && src != 0)
			net_tcp_input(s, src, dst, ip + hl, tot - hl);
		break;
	}
	return;
bad:
	s->st.rx_bad++;
}

void uk_net_input(struct uk_net *s, const uint8_t *f, size_t len)
{
	s->now = s->clock();
	s->st.rx_frames++;
	s->dev->rx_frames++;
	if (len < NET_ETH_HLEN ||
	    len > ((s->dev->flags & UK_NETDEV_F_RX_GSO) ? UK_NETDEV_GSO_MAX
	                                                : (size_t)s->mtu + NET_ETH_HLEN)) {
		s->st.rx_bad++;
		return;
	}
	if (memcmp(f, s->dev->mac, 6) && memcmp(f, bcast_mac, 6))
		return;
	switch (net_get16(f + 12)) {
	case NET_ETH_ARP:
		arp_input(s, f, len);
		break;
	case NET_ETH_IP:
		ip_input(s, f, len);
		break;
	}
}

/* --- stack lifetime and configuration --- */

static void stack_configure(struct uk_net *s, const struct uk_net_config *cfg)
{
	s->ip = cfg->dhcp ? 0 : cfg->ip;
	s->mask = cfg->dhcp ? 0 : cfg->netmask;
	s->gw = cfg->dhcp ? 0 : cfg->gateway;
	if (cfg->dhcp)
		net_dhcp_start(s);
}

/* Grows the stack's frame buffers for NIC (dev): 64 KiB frames out (UK_NETDEV_F_TSO4) or in
 * (UK_NETDEV_F_RX_GSO); without either they stay MTU-sized (slirp, Xen, the hosted tap).
 * Returns 0, -1 when memory runs out. */
static int bufs_fit(struct uk_net *s, struct uk_netdev *dev)
{
	uint8_t *p;

	if ((dev->flags & UK_NETDEV_F_TSO4) && s->txcap < NET_TX_CAP) {
		if (!(p = realloc(s->tx, NET_TX_CAP)))
			return -1;
		s->tx = p;
		s->txcap = NET_TX_CAP;
	}
	if ((dev->flags & UK_NETDEV_F_RX_GSO) && s->rxcap < UK_NETDEV_GSO_MAX + 4) {
		if (!(p = realloc(s->rxbuf, UK_NETDEV_GSO_MAX + 4)))
			return -1;
		s->rxbuf = p;
		s->rxcap = UK_NETDEV_GSO_MAX + 4;
	}
	return 0;
}

static int config_ok(const struct uk_net_config *cfg)
{
	return cfg && (cfg->dhcp || (cfg->ip && cfg->ip != 0xffffffffu));
}

struct uk_net *uk_net_stack_new(struct uk_netdev *dev, const struct uk_net_config *cfg)
{
	struct uk_net *s;

	if (!dev || !config_ok(cfg))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->dev = dev;
	s->mtu = dev->mtu ? dev->mtu : UK_NETDEV_MTU_DEFAULT;
	if (s->mtu < 576)
		s->mtu = 576;
	if (s->mtu > NET_FRAME_MAX - NET_ETH_HLEN)
		s->mtu = NET_FRAME_MAX - NET_ETH_HLEN; /* we never build bigger frames */
	s->rxcap = (size_t)(dev->mtu > s->mtu ? dev->mtu : s->mtu) + NET_ETH_HLEN + 4;
	s->rxbuf = malloc(s->rxcap);
	s->txcap = NET_FRAME_MAX + 64;
	s->tx = malloc(s->txcap);
	s->clock = default_clock;
	s->now = s->clock();
	s->next_timer = UINT64_MAX;
	s->sndbuf_max = 65536;
	s->rcvbuf_max = 65536;
	s->mem_limit = 64u << 20;
	uk_entropy_get(s->isn_key, sizeof(s->isn_key));
	uk_entropy_get(&s->ip_id, sizeof(s->ip_id));
	/* Each boot dials from its own first port (RFC 6056): a guest started again on the same
	 * address would meet its last life's connections, still held by its peers. */
	uk_entropy_get(&s->eph_next, sizeof(s->eph_next));
	if (!s->rxbuf || !s->tx || bufs_fit(s, dev) != 0 || net_tcp_init(s) != 0) {
		free(s->rxbuf);
		free(s->tx);
		free(s);
		return NULL;
	}
	stack_configure(s, cfg);
	return s;
}

void uk_net_stack_free(struct uk_net *s)
{
	if (!s)
		return;
	net_tcp_free_all(s);
	net_udp_free_all(s);
	for (int i = 0; i < NET_ARP_PENDING; i++)
		free(s->pend[i].frame);
	free(s->rxbuf);
	free(s->tx);
	if (uk_net_cur == s)
		uk_net_cur = NULL;
	free(s);
}

void uk_net_use(struct uk_net *s)
{
	uk_net_cur = s;
}

void uk_net_set_clock(uint64_t (*clock)(void))
{
	if (!uk_net_cur)
		return;
	uk_net_cur->clock = clock ? clock : default_clock;
	uk_net_cur->now = uk_net_cur->clock();
	/* Timers set against the old clock are meaningless: run them all now. */
	uk_net_cur->next_timer = 0;
	if (uk_net_cur->dhcp.state == 1)
		net_dhcp_start(uk_net_cur);
}

void uk_net_set_limits(uint32_t sndbuf, uint32_t rcvbuf, size_t mem_limit)
{
	struct uk_net *s = uk_net_cur;

	if (!s)
		return;
	if (sndbuf)
		s->sndbuf_max = sndbuf < 1024 ? 1024 : sndbuf > (1u << 24) ? 1u << 24 : sndbuf;
	if (rcvbuf)
		s->rcvbuf_max = rcvbuf < 1024 ? 1024 : rcvbuf > (1u << 24) ? 1u << 24 : rcvbuf;
	if (mem_limit)
		s->mem_limit = mem_limit;
}

void uk_net_set_secret(uint32_t seed)
{
	if (!uk_net_cur)
		return;
	for (int i = 0; i < 4; i++)
		uk_net_cur->isn_key[i] = seed * 0x9e3779b9u + (uint32_t)i * 0x85ebca6bu;
	uk_net_cur->eph_next = (uint16_t)(49152 + seed % 1000);
}

uk_result_t uk_net_init(struct uk_netdev *dev, const struct uk_net_config *cfg)
{
	struct uk_net *s;

	if (!dev)
		dev = uk_netdev_first();
	if (!dev || !config_ok(cfg))
		return UK_EINVAL;
	if (uk_net_cur && uk_net_cur->dev == dev) {
		stack_configure(uk_net_cur, cfg);
		return UK_OK;
	}
	s = uk_net_stack_new(dev, cfg);
	if (!s)
		return UK_ENOMEM;
	uk_net_cur = s;
	return UK_OK;
}

int uk_net_ready(void)
{
	return uk_net_cur && uk_net_cur->ip;
}

void uk_net_address(uint32_t *ip, uint32_t *netmask, uint32_t *gateway)
{
	struct uk_net *s = uk_net_cur;

	if (ip)
		*ip = s ? s->ip : 0;
	if (netmask)
		*netmask = s ? s->mask : 0;
	if (gateway)
		*gateway = s ? s->gw : 0;
}

void uk_net_get_stats(struct uk_net_stats *st)
{
	if (!uk_net_cur) {
		memset(st, 0, sizeof(*st));
		return;
	}
	*st = uk_net_cur->st;
	st->tcp_conns = uk_net_cur->ntcp;
	st->mem_used = uk_net_cur->mem_used;
	st->mem_limit = uk_net_cur->mem_limit;
}

/* Parses dotted-quad (p) into (*ip); returns the end, or NULL. */
static const char *parse_ip(const char *p, uint32_t *ip)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		uint32_t part = 0;
		int digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 4) {
			part = part * 10 + (uint32_t)(*p++ - '0');
			digits++;
		}
		if (!digits || digits > 3 || part > 255)
			return NULL;
		v = (v << 8) | part;
		if (i < 3 && *p++ != '.')
			return NULL;
	}
	*ip = v;
	return p;
}

uk_result_t uk_net_parse_config(const char *ip, const char *gw, struct uk_net_config *cfg)
{
	const char *p;
	unsigned prefix = 24;

	if (!cfg)
		return UK_EINVAL;
	memset(cfg, 0, sizeof(*cfg));
	if (!ip || !*ip || !strcmp(ip, "dhcp")) {
		cfg->dhcp = 1;
		return gw && *gw ? UK_EINVAL : UK_OK;
	}
	p = parse_ip(ip, &cfg->ip);
	if (!p || !cfg->ip)
		return UK_EINVAL;
	if (*p == '/') {
		p++;
		if (*p < '0' || *p > '9')
			return UK_EINVAL;
		prefix = 0;
		while (*p >= '0' && *p <= '9' && prefix <= 32)
			prefix = prefix * 10 + (unsigned)(*p++ - '0');
		if (prefix < 1 || prefix > 32)
			return UK_EINVAL;
	}
	if (*p)
		return UK_EINVAL;
	cfg->netmask = prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
	if (gw && *gw) {
		p = parse_ip(gw, &cfg->gateway);
		if (!p || *p)
			return UK_EINVAL;
	}
	return UK_OK;
}

/* "52:54:00:0a:0b:0c" (either case) into (mac); -1 if it is not six hex pairs and colons. */
static int parse_mac(const char *v, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++, v += 3) {
		int b = 0;
		for (int j = 0; j < 2; j++) {
			int c = v[j] | 0x20;
			if (v[j] >= '0' && v[j] <= '9')
				b = b << 4 | (v[j] - '0');
			else if (c >= 'a' && c <= 'f')
				b = b << 4 | (c - 'a' + 10);
			else
				return -1;
		}
		mac[i] = (uint8_t)b;
		if (v[2] != (i < 5 ? ':' : 0))
			return -1;
	}
	return 0;
}

/*
 * NIC k's device. With (mac) (UK_MACk: ukd gives each NIC's address) the device with that
 * address: the bus may probe NICs in another order than ukd listed them (microvm fills its
 * mmio slots from the top, libvirt may place PCI slots itself, a hot-plugged NIC comes last).
 * Else, or when no device has it (said on the console), the k-th in probe order. Never one in
 * (used) (a bit per device position).
 */
static struct uk_netdev *nic_device(int k, const char *var, const char *mac, unsigned *used)
{
	struct uk_netdev *d;
	uint8_t m[6];
	int i;

	if (mac && *mac) {
		if (parse_mac(mac, m) < 0)
			uk_printk(
			        "uk: %s=%s: not a MAC address (six hex pairs with colons): NIC %d "
			        "taken in probe order\n",
			        var, mac, k);
		else {
			for (d = uk_netdev_first(), i = 0; d; d = uk_netdev_next(d), i++)
				if (!memcmp(d->mac, m, 6) && !(*used & 1u << i)) {
					*used |= 1u << i;
					return d;
				}
			uk_printk(
			        "uk: %s=%s: no NIC has that address: NIC %d taken in probe order\n",
			        var, mac, k);
		}
	}
	for (d = uk_netdev_first(), i = 0; d; d = uk_netdev_next(d), i++)
		if (!(*used & 1u << i) && i >= k) {
			*used |= 1u << i;
			return d;
		}
	return NULL;
}

uk_result_t uk_net_configure_from_options(void)
{
	static const char *const ipv[] = {"UK_IP", "UK_IP1", "UK_IP2", "UK_IP3"};
	static const char *const gwv[] = {"UK_GW", "UK_GW1", "UK_GW2", "UK_GW3"};
	static const char *const macv[] = {"UK_MAC", "UK_MAC1", "UK_MAC2", "UK_MAC3"};
	struct uk_net_config cfg;
	unsigned used = 0;
	uk_result_t r = uk_net_parse_config(getenv(ipv[0]), getenv(gwv[0]), &cfg);
	struct uk_netdev *dev;

	if (r != UK_OK)
		return r;
	dev = nic_device(0, macv[0], getenv(macv[0]), &used);
	if ((r = uk_net_init(dev, &cfg)) != UK_OK)
		return r;
	/* NIC k (UK_IPk, UK_GWk, UK_MACk: ukd's instances on several networks) */
	struct uk_net *s = uk_net_cur;
	for (int k = 1; k < NET_IF_MAX && s->nextra == k - 1 && getenv(ipv[k]); k++) {
		struct uk_net_config c;
		if (uk_net_parse_config(getenv(ipv[k]), getenv(gwv[k]), &c) != UK_OK || c.dhcp ||
		    !(dev = nic_device(k, macv[k], getenv(macv[k]), &used)) ||
		    bufs_fit(s, dev) != 0)
			break;
		s->ifs[k] = (struct net_if){dev, c.ip, c.netmask, c.gateway};
		s->nextra = k;
	}
	return UK_OK;
}

/* --- the event loop --- */

int uk_net_step(struct uk_net *s)
{
	int n;

	s->now = s->clock();
	s->events = 0;
	s->in_step = 1;
	net_tcp_flush(s);
	for (int k = 0; k <= s->nextra; k++) {
		net_if_use(s, k); /* a frame is the NIC's it came in on: its address, its ARP */
		for (int i = 0; i < 256; i++) {
			struct uk_netdev_meta m = {0, 0, 0, 0};

			n = s->dev->ops->rx_meta
			            ? s->dev->ops->rx_meta(s->dev, s->rxbuf, s->rxcap, &m)
			            : s->dev->ops->rx(s->dev, s->rxbuf, s->rxcap);
			if (n <= 0)
				break;
			s->events++;
			if ((size_t)n > s->rxcap) {
				s->st.rx_bad++;
				break;
			}
			s->rx_l4_ok = (m.flags & UK_NETDEV_M_L4_CSUM_OK) != 0;
			if (m.flags & UK_NETDEV_M_GSO_TCPV4)
				s->st.rx_gso_frames++;
			uk_net_input(s, s->rxbuf, (size_t)n);
			s->rx_l4_ok = 0;
		}
	}
	net_if_use(s, 0);
	s->now = s->clock();
	if (s->now >= s->next_timer) {
		s->next_timer = UINT64_MAX;
		arp_timers(s);
		net_tcp_timers(s);
		net_dhcp_timers(s);
	}
	net_tcp_flush(s);
	net_tcp_notify_run(s);
	net_tcp_flush(s);
	s->in_step = 0;
	for (int k = 0; k <= s->nextra; k++) { /* one notification per NIC for the step's frames */
		struct net_if f = if_get(s, k);
		if (f.dev->ops->flush)
			f.dev->ops->flush(f.dev);
	}
	return s->events;
}

int uk_net_poll(uint64_t timeout_ns)
{
	struct uk_net *s = uk_net_cur;
	uint64_t deadline, t, wake;
	int n;

	if (!s)
		return UK_EINVAL;
	deadline = s->clock() + timeout_ns;
	for (;;) {
		n = uk_net_step(s);
		if (n > 0 || !timeout_ns)
			return n;
		t = s->clock();
		if (t >= deadline)
			return 0;
		wake = deadline < s->next_timer ? deadline : s->next_timer;
		if (!(s->dev->flags & UK_NETDEV_F_IRQ) && wake > t + NET_MS)
			wake = t + NET_MS;
		uk_time_block_until(wake);
	}
}
