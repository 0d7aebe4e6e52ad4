/* getaddrinfo over a DNS stub resolver: A queries over UDP to dns= (UK_DNS) or DHCP's server. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uk/uk.h>

#include "net_internal.h"
#include "socket_internal.h"

#define DNS_TRIES 3
#define DNS_TRY_MS 2000

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
			rc = k > 0 ? k : k == -3 ? EAI_FAIL : EAI_NONAME;
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
