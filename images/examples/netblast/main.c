/* netblast: a bulk-transfer server and client (byte-exact, CRC-32 on both ends) and an HTTP load
 * client, in plain POSIX sockets: the same source builds for the host and the unikernel.
 *   serve PORT: for each connection, reads "N\n" and N bytes of stream 1, answers N bytes of
 *               stream 2, prints what it got.
 *   send HOST PORT N: the client of serve: sends N bytes, takes N back, checks both, exit 0
 *               when the N bytes it got are stream 2's (1 otherwise), prints MB/s.
 *   http HOST PORT REQUESTS CONNS: GET / REQUESTS times over CONNS keep-alive connections,
 *               prints req/s (exit 1 when an answer is not HTTP or a connection fails).
 *   udpecho PORT: answers each UDP datagram with "echo: " and the datagram.
 * Stream s is the little-endian 64-bit words of x(k+1) = x(k) * 6364136223846793005 +
 * 1442695040888963407 from x(0) = s, so a test can make and check the same bytes. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef NETBLAST_STATS /* the guest stack's counters after http (bench/g2g_stall.sh) */
#include <uk/net.h>
#endif

#define CHUNK 16384
#define CONNS_MAX 64

struct stream {
	uint64_t x;
	unsigned char word[8];
	int used;
};

static void stream_init(struct stream *s, uint64_t seed)
{
	s->x = seed;
	s->used = 8;
}

static void stream_fill(struct stream *s, unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && s->used < 8)
		p[i++] = s->word[s->used++];
	for (; n - i >= 8; i += 8) { /* whole words: the bulk of it */
		s->x = s->x * 6364136223846793005ull + 1442695040888963407ull;
		for (int b = 0; b < 8; b++)
			p[i + (size_t)b] = (unsigned char)(s->x >> (8 * b));
	}
	for (; i < n; i++) {
		if (s->used == 8) {
			s->x = s->x * 6364136223846793005ull + 1442695040888963407ull;
			for (int b = 0; b < 8; b++)
				s->word[b] = (unsigned char)(s->x >> (8 * b));
			s->used = 0;
		}
		p[i] = s->word[s->used++];
	}
}

static uint32_t crc_table[8][256];

/* CRC-32 (zlib's), eight bytes a step (slicing-by-8): under TCG the check must not be what a
 * transfer's MB/s measures. */
static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
	if (!crc_table[0][1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			crc_table[0][i] = c;
		}
		for (uint32_t i = 0; i < 256; i++)
			for (int t = 1; t < 8; t++)
				crc_table[t][i] = crc_table[0][crc_table[t - 1][i] & 0xff] ^
				                  (crc_table[t - 1][i] >> 8);
	}
	crc = ~crc;
	for (; n >= 8; n -= 8, p += 8) {
		uint32_t a = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		                    (uint32_t)p[3] << 24);
		crc = crc_table[7][a & 0xff] ^ crc_table[6][(a >> 8) & 0xff] ^
		      crc_table[5][(a >> 16) & 0xff] ^ crc_table[4][a >> 24] ^ crc_table[3][p[4]] ^
		      crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
	}
	for (; n; n--, p++)
		crc = crc_table[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sends (n) bytes of stream (seed); their CRC in (crc). */
static int send_stream(int fd, uint64_t seed, size_t n, uint32_t *crc)
{
	static unsigned char buf[CHUNK];
	struct stream s;

	stream_init(&s, seed);
	*crc = 0;
	while (n) {
		size_t k = n < CHUNK ? n : CHUNK;
		stream_fill(&s, buf, k);
		*crc = crc32_update(*crc, buf, k);
		if (write_all(fd, buf, k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* Reads up to (n) bytes (fewer at EOF or on an error): the count, their CRC in (crc), and in
 * (same) whether they are stream (seed)'s (seed 0: not checked). */
static size_t recv_stream(int fd, size_t n, uint64_t seed, uint32_t *crc, int *same)
{
	static unsigned char buf[CHUNK], want[CHUNK];
	struct stream s;
	size_t got = 0;

	stream_init(&s, seed);
	*crc = 0;
	*same = 1;
	while (got < n) {
		size_t k = n - got < CHUNK ? n - got : CHUNK;
		ssize_t r = recv(fd, buf, k, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		*crc = crc32_update(*crc, buf, (size_t)r);
		if (seed) {
			stream_fill(&s, want, (size_t)r);
			if (memcmp(buf, want, (size_t)r))
				*same = 0;
		}
		got += (size_t)r;
	}
	return got;
}

static int serve(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 16) < 0) {
		printf("netblast: listen on %d: %s\n", port, strerror(errno));
		return 1;
	}
	printf("netblast: serving on %d\n", port);
	fflush(stdout);
	for (;;) {
		char line[32];
		size_t len = 0, n;
		uint32_t crc;
		int fd = accept(lfd, NULL, NULL), same;
		if (fd < 0)
			continue;
		while (len < sizeof(line) - 1 && recv(fd, line + len, 1, 0) == 1 &&
		       line[len] != '\n')
			len++;
		line[len] = 0;
		n = strtoul(line, NULL, 10);
		size_t got = recv_stream(fd, n, 1, &crc, &same);
		printf("netblast: received %lu bytes crc32=%08x%s\n", (unsigned long)got,
		       (unsigned)crc, got == n && same ? "" : " (not stream 1)");
		if (got == n && send_stream(fd, 2, n, &crc) == 0)
			printf("netblast: sent %lu bytes crc32=%08x\n", (unsigned long)n,
			       (unsigned)crc);
		fflush(stdout);
		close(fd);
	}
}

static int dial(const char *host, const char *port, int quiet)
{
	struct addrinfo hints, *res;
	int rc, fd, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		printf("netblast: getaddrinfo %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	if (!quiet) {
		unsigned char *ip =
		        (unsigned char *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
		printf("netblast: %s is %u.%u.%u.%u\n", host, ip[0], ip[1], ip[2], ip[3]);
	}
	fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		printf("netblast: connect %s:%s: %s\n", host, port, strerror(errno));
		freeaddrinfo(res);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	freeaddrinfo(res);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int send_cmd(const char *host, const char *port, size_t n)
{
	char line[32];
	uint32_t crc;
	int same, fd = dial(host, port, 0);

	if (fd < 0)
		return 1;
	double t0 = now_s();
	snprintf(line, sizeof(line), "%lu\n", (unsigned long)n);
	if (write_all(fd, (const unsigned char *)line, strlen(line)) < 0 ||
	    send_stream(fd, 1, n, &crc) < 0) {
		printf("netblast: send: %s\n", strerror(errno));
		return 1;
	}
	printf("netblast: sent %lu bytes crc32=%08x\n", (unsigned long)n, (unsigned)crc);
	size_t got = recv_stream(fd, n, 2, &crc, &same);
	double t = now_s() - t0;
	close(fd);
	printf("netblast: received %lu bytes crc32=%08x\n", (unsigned long)got, (unsigned)crc);
	if (got != n || !same) {
		printf("netblast: FAILED: %s\n", got != n ? "short transfer" : "bytes differ");
		return 1;
	}
	printf("netblast: %lu bytes each way in %.0f ms: %.2f MB/s\n", (unsigned long)n, t * 1000,
	       2.0 * (double)n / t / 1e6);
	return 0;
}

struct hconn {
	int fd;
	char buf[4096];
	size_t len;
};

/* A whole answer in (c)'s buffer: its length (header and Content-Length body), else 0. */
static size_t http_complete(struct hconn *c)
{
	c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = 0;
	char *end = strstr(c->buf, "\r\n\r\n"), *cl = strstr(c->buf, "Content-Length:");
	if (!end)
		return 0;
	size_t head = (size_t)(end + 4 - c->buf),
	       body = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
	return c->len >= head + body ? head + body : 0;
}

static int http_cmd(const char *host, const char *port, long total, int nconns)
{
	static struct hconn conns[CONNS_MAX];
	static const char req[] = "GET / HTTP/1.1\r\nHost: netblast\r\n\r\n";
	struct pollfd pf[CONNS_MAX];
	long sent = 0, done = 0;

	if (nconns < 1 || nconns > CONNS_MAX) {
		printf("netblast: connections: 1..%d\n", CONNS_MAX);
		return 1;
	}
	double t0 = now_s();
	for (int i = 0; i < nconns; i++) {
		if ((conns[i].fd = dial(host, port, i > 0)) < 0)
			return 1;
		conns[i].len = 0;
	}
	for (int i = 0; i < nconns && sent < total; i++, sent++)
		if (write_all(conns[i].fd, (const unsigned char *)req, sizeof(req) - 1) < 0)
			return 1;
	while (done < total) {
		for (int i = 0; i < nconns; i++)
			pf[i] = (struct pollfd){conns[i].fd, POLLIN, 0};
		if (poll(pf, (nfds_t)nconns, 10000) <= 0) {
			printf("netblast: no answer in 10 s after %ld\n", done);
			return 1;
		}
		for (int i = 0; i < nconns; i++) {
			struct hconn *c = &conns[i];
			size_t whole;
			if (!pf[i].revents)
				continue;
			ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
			if (r <= 0) {
				printf("netblast: connection %d: %s after %ld answers\n", i,
				       r ? strerror(errno) : "closed", done);
				return 1;
			}
			c->len += (size_t)r;
			if (!(whole = http_complete(c))) {
				if (c->len >= sizeof(c->buf) - 1) {
					printf("netblast: an answer over %zu bytes\n",
					       sizeof(c->buf));
					return 1;
				}
				continue;
			}
			if (strncmp(c->buf, "HTTP/1.", 7)) {
				printf("netblast: not HTTP: %.20s\n", c->buf);
				return 1;
			}
			memmove(c->buf, c->buf + whole, c->len - whole);
			c->len -= whole;
			done++;
			if (sent < total) {
				sent++;
				if (write_all(c->fd, (const unsigned char *)req, sizeof(req) - 1) <
				    0)
					return 1;
			}
		}
	}
	double t = now_s() - t0;
	for (int i = 0; i < nconns; i++)
		close(conns[i].fd);
	printf("netblast: %ld requests over %d connections in %.0f ms: %.0f req/s\n", total, nconns,
	       t * 1000, (double)total / t);
#ifdef NETBLAST_STATS
	struct uk_net_stats st;
	uk_net_get_stats(&st);
	printf("netblast: stats rx %llu tx %llu rx_bad %llu retransmits %llu fast %llu\n",
	       (unsigned long long)st.rx_frames, (unsigned long long)st.tx_frames,
	       (unsigned long long)st.rx_bad, (unsigned long long)st.tcp_retransmits,
	       (unsigned long long)st.tcp_fast_retransmits);
#endif
	return 0;
}

static int udpecho(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[1500];

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("netblast: udp %d: %s\n", port, strerror(errno));
		return 1;
	}
	printf("netblast: echoing UDP on %d\n", port);
	fflush(stdout);
	memcpy(buf, "echo: ", 6);
	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n =
		        recvfrom(fd, buf + 6, sizeof(buf) - 6, 0, (struct sockaddr *)&from, &len);
		if (n > 0)
			sendto(fd, buf, (size_t)n + 6, 0, (struct sockaddr *)&from, len);
	}
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "udpecho"))
		return udpecho(atoi(argv[2]));
	if (argc >= 5 && !strcmp(argv[1], "send"))
		return send_cmd(argv[2], argv[3], strtoul(argv[4], NULL, 10));
	if (argc >= 6 && !strcmp(argv[1], "http"))
		return http_cmd(argv[2], argv[3], atol(argv[4]), atoi(argv[5]));
	printf("usage: netblast serve PORT | send HOST PORT BYTES | http HOST PORT REQUESTS "
	       "CONNS\n");
	return 2;
}
