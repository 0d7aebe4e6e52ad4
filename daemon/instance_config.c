/* An instance's create request: the POST /v1/instances body checked field by field, and the
 * stored config built from it and the image (no store, no backend: fuzzed on its own). */
#include "accel.h"
#include "health.h"
#include "instance_config.h"
#include "log_opts.h"
#include "ports.h"

#include <string.h>

static int json_strv_check(json_object *v, const char *what, uk_err_t *err)
{
	if (!json_object_is_type(v, json_type_array))
		return uk_err_bad(err, "%s: expected an array of strings", what);
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
			return uk_err_bad(err, "%s[%zu]: expected a string", what, i);
	return 0;
}

static int env_key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq && eq != kv ? (int)(eq - kv) : -1;
}

/* Image env, then the request's, a later KEY replacing an earlier one. */
static json_object *env_merge(char **img_env, json_object *req_env, uk_err_t *err)
{
	json_object *out = json_object_new_array();
	size_t n_req = req_env ? json_object_array_length(req_env) : 0;

	for (size_t i = 0; img_env && img_env[i]; i++)
		json_object_array_add(out, json_object_new_string(img_env[i]));
	for (size_t i = 0; i < n_req; i++) {
		const char *kv = json_object_get_string(json_object_array_get_idx(req_env, i));
		int k = env_key_len(kv);
		if (k < 0) {
			json_object_put(out);
			uk_err_bad(err, "env[%zu] \"%s\": expected KEY=VALUE", i, kv);
			return NULL;
		}
		for (size_t j = 0; j < json_object_array_length(out); j++) {
			const char *o = json_object_get_string(json_object_array_get_idx(out, j));
			if (env_key_len(o) == k && !strncmp(o, kv, (size_t)k)) {
				json_object_array_del_idx(out, j, 1);
				break;
			}
		}
		json_object_array_add(out, json_object_new_string(kv));
	}
	return out;
}

static int restart_policy_parse(json_object *rp, json_object **out, uk_err_t *err)
{
	json_object *name = NULL, *max = NULL;
	const char *n = "no";
	int64_t m = 0;

	if (rp) {
		if (!json_object_is_type(rp, json_type_object))
			return uk_err_bad(err, "restart_policy: expected an object");
		if (json_object_object_get_ex(rp, "name", &name)) {
			if (!json_object_is_type(name, json_type_string))
				return uk_err_bad(err, "restart_policy.name: expected a string");
			n = json_object_get_string(name);
		}
		if (json_object_object_get_ex(rp, "maximum_retry_count", &max)) {
			if (!json_object_is_type(max, json_type_int) ||
			    (m = json_object_get_int64(max)) < 0 || m > 1000000)
				return uk_err_bad(err,
				                  "restart_policy.maximum_retry_count: expected "
				                  "an integer from 0 to 1000000");
		}
	}
	if (!*n)
		n = "no";
	if (strcmp(n, "no") && strcmp(n, "on-failure") && strcmp(n, "always") &&
	    strcmp(n, "unless-stopped") && strcmp(n, "on-unhealthy"))
		return uk_err_bad(err,
		                  "restart_policy.name \"%s\": expected no, on-failure, always, "
		                  "unless-stopped or on-unhealthy",
		                  n);
	if (m && strcmp(n, "on-failure") && strcmp(n, "on-unhealthy"))
		return uk_err_bad(err, "restart_policy.maximum_retry_count: only for on-failure "
		                       "and on-unhealthy");
	*out = json_object_new_object();
	json_object_object_add(*out, "name", json_object_new_string(n));
	json_object_object_add(*out, "maximum_retry_count", json_object_new_int64(m));
	return 0;
}

static const char *const create_keys[] = {"image",  "name",           "cmd",         "env",
                                          "memory", "restart_policy", "auto_remove", "accelerator",
                                          "ports",  "healthcheck",    "log_opts",    NULL};

static int create_check_keys(json_object *body, uk_err_t *err)
{
	const char *key = ukd_json_unknown_key(body, create_keys);

	if (key)
		return uk_err_bad(err, "unknown field \"%s\" in the instance config", key);
	return 0;
}

static const char *opt_string(json_object *body, const char *key, int *bad)
{
	json_object *v;

	if (!json_object_object_get_ex(body, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		*bad = 1;
		return NULL;
	}
	return json_object_get_string(v);
}

/* "healthcheck" into (cfg); on-unhealthy without a check is a mistake worth a 400. */
static int create_healthcheck(json_object *body, json_object *cfg, uk_err_t *err)
{
	json_object *v = NULL, *hc, *rp;

	json_object_object_get_ex(body, "healthcheck", &v);
	if (!(hc = ukd_health_parse(json_object_is_type(v, json_type_null) ? NULL : v, err)))
		return -1;
	json_object_object_add(cfg, "healthcheck", hc);
	if (!ukd_health_wanted(cfg) && json_object_object_get_ex(cfg, "restart_policy", &rp) &&
	    json_object_object_get_ex(rp, "name", &v) &&
	    !strcmp(json_object_get_string(v), "on-unhealthy"))
		return uk_err_bad(err, "restart_policy on-unhealthy needs a health check "
		                       "(healthcheck.http or healthcheck.tcp)");
	return 0;
}

/* "log_opts" over the daemon's default (daemon.json "log-opts") into (cfg). */
static int create_log_opts(struct ukd *d, json_object *body, json_object *cfg, uk_err_t *err)
{
	struct ukd_log_opts lo = d->cfg.log;
	json_object *v = NULL;

	if (!lo.max_size || !lo.max_file)
		lo = (struct ukd_log_opts){UKD_LOG_MAX_SIZE_DEFAULT, UKD_LOG_MAX_FILE_DEFAULT};
	if (json_object_object_get_ex(body, "log_opts", &v) &&
	    !json_object_is_type(v, json_type_null) &&
	    ukd_log_opts_parse(v, &lo, "log_opts", &lo, err) < 0)
		return -1;
	json_object_object_add(cfg, "log_opts", ukd_log_opts_json(&lo));
	return 0;
}

json_object *ukd_instance_config(struct ukd *d, json_object *body, const ukimg_info_t *img,
                                 uk_err_t *err)
{
	json_object *cfg = json_object_new_object(), *v, *rp = NULL, *env;
	int bad = 0;
	const char *acc = opt_string(body, "accelerator", &bad);
	char type[8];
	int64_t mem = (int64_t)img->memory;

	if (bad || ukd_accel_resolve(d, acc, type, err) < 0)
		goto fail_bad_acc;
	json_object_object_add(cfg, "accelerator", json_object_new_string(acc ? acc : "auto"));
	if (json_object_object_get_ex(body, "cmd", &v) && !json_object_is_type(v, json_type_null)) {
		if (json_strv_check(v, "cmd", err) < 0)
			goto fail;
		json_object_object_add(cfg, "cmd", json_object_get(v));
	} else {
		json_object *c = json_object_new_array();
		for (size_t i = 0; img->cmd && img->cmd[i]; i++)
			json_object_array_add(c, json_object_new_string(img->cmd[i]));
		json_object_object_add(cfg, "cmd", c);
	}
	v = NULL;
	if (json_object_object_get_ex(body, "env", &v) && !json_object_is_type(v, json_type_null) &&
	    json_strv_check(v, "env", err) < 0)
		goto fail;
	if (!(env = env_merge(img->env, json_object_is_type(v, json_type_array) ? v : NULL, err)))
		goto fail;
	json_object_object_add(cfg, "env", env);
	if (json_object_object_get_ex(body, "memory", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_int) ||
		    (mem = json_object_get_int64(v)) < (2 << 20) || mem > (64LL << 30)) {
			uk_err_bad(err, "memory: expected bytes from 2 MiB to 64 GiB");
			goto fail;
		}
	}
	json_object_object_add(cfg, "memory", json_object_new_int64(mem));
	json_object_object_get_ex(body, "restart_policy", &v);
	if (restart_policy_parse(json_object_object_get_ex(body, "restart_policy", &v) &&
	                                         !json_object_is_type(v, json_type_null)
	                                 ? v
	                                 : NULL,
	                         &rp, err) < 0)
		goto fail;
	json_object_object_add(cfg, "restart_policy", rp);
	v = NULL;
	if (json_object_object_get_ex(body, "auto_remove", &v) && v &&
	    !json_object_is_type(v, json_type_boolean)) {
		uk_err_bad(err, "auto_remove: expected true or false");
		goto fail;
	}
	json_object_object_add(cfg, "auto_remove",
	                       json_object_new_boolean(v && json_object_get_boolean(v)));
	if (json_object_object_get_ex(body, "ports", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		json_object *ports = ukd_ports_parse(v, err);
		if (!ports)
			goto fail;
		json_object_object_add(cfg, "ports", ports);
	} else {
		json_object_object_add(cfg, "ports", json_object_new_array());
	}
	if (create_healthcheck(body, cfg, err) < 0 || create_log_opts(d, body, cfg, err) < 0)
		goto fail;
	/* Kept with the instance: an image that EXPOSEs ports gets a NIC even without -p. */
	v = json_object_new_array();
	for (size_t i = 0; img->exposed_ports && img->exposed_ports[i]; i++)
		json_object_array_add(v, json_object_new_string(img->exposed_ports[i]));
	json_object_object_add(cfg, "exposed_ports", v);
	return cfg;
fail_bad_acc:
	if (bad)
		uk_err_bad(err, "accelerator: expected a string");
fail:
	json_object_put(cfg);
	return NULL;
}

int ukd_instance_body_check(json_object *body, const char **image, const char **name, uk_err_t *err)
{
	int bad = 0;

	if (!body || !json_object_is_type(body, json_type_object))
		return uk_err_bad(err, "expected a JSON object body with at least \"image\"");
	if (create_check_keys(body, err) < 0)
		return -1;
	*image = opt_string(body, "image", &bad);
	*name = opt_string(body, "name", &bad);
	if (bad || !*image || !**image)
		return uk_err_bad(err,
		                  "\"image\" and \"name\" must be strings; \"image\" is required");
	return 0;
}
