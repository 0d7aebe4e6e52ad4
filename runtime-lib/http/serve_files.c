/* uk_http_serve_files: the handler serving embedded read-only files (ETag/304, index.html, HEAD).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <uk/files.h>
#include <uk/http.h>

#include "http/internal.h"

/* Nonzero when the If-None-Match list (v) matches (etag) (weak comparison, RFC 9110 13.1.2). */
static int etag_matches(const char *v, const char *etag)
{
	size_t n = strlen(etag);

	while (*v) {
		const char *e;

		while (*v == ',' || *v == ' ' || *v == '\t')
			v++;
		if (*v == '*')
			return 1;
		if (v[0] == 'W' && v[1] == '/')
			v += 2;
		if (*v != '"')
			return 0; /* malformed: no match */
		e = strchr(v + 1, '"');
		if (!e)
			return 0;
		if ((size_t)(e + 1 - v) == n && !strncmp(v, etag, n))
			return 1;
		v = e + 1;
	}
	return 0;
}

static void send_file(const struct uk_http_files *cfg, const struct uk_http_request *req,
                      struct uk_http_response *resp, const struct uk_rofile *f, int status)
{
	const char *inm = uk_http_request_header(req, "If-None-Match");

	if (status == 200) {
		uk_http_response_header(resp, "ETag", f->etag);
		if (cfg && cfg->cache_control)
			uk_http_response_header(resp, "Cache-Control", cfg->cache_control);
		if (inm && etag_matches(inm, f->etag)) {
			uk_http_respond_static(resp, 304, NULL, NULL, 0);
			return;
		}
	}
	uk_http_respond_static(resp, status, uk_file_content_type(f->path), f->data, f->size);
}

static void not_found(const struct uk_http_files *cfg, const struct uk_http_request *req,
                      struct uk_http_response *resp)
{
	const struct uk_rofile *f = cfg && cfg->not_found ? uk_file_lookup(cfg->not_found) : NULL;

	if (f)
		send_file(cfg, req, resp, f, 404);
	else
		uk_http_respond_error(resp, 404);
}

void uk_http_serve_files(void *ctx, const struct uk_http_request *req,
                         struct uk_http_response *resp)
{
	const struct uk_http_files *cfg = ctx;
	const char *root = cfg && cfg->root ? cfg->root : "";
	struct http_buf full = {0}, loc = {0};
	const struct uk_rofile *f;
	size_t rl = strlen(root), pl;

	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
		uk_http_response_header(resp, "Allow", "GET, HEAD");
		uk_http_respond_error(resp, 405);
		return;
	}
	if (req->path[0] != '/') { /* "OPTIONS *" never gets here; anything else odd is absent */
		not_found(cfg, req, resp);
		return;
	}
	while (rl && root[rl - 1] == '/')
		rl--;
	pl = strlen(req->path);
	http_buf_put(&full, root, rl);
	http_buf_put(&full, req->path, pl);
	if (req->path[pl - 1] == '/')
		http_buf_str(&full, "index.html");
	if (full.oom) {
		http_buf_free(&full);
		uk_http_respond_error(resp, 500);
		return;
	}
	f = strstr(full.p, "//") ? NULL : uk_file_lookup(full.p);
	if (f) {
		send_file(cfg, req, resp, f, 200);
	} else if (req->path[pl - 1] != '/' && uk_file_is_dir(full.p)) {
		/* "/docs" is a directory: send the client to "/docs/" so relative links work */
		http_buf_path(&loc, req->path);
		http_buf_put(&loc, "/", 1);
		if (req->query) {
			http_buf_put(&loc, "?", 1);
			http_buf_str(&loc, req->query);
		}
		if (loc.oom || uk_http_response_header(resp, "Location", loc.p) != UK_OK)
			uk_http_respond_error(resp, 500);
		else
			uk_http_respond_error(resp, 301);
	} else {
		not_found(cfg, req, resp);
	}
	http_buf_free(&full);
	http_buf_free(&loc);
}
