/* Docker-style image references: NAME[:TAG][@DIGEST], validated per the distribution spec. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "uk/registry.h"

#define REF_MAX 1024 /* whole reference; longer is refused before any parsing */

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int is_word(char c)
{
	return is_alnum(c) || c == '_';
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | "__" | "-"+ */
static int check_path_component(const char *s, size_t len, const char *ref, uk_err_t *err)
{
	size_t i = 0;

	if (len == 0)
		return uk_err_bad(err, "invalid reference \"%s\": empty path component", ref);
	for (i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return uk_err_bad(err,
			                  "invalid reference \"%s\": repository name must be "
			                  "lowercase",
			                  ref);
	i = 0;
	while (i < len) {
		size_t start = i;

		while (i < len && is_lower_alnum(s[i]))
			i++;
		if (i == start)
			return uk_err_bad(err,
			                  "invalid reference \"%s\": path component \"%.*s\" must "
			                  "start and end with a lowercase letter or digit and use "
			                  "only '.', '_', \"__\" or '-' between them",
			                  ref, (int)len, s);
		if (i == len)
			return 0;
		start = i;
		if (s[i] == '.' || s[i] == '_') {
			i++;
			if (s[start] == '_' && i < len && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < len && s[i] == '-')
				i++;
		} else {
			return uk_err_bad(err,
			                  "invalid reference \"%s\": invalid character '%c' in "
			                  "\"%.*s\"",
			                  ref, s[i], (int)len, s);
		}
		if (i == len)
			return uk_err_bad(err,
			                  "invalid reference \"%s\": path component \"%.*s\" must "
			                  "end with a lowercase letter or digit",
			                  ref, (int)len, s);
	}
	return 0;
}

/* domain := domain-component ('.' domain-component)* [':' port], component :=
 * alnum([alnum-]*alnum)? */
static int check_domain(const char *s, size_t len, const char *ref, uk_err_t *err)
{
	const char *colon = memchr(s, ':', len);
	size_t hlen = colon ? (size_t)(colon - s) : len, i = 0;

	if (hlen == 0)
		return uk_err_bad(err, "invalid reference \"%s\": empty registry host", ref);
	while (i < hlen) {
		size_t start = i;

		while (i < hlen && (is_alnum(s[i]) || s[i] == '-'))
			i++;
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return uk_err_bad(
			        err, "invalid reference \"%s\": invalid registry host \"%.*s\"",
			        ref, (int)hlen, s);
		if (i < hlen) {
			if (s[i] != '.' || i + 1 == hlen)
				return uk_err_bad(err,
				                  "invalid reference \"%s\": invalid registry host "
				                  "\"%.*s\"",
				                  ref, (int)hlen, s);
			i++;
		}
	}
	if (colon) {
		size_t plen = len - hlen - 1;
		unsigned long port = 0;

		if (plen == 0 || plen > 5)
			return uk_err_bad(err, "invalid reference \"%s\": invalid registry port",
			                  ref);
		for (i = 0; i < plen; i++) {
			char c = colon[1 + i];
			if (c < '0' || c > '9')
				return uk_err_bad(err,
				                  "invalid reference \"%s\": invalid registry port",
				                  ref);
			port = port * 10 + (unsigned long)(c - '0');
		}
		if (port == 0 || port > 65535)
			return uk_err_bad(
			        err, "invalid reference \"%s\": registry port out of range", ref);
	}
	return 0;
}

static int check_tag(const char *t, const char *ref, uk_err_t *err)
{
	size_t len = strlen(t);

	if (len == 0)
		return uk_err_bad(err, "invalid reference \"%s\": empty tag", ref);
	if (len > UKIMG_TAG_MAX - 1)
		return uk_err_bad(err, "invalid reference \"%s\": tag longer than %d characters",
		                  ref, UKIMG_TAG_MAX - 1);
	if (!is_word(t[0]))
		return uk_err_bad(err,
		                  "invalid reference \"%s\": tag must start with a letter, digit "
		                  "or '_'",
		                  ref);
	for (size_t i = 1; i < len; i++)
		if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
			return uk_err_bad(err, "invalid reference \"%s\": invalid character in tag",
			                  ref);
	return 0;
}

int ukimg_ref_parse(const char *s, ukimg_regref_t *out, uk_err_t *err)
{
	char buf[REF_MAX + 1];
	ukimg_regref_t r;
	char *at, *slash, *colon, *name, *first_end, *path;
	size_t slen;

	if (!s || !*s)
		return uk_err_bad(err, "invalid reference: empty");
	slen = strlen(s);
	if (slen > REF_MAX)
		return uk_err_bad(err, "invalid reference: longer than %d characters", REF_MAX);
	for (size_t i = 0; i < slen; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return uk_err_bad(
			        err,
			        "invalid reference \"%.*s\": contains a blank, control or "
			        "non-ASCII character",
			        (int)(slen > 80 ? 80 : slen), s);
	memcpy(buf, s, slen + 1);
	memset(&r, 0, sizeof(r));

	at = strchr(buf, '@');
	if (at) {
		*at = 0;
		if (!ukimg_digest_valid(at + 1))
			return uk_err_bad(
			        err,
			        "invalid reference \"%s\": digest must be \"sha256:\" and "
			        "64 lowercase hex digits",
			        s);
		memcpy(r.digest, at + 1, UKIMG_DIGEST_SIZE);
	}
	slash = strrchr(buf, '/');
	colon = strrchr(slash ? slash : buf, ':');
	if (colon) {
		*colon = 0;
		if (check_tag(colon + 1, s, err) < 0)
			return -1;
		memcpy(r.tag, colon + 1, strlen(colon + 1) + 1);
	}
	name = buf;
	if (!*name)
		return uk_err_bad(err, "invalid reference \"%s\": empty name", s);

	first_end = strchr(name, '/');
	path = name;
	if (first_end && (memchr(name, '.', (size_t)(first_end - name)) ||
	                  memchr(name, ':', (size_t)(first_end - name)) ||
	                  (first_end - name == 9 && !memcmp(name, "localhost", 9)))) {
		size_t dlen = (size_t)(first_end - name);

		if (check_domain(name, dlen, s, err) < 0)
			return -1;
		if (dlen >= sizeof(r.registry))
			return uk_err_bad(err, "invalid reference \"%s\": registry host too long",
			                  s);
		memcpy(r.registry, name, dlen);
		path = first_end + 1;
	} else {
		snprintf(r.registry, sizeof(r.registry), "%s", UKIMG_REGISTRY_DEFAULT);
	}
	if (strchr(path, ':'))
		return uk_err_bad(err,
		                  "invalid reference \"%s\": ':' only separates a tag or a "
		                  "registry port",
		                  s);
	for (char *c = path;;) {
		char *e = strchr(c, '/');
		size_t len = e ? (size_t)(e - c) : strlen(c);

		if (check_path_component(c, len, s, err) < 0)
			return -1;
		if (!e)
			break;
		c = e + 1;
	}
	if (!strcmp(r.registry, UKIMG_REGISTRY_DEFAULT) && !strchr(path, '/')) {
		if (snprintf(r.repository, sizeof(r.repository), "library/%s", path) >=
		    (int)sizeof(r.repository))
			return uk_err_bad(err,
			                  "invalid reference \"%s\": repository name longer than "
			                  "255 characters",
			                  s);
	} else if (snprintf(r.repository, sizeof(r.repository), "%s", path) >=
	           (int)sizeof(r.repository)) {
		return uk_err_bad(err,
		                  "invalid reference \"%s\": repository name longer than 255 "
		                  "characters",
		                  s);
	}
	if (!r.tag[0] && !r.digest[0])
		snprintf(r.tag, sizeof(r.tag), "latest");
	*out = r;
	return 0;
}

int ukimg_ref_format(const ukimg_regref_t *ref, char *buf, size_t buflen)
{
	int n = snprintf(buf, buflen, "%s/%s%s%s%s%s", ref->registry, ref->repository,
	                 ref->tag[0] ? ":" : "", ref->tag, ref->digest[0] ? "@" : "", ref->digest);

	return n < 0 || (size_t)n >= buflen ? -1 : 0;
}
