/* An instance's create request: checking the body and building the stored config. */
#ifndef UKD_INSTANCE_CONFIG_H
#define UKD_INSTANCE_CONFIG_H

#include <json-c/json.h>
#include <uk/images.h>

#include "spec.h"
#include "ukd.h"

/* Checks that (body) is an object of known fields with a string "image" (and "name", if
 * given); (image) and (name) point into (body). 400 otherwise. */
int ukd_instance_body_check(json_object *body, const char **image, const char **name,
                            uk_err_t *err);
/* Validates the rest of (body) and builds the stored config from it and the image (img):
 * accelerator, cmd, env, memory, restart_policy, auto_remove, ports, healthcheck, exposed_ports.
 * NULL with a 400 in (err) on a bad field. */
json_object *ukd_instance_config(struct ukd *d, json_object *body, const ukimg_info_t *img,
                                 uk_err_t *err);

/* Does (env) (a JSON array of "K=V") set (key)? */
int ukd_env_json_has(json_object *env, const char *key);
/* 1 if the guest of (cfg) (a stored config) gets a NIC: published or exposed ports, or a
 * health check (docs/networking.md). */
int ukd_instance_config_has_nic(json_object *cfg);

#endif
