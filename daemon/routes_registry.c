/* Registry routes: push and pull (JSON-lines progress from a job thread) and auth (a login check);
 * credentials come per request in X-Registry-Auth and are never stored nor logged. */
#include "events.h"
#include "image_jobs.h"
#include "instances.h"
#include "log.h"
#include "routes.h"
#include "trust.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <uk/regauth.h>
#include <uk/registry.h>

struct xfer_job {
	struct ukd *d;
	int push;
	int out_fd; /* the pipe the response reads; -1 once the client left */
	ukimg_regref_t ref;
	char name[UKIMG_REGISTRY_MAX + UKIMG_REPO_MAX + UKIMG_TAG_MAX + UKIMG_DIGEST_SIZE];
	char manifest[UKIMG_DIGEST_SIZE]; /* push: the local image's manifest */
	char tag[256];                    /* pull: the local name to tag, "" for a digest pull */
	char mount_from[UKIMG_REPO_MAX];  /* push: another repository of the registry that has it */
	struct ukd_reg_opts ro;
};

/* The request's registry options: the registry's transport, then X-Registry-Auth's credentials. */
int ukd_route_reg_opts(struct ukd *d, struct ukd_req *req, const char *registry,
                       struct ukd_reg_opts *ro, uk_err_t *err)
{
	if (ukd_reg_opts_init(d, registry, ro, err) < 0)
		return -1;
	if (ukd_reg_opts_auth(ro, ukd_req_header(req, UK_REGAUTH_HEADER), registry, err) < 0) {
		ukd_reg_opts_clear(ro);
		return -1;
	}
	return 0;
}

/* ---- push and pull jobs ---- */

static void job_write(struct xfer_job *j, json_object *o)
{
	ukd_pipe_write_json(&j->out_fd, o);
}

static void job_progress(void *ctx, ukimg_xfer_event_t ev, const char *digest, int64_t size)
{
	static const char *const names[] = {"exists", "uploaded",   "manifest",
	                                    "have",   "downloaded", "mounted"};
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string(names[ev]));
	json_object_object_add(o, "digest", json_object_new_string(digest));
	json_object_object_add(o, "size", json_object_new_int64(size));
	job_write(ctx, o);
}

/* Records a pulled manifest as an image, tagged (j->tag) unless it was a digest pull. */
static int pull_record(struct xfer_job *j, const char *manifest, char *id, uk_err_t *err)
{
	struct ukd_image_row row = {0};
	ukimg_info_t info = {0};

	if (ukimg_inspect(j->d->images, manifest, &info, err) < 0)
		return -1;
	snprintf(row.id, sizeof(row.id), "%s", info.config_digest);
	snprintf(row.manifest, sizeof(row.manifest), "%s", manifest);
	row.created = info.created;
	row.size = info.size;
	ukimg_info_clear(&info);
	snprintf(id, sizeof(row.id), "%s", row.id);
	return ukd_store_image_put(j->d->store, &row, j->tag[0] ? j->tag : NULL, err);
}

static void job_finish(struct xfer_job *j, int r, const char *digest, const char *id, uk_err_t *err)
{
	json_object *o = json_object_new_object();
	const char *verb = j->push ? "push" : "pull";

	if (r == 0) {
		json_object_object_add(o, "status", json_object_new_string("done"));
		json_object_object_add(o, "digest", json_object_new_string(digest));
		json_object_object_add(o, "ref", json_object_new_string(j->name));
		if (id)
			json_object_object_add(o, "id", json_object_new_string(id));
		log_info("registry", "%s %s: %s", verb, j->name, digest);
		ukd_events_emit(j->d, "image", verb, id ? id : digest, j->name, NULL);
		if (id && j->tag[0])
			ukd_events_emit(j->d, "image", "tag", id, j->tag, NULL);
	} else {
		json_object *e = json_object_new_object();
		ukd_reg_hint(j->d, j->ref.registry, err);
		uk_err_wrap(err, "%s %s", verb, j->name);
		log_info("registry", "%s", err->message);
		json_object_object_add(e, "status", json_object_new_int(err->status));
		json_object_object_add(e, "code", json_object_new_string(err->code));
		json_object_object_add(e, "message", json_object_new_string(err->message));
		json_object_object_add(o, "error", e);
	}
	job_write(j, o);
}

static void *job_thread(void *p)
{
	struct xfer_job *j = p;
	char digest[UKIMG_DIGEST_SIZE] = "", id[UKIMG_DIGEST_SIZE] = "";
	uk_err_t err = {0};
	int r;

	ukd_images_store_hold();
	if (j->push) {
		r = ukimg_push(j->d->images, j->manifest, &j->ref, &j->ro.o, &err);
		snprintf(digest, sizeof(digest), "%s", j->manifest);
	} else {
		r = ukimg_pull(j->d->images, &j->ref, &j->ro.o, digest, &err);
		if (r == 0)
			r = ukd_trust_check(j->d, j->name, digest, j->ro.o.auth, &err);
		if (r == 0 && pull_record(j, digest, id, &err) < 0)
			r = uk_err_wrap(&err, "record the image");
	}
	ukd_images_store_release();
	job_finish(j, r, digest, j->push ? NULL : id, &err);
	if (j->out_fd >= 0)
		close(j->out_fd);
	ukd_reg_opts_clear(&j->ro);
	free(j);
	ukd_images_job_end();
	return NULL;
}

/* Starts (j) (taken) on its own thread and streams its output; replies the error otherwise. */
static void job_start(struct ukd_req *req, struct xfer_job *j, uk_err_t *err)
{
	int pipefd[2];
	pthread_t t;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		uk_err_errno(err, errno, "%s: create a pipe", j->push ? "push" : "pull");
		goto fail;
	}
	j->out_fd = pipefd[1];
	j->ro.o.progress = job_progress;
	j->ro.o.progress_ctx = j;
	ukd_images_job_begin();
	if (pthread_create(&t, NULL, job_thread, j) != 0) {
		ukd_images_job_end();
		close(pipefd[0]);
		close(pipefd[1]);
		uk_err_internal(err, "%s: start a thread", j->push ? "push" : "pull");
		goto fail;
	}
	pthread_detach(t);
	ukd_reply_pipe(req, pipefd[0]);
	return;
fail:
	ukd_reg_opts_clear(&j->ro);
	free(j);
	ukd_reply_error(req, err);
}

/* Starts (j) (taken; MAY be NULL when (r) < 0) if (r) is 0, else replies (err). */
static void job_go(struct ukd_req *req, struct xfer_job *j, int r, uk_err_t *err)
{
	if (r == 0) {
		job_start(req, j, err);
		return;
	}
	if (j)
		ukd_reg_opts_clear(&j->ro);
	free(j);
	ukd_reply_error(req, err);
}

/* A job for (ref): parsed, with its transport and the request's credentials settled. */
static struct xfer_job *job_new(struct ukd *d, struct ukd_req *req, int push, const char *ref,
                                uk_err_t *err)
{
	struct xfer_job *j = calloc(1, sizeof(*j));

	if (!j) {
		uk_err_errno(err, ENOMEM, push ? "push" : "pull");
		return NULL;
	}
	j->d = d;
	j->push = push;
	j->out_fd = -1;
	if (ukimg_ref_parse(ref, &j->ref, err) < 0 ||
	    ukd_route_reg_opts(d, req, j->ref.registry, &j->ro, err) < 0) {
		free(j);
		return NULL;
	}
	ukimg_ref_format(&j->ref, j->name, sizeof(j->name));
	j->ro.o.platforms = ukd_platforms;
	return j;
}

/*
 * Like Docker: when the image also has a name in another repository of the same registry (it
 * was pushed or pulled there), its blobs are asked for as cross-repository mounts from there
 * first, so the registry copies nothing over the wire.
 */
static void push_mount_source(struct xfer_job *j, const struct ukd_image_row *img)
{
	uk_err_t err = {0};
	json_object *tags = ukd_store_image_tags(j->d->store, img->id, &err);
	ukimg_regref_t other;

	for (size_t i = 0; tags && i < json_object_array_length(tags); i++) {
		const char *t = json_object_get_string(json_object_array_get_idx(tags, i));

		if (ukimg_ref_parse(t, &other, &err) == 0 &&
		    !strcmp(other.registry, j->ref.registry) &&
		    strcmp(other.repository, j->ref.repository)) {
			snprintf(j->mount_from, sizeof(j->mount_from), "%s", other.repository);
			j->ro.o.mount_from = j->mount_from;
			break;
		}
	}
	json_object_put(tags);
}

/* POST /v1/images/{name}/push[?tag=TAG]: the local image NAME[:TAG] to the registry NAME says. */
void ukd_route_image_push(struct ukd *d, struct ukd_req *req)
{
	const char *name = ukd_req_param(req, 0), *tag = ukd_req_query(req, "tag");
	struct ukd_image_row img;
	struct xfer_job *j;
	uk_err_t err = {0};
	char local[600];
	int r = -1;

	snprintf(local, sizeof(local), "%s%s%s", name, tag && *tag ? ":" : "",
	         tag && *tag ? tag : "");
	if (!(j = job_new(d, req, 1, local, &err)))
		r = -1;
	else if (j->ref.digest[0])
		r = uk_err_bad(&err, "push %s: name a tag, not a digest", local);
	else if ((r = ukd_store_image_resolve(d->store, local, &img, &err)) == 0) {
		snprintf(j->manifest, sizeof(j->manifest), "%s", img.manifest);
		push_mount_source(j, &img);
	}
	job_go(req, j, r, &err);
}

/* POST /v1/images/pull?ref=REF: a pull by tag names the image REF (":latest" by default). */
void ukd_route_image_pull(struct ukd *d, struct ukd_req *req)
{
	const char *ref = ukd_req_query(req, "ref");
	struct xfer_job *j = NULL;
	uk_err_t err = {0};
	int r = -1;

	if (!ref || !*ref)
		uk_err_bad(&err, "query ref=NAME[:TAG|@DIGEST] is required");
	else if ((j = job_new(d, req, 0, ref, &err)))
		r = j->ref.digest[0] ? 0
		                     : ukd_store_ref_normalize(ref, j->tag, sizeof(j->tag), &err);
	job_go(req, j, r, &err);
}

/* ---- auth ---- */

/* Docker's body {"username","password","serveraddress"} when there is one, else the header. */
static int auth_creds(struct ukd_req *req, struct ukd_reg_opts *ro, uk_err_t *err)
{
	json_object *body = ukd_req_json(req);
	const char *h = ukd_req_header(req, UK_REGAUTH_HEADER);
	char *text;
	int r;

	if (!body)
		return h && *h ? uk_regauth_decode(h, &ro->auth, err)
		               : uk_err_bad(err, "credentials required: send " UK_REGAUTH_HEADER
		                                 " or a JSON body {username, password, "
		                                 "serveraddress}");
	if (!json_object_is_type(body, json_type_object))
		return uk_err_bad(err, "body: expected a JSON object");
	/* one parser for both forms: the body goes through the header's decoder */
	text = uk_base64_encode(json_object_to_json_string(body),
	                        strlen(json_object_to_json_string(body)), 1);
	if (!text)
		return uk_err_internal(err, "out of memory");
	r = uk_regauth_decode(text, &ro->auth, err);
	memset(text, 0, strlen(text)); /* it holds the password */
	free(text);
	return r;
}

/* POST /v1/auth: checks credentials against a registry (GET /v2/), stores nothing. */
void ukd_route_auth(struct ukd *d, struct ukd_req *req)
{
	struct ukd_reg_opts ro = {0};
	char server[UK_REGAUTH_SERVER_MAX];
	json_object *o;
	uk_err_t err = {0};
	int http = 0;

	if (auth_creds(req, &ro, &err) < 0)
		goto fail;
	if (!ro.auth.username || !*ro.auth.username) {
		uk_err_bad(&err, "auth: username required");
		goto fail;
	}
	if (uk_regauth_server(ro.auth.serveraddress && *ro.auth.serveraddress
	                              ? ro.auth.serveraddress
	                              : UK_REGAUTH_DEFAULT,
	                      server, &http, &err) < 0 ||
	    ukd_reg_opts_transport(d, server, http, &ro, &err) < 0)
		goto fail;
	ro.creds.username = ro.auth.username;
	ro.creds.password = ro.auth.password ? ro.auth.password : "";
	ro.o.auth = &ro.creds;
	ro.o.timeout_sec = 60;
	if (ukimg_registry_check(server, &ro.o, &err) < 0) {
		ukd_reg_hint(d, server, &err);
		goto fail;
	}
	ukd_reg_opts_clear(&ro);
	log_info("registry", "login to %s succeeded", server);
	o = json_object_new_object();
	json_object_object_add(o, "Status", json_object_new_string("Login Succeeded"));
	ukd_reply_json(req, 200, o);
	return;
fail:
	ukd_reg_opts_clear(&ro);
	log_info("registry", "auth: %s", err.message);
	ukd_reply_error(req, &err);
}
