/* uk networks: store rows, IPAM, bridges/taps/nftables through ip(8)/nft(8), DNS, TCP proxies. */
#include "network.h"
#include "events.h"
#include "instance_lock.h"
#include "log.h"
#include "names.h"
#include "nat.h"
#include "net_dns_server.h"
#include "net_pin.h"
#include "proxy.h"
#include "store.h"
#include "uk/time.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>

extern char **environ;

/*
 * Why ip(8) and nft(8) with fixed argument vectors rather than rtnetlink: nftables has no
 * stable C API but libnftables' text (which nft reads), and the whole table is replaced in one
 * atomic `nft -f -` transaction; a dozen `ip` calls per network or instance start are not on
 * any hot path, every argument is a name or address ukd made itself (never user text), and
 * what ukd did can be repeated by hand from the log. The cost is a fork per call (~2 ms).
 */

struct net_row {
	char id[65], name[UKD_NAME_MAX];
	uint32_t net, gw; /* host order */
	int prefix, internal, outbound;
	int64_t created;
};

struct ukd_nets {
	pthread_mutex_t lock;
	struct ukd *d;
	char alias[160];            /* "ukd:ROOT": the mark on every link ukd makes */
	char table[16];             /* "uk_HASH": its nftables table, one per root */
	struct ukd_proxy *proxy;    /* published ports with --userland-proxy (proxy.c) */
	struct ukd_nat *nat;        /* published ports by DNAT, the default (nat.c); NULL: proxy */
	struct ukd_dns_server *dns; /* DNS on each gateway (net_dns_server.c) */
	int nft_stale; /* the last apply failed: a NIC's pinning rules may be missing (net_pin.h) */
	int no_dns_limits; /* the kernel refused the DNS askers' limits (no nft_limit/connlimit) */
};

/* ---- pure helpers ---- */

int ukd_net_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n >= UKD_NAME_MAX || !isalnum((unsigned char)name[0]) || name[0] & 0x80)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c & 0x80 || !(isalnum(c) || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

static uint32_t prefix_mask(int p)
{
	return p ? 0xffffffffu << (32 - p) : 0;
}

static int ip_parse(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

static void ip_format(uint32_t ip, char buf[16])
{
	struct in_addr a = {htonl(ip)};

	inet_ntop(AF_INET, &a, buf, 16);
}

int ukd_net_cidr_parse(const char *s, uint32_t *net, int *prefix, uk_err_t *err)
{
	char addr[16];
	const char *slash = strchr(s, '/');
	char *end;
	long p;

	if (!slash || slash - s >= (long)sizeof(addr))
		return uk_err_bad(err, "subnet '%s': expected A.B.C.D/PREFIX, e.g. 10.89.7.0/24",
		                  s);
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = 0;
	errno = 0;
	p = strtol(slash + 1, &end, 10);
	if (ip_parse(addr, net) < 0 || *end || end == slash + 1 || errno || p < 8 || p > 30)
		return uk_err_bad(err, "subnet '%s': expected A.B.C.D/PREFIX with PREFIX 8 to 30",
		                  s);
	if (*net & ~prefix_mask((int)p))
		return uk_err_bad(err, "subnet '%s': host bits set (did you mean %u.%u.%u.%u/%ld?)",
		                  s, (*net & prefix_mask((int)p)) >> 24,
		                  (*net & prefix_mask((int)p)) >> 16 & 255,
		                  (*net & prefix_mask((int)p)) >> 8 & 255,
		                  *net & prefix_mask((int)p) & 255, p);
	*prefix = (int)p;
	return 0;
}

int ukd_net_overlap(uint32_t a, int pa, uint32_t b, int pb)
{
	int p = pa < pb ? pa : pb;

	return (a & prefix_mask(p)) == (b & prefix_mask(p));
}

void ukd_net_table_name(const char *root, char out[16])
{
	uint32_t h = 2166136261u; /* FNV-1a: stable across builds and hosts */

	for (const unsigned char *p = (const unsigned char *)root; *p; p++)
		h = (h ^ *p) * 16777619u;
	snprintf(out, 16, "uk_%08x", h);
}

static void br_name(const char *net_id, char out[16])
{
	snprintf(out, 16, "uk-%.12s", net_id);
}

/* The tap of an instance's NIC number (k) (0 to UKD_NETS_MAX - 1): "uk<id12><k>". */
static void tap_name(const char *instance_id, int k, char out[16])
{
	snprintf(out, 16, "uk%.12s%d", instance_id, k);
}

static void cidr_format(uint32_t net, int prefix, char buf[20])
{
	char a[16];

	ip_format(net, a);
	snprintf(buf, 20, "%s/%d", a, prefix);
}

/* ---- running ip(8) and nft(8) ---- */

/* Runs (argv) (found on PATH), feeding it (input) (may be NULL), its output (stdout and stderr,
 * cut at 511 bytes) into (msg) (may be NULL); 500 with that output when it fails. */
static int run_out(const char *const *argv, const char *input, char *out_msg, uk_err_t *err)
{
	posix_spawn_file_actions_t fa;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, status = 0;
	char msg[512] = "";
	size_t got = 0;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		uk_err_errno(err, errno, "run %s", argv[0]);
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	if (r) {
		uk_err_set(err, 503, "unavailable",
		           "run %s: %s: install it (deploy/install-deps.sh)", argv[0], strerror(r));
		goto fail;
	}
	if (input && write(in[1], input, strlen(input)) < 0)
		log_warn("network", "write to %s: %s", argv[0], strerror(errno));
	close(in[1]);
	in[1] = -1;
	for (ssize_t n;
	     got < sizeof(msg) - 1 && (n = read(out[0], msg + got, sizeof(msg) - 1 - got)) > 0;)
		got += (size_t)n;
	msg[got] = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(out[0]);
	if (out_msg)
		memcpy(out_msg, msg, sizeof(msg));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	/* nft(8) quotes the rule it could not add on the next line: keep it (which rule a kernel
	 * refuses names the module it lacks) */
	char *nl = msg + strcspn(msg, "\n"), *rule = *nl ? nl + 1 + strspn(nl + 1, " \t") : nl;
	*nl = 0;
	rule[strcspn(rule, "\n")] = 0;
	int quote = *rule && !strcmp(argv[0], "nft");
	return uk_err_internal(err, "%s %s %s: %s%s%.120s%s", argv[0], argv[1],
	                       argv[2] ? argv[2] : "", msg[0] ? msg : "failed",
	                       quote ? " (in: " : "", quote ? rule : "", quote ? ")" : "");
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return -1;
}

static int run(const char *const *argv, const char *input, uk_err_t *err)
{
	return run_out(argv, input, NULL, err);
}

/* 1 if link (name) exists and carries our alias, 0 if absent, -1 (409) if it is not ours; its
 * MAC address in (mac) when not NULL ("" if none shown). */
static int link_ours(struct ukd_nets *n, const char *name, char mac[18], uk_err_t *err)
{
	char out[512], *a, alias[200] = "";
	const char *argv[] = {"ip", "-o", "link", "show", "dev", name, NULL};

	/* not /sys/class/net: sysfs shows the network namespace it was mounted in */
	if (!if_nametoindex(name))
		return 0;
	if (run_out(argv, NULL, out, NULL) < 0)
		return 0;
	if (mac)
		snprintf(mac, 18, "%.17s", (a = strstr(out, "link/ether ")) ? a + 11 : "");
	if ((a = strstr(out, " alias ")))
		snprintf(alias, sizeof(alias), "%.*s", (int)strcspn(a + 7, "\n"), a + 7);
	if (!strcmp(alias, n->alias))
		return 1;
	return uk_err_conflict(err,
	                       "interface %s exists and is not this ukd's (alias '%s'): remove it "
	                       "or run ukd in its own network namespace",
	                       name, alias);
}

static int link_del(struct ukd_nets *n, const char *name)
{
	uk_err_t err = {0};
	const char *argv[] = {"ip", "link", "del", "dev", name, NULL};

	if (link_ours(n, name, NULL, NULL) != 1)
		return 0;
	if (run(argv, NULL, &err) < 0) {
		log_warn("network", "remove %s: %s", name, err.message);
		return -1;
	}
	log_debug("network", "removed link %s", name);
	return 0;
}

/* The gateway's MAC address: fixed per network (02:75:6b = locally administered, "uk"). A bridge
 * without one set takes the lowest MAC of its ports and changes it as taps come and go: guests
 * would then address the gateway by a MAC it no longer answers to (the host's IP drops such a
 * frame as PACKET_OTHERHOST) until their ARP entry expires. */
static void br_mac(const char *net_id, char out[18])
{
	snprintf(out, 18, "02:75:6b:%.2s:%.2s:%.2s", net_id, net_id + 2, net_id + 4);
}

static int bridge_up(struct ukd_nets *n, const struct net_row *r, uk_err_t *err)
{
	char br[16], cidr[20], gw[16], mac[18], has[18] = "";
	int ours = 0;

	br_name(r->id, br);
	br_mac(r->id, mac);
	ip_format(r->gw, gw);
	snprintf(cidr, sizeof(cidr), "%s/%d", gw, r->prefix);
	if ((ours = link_ours(n, br, has, err)) < 0)
		return -1;
	const char *add[] = {"ip",      "link", "add",  "name",   br,
	                     "address", mac,    "type", "bridge", NULL};
	const char *mark[] = {"ip", "link", "set", "dev", br, "alias", n->alias, NULL};
	/* a bridge an older ukd made: its MAC set once (setting it, even unchanged, flushes the
	 * host's neighbour entries on it) */
	const char *fix[] = {"ip", "link", "set", "dev", br, "address", mac, NULL};
	const char *addr[] = {"ip", "addr", "replace", cidr, "dev", br, NULL};
	const char *up[] = {"ip", "link", "set", "dev", br, "up", NULL};
	if (!ours && (run(add, NULL, err) < 0 || run(mark, NULL, err) < 0))
		return uk_err_wrap(err, "bridge %s of network %s", br, r->name);
	if (ours && strcasecmp(has, mac)) {
		/* running guests hold the old MAC for the gateway: the kernel announces the new one
		 * (a gratuitous ARP) when it changes, with arp_notify */
		char name[64];
		snprintf(name, sizeof(name), "net/ipv4/conf/%s/arp_notify", br);
		if (ukd_sysctl_set(name, "1") < 0)
			log_warn("network", "%s: %s: guests learn the gateway's new MAC late", name,
			         strerror(errno));
		if (run(fix, NULL, err) < 0)
			return uk_err_wrap(err, "bridge %s of network %s", br, r->name);
		log_info("network", "bridge %s of network %s: MAC %s (was %s)", br, r->name, mac,
		         has);
	}
	if (run(addr, NULL, err) < 0 || run(up, NULL, err) < 0)
		return uk_err_wrap(err, "bridge %s of network %s", br, r->name);
	return 0;
}

static int tap_up(struct ukd_nets *n, const char *tap, const char *br, uk_err_t *err)
{
	char uid[24], gid[24];
	int ours = link_ours(n, tap, NULL, err);

	if (ours < 0)
		return -1;
	snprintf(uid, sizeof(uid), "%ld", n->d->qemu_uid >= 0 ? n->d->qemu_uid : (long)getuid());
	snprintf(gid, sizeof(gid), "%ld", n->d->qemu_gid >= 0 ? n->d->qemu_gid : (long)getgid());
	/* ip tuntap sets TUNSETOWNER/TUNSETGROUP: QEMU, unprivileged, may then attach to it */
	const char *add[] = {"ip",  "tuntap", "add", "dev",   tap, "mode",
	                     "tap", "user",   uid,   "group", gid, NULL};
	const char *set[] = {"ip", "link",  "set",    "dev", tap, "master",
	                     br,   "alias", n->alias, "up",  NULL};
	if ((!ours && run(add, NULL, err) < 0) || run(set, NULL, err) < 0)
		return uk_err_wrap(err, "tap %s", tap);
	return 0;
}

/* ---- the store ---- */

static sqlite3_stmt *prep(struct ukd *d, const char *sql, uk_err_t *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(ukd_store_sqlite(d->store), sql, -1, &st, NULL) != SQLITE_OK) {
		uk_err_internal(err, "database: %s", sqlite3_errmsg(ukd_store_sqlite(d->store)));
		return NULL;
	}
	return st;
}

static void stmt_done(sqlite3_stmt **st)
{
	sqlite3_finalize(*st);
}
#define _cleanup_stmt_ __attribute__((cleanup(stmt_done)))

static void row_read(sqlite3_stmt *st, struct net_row *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(r->name, sizeof(r->name), "%s", (const char *)sqlite3_column_text(st, 1));
	ip_parse((const char *)sqlite3_column_text(st, 2), &r->net);
	r->prefix = sqlite3_column_int(st, 3);
	ip_parse((const char *)sqlite3_column_text(st, 4), &r->gw);
	r->internal = sqlite3_column_int(st, 5);
	r->outbound = sqlite3_column_int(st, 6);
	r->created = sqlite3_column_int64(st, 7);
}

#define ROW_COLS "id, name, subnet, prefix, gateway, internal, outbound, created"

/* Every network, in creation order; (*n) their count. Caller frees. */
static struct net_row *rows_all(struct ukd *d, int *n, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct net_row *rows = NULL;
	int cap = 0;

	*n = 0;
	if (ukd_store_begin(d->store, err) < 0)
		return NULL;
	st = prep(d, "SELECT " ROW_COLS " FROM networks ORDER BY created, name", err);
	for (int rc; st && (rc = sqlite3_step(st)) == SQLITE_ROW;) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			struct net_row *nr = realloc(rows, (size_t)cap * sizeof(*rows));
			if (!nr)
				break;
			rows = nr;
		}
		row_read(st, &rows[(*n)++]);
	}
	ukd_store_commit(d->store, NULL);
	if (!st) {
		free(rows);
		return NULL;
	}
	if (!rows)
		rows = calloc(1, sizeof(*rows));
	return rows;
}

/* By full id, name, or unique id prefix; 404. */
static int row_find(struct ukd *d, const char *key, struct net_row *out, uk_err_t *err)
{
	int n, found = 0;
	_cleanup_free_ struct net_row *rows = rows_all(d, &n, err);

	if (!rows)
		return -1;
	for (int i = 0; i < n && !found; i++)
		if (!strcmp(rows[i].name, key) || !strcmp(rows[i].id, key))
			*out = rows[i], found = 1;
	for (int i = 0; i < n && !found && strlen(key) >= 4; i++)
		if (!strncmp(rows[i].id, key, strlen(key)))
			*out = rows[i], found++;
	if (found != 1)
		return uk_err_notfound(err, "no such network: %s (uk network ls lists them)", key);
	return 0;
}

static json_object *row_json(struct ukd *d, const struct net_row *r)
{
	json_object *o = json_object_new_object(), *eps = json_object_new_array();
	char buf[40], br[16];
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "name", json_object_new_string(r->name));
	cidr_format(r->net, r->prefix, buf);
	json_object_object_add(o, "subnet", json_object_new_string(buf));
	ip_format(r->gw, buf);
	json_object_object_add(o, "gateway", json_object_new_string(buf));
	json_object_object_add(o, "internal", json_object_new_boolean(r->internal));
	json_object_object_add(o, "outbound", json_object_new_boolean(r->outbound));
	br_name(r->id, br);
	json_object_object_add(o, "bridge", json_object_new_string(br));
	uk_time_rfc3339_ns(r->created, buf, sizeof(buf));
	json_object_object_add(o, "created", json_object_new_string(buf));
	if (ukd_store_begin(d->store, NULL) == 0) {
		st = prep(
		        d,
		        "SELECT e.instance, i.name, e.ip, e.mac, e.tap, e.aliases FROM endpoints e"
		        " LEFT JOIN instances i ON i.id = e.instance WHERE e.network = ?"
		        " ORDER BY e.ip",
		        NULL);
		if (st)
			sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
		while (st && sqlite3_step(st) == SQLITE_ROW) {
			json_object *e = json_object_new_object(), *al = json_object_new_array();
			const char *keys[] = {"instance", "name", "ip", "mac", "tap"};
			for (int k = 0; k < 5; k++) {
				const char *v = (const char *)sqlite3_column_text(st, k);
				json_object_object_add(e, keys[k],
				                       json_object_new_string(v ? v : ""));
			}
			char aliases[UKD_ALIASES_MAX * UKD_NAME_MAX + 16];
			snprintf(aliases, sizeof(aliases), "%s",
			         (const char *)sqlite3_column_text(st, 5));
			for (char *save, *a = strtok_r(aliases, " ", &save); a;
			     a = strtok_r(NULL, " ", &save))
				json_object_array_add(al, json_object_new_string(a));
			json_object_object_add(e, "aliases", al);
			json_object_array_add(eps, e);
		}
		ukd_store_commit(d->store, NULL);
	}
	json_object_object_add(o, "endpoints", eps);
	return o;
}

/* ---- nftables: this ukd's tables "ip uk_HASH" and "bridge uk_HASH", rebuilt whole ---- */

/* Every NIC in the store (any state: a rule may precede its tap), (*n) of them; caller frees. */
static struct ukd_pin *pins_all(struct ukd *d, int *n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct ukd_pin *pins = NULL;
	int cap = 0, oom = 0;

	*n = 0;
	if (ukd_store_begin(d->store, NULL) < 0)
		return NULL;
	st = prep(d, "SELECT tap, mac, ip FROM endpoints ORDER BY tap", NULL);
	while (st && !oom && sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			struct ukd_pin *np =
			        realloc(pins, (size_t)(cap = cap ? cap * 2 : 16) * sizeof(*pins));
			if (!(oom = !np))
				pins = np;
		}
		if (oom)
			break;
		struct ukd_pin *p = &pins[(*n)++];
		snprintf(p->tap, sizeof(p->tap), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(p->mac, sizeof(p->mac), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(p->ip, sizeof(p->ip), "%s", (const char *)sqlite3_column_text(st, 2));
	}
	ukd_store_commit(d->store, NULL);
	if (!st || oom) {
		free(pins);
		return NULL;
	}
	return pins ? pins : calloc(1, sizeof(*pins));
}

/* (pins_only): the bridge table alone (an endpoint came or went: the ip table is unchanged). */
static int nft_build_apply(struct ukd *d, int pins_only, uk_err_t *err)
{
	int n, npins;
	_cleanup_free_ struct net_row *rows = rows_all(d, &n, err);
	_cleanup_free_ struct ukd_pin *pins = pins_all(d, &npins);
	const char *argv[] = {"nft", "-f", "-", NULL};
	struct ukd_nat *nat = d->nets->nat;
	size_t cap = 4096 + (size_t)n * 1700 + (size_t)ukd_nat_count(nat) * 600 +
	             (size_t)npins * 400,
	       len = 0;
	_cleanup_free_ char *t = malloc(cap);
	_cleanup_free_ char(*brs)[16] = calloc((size_t)n + 1, 16);
	int outbound = 0;

	if (!rows || !pins || !t || !brs)
		return rows ? uk_err_errno(err, ENOMEM, "nftables") : -1;
	for (int i = 0; i < n; i++)
		br_name(rows[i].id, brs[i]);
#define P(...) (len += (size_t)snprintf(t + len, cap - len, __VA_ARGS__))
	/* create-then-delete: deleting a table that is not there would fail the transaction */
	const char *tb = d->nets->table;
	P("table ip %s\ndelete table ip %s\n", tb, tb);
	if (n) {
		/* DNS askers, by source address (pinned on the taps, net_pin.h): the rate of each
		 * one's UDP queries and TCP connects, and its open TCP connections */
		P("table ip %s {\n set dns_askers { type ipv4_addr; flags dynamic; timeout 1m; "
		  "size 65536; }\n set dns_conns { type ipv4_addr; flags dynamic; size 65536; }\n",
		  tb);
		P(" chain input {\n  type filter hook input priority 0; policy accept;\n");
		for (int i = 0; i < n; i++) {
			char br[16], gw[16];
			br_name(rows[i].id, br);
			ip_format(rows[i].gw, gw);
			/* the gateway's DNS answers its network (and this host) alone: not an open
			 * resolver for whatever routes to it from elsewhere */
			P("  iifname != { \"%s\", \"lo\" } ip daddr %s meta l4proto { tcp, udp }"
			  " th dport 53 counter drop\n",
			  br, gw);
			/* one flooding guest neither starves the others nor fills the socket */
			if (!d->nets->no_dns_limits) {
				P("  iifname \"%s\" ip daddr %s udp dport 53 add @dns_askers"
				  " { ip saddr limit rate over %d/second burst %d packets } "
				  "counter drop\n",
				  br, gw, UKD_DNS_ASKER_RATE, 2 * UKD_DNS_ASKER_RATE);
				P("  iifname \"%s\" ip daddr %s tcp dport 53 ct state new add "
				  "@dns_askers"
				  " { ip saddr limit rate over %d/second burst %d packets } "
				  "counter drop\n",
				  br, gw, UKD_DNS_ASKER_RATE, 2 * UKD_DNS_ASKER_RATE);
				P("  iifname \"%s\" ip daddr %s tcp dport 53 ct state new add "
				  "@dns_conns"
				  " { ip saddr ct count over %d } counter reject with tcp reset\n",
				  br, gw, UKD_DNS_ASKER_TCP);
			}
			/* a guest reaches the host only for DNS on its own gateway (and answers) */
			P("  iifname \"%s\" ip daddr %s meta l4proto { tcp, udp } th dport 53 "
			  "accept\n",
			  br, gw);
			P("  iifname \"%s\" ip daddr %s icmp type echo-request accept\n", br, gw);
			P("  iifname \"%s\" ct state established,related accept\n", br);
			P("  iifname \"%s\" drop\n", br);
		}
		P(" }\n chain forward {\n  type filter hook forward priority 0; policy accept;\n");
		ukd_nat_rules(nat, UKD_NAT_FORWARD, brs, n, t, cap, &len);
		for (int i = 0; i < n; i++) {
			char br[16];
			br_name(rows[i].id, br);
			P("  iifname \"%s\" oifname \"%s\" accept\n", br, br);
			P("  iifname \"uk*\" oifname \"%s\" drop\n", br); /* another network */
			if (rows[i].outbound) {
				P("  iifname \"%s\" accept\n", br);
				P("  oifname \"%s\" ct state established,related accept\n", br);
				outbound = 1;
			}
			P("  iifname \"%s\" drop\n  oifname \"%s\" drop\n", br, br);
		}
		P(" }\n chain postrouting {\n  type nat hook postrouting priority 100; policy "
		  "accept;\n");
		for (int i = 0; i < n; i++) {
			char br[16], cidr[20];
			if (!rows[i].outbound)
				continue;
			br_name(rows[i].id, br);
			cidr_format(rows[i].net, rows[i].prefix, cidr);
			P("  ip saddr %s oifname != \"%s\" masquerade\n", cidr, br);
		}
		P(" }\n");
		ukd_nat_rules(nat, UKD_NAT_CHAINS, brs, n, t, cap, &len);
		P("}\n");
	}
#undef P
	if (pins_only && len < cap)
		len = 0;
	/* each NIC's source pinned (net_pin.h): the bridge table, in the same transaction */
	ukd_net_pin_rules(tb, pins, npins, n, t, cap, &len);
	if (len >= cap)
		return uk_err_internal(err, "nftables ruleset longer than %zu bytes", cap);
	if (run(argv, t, err) < 0)
		return uk_err_wrap(err, "nftables table ip %s", tb);
	if (!pins_only && (outbound || ukd_nat_forwards(nat))) {
		/* NAT needs forwarding: the one host setting an --outbound network (or a port
		 * published beyond 127.0.0.0/8: clients of other hosts, hairpin) changes */
		if (ukd_sysctl_set("net/ipv4/ip_forward", "1") < 0)
			log_warn("network",
			         "net.ipv4.ip_forward=1: %s: --outbound networks cannot reach "
			         "out, ports published beyond 127.0.0.0/8 answer only this host",
			         strerror(errno));
	}
	return 0;
}

/* The table's text is built from the store and the DNAT rules and applied inside one store
 * transaction (the store's lock, taken first everywhere: network create holds it already), so
 * two starts at once cannot apply their texts in the other order. */
static int nft_apply_part(struct ukd *d, int pins_only, uk_err_t *err)
{
	if (ukd_store_begin(d->store, err) < 0)
		return -1;
	int r = nft_build_apply(d, pins_only, err);
	if (r < 0 && !pins_only && !d->nets->no_dns_limits) {
		/* a kernel without nft_limit or nft_connlimit (or a host that cannot load them):
		 * networks work, ukd's DNS keeps its own per-network bounds */
		log_warn("network",
		         "%s: applying the table again without the per-asker DNS limits "
		         "(the kernel's nft_limit and nft_connlimit modules)",
		         err->message);
		d->nets->no_dns_limits = 1;
		r = nft_build_apply(d, pins_only, err);
	}
	if (r < 0 || !pins_only)
		d->nets->nft_stale = r < 0;
	ukd_store_commit(d->store, NULL);
	if (r >= 0)
		ukd_nat_flush_conntrack(d->nets->nat); /* the UDP flows of rules that changed */
	return r;
}

static int nft_apply(struct ukd *d, uk_err_t *err)
{
	return nft_apply_part(d, 0, err);
}

/* An endpoint came or went: its NIC's pinning rules (net_pin.h), nothing else replaced. */
static int nft_apply_pins(struct ukd *d, uk_err_t *err)
{
	return nft_apply_part(d, 1, err);
}

/* ---- DNS on each gateway ---- */

static void dns_wake(struct ukd_nets *n)
{
	ukd_dns_server_sync(n->dns);
}

struct ukd_dns_net *ukd_net_dns_nets(struct ukd *d, int *n)
{
	_cleanup_free_ struct net_row *rows = rows_all(d, n, NULL);
	struct ukd_dns_net *out = rows ? calloc((size_t)*n + 1, sizeof(*out)) : NULL;

	for (int i = 0; out && i < *n; i++) {
		snprintf(out[i].id, sizeof(out[i].id), "%s", rows[i].id);
		out[i].gw = rows[i].gw;
		out[i].net = rows[i].net;
		out[i].mask = prefix_mask(rows[i].prefix);
		out[i].outbound = rows[i].outbound;
	}
	return out;
}

/* A name on the network asked (net), else on another network the asking instance (the one at
 * (client_ip) on (net)) is on too: an instance resolves the names of every network it shares
 * with another, and those alone. Answers come from one network: the asked one if the name is
 * there, else the first other shared network holding it (by id), its address there. */
int ukd_net_dns_lookup(struct ukd *d, const char *net, uint32_t client_ip, const char *name,
                       uint32_t *ips, int max)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char client[16], first[65] = "";
	int n = 0;

	if (!name[0] || ukd_store_begin(d->store, NULL) < 0)
		return 0;
	ip_format(client_ip, client);
	st = prep(d,
	          "SELECT e.ip, e.network FROM endpoints e JOIN instances i ON i.id = e.instance"
	          " WHERE i.state = 'running' AND (lower(i.name) = ?2"
	          " OR instr(' ' || lower(e.aliases) || ' ', ' ' || ?2 || ' ') > 0)"
	          " AND (e.network = ?1 OR e.network IN (SELECT o.network FROM endpoints o"
	          " JOIN endpoints c ON c.instance = o.instance WHERE c.network = ?1"
	          " AND c.ip = ?3)) ORDER BY e.network != ?1, e.network, e.ip",
	          NULL);
	if (st) {
		sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, client, -1, SQLITE_STATIC);
	}
	while (st && n < max && sqlite3_step(st) == SQLITE_ROW) {
		const char *on = (const char *)sqlite3_column_text(st, 1);
		uint32_t ip;
		if (!first[0])
			snprintf(first, sizeof(first), "%s", on);
		if (strcmp(first, on))
			break; /* the same name on a second shared network: one network's answer */
		if (ip_parse((const char *)sqlite3_column_text(st, 0), &ip) == 0)
			ips[n++] = htonl(ip);
	}
	ukd_store_commit(d->store, NULL);
	return n;
}

/* ---- endpoints ---- */

struct endpoint {
	char net[65], ip[16], tap[16], mac[18], ports[UKD_PORTS_MAX * 40];
	char aliases[UKD_ALIASES_MAX * UKD_NAME_MAX + 16];
};

/* The instance's endpoint on network (net) (an id); 0 if it has none there. */
static int endpoint_get(struct ukd *d, const char *instance, const char *net, struct endpoint *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int found = 0;

	memset(e, 0, sizeof(*e));
	if (ukd_store_begin(d->store, NULL) < 0)
		return 0;
	st = prep(d,
	          "SELECT network, ip, tap, mac, ports, aliases FROM endpoints WHERE instance = ?"
	          " AND network = ?",
	          NULL);
	if (st) {
		sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, net, -1, SQLITE_STATIC);
	}
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		char *f[] = {e->net, e->ip, e->tap, e->mac, e->ports, e->aliases};
		size_t sz[] = {sizeof(e->net), sizeof(e->ip),    sizeof(e->tap),
		               sizeof(e->mac), sizeof(e->ports), sizeof(e->aliases)};
		for (int i = 0; i < 6; i++)
			snprintf(f[i], sz[i], "%s", (const char *)sqlite3_column_text(st, i));
		found = 1;
	}
	ukd_store_commit(d->store, NULL);
	return found;
}

static int exec_sql(struct ukd *d, const char *sql, const char *const *args, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = prep(d, sql, err);

	if (!st)
		return -1;
	for (int i = 0; args[i]; i++)
		sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3 *db = ukd_store_sqlite(d->store);
		if ((sqlite3_extended_errcode(db) & 0xff) == SQLITE_CONSTRAINT)
			return uk_err_conflict(err, "%s", sqlite3_errmsg(db));
		return uk_err_internal(err, "database: %s", sqlite3_errmsg(db));
	}
	return 0;
}

static int ip_taken(struct ukd *d, const char *net, const char *ip)
{
	_cleanup_stmt_ sqlite3_stmt *st =
	        prep(d, "SELECT 1 FROM endpoints WHERE network = ? AND ip = ?", NULL);

	if (!st)
		return 1;
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ip, -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_ROW;
}

/* 0 if no other endpoint on network (net) answers to (name) (an alias or its instance's name,
 * lowercase); else 409 naming the holder. Inside a transaction. */
static int name_free(struct ukd *d, const char *net, const char *net_name, const char *instance,
                     const char *name, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = prep(
	        d,
	        "SELECT coalesce(i.name, e.instance) FROM endpoints e LEFT JOIN instances i"
	        " ON i.id = e.instance WHERE e.network = ?1 AND e.instance != ?2 AND"
	        " (lower(i.name) = ?3 OR instr(' ' || e.aliases || ' ', ' ' || ?3 || ' ') > 0)",
	        err);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, instance, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		return uk_err_conflict(err,
		                       "the name %s is already taken on network %s by instance %s: "
		                       "pick another alias",
		                       name, net_name, (const char *)sqlite3_column_text(st, 0));
	return 0;
}

/* The first NIC number no endpoint of (instance) uses (its tap's last digit). Inside a
 * transaction. */
static int nic_free(struct ukd *d, const char *instance)
{
	for (int k = 0; k < UKD_NETS_MAX; k++) {
		char tap[16];
		_cleanup_stmt_ sqlite3_stmt *st =
		        prep(d, "SELECT 1 FROM endpoints WHERE instance = ? AND tap = ?", NULL);
		tap_name(instance, k, tap);
		if (!st)
			return 0;
		sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, tap, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW)
			return k;
	}
	return 0;
}

/* Reserves (in)'s endpoint on the network (a) names: an address, a NIC number (its tap and
 * MAC), its aliases. (first): the network published ports go to (eth0). */
static int attach_one(struct ukd *d, const struct ukd_instance *in, const struct ukd_net_attach *a,
                      int first, uk_err_t *err)
{
	const char *instance_id = in->id;
	const struct ukd_instance_spec *spec = &in->spec;
	struct net_row r;
	char ip[16] = "", mac[18], tap[16], aliases[UKD_ALIASES_MAX * UKD_NAME_MAX + 8] = "";

	if (row_find(d, a->network, &r, err) < 0)
		return -1;
	if (first && r.internal && spec->n_ports)
		return uk_err_bad(err, "network %s is --internal: it publishes no ports", r.name);
	if (a->ip[0]) {
		uint32_t want;
		uint32_t bcast = r.net | ~prefix_mask(r.prefix);
		if (ip_parse(a->ip, &want) < 0 || (want & prefix_mask(r.prefix)) != r.net ||
		    want == r.net || want == bcast || want == r.gw)
			return uk_err_bad(
			        err,
			        "ip %s: not a free host address of network %s (%u.%u.%u.%u/%d, "
			        "gateway excluded)",
			        a->ip, r.name, r.net >> 24, r.net >> 16 & 255, r.net >> 8 & 255,
			        r.net & 255, r.prefix);
		ip_format(want, ip);
	}
	for (int i = 0; i < a->n_aliases; i++)
		snprintf(aliases + strlen(aliases), sizeof(aliases) - strlen(aliases), "%s%s",
		         i ? " " : "", a->aliases[i]);
	for (char *p = aliases; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (ukd_store_begin(d->store, err) < 0)
		return -1;
	int k = nic_free(d, instance_id);
	/* NIC 0 keeps the MAC of an instance with one NIC; the others 52:54:0K:... */
	snprintf(mac, sizeof(mac), "52:54:%02x:%.2s:%.2s:%.2s", k, instance_id, instance_id + 2,
	         instance_id + 4);
	tap_name(instance_id, k, tap);
	if (ip[0] && ip_taken(d, r.id, ip)) {
		ukd_store_rollback(d->store);
		return uk_err_conflict(err, "ip %s is already used on network %s", ip, r.name);
	}
	/* DNS answers a name with one instance: an alias (or the name) another holds is refused */
	char lname[sizeof(in->name)];
	for (size_t i = 0; i < sizeof(lname); i++)
		lname[i] = (char)tolower((unsigned char)in->name[i]);
	int clash = in->name[0] && name_free(d, r.id, r.name, instance_id, lname, err) < 0;
	for (int i = 0; i < a->n_aliases && !clash; i++) {
		char al[UKD_NAME_MAX];
		for (size_t k = 0; k < sizeof(al); k++)
			al[k] = (char)tolower((unsigned char)a->aliases[i][k]);
		clash = name_free(d, r.id, r.name, instance_id, al, err) < 0;
	}
	if (clash) {
		ukd_store_rollback(d->store);
		return -1;
	}
	for (uint32_t h = r.net + 2; !ip[0] && h < (r.net | ~prefix_mask(r.prefix)); h++) {
		char c[16];
		ip_format(h, c);
		if (h != r.gw && !ip_taken(d, r.id, c))
			memcpy(ip, c, sizeof(c));
	}
	if (!ip[0]) {
		ukd_store_rollback(d->store);
		return uk_err_conflict(err, "network %s has no free address left", r.name);
	}
	const char *args[] = {instance_id, r.id, ip, mac, tap, aliases, NULL};
	if (exec_sql(d,
	             "INSERT INTO endpoints(instance, network, ip, mac, tap, aliases, ports)"
	             " VALUES(?, ?, ?, ?, ?, ?, '')",
	             args, err) < 0) {
		ukd_store_rollback(d->store);
		return uk_err_wrap(err, "attach to network %s", r.name);
	}
	return ukd_store_commit(d->store, err);
}

/* Reserves an endpoint on each network of (in)'s spec, all or none. */
static int attach(struct ukd *d, const struct ukd_instance *in, uk_err_t *err)
{
	const struct ukd_instance_spec *spec = &in->spec;

	if (spec->net_mode != UKD_NET_BRIDGE || spec->n_nets < 1)
		return 0;
	if (ukd_store_begin(d->store, err) < 0)
		return -1;
	for (int i = 0; i < spec->n_nets; i++)
		if (attach_one(d, in, &spec->nets[i], i == 0, err) < 0) {
			ukd_store_rollback(d->store); /* the inner one ended the transaction */
			return -1;
		}
	return ukd_store_commit(d->store, err);
}

void ukd_net_release(struct ukd *d, const char *instance_id)
{
	char tap[16];

	if (!d->nets)
		return;
	ukd_proxy_remove(d->nets->proxy, instance_id);
	if (ukd_nat_remove(d->nets->nat, instance_id) > 0)
		nft_apply(d, NULL); /* its DNAT rules go */
	for (int k = 0; k < UKD_NETS_MAX; k++) {
		tap_name(instance_id, k, tap);
		link_del(d->nets, tap);
	}
}

void ukd_net_detach(struct ukd *d, const char *instance_id)
{
	const char *args[] = {instance_id, NULL};
	uk_err_t err = {0};

	ukd_net_release(d, instance_id);
	if (ukd_store_begin(d->store, &err) < 0 ||
	    exec_sql(d, "DELETE FROM endpoints WHERE instance = ?", args, &err) < 0 ||
	    ukd_store_commit(d->store, &err) < 0 || (d->nets && nft_apply_pins(d, &err) < 0))
		log_warn("network", "detach %.12s: %s", instance_id, err.message);
}

static int privileged(struct ukd *d, uk_err_t *err)
{
	if (!d->nets)
		return uk_err_set(err, 503, "unavailable",
		                  "networks are not available: ukd has no CAP_NET_ADMIN here (see "
		                  "docs/networking.md)");
	return 0;
}

/* Publishes the ports recorded in the endpoint ("IP:HOST:GUEST[/udp] ...") through bridge
 * (br): DNAT rules (applied with the table's next rebuild) or, with --userland-proxy, proxies. */
static int proxies_from_text(struct ukd_nets *n, const char *instance, const char *br,
                             const char *text, uint32_t guest_ip, int restore, uk_err_t *err)
{
	char buf[UKD_PORTS_MAX * 40];

	snprintf(buf, sizeof(buf), "%s", text);
	for (char *save, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		struct ukd_port p = {.proto = "tcp"};
		if (sscanf(w, "%15[0-9.]:%u:%u/%3s", p.host_ip, &p.host_port, &p.guest_port,
		           p.proto) < 3 ||
		    (strcmp(p.proto, "tcp") && strcmp(p.proto, "udp")))
			continue;
		struct sockaddr_in guest = {.sin_family = AF_INET,
		                            .sin_port = htons((uint16_t)p.guest_port),
		                            .sin_addr.s_addr = htonl(guest_ip)};
		if (n->nat ? ukd_nat_add(n->nat, instance, br, &p, &guest, restore, err) < 0
		           : ukd_proxy_add(n->proxy, instance, &p, &guest, err) < 0) {
			ukd_nat_remove(n->nat, instance);
			ukd_proxy_remove(n->proxy, instance);
			return -1;
		}
	}
	return 0;
}

/* Start: a tap on each network's bridge, in the spec's order (NIC k = the guest's k-th virtio-net
 * device), and the guest's variables: UK_IP, UK_GW, UK_MAC, UK_DNS for the first; UK_IPk, UK_GWk,
 * UK_MACk for the others (docs/networking.md). Published ports go to the first network's address.
 */
static int prepare(struct ukd *d, const char *instance_id, const struct ukd_instance_spec *spec,
                   enum ukd_nic_kind kind, struct ukd_net_guest *out, uk_err_t *err)
{
	char ports[UKD_PORTS_MAX * 40] = "", br0[16] = "";
	uint32_t ip0 = 0;

	memset(out, 0, sizeof(*out));
	if (spec->net_mode != UKD_NET_BRIDGE)
		return 0;
	if (privileged(d, err) < 0)
		return -1;
	for (int i = 0; i < spec->n_ports; i++) {
		const struct ukd_port *p = &spec->ports[i];
		snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports), "%s%s:%u:%u%s",
		         i ? " " : "", p->host_ip, p->host_port, p->guest_port,
		         strcmp(p->proto, "udp") ? "" : "/udp");
	}
	ukd_net_release(d, instance_id); /* a previous run's leftovers */
	for (int k = 0; k < spec->n_nets && k < UKD_NETS_MAX; k++) {
		struct endpoint e;
		struct net_row r;
		char br[16], gw[16], sfx[4] = "";
		if (row_find(d, spec->nets[k].network, &r, err) < 0)
			goto fail;
		if (!endpoint_get(d, instance_id, r.id, &e)) {
			uk_err_internal(err,
			                "instance %.12s has no endpoint on network %s: disconnect "
			                "and connect it again, or recreate it",
			                instance_id, r.name);
			goto fail;
		}
		br_name(r.id, br);
		if (!k)
			snprintf(br0, sizeof(br0), "%s", br);
		/* UKD_NIC_BRIDGE: the hypervisor makes the port (Xen's vif) when the guest starts
		 */
		if (bridge_up(d->nets, &r, err) < 0 ||
		    (kind == UKD_NIC_TAP && tap_up(d->nets, e.tap, br, err) < 0))
			goto fail;
		const char *args[] = {k ? "" : ports, instance_id, r.id, NULL};
		if (ukd_store_begin(d->store, err) < 0)
			goto fail;
		if (exec_sql(d, "UPDATE endpoints SET ports = ? WHERE instance = ? AND network = ?",
		             args, err) < 0) {
			ukd_store_rollback(d->store);
			goto fail;
		}
		if (ukd_store_commit(d->store, err) < 0)
			goto fail;
		struct ukd_nic *nic = &out->nics[out->n_nics++];
		*nic = (struct ukd_nic){.kind = kind};
		snprintf(nic->mac, sizeof(nic->mac), "%s", e.mac);
		snprintf(nic->tap, sizeof(nic->tap), "%s", e.tap);
		snprintf(nic->bridge, sizeof(nic->bridge), "%s", br);
		ip_format(r.gw, gw);
		if (k)
			snprintf(sfx, sizeof(sfx), "%d", k);
		snprintf(out->env[out->n_env++], sizeof(out->env[0]), "UK_IP%s=%s/%d", sfx, e.ip,
		         r.prefix);
		snprintf(out->env[out->n_env++], sizeof(out->env[0]), "UK_GW%s=%s", sfx, gw);
		snprintf(out->env[out->n_env++], sizeof(out->env[0]), "UK_MAC%s=%s", sfx, e.mac);
		if (!k) {
			snprintf(out->env[out->n_env++], sizeof(out->env[0]), "UK_DNS=%s", gw);
			snprintf(out->ip, sizeof(out->ip), "%s", e.ip);
			ip_parse(e.ip, &ip0);
		}
	}
	/* the NICs' pinning rules came with their endpoints; applied again if that failed */
	if (proxies_from_text(d->nets, instance_id, br0, ports, ip0, 0, err) < 0 ||
	    (((d->nets->nat && spec->n_ports) || d->nets->nft_stale) && nft_apply(d, err) < 0))
		goto fail;
	return 0;
fail:
	ukd_net_release(d, instance_id);
	return -1;
}

int ukd_net_attach(struct ukd *d, const struct ukd_instance *in, uk_err_t *err)
{
	if (attach(d, in, err) < 0)
		return -1;
	/* its NICs' pinning rules (net_pin.h), in the kernel before any tap of theirs exists */
	if (d->nets && in->spec.net_mode == UKD_NET_BRIDGE && in->spec.n_nets > 0 &&
	    nft_apply_pins(d, err) < 0) {
		ukd_net_detach(d, in->id);
		return -1;
	}
	return 0;
}

int ukd_net_prepare(struct ukd *d, const struct ukd_instance *in, enum ukd_nic_kind kind,
                    struct ukd_net_guest *out, uk_err_t *err)
{
	memset(out, 0, sizeof(*out));
	return prepare(d, in->id, &in->spec, kind, out, err);
}

/* ---- networks ---- */

/* 1 if [net/prefix] overlaps a route of the host's main table other than a default route. */
static int host_route_overlap(uint32_t net, int prefix, char *what, size_t len)
{
	FILE *f = fopen("/proc/net/route", "r");
	char line[256], ifn[32];
	unsigned dst, gw, flags, refc, use, metric, mask;
	int hit = 0;

	if (!f)
		return 0;
	while (!hit && fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s %x %x %x %u %u %u %x", ifn, &dst, &gw, &flags, &refc, &use,
		           &metric, &mask) == 8 &&
		    mask) {
			uint32_t d = ntohl(dst), m = ntohl(mask);
			int p = __builtin_popcount(m);
			if (ukd_net_overlap(net, prefix, d, p)) {
				char a[16];
				ip_format(d, a);
				snprintf(what, len, "%s/%d on %s", a, p, ifn);
				hit = 1;
			}
		}
	fclose(f);
	return hit;
}

static int body_bool(json_object *body, const char *key, int *out, uk_err_t *err)
{
	json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(body, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return uk_err_bad(err, "%s: expected true or false", key);
	*out = json_object_get_boolean(v);
	return 0;
}

static const char *body_str(json_object *body, const char *key, uk_err_t *err, int *bad)
{
	json_object *v;

	if (!json_object_object_get_ex(body, key, &v) || !v)
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		*bad = 1;
		uk_err_bad(err, "%s: expected a string", key);
		return NULL;
	}
	return json_object_get_string(v);
}

json_object *ukd_net_create(struct ukd *d, json_object *body, uk_err_t *err)
{
	static const char *const known[] = {"name",     "subnet",   "gateway",
	                                    "internal", "outbound", NULL};
	struct net_row r = {0};
	const char *unknown, *name, *subnet, *gateway;
	int bad = 0, n, touched = 0;
	char what[64];

	if (!body || !json_object_is_type(body, json_type_object)) {
		uk_err_bad(err, "expected a JSON object");
		return NULL;
	}
	if ((unknown = ukd_json_unknown_key(body, known))) {
		uk_err_bad(err, "unknown field '%s'", unknown);
		return NULL;
	}
	name = body_str(body, "name", err, &bad);
	subnet = body_str(body, "subnet", err, &bad);
	gateway = body_str(body, "gateway", err, &bad);
	if (bad || body_bool(body, "internal", &r.internal, err) < 0 ||
	    body_bool(body, "outbound", &r.outbound, err) < 0)
		return NULL;
	if (!name || !ukd_net_name_valid(name) || !strcmp(name, "none") || !strcmp(name, "user") ||
	    !strcmp(name, "host")) {
		uk_err_bad(
		        err,
		        "network name '%.80s': expected 1 to 63 of [a-zA-Z0-9_.-], starting with a "
		        "letter or digit, other than none, user and host",
		        name ? name : "");
		return NULL;
	}
	if (r.internal && r.outbound) {
		uk_err_bad(err, "a network cannot be both --internal and --outbound");
		return NULL;
	}
	if (privileged(d, err) < 0)
		return NULL;
	snprintf(r.name, sizeof(r.name), "%s", name);
	if (subnet && ukd_net_cidr_parse(subnet, &r.net, &r.prefix, err) < 0)
		return NULL;
	if (ukd_random_hex(r.id, 32, err) < 0)
		return NULL;
	r.created = ukd_now_ns();
	if (ukd_store_begin(d->store, err) < 0)
		return NULL;
	_cleanup_free_ struct net_row *rows = rows_all(d, &n, err);
	if (!rows)
		goto fail;
	for (int i = 0; i < n; i++)
		if (!strcmp(rows[i].name, name)) {
			uk_err_conflict(err, "network %s already exists", name);
			goto fail;
		}
	/* IPAM: the first 10.89.N.0/24 free of our networks and of the host's routes */
	for (int k = 0; !subnet && k < 256 && !r.prefix; k++) {
		uint32_t cand = 0x0a590000u | (uint32_t)k << 8;
		int clash = host_route_overlap(cand, 24, what, sizeof(what));
		for (int i = 0; i < n && !clash; i++)
			clash = ukd_net_overlap(cand, 24, rows[i].net, rows[i].prefix);
		if (!clash)
			r.net = cand, r.prefix = 24;
	}
	if (!r.prefix) {
		uk_err_conflict(err, "no free subnet left in 10.89.0.0/16: give one (--subnet)");
		goto fail;
	}
	for (int i = 0; i < n; i++)
		if (ukd_net_overlap(r.net, r.prefix, rows[i].net, rows[i].prefix)) {
			uk_err_conflict(err, "subnet %s overlaps network %s's", subnet,
			                rows[i].name);
			goto fail;
		}
	if (subnet && host_route_overlap(r.net, r.prefix, what, sizeof(what))) {
		uk_err_conflict(err, "subnet %s overlaps the host's route %s: choose another",
		                subnet, what);
		goto fail;
	}
	r.gw = r.net + 1;
	if (gateway) {
		uint32_t bcast = r.net | ~prefix_mask(r.prefix);
		if (ip_parse(gateway, &r.gw) < 0 || (r.gw & prefix_mask(r.prefix)) != r.net ||
		    r.gw == r.net || r.gw == bcast) {
			uk_err_bad(err,
			           "gateway '%.40s': expected a host address inside the subnet",
			           gateway);
			goto fail;
		}
	}
	char net_s[16], gw_s[16], pfx[8], in_s[2] = {(char)('0' + r.internal)},
	                                  out_s[2] = {(char)('0' + r.outbound)}, created[24];
	ip_format(r.net, net_s);
	ip_format(r.gw, gw_s);
	snprintf(pfx, sizeof(pfx), "%d", r.prefix);
	snprintf(created, sizeof(created), "%lld", (long long)r.created);
	const char *args[] = {r.id, r.name, net_s, pfx, gw_s, in_s, out_s, created, NULL};
	touched = 1;
	if (exec_sql(d, "INSERT INTO networks(" ROW_COLS ") VALUES(?, ?, ?, ?, ?, ?, ?, ?)", args,
	             err) < 0 ||
	    bridge_up(d->nets, &r, err) < 0 || nft_apply(d, err) < 0) {
		char br[16];
		br_name(r.id, br);
		link_del(d->nets, br);
		goto fail;
	}
	if (ukd_store_commit(d->store, err) < 0)
		return NULL;
	dns_wake(d->nets);
	log_info("network", "created network %s (%s/%d, bridge uk-%.12s)", r.name, net_s, r.prefix,
	         r.id);
	return row_json(d, &r);
fail:
	ukd_store_rollback(d->store);
	if (touched)
		nft_apply(d, NULL); /* the table as the store says (the insert is rolled back) */
	return NULL;
}

json_object *ukd_net_list(struct ukd *d, uk_err_t *err)
{
	int n;
	_cleanup_free_ struct net_row *rows = rows_all(d, &n, err);
	json_object *a;

	if (!rows)
		return NULL;
	a = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(a, row_json(d, &rows[i]));
	return a;
}

json_object *ukd_net_inspect(struct ukd *d, const char *key, uk_err_t *err)
{
	struct net_row r;

	if (row_find(d, key, &r, err) < 0)
		return NULL;
	return row_json(d, &r);
}

/* Removes network (r); 409 naming its instances while it has any. */
static int net_remove(struct ukd *d, const struct net_row *r, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char names[512] = "", br[16];
	int users = 0;

	if (privileged(d, err) < 0 || ukd_store_begin(d->store, err) < 0)
		return -1;
	st = prep(d,
	          "SELECT coalesce(i.name, e.instance) FROM endpoints e LEFT JOIN instances i"
	          " ON i.id = e.instance WHERE e.network = ? ORDER BY 1",
	          err);
	if (st)
		sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		size_t l = strlen(names);
		snprintf(names + l, sizeof(names) - l, "%s%s", users++ ? ", " : "",
		         (const char *)sqlite3_column_text(st, 0));
	}
	if (!st)
		goto fail;
	if (users) {
		uk_err_conflict(err,
		                "network %s is in use by instance%s %s: remove %s first (uk rm -f)",
		                r->name, users > 1 ? "s" : "", names, users > 1 ? "them" : "it");
		goto fail;
	}
	const char *args[] = {r->id, NULL};
	if (exec_sql(d, "DELETE FROM networks WHERE id = ?", args, err) < 0 ||
	    nft_apply(d, err) < 0)
		goto fail;
	if (ukd_store_commit(d->store, err) < 0)
		return -1;
	br_name(r->id, br);
	link_del(d->nets, br);
	dns_wake(d->nets);
	log_info("network", "removed network %s", r->name);
	return 0;
fail:
	ukd_store_rollback(d->store);
	return -1;
}

int ukd_net_remove(struct ukd *d, const char *key, uk_err_t *err)
{
	struct net_row r;

	if (row_find(d, key, &r, err) < 0)
		return -1;
	return net_remove(d, &r, err);
}

json_object *ukd_net_prune(struct ukd *d, uk_err_t *err)
{
	int n;
	_cleanup_free_ struct net_row *rows = rows_all(d, &n, err);
	json_object *gone;

	if (!rows || privileged(d, err) < 0)
		return NULL;
	gone = json_object_new_array();
	for (int i = 0; i < n; i++) {
		uk_err_t e = {0};
		if (net_remove(d, &rows[i], &e) == 0)
			json_object_array_add(gone, json_object_new_string(rows[i].name));
	}
	return gone;
}

/* ---- connect and disconnect: a created or stopped instance changes networks ---- */

/* Reads {"instance", "aliases", "ip"} ((connect) 0: "instance" only) into (ref) and (a). */
static int conn_body(json_object *body, int connect, char ref[128], struct ukd_net_attach *a,
                     uk_err_t *err)
{
	static const char *const known[] = {"instance", "aliases", "ip", NULL};
	static const char *const known_d[] = {"instance", NULL};
	const char *unknown, *v;
	json_object *al;
	int bad = 0;
	uint32_t ip;

	memset(a, 0, sizeof(*a));
	if (!body || !json_object_is_type(body, json_type_object))
		return uk_err_bad(err, "expected a JSON object");
	if ((unknown = ukd_json_unknown_key(body, connect ? known : known_d)))
		return uk_err_bad(err, "unknown field '%s'", unknown);
	if (!(v = body_str(body, "instance", err, &bad)) || bad || !v[0] || strlen(v) >= 128)
		return bad ? -1
		           : uk_err_bad(err, "instance: the instance's name or id is required");
	snprintf(ref, 128, "%s", v);
	if ((v = body_str(body, "ip", err, &bad))) {
		if (ip_parse(v, &ip) < 0)
			return uk_err_bad(err,
			                  "ip '%.40s': expected an IPv4 address like 10.89.0.5", v);
		ip_format(ip, a->ip);
	}
	if (bad)
		return -1;
	if (!json_object_object_get_ex(body, "aliases", &al) || !al)
		return 0;
	if (!json_object_is_type(al, json_type_array) ||
	    json_object_array_length(al) > UKD_ALIASES_MAX)
		return uk_err_bad(err, "aliases: expected an array of at most %d names",
		                  UKD_ALIASES_MAX);
	for (size_t i = 0; i < json_object_array_length(al); i++) {
		json_object *n = json_object_array_get_idx(al, i);
		v = json_object_is_type(n, json_type_string) ? json_object_get_string(n) : "";
		if (!ukd_net_name_valid(v))
			return uk_err_bad(
			        err,
			        "aliases[%zu] '%.80s': expected 1 to 63 of [a-zA-Z0-9_.-], "
			        "starting with a letter or digit",
			        i, v);
		snprintf(a->aliases[a->n_aliases++], UKD_NAME_MAX, "%s", v);
	}
	return 0;
}

/* Stores (in)'s changed spec. Inside a transaction. */
static int spec_store(struct ukd *d, struct ukd_instance *in, uk_err_t *err)
{
	json_object *cfg = ukd_spec_to_json(&in->spec);
	char *text =
	        cfg ? strdup(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN)) : NULL;

	json_object_put(cfg);
	if (!text)
		return uk_err_internal(err, "instance config: out of memory");
	free(in->config);
	in->config = text;
	return ukd_store_instance_update(d->store, in, err);
}

/* The change (connect 1, disconnect 0) of instance (id) (locked) on network (r). */
static int conn_locked(struct ukd *d, const struct net_row *r, const char *id, int connect,
                       const struct ukd_net_attach *a, uk_err_t *err)
{
	const char *verb = connect ? "connect" : "disconnect";
	struct ukd_instance in = {0};
	struct endpoint e;
	int on;

	if (ukd_store_begin(d->store, err) < 0)
		return -1;
	/* read again under the lock and in the transaction: a start or remove may have won */
	if (ukd_store_instance_find(d->store, id, &in, err) < 0)
		goto fail;
	if (in.spec_error[0]) {
		uk_err_internal(err, "instance %s: %s: remove it and create it again", in.name,
		                in.spec_error);
		goto fail;
	}
	if (in.state == UKD_STATE_RUNNING || in.state == UKD_STATE_DEAD) {
		/* the guest has no NIC hot-plug: its NICs are fixed when it starts */
		uk_err_conflict(
		        err,
		        in.state == UKD_STATE_DEAD
		                ? "instance %s is being removed"
		                : "instance %s is running: network %s applies to a created or "
		                  "stopped instance (a running guest cannot gain or lose a "
		                  "NIC): uk stop %s, %s it, then uk start %s",
		        in.name, verb, in.name, verb, in.name);
		goto fail;
	}
	on = endpoint_get(d, id, r->id, &e);
	if (connect && on) {
		uk_err_conflict(err, "instance %s is already on network %s", in.name, r->name);
		goto fail;
	}
	if (!connect && !on) {
		uk_err_conflict(err, "instance %s is not on network %s", in.name, r->name);
		goto fail;
	}
	if (in.spec.net_mode != UKD_NET_BRIDGE) {
		memset(in.spec.nets, 0, sizeof(in.spec.nets));
		in.spec.n_nets = 0;
	}
	if (connect) {
		if (in.spec.n_nets >= UKD_NETS_MAX) {
			uk_err_conflict(
			        err,
			        "instance %s is on %d networks, the most an instance joins: "
			        "disconnect one first",
			        in.name, in.spec.n_nets);
			goto fail;
		}
		struct ukd_net_attach *na = &in.spec.nets[in.spec.n_nets];
		*na = *a;
		snprintf(na->network, UKD_NAME_MAX, "%s", r->name);
		in.spec.net_mode = UKD_NET_BRIDGE;
		in.spec.n_nets++; /* the guest's table must hold this NIC's variables too */
		if (ukd_spec_env_check(&in.spec, err) < 0) {
			err->status = 409;
			goto fail;
		}
		in.spec.n_nets--;
		if (attach_one(d, &in, na, in.spec.n_nets == 0, err) < 0)
			goto fail;
		in.spec.n_nets++;
	} else {
		const char *args[] = {id, r->id, NULL};
		if (exec_sql(d, "DELETE FROM endpoints WHERE instance = ? AND network = ?", args,
		             err) < 0)
			goto fail;
		/* out of the spec too (named by name or id): the others keep their order */
		for (int k = 0; k < in.spec.n_nets; k++) {
			struct net_row rk;
			if (row_find(d, in.spec.nets[k].network, &rk, NULL) < 0 ||
			    strcmp(rk.id, r->id))
				continue;
			memmove(&in.spec.nets[k], &in.spec.nets[k + 1],
			        (size_t)(in.spec.n_nets - k - 1) * sizeof(in.spec.nets[0]));
			memset(&in.spec.nets[--in.spec.n_nets], 0, sizeof(in.spec.nets[0]));
			break;
		}
		/* the last network gone: the mode of an instance created without --network */
		if (!in.spec.n_nets)
			in.spec.net_mode = UKD_NET_DEFAULT;
	}
	if (spec_store(d, &in, err) < 0 || ukd_store_commit(d->store, err) < 0) {
		ukd_instance_clear(&in);
		return -1;
	}
	ukd_instance_clear(&in);
	return 0;
fail:
	ukd_store_rollback(d->store);
	ukd_instance_clear(&in);
	return -1;
}

static int conn(struct ukd *d, const char *key, json_object *body, int connect, uk_err_t *err)
{
	struct ukd_net_attach a;
	struct ukd_instance in = {0};
	struct net_row r;
	char ref[128], id[65], name[128], attrs[256];
	int rc;

	if (conn_body(body, connect, ref, &a, err) < 0 || privileged(d, err) < 0 ||
	    row_find(d, key, &r, err) < 0 || ukd_store_instance_find(d->store, ref, &in, err) < 0)
		return -1;
	snprintf(id, sizeof(id), "%s", in.id);
	snprintf(name, sizeof(name), "%s", in.name);
	ukd_instance_clear(&in);
	ukd_instance_lock(d, id);
	rc = conn_locked(d, &r, id, connect, &a, err);
	ukd_instance_unlock(d, id);
	uk_err_t nerr = {0};
	/* the NIC's pinning rules come or go (failed: the next start applies them) */
	if (rc == 0 && nft_apply_pins(d, &nerr) < 0)
		log_warn("network", "%s %s: %s", connect ? "connect" : "disconnect", name,
		         nerr.message);
	if (rc < 0)
		return uk_err_wrap(err, "%s %s %s", connect ? "connect" : "disconnect", r.name,
		                   ref);
	snprintf(attrs, sizeof(attrs), "{\"instance\":\"%s\",\"name\":\"%s\"}", id, name);
	ukd_events_emit(d, "network", connect ? "connect" : "disconnect", r.id, r.name, attrs);
	log_info("network", "%s %s %s", connect ? "connected" : "disconnected", name, r.name);
	return 0;
}

int ukd_net_connect(struct ukd *d, const char *key, json_object *body, uk_err_t *err)
{
	return conn(d, key, body, 1, err);
}

int ukd_net_disconnect(struct ukd *d, const char *key, json_object *body, uk_err_t *err)
{
	return conn(d, key, body, 0, err);
}

/* One endpoint as inspect shows it. */
static json_object *endpoint_json(const struct net_row *r, const struct endpoint *e)
{
	json_object *o = json_object_new_object(), *al = json_object_new_array();
	char gw[16], aliases[sizeof(e->aliases)];

	ip_format(r->gw, gw);
	json_object_object_add(o, "network", json_object_new_string(r->name));
	json_object_object_add(o, "ip_address", json_object_new_string(e->ip));
	json_object_object_add(o, "prefix_length", json_object_new_int(r->prefix));
	json_object_object_add(o, "gateway", json_object_new_string(gw));
	json_object_object_add(o, "mac_address", json_object_new_string(e->mac));
	memcpy(aliases, e->aliases, sizeof(aliases));
	for (char *save, *a = strtok_r(aliases, " ", &save); a; a = strtok_r(NULL, " ", &save))
		json_object_array_add(al, json_object_new_string(a));
	json_object_object_add(o, "aliases", al);
	return o;
}

json_object *ukd_net_endpoint_json(struct ukd *d, const struct ukd_instance *in)
{
	json_object *o = NULL, *all = json_object_new_array();

	for (int k = 0; in->spec.net_mode == UKD_NET_BRIDGE && k < in->spec.n_nets; k++) {
		struct endpoint e;
		struct net_row r;
		if (row_find(d, in->spec.nets[k].network, &r, NULL) < 0 ||
		    !endpoint_get(d, in->id, r.id, &e))
			continue;
		if (!o) /* the first network's, as with one network */
			o = endpoint_json(&r, &e);
		json_object_array_add(all, endpoint_json(&r, &e));
	}
	if (!o) {
		json_object_put(all);
		return NULL;
	}
	json_object_object_add(o, "networks", all);
	return o;
}

/* ---- start and stop ---- */

/* Each link with our alias that (keep) does not name goes (bridges of removed networks, taps
 * of instances that no longer run). */
static void links_sweep(struct ukd_nets *n, char (*keep)[16], int nkeep)
{
	struct if_nameindex *ifs = if_nameindex();

	for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
		int kept = strncmp(i->if_name, "uk", 2) != 0;
		for (int k = 0; k < nkeep && !kept; k++)
			kept = !strcmp(keep[k], i->if_name);
		if (!kept && link_ours(n, i->if_name, NULL, NULL) == 1) {
			log_info("network", "removing stale %s", i->if_name);
			link_del(n, i->if_name);
		}
	}
	if (ifs)
		if_freenameindex(ifs);
}

static int have_net_admin(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	return (eff >> 12) & 1; /* CAP_NET_ADMIN */
}

int ukd_net_start(struct ukd *d, uk_err_t *err)
{
	struct ukd_nets *n;
	int nr;

	if (!have_net_admin()) {
		log_info("network", "no CAP_NET_ADMIN: uk networks are not available");
		return 0;
	}
	if (!(n = calloc(1, sizeof(*n))))
		return uk_err_errno(err, ENOMEM, "networks");
	pthread_mutex_init(&n->lock, NULL);
	n->d = d;
	snprintf(n->alias, sizeof(n->alias), "ukd:%s", d->cfg.root);
	ukd_net_table_name(d->cfg.root, n->table);
	d->nets = n;
	if (!(n->proxy = ukd_proxy_new(err)))
		return -1;
	if (!d->cfg.userland_proxy && !(n->nat = ukd_nat_new()))
		return uk_err_errno(err, ENOMEM, "networks");
	_cleanup_free_ struct net_row *rows = rows_all(d, &nr, err);
	if (!rows)
		return -1;
	char(*keep)[16] = calloc((size_t)nr + 256, 16);
	int nkeep = 0;
	if (!keep)
		return uk_err_errno(err, ENOMEM, "networks");
	for (int i = 0; i < nr; i++) {
		uk_err_t e = {0};
		if (bridge_up(n, &rows[i], &e) < 0)
			log_warn("network", "%s", e.message);
		br_name(rows[i].id, keep[nkeep++]);
	}
	/* live restore: the taps of running instances stay, and their published ports come back
	 * (the DNAT rules stayed in the kernel: the table is rebuilt once, after this) */
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (ukd_store_begin(d->store, err) == 0) {
		st = prep(d,
		          "SELECT e.instance, e.tap, e.ip, e.ports, e.network FROM endpoints e"
		          " JOIN instances i"
		          " ON i.id = e.instance WHERE i.state = 'running'",
		          NULL);
		while (st && sqlite3_step(st) == SQLITE_ROW && nkeep < nr + 256) {
			const char *inst = (const char *)sqlite3_column_text(st, 0);
			uint32_t ip = 0;
			uk_err_t e = {0};
			char br[16];
			snprintf(keep[nkeep++], 16, "%s", (const char *)sqlite3_column_text(st, 1));
			ip_parse((const char *)sqlite3_column_text(st, 2), &ip);
			br_name((const char *)sqlite3_column_text(st, 4), br);
			if (proxies_from_text(n, inst, br, (const char *)sqlite3_column_text(st, 3),
			                      ip, 1, &e) < 0)
				log_warn("network", "restore %.12s's ports: %s", inst, e.message);
		}
		ukd_store_commit(d->store, NULL);
	}
	uk_err_clear(err);
	/* with no network, another ukd's table in this namespace is left alone */
	if (nr && nft_apply(d, err) < 0)
		log_warn("network", "%s", err->message);
	uk_err_clear(err);
	links_sweep(n, keep, nkeep);
	free(keep);
	if (!(n->dns = ukd_dns_server_start(d, "/etc/resolv.conf", err)))
		return -1;
	log_info("network", "%d network(s) up", nr);
	return 0;
}

void ukd_net_stop(struct ukd *d)
{
	struct ukd_nets *n = d->nets;

	if (!n)
		return;
	ukd_proxy_free(n->proxy);
	n->proxy = NULL;
	ukd_nat_free(n->nat); /* the reservations; the rules stay while guests do */
	n->nat = NULL;
	ukd_dns_server_stop(n->dns);
	n->dns = NULL;
}
