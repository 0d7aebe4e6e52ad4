/* libFuzzer target over ukd's parsers of outside input: router, argument quoting (round trip
 * through the guest's word splitter rules), image references and names, the status channel,
 * published ports (the API's "ports" and QEMU's forwarding errors), JSON request bodies (the
 * strict parse and the instance create checks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uk/images.h>

#include "cmdline.h"
#include "instance_config.h"
#include "json_body.h"
#include "names.h"
#include "policy.h"
#include "ports.h"
#include "router.h"
#include "store.h"

static void h(struct ukd *d, struct ukd_req *r)
{
	(void)d, (void)r;
}

static const struct ukd_route table[] = {
        {"GET", "/v1/_ping", UKD_BODY_NONE, h},
        {"POST", "/v1/images/build", UKD_BODY_FILE, h},
        {"POST", "/v1/images/{*}/tag", UKD_BODY_NONE, h},
        {"GET", "/v1/images/{*}", UKD_BODY_NONE, h},
        {"POST", "/v1/instances/{}/start", UKD_BODY_NONE, h},
        {"GET", "/v1/instances/{}", UKD_BODY_NONE, h},
        {NULL, NULL, 0, NULL},
};

static void fuzz_router(const char *s)
{
	static const char *const methods[] = {"GET", "POST", "DELETE", "PUT"};
	struct ukd_match m;

	ukd_router_match(table, methods[(unsigned char)s[0] % 4], s, &m);
	if (m.status == 0) {
		if (!m.route)
			abort();
		for (int i = 0; i < m.nparams; i++)
			if (!m.params[i][0] || !strstr(s, m.params[i]))
				abort(); /* a capture is a non-empty piece of the path */
	} else if (m.route || m.nparams) {
		abort();
	}
	ukd_router_clear(&m);
}

/* Words separated by NUL bytes must survive quoting and splitting unchanged. */
static void fuzz_cmdline(const char *data, size_t len)
{
	char buf[UKD_CMDLINE_MAX], **words;
	const char *w[17];
	size_t used = 0, n = 0, nw = 0;
	uk_err_t err = {0};

	for (size_t off = 0; off < len && nw < 16; nw++) {
		w[nw] = data + off;
		off += strlen(data + off) + 1;
	}
	for (size_t i = 0; i < nw; i++)
		if (ukd_cmdline_append(buf, sizeof(buf), &used, w[i], &err) < 0)
			return;
	if (!nw)
		return;
	words = ukimg_words_split(buf, &n, &err);
	if (!words || n != nw)
		abort();
	for (size_t i = 0; i < n; i++)
		if (strcmp(words[i], w[i]))
			abort();
	ukimg_strv_free(words);
}

static void fuzz_refs(const char *s)
{
	char norm[256], again[256];
	uk_err_t err = {0};

	ukd_name_valid(s);
	if (ukd_store_ref_normalize(s, norm, sizeof(norm), &err) == 0) {
		if (ukd_store_ref_normalize(norm, again, sizeof(again), &err) < 0 ||
		    strcmp(norm, again))
			abort(); /* normalizing is idempotent */
	}
}

/* Accepted ports are in range and render into a -netdev argument; the error mapping never
 * overreads. */
static void fuzz_ports(const char *s)
{
	json_object *in = json_tokener_parse(s), *out;
	struct ukd_port p[UKD_PORTS_MAX];
	char buf[UKD_PORTS_MAX * 48 + 64];
	uk_err_t err = {0};
	int n;

	ukd_ports_hostfwd_error(s, &err);
	if (!in)
		return;
	out = ukd_ports_parse(in, &err);
	if (out) {
		n = ukd_ports_from_json(out, p, UKD_PORTS_MAX);
		if ((size_t)n != json_object_array_length(out))
			abort();
		for (int i = 0; i < n; i++)
			if (p[i].host_port < 1 || p[i].host_port > 65535 || p[i].guest_port < 1 ||
			    p[i].guest_port > 65535 ||
			    (strcmp(p[i].proto, "tcp") && strcmp(p[i].proto, "udp")))
				abort();
		if (ukd_ports_netdev_arg("uknet0", p, n, buf, sizeof(buf), &err) < 0)
			abort();
		json_object_put(out);
	} else if (err.status != 400) {
		abort();
	}
	json_object_put(in);
}

/* A request body: parsed strictly; an object goes through the create checks and builds a
 * config against a made-up image. Every refusal is a 400, and an accepted config is complete. */
static void fuzz_body(const char *s, size_t len)
{
	static char *cmd[] = {"serve", NULL}, *env[] = {"A=1", "PATH=/", NULL};
	static char *exposed[] = {"80/tcp", NULL};
	static struct ukd d = {.cfg = {.accelerator = "auto"}, .accel_type = "qemu"};
	ukimg_info_t img = {.cmd = cmd, .env = env, .exposed_ports = exposed, .memory = 16 << 20};
	static const char *const keys[] = {
	        "accelerator",    "cmd",         "env",   "memory",
	        "restart_policy", "auto_remove", "ports", "exposed_ports"};
	json_object *body, *cfg;
	const char *image, *name;
	uk_err_t err = {0};

	if (ukd_json_body_parse(s, len, &body, &err) < 0) {
		if (err.status != 400 || body)
			abort();
		return;
	}
	if (ukd_instance_body_check(body, &image, &name, &err) == 0) {
		cfg = ukd_instance_config(&d, body, &img, &err);
		if (!cfg && err.status != 400)
			abort();
		for (size_t i = 0; cfg && i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!json_object_object_get_ex(cfg, keys[i], NULL))
				abort();
		json_object_put(cfg);
	} else if (err.status != 400) {
		abort();
	}
	json_object_put(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1 || size > 8192)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	switch (data[0] % 6) {
	case 0:
		fuzz_router(s);
		break;
	case 1:
		fuzz_cmdline(s, size - 1);
		break;
	case 2:
		fuzz_refs(s);
		break;
	case 4:
		fuzz_ports(s);
		break;
	case 5:
		fuzz_body((const char *)data + 1, size - 1);
		break;
	default: {
		int c = ukd_policy_parse_status((const char *)data + 1, size - 1);
		if (c < -1 || c > 255)
			abort();
	}
	}
	free(s);
	return 0;
}
