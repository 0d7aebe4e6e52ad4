/* What a route handler sees of ukd's HTTP layer: the route table's types, the request (its
 * parameters, query, headers and body, with their limits) and the replies. http.c implements it. */
#ifndef UKD_REQ_H
#define UKD_REQ_H

#include <json-c/json.h>
#include <stddef.h>
#include <sys/types.h>

#include "ukd.h"

#define UKD_HTTP_JSON_MAX (1u << 20)   /* JSON request bodies */
#define UKD_HTTP_FILE_MAX (2ull << 30) /* spooled uploads (build context, load) */
#define UKD_HTTP_NOBODY_MAX 65536u     /* ignored bodies of routes that take none */
#define UKD_HTTP_URL_MAX 8192u         /* the request target, query included: 414 above */
#define UKD_HTTP_URL_MAX_S "8192"
#define UKD_HTTP_HEADERS_MAX 16384u /* header fields, 64 bytes counted for each: 431 above */
/* libmicrohttpd's memory per connection (its default is 32 KiB): room for a request at the two
 * limits above, so ukd answers those in JSON; past it libmicrohttpd answers (HTML) itself. */
#define UKD_HTTP_MHD_MEMORY (64u << 10)

enum ukd_body { UKD_BODY_NONE, UKD_BODY_JSON, UKD_BODY_FILE };

struct ukd_req;
typedef void (*ukd_handler_fn)(struct ukd *d, struct ukd_req *req);

/* A route: (pattern) segments are literal, "{}" (one segment) or "{*}" (one or more, for image
 * references holding slashes). The first route whose pattern and method match wins. */
struct ukd_route {
	const char *method;
	const char *pattern;
	enum ukd_body body;
	ukd_handler_fn fn;
};

/* Stream reader: fills (buf) with up to (max) bytes; returns the count, 0 at the end, -1 on error.
 * It may block; use ukd_http_wait() so a client that went away ends the stream. */
typedef ssize_t (*ukd_stream_fn)(void *ctx, char *buf, size_t max);

/* Request accessors. */
const char *ukd_req_param(struct ukd_req *req, int i); /* i-th "{}" capture */
const char *ukd_req_query(struct ukd_req *req, const char *key);
const char *ukd_req_header(struct ukd_req *req, const char *name); /* NULL when absent */
/* Parses a 0/1/true/false query (absent → (def)); -1 with (err) on a bad value. */
int ukd_req_query_bool(struct ukd_req *req, const char *key, int def, int *out, uk_err_t *err);
/* Parses a non-negative integer query (absent → (def)). */
int ukd_req_query_long(struct ukd_req *req, const char *key, long def, long *out, uk_err_t *err);
json_object *ukd_req_json(struct ukd_req *req); /* parsed JSON body (BODY_JSON) or NULL */
const char *ukd_req_file(struct ukd_req *req);  /* spooled body path (BODY_FILE) */
size_t ukd_req_body_size(struct ukd_req *req);
int ukd_req_client_fd(struct ukd_req *req);

/* Replies; each takes ownership of what it is given. */
void ukd_reply_json(struct ukd_req *req, unsigned status, json_object *obj);
void ukd_reply_error(struct ukd_req *req, const uk_err_t *err);
void ukd_reply_status(struct ukd_req *req, unsigned status);
void ukd_reply_text(struct ukd_req *req, unsigned status, const char *ctype, const char *text);
void ukd_reply_fd(struct ukd_req *req, unsigned status, const char *ctype, int fd, size_t size);
struct ukd_blob;
/* Replies with the shared body (b) (blob.h) without copying it; takes a reference of its own. */
void ukd_reply_blob(struct ukd_req *req, unsigned status, const char *ctype, struct ukd_blob *b);
void ukd_reply_stream(struct ukd_req *req, unsigned status, const char *ctype, ukd_stream_fn fn,
                      void *ctx, void (*free_ctx)(void *));

/* Waits up to (timeout_ms) for (fd) (may be -1) to become readable while watching the client's
 * socket (client_fd). Returns 1 readable, 0 timeout, -1 the client hung up. */
int ukd_http_wait(int client_fd, int fd, int timeout_ms);

#endif
