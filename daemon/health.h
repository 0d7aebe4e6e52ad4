/* Health checks: the API's "healthcheck" options, the pure state machine, and the checker thread
 * that probes every running instance's check (HTTP or TCP through a QEMU forward). */
#ifndef UKD_HEALTH_H
#define UKD_HEALTH_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "health_parse.h"
#include "ports.h"
#include "ukd.h"

struct ukd_instance;

/* ---- the checker (health.c) ---- */

int ukd_health_start(struct ukd *d, uk_err_t *err);
/* Stops the checker and waits for the kills it started. */
void ukd_health_stop(struct ukd *d);

/*
 * Before a start: the endpoint the check (hc) probes — the host side of a published TCP
 * port for the check's port, else a forward ukd adds, 127.0.0.1:<free port> → guest port,
 * returned in (fwd) (result 1). Records the endpoint in the instance's "health" file. 0 if
 * nothing is to be added, -1 with (err).
 */
int ukd_health_prepare(struct ukd *d, const char *id, const struct ukd_health_cfg *hc,
                       const struct ukd_port *ports, int n, struct ukd_port *fwd, uk_err_t *err);
/* Before a start on a uk network: the check probes the guest's own address (ip) on the bridge
 * (ukd runs in the bridge's network namespace), at the check's port. */
int ukd_health_prepare_at(struct ukd *d, const char *id, const struct ukd_health_cfg *hc,
                          const char *ip, uk_err_t *err);
/* If ukd killed (in)'s current run for being unhealthy: fills (why) and returns 1. */
int ukd_health_killed(struct ukd *d, const struct ukd_instance *in, char *why, size_t len);
/* The instance's State.Health ({status, failing_streak, log, endpoint}) or NULL if it has
 * no check or never ran with one. */
json_object *ukd_health_json(const struct ukd_instance *in);
/* Changes whenever some instance's State.Health changes (every check result): health does not
 * touch the store, so a cache keyed on ukd_store_instance_gen must also key on this. */
uint64_t ukd_health_gen(void);
/* " (healthy)", " (unhealthy)", " (health: starting)" for a running instance with a check,
 * else "" — Docker's ps suffix. */
void ukd_health_ps_suffix(const struct ukd_instance *in, char *buf, size_t len);

#endif
