/* Conntrack entries of a published UDP port dropped over ctnetlink when its DNAT rule changes. */
#ifndef UKD_CONNTRACK_H
#define UKD_CONNTRACK_H

#include <stdint.h>

/*
 * Deletes this network namespace's UDP conntrack entries whose original destination is
 * (port) on (ip) (both in network order; ip 0: on any address of this host, 127.0.0.0/8
 * included). Why: a UDP flow's entry keeps the NAT it was made with for as long as datagrams
 * keep coming (30 s after the last, 120 s once assured), so a client sending to a published
 * port would go on reaching a removed instance, or the bare host port after the rule came
 * back. Returns the number deleted, or -1 with errno set (no ctnetlink: nf_conntrack_netlink
 * not loaded, or no CAP_NET_ADMIN).
 */
int ukd_conntrack_flush_udp(uint32_t ip, uint16_t port);

#endif
