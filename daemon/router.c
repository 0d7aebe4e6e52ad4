/* The router: splits the path into segments and matches literal, "{}" and "{*}" pattern segments.
 */
#include "router.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SEGS 32
#define MAX_URL 4096

static int split_path(char *path, char **segs)
{
	int n = 0;

	for (char *save = NULL, *s = strtok_r(path, "/", &save); s;
	     s = strtok_r(NULL, "/", &save)) {
		if (n == MAX_SEGS)
			return -1;
		segs[n++] = s;
	}
	return n;
}

static char *join_segs(char **segs, int from, int to)
{
	size_t len = 1;
	char *out;

	for (int i = from; i < to; i++)
		len += strlen(segs[i]) + 1;
	out = calloc(1, len);
	if (!out)
		return NULL;
	for (int i = from; i < to; i++) {
		if (i > from)
			strcat(out, "/");
		strcat(out, segs[i]);
	}
	return out;
}

void ukd_router_clear(struct ukd_match *m)
{
	for (int i = 0; i < m->nparams; i++)
		free(m->params[i]);
	m->nparams = 0;
}

static int add_param(struct ukd_match *m, char **segs, int from, int to)
{
	if (m->nparams == UKD_ROUTER_MAX_PARAMS)
		return -1;
	m->params[m->nparams] = join_segs(segs, from, to);
	return m->params[m->nparams] ? m->nparams++ : -1;
}

/* The next segment of the pattern at (*p) (slashes skipped): sets (*seg), returns its length and
 * advances (*p); 0 at the end. Patterns are walked in place: no copy, nothing allocated. */
static size_t pattern_seg(const char **p, const char **seg)
{
	while (**p == '/')
		(*p)++;
	*seg = *p;
	while (**p && **p != '/')
		(*p)++;
	return (size_t)(*p - *seg);
}

static int seg_is(const char *seg, size_t len, const char *lit)
{
	return len == strlen(lit) && !memcmp(seg, lit, len);
}

/* Matches (pattern) against (segs); on success fills (m)'s params, allocated only then. */
static int route_match(struct ukd_match *m, const char *pattern, char **segs, int nsegs)
{
	int np = 0, star = -1, from[UKD_ROUTER_MAX_PARAMS], to[UKD_ROUTER_MAX_PARAMS], nparams = 0;
	const char *p = pattern, *seg;
	size_t len;

	while ((len = pattern_seg(&p, &seg))) {
		if (seg_is(seg, len, "{*}"))
			star = np;
		np++;
	}
	if (star < 0 ? np != nsegs : nsegs < np)
		return 0;
	p = pattern;
	for (int i = 0, s = 0; (len = pattern_seg(&p, &seg)); i++) {
		int take = i == star ? nsegs - np + 1 : seg_is(seg, len, "{}");
		if (!take) { /* a literal */
			if (strlen(segs[s]) != len || memcmp(seg, segs[s], len))
				return 0;
			s++;
			continue;
		}
		if (nparams == UKD_ROUTER_MAX_PARAMS)
			return 0;
		from[nparams] = s;
		s += take;
		to[nparams++] = s;
	}
	ukd_router_clear(m);
	for (int i = 0; i < nparams; i++)
		if (add_param(m, segs, from[i], to[i]) < 0) {
			ukd_router_clear(m);
			return 0;
		}
	return 1;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'                     ? c - '0'
	       : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
	                                                : -1;
}

int ukd_router_check_target(const char *raw, const char **why)
{
	int in_query = 0;

	if (strlen(raw) > UKD_HTTP_URL_MAX) {
		*why = "request target (path and query) too long";
		return 414;
	}
	for (const char *p = raw; *p; p++) {
		int c = (unsigned char)*p;

		if (c == '?')
			in_query = 1;
		if (c == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0)
			c = hexval(p[1]) << 4 | hexval(p[2]);
		else if (c < 0x20 || c == 0x7f) {
			*why = "control character in the request target";
			return 400;
		}
		if (c == 0) {
			*why = "NUL character (%00) in the request target";
			return 400;
		}
		if (!in_query && (c < 0x20 || c == 0x7f)) {
			*why = "control character (%00-%1F, %7F) in the request path";
			return 400;
		}
	}
	return 0;
}

void ukd_router_match(const struct ukd_route *table, const char *method, const char *url,
                      struct ukd_match *m)
{
	char path[MAX_URL], *segs[MAX_SEGS];
	int nsegs, path_matched = 0;
	size_t len = strlen(url);

	memset(m, 0, sizeof(*m));
	if (len >= sizeof(path)) {
		m->status = 414;
		return;
	}
	memcpy(path, url, len + 1);
	nsegs = split_path(path, segs);
	if (nsegs < 0) {
		m->status = 404;
		return;
	}
	for (const struct ukd_route *r = table; r->pattern; r++) {
		if (!route_match(m, r->pattern, segs, nsegs))
			continue;
		if (!strcmp(r->method, method)) {
			m->route = r;
			return;
		}
		path_matched = 1;
	}
	ukd_router_clear(m);
	m->status = path_matched ? 405 : 404;
}
