/* Request bodies as JSON. */
#ifndef UKD_JSON_BODY_H
#define UKD_JSON_BODY_H

#include <json-c/json.h>
#include <stddef.h>

#include "uk/json.h"
#include "ukd.h"

/* Parses (body) ((len) bytes) as exactly one JSON value followed by nothing but whitespace;
 * (out) receives it (the caller puts it). 400 "bad JSON body: ..." otherwise. */
int ukd_json_body_parse(const char *body, size_t len, json_object **out, uk_err_t *err);

#endif
