/* libFuzzer target: the X-Registry-Auth decoder on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uk/regauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *enc;
	ukimg_auth_buf_t a, b;
	uk_err_t err = {0};

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (ukimg_auth_decode(s, &a, &err) != 0) {
		if (err.status != 400 || !err.message[0])
			abort();
		free(s);
		return 0;
	}
	/* What callers rely on: credentials only with a user name; encoding and decoding again
	 * gives the same fields. */
	if (a.auth.username && (a.auth.username != a.username || !a.username[0]))
		abort();
	if (ukimg_auth_encode(a.username, a.password, a.serveraddress, &enc, &err) == 0) {
		if (ukimg_auth_decode(enc, &b, &err) != 0 || strcmp(a.username, b.username) ||
		    strcmp(a.password, b.password) || strcmp(a.serveraddress, b.serveraddress))
			abort();
		free(enc);
	}
	free(s);
	return 0;
}
