/* Request bodies as JSON: exactly one value, then only whitespace, no NUL (\u0000) anywhere (a
 * strict parse of what a client sent; fuzzed with the instance config it feeds). */
#include "json_body.h"

#include <string.h>

#include <uk/images.h>

int ukd_json_body_parse(const char *body, size_t len, json_object **out, uk_err_t *err)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	size_t used;

	*out = NULL;
	if (len > INT32_MAX)
		return uk_err_bad(err, "bad JSON body: too large");
	if (!(tok = json_tokener_new()))
		return uk_err_internal(err, "out of memory");
	*out = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!*out || jerr != json_tokener_success) {
		json_object_put(*out);
		*out = NULL;
		return uk_err_bad(err, "bad JSON body: %s", json_tokener_error_desc(jerr));
	}
	for (; used < len; used++)
		if (!body[used] || !strchr(" \t\r\n", body[used])) {
			json_object_put(*out);
			*out = NULL;
			return uk_err_bad(err, "bad JSON body: trailing data at byte %zu", used);
		}
	if ((used = ukimg_json_nul_at(body, len))) {
		json_object_put(*out);
		*out = NULL;
		return uk_err_bad(err,
		                  "bad JSON body: NUL character (\\u0000) in a string or key at "
		                  "byte %zu",
		                  used - 1);
	}
	return 0;
}
