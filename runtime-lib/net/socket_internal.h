/* The socket layer's shared parts inside runtime-lib/net: descriptor ops, the DNS parser. */
#ifndef UK_NET_SOCKET_INTERNAL_H
#define UK_NET_SOCKET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct uk_fd_ops;
extern const struct uk_fd_ops uk_sock_ops;

/* What exit() does for the network (atexit): closes every socket and drives the stack until
 * the closed connections are done and the NIC has taken the last frames, bounded (socket.c). */
void uk_sock_exit_linger(void);

#define UK_DNS_MAX_ADDRS 16
#define UK_DNS_NAME_MAX 253 /* dotted, without the trailing dot */

/*
 * Parses a DNS reply (msg, len) to an A query with (id) for (name) (dotted,
 * no trailing dot). Stores up to (max) IPv4 addresses (host order) of the
 * answer section's A records of class IN in (addrs). Returns the count (>= 0),
 * -1 for a reply that is malformed or does not match (id, QR, question),
 * -2 for NXDOMAIN, -3 for another error rcode (SERVFAIL, REFUSED ...),
 * UK_DNS_TRUNCATED for a matching reply with TC set (the answer did not fit a
 * datagram: ask again over TCP, RFC 7766), whatever records it holds.
 */
#define UK_DNS_TRUNCATED (-4)
int uk_dns_parse_reply(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                       uint32_t *addrs, int max);

/*
 * DNS over TCP frames each message with a two-byte length (RFC 1035 4.2.2).
 * Given the first (have) bytes of the stream in (buf), returns the message's
 * length when the whole frame is there (the message at buf + 2), 0 while more
 * is needed, -1 for a length of 0 or a frame longer than (cap) bytes.
 */
int uk_dns_tcp_frame(const uint8_t *buf, size_t have, size_t cap);

/* Builds the query for (name) into (buf) (cap bytes); returns its length or -1. */
int uk_dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name);

/* Nonzero when (a) and (b) are the same name, ASCII case ignored. */
int uk_dns_name_eq(const char *a, const char *b);

#endif
