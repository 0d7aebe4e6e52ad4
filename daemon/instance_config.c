/* An instance's create request: the POST /v1/instances body checked and the stored config built
 * from it, through the one decoder (spec.c). */
#include "health.h"
#include "instance_config.h"
#include "ports.h"

#include <string.h>

static const char *const create_keys[] = {"image",  "name",           "cmd",         "env",
                                          "memory", "restart_policy", "auto_remove", "accelerator",
                                          "ports",  "healthcheck",    "log_opts",    "networks",
                                          NULL};

int ukd_env_json_has(json_object *env, const char *key)
{
	size_t k = strlen(key);

	for (size_t i = 0; env && i < json_object_array_length(env); i++) {
		const char *kv = json_object_get_string(json_object_array_get_idx(env, i));
		if (kv && !strncmp(kv, key, k) && kv[k] == '=')
			return 1;
	}
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

json_object *ukd_instance_config(struct ukd *d, json_object *body, const ukimg_info_t *img,
                                 uk_err_t *err)
{
	struct ukd_instance_spec s;
	json_object *cfg;

	if (ukd_spec_from_body(d, body, img, &s, err) < 0)
		return NULL;
	cfg = ukd_spec_to_json(&s);
	ukd_spec_clear(&s);
	return cfg;
}

int ukd_instance_body_check(json_object *body, const char **image, const char **name, uk_err_t *err)
{
	const char *key;

	if (body && json_object_is_type(body, json_type_object) &&
	    (key = ukd_json_unknown_key(body, create_keys)))
		return uk_err_bad(err, "unknown field \"%s\" in the instance config", key);
	return ukd_spec_body_check(body, image, name, err);
}
