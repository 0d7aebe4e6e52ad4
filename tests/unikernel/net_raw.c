/* Unikernel test: the NIC works without the TCP/IP stack: MAC, ARP and DHCP exchanges with QEMU's
 * slirp. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uk/uk.h>
#include <uk/netdev.h>

/*
 * usage: net_raw MAC   (the mac= QEMU gave the NIC, e.g. 52:54:00:12:34:56)
 * Sends an ARP request for slirp's gateway 10.0.2.2 and a DHCP DISCOVER, and
 * checks both replies are for us. Blocks in uk_time_block_until with a long
 * deadline when the driver has interrupts: a reply that arrives early proves
 * the interrupt woke the halted CPU.
 */

/* The registry lives in libuk-net.a; this test carries its own to test the driver alone. */
static struct uk_netdev *devs;

uk_result_t uk_netdev_register(struct uk_netdev *dev)
{
	if (!dev || !dev->ops || !dev->ops->tx || !dev->ops->rx)
		return UK_EINVAL;
	dev->next = devs;
	devs = dev;
	return UK_OK;
}

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t gw_ip[4] = {10, 0, 2, 2}, my_ip[4] = {10, 0, 2, 15};

static int parse_mac(const char *s, uint8_t mac[6])
{
	int i;

	for (i = 0; i < 6; i++) {
		char *end;
		unsigned long v = strtoul(s, &end, 16);

		if (end == s || v > 255 || (i < 5 && *end != ':') || (i == 5 && *end))
			return -1;
		mac[i] = (uint8_t)v;
		s = end + 1;
	}
	return 0;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static size_t build_arp(uint8_t *f, const uint8_t mac[6])
{
	memcpy(f, bcast, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);      /* Ethernet */
	put16(f + 16, 0x0800); /* IPv4 */
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, 1); /* request */
	memcpy(f + 22, mac, 6);
	memcpy(f + 28, my_ip, 4);
	memset(f + 32, 0, 6);
	memcpy(f + 38, gw_ip, 4);
	return 42;
}

static unsigned ip_sum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

#define XID 0x756b7631u

static size_t build_discover(uint8_t *f, const uint8_t mac[6])
{
	uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8;
	size_t blen, len;

	memset(f, 0, 14 + 20 + 8 + 300);
	memcpy(f, bcast, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, 0x0800);
	b[0] = 1; /* BOOTREQUEST */
	b[1] = 1;
	b[2] = 6;
	b[4] = (uint8_t)(XID >> 24);
	b[5] = (uint8_t)(XID >> 16);
	b[6] = (uint8_t)(XID >> 8);
	b[7] = (uint8_t)XID;
	put16(b + 10, 0x8000); /* broadcast reply */
	memcpy(b + 28, mac, 6);
	b[236] = 99; /* magic cookie */
	b[237] = 130;
	b[238] = 83;
	b[239] = 99;
	b[240] = 53; /* message type: DISCOVER */
	b[241] = 1;
	b[242] = 1;
	b[243] = 255;
	blen = 300; /* BOOTP minimum */
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, (unsigned)(8 + blen));
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)(20 + 8 + blen));
	ip[8] = 64;
	ip[9] = 17;
	memset(ip + 16, 0xff, 4);
	put16(ip + 10, ip_sum(ip, 20));
	len = 14 + 20 + 8 + blen;
	return len;
}

static int is_arp_reply(const uint8_t *f, int n, const uint8_t mac[6])
{
	return n >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 2 && !memcmp(f, mac, 6) &&
	       !memcmp(f + 28, gw_ip, 4) && !memcmp(f + 32, mac, 6) && !memcmp(f + 38, my_ip, 4);
}

static int is_dhcp_offer(const uint8_t *f, int n, const uint8_t mac[6])
{
	const uint8_t *ip = f + 14, *udp, *b;

	if (n < 14 + 20 + 8 + 240 || get16(f + 12) != 0x0800 || ip[9] != 17)
		return 0;
	udp = ip + (ip[0] & 15) * 4;
	b = udp + 8;
	return get16(udp) == 67 && get16(udp + 2) == 68 && b[0] == 2 &&
	       ((uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7]) == XID &&
	       !memcmp(b + 28, mac, 6) && b[16] == 10 && b[17] == 0 && b[18] == 2;
}

int main(int argc, char **argv)
{
	struct uk_netdev *nd = devs;
	uint8_t want[6], frame[2048], in[2048];
	uint64_t t0, now, sent_at, deadline, wait;
	int got_arp = 0, got_dhcp = 0, n, tries;
	size_t len;
	unsigned long long arp_ms = 0, dhcp_ms = 0, woke_ms = 0;

	if (argc != 2 || parse_mac(argv[1], want)) {
		printf("FAIL: usage: net_raw MAC\n");
		return 2;
	}
	if (!nd) {
		printf("FAIL: no network device registered\n");
		return 1;
	}
	printf("%s: mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u %s\n", nd->name ? nd->name : "?",
	       nd->mac[0], nd->mac[1], nd->mac[2], nd->mac[3], nd->mac[4], nd->mac[5], nd->mtu,
	       (nd->flags & UK_NETDEV_F_IRQ) ? "interrupts" : "polled");
	if (memcmp(nd->mac, want, 6)) {
		printf("FAIL: mac is not %s\n", argv[1]);
		return 1;
	}
	/* Bad frames are refused, not sent. */
	if (nd->ops->tx(nd, frame, 13) != UK_EINVAL || nd->ops->tx(nd, frame, 1515) != UK_EINVAL) {
		printf("FAIL: tx accepted a frame of a bad length\n");
		return 1;
	}
	t0 = uk_time_monotonic_ns();
	for (tries = 0; tries < 5 && !(got_arp && got_dhcp); tries++) {
		if (!got_arp && nd->ops->tx(nd, frame, build_arp(frame, nd->mac)) != UK_OK)
			printf("tx arp failed\n");
		len = build_discover(frame, nd->mac);
		if (!got_dhcp && nd->ops->tx(nd, frame, len) != UK_OK)
			printf("tx dhcp failed\n");
		sent_at = uk_time_monotonic_ns();
		deadline = sent_at + 2000000000ull;
		if ((nd->flags & UK_NETDEV_F_IRQ) && tries == 0) {
			/* Halt before looking: only the NIC's interrupt can end this early. */
			woke_ms = (uk_time_block_until(deadline) - sent_at) / 1000000;
			printf("woke after %llu ms\n", woke_ms);
		}
		for (now = sent_at; now < deadline && !(got_arp && got_dhcp);) {
			n = nd->ops->rx(nd, in, sizeof(in));
			if (n < 0) {
				printf("FAIL: rx error %d\n", n);
				return 1;
			}
			if (n == 0) {
				/* With interrupts, halt until the deadline: only the NIC can wake
				 * us early. */
				now = uk_time_block_until(
				        (nd->flags & UK_NETDEV_F_IRQ) ? deadline : now + 1000000);
				continue;
			}
			now = uk_time_monotonic_ns();
			if (!got_arp && is_arp_reply(in, n, nd->mac)) {
				got_arp = 1;
				arp_ms = (now - sent_at) / 1000000;
				printf("arp reply: 10.0.2.2 is at %02x:%02x:%02x:%02x:%02x:%02x "
				       "(%llu ms)\n",
				       in[22], in[23], in[24], in[25], in[26], in[27], arp_ms);
			} else if (!got_dhcp && is_dhcp_offer(in, n, nd->mac)) {
				const uint8_t *b = in + 14 + (in[14] & 15) * 4 + 8;

				got_dhcp = 1;
				dhcp_ms = (now - sent_at) / 1000000;
				printf("dhcp offer: %u.%u.%u.%u (%llu ms)\n", b[16], b[17], b[18],
				       b[19], dhcp_ms);
			}
		}
	}
	if (!got_arp || !got_dhcp) {
		printf("FAIL: no %s reply after %d tries\n", got_arp ? "DHCP" : "ARP", tries);
		return 1;
	}
	if ((nd->flags & UK_NETDEV_F_IRQ) && woke_ms >= 1000) {
		printf("FAIL: replies waited for the timer, not the interrupt\n");
		return 1;
	}
	/* A frame longer than the caller's buffer is dropped, never truncated: once the
	 * ARP reply is in (the interrupt, or 300 ms), a 20-byte rx and then a full one see nothing.
	 * Drained first: a driver may keep its interrupt off until rx has said "nothing more".
	 */
	while (nd->ops->rx(nd, in, sizeof(in)) > 0)
		;
	nd->ops->tx(nd, frame, build_arp(frame, nd->mac));
	now = uk_time_monotonic_ns();
	wait = (nd->flags & UK_NETDEV_F_IRQ) ? 2000000000ull : 300000000ull;
	if (uk_time_block_until(now + wait) - now >= 1000000000ull) {
		printf("FAIL: no interrupt for the second ARP reply\n");
		return 1;
	}
	if ((n = nd->ops->rx(nd, in, 20)) != 0 || (n = nd->ops->rx(nd, in, sizeof(in))) != 0) {
		printf("FAIL: rx returned %d after a frame too long for a 20-byte buffer\n", n);
		return 1;
	}
	printf("SUCCESS (%llu ms)\n",
	       (unsigned long long)((uk_time_monotonic_ns() - t0) / 1000000));
	return 0;
}
