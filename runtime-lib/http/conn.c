/* The HTTP/1.1 protocol core: request parsing, bodies, pipelining and responses, without I/O. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uk/http.h>

#include "http/internal.h"

#define INLINE_BODY 4096    /* bodies up to this size share the header's buffer */
#define MAX_SEGS 256        /* output segments waiting before pipelined requests pause */
#define MAX_CHUNK_LINE 4096 /* a chunk-size line with its extensions */

static const struct uk_http_options defaults = {
        .max_request_line = 4096,
        .max_header_bytes = 8192,
        .max_headers = 64,
        .max_body = 1 << 20,
        .max_output = 256 << 10,
        .idle_timeout_ms = 30000,
        .request_timeout_ms = 30000,
        .max_conns = 1024,
        .date = 1,
        .server = "uk",
};

void uk_http_options_default(struct uk_http_options *o)
{
	*o = defaults;
}

enum state {
	ST_HEAD,       /* waiting for a request's head */
	ST_BODY,       /* Content-Length body: (remaining) bytes to come */
	ST_CHUNK_SIZE, /* chunked: a chunk-size line */
	ST_CHUNK_DATA, /* chunked: (remaining) bytes of chunk data */
	ST_CHUNK_END,  /* chunked: the CRLF after chunk data */
	ST_TRAILER,    /* chunked: trailer fields up to an empty line */
	ST_CLOSED,     /* no more requests on this connection */
};

struct seg {
	const char *p;
	size_t len;
	char *own; /* freed once sent; NULL for static bytes */
};

struct uk_http_conn {
	const struct uk_http_options *o;
	uk_http_handler_t handler;
	void *ctx;
	enum state st;
	/* bytes received and not yet parsed: in[in_off, in_len) */
	char *in;
	size_t in_off, in_len, in_cap;
	size_t scan; /* where the search for the head's end resumes, from in_off */
	/* the request being received */
	char *head; /* its head, parsed in place */
	struct uk_http_header *hdrs;
	char *path;
	struct uk_http_request req;
	int keep_alive;
	uint64_t remaining;
	size_t trailer_bytes;
	struct http_buf body;
	/* response bytes waiting: out[out_first, out_n) */
	struct seg *out;
	size_t out_first, out_n, out_cap, out_owned;
	int closing; /* no more requests: close once the output is sent */
	int eof;     /* the peer sent everything it will */
	int busy;    /* inside process(): no reentry */
	uint64_t nreq;
};

struct uk_http_response {
	struct uk_http_conn *c;
	struct http_buf fields; /* extra header lines */
	int minor, head, close, done;
};

/* --- small helpers --- */

void http_buf_put(struct http_buf *b, const void *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void http_buf_str(struct http_buf *b, const char *s)
{
	http_buf_put(b, s, strlen(s));
}

void http_buf_uint(struct http_buf *b, uint64_t v)
{
	char d[24];
	int i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	http_buf_put(b, d + i, sizeof(d) - i);
}

void http_buf_free(struct http_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

const char *uk_http_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Range Not Satisfiable";
	case 417:
		return "Expectation Failed";
	case 426:
		return "Upgrade Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

/* Appends an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") for (secs) since the epoch. */
void http_buf_date(struct http_buf *b, uint64_t secs)
{
	static const char wd[] = "ThuFriSatSunMonTueWed",
	                  mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	uint64_t days = secs / 86400, sod = secs % 86400;
	/* civil_from_days (H. Hinnant's algorithm), for days >= 0 */
	uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	uint64_t m = mp < 10 ? mp + 3 : mp - 9;
	char s[32];

	if (m <= 2)
		y++;
	memcpy(s, wd + (days % 7) * 3, 3);
	s[3] = ',';
	s[4] = ' ';
	s[5] = (char)('0' + d / 10);
	s[6] = (char)('0' + d % 10);
	s[7] = ' ';
	memcpy(s + 8, mon + (m - 1) * 3, 3);
	s[11] = ' ';
	s[12] = (char)('0' + y / 1000 % 10);
	s[13] = (char)('0' + y / 100 % 10);
	s[14] = (char)('0' + y / 10 % 10);
	s[15] = (char)('0' + y % 10);
	s[16] = ' ';
	s[17] = (char)('0' + sod / 36000);
	s[18] = (char)('0' + sod / 3600 % 10);
	s[19] = ':';
	s[20] = (char)('0' + sod % 3600 / 600);
	s[21] = (char)('0' + sod % 600 / 60);
	s[22] = ':';
	s[23] = (char)('0' + sod % 60 / 10);
	s[24] = (char)('0' + sod % 10);
	memcpy(s + 25, " GMT", 4);
	http_buf_put(b, s, 29);
}

/* --- output queue --- */

static int paused(const struct uk_http_conn *c)
{
	return c->out_owned > c->o->max_output || c->out_n - c->out_first >= MAX_SEGS;
}

static int out_push(struct uk_http_conn *c, const char *p, size_t len, char *own)
{
	if (c->out_n == c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap * 2 : 8;
		struct seg *s;

		if (c->out_first) { /* slide the unsent segments down first */
			memmove(c->out, c->out + c->out_first,
			        (c->out_n - c->out_first) * sizeof(*c->out));
			c->out_n -= c->out_first;
			c->out_first = 0;
		}
		if (c->out_n == c->out_cap) {
			s = realloc(c->out, cap * sizeof(*s));
			if (!s)
				return -1;
			c->out = s;
			c->out_cap = cap;
		}
	}
	c->out[c->out_n++] = (struct seg){p, len, own};
	if (own)
		c->out_owned += len;
	return 0;
}

size_t uk_http_conn_output(struct uk_http_conn *c, const void **data)
{
	while (c->out_first < c->out_n && c->out[c->out_first].len == 0) {
		free(c->out[c->out_first].own);
		c->out_first++;
	}
	if (c->out_first == c->out_n) {
		c->out_first = c->out_n = 0;
		*data = NULL;
		return 0;
	}
	*data = c->out[c->out_first].p;
	return c->out[c->out_first].len;
}

static void process(struct uk_http_conn *c);

void uk_http_conn_consume(struct uk_http_conn *c, size_t n)
{
	int was_paused = paused(c);

	while (n && c->out_first < c->out_n) {
		struct seg *s = &c->out[c->out_first];
		size_t k = n < s->len ? n : s->len;

		s->p += k;
		s->len -= k;
		n -= k;
		if (s->own)
			c->out_owned -= k;
		if (s->len == 0) {
			free(s->own);
			c->out_first++;
		}
	}
	if (c->out_first == c->out_n)
		c->out_first = c->out_n = 0;
	if (was_paused && !paused(c))
		process(c);
}

/* --- responses --- */

static int token_char(unsigned char ch)
{
	/* tchar (RFC 9110 5.6.2): ALPHA DIGIT and !#$%&'*+-.^_`|~ */
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

int http_is_token(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!token_char((unsigned char)s[i]))
			return 0;
	return 1;
}

uk_result_t uk_http_response_header(struct uk_http_response *r, const char *name, const char *value)
{
	if (!r || r->done || !name || !value || !http_is_token(name, strlen(name)))
		return UK_EINVAL;
	for (const char *v = value; *v; v++)
		if (*v == '\r' || *v == '\n')
			return UK_EINVAL;
	http_buf_str(&r->fields, name);
	http_buf_put(&r->fields, ": ", 2);
	http_buf_str(&r->fields, value);
	http_buf_put(&r->fields, "\r\n", 2);
	return r->fields.oom ? UK_ENOMEM : UK_OK;
}

void uk_http_response_close(struct uk_http_response *r)
{
	if (r)
		r->close = 1;
}

static uk_result_t respond(struct uk_http_response *r, int status, const char *type,
                           const void *body, size_t len, int is_static)
{
	struct uk_http_conn *c;
	struct http_buf h = {0};
	int no_body, send_body;

	if (!r || r->done || status < 200 || status > 599 || (len && !body))
		return UK_EINVAL;
	c = r->c;
	r->done = 1;
	no_body = status == 204 || status == 304;
	send_body = !no_body && !r->head && len;
	http_buf_str(&h, r->minor ? "HTTP/1.1 " : "HTTP/1.0 ");
	http_buf_uint(&h, (uint64_t)status);
	http_buf_put(&h, " ", 1);
	http_buf_str(&h, uk_http_reason(status));
	http_buf_put(&h, "\r\n", 2);
	if (c->o->server) {
		http_buf_str(&h, "Server: ");
		http_buf_str(&h, c->o->server);
		http_buf_put(&h, "\r\n", 2);
	}
	if (c->o->date) {
		http_buf_str(&h, "Date: ");
		http_buf_date(&h, uk_time_wall_ns() / 1000000000u);
		http_buf_put(&h, "\r\n", 2);
	}
	if (type && !no_body) {
		http_buf_str(&h, "Content-Type: ");
		http_buf_str(&h, type);
		http_buf_put(&h, "\r\n", 2);
	}
	if (!no_body) {
		http_buf_str(&h, "Content-Length: ");
		http_buf_uint(&h, len);
		http_buf_put(&h, "\r\n", 2);
	}
	if (r->fields.len)
		http_buf_put(&h, r->fields.p, r->fields.len);
	if (r->close)
		http_buf_str(&h, "Connection: close\r\n");
	else if (!r->minor)
		http_buf_str(&h, "Connection: keep-alive\r\n");
	http_buf_put(&h, "\r\n", 2);
	if (send_body && (len <= INLINE_BODY || !is_static)) {
		http_buf_put(&h, body, len);
		send_body = 0;
	}
	if (h.oom || out_push(c, h.p, h.len, h.p) < 0) {
		http_buf_free(&h);
		c->closing = 1;
		return UK_ENOMEM;
	}
	if (send_body && out_push(c, body, len, NULL) < 0) {
		c->closing = 1;
		return UK_ENOMEM;
	}
	if (r->close)
		c->closing = 1;
	return UK_OK;
}

uk_result_t uk_http_respond(struct uk_http_response *r, int status, const char *content_type,
                            const void *body, size_t len)
{
	return respond(r, status, content_type, body, len, 0);
}

uk_result_t uk_http_respond_static(struct uk_http_response *r, int status, const char *content_type,
                                   const void *body, size_t len)
{
	return respond(r, status, content_type, body, len, 1);
}

uk_result_t uk_http_respond_error(struct uk_http_response *r, int status)
{
	struct http_buf b = {0};
	uk_result_t rc;

	http_buf_uint(&b, (uint64_t)status);
	http_buf_put(&b, " ", 1);
	http_buf_str(&b, uk_http_reason(status));
	http_buf_put(&b, "\n", 1);
	if (b.oom) {
		http_buf_free(&b);
		return UK_ENOMEM;
	}
	rc = uk_http_respond(r, status, "text/plain; charset=utf-8", b.p, b.len);
	http_buf_free(&b);
	return rc;
}

/* --- requests --- */

static void request_reset(struct uk_http_conn *c)
{
	free(c->head);
	free(c->hdrs);
	free(c->path);
	http_buf_free(&c->body);
	c->head = NULL;
	c->hdrs = NULL;
	c->path = NULL;
	memset(&c->req, 0, sizeof(c->req));
	c->keep_alive = 0;
	c->remaining = 0;
	c->trailer_bytes = 0;
	c->st = ST_HEAD;
}

/* Answers the current request with (status) from the core itself and stops reading. */
static void fail(struct uk_http_conn *c, int status)
{
	struct uk_http_response r = {.c = c, .minor = 1, .close = 1};

	if (c->head && c->req.method && !strcmp(c->req.method, "HEAD"))
		r.head = 1;
	uk_http_respond_error(&r, status);
	c->nreq++;
	request_reset(c);
	c->st = ST_CLOSED;
	c->closing = 1;
	c->in_off = c->in_len = 0;
}

static void dispatch(struct uk_http_conn *c)
{
	struct uk_http_response r = {
	        .c = c, .minor = c->req.version_minor, .close = !c->keep_alive};

	if (c->body.oom) {
		fail(c, 500);
		return;
	}
	c->req.body = c->body.p ? (const unsigned char *)c->body.p : (const unsigned char *)"";
	c->req.body_len = c->body.len;
	r.head = !strcmp(c->req.method, "HEAD");
	c->handler(c->ctx, &c->req, &r);
	if (!r.done)
		uk_http_respond_error(&r, 500);
	http_buf_free(&r.fields);
	c->nreq++;
	request_reset(c);
	if (c->closing)
		c->st = ST_CLOSED;
}

/* Finds the end of the head (an empty line) in in[in_off..): its length, or 0. */
static size_t head_end(struct uk_http_conn *c)
{
	const char *p = c->in + c->in_off;
	size_t n = c->in_len - c->in_off;

	for (size_t i = c->scan; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	c->scan = n > 2 ? n - 2 : 0;
	return 0;
}

/* Length of the request line at (p) (up to its LF), or (n) when it has none. */
static size_t line_len(const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n);

	return lf ? (size_t)(lf - p) : n;
}

/* One step in ST_HEAD: 1 progress, 0 need more input. */
static int step_head(struct uk_http_conn *c)
{
	const struct uk_http_options *o = c->o;
	size_t n, end, rl;
	int status;

	/* RFC 9112 2.2: empty lines before a request line are ignored. */
	while (c->in_off < c->in_len) {
		char ch = c->in[c->in_off];

		if (ch == '\n') {
			c->in_off++;
		} else if (ch == '\r') {
			if (c->in_off + 1 == c->in_len)
				return 0;
			if (c->in[c->in_off + 1] != '\n') {
				fail(c, 400);
				return 1;
			}
			c->in_off += 2;
		} else {
			break;
		}
	}
	n = c->in_len - c->in_off;
	if (n == 0)
		return 0;
	end = head_end(c);
	rl = line_len(c->in + c->in_off, end ? end : n);
	if (rl < (end ? end : n) && rl && c->in[c->in_off + rl - 1] == '\r')
		rl--; /* a complete line: its CR does not count */
	else if (rl == n)
		rl -= rl > 0; /* an unterminated line: the last byte may be its CR */
	if (rl > o->max_request_line) {
		fail(c, 414);
		return 1;
	}
	if (!end) {
		if (n > o->max_header_bytes)
			fail(c, 431);
		return n > o->max_header_bytes;
	}
	if (end > o->max_header_bytes) {
		fail(c, 431);
		return 1;
	}
	c->head = malloc(end + 1);
	if (!c->head) {
		fail(c, 500);
		return 1;
	}
	memcpy(c->head, c->in + c->in_off, end);
	c->head[end] = 0;
	c->in_off += end;
	c->scan = 0;
	status = http_parse_head(c->head, end, o, &c->req, &c->hdrs, &c->path, &c->keep_alive);
	if (status) {
		fail(c, status);
		return 1;
	}
	status = http_body_kind(&c->req, o, &c->remaining);
	if (status >= 400) {
		fail(c, status);
		return 1;
	}
	if (status == HTTP_BODY_NONE) {
		dispatch(c);
		return 1;
	}
	if (c->req.version_minor >= 1 && c->in_off == c->in_len && http_expects_continue(&c->req) &&
	    out_push(c, "HTTP/1.1 100 Continue\r\n\r\n", 25, NULL) < 0) {
		fail(c, 500);
		return 1;
	}
	c->st = status == HTTP_BODY_CHUNKED ? ST_CHUNK_SIZE : ST_BODY;
	return 1;
}

/* Moves up to (c->remaining) bytes of input into the body. */
static void take_body(struct uk_http_conn *c)
{
	size_t n = c->in_len - c->in_off;

	if (n > c->remaining)
		n = (size_t)c->remaining;
	http_buf_put(&c->body, c->in + c->in_off, n);
	c->in_off += n;
	c->remaining -= n;
}

/* One step of the body states: 1 progress, 0 need more input. */
static int step_body(struct uk_http_conn *c)
{
	const char *p = c->in + c->in_off;
	size_t n = c->in_len - c->in_off, ll;
	int rc;

	switch (c->st) {
	case ST_BODY:
		take_body(c);
		if (c->body.oom) {
			fail(c, 500);
			return 1;
		}
		if (c->remaining)
			return 0;
		dispatch(c);
		return 1;
	case ST_CHUNK_SIZE: {
		uint64_t size;

		if (!n)
			return 0;
		ll = line_len(p, n);
		if (ll == n) {
			if (n > MAX_CHUNK_LINE)
				fail(c, 400);
			return n > MAX_CHUNK_LINE;
		}
		rc = http_parse_chunk_size(p, ll, &size);
		c->in_off += ll + 1;
		if (rc == 0 && size > c->o->max_body - c->body.len)
			rc = 413;
		if (rc) {
			fail(c, rc);
			return 1;
		}
		c->remaining = size;
		c->st = size ? ST_CHUNK_DATA : ST_TRAILER;
		return 1;
	}
	case ST_CHUNK_DATA:
		take_body(c);
		if (c->body.oom) {
			fail(c, 500);
			return 1;
		}
		if (c->remaining)
			return 0;
		c->st = ST_CHUNK_END;
		return 1;
	case ST_CHUNK_END:
		if (n >= 1 && p[0] == '\n') {
			c->in_off += 1;
		} else if (n >= 2 && p[0] == '\r' && p[1] == '\n') {
			c->in_off += 2;
		} else if (n == 0 || (n == 1 && p[0] == '\r')) {
			return 0;
		} else {
			fail(c, 400);
			return 1;
		}
		c->st = ST_CHUNK_SIZE;
		return 1;
	case ST_TRAILER:
		/* Trailer fields are read and dropped (RFC 9112 7.1.2 lets a recipient discard
		 * them). */
		if (!n)
			return 0;
		ll = line_len(p, n);
		if (ll == n || c->trailer_bytes + ll + 1 > c->o->max_header_bytes) {
			if (c->trailer_bytes + n > c->o->max_header_bytes)
				fail(c, 431);
			return c->st == ST_CLOSED;
		}
		c->in_off += ll + 1;
		c->trailer_bytes += ll + 1;
		if (ll == 0 || (ll == 1 && p[0] == '\r'))
			dispatch(c);
		else if (http_check_trailer(p, ll))
			fail(c, 400);
		return 1;
	default:
		return 0;
	}
}

static void process(struct uk_http_conn *c)
{
	if (c->busy)
		return;
	c->busy = 1;
	while (!c->closing && !paused(c)) {
		int progress = c->st == ST_HEAD ? step_head(c) : step_body(c);

		if (!progress) {
			if (c->eof) {
				c->closing = 1;
				c->st = ST_CLOSED;
			}
			break;
		}
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	c->busy = 0;
}

/* --- the connection --- */

struct uk_http_conn *uk_http_conn_new(const struct uk_http_options *o, uk_http_handler_t handler,
                                      void *ctx)
{
	struct uk_http_conn *c;

	if (!handler)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->o = o ? o : &defaults;
	c->handler = handler;
	c->ctx = ctx;
	return c;
}

void uk_http_conn_free(struct uk_http_conn *c)
{
	if (!c)
		return;
	request_reset(c);
	for (size_t i = c->out_first; i < c->out_n; i++)
		free(c->out[i].own);
	free(c->out);
	free(c->in);
	free(c);
}

uk_result_t uk_http_conn_feed(struct uk_http_conn *c, const void *data, size_t len)
{
	if (c->closing || c->eof)
		return UK_OK; /* nothing more is read on a closing connection */
	if (c->in_off) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_len + len > c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap : 1024;
		char *p;

		while (cap < c->in_len + len)
			cap *= 2;
		p = realloc(c->in, cap);
		if (!p) {
			c->closing = 1;
			c->st = ST_CLOSED;
			return UK_ENOMEM;
		}
		c->in = p;
		c->in_cap = cap;
	}
	if (len)
		memcpy(c->in + c->in_len, data, len);
	c->in_len += len;
	process(c);
	return UK_OK;
}

void uk_http_conn_eof(struct uk_http_conn *c)
{
	c->eof = 1;
	process(c);
}

void uk_http_conn_timeout(struct uk_http_conn *c)
{
	if (c->closing)
		return;
	if (c->st != ST_HEAD || c->in_len > c->in_off)
		fail(c, 408);
	c->closing = 1;
	c->st = ST_CLOSED;
}

int uk_http_conn_wants_input(const struct uk_http_conn *c)
{
	return !c->closing && !c->eof && !paused(c);
}

int uk_http_conn_done(const struct uk_http_conn *c)
{
	if (!c->closing)
		return 0;
	for (size_t i = c->out_first; i < c->out_n; i++)
		if (c->out[i].len)
			return 0;
	return 1;
}

int uk_http_conn_idle(const struct uk_http_conn *c)
{
	if (c->st != ST_HEAD || c->in_len > c->in_off)
		return 0;
	for (size_t i = c->out_first; i < c->out_n; i++)
		if (c->out[i].len)
			return 0;
	return 1;
}

uint64_t uk_http_conn_requests(const struct uk_http_conn *c)
{
	return c->nreq;
}

const char *uk_http_request_header(const struct uk_http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (!strcasecmp(req->headers[i].name, name))
			return req->headers[i].value;
	return NULL;
}
