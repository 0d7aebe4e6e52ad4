/* Unit tests of runtime-lib/http: request parsing, the connection machine, responses, serving
 * files. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The library's symbols carry the ukt_ prefix in libukt_uk_http.a / libukt_ukc.a. */
#define uk_http_options_default ukt_uk_http_options_default
#define uk_http_request_header ukt_uk_http_request_header
#define uk_http_reason ukt_uk_http_reason
#define uk_http_response_header ukt_uk_http_response_header
#define uk_http_respond ukt_uk_http_respond
#define uk_http_respond_static ukt_uk_http_respond_static
#define uk_http_respond_error ukt_uk_http_respond_error
#define uk_http_response_close ukt_uk_http_response_close
#define uk_http_conn_new ukt_uk_http_conn_new
#define uk_http_conn_free ukt_uk_http_conn_free
#define uk_http_conn_feed ukt_uk_http_conn_feed
#define uk_http_conn_eof ukt_uk_http_conn_eof
#define uk_http_conn_wants_input ukt_uk_http_conn_wants_input
#define uk_http_conn_output ukt_uk_http_conn_output
#define uk_http_conn_consume ukt_uk_http_conn_consume
#define uk_http_conn_done ukt_uk_http_conn_done
#define uk_http_conn_idle ukt_uk_http_conn_idle
#define uk_http_conn_timeout ukt_uk_http_conn_timeout
#define uk_http_conn_requests ukt_uk_http_conn_requests
#define uk_http_serve_files ukt_uk_http_serve_files
#define uk_file_lookup ukt_uk_file_lookup
#define uk_file_is_dir ukt_uk_file_is_dir
#define uk_file_count ukt_uk_file_count
#define uk_file_at ukt_uk_file_at
#define uk_file_first_under ukt_uk_file_first_under
#define uk_file_index ukt_uk_file_index
#define uk_file_content_type ukt_uk_file_content_type
#define uk_files_table ukt_uk_files_table
#define uk_files_count ukt_uk_files_count
#include "../../runtime-lib/include/uk/files.h"
#include "../../runtime-lib/include/uk/http.h"

#include "ukt.h"
#include "ukt_platform_stub.h"

#include "ukt_check.h"

/* --- the embedded files the file tests serve (sorted by path, as ukcc generates them) --- */

static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0};
const struct uk_rofile uk_files_table[] = {
        {"/www/404.html", (const unsigned char *)"<h1>lost</h1>\n", 14, "\"4040404040404040\""},
        {"/www/about.html", (const unsigned char *)"about\n", 6, "\"abababababababab\""},
        {"/www/docs/index.html", (const unsigned char *)"docs\n", 5, "\"d0c5d0c5d0c5d0c5\""},
        {"/www/docs/x.txt", (const unsigned char *)"x\n", 2, "\"0000000000000001\""},
        {"/www/empty.txt", (const unsigned char *)"", 0, "\"e3b0c44298fc1c14\""},
        {"/www/img/a.png", png, sizeof(png), "\"0123456789abcdef\""},
        {"/www/index.html", (const unsigned char *)"<h1>home</h1>\n", 14, "\"1111111111111111\""},
        {"/www/style.css", (const unsigned char *)"body{}\n", 7, "\"c55c55c55c55c55c\""},
};
const size_t uk_files_count = sizeof(uk_files_table) / sizeof(uk_files_table[0]);

/* --- a test handler --- */

static char big[10000];

/* Routes: /big (10000 static bytes), /close (asks to close), /hdr (an extra field), /noresp
 * (answers nothing), /copy (a 6000-byte copied body); anything else echoes the request. */
static void handler(void *ctx, const struct uk_http_request *req, struct uk_http_response *resp)
{
	static char buf[16384];
	const char *x;
	int n;

	(void)ctx;
	if (!strcmp(req->path, "/big")) {
		uk_http_respond_static(resp, 200, "text/plain", big, sizeof(big));
		return;
	}
	if (!strcmp(req->path, "/copy")) {
		uk_http_respond(resp, 200, "text/plain", big, 6000);
		return;
	}
	if (!strcmp(req->path, "/noresp"))
		return;
	if (!strcmp(req->path, "/close"))
		uk_http_response_close(resp);
	if (!strcmp(req->path, "/hdr")) {
		CHECK(uk_http_response_header(resp, "X-Test", "1") == UK_OK, "header");
		CHECK(uk_http_response_header(resp, "Bad Name", "1") == UK_EINVAL, "bad name");
		CHECK(uk_http_response_header(resp, "X-Inject", "a\r\nb: c") == UK_EINVAL, "CRLF");
	}
	x = uk_http_request_header(req, "x-echo");
	n = snprintf(buf, sizeof(buf), "%s %s q=%s b=%.*s%s%s", req->method, req->path,
	             req->query ? req->query : "-", (int)req->body_len, (const char *)req->body,
	             x ? " x=" : "", x ? x : "");
	CHECK(req->body[req->body_len] == 0, "body NUL-terminated");
	uk_http_respond(resp, 200, "text/plain", buf, (size_t)n);
	CHECK(uk_http_respond(resp, 200, NULL, NULL, 0) == UK_EINVAL, "second respond refused");
}

/* --- running a connection --- */

struct run {
	char out[65536];
	size_t len;
	int done_before_eof, done;
	uint64_t requests;
};

static void drain(struct uk_http_conn *c, struct run *r, size_t max_step)
{
	const void *p;
	size_t n;

	while ((n = uk_http_conn_output(c, &p)) > 0) {
		if (n > max_step)
			n = max_step;
		if (r->len + n < sizeof(r->out)) {
			memcpy(r->out + r->len, p, n);
			r->len += n;
		}
		uk_http_conn_consume(c, n);
	}
	r->out[r->len] = 0;
}

/* Feeds (in, n) in pieces of (step) bytes (0: all at once), draining output after each. */
static void run_conn(const struct uk_http_options *o, const char *in, size_t n, size_t step,
                     struct run *r)
{
	struct uk_http_conn *c = uk_http_conn_new(o, handler, NULL);

	memset(r, 0, sizeof(*r));
	if (!c) {
		CHECK(0, "conn_new");
		return;
	}
	for (size_t i = 0; i < n;) {
		size_t k = step && step < n - i ? step : n - i;

		if (!uk_http_conn_wants_input(c))
			break;
		CHECK(uk_http_conn_feed(c, in + i, k) == UK_OK, "feed");
		i += k;
		drain(c, r, step ? step * 7 + 1 : (size_t)-1);
	}
	r->done_before_eof = uk_http_conn_done(c);
	uk_http_conn_eof(c);
	drain(c, r, (size_t)-1);
	r->done = uk_http_conn_done(c);
	r->requests = uk_http_conn_requests(c);
	uk_http_conn_free(c);
}

static struct uk_http_options opts;

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	char *b;
	va_list ap;

	/* Expected texts live for the whole test: kept reachable here (LeakSanitizer). */
	static char **kept;
	static size_t nkept, cap;

	va_start(ap, f);
	if (vasprintf(&b, f, ap) < 0)
		abort();
	va_end(ap);
	if (nkept == cap) {
		cap = cap ? 2 * cap : 256;
		kept = realloc(kept, cap * sizeof(*kept));
		if (!kept)
			abort();
	}
	kept[nkept++] = b;
	return b;
}

/* What the echo handler answers on a kept-alive HTTP/1.1 connection. */
static char *ok(const char *body)
{
	return fmt("HTTP/1.1 200 OK\r\nServer: uk\r\nContent-Type: text/plain\r\nContent-Length: "
	           "%zu\r\n\r\n%s",
	           strlen(body), body);
}

/* The same with extra header lines (extra) and HTTP/1.(minor). */
static char *okx(int minor, const char *extra, const char *body)
{
	return fmt("HTTP/1.%d 200 OK\r\nServer: uk\r\nContent-Type: text/plain\r\nContent-Length: "
	           "%zu\r\n%s\r\n%s",
	           minor, strlen(body), extra, body);
}

/* What the core answers on its own, then closing. */
static char *err(int status, const char *reason)
{
	char body[128];

	snprintf(body, sizeof(body), "%d %s\n", status, reason);
	return fmt("HTTP/1.1 %d %s\r\nServer: uk\r\nContent-Type: text/plain; "
	           "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
	           status, reason, strlen(body), body);
}

struct rcase {
	const char *name, *in, *want;
	int closes; /* the connection is done before EOF */
};

static void check_case(const struct uk_http_options *o, const char *name, const char *in, size_t n,
                       const char *want, int closes)
{
	static const size_t steps[] = {0, 1, 2, 3, 7, 64};
	static struct run r;

	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		run_conn(o, in, n, steps[s], &r);
		CHECK(r.len == strlen(want) && !memcmp(r.out, want, r.len),
		      "%s (step %zu):\n--- got ---\n%s\n--- want ---\n%s", name, steps[s], r.out,
		      want);
		CHECK(r.done_before_eof == closes, "%s (step %zu): done before EOF %d, want %d",
		      name, steps[s], r.done_before_eof, closes);
		CHECK(r.done, "%s: done after EOF", name);
	}
}

#define H "Host: a\r\n"

static void check_str(const struct uk_http_options *o, const char *name, const char *in,
                      const char *want, int closes)
{
	check_case(o, name, in, strlen(in), want, closes);
}

static void test_requests(void)
{
	char cr5[] = "GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n";
	const struct rcase cases[] = {
	        /* good requests */
	        {"simple", "GET / HTTP/1.1\r\n" H "\r\n", ok("GET / q=- b="), 0},
	        {"LF only", "GET /a HTTP/1.1\n" H "\n", ok("GET /a q=- b="), 0},
	        {"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n", ok("GET / q=- b="),
	         0},
	        {"query", "GET /a?x=1&y=%20 HTTP/1.1\r\n" H "\r\n", ok("GET /a q=x=1&y=%20 b="), 0},
	        {"percent", "GET /a%20b%2Fc%41 HTTP/1.1\r\n" H "\r\n", ok("GET /a b/cA q=- b="), 0},
	        {"dots that are not ..", "GET /.../a..b/.x HTTP/1.1\r\n" H "\r\n",
	         ok("GET /.../a..b/.x q=- b="), 0},
	        {"absolute-form", "GET http://example.com:80/x?y HTTP/1.1\r\n" H "\r\n",
	         ok("GET /x q=y b="), 0},
	        {"absolute-form no path", "GET HTTPS://example.com HTTP/1.1\r\n" H "\r\n",
	         ok("GET / q=- b="), 0},
	        {"OPTIONS *", "OPTIONS * HTTP/1.1\r\n" H "\r\n", ok("OPTIONS * q=- b="), 0},
	        {"header value trimmed", "GET / HTTP/1.1\r\n" H "X-Echo: \t hi there \t\r\n\r\n",
	         ok("GET / q=- b= x=hi there"), 0},
	        {"header case-insensitive", "GET / HTTP/1.1\r\nHOST: a\r\nx-ECHO: v\r\n\r\n",
	         ok("GET / q=- b= x=v"), 0},
	        {"obs-text in a value", "GET / HTTP/1.1\r\n" H "X-Echo: caf\xc3\xa9\r\n\r\n",
	         ok("GET / q=- b= x=caf\xc3\xa9"), 0},
	        {"content-length", "POST /p HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhello",
	         ok("POST /p q=- b=hello"), 0},
	        {"content-length twice, same",
	         "POST /p HTTP/1.1\r\n" H "Content-Length: 2\r\nContent-Length: 02\r\n\r\nhi",
	         ok("POST /p q=- b=hi"), 0},
	        {"content-length 0", "POST /p HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n",
	         ok("POST /p q=- b="), 0},
	        {"chunked",
	         "POST /p HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
	         "5\r\nhello\r\n6;name=val\r\n world\r\n0\r\nTrailer-A: x\r\n\r\n",
	         ok("POST /p q=- b=hello world"), 0},
	        {"chunked hex, LF, BWS",
	         "POST /p HTTP/1.1\r\n" H "transfer-encoding: CHUNKED\r\n\r\n"
	         "A \n0123456789\n00\n\n",
	         ok("POST /p q=- b=0123456789"), 0},
	        {"pipelined",
	         "GET /1 HTTP/1.1\r\n" H "\r\nPOST /2 HTTP/1.1\r\n" H
	         "Content-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\n" H "\r\n",
	         fmt("%s%s%s", ok("GET /1 q=- b="), ok("POST /2 q=- b=abc"), ok("GET /3 q=- b=")),
	         0},
	        {"HEAD has no body", "HEAD /h HTTP/1.1\r\n" H "\r\n",
	         fmt("HTTP/1.1 200 OK\r\nServer: uk\r\nContent-Type: text/plain\r\nContent-Length: "
	             "%zu\r\n\r\n",
	             strlen("HEAD /h q=- b=")),
	         0},
	        {"HEAD of a static body",
	         "HEAD /big HTTP/1.1\r\n" H "\r\nGET /h HTTP/1.1\r\n" H "\r\n",
	         fmt("HTTP/1.1 200 OK\r\nServer: uk\r\nContent-Type: text/plain\r\nContent-Length: "
	             "10000\r\n\r\n%s",
	             ok("GET /h q=- b=")),
	         0},
	        {"extra header", "GET /hdr HTTP/1.1\r\n" H "\r\n",
	         okx(1, "X-Test: 1\r\n", "GET /hdr q=- b="), 0},
	        {"HTTP/1.1 Connection: close",
	         "GET / HTTP/1.1\r\n" H "Connection: foo, Close\r\n\r\n"
	         "GET /never HTTP/1.1\r\n" H "\r\n",
	         okx(1, "Connection: close\r\n", "GET / q=- b="), 1},
	        {"handler asks to close",
	         "GET /close HTTP/1.1\r\n" H "\r\nGET /never HTTP/1.1\r\n" H "\r\n",
	         okx(1, "Connection: close\r\n", "GET /close q=- b="), 1},
	        {"HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\nGET /never HTTP/1.0\r\n\r\n",
	         okx(0, "Connection: close\r\n", "GET / q=- b="), 1},
	        {"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	         okx(0, "Connection: keep-alive\r\n", "GET / q=- b="), 0},
	        {"HTTP/1.9 is 1.1", "GET / HTTP/1.9\r\n" H "\r\n", ok("GET / q=- b="), 0},
	        {"no response is 500",
	         "GET /noresp HTTP/1.1\r\n" H "\r\nGET / HTTP/1.1\r\n" H "\r\n",
	         fmt("HTTP/1.1 500 Internal Server Error\r\nServer: uk\r\nContent-Type: "
	             "text/plain; "
	             "charset=utf-8\r\nContent-Length: 26\r\n\r\n500 Internal Server "
	             "Error\n%s",
	             ok("GET / q=- b=")),
	         0},
	        /* malformed: 400 and close, later requests unanswered */
	        {"no Host in 1.1", "GET / HTTP/1.1\r\n\r\n", err(400, "Bad Request"), 1},
	        {"two Hosts", "GET / HTTP/1.1\r\n" H H "\r\n", err(400, "Bad Request"), 1},
	        {"double space", "GET  / HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"trailing space", "GET / HTTP/1.1 \r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"no version", "GET /\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"lowercase version", "GET / http/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"version garbage", "GET / HTTP/1.x\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"version 3", "GET / HTTP/3\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"bad method", "G(T / HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"space in target", "GET /a b HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"8-bit target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"),
	         1},
	        {"DEL in target", "GET /\x7f HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"relative target", "GET a HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"GET *", "GET * HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"authority-less URL", "GET http:///x HTTP/1.1\r\n" H "\r\n",
	         err(400, "Bad Request"), 1},
	        {"no colon", "GET / HTTP/1.1\r\n" H "Foo\r\n\r\n", err(400, "Bad Request"), 1},
	        {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
	         err(400, "Bad Request"), 1},
	        {"empty name", "GET / HTTP/1.1\r\n" H ": x\r\n\r\n", err(400, "Bad Request"), 1},
	        {"obs-fold", "GET / HTTP/1.1\r\n" H "X: a\r\n b\r\n\r\n", err(400, "Bad Request"),
	         1},
	        {"CTL in value", cr5, err(400, "Bad Request"), 1},
	        {"bare CR", "GET / HTTP/1.1\r\n" H "X: a\rb\r\n\r\n", err(400, "Bad Request"), 1},
	        {"CR before request", "\rGET / HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"bad escape", "GET /%zz HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"short escape", "GET /%4 HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"escaped NUL", "GET /a%00b HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"..", "GET /../etc/passwd HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"trailing ..", "GET /a/.. HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"%2e%2e", "GET /a/%2e%2e/b HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"%2E.", "GET /%2E./x HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"..%2f", "GET /..%2fetc HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"), 1},
	        {"absolute ..", "GET http://h/a/../../x HTTP/1.1\r\n" H "\r\n",
	         err(400, "Bad Request"), 1},
	        {"CL not a number", "POST / HTTP/1.1\r\n" H "Content-Length: abc\r\n\r\n",
	         err(400, "Bad Request"), 1},
	        {"CL negative", "POST / HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n",
	         err(400, "Bad Request"), 1},
	        {"CL plus", "POST / HTTP/1.1\r\n" H "Content-Length: +1\r\n\r\nx",
	         err(400, "Bad Request"), 1},
	        {"CL list", "POST / HTTP/1.1\r\n" H "Content-Length: 1, 1\r\n\r\nx",
	         err(400, "Bad Request"), 1},
	        {"CL conflict",
	         "POST / HTTP/1.1\r\n" H "Content-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
	         err(400, "Bad Request"), 1},
	        {"CL and TE",
	         "POST / HTTP/1.1\r\n" H
	         "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	         err(400, "Bad Request"), 1},
	        {"TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	         err(400, "Bad Request"), 1},
	        {"TE twice",
	         "POST / HTTP/1.1\r\n" H
	         "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	         err(400, "Bad Request"), 1},
	        {"chunk size not hex",
	         "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
	         err(400, "Bad Request"), 1},
	        {"chunk size empty",
	         "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n\r\n",
	         err(400, "Bad Request"), 1},
	        {"chunk size junk",
	         "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n5x\r\n",
	         err(400, "Bad Request"), 1},
	        {"chunk size negative",
	         "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n-5\r\n",
	         err(400, "Bad Request"), 1},
	        {"chunk without CRLF",
	         "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
	         err(400, "Bad Request"), 1},
	        {"bad trailer",
	         "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n",
	         err(400, "Bad Request"), 1},
	        {"error after a good request",
	         "GET /1 HTTP/1.1\r\n" H "\r\nBAD\r\n\r\nGET /3 HTTP/1.1\r\n" H "\r\n",
	         fmt("%s%s", ok("GET /1 q=- b="), err(400, "Bad Request")), 1},
	        /* limits and the rest */
	        {"chunk size overflow",
	         "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
	         err(413, "Content Too Large"), 1},
	        {"chunk too large",
	         "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n100001\r\n",
	         err(413, "Content Too Large"), 1},
	        {"CL too large", "POST / HTTP/1.1\r\n" H "Content-Length: 1048577\r\n\r\n",
	         err(413, "Content Too Large"), 1},
	        {"CL huge",
	         "POST / HTTP/1.1\r\n" H "Content-Length: 99999999999999999999999\r\n\r\n",
	         err(413, "Content Too Large"), 1},
	        {"TE gzip", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n",
	         err(501, "Not Implemented"), 1},
	        {"HTTP/2.0", "GET / HTTP/2.0\r\n" H "\r\n", err(505, "HTTP Version Not Supported"),
	         1},
	        {"HTTP/0.9", "GET / HTTP/0.9\r\n" H "\r\n", err(505, "HTTP Version Not Supported"),
	         1},
	        {"Expect other", "GET / HTTP/1.1\r\n" H "Expect: tea\r\n\r\n",
	         err(417, "Expectation Failed"), 1},
	        {"cut short", "GET / HTTP/1.1\r\n" H, "", 0},
	        {"body cut short", "POST / HTTP/1.1\r\n" H "Content-Length: 10\r\n\r\nabc", "", 0},
	};

	opts.date = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&opts, cases[i].name, cases[i].in, strlen(cases[i].in), cases[i].want,
		           cases[i].closes);
	/* a NUL inside the head */
	check_case(&opts, "NUL in head", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 29,
	           err(400, "Bad Request"), 1);
}

static void test_limits(void)
{
	static char in[70000];
	struct uk_http_options o = opts;
	size_t n;

	/* 414: a request line one byte over the limit; exactly at it is fine */
	n = (size_t)snprintf(in, sizeof(in), "GET /%0*d HTTP/1.1\r\n" H "\r\n",
	                     (int)o.max_request_line - 14 + 1, 0);
	check_case(&o, "414", in, n, err(414, "URI Too Long"), 1);
	n = (size_t)snprintf(in, sizeof(in), "GET /%0*d HTTP/1.1\r\n" H "\r\n",
	                     (int)o.max_request_line - 14, 0);
	{
		static char body[8192];

		snprintf(body, sizeof(body), "GET /%0*d q=- b=", (int)o.max_request_line - 14, 0);
		check_case(&o, "request line at the limit", in, n, ok(body), 0);
	}
	/* 414 even before the line ends */
	n = o.max_request_line + 10;
	memset(in, 'a', n);
	memcpy(in, "GET /", 5);
	check_case(&o, "414 unterminated", in, n, err(414, "URI Too Long"), 1);
	/* 431: too many fields; exactly max_headers is fine */
	n = (size_t)snprintf(in, sizeof(in), "GET / HTTP/1.1\r\n" H);
	for (size_t i = 1; i < o.max_headers; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "X-%zu: y\r\n", i);
	n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\n");
	check_case(&o, "max_headers fields", in, n, ok("GET / q=- b="), 0);
	n -= 2;
	n += (size_t)snprintf(in + n, sizeof(in) - n, "X-last: y\r\n\r\n");
	check_case(&o, "431 fields", in, n, err(431, "Request Header Fields Too Large"), 1);
	/* 431: a header section over max_header_bytes, complete or not */
	n = (size_t)snprintf(in, sizeof(in), "GET / HTTP/1.1\r\n" H "X: %0*d\r\n\r\n",
	                     (int)o.max_header_bytes, 0);
	check_case(&o, "431 bytes", in, n, err(431, "Request Header Fields Too Large"), 1);
	check_case(&o, "431 bytes unterminated", in, n - 4,
	           err(431, "Request Header Fields Too Large"), 1);
	/* 413 with a small max_body: Content-Length and chunked, one byte over; at it is fine */
	o.max_body = 10;
	check_str(&o, "413 CL", "POST / HTTP/1.1\r\n" H "Content-Length: 11\r\n\r\nhello world",
	          err(413, "Content Too Large"), 1);
	check_str(&o, "CL at max_body",
	          "POST / HTTP/1.1\r\n" H "Content-Length: 10\r\n\r\nhelloworld",
	          ok("POST / q=- b=helloworld"), 0);
	check_str(&o, "413 chunked",
	          "POST / HTTP/1.1\r\n" H
	          "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
	          err(413, "Content Too Large"), 1);
	check_str(&o, "chunked at max_body",
	          "POST / HTTP/1.1\r\n" H
	          "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n",
	          ok("POST / q=- b=helloworld"), 0);
	/* a trailer section over max_header_bytes */
	o = opts;
	o.max_header_bytes = 64;
	check_str(
	        &o, "431 trailers",
	        "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n0\r\n"
	        "T: 0123456789012345678901234567890123456789012345678901234567890123456789\r\n\r\n",
	        err(431, "Request Header Fields Too Large"), 1);
}

/* Pipelined requests beyond max_output wait until the output drains; all come out in order. */
static void test_backpressure(void)
{
	struct uk_http_options o = opts;
	struct uk_http_conn *c;
	static char in[4096], want[200000];
	static struct run r;
	size_t n = 0, w = 0;
	int paused = 0;
	const void *p;

	o.max_output = 1000;
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "GET /copy HTTP/1.1\r\n" H "\r\n");
	c = uk_http_conn_new(&o, handler, NULL);
	uk_http_conn_feed(c, in, n);
	CHECK(uk_http_conn_requests(c) == 1, "one request answered while paused: %llu",
	      (unsigned long long)uk_http_conn_requests(c));
	CHECK(!uk_http_conn_wants_input(c), "paused connection wants no input");
	memset(&r, 0, sizeof(r));
	for (size_t k; (k = uk_http_conn_output(c, &p)) > 0;) {
		if (!uk_http_conn_wants_input(c))
			paused++;
		if (k > 500)
			k = 500;
		if (w + k < sizeof(want)) {
			memcpy(want + w, p, k);
			w += k;
		}
		uk_http_conn_consume(c, k);
	}
	CHECK(uk_http_conn_requests(c) == 20, "all answered: %llu",
	      (unsigned long long)uk_http_conn_requests(c));
	CHECK(paused > 1, "paused while draining");
	CHECK(uk_http_conn_wants_input(c) && uk_http_conn_idle(c), "idle again");
	for (int i = 0; i < 20; i++) {
		const char *hdr = "HTTP/1.1 200 OK\r\nServer: uk\r\nContent-Type: text/plain\r\n"
		                  "Content-Length: 6000\r\n\r\n";
		size_t hl = strlen(hdr), off = (size_t)i * (hl + 6000);

		CHECK(off + hl + 6000 <= w && !memcmp(want + off, hdr, hl) &&
		              !memcmp(want + off + hl, big, 6000),
		      "response %d in order", i);
	}
	uk_http_conn_free(c);
}

/* Expect: 100-continue gets an interim response when the body has not arrived yet. */
static void test_continue(void)
{
	const char *head =
	        "PUT /u HTTP/1.1\r\n" H "Expect: 100-Continue\r\nContent-Length: 3\r\n\r\n";
	const char *in;
	struct uk_http_conn *c = uk_http_conn_new(&opts, handler, NULL);
	static struct run r;

	memset(&r, 0, sizeof(r));
	uk_http_conn_feed(c, head, strlen(head));
	drain(c, &r, (size_t)-1);
	CHECK(!strcmp(r.out, "HTTP/1.1 100 Continue\r\n\r\n"), "100 Continue: %s", r.out);
	uk_http_conn_feed(c, "abc", 3);
	drain(c, &r, (size_t)-1);
	CHECK(!strcmp(r.out, fmt("HTTP/1.1 100 Continue\r\n\r\n%s", ok("PUT /u q=- b=abc"))),
	      "after the body: %s", r.out);
	uk_http_conn_free(c);
	/* body already there: no interim response */
	in = "PUT /u HTTP/1.1\r\n" H "Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc";
	run_conn(&opts, in, strlen(in), 0, &r);
	CHECK(!strcmp(r.out, ok("PUT /u q=- b=abc")), "expect with body: %s", r.out);
}

/* Timeouts, the Date header, EOF between pipelined requests, idle state. */
static void test_misc(void)
{
	struct uk_http_options o = opts;
	struct uk_http_conn *c;
	static struct run r;
	char *d;

	/* a request under way gets 408 */
	c = uk_http_conn_new(&opts, handler, NULL);
	CHECK(uk_http_conn_idle(c), "new connection idle");
	uk_http_conn_feed(c, "GET / HT", 8);
	CHECK(!uk_http_conn_idle(c), "partial request not idle");
	uk_http_conn_timeout(c);
	memset(&r, 0, sizeof(r));
	drain(c, &r, (size_t)-1);
	CHECK(!strcmp(r.out, err(408, "Request Timeout")), "408: %s", r.out);
	CHECK(uk_http_conn_done(c), "done after 408");
	uk_http_conn_free(c);
	/* an idle one closes quietly */
	c = uk_http_conn_new(&opts, handler, NULL);
	uk_http_conn_timeout(c);
	CHECK(uk_http_conn_done(c) && uk_http_conn_output(c, (const void **)&d) == 0,
	      "idle timeout closes quietly");
	uk_http_conn_free(c);
	/* EOF right after pipelined requests: all are answered */
	check_str(&opts, "pipelined then EOF",
	          "GET /1 HTTP/1.1\r\n" H "\r\nGET /2 HTTP/1.1\r\n" H "\r\n",
	          fmt("%s%s", ok("GET /1 q=- b="), ok("GET /2 q=- b=")), 0);
	/* Date: an IMF-fixdate */
	o.date = 1;
	run_conn(&o, "GET / HTTP/1.1\r\n" H "\r\n", 27, 0, &r);
	d = strstr(r.out, "\r\nDate: ");
	CHECK(d && strlen(d) > 37 && d[11] == ',' && !memcmp(d + 33, " GMT\r\n", 6),
	      "Date header: %s", r.out);
	/* reasons */
	CHECK(!strcmp(uk_http_reason(404), "Not Found") && !strcmp(uk_http_reason(799), "Unknown"),
	      "reasons");
	CHECK(uk_http_conn_new(NULL, NULL, NULL) == NULL, "a handler is required");
	uk_http_conn_free(NULL);
	/* no Server header when NULL */
	o = opts;
	o.server = NULL;
	run_conn(&o, "GET / HTTP/1.1\r\n" H "\r\n", 27, 0, &r);
	CHECK(!strstr(r.out, "Server:"), "no Server: %s", r.out);
}

/* Random bytes and mutated requests: the machine never crashes and always terminates. */
static void test_random(void)
{
	static const char *seeds[] = {
	        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	        "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	        "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	        "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
	};
	static char in[512];
	static struct run r;
	uint64_t x = 88172645463325252ull;

	for (int i = 0; i < 20000; i++) {
		const char *s = seeds[i % 3];
		size_t n = strlen(s);

		memcpy(in, s, n);
		for (int k = 0; k < 1 + i % 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			in[x % n] = (char)(x >> 32);
		}
		run_conn(&opts, in, n, (size_t)(i % 5), &r);
		CHECK(r.done, "random %d terminates", i);
	}
}

/* --- files --- */

static const struct uk_http_files files_cfg = {"/www", "/www/404.html", NULL};

static void serve(void *ctx, const struct uk_http_request *req, struct uk_http_response *resp)
{
	uk_http_serve_files(ctx, req, resp);
}

static void files_case(const struct uk_http_files *cfg, const char *name, const char *in,
                       const char *want)
{
	struct uk_http_conn *c = uk_http_conn_new(&opts, serve, (void *)cfg);
	static struct run r;

	memset(&r, 0, sizeof(r));
	uk_http_conn_feed(c, in, strlen(in));
	drain(c, &r, (size_t)-1);
	CHECK(r.len == strlen(want) && !memcmp(r.out, want, r.len),
	      "%s:\n--- got ---\n%s\n--- want ---\n%s", name, r.out, want);
	uk_http_conn_free(c);
}

static char *file_ok(const char *type, const char *etag, const char *body)
{
	return fmt("HTTP/1.1 200 OK\r\nServer: uk\r\nContent-Type: %s\r\nContent-Length: "
	           "%zu\r\nETag: %s\r\n\r\n%s",
	           type, strlen(body), etag, body);
}

static void test_files(void)
{
	const char *html = "text/html; charset=utf-8";
	const char *e_index = "\"1111111111111111\"";
	char *not_modified =
	        fmt("HTTP/1.1 304 Not Modified\r\nServer: uk\r\nETag: %s\r\n\r\n", e_index);
	char *lost =
	        fmt("HTTP/1.1 404 Not Found\r\nServer: uk\r\nContent-Type: %s\r\nContent-Length: "
	            "14\r\n\r\n<h1>lost</h1>\n",
	            html);
	const struct uk_http_files cc = {"/www/", NULL, "no-cache"};
	static struct run r;

	files_case(&files_cfg, "GET /", "GET / HTTP/1.1\r\n" H "\r\n",
	           file_ok(html, e_index, "<h1>home</h1>\n"));
	files_case(&files_cfg, "GET /index.html", "GET /index.html HTTP/1.1\r\n" H "\r\n",
	           file_ok(html, e_index, "<h1>home</h1>\n"));
	files_case(&files_cfg, "percent-encoded name", "GET /%69ndex.html HTTP/1.1\r\n" H "\r\n",
	           file_ok(html, e_index, "<h1>home</h1>\n"));
	files_case(&files_cfg, "css", "GET /style.css HTTP/1.1\r\n" H "\r\n",
	           file_ok("text/css; charset=utf-8", "\"c55c55c55c55c55c\"", "body{}\n"));
	files_case(&files_cfg, "empty file", "GET /empty.txt HTTP/1.1\r\n" H "\r\n",
	           file_ok("text/plain; charset=utf-8", "\"e3b0c44298fc1c14\"", ""));
	files_case(&files_cfg, "directory index", "GET /docs/ HTTP/1.1\r\n" H "\r\n",
	           file_ok(html, "\"d0c5d0c5d0c5d0c5\"", "docs\n"));
	files_case(&files_cfg, "redirect to dir/", "GET /docs HTTP/1.1\r\n" H "\r\n",
	           "HTTP/1.1 301 Moved Permanently\r\nServer: uk\r\nContent-Type: text/plain; "
	           "charset=utf-8\r\nContent-Length: 22\r\nLocation: /docs/\r\n\r\n301 Moved "
	           "Permanently\n");
	files_case(&files_cfg, "redirect keeps the query", "GET /docs?a=b HTTP/1.1\r\n" H "\r\n",
	           "HTTP/1.1 301 Moved Permanently\r\nServer: uk\r\nContent-Type: text/plain; "
	           "charset=utf-8\r\nContent-Length: 22\r\nLocation: /docs/?a=b\r\n\r\n301 Moved "
	           "Permanently\n");
	files_case(&files_cfg, "dir without index", "GET /img/ HTTP/1.1\r\n" H "\r\n", lost);
	files_case(&files_cfg, "404 page", "GET /nope HTTP/1.1\r\n" H "\r\n", lost);
	files_case(&files_cfg, "no prefix match", "GET /index.htm HTTP/1.1\r\n" H "\r\n", lost);
	files_case(&files_cfg, "double slash", "GET //index.html HTTP/1.1\r\n" H "\r\n", lost);
	files_case(NULL, "plain 404 without a page", "GET /nope HTTP/1.1\r\n" H "\r\n",
	           "HTTP/1.1 404 Not Found\r\nServer: uk\r\nContent-Type: text/plain; "
	           "charset=utf-8\r\nContent-Length: 14\r\n\r\n404 Not Found\n");
	files_case(NULL, "no root", "GET /www/about.html HTTP/1.1\r\n" H "\r\n",
	           file_ok(html, "\"abababababababab\"", "about\n"));
	files_case(&files_cfg, "HEAD", "HEAD /about.html HTTP/1.1\r\n" H "\r\n",
	           fmt("HTTP/1.1 200 OK\r\nServer: uk\r\nContent-Type: %s\r\nContent-Length: "
	               "6\r\nETag: \"abababababababab\"\r\n\r\n",
	               html));
	files_case(&files_cfg, "If-None-Match",
	           "GET / HTTP/1.1\r\n" H "If-None-Match: \"1111111111111111\"\r\n\r\n",
	           not_modified);
	files_case(&files_cfg, "If-None-Match weak in a list",
	           "GET / HTTP/1.1\r\n" H "If-None-Match: \"x\", W/\"1111111111111111\"\r\n\r\n",
	           not_modified);
	files_case(&files_cfg, "If-None-Match *", "GET / HTTP/1.1\r\n" H "If-None-Match: *\r\n\r\n",
	           not_modified);
	files_case(&files_cfg, "If-None-Match other",
	           "GET / HTTP/1.1\r\n" H "If-None-Match: \"1111111111111112\"\r\n\r\n",
	           file_ok(html, e_index, "<h1>home</h1>\n"));
	files_case(&files_cfg, "If-None-Match malformed",
	           "GET / HTTP/1.1\r\n" H "If-None-Match: 1111111111111111\r\n\r\n",
	           file_ok(html, e_index, "<h1>home</h1>\n"));
	files_case(&cc, "Cache-Control, root with slash", "GET /about.html HTTP/1.1\r\n" H "\r\n",
	           fmt("HTTP/1.1 200 OK\r\nServer: uk\r\nContent-Type: %s\r\nContent-Length: "
	               "6\r\nETag: \"abababababababab\"\r\nCache-Control: no-cache\r\n\r\nabout\n",
	               html));
	files_case(&files_cfg, "POST is 405", "POST / HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n",
	           "HTTP/1.1 405 Method Not Allowed\r\nServer: uk\r\nContent-Type: text/plain; "
	           "charset=utf-8\r\nContent-Length: 23\r\nAllow: GET, HEAD\r\n\r\n405 Method Not "
	           "Allowed\n");
	files_case(&files_cfg, "traversal", "GET /../www/index.html HTTP/1.1\r\n" H "\r\n",
	           err(400, "Bad Request"));
	files_case(&files_cfg, "encoded traversal",
	           "GET /docs/%2e%2e/index.html HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"));
	files_case(&files_cfg, "encoded traversal 2",
	           "GET /%2E%2E%2Fwww%2Findex.html HTTP/1.1\r\n" H "\r\n", err(400, "Bad Request"));
	files_case(&files_cfg, "NUL truncation", "GET /index.html%00.png HTTP/1.1\r\n" H "\r\n",
	           err(400, "Bad Request"));
	/* a binary file goes out byte-exact, after its headers */
	{
		struct uk_http_conn *c = uk_http_conn_new(&opts, serve, (void *)&files_cfg);
		const char *req = "GET /img/a.png HTTP/1.1\r\n" H "\r\n";
		char *hdr = fmt("HTTP/1.1 200 OK\r\nServer: uk\r\nContent-Type: image/png\r\n"
		                "Content-Length: 10\r\nETag: \"0123456789abcdef\"\r\n\r\n");

		memset(&r, 0, sizeof(r));
		uk_http_conn_feed(c, req, strlen(req));
		drain(c, &r, (size_t)-1);
		CHECK(r.len == strlen(hdr) + sizeof(png) && !memcmp(r.out, hdr, strlen(hdr)) &&
		              !memcmp(r.out + strlen(hdr), png, sizeof(png)),
		      "png bytes");
		uk_http_conn_free(c);
	}
}

static void test_lookup(void)
{
	const struct uk_rofile *f;

	CHECK(uk_file_count() == 8, "count %zu", uk_file_count());
	for (size_t i = 1; i < uk_file_count(); i++)
		CHECK(strcmp(uk_file_at(i - 1)->path, uk_file_at(i)->path) < 0, "sorted at %zu", i);
	CHECK(uk_file_at(8) == NULL, "past the end");
	f = uk_file_lookup("/www/index.html");
	CHECK(f && f->size == 14 && !memcmp(f->data, "<h1>home</h1>\n", 14), "lookup index");
	CHECK(uk_file_lookup("/www/404.html") == &uk_files_table[0], "lookup first");
	CHECK(uk_file_lookup("/www/style.css") == &uk_files_table[7], "lookup last");
	CHECK(!uk_file_lookup("/www/index.htm") && !uk_file_lookup("/www/") &&
	              !uk_file_lookup("/www") && !uk_file_lookup("") && !uk_file_lookup(NULL) &&
	              !uk_file_lookup("/www/style.cssx") && !uk_file_lookup("/a"),
	      "misses");
	CHECK(uk_file_is_dir("/") && uk_file_is_dir("/www") && uk_file_is_dir("/www/") &&
	              uk_file_is_dir("/www/docs") && uk_file_is_dir("/www/img/"),
	      "dirs");
	CHECK(!uk_file_is_dir("/ww") && !uk_file_is_dir("/www/doc") &&
	              !uk_file_is_dir("/www/index.html") && !uk_file_is_dir("www") &&
	              !uk_file_is_dir("//") && !uk_file_is_dir("/www//") && !uk_file_is_dir(NULL),
	      "not dirs");
	f = uk_file_first_under("/www/docs/");
	CHECK(f && !strcmp(f->path, "/www/docs/index.html") && uk_file_index(f) == 2,
	      "first under");
	CHECK(!uk_file_first_under("/zzz/"), "nothing under");
	CHECK(!strcmp(uk_file_content_type("/a/b.PNG"), "image/png") &&
	              !strcmp(uk_file_content_type("x.Html"), "text/html; charset=utf-8") &&
	              !strcmp(uk_file_content_type("x.js"), "text/javascript; charset=utf-8") &&
	              !strcmp(uk_file_content_type("x.svg"), "image/svg+xml") &&
	              !strcmp(uk_file_content_type("x.woff2"), "font/woff2"),
	      "known types");
	CHECK(!strcmp(uk_file_content_type("/a.b/c"), "application/octet-stream") &&
	              !strcmp(uk_file_content_type("/x."), "application/octet-stream") &&
	              !strcmp(uk_file_content_type("/x.htmlx"), "application/octet-stream") &&
	              !strcmp(uk_file_content_type("/x.ht"), "application/octet-stream") &&
	              !strcmp(uk_file_content_type(NULL), "application/octet-stream"),
	      "unknown types");
}

int main(void)
{
	static char heap[64 << 20];

	ukt_uk_heap_add(heap, sizeof(heap));
	memset(big, 'b', sizeof(big));
	uk_http_options_default(&opts);
	CHECK(opts.max_request_line == 4096 && opts.max_header_bytes == 8192 &&
	              opts.max_headers == 64 && opts.max_body == 1 << 20 && opts.date == 1,
	      "defaults");
	opts.date = 0;
	test_requests();
	test_limits();
	test_backpressure();
	test_continue();
	test_misc();
	test_random();
	test_lookup();
	test_files();
	CHECK(ukt_uk_heap_used() < 4096, "no leaks: %zu bytes in use", ukt_uk_heap_used());
	printf("test_http: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
