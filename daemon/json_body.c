/* Request bodies as JSON: exactly one value, then only whitespace, no NUL (\u0000) anywhere, no
 * key twice (base/uk/json.h's strict parse of what a client sent; fuzzed with the instance config
 * it feeds). */
#include "json_body.h"

int ukd_json_body_parse(const char *body, size_t len, json_object **out, uk_err_t *err)
{
	enum uk_json_fault fault;
	size_t at;

	*out = uk_json_parse_strict(body, len, &fault, &at);
	switch (fault) {
	case UK_JSON_OK:
		return 0;
	case UK_JSON_TRAILING:
		return uk_err_bad(err, "bad JSON body: trailing data at byte %zu", at);
	case UK_JSON_NUL:
		return uk_err_bad(err,
		                  "bad JSON body: NUL character (\\u0000) in a string or key at "
		                  "byte %zu",
		                  at);
	case UK_JSON_DUPLICATE:
		return uk_err_bad(err, "bad JSON body: the object at byte %zu has a key twice", at);
	case UK_JSON_SYNTAX:
		break;
	}
	return uk_err_bad(err, "bad JSON body: not valid JSON (at byte %zu)", at);
}
