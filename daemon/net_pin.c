/* Anti-spoofing on uk networks: the nftables bridge table pinning each tap's MAC and address. */
#include "net_pin.h"
#include "nat.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * Why the bridge family and names: a frame from one guest to another never leaves the bridge,
 * so the ip family's hooks (ukd's other table) never see it; the bridge family's prerouting
 * hook sees every frame a port brings in, before the bridge learns its source MAC (a forged
 * MAC never reaches the forwarding database). A netdev ingress chain per tap would be bound to
 * the device (gone with it, absent before it) and could not be replaced with the rest of the
 * table in one transaction; a match on the input port's name can. Ports are told apart by
 * name only: "drop whatever else enters our bridges" needs `meta ibrname`, which kernels
 * without CONFIG_NFT_BRIDGE_META refuse, and "uk*" would also match another ukd's taps (one
 * table per root shares the namespace).
 */

/* 1 if (s) is a MAC as ukd writes them (six lowercase or uppercase hex pairs and colons). */
static int mac_ok(const char *s)
{
	unsigned b[6];
	char end;

	return strlen(s) == 17 && sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
	                                 &b[4], &b[5], &end) == 6;
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 15)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

void ukd_net_pin_rules(const char *name, const struct ukd_pin *pins, int npins, int nbr, char *buf,
                       size_t cap, size_t *len)
{
#define P(...) ukd_text_put(buf, cap, len, __VA_ARGS__)
	/* create-then-delete: deleting a table that is not there would fail the transaction */
	P("table bridge %s\ndelete table bridge %s\n", name, name);
	if (nbr < 1)
		return;
	P("table bridge %s {\n chain pin {\n  type filter hook prerouting priority -200; "
	  "policy accept;\n",
	  name);
	/* one hash lookup per frame, however many NICs */
	int first = 1;
	for (int i = 0; i < npins; i++)
		if (name_ok(pins[i].tap)) {
			P("%s\"%s\" : jump nic_%s", first ? "  iifname vmap { " : ", ", pins[i].tap,
			  pins[i].tap);
			first = 0;
		}
	if (!first)
		P(" }\n");
	P(" }\n");
	for (int i = 0; i < npins; i++) {
		const struct ukd_pin *p = &pins[i];
		struct in_addr a;
		if (!name_ok(p->tap))
			continue;
		P(" chain nic_%s {\n", p->tap);
		if (mac_ok(p->mac) && inet_pton(AF_INET, p->ip, &a) == 1) {
			P("  ether saddr != %s counter drop\n", p->mac);
			/* before any match on the payload: `ip saddr` depends on the frame's
			 * protocol, which the kernel takes from inside an 802.1Q tag it strips
			 * to metadata; `ether type` sees the tag (a tagged frame is 8021q here) */
			P("  ether type != { ip, arp } counter drop\n");
			P("  ip saddr %s accept\n", p->ip);
			P("  arp htype 1 arp ptype ip arp hlen 6 arp plen 4 arp saddr ether %s arp "
			  "saddr ip %s accept\n",
			  p->mac, p->ip);
		}
		P("  counter drop\n }\n");
	}
	P("}\n");
#undef P
}
