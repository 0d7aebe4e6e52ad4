/* System routes: _ping, version, info, events, df. */
#include "backend.h"
#include "events.h"
#include "instances.h"
#include "qemu_user.h"
#include "routes.h"
#include "store.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

void ukd_route_ping(struct ukd *d, struct ukd_req *req)
{
	(void)d;
	ukd_reply_text(req, 200, "text/plain", "OK");
}

void ukd_route_version(struct ukd *d, struct ukd_req *req)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_string(UKD_VERSION));
	json_object_object_add(o, "api_version", json_object_new_string(UKD_API_VERSION));
	json_object_object_add(o, "os", json_object_new_string("linux"));
	json_object_object_add(o, "arch", json_object_new_string("amd64"));
	json_object_object_add(o, "libvirt_version",
	                       json_object_new_string(ukd_backend_version(d->backend)));
	ukd_reply_json(req, 200, o);
}

void ukd_route_info(struct ukd *d, struct ukd_req *req)
{
	json_object *o = json_object_new_object(), *b = json_object_new_object();
	int images, instances, running;
	int64_t probe_since;
	uk_err_t err = {0};
	char hypervisor[96];
	const char *hv = ukd_backend_hypervisor(d->backend);

	/* "QEMU/KVM 7.2.0", "QEMU/TCG 7.2.0", "Xen 4.17.7" */
	/* (hv) is "QEMU 7.2.0", or "QEMU" while libvirt's probe of QEMU is not done */
	if (!strncmp(hv, "QEMU", 4))
		snprintf(hypervisor, sizeof(hypervisor), "QEMU/%s%s",
		         strcmp(d->accel_type, "kvm") ? "TCG" : "KVM", hv + 4);
	else
		snprintf(hypervisor, sizeof(hypervisor), "%s", hv);

	if (ukd_store_counts(d->store, &images, &instances, &running, &err) < 0) {
		json_object_put(o);
		json_object_put(b);
		ukd_reply_error(req, &err);
		return;
	}
	json_object_object_add(o, "root", json_object_new_string(d->cfg.root));
	/* the default backend (ukd --backend); `uk run --backend` may pick the other one */
	json_object_object_add(b, "name", json_object_new_string(ukd_backend_name(d->backend)));
	json_object_object_add(b, "version",
	                       json_object_new_string(ukd_backend_version(d->backend)));
	json_object_object_add(b, "uri", json_object_new_string(ukd_backend_uri(d->backend)));
	json_object_object_add(b, "hypervisor", json_object_new_string(hypervisor));
	/* on Xen the guests are PVH domains: no QEMU, so neither KVM nor TCG */
	int xen = !strncmp(hv, "Xen", 3);
	json_object_object_add(b, "accelerator",
	                       json_object_new_string(xen                            ? "xen"
	                                              : strcmp(d->accel_type, "kvm") ? "tcg"
	                                                                             : "kvm"));
	json_object_object_add(
	        b, "accelerator_reason",
	        json_object_new_string(xen ? "guests run as Xen PVH domains" : d->accel_reason));
	json_object_object_add(
	        b, "probe",
	        json_object_new_string(ukd_backend_probe_state(d->backend, &probe_since)));
	json_object_object_add(b, "probe_since", json_object_new_double((double)probe_since / 1e9));
	json_object_object_add(o, "backend", b);
	json_object_object_add(o, "images", json_object_new_int(images));
	json_object_object_add(o, "instances", json_object_new_int(instances));
	json_object_object_add(o, "running", json_object_new_int(running));
	json_object_object_add(o, "ukcc", json_object_new_string(d->ukcc));
	json_object_object_add(o, "live_restore", json_object_new_boolean(d->cfg.live_restore));
	/* what keeps this ukd from working as it should, said where `uk info` shows it */
	json_object *warnings = json_object_new_array();
	if (ukd_qemu_user_check(d, &err) < 0)
		json_object_array_add(warnings, json_object_new_string(err.message));
	json_object_object_add(o, "warnings", warnings);
	ukd_reply_json(req, 200, o);
}

/* Parses unix seconds, possibly fractional, into ns; absent → (def). */
static int parse_time(struct ukd_req *req, const char *key, int64_t def, int64_t *out,
                      uk_err_t *err)
{
	const char *v = ukd_req_query(req, key);
	char *end;
	double t;

	if (!v) {
		*out = def;
		return 0;
	}
	t = strtod(v, &end);
	if (!*v || *end || t < 0 || t > 1e11)
		return uk_err_bad(err, "query %s=%s: expected unix seconds (e.g. 1700000000.5)",
		                  key, v);
	*out = (int64_t)(t * 1e9);
	return 0;
}

void ukd_route_events(struct ukd *d, struct ukd_req *req)
{
	int64_t since, until;
	uk_err_t err = {0};
	struct ukd_event_sub *sub;

	if (parse_time(req, "since", 0, &since, &err) < 0 ||
	    parse_time(req, "until", 0, &until, &err) < 0) {
		ukd_reply_error(req, &err);
		return;
	}
	if (ukd_req_query(req, "until") && until == 0)
		until = 1; /* until=0: only history before the epoch, i.e. nothing */
	if (ukd_req_query(req, "since") && since == 0)
		since = 1; /* since=0: everything stored */
	if (until && !ukd_req_query(req, "since"))
		since = 1; /* a window with an end starts at the beginning */
	sub = ukd_events_subscribe(d, since, until, ukd_req_client_fd(req), &err);
	if (!sub) {
		ukd_reply_error(req, &err);
		return;
	}
	ukd_reply_stream(req, 200, "application/json", ukd_events_sub_read, sub,
	                 ukd_events_unsubscribe);
}

struct df_ctx {
	struct ukd *d;
	json_object *used; /* image ids instances use (keys) */
	int total, running;
	int64_t size, reclaimable;
};

static int df_instance(void *p, struct ukd_instance *in)
{
	struct df_ctx *c = p;
	int64_t bytes = ukd_instance_disk_bytes(c->d, in->id);

	json_object_object_add(c->used, in->image_id, NULL);
	c->total++;
	c->size += bytes;
	if (in->state == UKD_STATE_RUNNING)
		c->running++;
	else
		c->reclaimable += bytes;
	return 0;
}

static json_object *df_row(int total, int active, int64_t size, int64_t reclaimable)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "total", json_object_new_int(total));
	json_object_object_add(o, "active", json_object_new_int(active));
	json_object_object_add(o, "size", json_object_new_int64(size));
	json_object_object_add(o, "reclaimable", json_object_new_int64(reclaimable));
	return o;
}

/* GET /v1/system/df: images (active: an instance uses it; reclaimable: what `image prune -a`
 * frees) and instances (active: running; size: their files; reclaimable: the stopped ones'). */
void ukd_route_system_df(struct ukd *d, struct ukd_req *req)
{
	struct df_ctx c = {.d = d, .used = json_object_new_object()};
	json_object *images = NULL, *o;
	int64_t isize = 0, ifree = 0;
	uk_err_t err = {0};
	int active = 0;
	size_t n;

	if (ukd_store_instance_each(d->store, df_instance, &c, &err) < 0 ||
	    !(images = ukd_store_image_list(d->store, &err))) {
		json_object_put(c.used);
		ukd_reply_error(req, &err);
		return;
	}
	n = json_object_array_length(images);
	for (size_t i = 0; i < n; i++) {
		json_object *img = json_object_array_get_idx(images, i), *v;
		int64_t size =
		        json_object_object_get_ex(img, "size", &v) ? json_object_get_int64(v) : 0;
		int in_use = json_object_object_get_ex(c.used, uk_json_str(img, "id"), NULL);

		isize += size;
		active += in_use;
		ifree += in_use ? 0 : size;
	}
	o = json_object_new_object();
	json_object_object_add(o, "images", df_row((int)n, active, isize, ifree));
	json_object_object_add(o, "instances", df_row(c.total, c.running, c.size, c.reclaimable));
	json_object_put(images);
	json_object_put(c.used);
	ukd_reply_json(req, 200, o);
}
