/* Unit tests of the health checks' pure parts: durations, the "healthcheck" options, the state
 * machine (streak, retries, start period) and HTTP status lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "health.h"

#define MS 1000000LL
#define S (1000 * MS)

static void test_duration(void **state)
{
	static const struct {
		const char *in;
		int64_t ns;
	} ok[] = {{"0", 0},       {"0s", 0},         {"500ms", 500 * MS}, {"2s", 2 * S},
	          {"1m", 60 * S}, {"1m30s", 90 * S}, {"1.5s", 1500 * MS}, {"250us", 250000},
	          {"10ns", 10},   {"1h", 3600 * S},  {"24h", 86400 * S},  {"\xc2\xb5s", -1}};
	static const char *const bad[] = {"",    "5",   "s",   "1x",   "-1s", "1.s5",
	                                  " 1s", "1s ", "25h", "1e3s", "ms",  "1..5s"};
	int64_t ns;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (ok[i].ns < 0) { /* "µs" without a number */
			assert_int_equal(ukd_health_duration_parse(ok[i].in, &ns), -1);
			continue;
		}
		ns = -7;
		assert_int_equal(ukd_health_duration_parse(ok[i].in, &ns), 0);
		assert_int_equal(ns, ok[i].ns);
	}
	assert_int_equal(ukd_health_duration_parse("3\xc2\xb5s", &ns), 0);
	assert_int_equal(ns, 3000);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ns = -7;
		assert_int_equal(ukd_health_duration_parse(bad[i], &ns), -1);
		assert_int_equal(ns, -7); /* untouched on failure */
	}
	assert_int_equal(ukd_health_duration_parse(NULL, &ns), -1);
}

static json_object *parse(const char *text, uk_err_t *err)
{
	json_object *in = json_tokener_parse(text), *out = NULL;
	struct ukd_health_cfg c;

	if (ukd_health_cfg_parse(in, &c, err) == 0)
		out = ukd_health_cfg_json(&c);
	json_object_put(in);
	return out;
}

static void test_parse(void **state)
{
	uk_err_t err = {0};
	struct ukd_health_cfg c;
	json_object *o;

	(void)state;
	o = parse("{\"http\": \"8080/healthz?x=1\", \"interval\": \"2s\", \"timeout\": 7000000, "
	          "\"retries\": 5, \"start_period\": \"1m\"}",
	          &err);
	assert_non_null(o);
	ukd_health_cfg_from_json(o, &c);
	assert_int_equal(c.kind, UKD_HEALTH_HTTP);
	assert_int_equal(c.port, 8080);
	assert_string_equal(c.path, "/healthz?x=1");
	assert_int_equal(c.interval_ns, 2 * S);
	assert_int_equal(c.timeout_ns, 7 * MS);
	assert_int_equal(c.retries, 5);
	assert_int_equal(c.start_period_ns, 60 * S);
	json_object_put(o);

	/* Docker's defaults; "PORT" alone checks "/" */
	o = parse("{\"http\": \"80\"}", &err);
	ukd_health_cfg_from_json(o, &c);
	assert_string_equal(c.path, "/");
	assert_int_equal(c.interval_ns, 30 * S);
	assert_int_equal(c.timeout_ns, 30 * S);
	assert_int_equal(c.retries, 3);
	assert_int_equal(c.start_period_ns, 0);
	json_object_put(o);

	o = parse("{\"tcp\": 6379}", &err);
	ukd_health_cfg_from_json(o, &c);
	assert_int_equal(c.kind, UKD_HEALTH_TCP);
	assert_int_equal(c.port, 6379);
	json_object_put(o);

	/* none: absent, {} or disabled */
	assert_int_equal(ukd_health_cfg_parse(NULL, &c, &err), 0);
	o = ukd_health_cfg_json(&c);
	assert_string_equal(json_object_to_json_string(o), "{ \"type\": \"none\" }");
	json_object_put(o);
	o = parse("{\"disable\": true}", &err);
	ukd_health_cfg_from_json(o, &c);
	assert_int_equal(c.kind, UKD_HEALTH_NONE);
	json_object_put(o);

	static const struct {
		const char *in, *msg;
	} bad[] = {
	        {"{\"http\": \"80/\", \"tcp\": 80}", "exclusive"},
	        {"{\"http\": \"80/a b\"}", "the path must start with /"},
	        {"{\"http\": \"80nope\"}", "expected \"PORT/PATH\""},
	        {"{\"http\": \"0/\"}", "PORT 1 to 65535"},
	        {"{\"http\": \"123456/\"}", "PORT 1 to 65535"},
	        {"{\"http\": 80}", "expected \"PORT/PATH\""},
	        {"{\"tcp\": \"80\"}", "healthcheck.tcp \"80\""},
	        {"{\"tcp\": 0}", "expected a port from 1 to 65535"},
	        {"{\"tcp\": 80, \"interval\": \"0s\"}",
	         "healthcheck.interval: expected 1ms to 24h"},
	        {"{\"tcp\": 80, \"timeout\": 0}", "healthcheck.timeout: expected 1ms to 24h"},
	        {"{\"tcp\": 80, \"interval\": \"5\"}",
	         "healthcheck.interval \"5\": expected a duration"},
	        {"{\"tcp\": 80, \"start_period\": -1}", "healthcheck.start_period: expected 0s"},
	        {"{\"tcp\": 80, \"retries\": 0}", "healthcheck.retries 0: expected 1 to 1000"},
	        {"{\"tcp\": 80, \"retries\": \"3\"}", "healthcheck.retries"},
	        {"{\"retries\": 3}", "healthcheck.retries needs a check"},
	        {"{\"disable\": true, \"tcp\": 80}", "cannot be combined"},
	        {"{\"disable\": 1}", "healthcheck.disable: expected true or false"},
	        {"{\"cmd\": \"true\"}", "unknown field \"cmd\""},
	        {"[]", "expected an object"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_null(parse(bad[i].in, &err));
		assert_int_equal(err.status, 400);
		if (!strstr(err.message, bad[i].msg))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].in, err.message, bad[i].msg);
	}

	/* a stored config ukd did not write is no check */
	o = json_tokener_parse("{\"type\": \"http\", \"port\": 99999, \"interval\": 1, "
	                       "\"timeout\": 1, \"retries\": 1}");
	ukd_health_cfg_from_json(o, &c);
	assert_int_equal(c.kind, UKD_HEALTH_NONE);
	json_object_put(o);
	ukd_health_cfg_from_json(NULL, &c);
	assert_int_equal(c.kind, UKD_HEALTH_NONE);
}

static void test_state_machine(void **state)
{
	struct ukd_health_cfg c = {
	        .kind = UKD_HEALTH_HTTP, .retries = 3, .start_period_ns = 10 * S};
	struct ukd_health_state st = {UKD_HEALTH_STARTING, 0};
	int64_t t0 = 1000 * S;

	(void)state;
	/* failures inside the start period are not counted while starting */
	for (int i = 0; i < 5; i++)
		assert_int_equal(ukd_health_next(&st, &c, t0, t0 + (i + 1) * S, 0),
		                 UKD_HEALTH_STARTING);
	assert_int_equal(st.failing_streak, 0);
	/* after it, they are: unhealthy at exactly (retries) */
	assert_int_equal(ukd_health_next(&st, &c, t0, t0 + 10 * S, 0), UKD_HEALTH_STARTING);
	assert_int_equal(ukd_health_next(&st, &c, t0, t0 + 11 * S, 0), UKD_HEALTH_STARTING);
	assert_int_equal(st.failing_streak, 2);
	assert_int_equal(ukd_health_next(&st, &c, t0, t0 + 12 * S, 0), UKD_HEALTH_UNHEALTHY);
	assert_int_equal(st.failing_streak, 3);
	assert_int_equal(ukd_health_next(&st, &c, t0, t0 + 13 * S, 0), UKD_HEALTH_UNHEALTHY);
	assert_int_equal(st.failing_streak, 4);
	/* one success: healthy, streak reset */
	assert_int_equal(ukd_health_next(&st, &c, t0, t0 + 14 * S, 1), UKD_HEALTH_HEALTHY);
	assert_int_equal(st.failing_streak, 0);

	/* a success inside the start period ends it: later failures count at once */
	st = (struct ukd_health_state){UKD_HEALTH_STARTING, 0};
	assert_int_equal(ukd_health_next(&st, &c, t0, t0 + 1 * S, 1), UKD_HEALTH_HEALTHY);
	assert_int_equal(ukd_health_next(&st, &c, t0, t0 + 2 * S, 0), UKD_HEALTH_HEALTHY);
	assert_int_equal(ukd_health_next(&st, &c, t0, t0 + 3 * S, 0), UKD_HEALTH_HEALTHY);
	assert_int_equal(st.failing_streak, 2);
	assert_int_equal(ukd_health_next(&st, &c, t0, t0 + 4 * S, 0), UKD_HEALTH_UNHEALTHY);
	/* a success between failures resets the streak */
	st = (struct ukd_health_state){UKD_HEALTH_HEALTHY, 2};
	assert_int_equal(ukd_health_next(&st, &c, t0, t0 + 20 * S, 1), UKD_HEALTH_HEALTHY);
	assert_int_equal(ukd_health_next(&st, &c, t0, t0 + 21 * S, 0), UKD_HEALTH_HEALTHY);
	assert_int_equal(st.failing_streak, 1);

	/* retries 1, no start period: the first failure decides */
	c.retries = 1;
	c.start_period_ns = 0;
	st = (struct ukd_health_state){UKD_HEALTH_STARTING, 0};
	assert_int_equal(ukd_health_next(&st, &c, t0, t0, 0), UKD_HEALTH_UNHEALTHY);
	assert_string_equal(ukd_health_status_name(UKD_HEALTH_UNHEALTHY), "unhealthy");
	assert_string_equal(ukd_health_status_name(UKD_HEALTH_STARTING), "starting");
	assert_string_equal(ukd_health_status_name(UKD_HEALTH_HEALTHY), "healthy");
}

static void test_http_status(void **state)
{
	(void)state;
	assert_int_equal(ukd_health_http_status("HTTP/1.1 200 OK\r\n", 17), 200);
	assert_int_equal(ukd_health_http_status("HTTP/1.0 404 Not Found", 22), 404);
	assert_int_equal(ukd_health_http_status("HTTP/1.1 301", 12), 301);
	assert_int_equal(ukd_health_http_status("HTTP/1.1 20", 11), 0); /* more to come */
	assert_int_equal(ukd_health_http_status("HTT", 3), 0);
	assert_int_equal(ukd_health_http_status("", 0), 0);
	assert_int_equal(ukd_health_http_status("SSH-2.0-x", 9), -1);
	assert_int_equal(ukd_health_http_status("HTTP/1.1 2x0 OK", 15), -1);
	assert_int_equal(ukd_health_http_status("HTTP/1.1 099 Hm", 15), -1);
	assert_int_equal(ukd_health_http_status("HTTP/1.1 600 Hm", 15), -1);
	assert_int_equal(ukd_health_http_status("HTTP/1.1  200", 13), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_duration),
	        cmocka_unit_test(test_parse),
	        cmocka_unit_test(test_state_machine),
	        cmocka_unit_test(test_http_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
