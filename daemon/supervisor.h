/* The supervisor: records guest exits (status channel → exit code), restart policies, auto-remove.
 */
#ifndef UKD_SUPERVISOR_H
#define UKD_SUPERVISOR_H

#include "ukd.h"

int ukd_super_start(struct ukd *d, uk_err_t *err);
/* Stops the supervisor thread (after ukd_super_stop_all) and frees it; -1 (nothing freed) if a
 * restart or stop still runs, or the thread is still busy, at (until) (ns, ukd_now_ns). */
int ukd_super_free(struct ukd *d, int64_t until);
/* The backend's "domain stopped" callback ((opaque) is the struct ukd). */
void ukd_super_domain_stopped(void *opaque, const char *domain, const char *uuid);
/* Marks instances whose guest is gone (daemon restart) as exited. */
void ukd_super_reconcile(struct ukd *d);
/* Stops every running instance side by side and records their exits (daemon shutdown: call
 * with d->stopping set, so nothing restarts; the user's stop flags are left alone): the power
 * button, destroyed at (grace_until) if still running. Returns how many stops are still going at
 * (until) (times in ns, ukd_now_ns). */
int ukd_super_stop_all(struct ukd *d, int64_t grace_until, int64_t until);

#endif
