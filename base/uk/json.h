/* Strict JSON parsing of outside input (manifests, configs, request bodies) and small accessors. */
#ifndef UK_JSON_H
#define UK_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

static inline void uk_json_putp(json_object **o)
{
	json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(uk_json_putp)))

/* Why uk_json_parse_strict refused a text. */
enum uk_json_fault {
	UK_JSON_OK,
	UK_JSON_SYNTAX,    /* not JSON (json-c's strict mode), or too large */
	UK_JSON_TRAILING,  /* something other than whitespace after the value */
	UK_JSON_NUL,       /* a NUL byte, raw or as \u0000, anywhere */
	UK_JSON_DUPLICATE, /* an object with the same key twice */
};

/*
 * Parses (buf) ((len) bytes) as exactly one JSON value (json-c's JSON_TOKENER_STRICT): only
 * whitespace may follow it, no NUL anywhere (json-c would cut strings and keys there) and no
 * object may hold a key twice (json-c keeps the last, another reader the first: what was signed
 * or checked would not be what is used). Returns the value (the caller owns it) or NULL with the
 * reason in (*fault) and its byte offset in (*at) (either MAY be NULL).
 */
json_object *uk_json_parse_strict(const char *buf, size_t len, enum uk_json_fault *fault,
                                  size_t *at);
/* uk_json_parse_strict without the reason. */
json_object *uk_json_parse_exact(const char *buf, size_t len);
/* A sentence for (fault): "trailing data after the JSON value", ... */
const char *uk_json_fault_str(enum uk_json_fault fault);

/*
 * The offset + 1 of the first NUL in the JSON text (buf) ((len) bytes), raw or as the escape
 * \u0000 in a string or a key; 0 when there is none. (buf) MUST be text json-c accepted (the scan
 * tracks strings, not the grammar).
 */
size_t uk_json_nul_at(const char *buf, size_t len);

/* (ns) (nanoseconds since the epoch) as an RFC 3339 JSON string (uk_time_rfc3339_ns). */
json_object *uk_json_time_ns(int64_t ns);

/* (o)'s member (key) when it is a string, else NULL. */
const char *uk_json_str(json_object *o, const char *key);

#endif
