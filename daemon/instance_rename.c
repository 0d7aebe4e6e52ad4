/* Renaming an instance (POST /v1/instances/{ref}/rename?name=NEW), running or not: Docker's rename.
 */
#include "instance_rename.h"

#include <stdio.h>
#include <string.h>

#include "events.h"
#include "instances.h"
#include "names.h"
#include "store.h"

int ukd_instance_rename(struct ukd *d, const char *ref, const char *name, uk_err_t *err)
{
	struct ukd_instance in = {0};
	char id[65], old[128], attrs[300];
	int r, taken;

	if (!name || !*name)
		return uk_err_bad(err, "rename %s: the new name is missing (?name=NEW)", ref);
	if (!ukd_name_valid(name) || ukd_name_looks_like_id(name))
		return uk_err_bad(err,
		                  "rename %s: bad name \"%s\": expected [a-zA-Z0-9][a-zA-Z0-9_.-]* "
		                  "(at most 127 characters, not 12 to 64 hex digits: that reads as "
		                  "an instance id)",
		                  ref, name);
	if (ukd_store_instance_find(d->store, ref, &in, err) < 0)
		return -1;
	snprintf(id, sizeof(id), "%s", in.id);
	ukd_instance_clear(&in);
	ukd_instance_lock(d, id);
	if ((r = ukd_store_begin(d->store, err)) < 0)
		goto unlock;
	/* read again under the lock and in the transaction: a rename or remove may have won */
	r = ukd_store_instance_find(d->store, id, &in, err);
	if (r == 0 && !strcmp(in.name, name))
		r = uk_err_conflict(err, "rename %s: it is already called %s", ref, name);
	if (r == 0 && (taken = ukd_store_name_taken(d->store, name, err)) != 0)
		r = taken < 0 ? -1
		              : uk_err_conflict(
		                        err,
		                        "rename %s: the name %s is taken by another instance: "
		                        "remove or rename that one first, or pick another name",
		                        ref, name);
	if (r == 0) {
		snprintf(old, sizeof(old), "%s", in.name);
		snprintf(in.name, sizeof(in.name), "%s", name);
		r = ukd_store_instance_update(d->store, &in, err);
	}
	if (r == 0)
		r = ukd_store_commit(d->store, err);
	else
		ukd_store_rollback(d->store);
	ukd_instance_clear(&in);
unlock:
	ukd_instance_unlock(d, id);
	if (r == 0) {
		json_object *a = json_object_new_object();
		json_object_object_add(a, "oldName", json_object_new_string(old));
		snprintf(attrs, sizeof(attrs), "%s", json_object_to_json_string(a));
		json_object_put(a);
		ukd_events_emit(d, "instance", "rename", id, name, attrs);
	}
	return r;
}
