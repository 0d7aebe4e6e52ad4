/* The TLS listener's door for connections that have not yet shown a client certificate: a few
 * per client address and a few in all, each for a bounded time (docs/security.md). */
#ifndef UKD_HTTP_GATE_H
#define UKD_HTTP_GATE_H

#include <sys/socket.h>

#include "ukd.h"

struct ukd_http_gate;

struct ukd_http_gate_limits {
	unsigned timeout_s; /* from accept to the first certified request */
	unsigned max;       /* such connections in all */
	unsigned per_ip;    /* such connections from one client address */
};

/* A gate with (lim) and the thread that closes connections past their deadline; NULL with
 * (err) when the thread cannot start. */
struct ukd_http_gate *ukd_http_gate_new(const struct ukd_http_gate_limits *lim, uk_err_t *err);
/* Stops the thread and frees (g) (NULL: nothing); call it once no connection can enter. */
void ukd_http_gate_free(struct ukd_http_gate *g);

/* May a connection just accepted from (addr) begin? 0 when its address or the gate is full.
 * Called by the one thread that accepts, which then calls ukd_http_gate_enter for it. */
int ukd_http_gate_admit(struct ukd_http_gate *g, const struct sockaddr *addr);
/* Counts the admitted connection (key) on socket (fd) from (addr); its deadline starts now.
 * Until ukd_http_gate_leave, the gate may shut (fd) down (never close it). */
void ukd_http_gate_enter(struct ukd_http_gate *g, const void *key, int fd,
                         const struct sockaddr *addr);
/* (key) showed a valid certificate or closed: it no longer counts (unknown keys: no-op). */
void ukd_http_gate_leave(struct ukd_http_gate *g, const void *key);
/* How many connections are counted now (for tests). */
unsigned ukd_http_gate_count(struct ukd_http_gate *g);

#endif
