/* Renaming an instance: a new unique name, running or not (instance_rename.c). */
#ifndef UKD_INSTANCE_RENAME_H
#define UKD_INSTANCE_RENAME_H

#include "ukd.h"

/* Renames instance (ref) (id, short id or name) to (name): 400 for a bad name, 404 for no such
 * instance, 409 when another instance has the name; an "instance rename" event after. */
int ukd_instance_rename(struct ukd *d, const char *ref, const char *name, uk_err_t *err);

#endif
