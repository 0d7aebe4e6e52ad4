/* Network routes: create, list, inspect, remove, prune, connect, disconnect (work: network.c). */
#include "network.h"
#include "filters.h"
#include "routes.h"

static void reply(struct ukd_req *req, unsigned status, json_object *o, const uk_err_t *err)
{
	if (o)
		ukd_reply_json(req, status, o);
	else
		ukd_reply_error(req, err);
}

static void reply_done(struct ukd_req *req, int r, const uk_err_t *err)
{
	if (r < 0)
		ukd_reply_error(req, err);
	else
		ukd_reply_status(req, 204);
}

void ukd_route_network_create(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};

	reply(req, 201, ukd_net_create(d, ukd_req_json(req), &err), &err);
}

void ukd_route_network_list(struct ukd *d, struct ukd_req *req)
{
	static const char *const keys[] = {"name", NULL}; /* networks have no labels yet */
	struct ukd_filters f;
	uk_err_t err = {0};
	json_object *o = NULL;

	if (ukd_filters_parse(ukd_req_query(req, "filters"), keys, &f, &err) == 0)
		o = ukd_filters_apply_named(&f, ukd_net_list(d, &err));
	ukd_filters_clear(&f);
	reply(req, 200, o, &err);
}

void ukd_route_network_inspect(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};

	reply(req, 200, ukd_net_inspect(d, ukd_req_param(req, 0), &err), &err);
}

void ukd_route_network_delete(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};

	reply_done(req, ukd_net_remove(d, ukd_req_param(req, 0), &err), &err);
}

void ukd_route_network_prune(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};
	json_object *gone = ukd_net_prune(d, &err), *o;

	if (!gone) {
		ukd_reply_error(req, &err);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "networks_deleted", gone);
	ukd_reply_json(req, 200, o);
}

void ukd_route_network_connect(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};

	reply_done(req, ukd_net_connect(d, ukd_req_param(req, 0), ukd_req_json(req), &err), &err);
}

void ukd_route_network_disconnect(struct ukd *d, struct ukd_req *req)
{
	uk_err_t err = {0};

	reply_done(req, ukd_net_disconnect(d, ukd_req_param(req, 0), ukd_req_json(req), &err),
	           &err);
}
