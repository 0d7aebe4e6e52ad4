/* The uk client library: speaks ukd's REST API (docs/api.md) over a unix socket or TCP with
 * libcurl. */
#ifndef UK_CLIENT_H
#define UK_CLIENT_H

#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "uk/error.h"
#include "uk/json.h"

/* The daemon's address when neither -H nor UK_HOST says otherwise. */
#define UK_CLIENT_DEFAULT_HOST "unix:///run/uk/ukd.sock"

typedef struct uk_client uk_client_t;

/*
 * Parses (host) ("unix:///abs/path", "tcp://HOST:PORT"; NULL means UK_CLIENT_DEFAULT_HOST)
 * and returns a client; no connection is made yet. NULL and (err) 400 on a malformed host.
 */
uk_client_t *uk_client_new(const char *host, uk_err_t *err);

/* TLS for a tcp:// daemon (docs/security.md): PEM files, NULL for none. */
typedef struct uk_client_tls {
	int verify;       /* check the daemon's certificate against (ca) and its name */
	const char *ca;   /* CA bundle that signed the daemon's certificate (needed to verify) */
	const char *cert; /* client certificate the daemon checks; with (key) */
	const char *key;
} uk_client_tls_t;

/*
 * Makes (c) speak HTTPS with (tls) when its host is tcp://; a unix socket ignores it (the
 * kernel authenticates the peer). Fails with (err) 400 when a named file cannot be read or
 * only one of (cert) and (key) is given, or (verify) has no (ca).
 */
int uk_client_set_tls(uk_client_t *c, const uk_client_tls_t *tls, uk_err_t *err);

/* Frees (c); NULL is a no-op. */
void uk_client_free(uk_client_t *c);

/* The host string (c) was made with, normalised ("unix:///run/uk/ukd.sock"). */
const char *uk_client_host(const uk_client_t *c);

/*
 * Sets a flag that streaming calls poll (about every 100 ms): when *(flag) becomes
 * non-zero they stop and fail with code "interrupted". Meant for signal handlers.
 */
void uk_client_set_interrupt(uk_client_t *c, volatile int *flag);

/*
 * Bounds each later request of (c) to (ms) in all (0: no bound, the default); one that has not
 * finished by then fails with code "timeout" (status 504). For calls that must not wait on a
 * daemon that never answers (uk run after a signal).
 */
void uk_client_set_timeout(uk_client_t *c, long ms);

/*
 * When the next request of (c) has had no answer for (ms), calls (cb)(c, ud) once, from inside
 * that request (it MAY make requests of its own on (c)); the setting is then spent. For a CLI
 * that says what a long wait waits for. (cb) NULL cancels it.
 */
typedef void (*uk_client_slow_cb)(uk_client_t *c, void *ud);
void uk_client_set_slow(uk_client_t *c, long ms, uk_client_slow_cb cb, void *ud);

/*
 * Sends "(name): (value)" with every later request of (c) (one such header; a later call
 * replaces it, (name) NULL removes it). For X-Registry-Auth: the copy is wiped when replaced
 * or freed. -1 when out of memory.
 */
int uk_client_set_header(uk_client_t *c, const char *name, const char *value);

/* A request body: none, bytes in memory, or an fd read to its end (size -1 = unknown: chunked). */
typedef struct uk_body {
	const char *content_type; /* NULL: application/json when there is a body */
	const void *data;         /* memory body (not owned) */
	size_t len;
	int fd;     /* file body when >= 0 (not closed); ignored when data is set */
	off_t size; /* the fd's byte count, or -1 */
} uk_body_t;

/* Initialisers for the three kinds of body. */
#define UK_BODY_NONE ((uk_body_t){.fd = -1, .size = -1})
#define UK_BODY_JSON(str) ((uk_body_t){.data = (str), .len = strlen(str), .fd = -1, .size = -1})
#define UK_BODY_FD(f, sz, type) ((uk_body_t){.content_type = (type), .fd = (f), .size = (sz)})

/*
 * Sends (method) (path) (starting "/v1/..." with any query already escaped) with (body)
 * (NULL = none) and waits for the whole answer. On a 2xx answer returns 0, stores the
 * status in *(status) (may be NULL) and the parsed JSON body in *(out) (may be NULL; set to
 * NULL for empty or non-JSON bodies; the caller owns it). On 304 also returns 0.
 * Otherwise returns -1 and fills (err): status 503, code "unreachable" and a "cannot connect
 * ... Is ukd running?" message when the daemon cannot be reached; else the HTTP status, the
 * server's code and "<server message> (status N)"; code "interrupted" after the flag.
 */
int uk_client_call(uk_client_t *c, const char *method, const char *path, const uk_body_t *body,
                   long *status, json_object **out, uk_err_t *err);

/*
 * Raw data callback for streams: called with each piece of the answer body as it arrives.
 * Return 0 to go on, non-zero to stop the transfer (the call then returns 0: a stop the
 * caller asked for is not an error).
 */
typedef int (*uk_client_data_cb)(const char *data, size_t len, void *ud);

/* JSON lines callback: called with each parsed line (borrowed: put it if you keep it). */
typedef int (*uk_client_json_cb)(json_object *obj, void *ud);

/*
 * Like uk_client_call but hands a 2xx body to (cb) as it streams (chunked answers:
 * logs follow, events, save). Error answers are collected and returned in (err) as above.
 */
int uk_client_stream(uk_client_t *c, const char *method, const char *path, const uk_body_t *body,
                     uk_client_data_cb cb, void *ud, uk_err_t *err);

/*
 * Like uk_client_stream for answers made of JSON lines (build, load, events): splits the
 * body at newlines and hands each parsed object to (cb). A line that is not JSON fails with
 * (err) 500 "bad_response"; blank lines are skipped.
 */
int uk_client_stream_json(uk_client_t *c, const char *method, const char *path,
                          const uk_body_t *body, uk_client_json_cb cb, void *ud, uk_err_t *err);

/*
 * Incremental JSON-lines splitter, exposed for tests and fuzzing: feed bytes with
 * uk_jsonl_feed (calls (cb) per complete line), finish with uk_jsonl_finish (handles a
 * last line without newline). Both return -1 with (err) on a bad line, 1 if (cb) stopped.
 */
typedef struct uk_jsonl {
	char *buf;
	size_t len, cap;
	uk_client_json_cb cb;
	void *ud;
} uk_jsonl_t;
void uk_jsonl_init(uk_jsonl_t *s, uk_client_json_cb cb, void *ud);
int uk_jsonl_feed(uk_jsonl_t *s, const char *data, size_t len, uk_err_t *err);
int uk_jsonl_finish(uk_jsonl_t *s, uk_err_t *err);
void uk_jsonl_release(uk_jsonl_t *s);

/* Percent-encodes (s) for use in a path segment or query value; the caller frees. */
char *uk_client_escape(const char *s);

/* Cleanup helpers for locals. */
static inline void uk_client_freep(uk_client_t **p)
{
	uk_client_free(*p);
}
#define _cleanup_client_ __attribute__((cleanup(uk_client_freep)))

#endif
