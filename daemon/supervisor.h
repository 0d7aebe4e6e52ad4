/* The supervisor: records guest exits (status channel → exit code), restart policies, auto-remove.
 */
#ifndef UKD_SUPERVISOR_H
#define UKD_SUPERVISOR_H

#include "ukd.h"

int ukd_super_start(struct ukd *d, uk_err_t *err);
/* Stops the supervisor thread (after ukd_super_stop_all). */
void ukd_super_free(struct ukd *d);
/* The backend's "domain stopped" callback ((opaque) is the struct ukd). */
void ukd_super_domain_stopped(void *opaque, const char *domain, const char *uuid);
/* Marks instances whose guest is gone (daemon restart) as exited. */
void ukd_super_reconcile(struct ukd *d);
/* Kills every running instance and records their exits (daemon shutdown: call with
 * d->stopping set, so nothing restarts; the user's stop flags are left alone). */
void ukd_super_stop_all(struct ukd *d);

#endif
