/* The route table of the v1 API and the handlers it names (routes_*.c). */
#ifndef UKD_ROUTES_H
#define UKD_ROUTES_H

#include "http.h"

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

#endif
