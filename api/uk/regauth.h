/* Registry credentials between uk and ukd: the X-Registry-Auth header (Docker's name and shape:
 * base64url of {"username","password","serveraddress"}), base64, and registry server names. */
#ifndef UK_REGAUTH_H
#define UK_REGAUTH_H

#include <stddef.h>

#include "uk/error.h"

#define UK_REGAUTH_HEADER "X-Registry-Auth"
#define UK_REGAUTH_MAX 8192            /* header value limit, bytes */
#define UK_REGAUTH_SERVER_MAX 256      /* "host[:port]" */
#define UK_REGAUTH_DEFAULT "docker.io" /* the registry of names without a host part */

/* Credentials for one registry; strings are malloc'd (NULL when absent). */
typedef struct uk_regauth {
	char *username;
	char *password;
	char *serveraddress;
} uk_regauth_t;

/* Frees (a)'s strings, wiping the password first; (a) becomes all NULL. */
void uk_regauth_clear(uk_regauth_t *a);

/* base64 of (len) bytes at (data): standard alphabet with padding, or (url) the URL-safe one
 * without. The caller frees; NULL only when out of memory. */
char *uk_base64_encode(const void *data, size_t len, int url);

/* Decodes standard or URL-safe base64, padding optional, into a malloc'd NUL-terminated buffer
 * (*out, length *outlen). -1 on a character outside both alphabets, a bad length or padding. */
int uk_base64_decode(const char *s, size_t slen, char **out, size_t *outlen);

/* The header value for (a) (username/password/serveraddress; NULL ones are left out); the
 * caller frees. NULL only when out of memory. */
char *uk_regauth_encode(const uk_regauth_t *a);

/*
 * Parses an X-Registry-Auth value into (out) (cleared first). Errors are 400 and never quote
 * the value: over UK_REGAUTH_MAX, not base64, not a JSON object, a field that is not a string,
 * or a serveraddress that uk_regauth_server() refuses.
 */
int uk_regauth_decode(const char *value, uk_regauth_t *out, uk_err_t *err);

/*
 * Normalises a registry server name the way `docker login` takes it: an optional http:// or
 * https:// scheme and a trailing path ("/", "/v1/", "/v2/") are dropped; the host part is
 * lowercased; "index.docker.io", "registry-1.docker.io" and "registry.hub.docker.com" become
 * "docker.io". (*http) (may be NULL) is set when the scheme was "http://". 400 when the rest is
 * empty, too long or holds characters other than [A-Za-z0-9.:-[]].
 */
int uk_regauth_server(const char *in, char out[UK_REGAUTH_SERVER_MAX], int *http, uk_err_t *err);

/* The registry an image name NAME[:TAG][@DIGEST] lives on, by Docker's rule: the first
 * '/'-separated component if there are more and it holds '.' or ':' or is "localhost", else
 * UK_REGAUTH_DEFAULT. */
void uk_regauth_registry_of(const char *name, char out[UK_REGAUTH_SERVER_MAX]);

#endif
