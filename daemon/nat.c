/* Published ports on uk networks by the kernel: nftables DNAT rules and host-port reservations. */
#include "nat.h"
#include "conntrack.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Why a reservation socket: a DNAT rule does not hold the host port, so without one a second
 * program could bind it and never see a packet (or ukd could publish a port another program
 * listens on). TCP: SO_REUSEADDR, bind and listen, as the proxy and QEMU's hostfwd hold it
 * (a leftover TIME_WAIT is no conflict, a listener is, and `ss -ltnp` names ukd); it is never
 * accepted from: the output and prerouting DNAT rewrite a connection's destination before any
 * socket is looked up. UDP: bound without SO_REUSEADDR (as the proxy: one owner per port).
 */

struct nat_map {
	char owner[65], br[16];
	struct ukd_port port;
	struct sockaddr_in guest;
	int fd; /* the reservation */
};

/* A published UDP port whose rule came or went: its conntrack entries go once the table says so */
struct nat_flush {
	uint32_t ip; /* network order; 0: every local address */
	uint16_t port;
};

struct ukd_nat {
	pthread_mutex_t lock;
	struct nat_map *m;
	int n, cap;
	struct nat_flush *flush;
	int nflush, flush_cap;
};

/* Notes (port) for ukd_nat_flush_conntrack() if it is UDP (lock held). */
static void flush_note(struct ukd_nat *nat, const struct ukd_port *port)
{
	struct in_addr a = {0};

	if (strcmp(port->proto, "udp"))
		return;
	if (nat->nflush == nat->flush_cap) {
		int cap = nat->flush_cap ? nat->flush_cap * 2 : 8;
		struct nat_flush *f = realloc(nat->flush, (size_t)cap * sizeof(*f));
		if (!f) {
			log_warn("network",
			         "out of memory: UDP flows to %s:%u keep their conntrack "
			         "entries",
			         port->host_ip, port->host_port);
			return;
		}
		nat->flush = f;
		nat->flush_cap = cap;
	}
	inet_pton(AF_INET, port->host_ip, &a);
	nat->flush[nat->nflush++] = (struct nat_flush){a.s_addr, htons((uint16_t)port->host_port)};
}

struct ukd_nat *ukd_nat_new(void)
{
	struct ukd_nat *nat = calloc(1, sizeof(*nat));

	if (nat)
		pthread_mutex_init(&nat->lock, NULL);
	return nat;
}

void ukd_nat_free(struct ukd_nat *nat)
{
	if (!nat)
		return;
	for (int i = 0; i < nat->n; i++)
		if (nat->m[i].fd >= 0)
			close(nat->m[i].fd);
	free(nat->m);
	free(nat->flush);
	pthread_mutex_destroy(&nat->lock);
	free(nat);
}

static int is_loopback(const char *ip)
{
	return !strncmp(ip, "127.", 4);
}

int ukd_sysctl_set(const char *name, const char *value)
{
	char path[128];
	int fd, r, e;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	r = write(fd, value, strlen(value)) == (ssize_t)strlen(value) ? 0 : -1;
	e = errno;
	close(fd);
	errno = e;
	return r;
}

/* route_localnet=1 on (br): a packet with a 127.0.0.0/8 source may leave through it (and the
 * replies come back); the guard chain covers what that would otherwise let in. */
static void route_localnet(const char *br)
{
	char name[96];

	snprintf(name, sizeof(name), "net/ipv4/conf/%s/route_localnet", br);
	if (ukd_sysctl_set(name, "1") < 0)
		log_warn("network",
		         "%s: %s: ports published on 127.0.0.0/8 through %s cannot answer", name,
		         strerror(errno), br);
}

static int reserve(const struct ukd_port *port, uk_err_t *err)
{
	int udp = !strcmp(port->proto, "udp"), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port->host_port)};
	int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, port->host_ip, &a.sin_addr);
	if (fd < 0 || (!udp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || (!udp && listen(fd, 1) < 0)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (e == EADDRINUSE)
			return uk_err_conflict(err, "port %s:%u is already in use", port->host_ip,
			                       port->host_port);
		return uk_err_errno(err, e, "publish %s:%u", port->host_ip, port->host_port);
	}
	return fd;
}

int ukd_nat_add(struct ukd_nat *nat, const char *owner, const char *br, const struct ukd_port *port,
                const struct sockaddr_in *guest, int restore, uk_err_t *err)
{
	uk_err_t taken = {0};
	int fd = reserve(port, &taken);

	if (fd < 0 && !(restore && taken.status == 409)) {
		if (err)
			*err = taken;
		return -1;
	}
	if (fd < 0)
		log_warn("network",
		         "%s: its DNAT rule kept for instance %.12s (which had it first), the port "
		         "not held",
		         taken.message, owner);
	pthread_mutex_lock(&nat->lock);
	if (nat->n == nat->cap) {
		int cap = nat->cap ? nat->cap * 2 : 16;
		struct nat_map *m = realloc(nat->m, (size_t)cap * sizeof(*m));
		if (!m) {
			pthread_mutex_unlock(&nat->lock);
			if (fd >= 0)
				close(fd);
			return uk_err_errno(err, ENOMEM, "publish %s:%u", port->host_ip,
			                    port->host_port);
		}
		nat->m = m;
		nat->cap = cap;
	}
	struct nat_map *m = &nat->m[nat->n++];
	memset(m, 0, sizeof(*m));
	snprintf(m->owner, sizeof(m->owner), "%s", owner);
	snprintf(m->br, sizeof(m->br), "%s", br);
	m->port = *port;
	m->guest = *guest;
	m->fd = fd;
	if (!restore) /* a running guest's flows (ukd restarting) keep their entries */
		flush_note(nat, port);
	pthread_mutex_unlock(&nat->lock);
	if (is_loopback(port->host_ip) || !strcmp(port->host_ip, "0.0.0.0"))
		route_localnet(br);
	return 0;
}

int ukd_nat_remove(struct ukd_nat *nat, const char *owner)
{
	int removed = 0;

	if (!nat)
		return 0;
	pthread_mutex_lock(&nat->lock);
	for (int i = 0; i < nat->n;) {
		if (strcmp(nat->m[i].owner, owner)) {
			i++;
			continue;
		}
		if (nat->m[i].fd >= 0)
			close(nat->m[i].fd);
		flush_note(nat, &nat->m[i].port);
		nat->m[i] = nat->m[--nat->n];
		removed++;
	}
	pthread_mutex_unlock(&nat->lock);
	return removed;
}

void ukd_nat_flush_conntrack(struct ukd_nat *nat)
{
	struct nat_flush *f;
	int n;

	if (!nat)
		return;
	pthread_mutex_lock(&nat->lock);
	f = nat->flush;
	n = nat->nflush;
	nat->flush = NULL;
	nat->nflush = nat->flush_cap = 0;
	pthread_mutex_unlock(&nat->lock);
	for (int i = 0; i < n; i++) {
		char ip[16];
		int k = ukd_conntrack_flush_udp(f[i].ip, f[i].port);
		inet_ntop(AF_INET, &f[i].ip, ip, sizeof(ip));
		if (k < 0)
			log_warn("network",
			         "flush the conntrack entries of UDP %s:%u: %s: its clients may "
			         "reach "
			         "the old destination until they pause for 30 s (load "
			         "nf_conntrack_netlink?)",
			         ip, ntohs(f[i].port), strerror(errno));
		else if (k)
			log_info("network", "UDP %s:%u: %d conntrack entries flushed", ip,
			         ntohs(f[i].port), k);
	}
	free(f);
}

int ukd_nat_forwards(struct ukd_nat *nat)
{
	int any = 0;

	if (!nat)
		return 0;
	pthread_mutex_lock(&nat->lock);
	for (int i = 0; i < nat->n && !any; i++)
		any = !is_loopback(nat->m[i].port.host_ip);
	pthread_mutex_unlock(&nat->lock);
	return any;
}

int ukd_nat_count(struct ukd_nat *nat)
{
	int n;

	if (!nat)
		return 0;
	pthread_mutex_lock(&nat->lock);
	n = nat->n;
	pthread_mutex_unlock(&nat->lock);
	return n;
}

void ukd_text_put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*len += (size_t)vsnprintf(buf + (*len < cap ? *len : cap), *len < cap ? cap - *len : 0, fmt,
	                          ap);
	va_end(ap);
}

/*
 * The DNAT rule of (m) for hook (output): a specific address matches itself; 0.0.0.0 every
 * address of this host (fib ... type local), except that a packet arriving from elsewhere
 * (prerouting) for 127.0.0.0/8 is never rewritten (the loopback is this host's own); a host
 * address in 127.0.0.0/8 has no prerouting rule at all.
 */
static void dnat_rule(const struct nat_map *m, int output, char *buf, size_t cap, size_t *len)
{
	char gip[16], match[64];

	if (!output && is_loopback(m->port.host_ip))
		return;
	if (strcmp(m->port.host_ip, "0.0.0.0"))
		snprintf(match, sizeof(match), "ip daddr %s", m->port.host_ip);
	else
		snprintf(match, sizeof(match), "%sfib daddr type local",
		         output ? "" : "ip daddr != 127.0.0.0/8 ");
	inet_ntop(AF_INET, &m->guest.sin_addr, gip, sizeof(gip));
	ukd_text_put(buf, cap, len, "  %s %s dport %u dnat to %s:%u\n", match, m->port.proto,
	             m->port.host_port, gip, ntohs(m->guest.sin_port));
}

void ukd_nat_rules(struct ukd_nat *nat, enum ukd_nat_part part, const char (*brs)[16], int nbr,
                   char *buf, size_t cap, size_t *len)
{
#define P(...) ukd_text_put(buf, cap, len, __VA_ARGS__)
	if (part == UKD_NAT_FORWARD) {
		/* a published port's flows between a bridge and the rest of the host (not another
		 * uk network: networks stay apart; the same bridge is accepted already) */
		for (int i = 0; nat && i < nbr; i++) {
			P("  iifname != \"uk*\" oifname \"%s\" ct status dnat accept\n", brs[i]);
			P("  iifname \"%s\" oifname != \"uk*\" ct status dnat accept\n", brs[i]);
		}
		return;
	}
	/* CVE-2020-8558: before conntrack, nothing from a bridge for or from 127.0.0.0/8 */
	P(" chain guard {\n  type filter hook prerouting priority -300; policy accept;\n");
	for (int i = 0; i < nbr; i++) {
		P("  iifname \"%s\" ip daddr 127.0.0.0/8 drop\n", brs[i]);
		P("  iifname \"%s\" ip saddr 127.0.0.0/8 drop\n", brs[i]);
	}
	P(" }\n");
	if (!nat)
		return;
	pthread_mutex_lock(&nat->lock);
	for (int output = 0; output < 2; output++) {
		P(" chain %s {\n  type nat hook %s priority -100; policy accept;\n",
		  output ? "dnat_output" : "dnat_prerouting", output ? "output" : "prerouting");
		for (int i = 0; i < nat->n; i++)
			dnat_rule(&nat->m[i], output, buf, cap, len);
		P(" }\n");
	}
	pthread_mutex_unlock(&nat->lock);
	/* a host client's 127.0.0.1 source becomes the gateway's on the bridge (the guest answers
	 * there); a guest reaching its own network's port on the host (hairpin) is answered
	 * through the host, not straight from the other guest */
	P(" chain dnat_postrouting {\n  type nat hook postrouting priority 100; policy accept;\n");
	for (int i = 0; i < nbr; i++) {
		P("  oifname \"%s\" ip saddr 127.0.0.0/8 ct status dnat masquerade\n", brs[i]);
		P("  iifname \"%s\" oifname \"%s\" ct status dnat masquerade\n", brs[i], brs[i]);
	}
	P(" }\n");
#undef P
}
