/* An instance's create request: the POST /v1/instances body checked field by field, and the
 * stored config built from it and the image (no store, no backend: fuzzed on its own). */
#include "accel.h"
#include "health.h"
#include "instance_config.h"
#include "log_opts.h"
#include "ports.h"

#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

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

/*
 * Image env (img), then the request's (req), a later KEY replacing an earlier one (the entry
 * moves to the later one's place). Linear: one pass records each KEY's last position in a hash
 * table (a json-c object), a second keeps the entries at those positions. Both lists are
 * bounded by UKIMG_ENV_MAX before any of that; request keys must be variable names.
 */
static json_object *env_merge(char **img, json_object *req, uk_err_t *err)
{
	size_t n_img = 0, n_req = req ? json_object_array_length(req) : 0, n;
	json_object *last = NULL, *out = NULL, *pos;
	const char **kv = NULL;
	char key[UKD_ENV_KEY_MAX + 1];

	while (img && img[n_img])
		n_img++;
	if (n_req > UKIMG_ENV_MAX) {
		uk_err_bad(err, "env: %zu variables: at most %d (what a guest holds)", n_req,
		           UKIMG_ENV_MAX);
		return NULL;
	}
	if (n_img > UKIMG_ENV_MAX) {
		uk_err_bad(err, "the image sets %zu environment variables: at most %d", n_img,
		           UKIMG_ENV_MAX);
		return NULL;
	}
	n = n_img + n_req;
	if (!(kv = calloc(n + 1, sizeof(*kv))) || !(last = json_object_new_object()))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		int k;
		kv[i] = i < n_img
		                ? img[i]
		                : json_object_get_string(json_object_array_get_idx(req, i - n_img));
		k = env_key_len(kv[i]);
		if (i >= n_img && k < 0) {
			uk_err_bad(err, "env[%zu] \"%.200s\": expected KEY=VALUE", i - n_img,
			           kv[i]);
			goto fail;
		}
		if (i >= n_img && (k > UKD_ENV_KEY_MAX || !ukimg_env_key_valid(kv[i], (size_t)k))) {
			uk_err_bad(
			        err,
			        "env[%zu] \"%.200s\": bad variable name (letters, digits and '_', "
			        "not starting with a digit, at most %d)",
			        i - n_img, kv[i], UKD_ENV_KEY_MAX);
			goto fail;
		}
		if (k < 0 || k > UKD_ENV_KEY_MAX)
			continue; /* an image's odd entry: kept as it is */
		memcpy(key, kv[i], (size_t)k);
		key[k] = 0;
		json_object_object_add(last, key, json_object_new_int64((int64_t)i));
	}
	if (!(out = json_object_new_array()))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		int k = env_key_len(kv[i]);
		if (k >= 0 && k <= UKD_ENV_KEY_MAX) {
			memcpy(key, kv[i], (size_t)k);
			key[k] = 0;
			if (!json_object_object_get_ex(last, key, &pos) ||
			    json_object_get_int64(pos) != (int64_t)i)
				continue; /* replaced by a later one */
		}
		json_object_array_add(out, json_object_new_string(kv[i]));
	}
	free(kv);
	json_object_put(last);
	return out;
oom:
	uk_err_internal(err, "env: out of memory");
fail:
	free(kv);
	json_object_put(last);
	json_object_put(out);
	return NULL;
}

int ukd_env_has(json_object *env, const char *key)
{
	size_t k = strlen(key);

	for (size_t i = 0; env && i < json_object_array_length(env); i++) {
		const char *kv = json_object_get_string(json_object_array_get_idx(env, i));
		if (kv && !strncmp(kv, key, k) && kv[k] == '=')
			return 1;
	}
	return 0;
}

/* The merged env, with what ukd adds at each start for a NIC (UK_IP, UK_GW unless set), must
 * fit the guest's table. */
static int env_count_check(json_object *cfg, uk_err_t *err)
{
	json_object *env = NULL;
	size_t n, extra = 0;

	json_object_object_get_ex(cfg, "env", &env);
	n = json_object_array_length(env);
	if (ukd_instance_config_has_nic(cfg) && !ukd_env_has(env, "UK_IP"))
		extra = 1 + !ukd_env_has(env, "UK_GW");
	if (n + extra > UKIMG_ENV_MAX)
		return uk_err_bad(err,
		                  "env: %zu variables with the image's%s: at most %d (what a guest "
		                  "holds)",
		                  n + extra, extra ? " and the network's (UK_IP, UK_GW)" : "",
		                  UKIMG_ENV_MAX);
	return 0;
}

int ukd_instance_config_has_nic(json_object *cfg)
{
	json_object *v;

	return (json_object_object_get_ex(cfg, "ports", &v) && json_object_array_length(v)) ||
	       (json_object_object_get_ex(cfg, "exposed_ports", &v) &&
	        json_object_array_length(v)) ||
	       ukd_health_wanted(cfg);
}

int ukd_memory_check(int64_t bytes, uk_err_t *err)
{
	struct sysinfo si;
	uint64_t host;

	if (bytes < (int64_t)UKIMG_MEMORY_MIN || bytes > (int64_t)UKIMG_MEMORY_MAX)
		return uk_err_bad(err, "memory: expected bytes from 2 MiB to 64 GiB");
	if (sysinfo(&si) < 0)
		return 0; /* cannot tell: QEMU's own failure is mapped to a 400 too */
	host = (uint64_t)si.totalram * si.mem_unit;
	if ((uint64_t)bytes > host)
		return uk_err_bad(err,
		                  "memory: %.1f GiB is more than this host has (%.1f GiB): give "
		                  "less with -m",
		                  (double)bytes / (1 << 30), (double)host / (1 << 30));
	return 0;
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
		if (!json_object_is_type(v, json_type_int)) {
			uk_err_bad(err, "memory: expected bytes from 2 MiB to 64 GiB");
			goto fail;
		}
		mem = json_object_get_int64(v);
	}
	if (ukd_memory_check(mem, err) < 0)
		goto fail;
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
	if (env_count_check(cfg, err) < 0)
		goto fail;
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
