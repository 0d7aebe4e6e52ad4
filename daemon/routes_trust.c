/* Signature routes: store a signature the client made (the private key never reaches the
 * daemon) in the image's registry, and list an image's signatures with their verification. */
#include "events.h"
#include "log.h"
#include "routes.h"
#include "store.h"
#include "trust.h"

#include <stdio.h>
#include <string.h>

#include "uk/trust.h"

/* The image (path parameter) as a row and as a registry reference; 400 unless its name says
 * which registry holds it. */
static int sig_target(struct ukd *d, struct ukd_req *req, struct ukd_image_row *img,
                      ukimg_regref_t *ref, uk_err_t *err)
{
	const char *name = ukd_req_param(req, 0);

	if (ukd_store_image_resolve(d->store, name, img, err) < 0)
		return -1;
	if (!ukd_trust_names_registry(name))
		return uk_err_bad(err,
		                  "image %s: no registry in the name, so no place for signatures: "
		                  "tag it REGISTRY/REPOSITORY:TAG and push it first",
		                  name);
	return ukimg_ref_parse(name, ref, err);
}

/* The signature in the request body: {"payload","signature","keyid"}, nothing else. */
static int sig_from_body(json_object *body, ukimg_trust_sig_t *sig, uk_err_t *err)
{
	const char *p = NULL, *s = NULL, *k = NULL;

	memset(sig, 0, sizeof(*sig));
	if (!body || !json_object_is_type(body, json_type_object))
		return uk_err_bad(err,
		                  "expected a JSON object {\"payload\",\"signature\",\"keyid\"}");
	json_object_object_foreach(body, key, val)
	{
		const char **dst = !strcmp(key, "payload")     ? &p
		                   : !strcmp(key, "signature") ? &s
		                   : !strcmp(key, "keyid")     ? &k
		                                               : NULL;
		if (!dst)
			return uk_err_bad(err, "unknown field \"%s\"", key);
		if (!json_object_is_type(val, json_type_string))
			return uk_err_bad(err, "\"%s\" must be a string", key);
		*dst = json_object_get_string(val);
	}
	if (!p || !s || !k)
		return uk_err_bad(err, "\"payload\", \"signature\" and \"keyid\" are required");
	if (strlen(p) > UKIMG_TRUST_PAYLOAD_MAX || strlen(s) >= UKIMG_TRUST_SIG_MAX ||
	    strlen(k) != UKIMG_TRUST_KEYID_SIZE - 1 || strspn(k, "0123456789abcdef") != strlen(k))
		return uk_err_bad(err,
		                  "payload (at most %d bytes), signature (base64) or keyid (64 "
		                  "hex digits) malformed",
		                  UKIMG_TRUST_PAYLOAD_MAX);
	sig->payload = strdup(p);
	if (!sig->payload)
		return uk_err_internal(err, "out of memory");
	sig->payload_len = strlen(p);
	snprintf(sig->signature, sizeof(sig->signature), "%s", s);
	snprintf(sig->keyid, sizeof(sig->keyid), "%s", k);
	return 0;
}

/* A signature claiming one of the daemon's trusted keys must verify before it is stored, so a
 * client cannot replace a good signature by that key with a bad one. 1 when it verified by a
 * trusted key, 0 when it claims another key. */
static int sig_check_trusted(struct ukd *d, const char *digest, ukimg_trust_sig_t *sig,
                             uk_err_t *err)
{
	ukimg_trust_sigs_t one = {.n = 1, .v = sig};
	char id[UKIMG_TRUST_KEYID_SIZE];

	for (size_t i = 0; i < d->cfg.trust_nkeys; i++) {
		const char *key = d->cfg.trust_keys[i];

		if (ukimg_trust_keyid(key, id, err) < 0)
			return -1;
		if (strcmp(id, sig->keyid))
			continue;
		if (ukimg_trust_verify(digest, &one, &key, 1, NULL, err) != UKIMG_TRUST_OK) {
			err->status = 400;
			snprintf(err->code, sizeof(err->code), "bad_request");
			return -1;
		}
		return 1;
	}
	return 0;
}

void ukd_route_image_sign(struct ukd *d, struct ukd_req *req)
{
	struct ukd_image_row img;
	ukimg_regref_t ref;
	struct ukd_reg_opts ro = {0};
	ukimg_trust_sig_t sig = {0};
	char tag[UKIMG_TAG_MAX];
	uk_err_t err = {0};
	json_object *o;
	int trusted = 0;

	if (sig_target(d, req, &img, &ref, &err) < 0 ||
	    ukd_route_reg_opts(d, req, ref.registry, &ro, &err) < 0 ||
	    sig_from_body(ukd_req_json(req), &sig, &err) < 0 ||
	    (trusted = sig_check_trusted(d, img.manifest, &sig, &err)) < 0 ||
	    ukimg_trust_put(&ref, img.manifest, &sig, &ro.o, &err) < 0) {
		ukd_reg_opts_clear(&ro);
		ukimg_trust_sig_clear(&sig);
		uk_err_wrap(&err, "sign %s", ukd_req_param(req, 0));
		ukd_reply_error(req, &err);
		return;
	}
	ukd_reg_opts_clear(&ro);
	ukimg_trust_sig_clear(&sig);
	if (trusted)
		ukd_trust_remember(img.manifest);
	ukimg_trust_sig_tag(img.manifest, tag);
	log_info("trust", "signature by key %.16s stored for %s (%s)", sig.keyid,
	         ukd_req_param(req, 0), img.manifest);
	ukd_events_emit(d, "image", "sign", img.id, ukd_req_param(req, 0), NULL);
	o = json_object_new_object();
	json_object_object_add(o, "digest", json_object_new_string(img.manifest));
	json_object_object_add(o, "tag", json_object_new_string(tag));
	json_object_object_add(o, "keyid", json_object_new_string(sig.keyid));
	ukd_reply_json(req, 201, o);
}

static const char *result_name(int r)
{
	switch (r) {
	case UKIMG_TRUST_OK:
		return "ok";
	case UKIMG_TRUST_UNSIGNED:
		return "unsigned";
	case UKIMG_TRUST_BAD_SIGNATURE:
		return "bad_signature";
	case UKIMG_TRUST_NO_TRUSTED_KEY:
		return "no_trusted_key";
	}
	return "error";
}

static json_object *sigs_json(const ukimg_trust_sigs_t *sigs)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < sigs->n; i++) {
		json_object *s = json_object_new_object();
		char d[UKIMG_DIGEST_SIZE] = "", r[600] = "";
		uk_err_t perr = {0};

		ukimg_trust_payload_parse(sigs->v[i].payload, sigs->v[i].payload_len, d, r,
		                          sizeof(r), &perr);
		json_object_object_add(s, "keyid", json_object_new_string(sigs->v[i].keyid));
		json_object_object_add(s, "payload_digest",
		                       json_object_new_string(sigs->v[i].payload_digest));
		json_object_object_add(s, "signed_digest", json_object_new_string(d));
		json_object_object_add(s, "docker_reference", json_object_new_string(r));
		json_object_array_add(a, s);
	}
	return a;
}

void ukd_route_image_signatures(struct ukd *d, struct ukd_req *req)
{
	struct ukd_image_row img;
	ukimg_regref_t ref;
	struct ukd_reg_opts ro = {0};
	ukimg_trust_sigs_t *sigs = NULL;
	char id[UKIMG_TRUST_KEYID_SIZE] = "", tag[UKIMG_TAG_MAX];
	uk_err_t err = {0}, verr = {0};
	json_object *o, *v;
	int r;

	if (sig_target(d, req, &img, &ref, &err) < 0 ||
	    ukd_route_reg_opts(d, req, ref.registry, &ro, &err) < 0 ||
	    !(sigs = ukimg_trust_fetch(&ref, img.manifest, &ro.o, &err))) {
		ukd_reg_opts_clear(&ro);
		uk_err_wrap(&err, "signatures of %s", ukd_req_param(req, 0));
		ukd_reply_error(req, &err);
		return;
	}
	ukd_reg_opts_clear(&ro);
	ukimg_trust_sig_tag(img.manifest, tag);
	o = json_object_new_object();
	v = json_object_new_object();
	json_object_object_add(o, "digest", json_object_new_string(img.manifest));
	json_object_object_add(o, "tag", json_object_new_string(tag));
	json_object_object_add(o, "signatures", sigs_json(sigs));
	if (d->cfg.trust_nkeys) {
		r = ukimg_trust_verify(img.manifest, sigs, (const char *const *)d->cfg.trust_keys,
		                       d->cfg.trust_nkeys, id, &verr);
		json_object_object_add(v, "result", json_object_new_string(result_name(r)));
		json_object_object_add(v, "message", json_object_new_string(verr.message));
		json_object_object_add(v, "keyid", json_object_new_string(id));
	} else {
		json_object_object_add(v, "result", json_object_new_string("no_keys"));
		json_object_object_add(
		        v, "message",
		        json_object_new_string("the daemon trusts no keys (daemon.json "
		                               "\"trust\": {\"keys\": [...]})"));
		json_object_object_add(v, "keyid", json_object_new_string(""));
	}
	json_object_object_add(o, "verification", v);
	json_object_object_add(o, "require_signed",
	                       json_object_new_boolean(d->cfg.trust_require_signed));
	ukimg_trust_sigs_free(sigs);
	ukd_reply_json(req, 200, o);
}
