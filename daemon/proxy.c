/* Published ports on uk networks: one epoll thread relaying host connections to guests. */
#include "proxy.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * Why one thread with epoll rather than a thread per connection (the first version): under TCG
 * the guest's vCPU takes a core of its own, and every cycle the relay spends is one neither the
 * guest nor the client gets. A thread per connection woke once per direction per request and
 * paid a context switch each time; one loop takes all ready sockets in one epoll_wait. Plain
 * recv/send through one 64 KiB buffer rather than splice(2): HTTP answers are a few KiB, where
 * splice's two extra syscalls and pipes per direction cost more than the copy they save.
 */

#define BACKLOG 4096
#define CONNECT_TRIES 50 /* RETRY_MS apart: a guest still booting gets 5 s to listen */
#define RETRY_MS 100
#define UDP_IDLE_MS 60000
#define UDP_FLOWS_MAX 1024 /* per port: the least recently used goes first */
#define EVENTS 256

enum kind { K_TCP, K_UDP, K_CONN, K_SIDE, K_FLOW, K_WAKE };

/* What an epoll event points at; every relayed object starts with one. */
struct handle {
	enum kind kind;
	int dead; /* closed in this batch: freed after it, its other events skipped */
	struct handle *dead_next;
};

struct listener {
	struct handle h;
	struct listener *next;
	char owner[65];
	int fd;
	struct sockaddr_in guest;
	int64_t paused_until; /* out of descriptors: accept again then */
	struct flow *flows;   /* UDP: one per client address */
	int nflows;
};

struct conn;

struct side {
	struct handle h;
	int fd;
	uint32_t ev; /* the events asked of epoll now */
	int parked;  /* out of epoll: it hung up while its data waits for the other side */
	struct conn *c;
};

struct conn {
	struct handle h; /* what the dead list holds */
	struct conn *next, *prev;
	struct listener *l;
	struct side s[2]; /* 0: the host's client, 1: the guest */
	struct {
		char *buf; /* read from s[i], not yet taken by s[!i] */
		size_t off, len;
		int eof; /* s[i] sent its FIN */
	} d[2];
	int open, tries;
	int64_t retry_at; /* 0 unless waiting to connect to the guest again */
};

struct flow {
	struct handle h;
	struct flow *next;
	struct listener *l;
	int fd; /* connected to the guest */
	struct sockaddr_in client;
	int64_t last;
};

struct ukd_proxy {
	pthread_mutex_t lock; /* listeners (added by callers) and the removal handshake */
	pthread_mutex_t remove_lock;
	pthread_cond_t served_cond;
	pthread_t thread;
	int ep, wake;
	struct handle wake_h;
	struct listener *listeners;
	char remove_owner[65];
	int remove_all, quit;
	uint64_t asked, served;
	/* the thread's own */
	struct conn *conns;
	struct handle *dead;
	int retrying, paused, flows;
	int64_t last_sweep;
	char buf[65536];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void bury(struct ukd_proxy *px, struct handle *h)
{
	h->dead = 1;
	h->dead_next = px->dead;
	px->dead = h;
}

static void reap(struct ukd_proxy *px)
{
	while (px->dead) {
		struct handle *h = px->dead;
		px->dead = h->dead_next;
		if (h->kind == K_CONN) {
			struct conn *c = (struct conn *)h;
			free(c->d[0].buf);
			free(c->d[1].buf);
		}
		free(h); /* a conn's or a flow's first member */
	}
}

/* ---- TCP ---- */

static void conn_close(struct ukd_proxy *px, struct conn *c)
{
	if (c->h.dead)
		return;
	for (int i = 0; i < 2; i++) {
		c->s[i].h.dead = 1;
		if (c->s[i].fd >= 0)
			close(c->s[i].fd);
	}
	if (c->retry_at)
		px->retrying--;
	if (c->prev)
		c->prev->next = c->next;
	else
		px->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bury(px, &c->h);
}

static void conn_watch(struct ukd_proxy *px, struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		uint32_t want = 0;
		if (c->s[i].fd < 0)
			continue;
		if (c->open) {
			if (!c->d[i].eof && !c->d[i].len)
				want |= EPOLLIN;
			if (c->d[!i].len)
				want |= EPOLLOUT;
		} else if (i == 1) {
			want = EPOLLOUT; /* the connect's outcome */
		}
		if (c->s[i].parked && want) {
			struct epoll_event ev = {.events = want, .data.ptr = &c->s[i].h};
			epoll_ctl(px->ep, EPOLL_CTL_ADD, c->s[i].fd, &ev);
			c->s[i].parked = 0;
			c->s[i].ev = want;
		} else if (!c->s[i].parked && want != c->s[i].ev) {
			struct epoll_event ev = {.events = want, .data.ptr = &c->s[i].h};
			epoll_ctl(px->ep, EPOLL_CTL_MOD, c->s[i].fd, &ev);
			c->s[i].ev = want;
		}
	}
}

static int retryable(int e)
{
	return e == ECONNREFUSED || e == EHOSTUNREACH || e == ETIMEDOUT || e == ENETUNREACH;
}

static void conn_failed(struct ukd_proxy *px, struct conn *c, int e)
{
	if (c->s[1].fd >= 0) {
		close(c->s[1].fd);
		c->s[1].fd = -1;
	}
	if (!retryable(e) || ++c->tries >= CONNECT_TRIES) {
		conn_close(px, c);
		return;
	}
	c->retry_at = now_ms() + RETRY_MS;
	px->retrying++;
}

static void conn_connect(struct ukd_proxy *px, struct conn *c)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		conn_close(px, c);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&c->l->guest, sizeof(c->l->guest)) < 0 &&
	    errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		conn_failed(px, c, e);
		return;
	}
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &c->s[1].h};
	c->s[1].fd = fd;
	c->s[1].ev = EPOLLOUT;
	epoll_ctl(px->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Sends what s[i] gave to s[!i]; what does not fit waits in d[i]. -1: the connection is gone. */
static int conn_pass(struct conn *c, int i, const char *p, size_t n)
{
	ssize_t w = send(c->s[!i].fd, p, n, MSG_NOSIGNAL);

	if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return -1;
	if (w < 0)
		w = 0;
	if ((size_t)w < n) {
		char *keep = malloc(n - (size_t)w);
		if (!keep)
			return -1;
		memcpy(keep, p + w, n - (size_t)w);
		c->d[i].buf = keep;
		c->d[i].off = 0;
		c->d[i].len = n - (size_t)w;
	}
	return 0;
}

/* s[i]'s FIN, once the data before it went: on to s[!i]. */
static void conn_fin(struct conn *c, int i)
{
	if (c->d[i].eof && !c->d[i].len)
		shutdown(c->s[!i].fd, SHUT_WR);
}

static void conn_read(struct ukd_proxy *px, struct conn *c, int i)
{
	ssize_t n = recv(c->s[i].fd, px->buf, sizeof(px->buf), 0);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0 || (n > 0 && conn_pass(c, i, px->buf, (size_t)n) < 0)) {
		conn_close(px, c);
		return;
	}
	if (n == 0) {
		c->d[i].eof = 1;
		conn_fin(c, i);
	}
}

/* s[!i] can take more of d[i]. */
static void conn_flush(struct ukd_proxy *px, struct conn *c, int i)
{
	ssize_t w = send(c->s[!i].fd, c->d[i].buf + c->d[i].off, c->d[i].len, MSG_NOSIGNAL);

	if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		conn_close(px, c);
		return;
	}
	if (w > 0) {
		c->d[i].off += (size_t)w;
		c->d[i].len -= (size_t)w;
	}
	if (!c->d[i].len) {
		free(c->d[i].buf);
		c->d[i].buf = NULL;
		conn_fin(c, i);
	}
}

static void side_event(struct ukd_proxy *px, struct side *s, uint32_t ev)
{
	struct conn *c = s->c;
	int i = s == &c->s[1];

	if (!c->open) {
		int e = 0;
		socklen_t len = sizeof(e);
		if (i == 0) { /* the client gave up while the guest was not there yet */
			if (ev & (EPOLLERR | EPOLLHUP))
				conn_close(px, c);
			return;
		}
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			e = errno;
		if (e) {
			conn_failed(px, c, e);
			return;
		}
		c->open = 1;
		conn_watch(px, c);
		return;
	}
	if (ev & EPOLLERR || (ev & EPOLLHUP && c->d[i].eof)) {
		conn_close(px, c);
		return;
	}
	if (ev & EPOLLOUT && c->d[!i].len)
		conn_flush(px, c, !i);
	if (!c->h.dead && ev & (EPOLLIN | EPOLLHUP) && !c->d[i].eof && !c->d[i].len)
		conn_read(px, c, i);
	if (c->h.dead)
		return;
	if (c->d[0].eof && c->d[1].eof && !c->d[0].len && !c->d[1].len) {
		conn_close(px, c);
		return;
	}
	if (ev & EPOLLHUP && c->d[i].len && !c->s[i].parked) {
		/* epoll reports a hang-up whatever is asked: level-triggered, it would spin until
		 * the other side takes d[i]; watched again then */
		epoll_ctl(px->ep, EPOLL_CTL_DEL, s->fd, NULL);
		s->parked = 1;
	}
	conn_watch(px, c);
}

static void listener_pause(struct ukd_proxy *px, struct listener *l)
{
	struct epoll_event ev = {.events = 0, .data.ptr = &l->h};

	if (!l->paused_until)
		px->paused++;
	l->paused_until = now_ms() + RETRY_MS;
	epoll_ctl(px->ep, EPOLL_CTL_MOD, l->fd, &ev);
}

static void tcp_accept(struct ukd_proxy *px, struct listener *l)
{
	for (int k = 0; k < 64; k++) {
		int one = 1, fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_warn("network", "accept on a published port: %s (paused %d ms)",
				         strerror(errno), RETRY_MS);
				listener_pause(px, l);
			}
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->h.kind = K_CONN;
		c->l = l;
		for (int i = 0; i < 2; i++)
			c->s[i] = (struct side){.h.kind = K_SIDE, .fd = -1, .c = c};
		c->s[0].fd = fd;
		struct epoll_event ev = {.events = 0, .data.ptr = &c->s[0].h};
		epoll_ctl(px->ep, EPOLL_CTL_ADD, fd, &ev);
		c->next = px->conns;
		if (px->conns)
			px->conns->prev = c;
		px->conns = c;
		conn_connect(px, c);
	}
}

/* ---- UDP ---- */

static void flow_close(struct ukd_proxy *px, struct flow *f)
{
	struct flow **pp = &f->l->flows;

	while (*pp != f)
		pp = &(*pp)->next;
	*pp = f->next;
	f->l->nflows--;
	px->flows--;
	close(f->fd);
	bury(px, &f->h);
}

static struct flow *flow_get(struct ukd_proxy *px, struct listener *l,
                             const struct sockaddr_in *from)
{
	struct flow *f, *oldest = NULL;

	for (f = l->flows; f; f = f->next) {
		if (f->client.sin_addr.s_addr == from->sin_addr.s_addr &&
		    f->client.sin_port == from->sin_port)
			return f;
		if (!oldest || f->last < oldest->last)
			oldest = f;
	}
	if (l->nflows >= UDP_FLOWS_MAX)
		flow_close(px, oldest);
	if (!(f = calloc(1, sizeof(*f))))
		return NULL;
	f->h.kind = K_FLOW;
	f->l = l;
	f->client = *from;
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &f->h};
	if (f->fd < 0 || connect(f->fd, (struct sockaddr *)&l->guest, sizeof(l->guest)) < 0 ||
	    epoll_ctl(px->ep, EPOLL_CTL_ADD, f->fd, &ev) < 0) {
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		return NULL;
	}
	f->next = l->flows;
	l->flows = f;
	l->nflows++;
	px->flows++;
	return f;
}

static void udp_in(struct ukd_proxy *px, struct listener *l)
{
	for (int k = 0; k < 64; k++) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(l->fd, px->buf, sizeof(px->buf), 0, (struct sockaddr *)&from,
		                     &len);
		if (n < 0)
			return;
		struct flow *f = flow_get(px, l, &from);
		if (!f)
			continue;
		f->last = now_ms();
		send(f->fd, px->buf, (size_t)n,
		     0); /* UDP: a datagram the guest cannot take is lost */
	}
}

static void flow_in(struct ukd_proxy *px, struct flow *f)
{
	for (int k = 0; k < 64; k++) {
		ssize_t n = recv(f->fd, px->buf, sizeof(px->buf), 0);
		if (n < 0 && errno == ECONNREFUSED) /* the guest's ICMP: nothing listens (yet) */
			continue;
		if (n < 0)
			return;
		f->last = now_ms();
		sendto(f->l->fd, px->buf, (size_t)n, 0, (struct sockaddr *)&f->client,
		       sizeof(f->client));
	}
}

/* ---- the thread ---- */

/* Connects again where a guest was not listening yet, resumes paused listeners, drops idle UDP
 * flows. */
static void timers(struct ukd_proxy *px)
{
	int64_t t = now_ms();

	if (px->retrying)
		for (struct conn *c = px->conns, *next; c; c = next) {
			next = c->next;
			if (!c->retry_at || c->retry_at > t)
				continue;
			c->retry_at = 0;
			px->retrying--;
			conn_connect(px, c);
		}
	if (!px->paused && (!px->flows || t - px->last_sweep < 1000))
		return;
	px->last_sweep = t;
	pthread_mutex_lock(&px->lock);
	for (struct listener *l = px->listeners; l; l = l->next) {
		if (l->paused_until && l->paused_until <= t) {
			struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->h};
			l->paused_until = 0;
			px->paused--;
			epoll_ctl(px->ep, EPOLL_CTL_MOD, l->fd, &ev);
		}
		for (struct flow *f = l->flows, *next; f; f = next) {
			next = f->next;
			if (t - f->last > UDP_IDLE_MS)
				flow_close(px, f);
		}
	}
	pthread_mutex_unlock(&px->lock);
}

/* The removal a caller waits for (px->lock held). */
static void serve_removal(struct ukd_proxy *px)
{
	for (struct listener **pp = &px->listeners; *pp;) {
		struct listener *l = *pp;
		if (!px->remove_all && strcmp(l->owner, px->remove_owner)) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		for (struct conn *c = px->conns, *next; c; c = next) {
			next = c->next;
			if (c->l == l)
				conn_close(px, c);
		}
		while (l->flows)
			flow_close(px, l->flows);
		if (l->paused_until)
			px->paused--;
		close(l->fd);
		free(l);
	}
	reap(px);
	px->served = px->asked;
	pthread_cond_broadcast(&px->served_cond);
}

static void *proxy_main(void *arg)
{
	struct ukd_proxy *px = arg;
	struct epoll_event evs[EVENTS];

	for (;;) {
		int timeout = px->retrying || px->paused ? RETRY_MS : px->flows ? 1000 : -1;
		int n = epoll_wait(px->ep, evs, EVENTS, timeout);
		for (int k = 0; k < n; k++) {
			struct handle *h = evs[k].data.ptr;
			if (h->dead)
				continue;
			switch (h->kind) {
			case K_TCP:
				tcp_accept(px, (struct listener *)h);
				break;
			case K_UDP:
				udp_in(px, (struct listener *)h);
				break;
			case K_SIDE:
				side_event(px, (struct side *)h, evs[k].events);
				break;
			case K_FLOW:
				flow_in(px, (struct flow *)h);
				break;
			case K_CONN: /* never in epoll: its sides are */
				break;
			case K_WAKE: {
				uint64_t v;
				if (read(px->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
					log_warn("network", "proxy wake: %s", strerror(errno));
				break;
			}
			}
		}
		reap(px);
		timers(px);
		reap(px);
		pthread_mutex_lock(&px->lock);
		int quit = px->quit;
		if (px->asked != px->served)
			serve_removal(px);
		pthread_mutex_unlock(&px->lock);
		if (quit)
			return NULL;
	}
}

struct ukd_proxy *ukd_proxy_new(uk_err_t *err)
{
	struct ukd_proxy *px = calloc(1, sizeof(*px));

	if (!px) {
		uk_err_errno(err, ENOMEM, "start the port proxy");
		return NULL;
	}
	pthread_mutex_init(&px->lock, NULL);
	pthread_mutex_init(&px->remove_lock, NULL);
	pthread_cond_init(&px->served_cond, NULL);
	px->wake_h.kind = K_WAKE;
	px->ep = epoll_create1(EPOLL_CLOEXEC);
	px->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &px->wake_h};
	if (px->ep < 0 || px->wake < 0 || epoll_ctl(px->ep, EPOLL_CTL_ADD, px->wake, &ev) < 0 ||
	    pthread_create(&px->thread, NULL, proxy_main, px) != 0) {
		uk_err_errno(err, errno, "start the port proxy");
		if (px->ep >= 0)
			close(px->ep);
		if (px->wake >= 0)
			close(px->wake);
		free(px);
		return NULL;
	}
	return px;
}

/* Asks the thread to drop (owner)'s listeners (NULL: all; (quit): and end) and waits. */
static void ask(struct ukd_proxy *px, const char *owner, int quit)
{
	uint64_t one = 1;

	pthread_mutex_lock(&px->remove_lock);
	pthread_mutex_lock(&px->lock);
	px->remove_all = !owner;
	snprintf(px->remove_owner, sizeof(px->remove_owner), "%s", owner ? owner : "");
	px->quit = quit;
	uint64_t want = ++px->asked;
	if (write(px->wake, &one, sizeof(one)) < 0)
		log_warn("network", "proxy wake: %s", strerror(errno));
	while (px->served < want)
		pthread_cond_wait(&px->served_cond, &px->lock);
	pthread_mutex_unlock(&px->lock);
	pthread_mutex_unlock(&px->remove_lock);
}

void ukd_proxy_remove(struct ukd_proxy *px, const char *owner)
{
	if (px)
		ask(px, owner, 0);
}

void ukd_proxy_free(struct ukd_proxy *px)
{
	if (!px)
		return;
	ask(px, NULL, 1);
	pthread_join(px->thread, NULL);
	close(px->ep);
	close(px->wake);
	pthread_cond_destroy(&px->served_cond);
	pthread_mutex_destroy(&px->remove_lock);
	pthread_mutex_destroy(&px->lock);
	free(px);
}

int ukd_proxy_add(struct ukd_proxy *px, const char *owner, const struct ukd_port *port,
                  const struct sockaddr_in *guest, uk_err_t *err)
{
	int udp = !strcmp(port->proto, "udp"), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port->host_port)};
	struct listener *l = calloc(1, sizeof(*l));

	if (!l)
		return uk_err_errno(err, ENOMEM, "publish %s:%u", port->host_ip, port->host_port);
	l->h.kind = udp ? K_UDP : K_TCP;
	snprintf(l->owner, sizeof(l->owner), "%s", owner);
	l->guest = *guest;
	inet_pton(AF_INET, port->host_ip, &a.sin_addr);
	l->fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0 ||
	    (!udp && setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    bind(l->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (!udp && listen(l->fd, BACKLOG) < 0)) {
		int e = errno;
		if (e == EADDRINUSE)
			uk_err_conflict(err, "port %s:%u is already in use", port->host_ip,
			                port->host_port);
		else
			uk_err_errno(err, e, "publish %s:%u", port->host_ip, port->host_port);
		if (l->fd >= 0)
			close(l->fd);
		free(l);
		return -1;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->h};
	pthread_mutex_lock(&px->lock);
	l->next = px->listeners;
	px->listeners = l;
	epoll_ctl(px->ep, EPOLL_CTL_ADD, l->fd, &ev);
	pthread_mutex_unlock(&px->lock);
	return 0;
}
