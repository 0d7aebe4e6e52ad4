/* Health checks, the pure parts: durations, the "healthcheck" options, the state machine, HTTP
 * status lines. */
#include "health.h"

#include <stdio.h>
#include <string.h>

#define NS_PER_S 1000000000LL
#define DURATION_MAX_NS (24LL * 3600 * NS_PER_S)
#define MIN_NS 1000000LL /* 1 ms, as Docker */

static const struct {
	const char *name;
	int64_t ns;
} units[] = {{"ns", 1},       {"us", 1000},         {"\xc2\xb5s", 1000},    {"ms", 1000000},
             {"s", NS_PER_S}, {"m", 60 * NS_PER_S}, {"h", 3600 * NS_PER_S}, {NULL, 0}};

/* The unit at (s): its length and nanoseconds, or 0. Longest match ("ms" before "m"). */
static size_t unit_at(const char *s, int64_t *ns)
{
	size_t best = 0;

	for (int i = 0; units[i].name; i++) {
		size_t k = strlen(units[i].name);
		if (k > best && !strncmp(s, units[i].name, k)) {
			best = k;
			*ns = units[i].ns;
		}
	}
	return best;
}

int ukd_health_duration_parse(const char *s, int64_t *ns)
{
	double total = 0;

	if (!s || !*s)
		return -1;
	if (!strcmp(s, "0"))
		return *ns = 0, 0;
	while (*s) {
		double v = 0, scale = 1;
		int digits = 0;
		int64_t unit;
		size_t k;

		for (; *s >= '0' && *s <= '9'; s++, digits++)
			v = v * 10 + (*s - '0');
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++, digits++)
				v += (*s - '0') * (scale /= 10);
		if (!digits || v > 1e12 || !(k = unit_at(s, &unit)))
			return -1;
		s += k;
		total += v * (double)unit;
		if (total > (double)DURATION_MAX_NS)
			return -1;
	}
	*ns = (int64_t)total;
	return 0;
}

/* ---- the "healthcheck" options ---- */

static const char *const hc_keys[] = {"http",    "tcp",     "interval",     "timeout",
                                      "retries", "disable", "start_period", NULL};

static int hc_check_keys(json_object *v, uk_err_t *err)
{
	const char *key = ukd_json_unknown_key(v, hc_keys);

	if (key)
		return uk_err_bad(
		        err,
		        "healthcheck: unknown field \"%s\" (http, tcp, interval, timeout, "
		        "retries, start_period, disable)",
		        key);
	return 0;
}

static int hc_present(json_object *v, const char *key, json_object **out)
{
	return json_object_object_get_ex(v, key, out) && !json_object_is_type(*out, json_type_null);
}

/* A duration field: a string like "30s" or integer nanoseconds. (min) is its least value. */
static int hc_duration(json_object *v, const char *key, int64_t dflt, int64_t min, int64_t *out,
                       uk_err_t *err)
{
	json_object *f;

	*out = dflt;
	if (!hc_present(v, key, &f))
		return 0;
	if (json_object_is_type(f, json_type_int))
		*out = json_object_get_int64(f);
	else if (!json_object_is_type(f, json_type_string) ||
	         ukd_health_duration_parse(json_object_get_string(f), out) < 0)
		return uk_err_bad(err,
		                  "healthcheck.%s %s: expected a duration like \"500ms\", \"2s\" "
		                  "or \"1m\" (at most 24h), or integer nanoseconds",
		                  key, json_object_to_json_string(f));
	if (*out < min || *out > DURATION_MAX_NS)
		return uk_err_bad(err, "healthcheck.%s: expected %s to 24h", key,
		                  min ? "1ms" : "0s");
	return 0;
}

static int path_ok(const char *p)
{
	if (*p != '/' || strlen(p) >= UKD_HEALTH_PATH_MAX)
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '#')
			return 0;
	return 1;
}

/* "PORT/PATH" or "PORT" (path "/"). */
static int hc_http(json_object *f, struct ukd_health_cfg *c, uk_err_t *err)
{
	const char *s = json_object_get_string(f), *slash;
	unsigned port = 0;
	int digits = 0;

	if (!json_object_is_type(f, json_type_string))
		goto bad;
	slash = strchr(s, '/');
	for (const char *q = s; *q && q != slash; q++, digits++) {
		if (*q < '0' || *q > '9' || digits >= 5)
			goto bad;
		port = port * 10 + (unsigned)(*q - '0');
	}
	if (!digits || port < 1 || port > 65535)
		goto bad;
	snprintf(c->path, sizeof(c->path), "%s", slash ? slash : "/");
	if (!path_ok(slash ? slash : "/"))
		return uk_err_bad(
		        err,
		        "healthcheck.http %s: the path must start with / and hold at most "
		        "%d printable characters without spaces or #",
		        json_object_to_json_string(f), UKD_HEALTH_PATH_MAX - 1);
	c->kind = UKD_HEALTH_HTTP;
	c->port = port;
	return 0;
bad:
	return uk_err_bad(err,
	                  "healthcheck.http %s: expected \"PORT/PATH\" like \"80/healthz\" "
	                  "(PORT 1 to 65535)",
	                  json_object_to_json_string(f));
}

static int hc_tcp(json_object *f, struct ukd_health_cfg *c, uk_err_t *err)
{
	int64_t p;

	if (!json_object_is_type(f, json_type_int) || (p = json_object_get_int64(f)) < 1 ||
	    p > 65535)
		return uk_err_bad(err, "healthcheck.tcp %s: expected a port from 1 to 65535",
		                  json_object_to_json_string(f));
	c->kind = UKD_HEALTH_TCP;
	c->port = (unsigned)p;
	return 0;
}

json_object *ukd_health_cfg_json(const struct ukd_health_cfg *c)
{
	json_object *o = json_object_new_object();

	if (c->kind == UKD_HEALTH_NONE) {
		json_object_object_add(o, "type", json_object_new_string("none"));
		return o;
	}
	json_object_object_add(o, "type",
	                       json_object_new_string(c->kind == UKD_HEALTH_HTTP ? "http" : "tcp"));
	json_object_object_add(o, "port", json_object_new_int((int)c->port));
	if (c->kind == UKD_HEALTH_HTTP)
		json_object_object_add(o, "path", json_object_new_string(c->path));
	json_object_object_add(o, "interval", json_object_new_int64(c->interval_ns));
	json_object_object_add(o, "timeout", json_object_new_int64(c->timeout_ns));
	json_object_object_add(o, "start_period", json_object_new_int64(c->start_period_ns));
	json_object_object_add(o, "retries", json_object_new_int(c->retries));
	return o;
}

static int hc_parse(json_object *v, struct ukd_health_cfg *c, uk_err_t *err)
{
	json_object *f, *http = NULL, *tcp = NULL;
	int has_http = hc_present(v, "http", &http), has_tcp = hc_present(v, "tcp", &tcp);
	int64_t r;

	if (!json_object_is_type(v, json_type_object))
		return uk_err_bad(err, "healthcheck: expected an object like {\"http\": \"80/\"}");
	if (hc_check_keys(v, err) < 0)
		return -1;
	if (hc_present(v, "disable", &f)) {
		if (!json_object_is_type(f, json_type_boolean))
			return uk_err_bad(err, "healthcheck.disable: expected true or false");
		if (json_object_get_boolean(f)) {
			if (json_object_object_length(v) > 1)
				return uk_err_bad(err,
				                  "healthcheck.disable (--no-healthcheck) "
				                  "cannot be combined with other health options");
			return 0;
		}
	}
	if (has_http && has_tcp)
		return uk_err_bad(err, "healthcheck: http and tcp are exclusive: give one check");
	if (!has_http && !has_tcp) {
		json_object_object_foreach(v, key, val)
		{
			(void)val;
			if (strcmp(key, "disable"))
				return uk_err_bad(err,
				                  "healthcheck.%s needs a check: add http "
				                  "(--health-http) or tcp (--health-tcp)",
				                  key);
		}
		return 0;
	}
	if ((has_http ? hc_http(http, c, err) : hc_tcp(tcp, c, err)) < 0 ||
	    hc_duration(v, "interval", UKD_HEALTH_INTERVAL_NS, MIN_NS, &c->interval_ns, err) < 0 ||
	    hc_duration(v, "timeout", UKD_HEALTH_TIMEOUT_NS, MIN_NS, &c->timeout_ns, err) < 0 ||
	    hc_duration(v, "start_period", 0, 0, &c->start_period_ns, err) < 0)
		return -1;
	c->retries = UKD_HEALTH_RETRIES;
	if (hc_present(v, "retries", &f)) {
		if (!json_object_is_type(f, json_type_int) || (r = json_object_get_int64(f)) < 1 ||
		    r > 1000)
			return uk_err_bad(err, "healthcheck.retries %s: expected 1 to 1000",
			                  json_object_to_json_string(f));
		c->retries = (int)r;
	}
	return 0;
}

int ukd_health_cfg_parse(json_object *v, struct ukd_health_cfg *out, uk_err_t *err)
{
	memset(out, 0, sizeof(*out));
	if (v && hc_parse(v, out, err) < 0)
		return -1;
	return 0;
}

void ukd_health_cfg_from_json(json_object *v, struct ukd_health_cfg *out)
{
	json_object *f;
	const char *type =
	        json_object_object_get_ex(v, "type", &f) ? json_object_get_string(f) : "none";

	memset(out, 0, sizeof(*out));
	if (!type || (strcmp(type, "http") && strcmp(type, "tcp")))
		return;
	out->kind = strcmp(type, "http") ? UKD_HEALTH_TCP : UKD_HEALTH_HTTP;
	out->port = (unsigned)json_object_get_int(json_object_object_get(v, "port"));
	snprintf(out->path, sizeof(out->path), "%s",
	         json_object_object_get_ex(v, "path", &f) ? json_object_get_string(f) : "/");
	out->interval_ns = json_object_get_int64(json_object_object_get(v, "interval"));
	out->timeout_ns = json_object_get_int64(json_object_object_get(v, "timeout"));
	out->start_period_ns = json_object_get_int64(json_object_object_get(v, "start_period"));
	out->retries = json_object_get_int(json_object_object_get(v, "retries"));
	if (out->port < 1 || out->port > 65535 || out->interval_ns < MIN_NS ||
	    out->timeout_ns < MIN_NS || out->retries < 1)
		out->kind = UKD_HEALTH_NONE; /* not written by ukd_health_cfg_json: ignore it */
}

/* ---- the state machine ---- */

enum ukd_health_status ukd_health_next(struct ukd_health_state *st,
                                       const struct ukd_health_cfg *cfg, int64_t started,
                                       int64_t now, int ok)
{
	if (ok) {
		st->failing_streak = 0;
		st->status = UKD_HEALTH_HEALTHY;
	} else if (st->status == UKD_HEALTH_STARTING && now < started + cfg->start_period_ns) {
		/* still booting: recorded in the log, not counted */
	} else if (++st->failing_streak >= cfg->retries) {
		st->status = UKD_HEALTH_UNHEALTHY;
	}
	return st->status;
}

const char *ukd_health_status_name(enum ukd_health_status s)
{
	return s == UKD_HEALTH_HEALTHY     ? "healthy"
	       : s == UKD_HEALTH_UNHEALTHY ? "unhealthy"
	                                   : "starting";
}

int ukd_health_http_status(const char *buf, size_t len)
{
	static const char pre[] = "HTTP/1.";
	size_t k = sizeof(pre) - 1;
	int code = 0;

	for (size_t i = 0; i < len && i < k; i++)
		if (buf[i] != pre[i])
			return -1;
	if (len < k + 5)
		return 0;
	if (buf[k] < '0' || buf[k] > '9' || buf[k + 1] != ' ')
		return -1;
	for (size_t i = k + 2; i < k + 5; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		code = code * 10 + (buf[i] - '0');
	}
	return code >= 100 && code <= 599 ? code : -1;
}
