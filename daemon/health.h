/* Health checks: the API's "healthcheck" options, the pure state machine, and the checker thread
 * that probes every running instance's check (HTTP or TCP through a QEMU forward). */
#ifndef UKD_HEALTH_H
#define UKD_HEALTH_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "ports.h"
#include "ukd.h"

struct ukd_instance;

/* Docker's defaults (docker run --health-*). */
#define UKD_HEALTH_INTERVAL_NS (30LL * 1000000000)
#define UKD_HEALTH_TIMEOUT_NS (30LL * 1000000000)
#define UKD_HEALTH_RETRIES 3
#define UKD_HEALTH_LOG_MAX 5 /* results kept, as Docker keeps */
#define UKD_HEALTH_PATH_MAX 256

enum ukd_health_kind { UKD_HEALTH_NONE, UKD_HEALTH_HTTP, UKD_HEALTH_TCP };
enum ukd_health_status { UKD_HEALTH_STARTING, UKD_HEALTH_HEALTHY, UKD_HEALTH_UNHEALTHY };

/* A check as stored in the instance config ("healthcheck"). */
struct ukd_health_cfg {
	enum ukd_health_kind kind;
	unsigned port;                  /* guest port */
	char path[UKD_HEALTH_PATH_MAX]; /* HTTP only */
	int64_t interval_ns, timeout_ns, start_period_ns;
	int retries;
};

/* What the state machine remembers between results. */
struct ukd_health_state {
	enum ukd_health_status status;
	int failing_streak;
};

/*
 * Parses a Docker/Go duration (s): one or more <decimal><unit> with unit ns, us, ms, s, m or h
 * ("500ms", "1.5s", "1m30s"). Returns 0 with (*ns), or -1 (empty, no unit, bad number,
 * more than 24 h).
 */
int ukd_health_duration_parse(const char *s, int64_t *ns);

/*
 * Validates the request's "healthcheck" (v): {"http": "PORT/PATH" | "tcp": PORT, "interval",
 * "timeout", "start_period" (duration strings or integer nanoseconds), "retries", "disable"}
 * into (out): kind NONE when (v) is NULL or disables the check. 400 on bad input.
 */
int ukd_health_cfg_parse(json_object *v, struct ukd_health_cfg *out, uk_err_t *err);
/* (c) normalized, as stored: {"type": "none"} or {"type", "port", "path", "interval", ...}. */
json_object *ukd_health_cfg_json(const struct ukd_health_cfg *c);
/* Reads a normalized "healthcheck" (v) (as stored) into (out); kind NONE if there is none. */
void ukd_health_cfg_from_json(json_object *v, struct ukd_health_cfg *out);

/*
 * The state machine (pure): applies one result (ok) of a check finished at (now) for a run
 * started at (started) and returns the new status. As Docker: a success makes it healthy and
 * resets the streak; a failure while still starting within the start period is not counted;
 * otherwise the streak grows and reaching (cfg)'s retries makes it unhealthy.
 */
enum ukd_health_status ukd_health_next(struct ukd_health_state *st,
                                       const struct ukd_health_cfg *cfg, int64_t started,
                                       int64_t now, int ok);
/* "starting", "healthy", "unhealthy" */
const char *ukd_health_status_name(enum ukd_health_status s);

/* The status code of an HTTP status line at the start of (buf) ((len) bytes): 100..599, 0 if
 * more bytes are needed, -1 if it is not an HTTP status line. */
int ukd_health_http_status(const char *buf, size_t len);

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
