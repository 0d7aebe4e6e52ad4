/* Docker's ?filters= of the list and prune routes (filters.h): parse, then match. */
#include "filters.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uk/time.h>

/* A Go duration as Docker's "until" takes it: [0-9]+(ns|us|ms|s|m|h), repeated. Seconds. */
static int parse_duration(const char *s, double *out)
{
	double total = 0;

	if (!*s)
		return -1;
	while (*s) {
		char *end;
		double n, unit;

		if (!isdigit((unsigned char)*s))
			return -1;
		errno = 0;
		n = strtod(s, &end);
		if (errno || end == s)
			return -1;
		s = end;
		if (!strncmp(s, "ns", 2))
			unit = 1e-9, s += 2;
		else if (!strncmp(s, "us", 2))
			unit = 1e-6, s += 2;
		else if (!strncmp(s, "ms", 2))
			unit = 1e-3, s += 2;
		else if (*s == 's')
			unit = 1, s++;
		else if (*s == 'm')
			unit = 60, s++;
		else if (*s == 'h')
			unit = 3600, s++;
		else
			return -1;
		total += n * unit;
	}
	if (total > 1e12)
		return -1;
	*out = total;
	return 0;
}

/* "until": unix seconds (Docker also takes them), RFC 3339, or a duration before (now). */
static int parse_until(const char *s, int64_t now, int64_t *out)
{
	double d;
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (*s && isdigit((unsigned char)*s) && !*end && !errno) {
		*out = n;
		return 0;
	}
	if (uk_time_parse_rfc3339(s, &d) == 0) {
		*out = (int64_t)d;
		return 0;
	}
	if (parse_duration(s, &d) == 0) {
		*out = now - (int64_t)d;
		return 0;
	}
	return -1;
}

static int key_index(const struct ukd_filters *f, const char *key)
{
	for (int i = 0; f->keys[i] && i < UKD_FILTER_KEYS_MAX; i++)
		if (!strcmp(f->keys[i], key))
			return i;
	return -1;
}

static int check_value(const char *key, const char *v, uk_err_t *err)
{
	int64_t t;

	if (!strcmp(key, "label") && (!*v || *v == '='))
		return uk_err_bad(err, "filters.label: '%.100s' is not KEY or KEY=VALUE", v);
	if (!strcmp(key, "until") && parse_until(v, 0, &t) < 0)
		return uk_err_bad(err,
		                  "filters.until: '%.100s' is not a duration (24h, 1h30m), unix "
		                  "seconds or an RFC 3339 time",
		                  v);
	return 0;
}

/* Docker's clients send {"KEY": {"VALUE": true}}; the API's documented form is an array. */
static json_object *values_of(const char *key, json_object *val, uk_err_t *err)
{
	json_object *arr;

	if (json_object_is_type(val, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(val); i++) {
			json_object *v = json_object_array_get_idx(val, i);
			if (!json_object_is_type(v, json_type_string))
				return uk_err_bad(err, "filters.%s: expected strings", key), NULL;
			if (check_value(key, json_object_get_string(v), err) < 0)
				return NULL;
		}
		return json_object_get(val);
	}
	if (!json_object_is_type(val, json_type_object))
		return uk_err_bad(err, "filters.%s: expected an array of strings", key), NULL;
	arr = json_object_new_array();
	json_object_object_foreach(val, k, on)
	{
		if (!json_object_is_type(on, json_type_boolean)) {
			json_object_put(arr);
			return uk_err_bad(err, "filters.%s.%.100s: expected true", key, k), NULL;
		}
		if (!json_object_get_boolean(on))
			continue;
		if (check_value(key, k, err) < 0) {
			json_object_put(arr);
			return NULL;
		}
		json_object_array_add(arr, json_object_new_string(k));
	}
	return arr;
}

static int unknown_key(const struct ukd_filters *f, const char *key, uk_err_t *err)
{
	char known[256] = "";
	size_t n = 0;

	for (int i = 0; f->keys[i] && i < UKD_FILTER_KEYS_MAX; i++)
		n += (size_t)snprintf(known + n, n < sizeof(known) ? sizeof(known) - n : 0, "%s%s",
		                      i ? ", " : "", f->keys[i]);
	return uk_err_bad(err, "filters: unknown filter '%.100s' (this list knows: %s)", key,
	                  known);
}

int ukd_filters_parse(const char *text, const char *const *keys, struct ukd_filters *f,
                      uk_err_t *err)
{
	memset(f, 0, sizeof(*f));
	f->keys = keys;
	if (!text || !*text)
		return 0;
	f->root = json_tokener_parse(text);
	if (!f->root || !json_object_is_type(f->root, json_type_object))
		return uk_err_bad(err, "filters: expected a JSON object like "
		                       "{\"label\":[\"env=prod\"]}");
	json_object_object_foreach(f->root, key, val)
	{
		int i = key_index(f, key);

		if (i < 0)
			return unknown_key(f, key, err);
		if (f->vals[i]) /* a JSON object with the key twice: keep the last */
			json_object_put(f->vals[i]);
		if (!(f->vals[i] = values_of(key, val, err)))
			return -1;
	}
	return 0;
}

void ukd_filters_clear(struct ukd_filters *f)
{
	for (int i = 0; i < UKD_FILTER_KEYS_MAX; i++)
		json_object_put(f->vals[i]);
	json_object_put(f->root);
	memset(f, 0, sizeof(*f));
}

json_object *ukd_filters_get(const struct ukd_filters *f, const char *key)
{
	int i = key_index(f, key);

	return i < 0 ? NULL : f->vals[i];
}

int ukd_filters_match(const struct ukd_filters *f, const char *key, const char *v)
{
	json_object *arr = ukd_filters_get(f, key);

	if (!arr)
		return 1;
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), v))
			return 1;
	return 0;
}

/* (lookup) answers the value of a label key, or NULL when absent. */
typedef const char *(*label_fn)(const void *labels, const char *key, size_t klen);

static int match_labels(const struct ukd_filters *f, label_fn lookup, const void *labels)
{
	json_object *arr = ukd_filters_get(f, "label");

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		const char *want = json_object_get_string(json_object_array_get_idx(arr, i));
		const char *eq = strchr(want, '=');
		const char *have = lookup(labels, want, eq ? (size_t)(eq - want) : strlen(want));

		if (!have || (eq && strcmp(have, eq + 1)))
			return 0;
	}
	return 1;
}

static const char *strv_lookup(const void *labels, const char *key, size_t klen)
{
	for (char *const *l = labels; l && *l; l++)
		if (!strncmp(*l, key, klen) && ((*l)[klen] == '=' || !(*l)[klen]))
			return (*l)[klen] ? *l + klen + 1 : "";
	return NULL;
}

static const char *obj_lookup(const void *labels, const char *key, size_t klen)
{
	char k[512];
	json_object *v;

	if (klen >= sizeof(k))
		return NULL;
	memcpy(k, key, klen);
	k[klen] = '\0';
	if (!json_object_is_type((json_object *)labels, json_type_object) ||
	    !json_object_object_get_ex((json_object *)labels, k, &v))
		return NULL;
	return json_object_get_string(v);
}

int ukd_filters_match_labels(const struct ukd_filters *f, char *const *labels)
{
	return match_labels(f, strv_lookup, labels);
}

int ukd_filters_match_label_obj(const struct ukd_filters *f, json_object *labels)
{
	return match_labels(f, obj_lookup, labels);
}

int ukd_filters_match_until(const struct ukd_filters *f, int64_t created, int64_t now)
{
	json_object *arr = ukd_filters_get(f, "until");

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		int64_t until;

		if (parse_until(json_object_get_string(json_object_array_get_idx(arr, i)), now,
		                &until) < 0 ||
		    created >= until)
			return 0;
	}
	return 1;
}

json_object *ukd_filters_apply_named(const struct ukd_filters *f, json_object *arr)
{
	json_object *out;

	if (!arr || !json_object_is_type(arr, json_type_array))
		return arr;
	out = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i), *name = NULL, *labels = NULL;

		json_object_object_get_ex(o, "name", &name);
		json_object_object_get_ex(o, "labels", &labels);
		if (ukd_filters_match(f, "name", name ? json_object_get_string(name) : "") &&
		    ukd_filters_match_label_obj(f, labels))
			json_object_array_add(out, json_object_get(o));
	}
	json_object_put(arr);
	return out;
}
