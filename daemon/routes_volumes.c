/* Volume routes: create, list, inspect, remove, prune, export, import. */
#include "filters.h"
#include "routes.h"
#include "log.h"
#include "volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* 400 unless (o) is absent or an object whose values are strings. */
static int strings_object(json_object *o, const char *what, uk_err_t *err)
{
	if (!o)
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return uk_err_bad(err, "%s: an object of strings", what);
	json_object_object_foreach(o, k, v)
	{
		if (!json_object_is_type(v, json_type_string))
			return uk_err_bad(err, "%s \"%.64s\": a string", what, k);
	}
	return 0;
}

void ukd_route_volume_create(struct ukd *d, struct ukd_req *req)
{
	json_object *body = ukd_req_json(req), *name = NULL, *opts = NULL, *labels = NULL, *v;
	uk_err_t err = {0};
	uint64_t size = 0;
	int created;

	if (!json_object_is_type(body, json_type_object)) {
		uk_err_bad(&err, "body: a JSON object {\"name\", \"options\", \"labels\"}");
		goto fail;
	}
	json_object_object_get_ex(body, "name", &name);
	json_object_object_get_ex(body, "options", &opts);
	json_object_object_get_ex(body, "labels", &labels);
	if (!json_object_is_type(name, json_type_string)) {
		uk_err_bad(&err, "name: a string (the volume's name) is required");
		goto fail;
	}
	if (strings_object(opts, "options", &err) < 0 || strings_object(labels, "labels", &err) < 0)
		goto fail;
	if (opts) {
		json_object_object_foreach(opts, k, val)
		{
			if (strcmp(k, "size")) {
				uk_err_bad(&err, "options: unknown option \"%.64s\" (known: size)",
				           k);
				goto fail;
			}
			(void)val;
		}
	}
	if (opts && json_object_object_get_ex(opts, "size", &v) &&
	    ukd_volume_size_parse(json_object_get_string(v), &size, &err) < 0)
		goto fail;
	if (ukd_volume_create(d, json_object_get_string(name), size, labels, &created, &err) < 0 ||
	    !(v = ukd_volume_inspect(d, json_object_get_string(name), &err)))
		goto fail;
	ukd_reply_json(req, created ? 201 : 200, v);
	return;
fail:
	ukd_reply_error(req, &err);
}

void ukd_route_volume_list(struct ukd *d, struct ukd_req *req)
{
	static const char *const keys[] = {"name", "label", NULL};
	struct ukd_filters f;
	uk_err_t err = {0};
	json_object *o = NULL;

	if (ukd_filters_parse(ukd_req_query(req, "filters"), keys, &f, &err) == 0)
		o = ukd_filters_apply_named(&f, ukd_volume_list(d, &err));
	ukd_filters_clear(&f);
	if (!o)
		ukd_reply_error(req, &err);
	else
		ukd_reply_json(req, 200, o);
}

void ukd_route_volume_inspect(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};
	json_object *o = ukd_volume_inspect(d, ukd_req_param(req, 0), &err);

	if (!o)
		ukd_reply_error(req, &err);
	else
		ukd_reply_json(req, 200, o);
}

void ukd_route_volume_delete(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};
	int force;

	if (ukd_req_query_bool(req, "force", 0, &force, &err) < 0 ||
	    ukd_volume_remove(d, ukd_req_param(req, 0), force, &err) < 0)
		ukd_reply_error(req, &err);
	else
		ukd_reply_status(req, 204);
}

void ukd_route_volume_prune(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};
	json_object *o = ukd_volume_prune(d, &err);

	if (!o)
		ukd_reply_error(req, &err);
	else
		ukd_reply_json(req, 200, o);
}

static ssize_t export_read(void *ctx, char *buf, size_t max)
{
	uk_err_t err = {0};
	ssize_t n = ukd_volume_export_read(ctx, buf, max, &err);

	if (n < 0) /* the status went out with the first bytes: the archive ends short */
		log_error("volumes", "export: %s", err.message);
	return n;
}

static void export_end(void *ctx)
{
	ukd_volume_export_end(ctx);
}

/* Streamed as the store is read: the volume is busy (not locked) until the client has it all. */
void ukd_route_volume_export(struct ukd *d, struct ukd_req *req)
{
	struct ukd_volume_export *x;
	uk_err_t err = {0};

	if (ukd_volume_export_begin(d, ukd_req_param(req, 0), &x, &err) < 0) {
		ukd_reply_error(req, &err);
		return;
	}
	ukd_reply_stream(req, 200, "application/x-tar", export_read, x, export_end);
}

void ukd_route_volume_import(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};

	if (ukd_volume_import(d, ukd_req_param(req, 0), ukd_req_file(req), &err) < 0)
		ukd_reply_error(req, &err);
	else
		ukd_reply_status(req, 204);
}
