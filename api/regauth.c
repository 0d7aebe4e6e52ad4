/* The X-Registry-Auth header uk and ukd share: base64(url) JSON credentials, server names. */
#include "uk/regauth.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uk/json.h"

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void wipe_free(char *s)
{
	if (s) {
		volatile char *p = s;
		while (*p)
			*p++ = 0;
		free(s);
	}
}

void uk_regauth_clear(uk_regauth_t *a)
{
	free(a->username);
	wipe_free(a->password);
	free(a->serveraddress);
	a->username = a->password = a->serveraddress = NULL;
}

char *uk_base64_encode(const void *data, size_t len, int url)
{
	const unsigned char *p = data;
	const char *abc = url ? b64_url : b64_std;
	char *out = malloc(len / 3 * 4 + 5), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;
		if (n > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
		if (n > 1)
			*o++ = abc[v >> 6 & 63];
		else if (!url)
			*o++ = '=';
		if (n > 2)
			*o++ = abc[v & 63];
		else if (!url)
			*o++ = '=';
	}
	*o = 0;
	return out;
}

static int b64_value(char c)
{
	const char *p;

	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	p = c ? strchr(b64_std, c) : NULL;
	return p ? (int)(p - b64_std) : -1;
}

int uk_base64_decode(const char *s, size_t slen, char **out, size_t *outlen)
{
	size_t n = slen, o = 0;
	uint32_t acc = 0;
	int bits = 0;
	char *buf;

	while (n > 0 && s[n - 1] == '=' && slen - n < 2)
		n--;
	if (n % 4 == 1 || (n != slen && (slen % 4) != 0))
		return -1;
	buf = malloc(n / 4 * 3 + 4);
	if (!buf)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value(s[i]);
		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (char)(acc >> bits & 0xff);
		}
	}
	buf[o] = 0;
	*out = buf;
	*outlen = o;
	return 0;
}

char *uk_regauth_encode(const uk_regauth_t *a)
{
	json_object *o = json_object_new_object();
	const char *s;
	char *out = NULL;

	if (!o)
		return NULL;
	if (a->username)
		json_object_object_add(o, "username", json_object_new_string(a->username));
	if (a->password)
		json_object_object_add(o, "password", json_object_new_string(a->password));
	if (a->serveraddress)
		json_object_object_add(o, "serveraddress",
		                       json_object_new_string(a->serveraddress));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (s)
		out = uk_base64_encode(s, strlen(s), 1);
	json_object_put(o);
	return out;
}

static int regauth_field(json_object *o, const char *key, char **dst, uk_err_t *err)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return uk_err_bad(err, UK_REGAUTH_HEADER ": %s: expected a string", key);
	*dst = strdup(json_object_get_string(v));
	if (!*dst)
		return uk_err_internal(err, UK_REGAUTH_HEADER ": out of memory");
	return 0;
}

int uk_regauth_decode(const char *value, uk_regauth_t *out, uk_err_t *err)
{
	char *text = NULL, server[UK_REGAUTH_SERVER_MAX];
	json_object *o = NULL;
	size_t len, vlen = strlen(value);
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (vlen > UK_REGAUTH_MAX)
		return uk_err_bad(err, UK_REGAUTH_HEADER ": longer than %d bytes", UK_REGAUTH_MAX);
	if (uk_base64_decode(value, vlen, &text, &len) < 0)
		return uk_err_bad(err, UK_REGAUTH_HEADER ": not base64url");
	if (!(o = uk_json_parse_exact(text, len)) || !json_object_is_type(o, json_type_object)) {
		uk_err_bad(err, UK_REGAUTH_HEADER ": expected base64url of a JSON object with "
		                                  "username, password and serveraddress");
		goto out;
	}
	if (regauth_field(o, "username", &out->username, err) < 0 ||
	    regauth_field(o, "password", &out->password, err) < 0 ||
	    regauth_field(o, "serveraddress", &out->serveraddress, err) < 0)
		goto out;
	if (out->serveraddress && *out->serveraddress &&
	    uk_regauth_server(out->serveraddress, server, NULL, err) < 0) {
		uk_err_wrap(err, UK_REGAUTH_HEADER ": serveraddress");
		goto out;
	}
	r = 0;
out:
	if (text) {
		memset(text, 0, len);
		free(text);
	}
	json_object_put(o);
	if (r < 0)
		uk_regauth_clear(out);
	return r;
}

int uk_regauth_server(const char *in, char out[UK_REGAUTH_SERVER_MAX], int *http, uk_err_t *err)
{
	static const char *const hub[] = {"index.docker.io", "registry-1.docker.io",
	                                  "registry.hub.docker.com", NULL};
	const char *p = in, *end;
	size_t n;

	if (http)
		*http = 0;
	if (!strncmp(p, "https://", 8)) {
		p += 8;
	} else if (!strncmp(p, "http://", 7)) {
		p += 7;
		if (http)
			*http = 1;
	}
	end = strchr(p, '/');
	n = end ? (size_t)(end - p) : strlen(p);
	if (end && strcmp(end, "/") && strcmp(end, "/v1/") && strcmp(end, "/v2/") &&
	    strcmp(end, "/v1") && strcmp(end, "/v2"))
		return uk_err_bad(err, "registry server \"%.100s\": expected HOST[:PORT]", in);
	if (n == 0 || n >= UK_REGAUTH_SERVER_MAX || p[0] == '.' || memmem(p, n, "..", 2))
		return uk_err_bad(err, "registry server \"%.100s\": expected HOST[:PORT]", in);
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)p[i]) && !strchr(".:-[]", p[i]))
			return uk_err_bad(err, "registry server \"%.100s\": bad character '%c'", in,
			                  p[i]);
		out[i] = (char)tolower((unsigned char)p[i]);
	}
	out[n] = 0;
	for (int i = 0; hub[i]; i++)
		if (!strcmp(out, hub[i]))
			strcpy(out, UK_REGAUTH_DEFAULT);
	return 0;
}

void uk_regauth_registry_of(const char *name, char out[UK_REGAUTH_SERVER_MAX])
{
	const char *slash = strchr(name, '/');
	size_t n = slash ? (size_t)(slash - name) : 0;

	if (slash && n < UK_REGAUTH_SERVER_MAX &&
	    (memchr(name, '.', n) || memchr(name, ':', n) ||
	     (n == 9 && !strncmp(name, "localhost", 9)))) {
		memcpy(out, name, n);
		out[n] = 0;
		return;
	}
	strcpy(out, UK_REGAUTH_DEFAULT);
}
