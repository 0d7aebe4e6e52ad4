/* GET /v1/instances/{id}/stats (one sample, a 1 s window, or a stream of them) and .../top. */
#include "routes.h"
#include "stats.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

#define STATS_WINDOW_MS 1000

struct stats_stream {
	struct ukd *d;
	char id[65];
	int client_fd;
	struct ukd_stats prev;
	int done;
	char *line; /* what is left of the last line to send */
	size_t off, len;
};

/* Samples instance (key) into (in, s); -1 with (err) set. */
static int stats_take(struct ukd *d, const char *key, struct ukd_instance *in, struct ukd_stats *s,
                      uk_err_t *err)
{
	if (ukd_store_instance_find(d->store, key, in, err) < 0)
		return -1;
	if (ukd_stats_sample(d, in, s, err) < 0) {
		ukd_instance_clear(in);
		return -1;
	}
	return 0;
}

/* One JSON line a second until the guest stops (its zeroed row is the last), ukd stops or the
 * client leaves. */
static ssize_t stats_stream_read(void *p, char *buf, size_t max)
{
	struct stats_stream *st = p;

	while (!st->line || st->off == st->len) {
		struct ukd_instance in;
		struct ukd_stats s;
		uk_err_t err = {0};
		json_object *o;

		free(st->line);
		st->line = NULL;
		if (st->done || st->d->stopping)
			return 0;
		if (ukd_http_wait(st->client_fd, -1, STATS_WINDOW_MS) < 0)
			return -1;
		if (stats_take(st->d, st->id, &in, &s, &err) < 0) {
			o = json_object_new_object(); /* the stream's last line */
			json_object_object_add(o, "message", json_object_new_string(err.message));
			json_object_object_add(o, "code", json_object_new_string(err.code));
		} else {
			o = ukd_stats_json(&in, &s, &st->prev);
			st->done = !s.running;
			st->prev = s;
			ukd_instance_clear(&in);
		}
		st->done |= json_object_object_get_ex(o, "message", NULL);
		if (asprintf(&st->line, "%s\n",
		             json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) < 0)
			st->line = NULL;
		json_object_put(o);
		if (!st->line)
			return -1;
		st->off = 0;
		st->len = strlen(st->line);
	}
	if (max > st->len - st->off)
		max = st->len - st->off;
	memcpy(buf, st->line + st->off, max);
	st->off += max;
	return (ssize_t)max;
}

static void stats_stream_free(void *p)
{
	struct stats_stream *st = p;

	if (st)
		free(st->line);
	free(st);
}

void ukd_route_instance_stats(struct ukd *d, struct ukd_req *req)
{
	struct ukd_instance in;
	struct ukd_stats first, s;
	uk_err_t err = {0};
	int stream, one_shot;
	char id[65];

	if (ukd_req_query_bool(req, "stream", 0, &stream, &err) < 0 ||
	    ukd_req_query_bool(req, "one-shot", 0, &one_shot, &err) < 0 ||
	    stats_take(d, ukd_req_param(req, 0), &in, &first, &err) < 0) {
		ukd_reply_error(req, &err);
		return;
	}
	if (stream && !one_shot) {
		struct stats_stream *st = calloc(1, sizeof(*st));

		if (!st) {
			ukd_instance_clear(&in);
			uk_err_internal(&err, "out of memory");
			ukd_reply_error(req, &err);
			return;
		}
		st->d = d;
		snprintf(st->id, sizeof(st->id), "%s", in.id);
		st->client_fd = ukd_req_client_fd(req);
		st->prev = first;
		ukd_instance_clear(&in);
		ukd_reply_stream(req, 200, "application/json", stats_stream_read, st,
		                 stats_stream_free);
		return;
	}
	if (one_shot || !first.running) {
		ukd_reply_json(req, 200, ukd_stats_json(&in, &first, NULL));
		ukd_instance_clear(&in);
		return;
	}
	snprintf(id, sizeof(id), "%s", in.id);
	ukd_instance_clear(&in);
	if (ukd_http_wait(ukd_req_client_fd(req), -1, STATS_WINDOW_MS) < 0 ||
	    stats_take(d, id, &in, &s, &err) < 0) {
		if (!err.status)
			uk_err_set(&err, 499, "gone", "the client left");
		ukd_reply_error(req, &err);
		return;
	}
	ukd_reply_json(req, 200, ukd_stats_json(&in, &s, &first));
	ukd_instance_clear(&in);
}

void ukd_route_instance_top(struct ukd *d, struct ukd_req *req)
{
	struct ukd_instance in;
	uk_err_t err = {0};
	json_object *o;

	if (ukd_store_instance_find(d->store, ukd_req_param(req, 0), &in, &err) < 0) {
		ukd_reply_error(req, &err);
		return;
	}
	o = ukd_stats_top(d, &in, &err);
	ukd_instance_clear(&in);
	if (!o)
		ukd_reply_error(req, &err);
	else
		ukd_reply_json(req, 200, o);
}
