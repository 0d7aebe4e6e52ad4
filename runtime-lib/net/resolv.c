/* getaddrinfo over a DNS stub resolver: A queries over UDP to dns= (UK_DNS) or DHCP's server,
 * again over TCP when the answer came back truncated. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uk/fd.h>
#include <uk/uk.h>

#include "net_internal.h"
#include "socket_internal.h"

#define DNS_TRIES 3
#define DNS_TRY_MS 2000
#define DNS_TCP_MS 5000   /* the whole TCP exchange: connect, query, answer */
#define DNS_TCP_MAX 16384 /* the longest answer taken over TCP (a frame's own limit is 64 KiB) */

/* --- the lookup --- */

/* The resolver: the dns= runtime option (UK_DNS in the environment), else DHCP's. 0 if none. */
static uint32_t resolver(void)
{
	const char *v = getenv("UK_DNS");
	struct in_addr a;

	if (v && inet_pton(AF_INET, v, &a) == 1)
		return ntohl(a.s_addr);
	return uk_net_cur ? uk_net_cur->dns : 0;
}

static uint64_t now_ms(void)
{
	return uk_fd_now() / 1000000; /* the sockets' clock (a test's own in the unit tests) */
}

/* Sets (fd)'s receive and send timeouts to what is left until (deadline) (ms); -1 if none. */
static int time_left(int fd, uint64_t deadline)
{
	uint64_t t = now_ms(), left = deadline > t ? deadline - t : 0;
	struct timeval tv = {(time_t)(left / 1000), (long)(left % 1000) * 1000};

	if (!left || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return 0;
}

/*
 * The query (q, qlen) again over TCP to (sa) (RFC 7766: the answer did not fit a datagram),
 * within DNS_TCP_MS and DNS_TCP_MAX bytes. Returns uk_dns_parse_reply()'s result, or -5 when
 * the exchange failed (refused, timed out, closed early, an answer too long).
 */
static int dns_tcp(const struct sockaddr_in *sa, const uint8_t *q, int qlen, uint16_t id,
                   const char *name, uint32_t *addrs, int max)
{
	uint64_t deadline = now_ms() + DNS_TCP_MS;
	uint8_t *buf = malloc(DNS_TCP_MAX);
	size_t have = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc = -5, n = 0;

	if (fd < 0 || !buf || time_left(fd, deadline) < 0 ||
	    connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		goto out;
	buf[0] = (uint8_t)(qlen >> 8);
	buf[1] = (uint8_t)qlen;
	memcpy(buf + 2, q, (size_t)qlen);
	if (time_left(fd, deadline) < 0 || send(fd, buf, (size_t)qlen + 2, 0) != qlen + 2)
		goto out;
	while (!(n = uk_dns_tcp_frame(buf, have, DNS_TCP_MAX))) {
		ssize_t r;
		if (time_left(fd, deadline) < 0 ||
		    (r = recv(fd, buf + have, DNS_TCP_MAX - have, 0)) <= 0)
			goto out;
		have += (size_t)r;
	}
	if (n > 0)
		rc = uk_dns_parse_reply(buf + 2, (size_t)n, id, name, addrs, max);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/* Looks (name) up; returns the address count (> 0) or an EAI_* code. */
static int dns_lookup(const char *name, uint32_t *addrs, int max)
{
	struct timeval tv = {DNS_TRY_MS / 1000, DNS_TRY_MS % 1000 * 1000};
	struct sockaddr_in sa;
	uint8_t q[UK_DNS_NAME_MAX + 20], r[1500];
	uint16_t id;
	uint32_t server;
	int fd, qlen, rc = EAI_AGAIN, saved = errno;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		return EAI_SYSTEM;
	if (!(server = resolver())) {
		close(fd);
		return EAI_FAIL; /* no dns= option and no DHCP server option: nowhere to ask */
	}
	uk_entropy_get(&id, sizeof(id));
	if ((qlen = uk_dns_build_query(q, sizeof(q), id, name)) < 0) {
		close(fd);
		return EAI_NONAME;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(53);
	sa.sin_addr.s_addr = htonl(server);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		close(fd);
		return EAI_SYSTEM;
	}
	for (int t = 0; t < DNS_TRIES && rc == EAI_AGAIN; t++) {
		if (send(fd, q, (size_t)qlen, 0) < 0)
			continue;
		for (;;) {
			ssize_t n = recv(fd, r, sizeof(r), 0);
			if (n < 0)
				break; /* this try timed out */
			int k = uk_dns_parse_reply(r, (size_t)n, id, name, addrs, max);
			if (k == -1)
				continue; /* not our answer: keep waiting */
			if (k == UK_DNS_TRUNCATED &&
			    (k = dns_tcp(&sa, q, qlen, id, name, addrs, max)) == -5)
				break; /* over TCP neither: EAI_AGAIN, as a lost answer */
			rc = k > 0 ? k : k == 0 || k == -2 ? EAI_NONAME : EAI_FAIL;
			break;
		}
	}
	close(fd);
	errno = saved;
	return rc;
}

/* --- getaddrinfo --- */

static const struct {
	const char *name;
	uint16_t port;
} services[] = {{"domain", 53}, {"http", 80}, {"https", 443},    {"ssh", 22},
                {"smtp", 25},   {"ntp", 123}, {"http-alt", 8080}};

static int service_port(const char *svc, int flags, uint16_t *port)
{
	char *end;
	unsigned long v;

	*port = 0;
	if (!svc)
		return 0;
	v = strtoul(svc, &end, 10);
	if (*svc && !*end && *svc != '-' && *svc != '+') {
		if (v > 65535)
			return EAI_SERVICE;
		*port = (uint16_t)v;
		return 0;
	}
	if (flags & AI_NUMERICSERV)
		return EAI_NONAME;
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		if (!strcmp(svc, services[i].name)) {
			*port = services[i].port;
			return 0;
		}
	}
	return EAI_SERVICE;
}

static struct addrinfo *ai_new(uint32_t ip, uint16_t port, int socktype, const char *canon)
{
	size_t cl = canon ? strlen(canon) + 1 : 0;
	struct addrinfo *ai = calloc(1, sizeof(*ai) + sizeof(struct sockaddr_in) + cl);
	struct sockaddr_in *sa;

	if (!ai)
		return NULL;
	sa = (struct sockaddr_in *)(ai + 1);
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	sa->sin_addr.s_addr = htonl(ip);
	ai->ai_family = AF_INET;
	ai->ai_socktype = socktype;
	ai->ai_protocol = socktype == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
	ai->ai_addrlen = sizeof(*sa);
	ai->ai_addr = (struct sockaddr *)sa;
	if (canon) {
		ai->ai_canonname = (char *)(sa + 1);
		memcpy(ai->ai_canonname, canon, cl);
	}
	return ai;
}

void freeaddrinfo(struct addrinfo *res)
{
	while (res) {
		struct addrinfo *next = res->ai_next;
		free(res);
		res = next;
	}
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
	int flags = hints ? hints->ai_flags : 0, family = hints ? hints->ai_family : AF_UNSPEC;
	int socktype = hints ? hints->ai_socktype : 0, n = 1, rc;
	uint32_t addrs[UK_DNS_MAX_ADDRS];
	char name[UK_DNS_NAME_MAX + 2];
	struct addrinfo *head = NULL, **tail = &head;
	struct in_addr a;
	uint16_t port;

	*res = NULL;
	if (flags & ~(AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_V4MAPPED | AI_ALL |
	              AI_ADDRCONFIG | AI_NUMERICSERV))
		return EAI_BADFLAGS;
	if (family != AF_UNSPEC && family != AF_INET)
		return EAI_FAMILY;
	if (socktype && socktype != SOCK_STREAM && socktype != SOCK_DGRAM)
		return EAI_SOCKTYPE;
	if (!node && !service)
		return EAI_NONAME;
	if ((rc = service_port(service, flags, &port)))
		return rc;
	if (!node) {
		addrs[0] = flags & AI_PASSIVE ? INADDR_ANY : INADDR_LOOPBACK;
	} else if (inet_pton(AF_INET, node, &a) == 1) {
		addrs[0] = ntohl(a.s_addr);
	} else if (flags & AI_NUMERICHOST) {
		return EAI_NONAME;
	} else if (uk_dns_name_eq(node, "localhost") || uk_dns_name_eq(node, "localhost.")) {
		addrs[0] = INADDR_LOOPBACK;
	} else {
		size_t l = strlen(node);
		if (!l || l > UK_DNS_NAME_MAX + 1)
			return EAI_NONAME;
		memcpy(name, node, l + 1);
		if (name[l - 1] == '.')
			name[l - 1] = 0;
		if ((n = dns_lookup(name, addrs, UK_DNS_MAX_ADDRS)) < 0)
			return n;
	}
	for (int i = 0; i < n; i++) {
		for (int t = SOCK_STREAM; t <= SOCK_DGRAM; t++) {
			if (socktype && socktype != t)
				continue;
			*tail = ai_new(addrs[i], port, t,
			               flags & AI_CANONNAME && !head && node ? node : NULL);
			if (!*tail) {
				freeaddrinfo(head);
				return EAI_MEMORY;
			}
			(*tail)->ai_flags = flags;
			tail = &(*tail)->ai_next;
		}
	}
	*res = head;
	return 0;
}

const char *gai_strerror(int code)
{
	switch (code) {
	case 0:
		return "Success";
	case EAI_BADFLAGS:
		return "Bad value for ai_flags";
	case EAI_NONAME:
		return "Name or service not known";
	case EAI_AGAIN:
		return "Temporary failure in name resolution";
	case EAI_FAIL:
		return "Non-recoverable failure in name resolution";
	case EAI_FAMILY:
		return "ai_family not supported";
	case EAI_SOCKTYPE:
		return "ai_socktype not supported";
	case EAI_SERVICE:
		return "Servname not supported for ai_socktype";
	case EAI_MEMORY:
		return "Memory allocation failure";
	case EAI_SYSTEM:
		return "System error";
	case EAI_OVERFLOW:
		return "Argument buffer overflow";
	default:
		return "Unknown error";
	}
}
