/* Image trust in ukd: the daemon.json "trust" policy, the checks pull and run make, and the
 * signature routes. */
#ifndef UKD_TRUST_H
#define UKD_TRUST_H

#include <json-c/json.h>

#include "store.h"
#include "ukd.h"
#include "uk/registry.h"

/* Reads daemon.json's "trust" object ({"require_signed": bool, "keys": ["/abs/key.pub", ...]})
 * into (cfg); every key must be a readable Ed25519 public key. 400 naming what is wrong. */
int ukd_trust_config(struct ukd_config *cfg, json_object *v, uk_err_t *err);
void ukd_trust_config_free(struct ukd_config *cfg);

/*
 * The pull path's check: with "require_signed", fetches the signatures of (digest) from the
 * repository (ref) names (auth MAY be NULL) and verifies them against the configured keys.
 * 0 when allowed (or no policy); else -1 with a 403 saying why ("image ... is not signed", "...
 * by no trusted key", "... signature ... is bad"), or the registry's error.
 */
int ukd_trust_check(struct ukd *d, const char *ref, const char *digest, const ukimg_auth_t *auth,
                    uk_err_t *err);

/* Records that a trusted key's signature over (digest) verified (ukd_trust_check does it
 * itself): the run check then accepts (digest) without asking the registry again. */
void ukd_trust_remember(const char *digest);

/* 1 if (name) starts with a registry host the way Docker reads it ("host.tld/", "host:port/",
 * "localhost/"): only such names are looked up for signatures, never a default registry. */
int ukd_trust_names_registry(const char *name);

/* The run path's check: the image is allowed when one of its registry names ("host[:port]/...")
 * carries a valid signature (ukd_trust_check); an image with no such name is refused. */
int ukd_trust_check_image(struct ukd *d, const struct ukd_image_row *img, const char *what,
                          uk_err_t *err);

#endif
