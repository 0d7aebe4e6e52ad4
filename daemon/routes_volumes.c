/* Volume routes: create, list, inspect, remove, prune, export, import. */
#include "filters.h"
#include "routes.h"
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

void ukd_route_volume_export(struct ukd *d, struct ukd_req *req)
{
	char dir[PATH_MAX];
	uk_err_t err = {0};
	off_t size;
	int fd;

	/* an unnamed file under the root: gone with its last descriptor */
	snprintf(dir, sizeof(dir), "%s/tmp", d->cfg.root);
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0) {
		uk_err_errno(&err, errno, "create a file in %s", dir);
		ukd_reply_error(req, &err);
		return;
	}
	if (ukd_volume_export(d, ukd_req_param(req, 0), fd, &err) < 0) {
		close(fd);
		ukd_reply_error(req, &err);
		return;
	}
	size = lseek(fd, 0, SEEK_CUR);
	lseek(fd, 0, SEEK_SET);
	ukd_reply_fd(req, 200, "application/x-tar", fd, (size_t)size);
}

void ukd_route_volume_import(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};

	if (ukd_volume_import(d, ukd_req_param(req, 0), ukd_req_file(req), &err) < 0)
		ukd_reply_error(req, &err);
	else
		ukd_reply_status(req, 204);
}
