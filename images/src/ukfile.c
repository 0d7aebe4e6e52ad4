/* The Ukfile parser: Dockerfile-like instructions, shell-like words, strict validation with
 * file:line errors. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#define UKFILE_MAX_SIZE (1U << 20)

static const char *const instructions[] = {"FROM", "SOURCES", "LIBS",   "FILES", "CMD",
                                           "ENV",  "EXPOSE",  "MEMORY", "CFLAGS"};
#define INSTRUCTION_LIST "FROM, SOURCES, LIBS, FILES, CMD, ENV, EXPOSE, MEMORY, CFLAGS"

/* A growable byte buffer for building one word. */
struct wbuf {
	char *p;
	size_t len, cap;
};

static int wbuf_putc(struct wbuf *b, char c)
{
	if (b->len + 1 >= b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 32;
		char *np = realloc(b->p, nc);
		if (!np)
			return -1;
		b->p = np;
		b->cap = nc;
	}
	b->p[b->len++] = c;
	b->p[b->len] = 0;
	return 0;
}

/*
 * Splits (s) into words (see ukimg_words_split). With (comments), an unquoted '#' that starts
 * a word ends the line. On error, (err)'s message has no location: the caller adds it.
 */
static char **words_split(const char *s, bool comments, size_t *n_out, uk_err_t *err)
{
	_cleanup_strv_ char **v = util_strv_new();
	size_t n = 0;
	const char *p = s;

	if (!v) {
		uk_err_errno(err, ENOMEM, "split words");
		return NULL;
	}
	for (;;) {
		struct wbuf w = {0};

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || (comments && *p == '#'))
			break;
		if (wbuf_putc(&w, 0) < 0)
			goto oom;
		w.len = 0;
		while (*p && *p != ' ' && *p != '\t') {
			if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					if (wbuf_putc(&w, *p++) < 0)
						goto oom;
				}
				if (!*p) {
					free(w.p);
					uk_err_bad(err, "unterminated double quote");
					return NULL;
				}
				p++;
			} else if (*p == '\'') {
				p++;
				while (*p && *p != '\'')
					if (wbuf_putc(&w, *p++) < 0)
						goto oom;
				if (!*p) {
					free(w.p);
					uk_err_bad(err, "unterminated single quote");
					return NULL;
				}
				p++;
			} else if (*p == '\\' && p[1]) {
				if (wbuf_putc(&w, p[1]) < 0)
					goto oom;
				p += 2;
			} else {
				if (wbuf_putc(&w, *p++) < 0)
					goto oom;
			}
		}
		if (util_strv_push(&v, &n, w.p) < 0) {
			free(w.p);
			goto oom_nofree;
		}
		free(w.p);
		continue;
	oom:
		free(w.p);
	oom_nofree:
		uk_err_errno(err, ENOMEM, "split words");
		return NULL;
	}
	if (n_out)
		*n_out = n;
	return steal_ptr(v);
}

char **ukimg_words_split(const char *s, size_t *n_out, uk_err_t *err)
{
	return words_split(s ? s : "", false, n_out, err);
}

void ukimg_ukfile_free(ukimg_ukfile_t *uf)
{
	if (!uf)
		return;
	ukimg_strv_free(uf->sources);
	ukimg_strv_free(uf->libs);
	for (size_t i = 0; i < uf->n_files; i++) {
		free(uf->files[i].src);
		free(uf->files[i].dst);
	}
	free(uf->files);
	ukimg_strv_free(uf->cmd);
	ukimg_strv_free(uf->env);
	free(uf->ports);
	ukimg_strv_free(uf->cflags);
	free(uf);
}

int ukimg_memory_parse(const char *s, uint64_t *out, uk_err_t *err)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p))
		return uk_err_bad(err,
		                  "memory \"%s\": expected a number with an optional K, M or G "
		                  "suffix, e.g. 16M",
		                  s ? s : "");
	while (isdigit((unsigned char)*p)) {
		if (v > (UINT64_MAX - 9) / 10)
			return uk_err_bad(err, "memory \"%s\": number too large", s);
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	switch (toupper((unsigned char)*p)) {
	case 'K':
		mul = 1ULL << 10;
		p++;
		break;
	case 'M':
		mul = 1ULL << 20;
		p++;
		break;
	case 'G':
		mul = 1ULL << 30;
		p++;
		break;
	}
	if (mul > 1 && (*p == 'i' || *p == 'I') && (p[1] == 'B' || p[1] == 'b'))
		p += 2;
	else if (mul > 1 && (*p == 'B' || *p == 'b'))
		p++;
	if (*p)
		return uk_err_bad(err, "memory \"%s\": unknown suffix \"%s\" (use K, M or G)", s,
		                  p);
	if (v > UINT64_MAX / mul)
		return uk_err_bad(err, "memory \"%s\": number too large", s);
	v *= mul;
	if (v < UKIMG_MEMORY_MIN || v > UKIMG_MEMORY_MAX)
		return uk_err_bad(err, "memory \"%s\" out of range (from 2M to 64G)", s);
	*out = v;
	return 0;
}

/* Parser state: the result being filled and where we are. */
struct parser {
	ukimg_ukfile_t *uf;
	const char *name;
	int line;
	int n_instr;
	int from_line, memory_line, cmd_line;
	uk_err_t *err;
};

__attribute__((format(printf, 2, 3))) static int perr(struct parser *ps, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return uk_err_bad(ps->err, "%s:%d: %s", ps->name, ps->line, msg);
}

static int push(struct parser *ps, char ***v, size_t *n, const char *s)
{
	if (util_strv_push(v, n, s) < 0)
		return uk_err_errno(ps->err, ENOMEM, "%s:%d", ps->name, ps->line);
	return 0;
}

static int strv_has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

/* Checks a context-relative path; writes the normalized form into (out). */
static int context_path(struct parser *ps, const char *what, const char *in, char *out,
                        size_t outlen)
{
	if (!*in)
		return perr(ps, "%s: empty path", what);
	if (in[0] == '/')
		return perr(ps, "%s: \"%s\" is absolute: paths are relative to the build context",
		            what, in);
	if (util_relpath_normalize(in, out, outlen) < 0)
		return perr(ps,
		            "%s: \"%s\" leaves the build context (\"..\" is not allowed) or is too "
		            "long",
		            what, in);
	return 0;
}

static int do_from(struct parser *ps, char **w, size_t n)
{
	const char *ref;
	char *end;
	long v;

	if (ps->from_line)
		return perr(ps, "FROM given twice (first on line %d)", ps->from_line);
	if (ps->n_instr > 1)
		return perr(ps, "FROM must be the first instruction");
	ps->from_line = ps->line;
	if (n != 1)
		return perr(ps, "FROM takes one image, e.g. FROM uk/runtime:%d",
		            UKIMG_RUNTIME_VERSION);
	ref = w[0];
	if (strncmp(ref, "uk/runtime", 10) != 0 || (ref[10] && ref[10] != ':'))
		return perr(ps, "FROM \"%s\": only uk/runtime[:VERSION] is supported", ref);
	if (!ref[10]) {
		ps->uf->runtime_version = UKIMG_RUNTIME_VERSION;
		return 0;
	}
	errno = 0;
	v = strtol(ref + 11, &end, 10);
	if (!isdigit((unsigned char)ref[11]) || *end || errno)
		return perr(ps, "FROM \"%s\": the version must be a number, e.g. uk/runtime:%d",
		            ref, UKIMG_RUNTIME_VERSION);
	if (v != UKIMG_RUNTIME_VERSION)
		return perr(ps, "FROM \"%s\": this uk builds for uk/runtime:%d only", ref,
		            UKIMG_RUNTIME_VERSION);
	ps->uf->runtime_version = (int)v;
	return 0;
}

static int do_sources(struct parser *ps, char **w, size_t n)
{
	if (n == 0)
		return perr(ps, "SOURCES needs at least one file, e.g. SOURCES main.c");
	for (size_t i = 0; i < n; i++) {
		char norm[PATH_MAX];
		const char *base, *dot;

		if (context_path(ps, "SOURCES", w[i], norm, sizeof(norm)) < 0)
			return -1;
		base = strrchr(norm, '/');
		base = base ? base + 1 : norm;
		if (strpbrk(norm, "*?[") && strpbrk(norm, "*?[") < base)
			return perr(ps,
			            "SOURCES \"%s\": wildcards are allowed in the file name only",
			            w[i]);
		dot = strrchr(base, '.');
		if (!dot || (strcmp(dot, ".c") && strcmp(dot, ".S") && strcmp(dot, ".s")))
			return perr(ps,
			            "SOURCES \"%s\": not a C or assembly source (expected a .c, .S "
			            "or .s file)",
			            w[i]);
		if (strv_has(ps->uf->sources, ps->uf->n_sources, norm))
			return perr(ps, "SOURCES \"%s\" listed twice", w[i]);
		if (push(ps, &ps->uf->sources, &ps->uf->n_sources, norm) < 0)
			return -1;
	}
	return 0;
}

static int do_libs(struct parser *ps, char **w, size_t n)
{
	if (n == 0)
		return perr(ps, "LIBS needs at least one runtime-lib component, e.g. LIBS net");
	for (size_t i = 0; i < n; i++) {
		const char *s = w[i];
		size_t len = strlen(s);
		bool ok = len > 0 && len <= 64 &&
		          (islower((unsigned char)s[0]) || isdigit((unsigned char)s[0]));

		for (size_t j = 0; ok && j < len; j++)
			ok = islower((unsigned char)s[j]) || isdigit((unsigned char)s[j]) ||
			     s[j] == '_' || s[j] == '-';
		if (!ok)
			return perr(ps,
			            "LIBS \"%s\": not a component name (lowercase letters, digits, "
			            "'_' and '-')",
			            s);
		if (!strv_has(ps->uf->libs, ps->uf->n_libs, s) &&
		    push(ps, &ps->uf->libs, &ps->uf->n_libs, s) < 0)
			return -1;
	}
	return 0;
}

static int do_files(struct parser *ps, char **w, size_t n)
{
	char src[PATH_MAX], dst[PATH_MAX];
	ukimg_file_spec_t *nf;

	if (n != 2)
		return perr(ps, "FILES takes a source and a destination, e.g. FILES site/ /www");
	if (context_path(ps, "FILES", w[0], src, sizeof(src)) < 0)
		return -1;
	if (w[1][0] != '/')
		return perr(ps,
		            "FILES destination \"%s\" must be an absolute path in the image, "
		            "e.g. /www",
		            w[1]);
	if (util_abspath_normalize(w[1], dst, sizeof(dst) - 1) < 0)
		return perr(ps, "FILES destination \"%s\": \"..\" is not allowed", w[1]);
	/* A trailing slash keeps its meaning: "FILES a.txt /www/" puts /www/a.txt. */
	if (w[1][strlen(w[1]) - 1] == '/' && strcmp(dst, "/"))
		strcat(dst, "/");
	nf = realloc(ps->uf->files, (ps->uf->n_files + 1) * sizeof(*nf));
	if (!nf)
		return uk_err_errno(ps->err, ENOMEM, "%s:%d", ps->name, ps->line);
	ps->uf->files = nf;
	nf[ps->uf->n_files].src = strdup(src);
	nf[ps->uf->n_files].dst = strdup(dst);
	nf[ps->uf->n_files].line = ps->line;
	ps->uf->n_files++;
	if (!nf[ps->uf->n_files - 1].src || !nf[ps->uf->n_files - 1].dst)
		return uk_err_errno(ps->err, ENOMEM, "%s:%d", ps->name, ps->line);
	return 0;
}

/* CMD ["a", "b"]: (args) starts at '['. A comment may follow the array. */
static int cmd_json(struct parser *ps, const char *args)
{
	json_tokener *tok = json_tokener_new();
	json_object *arr;
	size_t off;
	const char *rest;

	if (!tok)
		return uk_err_errno(ps->err, ENOMEM, "%s:%d", ps->name, ps->line);
	arr = json_tokener_parse_ex(tok, args, (int)strlen(args));
	off = json_tokener_get_parse_end(tok);
	if (!arr) {
		enum json_tokener_error je = json_tokener_get_error(tok);
		json_tokener_free(tok);
		return perr(
		        ps, "CMD: bad JSON array (%s): write CMD [\"word\", ...] or CMD word...",
		        je == json_tokener_continue ? "unterminated" : json_tokener_error_desc(je));
	}
	json_tokener_free(tok);
	rest = args + off;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	if (*rest && *rest != '#') {
		json_object_put(arr);
		return perr(ps, "CMD: unexpected text after the JSON array: \"%.40s\"", rest);
	}
	if (!json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return perr(ps, "CMD: expected a JSON array of strings");
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(e, json_type_string)) {
			json_object_put(arr);
			return perr(ps, "CMD: element %zu of the JSON array is not a string", i);
		}
		if (strlen(json_object_get_string(e)) != (size_t)json_object_get_string_len(e)) {
			json_object_put(arr);
			return perr(ps, "CMD: element %zu contains a NUL character", i);
		}
		if (push(ps, &ps->uf->cmd, &ps->uf->n_cmd, json_object_get_string(e)) < 0) {
			json_object_put(arr);
			return -1;
		}
	}
	json_object_put(arr);
	return 0;
}

static int do_cmd(struct parser *ps, const char *args, char **w, size_t n)
{
	if (ps->cmd_line)
		return perr(ps, "CMD given twice (first on line %d)", ps->cmd_line);
	ps->cmd_line = ps->line;
	ps->uf->has_cmd = 1;
	ukimg_strv_free(ps->uf->cmd);
	ps->uf->cmd = util_strv_new();
	ps->uf->n_cmd = 0;
	if (!ps->uf->cmd)
		return uk_err_errno(ps->err, ENOMEM, "%s:%d", ps->name, ps->line);
	if (args[0] == '[')
		return cmd_json(ps, args);
	for (size_t i = 0; i < n; i++)
		if (push(ps, &ps->uf->cmd, &ps->uf->n_cmd, w[i]) < 0)
			return -1;
	return 0;
}

int ukimg_env_key_valid(const char *s, size_t len)
{
	if (len == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

static int do_env(struct parser *ps, char **w, size_t n)
{
	if (n == 0)
		return perr(ps, "ENV needs KEY=VALUE pairs, e.g. ENV MODE=prod");
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(w[i], '=');
		size_t klen;

		if (!eq)
			return perr(ps, "ENV \"%s\": expected KEY=VALUE", w[i]);
		klen = (size_t)(eq - w[i]);
		if (!ukimg_env_key_valid(w[i], klen))
			return perr(ps,
			            "ENV \"%s\": bad variable name (letters, digits and '_', not "
			            "starting with a digit)",
			            w[i]);
		/* A later KEY replaces an earlier one, as in Docker. */
		for (size_t j = 0; j < ps->uf->n_env; j++) {
			if (!strncmp(ps->uf->env[j], w[i], klen + 1)) {
				char *d = strdup(w[i]);
				if (!d)
					return uk_err_errno(ps->err, ENOMEM, "%s", ps->name);
				free(ps->uf->env[j]);
				ps->uf->env[j] = d;
				goto next;
			}
		}
		if (ps->uf->n_env == UKIMG_ENV_MAX)
			return perr(ps, "ENV \"%s\": more than %d variables (what a guest holds)",
			            w[i], UKIMG_ENV_MAX);
		if (push(ps, &ps->uf->env, &ps->uf->n_env, w[i]) < 0)
			return -1;
	next:;
	}
	return 0;
}

static int do_expose(struct parser *ps, char **w, size_t n)
{
	if (n == 0)
		return perr(ps, "EXPOSE needs at least one port, e.g. EXPOSE 80 or EXPOSE 53/udp");
	for (size_t i = 0; i < n; i++) {
		const char *s = w[i], *slash = strchr(s, '/');
		char proto[4] = "tcp";
		unsigned long port = 0;
		const char *p = s;
		ukimg_port_t *np;

		if (!isdigit((unsigned char)*p))
			return perr(ps,
			            "EXPOSE \"%s\": expected a port number (1-65535) with an "
			            "optional /tcp or /udp",
			            s);
		while (isdigit((unsigned char)*p) && port <= 65535)
			port = port * 10 + (unsigned long)(*p++ - '0');
		if (port == 0 || port > 65535 || (*p && p != slash))
			return perr(ps,
			            "EXPOSE \"%s\": bad port (expected 1-65535 with an optional "
			            "/tcp or /udp)",
			            s);
		if (slash) {
			if (!strcasecmp(slash + 1, "tcp"))
				strcpy(proto, "tcp");
			else if (!strcasecmp(slash + 1, "udp"))
				strcpy(proto, "udp");
			else
				return perr(ps,
				            "EXPOSE \"%s\": unknown protocol (use /tcp or /udp)",
				            s);
		}
		for (size_t j = 0; j < ps->uf->n_ports; j++)
			if (ps->uf->ports[j].port == port && !strcmp(ps->uf->ports[j].proto, proto))
				goto next;
		np = realloc(ps->uf->ports, (ps->uf->n_ports + 1) * sizeof(*np));
		if (!np)
			return uk_err_errno(ps->err, ENOMEM, "%s", ps->name);
		ps->uf->ports = np;
		np[ps->uf->n_ports].port = (uint16_t)port;
		memcpy(np[ps->uf->n_ports].proto, proto, sizeof(proto));
		ps->uf->n_ports++;
	next:;
	}
	return 0;
}

static int do_memory(struct parser *ps, char **w, size_t n)
{
	uk_err_t e = {0};

	if (ps->memory_line)
		return perr(ps, "MEMORY given twice (first on line %d)", ps->memory_line);
	ps->memory_line = ps->line;
	if (n != 1)
		return perr(ps, "MEMORY takes one size, e.g. MEMORY 16M");
	if (ukimg_memory_parse(w[0], &ps->uf->memory, &e) < 0)
		return perr(ps, "MEMORY: %s", e.message);
	return 0;
}

static int cflag_ok(struct parser *ps, const char *f)
{
	char norm[PATH_MAX];

	if (f[0] != '-')
		return 0;
	switch (f[1]) {
	case 'O':
		return f[2] == 0 || (strchr("0123sgz", f[2]) && f[3] == 0);
	case 'g':
		return f[2] == 0 || (strchr("0123", f[2]) && f[3] == 0) || !strcmp(f, "-ggdb");
	case 'D': {
		const char *eq = strchr(f + 2, '=');
		return ukimg_env_key_valid(f + 2, eq ? (size_t)(eq - f - 2) : strlen(f + 2));
	}
	case 'I':
		if (!f[2])
			return 0;
		if (f[2] == '/' || util_relpath_normalize(f + 2, norm, sizeof(norm)) < 0) {
			perr(ps,
			     "CFLAGS \"%s\": include directories must be relative to the build "
			     "context, without \"..\"",
			     f);
			return -1;
		}
		return 1;
	case 'W':
		/* -Wl, -Wa, -Wp pass options to other tools: refused with anything holding ','. */
		return f[2] != 0 && !strchr(f, ',');
	default:
		return 0;
	}
}

static int do_cflags(struct parser *ps, char **w, size_t n)
{
	if (n == 0)
		return perr(ps, "CFLAGS needs at least one flag, e.g. CFLAGS -DNDEBUG");
	for (size_t i = 0; i < n; i++) {
		int ok = cflag_ok(ps, w[i]);
		if (ok < 0)
			return -1;
		if (!ok)
			return perr(ps,
			            "CFLAGS \"%s\" is not allowed (allowed: -O[0-3sgz], -g[0-3], "
			            "-DNAME[=VALUE], -IDIR with a relative DIR, -W<warning>)",
			            w[i]);
		if (push(ps, &ps->uf->cflags, &ps->uf->n_cflags, w[i]) < 0)
			return -1;
	}
	return 0;
}

/* Levenshtein distance, capped: used to suggest an instruction for a typo. */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[16];

	if (la > 15 || lb > 15)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int prev = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int cur = row[j];
			int cost = toupper((unsigned char)a[i - 1]) != b[j - 1];
			int best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

static int parse_line(struct parser *ps, char *line)
{
	char *p = line, *kw, *args;
	_cleanup_strv_ char **w = NULL;
	size_t n = 0;
	uk_err_t e = {0};
	size_t i;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '#')
		return 0;
	kw = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	args = p;
	ps->n_instr++;
	for (i = 0; i < sizeof(instructions) / sizeof(instructions[0]); i++)
		if (!strcasecmp(kw, instructions[i]))
			break;
	if (i == sizeof(instructions) / sizeof(instructions[0])) {
		const char *best = NULL;
		int bd = 3;
		for (size_t j = 0; j < i; j++) {
			int d = edit_distance(kw, instructions[j]);
			if (d < bd) {
				bd = d;
				best = instructions[j];
			}
		}
		if (best)
			return perr(ps, "unknown instruction \"%.64s\" (did you mean %s?)", kw,
			            best);
		return perr(ps,
		            "unknown instruction \"%.64s\" (instructions are " INSTRUCTION_LIST ")",
		            kw);
	}
	if (!(i == 4 && args[0] == '[')) {
		w = words_split(args, true, &n, &e);
		if (!w)
			return e.status == 400 ? perr(ps, "%s: %s", instructions[i], e.message)
			                       : uk_err_errno(ps->err, ENOMEM, "%s", ps->name);
	}
	switch (i) {
	case 0:
		return do_from(ps, w, n);
	case 1:
		return do_sources(ps, w, n);
	case 2:
		return do_libs(ps, w, n);
	case 3:
		return do_files(ps, w, n);
	case 4:
		return do_cmd(ps, args, w, n);
	case 5:
		return do_env(ps, w, n);
	case 6:
		return do_expose(ps, w, n);
	case 7:
		return do_memory(ps, w, n);
	default:
		return do_cflags(ps, w, n);
	}
}

ukimg_ukfile_t *ukimg_ukfile_parse(const char *text, size_t len, const char *name, uk_err_t *err)
{
	struct parser ps = {.name = name ? name : "Ukfile", .err = err};
	_cleanup_free_ char *buf = NULL;
	size_t i = 0;
	int line = 0;

	if (len > UKFILE_MAX_SIZE) {
		uk_err_set(err, 413, "too_large", "%s: larger than 1 MiB", ps.name);
		return NULL;
	}
	if (memchr(text, 0, len)) {
		size_t off = (size_t)((const char *)memchr(text, 0, len) - text);
		int l = 1;
		for (size_t j = 0; j < off; j++)
			l += text[j] == '\n';
		uk_err_bad(err, "%s:%d: contains a NUL byte: is this a text file?", ps.name, l);
		return NULL;
	}
	ps.uf = calloc(1, sizeof(*ps.uf));
	buf = malloc(len + 1);
	if (!ps.uf || !buf)
		goto oom;
	ps.uf->runtime_version = UKIMG_RUNTIME_VERSION;
	ps.uf->memory = UKIMG_MEMORY_DEFAULT;
	ps.uf->sources = util_strv_new();
	ps.uf->libs = util_strv_new();
	ps.uf->cmd = util_strv_new();
	ps.uf->env = util_strv_new();
	ps.uf->cflags = util_strv_new();
	if (!ps.uf->sources || !ps.uf->libs || !ps.uf->cmd || !ps.uf->env || !ps.uf->cflags)
		goto oom;

	/* Logical lines: a line ending in '\' continues on the next; whole-line comments
	 * inside a continuation are skipped, as Docker does. */
	while (i < len) {
		size_t o = 0;
		bool cont = true;

		line++;
		ps.line = line;
		while (cont && i < len) {
			size_t start = i, end;
			const char *q;

			while (i < len && text[i] != '\n')
				i++;
			end = i;
			if (i < len)
				i++;
			if (end > start && text[end - 1] == '\r')
				end--;
			q = text + start;
			while (q < text + end && (*q == ' ' || *q == '\t'))
				q++;
			if (o > 0 && q < text + end && *q == '#') {
				line++;
				continue;
			}
			while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t'))
				end--;
			cont = end > start && text[end - 1] == '\\' && *q != '#';
			if (cont)
				end--;
			memcpy(buf + o, text + start, end - start);
			o += end - start;
			if (cont) {
				buf[o++] = ' ';
				if (i < len)
					line++;
			}
		}
		buf[o] = 0;
		if (parse_line(&ps, buf) < 0)
			goto fail;
	}
	if (ps.uf->n_sources == 0) {
		uk_err_bad(err, "%s: no SOURCES instruction: add a line like \"SOURCES main.c\"",
		           ps.name);
		goto fail;
	}
	return ps.uf;
oom:
	uk_err_errno(err, ENOMEM, "%s", ps.name);
fail:
	ukimg_ukfile_free(ps.uf);
	return NULL;
}

ukimg_ukfile_t *ukimg_ukfile_load(const char *path, uk_err_t *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	const char *base = strrchr(path, '/');
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	base = base ? base + 1 : path;
	if (fd < 0) {
		if (errno == ENOENT)
			uk_err_notfound(err, "%s: no such file", base);
		else
			uk_err_errno(err, errno, "open %s", base);
		return NULL;
	}
	if (uk_read_fd(fd, UKFILE_MAX_SIZE, &text, &len, err) < 0) {
		if (err->status == 413)
			uk_err_set(err, 413, "too_large", "%s: larger than 1 MiB", base);
		else
			uk_err_wrap(err, "%s", base);
		return NULL;
	}
	return ukimg_ukfile_parse(text, len, base, err);
}
