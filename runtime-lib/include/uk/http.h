/* The HTTP/1.1 server library of runtime-lib (libuk-http.a, -lhttp): protocol core, handlers,
 * files. */
#ifndef UK_HTTP_H
#define UK_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "uk.h"

/*
 * Contract. Three layers, usable separately:
 *
 *  1. The protocol core (struct uk_http_conn): one HTTP/1.1 connection as a
 *     state machine with no I/O of its own. Bytes go in with
 *     uk_http_conn_feed(); response bytes come out of uk_http_conn_output().
 *     It parses requests (RFC 9112), calls the handler once per request, in
 *     order (pipelined requests are answered in the order they came), and
 *     writes responses. It never blocks and allocates only from the heap.
 *  2. The server (struct uk_http_server): the core driven by the socket API of
 *     uk/net.h (needs -lnet): a listener, one core per connection, timeouts.
 *  3. uk_http_serve_files(): a handler serving the files embedded with
 *     ukcc --embed (uk/files.h).
 *
 * The core answers on its own, and then closes the connection, when a request
 * is malformed (400), its request line is too long (414), its header section
 * is too large or has too many fields (431), its body is too large (413), it
 * uses a transfer coding other than chunked (501) or an HTTP major version
 * other than 1 (505). Everything else reaches the handler. Handlers run inside
 * uk_http_conn_feed() (for the server: inside uk_net_poll()) and MUST NOT
 * block.
 */

/* Limits and options; uk_http_options_default() fills the defaults in brackets. */
struct uk_http_options {
	size_t max_request_line;  /* bytes of "METHOD target HTTP/1.1"; 414 beyond [4096] */
	size_t max_header_bytes;  /* bytes of the request line and header fields; 431 beyond [8192]
	                           */
	size_t max_headers;       /* header fields; 431 beyond [64] */
	size_t max_body;          /* request body bytes after de-chunking; 413 beyond [1 MiB] */
	size_t max_output;        /* response bytes copied and waiting to be sent before pipelined
	                             requests wait their turn [256 KiB] */
	uint32_t idle_timeout_ms; /* server: close a connection idle between requests [30000] */
	uint32_t request_timeout_ms; /* server: a request's head and body must arrive within [30000]
	                              */
	uint32_t max_conns;          /* server: connections at once; more are refused [1024] */
	int date;                    /* nonzero: send a Date header (uk_time_wall_ns) [1] */
	const char *server;          /* Server header; NULL sends none ["uk"] */
};

void uk_http_options_default(struct uk_http_options *o);

struct uk_http_header {
	const char *name;  /* as received (case preserved); compare with strcasecmp */
	const char *value; /* leading and trailing blanks removed */
};

/* One request as the handler sees it. Every pointer is valid until the handler returns. */
struct uk_http_request {
	const char *method; /* "GET", case-sensitive as RFC 9110 says */
	const char *target; /* the request-target as sent: "/a%20b?x=1" */
	const char *path;   /* the target's path, percent-decoded: "/a b" (never holds NUL or a
	                       ".." segment: such requests get 400); "*" for OPTIONS * */
	const char *query;  /* after '?', not decoded; NULL when there is none */
	int version_minor;  /* 0 for HTTP/1.0, 1 for HTTP/1.1 (and later 1.x) */
	const struct uk_http_header *headers;
	size_t n_headers;
	const unsigned char *body; /* (body_len) bytes, then a NUL; "" without a body */
	size_t body_len;
};

/* The value of the first header field named (name) (case-insensitive), or NULL. */
const char *uk_http_request_header(const struct uk_http_request *req, const char *name);

/* The standard reason phrase of (status) ("Not Found"), or "Unknown". */
const char *uk_http_reason(int status);

/*
 * A response under construction; owned by the core. A handler adds header
 * fields, then calls exactly one uk_http_respond*() function. A handler that
 * returns without responding gets 500. Content-Length, Connection, Date and
 * Server are written by the core; for HEAD requests the body is not sent (its
 * Content-Length still is); 1xx, 204 and 304 responses never carry a body.
 */
struct uk_http_response;

/*
 * Adds the field "(name): (value)". (name) MUST be a token and (value) MUST
 * NOT hold CR, LF or NUL; both are copied. Returns UK_OK; UK_EINVAL for a
 * bad field or after the response was sent; UK_ENOMEM.
 */
uk_result_t uk_http_response_header(struct uk_http_response *r, const char *name,
                                    const char *value);

/*
 * Sends the response: (status) 200..599, (content_type) (NULL: no
 * Content-Type) and (len) bytes of (body), which are copied. Returns UK_OK;
 * UK_EINVAL when already responded or (status) is out of range; UK_ENOMEM
 * (the connection then closes).
 */
uk_result_t uk_http_respond(struct uk_http_response *r, int status, const char *content_type,
                            const void *body, size_t len);

/* Like uk_http_respond(), but (body) is not copied: it MUST stay valid and unchanged for the
 * rest of the run (static data, embedded files). */
uk_result_t uk_http_respond_static(struct uk_http_response *r, int status, const char *content_type,
                                   const void *body, size_t len);

/* Sends (status) with a short text/plain body: "404 Not Found\n". */
uk_result_t uk_http_respond_error(struct uk_http_response *r, int status);

/* Asks the core to close the connection after this response (adds "Connection: close"). */
void uk_http_response_close(struct uk_http_response *r);

/* Called once per request; (ctx) is what was given with the handler. */
typedef void (*uk_http_handler_t)(void *ctx, const struct uk_http_request *req,
                                  struct uk_http_response *resp);

/* --- 1. the protocol core --- */

struct uk_http_conn;

/* A new connection state; (o) NULL means the defaults, else it MUST outlive the connection.
 * Returns NULL when memory is short. */
struct uk_http_conn *uk_http_conn_new(const struct uk_http_options *o, uk_http_handler_t handler,
                                      void *ctx);

/* Frees (c) and everything it holds. NULL is a no-op. */
void uk_http_conn_free(struct uk_http_conn *c);

/*
 * Takes (len) bytes the peer sent and processes every request they complete,
 * calling the handler. Always takes all bytes (call it only while
 * uk_http_conn_wants_input() says so, to keep memory bounded). Returns UK_OK,
 * or UK_ENOMEM (the connection is then done).
 */
uk_result_t uk_http_conn_feed(struct uk_http_conn *c, const void *data, size_t len);

/* The peer closed its sending side: a request cut short is dropped; the connection is done
 * once the responses already queued are sent. */
void uk_http_conn_eof(struct uk_http_conn *c);

/* Nonzero when (c) wants more input: not closing, and not paused because too many response
 * bytes wait (see max_output). */
int uk_http_conn_wants_input(const struct uk_http_conn *c);

/* Sets (*data) to the next response bytes to send and returns their count (0: nothing
 * waiting). The bytes stay valid until the next call on (c). */
size_t uk_http_conn_output(struct uk_http_conn *c, const void **data);

/* Marks (n) bytes of the last uk_http_conn_output() as sent (n MUST NOT exceed its count).
 * May resume paused pipelined requests and call the handler. */
void uk_http_conn_consume(struct uk_http_conn *c, size_t n);

/* Nonzero when the connection should be closed now: it was asked to close (Connection:
 * close, HTTP/1.0, an error, EOF) and every response byte was handed out and consumed. */
int uk_http_conn_done(const struct uk_http_conn *c);

/* The I/O side gave up waiting (a timeout): answers 408 and closes when a request was under
 * way, closes quietly between requests. */
void uk_http_conn_timeout(struct uk_http_conn *c);

/* Nonzero between requests: no request partly received and no output waiting. */
int uk_http_conn_idle(const struct uk_http_conn *c);

/* Requests answered so far on (c) (by the handler or by the core). */
uint64_t uk_http_conn_requests(const struct uk_http_conn *c);

/* --- 2. the server over uk/net.h (link -lnet too) --- */

struct uk_http_server;

/*
 * Listens on TCP (port) and answers every request with (handler)(ctx, ...),
 * with the default options. The network stack MUST be initialized
 * (uk_net_init or uk_net_configure_from_options). Returns NULL when the port
 * cannot be listened on or memory is short.
 */
struct uk_http_server *uk_http_server_new(uint16_t port, uk_http_handler_t handler, void *ctx);

/* Uses (o) (copied) for the connections accepted from now on. */
void uk_http_server_set_options(struct uk_http_server *s, const struct uk_http_options *o);

/* Runs the server's event loop (uk_net_poll) forever, or until uk_net_poll fails; returns
 * that error. Several servers (ports) MAY share the loop: run any one of them. */
uk_result_t uk_http_server_run(struct uk_http_server *s);

/* Enforces the timeouts; call it from an application's own uk_net_poll() loop instead of
 * uk_http_server_run (at least once a second). */
void uk_http_server_tick(struct uk_http_server *s);

/* Connections open now, and requests answered since the start. */
size_t uk_http_server_conns(const struct uk_http_server *s);
uint64_t uk_http_server_requests(const struct uk_http_server *s);

/* Stops listening and aborts every connection, then frees (s). NULL is a no-op. */
void uk_http_server_free(struct uk_http_server *s);

/* --- 3. embedded files --- */

struct uk_http_files {
	const char *root;      /* the embedded directory served at "/", e.g. "/www"; NULL: "/" */
	const char *not_found; /* the page sent with 404, e.g. "/www/404.html"; NULL: plain text */
	const char *cache_control; /* Cache-Control value for 200 and 304; NULL: none */
};

/*
 * A handler (ctx: a const struct uk_http_files *; NULL: root "/") serving the
 * embedded files: GET and HEAD (others get 405 with "Allow: GET, HEAD"),
 * Content-Type by extension, a strong ETag and 304 Not Modified when
 * If-None-Match matches it, DIR/index.html for a path ending in "/", a 301
 * redirect from "/dir" to "/dir/" for a directory, 404 otherwise.
 */
void uk_http_serve_files(void *ctx, const struct uk_http_request *req,
                         struct uk_http_response *resp);

#endif
