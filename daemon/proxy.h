/* Published ports on uk networks: one epoll thread relaying host connections to guests. */
#ifndef UKD_PROXY_H
#define UKD_PROXY_H

#include <netinet/in.h>

#include "ports.h"
#include "ukd.h"

/*
 * Contract (docs/networking.md, "Published ports"). One thread serves every published port of
 * a ukd: it accepts on a listener with a real backlog (4096, never slirp's 1), connects to the
 * guest without blocking (retrying ECONNREFUSED/EHOSTUNREACH 50 times 100 ms apart: a guest
 * still booting gets 5 s to listen), and relays both directions with TCP_NODELAY, half-close
 * (a FIN is passed on once the data before it is) and back-pressure (a side that cannot take
 * more stops the other side's reads). A UDP port relays each client address through a socket
 * of its own connected to the guest, dropped after 60 s without traffic.
 */

struct ukd_proxy;

/* Starts the thread; NULL with (err) set on failure. */
struct ukd_proxy *ukd_proxy_new(uk_err_t *err);
/* Stops the thread and closes every listener and connection; NULL is a no-op. */
void ukd_proxy_free(struct ukd_proxy *px);

/*
 * Binds (port)'s host address and relays what comes in to (guest), on behalf of (owner) (an
 * instance id). The bind happens here: 409 "port IP:PORT is already in use" when taken.
 */
int ukd_proxy_add(struct ukd_proxy *px, const char *owner, const struct ukd_port *port,
                  const struct sockaddr_in *guest, uk_err_t *err);

/* Closes the listeners of (owner) (NULL: all) and their connections; when it returns, the host
 * ports are free to bind again. */
void ukd_proxy_remove(struct ukd_proxy *px, const char *owner);

#endif
