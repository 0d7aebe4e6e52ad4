/* ukd's HTTP layer over libmicrohttpd: listeners, routing, bodies with limits, replies, streams. */
#include "blob.h"
#include "http.h"
#include "http_gate.h"
#include "json_body.h"
#include "log.h"
#include "peer.h"
#include "router.h"
#include "routes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "uk/io.h"

struct ukd_http {
	struct ukd *d;
	struct MHD_Daemon *mhd;
	int quiesced_fd; /* the listening socket once quiesced (ours to close), else -1 */
	pthread_mutex_t stop_lock;
	pthread_cond_t stopped; /* stop_done set, or a request completed */
	int stop_done;
	int open; /* requests begun and not completed (replies not yet sent) */
	int tls;  /* HTTPS, clients checked by ukd_peer_tls */
	char host[PATH_MAX + 16];
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* TLS: the connections that have not yet made a certified request (http_gate.h) */
	struct ukd_http_gate *gate;
	struct ukd_http_gate_limits gate_limits;
};

struct ukd_req {
	struct ukd *d;
	struct MHD_Connection *conn;
	char *target; /* the request target as sent: path and query, not decoded */
	int started;  /* the access handler has seen the request line and headers */
	const struct ukd_route *route;
	struct ukd_match match;
	unsigned early_status; /* 404/405/414 decided before the body */
	uk_err_t denied;       /* 403 decided by http_door */
	char *body;
	size_t body_len, body_cap;
	int body_fd;
	char *body_path; /* the spooled upload (BODY_FILE), or NULL: not in every request */
	int too_large, io_error;
	json_object *json;
	struct MHD_Response *resp;
	unsigned status;
	int streaming; /* the reply is a stream: no idle timeout */
};

struct stream {
	ukd_stream_fn fn;
	void *ctx;
	void (*free_ctx)(void *);
};

/* ---- bodies ---- */

static int body_open_file(struct ukd_req *req)
{
	size_t len = strlen(req->d->cfg.root) + sizeof("/tmp/upload-XXXXXX");

	if (!(req->body_path = malloc(len)))
		return -1;
	snprintf(req->body_path, len, "%s/tmp/upload-XXXXXX", req->d->cfg.root);
	req->body_fd = mkstemp(req->body_path);
	if (req->body_fd < 0) {
		log_error("http", "spool upload %s: %s", req->body_path, strerror(errno));
		free(req->body_path);
		req->body_path = NULL;
		return -1;
	}
	return 0;
}

static unsigned long long body_limit(const struct ukd_route *r)
{
	return r->body == UKD_BODY_NONE   ? UKD_HTTP_NOBODY_MAX
	       : r->body == UKD_BODY_JSON ? UKD_HTTP_JSON_MAX
	                                  : UKD_HTTP_FILE_MAX;
}

static int body_too_large(struct ukd_req *req, unsigned long long len, uk_err_t *err)
{
	if (req->route->body == UKD_BODY_NONE)
		return uk_err_set(err, 413, "too_large",
		                  "this route takes no request body (got %llu bytes or more)", len);
	return uk_err_set(err, 413, "too_large", "request body larger than %llu bytes",
	                  body_limit(req->route));
}

static void body_append(struct ukd_req *req, const char *data, size_t size)
{
	if (req->too_large || req->io_error)
		return;
	if (req->body_len + size > body_limit(req->route)) {
		req->too_large = 1;
		return;
	}
	if (req->route->body == UKD_BODY_NONE) { /* counted, not kept */
		req->body_len += size;
		return;
	}
	if (req->route->body == UKD_BODY_FILE) {
		if (req->body_fd < 0 && body_open_file(req) < 0) {
			req->io_error = 1;
			return;
		}
		if (uk_write_all(req->body_fd, data, size) < 0) {
			req->io_error = 1;
			return;
		}
		req->body_len += size;
		return;
	}
	if (req->body_len + size + 1 > req->body_cap) {
		size_t cap = (req->body_len + size + 1) * 2;
		char *nb = realloc(req->body, cap);
		if (!nb) {
			req->io_error = 1;
			return;
		}
		req->body = nb;
		req->body_cap = cap;
	}
	memcpy(req->body + req->body_len, data, size);
	req->body_len += size;
	req->body[req->body_len] = 0;
}

static int body_finish(struct ukd_req *req, uk_err_t *err)
{
	if (req->too_large)
		return body_too_large(req, req->body_len, err);
	if (req->io_error)
		return uk_err_internal(err, "could not store the request body under %s/tmp",
		                       req->d->cfg.root);
	if (req->route->body == UKD_BODY_FILE && req->body_fd < 0 && body_open_file(req) < 0)
		return uk_err_internal(err, "could not store the request body under %s/tmp",
		                       req->d->cfg.root);
	if (req->route->body == UKD_BODY_JSON && req->body_len)
		return ukd_json_body_parse(req->body, req->body_len, &req->json, err);
	return 0;
}

/* ---- replies ---- */

static void reply_set(struct ukd_req *req, unsigned status, struct MHD_Response *resp)
{
	if (req->resp)
		MHD_destroy_response(req->resp);
	req->resp = resp;
	req->status = status;
}

static struct MHD_Response *resp_buffer(const char *data, size_t len, const char *ctype)
{
	struct MHD_Response *r =
	        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);

	if (r && ctype)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (r)
		MHD_add_response_header(r, "Api-Version", UKD_API_VERSION);
	return r;
}

void ukd_reply_json(struct ukd_req *req, unsigned status, json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
	        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	char *line = malloc(len + 2);

	if (line) {
		memcpy(line, s, len);
		line[len] = '\n';
		reply_set(req, status, resp_buffer(line, len + 1, "application/json"));
		free(line);
	}
	json_object_put(obj);
}

void ukd_reply_error(struct ukd_req *req, const uk_err_t *err)
{
	json_object *o = json_object_new_object();
	unsigned status = err->status >= 400 && err->status < 600 ? (unsigned)err->status : 500;
	char msg[sizeof(err->message) * 3];

	ukd_utf8_scrub(err->message, msg, sizeof(msg)); /* it may quote a client's bytes */
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_object_add(o, "code",
	                       json_object_new_string(err->code[0] ? err->code : "internal"));
	if (status >= 500)
		log_error("http", "%s: %s", req->route ? req->route->pattern : "?", err->message);
	else
		log_debug("http", "%u %s", status, err->message);
	ukd_reply_json(req, status, o);
}

void ukd_reply_status(struct ukd_req *req, unsigned status)
{
	reply_set(req, status, resp_buffer("", 0, NULL));
}

void ukd_reply_text(struct ukd_req *req, unsigned status, const char *ctype, const char *text)
{
	reply_set(req, status, resp_buffer(text, strlen(text), ctype));
}

void ukd_reply_fd(struct ukd_req *req, unsigned status, const char *ctype, int fd, size_t size)
{
	struct MHD_Response *r = MHD_create_response_from_fd(size, fd);

	if (r) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
		MHD_add_response_header(r, "Api-Version", UKD_API_VERSION);
	} else {
		close(fd);
	}
	reply_set(req, status, r);
}

/* Replies with (r) after adding the headers every reply carries. */
static void reply_set_typed(struct ukd_req *req, unsigned status, struct MHD_Response *r,
                            const char *ctype)
{
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, "Api-Version", UKD_API_VERSION);
	reply_set(req, status, r);
}

static void blob_release(void *cls)
{
	ukd_blob_unref(cls);
}

void ukd_reply_blob(struct ukd_req *req, unsigned status, const char *ctype, struct ukd_blob *b)
{
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(
	        b->len, b->data, blob_release, ukd_blob_ref(b));

	if (!r) {
		ukd_blob_unref(b);
		return;
	}
	reply_set_typed(req, status, r, ctype);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	ssize_t n;

	(void)pos;
	n = s->fn(s->ctx, buf, max);
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;

	if (s->free_ctx)
		s->free_ctx(s->ctx);
	free(s);
}

void ukd_reply_stream(struct ukd_req *req, unsigned status, const char *ctype, ukd_stream_fn fn,
                      void *ctx, void (*free_ctx)(void *))
{
	struct stream *s = calloc(1, sizeof(*s));
	struct MHD_Response *r;

	if (!s) {
		if (free_ctx)
			free_ctx(ctx);
		return;
	}
	*s = (struct stream){fn, ctx, free_ctx};
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, s, stream_free);
	if (!r) {
		stream_free(s);
		return;
	}
	reply_set_typed(req, status, r, ctype);
	req->streaming = 1;
}

int ukd_http_wait(int client_fd, int fd, int timeout_ms)
{
	struct pollfd p[2] = {{.fd = client_fd, .events = POLLRDHUP}, {.fd = fd, .events = POLLIN}};
	int n = poll(p, fd >= 0 ? 2 : 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	if (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
		return -1;
	return fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)) ? 1 : 0;
}

/* ---- accessors ---- */

const char *ukd_req_param(struct ukd_req *req, int i)
{
	return i < req->match.nparams ? req->match.params[i] : "";
}

const char *ukd_req_query(struct ukd_req *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *ukd_req_header(struct ukd_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int ukd_req_query_bool(struct ukd_req *req, const char *key, int def, int *out, uk_err_t *err)
{
	const char *v = ukd_req_query(req, key);

	if (!v) {
		*out = def;
		return 0;
	}
	if (!strcmp(v, "1") || !strcmp(v, "true") || !*v) {
		*out = 1;
		return 0;
	}
	if (!strcmp(v, "0") || !strcmp(v, "false")) {
		*out = 0;
		return 0;
	}
	return uk_err_bad(err, "query %s=%s: expected 0, 1, true or false", key, v);
}

int ukd_req_query_long(struct ukd_req *req, const char *key, long def, long *out, uk_err_t *err)
{
	const char *v = ukd_req_query(req, key);
	char *end;

	if (!v) {
		*out = def;
		return 0;
	}
	errno = 0;
	*out = strtol(v, &end, 10);
	if (!*v || *end || errno || *out < 0)
		return uk_err_bad(err, "query %s=%s: expected a non-negative integer", key, v);
	return 0;
}

json_object *ukd_req_json(struct ukd_req *req)
{
	return req->json;
}

const char *ukd_req_file(struct ukd_req *req)
{
	return req->body_path ? req->body_path : "";
}

size_t ukd_req_body_size(struct ukd_req *req)
{
	return req->body_len;
}

int ukd_req_client_fd(struct ukd_req *req)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	return ci ? ci->connect_fd : -1;
}

/* ---- MHD glue ---- */

static enum MHD_Result queue_reply(struct ukd_req *req)
{
	enum MHD_Result ret;

	if (!req->resp) {
		uk_err_t err = {0};
		uk_err_internal(&err, "handler produced no reply");
		ukd_reply_error(req, &err);
	}
	if (!req->resp)
		return MHD_NO;
	ret = MHD_queue_response(req->conn, req->status, req->resp);
	MHD_destroy_response(req->resp);
	req->resp = NULL;
	return ret;
}

/* A TLS connection's client, checked at its first request: the certificate cannot change on a
 * connection (libmicrohttpd does not renegotiate), and checking it costs about a millisecond. */
struct tls_conn {
	int checked, ok;
	struct ukd_peer peer;
	uk_err_t denied;
};

/* Before a connection is made (MHD's accept policy, in its one accepting thread): refused at
 * once when its address, or the listener, has too many that have not yet made a certified
 * request (http_gate.h). */
static enum MHD_Result http_tls_admit(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct ukd_http *h = cls;

	(void)len;
	return ukd_http_gate_admit(h->gate, addr) ? MHD_YES : MHD_NO;
}

/* A TLS connection counts in the gate from here (the accepting thread, right after
 * http_tls_admit) until its first certified request or its close; MHD closes the socket only
 * after the CLOSED notice, so the gate's timer may shut it down until then. */
static void http_tls_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                            enum MHD_ConnectionNotificationCode toe)
{
	struct ukd_http *h = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
		        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *addr =
		        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		*socket_context = calloc(1, sizeof(struct tls_conn));
		if (fd && addr)
			ukd_http_gate_enter(h->gate, conn, fd->connect_fd, addr->client_addr);
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		ukd_http_gate_leave(h->gate, conn);
		free(*socket_context);
		*socket_context = NULL;
	}
}

/* Fills (peer) for the TLS client of (req), or (req)'s denial; -1 when denied. A connection's
 * first certified request lets it out of the gate. */
static int http_tls_peer(struct ukd_http *h, struct ukd_req *req, struct ukd_peer *peer)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct tls_conn *tc = ci ? ci->socket_context : NULL;

	if (!tc) { /* out of memory at connect: check each request */
		if (ukd_peer_tls(req->conn, peer, &req->denied) < 0)
			return -1;
		ukd_http_gate_leave(h->gate, req->conn);
		return 0;
	}
	if (!tc->checked) {
		tc->ok = ukd_peer_tls(req->conn, &tc->peer, &tc->denied) == 0;
		tc->checked = 1;
		if (tc->ok)
			ukd_http_gate_leave(h->gate, req->conn);
	}
	*peer = tc->peer;
	if (tc->ok)
		return 0;
	req->denied = tc->denied;
	return -1;
}

/* Who may call: over TLS only clients whose certificate the CA signed, read-only ones only
 * reading. Calls that change something are logged with who made them. */
static void http_door(struct ukd_http *h, struct ukd_req *req, const char *method, const char *url)
{
	struct ukd_peer peer;
	int reads = ukd_peer_method_reads(method);

	if (h->tls && http_tls_peer(h, req, &peer) < 0) {
		log_info("http", "%s %s refused: %s", method, url, req->denied.message);
		return;
	}
	if (reads)
		return;
	if (!h->tls)
		ukd_peer_plain(req->conn, &peer);
	if (peer.readonly) {
		uk_err_set(&req->denied, 403, "forbidden",
		           "%s %s: client %s is read-only (OU=" UKD_PEER_READONLY_OU ")", method,
		           url, peer.who);
		log_info("http", "%s %s refused: %s is read-only", method, url, peer.who);
		return;
	}
	log_info("http", "%s %s by %s", method, url, peer.who);
}

/*
 * The idle timeout is for clients: one that stalls mid-request or stops reading a reply is
 * dropped. A handler that blocks (wait, stop, a build) is not the client's silence, so the
 * timeout is off while it runs and starts afresh after it (MHD restarts the timer when a
 * timeout is set on a connection that had none). Streams stay untimed: their readers watch the
 * client's socket and end when it goes away.
 */
static void handle_untimed(struct ukd_http *h, struct ukd_req *req)
{
	MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	req->route->fn(req->d, req);
	if (!req->streaming)
		MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT,
		                          h->d->cfg.http.timeout_s);
}

static enum MHD_Result header_size(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	size_t *n = cls;

	(void)kind;
	*n += strlen(key) + (value ? strlen(value) : 0) + 64; /* 64: libmicrohttpd's own cost */
	return MHD_YES;
}

/*
 * What can be refused from the request line and headers alone, before any body is read: a
 * target with a NUL or a control character (400) or too long (414), header fields too large
 * (431), no such route (404, 405), a Content-Length over the route's limit (413). Replies in
 * the JSON error shape; a request larger than libmicrohttpd's memory limit (http_start) never
 * gets here: libmicrohttpd itself answers 414 or 431.
 */
static int http_precheck(struct ukd_req *req, const char *method, const char *url, uk_err_t *err)
{
	const char *why = NULL, *cl;
	size_t hdrs = 0;
	int st;

	if ((st = ukd_router_check_target(req->target, &why)))
		return uk_err_set(err, st, st == 414 ? "too_large" : "bad_request",
		                  "%s %.200s%s: %s%s", method, req->target,
		                  strlen(req->target) > 200 ? "..." : "", why,
		                  st == 414 ? " (limit " UKD_HTTP_URL_MAX_S " bytes)" : "");
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, header_size, &hdrs);
	if (hdrs > UKD_HTTP_HEADERS_MAX)
		return uk_err_set(err, 431, "too_large",
		                  "request header fields too large: %zu bytes counting 64 for each "
		                  "field, limit %u",
		                  hdrs, UKD_HTTP_HEADERS_MAX);
	if (req->early_status == 405)
		return uk_err_set(err, 405, "method_not_allowed", "%s %s: method not allowed",
		                  method, url);
	if (req->early_status == 414)
		return uk_err_set(err, 414, "too_large", "URL too long");
	if (req->early_status)
		return uk_err_notfound(err, "%s %s: no such route (see api/openapi.yaml)", method,
		                       url);
	cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
	                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > body_limit(req->route))
		return body_too_large(req, strtoull(cl, NULL, 10), err);
	return 0;
}

static struct ukd_req *req_new(struct ukd_http *h, struct MHD_Connection *conn, const char *target)
{
	struct ukd_req *req = calloc(1, sizeof(*req));

	if (!req)
		return NULL;
	req->d = h->d;
	req->conn = conn;
	req->body_fd = -1;
	if (!(req->target = strdup(target))) {
		free(req);
		return NULL;
	}
	return req;
}

/* libmicrohttpd's URI log callback: the request target before decoding (a decoded %00 would
 * cut the path short); what it returns is the request's context for http_access. */
static void *http_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	return req_new(cls, conn, uri);
}

/* Counts the requests in flight, for a shutdown that lets them finish (ukd_http_stop). */
static void http_open_add(struct ukd_http *h, int n)
{
	pthread_mutex_lock(&h->stop_lock);
	h->open += n;
	pthread_cond_broadcast(&h->stopped);
	pthread_mutex_unlock(&h->stop_lock);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_size, void **con_cls)
{
	struct ukd_http *h = cls;
	struct ukd_req *req = *con_cls;
	uk_err_t err = {0};

	(void)version;
	if (!req && !(req = *con_cls = req_new(h, conn, url))) /* no URI callback: out of memory */
		return MHD_NO;
	if (!req->started) {
		req->started = 1;
		http_open_add(h, 1);
		ukd_router_match(ukd_routes, method, url, &req->match);
		req->route = req->match.route;
		req->early_status = (unsigned)req->match.status;
		log_debug("http", "%s %s", method, req->target);
		http_door(h, req, method, req->target);
		if (req->denied.status)
			err = req->denied;
		else if (h->d->stopping)
			uk_err_set(&err, 503, "unavailable",
			           "ukd is shutting down: try again once it is back");
		else
			http_precheck(req, method, url, &err);
		if (!err.status)
			return MHD_YES;
		/* at once, before any body: a client that sent Expect: 100-continue gets the
		 * refusal instead of the go-ahead, and a body is never read to be thrown away */
		ukd_reply_error(req, &err);
		return queue_reply(req);
	}
	if (*upload_size) {
		body_append(req, upload_data, *upload_size);
		*upload_size = 0;
		/* a body without a length (chunked) past the limit is not read on: libmicrohttpd
		 * cannot reply mid-body, so queue_reply fails and the connection is closed */
		if (!req->too_large)
			return MHD_YES;
	}
	if (req->route->body == UKD_BODY_NONE) {
		if (req->too_large)
			body_too_large(req, req->body_len, &err);
	} else {
		body_finish(req, &err);
	}
	if (err.status)
		ukd_reply_error(req, &err);
	else
		handle_untimed(h, req);
	return queue_reply(req);
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
	struct ukd_req *req = *con_cls;

	(void)conn, (void)toe;
	if (!req)
		return;
	if (req->started) /* counted by http_access; the URI callback made it before that */
		http_open_add(cls, -1);
	ukd_router_clear(&req->match);
	free(req->target);
	free(req->body);
	if (req->body_fd >= 0)
		close(req->body_fd);
	if (req->body_path)
		unlink(req->body_path);
	free(req->body_path);
	json_object_put(req->json);
	if (req->resp)
		MHD_destroy_response(req->resp);
	free(req);
	*con_cls = NULL;
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[1024];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	log_debug("mhd", "%s", msg);
}

/* ---- listeners ---- */

static int listen_unix(struct ukd_http *h, const char *path, uk_err_t *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	char dir[PATH_MAX];
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return uk_err_bad(err, "unix socket path %s: longer than %zu bytes", path,
		                  sizeof(sa.sun_path) - 1);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	if (strrchr(dir, '/') && strrchr(dir, '/') != dir) {
		*strrchr(dir, '/') = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return uk_err_errno(err, errno, "create directory %s", dir);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return uk_err_errno(err, errno, "socket");
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return uk_err_conflict(err, "%s exists and is not a socket", path);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return uk_err_conflict(err, "%s: another daemon is listening there", path);
		unlink(path); /* stale socket of a daemon that died */
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return uk_err_errno(err, errno, "socket");
	}
	/* bound, given its mode and listening under a temporary name, then renamed into place: a
	 * client that sees (path) can connect (no refusal between bind and listen) */
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.new", path) >= (int)sizeof(sa.sun_path))
		return uk_err_bad(err, "unix socket path %s: longer than %zu bytes", path,
		                  sizeof(sa.sun_path) - 5);
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return uk_err_errno(err, errno, "bind %s", sa.sun_path);
	/* 0660: the owner (root, normally) and the socket's group (uk) may call ukd */
	if (h->d->cfg.sock_gid >= 0 &&
	    chown(sa.sun_path, (uid_t)-1, (gid_t)h->d->cfg.sock_gid) < 0) {
		uk_err_errno(err, errno, "give %s to group %ld", path, h->d->cfg.sock_gid);
		unlink(sa.sun_path);
		return -1;
	}
	if (chmod(sa.sun_path, 0660) < 0 || listen(fd, 128) < 0 || rename(sa.sun_path, path) < 0) {
		uk_err_errno(err, errno, "listen on %s", path);
		unlink(sa.sun_path);
		return -1;
	}
	snprintf(h->unix_path, sizeof(h->unix_path), "%s", path);
	return ({
		int r = fd;
		fd = -1;
		r;
	});
}

static int listen_tcp(const char *addr, uk_err_t *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char ip[64];
	const char *colon = strrchr(addr, ':');
	_cleanup_close_ int fd = -1;
	int one = 1;
	long port;
	char *end;

	if (!colon || (size_t)(colon - addr) >= sizeof(ip))
		return uk_err_bad(err, "tcp://%s: expected tcp://IP:PORT", addr);
	snprintf(ip, sizeof(ip), "%.*s", (int)(colon - addr), addr);
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return uk_err_bad(err, "tcp://%s: expected tcp://IPv4:PORT", addr);
	sa.sin_port = htons((uint16_t)port);
	/* ukd_config_load refused a non-loopback address without TLS */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return uk_err_errno(err, errno, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0)
		return uk_err_errno(err, errno, "listen on tcp://%s", addr);
	return ({
		int r = fd;
		fd = -1;
		r;
	});
}

/* libmicrohttpd's TLS options for (h): the server's certificate and key, and the CA whose
 * client certificates it asks for (http_door refuses the rest). */
static void http_tls_options(struct ukd_http *h, struct MHD_OptionItem *o)
{
	const struct ukd_config *cfg = &h->d->cfg;

	if (!h->tls) {
		o[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
		return;
	}
	o[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, cfg->tls_key_pem};
	o[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cfg->tls_cert_pem};
	o[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, cfg->tls_ca_pem};
	o[3] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)http_tls_notify, h};
	o[4] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

/* The TLS listener's gate (http_gate.h): its total stays at most half of max-connections, so
 * that connections still in their handshake never take every slot from certified clients. */
static int http_gate_start(struct ukd_http *h, uk_err_t *err)
{
	const struct ukd_config *cfg = &h->d->cfg;
	unsigned half = cfg->http.max_connections / 2 ? cfg->http.max_connections / 2 : 1;

	h->gate_limits = (struct ukd_http_gate_limits){
	        .timeout_s = cfg->http.handshake_timeout_s,
	        .max = cfg->http.max_handshakes < half ? cfg->http.max_handshakes : half,
	        .per_ip = cfg->http.max_handshakes_per_ip,
	};
	h->gate = ukd_http_gate_new(&h->gate_limits, err);
	return h->gate ? 0 : -1;
}

struct ukd_http *ukd_http_start(struct ukd *d, const char *host, uk_err_t *err)
{
	struct ukd_http *h = calloc(1, sizeof(*h));
	struct MHD_OptionItem tls_opts[5];
	int fd;

	if (!h) {
		uk_err_errno(err, ENOMEM, "listen on %s", host);
		return NULL;
	}
	h->d = d;
	h->quiesced_fd = -1;
	pthread_mutex_init(&h->stop_lock, NULL);
	pthread_cond_init(&h->stopped, NULL);
	snprintf(h->host, sizeof(h->host), "%s", host);
	if (!strncmp(host, "unix://", 7))
		fd = listen_unix(h, host + 7, err);
	else
		fd = listen_tcp(host + 6, err);
	h->tls = d->cfg.tlsverify && strncmp(host, "unix://", 7);
	http_tls_options(h, tls_opts);
	if (fd < 0 || (h->tls && http_gate_start(h, err) < 0)) {
		if (fd >= 0)
			close(fd);
		free(h);
		return NULL;
	}
	/* poll, not select, in every connection's thread: select cannot watch a descriptor above
	 * 1023, and ukd raises its open-files limit (main.c) to hold max-connections */
	h->mhd = MHD_start_daemon(
	        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	                MHD_USE_ITC | MHD_USE_ERROR_LOG | (h->tls ? MHD_USE_TLS : 0),
	        0, h->tls ? http_tls_admit : NULL, h, http_access, h, MHD_OPTION_ARRAY, tls_opts,
	        MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h, MHD_OPTION_LISTEN_SOCKET, fd,
	        MHD_OPTION_NOTIFY_COMPLETED, http_completed, h, MHD_OPTION_URI_LOG_CALLBACK,
	        http_uri, h, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)UKD_HTTP_MHD_MEMORY,
	        MHD_OPTION_CONNECTION_TIMEOUT, d->cfg.http.timeout_s, MHD_OPTION_CONNECTION_LIMIT,
	        d->cfg.http.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	        d->cfg.http.max_per_ip, MHD_OPTION_END);
	if (!h->mhd) {
		close(fd);
		ukd_http_gate_free(h->gate);
		if (h->unix_path[0])
			unlink(h->unix_path);
		uk_err_internal(
		        err, "libmicrohttpd could not start on %s%s", host,
		        h->tls ? " (check that --tlscert and --tlskey are a PEM certificate "
		                 "and its key, --tlscacert a PEM CA)"
		               : "");
		free(h);
		return NULL;
	}
	if (h->tls)
		log_info("http",
		         "listening on %s (TLS, client certificates; before a certified request: "
		         "%u connections per address, %u in all, %u s each)",
		         host, h->gate_limits.per_ip, h->gate_limits.max, h->gate_limits.timeout_s);
	else
		log_info("http", "listening on %s", host);
	return h;
}

/* What MHD_stop_daemon gets of ukd_http_stop's time, at least: closing the connections. */
#define HTTP_STOP_RESERVE_NS 200000000LL

void ukd_http_quiesce(struct ukd_http *h)
{
	if (!h)
		return;
	h->quiesced_fd = MHD_quiesce_daemon(h->mhd);
	if (h->unix_path[0])
		unlink(h->unix_path);
	h->unix_path[0] = 0;
}

static void *http_stopper(void *p)
{
	struct ukd_http *h = p;

	MHD_stop_daemon(h->mhd);
	pthread_mutex_lock(&h->stop_lock);
	h->stop_done = 1;
	pthread_cond_signal(&h->stopped);
	pthread_mutex_unlock(&h->stop_lock);
	return NULL;
}

/*
 * The requests in flight finish first, with their replies (streams end once d->stopping is set;
 * a start that shutdown interrupts answers 503): MHD_stop_daemon cuts every connection. It also
 * joins every connection's thread, and a handler blocked in a call that does not return (libvirt
 * waiting on a QEMU that never answers) would hold ukd forever: it runs on its own thread,
 * waited for until (until); if it does not finish, (h) stays allocated for it.
 */
int ukd_http_stop(struct ukd_http *h, int64_t until)
{
	struct timespec ts = {until / 1000000000, until % 1000000000};
	int64_t drain = until - HTTP_STOP_RESERVE_NS;
	struct timespec dts = {drain / 1000000000, drain % 1000000000};
	pthread_t t;
	int done;

	if (!h)
		return 0;
	pthread_mutex_lock(&h->stop_lock);
	while (h->open > 0 && pthread_cond_timedwait(&h->stopped, &h->stop_lock, &dts) == 0)
		;
	pthread_mutex_unlock(&h->stop_lock);
	if (pthread_create(&t, NULL, http_stopper, h) != 0)
		http_stopper(h);
	else
		pthread_detach(t);
	pthread_mutex_lock(&h->stop_lock);
	while (!h->stop_done && pthread_cond_timedwait(&h->stopped, &h->stop_lock, &ts) == 0)
		;
	done = h->stop_done;
	pthread_mutex_unlock(&h->stop_lock);
	if (!done) {
		log_warn("http", "%s: requests still running; not waiting for them", h->host);
		return -1;
	}
	ukd_http_gate_free(h->gate);
	if (h->quiesced_fd >= 0)
		close(h->quiesced_fd);
	if (h->unix_path[0])
		unlink(h->unix_path);
	pthread_mutex_destroy(&h->stop_lock);
	pthread_cond_destroy(&h->stopped);
	free(h);
	return 0;
}
