/* ukd's resolver on each network's gateway: UDP and TCP on GATEWAY:53, forwarding upstream. */
#include "net_dns_server.h"
#include "log.h"
#include "net_dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define DNS_RATE 200        /* queries per second per network ... */
#define DNS_BURST 400       /* ... with this burst: more are dropped unread */
#define DNS_FWD_MAX 256     /* queries forwarded upstream and not yet answered, in all ... */
#define DNS_FWD_NET_MAX 128 /* ... and per network: more get SERVFAIL at once */
#define DNS_FWD_TRY_NS 2000000000LL /* per upstream tried; then the next, then SERVFAIL */
#define DNS_UPSTREAMS_MAX 3         /* as the libc resolver's MAXNS */
#define DNS_NETS_MAX 64
#define DNS_TCP_MAX 128    /* TCP clients in all ... */
#define DNS_TCP_NET_MAX 16 /* ... and per network: more are closed as they are accepted */
#define DNS_TCP_IDLE_S 10  /* to send a whole query, or to read a whole answer */
#define DNS_RESOLV_CHECK_NS 1000000000LL /* resolv.conf looked at again at most this often */

struct dns_net {
	char id[65];
	uint32_t gw, net, mask; /* host order */
	int udp, tcp, outbound, nconns;
	double tokens;
	int64_t last_ns;
};

/* A client over TCP: one query at a time (pipelined ones wait in (rx), answered in order). */
struct dns_conn {
	int fd;       /* -1: a free slot */
	uint32_t gen; /* a forward's answer reaches the client that asked, not a reused slot */
	struct dns_net *net;
	uint32_t ip;   /* host order */
	int busy, eof; /* busy: its query is forwarded; eof: the client sent its last */
	int64_t deadline;
	uint8_t rx[2 + UKD_DNS_MAX];
	size_t rxlen;
	uint8_t *tx; /* the answer being written, with its length in front */
	size_t txlen, txoff;
};

/* A query forwarded upstream: its own socket (UDP: connected, a random port the kernel holds
 * to the upstream's address and port) and a random ID; the answer must match both and the
 * question (ukd_dns_response_matches). Over TCP once an answer came back with TC. */
struct dns_fwd {
	int fd; /* -1: a free slot */
	int tcp;
	struct dns_net *net;
	struct sockaddr_in client; /* a client over UDP ... */
	int conn;                  /* ... or conns[conn] over TCP while its gen is (conn_gen) */
	uint32_t conn_gen;
	int tries;
	int64_t deadline;
	uint8_t q[2 + UKD_DNS_MAX]; /* what is sent (q + 2), its length in front for TCP */
	size_t qlen, qoff;
	uint8_t *rx; /* TCP: the answer being read, with its length */
	size_t rxlen;
	uint8_t req[UKD_DNS_MAX]; /* the client's query, for its SERVFAIL */
	struct ukd_dns_query pq;
};

struct ukd_dns_server {
	struct ukd *d;
	pthread_t thread;
	int wake[2], stopping;
	struct dns_net nets[DNS_NETS_MAX];
	int nnets;
	char resolv[256];
	struct stat resolv_st;
	int64_t resolv_checked;
	struct sockaddr_in upstreams[DNS_UPSTREAMS_MAX];
	int nupstreams;
	struct dns_fwd fwd[DNS_FWD_MAX];
	int nfwd;
	struct dns_conn conns[DNS_TCP_MAX];
	int nconns;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- upstreams ---- */

/* The IPv4 nameservers of (path) (resolv.conf(5)), at most DNS_UPSTREAMS_MAX. A loopback one
 * (a local stub such as 127.0.0.53) is kept: ukd, not the guest, sends to it, from the host. */
static int upstreams_read(const char *path, struct sockaddr_in *out)
{
	FILE *f = fopen(path, "re");
	char line[256], addr[64];
	int n = 0;
	struct in_addr a;

	while (f && n < DNS_UPSTREAMS_MAX && fgets(line, sizeof(line), f))
		if (sscanf(line, " nameserver %63s", addr) == 1 &&
		    inet_pton(AF_INET, addr, &a) == 1)
			out[n++] = (struct sockaddr_in){
			        .sin_family = AF_INET, .sin_port = htons(53), .sin_addr = a};
	if (f)
		fclose(f);
	return n;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Reads the upstreams again when resolv.conf changed (replaced, rewritten, or gone), looking
 * at most once every DNS_RESOLV_CHECK_NS: DHCP, VPNs and resolvconf(8) change it at run time. */
static void upstreams_check(struct ukd_dns_server *v, int force)
{
	struct stat st;
	int64_t now = now_ns();

	if (!force && now - v->resolv_checked < DNS_RESOLV_CHECK_NS)
		return;
	v->resolv_checked = now;
	if (stat(v->resolv, &st) < 0)
		memset(&st, 0, sizeof(st));
	if (!force && same_file(&st, &v->resolv_st))
		return;
	v->resolv_st = st;
	v->nupstreams = upstreams_read(v->resolv, v->upstreams);
	log_info("network", "%d upstream resolver(s) for --outbound networks (%s)", v->nupstreams,
	         v->resolv);
}

/* ---- replies ---- */

static void conn_close(struct ukd_dns_server *v, struct dns_conn *c)
{
	close(c->fd);
	free(c->tx);
	c->tx = NULL;
	c->fd = -1;
	c->net->nconns--;
	v->nconns--;
}

/* Queues (msg)[0..len) to TCP client (c) behind its length; the client waits for no other. */
static void conn_queue(struct dns_conn *c, const uint8_t *msg, size_t len)
{
	c->busy = 0;
	c->deadline = now_ns() + DNS_TCP_IDLE_S * 1000000000LL;
	if (!(c->tx = malloc(len + 2)))
		return; /* dropped: the client asks again or times out */
	c->tx[0] = (uint8_t)(len >> 8);
	c->tx[1] = (uint8_t)len;
	memcpy(c->tx + 2, msg, len);
	c->txlen = len + 2;
	c->txoff = 0;
}

static void udp_send(const struct dns_net *s, const struct sockaddr_in *to, const void *buf,
                     size_t len)
{
	if (sendto(s->udp, buf, len, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to)) < 0)
		log_debug("network", "dns answer: %s", strerror(errno));
}

/* The answer (msg) to forward (f)'s client, under its own ID: over UDP cut to 512 bytes
 * (TC), over TCP whole (if that client is still there). */
static void fwd_deliver(struct ukd_dns_server *v, struct dns_fwd *f, uint8_t *msg, size_t len)
{
	msg[0] = (uint8_t)(f->pq.id >> 8);
	msg[1] = (uint8_t)f->pq.id;
	if (f->conn < 0) {
		udp_send(f->net, &f->client, msg, ukd_dns_fit_udp(msg, len, f->qlen));
		return;
	}
	struct dns_conn *c = &v->conns[f->conn];
	if (c->fd >= 0 && c->gen == f->conn_gen)
		conn_queue(c, msg, len);
}

/* ---- forwarding ---- */

static void fwd_free(struct ukd_dns_server *v, struct dns_fwd *f)
{
	close(f->fd);
	free(f->rx);
	f->rx = NULL;
	f->fd = -1;
	v->nfwd--;
}

/* SERVFAIL to the client whose query (f) no upstream answered. */
static void fwd_fail(struct ukd_dns_server *v, struct dns_fwd *f)
{
	uint8_t out[UKD_DNS_MAX];

	fwd_deliver(v, f, out, ukd_dns_answer(f->req, &f->pq, UKD_DNS_SERVFAIL, NULL, 0, out));
	fwd_free(v, f);
}

/* Sends (f)'s query to upstream number (f->tries) (a fresh socket and ID each try), over TCP
 * once (f->tcp): a non-blocking connect, the rest as poll says the socket is ready. */
static int fwd_send(struct ukd_dns_server *v, struct dns_fwd *f)
{
	uint16_t id;

	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->rx);
	f->rx = NULL;
	f->rxlen = f->qoff = 0;
	if (!v->nupstreams) /* resolv.conf lost its nameservers meanwhile */
		return -1;
	const struct sockaddr_in *up = &v->upstreams[f->tries % v->nupstreams];
	f->fd = socket(AF_INET, (f->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK,
	               0);
	if (f->fd < 0 || getrandom(&id, sizeof(id), 0) != sizeof(id))
		return -1;
	if (connect(f->fd, (const struct sockaddr *)up, sizeof(*up)) < 0 && errno != EINPROGRESS)
		return -1;
	f->qlen = ukd_dns_forward_query(f->req, &f->pq, id, f->q + 2);
	f->q[0] = (uint8_t)(f->qlen >> 8);
	f->q[1] = (uint8_t)f->qlen;
	f->deadline = now_ns() + DNS_FWD_TRY_NS;
	f->tries++;
	if (f->tcp)
		return 0; /* sent when the connect is done (POLLOUT) */
	return send(f->fd, f->q + 2, f->qlen, MSG_DONTWAIT) < 0 ? -1 : 0;
}

/* The next try after a failed one (refused, reset), or SERVFAIL after each upstream had two. */
static void fwd_retry(struct ukd_dns_server *v, struct dns_fwd *f)
{
	if (f->tries >= 2 * v->nupstreams || fwd_send(v, f) < 0)
		fwd_fail(v, f);
}

/* An outside name asked on an --outbound network: to the host's resolvers, bounded. The client
 * is (from) over UDP, or TCP client number (conn). */
static void fwd_start(struct ukd_dns_server *v, struct dns_net *s, const uint8_t *req,
                      const struct ukd_dns_query *q, const struct sockaddr_in *from, int conn)
{
	struct dns_fwd *f = NULL;
	int mine = 0;

	upstreams_check(v, 0);
	for (int i = 0; i < DNS_FWD_MAX; i++) {
		if (v->fwd[i].fd < 0 && !f)
			f = &v->fwd[i];
		else if (v->fwd[i].fd >= 0 && v->fwd[i].net == s)
			mine++;
	}
	if (!v->nupstreams || !f || mine >= DNS_FWD_NET_MAX)
		f = NULL;
	else {
		memset(f, 0, sizeof(*f));
		f->fd = -1;
		f->net = s;
		v->nfwd++;
	}
	if (f && from)
		f->client = *from;
	if (f)
		f->conn = from ? -1 : conn;
	if (f && conn >= 0) {
		f->conn_gen = v->conns[conn].gen;
		v->conns[conn].busy = 1;
	}
	if (f) {
		f->pq = *q;
		memcpy(f->req, req, q->qend);
		if (fwd_send(v, f) < 0)
			fwd_fail(v, f);
		return;
	}
	uint8_t out[UKD_DNS_MAX];
	size_t len = ukd_dns_answer(req, q, UKD_DNS_SERVFAIL, NULL, 0, out);
	if (from)
		udp_send(s, from, out, len);
	else
		conn_queue(&v->conns[conn], out, len);
}

/* An upstream's answer (msg) to (f) (already matched): relayed; a cut one to a TCP client is
 * asked again of the same upstream over TCP (a UDP client gets it cut, and asks over TCP). */
static void fwd_answered(struct ukd_dns_server *v, struct dns_fwd *f, uint8_t *msg, size_t len)
{
	if (!f->tcp && f->conn >= 0 && ukd_dns_truncated(msg)) {
		f->tcp = 1;
		f->tries--; /* the same upstream */
		if (fwd_send(v, f) < 0)
			fwd_fail(v, f);
		return;
	}
	fwd_deliver(v, f, msg, len);
	fwd_free(v, f);
}

/* (f)'s socket is ready (UDP: a datagram; TCP: connected, writable or readable). */
static void fwd_ready(struct ukd_dns_server *v, struct dns_fwd *f)
{
	if (!f->tcp) {
		uint8_t buf[4096];
		ssize_t len = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (len < 0 && errno == ECONNREFUSED)
			fwd_retry(v, f); /* nothing listens there: the next upstream */
		else if (len > 0 && ukd_dns_response_matches(buf, (size_t)len, f->q + 2, f->qlen))
			fwd_answered(v, f, buf, (size_t)len);
		/* else forged, stray or late: the query waits on */
		return;
	}
	if (f->qoff < f->qlen + 2) {
		ssize_t w = send(f->fd, f->q + f->qoff, f->qlen + 2 - f->qoff,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN)
			fwd_retry(v, f);
		else if (w > 0)
			f->qoff += (size_t)w;
		return;
	}
	if (!f->rx && !(f->rx = malloc(2 + UKD_DNS_TCP_MAX))) {
		fwd_fail(v, f);
		return;
	}
	ssize_t r = recv(f->fd, f->rx + f->rxlen, 2 + UKD_DNS_TCP_MAX - f->rxlen, MSG_DONTWAIT);
	size_t mlen;
	if (r == 0 || (r < 0 && errno != EAGAIN)) {
		fwd_retry(v, f);
		return;
	}
	if (r > 0)
		f->rxlen += (size_t)r;
	int fr = ukd_dns_tcp_frame(f->rx, f->rxlen, UKD_DNS_TCP_MAX, &mlen);
	if (fr < 0 || (fr > 0 && !ukd_dns_response_matches(f->rx + 2, mlen, f->q + 2, f->qlen)))
		fwd_retry(v, f); /* a stream that is not the answer: closed */
	else if (fr > 0)
		fwd_answered(v, f, f->rx + 2, mlen);
}

/* Queries whose try timed out: the next upstream, or SERVFAIL after each had two tries. */
static void fwd_expire(struct ukd_dns_server *v)
{
	int64_t now = now_ns();

	for (int i = 0; i < DNS_FWD_MAX; i++)
		if (v->fwd[i].fd >= 0 && now >= v->fwd[i].deadline)
			fwd_retry(v, &v->fwd[i]);
}

/* ---- queries ---- */

/* A query (req)[0..len) on network (s) from (from) over UDP or from TCP client (conn). */
static void dns_query(struct ukd_dns_server *v, struct dns_net *s, const uint8_t *req, size_t len,
                      const struct sockaddr_in *from, int conn)
{
	uint8_t out[UKD_DNS_MAX];
	struct ukd_dns_query q;
	uint32_t ips[8];
	int nip = 0;
	int64_t now = now_ns();

	s->tokens += (double)(now - s->last_ns) * DNS_RATE / 1e9;
	s->last_ns = now;
	if (s->tokens > DNS_BURST)
		s->tokens = DNS_BURST;
	if (s->tokens < 1) {
		/* over the rate: dropped (a UDP client's resolver retries; a TCP client is closed)
		 */
		if (!from)
			conn_close(v, &v->conns[conn]);
		return;
	}
	s->tokens -= 1;
	int rc = ukd_dns_parse_query(req, len, &q);
	if (rc < 0) {
		if (!from)
			conn_close(v, &v->conns[conn]);
		return;
	}
	if (rc == 0) {
		uint32_t client = from ? ntohl(from->sin_addr.s_addr) : v->conns[conn].ip;
		rc = UKD_DNS_NXDOMAIN;
		if (q.qclass == UKD_DNS_CLASS_IN &&
		    (nip = ukd_net_dns_lookup(v->d, s->id, client, q.name, ips, 8)) > 0)
			rc = UKD_DNS_NOERROR;
		else if (s->outbound) {
			fwd_start(v, s, req, &q, from, conn); /* the host's resolvers */
			return;
		}
		if (q.qtype != UKD_DNS_TYPE_A)
			nip = 0; /* the name exists, with no record of that type */
	}
	size_t olen = ukd_dns_answer(req, &q, rc, ips, nip, out);
	if (from)
		udp_send(s, from, out, olen);
	else
		conn_queue(&v->conns[conn], out, olen);
}

static void udp_serve(struct ukd_dns_server *v, struct dns_net *s)
{
	uint8_t req[UKD_DNS_MAX + 1];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t len =
	        recvfrom(s->udp, req, sizeof(req), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);

	/* an asker outside the network (the nftables table keeps them off already) */
	if (len > 0 && (ntohl(from.sin_addr.s_addr) & s->mask) == s->net)
		dns_query(v, s, req, (size_t)len, &from, -1);
}

static void tcp_accept(struct ukd_dns_server *v, struct dns_net *s)
{
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	int fd = accept4(s->tcp, (struct sockaddr *)&from, &fl, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct dns_conn *c = NULL;

	if (fd < 0)
		return;
	for (int i = 0; i < DNS_TCP_MAX && !c; i++)
		if (v->conns[i].fd < 0)
			c = &v->conns[i];
	if (!c || s->nconns >= DNS_TCP_NET_MAX ||
	    (ntohl(from.sin_addr.s_addr) & s->mask) != s->net) {
		close(fd); /* at the bound: this client falls back to another server or UDP */
		return;
	}
	uint32_t gen = c->gen + 1;
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->gen = gen;
	c->net = s;
	c->ip = ntohl(from.sin_addr.s_addr);
	c->deadline = now_ns() + DNS_TCP_IDLE_S * 1000000000LL;
	s->nconns++;
	v->nconns++;
}

/* The queries (c) holds whole, one at a time while nothing is forwarded or being written. */
static void conn_work(struct ukd_dns_server *v, struct dns_conn *c)
{
	size_t mlen;
	int fr;

	while (c->fd >= 0 && !c->busy && !c->tx &&
	       (fr = ukd_dns_tcp_frame(c->rx, c->rxlen, UKD_DNS_MAX, &mlen)) != 0) {
		if (fr < 0) {
			conn_close(v, c); /* a length no DNS query has: not a DNS client */
			return;
		}
		uint8_t req[UKD_DNS_MAX];
		memcpy(req, c->rx + 2, mlen);
		c->rxlen -= 2 + mlen;
		memmove(c->rx, c->rx + 2 + mlen, c->rxlen);
		dns_query(v, c->net, req, mlen, NULL, (int)(c - v->conns));
	}
	if (c->fd >= 0 && c->eof && !c->busy && !c->tx)
		conn_close(v, c);
}

static void conn_ready(struct ukd_dns_server *v, struct dns_conn *c, short revents)
{
	if (c->tx && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		ssize_t w = send(c->fd, c->tx + c->txoff, c->txlen - c->txoff,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN) {
			conn_close(v, c);
			return;
		}
		if (w > 0 && (c->txoff += (size_t)w) == c->txlen) {
			free(c->tx);
			c->tx = NULL;
		}
	} else if (!c->tx && !c->busy && !c->eof && (revents & (POLLIN | POLLERR | POLLHUP))) {
		ssize_t r = recv(c->fd, c->rx + c->rxlen, sizeof(c->rx) - c->rxlen, MSG_DONTWAIT);
		if (r < 0 && errno != EAGAIN) {
			conn_close(v, c);
			return;
		}
		if (r == 0)
			c->eof = 1;
		else if (r > 0)
			c->rxlen += (size_t)r;
	}
	conn_work(v, c);
}

/* TCP clients past their deadline (a partial query, an answer not read): closed. A client whose
 * query is forwarded waits on the forward's own bound. */
static void conn_expire(struct ukd_dns_server *v)
{
	int64_t now = now_ns();

	for (int i = 0; i < DNS_TCP_MAX; i++)
		if (v->conns[i].fd >= 0 && !v->conns[i].busy && now >= v->conns[i].deadline)
			conn_close(v, &v->conns[i]);
}

/* ---- the networks' sockets ---- */

static int listen_on(int type, uint32_t gw)
{
	struct sockaddr_in a = {
	        .sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = htonl(gw)};
	int one = 1, fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) < 0)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void net_close(struct ukd_dns_server *v, struct dns_net *s)
{
	for (int i = 0; i < DNS_FWD_MAX; i++)
		if (v->fwd[i].fd >= 0 && v->fwd[i].net == s)
			fwd_free(v, &v->fwd[i]);
	for (int i = 0; i < DNS_TCP_MAX; i++)
		if (v->conns[i].fd >= 0 && v->conns[i].net == s)
			conn_close(v, &v->conns[i]);
	close(s->udp);
	close(s->tcp);
}

/* Binds GW:53 of each network lacking sockets, closes those of removed ones. A slot moves only
 * when nothing points at it: the last one fills a removed one's place after its clients went. */
static void dns_sync(struct ukd_dns_server *v)
{
	int nr;
	_cleanup_free_ struct ukd_dns_net *rows = ukd_net_dns_nets(v->d, &nr);

	if (!rows)
		return;
	for (int i = 0; i < v->nnets;) {
		int keep = 0;
		for (int j = 0; j < nr && !keep; j++)
			keep = !strcmp(rows[j].id, v->nets[i].id);
		if (keep) {
			i++;
			continue;
		}
		net_close(v, &v->nets[i]);
		struct dns_net *last = &v->nets[--v->nnets];
		if (last != &v->nets[i]) {
			v->nets[i] = *last;
			for (int k = 0; k < DNS_FWD_MAX; k++)
				if (v->fwd[k].fd >= 0 && v->fwd[k].net == last)
					v->fwd[k].net = &v->nets[i];
			for (int k = 0; k < DNS_TCP_MAX; k++)
				if (v->conns[k].fd >= 0 && v->conns[k].net == last)
					v->conns[k].net = &v->nets[i];
		}
	}
	for (int j = 0; j < nr; j++) {
		int have = 0;
		for (int i = 0; i < v->nnets && !have; i++)
			have = !strcmp(rows[j].id, v->nets[i].id);
		if (have || v->nnets == DNS_NETS_MAX)
			continue;
		int udp = listen_on(SOCK_DGRAM, rows[j].gw), tcp = -1;
		if (udp < 0 || (tcp = listen_on(SOCK_STREAM, rows[j].gw)) < 0) {
			log_warn("network", "dns on network %.12s's gateway: %s", rows[j].id,
			         strerror(errno));
			if (udp >= 0)
				close(udp);
			continue;
		}
		struct dns_net *s = &v->nets[v->nnets++];
		memset(s, 0, sizeof(*s));
		snprintf(s->id, sizeof(s->id), "%s", rows[j].id);
		s->gw = rows[j].gw;
		s->net = rows[j].net;
		s->mask = rows[j].mask;
		s->udp = udp;
		s->tcp = tcp;
		s->outbound = rows[j].outbound;
		s->tokens = DNS_BURST;
		s->last_ns = now_ns();
	}
}

/* ---- the thread ---- */

enum { P_WAKE, P_UDP, P_TCP, P_CONN, P_FWD };

static void *dns_main(void *p)
{
	struct ukd_dns_server *v = p;
	enum { NP = 1 + 2 * DNS_NETS_MAX + DNS_TCP_MAX + DNS_FWD_MAX };
	struct pollfd pf[NP];
	struct {
		int kind;
		void *obj;
	} what[NP];

	dns_sync(v);
	while (!v->stopping) {
		int np = 0;
#define ADD(fd_, ev, k, o)                                                           \
	(pf[np] = (struct pollfd){.fd = (fd_), .events = (ev)}, what[np].kind = (k), \
	 what[np++].obj = (o))
		ADD(v->wake[0], POLLIN, P_WAKE, NULL);
		for (int i = 0; i < v->nnets; i++) {
			ADD(v->nets[i].udp, POLLIN, P_UDP, &v->nets[i]);
			ADD(v->nets[i].tcp, POLLIN, P_TCP, &v->nets[i]);
		}
		for (int i = 0; i < DNS_TCP_MAX; i++) {
			struct dns_conn *c = &v->conns[i];
			if (c->fd >= 0 && (c->tx || (!c->busy && !c->eof)))
				ADD(c->fd, c->tx ? POLLOUT : POLLIN, P_CONN, c);
		}
		for (int i = 0; i < DNS_FWD_MAX; i++) {
			struct dns_fwd *f = &v->fwd[i];
			if (f->fd >= 0)
				ADD(f->fd, f->tcp && f->qoff < f->qlen + 2 ? POLLOUT : POLLIN,
				    P_FWD, f);
		}
#undef ADD
		int r = poll(pf, (nfds_t)np, v->nfwd || v->nconns ? 100 : 1000);
		fwd_expire(v);
		conn_expire(v);
		if (r <= 0)
			continue;
		/* forwards first: their answers free slots before new queries take them; a slot
		 * freed and taken again in this round is recognized by its fd (or skipped) */
		for (int i = 0; i < np; i++)
			if (pf[i].revents && what[i].kind == P_FWD &&
			    ((struct dns_fwd *)what[i].obj)->fd == pf[i].fd)
				fwd_ready(v, what[i].obj);
		if (pf[0].revents) {
			char buf[64];
			while (read(v->wake[0], buf, sizeof(buf)) > 0)
				;
			dns_sync(v); /* nets may move: the rest of this round's events wait */
			continue;
		}
		for (int i = 1; i < np; i++) {
			if (!pf[i].revents)
				continue;
			if (what[i].kind == P_UDP)
				udp_serve(v, what[i].obj);
			else if (what[i].kind == P_TCP)
				tcp_accept(v, what[i].obj);
			else if (what[i].kind == P_CONN &&
			         ((struct dns_conn *)what[i].obj)->fd == pf[i].fd)
				conn_ready(v, what[i].obj, pf[i].revents);
		}
	}
	return NULL;
}

struct ukd_dns_server *ukd_dns_server_start(struct ukd *d, const char *resolv_conf, uk_err_t *err)
{
	struct ukd_dns_server *v = calloc(1, sizeof(*v));

	if (!v) {
		uk_err_errno(err, ENOMEM, "start the networks' DNS");
		return NULL;
	}
	v->d = d;
	snprintf(v->resolv, sizeof(v->resolv), "%s", resolv_conf);
	for (int i = 0; i < DNS_FWD_MAX; i++)
		v->fwd[i].fd = -1;
	for (int i = 0; i < DNS_TCP_MAX; i++)
		v->conns[i].fd = -1;
	upstreams_check(v, 1);
	if (pipe2(v->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		uk_err_errno(err, errno, "start the networks' DNS");
		free(v);
		return NULL;
	}
	if ((errno = pthread_create(&v->thread, NULL, dns_main, v)) != 0) {
		uk_err_errno(err, errno, "start the networks' DNS");
		close(v->wake[0]);
		close(v->wake[1]);
		free(v);
		return NULL;
	}
	return v;
}

void ukd_dns_server_sync(struct ukd_dns_server *v)
{
	if (v && write(v->wake[1], "x", 1) < 0)
		log_debug("network", "wake dns: %s", strerror(errno));
}

void ukd_dns_server_stop(struct ukd_dns_server *v)
{
	if (!v)
		return;
	v->stopping = 1;
	ukd_dns_server_sync(v);
	pthread_join(v->thread, NULL);
	while (v->nnets)
		net_close(v, &v->nets[--v->nnets]);
	close(v->wake[0]);
	close(v->wake[1]);
	free(v);
}
