/* Fuzzes runuk's config.json parser (an engine's bundle is outside input): strict parse and the
 * lenient root.path look-up, every field read, everything freed. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runuk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct runuk_spec spec;
	uk_err_t err;
	char *path = NULL;

	if (runuk_spec_parse((const char *)data, size, &spec, &err) == 0) {
		size_t n = strlen(spec.root_path);

		for (size_t i = 0; i < spec.n_args; i++)
			n += strlen(spec.args[i]);
		for (size_t i = 0; spec.env[i]; i++)
			n += strlen(spec.env[i]);
		if (!spec.n_args || !spec.args[0] || spec.args[spec.n_args] ||
		    spec.n_args > RUNUK_MAX_ARGS || spec.n_env > RUNUK_MAX_ENV || !spec.annotations)
			__builtin_trap();
		(void)n;
		runuk_spec_free(&spec);
	} else if (!err.message[0] || err.status != 400) {
		__builtin_trap();
	}
	if (runuk_spec_root_path((const char *)data, size, &path, &err) == 0 && !path)
		__builtin_trap();
	free(path);
	return 0;
}
