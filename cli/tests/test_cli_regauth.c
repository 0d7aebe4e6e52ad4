/* Unit tests (cmocka) of registry credentials: base64, the X-Registry-Auth header, server names,
 * and the CLI's credentials file (mode checks, atomic 0600 writes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "uk/regauth.h"

static void test_base64_vectors(void **state)
{
	/* RFC 4648 section 10, plus bytes that differ between the two alphabets */
	static const char *const in[] = {"",     "f",     "fo",     "foo",
	                                 "foob", "fooba", "foobar", "\xfb\xff\xbf"};
	static const char *const std[] = {"",         "Zg==",     "Zm8=",     "Zm9v",
	                                  "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy", "+/+/"};
	static const char *const url[] = {"",       "Zg",      "Zm8",      "Zm9v",
	                                  "Zm9vYg", "Zm9vYmE", "Zm9vYmFy", "-_-_"};
	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char *s = uk_base64_encode(in[i], strlen(in[i]), 0);
		char *u = uk_base64_encode(in[i], strlen(in[i]), 1), *d;
		size_t n;
		assert_string_equal(s, std[i]);
		assert_string_equal(u, url[i]);
		assert_int_equal(uk_base64_decode(s, strlen(s), &d, &n), 0);
		assert_int_equal(n, strlen(in[i]));
		assert_memory_equal(d, in[i], n);
		free(d);
		assert_int_equal(uk_base64_decode(u, strlen(u), &d, &n), 0);
		assert_memory_equal(d, in[i], n);
		free(d);
		free(s);
		free(u);
	}
}

static void test_base64_bad(void **state)
{
	static const char *const bad[] = {"Z", "Zm9v!", "Zg=", "Zg===", "Z===", "=Zg=", "Zm 9v"};
	char *d = NULL;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(uk_base64_decode(bad[i], strlen(bad[i]), &d, &n), -1);
	assert_null(d);
}

static void test_regauth_roundtrip(void **state)
{
	uk_regauth_t a = {"user", "p\"a:s s", "127.0.0.1:5000"}, b;
	uk_err_t err = {0};
	char *h = uk_regauth_encode(&a);

	(void)state;
	assert_non_null(h);
	assert_null(strpbrk(h, "+/=")); /* base64url, unpadded */
	assert_int_equal(uk_regauth_decode(h, &b, &err), 0);
	assert_string_equal(b.username, "user");
	assert_string_equal(b.password, "p\"a:s s");
	assert_string_equal(b.serveraddress, "127.0.0.1:5000");
	uk_regauth_clear(&b);
	assert_null(b.password);
	free(h);
	/* Docker's clients send "e30=" ({}) for anonymous: no fields, no error */
	assert_int_equal(uk_regauth_decode("e30=", &b, &err), 0);
	assert_null(b.username);
}

static void test_regauth_bad(void **state)
{
	static const char *const bad[] = {
	        "not base64!", "W10",              /* [] */
	        "eyJ1c2VybmFtZSI6MX0",             /* {"username":1} */
	        "eyJzZXJ2ZXJhZGRyZXNzIjoiYSBiIn0", /* {"serveraddress":"a b"} */
	};
	uk_regauth_t b;
	uk_err_t err = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(uk_regauth_decode(bad[i], &b, &err), -1);
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.message, "X-Registry-Auth"));
		assert_null(b.username);
	}
}

static void test_server_names(void **state)
{
	static const struct {
		const char *in, *out;
		int http;
	} ok[] = {
	        {"127.0.0.1:5000", "127.0.0.1:5000", 0},
	        {"http://192.0.2.1:5000/", "192.0.2.1:5000", 1},
	        {"https://Reg.Example.com/v2/", "reg.example.com", 0},
	        {"https://index.docker.io/v1/", "docker.io", 0},
	        {"registry-1.docker.io", "docker.io", 0},
	};
	static const char *const bad[] = {"",      "http://", "a b",  "host/path",
	                                  "x/v3/", "..",      ".a:1", "a..b"};
	char out[UK_REGAUTH_SERVER_MAX];
	uk_err_t err = {0};
	int http;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(uk_regauth_server(ok[i].in, out, &http, &err), 0);
		assert_string_equal(out, ok[i].out);
		assert_int_equal(http, ok[i].http);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(uk_regauth_server(bad[i], out, NULL, &err), -1);
	uk_regauth_registry_of("127.0.0.1:5000/uk/hello:v1", out);
	assert_string_equal(out, "127.0.0.1:5000");
	uk_regauth_registry_of("localhost/a", out);
	assert_string_equal(out, "localhost");
	uk_regauth_registry_of("team/hello:1", out);
	assert_string_equal(out, "docker.io");
	uk_regauth_registry_of("hello", out);
	assert_string_equal(out, "docker.io");
}

static void test_config_file(void **state)
{
	char dir[] = "/tmp/uk-regauth-XXXXXX", path[64];
	json_object *cfg, *auths, *entry;
	uk_regauth_t a;
	uk_err_t err = {0};
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/config.json", dir);
	cfg = cli_config_load(path, &err); /* missing: empty */
	assert_non_null(cfg);
	auths = json_object_new_object();
	entry = json_object_new_object();
	json_object_object_add(entry, "auth", json_object_new_string("dXNlcjpwYTpzcw=="));
	json_object_object_add(auths, "reg:5000", entry);
	json_object_object_add(cfg, "auths", auths);
	json_object_object_add(cfg, "other", json_object_new_string("kept"));
	assert_int_equal(cli_config_save(path, cfg, &err), 0);
	json_object_put(cfg);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	cfg = cli_config_load(path, &err);
	assert_non_null(cfg);
	assert_int_equal(cli_config_creds(cfg, "reg:5000", &a), 1);
	assert_string_equal(a.username, "user");
	assert_string_equal(a.password, "pa:ss"); /* split at the first ':' */
	uk_regauth_clear(&a);
	assert_int_equal(cli_config_creds(cfg, "other:1", &a), 0);
	json_object_put(cfg);
	/* looser than 0600: refused with what to do */
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(cli_config_load(path, &err));
	assert_non_null(strstr(err.message, "chmod 600"));
	/* not JSON: refused, not overwritten */
	assert_int_equal(chmod(path, 0600), 0);
	FILE *f = fopen(path, "w");
	fputs("{nope", f);
	fclose(f);
	assert_null(cli_config_load(path, &err));
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_base64_vectors),    cmocka_unit_test(test_base64_bad),
	        cmocka_unit_test(test_regauth_roundtrip), cmocka_unit_test(test_regauth_bad),
	        cmocka_unit_test(test_server_names),      cmocka_unit_test(test_config_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
