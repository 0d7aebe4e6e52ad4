/* libFuzzer target over ukd's parsers of outside input: router and request targets (%00,
 * control characters) with the log's escaping, argument quoting (round trip through the guest's
 * word splitter rules), image references and names, the status channel, published ports (the
 * API's "ports" and QEMU's forwarding errors), registry credentials, health checks (the API's
 * "healthcheck", durations, a guest's HTTP status line), JSON request bodies (the strict parse,
 * no \u0000, and the instance create checks), the typed instance spec (spec.c: a create body,
 * its stored form read back, any text read as a stored config), a panic report's backtrace
 * (crash_parse.c), the list and prune routes' ?filters= (filters.c), a Xen guest's console
 * split into status lines and the rest (xen_split.c), the disk targets in a Xen domain's XML
 * (xen_xml.c). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uk/images.h>
#include <uk/registry.h>
#include <uk/regauth.h>

#include "backend.h"
#include "cmdline.h"
#include "debug.h"
#include "filters.h"
#include "health.h"
#include "log_opts.h"
#include "json_body.h"
#include "log.h"
#include "names.h"
#include "policy.h"
#include "ports.h"
#include "router.h"
#include "spec.h"
#include "store.h"
#include "xen_split.h"
#include "xen_xml.h"

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

/* A request target: one accepted decodes (as libmicrohttpd does) to a path without control
 * characters and a query without NUL; the log shows any text as one printable line. */
static void fuzz_target(const char *s)
{
	const char *why = NULL;
	int st = ukd_router_check_target(s, &why), q = 0;
	char out[8192 * 4 + 1];
	size_t n;

	if (st != 0 && st != 400 && st != 414)
		abort();
	if (st && !why)
		abort();
	for (const char *p = s; !st && *p; p++) {
		unsigned c = (unsigned char)*p;
		if (c == '?')
			q = 1;
		if (c == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
			char hex[3] = {p[1], p[2], 0};
			c = (unsigned)strtoul(hex, NULL, 16);
		}
		if (c == 0 || (!q && (c < 0x20 || c == 0x7f)))
			abort();
	}
	n = ukd_log_escape(s, out, sizeof(out));
	if (n != strlen(out) || (n < strlen(s) && strlen(s) * 4 < sizeof(out)))
		abort(); /* nothing is dropped when there is room */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			abort();
}

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
	fuzz_target(s);
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

	ukimg_regref_t r;

	ukd_name_valid(s);
	if (ukd_store_ref_normalize(s, norm, sizeof(norm), &err) == 0) {
		if (ukd_store_ref_normalize(norm, again, sizeof(again), &err) < 0 ||
		    strcmp(norm, again))
			abort(); /* normalizing is idempotent */
		/* a local name is in Docker's grammar: no ".." in the name (a tag may hold one, as
		 * Docker's "v1..2" does), no digest */
		if (ukimg_ref_parse(norm, &r, &err) < 0 || strstr(r.registry, "..") ||
		    strstr(r.repository, "..") || r.digest[0])
			abort();
	}
}

/* X-Registry-Auth values and server names (both from clients): what decodes re-encodes to the
 * same fields; server names normalise idempotently; base64 round-trips in both alphabets. */
static void fuzz_regauth(const char *s)
{
	char a[UK_REGAUTH_SERVER_MAX], b[UK_REGAUTH_SERVER_MAX], *enc, *dec;
	uk_regauth_t x, y;
	uk_err_t err = {0};
	size_t n;

	if (uk_regauth_decode(s, &x, &err) == 0) {
		enc = uk_regauth_encode(&x);
		if (!enc || uk_regauth_decode(enc, &y, &err) < 0 || !!x.username != !!y.username ||
		    (x.username && strcmp(x.username, y.username)) ||
		    !!x.password != !!y.password || (x.password && strcmp(x.password, y.password)))
			abort();
		uk_regauth_clear(&y);
		free(enc);
		uk_regauth_clear(&x);
	}
	if (uk_regauth_server(s, a, NULL, &err) == 0 &&
	    (uk_regauth_server(a, b, NULL, &err) < 0 || strcmp(a, b)))
		abort();
	uk_regauth_registry_of(s, a);
	for (int url = 0; url < 2; url++) {
		enc = uk_base64_encode(s, strlen(s), url);
		if (!enc || uk_base64_decode(enc, strlen(enc), &dec, &n) < 0 || n != strlen(s) ||
		    memcmp(dec, s, n))
			abort();
		free(dec);
		free(enc);
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

	ukd_backend_qemu_error(s, NULL, &err);
	if (!in)
		return;
	if (ukd_ports_decode(in, 1, p, &n, &err) == 0) {
		/* the normalized form reads back as stored configs are read */
		struct ukd_port again[UKD_PORTS_MAX];
		int m;
		out = json_object_new_array();
		for (int i = 0; i < n; i++)
			json_object_array_add(out, ukd_port_json(&p[i]));
		if (ukd_ports_decode(out, 0, again, &m, &err) < 0 || m != n ||
		    memcmp(again, p, sizeof(p[0]) * (size_t)n))
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

/* A normalized check reads back as the check it was; a duration is never negative. */
static void fuzz_health(const char *s, size_t len)
{
	json_object *in = json_tokener_parse(s), *out;
	struct ukd_health_cfg c;
	uk_err_t err = {0};
	int64_t ns = -1;
	int code = ukd_health_http_status(s, len);

	if (code < -1 || (code > 0 && (code < 100 || code > 599)))
		abort();
	if (ukd_health_duration_parse(s, &ns) == 0 && (ns < 0 || ns > 24LL * 3600 * 1000000000))
		abort();
	if (!in)
		return;
	out = ukd_health_cfg_parse(in, &c, &err) == 0 ? ukd_health_cfg_json(&c) : NULL;
	if (out) {
		ukd_health_cfg_from_json(out, &c);
		if (c.kind != UKD_HEALTH_NONE &&
		    (c.port < 1 || c.port > 65535 || c.retries < 1 || c.interval_ns < 1000000 ||
		     c.timeout_ns < 1000000 || c.start_period_ns < 0 ||
		     (c.kind == UKD_HEALTH_HTTP && c.path[0] != '/')))
			abort();
		json_object_put(out);
	} else if (err.status != 400) {
		abort();
	}
	json_object_put(in);
}

/* Every string in (o) holds no NUL: its length is what C reads. */
static int json_strings_whole(json_object *o)
{
	if (json_object_is_type(o, json_type_string))
		return strlen(json_object_get_string(o)) == (size_t)json_object_get_string_len(o);
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (!json_strings_whole(json_object_array_get_idx(o, i)))
				return 0;
	} else if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
		{
			(void)k;
			if (!json_strings_whole(v))
				return 0;
		}
	}
	return 1;
}

/*
 * The spec's decoders: an accepted body stores a text that decodes to the same text again
 * (nothing lost or changed by a restart of ukd); any text read as a stored config either
 * decodes or is a 500, and what decodes stores and decodes again.
 */
static void spec_stored_again(const struct ukd_instance_spec *s)
{
	struct ukd_instance_spec back;
	uk_err_t err = {0};
	json_object *a = ukd_spec_to_json(s), *b;

	if (ukd_spec_from_json(json_object_to_json_string(a), &back, &err) < 0)
		abort();
	b = ukd_spec_to_json(&back);
	if (strcmp(json_object_to_json_string(a), json_object_to_json_string(b)))
		abort();
	ukd_spec_clear(&back);
	json_object_put(a);
	json_object_put(b);
}

static void fuzz_spec_stored(const char *text)
{
	struct ukd_instance_spec s;
	uk_err_t err = {0};

	if (ukd_spec_from_json(text, &s, &err) == 0) {
		spec_stored_again(&s);
		ukd_spec_clear(&s);
	} else if (err.status != 500 || s.cmd) {
		abort();
	}
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
	        "accelerator", "cmd",    "env",         "memory",        "restart_policy",
	        "auto_remove", "ports",  "healthcheck", "exposed_ports", "log_opts",
	        "networks",    "mounts", "labels",      "vcpus"};
	struct ukd_instance_spec spec;
	json_object *body, *cfg;
	const char *image, *name;
	uk_err_t err = {0};

	if (ukd_json_body_parse(s, len, &body, &err) < 0) {
		if (err.status != 400 || body)
			abort();
		return;
	}
	if (!json_strings_whole(body))
		abort(); /* a NUL (\u0000) slipped through */
	if (ukd_spec_body_check(body, &image, &name, &err) < 0) {
		if (err.status != 400)
			abort();
	} else if (ukd_spec_from_body(&d, body, &img, &spec, &err) < 0) {
		if (err.status != 400 || spec.cmd || spec.env || spec.labels)
			abort(); /* refused, and nothing half-decoded left */
	} else {
		cfg = ukd_spec_to_json(&spec);
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!json_object_object_get_ex(cfg, keys[i], NULL))
				abort();
		json_object_put(cfg);
		spec.backend = ukd_spec_resolve_backend(&d, &spec);
		spec_stored_again(&spec);
		ukd_spec_clear(&spec);
	}
	json_object_put(body);
}

/* A console log's panic report (guest output): frames within bounds, parsed from the raw bytes
 * (NULs included) without reading past them. */
static void fuzz_crash(const char *data, size_t len)
{
	struct ukd_crash_frame f[4];
	int n = ukd_crash_frames(data, len, f, 4);

	if (n < 0 || n > 4)
		abort();
}

/* A log size (max-size): an accepted one reads back from its own digits. */
static void fuzz_log_size(const char *s)
{
	uint64_t n, again;
	char buf[32];

	if (ukd_log_size_parse(s, &n) < 0)
		return;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n);
	if (ukd_log_size_parse(buf, &again) < 0 || again != n)
		abort();
}

/* ?filters=: accepted values match consistently; a refusal always says why. */
static void fuzz_filters(const char *s)
{
	static const char *const keys[] = {"status", "name", "label", "until", "dangling", NULL};
	static char *const labels[] = {"env=prod", "k", "=x", "", NULL};
	struct ukd_filters f;
	uk_err_t err = {0};
	int r = ukd_filters_parse(s, keys, &f, &err);

	if (r < 0 && (err.status != 400 || !err.message[0]))
		abort();
	if (r == 0) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "env", json_object_new_string("prod"));
		(void)ukd_filters_match(&f, "status", "running");
		(void)ukd_filters_match_until(&f, 1700000000, 1800000000);
		if (ukd_filters_match_labels(&f, labels) != ukd_filters_match_labels(&f, labels))
			abort();
		(void)ukd_filters_match_label_obj(&f, o);
		json_object_put(o);
		if (!ukd_filters_get(&f, "label") && !ukd_filters_match_labels(&f, NULL))
			abort(); /* no label filter: everything matches */
	}
	ukd_filters_clear(&f);
}

struct split_sink {
	char out[2][8192];
	size_t len[2];
};

static void split_sink(void *opaque, int status, const char *buf, size_t len)
{
	struct split_sink *k = opaque;

	if (k->len[status] + len > sizeof(k->out[status]))
		abort();
	/* a status piece is one whole line "UK_EXIT=<digits>[\r]\n" */
	if (status && (len < 10 || memcmp(buf, "UK_EXIT=", 8) || buf[len - 1] != '\n'))
		abort();
	memcpy(k->out[status] + k->len[status], buf, len);
	k->len[status] += len;
}

/* A guest's console on Xen, cut by the stream anywhere ((cut) gives the piece sizes): no byte is
 * lost or added, the status channel gets only whole status lines, and the result does not depend
 * on where the stream was cut. */
static void fuzz_xen_split(const char *buf, size_t len, unsigned cut)
{
	static struct split_sink one, many;
	struct ukd_xen_split a = {0}, b = {0};

	memset(&one, 0, sizeof(one));
	memset(&many, 0, sizeof(many));
	ukd_xen_split_feed(&a, buf, len, 1, split_sink, &one);
	for (size_t i = 0, n; i < len; i += n) {
		n = 1 + (cut + i) % 13;
		n = n < len - i ? n : len - i;
		ukd_xen_split_feed(&b, buf + i, n, 0, split_sink, &many);
	}
	ukd_xen_split_feed(&b, NULL, 0, 1, split_sink, &many);
	if (one.len[0] + one.len[1] != len || memcmp(&one, &many, sizeof(one)))
		abort();
	if (ukd_policy_parse_status(one.out[1], one.len[1]) < -1)
		abort();
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
	case 2: {
		char t[UKD_MOUNTS_MAX][UKD_XEN_TARGET_MAX];
		int n = ukd_xen_xml_disk_targets(s, t, UKD_MOUNTS_MAX);
		for (int i = 0; i < n; i++) /* plain names only */
			if (!t[i][0] ||
			    strspn(t[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
			                 "WXYZ0123456789") != strlen(t[i]))
				abort();
		fuzz_refs(s);
		fuzz_regauth(s);
		fuzz_filters(s);
		break;
	}
	case 4:
		fuzz_ports(s);
		fuzz_log_size(s);
		break;
	case 5:
		fuzz_health(s, size - 1);
		fuzz_body((const char *)data + 1, size - 1);
		fuzz_spec_stored(s);
		break;
	default: {
		int c = ukd_policy_parse_status((const char *)data + 1, size - 1);
		if (c < -1 || c > 255)
			abort();
		fuzz_crash((const char *)data + 1, size - 1);
		fuzz_xen_split((const char *)data + 1, size - 1, data[0]);
	}
	}
	free(s);
	return 0;
}
