/* libFuzzer target: the signature manifest and signature payload parsers on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uk/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char digest[UKIMG_DIGEST_SIZE], ref[600];
	uk_err_t err = {0};
	ukimg_trust_sigs_t *sigs = ukimg_trust_sigs_parse((const char *)data, size, &err);

	/* What callers rely on: bounded counts, valid digests and sizes, well-formed key ids. */
	if (!sigs && (err.status != 400 || !err.message[0]))
		abort();
	if (sigs && sigs->n > UKIMG_TRUST_MAX_SIGS)
		abort();
	for (size_t i = 0; sigs && i < sigs->n; i++) {
		const ukimg_trust_sig_t *s = &sigs->v[i];

		if (!ukimg_digest_valid(s->payload_digest) || s->payload_size < 0 ||
		    s->payload_size > UKIMG_TRUST_PAYLOAD_MAX || !s->signature[0] || s->payload ||
		    (s->keyid[0] && strlen(s->keyid) != 64))
			abort();
	}
	ukimg_trust_sigs_free(sigs);

	memset(&err, 0, sizeof(err));
	if (ukimg_trust_payload_parse((const char *)data, size, digest, ref, sizeof(ref), &err) ==
	    0) {
		char *back;
		size_t len;

		/* an accepted payload names a valid digest and a reference we could write again */
		if (!ukimg_digest_valid(digest) ||
		    ukimg_trust_payload(digest, ref, &back, &len, &err))
			abort();
		free(back);
	} else if (err.status != 400 || !err.message[0]) {
		abort();
	}
	return 0;
}
