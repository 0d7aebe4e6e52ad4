/* The instance service: create, start, stop, kill, restart, wait, remove, and their JSON views. */
#ifndef UKD_INSTANCES_H
#define UKD_INSTANCES_H

#include <json-c/json.h>

#include "instance_lock.h"
#include "store.h"
#include "ukd.h"

/* Creates an instance from a POST /v1/instances body. (warnings) receives a JSON array. */
int ukd_instance_create(struct ukd *d, json_object *body, char id[65], json_object **warnings,
                        uk_err_t *err);
/* Returns 1 if it was already running (nothing done), 0 once started. */
int ukd_instance_start(struct ukd *d, const char *key, uk_err_t *err);
/* Starts the instance (id), which the caller has locked. */
int ukd_instance_start_locked(struct ukd *d, const char *id, uk_err_t *err);
/* Returns 1 if it was not running, 0 once stopped (after (timeout_s), killed). */
int ukd_instance_stop(struct ukd *d, const char *key, long timeout_s, uk_err_t *err);
/* 409 if not running. */
int ukd_instance_kill(struct ukd *d, const char *key, uk_err_t *err);
/* Stops (id) for the daemon's shutdown without marking it stopped by the user: the power
 * button, destroyed at (grace_until) if still running; waits until its exit is recorded, up to
 * (until) (ns, ukd_now_ns). */
int ukd_instance_stop_shutdown(struct ukd *d, const char *id, int64_t grace_until, int64_t until,
                               uk_err_t *err);
/* state.error of a run ukd killed at its shutdown. */
#define UKD_SHUTDOWN_KILL "ukd shut down while it ran"
/* Remembers that ukd is killing the run (uuid) (a user's kill, its shutdown) for (why) ("" for
 * the user's): its exit is 137 whatever its status channel says. */
void ukd_instance_note_kill(struct ukd *d, const char *uuid, const char *why);
/* 1 if the run (uuid) was killed so, with the reason in (why). */
int ukd_instance_kill_noted(struct ukd *d, const char *uuid, char *why, size_t len);
int ukd_instance_restart(struct ukd *d, const char *key, long timeout_s, uk_err_t *err);
/* Blocks until the instance is not running; (code) receives its exit code. */
int ukd_instance_wait(struct ukd *d, const char *key, int client_fd, int *code, uk_err_t *err);
/* 409 if running and not (force). */
int ukd_instance_remove(struct ukd *d, const char *key, int force, uk_err_t *err);
/* Removes an exited instance's row and files (the caller holds its lock). */
int ukd_instance_remove_locked(struct ukd *d, struct ukd_instance *in, uk_err_t *err);
/* Bytes on disk of the instance's own files (its directory: console log, status, runtime
 * state); what removing it frees. */
int64_t ukd_instance_disk_bytes(struct ukd *d, const char *id);

/* Remembers the exit code of an auto-removed instance so a late wait still gets it. */
void ukd_instance_tombstone(struct ukd *d, const struct ukd_instance *in);

json_object *ukd_instance_json(struct ukd *d, const struct ukd_instance *in);
json_object *ukd_instance_summary_json(const struct ukd_instance *in);
/* The instance's published ports: [{"host_ip","host_port","guest_port","protocol"}]. */
json_object *ukd_instance_ports_json(const struct ukd_instance *in);

/* The org.uk.platform values this daemon runs ("kvm", "pvh"), NULL-terminated. */
extern const char *const ukd_platforms[];

#endif
