/* bench/api.sh's load client: keep-alive GETs from N threads over a unix socket, loopback TCP or
 * TLS with a client certificate (wrk speaks TCP only), for D seconds; prints requests/s, p50, p99
 * and the errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct worker {
	pthread_t t;
	uint32_t *lat_us; /* one per answered request */
	size_t n, cap;
	uint64_t errors, non200;
	size_t body; /* the body length of the last reply: the caller checks what was served */
};

/* A keep-alive connection: a socket, and its TLS session when the target is tls:PORT. */
struct conn {
	int fd;
	SSL *ssl;
};

static const char *target, *path;
static SSL_CTX *tls; /* NULL unless the target is tls:PORT */
static double deadline;
static char request[1024];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dial_socket(void)
{
	int fd;

	if (!strncmp(target, "unix:", 5)) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", target + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
	} else {
		struct sockaddr_in sa = {.sin_family = AF_INET,
		                         .sin_port = htons(atoi(strchr(target, ':') + 1))};
		int one = 1;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

static void hang_up(struct conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Connects (c), with one TLS handshake when the target is TLS, as wrk does per connection. */
static int dial(struct conn *c)
{
	if ((c->fd = dial_socket()) < 0)
		return -1;
	if (!tls)
		return 0;
	if (!(c->ssl = SSL_new(tls)) || !SSL_set_fd(c->ssl, c->fd) || SSL_connect(c->ssl) != 1) {
		ERR_print_errors_fp(stderr);
		hang_up(c);
		return -1;
	}
	return 0;
}

static ssize_t conn_write(struct conn *c, const char *buf, size_t len)
{
	return c->ssl ? SSL_write(c->ssl, buf, (int)len) : write(c->fd, buf, len);
}

static ssize_t conn_read(struct conn *c, char *buf, size_t cap)
{
	return c->ssl ? SSL_read(c->ssl, buf, (int)cap) : read(c->fd, buf, cap);
}

/* One request/response on (c); returns the status and sets (*body) to the body's length, or
 * returns -1 on a socket or framing error. */
static int exchange(struct conn *c, char *buf, size_t cap, size_t *body)
{
	size_t len = 0, need = 0, hdr = 0;
	size_t rlen = strlen(request);

	if (conn_write(c, request, rlen) != (ssize_t)rlen)
		return -1;
	for (;;) {
		ssize_t n = conn_read(c, buf + len, cap - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = 0;
		if (!hdr) {
			char *end = strstr(buf, "\r\n\r\n"), *cl;
			if (!end) {
				if (len >= cap - 1)
					return -1;
				continue;
			}
			hdr = (size_t)(end - buf) + 4;
			*end = 0;
			cl = strcasestr(buf, "\r\ncontent-length:");
			if (!cl)
				return -1; /* ukd and the floor always send a length */
			need = hdr + strtoul(cl + 17, NULL, 10);
			if (need >= cap)
				return -1;
		}
		if (len >= need) {
			*body = need - hdr;
			return atoi(buf + 9);
		}
	}
}

static void *work(void *p)
{
	struct worker *w = p;
	static __thread char buf[1 << 20];
	struct conn c = {.fd = -1};

	while (now() < deadline) {
		double t0 = now();
		int status;

		if (c.fd < 0 && dial(&c) < 0) {
			w->errors++;
			usleep(1000);
			continue;
		}
		status = exchange(&c, buf, sizeof(buf), &w->body);
		if (status < 0) {
			w->errors++;
			hang_up(&c);
			continue;
		}
		if (status != 200)
			w->non200++;
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 65536;
			w->lat_us = realloc(w->lat_us, w->cap * sizeof(*w->lat_us));
			if (!w->lat_us)
				abort();
		}
		w->lat_us[w->n++] = (uint32_t)((now() - t0) * 1e6);
	}
	hang_up(&c);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The client side of ukd's --tlsverify: trust (ca), present (cert) with (key). */
static SSL_CTX *tls_context(const char *ca, const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "api_load: TLS with CA %s, certificate %s, key %s:\n", ca, cert,
		        key);
		ERR_print_errors_fp(stderr);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

int main(int argc, char **argv)
{
	int conns, secs;
	struct worker *w;
	uint32_t *all;
	size_t total = 0, k = 0;
	uint64_t errors = 0, non200 = 0;
	size_t body = 0;
	double t0;
	int is_tls = argc > 1 && !strncmp(argv[1], "tls:", 4);

	if (argc != (is_tls ? 8 : 5) ||
	    (strncmp(argv[1], "unix:", 5) && strncmp(argv[1], "tcp:", 4) && !is_tls)) {
		fprintf(stderr,
		        "usage: api_load unix:PATH|tcp:PORT URL_PATH CONNECTIONS SECONDS\n"
		        "       api_load tls:PORT URL_PATH CONNECTIONS SECONDS CA CERT KEY\n");
		return 2;
	}
	if (is_tls && !(tls = tls_context(argv[5], argv[6], argv[7])))
		return 1;
	signal(SIGPIPE, SIG_IGN); /* a server that hangs up is an error counted, not a death */
	target = argv[1];
	path = argv[2];
	conns = atoi(argv[3]);
	secs = atoi(argv[4]);
	if (conns < 1 || secs < 1)
		return 2;
	snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
	w = calloc((size_t)conns, sizeof(*w));
	t0 = now();
	deadline = t0 + secs;
	for (int i = 0; i < conns; i++)
		pthread_create(&w[i].t, NULL, work, &w[i]);
	for (int i = 0; i < conns; i++) {
		pthread_join(w[i].t, NULL);
		total += w[i].n;
		errors += w[i].errors;
		non200 += w[i].non200;
		body = w[i].body > body ? w[i].body : body;
	}
	all = malloc((total ? total : 1) * sizeof(*all));
	for (int i = 0; i < conns; i++) {
		memcpy(all + k, w[i].lat_us, w[i].n * sizeof(*all));
		k += w[i].n;
		free(w[i].lat_us);
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	printf("requests %zu rps %.0f p50_ms %.2f p99_ms %.2f errors %llu non200 %llu bytes %zu\n",
	       total, total / (now() - t0), total ? all[total / 2] / 1000.0 : 0,
	       total ? all[(size_t)(total * 0.99)] / 1000.0 : 0, (unsigned long long)errors,
	       (unsigned long long)non200, body);
	free(all);
	free(w);
	SSL_CTX_free(tls);
	return errors || non200 ? 1 : 0;
}
