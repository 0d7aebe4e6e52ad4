/* ukimages registry credentials as Docker passes them to its daemon: the X-Registry-Auth header. */
#ifndef UK_REGAUTH_H
#define UK_REGAUTH_H

#include "uk/registry.h"

#define UKIMG_AUTH_HEADER "X-Registry-Auth"
#define UKIMG_AUTH_HEADER_MAX 8192

/* Decoded credentials; (auth) points into the strings. Wipe with ukimg_auth_clear. */
typedef struct ukimg_auth_buf {
	char username[256];
	char password[2048];
	char serveraddress[UKIMG_REGISTRY_MAX];
	ukimg_auth_t auth;
} ukimg_auth_buf_t;

/*
 * Decodes an X-Registry-Auth value (outside input): base64url (the standard alphabet and
 * missing padding are accepted too, as Docker does) of a JSON object with string fields
 * "username", "password" and "serveraddress" (all optional; others ignored). An empty value or
 * "{}" means anonymous: out->auth.username is NULL. 400 on anything else; the message never
 * quotes the value.
 */
int ukimg_auth_decode(const char *header, ukimg_auth_buf_t *out, uk_err_t *err);

/* Encodes credentials the same way (base64url, no padding) for a client; (*out) is the caller's. */
int ukimg_auth_encode(const char *username, const char *password, const char *serveraddress,
                      char **out, uk_err_t *err);

/* Overwrites the secrets in (a). */
void ukimg_auth_clear(ukimg_auth_buf_t *a);

#endif
