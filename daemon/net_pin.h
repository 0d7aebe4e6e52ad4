/* Anti-spoofing on uk networks: each NIC's source MAC and IPv4 address pinned to its tap. */
#ifndef UKD_NET_PIN_H
#define UKD_NET_PIN_H

#include <stddef.h>

/*
 * Contract (docs/networking.md, "Security"). Guests on one network share a Linux bridge; a
 * guest owns its tap and could send any frame through it. In the nftables table "bridge
 * uk_HASH" (beside ukd's "ip uk_HASH", rebuilt with it in one transaction) a frame that enters
 * one of ukd's bridges through a NIC's port (its tap, or Xen's vif of the same name) passes
 * only if its source MAC is the MAC ukd gave that NIC and it is
 *   - IPv4 with the NIC's address as source, or
 *   - ARP (Ethernet/IPv4) whose sender MAC and sender address are the NIC's own;
 * everything else (a forged MAC or address, ARP for another address, IPv6, VLAN tags, other
 * EtherTypes) is dropped and counted in the NIC's chain. Rules match by name, so they may exist
 * before the tap does and outlive ukd (kill -9) like the DNAT rules. A link that someone else
 * (root) plugs into a uk bridge under another name is not filtered.
 */

/* One NIC as the store records it (daemon/network.c's endpoints). */
struct ukd_pin {
	char tap[16], mac[18], ip[16];
};

/*
 * Appends the text of the bridge table (name) for the (npins) NICs of (pins) at (buf + *len)
 * (room (cap)); *len grows as snprintf's would (>= cap: too small; < 400 bytes per NIC, 300
 * more). With (nbr) 0 (no network): only the lines that delete the table. A NIC whose MAC or
 * address is malformed gets no accept rule (all of its frames are dropped).
 */
void ukd_net_pin_rules(const char *name, const struct ukd_pin *pins, int npins, int nbr, char *buf,
                       size_t cap, size_t *len);

#endif
