/* getaddrinfo over the DNS stub resolver (A records; the resolver from dns= or DHCP). */
#ifndef UK_LIBC_NETDB_H
#define UK_LIBC_NETDB_H

#include <netinet/in.h>
#include <sys/socket.h>

struct addrinfo {
	int ai_flags;
	int ai_family;
	int ai_socktype;
	int ai_protocol;
	socklen_t ai_addrlen;
	struct sockaddr *ai_addr;
	char *ai_canonname;
	struct addrinfo *ai_next;
};

#define AI_PASSIVE 0x0001
#define AI_CANONNAME 0x0002
#define AI_NUMERICHOST 0x0004
#define AI_V4MAPPED 0x0008
#define AI_ALL 0x0010
#define AI_ADDRCONFIG 0x0020
#define AI_NUMERICSERV 0x0400

#define EAI_BADFLAGS -1
#define EAI_NONAME -2
#define EAI_AGAIN -3
#define EAI_FAIL -4
#define EAI_FAMILY -6
#define EAI_SOCKTYPE -7
#define EAI_SERVICE -8
#define EAI_MEMORY -10
#define EAI_SYSTEM -11
#define EAI_OVERFLOW -12

#define NI_MAXHOST 1025
#define NI_MAXSERV 32

/*
 * IPv4 only (AF_UNSPEC or AF_INET). (node) NULL: INADDR_ANY with AI_PASSIVE,
 * else 127.0.0.1; a dotted quad and "localhost" need no DNS; other names are
 * looked up over UDP (A records, 3 tries of 2 s each), see docs/net.md.
 * (service) is a port number or one of a few names (http, https, domain ...).
 * Returns 0 or an EAI_* code.
 */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res);
void freeaddrinfo(struct addrinfo *res);
const char *gai_strerror(int code);

#endif
