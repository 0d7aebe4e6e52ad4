/* Published ports in the CLI: parsing -p/--publish and printing ports the way Docker does. */
#include "cli.h"

#include <arpa/inet.h>
#include <string.h>

#define PUBLISH_SYNTAX                                                                             \
	"expected [IP:]HOSTPORT:GUESTPORT, [IP::]GUESTPORT (a free host port), each [/tcp|/udp], " \
	"e.g. -p 127.0.0.1:8080:80"

/* A decimal port 1..65535 of (len) characters at (s); 0 if not one. */
static unsigned port_number(const char *s, size_t len)
{
	unsigned v = 0;

	if (!len || len > 5)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= 65535 ? v : 0;
}

int cli_parse_publish(const char *spec, json_object **out, uk_err_t *err)
{
	char ip[64] = "", proto[8] = "tcp";
	const char *slash = strrchr(spec, '/'), *end = slash ? slash : spec + strlen(spec);
	const char *c1, *c2, *hp;
	unsigned host, guest;
	struct in_addr a;
	json_object *o;

	*out = NULL;
	if (slash) {
		if (strcmp(slash + 1, "tcp") && strcmp(slash + 1, "udp"))
			return uk_err_bad(err,
			                  "bad --publish '%s': protocol '%s' is not tcp or udp",
			                  spec, slash + 1);
		snprintf(proto, sizeof(proto), "%s", slash + 1);
	}
	if (spec[0] == '[')
		return uk_err_bad(err, "bad --publish '%s': IPv6 host addresses are not supported",
		                  spec);
	c1 = memchr(spec, ':', (size_t)(end - spec));
	if (!c1) { /* GUESTPORT alone: the daemon picks a free host port */
		if (!(guest = port_number(spec, (size_t)(end - spec))))
			return uk_err_bad(err, "bad --publish '%s': " PUBLISH_SYNTAX, spec);
		o = json_object_new_object();
		json_object_object_add(o, "guest_port", json_object_new_int((int)guest));
		json_object_object_add(o, "protocol", json_object_new_string(proto));
		*out = o;
		return 0;
	}
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (c2 && memchr(c2 + 1, ':', (size_t)(end - c2 - 1)))
		return uk_err_bad(err, "bad --publish '%s': " PUBLISH_SYNTAX, spec);
	hp = c2 ? c1 + 1 : spec;
	if (c2) {
		if ((size_t)(c1 - spec) >= sizeof(ip) || c1 == spec)
			return uk_err_bad(err, "bad --publish '%s': " PUBLISH_SYNTAX, spec);
		memcpy(ip, spec, (size_t)(c1 - spec));
		if (inet_pton(AF_INET, ip, &a) != 1)
			return uk_err_bad(err,
			                  "bad --publish '%s': '%s' is not an IPv4 address (use "
			                  "127.0.0.1, or 0.0.0.0 for every address)",
			                  spec, ip);
	}
	const char *gp = c2 ? c2 + 1 : c1 + 1;
	size_t hlen = (size_t)((c2 ? c2 : c1) - hp), glen = (size_t)(end - gp);
	if (memchr(hp, '-', hlen) || memchr(gp, '-', glen))
		return uk_err_bad(err, "bad --publish '%s': port ranges are not supported", spec);
	if (!hlen && !c2)
		return uk_err_bad(err, "bad --publish '%s': " PUBLISH_SYNTAX, spec);
	host = hlen ? port_number(hp, hlen) : 65536; /* IP::GUESTPORT: the daemon picks */
	guest = port_number(gp, glen);
	if (!host || !guest)
		return uk_err_bad(
		        err,
		        "bad --publish '%s': ports are numbers from 1 to 65535; " PUBLISH_SYNTAX,
		        spec);
	o = json_object_new_object();
	if (ip[0])
		json_object_object_add(o, "host_ip", json_object_new_string(ip));
	if (host <= 65535)
		json_object_object_add(o, "host_port", json_object_new_int((int)host));
	json_object_object_add(o, "guest_port", json_object_new_int((int)guest));
	json_object_object_add(o, "protocol", json_object_new_string(proto));
	*out = o;
	return 0;
}

void cli_port_format(json_object *p, char *buf, size_t len)
{
	const char *ip = cli_jstr(p, "host_ip");

	snprintf(buf, len, "%s:%lld->%lld/%s", *ip ? ip : "127.0.0.1",
	         (long long)cli_jint(p, "host_port", 0), (long long)cli_jint(p, "guest_port", 0),
	         *cli_jstr(p, "protocol") ? cli_jstr(p, "protocol") : "tcp");
}

void cli_ports_column(json_object *ports, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	if (!ports || !json_object_is_type(ports, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(ports) && n + 1 < len; i++) {
		char one[96];

		cli_port_format(json_object_array_get_idx(ports, i), one, sizeof(one));
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", one);
	}
}
