/* ukimages internals: cleanup helpers, file utilities and cross-file functions not in the API. */
#ifndef UKIMG_INTERNAL_H
#define UKIMG_INTERNAL_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <json-c/json.h>

#include "uk/cleanup.h"
#include "uk/images.h"
#include "uk/io.h"
#include "uk/json.h"
#include "uk/registry.h"
#include "uk/time.h"

static inline void ukimg_strvp(char ***v)
{
	ukimg_strv_free(*v);
}
#define _cleanup_strv_ __attribute__((cleanup(ukimg_strvp)))

/* util.c */
/*
 * Normalizes a relative path: collapses "//" and "." components and trailing slashes.
 * Fails (returns -1) for "", absolute paths and any ".." component. "." alone → ".".
 */
int util_relpath_normalize(const char *in, char *out, size_t outlen);
/* Like util_relpath_normalize for an absolute path ("/a/./b/" → "/a/b"); "/" stays "/". */
int util_abspath_normalize(const char *in, char *out, size_t outlen);
/* 1 if the real path of (path) is (root) or lies under it. */
int util_path_within(const char *root, const char *path);
/* Appends a strdup of (s) to a NULL-terminated vector; -1 on ENOMEM. */
int util_strv_push(char ***v, size_t *n, const char *s);
char **util_strv_new(void);

/* store.c */
/* Creates an empty file under <root>/tmp with a unique name; returns fd, path in (path). */
int store_tmp_create(const ukimg_store_t *store, const char *prefix, char *path, size_t pathlen,
                     uk_err_t *err);
/* Creates a private temp dir under <root>/tmp (mkdtemp). */
int store_tmp_dir(const ukimg_store_t *store, const char *prefix, char *path, size_t pathlen,
                  uk_err_t *err);
/* Hashes the file at (path); verifies it against (expect) (and size if >= 0), then renames
 * it into the store (fsync'ed). The file is consumed whatever happens. */
int store_adopt(ukimg_store_t *store, const char *path, const char *expect, int64_t size,
                uk_err_t *err);
/* store_adopt for a file whose digest the caller computed while writing it (it is private to
 * this process): fsync'ed and renamed into the store as (digest), not read again. */
int store_adopt_hashed(ukimg_store_t *store, const char *path, const char *digest, uk_err_t *err);
/* An incremental SHA-256 for data as it streams by: new (NULL when out of memory), finish into
 * "sha256:<hex>" (the context is freed). */
EVP_MD_CTX *store_hash_new(void);
void store_hash_finish(EVP_MD_CTX *ctx, char out[UKIMG_DIGEST_SIZE]);
/* Hashes (fd) from its current offset to EOF. */
int store_hash_fd(int fd, char out[UKIMG_DIGEST_SIZE], int64_t *size_out, uk_err_t *err);

/* image.c */
/* Loads a manifest blob and checks it's an OCI manifest (media type, schemaVersion 2). */
json_object *image_manifest_load(const ukimg_store_t *store, const char *digest, uk_err_t *err);
/* Gets descriptor fields; -1 with 400 if malformed. */
int image_descriptor(json_object *desc, const char **media_type, const char **digest, int64_t *size,
                     uk_err_t *err);
/* Checks that (config) (parsed) is a uk image config; 400 if not. */
int image_config_check(json_object *config, uk_err_t *err);
/* A new descriptor {"mediaType","digest","size"} (the caller owns it). */
json_object *image_descriptor_new(const char *media_type, const char *digest, int64_t size);
/* The config's org.uk.platform label, or NULL. */
const char *image_config_platform(json_object *config);

/* registry.c: the distribution client, for trust.c. Errors as for ukimg_push/ukimg_pull. */
struct reg_client;
/* (ref)'s registry and repository are used (copied); (opts) MAY be NULL and is borrowed. */
struct reg_client *reg_client_new(const ukimg_regref_t *ref, const ukimg_registry_opts_t *opts,
                                  const char *scope, uk_err_t *err);
void reg_client_free(struct reg_client *c);
/* GETs the manifest (reference) (a tag or digest), at most 4 MiB, digest verified; 404 if
 * absent. (*buf) is NUL-terminated and the caller's. */
int reg_manifest_get(struct reg_client *c, const char *reference, char **buf, size_t *len,
                     char digest[UKIMG_DIGEST_SIZE], uk_err_t *err);
/* PUTs a manifest under (tag) with (media_type). */
int reg_manifest_put(struct reg_client *c, const char *tag, const char *media_type, const char *buf,
                     size_t len, uk_err_t *err);
/* Makes sure the registry holds (buf) as a blob (HEAD, then upload); its digest in (digest). */
int reg_blob_put_buf(struct reg_client *c, const char *buf, size_t len,
                     char digest[UKIMG_DIGEST_SIZE], uk_err_t *err);
/* GETs blob (digest) of (size) bytes (at most (max)), verified, into a NUL-terminated buffer. */
int reg_blob_get_buf(struct reg_client *c, const char *digest, int64_t size, int64_t max,
                     char **buf, uk_err_t *err);

#endif
