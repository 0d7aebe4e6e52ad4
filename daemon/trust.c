/* Image trust policy (daemon.json "trust"): which public keys the daemon trusts, and the checks
 * that make pull and run refuse images not signed by one of them. */
#include "trust.h"
#include "log.h"
#include "registry_opts.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "uk/trust.h"

#define TRUST_MAX_KEYS 64
#define TRUST_TIMEOUT_SEC 60
#define TRUST_CACHE 1024

/* Manifest digests a trusted key's signature was verified for since ukd started (pull, sign,
 * run): a later run needs no registry round trip. The keys are fixed for the daemon's life, so
 * a verdict stays true; a signature deleted from the registry afterwards is not noticed until
 * ukd restarts (docs/daemon.md). A ring: the oldest verdict goes first. */
static char trust_cache[TRUST_CACHE][UKIMG_DIGEST_SIZE];
static size_t trust_cache_next;
static pthread_mutex_t trust_cache_lock = PTHREAD_MUTEX_INITIALIZER;

void ukd_trust_remember(const char *digest)
{
	pthread_mutex_lock(&trust_cache_lock);
	snprintf(trust_cache[trust_cache_next++ % TRUST_CACHE], UKIMG_DIGEST_SIZE, "%s", digest);
	pthread_mutex_unlock(&trust_cache_lock);
}

static int trust_known(const char *digest)
{
	int found = 0;

	pthread_mutex_lock(&trust_cache_lock);
	for (size_t i = 0; i < TRUST_CACHE && !found; i++)
		found = !strcmp(trust_cache[i], digest);
	pthread_mutex_unlock(&trust_cache_lock);
	return found;
}

void ukd_trust_config_free(struct ukd_config *cfg)
{
	for (size_t i = 0; i < cfg->trust_nkeys; i++)
		free(cfg->trust_keys[i]);
	free(cfg->trust_keys);
	cfg->trust_keys = NULL;
	cfg->trust_nkeys = 0;
	cfg->trust_require_signed = 0;
}

static int trust_add_key(struct ukd_config *cfg, json_object *k, size_t i, uk_err_t *err)
{
	char id[UKIMG_TRUST_KEYID_SIZE];
	const char *path = json_object_get_string(k);

	if (!json_object_is_type(k, json_type_string) || path[0] != '/')
		return uk_err_bad(err,
		                  "trust.keys[%zu]: expected the absolute path of a public key", i);
	if (ukimg_trust_keyid(path, id, err) < 0)
		return uk_err_wrap(err, "trust.keys[%zu]", i);
	cfg->trust_keys[cfg->trust_nkeys] = strdup(path);
	if (!cfg->trust_keys[cfg->trust_nkeys])
		return uk_err_internal(err, "trust: out of memory");
	cfg->trust_nkeys++;
	log_debug("trust", "trusted key %.16s: %s", id, path);
	return 0;
}

int ukd_trust_config(struct ukd_config *cfg, json_object *v, uk_err_t *err)
{
	json_object *req = NULL, *keys = NULL;
	size_t n;

	ukd_trust_config_free(cfg);
	if (!json_object_is_type(v, json_type_object))
		return uk_err_bad(err, "trust: expected an object with require_signed and keys");
	json_object_object_foreach(v, key, val)
	{
		if (!strcmp(key, "require_signed"))
			req = val;
		else if (!strcmp(key, "keys"))
			keys = val;
		else
			return uk_err_bad(err, "trust: unknown setting %s", key);
	}
	if (req && !json_object_is_type(req, json_type_boolean))
		return uk_err_bad(err, "trust.require_signed: expected true or false");
	if (keys && !json_object_is_type(keys, json_type_array))
		return uk_err_bad(err, "trust.keys: expected an array of public key paths");
	n = keys ? json_object_array_length(keys) : 0;
	if (n > TRUST_MAX_KEYS)
		return uk_err_bad(err, "trust.keys: at most %d keys", TRUST_MAX_KEYS);
	cfg->trust_keys = calloc(n ? n : 1, sizeof(char *));
	if (!cfg->trust_keys)
		return uk_err_internal(err, "trust: out of memory");
	for (size_t i = 0; i < n; i++)
		if (trust_add_key(cfg, json_object_array_get_idx(keys, i), i, err) < 0) {
			ukd_trust_config_free(cfg);
			return -1;
		}
	cfg->trust_require_signed = req && json_object_get_boolean(req);
	if (cfg->trust_require_signed && !n) {
		ukd_trust_config_free(cfg);
		return uk_err_bad(err,
		                  "trust: require_signed needs at least one key in trust.keys");
	}
	return 0;
}

int ukd_trust_check(struct ukd *d, const char *ref, const char *digest, const ukimg_auth_t *auth,
                    uk_err_t *err)
{
	struct ukd_reg_opts ro;
	ukimg_regref_t r;
	ukimg_trust_sigs_t *sigs;
	char id[UKIMG_TRUST_KEYID_SIZE];
	int res;

	if (!d->cfg.trust_require_signed)
		return 0;
	if (ukimg_ref_parse(ref, &r, err) < 0 || ukd_reg_opts_init(d, r.registry, &ro, err) < 0)
		return -1;
	ro.o.auth = auth;
	ro.o.timeout_sec = TRUST_TIMEOUT_SEC;
	sigs = ukimg_trust_fetch(&r, digest, &ro.o, err);
	ukd_reg_opts_clear(&ro);
	if (!sigs)
		return uk_err_wrap(err, "check the signatures of %s", ref);
	res = ukimg_trust_verify(digest, sigs, (const char *const *)d->cfg.trust_keys,
	                         d->cfg.trust_nkeys, id, err);
	ukimg_trust_sigs_free(sigs);
	if (res != UKIMG_TRUST_OK) {
		log_info("trust", "%s (%s) refused: %s", ref, digest, err->message);
		return uk_err_wrap(err, "%s", ref);
	}
	log_debug("trust", "%s (%s): signed by trusted key %.16s", ref, digest, id);
	ukd_trust_remember(digest);
	return 0;
}

int ukd_trust_names_registry(const char *name)
{
	const char *slash = strchr(name, '/');
	size_t n = slash ? (size_t)(slash - name) : 0;

	return n && (memchr(name, '.', n) || memchr(name, ':', n) ||
	             (n == 9 && !strncmp(name, "localhost", 9)));
}

/* How bad a refusal is, so the most telling one is reported. */
static int refusal_rank(const uk_err_t *e)
{
	if (!strcmp(e->code, "bad_signature"))
		return 3;
	if (!strcmp(e->code, "untrusted"))
		return 2;
	return strcmp(e->code, "unsigned") ? 0 : 1;
}

int ukd_trust_check_image(struct ukd *d, const struct ukd_image_row *img, const char *what,
                          uk_err_t *err)
{
	json_object *tags;
	uk_err_t best = {0}, e;
	size_t n;

	if (!d->cfg.trust_require_signed || trust_known(img->manifest))
		return 0;
	tags = ukd_store_image_tags(d->store, img->id, err);
	if (!tags)
		return -1;
	n = json_object_array_length(tags);
	for (size_t i = 0; i < n; i++) {
		const char *t = json_object_get_string(json_object_array_get_idx(tags, i));

		if (!ukd_trust_names_registry(t))
			continue;
		memset(&e, 0, sizeof(e));
		if (ukd_trust_check(d, t, img->manifest, NULL, &e) == 0) {
			json_object_put(tags);
			return 0;
		}
		if (!best.status || refusal_rank(&e) > refusal_rank(&best))
			best = e;
	}
	json_object_put(tags);
	if (best.status) {
		*err = best;
		return uk_err_wrap(err, "%s: the daemon requires signed images", what);
	}
	return uk_err_set(
	        err, 403, "unsigned",
	        "%s: the daemon requires signed images, and image %s has no registry name "
	        "to find signatures under: tag it REGISTRY/REPOSITORY:TAG, push it and "
	        "sign it (uk trust sign)",
	        what, img->manifest);
}
