/* The HTTP server: the protocol core (conn.c) driven by uk/net.h's TCP API, with timeouts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uk/http.h>
#include <uk/net.h>

#define MS 1000000ull
#define LINGER_NS (2000 * MS) /* after our last response: drain the peer this long, then close */
#define TICK_NS (500 * MS)

struct hconn {
	struct uk_http_server *s;
	struct uk_tcp *tcp;
	struct uk_http_conn *core;
	uint64_t last_activity, req_start, linger_until;
	int lingering;
	struct hconn *prev, *next;
};

struct uk_http_server {
	struct uk_tcp *listener;
	uk_http_handler_t handler;
	void *ctx;
	struct uk_http_options o;
	struct hconn *conns;
	size_t nconns;
	uint64_t nreq, last_tick;
	struct uk_http_server *next_server;
};

/* Every server, so that running any one of them serves (and ticks) them all. */
static struct uk_http_server *servers;

/* One buffer for every read: the runtime is single-threaded. */
static unsigned char rbuf[16384];

static void hconn_destroy(struct hconn *h, int abort)
{
	struct uk_http_server *s = h->s;

	if (h->prev)
		h->prev->next = h->next;
	else
		s->conns = h->next;
	if (h->next)
		h->next->prev = h->prev;
	s->nconns--;
	s->nreq += uk_http_conn_requests(h->core);
	uk_http_conn_free(h->core);
	if (abort)
		uk_tcp_abort(h->tcp);
	else
		uk_tcp_close(h->tcp);
	free(h);
}

/* Sends what the core has; returns 0, or -1 when the connection failed. */
static int flush(struct hconn *h)
{
	const void *p;
	size_t n;

	while ((n = uk_http_conn_output(h->core, &p)) > 0) {
		long w = uk_tcp_write(h->tcp, p, n);

		if (w == UK_EAGAIN)
			return 0;
		if (w <= 0)
			return -1;
		uk_http_conn_consume(h->core, (size_t)w);
		h->last_activity = uk_time_monotonic_ns();
	}
	return 0;
}

/* Reads and drops whatever the peer still sends after our final response; closes at its EOF. */
static void linger(struct hconn *h)
{
	for (;;) {
		long r = uk_tcp_read(h->tcp, rbuf, sizeof(rbuf));

		if (r == UK_EAGAIN)
			return;
		if (r <= 0) {
			hconn_destroy(h, r < 0);
			return;
		}
	}
}

static void service(struct hconn *h, unsigned events)
{
	uint64_t now;

	if (h->lingering) {
		linger(h);
		return;
	}
	if (events & UK_NET_ERROR) {
		hconn_destroy(h, 1);
		return;
	}
	if (flush(h) < 0) {
		hconn_destroy(h, 1);
		return;
	}
	while (uk_http_conn_wants_input(h->core)) {
		long r = uk_tcp_read(h->tcp, rbuf, sizeof(rbuf));

		if (r == UK_EAGAIN)
			break;
		if (r < 0) {
			hconn_destroy(h, 1);
			return;
		}
		h->last_activity = uk_time_monotonic_ns();
		if (r == 0)
			uk_http_conn_eof(h->core);
		else if (uk_http_conn_feed(h->core, rbuf, (size_t)r) != UK_OK)
			break;
		if (flush(h) < 0) {
			hconn_destroy(h, 1);
			return;
		}
		if (r == 0)
			break;
	}
	now = uk_time_monotonic_ns();
	if (uk_http_conn_idle(h->core))
		h->req_start = 0;
	else if (!h->req_start)
		h->req_start = now;
	if (uk_http_conn_done(h->core)) {
		/* Half-close and drain: closing with unread input would send RST, and the peer's
		 * stack could then drop our last response before its application read it. */
		uk_tcp_shutdown(h->tcp);
		h->lingering = 1;
		h->linger_until = now + LINGER_NS;
		linger(h);
	}
}

static void conn_cb(struct uk_tcp *c, unsigned events, void *arg)
{
	(void)c;
	service(arg, events);
}

static void listener_cb(struct uk_tcp *l, unsigned events, void *arg)
{
	struct uk_http_server *s = arg;
	struct uk_tcp *c;

	(void)events;
	while ((c = uk_tcp_accept(l))) {
		struct hconn *h;

		if (s->nconns >= s->o.max_conns || !(h = calloc(1, sizeof(*h)))) {
			uk_tcp_abort(c);
			continue;
		}
		h->core = uk_http_conn_new(&s->o, s->handler, s->ctx);
		if (!h->core) {
			free(h);
			uk_tcp_abort(c);
			continue;
		}
		h->s = s;
		h->tcp = c;
		h->last_activity = uk_time_monotonic_ns();
		h->next = s->conns;
		if (s->conns)
			s->conns->prev = h;
		s->conns = h;
		s->nconns++;
		uk_tcp_set_callback(c, conn_cb, h);
		service(h, uk_tcp_events(c));
	}
}

struct uk_http_server *uk_http_server_new(uint16_t port, uk_http_handler_t handler, void *ctx)
{
	struct uk_http_server *s;

	if (!handler || !port)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	uk_http_options_default(&s->o);
	s->handler = handler;
	s->ctx = ctx;
	s->listener = uk_tcp_listen(port, 128);
	if (!s->listener) {
		free(s);
		return NULL;
	}
	uk_tcp_set_callback(s->listener, listener_cb, s);
	s->next_server = servers;
	servers = s;
	return s;
}

void uk_http_server_set_options(struct uk_http_server *s, const struct uk_http_options *o)
{
	if (s && o)
		s->o = *o;
}

void uk_http_server_tick(struct uk_http_server *s)
{
	uint64_t now = uk_time_monotonic_ns(), idle = s->o.idle_timeout_ms * MS,
	         req = s->o.request_timeout_ms * MS;
	struct hconn *h, *next;

	s->last_tick = now;
	for (h = s->conns; h; h = next) {
		const void *p;

		next = h->next;
		if (h->lingering) {
			if (now >= h->linger_until)
				hconn_destroy(h, 0);
			continue;
		}
		if (uk_http_conn_idle(h->core)) {
			if (now - h->last_activity < idle)
				continue;
		} else if (uk_http_conn_output(h->core, &p) > 0) {
			if (now - h->last_activity < req) /* a slow reader: progress restarts it */
				continue;
			hconn_destroy(h, 1);
			continue;
		} else if (!h->req_start || now - h->req_start < req) {
			continue; /* a slow sender: the whole request has (req) to arrive */
		}
		uk_http_conn_timeout(h->core);
		service(h, 0);
	}
}

uk_result_t uk_http_server_run(struct uk_http_server *s)
{
	(void)s;
	for (;;) {
		int rc = uk_net_poll(TICK_NS);

		if (rc < 0)
			return (uk_result_t)rc;
		for (struct uk_http_server *t = servers; t; t = t->next_server)
			if (uk_time_monotonic_ns() - t->last_tick >= TICK_NS)
				uk_http_server_tick(t);
	}
}

size_t uk_http_server_conns(const struct uk_http_server *s)
{
	return s->nconns;
}

uint64_t uk_http_server_requests(const struct uk_http_server *s)
{
	uint64_t n = s->nreq;

	for (const struct hconn *h = s->conns; h; h = h->next)
		n += uk_http_conn_requests(h->core);
	return n;
}

void uk_http_server_free(struct uk_http_server *s)
{
	if (!s)
		return;
	for (struct uk_http_server **pp = &servers; *pp; pp = &(*pp)->next_server)
		if (*pp == s) {
			*pp = s->next_server;
			break;
		}
	while (s->conns)
		hconn_destroy(s->conns, 1);
	uk_tcp_close(s->listener);
	free(s);
}
