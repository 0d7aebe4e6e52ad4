/* The v1 route table: method, path pattern, body kind, handler. Order matters (first match wins).
 */
#include "routes.h"

const struct ukd_route ukd_routes[] = {
        {"GET", "/v1/_ping", UKD_BODY_NONE, ukd_route_ping},
        {"HEAD", "/v1/_ping", UKD_BODY_NONE, ukd_route_ping},
        {"GET", "/v1/version", UKD_BODY_NONE, ukd_route_version},
        {"GET", "/v1/info", UKD_BODY_NONE, ukd_route_info},
        {"GET", "/v1/events", UKD_BODY_NONE, ukd_route_events},

        {"POST", "/v1/images/build", UKD_BODY_FILE, ukd_route_image_build},
        {"POST", "/v1/images/load", UKD_BODY_FILE, ukd_route_image_load},
        {"GET", "/v1/images", UKD_BODY_NONE, ukd_route_image_list},
        {"POST", "/v1/images/pull", UKD_BODY_NONE, ukd_route_image_pull},
        {"POST", "/v1/images/{*}/push", UKD_BODY_NONE, ukd_route_image_push},
        {"POST", "/v1/auth", UKD_BODY_JSON, ukd_route_auth},
        {"POST", "/v1/images/{*}/tag", UKD_BODY_NONE, ukd_route_image_tag},
        {"GET", "/v1/images/{*}/get", UKD_BODY_NONE, ukd_route_image_get},
        {"POST", "/v1/images/{*}/signatures", UKD_BODY_JSON, ukd_route_image_sign},
        {"GET", "/v1/images/{*}/signatures", UKD_BODY_NONE, ukd_route_image_signatures},
        {"GET", "/v1/images/{*}", UKD_BODY_NONE, ukd_route_image_inspect},
        {"DELETE", "/v1/images/{*}", UKD_BODY_NONE, ukd_route_image_delete},

        {"POST", "/v1/instances", UKD_BODY_JSON, ukd_route_instance_create},
        {"GET", "/v1/instances", UKD_BODY_NONE, ukd_route_instance_list},
        {"GET", "/v1/instances/{}", UKD_BODY_NONE, ukd_route_instance_inspect},
        {"DELETE", "/v1/instances/{}", UKD_BODY_NONE, ukd_route_instance_delete},
        {"POST", "/v1/instances/{}/start", UKD_BODY_NONE, ukd_route_instance_start},
        {"POST", "/v1/instances/{}/rename", UKD_BODY_NONE, ukd_route_instance_rename},
        {"POST", "/v1/instances/{}/stop", UKD_BODY_NONE, ukd_route_instance_stop},
        {"POST", "/v1/instances/{}/kill", UKD_BODY_NONE, ukd_route_instance_kill},
        {"POST", "/v1/instances/{}/restart", UKD_BODY_NONE, ukd_route_instance_restart},
        {"POST", "/v1/instances/{}/wait", UKD_BODY_NONE, ukd_route_instance_wait},
        {"GET", "/v1/instances/{}/logs", UKD_BODY_NONE, ukd_route_instance_logs},
        {"GET", "/v1/instances/{}/port", UKD_BODY_NONE, ukd_route_instance_port},
        {NULL, NULL, 0, NULL},
};
