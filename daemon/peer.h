/* Who is calling ukd: TLS client certificates checked against the CA, unix socket peer
 * credentials; what they may do (read-only clients). */
#ifndef UKD_PEER_H
#define UKD_PEER_H

#include <microhttpd.h>

#include "ukd.h"

/* The organisational unit that makes a client certificate read-only (GET and HEAD only). */
#define UKD_PEER_READONLY_OU "uk-readonly"

struct ukd_peer {
	char who[600]; /* "pid 12 uid 0 gid 0", "CN=ci,O=uk" or "127.0.0.1:5555" */
	int readonly;
};

/*
 * Checks the TLS client of (conn): its certificate must chain to the daemon's CA (as
 * loaded into libmicrohttpd), be within its dates and allow client authentication. Fills
 * (peer) and returns 0, or returns -1 with (err) 403 saying why.
 */
int ukd_peer_tls(struct MHD_Connection *conn, struct ukd_peer *peer, uk_err_t *err);

/* Fills (peer) for a plain connection: SO_PEERCRED on a unix socket, else the address. */
void ukd_peer_plain(struct MHD_Connection *conn, struct ukd_peer *peer);

/* A method that changes nothing (GET, HEAD). */
int ukd_peer_method_reads(const char *method);

#endif
