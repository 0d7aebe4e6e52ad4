/* Published ports on uk networks by the kernel: nftables DNAT rules and host-port reservations. */
#ifndef UKD_NAT_H
#define UKD_NAT_H

#include <netinet/in.h>
#include <stddef.h>

#include "ports.h"
#include "ukd.h"

/*
 * Contract (docs/networking.md, "Published ports on a network"). Without --userland-proxy, a
 * published port of an instance on a uk network is a DNAT rule in this ukd's nftables table
 * (prerouting for clients elsewhere, output for clients on this host) from HOST_IP:HOST_PORT
 * to GUEST_IP:GUEST_PORT, plus a reservation socket ukd holds on HOST_IP:HOST_PORT (TCP bound
 * and listening, never accepted from; UDP bound) so that nothing else can take the port while
 * the rule sends its traffic elsewhere, and `ss -ltnp` names ukd as its holder.
 *
 * A host address in 127.0.0.0/8 needs route_localnet=1 on the bridge (a packet from 127.0.0.1
 * may then leave through it), its source rewritten to the gateway (masquerade) on the way out,
 * and the CVE-2020-8558 guard: whatever arrives on a bridge of ours with a 127.0.0.0/8 source
 * or destination is dropped before conntrack (no legitimate packet has one: replies come back
 * to the gateway's address and are rewritten after the guard). The rules live in the kernel:
 * guests keep their ports while ukd is down (kill -9), and ukd rebuilds them at start from the
 * store (the reservations come back then).
 */

struct ukd_nat;

struct ukd_nat *ukd_nat_new(void);
/* Closes every reservation; the rules stay in the kernel until the table is rebuilt. */
void ukd_nat_free(struct ukd_nat *nat);

/*
 * Reserves (port)'s host address for (owner) (an instance id) and records the rule to (guest)
 * through bridge (br); 409 "port IP:PORT is already in use" when the address is taken. The
 * rule takes effect at the next rebuild of the table (ukd_nat_rules). For a host address in
 * 127.0.0.0/8 or 0.0.0.0, sets route_localnet=1 on (br). (restore): ukd's start bringing back
 * a running guest's port: one taken meanwhile keeps its rule (the guest keeps its port; the
 * other program receives nothing), with a warning, instead of the 409.
 */
int ukd_nat_add(struct ukd_nat *nat, const char *owner, const char *br, const struct ukd_port *port,
                const struct sockaddr_in *guest, int restore, uk_err_t *err);
/* Forgets the rules of (owner) and closes their reservations; the number removed. */
int ukd_nat_remove(struct ukd_nat *nat, const char *owner);
/*
 * Deletes the conntrack entries of the UDP ports whose rules came (not on a restore) or went
 * since the last call (conntrack.h): a flow's entry keeps the NAT it was made with, so without
 * this a client sending to a removed instance's port would reach it (or the bare host port)
 * until it paused for 30 s. Call it once the table holds the change.
 */
void ukd_nat_flush_conntrack(struct ukd_nat *nat);
/* How many rules are recorded (what the table text needs room for: < 600 bytes each). */
int ukd_nat_count(struct ukd_nat *nat);
/* 1 if a rule's host address is outside 127.0.0.0/8 (its clients elsewhere, and a guest
 * reaching it on the host, are forwarded: net.ipv4.ip_forward=1 then). */
int ukd_nat_forwards(struct ukd_nat *nat);

enum ukd_nat_part {
	UKD_NAT_FORWARD, /* rules at the top of the table's forward chain: DNATed flows pass */
	UKD_NAT_CHAINS,  /* the table's DNAT, masquerade and guard chains */
};

/*
 * Appends the nftables text of (part) at (buf + *len) (room (cap)), (brs) the (nbr) bridges of
 * this ukd's networks (the guard covers each); *len grows as snprintf's would (>= cap: too
 * small). (nat) may be NULL (the userland proxy): the guard only.
 */
void ukd_nat_rules(struct ukd_nat *nat, enum ukd_nat_part part, const char (*brs)[16], int nbr,
                   char *buf, size_t cap, size_t *len);

/* Appends printf's text at (buf + *len) within (cap); *len grows as snprintf's would (the
 * nftables texts of nat.c and net_pin.c: a caller checks *len < cap once at the end). */
__attribute__((format(printf, 4, 5))) void ukd_text_put(char *buf, size_t cap, size_t *len,
                                                        const char *fmt, ...);

/* Writes (value) to the sysctl (name) of this network namespace ("net/ipv4/ip_forward"): 0, or
 * -1 with errno set. */
int ukd_sysctl_set(const char *name, const char *value);

#endif
