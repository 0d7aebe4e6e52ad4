/* Unit tests of the typed instance spec (spec.c): create bodies decoded and refused, the stored
 * form round-tripped, and configs exactly as the previous ukd stored them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uk/images.h>

#include "spec.h"

static char *img_cmd[] = {"serve", "--port", "80", NULL};
static char *img_env[] = {"PATH=/bin", "A=image", NULL};
static char *img_exposed[] = {"53/udp", "80/tcp", NULL};
static struct ukd d = {.cfg = {.accelerator = "auto"}, .accel_type = "qemu"};

static int from_body(const char *text, struct ukd_instance_spec *s, uk_err_t *err)
{
	ukimg_info_t img = {
	        .cmd = img_cmd, .env = img_env, .exposed_ports = img_exposed, .memory = 16 << 20};
	json_object *body = json_tokener_parse(text);
	int r;

	assert_non_null(body);
	memset(err, 0, sizeof(*err));
	r = ukd_spec_from_body(&d, body, &img, s, err);
	json_object_put(body);
	return r;
}

/* (s)'s stored text; the caller frees it. */
static char *stored(const struct ukd_instance_spec *s)
{
	json_object *o = ukd_spec_to_json(s);
	char *t = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));

	json_object_put(o);
	return t;
}

/* The stored text of (s) without the keys this ukd added to what the previous one stored. */
static char *stored_old_keys(const struct ukd_instance_spec *s)
{
	static const char *const added[] = {"networks", "mounts", "labels", "backend", "vcpus"};
	json_object *o = ukd_spec_to_json(s);
	char *t;

	for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++)
		json_object_object_del(o, added[i]);
	t = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return t;
}

/* Stored, decoded again and stored: the same text (every field survives). The backend is
 * resolved first, as the create does before it stores. */
static void assert_round_trip(struct ukd_instance_spec *s)
{
	struct ukd_instance_spec back;
	uk_err_t err = {0};
	char *a, *b;

	s->backend = ukd_spec_resolve_backend(&d, s);
	a = stored(s);

	assert_int_equal(ukd_spec_from_json(a, &back, &err), 0);
	b = stored(&back);
	assert_string_equal(a, b);
	ukd_spec_clear(&back);
	free(a);
	free(b);
}

/* ---- configs as main's ukd stored them (its ukd_instance_config over the same image) ---- */

static const struct {
	const char *body, *stored;
} main_configs[] = {
        {"{\"image\":\"x\",\"env\":[\"A=req\",\"B=2\"],\"memory\":33554432,\"restart_policy\":"
         "{\"name\":\"on-failure\",\"maximum_retry_count\":3},\"auto_remove\":true,"
         "\"accelerator\":\"tcg\",\"ports\":[{\"host_port\":8080,\"guest_port\":80},"
         "{\"host_ip\":\"0.0.0.0\",\"host_port\":5353,\"guest_port\":53,\"protocol\":\"udp\"}],"
         "\"healthcheck\":{\"http\":\"80/healthz\",\"interval\":\"2s\",\"timeout\":\"1s\","
         "\"retries\":4,\"start_period\":\"500ms\"},\"log_opts\":{\"max-size\":\"64k\","
         "\"max-file\":\"2\"}}",
         "{\"accelerator\":\"tcg\",\"cmd\":[\"serve\",\"--port\",\"80\"],\"env\":[\"PATH=\\/bin\","
         "\"A=req\",\"B=2\"],\"memory\":33554432,\"restart_policy\":{\"name\":\"on-failure\","
         "\"maximum_retry_count\":3},\"auto_remove\":true,\"ports\":[{\"host_ip\":\"127.0.0.1\","
         "\"host_port\":8080,\"guest_port\":80,\"protocol\":\"tcp\"},{\"host_ip\":\"0.0.0.0\","
         "\"host_port\":5353,\"guest_port\":53,\"protocol\":\"udp\"}],\"healthcheck\":{\"type\":"
         "\"http\",\"port\":80,\"path\":\"\\/healthz\",\"interval\":2000000000,\"timeout\":"
         "1000000000,\"start_period\":500000000,\"retries\":4},\"log_opts\":{\"max-size\":65536,"
         "\"max-file\":2},\"exposed_ports\":[\"53\\/udp\",\"80\\/tcp\"]}"},
        {"{\"image\":\"x\"}",
         "{\"accelerator\":\"auto\",\"cmd\":[\"serve\",\"--port\",\"80\"],\"env\":[\"PATH=\\/bin\","
         "\"A=image\"],\"memory\":16777216,\"restart_policy\":{\"name\":\"no\","
         "\"maximum_retry_count\":0},\"auto_remove\":false,\"ports\":[],\"healthcheck\":{\"type\":"
         "\"none\"},\"log_opts\":{\"max-size\":10485760,\"max-file\":3},\"exposed_ports\":["
         "\"53\\/udp\",\"80\\/tcp\"]}"},
        {"{\"image\":\"x\",\"cmd\":[],\"healthcheck\":{\"tcp\":80},\"restart_policy\":{\"name\":"
         "\"on-unhealthy\"}}",
         "{\"accelerator\":\"auto\",\"cmd\":[],\"env\":[\"PATH=\\/bin\",\"A=image\"],\"memory\":"
         "16777216,\"restart_policy\":{\"name\":\"on-unhealthy\",\"maximum_retry_count\":0},"
         "\"auto_remove\":false,\"ports\":[],\"healthcheck\":{\"type\":\"tcp\",\"port\":80,"
         "\"interval\":30000000000,\"timeout\":30000000000,\"start_period\":0,\"retries\":3},"
         "\"log_opts\":{\"max-size\":10485760,\"max-file\":3},\"exposed_ports\":[\"53\\/udp\","
         "\"80\\/tcp\"]}"},
};

static void test_main_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(main_configs) / sizeof(main_configs[0]); i++) {
		struct ukd_instance_spec s, b;
		uk_err_t err = {0};
		char *t;

		/* main's stored text decodes, and stores again as it was (plus the new keys) */
		assert_int_equal(ukd_spec_from_json(main_configs[i].stored, &s, &err), 0);
		t = stored_old_keys(&s);
		assert_string_equal(t, main_configs[i].stored);
		free(t);
		assert_int_equal(s.backend, UKD_BACKEND_LIBVIRT); /* main had no other */
		assert_int_equal(s.vcpus, 1);
		assert_int_equal(s.net_mode, UKD_NET_DEFAULT);
		assert_true(ukd_spec_has_nic(&s)); /* the image EXPOSEs ports */
		assert_round_trip(&s);
		/* the same body decodes to what main stored */
		assert_int_equal(from_body(main_configs[i].body, &b, &err), 0);
		t = stored_old_keys(&b);
		assert_string_equal(t, main_configs[i].stored);
		free(t);
		ukd_spec_clear(&b);
		ukd_spec_clear(&s);
	}
}

/* The fields of main's first config, read as fields. */
static void test_main_fields(void **state)
{
	struct ukd_instance_spec s;
	uk_err_t err = {0};

	(void)state;
	assert_int_equal(ukd_spec_from_json(main_configs[0].stored, &s, &err), 0);
	assert_int_equal(s.accel, UKD_ACCEL_WANT_TCG);
	assert_string_equal(s.cmd[0], "serve");
	assert_string_equal(s.cmd[2], "80");
	assert_null(s.cmd[3]);
	assert_string_equal(s.env[0], "PATH=/bin");
	assert_string_equal(s.env[1], "A=req");
	assert_string_equal(s.env[2], "B=2");
	assert_null(s.env[3]);
	assert_true(ukd_env_has(s.env, "B"));
	assert_false(ukd_env_has(s.env, "UK_IP"));
	assert_int_equal(s.memory, 32 << 20);
	assert_int_equal(s.restart.kind, UKD_RESTART_ON_FAILURE);
	assert_int_equal(s.restart.max_retry, 3);
	assert_true(s.auto_remove);
	assert_int_equal(s.n_ports, 2);
	assert_string_equal(s.ports[0].host_ip, "127.0.0.1");
	assert_int_equal(s.ports[0].host_port, 8080);
	assert_int_equal(s.ports[0].guest_port, 80);
	assert_string_equal(s.ports[1].proto, "udp");
	assert_int_equal(s.health.kind, UKD_HEALTH_HTTP);
	assert_int_equal(s.health.port, 80);
	assert_string_equal(s.health.path, "/healthz");
	assert_int_equal(s.health.interval_ns, 2000000000LL);
	assert_int_equal(s.health.start_period_ns, 500000000LL);
	assert_int_equal(s.health.retries, 4);
	assert_int_equal(s.log.max_size, 65536);
	assert_int_equal(s.log.max_file, 2);
	assert_int_equal(s.n_exposed, 2);
	assert_int_equal(s.exposed[0], 53);
	assert_string_equal(s.exposed_proto[0], "udp");
	assert_int_equal(s.exposed[1], 80);
	ukd_spec_clear(&s);
	/* a pulled image's odd EXPOSE keys, and more than fit: still a NIC, never refused */
	assert_int_equal(
	        ukd_spec_from_json("{\"exposed_ports\":[\"8000-8010\\/tcp\",\"x\"]}", &s, &err), 0);
	assert_int_equal(s.n_exposed, 2);
	assert_int_equal(s.exposed[0], 8000);
	assert_int_equal(s.exposed[1], 0);
	assert_true(ukd_spec_has_nic(&s));
	assert_round_trip(&s);
	ukd_spec_clear(&s);
	assert_int_equal(ukd_spec_from_json(main_configs[0].stored, &s, &err), 0);
	assert_non_null(s.labels);
	assert_null(s.labels[0]);
	ukd_spec_clear(&s);
	/* the oldest configs had fewer keys: defaults, the same as their readers assumed */
	assert_int_equal(
	        ukd_spec_from_json("{\"cmd\":[\"a\"],\"memory\":0,\"future\":{\"x\":1}}", &s, &err),
	        0);
	assert_int_equal(s.restart.kind, UKD_RESTART_NO);
	assert_int_equal(s.log.max_size, 10 << 20);
	assert_int_equal(s.log.max_file, 3);
	assert_int_equal(s.health.kind, UKD_HEALTH_NONE);
	assert_false(ukd_spec_has_nic(&s));
	assert_non_null(s.env);
	assert_null(s.env[0]);
	ukd_spec_clear(&s);
}

/* Every field, the new keys too, decoded from a body and round-tripped. */
static void test_round_trip(void **state)
{
	struct ukd_instance_spec s;
	uk_err_t err = {0};

	(void)state;
	assert_int_equal(
	        from_body(
	                "{\"image\":\"x\",\"name\":\"n\",\"cmd\":[\"a b\",\"\"],\"env\":[\"K=v\"],"
	                "\"memory\":4194304,\"restart_policy\":{\"name\":\"always\"},"
	                "\"auto_remove\":true,\"accelerator\":\"kvm\",\"ports\":[{\"host_port\":"
	                "18080,\"guest_port\":80}],\"healthcheck\":{\"tcp\":80},\"log_opts\":"
	                "{\"max-file\":5},\"networks\":[{\"name\":\"front\",\"aliases\":[\"web\","
	                "\"www.x\"],\"ip\":\"10.89.0.5\"},{\"name\":\"back_2\"}],\"mounts\":[{"
	                "\"type\":\"volume\",\"source\":\"data\",\"target\":\"/data\","
	                "\"read_only\":true},{\"source\":\"logs\",\"target\":\"/var/log\"}],"
	                "\"labels\":{\"com.example.team\":\"web\",\"empty\":\"\",\"eq\":\"a=b\"},"
	                "\"backend\":\"qemu\",\"vcpus\":4}",
	                &s, &err),
	        0);
	assert_string_equal(s.cmd[0], "a b");
	assert_string_equal(s.cmd[1], "");
	assert_string_equal(s.env[2], "K=v");
	assert_int_equal(s.memory, 4 << 20);
	assert_int_equal(s.restart.kind, UKD_RESTART_ALWAYS);
	assert_int_equal(s.accel, UKD_ACCEL_WANT_KVM);
	assert_int_equal(s.health.kind, UKD_HEALTH_TCP);
	assert_int_equal(s.log.max_file, 5);
	assert_int_equal(s.net_mode, UKD_NET_BRIDGE);
	assert_int_equal(s.n_nets, 2);
	assert_string_equal(s.nets[0].network, "front");
	assert_int_equal(s.nets[0].n_aliases, 2);
	assert_string_equal(s.nets[0].aliases[1], "www.x");
	assert_string_equal(s.nets[0].ip, "10.89.0.5");
	assert_string_equal(s.nets[1].network, "back_2");
	assert_string_equal(s.nets[1].ip, "");
	assert_int_equal(s.n_mounts, 2);
	assert_string_equal(s.mounts[0].volume, "data");
	assert_string_equal(s.mounts[0].target, "/data");
	assert_true(s.mounts[0].read_only);
	assert_false(s.mounts[1].read_only);
	assert_string_equal(s.labels[0], "com.example.team=web");
	assert_string_equal(s.labels[1], "empty=");
	assert_string_equal(s.labels[2], "eq=a=b");
	assert_null(s.labels[3]);
	assert_int_equal(s.backend, UKD_BACKEND_QEMU);
	assert_int_equal(s.vcpus, 4);
	assert_true(ukd_spec_has_nic(&s));
	assert_round_trip(&s);
	ukd_spec_clear(&s);

	/* the modes: none (no NIC even for EXPOSE), user, and the default */
	assert_int_equal(
	        from_body("{\"image\":\"x\",\"networks\":[{\"name\":\"none\"}]}", &s, &err), 0);
	assert_int_equal(s.net_mode, UKD_NET_NONE);
	assert_int_equal(s.n_nets, 0);
	assert_false(ukd_spec_has_nic(&s));
	assert_round_trip(&s);
	ukd_spec_clear(&s);
	assert_int_equal(
	        from_body("{\"image\":\"x\",\"networks\":[{\"name\":\"user\"}]}", &s, &err), 0);
	assert_int_equal(s.net_mode, UKD_NET_USER);
	assert_true(ukd_spec_has_nic(&s));
	assert_round_trip(&s);
	ukd_spec_clear(&s);
	assert_int_equal(from_body("{\"image\":\"x\",\"networks\":[],\"backend\":null}", &s, &err),
	                 0);
	assert_int_equal(s.net_mode, UKD_NET_DEFAULT);
	assert_int_equal(s.backend, UKD_BACKEND_DEFAULT); /* resolved by the create */
	assert_int_equal(ukd_spec_resolve_backend(&d, &s), UKD_BACKEND_LIBVIRT);
	s.backend = UKD_BACKEND_QEMU;
	assert_int_equal(ukd_spec_resolve_backend(&d, &s), UKD_BACKEND_QEMU);
	ukd_spec_clear(&s);
	ukd_spec_clear(&s); /* twice is harmless */
}

static void test_names(void **state)
{
	enum ukd_state st;
	enum ukd_backend_kind k;

	(void)state;
	for (int i = UKD_STATE_CREATED; i <= UKD_STATE_DEAD; i++) {
		assert_int_equal(ukd_state_parse(ukd_state_name((enum ukd_state)i), &st), 0);
		assert_int_equal(st, i);
	}
	assert_string_equal(ukd_state_name(UKD_STATE_RUNNING), "running");
	assert_int_equal(ukd_state_parse("Running", &st), -1);
	assert_int_equal(ukd_state_parse("", &st), -1);
	assert_int_equal(ukd_backend_kind_parse("qemu", &k), 0);
	assert_int_equal(k, UKD_BACKEND_QEMU);
	assert_string_equal(ukd_backend_kind_name(UKD_BACKEND_LIBVIRT), "libvirt");
	assert_int_equal(ukd_backend_kind_parse("xen", &k), -1);
	assert_string_equal(ukd_restart_kind_name(UKD_RESTART_ON_UNHEALTHY), "on-unhealthy");
	assert_string_equal(ukd_accel_want_name(UKD_ACCEL_WANT_TCG), "tcg");
}

/* Bad bodies: a 400 naming the field, and nothing left allocated (ASan builds tell). */
static void test_bad_bodies(void **state)
{
	static const struct {
		const char *fields, *want;
	} bad[] = {
	        {"\"networks\":\"front\"", "networks: expected an array"},
	        {"\"networks\":[\"front\"]", "networks[0]: expected an object"},
	        {"\"networks\":[{\"aliases\":[]}]", "networks[0].name is required"},
	        {"\"networks\":[{\"name\":5}]", "networks[0].name 5"},
	        {"\"networks\":[{\"name\":\"-x\"}]", "networks[0].name \"-x\""},
	        {"\"networks\":[{\"name\":\"a/b\"}]", "networks[0].name"},
	        {"\"networks\":[{\"name\":\"a234567890123456789012345678901234567890123456789012345"
	         "678901234\"}]",
	         "at most 63 characters"},
	        {"\"networks\":[{\"name\":\"a\",\"x\":1}]", "networks[0]: unknown field \"x\""},
	        {"\"networks\":[{\"name\":\"a\",\"aliases\":\"b\"}]", "networks[0].aliases"},
	        {"\"networks\":[{\"name\":\"a\",\"aliases\":[\"b c\"]}]", "networks[0].aliases[0]"},
	        {"\"networks\":[{\"name\":\"a\",\"aliases\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\","
	         "\"g\",\"h\",\"i\"]}]",
	         "networks[0].aliases: at most 8"},
	        {"\"networks\":[{\"name\":\"a\",\"ip\":\"10.0.0\"}]", "networks[0].ip \"10.0.0\""},
	        {"\"networks\":[{\"name\":\"a\",\"ip\":\"::1\"}]", "networks[0].ip"},
	        {"\"networks\":[{\"name\":\"a\"},{\"name\":\"a\"}]", "both join \"a\""},
	        {"\"networks\":[{\"name\":\"none\"},{\"name\":\"a\"}]",
	         "networks[0] \"none\" stands alone"},
	        {"\"networks\":[{\"name\":\"a\"},{\"name\":\"user\"}]",
	         "networks[1] \"user\" stands alone"},
	        {"\"networks\":[{\"name\":\"user\",\"ip\":\"10.0.2.16\"}]", "stands alone"},
	        {"\"networks\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"},{\"name\":\"d\"}"
	         ","
	         "{\"name\":\"e\"}]",
	         "networks: at most 4"},
	        {"\"networks\":[{\"name\":\"none\"}],\"ports\":[{\"host_port\":18081,\"guest_"
	         "port\":"
	         "80}]",
	         "ports: networks \"none\""},
	        {"\"networks\":[{\"name\":\"none\"}],\"healthcheck\":{\"tcp\":80}",
	         "healthcheck: networks \"none\""},
	        {"\"mounts\":{}", "mounts: expected an array"},
	        {"\"mounts\":[{\"source\":\"v\",\"target\":\"data\"}]",
	         "mounts[0].target \"data\""},
	        {"\"mounts\":[{\"source\":\"v\",\"target\":\"/a/../b\"}]", "mounts[0].target"},
	        {"\"mounts\":[{\"source\":\"v\",\"target\":\"/a/./b\"}]", "mounts[0].target"},
	        {"\"mounts\":[{\"source\":\"v\",\"target\":\"/a//b\"}]", "mounts[0].target"},
	        {"\"mounts\":[{\"source\":\"v\",\"target\":\"/a/\"}]", "mounts[0].target"},
	        {"\"mounts\":[{\"source\":\"v\",\"target\":\"/\"}]", "mounts[0].target"},
	        {"\"mounts\":[{\"source\":\"v\",\"target\":7}]", "mounts[0].target 7"},
	        {"\"mounts\":[{\"source\":\"v\"}]", "mounts[0].target is required"},
	        {"\"mounts\":[{\"target\":\"/d\"}]", "mounts[0].source is required"},
	        {"\"mounts\":[{\"source\":\"..\",\"target\":\"/d\"}]", "mounts[0].source \"..\""},
	        {"\"mounts\":[{\"type\":\"bind\",\"source\":\"v\",\"target\":\"/d\"}]",
	         "mounts[0].type \"bind\""},
	        {"\"mounts\":[{\"source\":\"v\",\"target\":\"/d\",\"read_only\":\"yes\"}]",
	         "mounts[0].read_only: expected true or false"},
	        {"\"mounts\":[{\"source\":\"v\",\"target\":\"/d\",\"ro\":true}]",
	         "mounts[0]: unknown field \"ro\""},
	        {"\"mounts\":[{\"source\":\"v\",\"target\":\"/d\"},{\"source\":\"w\",\"target\":"
	         "\"/d\"}]",
	         "mounts[0] and mounts[1] both mount on /d"},
	        {"\"mounts\":[{\"source\":\"v\",\"target\":\"/1\"},{\"source\":\"v\",\"target\":\"/"
	         "2\"},{\"source\":\"v\",\"target\":\"/3\"},{\"source\":\"v\",\"target\":\"/4\"},{"
	         "\"source\":\"v\",\"target\":\"/5\"},{\"source\":\"v\",\"target\":\"/"
	         "6\"},{\"source"
	         "\":\"v\",\"target\":\"/7\"},{\"source\":\"v\",\"target\":\"/"
	         "8\"},{\"source\":\"v\","
	         "\"target\":\"/9\"}]",
	         "mounts: at most 8"},
	        {"\"labels\":[\"a=b\"]", "labels: expected an object"},
	        {"\"labels\":{\"a\":1}", "labels.a: expected a string"},
	        {"\"labels\":{\"\":\"x\"}", "labels \"\""},
	        {"\"labels\":{\"a=b\":\"x\"}", "labels \"a=b\""},
	        {"\"vcpus\":0", "vcpus 0: expected an integer from 1 to 16"},
	        {"\"vcpus\":17", "vcpus 17"},
	        {"\"vcpus\":\"2\"", "vcpus \"2\""},
	        {"\"vcpus\":1.5", "vcpus 1.5"},
	        {"\"backend\":\"xen\"", "backend \"xen\": expected \"libvirt\" or \"qemu\""},
	        {"\"backend\":\"default\"", "backend \"default\""},
	        {"\"backend\":1", "backend 1"},
	        {"\"cmd\":\"serve\"", "cmd: expected an array of strings"},
	        {"\"cmd\":[1]", "cmd[0]: expected a string"},
	        {"\"env\":[\"1A=x\"]", "env[0]"},
	        {"\"memory\":1", "memory: expected bytes"},
	        {"\"accelerator\":\"hvf\"", "accelerator \"hvf\""},
	        {"\"restart_policy\":{\"name\":\"on-unhealthy\"}", "on-unhealthy needs a health"},
	        {"\"auto_remove\":1", "auto_remove: expected true or false"},
	        {"\"ports\":[{\"host_port\":18082}]", "ports[0].guest_port is required"},
	        {"\"log_opts\":{\"max-file\":0}", "log_opts.max-file"},
	        {"\"healthcheck\":{\"tcp\":0}", "healthcheck.tcp"},
	        {"\"volumes\":[]", "unknown field \"volumes\""},
	};
	struct ukd_instance_spec s;
	uk_err_t err;
	char body[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"image\":\"x\",%s}", bad[i].fields);
		assert_int_equal(from_body(body, &s, &err), -1);
		if (err.status != 400 || !strstr(err.message, bad[i].want))
			fail_msg("%s: got %d \"%s\", want 400 with \"%s\"", body, err.status,
			         err.message, bad[i].want);
		assert_null(s.cmd); /* cleared on failure */
	}
	assert_int_equal(from_body("[]", &s, &err), -1);
	assert_int_equal(err.status, 400);
	assert_int_equal(from_body("{\"name\":\"n\"}", &s, &err), -1);
	assert_non_null(strstr(err.message, "\"image\" is required"));
}

/* Stored configs: unknown keys ignored, wrong types a 500 that says the config is corrupt. */
static void test_bad_stored(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	        {"not json", "not JSON"},
	        {"[]", "expected an object"},
	        {"{\"cmd\":\"serve\"}", "cmd: expected an array"},
	        {"{\"env\":[1]}", "env[0]"},
	        {"{\"memory\":\"big\"}", "memory"},
	        {"{\"memory\":-1}", "memory"},
	        {"{\"restart_policy\":{\"name\":\"sometimes\"}}", "restart_policy.name"},
	        {"{\"auto_remove\":\"yes\"}", "auto_remove"},
	        {"{\"ports\":{}}", "ports"},
	        {"{\"ports\":[{\"host_port\":\"80\",\"guest_port\":80}]}", "ports[0].host_port"},
	        {"{\"healthcheck\":\"tcp\"}", "healthcheck"},
	        {"{\"log_opts\":[]}", "log_opts"},
	        {"{\"exposed_ports\":[80]}", "exposed_ports[0]"},
	        {"{\"accelerator\":\"hvf\"}", "accelerator"},
	        {"{\"networks\":[{\"name\":\"none\"},{\"name\":\"x\"}]}", "stands alone"},
	        {"{\"mounts\":[{\"source\":\"v\",\"target\":\"rel\"}]}", "mounts[0].target"},
	        {"{\"labels\":{\"a\":[]}}", "labels.a"},
	        {"{\"backend\":\"default\"}", "backend"},
	        {"{\"vcpus\":0}", "vcpus"},
	};
	struct ukd_instance_spec s;
	uk_err_t err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(ukd_spec_from_json(bad[i].text, &s, &err), -1);
		if (err.status != 500 || !strstr(err.message, "instance config is corrupt") ||
		    !strstr(err.message, bad[i].want))
			fail_msg("%s: got %d \"%s\", want 500 with \"%s\"", bad[i].text, err.status,
			         err.message, bad[i].want);
		assert_null(s.cmd);
	}
	memset(&err, 0, sizeof(err));
	assert_int_equal(ukd_spec_from_json(NULL, &s, &err), -1);
	/* a published address that has gone from this host still decodes (the start tells) */
	assert_int_equal(ukd_spec_from_json("{\"ports\":[{\"host_ip\":\"192.0.2.1\",\"host_port\":"
	                                    "80,\"guest_port\":80,\"protocol\":\"tcp\"}]}",
	                                    &s, &err),
	                 0);
	assert_int_equal(s.n_ports, 1);
	ukd_spec_clear(&s);
	assert_int_equal(from_body("{\"image\":\"x\",\"ports\":[{\"host_ip\":\"192.0.2.1\","
	                           "\"host_port\":80,\"guest_port\":80}]}",
	                           &s, &err),
	                 -1);
	assert_non_null(strstr(err.message, "not an address of this host"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_main_configs), cmocka_unit_test(test_main_fields),
	        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_names),
	        cmocka_unit_test(test_bad_bodies),   cmocka_unit_test(test_bad_stored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
