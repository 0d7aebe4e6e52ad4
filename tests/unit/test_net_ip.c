/* Unit tests of runtime-lib/net below TCP: ARP, ICMP echo, UDP, DHCP, configuration, hostile
 * frames, two NICs. */
#include "test_net_wire.h"
#include "ukt_rand.h"
#include "../../runtime-lib/drivers/virtio_net_hdr.h"

/* Builds an Ethernet+IPv4+UDP frame into (f); returns its length. */
static size_t build_udp(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint32_t sip,
                        uint32_t dip, uint16_t sport, uint16_t dport, const void *data, size_t len)
{
	uint8_t *ip = f + 14, *u = ip + 20;

	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 8;
	f[13] = 0;
	memset(ip, 0, 28);
	ip[0] = 0x45;
	net_put16(ip + 2, (uint16_t)(28 + len));
	ip[8] = 64;
	ip[9] = 17;
	net_put32(ip + 12, sip);
	net_put32(ip + 16, dip);
	net_put16(ip + 10, net_csum_fold(net_csum_add(0, ip, 20)));
	net_put16(u, sport);
	net_put16(u + 2, dport);
	net_put16(u + 4, (uint16_t)(8 + len));
	memcpy(u + 8, data, len);
	uint16_t c = net_csum_fold(
	        net_csum_add(net_pseudo_sum(sip, dip, 17, (uint16_t)(8 + len)), u, 8 + len));
	net_put16(u + 6, c ? c : 0xffff);
	return 42 + len;
}

static void test_arp_icmp(void)
{
	struct pair p;
	uint16_t id, seq;

	pair_init(&p);
	uk_net_use(p.b);
	CHECK(!uk_net_arp_resolved(IP_A), "nothing resolved yet");
	CHECK(uk_net_ping(IP_A, 77, 1, "abcdefgh", 8) == UK_OK, "ping queued behind ARP");
	run(&p, 10, NULL, NULL);
	uk_net_use(p.b);
	CHECK(uk_net_arp_resolved(IP_A), "B resolved A");
	CHECK(uk_net_ping_replies(&id, &seq) == 1 && id == 77 && seq == 1, "echo reply after ARP");
	uk_net_use(p.a);
	CHECK(uk_net_arp_resolved(IP_B), "A learned B from B's request");
	uk_net_use(p.b);
	uint8_t big[1472];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	CHECK(uk_net_ping(IP_A, 77, 2, big, sizeof(big)) == UK_OK, "largest ping");
	CHECK(uk_net_ping(IP_A, 77, 3, big, sizeof(big) + 1) == UK_EINVAL, "too big for one frame");
	run(&p, 10, NULL, NULL);
	uk_net_use(p.b);
	CHECK(uk_net_ping_replies(&id, &seq) == 2 && seq == 2, "big echo reply");

	/* A corrupted echo request is not answered. */
	p.wb.capture = 1;
	uk_net_ping(IP_A, 77, 4, "x", 1);
	p.wb.capture = 0;
	p.wa.count = 0;
	p.wb.last.data[14 + 20 + 8] ^= 1; /* payload bit: the ICMP checksum fails */
	uint64_t bad = p.a->st.rx_bad;
	uk_net_use(p.a);
	uk_net_input(p.a, p.wb.last.data, p.wb.last.len);
	CHECK(p.a->st.rx_bad == bad + 1 && p.wa.count == 0, "bad checksum dropped, no reply");

	/* ARP entries expire; a silent host's queue is dropped after three tries. */
	fake_now += 301ull * 1000000000ull;
	uk_net_use(p.b);
	CHECK(!uk_net_arp_resolved(IP_A), "entry expired after 5 minutes");
	CHECK(uk_net_ping(UK_IP4(10, 0, 2, 77), 1, 1, "", 0) == UK_OK, "ping a silent host");
	run(&p, 5000, NULL, NULL);
	int left = 0;
	for (int i = 0; i < NET_ARP_PENDING; i++)
		left += p.b->pend[i].frame != NULL;
	CHECK(left == 0, "pending frame dropped after the ARP tries: %d", left);
	/* Off-subnet without a gateway. */
	CHECK(uk_net_ping(UK_IP4(8, 8, 8, 8), 1, 1, "", 0) == UK_EINVAL, "no route");
	pair_free(&p);
}

static void test_udp(void)
{
	struct pair p;
	struct uk_udp *ua, *ub;
	uint8_t buf[2000];
	uint32_t ip;
	uint16_t port;

	pair_init(&p);
	uk_net_use(p.a);
	ua = uk_udp_open(5353);
	CHECK(ua && !uk_udp_open(5353), "open; the same port twice fails");
	uk_net_use(p.b);
	ub = uk_udp_open(0);
	CHECK(ub && ub->port >= 49152, "ephemeral port");
	CHECK(uk_udp_sendto(ub, IP_A, 5353, "hello", 5) == 5, "sendto");
	CHECK(uk_udp_sendto(ub, IP_A, 0, "x", 1) == UK_EINVAL, "port 0");
	CHECK(uk_udp_sendto(ub, IP_A, 5353, buf, 1473) == UK_EINVAL, "too big");
	run(&p, 10, NULL, NULL);
	CHECK(uk_udp_readable(ua), "readable");
	CHECK(uk_udp_recvfrom(ua, buf, sizeof(buf), &ip, &port) == 5 && !memcmp(buf, "hello", 5) &&
	              ip == IP_B && port == ub->port,
	      "datagram and source");
	CHECK(uk_udp_recvfrom(ua, buf, sizeof(buf), NULL, NULL) == UK_EAGAIN, "empty queue");
	for (int i = 0; i < 100; i++) {
		uint8_t d[1472];
		for (int j = 0; j < 1472; j++)
			d[j] = pat((uint32_t)i, (uint64_t)j);
		uk_udp_sendto(ub, IP_A, 5353, d, 1472);
	}
	run(&p, 10, NULL, NULL);
	int got = 0, exact = 0;
	long n;
	while ((n = uk_udp_recvfrom(ua, buf, sizeof(buf), NULL, NULL)) > 0) {
		int ok = n == 1472;
		for (int j = 0; ok && j < 1472; j++)
			ok = buf[j] == pat((uint32_t)got, (uint64_t)j);
		exact += ok;
		got++;
	}
	CHECK(got == 64 && exact == 64, "queue bounded at 64, in order, exact: %d %d", got, exact);
	uk_udp_sendto(ub, IP_A, 5353, "truncate me", 11);
	run(&p, 10, NULL, NULL);
	CHECK(uk_udp_recvfrom(ua, buf, 4, NULL, NULL) == 11 && !memcmp(buf, "trun", 4),
	      "truncated read returns the full size");
	uk_udp_sendto(ub, IP_A, 9, "nobody", 6);
	run(&p, 10, NULL, NULL);
	uk_udp_sendto(ub, IP_A, 5353, "x", 1);
	run(&p, 10, NULL, NULL);
	uk_udp_close(ua);
	uk_udp_close(ub);
	uk_udp_close(NULL);
	pair_free(&p);
}

/* A tiny DHCP server on the other end of the wire. */
static size_t dhcp_reply(uint8_t *f, const uint8_t *req, size_t reqlen, uint8_t type,
                         uint32_t yiaddr, const uint8_t *server_mac)
{
	uint8_t m[300];
	uint8_t *o = m + 240;

	memset(m, 0, sizeof(m));
	m[0] = 2;
	m[1] = 1;
	m[2] = 6;
	memcpy(m + 4, req + 42 + 4, 4); /* xid */
	net_put32(m + 16, yiaddr);
	memcpy(m + 28, req + 42 + 28, 6);
	net_put32(m + 236, 0x63825363);
	*o++ = 53, *o++ = 1, *o++ = type;
	*o++ = 54, *o++ = 4, net_put32(o, UK_IP4(10, 0, 2, 2)), o += 4;
	*o++ = 1, *o++ = 4, net_put32(o, UK_IP4(255, 255, 255, 0)), o += 4;
	*o++ = 3, *o++ = 4, net_put32(o, UK_IP4(10, 0, 2, 2)), o += 4;
	*o++ = 51, *o++ = 4, net_put32(o, 3600), o += 4;
	*o++ = 0, *o++ = 0;   /* padding */
	*o++ = 99, *o++ = 40; /* an option running past the end is ignored at the end */
	*o++ = 255;
	(void)reqlen;
	return build_udp(f, req + 6, server_mac, UK_IP4(10, 0, 2, 2), 0xffffffffu, 67, 68, m,
	                 (size_t)(o - m));
}

static int dhcp_type(const uint8_t *f, size_t len)
{
	if (len < 42 + 244 || f[23] != 17 || net_get16(f + 36) != 67)
		return -1;
	for (size_t i = 42 + 240; i + 2 < len; i += 2 + f[i + 1])
		if (f[i] == 53)
			return f[i + 2];
	return -1;
}

static void test_dhcp(void)
{
	struct wire wa, wb;
	struct uk_net_config cfg = {0, 0, 0, 1};
	uint8_t f[1600];
	const uint8_t smac[6] = {0x52, 0x55, 0x0a, 0, 2, 2};

	wire_init(&wa, &wb);
	struct uk_net *s = uk_net_stack_new(&wa.nd, &cfg);
	CHECK(s != NULL, "DHCP stack");
	uk_net_use(s);
	uk_net_set_clock(fake_clock);
	CHECK(!uk_net_ready(), "no address before the lease");
	uk_net_step(s);
	CHECK(wb.count == 1, "DISCOVER sent: %u", wb.count);
	struct wire_frame *d = &wb.q[wb.head];
	CHECK(dhcp_type(d->data, d->len) == 1 && !memcmp(d->data, "\xff\xff\xff\xff\xff\xff", 6) &&
	              net_get32(d->data + 26) == 0 && net_get32(d->data + 30) == 0xffffffffu,
	      "a broadcast DISCOVER from 0.0.0.0");
	/* No answer: DISCOVER again after the backoff. */
	wb.count = 0;
	fake_now += 3ull * 1000000000ull;
	uk_net_step(s);
	CHECK(wb.count == 0, "no retransmission before 4 s (RFC 2131 4.1)");
	fake_now += 2ull * 1000000000ull;
	uk_net_step(s);
	CHECK(wb.count == 1 && dhcp_type(wb.q[wb.head].data, wb.q[wb.head].len) == 1,
	      "DISCOVER retransmitted");
	/* A reply with the wrong xid is ignored. */
	d = &wb.q[wb.head];
	size_t n = dhcp_reply(f, d->data, d->len, 2, UK_IP4(10, 0, 2, 15), smac);
	f[42 + 4] ^= 1;
	f[40] = f[41] = 0; /* no UDP checksum */
	uk_net_input(s, f, n);
	CHECK(s->dhcp.state == 1, "wrong xid ignored");
	n = dhcp_reply(f, d->data, d->len, 2, UK_IP4(10, 0, 2, 15), smac);
	wb.count = 0;
	uk_net_input(s, f, n);
	CHECK(wb.count == 1 && dhcp_type(wb.q[wb.head].data, wb.q[wb.head].len) == 3,
	      "REQUEST after OFFER");
	d = &wb.q[wb.head];
	n = dhcp_reply(f, d->data, d->len, 5, UK_IP4(10, 0, 2, 15), smac);
	uk_net_input(s, f, n);
	uint32_t ip, mask, gw;
	uk_net_address(&ip, &mask, &gw);
	CHECK(uk_net_ready() && ip == UK_IP4(10, 0, 2, 15) && mask == UK_IP4(255, 255, 255, 0) &&
	              gw == UK_IP4(10, 0, 2, 2),
	      "bound: %x %x %x", ip, mask, gw);
	/* Renewal at T1 (half the lease); a NAK drops the address. */
	wb.count = 0;
	fake_now += 1801ull * 1000000000ull;
	uk_net_step(s);
	uk_net_step(s);
	CHECK(wb.count >= 1 && dhcp_type(wb.q[wb.head].data, wb.q[wb.head].len) == 3 &&
	              net_get32(wb.q[wb.head].data + 42 + 12) == UK_IP4(10, 0, 2, 15),
	      "renewing REQUEST with ciaddr");
	d = &wb.q[wb.head];
	n = dhcp_reply(f, d->data, d->len, 6, 0, smac);
	uk_net_input(s, f, n);
	CHECK(!uk_net_ready() && s->dhcp.state == 1, "NAK: back to DISCOVER");
	uk_net_stack_free(s);
	wire_free(&wa, &wb);
}

static void test_config(void)
{
	struct uk_net_config c;

	CHECK(uk_net_parse_config("10.0.2.15/24", "10.0.2.2", &c) == UK_OK &&
	              c.ip == UK_IP4(10, 0, 2, 15) && c.netmask == UK_IP4(255, 255, 255, 0) &&
	              c.gateway == UK_IP4(10, 0, 2, 2) && !c.dhcp,
	      "static");
	CHECK(uk_net_parse_config("192.0.2.7", NULL, &c) == UK_OK && c.netmask == 0xffffff00u,
	      "default /24");
	CHECK(uk_net_parse_config("10.1.2.3/8", NULL, &c) == UK_OK && c.netmask == 0xff000000u,
	      "/8");
	CHECK(uk_net_parse_config("10.1.2.3/32", NULL, &c) == UK_OK && c.netmask == 0xffffffffu,
	      "/32");
	CHECK(uk_net_parse_config(NULL, NULL, &c) == UK_OK && c.dhcp, "unset: DHCP");
	CHECK(uk_net_parse_config("dhcp", NULL, &c) == UK_OK && c.dhcp, "dhcp");
	const char *bad[] = {"10.0.2",     "10.0.2.256", "10.0.2.15/33", "10.0.2.15/0",
	                     "10.0.2.15/", "10.0.2.15x", "a.b.c.d",      "0.0.0.0",
	                     "1.2.3.4.5",  "1..2.3",     "0001.2.3.4",   "10.0.2.15/999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(uk_net_parse_config(bad[i], NULL, &c) == UK_EINVAL, "rejects %s", bad[i]);
	CHECK(uk_net_parse_config("10.0.2.15", "10.0.2", &c) == UK_EINVAL, "bad gateway");
	CHECK(uk_net_parse_config("dhcp", "10.0.2.2", &c) == UK_EINVAL, "gateway with DHCP");
	CHECK(uk_net_init(NULL, NULL) == UK_EINVAL, "init without a config");
	struct wire wa, wb;
	wire_init(&wa, &wb);
	CHECK(uk_netdev_register(&wa.nd) == UK_OK, "register");
	CHECK(uk_netdev_register(&wa.nd) == UK_EINVAL, "register twice");
	CHECK(uk_netdev_register(NULL) == UK_EINVAL, "register NULL");
	CHECK(uk_netdev_first() == &wa.nd && uk_netdev_next(&wa.nd) == NULL, "lookup");
	static char *env[] = {"UK_IP=10.0.2.15/24", "UK_GW=10.0.2.2", NULL};
	ukt_environ = env;
	CHECK(uk_net_configure_from_options() == UK_OK, "configure from UK_IP/UK_GW");
	uint32_t ip, gw;
	uk_net_address(&ip, NULL, &gw);
	CHECK(ip == UK_IP4(10, 0, 2, 15) && gw == UK_IP4(10, 0, 2, 2), "configured");
	CHECK(uk_net_poll(0) >= 0, "poll without blocking");
	uk_net_stack_free(uk_net_cur);
	wire_free(&wa, &wb);
}

/* Random and mutated frames at a stack with a listener and an established connection. */
static void test_hostile(void)
{
	struct pair p;
	struct uk_tcp *l, *c, *s = NULL;
	uint8_t f[1600];
	uint64_t rnd = 12345;

	pair_init(&p);
	uk_net_use(p.a);
	l = uk_tcp_listen(80, 8);
	uk_net_use(p.b);
	c = uk_tcp_connect(IP_A, 80);
	for (int i = 0; i < 20 && !s; i++) {
		run(&p, 10, NULL, NULL);
		s = uk_tcp_accept(l);
	}
	CHECK(s != NULL, "connection");
	/* Capture one real segment to mutate. */
	p.wb.capture = 1;
	uk_tcp_write(c, "0123456789", 10);
	uk_net_use(p.b);
	uk_net_step(p.b);
	p.wb.capture = 0;
	struct wire_frame seg = p.wb.last;
	run(&p, 10, NULL, NULL);
	char buf[64];
	CHECK(uk_tcp_read(s, buf, sizeof(buf)) == 10, "real data arrived");
	uk_net_use(p.a);
	for (int i = 0; i < 200000; i++) {
		size_t n;
		rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
		if (i & 1) {
			n = (size_t)(rnd >> 33) % 1600;
			for (size_t j = 0; j < n; j++) {
				rnd = rnd * 6364136223846793005ull + 1;
				f[j] = (uint8_t)(rnd >> 56);
			}
			if (n > 14 && (i & 2)) { /* make it reach IP/TCP parsing */
				memcpy(f, p.wa.nd.mac, 6);
				f[12] = 8;
				f[13] = (i & 4) ? 6 : 0;
			}
		} else {
			n = seg.len;
			memcpy(f, seg.data, n);
			for (int k = 0; k < 1 + (int)(rnd >> 60); k++) {
				rnd = rnd * 6364136223846793005ull + 1;
				f[(rnd >> 33) % n] ^= (uint8_t)(1u << ((rnd >> 20) & 7));
			}
			if (i & 2) { /* fix the checksums so the TCP logic sees it */
				uint8_t *ip = f + 14;
				size_t hl = (size_t)(ip[0] & 15) * 4;
				size_t tot = net_get16(ip + 2);
				if ((ip[0] >> 4) == 4 && hl >= 20 && tot >= hl && 14 + tot <= n) {
					net_put16(ip + 10, 0);
					net_put16(ip + 10, net_csum_fold(net_csum_add(0, ip, hl)));
					if (ip[9] == 6 && tot - hl >= 20) {
						uint8_t *t = ip + hl;
						net_put16(t + 16, 0);
						net_put16(t + 16,
						          net_csum_fold(net_csum_add(
						                  net_pseudo_sum(
						                          net_get32(ip + 12),
						                          net_get32(ip + 16), 6,
						                          (uint16_t)(tot - hl)),
						                  t, tot - hl)));
					}
				}
			}
		}
		uk_net_input(p.a, f, n);
		if (i % 64 == 0) {
			uk_net_step(p.a);
			p.wb.count = 0;
			uk_tcp_read(s, buf, sizeof(buf));
		}
	}
	CHECK(p.a->st.rx_bad > 1000, "bad frames counted: %llu",
	      (unsigned long long)p.a->st.rx_bad);
	CHECK(p.a->mem_used < (4u << 20), "memory stayed bounded: %zu", p.a->mem_used);
	uk_tcp_abort(s);
	uk_tcp_abort(c);
	uk_tcp_close(l);
	pair_free(&p);
}

/* Steps stacks (s)[0..n) until their wires (w)[0..nw) are quiet (no time passes). */
static void run_many(struct uk_net **s, int n, struct wire **w, int nw)
{
	for (int spins = 0, busy = 1; busy && spins < 10000; spins++) {
		busy = 0;
		for (int i = 0; i < n; i++) {
			uk_net_use(s[i]);
			busy += uk_net_step(s[i]);
		}
		for (int i = 0; i < nw; i++)
			busy += (int)w[i]->count;
	}
}

/* A stack with two NICs (an instance of ukd's on two networks: UK_IP and UK_IP1): a datagram
 * to a host on either subnet leaves on that subnet's NIC, from its address there; a ping to
 * the second address is answered on the second NIC; off both subnets: the first's gateway. */
static void test_two_nics(void)
{
	struct wire m0, a0, m1, c1;
	uint32_t ip_c = UK_IP4(10, 0, 3, 1), ip_m1 = UK_IP4(10, 0, 3, 15), ip;
	uint8_t buf[64];
	uint16_t port, id, seq;

	wire_init(&m0, &a0);
	wire_init(&m1, &c1);
	memcpy(m1.nd.mac, "\x52\x54\x01\x00\x00\x0b", 6);
	memcpy(c1.nd.mac, "\x52\x54\x00\x00\x00\x0c", 6);
	struct uk_net *a = stack_on(&a0, IP_A, 3), *c = stack_on(&c1, ip_c, 4);
	struct uk_net *m = stack_on(&m0, IP_B, 5);
	m->gw = IP_A;
	m->ifs[1] = (struct net_if){&m1.nd, ip_m1, UK_IP4(255, 255, 255, 0), 0};
	m->nextra = 1;
	struct uk_net *all[] = {a, c, m};
	struct wire *wires[] = {&m0, &a0, &m1, &c1};

	uk_net_use(a);
	struct uk_udp *ua = uk_udp_open(53);
	uk_net_use(c);
	struct uk_udp *uc = uk_udp_open(53);
	uk_net_use(m);
	struct uk_udp *um = uk_udp_open(0);
	CHECK(uk_udp_sendto(um, ip_c, 53, "to-c", 4) == 4 &&
	              uk_udp_sendto(um, IP_A, 53, "to-a", 4) == 4,
	      "two sends");
	run_many(all, 3, wires, 4);
	CHECK(uk_udp_recvfrom(uc, buf, sizeof(buf), &ip, &port) == 4 && !memcmp(buf, "to-c", 4) &&
	              ip == ip_m1 && port == um->port,
	      "C got its datagram from M's second address: %08x", ip);
	CHECK(uk_udp_recvfrom(ua, buf, sizeof(buf), &ip, NULL) == 4 && !memcmp(buf, "to-a", 4) &&
	              ip == IP_B,
	      "A got its datagram from M's first address: %08x", ip);
	CHECK(uk_udp_recvfrom(ua, buf, sizeof(buf), NULL, NULL) == UK_EAGAIN &&
	              uk_udp_recvfrom(uc, buf, sizeof(buf), NULL, NULL) == UK_EAGAIN,
	      "nothing crossed to the other subnet");
	CHECK(m1.nd.tx_frames >= 2 && c1.nd.tx_frames >= 1, "ARP and the datagram on NIC 1: %llu",
	      (unsigned long long)m1.nd.tx_frames);
	/* C pings M's second address: answered on the second NIC */
	uk_net_use(c);
	CHECK(uk_net_ping(ip_m1, 9, 1, "x", 1) == UK_OK, "ping M from C");
	run_many(all, 3, wires, 4);
	uk_net_use(c);
	CHECK(uk_net_ping_replies(&id, &seq) == 1 && id == 9, "C's echo reply from M");
	/* off both subnets: out of the first NIC, to its gateway (A) */
	uint64_t before = m1.nd.tx_frames;
	uk_net_use(m);
	uk_udp_sendto(um, UK_IP4(192, 0, 2, 9), 53, "far", 3);
	run_many(all, 3, wires, 4);
	CHECK(m1.nd.tx_frames == before, "an off-subnet datagram left on NIC 1");
	CHECK(m->cur_if == 0 && m->ip == IP_B, "the stack's fields are the first NIC's again");
	uk_udp_close(ua);
	uk_udp_close(uc);
	uk_udp_close(um);
	uk_net_stack_free(a);
	uk_net_stack_free(c);
	uk_net_stack_free(m);
	wire_free(&m0, &a0);
	wire_free(&m1, &c1);
}

/* RFC 1071's sum two bytes a step: what net_csum_add, 8 bytes a step, must equal. */
static uint32_t csum_ref(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)((p[0] << 8) | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static void test_csum(void)
{
	static uint8_t buf[2100];
	uint64_t rng = 7;
	int bad = 0, n = 0;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)ukt_rand_next(&rng);
	/* Every length and alignment up to a frame and beyond, random starting sums (the pseudo
	 * header's), and all-ones data, where end-around carries pile up. */
	for (int fill = 0; fill < 2; fill++) {
		if (fill)
			memset(buf, 0xff, sizeof(buf));
		for (size_t len = 0; len <= 2048; len += len < 80 ? 1 : 37)
			for (size_t off = 0; off < 8; off++, n++) {
				uint32_t seed = (uint32_t)ukt_rand_next(&rng) & 0x3ffff;
				if (net_csum_add(seed, buf + off, len) !=
				    csum_ref(seed, buf + off, len))
					bad++;
			}
	}
	CHECK(bad == 0, "net_csum_add differs from the reference in %d of %d cases", bad, n);
	CHECK(net_csum_add(0, buf, 0) == 0 && net_csum_add(0xffff, buf, 0) == 0xffff,
	      "empty data leaves the sum");
}

/* The virtio-net header a device writes in front of each received frame: what the driver
 * takes and what it drops (a hostile or broken device). */
static void test_vnet_hdr(void)
{
	const uint64_t gc = UK_VNET_F_GUEST_CSUM;
	const uint64_t gt = gc | UK_VNET_F_GUEST_TSO4 | UK_VNET_F_MRG_RXBUF;
	const unsigned csok = UK_NETDEV_M_L4_CSUM_OK, gsok = csok | UK_NETDEV_M_GSO_TCPV4;
	struct {
		const char *what;
		uint8_t h[12];
		size_t len;
		uint64_t feat;
		int want; /* 0 taken, -1 dropped */
		unsigned flags;
	} t[] = {
	        {"plain frame", {0}, 60, gc, 0, 0},
	        {"plain frame, no offloads negotiated", {0}, 60, 0, 0, 0},
	        {"data valid", {2}, 60, gc, 0, UK_NETDEV_M_L4_CSUM_OK},
	        {"needs csum, TCP at 34",
	         {1, 0, 0, 0, 0, 0, 34, 0, 16, 0},
	         60,
	         gc,
	         0,
	         UK_NETDEV_M_L4_CSUM_OK},
	        {"needs csum, field ends the frame",
	         {1, 0, 0, 0, 0, 0, 34, 0, 16, 0},
	         52,
	         gc,
	         0,
	         UK_NETDEV_M_L4_CSUM_OK},
	        {"hdr_len within the frame", {0, 0, 54, 0}, 60, gc, 0, 0},
	        {"needs csum without GUEST_CSUM", {1, 0, 0, 0, 0, 0, 34, 0, 16, 0}, 60, 0, -1, 0},
	        {"data valid without GUEST_CSUM", {2}, 60, 0, -1, 0},
	        {"unknown flag", {4}, 60, gc, -1, 0},
	        {"gso tcpv4 never negotiated", {0, 1}, 60, gc, -1, 0},
	        {"gso ecn bit", {0, 0x80}, 60, gc, -1, 0},
	        {"hdr_len beyond the frame", {0, 0, 61, 0}, 60, gc, -1, 0},
	        {"hdr_len huge", {0, 0, 0xff, 0xff}, 60, gc, -1, 0},
	        {"csum_start inside the IP header",
	         {1, 0, 0, 0, 0, 0, 20, 0, 16, 0},
	         60,
	         gc,
	         -1,
	         0},
	        {"csum_start beyond the frame",
	         {1, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0},
	         60,
	         gc,
	         -1,
	         0},
	        {"csum_offset beyond the frame", {1, 0, 0, 0, 0, 0, 34, 0, 27, 0}, 60, gc, -1, 0},
	        {"csum_offset huge", {1, 0, 0, 0, 0, 0, 34, 0, 0xff, 0xff}, 60, gc, -1, 0},
	        {"field one byte past the end", {1, 0, 0, 0, 0, 0, 34, 0, 16, 0}, 51, gc, -1, 0},
	        /* GUEST_TSO4: a TCP frame up to 64 KiB, with its gso_size and checksum flags */
	        {"gso tcpv4 taken", {1, 1, 54, 0, 0xb4, 5, 34, 0, 16, 0}, 65549, gt, 0, gsok},
	        {"gso tcpv4, data valid", {2, 1, 54, 0, 0xb4, 5}, 3000, gt, 0, gsok},
	        {"gso tcpv4 without GUEST_TSO4",
	         {1, 1, 54, 0, 0xb4, 5, 34, 0, 16, 0},
	         3000,
	         gc,
	         -1,
	         0},
	        {"gso tcpv4, gso_size 0", {1, 1, 54, 0, 0, 0, 34, 0, 16, 0}, 3000, gt, -1, 0},
	        {"gso tcpv4, no checksum flag", {0, 1, 54, 0, 0xb4, 5}, 3000, gt, -1, 0},
	        {"gso tcpv4 with ecn", {1, 0x81, 54, 0, 0xb4, 5, 34, 0, 16, 0}, 3000, gt, -1, 0},
	        {"gso udp", {1, 3, 42, 0, 0xb4, 5, 34, 0, 6, 0}, 3000, gt, -1, 0},
	        {"over 1514 bytes without gso", {1, 0, 0, 0, 0, 0, 34, 0, 16, 0}, 1515, gt, -1, 0},
	        {"1514 bytes without gso", {1, 0, 0, 0, 0, 0, 34, 0, 16, 0}, 1514, gt, 0, csok},
	        {"gso frame over 64 KiB", {1, 1, 54, 0, 0xb4, 5, 34, 0, 16, 0}, 65550, gt, -1, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct uk_netdev_meta m = {0xdead, 1, 1, 0};
		int r = uk_vnet_hdr_rx(t[i].h, t[i].len, t[i].feat, &m);

		CHECK(r == t[i].want && m.flags == t[i].flags, "%s: got %d flags %u", t[i].what, r,
		      m.flags);
	}
	/* What the driver writes for a frame it sends, both header sizes. */
	for (uint32_t hdr = 10; hdr <= 12; hdr += 2) {
		struct uk_netdev_meta m = {UK_NETDEV_M_CSUM_PARTIAL, 34, 16, 0};
		uint8_t h[12];

		memset(h, 0xaa, sizeof(h));
		uk_vnet_hdr_tx(h, hdr, &m);
		CHECK(h[0] == UK_VNET_HDR_F_NEEDS_CSUM && h[1] == 0 && uk_vnet_le16(h + 2) == 0 &&
		              uk_vnet_le16(h + 6) == 34 && uk_vnet_le16(h + 8) == 16 &&
		              (hdr == 10 || uk_vnet_le16(h + 10) == 0) &&
		              (hdr == 12 || h[10] == 0xaa),
		      "tx header of %u bytes", hdr);
		uk_vnet_hdr_tx(h, hdr, NULL);
		CHECK(h[0] == 0 && uk_vnet_le16(h + 6) == 0, "tx header without offloads");
		/* a TSO frame: gso_type, gso_size, hdr_len of Ethernet, IPv4 and TCP */
		m.flags |= UK_NETDEV_M_GSO_TCPV4;
		m.gso_size = 1460;
		uk_vnet_hdr_tx(h, hdr, &m);
		CHECK(h[0] == UK_VNET_HDR_F_NEEDS_CSUM && h[1] == UK_VNET_HDR_GSO_TCPV4 &&
		              uk_vnet_le16(h + 2) == 54 && uk_vnet_le16(h + 4) == 1460 &&
		              uk_vnet_le16(h + 6) == 34 && uk_vnet_le16(h + 8) == 16,
		      "TSO tx header of %u bytes", hdr);
		m.flags = UK_NETDEV_M_CSUM_PARTIAL;
	}
}

/* --- a used ring for uk_vnet_rx_gather: buffers of (len) bytes, the first ones' headers set --- */

#define GRING_BUF 2048u
struct gring {
	uint8_t buf[40][GRING_BUF];
	uint32_t len[40];
	unsigned n, next, broken_at; /* broken_at: (next) says the device broke the ring there */
};

static int gring_next(void *ctx, const uint8_t **p, uint32_t *len)
{
	struct gring *g = ctx;

	if (g->broken_at && g->next + 1 == g->broken_at)
		return -1;
	if (g->next == g->n)
		return 0;
	*p = g->buf[g->next];
	*len = g->len[g->next++];
	return 1;
}

/* (g) holds one frame of (flen) bytes of pattern (k) behind a 12-byte header (h) in 2 KiB buffers
 * (num_buffers (nb), 0: as many as it takes); returns how many buffers it took. */
static unsigned gring_frame(struct gring *g, const uint8_t *h, size_t flen, unsigned k, unsigned nb)
{
	size_t left = flen + 12, at = 0;
	unsigned first = g->n;
	uint8_t *whole = malloc(left);

	memcpy(whole, h, 12);
	for (size_t i = 0; i < flen; i++)
		whole[12 + i] = pat(k, i);
	while (left) {
		size_t n = left < GRING_BUF ? left : GRING_BUF;

		memcpy(g->buf[g->n], whole + at, n);
		g->len[g->n++] = (uint32_t)n;
		at += n;
		left -= n;
	}
	free(whole);
	g->buf[first][10] = (uint8_t)(nb ? nb : g->n - first);
	g->buf[first][11] = (uint8_t)((nb ? nb : g->n - first) >> 8);
	return g->n - first;
}

/* The driver's merge of MRG_RXBUF buffers: a 64 KiB frame from 33 buffers, byte-exact; what a
 * hostile device gives (num_buffers 0, past the bound, past what the ring holds, a buffer
 * longer than it was, a frame longer than the stack's buffer) dropped with every one of its
 * buffers taken, so the next frame is read from its own header; never a byte past (cap). */
static void test_vnet_gather(void)
{
	const uint64_t ft = UK_VNET_F_GUEST_CSUM | UK_VNET_F_GUEST_TSO4 | UK_VNET_F_MRG_RXBUF;
	const uint8_t gso[12] = {1, 1, 54, 0, 0xb4, 5, 34, 0, 16, 0};
	const uint8_t plain[12] = {0};
	struct gring *g = calloc(1, sizeof(*g));
	size_t cap = UK_NETDEV_GSO_MAX + 4;
	uint8_t *out = malloc(cap + 64);
	struct uk_netdev_meta m;
	int r, exact;

	/* a whole 64 KiB TSO frame and a small one behind it */
	CHECK(gring_frame(g, gso, UK_NETDEV_GSO_MAX, 1, 0) == 33, "64 KiB in 33 buffers");
	gring_frame(g, plain, 60, 2, 0);
	r = uk_vnet_rx_gather(out, cap, 12, GRING_BUF, ft, gring_next, g, &m);
	exact = r == (int)UK_NETDEV_GSO_MAX;
	for (size_t i = 0; exact && i < UK_NETDEV_GSO_MAX; i++)
		exact = out[i] == pat(1, i);
	CHECK(exact && m.flags == (UK_NETDEV_M_L4_CSUM_OK | UK_NETDEV_M_GSO_TCPV4) &&
	              m.gso_size == 1460 && g->next == 33,
	      "merged 64 KiB frame byte-exact: %d, flags %u, %u buffers taken", r, m.flags,
	      g->next);
	r = uk_vnet_rx_gather(out, cap, 12, GRING_BUF, ft, gring_next, g, &m);
	CHECK(r == 60 && out[0] == pat(2, 0) && m.flags == 0, "then the small frame: %d", r);
	CHECK(uk_vnet_rx_gather(out, cap, 12, GRING_BUF, ft, gring_next, g, &m) == 0,
	      "then nothing");

	/* hostile num_buffers and lengths: the frame dropped, the next one read whole */
	struct {
		const char *what;
		unsigned nb;    /* num_buffers written (0: the true count) */
		int stretch;    /* the second buffer's used length over the buffer's size */
		size_t flen;    /* the frame */
		size_t cap;     /* the stack's buffer */
		unsigned taken; /* buffers the drop takes */
	} t[] = {
	        {"num_buffers 0", 0xffff0000u, 0, 3000, 0, 1},
	        {"num_buffers past the bound", UK_VNET_RX_BUFS_MAX + 1, 0, 3000, 0, 1},
	        {"a buffer longer than it is", 0, 1, 5000, 0, 3},
	        {"frame longer than the stack's buffer", 0, 0, 5000, 4000, 3},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unsigned nb = t[i].nb == 0xffff0000u ? 0 : t[i].nb, k = 10 + (unsigned)i;
		size_t c = t[i].cap ? t[i].cap : cap;

		memset(g, 0, sizeof(*g));
		gring_frame(g, gso, t[i].flen, k, 0);
		if (t[i].nb) {
			g->buf[0][10] = (uint8_t)nb;
			g->buf[0][11] = (uint8_t)(nb >> 8);
		}
		if (t[i].stretch)
			g->len[1] = GRING_BUF + 1;
		memset(out, 0xee, cap + 64);
		r = uk_vnet_rx_gather(out, c, 12, GRING_BUF, ft, gring_next, g, &m);
		CHECK(r == -1 && g->next == t[i].taken && out[c] == 0xee,
		      "%s: dropped (%d), %u buffers taken, nothing past the buffer", t[i].what, r,
		      g->next);
	}
	/* a frame that says 3 buffers while the ring holds 2: dropped, never waited for */
	memset(g, 0, sizeof(*g));
	gring_frame(g, gso, 3000, 20, 3);
	r = uk_vnet_rx_gather(out, cap, 12, GRING_BUF, ft, gring_next, g, &m);
	CHECK(r == -1 && g->next == 2, "num_buffers past the ring: dropped (%d)", r);
	/* without MRG_RXBUF num_buffers is not read: one buffer is one frame */
	memset(g, 0, sizeof(*g));
	gring_frame(g, plain, 100, 21, 7);
	r = uk_vnet_rx_gather(out, cap, 12, GRING_BUF, UK_VNET_F_GUEST_CSUM, gring_next, g, &m);
	CHECK(r == 100 && g->next == 1, "without MRG_RXBUF: one buffer (%d)", r);
	/* without GUEST_TSO4 a long frame is dropped even when merged */
	memset(g, 0, sizeof(*g));
	gring_frame(g, gso, 3000, 22, 0);
	r = uk_vnet_rx_gather(out, cap, 12, GRING_BUF, UK_VNET_F_GUEST_CSUM | UK_VNET_F_MRG_RXBUF,
	                      gring_next, g, &m);
	CHECK(r == -1 && g->next == 2, "a merged GSO frame without GUEST_TSO4: dropped (%d)", r);
	/* the device broke the ring */
	memset(g, 0, sizeof(*g));
	gring_frame(g, gso, 3000, 23, 0);
	g->broken_at = 2;
	CHECK(uk_vnet_rx_gather(out, cap, 12, GRING_BUF, ft, gring_next, g, &m) == -2,
	      "a broken ring is an error, not a drop");
	free(out);
	free(g);
}

int main(void)
{
	heap_init((size_t)1 << 30);
	test_arp_icmp();
	test_udp();
	test_dhcp();
	test_config();
	test_hostile();
	test_two_nics();
	test_csum();
	test_vnet_hdr();
	test_vnet_gather();
	return finish();
}
