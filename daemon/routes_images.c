/* Image routes: build (streamed), load, list, inspect, tag, delete, get — over the ukimages
 * library. */
#include "events.h"
#include "filters.h"
#include "image_jobs.h"
#include "log.h"
#include "routes.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uk/images.h>

/* ---- build ---- */

/* Who compiles when ukd is root (deploy/install-deps.sh creates it); else nobody. */
#define UKD_BUILD_USER "uk-build"

static pthread_once_t build_user_once = PTHREAD_ONCE_INIT;

static void build_user_check(void)
{
	if (geteuid() == 0 && !getpwnam(UKD_BUILD_USER))
		log_warn("images",
		         "no user %s: builds compile as nobody (65534); create it with "
		         "useradd --system -M -s /usr/sbin/nologin %s (deploy/install-deps.sh)",
		         UKD_BUILD_USER, UKD_BUILD_USER);
	else if (geteuid() != 0)
		log_warn("images", "not root: builds compile as ukd's own user, in a network "
		                   "namespace only where unprivileged user namespaces are allowed");
}

/*
 * The request waits at the gate until the build has read its context and Ukfile: a refusal
 * there (hostile or oversized tar, bad Ukfile) is answered with its own status (400, 413) and
 * message instead of a 200 stream; once the compile starts, the reply is the stream. The gate
 * lives on the request's stack; the build thread stops touching it once it opened it.
 */
struct build_gate {
	pthread_mutex_t lock;
	pthread_cond_t opened;
	int state; /* 0 waiting, 1 prepared (stream), -1 refused (err) */
	uk_err_t err;
};

struct build_job {
	struct ukd *d;
	int ctx_fd;
	int out_fd; /* the pipe the response reads */
	char tag[256];
	char ukfile[256]; /* ukfile=: the Ukfile's name at the context's top; "" = Ukfile */
	int client_fd;
	struct build_gate *gate; /* NULL once opened */
};

static void build_gate_open(struct build_job *j, int state, const uk_err_t *err)
{
	struct build_gate *g = j->gate;

	if (!g)
		return;
	j->gate = NULL;
	pthread_mutex_lock(&g->lock);
	g->state = state;
	if (err)
		g->err = *err;
	pthread_cond_signal(&g->opened);
	pthread_mutex_unlock(&g->lock);
}

static void build_prepared(void *p)
{
	build_gate_open(p, 1, NULL);
}

struct build_stream {
	int fd;
	int client_fd;
};

void ukd_pipe_write_json(int *fd, json_object *o)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
	        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	/* A client that left only loses the output; the job still finishes and is recorded. */
	if (*fd >= 0 && (write(*fd, s, len) != (ssize_t)len || write(*fd, "\n", 1) != 1)) {
		close(*fd);
		*fd = -1;
	}
	json_object_put(o);
}

static void build_write(struct build_job *j, json_object *o)
{
	ukd_pipe_write_json(&j->out_fd, o);
}

static void build_stream_line(struct build_job *j, const char *line)
{
	json_object *o = json_object_new_object();
	size_t n = strlen(line);
	char *s = malloc(n + 2);

	if (s) {
		memcpy(s, line, n);
		memcpy(s + n, "\n", 2);
		json_object_object_add(o, "stream", json_object_new_string(s));
		free(s);
	}
	build_write(j, o);
}

static void build_progress(void *ctx, const char *line)
{
	build_stream_line(ctx, line);
}

static int build_record(struct build_job *j, const ukimg_build_result_t *res, uk_err_t *err)
{
	struct ukd_image_row row = {0};
	ukimg_info_t info = {0};

	if (ukimg_inspect(j->d->images, res->manifest_digest, &info, err) < 0)
		return -1;
	snprintf(row.id, sizeof(row.id), "%s", res->config_digest);
	snprintf(row.manifest, sizeof(row.manifest), "%s", res->manifest_digest);
	row.created = info.created;
	row.size = res->size;
	ukimg_info_clear(&info);
	return ukd_store_image_put(j->d->store, &row, j->tag[0] ? j->tag : NULL, err);
}

static void *build_thread(void *p)
{
	struct build_job *j = p;
	ukimg_build_opts_t opts;
	ukimg_build_result_t res;
	uk_err_t err = {0};
	char line[512];
	int r;

	ukimg_build_opts_init(&opts);
	opts.context_fd = j->ctx_fd;
	opts.ukcc_path = j->d->ukcc;
	opts.ukfile = j->ukfile[0] ? j->ukfile : NULL;
	opts.progress = build_progress;
	opts.progress_ctx = j;
	opts.prepared = build_prepared;
	opts.timeout_sec = (int)j->d->cfg.build.timeout_s;
	opts.cpu_sec = j->d->cfg.build.cpu_s;
	opts.memory_mb = j->d->cfg.build.memory_mb;
	opts.file_size_mb = j->d->cfg.build.file_size_mb;
	opts.build_user = UKD_BUILD_USER;
	pthread_once(&build_user_once, build_user_check);
	ukd_images_store_hold();
	r = ukimg_build(j->d->images, &opts, &res, &err);
	if (r == 0 && build_record(j, &res, &err) < 0) {
		uk_err_wrap(&err, "build: record the image");
		r = -1;
	}
	ukd_images_store_release();
	if (r < 0 && j->d->stopping) /* its compiler killed by the shutdown (main.c) */
		uk_err_set(&err, 503, "unavailable", "build %s: interrupted: ukd is shutting down",
		           j->tag);
	if (r == 0) {
		json_object *o = json_object_new_object(), *aux = json_object_new_object();
		ukd_events_emit(j->d, "image", "build", res.config_digest, j->tag, NULL);
		snprintf(line, sizeof(line), "Successfully built %.19s", res.config_digest);
		build_stream_line(j, line);
		if (j->tag[0]) {
			ukd_events_emit(j->d, "image", "tag", res.config_digest, j->tag, NULL);
			snprintf(line, sizeof(line), "Successfully tagged %s", j->tag);
			build_stream_line(j, line);
		}
		json_object_object_add(aux, "id", json_object_new_string(res.config_digest));
		json_object_object_add(o, "aux", aux);
		build_write(j, o);
	} else if (j->gate) {
		log_info("images", "build %s refused: %s", j->tag, err.message);
		build_gate_open(j, -1, &err);
	} else {
		json_object *o = json_object_new_object();
		log_info("images", "build %s failed: %s", j->tag, err.message);
		json_object_object_add(o, "error", json_object_new_string(err.message));
		json_object_object_add(o, "code",
		                       json_object_new_string(err.code[0] ? err.code : "internal"));
		build_write(j, o);
	}
	close(j->ctx_fd);
	if (j->out_fd >= 0)
		close(j->out_fd);
	free(j);
	ukd_images_job_end();
	return NULL;
}

static ssize_t build_stream_read(void *p, char *buf, size_t max)
{
	struct build_stream *s = p;

	for (;;) {
		ssize_t n = read(s->fd, buf, max);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (ukd_http_wait(s->client_fd, s->fd, 1000) < 0)
			return -1;
	}
}

static void build_stream_free(void *p)
{
	struct build_stream *s = p;

	close(s->fd);
	free(s);
}

void ukd_reply_pipe(struct ukd_req *req, int fd)
{
	struct build_stream *s = calloc(1, sizeof(*s));
	uk_err_t err = {0};

	if (!s) {
		close(fd);
		uk_err_internal(&err, "out of memory");
		ukd_reply_error(req, &err);
		return;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	s->fd = fd;
	s->client_fd = ukd_req_client_fd(req);
	ukd_reply_stream(req, 200, "application/json", build_stream_read, s, build_stream_free);
}

static int build_check(struct ukd_req *req, struct build_job *j, uk_err_t *err)
{
	const char *t = ukd_req_query(req, "t"), *uf = ukd_req_query(req, "ukfile");
	char *tag = j->tag;
	size_t len = sizeof(j->tag);

	tag[0] = 0;
	if (uf && snprintf(j->ukfile, sizeof(j->ukfile), "%s", uf) >= (int)sizeof(j->ukfile))
		return uk_err_bad(err, "ukfile: longer than %zu bytes", sizeof(j->ukfile) - 1);
	if (t && ukd_store_ref_normalize(t, tag, len, err) < 0)
		return uk_err_wrap(err, "tag");
	if (ukd_req_body_size(req) == 0)
		return uk_err_bad(err,
		                  "empty body: send the build context as a tar holding a Ukfile");
	return 0;
}

void ukd_route_image_build(struct ukd *d, struct ukd_req *req)
{
	struct build_job *j = calloc(1, sizeof(*j));
	struct build_stream *s = calloc(1, sizeof(*s));
	struct build_gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0}};
	uk_err_t err = {0};
	int pipefd[2] = {-1, -1};
	pthread_t t;

	if (!j || !s || build_check(req, j, &err) < 0)
		goto fail;
	j->ctx_fd = open(ukd_req_file(req), O_RDONLY | O_CLOEXEC);
	if (j->ctx_fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		uk_err_errno(&err, errno, "build: open the uploaded context");
		goto fail;
	}
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	j->d = d;
	j->out_fd = pipefd[1];
	j->gate = &gate;
	s->fd = pipefd[0];
	s->client_fd = ukd_req_client_fd(req);
	ukd_images_job_begin();
	if (pthread_create(&t, NULL, build_thread, j) != 0) {
		ukd_images_job_end();
		uk_err_internal(&err, "build: start a build thread");
		goto fail;
	}
	pthread_detach(t);
	pthread_mutex_lock(&gate.lock);
	while (!gate.state)
		pthread_cond_wait(&gate.opened, &gate.lock);
	pthread_mutex_unlock(&gate.lock);
	if (gate.state < 0) { /* the thread writes nothing more to the pipe */
		close(pipefd[0]);
		free(s);
		ukd_reply_error(req, &gate.err);
		return;
	}
	ukd_reply_stream(req, 200, "application/json", build_stream_read, s, build_stream_free);
	return;
fail:
	if (j && j->ctx_fd > 0)
		close(j->ctx_fd);
	if (pipefd[0] >= 0) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
	free(j);
	free(s);
	ukd_reply_error(req, &err);
}

/* ---- list, inspect, tag ---- */

/* Docker's reference filter: a pattern with a tag ("web:1*") matches "REPO:TAG", one without
 * ("web", "uk/x*") the repository; '*' does not cross a '/'. */
static int image_ref_match(json_object *vals, json_object *tags)
{
	for (size_t i = 0; i < json_object_array_length(vals); i++) {
		const char *pat = json_object_get_string(json_object_array_get_idx(vals, i));
		const char *ps = strrchr(pat, '/'), *pc = strrchr(ps ? ps : pat, ':');

		for (size_t k = 0; k < json_object_array_length(tags); k++) {
			const char *t = json_object_get_string(json_object_array_get_idx(tags, k));
			const char *ts = strrchr(t, '/'), *tc = strrchr(ts ? ts : t, ':');
			char repo[256];

			snprintf(repo, sizeof(repo), "%.*s", tc ? (int)(tc - t) : (int)strlen(t),
			         t);
			if (!fnmatch(pat, pc ? t : repo, FNM_PATHNAME))
				return 1;
		}
	}
	return 0;
}

/* 1 if (img) (an item of ukd_store_image_list) passes (f): dangling, reference, label, until
 * (now: the time until is relative to); -1 when its config cannot be read for a label. */
static int image_match(struct ukd *d, const struct ukd_filters *f, json_object *img, int64_t now,
                       uk_err_t *err)
{
	json_object *tags = NULL, *refs = ukd_filters_get(f, "reference"), *v;
	int dangling;

	json_object_object_get_ex(img, "repo_tags", &tags);
	dangling = json_object_array_length(tags) == 0;
	if (!ukd_filters_match(f, "dangling", dangling ? "true" : "false") &&
	    !ukd_filters_match(f, "dangling", dangling ? "1" : "0"))
		return 0;
	if (refs && !image_ref_match(refs, tags))
		return 0;
	if (!ukd_filters_match_until(
	            f, json_object_object_get_ex(img, "created", &v) ? json_object_get_int64(v) : 0,
	            now))
		return 0;
	if (ukd_filters_get(f, "label")) {
		ukimg_info_t info = {0};
		int r;

		if (ukimg_inspect(d->images, uk_json_str(img, "digest"), &info, err) < 0)
			return -1;
		r = ukd_filters_match_labels(f, info.labels);
		ukimg_info_clear(&info);
		return r;
	}
	return 1;
}

/* Keeps the items of (arr) (taken) that pass (f); NULL on error. */
static json_object *image_filter(struct ukd *d, json_object *arr, const struct ukd_filters *f,
                                 uk_err_t *err)
{
	json_object *out = json_object_new_array();
	int64_t now = time(NULL);

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *img = json_object_array_get_idx(arr, i);
		int r = image_match(d, f, img, now, err);

		if (r < 0) {
			json_object_put(out);
			out = NULL;
			break;
		}
		if (r)
			json_object_array_add(out, json_object_get(img));
	}
	json_object_put(arr);
	return out;
}

void ukd_route_image_list(struct ukd *d, struct ukd_req *req)
{
	static const char *const keys[] = {"dangling", "reference", "label", NULL};
	struct ukd_filters f;
	uk_err_t err = {0};
	json_object *arr = NULL;

	if (ukd_filters_parse(ukd_req_query(req, "filters"), keys, &f, &err) == 0 &&
	    (arr = ukd_store_image_list(d->store, &err)))
		arr = image_filter(d, arr, &f, &err);
	ukd_filters_clear(&f);
	if (!arr)
		ukd_reply_error(req, &err);
	else
		ukd_reply_json(req, 200, arr);
}

static json_object *strv_json(char **v)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

void ukd_route_image_inspect(struct ukd *d, struct ukd_req *req)
{
	struct ukd_image_row img;
	ukimg_info_t info = {0};
	uk_err_t err = {0};
	json_object *o, *c, *tags;

	if (ukd_store_image_resolve(d->store, ukd_req_param(req, 0), &img, &err) < 0 ||
	    !(tags = ukd_store_image_tags(d->store, img.id, &err)) ||
	    ukimg_inspect(d->images, img.manifest, &info, &err) < 0) {
		ukd_reply_error(req, &err);
		return;
	}
	o = json_object_new_object();
	c = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(img.id));
	json_object_object_add(o, "repo_tags", tags);
	json_object_object_add(o, "digest", json_object_new_string(img.manifest));
	json_object_object_add(o, "created", json_object_new_int64(img.created));
	json_object_object_add(o, "size", json_object_new_int64(img.size));
	json_object_object_add(c, "cmd", strv_json(info.cmd));
	json_object_object_add(c, "env", strv_json(info.env));
	json_object_object_add(c, "exposed_ports", strv_json(info.exposed_ports));
	json_object_object_add(c, "memory", json_object_new_int64((int64_t)info.memory));
	json_object_object_add(o, "config", c);
	json_object_object_add(o, "platform", json_object_new_string(info.platform));
	json_object_object_add(o, "architecture", json_object_new_string(info.architecture));
	json_object_object_add(o, "runtime_version", json_object_new_string(info.runtime_version));
	ukimg_info_clear(&info);
	ukd_reply_json(req, 200, o);
}

void ukd_route_image_tag(struct ukd *d, struct ukd_req *req)
{
	const char *repo = ukd_req_query(req, "repo"), *tag = ukd_req_query(req, "tag");
	struct ukd_image_row img;
	uk_err_t err = {0};
	char ref[300], norm[256];

	if (!repo || !*repo) {
		uk_err_bad(&err, "query repo=NAME is required");
		goto fail;
	}
	snprintf(ref, sizeof(ref), "%s%s%s", repo, tag && *tag ? ":" : "", tag && *tag ? tag : "");
	if (ukd_store_ref_normalize(ref, norm, sizeof(norm), &err) < 0 ||
	    ukd_store_image_resolve(d->store, ukd_req_param(req, 0), &img, &err) < 0 ||
	    ukd_store_tag_put(d->store, img.id, norm, &err) < 0)
		goto fail;
	ukd_events_emit(d, "image", "tag", img.id, norm, NULL);
	ukd_reply_status(req, 201);
	return;
fail:
	ukd_reply_error(req, &err);
}

/* ---- delete ---- */

static int ref_is_tag(const char *ref, const struct ukd_image_row *img)
{
	return strchr(ref, '@') == NULL && strncmp(img->id, ref, strlen(ref)) &&
	       strncmp(img->id + 7, ref, strlen(ref));
}

static void add_result(json_object *arr, const char *key, const char *val)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, key, json_object_new_string(val));
	json_object_array_add(arr, o);
}

static int delete_image(struct ukd *d, const char *ref, int force, json_object *out, uk_err_t *err)
{
	struct ukd_image_row img;
	json_object *tags = NULL;
	char norm[256];
	int users, r = -1;

	if (ukd_store_begin(d->store, err) < 0)
		return -1;
	if (ukd_store_image_resolve(d->store, ref, &img, err) < 0 ||
	    !(tags = ukd_store_image_tags(d->store, img.id, err)) ||
	    (users = ukd_store_image_users(d->store, img.id, err)) < 0)
		goto out;
	if (ref_is_tag(ref, &img) && json_object_array_length(tags) > 1) {
		/* Only this name goes; the image stays under its other names. */
		if (ukd_store_ref_normalize(ref, norm, sizeof(norm), err) < 0 ||
		    ukd_store_tag_delete(d->store, norm, err) < 0)
			goto out;
		add_result(out, "untagged", norm);
		r = 0;
		goto out;
	}
	if (users > 0 && !force) {
		uk_err_conflict(err,
		                "image %s is used by %d instance%s: remove %s first, or force=1 to "
		                "untag it",
		                ref, users, users == 1 ? "" : "s", users == 1 ? "it" : "them");
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(tags); i++) {
		const char *t = json_object_get_string(json_object_array_get_idx(tags, i));
		if (ukd_store_tag_delete(d->store, t, err) < 0)
			goto out;
		add_result(out, "untagged", t);
	}
	if (users == 0) {
		if (ukd_store_image_delete_row(d->store, img.id, err) < 0)
			goto out;
		add_result(out, "deleted", img.id);
	}
	r = 0;
out:
	json_object_put(tags);
	if (r < 0) {
		ukd_store_rollback(d->store);
		return -1;
	}
	if (ukd_store_commit(d->store, err) < 0)
		return -1;
	if (users == 0 && json_object_array_length(out) &&
	    json_object_object_get_ex(
	            json_object_array_get_idx(out, json_object_array_length(out) - 1), "deleted",
	            NULL)) {
		ukd_events_emit(d, "image", "delete", img.id, ref, NULL);
		ukimg_kernel_remove(d->images, img.id, NULL);
		ukd_images_gc(d);
	} else {
		ukd_events_emit(d, "image", "untag", img.id, ref, NULL);
	}
	return 0;
}

void ukd_route_image_delete(struct ukd *d, struct ukd_req *req)
{
	json_object *out = json_object_new_array();
	uk_err_t err = {0};
	int force;

	if (ukd_req_query_bool(req, "force", 0, &force, &err) < 0 ||
	    delete_image(d, ukd_req_param(req, 0), force, out, &err) < 0) {
		json_object_put(out);
		ukd_reply_error(req, &err);
		return;
	}
	ukd_reply_json(req, 200, out);
}

/* POST /v1/images/prune[?all=1][&filters=]: removes the images no instance uses, untagged
 * ones only unless (all); an image an instance takes meanwhile is kept (delete_image's 409). */
void ukd_route_image_prune(struct ukd *d, struct ukd_req *req)
{
	static const char *const keys[] = {"until", "label", NULL};
	json_object *list = NULL, *deleted = json_object_new_array(), *o;
	struct ukd_filters f = {0};
	uk_err_t err = {0};
	int64_t reclaimed = 0;
	int all;

	if (ukd_req_query_bool(req, "all", 0, &all, &err) < 0 ||
	    ukd_filters_parse(ukd_req_query(req, "filters"), keys, &f, &err) < 0 ||
	    !(list = ukd_store_image_list(d->store, &err)) ||
	    !(list = image_filter(d, list, &f, &err)))
		goto fail;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *img = json_object_array_get_idx(list, i), *tags = NULL, *v;
		uk_err_t e = {0};
		int users;

		json_object_object_get_ex(img, "repo_tags", &tags);
		if (!all && json_object_array_length(tags) > 0)
			continue;
		if ((users = ukd_store_image_users(d->store, uk_json_str(img, "id"), &e)) != 0)
			continue; /* in use, or unreadable: a prune only removes what it knows is
			             free */
		if (delete_image(d, uk_json_str(img, "id"), 0, deleted, &e) < 0) {
			if (e.status == 409 || e.status == 404)
				continue; /* taken or removed meanwhile */
			err = e;
			goto fail;
		}
		reclaimed +=
		        json_object_object_get_ex(img, "size", &v) ? json_object_get_int64(v) : 0;
	}
	o = json_object_new_object();
	json_object_object_add(o, "deleted", deleted);
	json_object_object_add(o, "space_reclaimed", json_object_new_int64(reclaimed));
	json_object_put(list);
	ukd_filters_clear(&f);
	ukd_reply_json(req, 200, o);
	return;
fail:
	json_object_put(list);
	json_object_put(deleted);
	ukd_filters_clear(&f);
	ukd_reply_error(req, &err);
}

/* ---- save and load ---- */

static int tmpfile_under_root(struct ukd *d, uk_err_t *err)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/tmp/save-XXXXXX", d->cfg.root);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return uk_err_errno(err, errno, "create %s", path);
	unlink(path);
	return fd;
}

/* Is stored tag (tag) ("repo:tag") one `save (ref)` exports? (norm) is (ref) normalized
 * ("hello" -> "hello:latest"). */
static int save_wants_tag(const char *ref, const char *norm, const char *tag)
{
	const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');
	size_t repo;

	if (colon && (!slash || colon > slash))
		return !strcmp(norm, tag); /* NAME:TAG */
	repo = strlen(norm) - strlen(strrchr(norm, ':'));
	return !strncmp(norm, tag, repo) && tag[repo] == ':'; /* NAME: its repository's tags */
}

void ukd_route_image_get(struct ukd *d, struct ukd_req *req)
{
	struct ukd_image_row img;
	json_object *tags = NULL;
	uk_err_t err = {0};
	ukimg_ref_t refs[16];
	size_t n = 0;
	int fd = -1;
	off_t size;

	const char *ref = ukd_req_param(req, 0);
	char norm[256] = "";

	if (ukd_store_image_resolve(d->store, ref, &img, &err) < 0 ||
	    !(tags = ukd_store_image_tags(d->store, img.id, &err)))
		goto fail;
	/* as docker save: NAME:TAG exports that tag, a bare NAME the image's tags in that
	 * repository, an id every tag of the image */
	if (ref_is_tag(ref, &img) && ukd_store_ref_normalize(ref, norm, sizeof(norm), &err) < 0)
		goto fail;
	for (size_t i = 0; i < json_object_array_length(tags) && n < 16; i++) {
		const char *t = json_object_get_string(json_object_array_get_idx(tags, i));
		if (*norm && !save_wants_tag(ref, norm, t))
			continue;
		refs[n++] = (ukimg_ref_t){t, img.manifest};
	}
	if (n == 0)
		refs[n++] = (ukimg_ref_t){NULL, img.manifest};
	if ((fd = tmpfile_under_root(d, &err)) < 0 || ukimg_save(d->images, refs, n, fd, &err) < 0)
		goto fail;
	size = lseek(fd, 0, SEEK_CUR);
	lseek(fd, 0, SEEK_SET);
	json_object_put(tags);
	ukd_reply_fd(req, 200, "application/x-tar", fd, (size_t)size);
	return;
fail:
	if (fd >= 0)
		close(fd);
	json_object_put(tags);
	ukd_reply_error(req, &err);
}

struct load_ctx {
	struct ukd *d;
	json_object *images; /* [{"tag","manifest"}] collected while loading */
};

static int load_one(void *p, const char *name, const char *manifest, uk_err_t *err)
{
	struct load_ctx *c = p;
	char tag[256] = "";
	json_object *o;

	if (name && ukd_store_ref_normalize(name, tag, sizeof(tag), err) < 0)
		return uk_err_wrap(err, "load: image name");
	o = json_object_new_object();
	json_object_object_add(o, "tag", json_object_new_string(tag));
	json_object_object_add(o, "manifest", json_object_new_string(manifest));
	json_object_array_add(c->images, o);
	return 0;
}

/* Records every loaded image in one transaction; appends the output lines to (f). */
static int load_record(struct ukd *d, json_object *images, FILE *f, uk_err_t *err)
{
	size_t n = json_object_array_length(images);
	struct ukd_image_row *rows = calloc(n + 1, sizeof(*rows));

	if (!rows)
		return uk_err_errno(err, ENOMEM, "load");
	if (ukd_store_begin(d->store, err) < 0)
		goto fail_free;
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(images, i), *t, *m;
		ukimg_info_t info = {0};
		json_object_object_get_ex(o, "tag", &t);
		json_object_object_get_ex(o, "manifest", &m);
		if (ukimg_inspect(d->images, json_object_get_string(m), &info, err) < 0)
			goto fail;
		snprintf(rows[i].id, sizeof(rows[i].id), "%s", info.config_digest);
		snprintf(rows[i].manifest, sizeof(rows[i].manifest), "%s",
		         json_object_get_string(m));
		rows[i].created = info.created;
		rows[i].size = info.size;
		ukimg_info_clear(&info);
		if (ukd_store_image_put(
		            d->store, &rows[i],
		            *json_object_get_string(t) ? json_object_get_string(t) : NULL, err) < 0)
			goto fail;
	}
	if (ukd_store_commit(d->store, err) < 0)
		goto fail_free;
	for (size_t i = 0; i < n; i++) {
		json_object *t;
		json_object_object_get_ex(json_object_array_get_idx(images, i), "tag", &t);
		const char *tag = json_object_get_string(t);
		ukd_events_emit(d, "image", "load", rows[i].id, tag, NULL);
		json_object *line = json_object_new_object();
		char msg[400];
		snprintf(msg, sizeof(msg), "Loaded image%s: %s\n", *tag ? "" : " ID",
		         *tag ? tag : rows[i].id);
		json_object_object_add(line, "stream", json_object_new_string(msg));
		fprintf(f, "%s\n",
		        json_object_to_json_string_ext(
		                line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(line);
	}
	free(rows);
	return 0;
fail:
	ukd_store_rollback(d->store);
fail_free:
	free(rows);
	return -1;
}

void ukd_route_image_load(struct ukd *d, struct ukd_req *req)
{
	struct load_ctx c = {d, json_object_new_array()};
	uk_err_t err = {0};
	_cleanup_close_ int fd = -1;
	char *text = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int r;

	if (ukd_req_body_size(req) == 0) {
		uk_err_bad(&err, "empty body: send an OCI image-layout tar (uk save)");
		goto fail;
	}
	fd = open(ukd_req_file(req), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		uk_err_errno(&err, errno, "load: open the upload");
		goto fail;
	}
	ukd_images_store_hold();
	r = ukimg_load(d->images, fd, NULL, load_one, &c, &err);
	if (r == 0 && !(f = open_memstream(&text, &len)))
		r = uk_err_errno(&err, errno, "load");
	if (r == 0)
		r = load_record(d, c.images, f, &err);
	ukd_images_store_release();
	if (f)
		fclose(f);
	if (r < 0)
		goto fail;
	ukd_reply_text(req, 200, "application/json", text ? text : "");
	free(text);
	json_object_put(c.images);
	return;
fail:
	free(text);
	json_object_put(c.images);
	ukd_reply_error(req, &err);
}
