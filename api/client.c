/* The uk client: one libcurl easy handle per request to ukd, JSON answers and streams. */
#include "uk/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "uk/cleanup.h"

/* Upper bounds on what we buffer from the daemon: a whole answer, one JSON line. */
#define CLIENT_MAX_ANSWER (256u << 20)
#define CLIENT_MAX_LINE (64u << 20)

struct uk_client {
	char *host;      /* normalised "unix:///path" or "tcp://host:port" */
	char *sock_path; /* unix socket path, or NULL for TCP */
	char *base_url;  /* "http://localhost", "http://host:port" or "https://host:port" */
	volatile int *intr;
	long timeout_ms; /* uk_client_set_timeout; 0: none */
	char *header;    /* one extra request header ("X-Registry-Auth: ..."), or NULL */
	int tls, tls_verify;
	char *tls_ca, *tls_cert, *tls_key; /* PEM paths, NULL when not used */
	long slow_ms;                      /* uk_client_set_slow */
	uk_client_slow_cb slow_cb;
	void *slow_ud;
};

enum xfer_mode { XFER_COLLECT, XFER_RAW, XFER_JSONL };

/* One request's state, shared by the libcurl callbacks. */
struct xfer {
	CURL *curl;
	uk_client_t *c;
	enum xfer_mode mode;
	char *buf; /* collected body (whole answer, or an error answer) */
	size_t len, cap;
	int overflow;
	uk_client_data_cb cb;
	void *ud;
	uk_jsonl_t jsonl;
	uk_err_t line_err;
	int line_failed;
	int stopped; /* the callback asked to stop */
	const uk_body_t *body;
	char errbuf[CURL_ERROR_SIZE];
	struct timespec t0; /* when the request began (CLOCK_MONOTONIC) */
};

static pthread_once_t client_once = PTHREAD_ONCE_INIT;

static void client_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

uk_client_t *uk_client_new(const char *host, uk_err_t *err)
{
	uk_client_t *c;
	const char *rest;

	if (!host || !*host)
		host = UK_CLIENT_DEFAULT_HOST;
	c = calloc(1, sizeof(*c));
	if (!c) {
		uk_err_errno(err, ENOMEM, "client");
		return NULL;
	}
	if (strncmp(host, "unix://", 7) == 0) {
		rest = host + 7;
		if (rest[0] != '/') {
			uk_err_bad(err,
			           "bad host %s: a unix socket path must be absolute "
			           "(unix:///run/uk/ukd.sock)",
			           host);
			goto fail;
		}
		if (strlen(rest) >= 108) {
			uk_err_bad(err,
			           "bad host %s: a unix socket path must be shorter than 108 bytes",
			           host);
			goto fail;
		}
		c->sock_path = strdup(rest);
		c->base_url = strdup("http://localhost");
	} else if (strncmp(host, "tcp://", 6) == 0) {
		char hp[256], *colon, *end;
		size_t n;
		long port;

		n = strlen(host + 6);
		if (n && host[6 + n - 1] == '/')
			n--;
		if (n == 0 || n >= sizeof(hp)) {
			uk_err_bad(err, "bad host %s: expected tcp://HOST:PORT", host);
			goto fail;
		}
		memcpy(hp, host + 6, n);
		hp[n] = '\0';
		colon = strrchr(hp, ':');
		if (strpbrk(hp, "/?#@ \t") || !colon || colon == hp) {
			uk_err_bad(err, "bad host %s: expected tcp://HOST:PORT", host);
			goto fail;
		}
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end || port < 1 || port > 65535) {
			uk_err_bad(err, "bad host %s: the port must be a number from 1 to 65535",
			           host);
			goto fail;
		}
		rest = hp;
		if (asprintf(&c->base_url, "http://%.*s:%ld", (int)(colon - rest), rest, port) < 0)
			c->base_url = NULL;
	} else {
		uk_err_bad(err, "bad host %s: expected unix:///PATH or tcp://HOST:PORT", host);
		goto fail;
	}
	if (c->sock_path)
		c->host = strdup(host);
	else if (c->base_url && asprintf(&c->host, "tcp://%s", c->base_url + strlen("http://")) < 0)
		c->host = NULL;
	if (!c->host || !c->base_url) {
		uk_err_errno(err, ENOMEM, "client");
		goto fail;
	}
	pthread_once(&client_once, client_global_init);
	return c;
fail:
	uk_client_free(c);
	return NULL;
}

void uk_client_free(uk_client_t *c)
{
	if (!c)
		return;
	free(c->host);
	free(c->sock_path);
	free(c->base_url);
	if (c->header)
		memset(c->header, 0, strlen(c->header)); /* it may hold credentials */
	free(c->header);
	free(c->tls_ca);
	free(c->tls_cert);
	free(c->tls_key);
	free(c);
}

/* Copies (path) into *(dst) after checking it can be read; what names it goes in (what). */
static int client_tls_file(char **dst, const char *path, const char *what, uk_err_t *err)
{
	if (!path)
		return 0;
	if (access(path, R_OK) < 0)
		return uk_err_bad(err, "TLS %s %s: %s", what, path, strerror(errno));
	free(*dst);
	*dst = strdup(path);
	return *dst ? 0 : uk_err_errno(err, ENOMEM, "TLS %s", what);
}

int uk_client_set_tls(uk_client_t *c, const uk_client_tls_t *tls, uk_err_t *err)
{
	char *url;

	if (c->sock_path)
		return 0;
	if (!tls->cert != !tls->key)
		return uk_err_bad(err, "TLS: a client certificate needs its key and a key its "
		                       "certificate (--tlscert and --tlskey)");
	if (tls->verify && !tls->ca)
		return uk_err_bad(err, "TLS: verifying the daemon needs the CA that signed its "
		                       "certificate (--tlscacert)");
	if (client_tls_file(&c->tls_ca, tls->ca, "CA certificate", err) < 0 ||
	    client_tls_file(&c->tls_cert, tls->cert, "client certificate", err) < 0 ||
	    client_tls_file(&c->tls_key, tls->key, "client key", err) < 0)
		return -1;
	if (!c->tls) {
		if (asprintf(&url, "https://%s", c->base_url + strlen("http://")) < 0)
			return uk_err_errno(err, ENOMEM, "client");
		free(c->base_url);
		c->base_url = url;
	}
	c->tls = 1;
	c->tls_verify = tls->verify;
	return 0;
}

const char *uk_client_host(const uk_client_t *c)
{
	return c->host;
}

void uk_client_set_interrupt(uk_client_t *c, volatile int *flag)
{
	c->intr = flag;
}

void uk_client_set_timeout(uk_client_t *c, long ms)
{
	c->timeout_ms = ms > 0 ? ms : 0;
}

void uk_client_set_slow(uk_client_t *c, long ms, uk_client_slow_cb cb, void *ud)
{
	c->slow_ms = ms;
	c->slow_cb = cb;
	c->slow_ud = ud;
}

int uk_client_set_header(uk_client_t *c, const char *name, const char *value)
{
	char *h = NULL;

	if (name && asprintf(&h, "%s: %s", name, value) < 0)
		return -1;
	if (c->header)
		memset(c->header, 0, strlen(c->header));
	free(c->header);
	c->header = h;
	return 0;
}

char *uk_client_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1), *p = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
			*p++ = (char)ch;
		} else {
			*p++ = '%';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		}
	}
	*p = '\0';
	return out;
}

/* JSON lines: a growing buffer cut at each newline. */

void uk_jsonl_init(uk_jsonl_t *s, uk_client_json_cb cb, void *ud)
{
	memset(s, 0, sizeof(*s));
	s->cb = cb;
	s->ud = ud;
}

void uk_jsonl_release(uk_jsonl_t *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

static int jsonl_line(uk_jsonl_t *s, char *line, size_t len, uk_err_t *err)
{
	json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t i;
	int r;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == len)
		return 0;
	tok = json_tokener_new();
	if (!tok)
		return uk_err_errno(err, ENOMEM, "parse daemon answer");
	/* parse through the terminating NUL, so a bare number ("7") is complete */
	line[len] = '\0';
	obj = json_tokener_parse_ex(tok, line, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_success && (size_t)json_tokener_get_parse_end(tok) < len) {
		json_object_put(obj);
		obj = NULL;
		jerr = json_tokener_error_parse_unexpected;
	}
	json_tokener_free(tok);
	if (!obj && jerr != json_tokener_success)
		return uk_err_set(err, 500, "bad_response",
		                  "the daemon sent a line that is not JSON (%s): %.80s",
		                  json_tokener_error_desc(jerr), line);
	if (!obj)
		return 0; /* the literal null */
	r = s->cb ? s->cb(obj, s->ud) : 0;
	json_object_put(obj);
	return r ? 1 : 0;
}

int uk_jsonl_feed(uk_jsonl_t *s, const char *data, size_t len, uk_err_t *err)
{
	size_t start = 0, i;
	int r;

	if (s->len + len + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *nb;
		while (cap < s->len + len + 1)
			cap *= 2;
		nb = realloc(s->buf, cap);
		if (!nb)
			return uk_err_errno(err, ENOMEM, "read daemon answer");
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len] = '\0';
	for (i = 0; i < s->len; i++) {
		if (s->buf[i] != '\n')
			continue;
		s->buf[i] = '\0';
		r = jsonl_line(s, s->buf + start, i - start, err);
		if (r) {
			/* drop what was consumed so a later finish does not replay it */
			memmove(s->buf, s->buf + i + 1, s->len - i - 1);
			s->len -= i + 1;
			s->buf[s->len] = '\0';
			return r;
		}
		start = i + 1;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
	s->buf[s->len] = '\0';
	if (s->len > CLIENT_MAX_LINE)
		return uk_err_set(err, 500, "bad_response", "the daemon sent a line over %u bytes",
		                  CLIENT_MAX_LINE);
	return 0;
}

int uk_jsonl_finish(uk_jsonl_t *s, uk_err_t *err)
{
	int r = 0;

	if (s->len)
		r = jsonl_line(s, s->buf, s->len, err);
	s->len = 0;
	return r;
}

/* libcurl callbacks */

static int xfer_append(struct xfer *x, const char *data, size_t n)
{
	if (x->len + n > CLIENT_MAX_ANSWER) {
		x->overflow = 1;
		return -1;
	}
	if (x->len + n + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;
		char *nb;
		while (cap < x->len + n + 1)
			cap *= 2;
		nb = realloc(x->buf, cap);
		if (!nb)
			return -1;
		x->buf = nb;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, data, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return 0;
}

static size_t xfer_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	size_t n = size * nmemb;
	long code = 0;
	int r;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	if (x->mode == XFER_COLLECT || code < 200 || code >= 300)
		return xfer_append(x, data, n) ? 0 : n;
	if (x->mode == XFER_RAW) {
		if (x->cb(data, n, x->ud)) {
			x->stopped = 1;
			return 0;
		}
		return n;
	}
	r = uk_jsonl_feed(&x->jsonl, data, n, &x->line_err);
	if (r < 0) {
		x->line_failed = 1;
		return 0;
	}
	if (r > 0) {
		x->stopped = 1;
		return 0;
	}
	return n;
}

static size_t xfer_read(char *buf, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	ssize_t n;

	do
		n = read(x->body->fd, buf, size * nmemb);
	while (n < 0 && errno == EINTR && !(x->c->intr && *x->c->intr));
	if (n < 0)
		return CURL_READFUNC_ABORT;
	return (size_t)n;
}

static int xfer_progress(void *userp, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = userp;
	uk_client_t *c = x->c;

	(void)dt, (void)ut, (void)un;
	if (c->slow_cb && dn == 0 && !x->len) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - x->t0.tv_sec) * 1000 + (now.tv_nsec - x->t0.tv_nsec) / 1000000 >=
		    c->slow_ms) {
			uk_client_slow_cb cb = c->slow_cb;
			c->slow_cb = NULL; /* once; and the callback may call (c) itself */
			cb(c, c->slow_ud);
		}
	}
	return c->intr && *c->intr;
}

/* Turns an error answer into (err): the server's message and code, plus the status. */
static int xfer_http_error(struct xfer *x, long code, uk_err_t *err)
{
	json_object *obj = NULL, *msg, *jc;
	const char *m = NULL, *cd = NULL;
	int r;

	if (x->buf)
		obj = json_tokener_parse(x->buf);
	if (obj && json_object_is_type(obj, json_type_object)) {
		if (json_object_object_get_ex(obj, "message", &msg))
			m = json_object_get_string(msg);
		if (json_object_object_get_ex(obj, "code", &jc))
			cd = json_object_get_string(jc);
	}
	if (!m) {
		/* not our error shape: show the start of whatever came */
		size_t n = x->len;
		while (n && (x->buf[n - 1] == '\n' || x->buf[n - 1] == '\r'))
			n--;
		if (n)
			x->buf[n] = '\0';
		m = n ? x->buf : "no message";
	}
	if (!cd)
		cd = code == 404 ? "not_found" : code < 500 ? "bad_request" : "internal";
	/* the status stays in err->status; the message is for people */
	r = uk_err_set(err, (int)code, cd, "%.1900s", m);
	json_object_put(obj);
	return r;
}

static void client_tls_setopt(uk_client_t *c, CURL *curl, char *errbuf)
{
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	if (!c->tls)
		return;
	if (c->tls_ca)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->tls_ca);
	if (c->tls_cert) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, c->tls_cert);
		curl_easy_setopt(curl, CURLOPT_SSLKEY, c->tls_key);
	}
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
}

/* libcurl's TLS failures: a handshake refused either way, a certificate or key it cannot use. */
static int client_tls_failed(CURLcode rc)
{
	return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
	       rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE ||
	       rc == CURLE_SSL_CIPHER || rc == CURLE_SSL_ENGINE_INITFAILED;
}

static int client_do(uk_client_t *c, const char *method, const char *path, const uk_body_t *body,
                     struct xfer *x, long *status, uk_err_t *err)
{
	struct curl_slist *hdrs = NULL;
	_cleanup_free_ char *url = NULL, *ctype = NULL;
	CURLcode rc;
	long code = 0;
	int ret = -1;

	x->c = c;
	x->body = body;
	clock_gettime(CLOCK_MONOTONIC, &x->t0);
	if (asprintf(&url, "%s%s", c->base_url, path) < 0) {
		url = NULL;
		return uk_err_errno(err, ENOMEM, "%s %s", method, path);
	}
	x->curl = curl_easy_init();
	if (!x->curl)
		return uk_err_internal(err, "%s %s: cannot initialise libcurl", method, path);
	curl_easy_setopt(x->curl, CURLOPT_URL, url);
	if (c->sock_path)
		curl_easy_setopt(x->curl, CURLOPT_UNIX_SOCKET_PATH, c->sock_path);
	client_tls_setopt(c, x->curl, x->errbuf);
	curl_easy_setopt(x->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(x->curl, CURLOPT_USERAGENT, "uk-client/1");
	curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, xfer_write);
	curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x->curl, CURLOPT_XFERINFOFUNCTION, xfer_progress);
	curl_easy_setopt(x->curl, CURLOPT_XFERINFODATA, x);
	/* TCP keeps the request honest about waiting on a blocked wait/follow: no timeout, unless
	 * the caller bounds it */
	if (c->timeout_ms)
		curl_easy_setopt(x->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (c->header)
		hdrs = curl_slist_append(hdrs, c->header);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(x->curl, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(x->curl, CURLOPT_POST, 1L);
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(x->curl, CURLOPT_CUSTOMREQUEST, method);
		if (body && body->data) {
			curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, body->data);
			curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			                 (curl_off_t)body->len);
		} else if (body && body->fd >= 0) {
			curl_easy_setopt(x->curl, CURLOPT_READFUNCTION, xfer_read);
			curl_easy_setopt(x->curl, CURLOPT_READDATA, x);
			curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			                 (curl_off_t)body->size);
			if (body->size < 0)
				hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
		} else {
			curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		}
		if (body && (body->data || body->fd >= 0)) {
			if (asprintf(&ctype, "Content-Type: %s",
			             body->content_type ? body->content_type : "application/json") <
			    0)
				ctype = NULL;
			if (ctype)
				hdrs = curl_slist_append(hdrs, ctype);
		}
	}
	curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, hdrs);

	rc = curl_easy_perform(x->curl);
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	if (status)
		*status = code;
	if (rc == CURLE_WRITE_ERROR && x->stopped) {
		ret = 0;
	} else if (rc == CURLE_WRITE_ERROR && x->line_failed) {
		*err = x->line_err;
	} else if (rc == CURLE_ABORTED_BY_CALLBACK) {
		uk_err_set(err, 499, "interrupted", "%s %s: interrupted", method, path);
	} else if (rc == CURLE_OPERATION_TIMEDOUT && c->timeout_ms) {
		uk_err_set(err, 504, "timeout",
		           "%s %s: no answer from the uk daemon at %s within %ld ms", method, path,
		           c->host, c->timeout_ms);
	} else if (client_tls_failed(rc)) {
		uk_err_set(err, 503, "tls",
		           "TLS with the uk daemon at %s failed: %s (check --tlscacert, "
		           "--tlscert, --tlskey or UK_CERT_PATH)",
		           c->host, x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	} else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	           (rc != CURLE_OK && code == 0)) {
		long oserr = 0;
		const char *why = curl_easy_strerror(rc);
		curl_easy_getinfo(x->curl, CURLINFO_OS_ERRNO, &oserr);
		if (oserr)
			why = strerror((int)oserr);
		if (oserr == EACCES && !strncmp(c->host, "unix://", 7))
			uk_err_set(
			        err, 403, "forbidden",
			        "cannot connect to the uk daemon at %s: permission denied: only "
			        "root and members of the uk group may use it; join the group with "
			        "'sudo usermod -aG uk $USER', then log out and in again",
			        c->host);
		else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
			uk_err_set(err, 503, "unreachable",
			           "cannot connect to the uk daemon at %s: %s. Is ukd running?",
			           c->host, why);
		else
			uk_err_set(err, 503, "unreachable",
			           "lost the connection to the uk daemon at %s: %s", c->host, why);
	} else if (code >= 300 && code != 304) {
		xfer_http_error(x, code, err);
	} else if (rc == CURLE_WRITE_ERROR && x->overflow) {
		uk_err_set(err, 500, "bad_response", "%s %s: the answer is over %u bytes", method,
		           path, CLIENT_MAX_ANSWER);
	} else if (rc != CURLE_OK) {
		uk_err_set(err, 503, "unreachable", "%s %s: %s (talking to %s)", method, path,
		           curl_easy_strerror(rc), c->host);
	} else if (x->mode == XFER_JSONL) {
		int r = uk_jsonl_finish(&x->jsonl, err);
		ret = r < 0 ? -1 : 0;
	} else {
		ret = 0;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(x->curl);
	x->curl = NULL;
	return ret;
}

int uk_client_call(uk_client_t *c, const char *method, const char *path, const uk_body_t *body,
                   long *status, json_object **out, uk_err_t *err)
{
	struct xfer x = {.mode = XFER_COLLECT};
	int r;

	if (out)
		*out = NULL;
	r = client_do(c, method, path, body, &x, status, err);
	if (r == 0 && out && x.len) {
		json_tokener *tok = json_tokener_new();
		json_object *obj = tok ? json_tokener_parse_ex(tok, x.buf, (int)x.len + 1) : NULL;
		if (tok && json_tokener_get_error(tok) == json_tokener_success)
			*out = obj;
		else
			json_object_put(obj); /* not JSON ("OK" from _ping): no object */
		json_tokener_free(tok);
	}
	free(x.buf);
	return r;
}

int uk_client_stream(uk_client_t *c, const char *method, const char *path, const uk_body_t *body,
                     uk_client_data_cb cb, void *ud, uk_err_t *err)
{
	struct xfer x = {.mode = XFER_RAW, .cb = cb, .ud = ud};
	int r = client_do(c, method, path, body, &x, NULL, err);

	free(x.buf);
	return r;
}

int uk_client_stream_json(uk_client_t *c, const char *method, const char *path,
                          const uk_body_t *body, uk_client_json_cb cb, void *ud, uk_err_t *err)
{
	struct xfer x = {.mode = XFER_JSONL};
	int r;

	uk_jsonl_init(&x.jsonl, cb, ud);
	r = client_do(c, method, path, body, &x, NULL, err);
	uk_jsonl_release(&x.jsonl);
	free(x.buf);
	return r;
}
