/* ukimages registry: Docker-style image references and an OCI distribution client (push/pull). */
#ifndef UK_REGISTRY_H
#define UK_REGISTRY_H

#include <stdint.h>

#include "uk/images.h"

/*
 * A parsed image reference. (uk/images.h already names ukimg_ref_t for save/load, hence
 * "regref".) All fields are NUL-terminated strings; an absent one is "".
 */
#define UKIMG_REGISTRY_MAX 256 /* host[:port] */
#define UKIMG_REPO_MAX 256     /* the distribution spec's 255-byte name limit */
#define UKIMG_TAG_MAX 129      /* [\w][\w.-]{0,127} */

#define UKIMG_REGISTRY_DEFAULT "docker.io"

typedef struct ukimg_regref {
	char registry[UKIMG_REGISTRY_MAX]; /* "docker.io", "127.0.0.1:5000", "localhost" */
	char repository[UKIMG_REPO_MAX];   /* "library/hello", "team/site" */
	char tag[UKIMG_TAG_MAX];           /* "latest" when neither tag nor digest was given */
	char digest[UKIMG_DIGEST_SIZE];    /* "sha256:..." or "" */
} ukimg_regref_t;

/*
 * Parses a reference the way Docker does: NAME[:TAG][@DIGEST], NAME being
 * [DOMAIN/]COMPONENT[/COMPONENT]... The first component is the registry if the name has more
 * than one component and it contains '.' or ':' or is "localhost"; otherwise the registry is
 * docker.io and a single-component name gets "library/" in front. Validated against the
 * distribution spec grammar (lowercase path components of [a-z0-9] joined by '.', '_', "__" or
 * dashes; tag [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; digest sha256 only; repository <= 255 bytes).
 * Errors are 400 and name the reference and what is wrong. (out) is untouched on failure.
 */
int ukimg_ref_parse(const char *s, ukimg_regref_t *out, uk_err_t *err);

/* Formats "registry/repository[:tag][@digest]" into (buf); -1 (no err) if it does not fit. */
int ukimg_ref_format(const ukimg_regref_t *ref, char *buf, size_t buflen);

/* 1 if (registry) ("host[:port]") is localhost or in 127.0.0.0/8: plain http is allowed there. */
int ukimg_registry_is_local(const char *registry);

/* Credentials for a registry. Never logged nor put in error messages. */
typedef struct ukimg_auth {
	const char *username;
	const char *password;
} ukimg_auth_t;

typedef enum ukimg_xfer_event {
	UKIMG_XFER_EXISTS,     /* push: the registry already has the blob (HEAD 200), skipped */
	UKIMG_XFER_UPLOADED,   /* push: the blob was uploaded */
	UKIMG_XFER_MANIFEST,   /* push: manifest put / pull: manifest fetched and verified */
	UKIMG_XFER_HAVE,       /* pull: the store already has the blob, skipped */
	UKIMG_XFER_DOWNLOADED, /* pull: the blob was downloaded and verified */
	UKIMG_XFER_MOUNTED,    /* push: the registry mounted the blob from opts->mount_from */
} ukimg_xfer_event_t;

/* Called once per blob (and once for the manifest) on the calling thread. */
typedef void (*ukimg_xfer_fn)(void *ctx, ukimg_xfer_event_t ev, const char *digest, int64_t size);

typedef struct ukimg_registry_opts {
	const ukimg_auth_t *auth; /* MAY be NULL: anonymous (the token flow still works) */
	int insecure;             /* allow plain http to this registry (127.0.0.0/8 and localhost
	                           * always use http); otherwise https with the system CAs */
	ukimg_xfer_fn progress;   /* MAY be NULL */
	void *progress_ctx;
	long timeout_sec;    /* per request; 0 = 300 */
	int tls;             /* https even for 127.0.0.0/8 and localhost (a TLS registry there) */
	const char *ca_file; /* MAY be NULL: a PEM CA bundle to verify this registry with */
	/* push: blobs larger than (chunk_threshold) bytes go up in PATCH chunks of (chunk_size)
	 * bytes; 0 = UKIMG_CHUNK_DEFAULT for either. */
	int64_t chunk_threshold;
	int64_t chunk_size;
	/* push: a repository on the same registry that may hold the blobs already (say the image
	 * was pulled from it): each missing blob is first asked for as a cross-repository mount.
	 * MAY be NULL. */
	const char *mount_from;
	/* pull: the platforms (org.uk.platform values) the caller can run, NULL-terminated; an
	 * image built for another is refused (400) before any layer is fetched. NULL = any. */
	const char *const *platforms;
} ukimg_registry_opts_t;

#define UKIMG_CHUNK_DEFAULT ((int64_t)8 << 20)

/*
 * Pushes the image (manifest_digest must be in (store)) to (ref) (tag required, a digest in
 * (ref), if any, must equal manifest_digest): for each config/layer blob, HEAD
 * /v2/<repo>/blobs/<digest> and, if absent, a monolithic upload (POST .../blobs/uploads/, PUT
 * <Location>?digest=...); then PUT /v2/<repo>/manifests/<tag> with the OCI manifest media type.
 * (opts) MAY be NULL. Errors name the registry and repository: 401 "unauthorized: check the
 * username and password for REGISTRY", 502 when the registry cannot be reached, else the HTTP
 * status and the registry's own error message (status 502 unless the registry said 4xx).
 */
int ukimg_push(ukimg_store_t *store, const char *manifest_digest, const ukimg_regref_t *ref,
               const ukimg_registry_opts_t *opts, uk_err_t *err);

/*
 * Pulls (ref) (by digest if it has one, else by tag) into (store): GETs the manifest (Accept:
 * OCI and Docker manifest types), verifies its digest (against ref->digest and the
 * Docker-Content-Digest header when given), then downloads each config/layer blob the store
 * lacks into a temp file, verifying size and digest before it enters the store, and stores the
 * manifest last, so a failure leaves no stored manifest referring to a missing or bad blob.
 * Image indexes are refused (400). (digest_out) receives the manifest digest.
 */
int ukimg_pull(ukimg_store_t *store, const ukimg_regref_t *ref, const ukimg_registry_opts_t *opts,
               char digest_out[UKIMG_DIGEST_SIZE], uk_err_t *err);

/*
 * Checks (opts)->auth against (registry) ("host[:port]") like `docker login`: GET /v2/ with
 * the credentials (running the token flow on a Bearer challenge). 0 when the registry accepts
 * them, else 401 "unauthorized: check the username and password for REGISTRY", 502 when it
 * cannot be reached (naming the TLS problem when there is one).
 */
int ukimg_registry_check(const char *registry, const ukimg_registry_opts_t *opts, uk_err_t *err);

#endif
