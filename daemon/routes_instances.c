/* Instance routes: create, list, inspect, start, stop, kill, restart, wait, logs, delete, port. */
#include "blob.h"
#include "debug.h"
#include "filters.h"
#include "health.h"
#include "instance_rename.h"
#include "instances.h"
#include "log.h"
#include "logs.h"
#include "routes.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void reply_result(struct ukd_req *req, int r, const uk_err_t *err, unsigned ok,
                         unsigned noop)
{
	if (r < 0)
		ukd_reply_error(req, err);
	else
		ukd_reply_status(req, r == 1 ? noop : ok);
}

void ukd_route_instance_create(struct ukd *d, struct ukd_req *req)
{
	json_object *warnings, *o;
	uk_err_t err = {0};
	char id[65];

	if (ukd_req_query(req, "name") && ukd_req_json(req) &&
	    json_object_is_type(ukd_req_json(req), json_type_object) &&
	    !json_object_object_get_ex(ukd_req_json(req), "name", NULL))
		json_object_object_add(ukd_req_json(req), "name",
		                       json_object_new_string(ukd_req_query(req, "name")));
	if (ukd_instance_create(d, ukd_req_json(req), id, &warnings, &err) < 0) {
		ukd_reply_error(req, &err);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "warnings", warnings);
	ukd_reply_json(req, 201, o);
}

struct list_ctx {
	json_object *arr;
	struct ukd_filters f;
	int all;
};

/* The keys of GET /v1/instances?filters= (and of the prune's: until, label). */
static const char *const list_keys[] = {"status", "name",     "health", "label",
                                        "id",     "ancestor", NULL};
static const char *const prune_keys[] = {"until", "label", NULL};

/* Docker's health filter values: starting, healthy, unhealthy, or none (no check). */
static const char *list_health(const struct ukd_instance *in)
{
	static __thread char status[16];
	json_object *h = ukd_health_json(in), *st;

	snprintf(status, sizeof(status), "%s",
	         h && json_object_object_get_ex(h, "status", &st) ? json_object_get_string(st)
	                                                          : "none");
	json_object_put(h);
	return status;
}

/* 1 if one of (vals) names (in)'s image: its reference as created ("hello" is "hello:latest"),
 * or a prefix of its id. */
static int list_ancestor(json_object *vals, const struct ukd_instance *in)
{
	const char *id = in->image_id;

	if (!strncmp(id, "sha256:", 7))
		id += 7;
	for (size_t i = 0; i < json_object_array_length(vals); i++) {
		const char *v = json_object_get_string(json_object_array_get_idx(vals, i));
		size_t n = strlen(v);

		if (!strcmp(v, in->image_ref) ||
		    (!strncmp(in->image_ref, v, n) && !strcmp(in->image_ref + n, ":latest")))
			return 1;
		if (!strncmp(v, "sha256:", 7))
			v += 7, n -= 7;
		if (n >= 4 && !strncmp(id, v, n))
			return 1;
	}
	return 0;
}

/* 1 if one of (vals) is a prefix of (id) (Docker's id filter). */
static int list_id(json_object *vals, const char *id)
{
	for (size_t i = 0; i < json_object_array_length(vals); i++) {
		const char *v = json_object_get_string(json_object_array_get_idx(vals, i));
		if (!strncmp(id, v, strlen(v)))
			return 1;
	}
	return 0;
}

static int list_one(void *p, struct ukd_instance *in)
{
	struct list_ctx *c = p;
	const struct ukd_filters *f = &c->f;
	json_object *anc = ukd_filters_get(f, "ancestor"), *ids = ukd_filters_get(f, "id");

	if (!c->all && !ukd_filters_get(f, "status") && in->state != UKD_STATE_RUNNING)
		return 0;
	if (!ukd_filters_match(f, "status", ukd_state_name(in->state)) ||
	    !ukd_filters_match(f, "name", in->name) ||
	    !ukd_filters_match_labels(f, in->spec.labels) ||
	    (ukd_filters_get(f, "health") && !ukd_filters_match(f, "health", list_health(in))) ||
	    (anc && !list_ancestor(anc, in)) || (ids && !list_id(ids, in->id)))
		return 0;
	json_object_array_add(c->arr, ukd_instance_summary_json(in));
	return 0;
}

/*
 * Rendered replies of the read routes, reused while no instance changed (every instance write
 * bumps the store's generation). Listing 100 instances costs ~1 ms of sqlite and JSON and
 * inspecting one two queries; dashboards and CI poll both. Listings also expire each second
 * (their "Up 3 seconds" statuses have one-second resolution); (sec) is 0 for inspections.
 * A fixed direct-mapped table keeps memory bounded whatever clients ask for.
 */
#define RENDERED_SLOTS 256

/* What the rendered replies depend on: instance rows and health states. Both counters only
 * grow, so their sum changes whenever either does. */
static uint64_t rendered_gen(struct ukd *d)
{
	return ukd_store_instance_gen(d->store) + ukd_health_gen();
}

#define RENDERED_KEY 288
static struct {
	pthread_rwlock_t lock; /* readers share a slot: many clients poll the same thing */
	uint64_t gen;
	time_t sec;
	char key[RENDERED_KEY];
	struct ukd_blob *body;
} rendered[RENDERED_SLOTS] = {[0 ... RENDERED_SLOTS - 1] = {.lock = PTHREAD_RWLOCK_INITIALIZER}};

static unsigned rendered_slot(const char *key)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % RENDERED_SLOTS;
}

static struct ukd_blob *rendered_get(uint64_t gen, time_t sec, const char *key)
{
	unsigned i = rendered_slot(key);
	struct ukd_blob *body = NULL;

	pthread_rwlock_rdlock(&rendered[i].lock);
	if (rendered[i].body && rendered[i].gen == gen && rendered[i].sec == sec &&
	    !strcmp(rendered[i].key, key))
		body = ukd_blob_ref(rendered[i].body);
	pthread_rwlock_unlock(&rendered[i].lock);
	return body;
}

static void rendered_put(uint64_t gen, time_t sec, const char *key, struct ukd_blob *body)
{
	unsigned i = rendered_slot(key);
	struct ukd_blob *old;

	pthread_rwlock_wrlock(&rendered[i].lock);
	old = rendered[i].body;
	rendered[i].body = ukd_blob_ref(body);
	rendered[i].gen = gen;
	rendered[i].sec = sec;
	snprintf(rendered[i].key, sizeof(rendered[i].key), "%s", key);
	pthread_rwlock_unlock(&rendered[i].lock);
	ukd_blob_unref(old);
}

/* Replies with the remembered rendering of (key) if there is one; returns 1 if it did. */
static int reply_rendered_cached(struct ukd_req *req, uint64_t gen, time_t sec, const char *key)
{
	struct ukd_blob *body = *key ? rendered_get(gen, sec, key) : NULL;

	if (!body)
		return 0;
	ukd_reply_blob(req, 200, "application/json", body);
	ukd_blob_unref(body);
	return 1;
}

/* Replies 200 with (obj) (taken), remembering the rendering under (key) unless it is "". */
static void reply_rendered(struct ukd_req *req, uint64_t gen, time_t sec, const char *key,
                           json_object *obj)
{
	size_t n;
	const char *s = json_object_to_json_string_length(
	        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	char *line = malloc(n + 1);
	struct ukd_blob *body = NULL;

	if (line) {
		memcpy(line, s, n);
		line[n] = '\n';
		body = ukd_blob_new(line, n + 1);
		free(line);
	}
	if (body) {
		if (*key)
			rendered_put(gen, sec, key, body);
		ukd_reply_blob(req, 200, "application/json", body);
		ukd_blob_unref(body);
	}
	json_object_put(obj);
}

void ukd_route_instance_list(struct ukd *d, struct ukd_req *req)
{
	struct list_ctx c = {0};
	uk_err_t err = {0};
	const char *f = ukd_req_query(req, "filters");
	uint64_t gen = rendered_gen(d);
	time_t sec = time(NULL);
	char key[RENDERED_KEY] = "";

	if (ukd_req_query_bool(req, "all", 0, &c.all, &err) < 0 ||
	    ukd_filters_parse(f, list_keys, &c.f, &err) < 0) {
		ukd_filters_clear(&c.f);
		ukd_reply_error(req, &err);
		return;
	}
	if (!f || strlen(f) < RENDERED_KEY - 16)
		snprintf(key, sizeof(key), "list %d %s", c.all, f ? f : "");
	if (!reply_rendered_cached(req, gen, sec, key)) {
		c.arr = json_object_new_array();
		if (ukd_store_instance_each(d->store, list_one, &c, &err) < 0) {
			json_object_put(c.arr);
			ukd_reply_error(req, &err);
		} else {
			reply_rendered(req, gen, sec, key, c.arr);
		}
	}
	ukd_filters_clear(&c.f);
}

/* Served from the rendered cache: supervisor and lifecycle writes bump the generation, so a
 * state change libvirt reported is visible on the next request. */
void ukd_route_instance_inspect(struct ukd *d, struct ukd_req *req)
{
	struct ukd_instance in;
	uk_err_t err = {0};
	uint64_t gen = rendered_gen(d);
	const char *ref = ukd_req_param(req, 0);
	char key[RENDERED_KEY] = "";

	if (strlen(ref) < RENDERED_KEY - 16)
		snprintf(key, sizeof(key), "inspect %s", ref);
	if (reply_rendered_cached(req, gen, 0, key))
		return;
	if (ukd_store_instance_find(d->store, ref, &in, &err) < 0) {
		ukd_reply_error(req, &err);
		return;
	}
	reply_rendered(req, gen, 0, key, ukd_instance_json(d, &in));
	ukd_instance_clear(&in);
}

void ukd_route_instance_start(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};
	int r = ukd_instance_start(d, ukd_req_param(req, 0), &err);

	reply_result(req, r, &err, 204, 304);
}

void ukd_route_instance_stop(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};
	long t;
	int r = ukd_req_query_long(req, "t", 10, &t, &err);

	if (r == 0)
		r = ukd_instance_stop(d, ukd_req_param(req, 0), t, &err);
	reply_result(req, r, &err, 204, 304);
}

void ukd_route_instance_kill(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};
	int r = ukd_instance_kill(d, ukd_req_param(req, 0), &err);

	reply_result(req, r, &err, 204, 204);
}

void ukd_route_instance_restart(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};
	long t;
	int r = ukd_req_query_long(req, "t", 10, &t, &err);

	if (r == 0)
		r = ukd_instance_restart(d, ukd_req_param(req, 0), t, &err);
	reply_result(req, r, &err, 204, 204);
}

void ukd_route_instance_wait(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};
	json_object *o;
	int code;

	if (ukd_instance_wait(d, ukd_req_param(req, 0), ukd_req_client_fd(req), &code, &err) < 0) {
		ukd_reply_error(req, &err);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "status_code", json_object_new_int(code));
	ukd_reply_json(req, 200, o);
}

static int parse_tail(struct ukd_req *req, long *tail, uk_err_t *err)
{
	const char *v = ukd_req_query(req, "tail");

	if (!v || !strcmp(v, "all")) {
		*tail = -1;
		return 0;
	}
	return ukd_req_query_long(req, "tail", -1, tail, err);
}

void ukd_route_instance_logs(struct ukd *d, struct ukd_req *req)
{
	struct ukd_instance in;
	struct ukd_logs *l;
	uk_err_t err = {0};
	int follow, ts;
	long tail;

	if (ukd_req_query_bool(req, "follow", 0, &follow, &err) < 0 ||
	    ukd_req_query_bool(req, "timestamps", 0, &ts, &err) < 0 ||
	    parse_tail(req, &tail, &err) < 0 ||
	    ukd_store_instance_find(d->store, ukd_req_param(req, 0), &in, &err) < 0) {
		ukd_reply_error(req, &err);
		return;
	}
	l = ukd_logs_open(d, in.id, tail, follow, ts, ukd_req_client_fd(req), &err);
	ukd_instance_clear(&in);
	if (!l) {
		ukd_reply_error(req, &err);
		return;
	}
	ukd_reply_stream(req, 200, "text/plain; charset=utf-8", ukd_logs_read, l, ukd_logs_close);
}

void ukd_route_instance_delete(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};
	int force;
	int r = ukd_req_query_bool(req, "force", 0, &force, &err);

	if (r == 0)
		r = ukd_instance_remove(d, ukd_req_param(req, 0), force, &err);
	reply_result(req, r, &err, 204, 204);
}

struct prune_ctx {
	json_object *ids; /* candidates: not running, passing the filters */
	struct ukd_filters f;
	int64_t now;
};

static int prune_one(void *p, struct ukd_instance *in)
{
	struct prune_ctx *c = p;

	if (in->state != UKD_STATE_RUNNING && ukd_filters_match_labels(&c->f, in->spec.labels) &&
	    ukd_filters_match_until(&c->f, in->created / 1000000000, c->now))
		json_object_array_add(c->ids, json_object_new_string(in->id));
	return 0;
}

/* POST /v1/instances/prune[?filters=]: removes every instance that is not running (and passes
 * until/label); one started or removed meanwhile is skipped (ukd_instance_remove's 409/404). */
void ukd_route_instance_prune(struct ukd *d, struct ukd_req *req)
{
	struct prune_ctx c = {.ids = json_object_new_array(), .now = time(NULL)};
	json_object *deleted = json_object_new_array(), *o;
	uk_err_t err = {0};
	int64_t reclaimed = 0;

	if (ukd_filters_parse(ukd_req_query(req, "filters"), prune_keys, &c.f, &err) < 0 ||
	    ukd_store_instance_each(d->store, prune_one, &c, &err) < 0) {
		json_object_put(c.ids);
		json_object_put(deleted);
		ukd_filters_clear(&c.f);
		ukd_reply_error(req, &err);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(c.ids); i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(c.ids, i));
		int64_t bytes = ukd_instance_disk_bytes(d, id);
		uk_err_t e = {0};

		if (ukd_instance_remove(d, id, 0, &e) < 0) {
			if (e.status != 409 && e.status != 404)
				log_warn("instances", "prune %s: %s", id, e.message);
			continue;
		}
		json_object_array_add(deleted, json_object_new_string(id));
		reclaimed += bytes;
	}
	o = json_object_new_object();
	json_object_object_add(o, "deleted", deleted);
	json_object_object_add(o, "space_reclaimed", json_object_new_int64(reclaimed));
	json_object_put(c.ids);
	ukd_filters_clear(&c.f);
	ukd_reply_json(req, 200, o);
}

void ukd_route_instance_rename(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};
	int r = ukd_instance_rename(d, ukd_req_param(req, 0), ukd_req_query(req, "name"), &err);

	reply_result(req, r, &err, 204, 204);
}

void ukd_route_instance_port(struct ukd *d, struct ukd_req *req)
{
	struct ukd_instance in;
	uk_err_t err = {0};

	if (ukd_store_instance_find(d->store, ukd_req_param(req, 0), &in, &err) < 0) {
		ukd_reply_error(req, &err);
		return;
	}
	ukd_reply_json(req, 200, ukd_instance_ports_json(&in));
	ukd_instance_clear(&in);
}

/* GET /v1/instances/{id}/kernel: the instance's kernel ELF, for `uk debug` (its symbols). */
void ukd_route_instance_kernel(struct ukd *d, struct ukd_req *req)
{
	struct ukd_instance in;
	char path[PATH_MAX];
	uk_err_t err = {0};
	struct stat st;
	int fd = -1;

	if (ukd_store_instance_find(d->store, ukd_req_param(req, 0), &in, &err) < 0) {
		ukd_reply_error(req, &err);
		return;
	}
	if (ukd_debug_kernel_path(d, &in, path, sizeof(path), &err) == 0 &&
	    ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0))
		uk_err_errno(&err, errno, "open kernel %s", path);
	ukd_instance_clear(&in);
	if (err.status) {
		if (fd >= 0)
			close(fd);
		ukd_reply_error(req, &err);
		return;
	}
	ukd_reply_fd(req, 200, "application/x-elf", fd, (size_t)st.st_size);
}
