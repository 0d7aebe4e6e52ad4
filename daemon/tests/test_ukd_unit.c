/* Unit tests of ukd's pure parts: router, command-line quoting, names, policy, store, tail, config,
 * published ports and the domain XML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <uk/images.h>

#include "filters.h"
#include "cmdline.h"
#include "backend.h"
#include "backend_xen.h"
#include "config.h"
#include "http_gate.h"
#include "uk/trust.h"
#include "json_body.h"
#include "spec.h"
#include "instances.h"
#include "log.h"
#include "logs.h"
#include "log_opts.h"
#include "names.h"
#include "policy.h"
#include "ports.h"
#include "router.h"
#include "routes.h"
#include "stop_once.h"
#include "store.h"
#include "xen_xml.h"

static char tmpdir[64];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ukdu-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* ---- router ---- */

static const struct ukd_route *route_of(const char *method, const char *url, int *status,
                                        struct ukd_match *m)
{
	ukd_router_match(ukd_routes, method, url, m);
	*status = m->status;
	return m->route;
}

static void test_router(void **state)
{
	struct ukd_match m;
	int st;

	(void)state;
	assert_ptr_equal(route_of("GET", "/v1/_ping", &st, &m)->fn, ukd_route_ping);
	assert_ptr_equal(route_of("POST", "/v1/instances/abc/start", &st, &m)->fn,
	                 ukd_route_instance_start);
	assert_string_equal(m.params[0], "abc");
	ukd_router_clear(&m);
	assert_ptr_equal(route_of("GET", "/v1/images/library/hello:1/get", &st, &m)->fn,
	                 ukd_route_image_get);
	assert_string_equal(m.params[0], "library/hello:1");
	ukd_router_clear(&m);
	assert_ptr_equal(route_of("POST", "/v1/images/build", &st, &m)->fn, ukd_route_image_build);
	assert_ptr_equal(route_of("DELETE", "/v1/images/a/b/c", &st, &m)->fn,
	                 ukd_route_image_delete);
	assert_string_equal(m.params[0], "a/b/c");
	ukd_router_clear(&m);
	assert_ptr_equal(route_of("POST", "/v1/images/a/b/tag", &st, &m)->fn, ukd_route_image_tag);
	assert_string_equal(m.params[0], "a/b");
	ukd_router_clear(&m);
	assert_ptr_equal(route_of("GET", "//v1//instances/abc/logs/", &st, &m)->fn,
	                 ukd_route_instance_logs);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0], "abc");
	ukd_router_clear(&m);
	assert_null(route_of("PUT", "/v1/instances/x", &st, &m));
	assert_int_equal(st, 405);
	assert_null(route_of("GET", "/v1/nope", &st, &m));
	assert_int_equal(st, 404);
	assert_null(route_of("GET", "/v1/instances/a/b/start", &st, &m));
	assert_int_equal(st, 404);
	assert_null(route_of("GET", "/", &st, &m));
	assert_int_equal(st, 404);
	char *big = malloc(9000);
	memset(big, 'a', 8999);
	big[8999] = 0;
	assert_null(route_of("GET", big, &st, &m));
	assert_int_equal(st, 414);
	memset(big, '/', 200);
	for (int i = 0; i < 100; i++)
		big[2 * i + 1] = 'x';
	big[200] = 0;
	assert_null(route_of("GET", big, &st, &m));
	assert_int_equal(st, 404);
	free(big);
}

/* ---- command line ---- */

static void roundtrip(const char *const *args)
{
	char buf[UKD_CMDLINE_MAX];
	size_t n = 0, used = 0;
	uk_err_t err = {0};
	char **words;
	int count = 0;

	for (; args[count]; count++)
		assert_int_equal(ukd_cmdline_append(buf, sizeof(buf), &used, args[count], &err), 0);
	words = ukimg_words_split(buf, &n, &err);
	assert_non_null(words);
	assert_int_equal(n, (size_t)count);
	for (int i = 0; i < count; i++)
		assert_string_equal(words[i], args[i]);
	ukimg_strv_free(words);
}

static void test_cmdline(void **state)
{
	static const char *const a1[] = {"plain",       "two words", "",   "q\"uote",
	                                 "back\\slash", "it's",      "--", "tab\there",
	                                 "\"\\\"",      NULL};
	char buf[UKD_CMDLINE_MAX];
	uk_err_t err = {0};
	size_t used = 0;

	(void)state;
	roundtrip(a1);
	assert_int_equal(ukd_cmdline_append(buf, sizeof(buf), &used, "a\x01", &err), -1);
	assert_int_equal(err.status, 400);
	const char *env[] = {"A=1", "B=x y", NULL}, *args[] = {"p", NULL};
	assert_int_equal(ukd_cmdline_build(buf, sizeof(buf), env, args, 2, &err), 0);
	assert_non_null(strstr(buf, "env=A=1 \"env=B=x y\" seed="));
	assert_non_null(strstr(buf, " -- p"));
	assert_int_equal(strstr(buf, " time=") - strstr(buf, "seed="), 5 + 64);
	/* time=: the host's unix ns now, 19 digits until 2286 */
	assert_int_equal(strlen(strstr(buf, " time=")) - strlen(" -- p"), 6 + 19);
	/* an image whose kernel does not read time= (org.uk.cmdline 1 or absent) is not given it */
	assert_int_equal(ukd_cmdline_build(buf, sizeof(buf), env, args, 1, &err), 0);
	assert_null(strstr(buf, "time="));
	assert_int_equal(strstr(buf, " -- p") - strstr(buf, "seed="), 5 + 64);
	assert_null(strstr(buf, "timesync="));
	/* 3: the kernel also reads the host's time record on COM3 */
	assert_int_equal(ukd_cmdline_build(buf, sizeof(buf), env, args, 3, &err), 0);
	assert_non_null(strstr(buf, " timesync=com3 -- p"));
	assert_non_null(strstr(buf, " time="));
	char *huge = malloc(UKD_CMDLINE_MAX + 10);
	memset(huge, 'x', UKD_CMDLINE_MAX + 9);
	huge[UKD_CMDLINE_MAX + 9] = 0;
	const char *hargs[] = {huge, NULL};
	assert_int_equal(ukd_cmdline_build(buf, sizeof(buf), NULL, hargs, 2, &err), -1);
	assert_int_equal(err.status, 400);
	free(huge);
}

/* ---- names ---- */

static void test_names(void **state)
{
	char id[65], name[128];
	uk_err_t err = {0};

	(void)state;
	assert_int_equal(ukd_random_hex(id, 32, &err), 0);
	assert_int_equal(strlen(id), 64);
	assert_int_equal(strspn(id, "0123456789abcdef"), 64);
	ukd_name_generate(name, sizeof(name), 0);
	assert_true(ukd_name_valid(name));
	assert_non_null(strchr(name, '_'));
	assert_true(ukd_name_valid("web-1.a_b"));
	assert_false(ukd_name_valid(""));
	assert_false(ukd_name_valid("-x"));
	assert_false(ukd_name_valid("a b"));
	assert_false(ukd_name_valid("a/b"));
	assert_false(ukd_name_valid(id)); /* would shadow an id */
	/* a short id (12 digits) up: checked against the instances (create_name) */
	assert_true(ukd_name_looks_like_id(id));
	id[12] = 0;
	assert_true(ukd_name_looks_like_id(id));
	id[11] = 0;
	assert_false(ukd_name_looks_like_id(id));
	assert_false(ukd_name_looks_like_id("0123456789aB"));
	assert_false(ukd_name_looks_like_id("0123456789ag"));
}

/* ---- policy ---- */

static void test_status(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/status", tmpdir);
	write_file(path, "UK_EXIT=3\n");
	assert_int_equal(ukd_policy_read_status(path), 3);
	write_file(path, "noise\nUK_EXIT=1\nUK_EXIT=42\n");
	assert_int_equal(ukd_policy_read_status(path), 42);
	write_file(path, "UK_EXIT=\nUK_EXIT=999\nUK_EXIT=-1\n");
	assert_int_equal(ukd_policy_read_status(path), -1);
	write_file(path, "");
	assert_int_equal(ukd_policy_read_status(path), -1);
	assert_int_equal(ukd_policy_read_status("/nonexistent/status"), -1);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(ukd_policy_backoff_ms(0, 0), 100);
	assert_int_equal(ukd_policy_backoff_ms(1, 0), 200);
	assert_int_equal(ukd_policy_backoff_ms(3, 0), 800);
	assert_int_equal(ukd_policy_backoff_ms(7, 0), 10000);
	assert_int_equal(ukd_policy_backoff_ms(100, 0), 10000);
	assert_int_equal(ukd_policy_backoff_ms(100, 11LL * 1000000000), 100);
}

static int wants(const char *config, int code, int count, int stop)
{
	struct ukd_instance in = {0};
	int r;

	/* as the store loads a row: a config that does not decode leaves the spec empty */
	ukd_spec_from_json(config, &in.spec, NULL);
	in.exit_code = code;
	in.restart_count = count;
	in.stop_requested = stop;
	r = ukd_policy_wants_restart(&in);
	ukd_spec_clear(&in.spec);
	return r;
}

static void test_policy(void **state)
{
	const char *of = "{\"restart_policy\":{\"name\":\"on-failure\",\"maximum_retry_count\":2}}";

	(void)state;
	assert_false(wants("{}", 1, 0, 0));
	assert_false(wants("{\"restart_policy\":{\"name\":\"no\"}}", 1, 0, 0));
	assert_true(wants(of, 1, 0, 0));
	assert_true(wants(of, 1, 1, 0));
	assert_false(wants(of, 1, 2, 0));
	assert_false(wants(of, 0, 0, 0));
	assert_true(wants("{\"restart_policy\":{\"name\":\"always\"}}", 0, 50, 0));
	assert_false(wants("{\"restart_policy\":{\"name\":\"always\"}}", 0, 0, 1));
	assert_true(wants("{\"restart_policy\":{\"name\":\"unless-stopped\"}}", 3, 0, 0));
	assert_false(wants("not json", 1, 0, 0));
}

/* ---- store ---- */

static void put_image(struct ukd_store *s, char c, const char *tag)
{
	struct ukd_image_row img = {0};
	uk_err_t err = {0};

	snprintf(img.id, sizeof(img.id), "sha256:%c%063d", c, 0);
	snprintf(img.manifest, sizeof(img.manifest), "sha256:%c%063d", c, 1);
	img.created = 1;
	img.size = 2;
	assert_int_equal(ukd_store_image_put(s, &img, tag, &err), 0);
}

static void test_store_images(void **state)
{
	struct ukd_store *s;
	struct ukd_image_row img;
	static const char *const bad_refs[] = {
	        "a..b",
	        "UPPER",
	        "name:ta:g",
	        "name:..",
	        "name/",
	        "a//b",
	        "a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	        "name:.tag",
	        "-a",
	        "a_-b",
	        "a___b",
	        "a:b/c",
	        "name:a%0Ab",
	        "name:\x1b[31m",
	};
	uk_err_t err = {0};
	char norm[256], long_tag[5 + 256 + 1] = {0};

	(void)state;
	s = ukd_store_open(tmpdir, &err);
	assert_non_null(s);
	ukd_store_close(s);
	s = ukd_store_open(tmpdir, &err); /* migrations are idempotent */
	assert_non_null(s);
	assert_int_equal(ukd_store_ref_normalize("hello", norm, sizeof(norm), &err), 0);
	assert_string_equal(norm, "hello:latest");
	assert_int_equal(ukd_store_ref_normalize("localhost:5000/a/b", norm, sizeof(norm), &err),
	                 0);
	assert_string_equal(norm, "localhost:5000/a/b:latest");
	assert_int_equal(ukd_store_ref_normalize("x:", norm, sizeof(norm), &err), -1);
	assert_int_equal(ukd_store_ref_normalize("Bad Name", norm, sizeof(norm), &err), -1);
	assert_int_equal(ukd_store_ref_normalize("/abs", norm, sizeof(norm), &err), -1);
	/* Docker's grammar (issue 10): each of these was stored as a name before */
	for (size_t i = 0; i < sizeof(bad_refs) / sizeof(bad_refs[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(ukd_store_ref_normalize(bad_refs[i], norm, sizeof(norm), &err),
		                 -1);
		assert_int_equal(err.status, 400);
	}
	memset(long_tag, 'a', sizeof(long_tag) - 1);
	memcpy(long_tag, "name:", 5);
	assert_int_equal(ukd_store_ref_normalize(long_tag, norm, sizeof(norm), &err), -1);
	long_tag[5 + 128] = 0; /* a 128-character tag is the longest */
	assert_int_equal(ukd_store_ref_normalize(long_tag, norm, sizeof(norm), &err), 0);
	assert_int_equal(ukd_store_ref_normalize("ab/c.d-e__f:Tag_1.x-y", norm, sizeof(norm), &err),
	                 0);
	assert_string_equal(norm, "ab/c.d-e__f:Tag_1.x-y");
	put_image(s, 'a', "hello:latest");
	put_image(s, 'a', "hello:v2");
	put_image(s, 'b', NULL);
	assert_int_equal(ukd_store_image_resolve(s, "hello", &img, &err), 0);
	assert_int_equal(img.id[7], 'a');
	assert_int_equal(ukd_store_image_resolve(s, "hello:v2", &img, &err), 0);
	assert_int_equal(ukd_store_image_resolve(s, "b000", &img, &err), 0);
	assert_int_equal(img.id[7], 'b');
	assert_int_equal(ukd_store_image_resolve(s, "sha256:a0000", &img, &err), 0);
	uk_err_clear(&err);
	assert_int_equal(ukd_store_image_resolve(s, "0000", &img, &err), -1);
	assert_int_equal(err.status, 404);
	assert_int_equal(ukd_store_image_resolve(s, "nosuch", &img, &err), -1);
	assert_int_equal(err.status, 404);
	put_image(s, 'a', "hello:latest"); /* idempotent */
	json_object *list = ukd_store_image_list(s, &err);
	assert_int_equal(json_object_array_length(list), 2);
	json_object_put(list);
	ukd_store_close(s);
}

static void make_instance(struct ukd_instance *in, char c, const char *name)
{
	memset(in, 0, sizeof(*in));
	memset(in->id, c, 64);
	snprintf(in->name, sizeof(in->name), "%s", name);
	snprintf(in->image_ref, sizeof(in->image_ref), "x");
	snprintf(in->image_id, sizeof(in->image_id), "sha256:%c%063d", 'a', 0);
	in->state = UKD_STATE_CREATED;
	snprintf(in->domain_name, sizeof(in->domain_name), "uk-%.12s", in->id);
	in->config = (char *)"{}";
}

static void test_store_instances(void **state)
{
	struct ukd_store *s;
	struct ukd_instance in, out;
	uk_err_t err = {0};

	(void)state;
	s = ukd_store_open(tmpdir, &err);
	assert_non_null(s);
	put_image(s, 'a', "img:latest");
	make_instance(&in, 'c', "one");
	assert_int_equal(ukd_store_instance_insert(s, &in, &err), 0);
	make_instance(&in, 'd', "one");
	assert_int_equal(ukd_store_instance_insert(s, &in, &err), -1);
	assert_int_equal(err.status, 409);
	make_instance(&in, 'd', "two");
	snprintf(in.image_id, sizeof(in.image_id), "sha256:nosuch");
	uk_err_clear(&err);
	assert_int_equal(ukd_store_instance_insert(s, &in, &err), -1); /* foreign key */
	make_instance(&in, 'd', "two");
	in.id[1] = 'e';
	assert_int_equal(ukd_store_instance_insert(s, &in, &err), 0);
	make_instance(&in, 'd', "three");
	in.id[1] = 'f';
	snprintf(in.domain_name, sizeof(in.domain_name), "uk-other");
	assert_int_equal(ukd_store_instance_insert(s, &in, &err), 0);
	assert_int_equal(ukd_store_instance_find(s, "one", &out, &err), 0);
	assert_int_equal(out.id[0], 'c');
	assert_int_equal(out.state, UKD_STATE_CREATED);
	assert_string_equal(out.spec_error, "");
	assert_int_equal(out.spec.backend, UKD_BACKEND_LIBVIRT); /* "{}": an old config */
	ukd_instance_clear(&out);
	/* the state and spec as stored: running, a config with a restart policy */
	make_instance(&in, 'c', "one");
	in.state = UKD_STATE_RUNNING;
	in.config = (char *)"{\"restart_policy\":{\"name\":\"always\"},\"memory\":4194304}";
	assert_int_equal(ukd_store_instance_update(s, &in, &err), 0);
	assert_int_equal(ukd_store_instance_find(s, "one", &out, &err), 0);
	assert_int_equal(out.state, UKD_STATE_RUNNING);
	assert_int_equal(out.spec.restart.kind, UKD_RESTART_ALWAYS);
	assert_int_equal(out.spec.memory, 4 << 20);
	ukd_instance_clear(&out);
	/* a config that does not decode: still found (to inspect and remove), with why */
	in.config = (char *)"{\"cmd\":\"serve\"}";
	assert_int_equal(ukd_store_instance_update(s, &in, &err), 0);
	assert_int_equal(ukd_store_instance_find(s, "one", &out, &err), 0);
	assert_non_null(strstr(out.spec_error, "instance config is corrupt: cmd"));
	assert_null(out.spec.cmd);
	ukd_instance_clear(&out);
	in.config = (char *)"{}";
	in.state = UKD_STATE_CREATED;
	assert_int_equal(ukd_store_instance_update(s, &in, &err), 0);
	assert_int_equal(ukd_store_instance_find(s, "ccc", &out, &err), 0);
	ukd_instance_clear(&out);
	uk_err_clear(&err);
	assert_int_equal(ukd_store_instance_find(s, "dd", &out, &err), -1);
	assert_int_equal(err.status, 404); /* "dd" prefixes neither "de..." nor "df..." */
	assert_int_equal(ukd_store_instance_find(s, "d", &out, &err), -1);
	assert_int_equal(err.status, 409);
	assert_int_equal(ukd_store_instance_find(s, "", &out, &err), -1);
	assert_int_equal(err.status, 404);
	assert_int_equal(
	        ukd_store_image_users(
	                s,
	                "sha256:a000000000000000000000000000000000000000000000000000000000000000",
	                &err),
	        3);
	/* A rolled-back transaction leaves nothing. */
	assert_int_equal(ukd_store_begin(s, &err), 0);
	make_instance(&in, '9', "four");
	assert_int_equal(ukd_store_instance_insert(s, &in, &err), 0);
	ukd_store_rollback(s);
	assert_int_equal(ukd_store_instance_find(s, "four", &out, &err), -1);
	int images, instances, running;
	assert_int_equal(ukd_store_counts(s, &images, &instances, &running, &err), 0);
	assert_int_equal(instances, 3);
	assert_int_equal(running, 0);
	ukd_store_close(s);
}

/* ---- logs tail ---- */

static void test_tail(void **state)
{
	char path[128];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/log", tmpdir);
	write_file(path, "a\nbb\nccc\n");
	fd = open(path, O_RDONLY);
	assert_int_equal(ukd_logs_tail_offset(fd, 9, -1), 0);
	assert_int_equal(ukd_logs_tail_offset(fd, 9, 0), 9);
	assert_int_equal(ukd_logs_tail_offset(fd, 9, 1), 5);
	assert_int_equal(ukd_logs_tail_offset(fd, 9, 2), 2);
	assert_int_equal(ukd_logs_tail_offset(fd, 9, 3), 0);
	assert_int_equal(ukd_logs_tail_offset(fd, 9, 10), 0);
	close(fd);
	write_file(path, "a\nbb"); /* unterminated last line counts */
	fd = open(path, O_RDONLY);
	assert_int_equal(ukd_logs_tail_offset(fd, 4, 1), 2);
	close(fd);
}

/* ---- config ---- */

static void test_config(void **state)
{
	struct ukd_config cfg;
	uk_err_t err = {0};
	char file[128], json[256];

	(void)state;
	char *a1[] = {"ukd", "--root", "/tmp/x/", "--host", "tcp://127.0.0.1:1", NULL};
	assert_int_equal(ukd_config_load(&cfg, 5, a1, &err), UKD_CONFIG_RUN);
	assert_string_equal(cfg.root, "/tmp/x");
	assert_int_equal(cfg.nhosts, 1);
	assert_string_equal(cfg.libvirt_uri, "qemu:///embed?root=/tmp/x/libvirt");
	assert_int_equal(cfg.live_restore, 1); /* the default */
	ukd_config_free(&cfg);
	snprintf(file, sizeof(file), "%s/daemon.json", tmpdir);
	snprintf(json, sizeof(json),
	         "{\"root\":\"/tmp/y\",\"hosts\":[\"unix:///tmp/y.sock\",\"tcp://127.0.0.1:2\"],"
	         "\"accelerator\":\"tcg\",\"live-restore\":false}");
	write_file(file, json);
	char *a2[] = {"ukd", "--config", file, "--accelerator", "kvm", NULL};
	assert_int_equal(ukd_config_load(&cfg, 5, a2, &err), UKD_CONFIG_RUN);
	assert_string_equal(cfg.root, "/tmp/y");
	assert_int_equal(cfg.nhosts, 2);
	assert_string_equal(cfg.accelerator, "kvm");
	assert_int_equal(cfg.live_restore, 0);
	ukd_config_free(&cfg);
	char *a2b[] = {"ukd", "--config", file, "--live-restore", NULL};
	assert_int_equal(ukd_config_load(&cfg, 4, a2b, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.live_restore, 1); /* the flag wins over the file */
	ukd_config_free(&cfg);
	char *a2c[] = {"ukd", "--live-restore=false", NULL};
	assert_int_equal(ukd_config_load(&cfg, 2, a2c, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.live_restore, 0);
	ukd_config_free(&cfg);
	char *a2d[] = {"ukd", "--live-restore=maybe", NULL};
	assert_int_equal(ukd_config_load(&cfg, 2, a2d, &err), -1);
	assert_non_null(strstr(err.message, "live-restore maybe"));
	ukd_config_free(&cfg);
	write_file(file, "{\"live-restore\": \"yes\"}");
	char *a2e[] = {"ukd", "--config", file, NULL};
	assert_int_equal(ukd_config_load(&cfg, 3, a2e, &err), -1);
	assert_non_null(strstr(err.message, "live-restore: expected true or false"));
	ukd_config_free(&cfg);
	/* userland-proxy: off by default (DNAT), the flag, the file's boolean, bad values */
	assert_int_equal(cfg.userland_proxy, 0);
	char *up1[] = {"ukd", "--userland-proxy", NULL};
	assert_int_equal(ukd_config_load(&cfg, 2, up1, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.userland_proxy, 1);
	ukd_config_free(&cfg);
	write_file(file, "{\"userland-proxy\": true}");
	char *up2[] = {"ukd", "--config", file, NULL};
	assert_int_equal(ukd_config_load(&cfg, 3, up2, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.userland_proxy, 1);
	assert_int_equal(cfg.live_restore, 1); /* the other boolean untouched */
	ukd_config_free(&cfg);
	char *up3[] = {"ukd", "--config", file, "--userland-proxy=false", NULL};
	assert_int_equal(ukd_config_load(&cfg, 4, up3, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.userland_proxy, 0); /* the flag wins over the file */
	ukd_config_free(&cfg);
	char *up4[] = {"ukd", "--userland-proxy=on", NULL};
	assert_int_equal(ukd_config_load(&cfg, 2, up4, &err), -1);
	assert_non_null(strstr(err.message, "userland-proxy on: expected true or false"));
	ukd_config_free(&cfg);
	write_file(file, "{\"userland-proxy\": 1}");
	assert_int_equal(ukd_config_load(&cfg, 3, up2, &err), -1);
	assert_non_null(strstr(err.message, "userland-proxy: expected true or false"));
	ukd_config_free(&cfg);
	/* shutdown-timeout: the guests' grace at shutdown (default 3), file and flag, bounded */
	assert_int_equal(cfg.shutdown_timeout_s, 3);
	write_file(file, "{\"shutdown-timeout\": 10}");
	char *a2f[] = {"ukd", "--config", file, NULL};
	assert_int_equal(ukd_config_load(&cfg, 3, a2f, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.shutdown_timeout_s, 10);
	ukd_config_free(&cfg);
	char *a2g[] = {"ukd", "--config", file, "--shutdown-timeout", "0", NULL};
	assert_int_equal(ukd_config_load(&cfg, 5, a2g, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.shutdown_timeout_s, 0); /* the flag wins over the file */
	ukd_config_free(&cfg);
	char *a2h[] = {"ukd", "--shutdown-timeout", "301", NULL};
	assert_int_equal(ukd_config_load(&cfg, 3, a2h, &err), -1);
	assert_non_null(
	        strstr(err.message, "shutdown-timeout 301: expected seconds from 0 to 300"));
	ukd_config_free(&cfg);
	write_file(file, "{\"shutdown-timeout\": \"3s\"}");
	assert_int_equal(ukd_config_load(&cfg, 3, a2f, &err), -1);
	assert_non_null(strstr(err.message, "shutdown-timeout: expected seconds"));
	ukd_config_free(&cfg);
	char *a3[] = {"ukd", "--accelerator", "warp", NULL};
	assert_int_equal(ukd_config_load(&cfg, 3, a3, &err), -1);
	ukd_config_free(&cfg);
	char *a4[] = {"ukd", "--root", "relative", NULL};
	assert_int_equal(ukd_config_load(&cfg, 3, a4, &err), -1);
	ukd_config_free(&cfg);
	write_file(file, "{\"root\": 5}");
	char *a5[] = {"ukd", "--config", file, NULL};
	assert_int_equal(ukd_config_load(&cfg, 3, a5, &err), -1);
	ukd_config_free(&cfg);
	write_file(file, "{\"nosuchkey\": \"x\"}");
	assert_int_equal(ukd_config_load(&cfg, 3, a5, &err), -1);
	ukd_config_free(&cfg);
	/* TLS: a non-loopback host needs it; its files must be PEM; tlsverify is a boolean */
	char *a6[] = {"ukd", "--host", "tcp://0.0.0.0:2376", NULL};
	assert_int_equal(ukd_config_load(&cfg, 3, a6, &err), -1);
	assert_non_null(strstr(err.message, "not loopback"));
	ukd_config_free(&cfg);
	write_file(file, "not a certificate\n");
	char *a7[] = {
	        "ukd",       "--host", "tcp://0.0.0.0:2376", "--tlsverify", "--tlscacert", file,
	        "--tlscert", file,     "--tlskey",           file,          NULL};
	assert_int_equal(ukd_config_load(&cfg, 10, a7, &err), -1);
	assert_non_null(strstr(err.message, "not a PEM file"));
	ukd_config_free(&cfg);
	write_file(file, "{\"tlsverify\": \"yes\"}");
	assert_int_equal(ukd_config_load(&cfg, 3, a5, &err), -1);
	ukd_config_free(&cfg);
	write_file(file, "-----BEGIN CERTIFICATE-----\n");
	char *a8[] = {"ukd",         "--host",      "tcp://127.0.0.1:2376",
	              "--tlsverify", "--tlscacert", file,
	              "--tlscert",   file,          "--tlskey",
	              file,          NULL};
	assert_int_equal(ukd_config_load(&cfg, 10, a8, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.tlsverify, 1);
	assert_non_null(cfg.tls_key_pem);
	ukd_config_free(&cfg);
	char *a9[] = {"ukd", "--group", "no-such-group-uk", NULL};
	assert_int_equal(ukd_config_load(&cfg, 3, a9, &err), -1);
	assert_non_null(strstr(err.message, "no-such-group-uk"));
	ukd_config_free(&cfg);
}

/* daemon.json "trust": checked at load, keys read then; bad shapes are refused by name. */
static void test_trust_config(void **state)
{
	static const struct {
		const char *json, *msg;
	} bad[] = {
	        {"{\"trust\": {\"require_signed\": true, \"keys\": []}}", "at least one key"},
	        {"{\"trust\": {\"require_signed\": \"yes\"}}", "true or false"},
	        {"{\"trust\": {\"keys\": \"k.pub\"}}", "array"},
	        {"{\"trust\": {\"keys\": [\"k.pub\"]}}", "absolute path"},
	        {"{\"trust\": {\"keys\": [\"/nonexistent/k.pub\"]}}", "trust.keys[0]"},
	        {"{\"trust\": {\"sign\": 1}}", "unknown setting sign"},
	        {"{\"trust\": []}", "expected an object"},
	};
	struct ukd_config cfg;
	uk_err_t err = {0};
	char file[128], priv[128], pub[128], json[512];
	char *argv[] = {"ukd", "--config", file, NULL};

	(void)state;
	snprintf(file, sizeof(file), "%s/trust.json", tmpdir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(file, bad[i].json);
		assert_int_equal(ukd_config_load(&cfg, 3, argv, &err), -1);
		if (!strstr(err.message, bad[i].msg))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].json, err.message, bad[i].msg);
		assert_int_equal(cfg.trust_nkeys, 0);
		ukd_config_free(&cfg);
	}
	snprintf(priv, sizeof(priv), "%s/t.key", tmpdir);
	snprintf(pub, sizeof(pub), "%s/t.pub", tmpdir);
	assert_int_equal(ukimg_trust_keygen(priv, pub, NULL, &err), 0);
	snprintf(json, sizeof(json), "{\"trust\": {\"require_signed\": true, \"keys\": [\"%s\"]}}",
	         pub);
	write_file(file, json);
	assert_int_equal(ukd_config_load(&cfg, 3, argv, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.trust_require_signed, 1);
	assert_int_equal(cfg.trust_nkeys, 1);
	assert_string_equal(cfg.trust_keys[0], pub);
	ukd_config_free(&cfg);
	/* a private key where a public one belongs is still a key: its public half is used */
	snprintf(json, sizeof(json), "{\"trust\": {\"keys\": [\"%s\"]}}", priv);
	write_file(file, json);
	assert_int_equal(ukd_config_load(&cfg, 3, argv, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.trust_require_signed, 0);
	ukd_config_free(&cfg);
}

/* http-limits, build-limits and backend-limits: defaults, numbers in range, and a clear 400 for
 * anything else. */
static void test_config_limits(void **state)
{
	struct ukd_config cfg;
	uk_err_t err = {0};
	char file[128];
	char *argv[] = {"ukd", "--config", file, NULL};
	static const char *const bad[][2] = {
	        {"{\"http-limits\": {\"timeout-s\": 0}}",
	         "http-limits.timeout-s: expected an integer from 1 to 86400"},
	        {"{\"http-limits\": {\"timeout-s\": \"5\"}}",
	         "http-limits.timeout-s: expected an integer from 1 to 86400"},
	        {"{\"build-limits\": {\"memory-mb\": 1}}",
	         "build-limits.memory-mb: expected an integer from 64 to 1048576"},
	        {"{\"build-limits\": {\"disk-mb\": 1}}",
	         "build-limits.disk-mb: unknown setting (see docs/daemon.md)"},
	        {"{\"build-limits\": 5}", "build-limits: expected an object"},
	        {"{\"http-limits\": {\"handshake-timeout-s\": 0}}",
	         "http-limits.handshake-timeout-s: expected an integer from 1 to 3600"},
	        {"{\"http-limits\": {\"max-handshakes-per-ip\": -1}}",
	         "http-limits.max-handshakes-per-ip: expected an integer from 1 to 65536"},
	        {"{\"backend-limits\": {\"probe-timeout-s\": 0}}",
	         "backend-limits.probe-timeout-s: expected an integer from 1 to 3600"},
	};

	(void)state;
	snprintf(file, sizeof(file), "%s/daemon.json", tmpdir);
	write_file(file, "{}");
	assert_int_equal(ukd_config_load(&cfg, 3, argv, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.http.timeout_s, 60);
	assert_int_equal(cfg.http.max_connections, 1024);
	assert_int_equal(cfg.build.file_size_mb, 64);
	assert_int_equal(cfg.http.handshake_timeout_s, 10);
	assert_int_equal(cfg.http.max_handshakes, 64);
	assert_int_equal(cfg.http.max_handshakes_per_ip, 8);
	assert_int_equal(cfg.backend.probe_timeout_s, 60);
	ukd_config_free(&cfg);
	write_file(file, "{\"http-limits\": {\"timeout-s\": 3, \"max-connections-per-ip\": 7,"
	                 " \"handshake-timeout-s\": 2, \"max-handshakes\": 5,"
	                 " \"max-handshakes-per-ip\": 1},"
	                 " \"build-limits\": {\"cpu-s\": 9, \"memory-mb\": 512,"
	                 " \"file-size-mb\": 2, \"timeout-s\": 11},"
	                 " \"backend-limits\": {\"probe-timeout-s\": 5}}");
	assert_int_equal(ukd_config_load(&cfg, 3, argv, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.http.timeout_s, 3);
	assert_int_equal(cfg.http.max_per_ip, 7);
	assert_int_equal(cfg.http.handshake_timeout_s, 2);
	assert_int_equal(cfg.http.max_handshakes, 5);
	assert_int_equal(cfg.http.max_handshakes_per_ip, 1);
	assert_int_equal(cfg.build.cpu_s, 9);
	assert_int_equal(cfg.build.memory_mb, 512);
	assert_int_equal(cfg.build.file_size_mb, 2);
	assert_int_equal(cfg.build.timeout_s, 11);
	assert_int_equal(cfg.backend.probe_timeout_s, 5);
	ukd_config_free(&cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		write_file(file, bad[i][0]);
		assert_int_equal(ukd_config_load(&cfg, 3, argv, &err), -1);
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.message, bad[i][1]));
		ukd_config_free(&cfg);
	}
}

/* ---- the create request's env and memory ---- */

static json_object *config_of(const char *body_json, char **img_env, uk_err_t *err)
{
	static struct ukd d = {.cfg = {.accelerator = "auto"}, .accel_type = "qemu"};
	ukimg_info_t img = {.env = img_env, .memory = 16 << 20};
	json_object *body = json_tokener_parse(body_json), *cfg = NULL;
	struct ukd_instance_spec s;

	assert_non_null(body);
	memset(err, 0, sizeof(*err));
	if (ukd_spec_from_body(&d, body, &img, &s, err) == 0) {
		cfg = ukd_spec_to_json(&s);
		ukd_spec_clear(&s);
	}
	json_object_put(body);
	return cfg;
}

/* {"image":"x","env":["K0=v",...]}, (n) entries named (prefix)0..n-1. */
static char *env_body(size_t n, const char *prefix)
{
	size_t cap = 64 + n * 32, used;
	char *b = malloc(cap);

	assert_non_null(b);
	used = (size_t)snprintf(b, cap, "{\"image\":\"x\",\"env\":[");
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(b + used, cap - used, "%s\"%s%zu=v\"", i ? "," : "",
		                         prefix, i);
	snprintf(b + used, cap - used, "]}");
	return b;
}

static void test_instance_env(void **state)
{
	char *img_env[UKIMG_ENV_MAX + 2] = {"A=image", "B=image", NULL};
	static const char *const bad_keys[] = {"1A=x", "A B=x", "=x", "A-B=x", "NOEQ", "Ä=x"};
	uk_err_t err;
	json_object *cfg, *env;
	char body[256], *big;

	(void)state;
	/* the request's KEY replaces the image's, which moves to its place */
	cfg = config_of("{\"image\":\"x\",\"env\":[\"A=req\",\"C=req\",\"C=again\"]}", img_env,
	                &err);
	assert_non_null(cfg);
	assert_true(json_object_object_get_ex(cfg, "env", &env));
	assert_string_equal(json_object_to_json_string_ext(env, JSON_C_TO_STRING_PLAIN),
	                    "[\"B=image\",\"A=req\",\"C=again\"]");
	json_object_put(cfg);
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		snprintf(body, sizeof(body), "{\"image\":\"x\",\"env\":[\"%s\"]}", bad_keys[i]);
		assert_null(config_of(body, NULL, &err));
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.message, "env[0]"));
	}
	/* 50,000 entries (22 s of CPU when the merge was quadratic): refused before any merge */
	big = env_body(50000, "K");
	assert_null(config_of(big, img_env, &err));
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "env: 50000 variables: at most 64"));
	free(big);
	/* 64 of the request's own: fine; with the image's two more, one too many... */
	big = env_body(UKIMG_ENV_MAX, "K");
	cfg = config_of(big, NULL, &err);
	assert_non_null(cfg);
	json_object_put(cfg);
	assert_null(config_of(big, img_env, &err));
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "env: 66 variables with the image's: at most 64"));
	free(big);
	/* ...and a NIC adds UK_IP and UK_GW */
	big = env_body(UKIMG_ENV_MAX - 1, "K");
	big[strlen(big) - 1] = 0;
	snprintf(body, sizeof(body), ",\"ports\":[{\"host_port\":8080,\"guest_port\":80}]}");
	big = realloc(big, strlen(big) + strlen(body) + 1);
	assert_non_null(big);
	strcat(big, body);
	assert_null(config_of(big, NULL, &err));
	assert_non_null(
	        strstr(err.message, "env: 65 variables with the image's and the network's"));
	free(big);
	/* on four uk networks ukd adds 13 (UK_IP, UK_GW, UK_MAC, UK_DNS; UK_IPk, UK_GWk, UK_MACk
	 * for k = 1..3): 51 of the request's own fit, 52 do not */
	for (int k = 51; k <= 52; k++) {
		big = env_body(k, "K");
		big[strlen(big) - 1] = 0;
		snprintf(body, sizeof(body),
		         ",\"networks\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"},"
		         "{\"name\":\"d\"}]}");
		big = realloc(big, strlen(big) + strlen(body) + 1);
		assert_non_null(big);
		strcat(big, body);
		cfg = config_of(big, NULL, &err);
		if (k == 51) {
			assert_non_null(cfg);
			json_object_put(cfg);
		} else {
			assert_null(cfg);
			assert_int_equal(err.status, 400);
			assert_non_null(strstr(err.message,
			                       "env: 65 variables with the image's and "
			                       "the networks' (UK_IP, UK_GW, UK_MAC"));
		}
		free(big);
	}
	/* a (pulled) image with more than a guest holds */
	for (int i = 0; i < UKIMG_ENV_MAX + 1; i++)
		img_env[i] = "X=1";
	img_env[UKIMG_ENV_MAX + 1] = NULL;
	assert_null(config_of("{\"image\":\"x\"}", img_env, &err));
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "the image sets 65 environment variables"));
}

static void test_instance_memory(void **state)
{
	char body[128];
	uk_err_t err;
	json_object *cfg;
	long long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	long long host = pages * page;

	(void)state;
	cfg = config_of("{\"image\":\"x\",\"memory\":33554432}", NULL, &err);
	assert_non_null(cfg);
	json_object_put(cfg);
	assert_null(config_of("{\"image\":\"x\",\"memory\":5}", NULL, &err));
	assert_non_null(strstr(err.message, "memory: expected bytes from 2 MiB to 64 GiB"));
	/* more than this host has, within the 64 GiB bound: a 400 naming memory, not a 500 at start
	 */
	if (host + (1LL << 30) > (64LL << 30)) {
		print_message("this host has 63 GiB or more: the above-host case is not tested\n");
		return;
	}
	snprintf(body, sizeof(body), "{\"image\":\"x\",\"memory\":%lld}", host + (1LL << 30));
	assert_null(config_of(body, NULL, &err));
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "is more than this host has"));
	assert_int_equal(strncmp(err.message, "memory: ", 8), 0);
}

static struct sockaddr_in gate_ip(const char *ip)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(40000)};

	inet_pton(AF_INET, ip, &sa.sin_addr);
	return sa;
}

/* The TLS gate: per-address and total limits on connections without a certified request, a
 * slot freed by leaving, and a socket shut down at its deadline (but counted until it leaves). */
static void test_http_gate(void **state)
{
	struct ukd_http_gate_limits lim = {.timeout_s = 1, .max = 3, .per_ip = 2};
	struct sockaddr_in a = gate_ip("10.0.0.1"), b = gate_ip("10.0.0.2"),
	                   c = gate_ip("10.0.0.3");
	struct sockaddr_in a2 = gate_ip("10.0.0.1");
	uk_err_t err = {0};
	struct ukd_http_gate *g = ukd_http_gate_new(&lim, &err);
	int k[4], sv[2];
	struct pollfd p;
	struct timespec t0, t1;
	char byte;

	(void)state;
	assert_non_null(g);
	a2.sin_port = htons(40001); /* another port of the same address counts the same */
	assert_true(ukd_http_gate_admit(g, (struct sockaddr *)&a));
	ukd_http_gate_enter(g, &k[0], -1, (struct sockaddr *)&a);
	assert_true(ukd_http_gate_admit(g, (struct sockaddr *)&a2));
	ukd_http_gate_enter(g, &k[1], -1, (struct sockaddr *)&a2);
	assert_false(ukd_http_gate_admit(g, (struct sockaddr *)&a)); /* per address */
	assert_true(ukd_http_gate_admit(g, (struct sockaddr *)&b));
	ukd_http_gate_enter(g, &k[2], -1, (struct sockaddr *)&b);
	assert_false(ukd_http_gate_admit(g, (struct sockaddr *)&c)); /* in all */
	assert_int_equal(ukd_http_gate_count(g), 3);
	ukd_http_gate_leave(g, &k[3]); /* unknown: nothing */
	ukd_http_gate_leave(g, &k[0]);
	ukd_http_gate_leave(g, &k[1]);
	ukd_http_gate_leave(g, &k[2]);
	assert_int_equal(ukd_http_gate_count(g), 0);
	/* the deadline: the gate shuts the socket down, the peer reads the end */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(ukd_http_gate_admit(g, (struct sockaddr *)&c));
	ukd_http_gate_enter(g, &k[3], sv[0], (struct sockaddr *)&c);
	p = (struct pollfd){.fd = sv[1], .events = POLLIN};
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(read(sv[1], &byte, 1), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec * 1000 + t1.tv_nsec / 1000000 - t0.tv_sec * 1000 -
	                    t0.tv_nsec / 1000000 >=
	            1000);
	assert_int_equal(ukd_http_gate_count(g), 1);
	ukd_http_gate_leave(g, &k[3]);
	assert_int_equal(ukd_http_gate_count(g), 0);
	close(sv[0]);
	close(sv[1]);
	ukd_http_gate_free(g);
	ukd_http_gate_free(NULL);
}

/* daemon.json "log-opts": the default (10m x 3), Docker's string values, clear errors. */
static void test_config_log_opts(void **state)
{
	struct ukd_config cfg;
	uk_err_t err = {0};
	char file[128];
	char *argv[] = {"ukd", "--config", file, NULL};
	static const char *const bad[][2] = {
	        {"{\"log-opts\": {\"max-size\": \"10x\"}}", "log-opts.max-size \"10x\""},
	        {"{\"log-opts\": {\"max-size\": \"100\"}}", "expected a size from 1k to 1t"},
	        {"{\"log-opts\": {\"max-file\": \"0\"}}", "log-opts.max-file \"0\""},
	        {"{\"log-opts\": {\"max-file\": 101}}", "from 1 to 100"},
	        {"{\"log-opts\": {\"mode\": \"non-blocking\"}}", "unknown log option \"mode\""},
	        {"{\"log-opts\": []}", "log-opts: expected an object"},
	};
	uint64_t n;

	(void)state;
	snprintf(file, sizeof(file), "%s/daemon.json", tmpdir);
	write_file(file, "{}");
	assert_int_equal(ukd_config_load(&cfg, 3, argv, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.log.max_size, 10 << 20);
	assert_int_equal(cfg.log.max_file, 3);
	ukd_config_free(&cfg);
	write_file(file, "{\"log-opts\": {\"max-size\": \"64k\", \"max-file\": \"2\"}}");
	assert_int_equal(ukd_config_load(&cfg, 3, argv, &err), UKD_CONFIG_RUN);
	assert_int_equal(cfg.log.max_size, 64 << 10);
	assert_int_equal(cfg.log.max_file, 2);
	ukd_config_free(&cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		write_file(file, bad[i][0]);
		assert_int_equal(ukd_config_load(&cfg, 3, argv, &err), -1);
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.message, bad[i][1]));
		ukd_config_free(&cfg);
	}
	assert_int_equal(ukd_log_size_parse("1g", &n), 0);
	assert_true(n == 1ULL << 30);
	assert_int_equal(ukd_log_size_parse("7KB", &n), 0);
	assert_true(n == 7 << 10);
	assert_int_equal(ukd_log_size_parse("4096", &n), 0);
	assert_true(n == 4096);
	assert_int_equal(ukd_log_size_parse("99999999999999999999", &n), -1);
	assert_int_equal(ukd_log_size_parse("17179869184g", &n), -1); /* 2^64 */
	assert_int_equal(ukd_log_size_parse("1 m", &n), -1);
	assert_int_equal(ukd_log_size_parse("m", &n), -1);
	assert_int_equal(ukd_log_size_parse("1mm", &n), -1);
}

/* Exactly one JSON value and whitespace: trailing data, a NUL and junk are 400s. */
static void test_json_body(void **state)
{
	static const char ok[] = "{\"a\": [1, 2]} \r\n\t";
	static const char *const bad[] = {"{} {}", "{", "", "nul", "[1] x"};
	static const char nul[] = "{}\0garbage";
	static const char *const nul_esc[] = {
	        "{\"image\": \"a\\u0000b\"}",
	        "{\"image\\u0000x\": \"hello\"}",
	        "{\"env\": [\"A=1\", {\"k\": [\"\\u0000\"]}]}",
	        "[\"\\\"\\u0000\"]",
	};
	static const char esc_bs[] = "[\"\\\\u0000\\\"\"]";
	json_object *o;
	uk_err_t err = {0};

	(void)state;
	assert_int_equal(ukd_json_body_parse(ok, sizeof(ok) - 1, &o, &err), 0);
	assert_true(json_object_is_type(o, json_type_object));
	json_object_put(o);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(ukd_json_body_parse(bad[i], strlen(bad[i]), &o, &err), -1);
		assert_int_equal(err.status, 400);
		assert_null(o);
	}
	assert_int_equal(ukd_json_body_parse(nul, sizeof(nul) - 1, &o, &err), -1);
	assert_string_equal(err.message, "bad JSON body: trailing data at byte 2");
	assert_null(o);
	/* a key twice: json-c kept the last ("image" checked could differ from the one run) */
	{
		static const char dup[] =
		        "{\"name\": \"a\", \"env\": {\"image\": 1, \"image\": 2}}";
		assert_int_equal(ukd_json_body_parse(dup, sizeof(dup) - 1, &o, &err), -1);
		assert_int_equal(err.status, 400);
		assert_string_equal(err.message,
		                    "bad JSON body: the object at byte 21 has a key twice");
		assert_null(o);
	}
	/* \u0000 anywhere (json-c would hand over "a" for "a\u0000b" keys and C strings) */
	for (size_t i = 0; i < sizeof(nul_esc) / sizeof(nul_esc[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(ukd_json_body_parse(nul_esc[i], strlen(nul_esc[i]), &o, &err), -1);
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.message, "\\u0000"));
		assert_null(o);
	}
	/* an escaped backslash before "u0000" is no NUL */
	assert_int_equal(ukd_json_body_parse(esc_bs, strlen(esc_bs), &o, &err), 0);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 0)), "\\u0000\"");
	json_object_put(o);
}

/* ---- ukd's own log: one harmless line per call, whatever the message holds ---- */

static void test_log_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	        {"GET /v1/x", "GET /v1/x"},
	        {"a\nb", "a\\nb"},
	        {"a\r\n2026-01-01T00:00:00.000Z info  http: forged",
	         "a\\r\\n2026-01-01T00:00:00.000Z "
	         "info  http: forged"},
	        {"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"},
	        {"tab\there\x7f\x01", "tab\\there\\x7f\\x01"},
	        {"back\\slash\\n", "back\\\\slash\\\\n"},
	        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	         "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
	        {"bad \xff\xfe end", "bad \\xff\\xfe end"},
	        {"cut \xe2\x82", "cut \\xe2\\x82"},
	        {"overlong \xc0\xaf", "overlong \\xc0\\xaf"},
	        {"surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80"},
	        {"csi \xc2\x9b"
	         "31m",
	         "csi \\u009b31m"},
	        {"rtl \xe2\x80\xae"
	         "gnp.exe",
	         "rtl \\u202egnp.exe"},
	        {"ls \xe2\x80\xa8 x", "ls \\u2028 x"},
	};
	char out[256], small[8];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ukd_log_escape(cases[i].in, out, sizeof(out)),
		                 strlen(cases[i].out));
		assert_string_equal(out, cases[i].out);
	}
	/* error messages quoting a client's bytes: valid UTF-8 for the JSON reply */
	ukd_utf8_scrub("t=a\xff\xc3\xa9\xe2\x82 \xf0\x9f\x98\x80", out, sizeof(out));
	assert_string_equal(out,
	                    "t=a\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd \xf0\x9f\x98\x80");
	ukd_utf8_scrub("\xff\xff", small, 6); /* whole replacements only */
	assert_string_equal(small, "\xef\xbf\xbd");
	/* truncation keeps whole escapes */
	assert_int_equal(ukd_log_escape("abcdef\n", small, sizeof(small)), 6);
	assert_string_equal(small, "abcdef");
	assert_int_equal(ukd_log_escape("ab\xe2\x82\xac"
	                                "cdef",
	                                small, sizeof(small)),
	                 7);
	assert_string_equal(small, "ab\xe2\x82\xac"
	                           "cd");
}

/* What one ukd_log call writes to stderr (captured in a file under tmpdir) into (buf). */
static void log_capture(char *buf, size_t len, const char *msg)
{
	char path[128];
	int fd, saved;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	log_info("http", "%s", msg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, len - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = 0;
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1); /* exactly one line */
	assert_null(strchr(buf, '\x1b'));
}

/* ukd_log itself (not only the helper): a message with a newline, an ANSI escape, a quote and
 * a byte that is not UTF-8 is one line on stderr, with the injected text visible as escapes;
 * with --log-format json that line is a JSON object whose "msg" is the same escaped text. */
static void test_log_line(void **state)
{
	static const char evil[] = "GET /v1/instances/a\n2026-01-01T00:00:00.000Z error main: "
	                           "\x1b[31mforged \"q\" \xff";
	static const char shown[] = "GET /v1/instances/a\\n2026-01-01T00:00:00.000Z error main: "
	                            "\\x1b[31mforged \"q\" \\xff";
	char buf[1024], want[1024];
	json_object *o, *v;

	(void)state;
	log_capture(buf, sizeof(buf), evil);
	snprintf(want, sizeof(want), " info  http: %s\n", shown);
	assert_non_null(strstr(buf, want));
	ukd_log_set_format(1);
	log_capture(buf, sizeof(buf), evil);
	ukd_log_set_format(0);
	o = json_tokener_parse(buf);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "msg", &v));
	assert_string_equal(json_object_get_string(v), shown);
	assert_true(json_object_object_get_ex(o, "level", &v));
	assert_string_equal(json_object_get_string(v), "info");
	assert_true(json_object_object_get_ex(o, "subsys", &v));
	assert_string_equal(json_object_get_string(v), "http");
	assert_true(json_object_object_get_ex(o, "time", &v));
	json_object_put(o);
	assert_int_equal(ukd_log_parse_format("json"), 1);
	assert_int_equal(ukd_log_parse_format("text"), 0);
	assert_int_equal(ukd_log_parse_format("xml"), -1);
}

/* ---- instance locks: the supervisor's audit must never wait behind a transition ---- */

static void test_instance_trylock(void **state)
{
	static struct ukd d;

	(void)state;
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.changed, NULL);
	ukd_instance_lock(&d, "a");
	assert_int_equal(ukd_instance_trylock(&d, "a"), 0); /* busy: not taken, no wait */
	assert_int_equal(ukd_instance_trylock(&d, "b"), 1); /* another instance is free */
	ukd_instance_unlock(&d, "a");
	assert_int_equal(ukd_instance_trylock(&d, "a"), 1);
	assert_int_equal(ukd_instance_trylock(&d, "a"), 0);
	ukd_instance_unlock(&d, "a");
	ukd_instance_unlock(&d, "b");
	ukd_instance_lock(&d, "a"); /* both free again: this would hang otherwise */
	ukd_instance_lock(&d, "b");
	ukd_instance_unlock(&d, "a");
	ukd_instance_unlock(&d, "b");
}

static void test_ports(void **state)
{
	static const char *const bad[] = {
	        "{}",
	        "[{\"host_port\": 8080}]",
	        "[{\"host_port\": 0, \"guest_port\": 80}]",
	        "[{\"host_port\": 8080, \"guest_port\": 65536}]",
	        "[{\"host_port\": 8080.5, \"guest_port\": 80}]",
	        "[{\"host_port\": 8080, \"guest_port\": 80, \"protocol\": \"icmp\"}]",
	        "[{\"host_port\": 8080, \"guest_port\": 80, \"protocol\": \"tcpx\"}]",
	        "[{\"host_port\": 8080, \"guest_port\": 80, \"host_ip\": \"1.2.3\"}]",
	        "[{\"host_port\": 8080, \"guest_port\": 80, \"host_ip\": 7}]",
	        "[{\"host_port\": 8080, \"guest_port\": 80, \"x\": 1}]",
	        "[{\"host_port\": 1, \"guest_port\": 2}, {\"host_port\": 1, \"guest_port\": 3}]",
	        "[{\"host_port\": 1, \"guest_port\": 2, \"host_ip\": \"0.0.0.0\"}, "
	        "{\"host_port\": 1, \"guest_port\": 3}]",
	        NULL,
	};
	struct ukd_port p[UKD_PORTS_MAX];
	int n;
	uk_err_t err = {0};
	char buf[512];
	json_object *in, *out;

	(void)state;
	for (int i = 0; bad[i]; i++) {
		in = json_tokener_parse(bad[i]);
		assert_non_null(in);
		if (ukd_ports_decode(in, 1, p, &n, &err) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(err.status, 400);
		json_object_put(in);
	}
	in = json_tokener_parse("[{\"host_port\": 8080, \"guest_port\": 80}, {\"host_ip\": "
	                        "\"0.0.0.0\", \"host_port\": 5353, \"guest_port\": 53, "
	                        "\"protocol\": \"udp\"}, {\"host_port\": 8080, \"guest_port\": "
	                        "80, \"protocol\": \"udp\"}]");
	assert_int_equal(ukd_ports_decode(in, 1, p, &n, &err), 0);
	assert_int_equal(n, 3);
	/* stored and read back as a stored config is */
	out = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(out, ukd_port_json(&p[i]));
	assert_int_equal(ukd_ports_decode(out, 0, p, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(p[0].host_ip, "127.0.0.1");
	assert_string_equal(p[0].proto, "tcp");
	ukd_port_format(&p[1], buf, sizeof(buf));
	assert_string_equal(buf, "0.0.0.0:5353->53/udp");
	assert_int_equal(ukd_ports_netdev_arg("n0", p, 2, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80,"
	                         "hostfwd=udp:0.0.0.0:5353-:53");
	assert_int_equal(ukd_ports_netdev_arg("n0", p, 2, buf, 40, &err), -1);
	json_object_put(in);
	json_object_put(out);

	/* QEMU's bind failure, as libvirt reports it, becomes the API's 409 port_in_use */
	assert_int_equal(ukd_backend_qemu_error("internal error: qemu unexpectedly closed the "
	                                        "monitor: ...: Could not set up host forwarding "
	                                        "rule 'tcp:127.0.0.1:8080-:80'",
	                                        NULL, &err),
	                 -1);
	assert_int_equal(err.status, 409);
	assert_string_equal(err.code, "port_in_use");
	assert_non_null(strstr(err.message, "port 127.0.0.1:8080 is already in use"));
	assert_int_equal(ukd_backend_qemu_error("Could not set up host forwarding rule "
	                                        "'udp::53-:53'",
	                                        NULL, &err),
	                 -1);
	assert_non_null(strstr(err.message, "port 0.0.0.0:53/udp is already in use"));
	assert_int_equal(ukd_backend_qemu_error("some other failure", NULL, &err), 0);
	assert_int_equal(ukd_backend_qemu_error(NULL, NULL, &err), 0);
	/* and its memory failure the 507 no_memory naming the size */
	struct ukd_vm vm = {.memory = 64ull << 30};
	assert_int_equal(ukd_backend_qemu_error("qemu-system-x86_64: cannot set up guest memory "
	                                        "'pc.ram': Cannot allocate memory",
	                                        &vm, &err),
	                 -1);
	assert_int_equal(err.status, 507);
	assert_string_equal(err.code, "no_memory");
	assert_non_null(strstr(err.message, "65536 MiB"));
	/* KVM without a usable /dev/kvm (this TCG host): 503 no_accel, before anything starts */
	vm.name = "uk-0123456789ab";
	vm.accel = UKD_VM_TCG;
	assert_int_equal(ukd_backend_check_accel(&vm, &err), 0);
	vm.accel = UKD_VM_KVM;
	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		assert_int_equal(ukd_backend_check_accel(&vm, &err), -1);
		assert_int_equal(err.status, 503);
		assert_string_equal(err.code, "no_accel");
		assert_non_null(strstr(err.message, "--accelerator tcg"));
	}
}

/* XPath (expr) over (doc) as a string ("" when nothing matches); caller frees. */
static char *xpath(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o;
	char *r;

	xmlXPathRegisterNs(ctx, BAD_CAST "qemu",
	                   BAD_CAST "http://libvirt.org/schemas/domain/qemu/1.0");
	o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	assert_non_null(o);
	r = (char *)xmlXPathCastToString(o);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return r;
}

/* Renders (vm) and checks that each XPath of (want) (pairs: expression, value) has its value;
 * the XML must parse. */
static void check_xml(const struct ukd_vm *vm, const char *const *want)
{
	char *xml = ukd_backend_domain_xml(vm);
	xmlDocPtr doc;

	assert_non_null(xml);
	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
	if (!doc)
		fail_msg("domain XML does not parse:\n%s", xml);
	for (size_t i = 0; want[i]; i += 2) {
		char *got = xpath(doc, want[i]);
		if (strcmp(got, want[i + 1]))
			fail_msg("%s: got \"%s\", want \"%s\" in\n%s", want[i], got, want[i + 1],
			         xml);
		xmlFree(got);
	}
	xmlFreeDoc(doc);
	free(xml);
}

/* Parses (xml), checks each XPath of (want) ((n) pairs: expression, value) and, where libvirt's
 * schema is installed, that libvirt's RelaxNG grammar of a domain accepts it. */
static void check_xml_doc(const char *xml, const char *const (*want)[2], size_t n)
{
	static const char rng[] = "/usr/share/libvirt/schemas/domain.rng";
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);

	if (!doc)
		fail_msg("domain XML does not parse:\n%s", xml);
	for (size_t i = 0; i < n; i++) {
		char *got = xpath(doc, want[i][0]);
		if (strcmp(got, want[i][1]))
			fail_msg("%s: got \"%s\", want \"%s\" in\n%s", want[i][0], got, want[i][1],
			         xml);
		xmlFree(got);
	}
	if (access(rng, R_OK) == 0) {
		xmlRelaxNGParserCtxtPtr pc = xmlRelaxNGNewParserCtxt(rng);
		xmlRelaxNGPtr schema = xmlRelaxNGParse(pc);
		xmlRelaxNGValidCtxtPtr vc = schema ? xmlRelaxNGNewValidCtxt(schema) : NULL;

		assert_non_null(vc);
		if (xmlRelaxNGValidateDoc(vc, doc) != 0)
			fail_msg("libvirt's %s rejects:\n%s", rng, xml);
		xmlRelaxNGFreeValidCtxt(vc);
		xmlRelaxNGFree(schema);
		xmlRelaxNGFreeParserCtxt(pc);
	}
	xmlFreeDoc(doc);
}

/* The Xen (libxl) rendering: a PVH domain with kernel, command line, PV console and the
 * instance's files in its metadata; a uk network's NIC is a vif on its bridge, volumes are
 * blkback disks; what Xen cannot give is refused with a clear error. */
static void test_xen_domain_xml(void **state)
{
	struct ukd_port fw[1] = {{"127.0.0.1", 8080, 80, "tcp"}};
	struct ukd_nic user = {
	        .kind = UKD_NIC_USER, .mac = "52:54:00:01:23:45", .fwds = fw, .n_fwds = 0};
	struct ukd_nic br = {.kind = UKD_NIC_BRIDGE,
	                     .mac = "52:54:00:0a:0b:0c",
	                     .tap = "uk0a0b0c0d0e0f0",
	                     .bridge = "uk-0123456789ab"};
	struct ukd_disk disks[2] = {{"/v/a&b/data.img", 0}, {"/v/ro/data.img", 1}};
	struct ukd_vm vm = {.name = "uk-0123456789ab",
	                    .dir = "/i",
	                    .kernel = "/k&k",
	                    .cmdline = "env=A=1 -- a<b 'q'",
	                    .memory = 32 << 20,
	                    .vcpus = 1,
	                    .console_log = "/i/console.raw",
	                    .status_log = "/i/st'atus",
	                    .nics = &user,
	                    .n_nics = 1};
	static const char *const want[][2] = {
	        {"string(/domain/@type)", "xen"},
	        {"string(/domain/name)", "uk-0123456789ab"},
	        {"string(/domain/memory)", "32768"},
	        {"string(/domain/os/type)", "xenpvh"},
	        {"string(/domain/os/type/@machine)", "xenpvh"},
	        {"string(/domain/os/kernel)", "/k&k"},
	        {"string(/domain/os/cmdline)", "env=A=1 -- a<b 'q'"},
	        {"string(/domain/on_poweroff)", "preserve"},
	        {"string(/domain/devices/console/@type)", "pty"},
	        {"string(/domain/devices/console/target/@type)", "xen"},
	        {"string(/domain/metadata/*[local-name()='files']/@console)", "/i/console.raw"},
	        {"string(/domain/metadata/*[local-name()='files']/@status)", "/i/st'atus"},
	        {"string(namespace-uri(/domain/metadata/*))", UKD_XEN_META_URI},
	        /* an EXPOSEd port, nothing published (user networking without forwards): no NIC,
	         * no serial, no QEMU */
	        {"count(//interface | //disk | //serial | //loader)", "0"},
	};
	static const char *const want_devs[][2] = {
	        /* the uk network: a vif on its bridge, named as ukd names the tap on QEMU */
	        {"count(//interface)", "1"},
	        {"string(//interface/@type)", "bridge"},
	        {"string(//interface/mac/@address)", "52:54:00:0a:0b:0c"},
	        {"string(//interface/source/@bridge)", "uk-0123456789ab"},
	        {"string(//interface/target/@dev)", "uk0a0b0c0d0e0f0"},
	        {"string(//interface/model/@type)", "netfront"},
	        {"count(//interface/script | //interface/ip)", "0"}, /* libxl's vif-bridge */
	        /* the volumes in order: xvda read-write, xvdb read-only, blkback on the files */
	        {"count(//disk)", "2"},
	        {"string(//disk[1]/@type)", "file"},
	        {"string(//disk[1]/@device)", "disk"},
	        {"string(//disk[1]/driver/@name)", "phy"},
	        {"string(//disk[1]/driver/@type)", "raw"},
	        {"string(//disk[1]/source/@file)", "/v/a&b/data.img"},
	        {"string(//disk[1]/target/@dev)", "xvda"},
	        {"string(//disk[1]/target/@bus)", "xen"},
	        {"count(//disk[1]/readonly)", "0"},
	        {"string(//disk[2]/source/@file)", "/v/ro/data.img"},
	        {"string(//disk[2]/target/@dev)", "xvdb"},
	        {"count(//disk[2]/readonly)", "1"},
	        {"count(//serial | //loader | //address)", "0"},
	};
	uk_err_t err = {0};
	char *xml = ukd_backend_xen_domain_xml(&vm, &err);

	(void)state;
	assert_non_null(xml);
	check_xml_doc(xml, want, sizeof(want) / sizeof(want[0]));
	free(xml);

	/* a NIC on a uk network and two volumes */
	vm.nics = &br;
	vm.disks = disks;
	vm.n_disks = 2;
	assert_non_null(xml = ukd_backend_xen_domain_xml(&vm, &err));
	check_xml_doc(xml, want_devs, sizeof(want_devs) / sizeof(want_devs[0]));
	free(xml);

	/* published ports without a uk network (Xen has no slirp): 400 naming --network */
	user.n_fwds = 1;
	vm.nics = &user;
	assert_null(ukd_backend_xen_domain_xml(&vm, &err));
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "need a uk network"));
	assert_non_null(strstr(err.message, "--network NET"));
	/* a gdb stub: 400 naming the flag */
	vm.n_nics = 0;
	vm.gdb = "tcp:127.0.0.1:1234";
	memset(&err, 0, sizeof(err));
	assert_null(ukd_backend_xen_domain_xml(&vm, &err));
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "--gdb"));
	assert_true(ukd_xen_uri("xen:///system") && ukd_xen_uri("libxl:///") &&
	            !ukd_xen_uri("qemu:///system"));
}

/* Which disk files another domain (libvirt's XML of it) still holds: a writer conflicts with
 * everyone, two read-only mounts share. */
static void test_xen_xml_holds_file(void **state)
{
	static const char xml[] =
	        "<domain type='xen'><devices>\n"
	        "<disk type='file' device='disk'><driver name='phy' type='raw'/>"
	        "<source file='/v/a&amp;b/data.img'/><target dev='xvda' bus='xen'/></disk>\n"
	        "<disk type='file' device='disk'><driver name='phy' type='raw'/>"
	        "<source file='/v/ro/data.img'/><target dev='xvdb' bus='xen'/><readonly/>"
	        "</disk>\n<disk type='file' device='disk'><source file='/v/late/data.img'/>"
	        "<target dev='xvdc' bus='xen'/></disk>\n</devices></domain>\n";

	(void)state;
	/* held writable: conflicts either way; the path matched escaped, whole */
	assert_int_equal(ukd_xen_xml_holds_file(xml, "/v/a&b/data.img", 0), 1);
	assert_int_equal(ukd_xen_xml_holds_file(xml, "/v/a&b/data.img", 1), 1);
	assert_int_equal(ukd_xen_xml_holds_file(xml, "/v/a&b/data", 0), 0);
	assert_int_equal(ukd_xen_xml_holds_file(xml, "/v/a&amp;b/data.img", 0), 0);
	/* held read-only: a writer waits, a reader shares (the <readonly/> of another disk
	 * does not count) */
	assert_int_equal(ukd_xen_xml_holds_file(xml, "/v/ro/data.img", 0), 1);
	assert_int_equal(ukd_xen_xml_holds_file(xml, "/v/ro/data.img", 1), 0);
	assert_int_equal(ukd_xen_xml_holds_file(xml, "/v/late/data.img", 1), 1);
	assert_int_equal(ukd_xen_xml_holds_file(xml, "/v/none/data.img", 0), 0);
	assert_int_equal(ukd_xen_xml_holds_file("<domain/>", "/v/ro/data.img", 0), 0);
}

/* A run's stop goes to the supervisor once, however many events libvirt sends for it; other
 * runs' stops still go through, and the oldest runs are forgotten first. */
static void test_stop_once(void **state)
{
	struct ukd_stop_once o;
	char uuid[40];

	(void)state;
	ukd_stop_once_init(&o);
	assert_int_equal(ukd_stop_once(&o, "run-a"), 1);
	assert_int_equal(ukd_stop_once(&o, "run-a"), 0); /* STOPPED after SHUTDOWN */
	assert_int_equal(ukd_stop_once(&o, "run-a"), 0); /* and the destroy's on Xen */
	assert_int_equal(ukd_stop_once(&o, "run-b"), 1);
	assert_int_equal(ukd_stop_once(&o, ""), 1); /* no uuid: cannot be told apart */
	assert_int_equal(ukd_stop_once(&o, ""), 1);
	for (int i = 0; i < UKD_STOP_ONCE_RUNS - 1; i++) {
		snprintf(uuid, sizeof(uuid), "run-%d", i);
		assert_int_equal(ukd_stop_once(&o, uuid), 1);
	}
	assert_int_equal(ukd_stop_once(&o, "run-b"), 0); /* still remembered */
	assert_int_equal(ukd_stop_once(&o, "run-a"), 1); /* the oldest, forgotten */
	pthread_mutex_destroy(&o.lock);
}

/* The disks `uk stats` asks libvirt's libxl driver about on Xen: their targets in order, never a
 * vif's target, never a name that is not one. */
static void test_xen_xml_disk_targets(void **state)
{
	static const char xml[] =
	        "<domain type='xen'><devices>\n<interface type='bridge'>"
	        "<target dev='uk0123456789ab0'/></interface>\n"
	        "<disk type='file' device='disk'><driver name='phy' type='raw'/>"
	        "<source file='/v/a/data.img'/><target dev='xvda' bus='xen'/></disk>\n"
	        "<disk type='file' device='disk'><source file='/v/b/data.img'/>"
	        "<target dev=\"xvdb\" bus='xen'/><readonly/></disk>\n"
	        "<disk type='file' device='disk'><target dev='../x' bus='xen'/></disk>\n"
	        "<disk type='file' device='disk'><source file='/v/c/data.img'/></disk>\n"
	        "<disk type='file' device='disk'><target dev='xvdc'/></disk>\n"
	        "<disk type='file' device='disk'><target dev='xvdd'/>";
	char t[4][UKD_XEN_TARGET_MAX];

	(void)state;
	assert_int_equal(ukd_xen_xml_disk_targets(xml, t, 4), 3);
	assert_string_equal(t[0], "xvda");
	assert_string_equal(t[1], "xvdb");
	assert_string_equal(t[2], "xvdc"); /* the unterminated last disk is not counted */
	assert_int_equal(ukd_xen_xml_disk_targets(xml, t, 1), 1);
	assert_int_equal(ukd_xen_xml_disk_targets("<domain><devices/></domain>", t, 4), 0);
	assert_int_equal(ukd_xen_xml_disk_targets("<disk ><target dev='"
	                                          "xvdaaaaaaaaaaaaaaaaaaaa'/></disk>",
	                                          t, 4),
	                 0);
}

struct split_out {
	char console[512], status[128];
};

static void split_collect(void *opaque, int status, const char *buf, size_t len)
{
	struct split_out *o = opaque;
	char *to = status ? o->status : o->console;
	size_t have = strlen(to), size = status ? sizeof(o->status) : sizeof(o->console);

	assert_true(have + len < size);
	memcpy(to + have, buf, len);
	to[have + len] = 0;
}

/* Feeds (in) to a new splitter in pieces of (step) bytes, then EOF. */
static void split_run(const char *in, size_t step, struct split_out *o)
{
	struct ukd_xen_split s = {0};
	size_t len = strlen(in);

	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < len; i += step)
		ukd_xen_split_feed(&s, in + i, len - i < step ? len - i : step, 0, split_collect,
		                   o);
	ukd_xen_split_feed(&s, NULL, 0, 1, split_collect, o);
}

/* On Xen the status line shares the console: whole "UK_EXIT=<digits>" lines go to the status
 * file, however the stream cuts them; everything else, lookalikes included, to the console. */
static void test_xen_console_split(void **state)
{
	static const char in[] = "hello\nUK_EXIT\nUK_EXIT=x\nsay UK_EXIT=1\nUK_EXIT=12 \n"
	                         "UK_EXITED\nUK_EXIT=\nUK_EXIT=42\r\npartial UK_EXIT=3";
	static const char console[] = "hello\nUK_EXIT\nUK_EXIT=x\nsay UK_EXIT=1\nUK_EXIT=12 \n"
	                              "UK_EXITED\nUK_EXIT=\npartial UK_EXIT=3";
	struct split_out o;

	(void)state;
	for (size_t step = 1; step <= sizeof(in); step++) {
		split_run(in, step, &o);
		if (strcmp(o.console, console) || strcmp(o.status, "UK_EXIT=42\r\n"))
			fail_msg("step %zu: console \"%s\", status \"%s\"", step, o.console,
			         o.status);
	}
	/* a line too long to be a status line streams through at once */
	char longline[300];
	memset(longline, 'a', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = 0;
	split_run(longline, 7, &o);
	assert_string_equal(o.console, longline);
	assert_string_equal(o.status, "");
	/* the last status line is the one ukvmm_status_parse takes; both go to the status file */
	split_run("UK_EXIT=1\nUK_EXIT=0\n", 3, &o);
	assert_string_equal(o.status, "UK_EXIT=1\nUK_EXIT=0\n");
	assert_string_equal(o.console, "");
}

static void test_domain_xml(void **state)
{
	struct ukd_port fw[2] = {{"127.0.0.1", 8080, 80, "tcp"}, {"0.0.0.0", 5353, 53, "udp"}};
	struct ukd_nic nics[2] = {
	        {.kind = UKD_NIC_USER, .mac = "52:54:00:01:23:45", .fwds = fw, .n_fwds = 2},
	        {.kind = UKD_NIC_TAP, .mac = "52:54:00:0a:0b:0c", .tap = "uk<t>"}};
	struct ukd_disk disks[2] = {{"/var/lib/uk/volumes/a,b/data.img", 0}, {"/v/r&o.img", 1}};
	struct ukd_vm vm = {
	        .name = "uk-0123456789ab",
	        .dir = "/i",
	        .accel = UKD_VM_TCG,
	        .kernel = "/k",
	        .cmdline = "env=UK_IP=10.0.2.15/24 -- a<b",
	        .memory = 16 << 20,
	        .vcpus = 1,
	        .console_log = "/c",
	        .status_log = "/s",
	};
	/* no devices: no qemu namespace (libvirt taints such domains), escaped text */
	static const char *const bare[] = {
	        "string(/domain/@type)",
	        "qemu",
	        "string(/domain/name)",
	        "uk-0123456789ab",
	        "string(/domain/memory)",
	        "16384",
	        "string(/domain/vcpu)",
	        "1",
	        "string(/domain/os/cmdline)",
	        "env=UK_IP=10.0.2.15/24 -- a<b",
	        "string(/domain/devices/serial[target/@port='1']/source/@path)",
	        "/s",
	        "count(//interface | //disk | /domain/*[local-name()='commandline'])",
	        "0",
	        NULL};
	/* a user NIC with forwards: QEMU's -netdev through <qemu:commandline>, first slot */
	static const char *const user[] = {
	        "string(/domain/qemu:commandline/qemu:arg[2]/@value)",
	        "user,id=uknet0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80,"
	        "hostfwd=udp:0.0.0.0:5353-:53",
	        "string(/domain/qemu:commandline/qemu:arg[4]/@value)",
	        "virtio-net-pci,netdev=uknet0,romfile=,addr=0x08,mac=52:54:00:01:23:45",
	        "count(//interface | //disk)",
	        "0",
	        NULL};
	/* a tap NIC after it (eth1), two disks (vda read-write, vdb read-only), 2 vCPUs, KVM */
	static const char *const all[] = {"string(/domain/@type)",
	                                  "kvm",
	                                  "string(/domain/vcpu)",
	                                  "2",
	                                  "count(/domain/qemu:commandline/qemu:arg)",
	                                  "4",
	                                  "count(/domain/devices/interface)",
	                                  "1",
	                                  "string(/domain/devices/interface/@type)",
	                                  "ethernet",
	                                  "string(/domain/devices/interface/target/@dev)",
	                                  "uk<t>",
	                                  "string(/domain/devices/interface/target/@managed)",
	                                  "no",
	                                  "string(/domain/devices/interface/model/@type)",
	                                  "virtio",
	                                  "string(/domain/devices/interface/mac/@address)",
	                                  "52:54:00:0a:0b:0c",
	                                  "string(/domain/devices/interface/address/@slot)",
	                                  "0x09",
	                                  "count(/domain/devices/disk)",
	                                  "2",
	                                  "string(/domain/devices/disk[1]/source/@file)",
	                                  "/var/lib/uk/volumes/a,b/data.img",
	                                  "string(/domain/devices/disk[1]/driver/@type)",
	                                  "raw",
	                                  "string(/domain/devices/disk[1]/target/@dev)",
	                                  "vda",
	                                  "string(/domain/devices/disk[1]/target/@bus)",
	                                  "virtio",
	                                  "count(/domain/devices/disk[1]/readonly)",
	                                  "0",
	                                  "string(/domain/devices/disk[1]/address/@slot)",
	                                  "0x10",
	                                  "string(/domain/devices/disk[2]/source/@file)",
	                                  "/v/r&o.img",
	                                  "string(/domain/devices/disk[2]/target/@dev)",
	                                  "vdb",
	                                  "count(/domain/devices/disk[2]/readonly)",
	                                  "1",
	                                  "string(/domain/devices/disk[2]/address/@slot)",
	                                  "0x11",
	                                  NULL};
	/* a tap alone: plain libvirt, no qemu namespace; under KVM where /dev/vhost-net opens,
	 * vhost-net asked for (never under TCG, even if the caller said so) */
	static const char *const tap[] = {"count(/domain/*[local-name()='commandline'])",
	                                  "0",
	                                  "string(/domain/devices/interface/target/@dev)",
	                                  "uk<t>",
	                                  "string(/domain/devices/interface/address/@slot)",
	                                  "0x08",
	                                  "count(/domain/devices/interface/driver)",
	                                  "0",
	                                  NULL};
	static const char *const vhost[] = {"string(/domain/@type)",
	                                    "kvm",
	                                    "string(/domain/devices/interface/driver/@name)",
	                                    "vhost",
	                                    "count(/domain/devices/interface/driver)",
	                                    "1",
	                                    NULL};

	(void)state;
	check_xml(&vm, bare);
	vm.nics = nics, vm.n_nics = 1;
	check_xml(&vm, user);
	vm.n_nics = 2, vm.disks = disks, vm.n_disks = 2, vm.vcpus = 2, vm.accel = UKD_VM_KVM;
	check_xml(&vm, all);
	vm.nics = &nics[1], vm.n_nics = 1, vm.n_disks = 0;
	check_xml(&vm, tap);
	vm.vhost_net = 1;
	check_xml(&vm, vhost);
	vm.accel = UKD_VM_TCG;
	check_xml(&vm, tap);
}

/* ?filters=: label KEY / KEY=VALUE ANDed, values of a key ORed, until's three forms, the map
 * form Docker's clients send, and refusals naming what is wrong. */
static void test_filters(void **state)
{
	static const char *const keys[] = {"status", "label", "until", NULL};
	static char *const labels[] = {"env=prod", "tier=web", "bare", NULL};
	struct ukd_filters f;
	uk_err_t err = {0};

	(void)state;
	assert_int_equal(ukd_filters_parse(NULL, keys, &f, &err), 0);
	assert_true(ukd_filters_match(&f, "status", "x") && ukd_filters_match_labels(&f, NULL));
	ukd_filters_clear(&f);
	assert_int_equal(ukd_filters_parse("{\"status\":[\"running\",\"exited\"],"
	                                   "\"label\":[\"env=prod\",\"bare\"]}",
	                                   keys, &f, &err),
	                 0);
	assert_true(ukd_filters_match(&f, "status", "exited"));
	assert_false(ukd_filters_match(&f, "status", "created"));
	assert_true(ukd_filters_match_labels(&f, labels));
	assert_false(ukd_filters_match_labels(&f, (char *const[]){"env=prod", NULL}));
	assert_false(ukd_filters_match_labels(&f, (char *const[]){"env=dev", "bare", NULL}));
	assert_false(
	        ukd_filters_match_labels(&f, (char *const[]){"environment=prod", "bare=", NULL}));
	ukd_filters_clear(&f);
	assert_int_equal(
	        ukd_filters_parse("{\"label\":{\"tier\":true,\"x\":false}}", keys, &f, &err), 0);
	assert_true(ukd_filters_match_labels(&f, labels));
	ukd_filters_clear(&f);
	/* until: a duration before now, unix seconds, RFC 3339 */
	assert_int_equal(ukd_filters_parse("{\"until\":[\"1h30m\"]}", keys, &f, &err), 0);
	assert_true(ukd_filters_match_until(&f, 10000 - 5401, 10000));
	assert_false(ukd_filters_match_until(&f, 10000 - 5400, 10000));
	ukd_filters_clear(&f);
	assert_int_equal(ukd_filters_parse("{\"until\":[\"1000\",\"1970-01-01T00:20:00Z\"]}", keys,
	                                   &f, &err),
	                 0);
	assert_true(ukd_filters_match_until(&f, 999, 5));
	assert_false(ukd_filters_match_until(&f, 1000, 5));
	ukd_filters_clear(&f);
	/* refusals */
	assert_int_equal(ukd_filters_parse("{\"colour\":[\"red\"]}", keys, &f, &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "unknown filter 'colour' (this list knows: status, "
	                                    "label, until)"));
	ukd_filters_clear(&f);
	assert_int_equal(ukd_filters_parse("{\"until\":[\"soon\"]}", keys, &f, &err), -1);
	assert_non_null(strstr(err.message, "filters.until: 'soon'"));
	ukd_filters_clear(&f);
	assert_int_equal(ukd_filters_parse("{\"label\":[\"=v\"]}", keys, &f, &err), -1);
	ukd_filters_clear(&f);
	assert_int_equal(ukd_filters_parse("{\"status\":[1]}", keys, &f, &err), -1);
	ukd_filters_clear(&f);
	assert_int_equal(ukd_filters_parse("[\"status\"]", keys, &f, &err), -1);
	ukd_filters_clear(&f);
	assert_int_equal(
	        ukd_filters_parse("{\"until\":[\"1h\"],\"until\":[\"x\"]}", keys, &f, &err), -1);
	ukd_filters_clear(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_router),
	        cmocka_unit_test(test_ports),
	        cmocka_unit_test(test_domain_xml),
	        cmocka_unit_test(test_xen_domain_xml),
	        cmocka_unit_test(test_xen_xml_holds_file),
	        cmocka_unit_test(test_xen_xml_disk_targets),
	        cmocka_unit_test(test_stop_once),
	        cmocka_unit_test(test_xen_console_split),
	        cmocka_unit_test(test_cmdline),
	        cmocka_unit_test(test_names),
	        cmocka_unit_test_setup_teardown(test_status, setup_tmp, teardown_tmp),
	        cmocka_unit_test(test_backoff),
	        cmocka_unit_test(test_policy),
	        cmocka_unit_test_setup_teardown(test_store_images, setup_tmp, teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_store_instances, setup_tmp, teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_tail, setup_tmp, teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_config, setup_tmp, teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_trust_config, setup_tmp, teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_config_limits, setup_tmp, teardown_tmp),
	        cmocka_unit_test(test_instance_env),
	        cmocka_unit_test(test_instance_memory),
	        cmocka_unit_test_setup_teardown(test_config_log_opts, setup_tmp, teardown_tmp),
	        cmocka_unit_test(test_json_body),
	        cmocka_unit_test(test_http_gate),
	        cmocka_unit_test(test_log_escape),
	        cmocka_unit_test_setup_teardown(test_log_line, setup_tmp, teardown_tmp),
	        cmocka_unit_test(test_instance_trylock),
	        cmocka_unit_test(test_filters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
