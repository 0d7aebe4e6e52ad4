/* ukd's HTTP server: listeners on unix and TCP(+TLS) sockets dispatching to the route table
 * (routes.h, through router.h); route handlers need only req.h. */
#ifndef UKD_HTTP_H
#define UKD_HTTP_H

#include "req.h"
#include "ukd.h"

/* Starts a listener on (host) ("unix://PATH" or "tcp://IP:PORT") serving (routes). */
struct ukd_http *ukd_http_start(struct ukd *d, const char *host, uk_err_t *err);
/* Shutdown, first step: accepts no more connections (the unix socket is removed); requests on
 * open connections are answered 503 once d->stopping is set. */
void ukd_http_quiesce(struct ukd_http *h);
/* Closes every connection and frees (h); -1 if a request handler still runs at (until) (ns,
 * ukd_now_ns): (h) then stays allocated for it. */
int ukd_http_stop(struct ukd_http *h, int64_t until);

#endif
