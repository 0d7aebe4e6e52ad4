/* Published ports: validation of the API's "ports", hostfwd rules for QEMU, host port checks. */
#include "ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const char *const port_keys[] = {"host_ip", "host_port", "guest_port", "protocol", NULL};

static int port_number(json_object *o, const char *key, size_t i, int required, unsigned *out,
                       uk_err_t *err)
{
	json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return uk_err_bad(err, "ports[%zu].%s is required (1 to 65535)", i, key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_int) || (n = json_object_get_int64(v)) < 1 ||
	    n > 65535)
		return uk_err_bad(err, "ports[%zu].%s %s: expected an integer from 1 to 65535", i,
		                  key, json_object_to_json_string(v));
	*out = (unsigned)n;
	return 0;
}

static int port_string(json_object *o, const char *key, size_t i, const char *dflt, char *out,
                       size_t len, uk_err_t *err)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null) ||
	    (json_object_is_type(v, json_type_string) && !*json_object_get_string(v))) {
		snprintf(out, len, "%s", dflt);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return uk_err_bad(err, "ports[%zu].%s: expected a string", i, key);
	if (strlen(json_object_get_string(v)) >= len) {
		snprintf(out, len, "?");
		return 1; /* too long: the caller reports it as invalid */
	}
	snprintf(out, len, "%s", json_object_get_string(v));
	return 0;
}

/* Is (ip) an address a socket on this host can bind? (0.0.0.0 always is.) */
static int ip_is_local(const struct in_addr *a)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = *a};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ok;

	if (fd < 0)
		return 1; /* cannot tell: let the start report it */
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != EADDRNOTAVAIL;
	close(fd);
	return ok;
}

const char *ukd_json_unknown_key(json_object *o, const char *const *known)
{
	json_object_object_foreach(o, key, val)
	{
		int k = 0;
		(void)val;
		while (known[k] && strcmp(key, known[k]))
			k++;
		if (!known[k])
			return key;
	}
	return NULL;
}

static int port_overlaps(const struct ukd_port *a, const struct ukd_port *b)
{
	return a->host_port == b->host_port && !strcmp(a->proto, b->proto) &&
	       (!strcmp(a->host_ip, b->host_ip) || !strcmp(a->host_ip, "0.0.0.0") ||
	        !strcmp(b->host_ip, "0.0.0.0"));
}

static int port_parse_one(json_object *o, size_t i, int check_host, struct ukd_port *p,
                          uk_err_t *err)
{
	const char *key;
	struct in_addr a;
	char ip[64];
	int r;

	if (!json_object_is_type(o, json_type_object))
		return uk_err_bad(
		        err,
		        "ports[%zu]: expected an object like {\"host_ip\": \"127.0.0.1\", "
		        "\"host_port\": 8080, \"guest_port\": 80, \"protocol\": \"tcp\"}",
		        i);
	if ((key = ukd_json_unknown_key(o, port_keys)))
		return uk_err_bad(err,
		                  "ports[%zu]: unknown field \"%s\" (host_ip, host_port, "
		                  "guest_port, protocol)",
		                  i, key);
	if (port_number(o, "host_port", i, 1, &p->host_port, err) < 0 ||
	    port_number(o, "guest_port", i, 1, &p->guest_port, err) < 0)
		return -1;
	if ((r = port_string(o, "protocol", i, "tcp", p->proto, sizeof(p->proto), err)) < 0)
		return -1;
	if (r || (strcmp(p->proto, "tcp") && strcmp(p->proto, "udp")))
		return uk_err_bad(err, "ports[%zu].protocol \"%s\": expected tcp or udp", i,
		                  json_object_get_string(json_object_object_get(o, "protocol")));
	if ((r = port_string(o, "host_ip", i, UKD_PORTS_DEFAULT_IP, ip, sizeof(ip), err)) < 0)
		return -1;
	if (r || inet_pton(AF_INET, ip, &a) != 1)
		return uk_err_bad(err,
		                  "ports[%zu].host_ip \"%s\": expected an IPv4 address like "
		                  "127.0.0.1 (or 0.0.0.0 for every address of this host)",
		                  i, json_object_get_string(json_object_object_get(o, "host_ip")));
	inet_ntop(AF_INET, &a, p->host_ip, sizeof(p->host_ip));
	if (check_host && !ip_is_local(&a))
		return uk_err_bad(err, "ports[%zu].host_ip %s is not an address of this host", i,
		                  p->host_ip);
	return 0;
}

json_object *ukd_port_json(const struct ukd_port *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "host_ip", json_object_new_string(p->host_ip));
	json_object_object_add(o, "host_port", json_object_new_int((int)p->host_port));
	json_object_object_add(o, "guest_port", json_object_new_int((int)p->guest_port));
	json_object_object_add(o, "protocol", json_object_new_string(p->proto));
	return o;
}

int ukd_ports_decode(json_object *v, int check_host, struct ukd_port *out, int *n_out,
                     uk_err_t *err)
{
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return uk_err_bad(err, "ports: expected an array of {\"host_ip\", \"host_port\", "
		                       "\"guest_port\", \"protocol\"} objects");
	n = json_object_array_length(v);
	if (n > UKD_PORTS_MAX)
		return uk_err_bad(err, "ports: at most %d published ports per instance (got %zu)",
		                  UKD_PORTS_MAX, n);
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		if (port_parse_one(json_object_array_get_idx(v, i), i, check_host, &out[i], err) <
		    0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (port_overlaps(&out[i], &out[j]))
				return uk_err_bad(
				        err,
				        "ports[%zu] and ports[%zu] both publish host port "
				        "%s:%u/%s: a host port can be published once",
				        j, i, out[i].host_ip, out[i].host_port, out[i].proto);
	}
	*n_out = (int)n;
	return 0;
}

void ukd_port_format(const struct ukd_port *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u->%u/%s", p->host_ip, p->host_port, p->guest_port, p->proto);
}

int ukd_ports_netdev_arg(const char *id, const struct ukd_port *p, int n, char *buf, size_t len,
                         uk_err_t *err)
{
	/* restrict=on: the guest reaches nothing but the forwarded connections (docs/networking.md)
	 */
	size_t used = (size_t)snprintf(buf, len, "user,id=%s,restrict=on", id);

	for (int i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, ",hostfwd=%s:%s:%u-:%u",
		                         p[i].proto, p[i].host_ip, p[i].host_port, p[i].guest_port);
	if (used >= len)
		return uk_err_bad(err, "too many published ports for one QEMU -netdev argument");
	return 0;
}

static void port_in_use(const struct ukd_port *p, uk_err_t *err)
{
	uk_err_conflict(err,
	                "port %s:%u%s is already in use: stop what holds it or publish "
	                "another host port",
	                p->host_ip, p->host_port, strcmp(p->proto, "udp") ? "" : "/udp");
}

int ukd_ports_check_free(const struct ukd_port *p, int n, uk_err_t *err)
{
	/* Only for the tests of the backend's own mapping of QEMU's bind failure. */
	if (getenv("UKD_TEST_NO_PORT_CHECK"))
		return 0;
	for (int i = 0; i < n; i++) {
		int udp = !strcmp(p[i].proto, "udp"), one = 1, fd, r, e;
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p[i].host_port)};

		inet_pton(AF_INET, p[i].host_ip, &sa.sin_addr);
		fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return uk_err_errno(err, errno, "check port %s:%u", p[i].host_ip,
			                    p[i].host_port);
		/* QEMU's slirp binds its listeners with SO_REUSEADDR: do the same, so a
		 * connection of the previous run in TIME_WAIT is no conflict. */
		if (!udp)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		if (r == 0 && !udp)
			r = listen(fd, 1);
		e = errno;
		close(fd);
		if (r == 0)
			continue;
		if (e == EADDRINUSE) {
			port_in_use(&p[i], err);
			return -1;
		}
		if (e == EADDRNOTAVAIL)
			return uk_err_bad(err, "host_ip %s is not an address of this host",
			                  p[i].host_ip);
		if (e == EACCES)
			return uk_err_bad(err,
			                  "port %s:%u: binding ports below 1024 needs privileges "
			                  "ukd does not have: publish a host port from 1024 up",
			                  p[i].host_ip, p[i].host_port);
		return uk_err_errno(err, e, "bind %s:%u/%s", p[i].host_ip, p[i].host_port,
		                    p[i].proto);
	}
	return 0;
}

int ukd_ports_hostfwd_error(const char *msg, uk_err_t *err)
{
	const char *r = msg ? strstr(msg, "host forwarding rule '") : NULL;
	struct ukd_port p = {0};
	char proto[8] = "", ip[64] = "";
	unsigned hp = 0;

	if (!r)
		return 0;
	r += strlen("host forwarding rule '");
	/* "tcp:IP:HOST-:GUEST", IP possibly empty (QEMU's default, every address) */
	if ((sscanf(r, "%7[a-z]:%63[0-9.]:%u-", proto, ip, &hp) == 3 ||
	     (ip[0] = 0, sscanf(r, "%7[a-z]::%u-", proto, &hp) == 2)) &&
	    hp && hp < 65536) {
		snprintf(p.proto, sizeof(p.proto), "%s", proto);
		snprintf(p.host_ip, sizeof(p.host_ip), "%s", *ip ? ip : "0.0.0.0");
		p.host_port = hp;
		port_in_use(&p, err);
		return -1;
	}
	uk_err_conflict(err, "a published port is already in use (QEMU: %.300s)", msg);
	return -1;
}
