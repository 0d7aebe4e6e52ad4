/* Go text/template's common subset for --format: a tokenizer, a tree, an evaluator over json-c. */
#include "template.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TMPL_MAX_DEPTH 64        /* nesting of blocks and parentheses */
#define TMPL_MAX_VARS 64         /* variables alive at once */
#define TMPL_MAX_STEPS 1000000UL /* nodes run per execution: nested ranges end */

enum tok_kind {
	T_EOF,
	T_TEXT,
	T_LDELIM,
	T_RDELIM,
	T_DOT,
	T_FIELD,
	T_VAR,
	T_IDENT,
	T_STRING,
	T_NUMBER,
	T_LPAREN,
	T_RPAREN,
	T_PIPE,
	T_DECLARE,
	T_ASSIGN,
	T_COMMA,
};

struct tok {
	enum tok_kind kind;
	size_t off; /* in the source, for messages */
	char *s;    /* text, name or value (malloc'd) */
	size_t n;   /* its length (strings may hold NUL) */
	int spaced; /* whitespace before it (".A .B" are two arguments, ".A.B" one) */
};

enum node_kind { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH };
enum arg_kind { A_DOT, A_VAR, A_IDENT, A_STRING, A_NUMBER, A_BOOL, A_NIL, A_PIPE };

struct pipe;

struct arg {
	enum arg_kind kind;
	size_t off;
	char *s; /* var or function name, string value */
	size_t n;
	json_object *num; /* A_NUMBER */
	int b;            /* A_BOOL */
	struct pipe *pipe;
	char **fields; /* .A.B after the base */
	size_t nfields;
	struct arg *next;
};

struct cmd {
	size_t off;
	struct arg *args;
	struct cmd *next;
};

struct pipe {
	size_t off;
	int ndecl, assign; /* $a, $b := (or =) */
	char *decl[2];
	struct cmd *cmds;
};

struct node {
	enum node_kind kind;
	size_t off;
	char *text; /* N_TEXT */
	size_t n;
	struct pipe *pipe;
	struct node *body, *alt; /* if/range/with: then-list, else-list */
	struct node *next;
};

struct cli_tmpl {
	char *src;
	int col0;
	struct node *root;
};

/* --- messages --- */

static void where(const char *src, int col0, size_t off, char *buf, size_t len)
{
	int line = 1, col = col0 + 1;
	size_t i;

	for (i = 0; i < off && src[i]; i++) {
		if (src[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)src[i] & 0xc0) != 0x80) {
			col++;
		}
	}
	if (line > 1 || strchr(src, '\n'))
		snprintf(buf, len, "line %d, column %d", line, col);
	else
		snprintf(buf, len, "column %d", col);
}

__attribute__((format(printf, 5, 6))) static int tmpl_err(uk_err_t *err, const char *src, int col0,
                                                          size_t off, const char *fmt, ...)
{
	char at[64], msg[1024];
	va_list ap;

	where(src, col0, off, at, sizeof(at));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return uk_err_bad(err, "template at %s: %s", at, msg);
}

/* --- tokens --- */

struct lexer {
	const char *src;
	size_t pos, len;
	int flags, col0;
	struct tok *toks;
	size_t ntoks, cap;
	uk_err_t *err;
};

static void *xalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		abort();
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = xalloc(n + 1);
	memcpy(d, s, n);
	return d;
}

static struct tok *emit(struct lexer *lx, enum tok_kind kind, size_t off, const char *s, size_t n,
                        int spaced)
{
	struct tok *t;

	if (lx->ntoks == lx->cap) {
		lx->cap = lx->cap ? 2 * lx->cap : 32;
		lx->toks = realloc(lx->toks, lx->cap * sizeof(*lx->toks));
		if (!lx->toks)
			abort();
	}
	t = &lx->toks[lx->ntoks++];
	*t = (struct tok){.kind = kind, .off = off, .n = n, .spaced = spaced};
	t->s = s ? xstrndup(s, n) : NULL;
	return t;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Text up to the next "{{", with \t and \n decoded when asked. */
static void lex_text(struct lexer *lx, size_t start, size_t end)
{
	struct tok *t;
	size_t i, o = 0;

	if (end == start)
		return;
	t = emit(lx, T_TEXT, start, lx->src + start, end - start, 0);
	if (!(lx->flags & CLI_TMPL_ESCAPES))
		return;
	for (i = 0; i < t->n; i++) {
		if (t->s[i] == '\\' && i + 1 < t->n && (t->s[i + 1] == 't' || t->s[i + 1] == 'n')) {
			t->s[o++] = t->s[i + 1] == 't' ? '\t' : '\n';
			i++;
		} else {
			t->s[o++] = t->s[i];
		}
	}
	t->n = o;
	t->s[o] = '\0';
}

/* A quoted string at lx->pos ("..." with escapes, or `raw`). */
static int lex_string(struct lexer *lx, int spaced)
{
	const char *s = lx->src;
	size_t start = lx->pos, i = start + 1;
	char q = s[start], *buf = xalloc(lx->len - start + 1);
	size_t n = 0;
	struct tok *t;

	for (;; i++) {
		if (i >= lx->len || (q == '"' && s[i] == '\n')) {
			free(buf);
			return tmpl_err(lx->err, s, lx->col0, start, "unterminated quoted string");
		}
		if (s[i] == q)
			break;
		if (q == '"' && s[i] == '\\') {
			i++;
			switch (i < lx->len ? s[i] : '\0') {
			case 'n':
				buf[n++] = '\n';
				break;
			case 't':
				buf[n++] = '\t';
				break;
			case 'r':
				buf[n++] = '\r';
				break;
			case '\\':
			case '"':
				buf[n++] = s[i];
				break;
			default:
				free(buf);
				return tmpl_err(
				        lx->err, s, lx->col0, i - 1,
				        "unknown escape sequence in a string: use \\n, \\t, "
				        "\\r, \\\\ or \\\"");
			}
			continue;
		}
		buf[n++] = s[i];
	}
	t = emit(lx, T_STRING, start, NULL, 0, spaced);
	t->s = buf;
	t->n = n;
	lx->pos = i + 1;
	return 0;
}

/* One action, lx->pos just past "{{" (and a "- "). */
static int lex_action(struct lexer *lx, size_t open, int *trim_right)
{
	const char *s = lx->src;
	int spaced = 1;

	*trim_right = 0;
	for (;;) {
		size_t p = lx->pos;
		char c;

		if (p >= lx->len)
			return tmpl_err(lx->err, s, lx->col0, open,
			                "unclosed action: '{{' without its '}}'");
		c = s[p];
		if (is_space(c)) {
			while (lx->pos < lx->len && is_space(s[lx->pos]))
				lx->pos++;
			if (lx->pos + 2 < lx->len && s[lx->pos] == '-' && s[lx->pos + 1] == '}' &&
			    s[lx->pos + 2] == '}') {
				*trim_right = 1;
				lx->pos++;
			}
			spaced = 1;
			continue;
		}
		if (c == '}' && p + 1 < lx->len && s[p + 1] == '}') {
			emit(lx, T_RDELIM, p, NULL, 0, spaced);
			lx->pos = p + 2;
			return 0;
		}
		if (c == '"' || c == '`') {
			if (lex_string(lx, spaced) < 0)
				return -1;
		} else if (c == '.' && p + 1 < lx->len &&
		           (isalpha((unsigned char)s[p + 1]) || s[p + 1] == '_')) {
			size_t e = p + 1;
			while (e < lx->len && is_ident(s[e]))
				e++;
			emit(lx, T_FIELD, p, s + p + 1, e - p - 1, spaced);
			lx->pos = e;
		} else if (c == '.' && !(p + 1 < lx->len && isdigit((unsigned char)s[p + 1]))) {
			emit(lx, T_DOT, p, NULL, 0, spaced);
			lx->pos++;
		} else if (c == '$') {
			size_t e = p + 1;
			while (e < lx->len && is_ident(s[e]))
				e++;
			emit(lx, T_VAR, p, s + p, e - p, spaced);
			lx->pos = e;
		} else if (isalpha((unsigned char)c) || c == '_') {
			size_t e = p;
			while (e < lx->len && is_ident(s[e]))
				e++;
			emit(lx, T_IDENT, p, s + p, e - p, spaced);
			lx->pos = e;
		} else if (isdigit((unsigned char)c) || c == '.' ||
		           ((c == '-' || c == '+') && p + 1 < lx->len &&
		            (isdigit((unsigned char)s[p + 1]) || s[p + 1] == '.'))) {
			size_t e = p + 1;
			while (e < lx->len && (isalnum((unsigned char)s[e]) || s[e] == '.' ||
			                       ((s[e] == '-' || s[e] == '+') &&
			                        (s[e - 1] == 'e' || s[e - 1] == 'E'))))
				e++;
			emit(lx, T_NUMBER, p, s + p, e - p, spaced);
			lx->pos = e;
		} else if (c == ':' && p + 1 < lx->len && s[p + 1] == '=') {
			emit(lx, T_DECLARE, p, NULL, 0, spaced);
			lx->pos += 2;
		} else if (c == '(' || c == ')' || c == '|' || c == ',' || c == '=') {
			static const enum tok_kind k[] = {T_LPAREN, T_RPAREN, T_PIPE, T_COMMA,
			                                  T_ASSIGN};
			emit(lx, k[strchr("()|,=", c) - "()|,="], p, NULL, 0, spaced);
			lx->pos++;
		} else if (c == '-' && p + 2 < lx->len && s[p + 1] == '}' && s[p + 2] == '}') {
			return tmpl_err(lx->err, s, lx->col0, p,
			                "'-}}' needs a space before the '-'");
		} else {
			return tmpl_err(lx->err, s, lx->col0, p, "unexpected '%c' in an action", c);
		}
		spaced = 0;
	}
}

static int lex(struct lexer *lx)
{
	const char *s = lx->src;
	size_t text = 0;

	while (lx->pos < lx->len) {
		const char *open = strstr(s + lx->pos, "{{");
		size_t o, end;
		int trim_right = 0;

		if (!open)
			break;
		o = (size_t)(open - s);
		end = o;
		lx->pos = o + 2;
		if (lx->pos + 1 < lx->len && s[lx->pos] == '-' && is_space(s[lx->pos + 1])) {
			while (end > text && is_space(s[end - 1]))
				end--;
			lx->pos++;
		}
		lex_text(lx, text, end);
		while (lx->pos < lx->len && is_space(s[lx->pos]))
			lx->pos++;
		if (strncmp(s + lx->pos, "/*", 2) == 0) { /* a comment: nothing */
			const char *close = strstr(s + lx->pos + 2, "*/");
			size_t c;
			if (!close)
				return tmpl_err(lx->err, s, lx->col0, o, "unclosed comment");
			c = (size_t)(close - s) + 2;
			while (c < lx->len && is_space(s[c]))
				c++;
			if (strncmp(s + c, "-}}", 3) == 0) {
				trim_right = 1;
				c++;
			}
			if (strncmp(s + c, "}}", 2) != 0)
				return tmpl_err(lx->err, s, lx->col0, o,
				                "a comment must end the action: {{/* ... */}}");
			lx->pos = c + 2;
		} else {
			emit(lx, T_LDELIM, o, NULL, 0, 0);
			if (lex_action(lx, o, &trim_right) < 0)
				return -1;
		}
		if (trim_right)
			while (lx->pos < lx->len && is_space(s[lx->pos]))
				lx->pos++;
		text = lx->pos;
	}
	lex_text(lx, text, lx->len);
	emit(lx, T_EOF, lx->len, NULL, 0, 1);
	return 0;
}

/* --- the tree --- */

struct parser {
	struct tok *t;
	size_t i;
	const char *src;
	int col0, depth;
	uk_err_t *err;
};

static void pipe_free(struct pipe *p);

static void args_free(struct arg *a)
{
	while (a) {
		struct arg *next = a->next;
		free(a->s);
		json_object_put(a->num);
		pipe_free(a->pipe);
		for (size_t i = 0; i < a->nfields; i++)
			free(a->fields[i]);
		free(a->fields);
		free(a);
		a = next;
	}
}

static void pipe_free(struct pipe *p)
{
	struct cmd *c, *next;

	if (!p)
		return;
	for (c = p->cmds; c; c = next) {
		next = c->next;
		args_free(c->args);
		free(c);
	}
	free(p->decl[0]);
	free(p->decl[1]);
	free(p);
}

static void nodes_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;
		free(n->text);
		pipe_free(n->pipe);
		nodes_free(n->body);
		nodes_free(n->alt);
		free(n);
		n = next;
	}
}

static struct tok *peek(struct parser *p)
{
	return &p->t[p->i];
}

static int perr(struct parser *p, size_t off, const char *what)
{
	return tmpl_err(p->err, p->src, p->col0, off, "%s", what);
}

static const char *tok_name(const struct tok *t)
{
	switch (t->kind) {
	case T_EOF:
		return "the end of the template";
	case T_RDELIM:
		return "'}}'";
	case T_RPAREN:
		return "')'";
	case T_PIPE:
		return "'|'";
	case T_COMMA:
		return "','";
	case T_DECLARE:
		return "':='";
	case T_ASSIGN:
		return "'='";
	default:
		return "this";
	}
}

static struct pipe *parse_pipe(struct parser *p, enum tok_kind end, int decl_ok);

/* .A.B directly after a term. */
static void parse_fields(struct parser *p, struct arg *a)
{
	while (peek(p)->kind == T_FIELD && !peek(p)->spaced) {
		a->fields = realloc(a->fields, (a->nfields + 1) * sizeof(char *));
		if (!a->fields)
			abort();
		a->fields[a->nfields++] = xstrndup(peek(p)->s, peek(p)->n);
		p->i++;
	}
}

static struct arg *parse_operand(struct parser *p)
{
	struct tok *t = peek(p);
	struct arg *a = xalloc(sizeof(*a));

	a->off = t->off;
	switch (t->kind) {
	case T_DOT:
		a->kind = A_DOT;
		p->i++;
		break;
	case T_FIELD: /* .A.B: fields of dot */
		a->kind = A_DOT;
		a->fields = xalloc(sizeof(char *));
		a->fields[a->nfields++] = xstrndup(t->s, t->n);
		p->i++;
		break;
	case T_VAR:
		a->kind = A_VAR;
		a->s = xstrndup(t->s, t->n);
		p->i++;
		break;
	case T_STRING:
		a->kind = A_STRING;
		a->s = xalloc(t->n + 1);
		memcpy(a->s, t->s, t->n);
		a->n = t->n;
		p->i++;
		return a;
	case T_NUMBER: {
		char *end;
		int64_t v;
		double d;

		errno = 0;
		v = strtoll(t->s, &end, 0);
		if (!errno && !*end && end != t->s) {
			a->num = json_object_new_int64(v);
		} else {
			errno = 0;
			d = strtod(t->s, &end);
			if (errno || *end || end == t->s || d != d) {
				free(a);
				return perr(p, t->off, "bad number"), NULL;
			}
			a->num = json_object_new_double(d);
		}
		a->kind = A_NUMBER;
		p->i++;
		return a;
	}
	case T_IDENT:
		p->i++;
		if (!strcmp(t->s, "true") || !strcmp(t->s, "false")) {
			a->kind = A_BOOL;
			a->b = t->s[0] == 't';
		} else if (!strcmp(t->s, "nil")) {
			a->kind = A_NIL;
		} else {
			a->kind = A_IDENT;
			a->s = xstrndup(t->s, t->n);
		}
		return a;
	case T_LPAREN:
		if (++p->depth > TMPL_MAX_DEPTH) {
			free(a);
			return perr(p, t->off, "parentheses nested too deep"), NULL;
		}
		p->i++;
		a->kind = A_PIPE;
		a->pipe = parse_pipe(p, T_RPAREN, 0);
		p->depth--;
		if (!a->pipe) {
			free(a);
			return NULL;
		}
		p->i++; /* ')' */
		break;
	default: {
		char msg[96];
		snprintf(msg, sizeof(msg), "expected a value, found %s", tok_name(t));
		free(a);
		return perr(p, t->off, msg), NULL;
	}
	}
	parse_fields(p, a);
	return a;
}

static int is_keyword(const struct tok *t)
{
	static const char *const kw[] = {"if",     "range", "with",     "else",  "end",
	                                 "define", "block", "template", "break", "continue"};

	if (t->kind != T_IDENT)
		return 0;
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (!strcmp(t->s, kw[i]))
			return 1;
	return 0;
}

/* [$a[, $b] :=] command [| command]... up to (end) (not consumed). */
static struct pipe *parse_pipe(struct parser *p, enum tok_kind end, int decl_ok)
{
	struct pipe *pp = xalloc(sizeof(*pp));
	struct cmd **tail = &pp->cmds;
	size_t save = p->i;

	pp->off = peek(p)->off;
	if (peek(p)->kind == T_VAR) { /* a declaration? */
		int n = 0;
		char *names[2] = {NULL, NULL};
		while (peek(p)->kind == T_VAR && n < 2) {
			names[n++] = xstrndup(peek(p)->s, peek(p)->n);
			p->i++;
			if (peek(p)->kind != T_COMMA || decl_ok != 2)
				break;
			p->i++;
		}
		if ((peek(p)->kind == T_DECLARE || peek(p)->kind == T_ASSIGN) && decl_ok) {
			pp->assign = peek(p)->kind == T_ASSIGN;
			pp->ndecl = n;
			pp->decl[0] = names[0];
			pp->decl[1] = names[1];
			p->i++;
		} else {
			int bad = peek(p)->kind == T_DECLARE || peek(p)->kind == T_ASSIGN;
			free(names[0]);
			free(names[1]);
			if (bad) {
				perr(p, peek(p)->off, "a variable cannot be declared here");
				pipe_free(pp);
				return NULL;
			}
			p->i = save;
		}
	}
	for (;;) {
		struct cmd *c = xalloc(sizeof(*c));
		struct arg **atail = &c->args;

		*tail = c;
		tail = &c->next;
		c->off = peek(p)->off;
		while (peek(p)->kind != end && peek(p)->kind != T_PIPE) {
			if (peek(p)->kind == T_EOF || peek(p)->kind == T_RDELIM ||
			    peek(p)->kind == T_RPAREN) {
				char msg[96];
				snprintf(msg, sizeof(msg), "unexpected %s%s", tok_name(peek(p)),
				         end == T_RPAREN ? ": a '(' is not closed" : "");
				perr(p, peek(p)->off, msg);
				goto fail;
			}
			if (is_keyword(peek(p))) {
				char msg[96];
				snprintf(msg, sizeof(msg), "'%s' must start its own action",
				         peek(p)->s);
				perr(p, peek(p)->off, msg);
				goto fail;
			}
			if (c->args && !peek(p)->spaced && peek(p)->kind != T_RPAREN) {
				perr(p, peek(p)->off, "missing space between arguments");
				goto fail;
			}
			*atail = parse_operand(p);
			if (!*atail)
				goto fail;
			atail = &(*atail)->next;
		}
		if (!c->args) {
			perr(p, peek(p)->off,
			     pp->cmds == c && peek(p)->kind != T_PIPE
			             ? "missing value in an action"
			             : "missing command after '|'");
			goto fail;
		}
		if (peek(p)->kind == end)
			return pp;
		p->i++; /* '|' */
	}
fail:
	pipe_free(pp);
	return NULL;
}

/* A keyword's action: {{KW pipeline}} (the keyword already consumed). */
static struct pipe *parse_control_pipe(struct parser *p, int decl_ok)
{
	struct pipe *pp = parse_pipe(p, T_RDELIM, decl_ok);
	if (pp)
		p->i++;
	return pp;
}

enum stop { STOP_EOF, STOP_END, STOP_ELSE };

static struct node *parse_list(struct parser *p, enum stop *stop, size_t *stop_off);

/* {{if|range|with PIPE}} BODY [{{else [if|with ...]}} ALT] {{end}}; the keyword consumed. */
static struct node *parse_control(struct parser *p, enum node_kind kind, size_t off)
{
	struct node *n = xalloc(sizeof(*n));
	enum stop stop;
	size_t stop_off;

	n->kind = kind;
	n->off = off;
	if (++p->depth > TMPL_MAX_DEPTH) {
		perr(p, off, "blocks nested too deep");
		goto fail;
	}
	n->pipe = parse_control_pipe(p, kind == N_RANGE ? 2 : 1);
	if (!n->pipe)
		goto fail;
	n->body = parse_list(p, &stop, &stop_off);
	if (p->err->status)
		goto fail;
	if (stop == STOP_ELSE) {
		struct tok *t = peek(p);
		if (t->kind == T_IDENT && (!strcmp(t->s, "if") || !strcmp(t->s, "with")) &&
		    kind != N_RANGE) {
			/* {{else if X}}: a nested if sharing this one's {{end}} */
			p->i++;
			n->alt = parse_control(p, t->s[0] == 'i' ? N_IF : N_WITH, t->off);
			if (!n->alt)
				goto fail;
			p->depth--;
			return n;
		}
		if (t->kind != T_RDELIM) {
			perr(p, t->off, "expected '}}' after else");
			goto fail;
		}
		p->i++;
		n->alt = parse_list(p, &stop, &stop_off);
		if (p->err->status)
			goto fail;
		if (stop == STOP_ELSE) {
			perr(p, stop_off, "a second {{else}} in one block");
			goto fail;
		}
	}
	if (stop != STOP_END) {
		perr(p, off, "this block has no {{end}}");
		goto fail;
	}
	p->depth--;
	return n;
fail:
	nodes_free(n);
	return NULL;
}

static struct node *parse_list(struct parser *p, enum stop *stop, size_t *stop_off)
{
	struct node *head = NULL, **tail = &head;

	*stop = STOP_EOF;
	for (;;) {
		struct tok *t = peek(p);
		struct node *n = NULL;

		if (t->kind == T_EOF)
			return head;
		if (t->kind == T_TEXT) {
			n = xalloc(sizeof(*n));
			n->kind = N_TEXT;
			n->off = t->off;
			n->text = xalloc(t->n + 1);
			memcpy(n->text, t->s, t->n);
			n->n = t->n;
			p->i++;
		} else { /* T_LDELIM */
			struct tok *k = &p->t[++p->i];
			if (k->kind == T_IDENT && !strcmp(k->s, "end")) {
				p->i++;
				if (peek(p)->kind != T_RDELIM) {
					perr(p, peek(p)->off, "expected '}}' after end");
					break;
				}
				p->i++;
				*stop = STOP_END;
				*stop_off = k->off;
				return head;
			}
			if (k->kind == T_IDENT && !strcmp(k->s, "else")) {
				p->i++;
				*stop = STOP_ELSE;
				*stop_off = k->off;
				return head;
			}
			if (k->kind == T_IDENT && (!strcmp(k->s, "if") || !strcmp(k->s, "range") ||
			                           !strcmp(k->s, "with"))) {
				p->i++;
				n = parse_control(p,
				                  k->s[0] == 'i'   ? N_IF
				                  : k->s[0] == 'r' ? N_RANGE
				                                   : N_WITH,
				                  k->off);
			} else if (is_keyword(k)) {
				char msg[128];
				snprintf(msg, sizeof(msg),
				         "{{%s}} is not supported by uk's templates", k->s);
				perr(p, k->off, msg);
				break;
			} else {
				n = xalloc(sizeof(*n));
				n->kind = N_ACTION;
				n->off = k->off;
				n->pipe = parse_control_pipe(p, 1);
				if (!n->pipe) {
					free(n);
					n = NULL;
				}
			}
			if (!n)
				break;
		}
		*tail = n;
		tail = &n->next;
	}
	nodes_free(head);
	return NULL;
}

struct cli_tmpl *cli_tmpl_parse(const char *src, int flags, int col0, uk_err_t *err)
{
	struct lexer lx = {
	        .src = src, .len = strlen(src), .flags = flags, .col0 = col0, .err = err};
	struct parser p = {.src = src, .col0 = col0, .err = err};
	struct cli_tmpl *t = NULL;
	enum stop stop;
	size_t stop_off = 0;
	uk_err_t local = {0};

	if (!err)
		err = lx.err = p.err = &local;
	uk_err_clear(err);
	if (lex(&lx) == 0) {
		p.t = lx.toks;
		t = xalloc(sizeof(*t));
		t->src = xstrndup(src, lx.len);
		t->col0 = col0;
		t->root = parse_list(&p, &stop, &stop_off);
		if (!err->status && stop != STOP_EOF)
			perr(&p, stop_off,
			     stop == STOP_END ? "{{end}} without an if, range or with"
			                      : "{{else}} without an if, range or with");
		if (err->status) {
			cli_tmpl_free(t);
			t = NULL;
		}
	}
	for (size_t i = 0; i < lx.ntoks; i++)
		free(lx.toks[i].s);
	free(lx.toks);
	return t;
}

void cli_tmpl_free(struct cli_tmpl *t)
{
	if (!t)
		return;
	nodes_free(t->root);
	free(t->src);
	free(t);
}

/* --- running --- */

struct state {
	const struct cli_tmpl *t;
	FILE *out;
	uk_err_t *err;
	char *vname[TMPL_MAX_VARS];
	json_object *vval[TMPL_MAX_VARS];
	int nvars;
	unsigned long steps;
};

static int xerr(struct state *s, size_t off, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int xerr(struct state *s, size_t off, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tmpl_err(s->err, s->t->src, s->t->col0, off, "%s", msg);
}

static void vars_pop(struct state *s, int to)
{
	while (s->nvars > to) {
		s->nvars--;
		json_object_put(s->vval[s->nvars]);
	}
}

static int var_set(struct state *s, size_t off, const char *name, json_object *v, int assign)
{
	if (assign) {
		for (int i = s->nvars - 1; i >= 0; i--)
			if (!strcmp(s->vname[i], name)) {
				json_object_put(s->vval[i]);
				s->vval[i] = json_object_get(v);
				return 0;
			}
		return xerr(s, off, "undefined variable %s", name);
	}
	if (s->nvars == TMPL_MAX_VARS)
		return xerr(s, off, "too many variables");
	s->vname[s->nvars] = (char *)name;
	s->vval[s->nvars++] = json_object_get(v);
	return 0;
}

static int is_num(json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

static int truth(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return 0;
	case json_type_boolean:
		return json_object_get_boolean(v);
	case json_type_int:
		return json_object_get_int64(v) != 0;
	case json_type_double:
		return json_object_get_double(v) != 0;
	case json_type_string:
		return json_object_get_string_len(v) != 0;
	case json_type_array:
		return json_object_array_length(v) != 0;
	case json_type_object:
		return json_object_object_length(v) != 0;
	}
	return 0;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An object's keys, sorted (as Go ranges over and prints maps); the caller frees the array. */
static const char **sorted_keys(json_object *o, size_t *n)
{
	const char **k = xalloc((json_object_object_length(o) + 1) * sizeof(char *));

	*n = 0;
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		k[(*n)++] = key;
	}
	qsort(k, *n, sizeof(char *), cmp_keys);
	return k;
}

/* Go's %v of (v). */
static void print_value(FILE *out, json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		fputs("<no value>", out);
		break;
	case json_type_boolean:
		fputs(json_object_get_boolean(v) ? "true" : "false", out);
		break;
	case json_type_int:
		fprintf(out, "%" PRId64, json_object_get_int64(v));
		break;
	case json_type_double: {
		double d = json_object_get_double(v);
		char buf[64];
		for (int prec = 1; prec <= 17; prec++) { /* the shortest that reads back */
			snprintf(buf, sizeof(buf), "%.*g", prec, d);
			if (strtod(buf, NULL) == d)
				break;
		}
		fputs(buf, out);
		break;
	}
	case json_type_string:
		fwrite(json_object_get_string(v), 1, (size_t)json_object_get_string_len(v), out);
		break;
	case json_type_array:
		fputc('[', out);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			if (i)
				fputc(' ', out);
			print_value(out, json_object_array_get_idx(v, i));
		}
		fputc(']', out);
		break;
	case json_type_object: {
		size_t n;
		const char **k = sorted_keys(v, &n);
		fputs("map[", out);
		for (size_t i = 0; i < n; i++) {
			json_object *e = NULL;
			json_object_object_get_ex(v, k[i], &e);
			fprintf(out, "%s%s:", i ? " " : "", k[i]);
			print_value(out, e);
		}
		fputc(']', out);
		free(k);
		break;
	}
	}
}

/* (v) as Go's fmt.Sprint would print it, a new string value. */
static json_object *to_string_value(json_object *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	json_object *r;

	if (json_object_is_type(v, json_type_string))
		return json_object_get(v);
	f = open_memstream(&buf, &len);
	if (!f)
		abort();
	print_value(f, v);
	fclose(f);
	r = json_object_new_string_len(buf, (int)len);
	free(buf);
	return r;
}

static json_object *eval_pipe(struct state *s, struct pipe *p, json_object *dot, int *ok);

/* The field (name) of (v); -1 after the error. */
static int get_field(struct state *s, size_t off, json_object *v, const char *name,
                     json_object **out)
{
	if (!json_object_is_type(v, json_type_object)) {
		if (!v)
			return xerr(s, off, "can't read field %s of <no value>", name);
		return xerr(s, off, "can't read field %s of a %s", name,
		            json_type_to_name(json_object_get_type(v)));
	}
	if (!json_object_object_get_ex(v, name, out)) {
		char fields[512] = "";
		size_t n, used = 0;
		const char **k = sorted_keys(v, &n);

		for (size_t i = 0; i < n && used < sizeof(fields) - 1; i++)
			used += (size_t)snprintf(fields + used, sizeof(fields) - used, "%s%s",
			                         i ? ", " : "", k[i]);
		free(k);
		return xerr(s, off, "no field %s here (fields: %s)", name, n ? fields : "none");
	}
	json_object_get(*out);
	return 0;
}

/* An argument's value (owned); *(ok) cleared on error. */
static json_object *eval_arg(struct state *s, struct arg *a, json_object *dot, int *ok)
{
	json_object *v = NULL;

	switch (a->kind) {
	case A_DOT:
		v = json_object_get(dot);
		break;
	case A_VAR: {
		int i;
		if (!strcmp(a->s, "$")) {
			v = json_object_get(s->vval[0]);
			break;
		}
		for (i = s->nvars - 1; i >= 0; i--)
			if (!strcmp(s->vname[i], a->s))
				break;
		if (i < 0) {
			*ok = 0;
			return xerr(s, a->off, "undefined variable %s", a->s), NULL;
		}
		v = json_object_get(s->vval[i]);
		break;
	}
	case A_STRING:
		return json_object_new_string_len(a->s, (int)a->n);
	case A_NUMBER:
		return json_object_get(a->num);
	case A_BOOL:
		return json_object_new_boolean(a->b);
	case A_NIL:
		return NULL;
	case A_PIPE:
		v = eval_pipe(s, a->pipe, dot, ok);
		if (!*ok)
			return NULL;
		break;
	case A_IDENT:
		*ok = 0;
		return xerr(s, a->off, "%s is a function: call it first in an action or after '|'",
		            a->s),
		       NULL;
	}
	for (size_t i = 0; i < a->nfields; i++) {
		json_object *f;
		if (get_field(s, a->off, v, a->fields[i], &f) < 0) {
			json_object_put(v);
			*ok = 0;
			return NULL;
		}
		json_object_put(v);
		v = f;
	}
	return v;
}

/* eq's comparison: numbers by value, everything else by type and printed form. */
static int values_cmp(json_object *a, json_object *b, int *comparable)
{
	*comparable = 1;
	if (is_num(a) && is_num(b)) {
		if (json_object_is_type(a, json_type_int) &&
		    json_object_is_type(b, json_type_int)) {
			int64_t x = json_object_get_int64(a), y = json_object_get_int64(b);
			return x < y ? -1 : x > y;
		}
		double x = json_object_get_double(a), y = json_object_get_double(b);
		return x < y ? -1 : x > y;
	}
	if (json_object_get_type(a) != json_object_get_type(b)) {
		*comparable = 0;
		return 1;
	}
	if (json_object_is_type(a, json_type_string))
		return strcmp(json_object_get_string(a), json_object_get_string(b));
	if (json_object_is_type(a, json_type_boolean))
		return json_object_get_boolean(a) - json_object_get_boolean(b);
	if (!a)
		return 0;
	*comparable = 0;
	return json_object_equal(a, b) ? 0 : 1;
}

/* printf's verbs: %s %v %d %q %%, flags '-', width. */
static json_object *fn_printf(struct state *s, size_t off, json_object **argv, int argc, int *ok)
{
	const char *f;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int next = 1;
	json_object *r;

	if (argc < 1 || !json_object_is_type(argv[0], json_type_string)) {
		*ok = 0;
		return xerr(s, off, "printf needs a format string first"), NULL;
	}
	out = open_memstream(&buf, &len);
	if (!out)
		abort();
	for (f = json_object_get_string(argv[0]); *f; f++) {
		int left = 0, width = 0;
		char *cell = NULL;
		size_t clen = 0;
		FILE *c;

		if (*f != '%') {
			fputc(*f, out);
			continue;
		}
		f++;
		if (*f == '%') {
			fputc('%', out);
			continue;
		}
		if (*f == '-') {
			left = 1;
			f++;
		}
		while (isdigit((unsigned char)*f) && width < 1000)
			width = width * 10 + (*f++ - '0');
		if (!*f || !strchr("svdq", *f)) {
			fprintf(out, "%%!%c(NOVERB)", *f ? *f : '?');
			if (!*f)
				break;
			continue;
		}
		if (next >= argc) {
			fprintf(out, "%%!%c(MISSING)", *f);
			continue;
		}
		c = open_memstream(&cell, &clen);
		if (!c)
			abort();
		if (*f == 'q') {
			json_object *sv = to_string_value(argv[next]);
			fputs(json_object_to_json_string_ext(
			              sv, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			      c);
			json_object_put(sv);
		} else if (*f == 'd' && !json_object_is_type(argv[next], json_type_int))
			fprintf(c, "%%!d(%s)", json_type_to_name(json_object_get_type(argv[next])));
		else
			print_value(c, argv[next]);
		fclose(c);
		next++;
		fprintf(out, left ? "%-*s" : "%*s", width, cell);
		free(cell);
	}
	fclose(out);
	r = json_object_new_string_len(buf, (int)len);
	free(buf);
	return r;
}

/* A function call; (argv) owned by the caller. */
static json_object *call(struct state *s, struct arg *fn, json_object **argv, int argc, int *ok)
{
	const char *name = fn->s;
	size_t off = fn->off;

#define NEED(n)                                                                          \
	do {                                                                             \
		if (argc != (n)) {                                                       \
			*ok = 0;                                                         \
			return xerr(s, off, "%s takes %d argument%s, got %d", name, (n), \
			            (n) == 1 ? "" : "s", argc),                          \
			       NULL;                                                     \
		}                                                                        \
	} while (0)

	if (!strcmp(name, "json")) {
		NEED(1);
		return json_object_new_string(json_object_to_json_string_ext(
		        argv[0], JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	if (!strcmp(name, "upper") || !strcmp(name, "lower") || !strcmp(name, "title")) {
		json_object *sv;
		char *d;
		NEED(1);
		sv = to_string_value(argv[0]);
		d = xstrndup(json_object_get_string(sv), (size_t)json_object_get_string_len(sv));
		for (int i = 0, word = 1; i < json_object_get_string_len(sv); i++) {
			unsigned char c = (unsigned char)d[i];
			if (name[0] == 'u' || (name[0] == 't' && word))
				d[i] = (char)toupper(c);
			else if (name[0] == 'l')
				d[i] = (char)tolower(c);
			word = !isalnum(c);
		}
		json_object_put(sv);
		sv = json_object_new_string(d);
		free(d);
		return sv;
	}
	if (!strcmp(name, "index")) {
		json_object *v;
		if (argc < 1) {
			*ok = 0;
			return xerr(s, off, "index needs a value"), NULL;
		}
		v = json_object_get(argv[0]);
		for (int i = 1; i < argc; i++) {
			json_object *e = NULL;
			if (json_object_is_type(v, json_type_object) &&
			    json_object_is_type(argv[i], json_type_string)) {
				if (!json_object_object_get_ex(v, json_object_get_string(argv[i]),
				                               &e))
					e = json_object_new_string(
					        ""); /* a missing key: the zero value */
				else
					json_object_get(e);
			} else if (json_object_is_type(v, json_type_array) &&
			           json_object_is_type(argv[i], json_type_int)) {
				int64_t k = json_object_get_int64(argv[i]);
				if (k < 0 || (size_t)k >= json_object_array_length(v)) {
					json_object_put(v);
					*ok = 0;
					return xerr(s, off,
					            "index %" PRId64 " out of range (length %zu)",
					            k, json_object_array_length(v)),
					       NULL;
				}
				e = json_object_get(json_object_array_get_idx(v, (size_t)k));
			} else {
				int t = json_object_get_type(v);
				json_object_put(v);
				*ok = 0;
				return xerr(s, off, "can't index a %s with a %s",
				            json_type_to_name(t),
				            json_type_to_name(json_object_get_type(argv[i]))),
				       NULL;
			}
			json_object_put(v);
			v = e;
		}
		return v;
	}
	if (!strcmp(name, "len")) {
		NEED(1);
		if (json_object_is_type(argv[0], json_type_array))
			return json_object_new_int64((int64_t)json_object_array_length(argv[0]));
		if (json_object_is_type(argv[0], json_type_object))
			return json_object_new_int64(json_object_object_length(argv[0]));
		if (json_object_is_type(argv[0], json_type_string))
			return json_object_new_int64(json_object_get_string_len(argv[0]));
		*ok = 0;
		return xerr(s, off, "len of a %s",
		            json_type_to_name(json_object_get_type(argv[0]))),
		       NULL;
	}
	if (!strcmp(name, "join")) {
		json_object *r = json_object_new_string(""), *sep;
		NEED(2);
		if (!json_object_is_type(argv[0], json_type_array)) {
			json_object_put(r);
			return to_string_value(argv[0]);
		}
		sep = to_string_value(argv[1]);
		for (size_t i = 0; i < json_object_array_length(argv[0]); i++) {
			json_object *e = to_string_value(json_object_array_get_idx(argv[0], i));
			char *cat = NULL;
			if (asprintf(&cat, "%s%s%s", json_object_get_string(r),
			             i ? json_object_get_string(sep) : "",
			             json_object_get_string(e)) < 0)
				abort();
			json_object_put(e);
			json_object_put(r);
			r = json_object_new_string(cat);
			free(cat);
		}
		json_object_put(sep);
		return r;
	}
	if (!strcmp(name, "split")) {
		json_object *r, *sv, *sep;
		const char *p, *q, *sp;
		size_t seplen;
		NEED(2); /* before the array: a wrong count returns at once */
		r = json_object_new_array();
		sv = to_string_value(argv[0]);
		sep = to_string_value(argv[1]);
		sp = json_object_get_string(sep);
		seplen = strlen(sp);
		for (p = json_object_get_string(sv);; p = q + seplen) {
			q = seplen ? strstr(p, sp) : NULL;
			if (!q) {
				json_object_array_add(r, json_object_new_string(p));
				break;
			}
			json_object_array_add(r, json_object_new_string_len(p, (int)(q - p)));
		}
		json_object_put(sv);
		json_object_put(sep);
		return r;
	}
	if (!strcmp(name, "truncate")) {
		json_object *sv, *r;
		int64_t n;
		NEED(2);
		if (!json_object_is_type(argv[1], json_type_int) ||
		    (n = json_object_get_int64(argv[1])) < 0) {
			*ok = 0;
			return xerr(s, off, "truncate needs a length"), NULL;
		}
		sv = to_string_value(argv[0]);
		r = json_object_new_string_len(json_object_get_string(sv),
		                               n < json_object_get_string_len(sv)
		                                       ? (int)n
		                                       : json_object_get_string_len(sv));
		json_object_put(sv);
		return r;
	}
	if (!strcmp(name, "print") || !strcmp(name, "println")) {
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);
		json_object *r;
		if (!out)
			abort();
		for (int i = 0; i < argc; i++) {
			/* Sprint: a space between operands when neither is a string */
			if (i && (name[5] == 'l' ||
			          (!json_object_is_type(argv[i - 1], json_type_string) &&
			           !json_object_is_type(argv[i], json_type_string))))
				fputc(' ', out);
			print_value(out, argv[i]);
		}
		if (name[5] == 'l')
			fputc('\n', out);
		fclose(out);
		r = json_object_new_string_len(buf, (int)len);
		free(buf);
		return r;
	}
	if (!strcmp(name, "printf"))
		return fn_printf(s, off, argv, argc, ok);
	if (!strcmp(name, "not")) {
		NEED(1);
		return json_object_new_boolean(!truth(argv[0]));
	}
	if (!strcmp(name, "and") || !strcmp(name, "or")) {
		int i;
		if (argc < 1) {
			*ok = 0;
			return xerr(s, off, "%s needs arguments", name), NULL;
		}
		for (i = 0; i < argc - 1; i++)
			if (truth(argv[i]) == (name[0] == 'o'))
				break;
		return json_object_get(argv[i]);
	}
	if (!strcmp(name, "eq") || !strcmp(name, "ne") || !strcmp(name, "lt") ||
	    !strcmp(name, "le") || !strcmp(name, "gt") || !strcmp(name, "ge")) {
		int comparable, c = 1, r;
		if (argc < 2 || (strcmp(name, "eq") && argc != 2)) {
			*ok = 0;
			return xerr(s, off, "%s needs two arguments", name), NULL;
		}
		if (!strcmp(name, "eq")) { /* eq a b c: a equals any of b, c */
			for (int i = 1; i < argc && c; i++)
				c = values_cmp(argv[0], argv[i], &comparable) != 0;
			return json_object_new_boolean(!c);
		}
		c = values_cmp(argv[0], argv[1], &comparable);
		if (!comparable && strcmp(name, "ne")) {
			*ok = 0;
			return xerr(s, off, "%s can't compare a %s with a %s", name,
			            json_type_to_name(json_object_get_type(argv[0])),
			            json_type_to_name(json_object_get_type(argv[1]))),
			       NULL;
		}
		r = name[0] == 'n'   ? c != 0
		    : name[0] == 'l' ? (name[1] == 't' ? c < 0 : c <= 0)
		                     : (name[1] == 't' ? c > 0 : c >= 0);
		return json_object_new_boolean(r);
	}
#undef NEED
	*ok = 0;
	return xerr(s, off,
	            "function %s not defined (uk has json, upper, lower, title, index, len, join, "
	            "split, truncate, print, println, printf, eq, ne, lt, le, gt, ge, not, and, "
	            "or)",
	            name),
	       NULL;
}

/* One command; (piped) is the previous command's value (owned, NULL for none) or absent. */
static json_object *eval_cmd(struct state *s, struct cmd *c, json_object *dot, json_object *piped,
                             int has_piped, int *ok)
{
	json_object *argv[32], *r = NULL;
	int argc = 0;
	struct arg *a;

	if (c->args->kind != A_IDENT) {
		if (c->args->next || has_piped) {
			json_object_put(piped);
			*ok = 0;
			return xerr(s, c->args->next ? c->args->next->off : c->off,
			            "only a function takes arguments (this is a value)"),
			       NULL;
		}
		return eval_arg(s, c->args, dot, ok);
	}
	for (a = c->args->next; a; a = a->next) {
		if (argc == 31) {
			*ok = 0;
			xerr(s, a->off, "too many arguments");
			r = NULL;
			goto out;
		}
		argv[argc++] = eval_arg(s, a, dot, ok);
		if (!*ok)
			goto out;
	}
	if (has_piped) {
		argv[argc++] = piped;
		piped = NULL;
	}
	r = call(s, c->args, argv, argc, ok);
out:
	json_object_put(piped);
	while (argc)
		json_object_put(argv[--argc]);
	return *ok ? r : NULL;
}

static json_object *eval_pipe(struct state *s, struct pipe *p, json_object *dot, int *ok)
{
	json_object *v = NULL;
	int first = 1;

	for (struct cmd *c = p->cmds; c; c = c->next) {
		v = eval_cmd(s, c, dot, v, !first, ok);
		if (!*ok)
			return NULL;
		first = 0;
	}
	return v;
}

/* Runs a pipe and declares its variables: the value (owned) or NULL with *(ok) cleared. */
static json_object *run_pipe_decl(struct state *s, struct pipe *p, json_object *dot, int *ok)
{
	json_object *v = eval_pipe(s, p, dot, ok);

	if (*ok && p->ndecl == 1 && var_set(s, p->off, p->decl[0], v, p->assign) < 0)
		*ok = 0;
	if (!*ok) {
		json_object_put(v);
		return NULL;
	}
	return v;
}

static int run_list(struct state *s, struct node *n, json_object *dot);

/* One turn of a range: $k (owned, consumed) and $v declared, the body run on (e). */
static int range_step(struct state *s, struct node *n, json_object *k, json_object *e)
{
	struct pipe *p = n->pipe;
	int base = s->nvars, r = 0;

	if (p->ndecl == 2)
		var_set(s, p->off, p->decl[0], k, 0);
	json_object_put(k);
	if (p->ndecl && var_set(s, p->off, p->decl[p->ndecl - 1], e, 0) < 0)
		r = -1;
	if (r == 0)
		r = run_list(s, n->body, e);
	vars_pop(s, base);
	return r;
}

static int run_range(struct state *s, struct node *n, json_object *dot)
{
	int ok = 1, r = 0;
	json_object *v = eval_pipe(s, n->pipe, dot, &ok);
	size_t count = 0;

	if (!ok)
		return -1;
	if (json_object_is_type(v, json_type_array)) {
		count = json_object_array_length(v);
		for (size_t i = 0; i < count && r == 0; i++)
			r = range_step(s, n, json_object_new_int64((int64_t)i),
			               json_object_array_get_idx(v, i));
	} else if (json_object_is_type(v, json_type_object)) {
		const char **keys = sorted_keys(v, &count);
		for (size_t i = 0; i < count && r == 0; i++) {
			json_object *e = NULL;
			json_object_object_get_ex(v, keys[i], &e);
			r = range_step(s, n, json_object_new_string(keys[i]), e);
		}
		free(keys);
	} else if (v) {
		r = xerr(s, n->off, "range can't iterate over a %s",
		         json_type_to_name(json_object_get_type(v)));
	}
	if (r == 0 && count == 0)
		r = run_list(s, n->alt, dot);
	json_object_put(v);
	return r;
}

static int run_list(struct state *s, struct node *n, json_object *dot)
{
	for (; n; n = n->next) {
		int ok = 1, base = s->nvars, r = 0;
		json_object *v;

		if (++s->steps > TMPL_MAX_STEPS)
			return xerr(s, n->off, "the template runs too long (over %lu steps)",
			            TMPL_MAX_STEPS);
		switch (n->kind) {
		case N_TEXT:
			fwrite(n->text, 1, n->n, s->out);
			continue;
		case N_ACTION:
			v = run_pipe_decl(s, n->pipe, dot, &ok);
			if (!ok)
				return -1;
			if (!n->pipe->ndecl)
				print_value(s->out, v);
			json_object_put(v);
			continue; /* a declaration lives to the end of the enclosing block */
		case N_IF:
		case N_WITH:
			v = run_pipe_decl(s, n->pipe, dot, &ok);
			if (!ok)
				return -1;
			if (truth(v))
				r = run_list(s, n->body, n->kind == N_WITH ? v : dot);
			else
				r = run_list(s, n->alt, dot);
			json_object_put(v);
			break;
		case N_RANGE:
			r = run_range(s, n, dot);
			break;
		}
		vars_pop(s, base);
		if (r < 0)
			return -1;
	}
	return 0;
}

int cli_tmpl_exec(const struct cli_tmpl *t, json_object *dot, FILE *out, uk_err_t *err)
{
	uk_err_t local = {0};
	struct state s = {.t = t, .out = out, .err = err ? err : &local};
	int r;

	var_set(&s, 0, "$", dot, 0);
	r = run_list(&s, t->root, dot);
	vars_pop(&s, 0);
	return r;
}
