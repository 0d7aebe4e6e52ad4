/* Matches a method and URL path against a route table; pure, so tests and fuzzers can call it. */
#ifndef UKD_ROUTER_H
#define UKD_ROUTER_H

#include "req.h"

#define UKD_ROUTER_MAX_PARAMS 4

struct ukd_match {
	const struct ukd_route *route; /* NULL unless status == 0 */
	char *params[UKD_ROUTER_MAX_PARAMS];
	int nparams;
	int status; /* 0 matched, 404 no such path, 405 path without this method, 414 too long */
};

/* Fills (m); free its params with ukd_router_clear(). */
void ukd_router_match(const struct ukd_route *table, const char *method, const char *url,
                      struct ukd_match *m);
void ukd_router_clear(struct ukd_match *m);

/* Checks the request target (raw) as the client sent it, before libmicrohttpd decodes it:
 * 414 longer than UKD_HTTP_URL_MAX; 400 with a NUL anywhere (raw or %00: decoding would cut
 * the path or a query value short) or another control character in the path, raw or
 * %-encoded (%0A, %1B); else 0. (why) receives the reason for a non-zero status. */
int ukd_router_check_target(const char *raw, const char **why);

#endif
