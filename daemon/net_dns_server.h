/* ukd's resolver on each network's gateway: UDP and TCP on GATEWAY:53, forwarding upstream. */
#ifndef UKD_NET_DNS_SERVER_H
#define UKD_NET_DNS_SERVER_H

#include <stdint.h>

#include "ukd.h"

/*
 * Contract (docs/networking.md, "Name resolution"). One thread serves every network: a UDP
 * socket and a TCP listener on GATEWAY:53 each. A name of an instance is answered from the
 * store (A records, NXDOMAIN otherwise); on an --outbound network any other name goes to the
 * host's resolvers (/etc/resolv.conf, looked at again at most once a second when it changed),
 * over UDP first and over TCP when the answer came back cut (TC). A client over UDP gets at
 * most 512 bytes (more: TC set, it asks again over TCP); over TCP up to 64 KiB. Every resource
 * is bounded: queries per second per network, forwards in flight, TCP clients per network and
 * in all, and a TCP client has DNS_TCP_IDLE_S to send a whole query or read a whole answer,
 * else it is closed; none of it blocks (one slow client never holds up another).
 *
 * Askers: only a source inside the network's subnet is answered (its guests and this host,
 * whose packets to the gateway come from the gateway's address); ukd's nftables table drops
 * queries to the gateway from any other interface than the bridge and the loopback, and limits
 * each asker (by source address, which the taps' pinning makes trustworthy, net_pin.h) to
 * UKD_DNS_ASKER_RATE UDP queries and TCP connects per second (twice that as a burst) and
 * UKD_DNS_ASKER_TCP open TCP connections: one guest's flood leaves the others answered.
 */

#define UKD_DNS_ASKER_RATE 50
#define UKD_DNS_ASKER_TCP 8

struct ukd_dns_server;

/* A network as the resolver sees it (what network.c hands it). */
struct ukd_dns_net {
	char id[65];
	uint32_t gw, net, mask; /* host order */
	int outbound;
};

/* network.c: every network ((*n) of them; caller frees; NULL on failure), and the addresses
 * (network order, at most (max)) of the running instances named or aliased (name) that the
 * client at (client_ip) (host order) on network (net) may resolve. */
struct ukd_dns_net *ukd_net_dns_nets(struct ukd *d, int *n);
int ukd_net_dns_lookup(struct ukd *d, const char *net, uint32_t client_ip, const char *name,
                       uint32_t *ips, int max);

/* Starts the thread; (resolv_conf) is the path of the upstreams' file (/etc/resolv.conf). */
struct ukd_dns_server *ukd_dns_server_start(struct ukd *d, const char *resolv_conf, uk_err_t *err);
/* The networks changed: binds the new ones, closes the removed ones' sockets and clients. */
void ukd_dns_server_sync(struct ukd_dns_server *s);
/* Stops the thread and closes everything; NULL is a no-op. */
void ukd_dns_server_stop(struct ukd_dns_server *s);

#endif
