/* POSIX sockets (sys/socket.h) over the stack's own API: descriptors from uk/fd.h, errno mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uk/fd.h>
#include <uk/internal.h>
#include <uk/net.h>
#include <uk/uk.h>

#include "net_internal.h"
#include "socket_internal.h"

#define EXIT_LINGER_NS (5 * NET_S) /* how long exit() drives the stack to deliver closed data */
#define EXIT_PEER_FIN_NS NET_S     /* how long it waits for a peer's FIN after its ACK of ours */
#define READY_WAIT_NS (10 * NET_S) /* how long a call waits for DHCP before ENETUNREACH */

struct sock {
	struct uk_net *s;
	int type; /* SOCK_STREAM or SOCK_DGRAM */
	struct uk_tcp *tcp;
	struct uk_udp *udp;
	uint32_t lip, rip; /* host order */
	uint16_t lport, rport;
	uint8_t bound, listening, connecting, connected, established;
	uint8_t shut_rd, shut_wr, reuseaddr, keepalive, nodelay, broadcast;
	int err; /* pending SO_ERROR */
	struct linger linger;
	uint64_t rcvtimeo, sndtimeo; /* ns, 0: forever */
	struct sock *next;
};

static struct sock *socks; /* every open socket (port checks, exit) */

/* --- the stack behind the descriptors --- */

static uint64_t net_clock_now(void)
{
	return uk_net_cur ? uk_net_cur->clock() : uk_time_monotonic_ns();
}

static void net_wait(uint64_t deadline)
{
	uint64_t t = net_clock_now();

	if (deadline <= t)
		return;
	if (uk_net_poll(deadline - t > NET_S ? NET_S : deadline - t) < 0)
		uk_time_block_until(deadline); /* no stack: just sleep */
}

static const struct uk_fd_waiter net_waiter = {net_clock_now, net_wait};

/*
 * Closes every socket and, as a kernel completes the close of a process that exited, drives
 * the stack until the closed connections are done: data and FIN delivered, the peer's FIN
 * acknowledged (bounded: EXIT_LINGER_NS). A peer that acknowledged our FIN usually sends its
 * own soon after; it gets EXIT_PEER_FIN_NS, then a RST: nothing would answer its FIN once the
 * guest is gone, and it would sit in LAST_ACK retransmitting it (Linux answers such a late FIN
 * with a RST too). Last, the NIC takes the frames sent (the final ACK) before the guest stops.
 */
void uk_sock_exit_linger(void)
{
	struct uk_net *s = uk_net_cur;
	uint64_t t, end, peer_fin_end;

	for (int fd = 3; fd < UK_FD_MAX && socks; fd++)
		if (uk_fd_get(fd, &uk_sock_ops))
			close(fd);
	if (!s)
		return;
	t = uk_fd_now();
	end = t + EXIT_LINGER_NS;
	peer_fin_end = t + EXIT_PEER_FIN_NS;
	for (; t < end; t = uk_fd_now()) {
		int busy = 0;
		uk_net_use(s);
		for (struct uk_tcp *c = s->all, *next; c; c = next) {
			next = c->anext;
			int orphan_fw2 = c->state == UK_TCP_FIN_WAIT_2 && !c->owned;
			if (orphan_fw2 && t >= peer_fin_end)
				uk_tcp_abort(c); /* not one the raw API's user still holds */
			else if (c->state == UK_TCP_FIN_WAIT_1 || orphan_fw2 ||
			         c->state == UK_TCP_CLOSING || c->state == UK_TCP_LAST_ACK ||
			         c->state == UK_TCP_SYN_SENT ||
			         (c->state == UK_TCP_CLOSE_WAIT && c->snd.len))
				busy = 1;
		}
		if (busy)
			uk_fd_wait(peer_fin_end > t ? peer_fin_end : end);
		else if (net_tx_pending(s))
			uk_fd_wait(t + NET_MS); /* the NIC says nothing when it takes a frame */
		else
			break;
	}
}

/* Starts the stack from the runtime options on first use; 0 or -ENETDOWN. */
static int net_up(void)
{
	static int hooked;

	if (!uk_net_cur && uk_net_configure_from_options() != UK_OK)
		return -ENETDOWN;
	if (!hooked) {
		hooked = 1;
		/* ukd gives an instance on several networks UK_IPk for NIC k (docs/networking.md):
		 * one the stack could not set up is said, rather than its traffic dropped quietly
		 */
		if (uk_net_cur && getenv("UK_IP1") && !uk_net_cur->nextra)
			uk_printk(
			        "uk: UK_IP1=%s: no second NIC to give it (or a bad address): only "
			        "the first network is reachable\n",
			        getenv("UK_IP1"));
		uk_fd_set_waiter(&net_waiter);
		atexit(uk_sock_exit_linger);
	}
	return 0;
}

/* Waits (bounded) for an address (DHCP); 0 or -ENETUNREACH. */
static int net_ready(struct sock *sk)
{
	uint64_t end = uk_fd_now() + READY_WAIT_NS;

	uk_net_use(sk->s);
	while (!uk_net_ready()) {
		if (uk_fd_now() >= end)
			return -ENETUNREACH;
		uk_fd_wait(end);
		uk_net_use(sk->s);
	}
	return 0;
}

/* --- events and errors --- */

/* The errno of a connection that failed (reset or timed out). */
static int conn_err(struct sock *sk)
{
	switch (uk_tcp_state(sk->tcp)) {
	case UK_TCP_RESET:
		return sk->established ? ECONNRESET : ECONNREFUSED;
	case UK_TCP_TIMED_OUT:
		return ETIMEDOUT;
	default:
		return EPIPE;
	}
}

static unsigned sock_events(struct sock *sk)
{
	unsigned ev = 0, t;

	if (sk->type == SOCK_DGRAM) {
		ev = POLLOUT;
		if ((sk->udp && uk_udp_readable(sk->udp)) || sk->shut_rd)
			ev |= POLLIN;
		return ev;
	}
	if (!sk->tcp)
		return POLLOUT | POLLHUP;
	t = uk_tcp_events(sk->tcp);
	if (sk->listening)
		return t & UK_NET_READABLE ? POLLIN : 0;
	if (sk->connecting) {
		if (t & UK_NET_ERROR) {
			sk->connecting = 0;
			sk->err = conn_err(sk);
		} else if (uk_tcp_state(sk->tcp) != UK_TCP_SYN_SENT) {
			sk->connecting = 0;
			sk->connected = sk->established = 1;
		}
	}
	if (t & UK_NET_READABLE)
		ev |= POLLIN;
	if (t & UK_NET_WRITABLE)
		ev |= POLLOUT;
	if (t & UK_NET_HUP)
		ev |= POLLIN | POLLRDHUP;
	if (t & UK_NET_ERROR)
		ev |= POLLERR | POLLHUP | POLLIN | POLLOUT;
	if (sk->shut_rd)
		ev |= POLLIN;
	if (sk->shut_wr && (t & UK_NET_HUP))
		ev |= POLLHUP;
	return ev;
}

/*
 * Waits until (sk) has one of (want) or (timeout) ns pass (0: forever).
 * Returns 0, or -EAGAIN on timeout.
 */
static int sock_wait(struct sock *sk, unsigned want, uint64_t timeout)
{
	uint64_t deadline = timeout ? uk_fd_now() + timeout : UINT64_MAX;

	while (!(sock_events(sk) & want)) {
		if (uk_fd_now() >= deadline)
			return -EAGAIN;
		uk_fd_wait(deadline);
	}
	return 0;
}

/* The pending SO_ERROR of (sk), cleared (0 if none). */
static int take_err(struct sock *sk)
{
	int e;

	sock_events(sk);
	e = sk->err;
	sk->err = 0;
	return e;
}

/* --- descriptors --- */

static struct sock *sock_get(int fd, struct uk_fd **fp, long *err)
{
	struct uk_fd *f = uk_fd_get(fd, &uk_sock_ops);

	if (!f) {
		*err = uk_fd_get(fd, NULL) ? -ENOTSOCK : -EBADF;
		return NULL;
	}
	if (fp)
		*fp = f;
	return f->obj;
}

static long fail(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static struct sock *sock_new(int type)
{
	struct sock *sk = calloc(1, sizeof(*sk));

	if (!sk)
		return NULL;
	sk->s = uk_net_cur;
	sk->type = type;
	sk->next = socks;
	socks = sk;
	return sk;
}

static void sock_free(struct sock *sk)
{
	for (struct sock **pp = &socks; *pp; pp = &(*pp)->next) {
		if (*pp == sk) {
			*pp = sk->next;
			break;
		}
	}
	free(sk);
}

static int sock_fd(struct sock *sk, int nonblock)
{
	int fd = uk_fd_alloc(&uk_sock_ops, sk, O_RDWR | (nonblock ? O_NONBLOCK : 0));

	if (fd < 0)
		sock_free(sk);
	return fd;
}

int socket(int domain, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), r;
	struct sock *sk;

	if (domain != AF_INET)
		return (int)fail(-EAFNOSUPPORT);
	if (base != SOCK_STREAM && base != SOCK_DGRAM)
		return (int)fail(-EPROTOTYPE);
	if (protocol && protocol != (base == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
		return (int)fail(-EPROTONOSUPPORT);
	if ((r = net_up()) < 0)
		return (int)fail(r);
	if (!(sk = sock_new(base)))
		return (int)fail(-ENOMEM);
	return (int)fail(sock_fd(sk, type & SOCK_NONBLOCK));
}

/* --- addresses --- */

static int addr_in(const struct sockaddr *a, socklen_t len, uint32_t *ip, uint16_t *port)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)a;

	if (!a || len < sizeof(*in))
		return -EINVAL;
	if (a->sa_family != AF_INET)
		return -EAFNOSUPPORT;
	*ip = ntohl(in->sin_addr.s_addr);
	*port = ntohs(in->sin_port);
	return 0;
}

static void addr_out(struct sockaddr *a, socklen_t *len, uint32_t ip, uint16_t port)
{
	struct sockaddr_in in;

	if (!a || !len)
		return;
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = htons(port);
	in.sin_addr.s_addr = htonl(ip);
	memcpy(a, &in, *len < sizeof(in) ? *len : sizeof(in));
	*len = sizeof(in);
}

static int port_taken(struct sock *self, uint16_t port)
{
	for (struct sock *o = socks; o; o = o->next)
		if (o != self && o->type == self->type && o->bound && o->lport == port &&
		    (o->listening || !o->connected))
			return 1;
	return 0;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	long r = 0;
	struct sock *sk = sock_get(fd, NULL, &r);
	uint32_t ip, me;
	uint16_t port;

	if (!sk)
		return (int)fail(r);
	if ((r = addr_in(addr, len, &ip, &port)) < 0)
		return (int)fail(r);
	if (sk->bound || sk->tcp || sk->udp)
		return (int)fail(-EINVAL);
	uk_net_use(sk->s);
	uk_net_address(&me, NULL, NULL);
	if (ip && ip != me)
		return (int)fail(-EADDRNOTAVAIL);
	if (port && port_taken(sk, port))
		return (int)fail(-EADDRINUSE);
	if (sk->type == SOCK_DGRAM) {
		if (!(sk->udp = uk_udp_open(port)))
			return (int)fail(-EADDRINUSE);
		port = sk->udp->port;
	}
	sk->lip = ip;
	sk->lport = port;
	sk->bound = 1;
	return 0;
}

int listen(int fd, int backlog)
{
	long r = 0;
	struct sock *sk = sock_get(fd, NULL, &r);
	static uint16_t next_port = 49152;

	if (!sk)
		return (int)fail(r);
	if (sk->type != SOCK_STREAM)
		return (int)fail(-EOPNOTSUPP);
	if (sk->listening)
		return 0;
	if (sk->tcp)
		return (int)fail(-EINVAL);
	backlog = backlog < 1 ? 1 : backlog > SOMAXCONN ? SOMAXCONN : backlog;
	uk_net_use(sk->s);
	if (sk->lport) {
		sk->tcp = uk_tcp_listen(sk->lport, backlog);
	} else {
		for (int i = 0; i < 16384 && !sk->tcp; i++) {
			uint16_t p = next_port;
			next_port = next_port == 65535 ? 49152 : next_port + 1;
			if (!port_taken(sk, p) && (sk->tcp = uk_tcp_listen(p, backlog)))
				sk->lport = p;
		}
	}
	if (!sk->tcp)
		return (int)fail(sk->lport ? -EADDRINUSE : -EAGAIN);
	sk->bound = sk->listening = 1;
	return 0;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	long r = 0;
	struct uk_fd *f;
	struct sock *sk = sock_get(fd, &f, &r), *nsk;
	struct uk_tcp *c;
	uint32_t ip;
	uint16_t port;
	int nfd;

	if (!sk)
		return (int)fail(r);
	if (!sk->listening)
		return (int)fail(-EINVAL);
	while (!(c = uk_tcp_accept(sk->tcp))) {
		if (f->flags & O_NONBLOCK)
			return (int)fail(-EAGAIN);
		if ((r = sock_wait(sk, POLLIN, sk->rcvtimeo)) < 0)
			return (int)fail(r);
	}
	if (!(nsk = sock_new(SOCK_STREAM))) {
		uk_tcp_abort(c);
		return (int)fail(-ENOMEM);
	}
	nsk->s = sk->s;
	nsk->tcp = c;
	nsk->connected = nsk->established = nsk->bound = 1;
	nsk->lip = c->lip;
	nsk->lport = c->lport;
	nsk->nodelay = sk->nodelay;
	nsk->keepalive = sk->keepalive;
	if ((nfd = sock_fd(nsk, flags & SOCK_NONBLOCK)) < 0) {
		uk_tcp_abort(c);
		return (int)fail(nfd);
	}
	uk_tcp_peer(c, &ip, &port);
	addr_out(addr, len, ip, port);
	return nfd;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return accept4(fd, addr, len, 0);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	long r = 0;
	struct uk_fd *f;
	struct sock *sk = sock_get(fd, &f, &r);
	uint32_t ip, me;
	uint16_t port;

	if (!sk)
		return (int)fail(r);
	if ((r = addr_in(addr, len, &ip, &port)) < 0)
		return (int)fail(r);
	if (sk->type == SOCK_DGRAM) {
		uk_net_use(sk->s);
		if (!sk->udp && !(sk->udp = uk_udp_open(0)))
			return (int)fail(-ENOBUFS);
		sk->rip = ip;
		sk->rport = port;
		sk->connected = ip != 0;
		return 0;
	}
	if (sk->listening)
		return (int)fail(-EINVAL);
	if (sk->connecting)
		return (int)fail(f->flags & O_NONBLOCK ? -EALREADY : -EINPROGRESS);
	if (sk->tcp)
		return (int)fail(-EISCONN);
	if (!ip || !port)
		return (int)fail(ip ? -ECONNREFUSED : -ENETUNREACH);
	if ((r = net_ready(sk)) < 0)
		return (int)fail(r);
	uk_net_address(&me, NULL, NULL);
	if ((ip >> 24) == 127 || ip == me)
		return (int)fail(-ENETUNREACH); /* no loopback in the stack (docs/net.md) */
	if (!(sk->tcp = uk_tcp_connect(ip, port)))
		return (int)fail(-ENOBUFS);
	sk->rip = ip;
	sk->rport = port;
	sk->lip = sk->tcp->lip;
	sk->lport = sk->tcp->lport;
	sk->bound = sk->connecting = 1;
	if (f->flags & O_NONBLOCK)
		return (int)fail(-EINPROGRESS);
	if (sock_wait(sk, POLLOUT | POLLERR, sk->sndtimeo) < 0)
		return (int)fail(-EINPROGRESS); /* SO_SNDTIMEO ran out: goes on in the background */
	return (int)fail(-take_err(sk));
}

/* --- data --- */

/*
 * Before data moves on a stream: waits out a connect in progress (blocking
 * sockets, up to timeout), then reports its error once. 0 or -errno.
 */
static long conn_ready(struct sock *sk, int nonblock, uint64_t timeout)
{
	int e;

	if (sk->connecting && !nonblock && sock_wait(sk, POLLOUT | POLLERR, timeout) < 0)
		return -EAGAIN;
	if ((e = take_err(sk)))
		return -e;
	if (sk->connecting)
		return -EAGAIN;
	return sk->connected ? 0 : -ENOTCONN;
}

static long tcp_send(struct sock *sk, struct uk_fd *f, const uint8_t *p, size_t len, int flags)
{
	int nonblock = (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
	size_t done = 0;
	long r;

	if ((r = conn_ready(sk, nonblock, sk->sndtimeo)) < 0)
		return r;
	if (sk->shut_wr)
		return -EPIPE;
	while (done < len) {
		r = uk_tcp_write(sk->tcp, p + done, len - done);
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r == UK_EAGAIN) {
			if (nonblock || sock_wait(sk, POLLOUT | POLLERR, sk->sndtimeo) < 0)
				return done ? (long)done : -EAGAIN;
			continue;
		}
		if (done)
			break;
		return r == UK_EUNSPEC ? -conn_err(sk) : -EPIPE;
	}
	return (long)done;
}

static long tcp_recv(struct sock *sk, struct uk_fd *f, uint8_t *p, size_t len, int flags)
{
	int nonblock = (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
	size_t done = 0;
	long r;

	if (flags & MSG_PEEK)
		return -EOPNOTSUPP;
	if (sk->listening)
		return -ENOTCONN;
	if ((r = conn_ready(sk, nonblock, sk->rcvtimeo)) < 0)
		return r;
	if (sk->shut_rd || !len)
		return 0;
	for (;;) {
		r = uk_tcp_read(sk->tcp, p + done, len - done);
		if (r > 0) {
			done += (size_t)r;
			if (done == len || !(flags & MSG_WAITALL))
				return (long)done;
			continue;
		}
		if (r == 0)
			return (long)done;
		if (r != UK_EAGAIN)
			return done ? (long)done : -conn_err(sk);
		if (nonblock || sock_wait(sk, POLLIN, sk->rcvtimeo) < 0)
			return done ? (long)done : -EAGAIN;
	}
}

static long udp_sendto(struct sock *sk, struct uk_fd *f, const void *buf, size_t len, int flags,
                       const struct sockaddr *to, socklen_t tolen)
{
	int nonblock = (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
	uint64_t deadline;
	uint32_t ip = sk->rip;
	uint16_t port = sk->rport;
	long r;

	if (to && (r = addr_in(to, tolen, &ip, &port)) < 0)
		return r;
	if (!to && !sk->connected)
		return -EDESTADDRREQ;
	if (!port || !ip)
		return -EINVAL;
	if ((r = net_ready(sk)) < 0)
		return r;
	if (!sk->udp && !(sk->udp = uk_udp_open(0)))
		return -ENOBUFS;
	deadline = uk_fd_now() + (sk->sndtimeo ? sk->sndtimeo : NET_S);
	for (;;) {
		r = uk_udp_sendto(sk->udp, ip, port, buf, len);
		if (r >= 0)
			return r;
		if (r == UK_EINVAL)
			return len > (size_t)sk->s->mtu - 28 ? -EMSGSIZE : -ENETUNREACH;
		if (r != UK_EAGAIN)
			return -ENOBUFS;
		if (nonblock || uk_fd_now() >= deadline)
			return -EAGAIN;
		uk_fd_wait(uk_fd_now() + NET_MS);
	}
}

static long udp_recvfrom(struct sock *sk, struct uk_fd *f, void *buf, size_t len, int flags,
                         struct sockaddr *from, socklen_t *fromlen)
{
	int nonblock = (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
	uint32_t ip;
	uint16_t port;
	long r;

	if (flags & MSG_PEEK)
		return -EOPNOTSUPP;
	uk_net_use(sk->s);
	if (!sk->udp && !(sk->udp = uk_udp_open(0)))
		return -ENOBUFS;
	for (;;) {
		if (sk->shut_rd)
			return 0;
		r = uk_udp_recvfrom(sk->udp, buf, len, &ip, &port);
		if (r >= 0) {
			if (sk->connected && (ip != sk->rip || port != sk->rport))
				continue; /* a connected socket takes only its peer's datagrams */
			addr_out(from, fromlen, ip, port);
			return r < (long)len ? r : (long)len;
		}
		if (nonblock || sock_wait(sk, POLLIN, sk->rcvtimeo) < 0)
			return -EAGAIN;
	}
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
               socklen_t tolen)
{
	long r = 0;
	struct uk_fd *f;
	struct sock *sk = sock_get(fd, &f, &r);

	if (!sk)
		return fail(r);
	if (sk->type == SOCK_DGRAM)
		return fail(udp_sendto(sk, f, buf, len, flags, to, tolen));
	if (to && !sk->connected)
		return fail(-EOPNOTSUPP);
	return fail(tcp_send(sk, f, buf, len, flags));
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	return sendto(fd, buf, len, flags, NULL, 0);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                 socklen_t *fromlen)
{
	long r = 0;
	struct uk_fd *f;
	struct sock *sk = sock_get(fd, &f, &r);

	if (!sk)
		return fail(r);
	if (sk->type == SOCK_DGRAM)
		return fail(udp_recvfrom(sk, f, buf, len, flags, from, fromlen));
	r = tcp_recv(sk, f, buf, len, flags);
	if (r >= 0 && from && fromlen)
		addr_out(from, fromlen, sk->rip, sk->rport);
	return fail(r);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

static long sock_read(struct uk_fd *f, void *buf, size_t len)
{
	struct sock *sk = f->obj;

	if (sk->type == SOCK_DGRAM)
		return udp_recvfrom(sk, f, buf, len, 0, NULL, NULL);
	return tcp_recv(sk, f, buf, len, 0);
}

static long sock_write(struct uk_fd *f, const void *buf, size_t len)
{
	struct sock *sk = f->obj;

	if (sk->type == SOCK_DGRAM)
		return udp_sendto(sk, f, buf, len, 0, NULL, 0);
	return tcp_send(sk, f, buf, len, 0);
}

static int sock_close(struct uk_fd *f)
{
	struct sock *sk = f->obj;

	if (sk->tcp) {
		if (sk->linger.l_onoff && !sk->linger.l_linger)
			uk_tcp_abort(sk->tcp);
		else
			uk_tcp_close(sk->tcp);
	}
	uk_udp_close(sk->udp);
	sock_free(sk);
	return 0;
}

static unsigned sock_poll(struct uk_fd *f)
{
	return sock_events(f->obj);
}

const struct uk_fd_ops uk_sock_ops = {"socket", sock_read, sock_write, sock_close, sock_poll};

int shutdown(int fd, int how)
{
	long r = 0;
	struct sock *sk = sock_get(fd, NULL, &r);

	if (!sk)
		return (int)fail(r);
	if (how < SHUT_RD || how > SHUT_RDWR)
		return (int)fail(-EINVAL);
	if (!sk->connected)
		return (int)fail(-ENOTCONN);
	if (how != SHUT_WR)
		sk->shut_rd = 1;
	if (how != SHUT_RD && !sk->shut_wr) {
		sk->shut_wr = 1;
		if (sk->tcp)
			uk_tcp_shutdown(sk->tcp);
	}
	return 0;
}

/* --- options and names --- */

static int opt_int(const void *val, socklen_t len, int *out)
{
	if (!val || len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static int opt_time(const void *val, socklen_t len, uint64_t *out)
{
	struct timeval tv;

	if (!val || len < sizeof(tv))
		return -EINVAL;
	memcpy(&tv, val, sizeof(tv));
	if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	*out = (uint64_t)tv.tv_sec * NET_S + (uint64_t)tv.tv_usec * 1000u;
	return 0;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	long r = 0;
	struct sock *sk = sock_get(fd, NULL, &r);
	int v = 0;

	if (!sk)
		return (int)fail(r);
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO))
		return (int)fail(
		        opt_time(val, len, name == SO_RCVTIMEO ? &sk->rcvtimeo : &sk->sndtimeo));
	if (level == SOL_SOCKET && name == SO_LINGER) {
		if (!val || len < sizeof(sk->linger))
			return (int)fail(-EINVAL);
		memcpy(&sk->linger, val, sizeof(sk->linger));
		return 0;
	}
	if ((r = opt_int(val, len, &v)) < 0)
		return (int)fail(r);
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
		case SO_REUSEPORT:
			sk->reuseaddr = v != 0;
			return 0;
		case SO_KEEPALIVE:
			sk->keepalive = v != 0;
			return 0;
		case SO_BROADCAST:
			sk->broadcast = v != 0;
			return 0;
		case SO_SNDBUF:
		case SO_RCVBUF:
			return 0; /* the stack sizes its rings itself (up to 64 KiB) */
		}
	} else if (level == IPPROTO_TCP && sk->type == SOCK_STREAM) {
		switch (name) {
		case TCP_NODELAY:
			sk->nodelay = v != 0;
			return 0;
		case TCP_KEEPIDLE:
		case TCP_KEEPINTVL:
		case TCP_KEEPCNT:
			return 0;
		}
	}
	return (int)fail(-ENOPROTOOPT);
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	long r = 0;
	struct sock *sk = sock_get(fd, NULL, &r);
	uint64_t t = 0;
	int v;

	if (!sk)
		return (int)fail(r);
	if (!val || !len)
		return (int)fail(-EFAULT);
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		struct timeval tv;
		t = name == SO_RCVTIMEO ? sk->rcvtimeo : sk->sndtimeo;
		tv.tv_sec = (long)(t / NET_S);
		tv.tv_usec = (long)(t % NET_S / 1000u);
		if (*len < sizeof(tv))
			return (int)fail(-EINVAL);
		memcpy(val, &tv, sizeof(tv));
		*len = sizeof(tv);
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_LINGER) {
		if (*len < sizeof(sk->linger))
			return (int)fail(-EINVAL);
		memcpy(val, &sk->linger, sizeof(sk->linger));
		*len = sizeof(sk->linger);
		return 0;
	}
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR:
			v = take_err(sk);
			break;
		case SO_TYPE:
			v = sk->type;
			break;
		case SO_REUSEADDR:
		case SO_REUSEPORT:
			v = sk->reuseaddr;
			break;
		case SO_KEEPALIVE:
			v = sk->keepalive;
			break;
		case SO_BROADCAST:
			v = sk->broadcast;
			break;
		case SO_ACCEPTCONN:
			v = sk->listening;
			break;
		case SO_SNDBUF:
		case SO_RCVBUF:
			v = 65536;
			break;
		default:
			return (int)fail(-ENOPROTOOPT);
		}
	} else if (level == IPPROTO_TCP && sk->type == SOCK_STREAM && name == TCP_NODELAY) {
		v = sk->nodelay;
	} else {
		return (int)fail(-ENOPROTOOPT);
	}
	if (*len < sizeof(int))
		return (int)fail(-EINVAL);
	memcpy(val, &v, sizeof(int));
	*len = sizeof(int);
	return 0;
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	long r = 0;
	struct sock *sk = sock_get(fd, NULL, &r);
	uint32_t ip = sk ? sk->lip : 0;

	if (!sk)
		return (int)fail(r);
	if (!addr || !len)
		return (int)fail(-EFAULT);
	if (!ip && (sk->connected || sk->connecting)) {
		uk_net_use(sk->s);
		uk_net_address(&ip, NULL, NULL);
	}
	addr_out(addr, len, ip, sk->type == SOCK_DGRAM && sk->udp ? sk->udp->port : sk->lport);
	return 0;
}

int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	long r = 0;
	struct sock *sk = sock_get(fd, NULL, &r);
	uint32_t ip;
	uint16_t port;

	if (!sk)
		return (int)fail(r);
	if (!addr || !len)
		return (int)fail(-EFAULT);
	sock_events(sk);
	if (!sk->connected)
		return (int)fail(-ENOTCONN);
	if (sk->tcp) {
		uk_tcp_peer(sk->tcp, &ip, &port);
		addr_out(addr, len, ip, port);
	} else {
		addr_out(addr, len, sk->rip, sk->rport);
	}
	return 0;
}
