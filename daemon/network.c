/* uk networks: store rows, IPAM, bridges/taps/nftables through ip(8)/nft(8), DNS, TCP proxies. */
#include "network.h"
#include "events.h"
#include "instance_lock.h"
#include "log.h"
#include "names.h"
#include "net_dns.h"
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

#define DNS_RATE 200        /* queries per second per network ... */
#define DNS_BURST 400       /* ... with this burst: more are dropped unread */
#define DNS_FWD_MAX 256     /* queries forwarded upstream and not yet answered, in all ... */
#define DNS_FWD_NET_MAX 128 /* ... and per network: more get SERVFAIL at once */
#define DNS_FWD_TRY_NS 2000000000LL /* per upstream tried; then the next, then SERVFAIL */
#define DNS_UPSTREAMS_MAX 3         /* as the libc resolver's MAXNS */

struct net_row {
	char id[65], name[UKD_NAME_MAX];
	uint32_t net, gw; /* host order */
	int prefix, internal, outbound;
	int64_t created;
};

struct dns_sock {
	char net[65];
	uint32_t gw;
	int fd, outbound;
	double tokens;
	int64_t last_ns;
};

/* A query forwarded upstream: its own connected socket (a random source port the kernel holds
 * to the upstream's address and port) and a random ID; the answer must match both, and the
 * question (ukd_dns_response_matches). */
struct dns_fwd {
	int fd; /* -1: a free slot */
	char net[65];
	struct sockaddr_in client;
	uint16_t client_id;
	int tries;
	int64_t deadline;
	uint8_t q[UKD_DNS_MAX]; /* what was sent */
	size_t qlen;
	uint8_t req[UKD_DNS_MAX]; /* the guest's query, for its SERVFAIL */
	struct ukd_dns_query pq;
};

struct ukd_nets {
	pthread_mutex_t lock;
	struct ukd *d;
	char alias[160];         /* "ukd:ROOT": the mark on every link ukd makes */
	char table[16];          /* "uk_HASH": its nftables table, one per root */
	struct ukd_proxy *proxy; /* published ports (proxy.c) */
	pthread_t dns_thread;
	int dns_started, wake[2], stopping;
	struct dns_sock socks[64];
	int nsocks;
	struct sockaddr_in upstreams[DNS_UPSTREAMS_MAX]; /* /etc/resolv.conf's, read at start */
	int nupstreams;
	struct dns_fwd fwd[DNS_FWD_MAX];
	int nfwd;
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

static void tap_name(const char *instance_id, char out[16])
{
	snprintf(out, 16, "uk%.12s0", instance_id);
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
	msg[strcspn(msg, "\n")] = 0;
	return uk_err_internal(err, "%s %s %s: %s", argv[0], argv[1], argv[2] ? argv[2] : "",
	                       msg[0] ? msg : "failed");
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

/* 1 if link (name) exists and carries our alias, 0 if absent, -1 (409) if it is not ours. */
static int link_ours(struct ukd_nets *n, const char *name, uk_err_t *err)
{
	char out[512], *a, alias[200] = "";
	const char *argv[] = {"ip", "-o", "link", "show", "dev", name, NULL};

	/* not /sys/class/net: sysfs shows the network namespace it was mounted in */
	if (!if_nametoindex(name))
		return 0;
	if (run_out(argv, NULL, out, NULL) < 0)
		return 0;
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

	if (link_ours(n, name, NULL) != 1)
		return 0;
	if (run(argv, NULL, &err) < 0) {
		log_warn("network", "remove %s: %s", name, err.message);
		return -1;
	}
	log_debug("network", "removed link %s", name);
	return 0;
}

static int bridge_up(struct ukd_nets *n, const struct net_row *r, uk_err_t *err)
{
	char br[16], cidr[20], gw[16];
	int ours = 0;

	br_name(r->id, br);
	ip_format(r->gw, gw);
	snprintf(cidr, sizeof(cidr), "%s/%d", gw, r->prefix);
	if ((ours = link_ours(n, br, err)) < 0)
		return -1;
	const char *add[] = {"ip", "link", "add", "name", br, "type", "bridge", NULL};
	const char *mark[] = {"ip", "link", "set", "dev", br, "alias", n->alias, NULL};
	const char *addr[] = {"ip", "addr", "replace", cidr, "dev", br, NULL};
	const char *up[] = {"ip", "link", "set", "dev", br, "up", NULL};
	if ((!ours && (run(add, NULL, err) < 0 || run(mark, NULL, err) < 0)) ||
	    run(addr, NULL, err) < 0 || run(up, NULL, err) < 0)
		return uk_err_wrap(err, "bridge %s of network %s", br, r->name);
	return 0;
}

static int tap_up(struct ukd_nets *n, const char *tap, const char *br, uk_err_t *err)
{
	char uid[24], gid[24];
	int ours = link_ours(n, tap, err);

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

/* ---- nftables: this ukd's one table "ip uk_HASH", rebuilt whole from the networks ---- */

static int nft_apply(struct ukd *d, uk_err_t *err)
{
	int n;
	_cleanup_free_ struct net_row *rows = rows_all(d, &n, err);
	const char *argv[] = {"nft", "-f", "-", NULL};
	size_t cap = 4096 + (size_t)n * 1024, len = 0;
	_cleanup_free_ char *t = malloc(cap);
	int outbound = 0;

	if (!rows || !t)
		return rows ? uk_err_errno(err, ENOMEM, "nftables") : -1;
#define P(...) (len += (size_t)snprintf(t + len, cap - len, __VA_ARGS__))
	/* create-then-delete: deleting a table that is not there would fail the transaction */
	const char *tb = d->nets->table;
	P("table ip %s\ndelete table ip %s\n", tb, tb);
	if (n) {
		P("table ip %s {\n chain input {\n  type filter hook input priority 0; policy "
		  "accept;\n",
		  tb);
		for (int i = 0; i < n; i++) {
			char br[16], gw[16];
			br_name(rows[i].id, br);
			ip_format(rows[i].gw, gw);
			/* a guest reaches the host only for DNS on its own gateway (and answers) */
			P("  iifname \"%s\" ip daddr %s udp dport 53 accept\n", br, gw);
			P("  iifname \"%s\" ip daddr %s icmp type echo-request accept\n", br, gw);
			P("  iifname \"%s\" ct state established,related accept\n", br);
			P("  iifname \"%s\" drop\n", br);
		}
		P(" }\n chain forward {\n  type filter hook forward priority 0; policy accept;\n");
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
		P(" }\n}\n");
	}
#undef P
	if (len >= cap)
		return uk_err_internal(err, "nftables ruleset longer than %zu bytes", cap);
	if (run(argv, t, err) < 0)
		return uk_err_wrap(err, "nftables table ip %s", tb);
	if (outbound) {
		/* NAT needs forwarding: the one host setting an --outbound network changes */
		int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "1", 1) != 1)
			log_warn("network",
			         "net.ipv4.ip_forward=1: %s: --outbound networks cannot reach "
			         "out",
			         strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

/* ---- DNS on each gateway ---- */

static void dns_wake(struct ukd_nets *n)
{
	if (n->dns_started && write(n->wake[1], "x", 1) < 0)
		log_debug("network", "wake dns: %s", strerror(errno));
}

/* The running instances named or aliased (name) on network (net): their addresses. */
static int dns_lookup(struct ukd *d, const char *net, const char *name, uint32_t *ips, int max)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int n = 0;

	if (!name[0] || ukd_store_begin(d->store, NULL) < 0)
		return 0;
	st = prep(d,
	          "SELECT e.ip FROM endpoints e JOIN instances i ON i.id = e.instance"
	          " WHERE e.network = ?1 AND i.state = 'running' AND (lower(i.name) = ?2"
	          " OR instr(' ' || lower(e.aliases) || ' ', ' ' || ?2 || ' ') > 0)",
	          NULL);
	if (st) {
		sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	}
	while (st && n < max && sqlite3_step(st) == SQLITE_ROW) {
		uint32_t ip;
		if (ip_parse((const char *)sqlite3_column_text(st, 0), &ip) == 0)
			ips[n++] = htonl(ip);
	}
	ukd_store_commit(d->store, NULL);
	return n;
}

/* The IPv4 nameservers of (path) (resolv.conf(5)), at most DNS_UPSTREAMS_MAX. A loopback one
 * (a local stub such as 127.0.0.53) is kept: ukd, not the guest, sends to it, from the host. */
static int upstreams_read(const char *path, struct sockaddr_in *out)
{
	FILE *f = fopen(path, "re");
	char line[256], addr[64];
	int n = 0;
	uint32_t ip;

	while (f && n < DNS_UPSTREAMS_MAX && fgets(line, sizeof(line), f))
		if (sscanf(line, " nameserver %63s", addr) == 1 && ip_parse(addr, &ip) == 0)
			out[n++] = (struct sockaddr_in){.sin_family = AF_INET,
			                                .sin_port = htons(53),
			                                .sin_addr.s_addr = htonl(ip)};
	if (f)
		fclose(f);
	return n;
}

static void dns_reply(struct ukd_nets *n, const char *net, const struct sockaddr_in *to,
                      const void *buf, size_t len)
{
	for (int i = 0; i < n->nsocks; i++)
		if (!strcmp(n->socks[i].net, net)) {
			if (sendto(n->socks[i].fd, buf, len, MSG_DONTWAIT,
			           (const struct sockaddr *)to, sizeof(*to)) < 0)
				log_debug("network", "dns answer: %s", strerror(errno));
			return;
		}
}

static void fwd_free(struct ukd_nets *n, struct dns_fwd *f)
{
	close(f->fd);
	f->fd = -1;
	n->nfwd--;
}

/* SERVFAIL to the guest whose query (f) no upstream answered. */
static void fwd_fail(struct ukd_nets *n, struct dns_fwd *f)
{
	uint8_t out[UKD_DNS_MAX];

	dns_reply(n, f->net, &f->client, out,
	          ukd_dns_answer(f->req, &f->pq, UKD_DNS_SERVFAIL, NULL, 0, out));
	fwd_free(n, f);
}

/* Sends (f)'s query to upstream number (f->tries) (a fresh socket and ID each try). */
static int fwd_send(struct ukd_nets *n, struct dns_fwd *f)
{
	const struct sockaddr_in *up = &n->upstreams[f->tries % n->nupstreams];
	uint16_t id;

	if (f->fd >= 0)
		close(f->fd);
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (f->fd < 0 || connect(f->fd, (const struct sockaddr *)up, sizeof(*up)) < 0 ||
	    getrandom(&id, sizeof(id), 0) != sizeof(id))
		return -1;
	f->qlen = ukd_dns_forward_query(f->req, &f->pq, id, f->q);
	f->deadline = ukd_now_ns() + DNS_FWD_TRY_NS;
	f->tries++;
	return send(f->fd, f->q, f->qlen, MSG_DONTWAIT) < 0 ? -1 : 0;
}

/* An outside name asked on an --outbound network: to the host's resolvers, bounded. */
static void dns_forward(struct ukd_nets *n, const struct dns_sock *s, const uint8_t *req,
                        const struct ukd_dns_query *q, const struct sockaddr_in *from)
{
	struct dns_fwd *f = NULL;
	int mine = 0;

	for (int i = 0; i < DNS_FWD_MAX; i++) {
		if (n->fwd[i].fd < 0 && !f)
			f = &n->fwd[i];
		else if (n->fwd[i].fd >= 0 && !strcmp(n->fwd[i].net, s->net))
			mine++;
	}
	if (!n->nupstreams || !f || mine >= DNS_FWD_NET_MAX) {
		uint8_t out[UKD_DNS_MAX];
		dns_reply(n, s->net, from, out,
		          ukd_dns_answer(req, q, UKD_DNS_SERVFAIL, NULL, 0, out));
		return;
	}
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	snprintf(f->net, sizeof(f->net), "%s", s->net);
	f->client = *from;
	f->pq = *q;
	memcpy(f->req, req, q->qend);
	n->nfwd++;
	if (fwd_send(n, f) < 0)
		fwd_fail(n, f);
}

/* An upstream's datagram on (f)'s socket: relayed to the guest if it is the answer. */
static void fwd_answer(struct ukd_nets *n, struct dns_fwd *f)
{
	uint8_t buf[4096];
	ssize_t len = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (len < 0 && errno == ECONNREFUSED && f->tries < 2 * n->nupstreams) {
		if (fwd_send(n, f) < 0) /* nothing listens there: the next upstream */
			fwd_fail(n, f);
		return;
	}
	if (len <= 0 || !ukd_dns_response_matches(buf, (size_t)len, f->q, f->qlen))
		return; /* forged, stray or late: the query waits on */
	buf[0] = (uint8_t)(f->pq.id >> 8);
	buf[1] = (uint8_t)f->pq.id;
	dns_reply(n, f->net, &f->client, buf, (size_t)len);
	fwd_free(n, f);
}

/* Queries whose try timed out: the next upstream, or SERVFAIL after each had two tries. */
static void fwd_expire(struct ukd_nets *n)
{
	int64_t now = ukd_now_ns();

	for (int i = 0; i < DNS_FWD_MAX; i++) {
		struct dns_fwd *f = &n->fwd[i];
		if (f->fd < 0 || now < f->deadline)
			continue;
		if (f->tries >= 2 * n->nupstreams || fwd_send(n, f) < 0)
			fwd_fail(n, f);
	}
}

static void dns_serve_one(struct ukd_nets *n, struct dns_sock *s)
{
	uint8_t req[UKD_DNS_MAX + 1], out[UKD_DNS_MAX];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	struct ukd_dns_query q;
	uint32_t ips[8];
	int nip = 0;
	ssize_t len =
	        recvfrom(s->fd, req, sizeof(req), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	int64_t now = ukd_now_ns();

	if (len <= 0)
		return;
	s->tokens += (double)(now - s->last_ns) * DNS_RATE / 1e9;
	s->last_ns = now;
	if (s->tokens > DNS_BURST)
		s->tokens = DNS_BURST;
	if (s->tokens < 1)
		return; /* over the rate: dropped, the guest's resolver retries */
	s->tokens -= 1;
	int rc = ukd_dns_parse_query(req, (size_t)len, &q);
	if (rc < 0)
		return;
	if (rc == 0) {
		rc = UKD_DNS_NXDOMAIN;
		if (q.qclass == UKD_DNS_CLASS_IN &&
		    (nip = dns_lookup(n->d, s->net, q.name, ips, 8)) > 0)
			rc = UKD_DNS_NOERROR;
		else if (s->outbound) {
			dns_forward(n, s, req, &q,
			            &from); /* not an instance's: the host's resolvers */
			return;
		}
		if (q.qtype != UKD_DNS_TYPE_A)
			nip = 0; /* the name exists, with no record of that type */
	}
	size_t olen = ukd_dns_answer(req, &q, rc, ips, nip, out);
	if (sendto(s->fd, out, olen, MSG_DONTWAIT, (struct sockaddr *)&from, fl) < 0)
		log_debug("network", "dns answer: %s", strerror(errno));
}

/* Binds GW:53 of each network lacking a socket, closes the sockets of removed ones. */
static void dns_sync(struct ukd_nets *n)
{
	int nr;
	uk_err_t err = {0};
	_cleanup_free_ struct net_row *rows = rows_all(n->d, &nr, &err);

	if (!rows)
		return;
	pthread_mutex_lock(&n->lock);
	for (int i = 0; i < n->nsocks;) {
		int keep = 0;
		for (int j = 0; j < nr && !keep; j++)
			keep = !strcmp(rows[j].id, n->socks[i].net);
		if (keep) {
			i++;
			continue;
		}
		close(n->socks[i].fd);
		n->socks[i] = n->socks[--n->nsocks];
	}
	for (int j = 0; j < nr; j++) {
		int have = 0;
		for (int i = 0; i < n->nsocks && !have; i++)
			have = !strcmp(rows[j].id, n->socks[i].net);
		if (have || n->nsocks == (int)(sizeof(n->socks) / sizeof(n->socks[0])))
			continue;
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_port = htons(53),
		                        .sin_addr.s_addr = htonl(rows[j].gw)};
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			log_warn("network", "dns on %s's gateway: %s", rows[j].name,
			         strerror(errno));
			if (fd >= 0)
				close(fd);
			continue;
		}
		struct dns_sock *s = &n->socks[n->nsocks++];
		snprintf(s->net, sizeof(s->net), "%s", rows[j].id);
		s->gw = rows[j].gw;
		s->fd = fd;
		s->outbound = rows[j].outbound;
		s->tokens = DNS_BURST;
		s->last_ns = ukd_now_ns();
	}
	pthread_mutex_unlock(&n->lock);
}

static void *dns_main(void *p)
{
	struct ukd_nets *n = p;
	struct pollfd pf[65 + DNS_FWD_MAX];
	struct dns_fwd *pfwd[DNS_FWD_MAX];

	for (int i = 0; i < DNS_FWD_MAX; i++)
		n->fwd[i].fd = -1;
	dns_sync(n);
	while (!n->stopping) {
		int np = 0, ns, nf = 0;
		pf[np++] = (struct pollfd){.fd = n->wake[0], .events = POLLIN};
		pthread_mutex_lock(&n->lock);
		for (int i = 0; i < n->nsocks; i++)
			pf[np++] = (struct pollfd){.fd = n->socks[i].fd, .events = POLLIN};
		pthread_mutex_unlock(&n->lock);
		ns = np;
		for (int i = 0; i < DNS_FWD_MAX; i++)
			if (n->fwd[i].fd >= 0) {
				pfwd[nf++] = &n->fwd[i];
				pf[np++] = (struct pollfd){.fd = n->fwd[i].fd, .events = POLLIN};
			}
		int r = poll(pf, (nfds_t)np, n->nfwd ? 100 : 1000);
		fwd_expire(n);
		if (r <= 0)
			continue;
		for (int i = ns; i < np; i++) /* before the guests' queries may reuse a slot */
			if (pf[i].revents && pfwd[i - ns]->fd == pf[i].fd)
				fwd_answer(n, pfwd[i - ns]);
		if (pf[0].revents) {
			char buf[64];
			while (read(n->wake[0], buf, sizeof(buf)) > 0)
				;
			dns_sync(n);
			continue;
		}
		for (int i = 1; i < ns; i++)
			if (pf[i].revents & POLLIN) /* socks only change on this thread */
				dns_serve_one(n, &n->socks[i - 1]);
	}
	return NULL;
}

/* ---- endpoints ---- */

struct endpoint {
	char net[65], ip[16], tap[16], mac[18], ports[UKD_PORTS_MAX * 40];
};

/* The instance's endpoint (its first network); 0 if it has none. */
static int endpoint_get(struct ukd *d, const char *instance, struct endpoint *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int found = 0;

	memset(e, 0, sizeof(*e));
	if (ukd_store_begin(d->store, NULL) < 0)
		return 0;
	st = prep(d, "SELECT network, ip, tap, mac, ports FROM endpoints WHERE instance = ?", NULL);
	if (st)
		sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		char *f[] = {e->net, e->ip, e->tap, e->mac, e->ports};
		size_t sz[] = {sizeof(e->net), sizeof(e->ip), sizeof(e->tap), sizeof(e->mac),
		               sizeof(e->ports)};
		for (int i = 0; i < 5; i++)
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

static int attach(struct ukd *d, const struct ukd_instance *in, uk_err_t *err)
{
	const char *instance_id = in->id;
	const struct ukd_instance_spec *spec = &in->spec;
	struct net_row r;
	char ip[16] = "", mac[18], tap[16], aliases[UKD_ALIASES_MAX * UKD_NAME_MAX + 8] = "";
	const struct ukd_net_attach *a = &spec->nets[0];

	if (spec->net_mode != UKD_NET_BRIDGE || spec->n_nets < 1)
		return 0;
	if (spec->n_nets > 1)
		return uk_err_bad(err, "networks: one network per instance for now (got %d)",
		                  spec->n_nets);
	if (row_find(d, a->network, &r, err) < 0)
		return -1;
	if (r.internal && spec->n_ports)
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
	snprintf(mac, sizeof(mac), "52:54:00:%.2s:%.2s:%.2s", instance_id, instance_id + 2,
	         instance_id + 4);
	tap_name(instance_id, tap);
	if (ukd_store_begin(d->store, err) < 0)
		return -1;
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

void ukd_net_release(struct ukd *d, const char *instance_id)
{
	char tap[16];

	if (!d->nets)
		return;
	ukd_proxy_remove(d->nets->proxy, instance_id);
	tap_name(instance_id, tap);
	link_del(d->nets, tap);
}

void ukd_net_detach(struct ukd *d, const char *instance_id)
{
	const char *args[] = {instance_id, NULL};
	uk_err_t err = {0};

	ukd_net_release(d, instance_id);
	if (ukd_store_begin(d->store, &err) < 0 ||
	    exec_sql(d, "DELETE FROM endpoints WHERE instance = ?", args, &err) < 0 ||
	    ukd_store_commit(d->store, &err) < 0)
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

/* Starts the proxies of the ports recorded in the endpoint ("IP:HOST:GUEST[/udp] ..."). */
static int proxies_from_text(struct ukd_nets *n, const char *instance, const char *text,
                             uint32_t guest_ip, uk_err_t *err)
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
		if (ukd_proxy_add(n->proxy, instance, &p, &guest, err) < 0) {
			ukd_proxy_remove(n->proxy, instance);
			return -1;
		}
	}
	return 0;
}

static int prepare(struct ukd *d, const char *instance_id, const struct ukd_instance_spec *spec,
                   enum ukd_nic_kind kind, struct ukd_net_guest *out, uk_err_t *err)
{
	struct endpoint e;
	struct net_row r;
	char br[16], ports[UKD_PORTS_MAX * 40] = "", gw[16];
	uint32_t ip = 0;

	memset(out, 0, sizeof(*out));
	if (spec->net_mode != UKD_NET_BRIDGE)
		return 0;
	if (privileged(d, err) < 0)
		return -1;
	if (!endpoint_get(d, instance_id, &e))
		return uk_err_internal(err,
		                       "instance %.12s has no endpoint on its network: "
		                       "recreate it",
		                       instance_id);
	if (row_find(d, e.net, &r, err) < 0)
		return -1;
	for (int i = 0; i < spec->n_ports; i++) {
		const struct ukd_port *p = &spec->ports[i];
		snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports), "%s%s:%u:%u%s",
		         i ? " " : "", p->host_ip, p->host_port, p->guest_port,
		         strcmp(p->proto, "udp") ? "" : "/udp");
	}
	br_name(r.id, br);
	ip_parse(e.ip, &ip);
	ukd_net_release(d, instance_id); /* a previous run's leftovers */
	/* UKD_NIC_BRIDGE: the hypervisor makes the port (Xen's vif) when the guest starts */
	if (bridge_up(d->nets, &r, err) < 0 ||
	    (kind == UKD_NIC_TAP && tap_up(d->nets, e.tap, br, err) < 0))
		return -1;
	const char *args[] = {ports, instance_id, NULL};
	if (ukd_store_begin(d->store, err) < 0 ||
	    exec_sql(d, "UPDATE endpoints SET ports = ? WHERE instance = ?", args, err) < 0 ||
	    ukd_store_commit(d->store, err) < 0 ||
	    proxies_from_text(d->nets, instance_id, ports, ip, err) < 0) {
		ukd_net_release(d, instance_id);
		return -1;
	}
	out->nics[0] = (struct ukd_nic){.kind = kind};
	snprintf(out->nics[0].mac, sizeof(out->nics[0].mac), "%s", e.mac);
	snprintf(out->nics[0].tap, sizeof(out->nics[0].tap), "%s", e.tap);
	snprintf(out->nics[0].bridge, sizeof(out->nics[0].bridge), "%s", br);
	out->n_nics = 1;
	ip_format(r.gw, gw);
	snprintf(out->env[0], sizeof(out->env[0]), "UK_IP=%s/%d", e.ip, r.prefix);
	snprintf(out->env[1], sizeof(out->env[1]), "UK_GW=%s", gw);
	snprintf(out->env[2], sizeof(out->env[2]), "UK_DNS=%s", gw);
	out->n_env = 3;
	snprintf(out->ip, sizeof(out->ip), "%s", e.ip);
	return 0;
}

int ukd_net_attach(struct ukd *d, const struct ukd_instance *in, uk_err_t *err)
{
	return attach(d, in, err);
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
	on = endpoint_get(d, id, &e);
	if (connect && on) {
		if (!strcmp(e.net, r->id))
			uk_err_conflict(err, "instance %s is already on network %s", in.name,
			                r->name);
		else
			uk_err_conflict(
			        err,
			        "instance %s is on another network: one network per instance "
			        "for now; disconnect it first (uk network inspect shows which)",
			        in.name);
		goto fail;
	}
	if (!connect && (!on || strcmp(e.net, r->id))) {
		uk_err_conflict(err, "instance %s is not on network %s", in.name, r->name);
		goto fail;
	}
	memset(in.spec.nets, 0, sizeof(in.spec.nets));
	in.spec.n_nets = 0;
	/* the last network gone: the mode of an instance created without --network */
	in.spec.net_mode = UKD_NET_DEFAULT;
	if (connect) {
		in.spec.nets[0] = *a;
		snprintf(in.spec.nets[0].network, UKD_NAME_MAX, "%s", r->name);
		in.spec.n_nets = 1;
		in.spec.net_mode = UKD_NET_BRIDGE;
		if (attach(d, &in, err) < 0)
			goto fail;
	} else {
		const char *args[] = {id, r->id, NULL};
		if (exec_sql(d, "DELETE FROM endpoints WHERE instance = ? AND network = ?", args,
		             err) < 0)
			goto fail;
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

json_object *ukd_net_endpoint_json(struct ukd *d, const char *instance_id)
{
	struct endpoint e;
	struct net_row r;
	json_object *o, *al;
	char gw[16], aliases[UKD_ALIASES_MAX * UKD_NAME_MAX + 16];
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (!endpoint_get(d, instance_id, &e) || row_find(d, e.net, &r, NULL) < 0)
		return NULL;
	o = json_object_new_object();
	al = json_object_new_array();
	ip_format(r.gw, gw);
	json_object_object_add(o, "network", json_object_new_string(r.name));
	json_object_object_add(o, "ip_address", json_object_new_string(e.ip));
	json_object_object_add(o, "prefix_length", json_object_new_int(r.prefix));
	json_object_object_add(o, "gateway", json_object_new_string(gw));
	json_object_object_add(o, "mac_address", json_object_new_string(e.mac));
	aliases[0] = 0;
	if (ukd_store_begin(d->store, NULL) == 0) {
		st = prep(d, "SELECT aliases FROM endpoints WHERE instance = ?", NULL);
		if (st)
			sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_STATIC);
		if (st && sqlite3_step(st) == SQLITE_ROW)
			snprintf(aliases, sizeof(aliases), "%s",
			         (const char *)sqlite3_column_text(st, 0));
		ukd_store_commit(d->store, NULL);
	}
	for (char *save, *a = strtok_r(aliases, " ", &save); a; a = strtok_r(NULL, " ", &save))
		json_object_array_add(al, json_object_new_string(a));
	json_object_object_add(o, "aliases", al);
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
		if (!kept && link_ours(n, i->if_name, NULL) == 1) {
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
	/* with no network, another ukd's table in this namespace is left alone */
	if (nr && nft_apply(d, err) < 0)
		log_warn("network", "%s", err->message);
	uk_err_clear(err);
	/* live restore: the taps of running instances stay, and their proxies come back */
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (ukd_store_begin(d->store, err) == 0) {
		st = prep(
		        d,
		        "SELECT e.instance, e.tap, e.ip, e.ports FROM endpoints e JOIN instances i"
		        " ON i.id = e.instance WHERE i.state = 'running'",
		        NULL);
		while (st && sqlite3_step(st) == SQLITE_ROW && nkeep < nr + 256) {
			const char *inst = (const char *)sqlite3_column_text(st, 0);
			uint32_t ip = 0;
			uk_err_t e = {0};
			snprintf(keep[nkeep++], 16, "%s", (const char *)sqlite3_column_text(st, 1));
			ip_parse((const char *)sqlite3_column_text(st, 2), &ip);
			if (proxies_from_text(n, inst, (const char *)sqlite3_column_text(st, 3), ip,
			                      &e) < 0)
				log_warn("network", "restore %.12s's ports: %s", inst, e.message);
		}
		ukd_store_commit(d->store, NULL);
	}
	links_sweep(n, keep, nkeep);
	free(keep);
	n->nupstreams = upstreams_read("/etc/resolv.conf", n->upstreams);
	log_info("network", "%d upstream resolver(s) for --outbound networks (/etc/resolv.conf)",
	         n->nupstreams);
	if (pipe2(n->wake, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pthread_create(&n->dns_thread, NULL, dns_main, n) != 0)
		return uk_err_errno(err, errno, "start the networks' DNS");
	n->dns_started = 1;
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
	if (n->dns_started) {
		n->stopping = 1;
		dns_wake(n);
		pthread_join(n->dns_thread, NULL);
		for (int i = 0; i < DNS_FWD_MAX; i++)
			if (n->fwd[i].fd >= 0)
				close(n->fwd[i].fd);
	}
}
