/* The route table of the v1 API and the handlers it names (routes_*.c). */
#ifndef UKD_ROUTES_H
#define UKD_ROUTES_H

#include <limits.h>

#include "http.h"
#include "uk/regauth.h"
#include "uk/registry.h"

extern const struct ukd_route ukd_routes[];

void ukd_route_ping(struct ukd *d, struct ukd_req *req);
void ukd_route_version(struct ukd *d, struct ukd_req *req);
void ukd_route_info(struct ukd *d, struct ukd_req *req);
void ukd_route_events(struct ukd *d, struct ukd_req *req);

void ukd_route_image_build(struct ukd *d, struct ukd_req *req);
void ukd_route_image_load(struct ukd *d, struct ukd_req *req);
void ukd_route_image_list(struct ukd *d, struct ukd_req *req);
void ukd_route_image_inspect(struct ukd *d, struct ukd_req *req);
void ukd_route_image_tag(struct ukd *d, struct ukd_req *req);
void ukd_route_image_delete(struct ukd *d, struct ukd_req *req);
void ukd_route_image_get(struct ukd *d, struct ukd_req *req);
void ukd_route_image_sign(struct ukd *d, struct ukd_req *req);
void ukd_route_image_signatures(struct ukd *d, struct ukd_req *req);

void ukd_route_instance_create(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_list(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_inspect(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_rename(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_start(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_stop(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_kill(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_restart(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_wait(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_logs(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_delete(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_port(struct ukd *d, struct ukd_req *req);

/* Removes unreferenced image blobs (skipped while a build or load runs). */
void ukd_images_gc(struct ukd *d);
/* Waits up to (timeout_ms) for running builds; returns how many still run. */
int ukd_images_wait_builds(int timeout_ms);

/* Push and pull (routes_registry.c) and what they share with builds (routes_images.c): a job
 * counts as a running build for shutdown; holding the store keeps blob gc away. */
void ukd_route_image_push(struct ukd *d, struct ukd_req *req);
void ukd_route_image_pull(struct ukd *d, struct ukd_req *req);
void ukd_route_auth(struct ukd *d, struct ukd_req *req);

/* What the registry client gets for one registry: its transport and the request's credentials. */
struct ukd_reg_opts {
	uk_regauth_t auth; /* decoded X-Registry-Auth */
	ukimg_auth_t creds;
	char ca_file[PATH_MAX + UK_REGAUTH_SERVER_MAX + 16];
	ukimg_registry_opts_t o; /* what to hand ukimg_push/pull/trust */
};
/*
 * Settles (ro) for (registry): plain http for loopback and insecure-registries, https (with
 * REGISTRY_CERTS_DIR/REGISTRY/ca.crt when present) otherwise; credentials from (req)'s
 * X-Registry-Auth (req MAY be NULL: anonymous), refused (400) when they name another server.
 */
int ukd_reg_opts_init(struct ukd *d, struct ukd_req *req, const char *registry,
                      struct ukd_reg_opts *ro, uk_err_t *err);
/* The transport part alone; (want_http): the client named an http:// server (400 unless the
 * registry may use it, before any connection). */
int ukd_reg_opts_transport(struct ukd *d, const char *registry, int want_http,
                           struct ukd_reg_opts *ro, uk_err_t *err);
/* Wipes the credentials in (ro). */
void ukd_reg_opts_clear(struct ukd_reg_opts *ro);
/* Adds the certs.d hint to a TLS failure's message. */
void ukd_reg_hint(struct ukd *d, const char *registry, uk_err_t *err);
void ukd_images_job_begin(void);
void ukd_images_job_end(void);
void ukd_images_store_hold(void);
void ukd_images_store_release(void);
/* Replies 200 with a stream of what is written to the other end of pipe (fd) (taken). */
void ukd_reply_pipe(struct ukd_req *req, int fd);
/* Writes (o) (taken) and a newline to *(fd); on failure (the reader left) closes it, sets -1. */
void ukd_pipe_write_json(int *fd, json_object *o);

#endif
