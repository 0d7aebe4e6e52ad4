/* An OCI distribution client over libcurl: blob HEAD/upload/GET, manifest PUT/GET, basic auth and
 * the Bearer token flow. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "internal.h"
#include "uk/registry.h"

#define MANIFEST_MAX (4 << 20)
#define ERRBODY_MAX 4096
#define TOKEN_MAX 16384

#define ACCEPT_MANIFESTS                                           \
	"Accept: " UKIMG_MT_MANIFEST ", " UKIMG_MT_INDEX           \
	", application/vnd.docker.distribution.manifest.v2+json, " \
	"application/vnd.docker.distribution.manifest.list.v2+json"

struct reg_client {
	CURL *curl;
	ukimg_regref_t ref;
	const ukimg_registry_opts_t *opts;
	char base[UKIMG_REGISTRY_MAX + 16]; /* "http://127.0.0.1:5000" */
	char *bearer;                       /* token from the token flow, once obtained */
	const char *scope_default;          /* "pull" or "pull,push" */
};

/* One response: status, the headers we use, and the body (to a buffer or an fd). */
struct resp {
	long status;
	char location[2048];
	char content_digest[UKIMG_DIGEST_SIZE];
	char content_type[256];
	char challenge[2048]; /* WWW-Authenticate */
	/* body sink for 2xx: (fd) >= 0 writes there (at most max bytes); else a buffer */
	int fd;
	EVP_MD_CTX *hash; /* MAY be NULL: hashes what goes to (fd), restarted with each attempt */
	int64_t max;
	int64_t got;
	int too_large;
	char *buf;
	size_t len, cap;
	char errbody[ERRBODY_MAX];
	size_t errlen;
};

/* A request body: (len) bytes from a buffer or from an fd at offset (start) (rewound before each
 * attempt). */
struct body {
	const char *buf;
	int fd;
	int64_t start;
	int64_t len;
	int64_t off;
	char range[64]; /* a chunk's "Content-Range: first-last" header, or "" */
};

/* on_body needs the curl handle to read the status. */
struct resp_ctx {
	struct resp r;
	CURL *curl;
};

/* (rc) MUST be zeroed or previously initialized; its buffer is released. */
static void resp_init(struct resp_ctx *rc, int fd, int64_t max)
{
	free(rc->r.buf);
	memset(rc, 0, sizeof(*rc));
	rc->r.fd = fd;
	rc->r.max = max;
}

static void client_free(struct reg_client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->bearer);
}

/* libcurl's global state, set up once per process (it was once per registry operation). */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ukimg_registry_is_local(const char *registry)
{
	char host[UKIMG_REGISTRY_MAX];
	struct in_addr a;
	char *colon;

	snprintf(host, sizeof(host), "%s", registry);
	colon = strrchr(host, ':');
	if (colon)
		*colon = 0;
	if (!strcmp(host, "localhost"))
		return 1;
	return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

static int client_init(struct reg_client *c, const ukimg_regref_t *ref,
                       const ukimg_registry_opts_t *opts, const char *scope, uk_err_t *err)
{
	static const ukimg_registry_opts_t none = {0};
	const char *host = ref->registry;

	memset(c, 0, sizeof(*c));
	c->ref = *ref;
	c->opts = opts ? opts : &none;
	c->scope_default = scope;
	if (!ref->registry[0] || !ref->repository[0])
		return uk_err_bad(err, "registry: reference has no registry or repository");
	if (!strcmp(host, UKIMG_REGISTRY_DEFAULT))
		host = "registry-1.docker.io";
	snprintf(c->base, sizeof(c->base), "%s://%s",
	         !c->opts->tls && (c->opts->insecure || ukimg_registry_is_local(host)) ? "http"
	                                                                               : "https",
	         host);
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return uk_err_internal(err, "registry: cannot initialize libcurl");
	c->curl = curl_easy_init();
	if (!c->curl)
		return uk_err_internal(err, "registry: cannot initialize libcurl");
	return 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct resp *r = ctx;
	size_t len = size * n, klen;
	char line[2048];
	const char *v;
	struct {
		const char *key;
		char *dst;
		size_t cap;
	} keys[] = {
	        {"location", r->location, sizeof(r->location)},
	        {"docker-content-digest", r->content_digest, sizeof(r->content_digest)},
	        {"content-type", r->content_type, sizeof(r->content_type)},
	        {"www-authenticate", r->challenge, sizeof(r->challenge)},
	};

	if (len >= 5 && !memcmp(p, "HTTP/", 5)) { /* a new response (redirect, 100): reset */
		r->location[0] = r->content_digest[0] = r->content_type[0] = r->challenge[0] = 0;
		return len;
	}
	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = 0;
	line[strcspn(line, "\r\n")] = 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		klen = strlen(keys[i].key);
		if (strncasecmp(line, keys[i].key, klen) || line[klen] != ':')
			continue;
		for (v = line + klen + 1; *v == ' ' || *v == '\t'; v++)
			;
		snprintf(keys[i].dst, keys[i].cap, "%s", v);
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct resp_ctx *rc = ctx;
	struct resp *r = &rc->r;
	size_t len = size * n;
	long status = 0;

	curl_easy_getinfo(rc->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		size_t room = sizeof(r->errbody) - 1 - r->errlen;
		size_t k = len < room ? len : room;

		memcpy(r->errbody + r->errlen, p, k);
		r->errlen += k;
		r->errbody[r->errlen] = 0;
		return len;
	}
	if (r->got + (int64_t)len > r->max) {
		r->too_large = 1;
		return 0; /* aborts the transfer */
	}
	r->got += (int64_t)len;
	if (r->fd >= 0) {
		if (r->hash)
			EVP_DigestUpdate(r->hash, p, len);
		return uk_write_all(r->fd, p, len) == 0 ? len : 0;
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = (r->len + len + 1) * 2;
		char *nb = realloc(r->buf, cap);

		if (!nb)
			return 0;
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, len);
	r->len += len;
	r->buf[r->len] = 0;
	return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *ctx)
{
	struct body *b = ctx;
	size_t want = size * n, left = (size_t)(b->len - b->off);

	if (want > left)
		want = left;
	if (b->buf) {
		size_t k = want;

		memcpy(p, b->buf + b->off, k);
		b->off += (int64_t)k;
		return k;
	}
	for (;;) {
		ssize_t k = read(b->fd, p, want);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return CURL_READFUNC_ABORT;
		b->off += k;
		return (size_t)k;
	}
}

/* Extracts key="value" from a Bearer challenge into (out); "" if absent. */
static void challenge_param(const char *ch, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = ch;

	out[0] = 0;
	while ((p = strcasestr(p, key))) {
		if ((p == ch || p[-1] == ' ' || p[-1] == ',') && p[klen] == '=') {
			const char *v = p + klen + 1, *e;
			size_t len;

			if (*v == '"') {
				v++;
				e = strchr(v, '"');
			} else {
				e = v + strcspn(v, ",");
			}
			if (!e)
				return;
			len = (size_t)(e - v);
			if (len >= outlen)
				return;
			memcpy(out, v, len);
			out[len] = 0;
			return;
		}
		p += klen;
	}
}

static int client_where(struct reg_client *c, char *buf, size_t len)
{
	return snprintf(buf, len, "registry %s, repository %s", c->ref.registry, c->ref.repository);
}

/* Fills (err) from a failed response. */
static int resp_error(struct reg_client *c, const struct resp *r, const char *what, uk_err_t *err)
{
	char where[UKIMG_REGISTRY_MAX + UKIMG_REPO_MAX + 40], msg[512] = "";
	json_object *o, *errs, *e0, *m;

	client_where(c, where, sizeof(where));
	if (r->status == 401)
		return uk_err_set(err, 401, "unauthorized",
		                  "%s: %s: unauthorized: check the username and password for %s",
		                  where, what, c->ref.registry);
	o = json_tokener_parse(r->errbody);
	if (o && json_object_object_get_ex(o, "errors", &errs) &&
	    json_object_is_type(errs, json_type_array) && json_object_array_length(errs) > 0 &&
	    (e0 = json_object_array_get_idx(errs, 0))) {
		const char *code = uk_json_str(e0, "code");
		if (json_object_object_get_ex(e0, "message", &m))
			snprintf(msg, sizeof(msg), ": %s%s%s", code ? code : "", code ? ": " : "",
			         json_object_get_string(m));
	}
	json_object_put(o);
	if (r->status == 403)
		return uk_err_set(err, 403, "forbidden", "%s: %s: HTTP 403 denied%s", where, what,
		                  msg);
	if (r->status == 404)
		return uk_err_notfound(err, "%s: %s: HTTP 404 not found%s", where, what, msg);
	return uk_err_set(err, 502, "bad_gateway", "%s: %s: HTTP %ld%s", where, what, r->status,
	                  msg);
}

static int do_once(struct reg_client *c, const char *method, const char *url, const char *ctype,
                   const char *accept, const char *auth_hdr, struct body *body, struct resp_ctx *rc,
                   uk_err_t *err);

/* Runs the token flow for (challenge); stores the token in c->bearer. */
static int fetch_token(struct reg_client *c, const char *challenge, uk_err_t *err)
{
	char realm[1024], service[512], scope[640], url[4096], where[600];
	struct resp_ctx rc = {0};
	json_object *o;
	const char *tok;
	char *esc_s = NULL, *esc_sc = NULL;
	int rv = -1;

	client_where(c, where, sizeof(where));
	challenge_param(challenge + 6, "realm", realm, sizeof(realm));
	challenge_param(challenge + 6, "service", service, sizeof(service));
	challenge_param(challenge + 6, "scope", scope, sizeof(scope));
	if (!realm[0] || (strncmp(realm, "https://", 8) && strncmp(realm, "http://", 7)))
		return uk_err_set(err, 502, "bad_gateway",
		                  "%s: bad token realm in WWW-Authenticate", where);
	if (!scope[0])
		snprintf(scope, sizeof(scope), "repository:%s:%s", c->ref.repository,
		         c->scope_default);
	esc_s = curl_easy_escape(c->curl, service, 0);
	esc_sc = curl_easy_escape(c->curl, scope, 0);
	if (!esc_s || !esc_sc) {
		uk_err_internal(err, "registry: out of memory");
		goto out;
	}
	snprintf(url, sizeof(url), "%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?",
	         esc_s, esc_sc);
	resp_init(&rc, -1, TOKEN_MAX);
	if (do_once(c, "GET", url, NULL, NULL, NULL, NULL, &rc, err) < 0)
		goto out;
	if (rc.r.status != 200) {
		resp_error(c, &rc.r, "get token", err);
		goto out;
	}
	o = rc.r.buf ? json_tokener_parse(rc.r.buf) : NULL;
	tok = o ? uk_json_str(o, "token") : NULL;
	if (!tok && o)
		tok = uk_json_str(o, "access_token");
	if (!tok || !*tok) {
		json_object_put(o);
		uk_err_set(err, 502, "bad_gateway", "%s: token server returned no token", where);
		goto out;
	}
	free(c->bearer);
	c->bearer = strdup(tok);
	json_object_put(o);
	rv = c->bearer ? 0 : uk_err_internal(err, "registry: out of memory");
out:
	free(rc.r.buf);
	curl_free(esc_s);
	curl_free(esc_sc);
	return rv;
}

static int do_once(struct reg_client *c, const char *method, const char *url, const char *ctype,
                   const char *accept, const char *auth_hdr, struct body *body, struct resp_ctx *rc,
                   uk_err_t *err)
{
	struct curl_slist *h = NULL;
	char where[600];
	CURLcode cc;
	const ukimg_auth_t *auth = c->opts->auth;

	curl_easy_reset(c->curl);
	rc->curl = c->curl;
	rc->r.status = 0;
	rc->r.got = 0;
	if (rc->r.hash && !EVP_DigestInit_ex(rc->r.hash, EVP_sha256(), NULL))
		return uk_err_internal(err, "sha256: cannot initialize OpenSSL digest");
	rc->r.len = 0;
	rc->r.errlen = 0;
	rc->r.too_large = 0;
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT,
	                 c->opts->timeout_sec > 0 ? c->opts->timeout_sec : 300L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "uk/1");
	if (c->opts->ca_file)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->opts->ca_file);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &rc->r);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, rc);
	if (!strcmp(method, "GET")) {
		curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 1L); /* blob GETs redirect */
		curl_easy_setopt(c->curl, CURLOPT_MAXREDIRS, 5L);
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "PUT") || !strcmp(method, "PATCH")) {
		if (!body)
			return uk_err_internal(err, "registry: %s without a body", method);
		curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 1L);
		if (!strcmp(method, "PATCH"))
			curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, "PATCH");
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
	} else {
		return uk_err_internal(err, "registry: unsupported method %s", method);
	}
	if (body) {
		body->off = 0;
		if (body->fd >= 0 && lseek(body->fd, body->start, SEEK_SET) < 0)
			return uk_err_errno(err, errno, "registry: rewind upload");
		curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c->curl, CURLOPT_READDATA, body);
		curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body->len);
		if (!strcmp(method, "POST"))
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			                 (curl_off_t)body->len);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, "");
	}
	h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
	if (ctype)
		h = curl_slist_append(h, ctype);
	if (body && body->range[0])
		h = curl_slist_append(h, body->range);
	if (accept)
		h = curl_slist_append(h, accept);
	if (auth_hdr) {
		h = curl_slist_append(h, auth_hdr);
	} else if (auth && auth->username) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c->curl, CURLOPT_USERNAME, auth->username);
		curl_easy_setopt(c->curl, CURLOPT_PASSWORD, auth->password ? auth->password : "");
	}
	if (!h) {
		return uk_err_internal(err, "registry: out of memory");
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	cc = curl_easy_perform(c->curl);
	curl_slist_free_all(h);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &rc->r.status);
	client_where(c, where, sizeof(where));
	if (rc->r.too_large)
		return uk_err_set(err, 413, "too_large",
		                  "%s: %s %s: response larger than %lld bytes", where, method,
		                  url + strlen(c->base), (long long)rc->r.max);
	if (cc != CURLE_OK)
		return uk_err_set(err, 502, "bad_gateway", "%s: %s %s: %s", where, method,
		                  strncmp(url, c->base, strlen(c->base)) ? url
		                                                         : url + strlen(c->base),
		                  curl_easy_strerror(cc));
	return 0;
}

/*
 * A request with authentication: basic credentials (if any) or the bearer token; on a 401 with
 * a Bearer challenge, runs the token flow once and retries. The caller checks rc->r.status.
 */
static int do_req(struct reg_client *c, const char *method, const char *url, const char *ctype,
                  const char *accept, struct body *body, struct resp_ctx *rc, uk_err_t *err)
{
	for (int attempt = 0;; attempt++) {
		char hdr[TOKEN_MAX + 32], *auth_hdr = NULL;

		if (c->bearer) {
			snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", c->bearer);
			auth_hdr = hdr;
		}
		if (rc->r.fd >= 0 &&
		    (ftruncate(rc->r.fd, 0) < 0 || lseek(rc->r.fd, 0, SEEK_SET) < 0))
			return uk_err_errno(err, errno, "registry: reset download file");
		if (do_once(c, method, url, ctype, accept, auth_hdr, body, rc, err) < 0)
			return -1;
		if (rc->r.status != 401 || attempt > 0 ||
		    strncasecmp(rc->r.challenge, "Bearer ", 7))
			return 0;
		if (fetch_token(c, rc->r.challenge, err) < 0)
			return -1;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Push                                                                                        */

static void progress(struct reg_client *c, ukimg_xfer_event_t ev, const char *digest, int64_t size)
{
	if (c->opts->progress)
		c->opts->progress(c->opts->progress_ctx, ev, digest, size);
}

/* An upload session's Location (absolute, absolute path, or relative) as a URL in (out). */
static void location_url(struct reg_client *c, const char *loc, char *out, size_t outlen)
{
	if (!strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8))
		snprintf(out, outlen, "%s", loc);
	else if (loc[0] == '/')
		snprintf(out, outlen, "%s%s", c->base, loc);
	else
		snprintf(out, outlen, "%s/v2/%s/blobs/uploads/%s", c->base, c->ref.repository, loc);
}

/* HEAD /v2/<repo>/blobs/<digest>: 1 if the registry has it, 0 if not, -1 on error. */
static int blob_exists(struct reg_client *c, const char *digest, uk_err_t *err)
{
	char url[4096], what[200];
	struct resp_ctx rc = {0};
	int rv = -1;

	snprintf(url, sizeof(url), "%s/v2/%s/blobs/%s", c->base, c->ref.repository, digest);
	snprintf(what, sizeof(what), "check blob %s", digest);
	resp_init(&rc, -1, 0);
	if (do_req(c, "HEAD", url, NULL, NULL, NULL, &rc, err) < 0)
		goto out;
	if (rc.r.status == 200 || rc.r.status == 404)
		rv = rc.r.status == 200;
	else
		resp_error(c, &rc.r, what, err);
out:
	free(rc.r.buf);
	return rv;
}

/*
 * Starts an upload of (digest): with opts->mount_from, as a cross-repository mount. Returns 1
 * if the registry mounted the blob (201), 0 with the session URL in (loc) when the blob must be
 * sent (202; a registry that cannot mount falls back to this), -1 on error.
 */
static int upload_start(struct reg_client *c, const char *digest, char *loc, size_t loclen,
                        uk_err_t *err)
{
	char url[4096], what[200];
	struct resp_ctx rc = {0};
	const char *from = c->opts->mount_from;
	_cleanup_free_ char *esc = NULL;
	int rv = -1;

	if (from && *from && strcmp(from, c->ref.repository)) {
		esc = curl_easy_escape(c->curl, from, 0);
		if (!esc)
			return uk_err_internal(err, "registry: out of memory");
		snprintf(url, sizeof(url), "%s/v2/%s/blobs/uploads/?mount=%s&from=%s", c->base,
		         c->ref.repository, digest, esc);
	} else {
		snprintf(url, sizeof(url), "%s/v2/%s/blobs/uploads/", c->base, c->ref.repository);
	}
	snprintf(what, sizeof(what), "start upload of blob %s", digest);
	resp_init(&rc, -1, ERRBODY_MAX);
	if (do_req(c, "POST", url, NULL, NULL, NULL, &rc, err) < 0)
		goto out;
	if (rc.r.status == 201 && esc) {
		rv = 1;
		goto out;
	}
	if (rc.r.status != 202 || !rc.r.location[0]) {
		if (rc.r.status == 202 || rc.r.status == 201)
			rc.r.status = 502;
		resp_error(c, &rc.r, what, err);
		goto out;
	}
	location_url(c, rc.r.location, loc, loclen);
	rv = 0;
out:
	free(rc.r.buf);
	return rv;
}

/*
 * Sends (src) to the upload session (loc): one PUT ?digest= when it is at most the chunk
 * threshold, else PATCH chunks with Content-Range, each to the Location the registry returned
 * for the previous one, and a closing PUT ?digest= without a body.
 */
static int upload_send(struct reg_client *c, const char *digest, const struct body *src, char *loc,
                       size_t loclen, uk_err_t *err)
{
	int64_t thr = c->opts->chunk_threshold > 0 ? c->opts->chunk_threshold : UKIMG_CHUNK_DEFAULT;
	int64_t chunk = c->opts->chunk_size > 0 ? c->opts->chunk_size : UKIMG_CHUNK_DEFAULT;
	char put[8192 + 128], what[240];
	struct resp_ctx rc = {0};
	struct body part, last, empty = {.buf = "", .fd = -1};
	int rv = -1;

	for (int64_t off = 0; src->len > thr && off < src->len; off += part.len) {
		part = *src;
		part.len = src->len - off < chunk ? src->len - off : chunk;
		if (part.buf)
			part.buf += off;
		else
			part.start += off;
		snprintf(part.range, sizeof(part.range), "Content-Range: %lld-%lld", (long long)off,
		         (long long)(off + part.len - 1));
		snprintf(what, sizeof(what), "upload blob %s: chunk at byte %lld", digest,
		         (long long)off);
		resp_init(&rc, -1, ERRBODY_MAX);
		if (do_req(c, "PATCH", loc, "Content-Type: application/octet-stream", NULL, &part,
		           &rc, err) < 0)
			goto out;
		if (rc.r.status != 202) {
			resp_error(c, &rc.r, what, err);
			goto out;
		}
		if (rc.r.location[0])
			location_url(c, rc.r.location, loc, loclen);
	}
	last = src->len > thr ? empty : *src; /* chunks sent: the PUT closes with no body */
	snprintf(put, sizeof(put), "%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", digest);
	snprintf(what, sizeof(what), "upload blob %s", digest);
	resp_init(&rc, -1, ERRBODY_MAX);
	if (do_req(c, "PUT", put, "Content-Type: application/octet-stream", NULL, &last, &rc, err) <
	    0)
		goto out;
	if (rc.r.status != 201) {
		resp_error(c, &rc.r, what, err);
		goto out;
	}
	rv = 0;
out:
	free(rc.r.buf);
	return rv;
}

/* Makes sure the registry has blob (digest) whose bytes are (src): HEAD, mount, or upload. */
static int blob_push(struct reg_client *c, const char *digest, const struct body *src,
                     uk_err_t *err)
{
	char loc[8192];
	int r = blob_exists(c, digest, err);

	if (r < 0)
		return -1;
	if (r == 1) {
		progress(c, UKIMG_XFER_EXISTS, digest, src->len);
		return 0;
	}
	r = upload_start(c, digest, loc, sizeof(loc), err);
	if (r < 0)
		return -1;
	if (r == 1) {
		progress(c, UKIMG_XFER_MOUNTED, digest, src->len);
		return 0;
	}
	if (upload_send(c, digest, src, loc, sizeof(loc), err) < 0)
		return -1;
	progress(c, UKIMG_XFER_UPLOADED, digest, src->len);
	return 0;
}

static int push_blob(struct reg_client *c, ukimg_store_t *store, const char *digest, uk_err_t *err)
{
	struct body b = {.fd = -1};
	_cleanup_close_ int fd = -1;

	b.len = ukimg_store_size(store, digest, err);
	if (b.len < 0)
		return -1;
	fd = ukimg_store_open_blob(store, digest, err);
	if (fd < 0)
		return -1;
	b.fd = fd;
	return blob_push(c, digest, &b, err);
}

/* PUT /v2/<repo>/manifests/<tag>; checks the digest the registry reports, if any. */
static int manifest_put(struct reg_client *c, const char *tag, const char *media_type,
                        const char *buf, size_t len, uk_err_t *err)
{
	char url[4096], ctype[300], digest[UKIMG_DIGEST_SIZE], where[600];
	struct resp_ctx rc = {0};
	struct body b = {.buf = buf, .fd = -1, .len = (int64_t)len};
	int rv = -1;

	ukimg_digest_buf(buf, len, digest);
	snprintf(url, sizeof(url), "%s/v2/%s/manifests/%s", c->base, c->ref.repository, tag);
	snprintf(ctype, sizeof(ctype), "Content-Type: %s", media_type);
	resp_init(&rc, -1, ERRBODY_MAX);
	if (do_req(c, "PUT", url, ctype, NULL, &b, &rc, err) < 0)
		goto out;
	if (rc.r.status != 201) {
		resp_error(c, &rc.r, "put manifest", err);
		goto out;
	}
	if (rc.r.content_digest[0] && strcmp(rc.r.content_digest, digest)) {
		client_where(c, where, sizeof(where));
		uk_err_set(err, 502, "bad_gateway",
		           "%s: put manifest: the registry stored digest %s, expected %s", where,
		           rc.r.content_digest, digest);
		goto out;
	}
	progress(c, UKIMG_XFER_MANIFEST, digest, (int64_t)len);
	rv = 0;
out:
	free(rc.r.buf);
	return rv;
}

int ukimg_push(ukimg_store_t *store, const char *manifest_digest, const ukimg_regref_t *ref,
               const ukimg_registry_opts_t *opts, uk_err_t *err)
{
	struct reg_client c;
	_cleanup_strv_ char **blobs = NULL;
	_cleanup_free_ char *manifest = NULL;
	_cleanup_json_ json_object *m = NULL;
	const char *mt;
	size_t n = 0, mlen = 0;
	int rv = -1;

	if (!ukimg_digest_valid(manifest_digest))
		return uk_err_bad(err, "push: invalid manifest digest");
	if (!ref->tag[0])
		return uk_err_bad(err, "push %s/%s: a tag is required", ref->registry,
		                  ref->repository);
	if (ref->digest[0] && strcmp(ref->digest, manifest_digest))
		return uk_err_bad(err, "push %s/%s: reference digest %s is not the image's %s",
		                  ref->registry, ref->repository, ref->digest, manifest_digest);
	blobs = ukimg_image_blobs(store, manifest_digest, &n, err);
	if (!blobs)
		return -1;
	if (ukimg_store_read(store, manifest_digest, MANIFEST_MAX, &manifest, &mlen, err) < 0)
		return -1;
	m = uk_json_parse_exact(manifest, mlen);
	mt = m ? uk_json_str(m, "mediaType") : NULL;

	if (client_init(&c, ref, opts, "pull,push", err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(blobs[i], manifest_digest))
			continue;
		if (push_blob(&c, store, blobs[i], err) < 0)
			goto out;
	}
	rv = manifest_put(&c, ref->tag, mt ? mt : UKIMG_MT_MANIFEST, manifest, mlen, err);
out:
	client_free(&c);
	return rv;
}

/* ------------------------------------------------------------------------------------------ */
/* Pull                                                                                        */

/*
 * GETs manifest (reference) (tag or digest) into (*buf); verifies its digest against
 * (reference) when it is one and the registry's Docker-Content-Digest header when given.
 */
static int manifest_get(struct reg_client *c, const char *reference, char **buf, size_t *len,
                        char digest[UKIMG_DIGEST_SIZE], uk_err_t *err)
{
	char url[4096], where[600];
	struct resp_ctx rc = {0};
	int by_digest = !strncmp(reference, "sha256:", 7), rv = -1;

	client_where(c, where, sizeof(where));
	snprintf(url, sizeof(url), "%s/v2/%s/manifests/%s", c->base, c->ref.repository, reference);
	resp_init(&rc, -1, MANIFEST_MAX);
	if (do_req(c, "GET", url, NULL, ACCEPT_MANIFESTS, NULL, &rc, err) < 0)
		goto out;
	if (rc.r.status != 200) {
		resp_error(c, &rc.r, by_digest ? "get manifest by digest" : "get manifest", err);
		goto out;
	}
	if (!rc.r.buf || !rc.r.len) {
		uk_err_set(err, 502, "bad_gateway", "%s: empty manifest", where);
		goto out;
	}
	ukimg_digest_buf(rc.r.buf, rc.r.len, digest);
	if (by_digest && strcmp(digest, reference)) {
		uk_err_bad(err, "%s: manifest digest mismatch: got %s, asked for %s", where, digest,
		           reference);
		goto out;
	}
	if (rc.r.content_digest[0] && strcmp(digest, rc.r.content_digest)) {
		uk_err_bad(err, "%s: manifest digest mismatch: got %s, registry says %s", where,
		           digest, rc.r.content_digest);
		goto out;
	}
	*buf = steal_ptr(rc.r.buf);
	*len = rc.r.len;
	rv = 0;
out:
	free(rc.r.buf);
	return rv;
}

/*
 * Downloads one blob into a temp file under the store and verifies its size and digest; the
 * caller adopts it (store_adopt) once every blob of the image has been verified, or unlinks it.
 */
static int pull_blob(struct reg_client *c, ukimg_store_t *store, const char *digest, int64_t size,
                     char *tmp, size_t tmplen, uk_err_t *err)
{
	char url[4096], what[200], got[UKIMG_DIGEST_SIZE];
	struct resp_ctx rc = {0};
	_cleanup_close_ int fd = -1;
	int rv = -1;

	fd = store_tmp_create(store, "pull", tmp, tmplen, err);
	if (fd < 0)
		return -1;
	snprintf(url, sizeof(url), "%s/v2/%s/blobs/%s", c->base, c->ref.repository, digest);
	snprintf(what, sizeof(what), "get blob %s", digest);
	resp_init(&rc, fd, size);
	/* hashed as it arrives: the file is never read back (store_adopt_hashed) */
	if (!(rc.r.hash = store_hash_new())) {
		uk_err_internal(err, "sha256: cannot initialize OpenSSL digest");
		goto out;
	}
	if (do_req(c, "GET", url, NULL, NULL, NULL, &rc, err) < 0)
		goto out;
	if (rc.r.status != 200) {
		resp_error(c, &rc.r, what, err);
		goto out;
	}
	store_hash_finish(rc.r.hash, got);
	rc.r.hash = NULL;
	if (rc.r.got != size || strcmp(got, digest)) {
		uk_err_bad(err,
		           "registry %s, repository %s: blob %s: digest mismatch: got %s (%lld "
		           "bytes), expected %lld bytes; the registry's copy is corrupt or was "
		           "tampered with",
		           c->ref.registry, c->ref.repository, digest, got, (long long)rc.r.got,
		           (long long)size);
		goto out;
	}
	rv = 0;
out:
	if (rv < 0) {
		unlink(tmp);
		tmp[0] = 0;
	}
	EVP_MD_CTX_free(rc.r.hash);
	free(rc.r.buf);
	return rv;
}

/* 0 if (platform) is one the caller runs (opts->platforms; no list = any), else 400. */
static int platform_check(struct reg_client *c, const char *what, const char *platform,
                          uk_err_t *err)
{
	const char *const *p = c->opts->platforms;
	char ref[1024], runs[256] = "";
	size_t n = 0;

	if (!p)
		return 0;
	for (size_t i = 0; platform && p[i]; i++)
		if (!strcmp(p[i], platform))
			return 0;
	for (size_t i = 0; p[i] && n < sizeof(runs); i++)
		n += (size_t)snprintf(runs + n, sizeof(runs) - n, "%s%s", i ? ", " : "", p[i]);
	if (ukimg_ref_format(&c->ref, ref, sizeof(ref)) < 0)
		snprintf(ref, sizeof(ref), "%s/%s", c->ref.registry, c->ref.repository);
	if (!platform)
		return uk_err_bad(err,
		                  "image %s is not a uk image: its %s has no \"%s\" (this daemon "
		                  "runs %s)",
		                  ref, what, UKIMG_LABEL_PLATFORM, runs[0] ? runs : "nothing");
	return uk_err_bad(err, "image %s is built for platform %s; this daemon runs %s", ref,
	                  platform, runs[0] ? runs : "nothing");
}

/* Checks the platform label of the config blob (stored, or downloaded to (tmp)). */
static int config_platform_check(struct reg_client *c, ukimg_store_t *store, const char *digest,
                                 const char *tmp, uk_err_t *err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_object *cfg = NULL;
	size_t len;
	int r;

	if (!c->opts->platforms)
		return 0;
	r = tmp && tmp[0] ? uk_read_file(tmp, MANIFEST_MAX, &buf, &len, err)
	                  : ukimg_store_read(store, digest, MANIFEST_MAX, &buf, &len, err);
	if (r < 0)
		return -1;
	cfg = uk_json_parse_exact(buf, len);
	return platform_check(c, "config", cfg ? image_config_platform(cfg) : NULL, err);
}

#define PULL_MAX_BLOBS 64

int ukimg_pull(ukimg_store_t *store, const ukimg_regref_t *ref, const ukimg_registry_opts_t *opts,
               char digest_out[UKIMG_DIGEST_SIZE], uk_err_t *err)
{
	struct reg_client c;
	char digest[UKIMG_DIGEST_SIZE], where[600];
	_cleanup_free_ char *mbuf = NULL;
	_cleanup_json_ json_object *m = NULL;
	json_object *config, *layers, *ann = NULL;
	const char *mt, *d, *platform;
	int64_t size, tmp_sizes[PULL_MAX_BLOBS];
	char tmps[PULL_MAX_BLOBS][PATH_MAX], tmp_digests[PULL_MAX_BLOBS][UKIMG_DIGEST_SIZE];
	size_t n_tmps = 0, mlen = 0, at;
	enum uk_json_fault fault;
	int rv = -1;

	if (client_init(&c, ref, opts, "pull", err) < 0)
		goto out;
	client_where(&c, where, sizeof(where));
	if (manifest_get(&c, ref->digest[0] ? ref->digest : ref->tag, &mbuf, &mlen, digest, err) <
	    0)
		goto out;
	m = uk_json_parse_strict(mbuf, mlen, &fault, &at);
	if (!m || !json_object_is_type(m, json_type_object)) {
		if (m)
			uk_err_bad(err, "%s: manifest %s is not a JSON object", where, digest);
		else
			uk_err_bad(err, "%s: manifest %s is not strict JSON: %s at byte %zu", where,
			           digest, uk_json_fault_str(fault), at);
		goto out;
	}
	mt = uk_json_str(m, "mediaType");
	if ((mt && strcmp(mt, UKIMG_MT_MANIFEST) &&
	     strcmp(mt, "application/vnd.docker.distribution.manifest.v2+json")) ||
	    json_object_object_get_ex(m, "manifests", NULL)) {
		uk_err_bad(err,
		           "%s: %s is %s, not an image manifest (image indexes are not supported)",
		           where, digest, mt ? mt : "an index");
		goto out;
	}
	if (!json_object_object_get_ex(m, "config", &config) ||
	    !json_object_object_get_ex(m, "layers", &layers) ||
	    !json_object_is_type(layers, json_type_array)) {
		uk_err_bad(err, "%s: manifest %s has no config or layers", where, digest);
		goto out;
	}
	if (json_object_array_length(layers) + 1 > PULL_MAX_BLOBS) {
		uk_err_set(err, 413, "too_large", "%s: manifest %s has more than %d blobs", where,
		           digest, PULL_MAX_BLOBS);
		goto out;
	}
	/* The platform, from the manifest's annotation or else the config's label, is checked
	 * before any layer is fetched. */
	json_object_object_get_ex(m, "annotations", &ann);
	platform = uk_json_str(ann, UKIMG_LABEL_PLATFORM);
	if (platform && platform_check(&c, "manifest", platform, err) < 0)
		goto out;
	/* Download and verify every missing blob first; only then let any enter the store. */
	for (size_t i = 0; i <= json_object_array_length(layers); i++) {
		json_object *desc = i == 0 ? config : json_object_array_get_idx(layers, i - 1);
		int have;

		if (image_descriptor(desc, NULL, &d, &size, err) < 0) {
			uk_err_wrap(err, "%s: manifest %s", where, digest);
			goto out;
		}
		have = ukimg_store_has(store, d);
		if (!have) {
			if (pull_blob(&c, store, d, size, tmps[n_tmps], sizeof(tmps[n_tmps]), err) <
			    0)
				goto out;
			snprintf(tmp_digests[n_tmps], UKIMG_DIGEST_SIZE, "%s", d);
			tmp_sizes[n_tmps++] = size;
		}
		if (i == 0 && !platform &&
		    config_platform_check(&c, store, d, have ? NULL : tmps[n_tmps - 1], err) < 0)
			goto out;
		if (have)
			progress(&c, UKIMG_XFER_HAVE, d, size);
	}
	for (size_t i = 0; i < n_tmps; i++) {
		int r = store_adopt_hashed(store, tmps[i], tmp_digests[i], err);

		tmps[i][0] = 0; /* consumed either way */
		if (r < 0) {
			uk_err_wrap(err, "%s: store blob %s", where, tmp_digests[i]);
			goto out;
		}
		progress(&c, UKIMG_XFER_DOWNLOADED, tmp_digests[i], tmp_sizes[i]);
	}
	if (ukimg_store_put_buf(store, mbuf, mlen, digest, NULL, err) < 0)
		goto out;
	progress(&c, UKIMG_XFER_MANIFEST, digest, (int64_t)mlen);
	memcpy(digest_out, digest, UKIMG_DIGEST_SIZE);
	rv = 0;
out:
	for (size_t i = 0; i < n_tmps; i++)
		if (tmps[i][0])
			unlink(tmps[i]);
	client_free(&c);
	return rv;
}

/* ------------------------------------------------------------------------------------------ */
/* Login check                                                                                 */

int ukimg_registry_check(const char *registry, const ukimg_registry_opts_t *opts, uk_err_t *err)
{
	ukimg_regref_t ref = {0};
	struct resp_ctx rc = {0};
	struct reg_client c;
	char url[UKIMG_REGISTRY_MAX + 32];
	int r = -1;

	snprintf(ref.registry, sizeof(ref.registry), "%s", registry);
	snprintf(ref.repository, sizeof(ref.repository), "-"); /* no repository: scope-less token */
	if (client_init(&c, &ref, opts, "pull", err) < 0)
		goto out;
	snprintf(url, sizeof(url), "%s/v2/", c.base);
	resp_init(&rc, -1, TOKEN_MAX);
	if (do_req(&c, "GET", url, NULL, NULL, NULL, &rc, err) < 0)
		goto out;
	if (rc.r.status != 200) {
		resp_error(&c, &rc.r, "login", err);
		goto out;
	}
	r = 0;
out:
	free(rc.r.buf);
	client_free(&c);
	if (r < 0) { /* "registry R, repository -: x" → "registry R: x": there is no repository */
		char *rep = err ? strstr(err->message, ", repository -: ") : NULL;
		if (rep)
			memmove(rep, rep + 14, strlen(rep + 14) + 1);
	}
	return r;
}

/* ------------------------------------------------------------------------------------------ */
/* The client for trust.c                                                                      */

struct reg_client *reg_client_new(const ukimg_regref_t *ref, const ukimg_registry_opts_t *opts,
                                  const char *scope, uk_err_t *err)
{
	struct reg_client *c = malloc(sizeof(*c));

	if (!c) {
		uk_err_internal(err, "registry: out of memory");
		return NULL;
	}
	if (client_init(c, ref, opts, scope, err) < 0) {
		reg_client_free(c);
		return NULL;
	}
	return c;
}

void reg_client_free(struct reg_client *c)
{
	if (!c)
		return;
	client_free(c);
	free(c);
}

int reg_manifest_get(struct reg_client *c, const char *reference, char **buf, size_t *len,
                     char digest[UKIMG_DIGEST_SIZE], uk_err_t *err)
{
	return manifest_get(c, reference, buf, len, digest, err);
}

int reg_manifest_put(struct reg_client *c, const char *tag, const char *media_type, const char *buf,
                     size_t len, uk_err_t *err)
{
	return manifest_put(c, tag, media_type, buf, len, err);
}

int reg_blob_put_buf(struct reg_client *c, const char *buf, size_t len,
                     char digest[UKIMG_DIGEST_SIZE], uk_err_t *err)
{
	struct body b = {.buf = buf, .fd = -1, .len = (int64_t)len};

	ukimg_digest_buf(buf, len, digest);
	return blob_push(c, digest, &b, err);
}

int reg_blob_get_buf(struct reg_client *c, const char *digest, int64_t size, int64_t max,
                     char **buf, uk_err_t *err)
{
	char url[4096], what[200], got[UKIMG_DIGEST_SIZE];
	struct resp_ctx rc = {0};
	int rv = -1;

	if (size < 0 || size > max)
		return uk_err_set(err, 413, "too_large",
		                  "registry %s, repository %s: blob %s: "
		                  "%lld bytes, more than %lld allowed",
		                  c->ref.registry, c->ref.repository, digest, (long long)size,
		                  (long long)max);
	snprintf(url, sizeof(url), "%s/v2/%s/blobs/%s", c->base, c->ref.repository, digest);
	snprintf(what, sizeof(what), "get blob %s", digest);
	resp_init(&rc, -1, size);
	if (do_req(c, "GET", url, NULL, NULL, NULL, &rc, err) < 0)
		goto out;
	if (rc.r.status != 200) {
		resp_error(c, &rc.r, what, err);
		goto out;
	}
	ukimg_digest_buf(rc.r.buf ? rc.r.buf : "", rc.r.len, got);
	if ((int64_t)rc.r.len != size || strcmp(got, digest)) {
		uk_err_bad(err, "registry %s, repository %s: blob %s: digest mismatch: got %s",
		           c->ref.registry, c->ref.repository, digest, got);
		goto out;
	}
	*buf = rc.r.buf ? steal_ptr(rc.r.buf) : strdup("");
	rv = *buf ? 0 : uk_err_internal(err, "registry: out of memory");
out:
	free(rc.r.buf);
	return rv;
}
