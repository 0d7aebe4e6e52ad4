/* Unit tests of runtime-lib/net's TCP ACK timing: frames per keep-alive request, delayed ACKs. */
#include "test_net_wire.h"

#define MSS 1460u
#define REQ_LEN 34u
#define RESP_LEN 1501u /* the website example's page: one full segment and a bit */

/* What one side put on the wire. */
struct tally {
	unsigned frames, data, pure_acks;
};

/* Counts the TCP frames waiting in (w)'s receive queue: its peer sent them. */
static void tally_queue(const struct wire *w, struct tally *t)
{
	for (unsigned i = 0; i < w->count; i++) {
		const struct wire_frame *e = &w->q[(w->head + i) % WIRE_QMAX];

		if (e->len < 54 || e->data[23] != 6)
			continue;
		t->frames++;
		if (is_tcp_data(e->data, e->len))
			t->data++;
		else if (e->data[14 + (e->data[14] & 15) * 4 + 13] == 0x10)
			t->pure_acks++;
	}
}

/*
 * Like run(), but counts what each stack sends: A's frames into (ta), B's into (tb). After
 * every step of A, (check) (when non-NULL) looks at the stacks.
 */
static void run_tally(struct pair *p, uint64_t ms, struct tally *ta, struct tally *tb,
                      void (*check)(void *), void *arg)
{
	uint64_t end = fake_now + ms * 1000000ull;

	while (fake_now <= end) {
		int busy, spins = 0;
		do {
			if (++spins > 1000000) {
				fprintf(stderr, "run_tally: the stacks never go quiet\n");
				abort();
			}
			uk_net_use(p->a);
			busy = uk_net_step(p->a);
			tally_queue(&p->wb, ta);
			if (check)
				check(arg);
			uk_net_use(p->b);
			busy += uk_net_step(p->b);
			tally_queue(&p->wa, tb);
		} while (busy || p->wa.count || p->wb.count);
		uint64_t next =
		        p->a->next_timer < p->b->next_timer ? p->a->next_timer : p->b->next_timer;
		if (next <= fake_now)
			next = fake_now + 1;
		fake_now = next < end + 1 ? next : end + 1;
	}
}

static int connect_pair(struct pair *p, uint16_t port, struct uk_tcp **l, struct uk_tcp **cli,
                        struct uk_tcp **srv)
{
	uk_net_use(p->a);
	*l = uk_tcp_listen(port, 4);
	uk_net_use(p->b);
	*cli = uk_tcp_connect(IP_A, port);
	*srv = NULL;
	for (int i = 0; *l && *cli && i < 50 && !*srv; i++) {
		run(p, 10, NULL, NULL);
		*srv = uk_tcp_accept(*l);
	}
	return *srv ? 0 : -1;
}

/* --- keep-alive request/response, both applications answering from their callbacks --- */

struct http_like {
	struct uk_tcp *cli, *srv;
	unsigned requests, left, answered;
	uint32_t resp_got;
	int server_silent; /* the server reads requests but never answers */
	uint64_t req_read_at;
};

static void server_cb(struct uk_tcp *c, unsigned ev, void *arg)
{
	struct http_like *h = arg;
	static uint8_t resp[RESP_LEN];
	uint8_t buf[256];
	long r;

	(void)ev;
	while ((r = uk_tcp_read(c, buf, sizeof(buf))) > 0) {
		if (!h->req_read_at)
			h->req_read_at = fake_now;
		if (!h->server_silent && r == REQ_LEN)
			CHECK(uk_tcp_write(c, resp, sizeof(resp)) == RESP_LEN, "server writes");
	}
}

static void client_cb(struct uk_tcp *c, unsigned ev, void *arg)
{
	struct http_like *h = arg;
	static uint8_t req[REQ_LEN];
	uint8_t buf[4096];
	long r;

	(void)ev;
	while ((r = uk_tcp_read(c, buf, sizeof(buf))) > 0) {
		h->resp_got += (uint32_t)r;
		if (h->resp_got < RESP_LEN)
			continue;
		h->resp_got -= RESP_LEN;
		h->answered++;
		if (h->left) {
			h->left--;
			CHECK(uk_tcp_write(c, req, sizeof(req)) == REQ_LEN, "client writes");
		}
	}
}

/*
 * The guest-to-guest benchmark's pattern (netblast's keep-alive GETs against the website):
 * the ideal is three frames a request here (the request; the response's two segments, the
 * first carrying the ACK of the request), the client's ACK riding on its next request. The
 * client used to ACK every second segment at once: a pure ACK per request (4 frames).
 */
static void test_keepalive_frames(void)
{
	struct pair p;
	struct uk_tcp *l, *c, *s;
	struct http_like h = {0};
	struct tally ta = {0}, tb = {0};

	pair_init(&p);
	CHECK(connect_pair(&p, 80, &l, &c, &s) == 0, "handshake");
	CHECK(s && s->mss == MSS, "MSS 1460");
	if (!s) {
		pair_free(&p);
		return;
	}
	h.cli = c;
	h.srv = s;
	h.requests = 100;
	h.left = h.requests - 1;
	uk_tcp_set_callback(s, server_cb, &h);
	uk_tcp_set_callback(c, client_cb, &h);
	uk_net_use(p.b);
	CHECK(uk_tcp_write(c, (uint8_t[REQ_LEN]){0}, REQ_LEN) == REQ_LEN, "first request");
	run_tally(&p, 30, &ta, &tb, NULL, NULL); /* below the delayed-ACK time */
	CHECK(h.answered == h.requests, "all %u requests answered: %u", h.requests, h.answered);
	CHECK(tb.pure_acks == 0, "no pure ACK from the client while it has requests to send: %u",
	      tb.pure_acks);
	CHECK(ta.pure_acks == 0, "no pure ACK from the server (its response carries the ACK): %u",
	      ta.pure_acks);
	CHECK(tb.data == h.requests && ta.data == 2 * h.requests,
	      "one request frame, two response frames: %u %u", tb.data, ta.data);
	CHECK(ta.frames + tb.frames == 3 * h.requests, "3 frames a request: %u for %u",
	      ta.frames + tb.frames, h.requests);
	/* The last response is acknowledged by the delayed-ACK timer, within its 40 ms. */
	run_tally(&p, 45, &ta, &tb, NULL, NULL);
	CHECK(tb.pure_acks == 1 && s->snd_una == s->snd_max,
	      "the last response is acknowledged by the timer: %u pure ACKs, %u unacked",
	      tb.pure_acks, s->snd_max - s->snd_una);
	uk_tcp_abort(c);
	uk_tcp_abort(s);
	uk_tcp_close(l);
	pair_free(&p);
}

/*
 * After a retransmission timeout the server's cwnd is one segment: the response's second
 * segment waits for the ACK of the first, which the client (one segment short of two full ones)
 * delays. Each request would then cost a delayed-ACK time unless the window grows back.
 */
static void test_keepalive_after_rto(void)
{
	struct pair p;
	struct uk_tcp *l, *c, *s;
	struct http_like h = {0};
	struct tally ta = {0}, tb = {0};
	uint64_t t0;

	pair_init(&p);
	CHECK(connect_pair(&p, 83, &l, &c, &s) == 0, "handshake");
	if (!s) {
		pair_free(&p);
		return;
	}
	h.requests = 100;
	h.left = h.requests - 1;
	uk_tcp_set_callback(s, server_cb, &h);
	uk_tcp_set_callback(c, client_cb, &h);
	s->cwnd = s->mss; /* what tcp_timeout leaves */
	s->ssthresh = 2u * s->mss;
	t0 = fake_now;
	uk_net_use(p.b);
	CHECK(uk_tcp_write(c, (uint8_t[REQ_LEN]){0}, REQ_LEN) == REQ_LEN, "first request");
	for (int i = 0; i < 10000 && h.answered < h.requests; i++)
		run_tally(&p, 1, &ta, &tb, NULL, NULL);
	CHECK(h.answered == h.requests, "all answered: %u", h.answered);
	CHECK(fake_now - t0 < 200000000ull,
	      "100 requests after an RTO take less than 200 ms (one delayed ACK at most, not one "
	      "each): %llu ms, cwnd %u",
	      (unsigned long long)((fake_now - t0) / 1000000), s->cwnd);
	uk_tcp_abort(c);
	uk_tcp_abort(s);
	uk_tcp_close(l);
	pair_free(&p);
}

/* A lone request whose answer does not come still gets its ACK, by the delayed-ACK timer: not
 * at once, and within RFC 1122's 500 ms (ours is 40 ms). */
static void test_lone_request_acked_in_time(void)
{
	struct pair p;
	struct uk_tcp *l, *c, *s;
	struct http_like h = {0};
	struct tally ta = {0}, tb = {0};
	uint64_t sent_at;

	pair_init(&p);
	CHECK(connect_pair(&p, 81, &l, &c, &s) == 0, "handshake");
	if (!s) {
		pair_free(&p);
		return;
	}
	h.server_silent = 1;
	uk_tcp_set_callback(s, server_cb, &h);
	uk_net_use(p.b);
	sent_at = fake_now;
	CHECK(uk_tcp_write(c, (uint8_t[REQ_LEN]){0}, REQ_LEN) == REQ_LEN, "request");
	run_tally(&p, 30, &ta, &tb, NULL, NULL);
	CHECK(h.req_read_at != 0, "the server read the request");
	CHECK(ta.pure_acks == 0 && c->snd_una != c->snd_max,
	      "no ACK yet 30 ms in (the answer may still come): %u", ta.pure_acks);
	for (int i = 0; i < 470 && c->snd_una != c->snd_max; i++)
		run_tally(&p, 1, &ta, &tb, NULL, NULL);
	CHECK(ta.pure_acks == 1 && c->snd_una == c->snd_max, "one ACK by 500 ms: %u", ta.pure_acks);
	CHECK(fake_now - sent_at <= 42000000ull,
	      "acknowledged within the 40 ms delayed-ACK time (+ a step): %llu us",
	      (unsigned long long)((fake_now - sent_at) / 1000));
	CHECK(c->retries == 0 && p.b->st.tcp_retransmits == 0, "no retransmission");
	uk_tcp_abort(c);
	uk_tcp_abort(s);
	uk_tcp_close(l);
	pair_free(&p);
}

/* --- a stream the receiver never answers: at most two full segments' worth unacknowledged --- */

struct stream_check {
	struct uk_tcp *srv;
	uint32_t worst; /* most bytes left unacknowledged at the end of one of A's steps */
};

static void stream_check(void *arg)
{
	struct stream_check *k = arg;
	uint32_t u = k->srv->rcv_nxt - k->srv->rcv_acked;

	if (u > k->worst)
		k->worst = u;
}

static void stream_case(const char *what, uint32_t chunk, uint32_t total)
{
	struct pair p;
	struct uk_tcp *l, *c, *s;
	struct tally ta = {0}, tb = {0};
	struct stream_check k = {0};
	static uint8_t buf[65536], in[65536];
	uint32_t sent = 0, got = 0;

	pair_init(&p);
	CHECK(connect_pair(&p, 82, &l, &c, &s) == 0, "%s: handshake", what);
	if (!s) {
		pair_free(&p);
		return;
	}
	k.srv = s;
	while (got < total) {
		uk_net_use(p.b);
		if (sent < total) {
			long w = uk_tcp_write(c, buf, chunk < total - sent ? chunk : total - sent);
			if (w > 0)
				sent += (uint32_t)w;
		}
		run_tally(&p, 1, &ta, &tb, stream_check, &k);
		uk_net_use(p.a);
		for (long r; (r = uk_tcp_read(s, in, sizeof(in))) > 0;)
			got += (uint32_t)r;
		if (fake_now > 1000000000ull * 1000)
			break;
	}
	CHECK(got == total, "%s: all %u bytes arrived: %u", what, total, got);
	CHECK(k.worst < 2 * MSS, "%s: never two full segments' worth unacknowledged: %u", what,
	      k.worst);
	CHECK(ta.pure_acks >= total / (2 * MSS + chunk),
	      "%s: an ACK every 2 MSS at least: %u for %u", what, ta.pure_acks, total);
	CHECK(p.b->st.tcp_retransmits == 0, "%s: no retransmission", what);
	uk_tcp_abort(c);
	uk_tcp_abort(s);
	uk_tcp_close(l);
	pair_free(&p);
}

/* --- one request a connection (no keep-alive): the frames from SYN to the last ACK --- */

struct once {
	int server_first;   /* the server closes after its answer (HTTP/1.0), else the client */
	int server_lingers; /* the server never closes: it only reads the client's FIN */
	unsigned answered;
	uint32_t resp_got;
};

/* The server: accepts from the listener, answers the request; closes after it (server_first)
 * or at the client's FIN. */
static void once_server_cb(struct uk_tcp *c, unsigned ev, void *arg)
{
	struct once *o = arg;
	static uint8_t resp[RESP_LEN];
	uint8_t buf[256];
	long r;

	(void)ev;
	if (uk_tcp_state(c) == UK_TCP_LISTEN) {
		while (uk_tcp_accept(c))
			;
		return;
	}
	while ((r = uk_tcp_read(c, buf, sizeof(buf))) > 0) {
		CHECK(uk_tcp_write(c, resp, sizeof(resp)) == RESP_LEN, "server writes");
		if (o->server_first) {
			uk_tcp_close(c);
			return;
		}
	}
	if (r == 0 && !o->server_lingers)
		uk_tcp_close(c);
}

/* The client: sends its request once connected, closes after the answer (or at EOF). */
static void once_client_cb(struct uk_tcp *c, unsigned ev, void *arg)
{
	struct once *o = arg;
	uint8_t buf[4096];
	long r;

	if (uk_tcp_state(c) == UK_TCP_ESTABLISHED && !o->resp_got && (ev & UK_NET_WRITABLE) &&
	    c->snd_max == c->iss + 1)
		CHECK(uk_tcp_write(c, (uint8_t[REQ_LEN]){0}, REQ_LEN) == REQ_LEN, "request");
	while ((r = uk_tcp_read(c, buf, sizeof(buf))) > 0)
		o->resp_got += (uint32_t)r;
	if (o->resp_got == RESP_LEN && (r == 0 || !o->server_first)) {
		o->answered++;
		o->resp_got = 0;
		uk_tcp_close(c);
	}
}

static unsigned tcp_in_state(struct uk_net *s, uk_tcp_state_t st)
{
	unsigned n = 0;

	for (struct uk_tcp *c = s->all; c; c = c->anext)
		n += c->state == st;
	return n;
}

/*
 * HTTP without keep-alive, 10 connections one after another: SYN, SYN-ACK, ACK, the request,
 * the response's two segments, then the close. The side that closes second answers the
 * other's FIN with its own FIN carrying the ACK (a pending delayed ACK is satisfied by any
 * segment with ACK, RFC 9293 3.8.6.3; Linux does the same): one frame, not an ACK and a FIN.
 * The server closing first: its FIN rides on the response's last segment, so 8 frames a
 * connection (9 before: the client ACKed the FIN at once, then sent its own). The client
 * closing first: its FIN, the server's FIN+ACK, the client's last ACK: 9 (10 before).
 */
static void test_close_frames(int server_first)
{
	const char *who = server_first ? "server closes first" : "client closes first";
	const unsigned conns = 10, want = server_first ? 8 : 9;
	struct pair p;
	struct once o = {0};
	struct tally ta = {0}, tb = {0};
	struct uk_tcp *l;

	o.server_first = server_first;
	pair_init(&p);
	uk_net_use(p.a);
	l = uk_tcp_listen(84, 4);
	uk_tcp_set_callback(l, once_server_cb, &o);
	for (unsigned i = 0; i < conns; i++) {
		uk_net_use(p.b);
		struct uk_tcp *c = uk_tcp_connect(IP_A, 84);
		uk_tcp_set_callback(c, once_client_cb, &o);
		tally_queue(&p.wa, &tb);                 /* the SYN, sent outside a step */
		run_tally(&p, 30, &ta, &tb, NULL, NULL); /* below the delayed-ACK time */
	}
	CHECK(o.answered == conns, "%s: %u requests answered: %u", who, conns, o.answered);
	CHECK(ta.frames + tb.frames == want * conns,
	      "%s: %u frames a connection: %u for %u (server %u, client %u; pure ACKs %u %u)", who,
	      want, ta.frames + tb.frames, conns, ta.frames, tb.frames, ta.pure_acks, tb.pure_acks);
	CHECK(tcp_in_state(server_first ? p.a : p.b, UK_TCP_TIME_WAIT) == conns &&
	              !(server_first ? p.b : p.a)->ntcp,
	      "%s: the first closer's %u connections in TIME_WAIT, the other's gone: %u, %u", who,
	      conns, tcp_in_state(server_first ? p.a : p.b, UK_TCP_TIME_WAIT),
	      (server_first ? p.b : p.a)->ntcp);
	CHECK(!p.a->st.tcp_retransmits && !p.b->st.tcp_retransmits, "%s: no retransmission", who);
	run(&p, 2 * 60 * 1000 + 10, NULL, NULL); /* 2 MSL */
	CHECK(!p.a->ntcp && !p.b->ntcp, "%s: all gone after TIME_WAIT: %u %u", who, p.a->ntcp,
	      p.b->ntcp);
	uk_tcp_close(l);
	pair_free(&p);
}

/* The peer's FIN with an application that does not close: acknowledged by the delayed-ACK
 * timer (40 ms), well before the FIN's retransmission (RTO, 200 ms at least). */
static void test_fin_acked_in_time(void)
{
	struct pair p;
	struct once o = {0};
	struct tally ta = {0}, tb = {0};
	struct uk_tcp *l;

	o.server_lingers = 1;
	pair_init(&p);
	uk_net_use(p.a);
	l = uk_tcp_listen(85, 4);
	uk_tcp_set_callback(l, once_server_cb, &o);
	uk_net_use(p.b);
	uk_tcp_set_callback(uk_tcp_connect(IP_A, 85), once_client_cb, &o);
	run_tally(&p, 30, &ta, &tb, NULL, NULL);
	CHECK(o.answered == 1 && tcp_in_state(p.b, UK_TCP_FIN_WAIT_1) == 1,
	      "answered, the client's FIN not yet acknowledged 30 ms in: %u, %u", o.answered,
	      tcp_in_state(p.b, UK_TCP_FIN_WAIT_1));
	run_tally(&p, 15, &ta, &tb, NULL, NULL);
	CHECK(tcp_in_state(p.b, UK_TCP_FIN_WAIT_2) == 1 &&
	              tcp_in_state(p.a, UK_TCP_CLOSE_WAIT) == 1,
	      "the FIN acknowledged by the timer: FIN_WAIT_2 %u, CLOSE_WAIT %u",
	      tcp_in_state(p.b, UK_TCP_FIN_WAIT_2), tcp_in_state(p.a, UK_TCP_CLOSE_WAIT));
	CHECK(ta.pure_acks == 1 && !p.b->st.tcp_retransmits,
	      "one pure ACK from the server, no retransmission: %u, %llu", ta.pure_acks,
	      (unsigned long long)p.b->st.tcp_retransmits);
	uk_tcp_close(l);
	pair_free(&p);
}

int main(void)
{
	heap_init((size_t)1 << 30);
	test_keepalive_frames();
	test_lone_request_acked_in_time();
	test_keepalive_after_rto();
	stream_case("full-sized segments", 16384, 1u << 20);
	stream_case("1000-byte segments", 1000, 200000);
	stream_case("100-byte segments", 100, 20000);
	test_close_frames(1);
	test_close_frames(0);
	test_fin_acked_in_time();
	return finish();
}
