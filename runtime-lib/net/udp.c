/* UDP (RFC 768): endpoints with bounded receive queues. */
#include <stdlib.h>
#include <string.h>
#include "net_internal.h"

#define UDP_QUEUE_MAX 64

struct udp_dgram {
	struct udp_dgram *next;
	uint32_t ip;
	uint16_t port;
	uint16_t len;
	uint8_t data[];
};

static struct uk_udp *udp_find(struct uk_net *s, uint16_t port)
{
	for (struct uk_udp *u = s->udps; u; u = u->next)
		if (u->port == port)
			return u;
	return NULL;
}

static struct uk_udp *udp_open(struct uk_net *s, uint16_t port)
{
	struct uk_udp *u;

	if (!port) {
		for (int i = 0; i < 16384 && !port; i++) {
			uint16_t p = (uint16_t)(49152 + (s->eph_next++ & 16383));
			if (!udp_find(s, p))
				port = p;
		}
		if (!port)
			return NULL;
	} else if (udp_find(s, port)) {
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->s = s;
	u->port = port;
	u->next = s->udps;
	s->udps = u;
	return u;
}

struct uk_udp *uk_udp_open(uint16_t port)
{
	return uk_net_cur ? udp_open(uk_net_cur, port) : NULL;
}

/* Used by DHCP, which runs before the public API's stack is chosen. */
struct uk_udp *net_udp_open(struct uk_net *s, uint16_t port)
{
	return udp_open(s, port);
}

long uk_udp_sendto(struct uk_udp *u, uint32_t ip, uint16_t port, const void *buf, size_t len)
{
	struct uk_net *s;
	uint8_t *p;
	uk_result_t r;

	if (!u || !port || !ip || (len && !buf))
		return UK_EINVAL;
	s = u->s;
	if (len > (size_t)s->mtu - NET_IP_HLEN - 8)
		return UK_EINVAL;
	/* Without an address only broadcasts go out (from 0.0.0.0: DHCP). */
	if (!s->ip && ip != 0xffffffffu)
		return UK_EAGAIN;
	p = s->tx + NET_ETH_HLEN + NET_IP_HLEN;
	net_put16(p, u->port);
	net_put16(p + 2, port);
	net_put16(p + 4, (uint16_t)(len + 8));
	net_put16(p + 6, 0);
	if (len)
		memcpy(p + 8, buf, len);
	uint32_t src = ip == 0xffffffffu ? s->ip : net_src_for(s, ip); /* the route's NIC */
	uint16_t c = net_csum_fold(net_csum_add(
	        net_pseudo_sum(src, ip, NET_PROTO_UDP, (uint16_t)(len + 8)), p, len + 8));
	net_put16(p + 6, c ? c : 0xffff);
	r = net_ip_send(s, src, ip, NET_PROTO_UDP, len + 8);
	return r == UK_OK ? (long)len : r;
}

long uk_udp_recvfrom(struct uk_udp *u, void *buf, size_t len, uint32_t *ip, uint16_t *port)
{
	struct udp_dgram *d;
	long n;

	if (!u)
		return UK_EINVAL;
	d = u->head;
	if (!d)
		return UK_EAGAIN;
	u->head = d->next;
	if (!u->head)
		u->tail = NULL;
	u->count--;
	if (buf && len)
		memcpy(buf, d->data, len < d->len ? len : d->len);
	if (ip)
		*ip = d->ip;
	if (port)
		*port = d->port;
	n = d->len;
	free(d);
	return n;
}

int uk_udp_readable(struct uk_udp *u)
{
	return u && u->head;
}

void uk_udp_close(struct uk_udp *u)
{
	struct uk_udp **pp;

	if (!u)
		return;
	for (pp = &u->s->udps; *pp; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	if (u->s->dhcp.sock == u)
		u->s->dhcp.sock = NULL;
	while (u->head) {
		struct udp_dgram *d = u->head;
		u->head = d->next;
		free(d);
	}
	free(u);
}

void net_udp_free_all(struct uk_net *s)
{
	while (s->udps)
		uk_udp_close(s->udps);
}

void net_udp_input(struct uk_net *s, uint32_t src, uint32_t dst, const uint8_t *p, size_t len)
{
	struct uk_udp *u;
	struct udp_dgram *d;
	size_t ulen;

	if (len < 8)
		goto bad;
	ulen = net_get16(p + 4);
	if (ulen < 8 || ulen > len)
		goto bad;
	if (s->rx_l4_ok)
		s->st.rx_csum_offloaded++;
	else if (net_get16(p + 6) &&
	         net_csum_fold(net_csum_add(net_pseudo_sum(src, dst, NET_PROTO_UDP, (uint16_t)ulen),
	                                    p, ulen)) != 0)
		goto bad;
	if (s->dhcp.state && net_get16(p + 2) == 68 && net_get16(p) == 67) {
		net_dhcp_input(s, p + 8, ulen - 8);
		return;
	}
	if (!s->ip || (dst != s->ip && dst != 0xffffffffu && dst != (s->ip | ~s->mask)))
		return;
	u = udp_find(s, net_get16(p + 2));
	if (!u || u == s->dhcp.sock || u->count >= UDP_QUEUE_MAX)
		return;
	d = malloc(sizeof(*d) + ulen - 8);
	if (!d)
		return;
	d->next = NULL;
	d->ip = src;
	d->port = net_get16(p);
	d->len = (uint16_t)(ulen - 8);
	memcpy(d->data, p + 8, ulen - 8);
	if (u->tail)
		u->tail->next = d;
	else
		u->head = d;
	u->tail = d;
	u->count++;
	s->events++;
	return;
bad:
	s->st.rx_bad++;
}
