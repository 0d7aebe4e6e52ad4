/* ukbase unit tests: the strict JSON parser on manifests, RFC 3339 times, whole-file I/O. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "uk/cleanup.h"
#include "uk/io.h"
#include "uk/json.h"
#include "uk/time.h"

/* An OCI image manifest as a registry serves it. */
#define MANIFEST_HEAD                                                                  \
	"{\"schemaVersion\": 2,\n"                                                     \
	" \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n"            \
	" \"config\": {\"mediaType\": \"application/vnd.oci.image.config.v1+json\",\n" \
	"            \"digest\": \"sha256:" SHA_A "\", \"size\": 123},\n"
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define LAYER(d)                                                                       \
	"{\"mediaType\": \"application/vnd.oci.image.layer.v1.tar\", \"digest\": \"" d \
	"\", \"size\": 10}"

static json_object *parse(const char *text, enum uk_json_fault *fault, size_t *at)
{
	return uk_json_parse_strict(text, strlen(text), fault, at);
}

static void test_json_manifest_ok(void **state)
{
	static const char m[] = MANIFEST_HEAD " \"layers\": [" LAYER("sha256:" SHA_B) "]}\n";
	enum uk_json_fault f;
	json_object *o, *layers;

	(void)state;
	o = parse(m, &f, NULL);
	assert_non_null(o);
	assert_int_equal(f, UK_JSON_OK);
	assert_string_equal(uk_json_str(o, "mediaType"),
	                    "application/vnd.oci.image.manifest.v1+json");
	assert_true(json_object_object_get_ex(o, "layers", &layers));
	assert_int_equal(json_object_array_length(layers), 1);
	assert_null(uk_json_str(o, "schemaVersion")); /* not a string */
	json_object_put(o);
}

/* A key twice: json-c keeps the last, so what a signature or a check saw first is not what is
 * used. Refused at every depth, whichever key, with the offset of the object. */
static void test_json_manifest_duplicate_keys(void **state)
{
	static const struct {
		const char *text;
		size_t object_at; /* the '{' of the object holding the key twice */
	} cases[] = {
	        {MANIFEST_HEAD " \"layers\": [], \"layers\": [" LAYER("sha256:" SHA_B) "]}", 0},
	        {"{\"config\": {\"digest\": \"sha256:" SHA_A "\", \"digest\": \"sha256:" SHA_B
	         "\"}}",
	         11},
	        {"{\"layers\": [{}, {\"size\": 1, \"size\": 2}]}", 16},
	        {"[{\"a\": {\"b\": {\"c\": 1, \"c\": 1}}}]", 13},
	        /* the same key spelled with an escape is the same key */
	        {"{\"digest\": \"x\", \"\\u0064igest\": \"y\"}", 0},
	};
	enum uk_json_fault f;
	size_t at;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_null(parse(cases[i].text, &f, &at));
		assert_int_equal(f, UK_JSON_DUPLICATE);
		assert_int_equal(at, cases[i].object_at);
		assert_null(uk_json_parse_exact(cases[i].text, strlen(cases[i].text)));
	}
	/* the same key in two objects is fine, and ':' inside strings is no key */
	json_object *o = parse(
	        "{\"a\": {\"k\": \"x:y\"}, \"b\": {\"k\": \"::\"}, \"c\": [{\"k\": 1}]}", &f, NULL);
	assert_non_null(o);
	json_object_put(o);
}

static void test_json_trailing_nul_syntax(void **state)
{
	static const char nul_after[] = "{}\0garbage";
	enum uk_json_fault f;
	size_t at;

	(void)state;
	assert_null(parse(MANIFEST_HEAD " \"layers\": []} {}", &f, &at));
	assert_true(f == UK_JSON_TRAILING || f == UK_JSON_SYNTAX);
	assert_null(parse("{\"a\": 1} x", &f, &at));
	assert_true(f == UK_JSON_TRAILING || f == UK_JSON_SYNTAX);
	assert_null(uk_json_parse_strict(nul_after, sizeof(nul_after) - 1, &f, &at));
	assert_int_equal(f, UK_JSON_TRAILING);
	assert_int_equal(at, 2);
	assert_null(parse("{\"name\": \"a\\u0000b\"}", &f, &at));
	assert_int_equal(f, UK_JSON_NUL);
	assert_int_equal(at, 11);
	assert_null(parse("{'a': 1}", &f, &at)); /* json-c's lenient mode took this */
	assert_int_equal(f, UK_JSON_SYNTAX);
	assert_null(parse("", &f, &at));
	assert_int_equal(f, UK_JSON_SYNTAX);
	json_object *o = parse(" {\"a\": [1, 2]} \r\n\t", &f, NULL);
	assert_non_null(o);
	json_object_put(o);
	assert_string_equal(uk_json_fault_str(UK_JSON_DUPLICATE), "an object with a key twice");
}

static void test_time(void **state)
{
	char buf[UK_TIME_LEN];
	double t;

	(void)state;
	uk_time_rfc3339(1764000000, buf);
	assert_string_equal(buf, "2025-11-24T16:00:00Z");
	assert_int_equal(uk_time_parse_rfc3339(buf, &t), 0);
	assert_true(t == 1764000000.0);
	uk_time_rfc3339_ns(1764000000123456789LL, buf, sizeof(buf));
	assert_string_equal(buf, "2025-11-24T16:00:00.123456789Z");
	uk_time_rfc3339_ns(0, buf, sizeof(buf));
	assert_string_equal(buf, "0001-01-01T00:00:00Z");
	assert_int_equal(uk_time_parse_rfc3339("2025-11-24T18:00:00.5+02:00", &t), 0);
	assert_true(t == 1764000000.5);
	t = 42;
	assert_int_equal(uk_time_parse_rfc3339("2025-11-24T16:00:00", &t), -1); /* no zone */
	assert_int_equal(uk_time_parse_rfc3339("2025-11-24T16:00:00Zjunk", &t), -1);
	assert_int_equal(uk_time_parse_rfc3339("2025-11-24T16:00:00+25:00", &t), -1);
	assert_int_equal(uk_time_parse_rfc3339(NULL, &t), -1);
	assert_true(t == 42);
}

static void test_io(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[512], path[1024];
	_cleanup_free_ char *buf = NULL;
	uk_err_t err = {0};
	size_t len;
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/base-io.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(uk_mkdir_p(path, 0755), 0);
	assert_int_equal(uk_mkdir_p(path, 0755), 0); /* again: fine */
	snprintf(path, sizeof(path), "%s/a/b/c/f", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(uk_write_all(fd, "hello", 5), 0);
	close(fd);
	assert_int_equal(uk_read_file(path, 5, &buf, &len, &err), 0);
	assert_string_equal(buf, "hello");
	assert_int_equal(len, 5);
	free(buf);
	buf = NULL;
	assert_int_equal(uk_read_file(path, 4, &buf, &len, &err), -1);
	assert_int_equal(err.status, 413);
	assert_null(buf);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(uk_read_file(path, 4, &buf, &len, &err), -1);
	assert_int_equal(err.status, 404);
	assert_int_equal(uk_rm_rf(dir), 0);
	assert_int_equal(access(dir, F_OK), -1);
	assert_int_equal(uk_rm_rf(dir), 0); /* missing: fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_json_manifest_ok),
	        cmocka_unit_test(test_json_manifest_duplicate_keys),
	        cmocka_unit_test(test_json_trailing_nul_syntax),
	        cmocka_unit_test(test_time),
	        cmocka_unit_test(test_io),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
