/* The router: splits the path into segments and matches literal, "{}" and "{*}" pattern segments.
 */
#include "router.h"

#include <stdio.h>
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

/* Matches (pattern) against (segs); on success fills (m)'s params. */
static int route_match(struct ukd_match *m, const char *pattern, char **segs, int nsegs)
{
	char pbuf[256], *psegs[MAX_SEGS];
	int np, star = -1;

	snprintf(pbuf, sizeof(pbuf), "%s", pattern);
	np = split_path(pbuf, psegs);
	for (int i = 0; i < np; i++)
		if (!strcmp(psegs[i], "{*}"))
			star = i;
	if (np < 0 || (star < 0 ? np != nsegs : nsegs < np))
		return 0;
	ukd_router_clear(m);
	for (int i = 0, s = 0; i < np; i++) {
		if (i == star) {
			int take = nsegs - np + 1;
			if (add_param(m, segs, s, s + take) < 0)
				goto nomatch;
			s += take;
		} else if (!strcmp(psegs[i], "{}")) {
			if (add_param(m, segs, s, s + 1) < 0)
				goto nomatch;
			s++;
		} else if (strcmp(psegs[i], segs[s++])) {
			goto nomatch;
		}
	}
	return 1;
nomatch:
	ukd_router_clear(m);
	return 0;
}

void ukd_router_match(const struct ukd_route *table, const char *method, const char *url,
                      struct ukd_match *m)
{
	char path[MAX_URL], *segs[MAX_SEGS];
	int nsegs, path_matched = 0;

	memset(m, 0, sizeof(*m));
	if (strlen(url) >= sizeof(path)) {
		m->status = 414;
		return;
	}
	snprintf(path, sizeof(path), "%s", url);
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
