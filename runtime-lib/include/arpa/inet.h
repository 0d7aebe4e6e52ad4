/* Text forms of IPv4 addresses: inet_pton, inet_ntop, inet_addr, inet_aton, inet_ntoa. */
#ifndef UK_LIBC_ARPA_INET_H
#define UK_LIBC_ARPA_INET_H

#include <netinet/in.h>

/* AF_INET only (EAFNOSUPPORT otherwise). pton: 1 ok, 0 not a dotted quad. ntop: NULL + ENOSPC. */
int inet_pton(int af, const char *src, void *dst);
const char *inet_ntop(int af, const void *src, char *dst, socklen_t size);
in_addr_t inet_addr(const char *cp);
int inet_aton(const char *cp, struct in_addr *inp);
char *inet_ntoa(struct in_addr in); /* a static buffer */

#endif
