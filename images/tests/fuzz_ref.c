/* libFuzzer target: the image reference parser on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uk/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), back[1024];
	ukimg_regref_t r, r2;
	uk_err_t err = {0};
	size_t n;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (ukimg_ref_parse(s, &r, &err) != 0) {
		if (err.status != 400 || !err.message[0])
			abort();
		free(s);
		return 0;
	}
	/* What callers rely on: URL-safe fields, a tag or a digest, lowercase repository. */
	if (!r.registry[0] || !r.repository[0] || (!r.tag[0] && !r.digest[0]))
		abort();
	if (r.digest[0] && !ukimg_digest_valid(r.digest))
		abort();
	n = strlen(r.repository);
	if (n > 255 || !lower_alnum(r.repository[0]) || !lower_alnum(r.repository[n - 1]))
		abort();
	for (const char *c = r.repository; *c; c++)
		if (!lower_alnum(*c) && !strchr("._-/", *c))
			abort();
	if (strstr(r.repository, "//") || strstr(r.repository, "..") ||
	    strstr(r.repository, "/.") || strstr(r.repository, "./"))
		abort();
	for (const char *c = r.registry; *c; c++)
		if (!strchr(".-:", *c) && !lower_alnum(*c) && !(*c >= 'A' && *c <= 'Z'))
			abort();
	for (const char *c = r.tag; *c; c++)
		if (!lower_alnum(*c) && !(*c >= 'A' && *c <= 'Z') && !strchr("_.-", *c))
			abort();
	/* Docker's tag grammar [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}: no "..", ":" or "-x" tag */
	if (r.tag[0] && (r.tag[0] == '.' || r.tag[0] == '-' || strlen(r.tag) > 128))
		abort();
	/* Formatting and reparsing gives the same reference. */
	if (ukimg_ref_format(&r, back, sizeof(back)) != 0)
		abort();
	if (ukimg_ref_parse(back, &r2, &err) != 0 || strcmp(r.registry, r2.registry) ||
	    strcmp(r.repository, r2.repository) || strcmp(r.tag, r2.tag) ||
	    strcmp(r.digest, r2.digest))
		abort();
	free(s);
	return 0;
}
