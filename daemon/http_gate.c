/* The TLS listener's door before a certificate: counts each connection from its accept to its
 * first certified request, refuses new ones over the limits and shuts down those too slow. */
#include "http_gate.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define GATE_LOG_EVERY_S 10 /* at most one line about refusals per this many seconds */

/* A client address, without the port. */
struct gate_addr {
	sa_family_t family;
	unsigned char bytes[16];
};

struct gate_entry {
	const void *key; /* NULL: a free slot */
	int fd;
	int shut; /* past its deadline and shut down: counts until MHD closes it */
	struct timespec deadline;
	struct gate_addr addr;
};

struct ukd_http_gate {
	struct ukd_http_gate_limits lim;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	pthread_t thread;
	int stop;
	unsigned count;
	struct gate_entry *e;  /* lim.max slots */
	unsigned long refused; /* since the last line about refusals */
	time_t refused_logged; /* monotonic seconds of that line */
};

static void gate_addr_of(const struct sockaddr *sa, struct gate_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = sa ? sa->sa_family : AF_UNSPEC;
	if (a->family == AF_INET)
		memcpy(a->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (a->family == AF_INET6)
		memcpy(a->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

static const char *gate_addr_str(const struct gate_addr *a, char *buf, size_t len)
{
	if (a->family != AF_INET && a->family != AF_INET6)
		snprintf(buf, len, "(address family %d)", a->family);
	else if (!inet_ntop(a->family, a->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "(unprintable address)");
	return buf;
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Shuts down the connections past their deadline, then sleeps until the next deadline. */
static void *gate_watch(void *arg)
{
	struct ukd_http_gate *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec now, next = {0};
		char who[INET6_ADDRSTRLEN + 32] = "";
		unsigned shut = 0;

		clock_gettime(CLOCK_MONOTONIC, &now);
		for (unsigned i = 0; i < g->lim.max; i++) {
			struct gate_entry *e = &g->e[i];
			if (!e->key || e->shut)
				continue;
			if (!ts_before(&now, &e->deadline)) {
				/* MHD's connection thread sees the end and closes the socket; it
				 * stays open (and ours to shut down) until ukd_http_gate_leave */
				shutdown(e->fd, SHUT_RDWR);
				e->shut = 1;
				shut++;
				gate_addr_str(&e->addr, who, sizeof(who));
			} else if (!next.tv_sec || ts_before(&e->deadline, &next)) {
				next = e->deadline;
			}
		}
		if (shut)
			log_info("http",
			         "closed %u TLS connection(s) (the last from %s) that made no "
			         "certified request within %u s (http-limits.handshake-timeout-s)",
			         shut, who, g->lim.timeout_s);
		if (next.tv_sec)
			pthread_cond_timedwait(&g->wake, &g->lock, &next);
		else
			pthread_cond_wait(&g->wake, &g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct ukd_http_gate *ukd_http_gate_new(const struct ukd_http_gate_limits *lim, uk_err_t *err)
{
	struct ukd_http_gate *g = calloc(1, sizeof(*g));
	pthread_condattr_t ca;
	int r;

	if (!g || !(g->e = calloc(lim->max ? lim->max : 1, sizeof(*g->e)))) {
		free(g);
		uk_err_errno(err, ENOMEM, "TLS connection gate");
		return NULL;
	}
	g->lim = *lim;
	g->refused_logged = -GATE_LOG_EVERY_S;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	if ((r = pthread_create(&g->thread, NULL, gate_watch, g))) {
		uk_err_errno(err, r, "start the TLS handshake timer thread");
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->lock);
		free(g->e);
		free(g);
		return NULL;
	}
	return g;
}

void ukd_http_gate_free(struct ukd_http_gate *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = 1;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g->e);
	free(g);
}

/* One line per GATE_LOG_EVERY_S at most: a flood of refusals must not flood the log. */
static void gate_refused(struct ukd_http_gate *g, const struct gate_addr *a, unsigned same)
{
	struct timespec now;
	char who[INET6_ADDRSTRLEN + 32];

	g->refused++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - g->refused_logged < GATE_LOG_EVERY_S)
		return;
	gate_addr_str(a, who, sizeof(who));
	if (same >= g->lim.per_ip)
		log_info("http",
		         "refused %lu new TLS connection(s), the last from %s: it has %u without a "
		         "certified request (http-limits.max-handshakes-per-ip)",
		         g->refused, who, same);
	else
		log_info("http",
		         "refused %lu new TLS connection(s), the last from %s: %u connections "
		         "without a certified request in all (http-limits.max-handshakes)",
		         g->refused, who, g->count);
	g->refused = 0;
	g->refused_logged = now.tv_sec;
}

int ukd_http_gate_admit(struct ukd_http_gate *g, const struct sockaddr *addr)
{
	struct gate_addr a;
	unsigned same = 0;
	int ok;

	gate_addr_of(addr, &a);
	pthread_mutex_lock(&g->lock);
	for (unsigned i = 0; i < g->lim.max; i++)
		if (g->e[i].key && !memcmp(&g->e[i].addr, &a, sizeof(a)))
			same++;
	ok = g->count < g->lim.max && same < g->lim.per_ip;
	if (!ok)
		gate_refused(g, &a, same);
	pthread_mutex_unlock(&g->lock);
	return ok;
}

void ukd_http_gate_enter(struct ukd_http_gate *g, const void *key, int fd,
                         const struct sockaddr *addr)
{
	pthread_mutex_lock(&g->lock);
	for (unsigned i = 0; i < g->lim.max; i++) {
		struct gate_entry *e = &g->e[i];
		if (e->key)
			continue;
		*e = (struct gate_entry){.key = key, .fd = fd};
		gate_addr_of(addr, &e->addr);
		/* whole seconds, rounded up: a burst accepted in one second ends in one pass */
		clock_gettime(CLOCK_MONOTONIC, &e->deadline);
		e->deadline.tv_sec += g->lim.timeout_s + (e->deadline.tv_nsec > 0);
		e->deadline.tv_nsec = 0;
		g->count++;
		pthread_cond_signal(&g->wake);
		break;
	}
	/* no free slot cannot happen: the accepting thread was admitted just before */
	pthread_mutex_unlock(&g->lock);
}

void ukd_http_gate_leave(struct ukd_http_gate *g, const void *key)
{
	pthread_mutex_lock(&g->lock);
	for (unsigned i = 0; i < g->lim.max; i++) {
		if (g->e[i].key != key)
			continue;
		g->e[i].key = NULL;
		g->count--;
		break;
	}
	pthread_mutex_unlock(&g->lock);
}

unsigned ukd_http_gate_count(struct ukd_http_gate *g)
{
	unsigned n;

	pthread_mutex_lock(&g->lock);
	n = g->count;
	pthread_mutex_unlock(&g->lock);
	return n;
}
