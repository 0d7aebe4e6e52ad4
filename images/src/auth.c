/* X-Registry-Auth: base64url JSON credentials, decoded strictly (the daemon reads it from
 * clients) and encoded for clients. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"
#include "uk/regauth.h"

void ukimg_auth_clear(ukimg_auth_buf_t *a)
{
	OPENSSL_cleanse(a, sizeof(*a));
}

/* base64 or base64url, padding optional, into (out) (NUL-terminated); -1 if malformed. */
static int b64_decode(const char *in, size_t n, unsigned char *out, size_t *outlen)
{
	char buf[UKIMG_AUTH_HEADER_MAX + 4] = "";
	size_t pad = 0;
	int k;

	while (n > 0 && in[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (n % 4 == 1 || n > UKIMG_AUTH_HEADER_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		           (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return -1;
		buf[i] = c;
	}
	pad = (4 - n % 4) % 4;
	memset(buf + n, '=', pad);
	k = EVP_DecodeBlock(out, (unsigned char *)buf, (int)(n + pad));
	OPENSSL_cleanse(buf, n);
	if (k < 0 || (size_t)k < pad)
		return -1;
	*outlen = (size_t)k - pad;
	out[*outlen] = 0;
	return 0;
}

/* Copies string field (key) of (o) into (dst); absent is "". -1 if not a string or too long. */
static int field(json_object *o, const char *key, char *dst, size_t cap)
{
	json_object *v;

	dst[0] = 0;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= cap)
		return -1;
	memcpy(dst, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return strlen(dst) == (size_t)json_object_get_string_len(v) ? 0 : -1; /* no NUL inside */
}

int ukimg_auth_decode(const char *header, ukimg_auth_buf_t *out, uk_err_t *err)
{
	unsigned char raw[UKIMG_AUTH_HEADER_MAX];
	size_t n = header ? strlen(header) : 0, len = 0;
	json_object *o = NULL;
	int rv = -1;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	if (n > UKIMG_AUTH_HEADER_MAX || b64_decode(header, n, raw, &len) < 0)
		return uk_err_bad(err, UKIMG_AUTH_HEADER ": not base64url (at most %d characters)",
		                  UKIMG_AUTH_HEADER_MAX);
	o = util_json_parse_exact((const char *)raw, len);
	if (!o || !json_object_is_type(o, json_type_object)) {
		uk_err_bad(err, UKIMG_AUTH_HEADER ": not a JSON object");
		goto out;
	}
	if (field(o, "username", out->username, sizeof(out->username)) < 0 ||
	    field(o, "password", out->password, sizeof(out->password)) < 0 ||
	    field(o, "serveraddress", out->serveraddress, sizeof(out->serveraddress)) < 0) {
		ukimg_auth_clear(out);
		uk_err_bad(err, UKIMG_AUTH_HEADER ": username, password and serveraddress must be "
		                                  "strings (at most 255, 2047 and 255 bytes)");
		goto out;
	}
	if (out->username[0]) {
		out->auth.username = out->username;
		out->auth.password = out->password;
	}
	rv = 0;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	json_object_put(o);
	return rv;
}

int ukimg_auth_encode(const char *username, const char *password, const char *serveraddress,
                      char **out, uk_err_t *err)
{
	json_object *o = json_object_new_object();
	const char *s;
	size_t len;
	char *b;
	int k;

	json_object_object_add(o, "username", json_object_new_string(username ? username : ""));
	json_object_object_add(o, "password", json_object_new_string(password ? password : ""));
	json_object_object_add(o, "serveraddress",
	                       json_object_new_string(serveraddress ? serveraddress : ""));
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	b = s ? malloc(4 * (len / 3 + 1) + 1) : NULL;
	if (!b) {
		json_object_put(o);
		return uk_err_internal(err, "auth: out of memory");
	}
	k = EVP_EncodeBlock((unsigned char *)b, (const unsigned char *)s, (int)len);
	OPENSSL_cleanse((void *)s, len);
	json_object_put(o);
	while (k > 0 && b[k - 1] == '=')
		k--;
	b[k] = 0;
	for (char *p = b; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	if (k > UKIMG_AUTH_HEADER_MAX) {
		OPENSSL_cleanse(b, (size_t)k);
		free(b);
		return uk_err_bad(err, "auth: credentials too long");
	}
	*out = b;
	return 0;
}
