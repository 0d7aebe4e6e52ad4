/* Signature unit tests: key generation, payloads, signing and verification, and the .sig manifest
 * parser, without a registry (test_registry.c runs the registry round trip). */
#include "testutil.h"

#include <sys/stat.h>

#include "uk/trust.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define REF "127.0.0.1:5000/team/app"

struct keys {
	char *dir;
	char priv[2][PATH_MAX], pub[2][PATH_MAX];
	char id[2][UKIMG_TRUST_KEYID_SIZE];
};

static int setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));
	uk_err_t err = {0};

	k->dir = tu_mkdtemp();
	for (int i = 0; i < 2; i++) {
		snprintf(k->priv[i], PATH_MAX, "%s/k%d.key", k->dir, i);
		snprintf(k->pub[i], PATH_MAX, "%s/k%d.pub", k->dir, i);
		if (ukimg_trust_keygen(k->priv[i], k->pub[i], k->id[i], &err) != 0)
			fail_msg("keygen: %s", err.message);
	}
	*state = k;
	return 0;
}

static int teardown(void **state)
{
	struct keys *k = *state;

	tu_rm_rf(k->dir);
	free(k->dir);
	free(k);
	return 0;
}

static void test_keygen(void **state)
{
	struct keys *k = *state;
	char id[UKIMG_TRUST_KEYID_SIZE], p[PATH_MAX + 8];
	struct stat st;
	uk_err_t err = {0};

	assert_int_equal(stat(k->priv[0], &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(k->pub[0], &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(strlen(k->id[0]), 64);
	assert_string_not_equal(k->id[0], k->id[1]);
	/* the id is the public key's, whichever file it is read from */
	assert_int_equal(ukimg_trust_keyid(k->pub[0], id, &err), 0);
	assert_string_equal(id, k->id[0]);
	assert_int_equal(ukimg_trust_keyid(k->priv[0], id, &err), 0);
	assert_string_equal(id, k->id[0]);

	/* no overwriting: 409, the old key stays, no temp file left */
	assert_int_equal(ukimg_trust_keygen(k->priv[0], k->pub[1], NULL, &err), -1);
	assert_int_equal(err.status, 409);
	assert_non_null(strstr(err.message, "already exists"));
	assert_int_equal(ukimg_trust_keyid(k->priv[0], id, &err), 0);
	assert_string_equal(id, k->id[0]);
	/* a fresh private key path with an existing public one: neither new file stays */
	snprintf(p, sizeof(p), "%s/k9.key", k->dir);
	assert_int_equal(ukimg_trust_keygen(p, k->pub[1], NULL, &err), -1);
	assert_int_equal(err.status, 409);
	assert_false(tu_exists(p));
	assert_int_equal(tu_count(k->dir), 4);

	/* something that is not a key */
	tu_write(k->dir, "junk.pub",
	         "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
	snprintf(p, sizeof(p), "%s/junk.pub", k->dir);
	assert_int_equal(ukimg_trust_keyid(p, id, &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "not an Ed25519"));
}

static void test_payload(void **state)
{
	char *p, d[UKIMG_DIGEST_SIZE], r[600];
	size_t len;
	uk_err_t err = {0};
	static const struct {
		const char *json, *msg;
	} bad[] = {
	        {"", "not a JSON object"},
	        {"[]", "not a JSON object"},
	        {"{}", "critical.type"},
	        {"{\"critical\":{\"type\":\"cosign container image signature\"}}", "critical.type"},
	        {"{\"critical\":{\"type\":\"uk signature\",\"image\":{\"docker-manifest-digest\":"
	         "\"sha256:12\"}}}",
	         "docker-manifest-digest"},
	        {"{\"critical\":{\"type\":\"uk "
	         "signature\",\"image\":{\"docker-manifest-digest\":\"" D1 "\"}}}",
	         "docker-reference"},
	        {"{\"critical\":{\"type\":\"uk "
	         "signature\",\"image\":{\"docker-manifest-digest\":\"" D1
	         "\"},\"identity\":{\"docker-reference\":\"a b/c\"}}}",
	         "docker-reference"},
	        {"{\"critical\":{}} trailing", "not a JSON object"},
	};

	(void)state;
	assert_int_equal(ukimg_trust_payload(D1, REF, &p, &len, &err), 0);
	assert_string_equal(p, "{\"critical\":{\"identity\":{\"docker-reference\":\"" REF
	                       "\"},\"image\":{\"docker-manifest-digest\":\"" D1
	                       "\"},\"type\":\"uk signature\"},\"optional\":null}");
	assert_int_equal(len, strlen(p));
	assert_int_equal(ukimg_trust_payload_parse(p, len, d, r, sizeof(r), &err), 0);
	assert_string_equal(d, D1);
	assert_string_equal(r, REF);
	free(p);
	assert_int_equal(ukimg_trust_payload("sha256:zz", REF, &p, &len, &err), -1);
	assert_int_equal(err.status, 400);
	assert_int_equal(ukimg_trust_payload(D1, "x\"y/z", &p, &len, &err), -1);
	assert_non_null(strstr(err.message, "docker-reference"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ukimg_trust_payload_parse(bad[i].json, strlen(bad[i].json), d, NULL, 0, &err) ==
		    0)
			fail_msg("accepted: %s", bad[i].json);
		assert_int_equal(err.status, 400);
		if (!strstr(err.message, bad[i].msg))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].json, err.message, bad[i].msg);
	}
}

/* One signature as a one-element list. */
static ukimg_trust_sigs_t one(ukimg_trust_sig_t *s)
{
	ukimg_trust_sigs_t l = {.n = 1, .v = s};
	return l;
}

static void test_verify(void **state)
{
	struct keys *k = *state;
	const char *keys0[] = {k->pub[0]}, *keys1[] = {k->pub[1]}, *both[] = {k->pub[1], k->pub[0]};
	char id[UKIMG_TRUST_KEYID_SIZE];
	ukimg_trust_sig_t s, t;
	ukimg_trust_sigs_t l, none = {0};
	uk_err_t err = {0};

	if (ukimg_trust_sign_payload(k->priv[0], D1, REF, &s, &err) != 0)
		fail_msg("sign: %s", err.message);
	assert_string_equal(s.keyid, k->id[0]);
	assert_int_equal(strlen(s.signature), 88);
	l = one(&s);
	assert_int_equal(ukimg_trust_verify(D1, &l, keys0, 1, id, &err), UKIMG_TRUST_OK);
	assert_string_equal(id, k->id[0]);
	assert_int_equal(ukimg_trust_verify(D1, &l, both, 2, NULL, &err), UKIMG_TRUST_OK);

	/* unsigned */
	assert_int_equal(ukimg_trust_verify(D1, &none, keys0, 1, NULL, &err), UKIMG_TRUST_UNSIGNED);
	assert_int_equal(err.status, 403);
	assert_non_null(strstr(err.message, "image " D1 " is not signed"));
	/* signed, but not by a trusted key */
	assert_int_equal(ukimg_trust_verify(D1, &l, keys1, 1, NULL, &err),
	                 UKIMG_TRUST_NO_TRUSTED_KEY);
	assert_int_equal(err.status, 403);
	assert_non_null(strstr(err.message, "by no trusted key"));
	/* the signature is for another image */
	assert_int_equal(ukimg_trust_verify(D2, &l, keys0, 1, NULL, &err),
	                 UKIMG_TRUST_BAD_SIGNATURE);
	assert_int_equal(err.status, 403);
	assert_non_null(strstr(err.message, "for another image"));

	/* a tampered payload (another repository, same digest) */
	t = s;
	t.payload = strdup(s.payload);
	memcpy(strstr(t.payload, "team/app"), "team/bad", 8);
	l = one(&t);
	assert_int_equal(ukimg_trust_verify(D1, &l, keys0, 1, NULL, &err),
	                 UKIMG_TRUST_BAD_SIGNATURE);
	assert_non_null(strstr(err.message, "does not verify"));
	/* a flipped signature bit, and a non-canonical base64 */
	strcpy(t.payload, s.payload);
	t.signature[10] = t.signature[10] == 'A' ? 'B' : 'A';
	assert_int_equal(ukimg_trust_verify(D1, &l, keys0, 1, NULL, &err),
	                 UKIMG_TRUST_BAD_SIGNATURE);
	memcpy(t.signature, s.signature, sizeof(t.signature));
	t.signature[85] = t.signature[85] == 'A' ? 'B' : 'A'; /* padding bits, same bytes */
	assert_int_equal(ukimg_trust_verify(D1, &l, keys0, 1, NULL, &err),
	                 UKIMG_TRUST_BAD_SIGNATURE);
	/* a key id claimed by a signature made with another key */
	ukimg_trust_sig_clear(&t);
	assert_int_equal(ukimg_trust_sign_payload(k->priv[1], D1, REF, &t, &err), 0);
	memcpy(t.keyid, k->id[0], sizeof(t.keyid));
	l = one(&t);
	assert_int_equal(ukimg_trust_verify(D1, &l, keys0, 1, NULL, &err),
	                 UKIMG_TRUST_BAD_SIGNATURE);
	/* a key file that cannot be read */
	keys0[0] = "/nonexistent/k.pub";
	assert_int_equal(ukimg_trust_verify(D1, &l, keys0, 1, NULL, &err), -1);
	assert_non_null(strstr(err.message, "/nonexistent/k.pub"));
	ukimg_trust_sig_clear(&t);
	ukimg_trust_sig_clear(&s);
}

static void test_sig_manifest(void **state)
{
	uk_err_t err = {0};
	ukimg_trust_sigs_t *l;
	char tag[UKIMG_TAG_MAX], m[4096];
	static const char *sig88 =
	        "QUFB"
	        "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
	        "QUFBQUFBQUFBQQ==";
	static const struct {
		const char *layer, *msg;
	} bad[] = {
	        {"{\"mediaType\":\"" UKIMG_TRUST_MT_PAYLOAD "\",\"digest\":\"" D1 "\",\"size\":10}",
	         "signature"},
	        {"{\"mediaType\":\"" UKIMG_TRUST_MT_PAYLOAD
	         "\",\"digest\":\"sha256:1\",\"size\":10,"
	         "\"annotations\":{\"" UKIMG_TRUST_ANNOT_SIG "\":\"x\"}}",
	         "digest"},
	        {"{\"mediaType\":\"" UKIMG_TRUST_MT_PAYLOAD "\",\"digest\":\"" D1
	         "\",\"size\":99999,"
	         "\"annotations\":{\"" UKIMG_TRUST_ANNOT_SIG "\":\"x\"}}",
	         "more than 4096"},
	        {"{\"mediaType\":\"" UKIMG_TRUST_MT_PAYLOAD "\",\"digest\":\"" D1 "\",\"size\":10,"
	         "\"annotations\":{\"" UKIMG_TRUST_ANNOT_SIG "\":\"x\",\"" UKIMG_TRUST_ANNOT_KEYID
	         "\":\"ABC\"}}",
	         "64 lowercase hex"},
	};

	(void)state;
	ukimg_trust_sig_tag(D1, tag);
	assert_string_equal(tag,
	                    "sha256-1111111111111111111111111111111111111111111111111111111111111"
	                    "111.sig");
	snprintf(m, sizeof(m),
	         "{\"schemaVersion\":2,\"mediaType\":\"" UKIMG_MT_MANIFEST "\",\"layers\":["
	         "{\"mediaType\":\"text/plain\",\"digest\":\"" D2 "\",\"size\":1},"
	         "{\"mediaType\":\"" UKIMG_TRUST_MT_PAYLOAD "\",\"digest\":\"" D1 "\",\"size\":10,"
	         "\"annotations\":{\"" UKIMG_TRUST_ANNOT_SIG "\":\"%s\"}}]}",
	         sig88);
	l = ukimg_trust_sigs_parse(m, strlen(m), &err);
	if (!l)
		fail_msg("parse: %s", err.message);
	assert_int_equal(l->n, 1); /* the text/plain layer is not a signature */
	assert_string_equal(l->v[0].payload_digest, D1);
	assert_int_equal(l->v[0].payload_size, 10);
	assert_string_equal(l->v[0].signature, sig88);
	assert_string_equal(l->v[0].keyid, "");
	assert_null(l->v[0].payload);
	ukimg_trust_sigs_free(l);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(m, sizeof(m), "{\"schemaVersion\":2,\"layers\":[%s]}", bad[i].layer);
		l = ukimg_trust_sigs_parse(m, strlen(m), &err);
		if (l)
			fail_msg("accepted: %s", bad[i].layer);
		assert_int_equal(err.status, 400);
		if (!strstr(err.message, bad[i].msg))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].layer, err.message, bad[i].msg);
	}
	assert_null(ukimg_trust_sigs_parse("{\"mediaType\":\"x\",\"layers\":[]}", 29, &err));
	assert_null(ukimg_trust_sigs_parse("{\"layers\":{}}", 13, &err));
	assert_null(ukimg_trust_sigs_parse("{\"layers\":[]}\0x", 15, &err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_keygen),
	        cmocka_unit_test(test_payload),
	        cmocka_unit_test(test_verify),
	        cmocka_unit_test(test_sig_manifest),
	};

	return cmocka_run_group_tests_name("trust", tests, setup, teardown);
}
