/* ukd's event bus: every event is stored (events table) and fanned out to live subscribers. */
#ifndef UKD_EVENTS_H
#define UKD_EVENTS_H

#include <stdint.h>
#include <sys/types.h>

#include "ukd.h"

struct ukd_events *ukd_events_new(struct ukd_store *store, uk_err_t *err);
void ukd_events_free(struct ukd_events *ev);

/* Records and publishes an event; (attrs) is a JSON object text or NULL. Never fails the caller
 * (a storage error is logged). */
void ukd_events_emit(struct ukd *d, const char *type, const char *action, const char *id,
                     const char *name, const char *attrs);

struct ukd_event_sub;
/* Subscribes, queueing the stored events in [since, until) first (ns; until 0 = follow forever).
 * The history and the live tail neither overlap nor miss an event. */
struct ukd_event_sub *ukd_events_subscribe(struct ukd *d, int64_t since, int64_t until,
                                           int client_fd, uk_err_t *err);
/* A ukd_stream_fn: blocks until events, the end of the window, or the client leaves. */
ssize_t ukd_events_sub_read(void *sub, char *buf, size_t max);
void ukd_events_unsubscribe(void *sub);

#endif
