/* The one strict parser for outside JSON (uk/json.h): json-c's strict mode, then no trailing data,
 * no NUL and no duplicate key. */
#include "uk/json.h"

#include "uk/time.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t uk_json_nul_at(const char *buf, size_t len)
{
	int in_str = 0;

	for (size_t i = 0; i < len; i++) {
		if (!buf[i])
			return i + 1;
		if (buf[i] == '"') {
			in_str = !in_str;
		} else if (in_str && buf[i] == '\\' && i + 1 < len) {
			if (buf[i + 1] == 'u' && i + 6 <= len && !memcmp(buf + i + 2, "0000", 4))
				return i + 1;
			i++; /* the escaped character: \" does not end the string */
		}
	}
	return 0;
}

/*
 * Duplicate keys: json-c keeps the last of them, so an object parsed from text with a key twice
 * has fewer members than the text has ':' at its level. The text's objects, numbered by their
 * '{' in order, are the parsed tree's objects in pre-order (json-c keeps members in insertion
 * order), up to the first object holding a duplicate, where the counts differ.
 */
struct key_counts {
	size_t *n;  /* members per object, in the order of their '{' */
	size_t *at; /* the offset of each '{' */
	size_t count;
};

static int count_keys(const char *buf, size_t len, struct key_counts *kc)
{
	size_t depth = 0, cap = 0, *stack = NULL; /* stack: object index, SIZE_MAX for arrays */
	size_t scap = 0;
	int in_str = 0, rc = -1;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (depth == scap) {
				size_t nc = scap ? scap * 2 : 16,
				       *ns = realloc(stack, nc * sizeof(*ns));
				if (!ns)
					goto out;
				stack = ns, scap = nc;
			}
			if (c == '[') {
				stack[depth++] = SIZE_MAX;
				continue;
			}
			if (kc->count == cap) {
				size_t nc = cap ? cap * 2 : 16;
				size_t *nn = realloc(kc->n, nc * sizeof(*nn));
				if (!nn)
					goto out;
				kc->n = nn;
				nn = realloc(kc->at, nc * sizeof(*nn));
				if (!nn)
					goto out;
				kc->at = nn, cap = nc;
			}
			kc->n[kc->count] = 0;
			kc->at[kc->count] = i;
			stack[depth++] = kc->count++;
		} else if (c == '}' || c == ']') {
			if (depth)
				depth--;
		} else if (c == ':' && depth && stack[depth - 1] != SIZE_MAX) {
			kc->n[stack[depth - 1]]++;
		} else if (!strchr(",0123456789+-.eE \t\r\n", c) && (c < 'a' || c > 'z')) {
			rc = -2; /* json-c's strict mode still takes 'single quotes' */
			goto out;
		}
	}
	rc = 0;
out:
	free(stack);
	return rc;
}

#define NOT_FINITE (SIZE_MAX - 1)

/* Walks (o) in pre-order against the counts; the index of the first object that differs,
 * NOT_FINITE for a NaN or an Infinity (json-c takes them; JSON has no such numbers), or
 * SIZE_MAX. */
static size_t first_mismatch(json_object *o, const struct key_counts *kc, size_t *next)
{
	size_t r;

	if (json_object_is_type(o, json_type_object)) {
		size_t me = (*next)++;
		if (me >= kc->count || (size_t)json_object_object_length(o) != kc->n[me])
			return me;
		json_object_object_foreach(o, k, v)
		{
			(void)k;
			if ((r = first_mismatch(v, kc, next)) != SIZE_MAX)
				return r;
		}
	} else if (json_object_is_type(o, json_type_double)) {
		if (!isfinite(json_object_get_double(o)))
			return NOT_FINITE;
	} else if (json_object_is_type(o, json_type_array)) {
		size_t n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++)
			if ((r = first_mismatch(json_object_array_get_idx(o, i), kc, next)) !=
			    SIZE_MAX)
				return r;
	}
	return SIZE_MAX;
}

static json_object *refuse(json_object *o, enum uk_json_fault *fault, size_t *at,
                           enum uk_json_fault why, size_t where)
{
	json_object_put(o);
	if (fault)
		*fault = why;
	if (at)
		*at = where;
	return NULL;
}

json_object *uk_json_parse_strict(const char *buf, size_t len, enum uk_json_fault *fault,
                                  size_t *at)
{
	struct key_counts kc = {0};
	json_tokener *tok;
	json_object *o;
	size_t end, bad, next = 0;

	if (fault)
		*fault = UK_JSON_OK;
	if (at)
		*at = 0;
	if (len > INT_MAX)
		return refuse(NULL, fault, at, UK_JSON_SYNTAX, 0);
	tok = json_tokener_new();
	if (!tok)
		return refuse(NULL, fault, at, UK_JSON_SYNTAX, 0);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	end = json_tokener_get_parse_end(tok);
	/* a bare number at the end could go on: a NUL tells json-c the text ended */
	if (!o && json_tokener_get_error(tok) == json_tokener_continue) {
		o = json_tokener_parse_ex(tok, "", 1);
		end = len;
	}
	json_tokener_free(tok);
	if (!o)
		return refuse(NULL, fault, at, UK_JSON_SYNTAX, end);
	/* json-c's strict mode stops at the end of the value (or at a NUL): whitespace only after
	 * it */
	for (bad = end; bad < len && buf[bad] && strchr(" \t\r\n", buf[bad]); bad++)
		;
	if (bad < len)
		return refuse(o, fault, at, UK_JSON_TRAILING, bad);
	if ((bad = uk_json_nul_at(buf, len)))
		return refuse(o, fault, at, UK_JSON_NUL, bad - 1);
	if (count_keys(buf, len, &kc) < 0) {
		free(kc.n);
		free(kc.at);
		return refuse(o, fault, at, UK_JSON_SYNTAX, 0);
	}
	bad = first_mismatch(o, &kc, &next);
	if (bad == NOT_FINITE) {
		free(kc.n);
		free(kc.at);
		return refuse(o, fault, at, UK_JSON_SYNTAX, 0);
	}
	if (bad != SIZE_MAX) {
		size_t where = bad < kc.count ? kc.at[bad] : 0;
		free(kc.n);
		free(kc.at);
		return refuse(o, fault, at, UK_JSON_DUPLICATE, where);
	}
	free(kc.n);
	free(kc.at);
	return o;
}

json_object *uk_json_parse_exact(const char *buf, size_t len)
{
	return uk_json_parse_strict(buf, len, NULL, NULL);
}

const char *uk_json_fault_str(enum uk_json_fault fault)
{
	switch (fault) {
	case UK_JSON_OK:
		return "no fault";
	case UK_JSON_SYNTAX:
		return "not valid JSON";
	case UK_JSON_TRAILING:
		return "trailing data after the JSON value";
	case UK_JSON_NUL:
		return "a NUL character (\\u0000)";
	case UK_JSON_DUPLICATE:
		return "an object with a key twice";
	}
	return "?";
}

const char *uk_json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

json_object *uk_json_time_ns(int64_t ns)
{
	char buf[UK_TIME_LEN];

	uk_time_rfc3339_ns(ns, buf, sizeof(buf));
	return json_object_new_string(buf);
}
