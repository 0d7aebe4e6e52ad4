/* Docker's ?filters={"KEY":["VALUE",...]} of the list and prune routes: parsed once, at the
 * edge, against the keys the route knows; the routes then ask whether a thing matches. */
#ifndef UKD_FILTERS_H
#define UKD_FILTERS_H

#include <json-c/json.h>
#include <stdint.h>

#include <uk/error.h>

#define UKD_FILTER_KEYS_MAX 8

struct ukd_filters {
	json_object *root;                      /* the parsed text; owned */
	const char *const *keys;                /* the route's keys, NULL-terminated */
	json_object *vals[UKD_FILTER_KEYS_MAX]; /* per key: an array of strings, or NULL */
};

/*
 * Parses (text) (NULL or "" = no filter) into (f): a JSON object whose values are arrays of
 * strings (or, as Docker's clients also send, objects {"VALUE": true}); every key must be one
 * of (keys) (at most UKD_FILTER_KEYS_MAX), else 400 naming the known ones. A "label" value is
 * "K" or "K=V" with a non-empty K; an "until" value a duration ("24h", "1h30m", "90s") or unix
 * seconds. Release (f) with ukd_filters_clear(), also after a failure.
 */
int ukd_filters_parse(const char *text, const char *const *keys, struct ukd_filters *f,
                      uk_err_t *err);
void ukd_filters_clear(struct ukd_filters *f);

/* The values given for (key), or NULL when the filter does not name it. */
json_object *ukd_filters_get(const struct ukd_filters *f, const char *key);
/* 1 if (key) is not filtered, or one of its values equals (v). */
int ukd_filters_match(const struct ukd_filters *f, const char *key, const char *v);
/* 1 if every "label" value holds in (labels), NULL-terminated "K=V" strings (may be NULL):
 * "K" asks for the key, "K=V" for that value too. Docker ANDs labels, ORs other values. */
int ukd_filters_match_labels(const struct ukd_filters *f, char *const *labels);
/* As ukd_filters_match_labels for an object of string values (a volume's stored labels). */
int ukd_filters_match_label_obj(const struct ukd_filters *f, json_object *labels);
/* 1 if (created) (unix seconds) is before every "until" value, taken relative to (now). */
int ukd_filters_match_until(const struct ukd_filters *f, int64_t created, int64_t now);
/* Keeps the objects of (arr) (taken) whose "name" passes the "name" filter and whose
 * "labels" object the "label" filter; the list routes of networks and volumes. */
json_object *ukd_filters_apply_named(const struct ukd_filters *f, json_object *arr);

#endif
