/* POSIX sockets, poll and getaddrinfo (runtime-lib/net/socket.c, resolv.c, lib/fd.c) on two wired
 * stacks with a fake clock: errno values, non-blocking connect, backlog, timeouts, close, poll. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "test_net_wire.h"

#include "../../runtime-lib/net/socket_internal.h"

/* The ukt_-prefixed POSIX layer (same values and layouts as glibc's on x86_64 Linux). */
int ukt_socket(int, int, int);
int ukt_bind(int, const struct sockaddr *, socklen_t);
int ukt_listen(int, int);
int ukt_accept(int, struct sockaddr *, socklen_t *);
int ukt_accept4(int, struct sockaddr *, socklen_t *, int);
int ukt_connect(int, const struct sockaddr *, socklen_t);
long ukt_send(int, const void *, size_t, int);
long ukt_recv(int, void *, size_t, int);
long ukt_sendto(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
long ukt_recvfrom(int, void *, size_t, int, struct sockaddr *, socklen_t *);
long ukt_read(int, void *, size_t);
long ukt_write(int, const void *, size_t);
int ukt_close(int);
int ukt_setsockopt(int, int, int, const void *, socklen_t);
int ukt_getsockopt(int, int, int, void *, socklen_t *);
int ukt_getsockname(int, struct sockaddr *, socklen_t *);
int ukt_getpeername(int, struct sockaddr *, socklen_t *);
int ukt_shutdown(int, int);
int ukt_poll(struct pollfd *, nfds_t, int);
int ukt_fcntl(int, int, ...);
int ukt_inet_pton(int, const char *, void *);
const char *ukt_inet_ntop(int, const void *, char *, socklen_t);
int ukt_getaddrinfo(const char *, const char *, const struct addrinfo *, struct addrinfo **);
void ukt_freeaddrinfo(struct addrinfo *);
const char *ukt_gai_strerror(int);
int ukt_uk_dns_parse_reply(const uint8_t *, size_t, uint16_t, const char *, uint32_t *, int);
int ukt_uk_dns_build_query(uint8_t *, size_t, uint16_t, const char *);
struct ukt_fd_waiter {
	uint64_t (*now)(void);
	void (*wait)(uint64_t deadline_ns);
};
void ukt_uk_fd_set_waiter(const struct ukt_fd_waiter *w);
extern int ukt_errno;
void ukt_uk_sock_exit_linger(void);

static struct pair P;
static void (*responder)(void); /* runs on every wait: a test DNS server on stack B */

/* A's NIC as a virtio-net one (lag.on): the frames it is handed leave when the guest next
 * waits (the device runs beside the vCPU); until then tx_pending counts them, and an exit
 * loses them. */
#define LAG_MAX 64
static struct {
	int on;
	unsigned n;
	uint16_t len[LAG_MAX];
	uint8_t f[LAG_MAX][1600];
} lag;

static uk_result_t lag_tx(struct uk_netdev *dev, const void *frame, size_t len)
{
	(void)dev;
	if (lag.n == LAG_MAX || len > sizeof(lag.f[0]))
		return UK_EAGAIN;
	memcpy(lag.f[lag.n], frame, len);
	lag.len[lag.n++] = (uint16_t)len;
	return UK_OK;
}

static unsigned lag_pending(struct uk_netdev *dev)
{
	(void)dev;
	return lag.n;
}

static const struct uk_netdev_ops lag_ops = {
        .tx = lag_tx, .rx = wire_rx, .tx_pending = lag_pending};

static void lag_run(void)
{
	for (unsigned i = 0; lag.on && i < lag.n; i++)
		wire_tx(&P.wa.nd, lag.f[i], lag.len[i]);
	lag.n = 0;
}

/* The blocking calls' wait: runs both stacks until quiet, then jumps to the next timer. */
static void fake_wait(uint64_t deadline)
{
	struct uk_net *cur = uk_net_cur; /* the caller's stack, restored on return */
	int busy, spins = 0;
	uint64_t next;

	lag_run();
	do {
		if (++spins > 1000000)
			abort();
		uk_net_use(P.a);
		busy = uk_net_step(P.a);
		uk_net_use(P.b);
		busy += uk_net_step(P.b);
		if (responder)
			responder();
	} while (busy || P.wa.count || P.wb.count);
	if (lag.n) { /* A sent: the caller wakes (to the answer, in time) and waits again */
		uk_net_use(cur);
		return;
	}
	next = P.a->next_timer < P.b->next_timer ? P.a->next_timer : P.b->next_timer;
	if (next > fake_now + 1000000000ull)
		next = fake_now + 1000000000ull;
	if (next > deadline)
		next = deadline;
	if (next <= fake_now)
		next = fake_now + 1;
	fake_now = next;
	uk_net_use(cur);
	if (fake_now > 4000000000000ull) { /* over an hour of fake time: a call never returned */
		fprintf(stderr, "a blocking call waits forever\n");
		abort();
	}
}

static const struct ukt_fd_waiter waiter = {fake_clock, fake_wait};

static struct sockaddr_in sin_of(uint32_t ip, uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(ip);
	return a;
}

#define SA(x) ((struct sockaddr *)&(x))

static void setup(void)
{
	pair_init(&P);
	uk_net_use(P.a);
	/* The first socket() installs the network waiter; replace it with the fake one. */
	ukt_close(ukt_socket(AF_INET, SOCK_STREAM, 0));
	ukt_uk_fd_set_waiter(&waiter);
}

static void teardown(void)
{
	responder = NULL;
	pair_free(&P);
}

/* A socket on stack A or B. */
static int sock_on(struct uk_net *s, int type)
{
	uk_net_use(s);
	return ukt_socket(AF_INET, type, 0);
}

static int listener_on_b(uint16_t port, int backlog)
{
	int l = sock_on(P.b, SOCK_STREAM), one = 1;
	struct sockaddr_in a = sin_of(0, port);

	ukt_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ukt_bind(l, SA(a), sizeof(a)) < 0 || ukt_listen(l, backlog) < 0)
		return -1;
	return l;
}

/* A blocking connection A -> B:port and its accepted end; returns 0 on success. */
static int connected_pair(uint16_t port, int *ca, int *cb)
{
	int l = listener_on_b(port, 8);
	struct sockaddr_in a = sin_of(IP_B, port);

	*ca = sock_on(P.a, SOCK_STREAM);
	if (l < 0 || ukt_connect(*ca, SA(a), sizeof(a)) < 0)
		return -1;
	*cb = ukt_accept(l, NULL, NULL);
	ukt_close(l);
	return *cb >= 0 ? 0 : -1;
}

static void test_errors(void)
{
	setup();
	int fd = sock_on(P.a, SOCK_STREAM), e;
	CHECK(ukt_socket(AF_INET6, SOCK_STREAM, 0) < 0 && ukt_errno == EAFNOSUPPORT, "AF_INET6");
	CHECK(ukt_socket(AF_INET, SOCK_RAW, 0) < 0 && ukt_errno == EPROTOTYPE, "SOCK_RAW");
	CHECK(ukt_read(999, &e, 1) < 0 && ukt_errno == EBADF, "read of a closed fd: %d", ukt_errno);
	CHECK(ukt_recv(1, &e, 1, 0) < 0 && ukt_errno == ENOTSOCK, "recv on stdout: %d", ukt_errno);
	CHECK(ukt_recv(fd, &e, 1, 0) < 0 && ukt_errno == ENOTCONN, "recv unconnected: %d",
	      ukt_errno);
	CHECK(ukt_send(fd, "x", 1, 0) < 0 && ukt_errno == ENOTCONN, "send unconnected");
	CHECK(ukt_setsockopt(fd, SOL_SOCKET, 12345, &e, sizeof(e)) < 0 && ukt_errno == ENOPROTOOPT,
	      "unknown option");
	int one = 1;
	CHECK(ukt_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0 &&
	              ukt_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == 0,
	      "TCP_NODELAY and SO_KEEPALIVE accepted");
	socklen_t l = sizeof(e);
	CHECK(ukt_getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &e, &l) == 0 && e == 1,
	      "TCP_NODELAY read");
	CHECK(ukt_getsockopt(fd, SOL_SOCKET, SO_TYPE, &e, &l) == 0 && e == SOCK_STREAM, "SO_TYPE");
	/* A port a listener holds cannot be bound again. */
	int l1 = listener_on_b(80, 4), l2 = sock_on(P.b, SOCK_STREAM);
	struct sockaddr_in a80 = sin_of(0, 80), other = sin_of(UK_IP4(10, 9, 9, 9), 81);
	CHECK(l1 >= 0 && ukt_bind(l2, SA(a80), sizeof(a80)) < 0 && ukt_errno == EADDRINUSE,
	      "bind of a port in use: %d", ukt_errno);
	CHECK(ukt_bind(l2, SA(other), sizeof(other)) < 0 && ukt_errno == EADDRNOTAVAIL,
	      "bind to an address not ours: %d", ukt_errno);
	CHECK(ukt_fcntl(fd, F_GETFL) == O_RDWR, "F_GETFL of a blocking socket");
	CHECK(ukt_fcntl(fd, F_SETFL, O_NONBLOCK) == 0 && (ukt_fcntl(fd, F_GETFL) & O_NONBLOCK),
	      "F_SETFL O_NONBLOCK");
	ukt_close(fd);
	ukt_close(l1);
	ukt_close(l2);
	teardown();
}

static void test_connect_refused(void)
{
	setup();
	struct sockaddr_in b9 = sin_of(IP_B, 9);
	int fd = sock_on(P.a, SOCK_STREAM), e = 0;
	socklen_t el = sizeof(e);
	CHECK(ukt_connect(fd, SA(b9), sizeof(b9)) < 0 && ukt_errno == ECONNREFUSED,
	      "blocking connect to a closed port: %d", ukt_errno);
	ukt_close(fd);
	/* Non-blocking: EINPROGRESS, then poll reports the error and SO_ERROR says which. */
	fd = sock_on(P.a, SOCK_STREAM | SOCK_NONBLOCK);
	CHECK(ukt_connect(fd, SA(b9), sizeof(b9)) < 0 && ukt_errno == EINPROGRESS, "EINPROGRESS");
	struct pollfd p = {fd, POLLOUT, 0};
	CHECK(ukt_poll(&p, 1, 5000) == 1 && (p.revents & POLLERR), "poll: POLLERR (%x)", p.revents);
	CHECK(ukt_getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == ECONNREFUSED,
	      "SO_ERROR ECONNREFUSED: %d", e);
	CHECK(ukt_getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0, "SO_ERROR cleared");
	ukt_close(fd);
	/* Nobody at the address: the handshake gives up, ETIMEDOUT (bounded, not forever). */
	struct sockaddr_in silent = sin_of(UK_IP4(10, 0, 2, 99), 80);
	fd = sock_on(P.a, SOCK_STREAM);
	uint64_t t0 = fake_now;
	CHECK(ukt_connect(fd, SA(silent), sizeof(silent)) < 0 && ukt_errno == ETIMEDOUT,
	      "connect to a silent address: ETIMEDOUT (%d)", ukt_errno);
	CHECK(fake_now - t0 < 300000000000ull, "gave up within 5 minutes (%llu s)",
	      (unsigned long long)((fake_now - t0) / 1000000000ull));
	/* With SO_SNDTIMEO the blocking connect returns EINPROGRESS when it runs out. */
	struct timeval tv = {2, 0};
	ukt_close(fd);
	fd = sock_on(P.a, SOCK_STREAM);
	ukt_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	CHECK(ukt_connect(fd, SA(silent), sizeof(silent)) < 0 && ukt_errno == EINPROGRESS,
	      "SO_SNDTIMEO: EINPROGRESS (%d)", ukt_errno);
	ukt_close(fd);
	teardown();
}

static void test_nonblocking_connect(void)
{
	setup();
	int l = listener_on_b(7, 4), fd = sock_on(P.a, SOCK_STREAM), e = -1;
	struct sockaddr_in b7 = sin_of(IP_B, 7), me, peer;
	socklen_t el = sizeof(e), ml = sizeof(me), pl = sizeof(peer);
	CHECK(ukt_fcntl(fd, F_SETFL, ukt_fcntl(fd, F_GETFL) | O_NONBLOCK) == 0, "set O_NONBLOCK");
	CHECK(ukt_connect(fd, SA(b7), sizeof(b7)) < 0 && ukt_errno == EINPROGRESS,
	      "EINPROGRESS: %d", ukt_errno);
	CHECK(ukt_connect(fd, SA(b7), sizeof(b7)) < 0 && ukt_errno == EALREADY, "again: EALREADY");
	struct pollfd p = {fd, POLLOUT, 0};
	CHECK(ukt_poll(&p, 1, 0) == 0, "not writable before the handshake");
	CHECK(ukt_poll(&p, 1, 5000) == 1 && p.revents == POLLOUT, "writable once connected: %x",
	      p.revents);
	CHECK(ukt_getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0, "SO_ERROR 0");
	CHECK(ukt_getpeername(fd, SA(peer), &pl) == 0 && peer.sin_addr.s_addr == htonl(IP_B) &&
	              peer.sin_port == htons(7),
	      "getpeername");
	CHECK(ukt_getsockname(fd, SA(me), &ml) == 0 && me.sin_addr.s_addr == htonl(IP_A) &&
	              ntohs(me.sin_port) >= 1024,
	      "getsockname: %x:%u", ntohl(me.sin_addr.s_addr), ntohs(me.sin_port));
	int c = ukt_accept(l, SA(peer), &pl);
	CHECK(c >= 0 && peer.sin_addr.s_addr == htonl(IP_A) && peer.sin_port == me.sin_port,
	      "accept gives the client's address");
	CHECK(ukt_send(fd, "hello", 5, 0) == 5, "send");
	char buf[8] = {0};
	CHECK(ukt_recv(c, buf, sizeof(buf), 0) == 5 && !memcmp(buf, "hello", 5), "recv");
	ukt_close(c);
	ukt_close(fd);
	ukt_close(l);
	teardown();
}

static void test_backlog(void)
{
	setup();
	int l = listener_on_b(8080, 2), fds[5], up = 0, got = 0;
	struct sockaddr_in a = sin_of(IP_B, 8080);
	ukt_fcntl(l, F_SETFL, O_NONBLOCK);
	CHECK(ukt_accept(l, NULL, NULL) < 0 && ukt_errno == EAGAIN, "accept with none: EAGAIN");
	for (int i = 0; i < 5; i++) {
		fds[i] = sock_on(P.a, SOCK_STREAM | SOCK_NONBLOCK);
		ukt_connect(fds[i], SA(a), sizeof(a));
	}
	run(&P, 300, NULL, NULL); /* nobody accepts: only the backlog completes */
	for (int i = 0; i < 5; i++) {
		struct pollfd p = {fds[i], POLLOUT, 0};
		up += ukt_poll(&p, 1, 0) == 1 && p.revents == POLLOUT;
	}
	CHECK(up == 2, "with backlog 2 and no accept, 2 of 5 connections complete (%d)", up);
	/* Accepting makes room; the others get in through SYN retransmission. */
	struct pollfd lp = {l, POLLIN, 0};
	while (got < 5 && ukt_poll(&lp, 1, 60000) == 1) {
		int c;
		while ((c = ukt_accept(l, NULL, NULL)) >= 0) {
			got++;
			ukt_close(c);
		}
		CHECK(ukt_errno == EAGAIN, "accept drained: EAGAIN");
	}
	CHECK(got == 5, "all 5 accepted in the end (%d)", got);
	for (int i = 0; i < 5; i++)
		ukt_close(fds[i]);
	ukt_close(l);
	teardown();
}

static void test_timeouts(void)
{
	setup();
	int a, b;
	char c;
	CHECK(connected_pair(5000, &a, &b) == 0, "pair");
	struct timeval tv = {1, 500000};
	CHECK(ukt_setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0, "SO_RCVTIMEO");
	uint64_t t0 = fake_now;
	CHECK(ukt_recv(b, &c, 1, 0) < 0 && ukt_errno == EAGAIN, "recv with timeout: EAGAIN (%d)",
	      ukt_errno);
	CHECK(fake_now - t0 >= 1500000000ull && fake_now - t0 < 2500000000ull,
	      "returned after the 1.5 s timeout (%llu ms)",
	      (unsigned long long)((fake_now - t0) / 1000000));
	t0 = fake_now;
	CHECK(ukt_recv(b, &c, 1, MSG_DONTWAIT) < 0 && ukt_errno == EAGAIN && fake_now == t0,
	      "MSG_DONTWAIT: EAGAIN at once");
	struct timeval back;
	socklen_t bl = sizeof(back);
	CHECK(ukt_getsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &back, &bl) == 0 && back.tv_sec == 1 &&
	              back.tv_usec == 500000,
	      "SO_RCVTIMEO read back");
	struct pollfd p = {b, POLLIN, 0};
	t0 = fake_now;
	CHECK(ukt_poll(&p, 1, 250) == 0 && fake_now - t0 >= 250000000ull, "poll timeout");
	ukt_close(a);
	ukt_close(b);
	teardown();
}

static void test_close(void)
{
	setup();
	int a, b;
	char buf[64];
	/* Data then close: the peer reads it all, then end of stream. */
	CHECK(connected_pair(6000, &a, &b) == 0, "pair 1");
	CHECK(ukt_write(a, "last words", 10) == 10, "write");
	CHECK(ukt_close(a) == 0, "close");
	CHECK(ukt_close(a) < 0 && ukt_errno == EBADF, "close twice: EBADF");
	CHECK(ukt_recv(b, buf, sizeof(buf), MSG_WAITALL) == 10 && !memcmp(buf, "last words", 10),
	      "data sent before close arrives");
	CHECK(ukt_read(b, buf, sizeof(buf)) == 0, "then end of stream");
	struct pollfd p = {b, POLLIN, 0};
	CHECK(ukt_poll(&p, 1, 0) == 1 && (p.revents & POLLIN), "EOF polls readable");
	ukt_close(b);
	/* Close with unread data: the peer is reset (RFC 9293 3.6), recv says ECONNRESET. */
	CHECK(connected_pair(6001, &a, &b) == 0, "pair 2");
	CHECK(ukt_send(a, "unread", 6, 0) == 6, "send");
	run(&P, 10, NULL, NULL);
	ukt_close(b);
	CHECK(ukt_recv(a, buf, sizeof(buf), 0) < 0 && ukt_errno == ECONNRESET, "ECONNRESET: %d",
	      ukt_errno);
	CHECK(ukt_send(a, "x", 1, 0) < 0 && ukt_errno == ECONNRESET, "send after reset");
	ukt_close(a);
	/* SO_LINGER 0: close sends RST at once. */
	CHECK(connected_pair(6002, &a, &b) == 0, "pair 3");
	struct linger lg = {1, 0};
	CHECK(ukt_setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0, "SO_LINGER");
	ukt_close(a);
	CHECK(ukt_recv(b, buf, sizeof(buf), 0) < 0 && ukt_errno == ECONNRESET,
	      "SO_LINGER 0 resets the peer: %d", ukt_errno);
	ukt_close(b);
	/* shutdown(SHUT_WR): the peer sees EOF and can still answer. */
	CHECK(connected_pair(6003, &a, &b) == 0, "pair 4");
	CHECK(ukt_shutdown(a, SHUT_WR) == 0, "shutdown");
	CHECK(ukt_send(a, "x", 1, 0) < 0 && ukt_errno == EPIPE, "send after SHUT_WR: EPIPE");
	CHECK(ukt_recv(b, buf, sizeof(buf), 0) == 0, "peer reads EOF");
	CHECK(ukt_send(b, "reply", 5, 0) == 5, "peer answers");
	CHECK(ukt_recv(a, buf, sizeof(buf), 0) == 5 && !memcmp(buf, "reply", 5),
	      "half-closed reads");
	ukt_close(a);
	ukt_close(b);
	teardown();
}

/* --- exit(): the closed connections finish before the guest stops --- */

/* The peer, on stack B with the raw API: reads until the EOF, then closes (mode 0), closes
 * 200 ms later (1: its ACK of our FIN goes first, by the delayed-ACK timer) or never (2). */
static struct {
	int mode;
	struct uk_tcp *c;
	uint64_t eof_at;
} ep;

#define EP_LATE (200 * NET_MS)

static void exit_peer_cb(struct uk_tcp *c, unsigned ev, void *arg)
{
	uint8_t buf[256];
	long r;

	(void)ev;
	(void)arg;
	if (uk_tcp_state(c) == UK_TCP_LISTEN) {
		for (struct uk_tcp *n; (n = uk_tcp_accept(c));)
			ep.c = n;
		return;
	}
	while ((r = uk_tcp_read(c, buf, sizeof(buf))) > 0)
		;
	if (r || ep.eof_at)
		return;
	ep.eof_at = fake_now;
	if (ep.mode == 0) {
		uk_tcp_close(c);
		ep.c = NULL;
	}
}

/* The responder (on every wait): the late close, its time kept among B's timers. */
static void exit_peer_late(void)
{
	if (ep.mode != 1 || !ep.c || !ep.eof_at)
		return;
	if (fake_now < ep.eof_at + EP_LATE) {
		if (P.b->next_timer > ep.eof_at + EP_LATE)
			P.b->next_timer = ep.eof_at + EP_LATE;
		return;
	}
	uk_net_use(P.b);
	uk_tcp_close(ep.c);
	ep.c = NULL;
	uk_net_step(P.b); /* the FIN out now: the wait would not step B again before its jump */
}

/*
 * netblast's end: the client closes its connection and exits at once. exit() (the linger
 * atexit runs) must see the close through: our FIN acknowledged, the peer's FIN acknowledged
 * and that last ACK taken by the NIC before the guest stops. Else the peer sits in LAST_ACK,
 * retransmitting its FIN to a guest that is gone. A peer that never closes gets a RST after
 * EXIT_PEER_FIN_NS (1 s), not a connection left open.
 */
static void exit_case(int mode, const char *what)
{
	struct sockaddr_in a = sin_of(IP_B, (uint16_t)(7000 + mode));
	struct uk_tcp *l;
	uint64_t t0, took, stop;
	int fd;

	setup();
	memset(&ep, 0, sizeof(ep));
	ep.mode = mode;
	P.wa.nd.ops = &lag_ops;
	lag.on = 1;
	uk_net_use(P.b);
	l = uk_tcp_listen((uint16_t)(7000 + mode), 4);
	uk_tcp_set_callback(l, exit_peer_cb, NULL);
	responder = exit_peer_late;
	fd = sock_on(P.a, SOCK_STREAM);
	CHECK(ukt_connect(fd, SA(a), sizeof(a)) == 0, "%s: connect", what);
	CHECK(ukt_send(fd, "bye", 3, 0) == 3, "%s: send", what);
	t0 = fake_now;
	ukt_close(fd);
	uk_net_use(P.a);
	ukt_uk_sock_exit_linger();
	took = fake_now - t0;
	unsigned time_wait = 0;
	for (struct uk_tcp *c = P.a->all; c; c = c->anext)
		time_wait += c->state == UK_TCP_TIME_WAIT;
	/* The guest stops: what its NIC still holds is lost, nothing answers any more. */
	lag.n = 0;
	lag.on = 0;
	stop = fake_now + 120 * NET_S;
	while (fake_now < stop) {
		uk_net_use(P.b);
		uk_net_step(P.b);
		P.wa.head = P.wa.count = 0;
		fake_now = P.b->next_timer < stop ? P.b->next_timer : stop;
	}
	if (mode < 2) {
		CHECK(!P.b->ntcp && !P.b->st.tcp_retransmits,
		      "%s: the peer's connection closed, its FIN never retransmitted: %u left, "
		      "%llu "
		      "retransmissions",
		      what, P.b->ntcp, (unsigned long long)P.b->st.tcp_retransmits);
		/* (The test's clock jumps to the wait's end: a bound on (took) says little.) */
		CHECK(time_wait == 1, "%s: exit returned with the connection in TIME_WAIT: %u",
		      what, time_wait);
	} else {
		CHECK(ep.c && uk_tcp_state(ep.c) == UK_TCP_RESET,
		      "%s: the peer that never closes is reset: state %d", what,
		      ep.c ? (int)uk_tcp_state(ep.c) : -1);
		CHECK(took >= NET_S && took < 2 * NET_S, "%s: after 1 s: %llu ms", what,
		      (unsigned long long)(took / NET_MS));
		uk_tcp_close(ep.c);
	}
	uk_tcp_close(l);
	P.wa.nd.ops = &wire_ops;
	teardown();
}

static void test_exit(void)
{
	exit_case(0, "the peer closes at once");
	exit_case(1, "the peer closes 200 ms later");
	exit_case(2, "the peer never closes");
}

#define MANY 50

static void test_poll_many(void)
{
	setup();
	int l = listener_on_b(9000, 64), ca[MANY], cb[MANY], n = 0;
	struct sockaddr_in a = sin_of(IP_B, 9000);
	struct pollfd p[MANY];
	for (int i = 0; i < MANY; i++) {
		ca[i] = sock_on(P.a, SOCK_STREAM);
		CHECK(ukt_connect(ca[i], SA(a), sizeof(a)) == 0, "connect %d", i);
		cb[i] = ukt_accept(l, NULL, NULL);
	}
	for (int i = 0; i < MANY; i += 2)
		ukt_send(ca[i], &i, sizeof(i), 0);
	for (int i = 0; i < MANY; i++)
		p[i] = (struct pollfd){cb[i], POLLIN, 0};
	while (n < MANY / 2) {
		int r = ukt_poll(p, MANY, 5000), ready = 0;
		if (r <= 0)
			break;
		for (int i = 0; i < MANY; i++) {
			int v = -1;
			if (!p[i].revents)
				continue;
			ready++;
			CHECK(i % 2 == 0 && ukt_recv(cb[i], &v, sizeof(v), 0) == sizeof(v) &&
			              v == i,
			      "only the written sockets are readable, with their data (%d)", i);
			p[i].fd = -1; /* skipped from now on */
			n++;
		}
		CHECK(r == ready, "poll counts ready entries (%d vs %d)", r, ready);
	}
	CHECK(n == MANY / 2, "poll saw all %d written sockets (%d)", MANY / 2, n);
	p[0] = (struct pollfd){777, POLLIN, 0}; /* not open */
	p[1] = (struct pollfd){cb[1], POLLIN, 0};
	CHECK(ukt_poll(p, 2, 0) == 1 && p[0].revents == POLLNVAL && !p[1].revents,
	      "a closed descriptor polls POLLNVAL");
	for (int i = 0; i < MANY; i++) {
		ukt_close(ca[i]);
		ukt_close(cb[i]);
	}
	ukt_close(l);
	teardown();
}

static void test_udp(void)
{
	setup();
	int u = sock_on(P.b, SOCK_DGRAM), c = sock_on(P.a, SOCK_DGRAM),
	    u2 = sock_on(P.b, SOCK_DGRAM);
	struct sockaddr_in b = sin_of(0, 5353), to = sin_of(IP_B, 5353), from;
	socklen_t fl = sizeof(from);
	char buf[16];
	CHECK(ukt_bind(u, SA(b), sizeof(b)) == 0, "bind udp");
	CHECK(ukt_bind(u2, SA(b), sizeof(b)) < 0 && ukt_errno == EADDRINUSE, "udp port in use");
	CHECK(ukt_sendto(c, "ping", 4, 0, SA(to), sizeof(to)) == 4, "sendto");
	CHECK(ukt_recvfrom(u, buf, 2, 0, SA(from), &fl) == 2 && !memcmp(buf, "pi", 2) &&
	              from.sin_addr.s_addr == htonl(IP_A),
	      "recvfrom truncates to the buffer and gives the source");
	CHECK(ukt_sendto(u, "pong", 4, 0, SA(from), fl) == 4, "reply");
	CHECK(ukt_recv(c, buf, sizeof(buf), 0) == 4 && !memcmp(buf, "pong", 4), "reply arrives");
	CHECK(ukt_send(u2, "x", 1, 0) < 0 && ukt_errno == EDESTADDRREQ, "send unconnected udp");
	ukt_close(u);
	ukt_close(u2);
	ukt_close(c);
	teardown();
}

static void test_inet(void)
{
	const char *cases[] = {"1.2.3.4",   "255.255.255.255", "0.0.0.0",  "256.1.1.1", "1.2.3",
	                       "1.2.3.4.5", "01.2.3.4",        " 1.2.3.4", "1.2.3.4 ",  "",
	                       "a.b.c.d",   "10.0.2.15",       "1..2.3"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t x = 0, y = 0;
		int r1 = ukt_inet_pton(AF_INET, cases[i], &x),
		    r2 = inet_pton(AF_INET, cases[i], &y);
		CHECK(r1 == r2 && x == y, "inet_pton(\"%s\"): %d vs glibc %d", cases[i], r1, r2);
	}
	char s[INET_ADDRSTRLEN], t[8];
	uint32_t v = htonl(UK_IP4(192, 168, 1, 200));
	CHECK(ukt_inet_ntop(AF_INET, &v, s, sizeof(s)) && !strcmp(s, "192.168.1.200"), "inet_ntop");
	CHECK(!ukt_inet_ntop(AF_INET, &v, t, sizeof(t)) && ukt_errno == ENOSPC, "ntop: ENOSPC");
}

/* --- the resolver --- */

static void test_dns_parser(void)
{
	uint8_t q[300], q2[300], m[600], *o;
	uint32_t addrs[4];
	int ql = ukt_uk_dns_build_query(q, sizeof(q), 0x1234, "svc.Test");
	CHECK(ql == 12 + 10 + 4 && q[12] == 3 && !memcmp(q + 13, "svc", 3), "query layout (%d)",
	      ql);
	/* A reply: the question, a CNAME, two A records (names compressed). */
	memcpy(m, q, (size_t)ql);
	m[2] = 0x81, m[3] = 0x80, m[7] = 3;
	CHECK(ukt_uk_dns_build_query(q2, sizeof(q2), 1, "a..b") < 0, "empty label refused");
	CHECK(ukt_uk_dns_build_query(
	              q2, sizeof(q2), 1,
	              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b") < 0,
	      "64-byte label refused");

	o = m + ql;
	const uint8_t cname[] = {0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12};
	const uint8_t a1[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7};
	const uint8_t a2[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 8};
	memcpy(o, cname, sizeof(cname)), o += sizeof(cname);
	memcpy(o, a1, sizeof(a1)), o += sizeof(a1);
	memcpy(o, a2, sizeof(a2)), o += sizeof(a2);
	size_t len = (size_t)(o - m);
	int k = ukt_uk_dns_parse_reply(m, len, 0x1234, "SVC.test", addrs, 4);
	CHECK(k == 2 && addrs[0] == UK_IP4(10, 0, 0, 7) && addrs[1] == UK_IP4(10, 0, 0, 8),
	      "two A records, case-insensitive name (%d)", k);
	CHECK(ukt_uk_dns_parse_reply(m, len, 0x1235, "svc.test", addrs, 4) == -1, "wrong id");
	CHECK(ukt_uk_dns_parse_reply(m, len, 0x1234, "other.test", addrs, 4) == -1, "wrong name");
	CHECK(ukt_uk_dns_parse_reply(m, len - 1, 0x1234, "svc.test", addrs, 4) == -1, "truncated");
	CHECK(ukt_uk_dns_parse_reply(m, len, 0x1234, "svc.test", addrs, 1) == 1, "max respected");
	m[3] = 0x83;
	CHECK(ukt_uk_dns_parse_reply(m, len, 0x1234, "svc.test", addrs, 4) == -2, "NXDOMAIN");
	m[3] = 0x82;
	CHECK(ukt_uk_dns_parse_reply(m, len, 0x1234, "svc.test", addrs, 4) == -3, "SERVFAIL");
	m[3] = 0x80;
	m[2] = 0x01;
	CHECK(ukt_uk_dns_parse_reply(m, len, 0x1234, "svc.test", addrs, 4) == -1, "not a reply");
	m[2] = 0x81;
	/* A compression pointer to itself must not loop. */
	o = m + ql;
	o[0] = 0xc0, o[1] = (uint8_t)ql;
	CHECK(ukt_uk_dns_parse_reply(m, len, 0x1234, "svc.test", addrs, 4) == -1, "pointer loop");
}

static int dns_fd = -1, dns_drop_first, dns_queries;
static int dns_tcp_fd = -1, dns_tcp_queries, dns_tcp_oversize;

/* big.test's answer: 40 A records (10.0.1.1 ... 10.0.1.40), 678 bytes: more than a datagram
 * of 512 takes, so the UDP server sends the question alone with TC set. */
static size_t big_answer(uint8_t *m, size_t qlen)
{
	size_t n = qlen;

	m[2] = 0x81, m[3] = 0x80, m[6] = 0, m[7] = 40;
	for (int i = 1; i <= 40; i++) {
		const uint8_t rr[] = {0xc0, 12, 0, 1, 0,  1, 0, 0,
		                      0,    60, 0, 4, 10, 0, 1, (uint8_t)i};
		memcpy(m + n, rr, sizeof(rr));
		n += sizeof(rr);
	}
	return n;
}

/* The same server over TCP (RFC 7766): one query per connection, answered and closed;
 * (dns_tcp_oversize) announces a 20000-byte answer instead. */
static void dns_serve_tcp(void)
{
	static int c = -1;
	uint8_t m[1024];
	long n;

	if (c < 0 && (c = ukt_accept4(dns_tcp_fd, NULL, NULL, SOCK_NONBLOCK)) < 0)
		return;
	if ((n = ukt_recv(c, m, sizeof(m), 0)) < 0 && ukt_errno == EAGAIN)
		return; /* the query is not here yet: the next step */
	if (n >= 14 && n == 2 + (m[0] << 8 | m[1])) {
		size_t len = big_answer(m + 2, (size_t)n - 2);
		dns_tcp_queries++;
		m[0] = (uint8_t)(len >> 8), m[1] = (uint8_t)len;
		if (dns_tcp_oversize)
			m[0] = 20000 >> 8, m[1] = 20000 & 255;
		ukt_send(c, m, len + 2, 0);
	}
	ukt_close(c);
	c = -1;
}

/* A DNS server on stack B (10.0.2.15:53): svc.test is 10.0.0.7, big.test is truncated (TC),
 * everything else NXDOMAIN. */
static void dns_serve(void)
{
	uint8_t m[600];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	if (dns_tcp_fd >= 0)
		dns_serve_tcp();
	long n = ukt_recvfrom(dns_fd, m, sizeof(m), MSG_DONTWAIT, SA(from), &fl);
	if (n < 12)
		return;
	if (dns_queries++ == 0 && dns_drop_first)
		return;
	if (n > 13 && m[12] == 3 && !memcmp(m + 13, "big", 3)) {
		m[2] = 0x83, m[3] = 0x80; /* QR, TC, RD; RA: the records did not fit */
		ukt_sendto(dns_fd, m, (size_t)n, 0, SA(from), fl);
		return;
	}
	int known = n > 13 && m[12] == 3 && !memcmp(m + 13, "svc", 3);
	m[2] = 0x81, m[3] = known ? 0x80 : 0x83, m[7] = (uint8_t)known;
	const uint8_t a1[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7};
	if (known)
		memcpy(m + n, a1, sizeof(a1)), n += (long)sizeof(a1);
	ukt_sendto(dns_fd, m, (size_t)n, 0, SA(from), fl);
}

static void test_getaddrinfo(void)
{
	static char dns_env[] = "UK_DNS=10.0.2.15", *env[] = {dns_env, NULL};
	struct addrinfo h, *r = NULL;
	struct sockaddr_in *sa;
	char **saved = ukt_environ;

	setup();
	memset(&h, 0, sizeof(h));
	CHECK(ukt_getaddrinfo("10.1.2.3", "80", NULL, &r) == 0 && r && r->ai_next &&
	              !r->ai_next->ai_next && r->ai_socktype == SOCK_STREAM &&
	              r->ai_next->ai_socktype == SOCK_DGRAM,
	      "numeric host, no hints: a stream and a datagram entry");
	sa = (struct sockaddr_in *)r->ai_addr;
	CHECK(sa->sin_addr.s_addr == htonl(UK_IP4(10, 1, 2, 3)) && sa->sin_port == htons(80),
	      "address and port");
	ukt_freeaddrinfo(r);
	h.ai_flags = AI_PASSIVE;
	h.ai_socktype = SOCK_STREAM;
	CHECK(ukt_getaddrinfo(NULL, "http", &h, &r) == 0 &&
	              ((struct sockaddr_in *)r->ai_addr)->sin_addr.s_addr == 0 &&
	              ((struct sockaddr_in *)r->ai_addr)->sin_port == htons(80) && !r->ai_next,
	      "AI_PASSIVE: INADDR_ANY, service by name");
	ukt_freeaddrinfo(r);
	h.ai_flags = AI_NUMERICHOST;
	CHECK(ukt_getaddrinfo("svc.test", "1", &h, &r) == EAI_NONAME, "AI_NUMERICHOST with a name");
	h.ai_flags = 0;
	CHECK(ukt_getaddrinfo("1.2.3.4", "nosuchservice", &h, &r) == EAI_SERVICE, "EAI_SERVICE");
	CHECK(ukt_getaddrinfo("1.2.3.4", "70000", &h, &r) == EAI_SERVICE, "port out of range");
	h.ai_family = AF_INET6;
	CHECK(ukt_getaddrinfo("1.2.3.4", "1", &h, &r) == EAI_FAMILY, "EAI_FAMILY");
	h.ai_family = AF_UNSPEC;
	CHECK(!strcmp(ukt_gai_strerror(EAI_NONAME), gai_strerror(EAI_NONAME)) &&
	              !strcmp(ukt_gai_strerror(EAI_AGAIN), gai_strerror(EAI_AGAIN)),
	      "gai_strerror matches glibc's wording");
	/* No resolver configured: a clear failure, not a wait. */
	CHECK(ukt_getaddrinfo("svc.test", "1", &h, &r) == EAI_FAIL, "no resolver: EAI_FAIL");
	/* Over the wire to the test server on stack B. */
	ukt_environ = env;
	dns_fd = sock_on(P.b, SOCK_DGRAM);
	struct sockaddr_in b53 = sin_of(0, 53);
	ukt_bind(dns_fd, SA(b53), sizeof(b53));
	responder = dns_serve;
	uk_net_use(P.a);
	CHECK(ukt_getaddrinfo("svc.test.", "7", &h, &r) == 0 && r &&
	              ((struct sockaddr_in *)r->ai_addr)->sin_addr.s_addr ==
	                      htonl(UK_IP4(10, 0, 0, 7)),
	      "svc.test resolved over DNS");
	ukt_freeaddrinfo(r);
	CHECK(ukt_getaddrinfo("gone.test", "7", &h, &r) == EAI_NONAME, "NXDOMAIN: EAI_NONAME");
	dns_drop_first = 1;
	dns_queries = 0;
	uint64_t t0 = fake_now;
	CHECK(ukt_getaddrinfo("svc.test", "7", &h, &r) == 0 && dns_queries == 2 &&
	              fake_now - t0 >= 2000000000ull,
	      "a lost query is sent again after 2 s (%d queries)", dns_queries);
	ukt_freeaddrinfo(r);
	/* A truncated answer: asked again over TCP, every record there (up to 16 kept) */
	h.ai_socktype = SOCK_STREAM;
	dns_drop_first = 0;
	CHECK(ukt_getaddrinfo("big.test", "7", &h, &r) == EAI_AGAIN,
	      "TC and no TCP server: EAI_AGAIN, not the empty truncated answer");
	dns_tcp_fd = listener_on_b(53, 4);
	ukt_fcntl(dns_tcp_fd, F_SETFL, O_NONBLOCK);
	uk_net_use(P.a);
	int got = ukt_getaddrinfo("big.test", "7", &h, &r), count = 0, in_order = 1;
	for (struct addrinfo *i = r; i; i = i->ai_next, count++)
		in_order &= ((struct sockaddr_in *)i->ai_addr)->sin_addr.s_addr ==
		            htonl(UK_IP4(10, 0, 1, count + 1));
	CHECK(got == 0 && count == UK_DNS_MAX_ADDRS && in_order && dns_tcp_queries == 1,
	      "TC: resolved over TCP (%d, %d addresses, %d TCP queries)", got, count,
	      dns_tcp_queries);
	ukt_freeaddrinfo(r);
	dns_tcp_oversize = 1;
	t0 = fake_now;
	CHECK(ukt_getaddrinfo("big.test", "7", &h, &r) == EAI_AGAIN &&
	              fake_now - t0 <= 30000000000ull,
	      "an answer over TCP longer than the resolver takes: EAI_AGAIN, bounded (%llu ms)",
	      (unsigned long long)((fake_now - t0) / 1000000));
	ukt_close(dns_tcp_fd);
	dns_tcp_fd = -1;
	h.ai_socktype = 0;
	responder = NULL; /* nobody answers: bounded, EAI_AGAIN */
	t0 = fake_now;
	CHECK(ukt_getaddrinfo("svc.test", "7", &h, &r) == EAI_AGAIN &&
	              fake_now - t0 <= 7000000000ull,
	      "no answer: EAI_AGAIN after 3 tries (%llu ms)",
	      (unsigned long long)((fake_now - t0) / 1000000));
	ukt_close(dns_fd);
	ukt_environ = saved;
	teardown();
}

int main(void)
{
	heap_init((size_t)1 << 30);
	test_inet();
	test_dns_parser();
	test_errors();
	test_connect_refused();
	test_nonblocking_connect();
	test_backlog();
	test_timeouts();
	test_close();
	test_exit();
	test_poll_many();
	test_udp();
	test_getaddrinfo();
	return finish();
}
