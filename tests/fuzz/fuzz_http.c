/* Fuzz target: bytes from a client through the HTTP core (parser, bodies, pipelining, file
 * serving). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../runtime-lib/include/uk/files.h"
#include "../../runtime-lib/include/uk/http.h"

uint64_t uk_time_wall_ns(void)
{
	return 784111777000000000ull; /* Sun, 06 Nov 1994 08:49:37 GMT */
}

const struct uk_rofile uk_files_table[] = {
        {"/www/a/index.html", (const unsigned char *)"a\n", 2, "\"0000000000000001\""},
        {"/www/index.html", (const unsigned char *)"<h1>hi</h1>\n", 12, "\"0000000000000002\""},
        {"/www/x.css", (const unsigned char *)"", 0, "\"0000000000000003\""},
};
const size_t uk_files_count = 3;

static const struct uk_http_files files = {"/www", "/www/a/index.html", "no-cache"};
static char big[20000];

static void handler(void *ctx, const struct uk_http_request *req, struct uk_http_response *resp)
{
	(void)ctx;
	if (req->path[0] == '/' && req->path[1] == 'e') {
		uk_http_response_header(resp, "X-Len", req->method);
		uk_http_respond(resp, 200, "text/plain", req->body, req->body_len);
	} else if (req->path[0] == '/' && req->path[1] == 'b') {
		uk_http_respond_static(resp, 200, NULL, big, sizeof(big));
	} else if (req->path[0] == '/' && req->path[1] == 'n') {
		/* no response: the core sends 500 */
	} else {
		uk_http_serve_files((void *)&files, req, resp);
	}
}

/* Takes everything the connection has to send, in pieces of (step) bytes. */
static void drain(struct uk_http_conn *c, size_t step, int *first)
{
	const void *p;
	size_t n;

	while ((n = uk_http_conn_output(c, &p)) > 0) {
		if (*first) {
			/* every response stream starts with a status line or an interim 100 */
			if (n >= 5 && memcmp(p, "HTTP/", 5))
				abort();
			*first = 0;
		}
		uk_http_conn_consume(c, n < step ? n : step);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uk_http_options o;
	struct uk_http_conn *c;
	size_t split, step, i = 0;
	int first = 1;

	if (size < 2)
		return 0;
	uk_http_options_default(&o);
	if (data[0] & 1) { /* small limits reach the 413/414/431 paths with short inputs */
		o.max_request_line = 64;
		o.max_header_bytes = 128;
		o.max_headers = 4;
		o.max_body = 32;
		o.max_output = 64;
	}
	o.date = data[0] & 2;
	split = (size_t)(data[0] >> 2) + 1; /* 1..64 bytes per feed */
	step = (size_t)data[1] * 37 + 1;    /* output consumed in pieces */
	data += 2;
	size -= 2;
	c = uk_http_conn_new(&o, handler, NULL);
	if (!c)
		return 0;
	while (i < size && uk_http_conn_wants_input(c)) {
		size_t k = size - i < split ? size - i : split;

		uk_http_conn_feed(c, data + i, k);
		i += k;
		drain(c, step, &first);
	}
	uk_http_conn_eof(c);
	drain(c, step, &first);
	if (!uk_http_conn_done(c))
		abort(); /* after EOF and a full drain a connection always ends */
	uk_http_conn_free(c);
	return 0;
}
