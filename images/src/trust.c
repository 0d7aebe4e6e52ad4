/* Image signatures: Ed25519 keys and signing with OpenSSL EVP, cosign-style .sig manifests in the
 * registry, and verification against a list of trusted public keys. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "internal.h"
#include "uk/trust.h"

#define ED25519_SIG_LEN 64
#define SIG_B64_LEN 88 /* 4 * ceil(64 / 3) */
#define KEYFILE_MAX 16384

static void pkey_freep(EVP_PKEY **k)
{
	EVP_PKEY_free(*k);
}
#define _cleanup_pkey_ __attribute__((cleanup(pkey_freep)))

void ukimg_trust_sig_clear(ukimg_trust_sig_t *sig)
{
	if (!sig)
		return;
	free(sig->payload);
	sig->payload = NULL;
	sig->payload_len = 0;
}

void ukimg_trust_sigs_free(ukimg_trust_sigs_t *sigs)
{
	if (!sigs)
		return;
	for (size_t i = 0; i < sigs->n; i++)
		ukimg_trust_sig_clear(&sigs->v[i]);
	free(sigs->v);
	free(sigs);
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int pkey_keyid(EVP_PKEY *k, char keyid[UKIMG_TRUST_KEYID_SIZE], uk_err_t *err)
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int len = i2d_PUBKEY(k, &der);

	if (len <= 0)
		return uk_err_internal(err, "trust: cannot encode a public key");
	if (!EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		OPENSSL_free(der);
		return uk_err_internal(err, "trust: sha256 failed");
	}
	OPENSSL_free(der);
	hex(md, 32, keyid);
	return 0;
}

/* Loads an Ed25519 key (private if (priv), else public; a public load also takes a private
 * key file and uses its public half). */
static EVP_PKEY *key_load(const char *path, int priv, uk_err_t *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	BIO *bio;
	EVP_PKEY *k = NULL;

	if (uk_read_file(path, KEYFILE_MAX, &buf, &len, err) < 0) {
		uk_err_wrap(err, "trust: key %s", path);
		return NULL;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio) {
		uk_err_internal(err, "trust: out of memory");
		return NULL;
	}
	if (priv || strstr(buf, "PRIVATE KEY-----"))
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	else
		k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);
	if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		uk_err_bad(err, "trust: %s is not an Ed25519 %s key in PEM form", path,
		           priv ? "private" : "public");
		return NULL;
	}
	return k;
}

int ukimg_trust_keyid(const char *key_path, char keyid[UKIMG_TRUST_KEYID_SIZE], uk_err_t *err)
{
	_cleanup_pkey_ EVP_PKEY *k = key_load(key_path, 0, err);

	return k ? pkey_keyid(k, keyid, err) : -1;
}

/* Writes (buf) to a temp file beside (path) with (mode), then links it to (path): 409 if that
 * exists. Nothing is left behind on failure. */
static int write_new_file(const char *path, const char *buf, size_t len, mode_t mode, uk_err_t *err)
{
	char tmp[PATH_MAX];
	_cleanup_close_ int fd = -1;
	int rv = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp))
		return uk_err_bad(err, "trust: path too long: %s", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return uk_err_errno(err, errno, "trust: create %s", tmp);
	if (fchmod(fd, mode) < 0 || uk_write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		uk_err_errno(err, errno, "trust: write %s", tmp);
		goto out;
	}
	if (link(tmp, path) < 0) {
		if (errno == EEXIST)
			uk_err_conflict(err, "trust: %s already exists; not overwriting a key",
			                path);
		else
			uk_err_errno(err, errno, "trust: create %s", path);
		goto out;
	}
	rv = 0;
out:
	unlink(tmp);
	return rv;
}

/* PEM of (k) (private or public) into a malloc'ed buffer. */
static char *pem_encode(EVP_PKEY *k, int priv, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out = NULL;
	long n;
	int ok;

	if (!bio)
		return NULL;
	ok = priv ? PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)
	          : PEM_write_bio_PUBKEY(bio, k);
	n = BIO_get_mem_data(bio, &data);
	if (ok && n > 0 && (out = malloc((size_t)n + 1))) {
		memcpy(out, data, (size_t)n);
		out[n] = 0;
		*len = (size_t)n;
	}
	BIO_free(bio);
	return out;
}

int ukimg_trust_keygen(const char *priv_path, const char *pub_path,
                       char keyid[UKIMG_TRUST_KEYID_SIZE], uk_err_t *err)
{
	_cleanup_pkey_ EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	_cleanup_free_ char *pub = NULL;
	char *priv = NULL, id[UKIMG_TRUST_KEYID_SIZE];
	size_t privlen = 0, publen = 0;
	int rv;

	if (!k)
		return uk_err_internal(err, "trust: Ed25519 key generation failed");
	if (pkey_keyid(k, id, err) < 0)
		return -1;
	priv = pem_encode(k, 1, &privlen);
	pub = pem_encode(k, 0, &publen);
	if (!priv || !pub) {
		free(priv);
		return uk_err_internal(err, "trust: cannot encode the key pair");
	}
	rv = write_new_file(priv_path, priv, privlen, 0600, err);
	OPENSSL_cleanse(priv, privlen);
	free(priv);
	if (rv < 0)
		return -1;
	if (write_new_file(pub_path, pub, publen, 0644, err) < 0) {
		unlink(priv_path);
		return -1;
	}
	if (keyid)
		memcpy(keyid, id, UKIMG_TRUST_KEYID_SIZE);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Payloads                                                                                    */

/* A docker-reference as we write it: host[:port]/path, the reference grammar's characters. */
static int reference_valid(const char *r)
{
	size_t n = strlen(r);

	if (!n || n >= UKIMG_REGISTRY_MAX + UKIMG_REPO_MAX || !strchr(r, '/'))
		return 0;
	for (const char *c = r; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("._-:/", *c)))
			return 0;
	return 1;
}

int ukimg_trust_payload(const char *manifest_digest, const char *docker_reference, char **out,
                        size_t *len, uk_err_t *err)
{
	int n;

	if (!ukimg_digest_valid(manifest_digest))
		return uk_err_bad(err, "trust: invalid manifest digest");
	if (!reference_valid(docker_reference))
		return uk_err_bad(
		        err, "trust: invalid docker-reference \"%s\" (want registry/repository)",
		        docker_reference);
	n = asprintf(out,
	             "{\"critical\":{\"identity\":{\"docker-reference\":\"%s\"},\"image\":{"
	             "\"docker-manifest-digest\":\"%s\"},\"type\":\"" UKIMG_TRUST_TYPE
	             "\"},\"optional\":null}",
	             docker_reference, manifest_digest);
	if (n < 0)
		return uk_err_internal(err, "trust: out of memory");
	*len = (size_t)n;
	return 0;
}

/* The object at key (k) of (o), or NULL. */
static json_object *obj_get(json_object *o, const char *k)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

int ukimg_trust_payload_parse(const char *buf, size_t len, char digest[UKIMG_DIGEST_SIZE],
                              char *reference, size_t reflen, uk_err_t *err)
{
	_cleanup_json_ json_object *o = NULL;
	json_object *crit;
	const char *d, *r, *t;

	if (len > UKIMG_TRUST_PAYLOAD_MAX)
		return uk_err_bad(err, "signature payload: larger than %d bytes",
		                  UKIMG_TRUST_PAYLOAD_MAX);
	o = uk_json_parse_exact(buf, len);
	if (!o || !json_object_is_type(o, json_type_object))
		return uk_err_bad(err, "signature payload: not a JSON object");
	crit = obj_get(o, "critical");
	t = uk_json_str(crit, "type");
	d = uk_json_str(obj_get(crit, "image"), "docker-manifest-digest");
	r = uk_json_str(obj_get(crit, "identity"), "docker-reference");
	if (!t || strcmp(t, UKIMG_TRUST_TYPE))
		return uk_err_bad(err, "signature payload: critical.type is not \"%s\"",
		                  UKIMG_TRUST_TYPE);
	if (!d || !ukimg_digest_valid(d))
		return uk_err_bad(err, "signature payload: no valid "
		                       "critical.image.docker-manifest-digest");
	if (!r || !reference_valid(r))
		return uk_err_bad(err, "signature payload: no valid "
		                       "critical.identity.docker-reference");
	snprintf(digest, UKIMG_DIGEST_SIZE, "%s", d);
	if (reference && snprintf(reference, reflen, "%s", r) >= (int)reflen)
		return uk_err_bad(err, "signature payload: docker-reference too long");
	return 0;
}

int ukimg_trust_sign_payload(const char *priv_path, const char *manifest_digest,
                             const char *docker_reference, ukimg_trust_sig_t *out, uk_err_t *err)
{
	_cleanup_pkey_ EVP_PKEY *k = NULL;
	unsigned char sig[ED25519_SIG_LEN];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = NULL;
	ukimg_trust_sig_t s = {0};
	int ok;

	if (ukimg_trust_payload(manifest_digest, docker_reference, &s.payload, &s.payload_len,
	                        err) < 0)
		return -1;
	k = key_load(priv_path, 1, err);
	if (!k || pkey_keyid(k, s.keyid, err) < 0)
		goto fail;
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) == 1 &&
	     EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)s.payload, s.payload_len) ==
	             1 &&
	     siglen == ED25519_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		uk_err_internal(err, "trust: signing with %s failed", priv_path);
		goto fail;
	}
	EVP_EncodeBlock((unsigned char *)s.signature, sig, (int)siglen);
	ukimg_digest_buf(s.payload, s.payload_len, s.payload_digest);
	s.payload_size = (int64_t)s.payload_len;
	*out = s;
	return 0;
fail:
	ukimg_trust_sig_clear(&s);
	return -1;
}

void ukimg_trust_sig_tag(const char *manifest_digest, char tag[UKIMG_TAG_MAX])
{
	snprintf(tag, UKIMG_TAG_MAX, "sha256-%s.sig",
	         strncmp(manifest_digest, "sha256:", 7) ? manifest_digest : manifest_digest + 7);
}

/* ------------------------------------------------------------------------------------------ */
/* .sig manifests                                                                              */

static int keyid_valid(const char *k)
{
	if (strlen(k) != UKIMG_TRUST_KEYID_SIZE - 1)
		return 0;
	for (; *k; k++)
		if (!((*k >= '0' && *k <= '9') || (*k >= 'a' && *k <= 'f')))
			return 0;
	return 1;
}

/* Fills (s) from one payload layer descriptor; 400 if malformed. */
static int sig_from_layer(json_object *l, ukimg_trust_sig_t *s, uk_err_t *err)
{
	json_object *ann = obj_get(l, "annotations");
	const char *d, *sig = uk_json_str(ann, UKIMG_TRUST_ANNOT_SIG);
	const char *kid = uk_json_str(ann, UKIMG_TRUST_ANNOT_KEYID);
	int64_t size;

	if (image_descriptor(l, NULL, &d, &size, err) < 0)
		return -1;
	if (size > UKIMG_TRUST_PAYLOAD_MAX)
		return uk_err_bad(err, "payload %s is %lld bytes, more than %d", d, (long long)size,
		                  UKIMG_TRUST_PAYLOAD_MAX);
	if (!sig || !*sig || strlen(sig) >= UKIMG_TRUST_SIG_MAX)
		return uk_err_bad(err, "payload %s: no usable \"%s\" annotation", d,
		                  UKIMG_TRUST_ANNOT_SIG);
	if (kid && !keyid_valid(kid))
		return uk_err_bad(err, "payload %s: \"%s\" is not 64 lowercase hex digits", d,
		                  UKIMG_TRUST_ANNOT_KEYID);
	memset(s, 0, sizeof(*s));
	snprintf(s->payload_digest, sizeof(s->payload_digest), "%s", d);
	s->payload_size = size;
	snprintf(s->signature, sizeof(s->signature), "%s", sig);
	snprintf(s->keyid, sizeof(s->keyid), "%s", kid ? kid : "");
	return 0;
}

ukimg_trust_sigs_t *ukimg_trust_sigs_parse(const char *manifest, size_t len, uk_err_t *err)
{
	_cleanup_json_ json_object *m = uk_json_parse_exact(manifest, len);
	json_object *layers = NULL;
	ukimg_trust_sigs_t *sigs;
	const char *mt;
	size_t n;

	if (!m || !json_object_is_type(m, json_type_object)) {
		uk_err_bad(err, "signature manifest: not a JSON object");
		return NULL;
	}
	mt = uk_json_str(m, "mediaType");
	if ((mt && strcmp(mt, UKIMG_MT_MANIFEST)) ||
	    !json_object_object_get_ex(m, "layers", &layers) ||
	    !json_object_is_type(layers, json_type_array)) {
		uk_err_bad(err, "signature manifest: not an OCI image manifest with layers");
		return NULL;
	}
	n = json_object_array_length(layers);
	sigs = calloc(1, sizeof(*sigs));
	if (!sigs || !(sigs->v = calloc(n ? n : 1, sizeof(*sigs->v)))) {
		free(sigs);
		uk_err_internal(err, "trust: out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *l = json_object_array_get_idx(layers, i);
		const char *lmt = uk_json_str(l, "mediaType");

		if (!lmt || strcmp(lmt, UKIMG_TRUST_MT_PAYLOAD))
			continue;
		if (sigs->n == UKIMG_TRUST_MAX_SIGS) {
			uk_err_bad(err, "signature manifest: more than %d signatures",
			           UKIMG_TRUST_MAX_SIGS);
			goto fail;
		}
		if (sig_from_layer(l, &sigs->v[sigs->n], err) < 0) {
			uk_err_wrap(err, "signature manifest: layer %zu", i);
			goto fail;
		}
		sigs->n++;
	}
	return sigs;
fail:
	ukimg_trust_sigs_free(sigs);
	return NULL;
}

/* The .sig manifest in (c)'s repository: 0 with (*sigs) (maybe empty), -1 on error. */
static int sigs_get(struct reg_client *c, const char *manifest_digest, ukimg_trust_sigs_t **sigs,
                    uk_err_t *err)
{
	char tag[UKIMG_TAG_MAX], d[UKIMG_DIGEST_SIZE];
	_cleanup_free_ char *buf = NULL;
	size_t len;

	uk_err_t e = {0};

	ukimg_trust_sig_tag(manifest_digest, tag);
	if (reg_manifest_get(c, tag, &buf, &len, d, &e) < 0) {
		if (e.status != 404) {
			if (err)
				*err = e;
			return -1;
		}
		*sigs = calloc(1, sizeof(**sigs));
		return *sigs ? 0 : uk_err_internal(err, "trust: out of memory");
	}
	*sigs = ukimg_trust_sigs_parse(buf, len, err);
	return *sigs ? 0 : -1;
}

ukimg_trust_sigs_t *ukimg_trust_fetch(const ukimg_regref_t *ref, const char *manifest_digest,
                                      const ukimg_registry_opts_t *opts, uk_err_t *err)
{
	struct reg_client *c;
	ukimg_trust_sigs_t *sigs = NULL;

	if (!ukimg_digest_valid(manifest_digest)) {
		uk_err_bad(err, "trust: invalid manifest digest");
		return NULL;
	}
	c = reg_client_new(ref, opts, "pull", err);
	if (!c)
		return NULL;
	if (sigs_get(c, manifest_digest, &sigs, err) < 0)
		goto fail;
	for (size_t i = 0; i < sigs->n; i++) {
		ukimg_trust_sig_t *s = &sigs->v[i];

		if (reg_blob_get_buf(c, s->payload_digest, s->payload_size, UKIMG_TRUST_PAYLOAD_MAX,
		                     &s->payload, err) < 0) {
			uk_err_wrap(err, "signatures of %s", manifest_digest);
			goto fail;
		}
		s->payload_len = (size_t)s->payload_size;
	}
	reg_client_free(c);
	return sigs;
fail:
	ukimg_trust_sigs_free(sigs);
	reg_client_free(c);
	return NULL;
}

static json_object *sig_layer(const ukimg_trust_sig_t *s)
{
	json_object *l =
	        image_descriptor_new(UKIMG_TRUST_MT_PAYLOAD, s->payload_digest, s->payload_size);
	json_object *ann = json_object_new_object();

	json_object_object_add(ann, UKIMG_TRUST_ANNOT_SIG, json_object_new_string(s->signature));
	if (s->keyid[0])
		json_object_object_add(ann, UKIMG_TRUST_ANNOT_KEYID,
		                       json_object_new_string(s->keyid));
	json_object_object_add(l, "annotations", ann);
	return l;
}

static const char *json_plain(json_object *o, size_t *len)
{
	return json_object_to_json_string_length(
	        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

/* The .sig manifest and its config for (sigs) (layers in order); the config goes up first. */
static int sigs_put(struct reg_client *c, const char *manifest_digest,
                    const ukimg_trust_sigs_t *sigs, uk_err_t *err)
{
	_cleanup_json_ json_object *cfg = json_object_new_object(), *m = json_object_new_object();
	json_object *rootfs = json_object_new_object(), *diff = json_object_new_array();
	json_object *layers = json_object_new_array();
	char cd[UKIMG_DIGEST_SIZE], tag[UKIMG_TAG_MAX];
	const char *s;
	size_t len;

	for (size_t i = 0; i < sigs->n; i++) {
		json_object_array_add(diff, json_object_new_string(sigs->v[i].payload_digest));
		json_object_array_add(layers, sig_layer(&sigs->v[i]));
	}
	json_object_object_add(cfg, "architecture", json_object_new_string(""));
	json_object_object_add(cfg, "config", json_object_new_object());
	json_object_object_add(cfg, "os", json_object_new_string(""));
	json_object_object_add(rootfs, "diff_ids", diff);
	json_object_object_add(rootfs, "type", json_object_new_string("layers"));
	json_object_object_add(cfg, "rootfs", rootfs);
	s = json_plain(cfg, &len);
	if (!s || reg_blob_put_buf(c, s, len, cd, err) < 0)
		return s ? -1 : uk_err_internal(err, "trust: out of memory");
	json_object_object_add(m, "schemaVersion", json_object_new_int(2));
	json_object_object_add(m, "mediaType", json_object_new_string(UKIMG_MT_MANIFEST));
	json_object_object_add(m, "config",
	                       image_descriptor_new(UKIMG_MT_CONFIG, cd, (int64_t)len));
	json_object_object_add(m, "layers", layers);
	s = json_plain(m, &len);
	if (!s)
		return uk_err_internal(err, "trust: out of memory");
	ukimg_trust_sig_tag(manifest_digest, tag);
	return reg_manifest_put(c, tag, UKIMG_MT_MANIFEST, s, len, err);
}

int ukimg_trust_put(const ukimg_regref_t *ref, const char *manifest_digest,
                    const ukimg_trust_sig_t *sig, const ukimg_registry_opts_t *opts, uk_err_t *err)
{
	char d[UKIMG_DIGEST_SIZE], pd[UKIMG_DIGEST_SIZE];
	struct reg_client *c = NULL;
	ukimg_trust_sigs_t *sigs = NULL;
	size_t i;
	int rv = -1;

	if (!sig->payload ||
	    ukimg_trust_payload_parse(sig->payload, sig->payload_len, d, NULL, 0, err) < 0)
		return uk_err_wrap(err, "trust: put signature");
	if (strcmp(d, manifest_digest))
		return uk_err_bad(err, "trust: put signature: its payload is for %s, not %s", d,
		                  manifest_digest);
	ukimg_digest_buf(sig->payload, sig->payload_len, pd);
	c = reg_client_new(ref, opts, "pull,push", err);
	if (!c)
		return -1;
	if (sigs_get(c, manifest_digest, &sigs, err) < 0 ||
	    reg_blob_put_buf(c, sig->payload, sig->payload_len, d, err) < 0)
		goto out;
	/* A signature by the same key replaces the old one; others are kept. */
	for (i = 0; i < sigs->n; i++)
		if (sig->keyid[0] && !strcmp(sigs->v[i].keyid, sig->keyid))
			break;
	if (i == sigs->n) {
		ukimg_trust_sig_t *v;

		if (sigs->n == UKIMG_TRUST_MAX_SIGS) {
			uk_err_conflict(err, "trust: %s already has %d signatures", manifest_digest,
			                UKIMG_TRUST_MAX_SIGS);
			goto out;
		}
		v = realloc(sigs->v, (sigs->n + 1) * sizeof(*v));
		if (!v) {
			uk_err_internal(err, "trust: out of memory");
			goto out;
		}
		sigs->v = v;
		memset(&v[sigs->n++], 0, sizeof(*v));
	}
	ukimg_trust_sig_clear(&sigs->v[i]);
	sigs->v[i] = *sig;
	sigs->v[i].payload = NULL; /* borrowed fields only; the caller keeps the payload */
	snprintf(sigs->v[i].payload_digest, UKIMG_DIGEST_SIZE, "%s", pd);
	sigs->v[i].payload_size = (int64_t)sig->payload_len;
	rv = sigs_put(c, manifest_digest, sigs, err);
out:
	ukimg_trust_sigs_free(sigs);
	reg_client_free(c);
	return rv;
}

/* ------------------------------------------------------------------------------------------ */
/* Verification                                                                                */

/* 1 if (s) is a valid signature by (k) over its payload, 0 if not. */
static int sig_valid(EVP_PKEY *k, const ukimg_trust_sig_t *s)
{
	unsigned char raw[SIG_B64_LEN], back[SIG_B64_LEN + 1];
	EVP_MD_CTX *ctx;
	int ok;

	if (!s->payload || strlen(s->signature) != SIG_B64_LEN ||
	    EVP_DecodeBlock(raw, (const unsigned char *)s->signature, SIG_B64_LEN) !=
	            ED25519_SIG_LEN + 2)
		return 0;
	/* canonical base64 only: the 64 bytes must encode back to the same text */
	EVP_EncodeBlock(back, raw, ED25519_SIG_LEN);
	if (memcmp(back, s->signature, SIG_B64_LEN))
		return 0;
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1 &&
	     EVP_DigestVerify(ctx, raw, ED25519_SIG_LEN, (const unsigned char *)s->payload,
	                      s->payload_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* Checks (s) against the trusted key (k): 1 good, 0 bad (why in (why)). */
static int sig_check(EVP_PKEY *k, const ukimg_trust_sig_t *s, const char *manifest_digest,
                     char *why, size_t whylen)
{
	char d[UKIMG_DIGEST_SIZE];
	uk_err_t perr = {0};

	if (!sig_valid(k, s)) {
		snprintf(why, whylen, "the signature does not verify (payload %s)",
		         s->payload_digest);
		return 0;
	}
	if (ukimg_trust_payload_parse(s->payload, s->payload_len, d, NULL, 0, &perr) < 0) {
		snprintf(why, whylen, "%.400s", perr.message);
		return 0;
	}
	if (strcmp(d, manifest_digest)) {
		snprintf(why, whylen, "the signed payload is for another image (%s)", d);
		return 0;
	}
	return 1;
}

int ukimg_trust_verify(const char *manifest_digest, const ukimg_trust_sigs_t *sigs,
                       const char *const *keys, size_t n_keys,
                       char keyid_out[UKIMG_TRUST_KEYID_SIZE], uk_err_t *err)
{
	char why[512] = "", w[512], kid[UKIMG_TRUST_KEYID_SIZE],
	     badkey[UKIMG_TRUST_KEYID_SIZE] = "";
	size_t n = sigs ? sigs->n : 0;

	if (n == 0) {
		uk_err_set(err, 403, "unsigned", "image %s is not signed", manifest_digest);
		return UKIMG_TRUST_UNSIGNED;
	}
	for (size_t j = 0; j < n_keys; j++) {
		_cleanup_pkey_ EVP_PKEY *k = key_load(keys[j], 0, err);

		if (!k || pkey_keyid(k, kid, err) < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			const ukimg_trust_sig_t *s = &sigs->v[i];

			if (s->keyid[0] && strcmp(s->keyid, kid))
				continue;
			if (sig_check(k, s, manifest_digest, w, sizeof(w))) {
				if (keyid_out)
					memcpy(keyid_out, kid, UKIMG_TRUST_KEYID_SIZE);
				return UKIMG_TRUST_OK;
			}
			if (s->keyid[0] && !badkey[0]) { /* signed by this key, but wrongly */
				memcpy(badkey, kid, sizeof(badkey));
				memcpy(why, w, sizeof(why));
			}
		}
	}
	if (badkey[0]) {
		uk_err_set(err, 403, "bad_signature",
		           "image %s: the signature by trusted key %.16s is bad: %s",
		           manifest_digest, badkey, why);
		return UKIMG_TRUST_BAD_SIGNATURE;
	}
	uk_err_set(err, 403, "untrusted",
	           "image %s is signed (%zu signature%s, key %.16s%s), but by no trusted key",
	           manifest_digest, n, n == 1 ? "" : "s",
	           sigs->v[0].keyid[0] ? sigs->v[0].keyid : "?", n > 1 ? ", ..." : "");
	return UKIMG_TRUST_NO_TRUSTED_KEY;
}
