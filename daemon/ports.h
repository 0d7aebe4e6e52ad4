/* Published ports: the API's "ports" validated, rendered, turned into QEMU hostfwd rules, checked
 * free on the host. */
#ifndef UKD_PORTS_H
#define UKD_PORTS_H

#include <json-c/json.h>
#include <stddef.h>

#include "ukd.h"

#define UKD_PORTS_MAX 32
#define UKD_PORTS_DEFAULT_IP "127.0.0.1"
#define UKD_NETDEV_ID "uknet0" /* QEMU's -netdev id, named by the -device that uses it */

/* What QEMU's user networking (slirp) gives the guest; the daemon passes it on the command line
 * (env=UK_IP=..., env=UK_GW=...) so the guest skips DHCP. */
#define UKD_GUEST_IP "10.0.2.15"
#define UKD_GUEST_PREFIX 24
#define UKD_GUEST_GW "10.0.2.2"

struct ukd_port {
	char host_ip[16]; /* dotted IPv4, normalized */
	unsigned host_port;
	unsigned guest_port;
	char proto[4]; /* "tcp" or "udp" */
};

/*
 * Validates the request's "ports" (v): an array of {"host_ip","host_port","guest_port",
 * "protocol"}, host_ip defaulting to 127.0.0.1 and protocol to tcp, into (out) (UKD_PORTS_MAX
 * entries, normalized), the count in (n). 400 in (err): bad types, ports outside 1..65535, a
 * protocol other than tcp/udp, an address that is not IPv4 or (when (check_host)) not on this
 * host, two entries publishing the same host address and port. A stored config is read with
 * (check_host) 0: the address may have gone since its create.
 */
int ukd_ports_decode(json_object *v, int check_host, struct ukd_port *out, int *n, uk_err_t *err);
/* One normalized port, as stored ({"host_ip","host_port","guest_port","protocol"}). */
json_object *ukd_port_json(const struct ukd_port *p);

/* The first key of object (o) not in the NULL-terminated (known), or NULL: request validation
 * (ports, the instance config, its healthcheck) refuses fields it does not know. */
const char *ukd_json_unknown_key(json_object *o, const char *const *known);

/* "127.0.0.1:8080->80/tcp" (Docker's ps notation) into (buf). */
void ukd_port_format(const struct ukd_port *p, char *buf, size_t len);

/*
 * The -netdev argument for QEMU's user networking: "user,id=(id),restrict=on,hostfwd=..." with
 * one hostfwd rule per port. 400 if it does not fit (len).
 */
int ukd_ports_netdev_arg(const char *id, const struct ukd_port *p, int n, char *buf, size_t len,
                         uk_err_t *err);

/*
 * Checks that each host port can be bound now (TCP the way QEMU binds it: SO_REUSEADDR and
 * listen, so a leftover TIME_WAIT is no conflict but a listener is; UDP without SO_REUSEADDR).
 * Racy by nature (the port may be taken between this and QEMU's bind; the backend maps QEMU's
 * failure to the same error). 409 "port IP:PORT is already in use"; 400 if the address is not
 * on this host.
 */
int ukd_ports_check_free(const struct ukd_port *p, int n, uk_err_t *err);

/* Parses QEMU's "Could not set up host forwarding rule 'tcp:IP:H-:G'" out of (msg) and fills
 * (err) with the 409 the API gives for a taken port. Returns -1 if it did, 0 if (msg) is not
 * about a forwarding rule. */
int ukd_ports_hostfwd_error(const char *msg, uk_err_t *err);

#endif
