/* Per-instance exclusion for lifecycle transitions, the state-changed broadcast, instance paths. */
#ifndef UKD_INSTANCE_LOCK_H
#define UKD_INSTANCE_LOCK_H

#include <stddef.h>

#include "ukd.h"

/* Per-instance exclusion for lifecycle transitions (start, recording an exit, removal). */
void ukd_instance_lock(struct ukd *d, const char *id);
void ukd_instance_unlock(struct ukd *d, const char *id);
/* As ukd_instance_lock, but 0 at once (nothing taken) when (id) is busy; 1 when taken. */
int ukd_instance_trylock(struct ukd *d, const char *id);
/* Wakes everyone waiting on instance state (wait, stop). */
void ukd_instance_changed(struct ukd *d);

/* <root>/instances/<id> and files in it. */
void ukd_instance_path(struct ukd *d, const char *id, const char *file, char *out, size_t len);

#endif
