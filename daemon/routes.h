/* The route table of the v1 API and the handlers it names (routes_*.c). */
#ifndef UKD_ROUTES_H
#define UKD_ROUTES_H

#include "req.h"
#include "registry_opts.h"

extern const struct ukd_route ukd_routes[];

void ukd_route_ping(struct ukd *d, struct ukd_req *req);
void ukd_route_version(struct ukd *d, struct ukd_req *req);
void ukd_route_info(struct ukd *d, struct ukd_req *req);
void ukd_route_events(struct ukd *d, struct ukd_req *req);
/* GET /v1/system/df; POST /v1/instances/prune, /v1/images/prune: {"deleted", "space_reclaimed"} */
void ukd_route_system_df(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_prune(struct ukd *d, struct ukd_req *req);
void ukd_route_image_prune(struct ukd *d, struct ukd_req *req);

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
/* GET /v1/instances/{}/kernel: the instance's kernel ELF, for `uk debug`. */
void ukd_route_instance_kernel(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_rename(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_start(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_stop(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_kill(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_restart(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_wait(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_logs(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_delete(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_port(struct ukd *d, struct ukd_req *req);
/* GET /v1/instances/{}/stats and /top (routes_stats.c over stats.h) */
void ukd_route_instance_stats(struct ukd *d, struct ukd_req *req);
void ukd_route_instance_top(struct ukd *d, struct ukd_req *req);

void ukd_route_volume_create(struct ukd *d, struct ukd_req *req);
void ukd_route_volume_list(struct ukd *d, struct ukd_req *req);
void ukd_route_volume_prune(struct ukd *d, struct ukd_req *req);
void ukd_route_volume_inspect(struct ukd *d, struct ukd_req *req);
void ukd_route_volume_delete(struct ukd *d, struct ukd_req *req);
void ukd_route_volume_export(struct ukd *d, struct ukd_req *req);
void ukd_route_volume_import(struct ukd *d, struct ukd_req *req);

/* Push, pull and login (routes_registry.c): jobs like builds (image_jobs.h). */
void ukd_route_image_push(struct ukd *d, struct ukd_req *req);
void ukd_route_image_pull(struct ukd *d, struct ukd_req *req);
void ukd_route_auth(struct ukd *d, struct ukd_req *req);

/* ukd_reg_opts_init and then the credentials of (req)'s X-Registry-Auth, refused (400) when
 * they name another server than (registry). */
int ukd_route_reg_opts(struct ukd *d, struct ukd_req *req, const char *registry,
                       struct ukd_reg_opts *ro, uk_err_t *err);
/* Replies 200 with a stream of what is written to the other end of pipe (fd) (taken). */
void ukd_reply_pipe(struct ukd_req *req, int fd);
/* Writes (o) (taken) and a newline to *(fd); on failure (the reader left) closes it, sets -1. */
void ukd_pipe_write_json(int *fd, json_object *o);

/* /v1/networks (routes_networks.c over network.h) */
void ukd_route_network_create(struct ukd *d, struct ukd_req *req);
void ukd_route_network_list(struct ukd *d, struct ukd_req *req);
void ukd_route_network_inspect(struct ukd *d, struct ukd_req *req);
void ukd_route_network_delete(struct ukd *d, struct ukd_req *req);
void ukd_route_network_prune(struct ukd *d, struct ukd_req *req);
void ukd_route_network_connect(struct ukd *d, struct ukd_req *req);
void ukd_route_network_disconnect(struct ukd *d, struct ukd_req *req);

#endif
