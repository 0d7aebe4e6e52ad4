/* ukimages trust: Ed25519 image signatures, stored in the registry the way cosign stores them. */
#ifndef UK_TRUST_H
#define UK_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "uk/images.h"
#include "uk/registry.h"

/*
 * A signature is made over a small JSON payload naming the image's manifest digest and where it
 * lives; the payload is a blob in the image's own repository, and a manifest tagged
 * "sha256-<hex>.sig" there lists one layer per signature (payload blob + annotations holding the
 * base64 signature and the signer's key id). docs/image-format.md has the exact layout.
 */
#define UKIMG_TRUST_KEYID_SIZE 65 /* hex SHA-256 of the public key's DER (SubjectPublicKeyInfo) */
#define UKIMG_TRUST_SIG_MAX 128   /* base64 of a 64-byte Ed25519 signature is 88 characters */
#define UKIMG_TRUST_PAYLOAD_MAX 4096
#define UKIMG_TRUST_MAX_SIGS 64 /* layers of one .sig manifest */

#define UKIMG_TRUST_MT_PAYLOAD "application/vnd.dev.cosign.simplesigning.v1+json"
#define UKIMG_TRUST_ANNOT_SIG "dev.cosignproject.cosign/signature"
#define UKIMG_TRUST_ANNOT_KEYID "org.uk.trust.keyid"
#define UKIMG_TRUST_TYPE "uk signature"

/* One signature as found in (or bound for) a registry. */
typedef struct ukimg_trust_sig {
	char *payload; /* the signed bytes (NUL-terminated), owned; NULL until fetched */
	size_t payload_len;
	char payload_digest[UKIMG_DIGEST_SIZE];
	int64_t payload_size;                /* as the .sig manifest's descriptor says */
	char signature[UKIMG_TRUST_SIG_MAX]; /* base64 */
	char keyid[UKIMG_TRUST_KEYID_SIZE];  /* "" when the layer names none */
} ukimg_trust_sig_t;

typedef struct ukimg_trust_sigs {
	size_t n;
	ukimg_trust_sig_t *v;
} ukimg_trust_sigs_t;

/* Frees the payloads and (sigs) itself; NULL is a no-op. */
void ukimg_trust_sigs_free(ukimg_trust_sigs_t *sigs);
/* Frees (sig)'s payload; the struct itself is the caller's. */
void ukimg_trust_sig_clear(ukimg_trust_sig_t *sig);

/*
 * Generates an Ed25519 key pair: the private key as PKCS#8 PEM at (priv_path), mode 0600, the
 * public key as SubjectPublicKeyInfo PEM at (pub_path), 0644. Neither file may exist (409);
 * each is written to a temp file and linked into place, so a failure leaves neither.
 * (keyid) MAY be NULL; it receives the key id.
 */
int ukimg_trust_keygen(const char *priv_path, const char *pub_path,
                       char keyid[UKIMG_TRUST_KEYID_SIZE], uk_err_t *err);

/* The key id of the public key (PEM) at (pub_path) or, for a private key file, of its public
 * half. 400 if the file is not an Ed25519 key. */
int ukimg_trust_keyid(const char *key_path, char keyid[UKIMG_TRUST_KEYID_SIZE], uk_err_t *err);

/*
 * The canonical payload for (manifest_digest) at (docker_reference) ("registry/repository", no
 * tag): keys sorted, no blanks:
 * {"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},
 *  "type":"uk signature"},"optional":null}
 * (*out) is the caller's. 400 for a bad digest or reference.
 */
int ukimg_trust_payload(const char *manifest_digest, const char *docker_reference, char **out,
                        size_t *len, uk_err_t *err);

/* Parses a payload (outside input): the digest and reference it names (reference MAY be NULL).
 * 400 unless it is a JSON object of the shape above with type "uk signature". */
int ukimg_trust_payload_parse(const char *buf, size_t len, char digest[UKIMG_DIGEST_SIZE],
                              char *reference, size_t reflen, uk_err_t *err);

/* Signs the payload for (manifest_digest) at (docker_reference) with the private key at
 * (priv_path): fills (out) (payload owned by it; clear with ukimg_trust_sig_clear). */
int ukimg_trust_sign_payload(const char *priv_path, const char *manifest_digest,
                             const char *docker_reference, ukimg_trust_sig_t *out, uk_err_t *err);

/* The .sig tag for (manifest_digest): "sha256-<hex>.sig". */
void ukimg_trust_sig_tag(const char *manifest_digest, char tag[UKIMG_TAG_MAX]);

/*
 * Parses a .sig manifest (outside input) into its signatures, payloads not yet fetched. Layers
 * of other media types are skipped; a payload layer without a signature, with a bad digest, a
 * size over UKIMG_TRUST_PAYLOAD_MAX or a malformed key id is 400, as are more than
 * UKIMG_TRUST_MAX_SIGS of them.
 */
ukimg_trust_sigs_t *ukimg_trust_sigs_parse(const char *manifest, size_t len, uk_err_t *err);

/*
 * Stores (sig) (whose payload must name (manifest_digest)) in (ref)'s repository: uploads the
 * payload blob and a config, then PUTs the .sig manifest with the existing signatures kept and
 * this one added (replacing an earlier one by the same key). (ref)'s tag/digest are ignored.
 */
int ukimg_trust_put(const ukimg_regref_t *ref, const char *manifest_digest,
                    const ukimg_trust_sig_t *sig, const ukimg_registry_opts_t *opts, uk_err_t *err);

/* Fetches the signatures of (manifest_digest) in (ref)'s repository, payloads verified against
 * their digests. No .sig manifest = zero signatures (not an error). */
ukimg_trust_sigs_t *ukimg_trust_fetch(const ukimg_regref_t *ref, const char *manifest_digest,
                                      const ukimg_registry_opts_t *opts, uk_err_t *err);

typedef enum ukimg_trust_result {
	UKIMG_TRUST_OK = 0,
	UKIMG_TRUST_UNSIGNED,       /* no signature at all */
	UKIMG_TRUST_BAD_SIGNATURE,  /* a trusted key's signature does not verify or is for another
	                             * image */
	UKIMG_TRUST_NO_TRUSTED_KEY, /* signed, but by none of the trusted keys */
} ukimg_trust_result_t;

/*
 * Verifies (sigs) for (manifest_digest) against the public keys (PEM files) (keys)[0..n_keys).
 * OK when one signature by a trusted key verifies and its payload names (manifest_digest)
 * ((keyid_out), MAY be NULL, gets that key's id). Otherwise err is set (status 403, the image,
 * and why) and the result says which case. -1 when a key file cannot be read (err set).
 */
int ukimg_trust_verify(const char *manifest_digest, const ukimg_trust_sigs_t *sigs,
                       const char *const *keys, size_t n_keys,
                       char keyid_out[UKIMG_TRUST_KEYID_SIZE], uk_err_t *err);

#endif
