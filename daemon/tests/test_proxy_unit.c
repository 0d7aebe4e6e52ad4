/* Unit tests of the published ports' proxy (proxy.c) on loopback, a host server standing in for
 * the guest: bytes exact both ways with back-pressure and half-close, a guest that listens
 * late, 200 connections at once, removal freeing the port and closing connections, UDP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proxy.h"

static struct sockaddr_in loopback(unsigned port)
{
	return (struct sockaddr_in){.sin_family = AF_INET,
	                            .sin_port = htons((uint16_t)port),
	                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
}

static unsigned free_port(int type)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, type, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static int listen_on(unsigned port)
{
	struct sockaddr_in a = loopback(port);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 512) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int dial(unsigned port)
{
	struct sockaddr_in a = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = {.tv_sec = 20};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static unsigned char pattern(size_t i, unsigned seed)
{
	return (unsigned char)((i * 131 + seed * 7 + (i >> 13)) & 0xff);
}

static int send_pattern(int fd, size_t n, unsigned seed)
{
	unsigned char buf[8192];

	for (size_t off = 0; off < n;) {
		size_t k = n - off < sizeof(buf) ? n - off : sizeof(buf);
		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(off + i, seed);
		ssize_t w = send(fd, buf, k, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Reads to EOF: the count, -1 if a byte is not (seed)'s pattern. */
static long recv_pattern(int fd, unsigned seed)
{
	unsigned char buf[8192];
	size_t got = 0;
	ssize_t r;

	while ((r = recv(fd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pattern(got + (size_t)i, seed))
				return -1;
		got += (size_t)r;
	}
	return r < 0 ? -2 : (long)got;
}

#define UP_BYTES (10u << 20)
#define DOWN_BYTES (3u << 20)

struct guest {
	int lfd, conns;
	long got; /* bulk: what the guest read */
	unsigned delay_ms;
	unsigned port;
};

/* Bulk: reads the client's bytes to its FIN, then answers DOWN_BYTES and closes. */
static void *guest_bulk(void *p)
{
	struct guest *g = p;
	int fd = accept(g->lfd, NULL, NULL);

	g->got = recv_pattern(fd, 1);
	send_pattern(fd, DOWN_BYTES, 2);
	close(fd);
	return NULL;
}

/* Echo: (conns) connections, one line each; listens only after (delay_ms). */
static void *guest_echo(void *p)
{
	struct guest *g = p;

	if (g->delay_ms) {
		struct timespec ts = {0, (long)g->delay_ms * 1000000};
		nanosleep(&ts, NULL);
		g->lfd = listen_on(g->port);
	}
	for (int i = 0; i < g->conns; i++) {
		int fd = accept(g->lfd, NULL, NULL);
		char buf[64];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0)
			send(fd, buf, (size_t)n, MSG_NOSIGNAL);
		close(fd);
	}
	return NULL;
}

static struct ukd_proxy *px;

static void publish(const char *owner, unsigned host, unsigned guest, const char *proto)
{
	struct ukd_port p = {.host_ip = "127.0.0.1", .host_port = host, .guest_port = guest};
	struct sockaddr_in g = loopback(guest);
	uk_err_t err = {0};

	snprintf(p.proto, sizeof(p.proto), "%s", proto);
	assert_int_equal(ukd_proxy_add(px, owner, &p, &g, &err), 0);
}

static void test_bulk(void **state)
{
	struct guest g = {.port = free_port(SOCK_STREAM)};
	unsigned host = free_port(SOCK_STREAM);
	pthread_t t;

	(void)state;
	g.lfd = listen_on(g.port);
	assert_true(g.lfd >= 0);
	publish("bulk", host, g.port, "tcp");
	pthread_create(&t, NULL, guest_bulk, &g);
	int fd = dial(host);
	assert_int_equal(send_pattern(fd, UP_BYTES, 1), 0);
	shutdown(fd, SHUT_WR); /* half-close: the answer still comes back */
	assert_int_equal(recv_pattern(fd, 2), DOWN_BYTES);
	pthread_join(t, NULL);
	assert_int_equal(g.got, UP_BYTES);
	close(fd);
	close(g.lfd);
	ukd_proxy_remove(px, "bulk");
}

static void echo_once(unsigned host, const char *msg)
{
	char buf[64] = "";
	int fd = dial(host);

	assert_int_equal(send(fd, msg, strlen(msg), 0), (ssize_t)strlen(msg));
	assert_int_equal(recv(fd, buf, sizeof(buf) - 1, MSG_WAITALL), (ssize_t)strlen(msg));
	assert_string_equal(buf, msg);
	close(fd);
}

static void test_late_guest(void **state)
{
	struct guest g = {.port = free_port(SOCK_STREAM), .conns = 1, .delay_ms = 700};
	unsigned host = free_port(SOCK_STREAM);
	pthread_t t;

	(void)state;
	publish("late", host, g.port, "tcp");
	pthread_create(&t, NULL, guest_echo, &g);
	echo_once(host, "booting"); /* refused 7 times, then answered */
	pthread_join(t, NULL);
	close(g.lfd);
	ukd_proxy_remove(px, "late");
}

static void test_many(void **state)
{
	enum { N = 200 };
	struct guest g = {.port = free_port(SOCK_STREAM), .conns = N};
	unsigned host = free_port(SOCK_STREAM);
	int fds[N];
	pthread_t t;

	(void)state;
	g.lfd = listen_on(g.port);
	publish("many", host, g.port, "tcp");
	for (int i = 0; i < N; i++) /* all connected before any is served */
		fds[i] = dial(host);
	pthread_create(&t, NULL, guest_echo, &g);
	for (int i = 0; i < N; i++) { /* the guest takes them in its own order */
		char msg[16];
		snprintf(msg, sizeof(msg), "c%d", i);
		assert_int_equal(send(fds[i], msg, strlen(msg), 0), (ssize_t)strlen(msg));
	}
	for (int i = 0; i < N; i++) {
		char msg[16], buf[16] = "";
		snprintf(msg, sizeof(msg), "c%d", i);
		assert_int_equal(recv(fds[i], buf, strlen(msg), MSG_WAITALL), (ssize_t)strlen(msg));
		assert_string_equal(buf, msg);
		close(fds[i]);
	}
	pthread_join(t, NULL);
	close(g.lfd);
	ukd_proxy_remove(px, "many");
}

static void test_remove(void **state)
{
	unsigned gport = free_port(SOCK_STREAM), host = free_port(SOCK_STREAM);
	struct ukd_port p = {
	        .host_ip = "127.0.0.1", .host_port = host, .guest_port = gport, .proto = "tcp"};
	struct sockaddr_in g = loopback(gport);
	uk_err_t err = {0};
	int lfd = listen_on(gport);
	char c;

	(void)state;
	publish("rm", host, gport, "tcp");
	assert_int_equal(ukd_proxy_add(px, "other", &p, &g, &err), -1);
	assert_int_equal(err.status, 409);
	assert_non_null(strstr(err.message, "already in use"));
	int fd = dial(host);
	int gfd = accept(lfd, NULL, NULL); /* the proxy's connection to the guest */
	assert_true(gfd >= 0);
	ukd_proxy_remove(px, "rm");
	assert_true(recv(fd, &c, 1, 0) <= 0); /* the relay went with its port */
	int again = listen_on(host);
	assert_true(again >= 0); /* and the host port is free */
	close(again);
	close(fd);
	close(gfd);
	close(lfd);
}

static void test_udp(void **state)
{
	unsigned gport = free_port(SOCK_DGRAM), host = free_port(SOCK_DGRAM);
	struct sockaddr_in g = loopback(gport), h = loopback(host);
	int gfd = socket(AF_INET, SOCK_DGRAM, 0);
	int c[2] = {socket(AF_INET, SOCK_DGRAM, 0), socket(AF_INET, SOCK_DGRAM, 0)};
	struct timeval tv = {.tv_sec = 10};

	(void)state;
	assert_int_equal(bind(gfd, (struct sockaddr *)&g, sizeof(g)), 0);
	setsockopt(gfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	publish("udp", host, gport, "udp");
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 2; i++) {
			char msg[16], buf[64] = "";
			struct sockaddr_in from;
			socklen_t len = sizeof(from);
			snprintf(msg, sizeof(msg), "q%d.%d", i, round);
			setsockopt(c[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			sendto(c[i], msg, strlen(msg), 0, (struct sockaddr *)&h, sizeof(h));
			ssize_t n =
			        recvfrom(gfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
			assert_int_equal(n, (ssize_t)strlen(msg));
			buf[0] = 'a'; /* the answer goes back to whoever asked */
			sendto(gfd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
			memset(buf, 0, sizeof(buf));
			assert_int_equal(recv(c[i], buf, sizeof(buf), 0), (ssize_t)strlen(msg));
			assert_string_equal(buf + 1, msg + 1);
			assert_int_equal(buf[0], 'a');
		}
	ukd_proxy_remove(px, "udp");
	close(c[0]);
	close(c[1]);
	close(gfd);
}

static int setup(void **state)
{
	uk_err_t err = {0};

	(void)state;
	px = ukd_proxy_new(&err);
	return px ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ukd_proxy_free(px);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bulk), cmocka_unit_test(test_late_guest),
	        cmocka_unit_test(test_many), cmocka_unit_test(test_remove),
	        cmocka_unit_test(test_udp),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
