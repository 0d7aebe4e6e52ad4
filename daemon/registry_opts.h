/* What the registry client (ukimages) gets for one registry: its transport and the credentials a
 * request carried. Pull, push, login and the trust checks settle it here, with or without a
 * request. */
#ifndef UKD_REGISTRY_OPTS_H
#define UKD_REGISTRY_OPTS_H

#include <limits.h>

#include "uk/regauth.h"
#include "uk/registry.h"
#include "ukd.h"

struct ukd_reg_opts {
	uk_regauth_t auth; /* decoded X-Registry-Auth */
	ukimg_auth_t creds;
	char ca_file[PATH_MAX + UK_REGAUTH_SERVER_MAX + 16];
	ukimg_registry_opts_t o; /* what to hand ukimg_push/pull/trust */
};

/* Settles (ro) for (registry), anonymous: plain http for loopback and insecure-registries, https
 * (with REGISTRY_CERTS_DIR/REGISTRY/ca.crt when present) otherwise. */
int ukd_reg_opts_init(struct ukd *d, const char *registry, struct ukd_reg_opts *ro, uk_err_t *err);
/* The transport part alone; (want_http): the client named an http:// server (400 unless the
 * registry may use it, before any connection). */
int ukd_reg_opts_transport(struct ukd *d, const char *registry, int want_http,
                           struct ukd_reg_opts *ro, uk_err_t *err);
/* Adds the credentials of an X-Registry-Auth value (header) (NULL, empty or without a username:
 * anonymous) to (ro); 400 when they name another server than (registry). */
int ukd_reg_opts_auth(struct ukd_reg_opts *ro, const char *header, const char *registry,
                      uk_err_t *err);
/* Wipes the credentials in (ro). */
void ukd_reg_opts_clear(struct ukd_reg_opts *ro);
/* Adds the certs.d hint to a TLS failure's message. */
void ukd_reg_hint(struct ukd *d, const char *registry, uk_err_t *err);

#endif
