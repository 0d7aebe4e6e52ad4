/* libFuzzer target: the strict JSON parser (base/json.c) on arbitrary bytes: never crashes; what it
 * accepts has no NUL and, written back out, parses again to as many members. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uk/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum uk_json_fault fault;
	size_t at;
	json_object *o = uk_json_parse_strict((const char *)data, size, &fault, &at), *again;
	const char *out;

	if (!o) {
		if (fault == UK_JSON_OK || (fault != UK_JSON_SYNTAX && at > size))
			abort();
		return 0;
	}
	if (fault != UK_JSON_OK || uk_json_nul_at((const char *)data, size))
		abort();
	/* json-c writes each member once: its own output must pass */
	out = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	again = uk_json_parse_strict(out, strlen(out), &fault, &at);
	if (!again || !json_object_equal(o, again))
		abort();
	json_object_put(again);
	json_object_put(o);
	return 0;
}
