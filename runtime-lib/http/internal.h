/* Interfaces between the files of runtime-lib/http (parser, core, server, files); not public. */
#ifndef UK_HTTP_INTERNAL_H
#define UK_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <uk/http.h>

/* A growing, always NUL-terminated byte buffer; (oom) sticks after a failed allocation. */
struct http_buf {
	char *p;
	size_t len, cap;
	int oom;
};
void http_buf_put(struct http_buf *b, const void *s, size_t n);
void http_buf_str(struct http_buf *b, const char *s);
void http_buf_uint(struct http_buf *b, uint64_t v);
void http_buf_date(struct http_buf *b, uint64_t secs);
void http_buf_free(struct http_buf *b);

/* Nonzero when (s, n) is a non-empty token (RFC 9110 5.6.2). */
int http_is_token(const char *s, size_t n);

/*
 * Parses a complete request head (head, len), which ends with an empty line,
 * in place (NULs replace line ends). Fills (req)'s method, target, path,
 * query, version and headers; (*hdrs) and (*path) are allocated (the caller
 * frees them, also on failure). Sets (*keep_alive) from the version and
 * Connection. Returns 0, or the status to answer with: 400 (malformed, no or
 * several Host in HTTP/1.1, bad percent-encoding, NUL, ".." segment), 431 (more
 * than max_headers fields), 417 (an Expect other than 100-continue), 505
 * (HTTP major version other than 1), 500 (no memory).
 */
int http_parse_head(char *head, size_t len, const struct uk_http_options *o,
                    struct uk_http_request *req, struct uk_http_header **hdrs, char **path,
                    int *keep_alive);

#define HTTP_BODY_NONE 0
#define HTTP_BODY_LENGTH 1 /* (*length) bytes follow */
#define HTTP_BODY_CHUNKED 2
/* How (req)'s body is framed (RFC 9112 6.3): one of the above, or a status: 400 (bad or
 * conflicting Content-Length, Transfer-Encoding with Content-Length or in HTTP/1.0), 413
 * (Content-Length above max_body), 501 (a transfer coding other than chunked). */
int http_body_kind(const struct uk_http_request *req, const struct uk_http_options *o,
                   uint64_t *length);

/* Nonzero when (req) carries "Expect: 100-continue". */
int http_expects_continue(const struct uk_http_request *req);

/* Parses a chunk-size line (p, n), without its LF: hex digits, optional extensions. Returns 0
 * and sets (*size); 400 when malformed; 413 when the size overflows 64 bits. */
int http_parse_chunk_size(const char *p, size_t n, uint64_t *size);

/* Nonzero when the trailer line (p, n) (no LF) is not a well-formed field. */
int http_check_trailer(const char *p, size_t n);

/* Percent-decodes the path (s, n) into a new string (*out): 0, or 400 for a bad escape, a
 * decoded NUL or a ".." segment, 500 without memory. */
int http_decode_path(const char *s, size_t n, char **out);

/* Appends (s), percent-encoding every byte outside unreserved characters and "/". */
void http_buf_path(struct http_buf *b, const char *s);

#endif
