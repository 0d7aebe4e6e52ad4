/* The HTTP/1.1 request parser (RFC 9112): request line, header fields, framing, paths, chunks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uk/http.h>

#include "http/internal.h"

static int is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Nonzero when the comma-separated list (v) holds the token (tok), case-insensitively. */
static int list_has(const char *v, const char *tok)
{
	size_t n = strlen(tok);

	while (*v) {
		const char *e;

		while (*v == ',' || is_ows(*v))
			v++;
		e = v;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > v && is_ows(t[-1]))
			t--;
		if ((size_t)(t - v) == n && !strncasecmp(v, tok, n))
			return 1;
		v = e;
	}
	return 0;
}

int http_decode_path(const char *s, size_t n, char **out)
{
	char *d = malloc(n + 1), *seg;
	size_t j = 0;

	*out = d;
	if (!d)
		return 500;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return 400; /* a bad escape, or %00 */
			d[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			d[j++] = s[i];
		}
	}
	d[j] = 0;
	/* refuse ".." segments, however they were spelled */
	for (seg = d; seg; seg = strchr(seg, '/')) {
		seg += *seg == '/';
		if (seg[0] == '.' && seg[1] == '.' && (seg[2] == '/' || seg[2] == 0))
			return 400;
		if (!*seg)
			break;
	}
	return 0;
}

void http_buf_path(struct http_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~' ||
		    ch == '/') {
			http_buf_put(b, s, 1);
		} else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};

			http_buf_put(b, e, 3);
		}
	}
}

/* Splits the request-target (t) into the decoded path and the query. */
static int parse_target(struct uk_http_request *req, char *t, char **path)
{
	char *q;

	if (t[0] == '*' && t[1] == 0) {
		if (strcmp(req->method, "OPTIONS"))
			return 400;
		return http_decode_path("*", 1, path);
	}
	if (t[0] != '/') {
		/* absolute-form (RFC 9112 3.2.2): a server MUST accept it */
		size_t sl = !strncasecmp(t, "http://", 7)    ? 7
		            : !strncasecmp(t, "https://", 8) ? 8
		                                             : 0;
		char *a;

		if (!sl)
			return 400;
		a = t + sl;
		t = a + strcspn(a, "/?");
		if (t == a)
			return 400; /* no authority */
		if (*t != '/') {    /* "http://host" or "http://host?q": the path is "/" */
			req->query = *t == '?' ? t + 1 : NULL;
			return http_decode_path("/", 1, path);
		}
	}
	q = strchr(t, '?');
	req->query = q ? q + 1 : NULL;
	return http_decode_path(t, q ? (size_t)(q - t) : strlen(t), path);
}

/* Parses "METHOD SP target SP HTTP/x.y" at (line). */
static int parse_request_line(char *line, struct uk_http_request *req)
{
	char *sp1 = strchr(line, ' '), *sp2, *v;

	if (!sp1 || !http_is_token(line, (size_t)(sp1 - line)))
		return 400;
	*sp1 = 0;
	req->method = line;
	req->target = sp1 + 1;
	sp2 = strchr(sp1 + 1, ' ');
	if (!sp2 || sp2 == sp1 + 1)
		return 400;
	*sp2 = 0;
	for (const char *t = req->target; *t; t++)
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			return 400;
	v = sp2 + 1;
	if (strlen(v) != 8 || strncmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	req->version_minor = v[7] == '0' ? 0 : 1;
	return 0;
}

/* Parses "name: value" at (line) into (h). */
static int parse_field(char *line, struct uk_http_header *h)
{
	char *colon = strchr(line, ':'), *v, *e;

	if (is_ows(line[0]))
		return 400; /* obs-fold (RFC 9112 5.2) or whitespace before the name */
	if (!colon || !http_is_token(line, (size_t)(colon - line)))
		return 400; /* includes whitespace between name and colon (RFC 9112 5.1) */
	*colon = 0;
	v = colon + 1;
	while (is_ows(*v))
		v++;
	e = v + strlen(v);
	while (e > v && is_ows(e[-1]))
		e--;
	*e = 0;
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return 400;
	}
	h->name = line;
	h->value = v;
	return 0;
}

int http_parse_head(char *head, size_t len, const struct uk_http_options *o,
                    struct uk_http_request *req, struct uk_http_header **hdrs, char **path,
                    int *keep_alive)
{
	size_t nlines = 0, nh = 0, hosts = 0;
	char *p = head, *end = head + len;
	const char *conn, *expect;
	int rc;

	*hdrs = NULL;
	*path = NULL;
	if (memchr(head, 0, len))
		return 400;
	for (size_t i = 0; i < len; i++)
		nlines += head[i] == '\n';
	if (nlines < 2)
		return 400;
	if (nlines - 2 > o->max_headers)
		return 431;
	*hdrs = malloc((nlines - 1) * sizeof(**hdrs));
	if (!*hdrs)
		return 500;
	req->headers = *hdrs;
	for (size_t i = 0; p < end; i++) {
		char *lf = memchr(p, '\n', (size_t)(end - p)), *e = lf;

		if (!lf)
			return 400;
		if (e > p && e[-1] == '\r')
			e--;
		*e = 0;
		if (memchr(p, '\r', (size_t)(e - p)))
			return 400; /* a bare CR */
		if (i == 0) {
			rc = parse_request_line(p, req);
			if (rc)
				return rc;
		} else if (e == p) {
			break; /* the empty line that ends the head */
		} else {
			rc = parse_field(p, &(*hdrs)[nh]);
			if (rc)
				return rc;
			hosts += !strcasecmp((*hdrs)[nh].name, "Host");
			nh++;
		}
		p = lf + 1;
	}
	req->n_headers = nh;
	/* RFC 9112 3.2: a 1.1 request without Host, or with several, gets 400 */
	if ((req->version_minor >= 1 && hosts == 0) || hosts > 1)
		return 400;
	rc = parse_target(req, (char *)req->target, path);
	if (rc)
		return rc;
	req->path = *path;
	conn = NULL;
	*keep_alive = req->version_minor >= 1;
	for (size_t i = 0; i < nh; i++) {
		if (strcasecmp((*hdrs)[i].name, "Connection"))
			continue;
		conn = (*hdrs)[i].value;
		if (list_has(conn, "close"))
			*keep_alive = -1;
		else if (list_has(conn, "keep-alive") && *keep_alive == 0)
			*keep_alive = 1;
	}
	*keep_alive = *keep_alive > 0;
	expect = uk_http_request_header(req, "Expect");
	if (expect && strcasecmp(expect, "100-continue"))
		return 417;
	return 0;
}

int http_body_kind(const struct uk_http_request *req, const struct uk_http_options *o,
                   uint64_t *length)
{
	int have_len = 0, te = 0;
	uint64_t len = 0;

	*length = 0;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct uk_http_header *h = &req->headers[i];

		if (!strcasecmp(h->name, "Transfer-Encoding")) {
			if (strcasecmp(h->value, "chunked"))
				return 501; /* another coding, or a list: we decode chunked only */
			if (te++)
				return 400; /* chunked twice */
		} else if (!strcasecmp(h->name, "Content-Length")) {
			uint64_t v = 0;
			const char *s = h->value;
			int digits = 0;

			for (; *s >= '0' && *s <= '9'; s++, digits++) {
				if (v > (UINT64_MAX - 9) / 10)
					return 413; /* syntactically fine, but more than anyone
					               stores */
				v = v * 10 + (uint64_t)(*s - '0');
			}
			if (!digits || *s)
				return 400;
			if (have_len && v != len)
				return 400;
			have_len = 1;
			len = v;
		}
	}
	if (te) {
		/* RFC 9112 6.1: both framings at once is a smuggling attempt; TE is 1.1-only */
		if (have_len || req->version_minor == 0)
			return 400;
		return HTTP_BODY_CHUNKED;
	}
	if (len > o->max_body)
		return 413;
	*length = len;
	return len ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
}

int http_expects_continue(const struct uk_http_request *req)
{
	const char *e = uk_http_request_header(req, "Expect");

	return e && !strcasecmp(e, "100-continue");
}

int http_parse_chunk_size(const char *p, size_t n, uint64_t *size)
{
	uint64_t v = 0;
	size_t i = 0;

	if (n && p[n - 1] == '\r')
		n--;
	for (; i < n && hexval(p[i]) >= 0; i++) {
		if (v >> 60)
			return 413;
		v = v << 4 | (uint64_t)hexval(p[i]);
	}
	if (i == 0)
		return 400;
	while (i < n && is_ows(p[i]))
		i++;
	if (i < n) {
		if (p[i] != ';')
			return 400;
		for (; i < n; i++) {
			unsigned char ch = (unsigned char)p[i];

			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return 400;
		}
	}
	*size = v;
	return 0;
}

int http_check_trailer(const char *p, size_t n)
{
	const char *colon;

	if (n && p[n - 1] == '\r')
		n--;
	colon = memchr(p, ':', n);
	if (!colon || !http_is_token(p, (size_t)(colon - p)))
		return 1;
	for (const char *s = colon + 1; s < p + n; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return 1;
	}
	return 0;
}
