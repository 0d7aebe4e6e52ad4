/* What the registry client gets for one registry: its transport (http for loopback and
 * insecure-registries, TLS with certs.d's CA) and credentials (X-Registry-Auth, never stored). */
#include "registry_opts.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ukd_reg_opts_clear(struct ukd_reg_opts *ro)
{
	uk_regauth_clear(&ro->auth);
	memset(ro, 0, sizeof(*ro));
}

static int registry_is_insecure(struct ukd *d, const char *registry)
{
	for (int i = 0; i < d->cfg.ninsecure; i++)
		if (!strcmp(d->cfg.insecure_registries[i], registry))
			return 1;
	return 0;
}

/*
 * Transport for (registry): plain http for loopback and insecure-registries; TLS when
 * CERTS_DIR/REGISTRY/ exists (with its ca.crt when there is one). (want_http): the client
 * named an http:// server; refused before any connection unless the registry may use it.
 */
int ukd_reg_opts_transport(struct ukd *d, const char *registry, int want_http,
                           struct ukd_reg_opts *ro, uk_err_t *err)
{
	char dir[sizeof(ro->ca_file) - 8];
	struct stat st;

	ro->o.insecure = registry_is_insecure(d, registry);
	if (want_http && !ro->o.insecure && !ukimg_registry_is_local(registry))
		return uk_err_bad(
		        err,
		        "registry %s: plain http refused: it is neither a loopback address "
		        "nor in insecure-registries (add \"%s\" to insecure-registries in "
		        "daemon.json or pass --insecure-registry %s to ukd)",
		        registry, registry, registry);
	snprintf(dir, sizeof(dir), "%s/%s", d->cfg.registry_certs_dir, registry);
	if (!want_http && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		ro->o.tls = 1;
		ro->o.insecure = 0;
		snprintf(ro->ca_file, sizeof(ro->ca_file), "%s/ca.crt", dir);
		if (access(ro->ca_file, R_OK) == 0)
			ro->o.ca_file = ro->ca_file;
	}
	return 0;
}

int ukd_reg_opts_auth(struct ukd_reg_opts *ro, const char *h, const char *registry, uk_err_t *err)
{
	char server[UK_REGAUTH_SERVER_MAX];

	if (!h || !*h)
		return 0;
	if (uk_regauth_decode(h, &ro->auth, err) < 0)
		return -1;
	if (ro->auth.serveraddress && *ro->auth.serveraddress &&
	    (uk_regauth_server(ro->auth.serveraddress, server, NULL, err) < 0 ||
	     strcmp(server, registry)))
		return uk_err_bad(err, UK_REGAUTH_HEADER " holds credentials for %s, not for %s",
		                  ro->auth.serveraddress, registry);
	if (ro->auth.username && *ro->auth.username) {
		ro->creds.username = ro->auth.username;
		ro->creds.password = ro->auth.password ? ro->auth.password : "";
		ro->o.auth = &ro->creds;
	}
	return 0;
}

int ukd_reg_opts_init(struct ukd *d, const char *registry, struct ukd_reg_opts *ro, uk_err_t *err)
{
	memset(ro, 0, sizeof(*ro));
	if (ukd_reg_opts_transport(d, registry, 0, ro, err) < 0) {
		ukd_reg_opts_clear(ro);
		return -1;
	}
	return 0;
}

/* Adds what to do to a TLS failure's message. */
void ukd_reg_hint(struct ukd *d, const char *registry, uk_err_t *err)
{
	if (strstr(err->message, "SSL") || strstr(err->message, "certificate"))
		snprintf(err->message + strlen(err->message),
		         sizeof(err->message) - strlen(err->message),
		         " (TLS: if %s uses a private CA, put it in %s/%s/ca.crt)", registry,
		         d->cfg.registry_certs_dir, registry);
}
