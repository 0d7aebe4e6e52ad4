/* ukd's backends: which backend runs an instance's guests, each opened when first needed. */
#ifndef UKD_BACKENDS_H
#define UKD_BACKENDS_H

#include "backend.h"
#include "spec.h"
#include "store.h"
#include "ukd.h"

/* Opens the default backend (d->backend), and the other one too when it has guests a previous
 * ukd left (live restore). (stopped) is told of every guest that ends (the supervisor's). */
int ukd_backends_open(struct ukd *d, ukd_backend_stopped_fn stopped, uk_err_t *err);
/* The backend of (kind), opened now if it is not yet; NULL with 503 if it cannot be. */
struct ukd_backend *ukd_backends_get(struct ukd *d, int kind, uk_err_t *err);
/* The backend kind that runs (in)'s guests: the one it was created with. */
int ukd_backends_kind_of(struct ukd *d, const struct ukd_instance *in);
/* Its backend; NULL (logged) if it cannot be opened: every ukd_backend_* call then fails with
 * 503 (a lookup too: never "not running" for a guest nobody could ask about). */
struct ukd_backend *ukd_backend_of(struct ukd *d, const struct ukd_instance *in);
/* (fn) on each open backend. */
void ukd_backends_each(struct ukd *d, void (*fn)(struct ukd_backend *b, void *arg), void *arg);
/* ukd_backend_abort_starts, _kill_guests, _starting over every open backend. */
int ukd_backends_abort_starts(struct ukd *d);
void ukd_backends_kill_guests(struct ukd *d);
int ukd_backends_starting(struct ukd *d);
void ukd_backends_close(struct ukd *d);

#endif
