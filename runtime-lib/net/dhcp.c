/* DHCP client (RFC 2131): DISCOVER, OFFER, REQUEST, ACK/NAK, renewal at T1, expiry. */
#include <string.h>
#include "net_internal.h"

#define DHCP_SELECTING 1
#define DHCP_REQUESTING 2
#define DHCP_BOUND 3
#define DHCP_RENEWING 4
#define DHCP_FIXED 236 /* op .. file */
#define DHCP_MAGIC 0x63825363u

static void dhcp_send(struct uk_net *s, uint8_t type)
{
	struct net_dhcp *d = &s->dhcp;
	uint8_t m[300];
	uint8_t *o = m + DHCP_FIXED + 4;

	memset(m, 0, sizeof(m));
	m[0] = 1; /* BOOTREQUEST */
	m[1] = 1;
	m[2] = 6;
	net_put32(m + 4, d->xid);
	if (d->state == DHCP_RENEWING)
		net_put32(m + 12, s->ip); /* ciaddr */
	else
		net_put16(m + 10, 0x8000); /* please broadcast the reply */
	memcpy(m + 28, s->dev->mac, 6);
	net_put32(m + DHCP_FIXED, DHCP_MAGIC);
	*o++ = 53;
	*o++ = 1;
	*o++ = type;
	if (type == 3 && d->state == DHCP_REQUESTING) {
		*o++ = 50;
		*o++ = 4;
		net_put32(o, d->offer_ip);
		o += 4;
		*o++ = 54;
		*o++ = 4;
		net_put32(o, d->server);
		o += 4;
	}
	*o++ = 55;
	*o++ = 5;
	*o++ = 1;
	*o++ = 3;
	*o++ = 6;
	*o++ = 51;
	*o++ = 54;
	*o++ = 255;
	if (!d->sock)
		return;
	uk_udp_sendto(d->sock, 0xffffffffu, 67, m, (size_t)(o - m));
}

static void dhcp_schedule(struct uk_net *s)
{
	struct net_dhcp *d = &s->dhcp;
	int shift = d->tries < 5 ? d->tries : 5;

	d->next_tx = s->now + (2 * NET_S << shift);
	net_timer_at(s, d->next_tx);
}

void net_dhcp_start(struct uk_net *s)
{
	struct net_dhcp *d = &s->dhcp;

	if (!d->sock)
		d->sock = net_udp_open(s, 68);
	uk_entropy_get(&d->xid, sizeof(d->xid));
	d->state = DHCP_SELECTING;
	d->tries = 0;
	d->next_tx = s->now;
	net_timer_at(s, s->now ? s->now : 1);
}

void net_dhcp_timers(struct uk_net *s)
{
	struct net_dhcp *d = &s->dhcp;

	switch (d->state) {
	case DHCP_SELECTING:
	case DHCP_REQUESTING:
		if (s->now >= d->next_tx) {
			if (d->state == DHCP_REQUESTING && d->tries >= 4) {
				d->state = DHCP_SELECTING;
				d->tries = 0;
			}
			dhcp_send(s, d->state == DHCP_SELECTING ? 1 : 3);
			d->tries++;
			dhcp_schedule(s);
			s->events++;
		}
		net_timer_at(s, d->next_tx);
		break;
	case DHCP_BOUND:
		if (s->now >= d->t1) {
			d->state = DHCP_RENEWING;
			d->tries = 0;
			d->next_tx = s->now;
		} else {
			net_timer_at(s, d->t1);
			break;
		}
		/* fall through */
	case DHCP_RENEWING:
		if (s->now >= d->expiry) {
			s->ip = s->mask = s->gw = 0;
			net_dhcp_start(s);
			break;
		}
		if (s->now >= d->next_tx) {
			dhcp_send(s, 3);
			d->tries++;
			dhcp_schedule(s);
			s->events++;
		}
		net_timer_at(s, d->next_tx < d->expiry ? d->next_tx : d->expiry);
		break;
	}
}

void net_dhcp_input(struct uk_net *s, const uint8_t *m, size_t len)
{
	struct net_dhcp *d = &s->dhcp;
	uint8_t type = 0;
	uint32_t server = 0, mask = 0, router = 0, lease = 0, dns = 0;
	size_t i;

	if (len < DHCP_FIXED + 4 || m[0] != 2 || net_get32(m + 4) != d->xid ||
	    memcmp(m + 28, s->dev->mac, 6) || net_get32(m + DHCP_FIXED) != DHCP_MAGIC)
		return;
	for (i = DHCP_FIXED + 4; i < len;) {
		uint8_t code = m[i], olen;
		if (code == 255)
			break;
		if (code == 0) {
			i++;
			continue;
		}
		if (i + 2 > len)
			break;
		olen = m[i + 1];
		if (i + 2 + olen > len)
			break;
		const uint8_t *v = m + i + 2;
		if (code == 53 && olen == 1)
			type = v[0];
		else if (code == 54 && olen == 4)
			server = net_get32(v);
		else if (code == 1 && olen == 4)
			mask = net_get32(v);
		else if (code == 3 && olen >= 4)
			router = net_get32(v);
		else if (code == 51 && olen == 4)
			lease = net_get32(v);
		else if (code == 6 && olen >= 4)
			dns = net_get32(v); /* the first resolver (getaddrinfo) */
		i += 2 + (size_t)olen;
	}
	uint32_t yi = net_get32(m + 16);
	if (type == 2 && d->state == DHCP_SELECTING) { /* OFFER */
		if (!yi || yi == 0xffffffffu || !server)
			return;
		d->offer_ip = yi;
		d->server = server;
		d->state = DHCP_REQUESTING;
		d->tries = 0;
		dhcp_send(s, 3);
		d->tries++;
		dhcp_schedule(s);
		s->events++;
	} else if (type == 5 && (d->state == DHCP_REQUESTING || d->state == DHCP_RENEWING)) {
		if (!yi || yi == 0xffffffffu)
			return;
		/* A mask must be contiguous ones; default /24. */
		if (!mask || (~mask & (~mask + 1)))
			mask = 0xffffff00u;
		s->ip = yi;
		s->mask = mask;
		s->gw = (router & mask) == (yi & mask) ? router : 0;
		s->dns = dns;
		if (!lease || lease > 0x7fffffffu / 2)
			lease = 0x7fffffffu / 2;
		d->lease_s = lease;
		d->t1 = s->now + (uint64_t)lease * NET_S / 2;
		d->expiry = s->now + (uint64_t)lease * NET_S;
		d->state = DHCP_BOUND;
		net_timer_at(s, d->t1);
		s->events++;
	} else if (type == 6 && (d->state == DHCP_REQUESTING || d->state == DHCP_RENEWING)) {
		s->ip = s->mask = s->gw = 0;
		net_dhcp_start(s);
		s->events++;
	}
}
