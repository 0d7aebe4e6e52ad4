/* Unit tests (cmocka) of the CLI's pure helpers and the client's JSON-lines splitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "cli.h"

static void test_human_duration(void **state)
{
	static const struct {
		double s;
		const char *want;
	} cases[] = {
	        {0, "Less than a second"}, {0.9, "Less than a second"}, {1, "1 second"},
	        {59, "59 seconds"},        {60, "About a minute"},      {119, "About a minute"},
	        {120, "2 minutes"},        {3599, "59 minutes"},        {3600, "About an hour"},
	        {2 * 3600, "2 hours"},     {47 * 3600, "47 hours"},     {48 * 3600, "2 days"},
	        {14 * 86400, "2 weeks"},   {60 * 86400, "2 months"},    {800 * 86400, "2 years"},
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cli_human_duration(cases[i].s, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	cli_human_since(0, buf, sizeof(buf));
	assert_string_equal(buf, "N/A");
}

static void test_human_size(void **state)
{
	char buf[32];

	(void)state;
	cli_human_size(0, buf, sizeof(buf));
	assert_string_equal(buf, "0B");
	cli_human_size(999, buf, sizeof(buf));
	assert_string_equal(buf, "999B");
	cli_human_size(34816, buf, sizeof(buf));
	assert_string_equal(buf, "34.8kB");
	cli_human_size(1234567, buf, sizeof(buf));
	assert_string_equal(buf, "1.23MB");
	cli_human_size(5e9, buf, sizeof(buf));
	assert_string_equal(buf, "5GB");
}

static void test_memory(void **state)
{
	static const struct {
		const char *in;
		int64_t want; /* -1: must fail */
	} cases[] = {
	        {"16m", 16 << 20}, {"16MB", 16 << 20}, {"1g", 1 << 30}, {"2k", 2048},
	        {"100", 100},      {"100b", 100},      {"1.5k", 1536},  {"1t", 1LL << 40},
	        {"", -1},          {"m", -1},          {"16x", -1},     {"-1m", -1},
	        {"16mbb", -1},     {"16bb", -1},       {" 16m", -1},    {"9999999999t", -1},
	        {"nan", -1},       {"inf", -1},        {"0x10", -1},
	};
	uk_err_t err;
	int64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = cli_parse_memory(cases[i].in, &v, &err);
		if (cases[i].want < 0) {
			assert_int_equal(r, -1);
			assert_int_equal(err.status, 400);
			assert_non_null(strstr(err.message, "bad memory size"));
		} else {
			assert_int_equal(r, 0);
			assert_int_equal(v, cases[i].want);
		}
	}
}

static void test_rfc3339(void **state)
{
	uk_err_t err;
	double t;

	(void)state;
	assert_true(cli_parse_rfc3339("1970-01-01T00:00:10Z") == 10);
	assert_true(cli_parse_rfc3339("1970-01-01T01:00:10+01:00") == 10);
	assert_true(cli_parse_rfc3339("1970-01-01T00:00:10.5Z") == 10.5);
	assert_true(cli_parse_rfc3339("1970-01-01T00:00:10") < 0);
	assert_true(cli_parse_rfc3339("yesterday") < 0);
	assert_true(cli_parse_rfc3339("2026-11-26T21:38:21+38:0") < 0); /* found by fuzzing */
	assert_true(cli_parse_rfc3339("2026-11-26T21:38:21+01:00x") < 0);
	assert_true(cli_parse_rfc3339("") < 0);
	assert_int_equal(cli_parse_time("1764193000.5", &t, &err), 0);
	assert_true(t == 1764193000.5);
	assert_int_equal(cli_parse_time("1h30m", &t, &err), 0);
	assert_int_equal(cli_parse_time("later", &t, &err), -1);
	assert_int_equal(cli_parse_time("5x", &t, &err), -1);
}

static void test_ignore(void **state)
{
	const char *text = "# comment\n\n  *.o  \n/build/\n./docs//\n!docs/keep.md\n**/tmp\n"
	                   "a?c\n!\n/\n";
	size_t n;
	char **p = cli_ignore_parse(text, &n);

	(void)state;
	assert_int_equal(n, 6);
	assert_string_equal(p[0], "+*.o");
	assert_string_equal(p[1], "+build");
	assert_string_equal(p[2], "+docs");
	assert_string_equal(p[3], "!docs/keep.md");
	assert_true(cli_ignore_match(p, n, "x.o", 0));
	assert_false(cli_ignore_match(p, n, "sub/x.o", 0)); /* '*' stops at '/' */
	assert_true(cli_ignore_match(p, n, "build", 1));
	assert_true(cli_ignore_match(p, n, "build/out/x", 0)); /* inside an excluded dir */
	assert_true(cli_ignore_match(p, n, "docs/a.md", 0));
	assert_false(cli_ignore_match(p, n, "docs/keep.md", 0)); /* the last match wins */
	assert_true(cli_ignore_match(p, n, "tmp", 1));
	assert_true(cli_ignore_match(p, n, "a/b/tmp/c", 0));
	assert_true(cli_ignore_match(p, n, "abc", 0));
	assert_false(cli_ignore_match(p, n, "main.c", 0));
	assert_false(cli_ignore_match(p, n, "Ukfile", 0));
	cli_ignore_free(p, n);
	p = cli_ignore_parse("", &n);
	assert_int_equal(n, 0);
	assert_false(cli_ignore_match(p, n, "x", 0));
	cli_ignore_free(p, n);
}

struct lines {
	int n;
	char seen[8][64];
	int stop_at;
};

static int on_line(json_object *obj, void *ud)
{
	struct lines *l = ud;

	if (l->n < 8)
		snprintf(l->seen[l->n], sizeof(l->seen[0]), "%s",
		         json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	l->n++;
	return l->stop_at && l->n == l->stop_at;
}

static void test_jsonl(void **state)
{
	struct lines l = {0};
	uk_jsonl_t s;
	uk_err_t err;

	(void)state;
	uk_jsonl_init(&s, on_line, &l);
	assert_int_equal(uk_jsonl_feed(&s, "{\"a\":1}\n{\"b\"", strlen("{\"a\":1}\n{\"b\""), &err),
	                 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(
	        uk_jsonl_feed(&s, ":2}\r\n\n  \n[1,2]", strlen(":2}\r\n\n  \n[1,2]"), &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(uk_jsonl_finish(&s, &err), 0); /* last line without a newline */
	assert_int_equal(l.n, 3);
	assert_string_equal(l.seen[0], "{\"a\":1}");
	assert_string_equal(l.seen[1], "{\"b\":2}");
	assert_string_equal(l.seen[2], "[1,2]");
	assert_int_equal(
	        uk_jsonl_feed(&s, "{\"c\":3} trailing\n", strlen("{\"c\":3} trailing\n"), &err),
	        -1);
	assert_int_equal(err.status, 500);
	assert_non_null(strstr(err.message, "not JSON"));
	uk_jsonl_release(&s);

	memset(&l, 0, sizeof(l));
	l.stop_at = 1;
	uk_jsonl_init(&s, on_line, &l);
	assert_int_equal(uk_jsonl_feed(&s, "1\n2\n3\n", strlen("1\n2\n3\n"), &err), 1);
	assert_int_equal(l.n, 1);
	uk_jsonl_release(&s);
}

static void test_client_hosts(void **state)
{
	uk_err_t err;
	uk_client_t *c;

	(void)state;
	c = uk_client_new(NULL, &err);
	assert_non_null(c);
	assert_string_equal(uk_client_host(c), UK_CLIENT_DEFAULT_HOST);
	uk_client_free(c);
	c = uk_client_new("tcp://127.0.0.1:2375/", &err);
	assert_non_null(c);
	assert_string_equal(uk_client_host(c), "tcp://127.0.0.1:2375");
	uk_client_free(c);
	c = uk_client_new("tcp://[::1]:2375", &err);
	assert_non_null(c);
	uk_client_free(c);
	assert_null(uk_client_new("tcp://:2375", &err));
	assert_null(uk_client_new("tcp://h:0", &err));
	assert_null(uk_client_new("tcp://h:1x", &err));
	assert_null(uk_client_new("unix://x", &err));
	assert_null(uk_client_new("ssh://h", &err));
	assert_int_equal(err.status, 400);
	uk_client_free(NULL);
}

/* uk_client_set_tls: half a key pair, verifying without a CA and unreadable files are refused;
 * a unix socket ignores TLS. */
static void test_client_tls(void **state)
{
	uk_err_t err = {0};
	uk_client_t *c = uk_client_new("tcp://127.0.0.1:2376", &err);
	uk_client_tls_t half = {.cert = "/etc/hostname"};
	uk_client_tls_t noca = {.verify = 1};
	uk_client_tls_t missing = {.verify = 1, .ca = "/nonexistent/ca.pem"};
	uk_client_tls_t ok = {.verify = 1, .ca = "/etc/hostname"};

	(void)state;
	assert_non_null(c);
	assert_int_equal(uk_client_set_tls(c, &half, &err), -1);
	assert_non_null(strstr(err.message, "--tlskey"));
	assert_int_equal(uk_client_set_tls(c, &noca, &err), -1);
	assert_non_null(strstr(err.message, "--tlscacert"));
	assert_int_equal(uk_client_set_tls(c, &missing, &err), -1);
	assert_non_null(strstr(err.message, "/nonexistent/ca.pem"));
	assert_int_equal(uk_client_set_tls(c, &ok, &err), 0);
	assert_string_equal(uk_client_host(c), "tcp://127.0.0.1:2376");
	uk_client_free(c);
	c = uk_client_new("unix:///run/x.sock", &err);
	assert_int_equal(uk_client_set_tls(c, &missing, &err), 0);
	uk_client_free(c);
}

static void test_escape(void **state)
{
	char *e = uk_client_escape("a b/c:d?e&f=g%h~._-");

	(void)state;
	assert_string_equal(e, "a%20b%2Fc%3Ad%3Fe%26f%3Dg%25h~._-");
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_human_duration), cmocka_unit_test(test_human_size),
	        cmocka_unit_test(test_memory),         cmocka_unit_test(test_rfc3339),
	        cmocka_unit_test(test_ignore),         cmocka_unit_test(test_jsonl),
	        cmocka_unit_test(test_client_hosts),   cmocka_unit_test(test_client_tls),
	        cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
