/* Helpers every uk command uses: option parsing, messages, tables, human times and sizes. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "uk/time.h"

uk_client_t *cli_client(struct cli *cli)
{
	uk_err_t err = {0};

	if (!cli->client) {
		cli->client = cli_new_client(cli, &err);
		if (!cli->client)
			cli_fail(&err);
	}
	return cli->client;
}

uk_client_t *cli_connect(struct cli *cli, uk_err_t *err)
{
	if (!cli->client)
		cli->client = cli_new_client(cli, err);
	return cli->client;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("uk: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_fail(const uk_err_t *err)
{
	cli_warn("%s", err->message[0] ? err->message : "unknown error");
	return CLI_EXIT_FAIL;
}

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "uk %s: ", cli->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nSee 'uk %s --help'.\n", cli->cmd);
	return CLI_EXIT_USAGE;
}

int cli_help(const struct cli_cmd *cmd)
{
	fputs(cmd->help, stdout);
	return 0;
}

int cli_set_format(struct cli *cli, const char *fmt)
{
	uk_err_t err = {0};
	size_t skip = 0;

	cli_tmpl_free(cli->tmpl);
	cli->tmpl = NULL;
	cli->json = cli->tmpl_table = 0;
	if (strcmp(fmt, "json") == 0) {
		cli->json = 1;
		return 0;
	}
	if (strcmp(fmt, "table") == 0)
		return 0;
	/* Docker: "table..." starts a table; spaces around the template are dropped */
	if (strncmp(fmt, "table", 5) == 0) {
		cli->tmpl_table = 1;
		skip = 5;
	}
	skip += strspn(fmt + skip, " ");
	_cleanup_free_ char *text = cli_sprintf("%s", fmt + skip);
	for (size_t n = strlen(text); n && text[n - 1] == ' '; n--)
		text[n - 1] = '\0';
	if (!strstr(text, "{{"))
		return cli_usage_error(cli,
		                       "bad --format '%s': expected table, json or a Go template "
		                       "such as '{{.Names}}'",
		                       fmt),
		       -1;
	if (!cli->templates && strcmp(cli->cmd, "uk"))
		return cli_templates_refused(cli), -1;
	cli->tmpl = cli_tmpl_parse(text, CLI_TMPL_ESCAPES, (int)skip, &err);
	if (!cli->tmpl)
		return cli_usage_error(cli, "bad --format: %s", err.message), -1;
	return 0;
}

const char *cli_long_typed(char **argv, const struct option *o)
{
	const char *a = argv[optind - 1];
	size_t n = strlen(o->name);

	if (o->has_arg == required_argument && optarg == a && optind >= 2)
		a = argv[optind - 2];
	if (!strncmp(a, "--", 2) && !strncmp(a + 2, o->name, n) && (!a[2 + n] || a[2 + n] == '='))
		return NULL;
	return a;
}

int cli_getopt(struct cli *cli, int argc, char **argv, const char *shortopts,
               const struct option *longopts)
{
	struct option all[32];
	char shorts[64];
	size_t n = 0;
	int c;

	while (longopts && longopts[n].name && n < 29) {
		all[n] = longopts[n];
		n++;
	}
	all[n++] = (struct option){"help", no_argument, NULL, 'h'};
	all[n++] = (struct option){"format", required_argument, NULL, 0x100};
	all[n] = (struct option){NULL, 0, NULL, 0};
	/* ':' first: a missing value is reported as such, not as an unknown option */
	if (shortopts[0] == '+')
		snprintf(shorts, sizeof(shorts), "+:%sh", shortopts + 1);
	else
		snprintf(shorts, sizeof(shorts), ":%sh", shortopts);
	opterr = 0;
	for (;;) {
		int idx = -1;

		c = getopt_long(argc, argv, shorts, all, &idx);
		/* getopt_long takes a prefix (--al for --all); Docker's CLI does not */
		const char *typed =
		        idx >= 0 && c != '?' && c != ':' ? cli_long_typed(argv, &all[idx]) : NULL;
		if (typed) {
			cli_usage_error(cli, "unknown option '%.*s'", (int)strcspn(typed, "="),
			                typed);
			return '?';
		}
		if (c == 0x100) {
			if (cli_set_format(cli, optarg) < 0)
				return '?';
			continue;
		}
		break;
	}
	if (c == '?' || c == ':') {
		const char *what = optind > 0 && optind <= argc ? argv[optind - 1] : "";
		int is_long = strncmp(what, "--", 2) == 0 && (c == ':' || optopt == 0);
		int len = is_long ? (int)strcspn(what, "=") : 0;
		char shortflag[3] = {'-', (char)optopt, '\0'};
		const char *why = c == '?' ? cli_docker_flag(cli->cmd, is_long ? what : shortflag,
		                                             is_long ? (size_t)len : 2)
		                           : NULL;

		if (why)
			cli_usage_error(cli, "%s does not apply: %s", is_long ? what : shortflag,
			                why);
		else if (c == '?' && !is_long && !strncmp(what, "--", 2) && strchr(what, '='))
			cli_usage_error(cli, "option '%.*s' takes no value",
			                (int)strcspn(what, "="), what);
		else if (c == ':' && is_long)
			cli_usage_error(cli, "option '%.*s' needs a value", len, what);
		else if (c == ':')
			cli_usage_error(cli, "option '-%c' needs a value", optopt);
		else if (is_long)
			cli_usage_error(cli, "unknown option '%.*s'", len, what);
		else
			cli_usage_error(cli, "unknown option '-%c'", optopt);
		return '?';
	}
	return c;
}

void cli_print_json(const json_object *obj)
{
	puts(json_object_to_json_string_ext((json_object *)obj,
	                                    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                            JSON_C_TO_STRING_NOSLASHESCAPE));
}

const char *cli_jstr(json_object *obj, const char *key)
{
	json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
		return "";
	return json_object_get_string(v);
}

int64_t cli_jint(json_object *obj, const char *key, int64_t dflt)
{
	json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
		return dflt;
	return json_object_get_int64(v);
}

int cli_jbool(json_object *obj, const char *key)
{
	json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	return json_object_get_boolean(v);
}

/* tables */

struct cli_table {
	int ncols;
	size_t nrows, cap;
	char **cells; /* nrows x ncols; row 0 is the header */
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		cli_warn("out of memory");
		exit(CLI_EXIT_FAIL);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d) {
		cli_warn("out of memory");
		exit(CLI_EXIT_FAIL);
	}
	return d;
}

static void table_vrow(struct cli_table *t, va_list ap)
{
	int i;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof(char *));
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = xstrdup(va_arg(ap, const char *));
	t->nrows++;
}

struct cli_table *cli_table_new(int ncols, ...)
{
	struct cli_table *t = xrealloc(NULL, sizeof(*t));
	va_list ap;

	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	va_start(ap, ncols);
	table_vrow(t, ap);
	va_end(ap);
	return t;
}

void cli_table_row(struct cli_table *t, ...)
{
	va_list ap;

	va_start(ap, t);
	table_vrow(t, ap);
	va_end(ap);
}

/* Display width of UTF-8 text: count code points, not bytes. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void cli_table_print(struct cli_table *t, FILE *out)
{
	size_t width[32] = {0}, r;
	int i;

	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols && i < 32; i++) {
			size_t w = text_width(t->cells[r * t->ncols + i]);
			if (w > width[i])
				width[i] = w;
		}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			const char *cell = t->cells[r * t->ncols + i];
			if (i == t->ncols - 1) {
				fprintf(out, "%s\n", cell);
			} else {
				fputs(cell, out);
				for (size_t k = text_width(cell); k < width[i] + 3; k++)
					fputc(' ', out);
			}
		}
	}
}

void cli_table_free(struct cli_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* human output */

void cli_human_duration(double seconds, char *buf, size_t len)
{
	double s = seconds, hours;
	long h;

	if (s < 1) {
		snprintf(buf, len, "Less than a second");
		return;
	}
	if ((long)s == 1) {
		snprintf(buf, len, "1 second");
		return;
	}
	if (s < 60) {
		snprintf(buf, len, "%ld seconds", (long)s);
		return;
	}
	if ((long)(s / 60) == 1) {
		snprintf(buf, len, "About a minute");
		return;
	}
	if (s / 60 < 60) {
		snprintf(buf, len, "%ld minutes", (long)(s / 60));
		return;
	}
	hours = s / 3600;
	h = lround(hours);
	if (h == 1)
		snprintf(buf, len, "About an hour");
	else if (h < 48)
		snprintf(buf, len, "%ld hours", h);
	else if (h < 24 * 7 * 2)
		snprintf(buf, len, "%ld days", h / 24);
	else if (h < 24 * 30 * 2)
		snprintf(buf, len, "%ld weeks", h / 24 / 7);
	else if (h < 24 * 365 * 2)
		snprintf(buf, len, "%ld months", h / 24 / 30);
	else
		snprintf(buf, len, "%ld years", h / 24 / 365);
}

static double now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void cli_human_since(double when, char *buf, size_t len)
{
	char d[64];
	double ago;

	if (when <= 0) {
		snprintf(buf, len, "N/A");
		return;
	}
	ago = now_unix() - when;
	cli_human_duration(ago < 0 ? 0 : ago, d, sizeof(d));
	snprintf(buf, len, "%s ago", d);
}

void cli_human_size(double bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	int u = 0;

	while (bytes >= 1000 && u < 5) {
		bytes /= 1000;
		u++;
	}
	snprintf(buf, len, "%.3g%s", bytes, units[u]);
}

double cli_parse_rfc3339(const char *s)
{
	double t;

	return uk_time_parse_rfc3339(s, &t) < 0 ? -1 : t;
}

/* "1h30m", "10m", "45s", "2.5h" */
static int parse_duration(const char *s, double *out)
{
	double total = 0;
	char *end;

	if (!*s)
		return -1;
	while (*s) {
		double v;
		errno = 0;
		v = strtod(s, &end);
		if (errno || end == s || v < 0)
			return -1;
		switch (*end) {
		case 'h':
			v *= 3600;
			break;
		case 'm':
			if (end[1] == 's') {
				v /= 1000;
				end++;
			} else {
				v *= 60;
			}
			break;
		case 's':
			break;
		default:
			return -1;
		}
		total += v;
		s = end + 1;
	}
	*out = total;
	return 0;
}

int cli_parse_time(const char *s, double *out, uk_err_t *err)
{
	char *end;
	double v, d;

	errno = 0;
	v = strtod(s, &end);
	if (!errno && end != s && !*end && v >= 0 && isdigit((unsigned char)s[0])) {
		*out = v;
		return 0;
	}
	v = cli_parse_rfc3339(s);
	if (v >= 0) {
		*out = v;
		return 0;
	}
	if (parse_duration(s, &d) == 0) {
		*out = now_unix() - d;
		return 0;
	}
	return uk_err_bad(err,
	                  "bad time '%s': expected unix seconds, RFC 3339 "
	                  "(2026-11-26T21:00:00Z) or a duration (10m, 1h30m)",
	                  s);
}

int cli_parse_memory(const char *s, int64_t *out, uk_err_t *err)
{
	char *end;
	double v, mult = 1;
	size_t n;
	char unit;

	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		goto bad;
	v = strtod(s, &end);
	if (errno || end == s || v < 0 || strspn(s, "0123456789.") != (size_t)(end - s))
		goto bad; /* no hex, exponents, inf or nan */
	n = strlen(end);
	if (n > 2)
		goto bad;
	if (n == 2 && tolower((unsigned char)end[1]) != 'b')
		goto bad;
	unit = (char)tolower((unsigned char)end[0]);
	switch (unit) {
	case '\0':
	case 'b':
		if (n == 2)
			goto bad;
		break;
	case 'k':
		mult = 1024.0;
		break;
	case 'm':
		mult = 1024.0 * 1024;
		break;
	case 'g':
		mult = 1024.0 * 1024 * 1024;
		break;
	case 't':
		mult = 1024.0 * 1024 * 1024 * 1024;
		break;
	default:
		goto bad;
	}
	v *= mult;
	if (v >= 9.2e18 || v != v)
		goto bad;
	*out = (int64_t)v;
	return 0;
bad:
	return uk_err_bad(err,
	                  "bad memory size '%s': expected a number of bytes or a number "
	                  "with a unit b, k, m, g or t (16m, 1g)",
	                  s);
}

char *cli_escape(const char *s)
{
	char *e = uk_client_escape(s);
	if (!e) {
		cli_warn("out of memory");
		exit(CLI_EXIT_FAIL);
	}
	return e;
}

char *cli_sprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		cli_warn("out of memory");
		exit(CLI_EXIT_FAIL);
	}
	return s;
}

char *cli_path(const char *collection, const char *ref, const char *suffix)
{
	_cleanup_free_ char *e = cli_escape(ref);

	return cli_sprintf("/v1/%s/%s%s", collection, e, suffix ? suffix : "");
}

#define CLI_SLOW_MS 2000

/* A start with no answer for 2 s: say what it waits for (ukd's /v1/info knows a probe). */
static void cli_start_slow(uk_client_t *c, void *ud)
{
	json_object *info = NULL, *backend = NULL;
	uk_err_t err = {0};

	if (uk_client_call(c, "GET", "/v1/info", NULL, NULL, &info, &err) == 0)
		json_object_object_get_ex(info, "backend", &backend);
	if (!strcmp(cli_jstr(backend, "probe"), "probing"))
		cli_warn("waiting for libvirt to probe QEMU (first start on this machine)…");
	else /* an instance id is shown short, as everywhere */
		cli_warn("waiting for libvirt to start %s for %.*s…",
		         !strncmp(cli_jstr(backend, "hypervisor"), "Xen", 3) ? "the Xen domain"
		                                                             : "QEMU",
		         strlen(ud) == 64 ? 12 : (int)strlen(ud), (const char *)ud);
	json_object_put(info);
}

int cli_start_instance(struct cli *cli, const char *ref, uk_err_t *err)
{
	_cleanup_free_ char *path = cli_path("instances", ref, "/start");
	int r;

	uk_client_set_slow(cli->client, CLI_SLOW_MS, cli_start_slow, (void *)ref);
	r = uk_client_call(cli->client, "POST", path, NULL, NULL, NULL, err);
	uk_client_set_slow(cli->client, 0, NULL, NULL);
	return r;
}

int cli_tar_input(struct cli *cli, const char *what, const char *in, uk_body_t *body)
{
	struct stat st;
	int fd = STDIN_FILENO;

	if (!in && isatty(STDIN_FILENO))
		return -cli_usage_error(cli, "refusing to read a tar archive from a terminal: "
		                             "use -i FILE or redirect standard input");
	if (in && (fd = open(in, O_RDONLY | O_CLOEXEC)) < 0) {
		cli_warn("%s: open %s: %s", what, in, strerror(errno));
		return -CLI_EXIT_FAIL;
	}
	if (!cli_client(cli)) {
		if (in)
			close(fd);
		return -CLI_EXIT_FAIL;
	}
	*body = UK_BODY_FD(fd, -1, "application/x-tar");
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		body->size = st.st_size - lseek(fd, 0, SEEK_CUR);
	return fd;
}

int cli_templates_refused(struct cli *cli)
{
	return cli_usage_error(cli, "--format takes table or json here (templates work on ps, "
	                            "images, inspect, stats, system df, network ls|inspect and "
	                            "volume ls|inspect)");
}

int cli_run_sub(struct cli *cli, const struct cli_cmd *cmd, const struct cli_sub *subs, size_t n,
                int argc, char **argv)
{
	char names[512] = "", words[512] = "";

	for (size_t i = 0; i < n; i++) {
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
		         i ? ", " : "", subs[i].name);
		snprintf(words + strlen(words), sizeof(words) - strlen(words), " %s", subs[i].name);
	}
	if (argc < 2)
		return cli_usage_error(cli, "needs a subcommand: %s", names);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		/* the last line: what the bash completion offers after 'uk GROUP' */
		printf("%s\nSubcommands:%s\n", cmd->help, words);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[1], subs[i].name))
			continue;
		static char name[64]; /* "GROUP SUB": one subcommand runs per process */
		snprintf(name, sizeof(name), "%s %s", cmd->name, subs[i].name);
		cli->cmd = name;
		cli->templates = subs[i].cmd ? subs[i].cmd->templates : subs[i].templates;
		/* the global --format, parsed before the group knew its subcommand */
		if (cli->tmpl && !cli->templates)
			return cli_templates_refused(cli);
		optind = 0;
		return subs[i].cmd ? subs[i].cmd->run(cli, argc - 1, argv + 1)
		                   : subs[i].run(cli, argc - 1, argv + 1);
	}
	if (argv[1][0] == '-')
		return cli_usage_error(cli, "unknown option '%s' (a subcommand comes first: %s)",
		                       argv[1], names);
	return cli_usage_error(cli, "'%s' is not a subcommand of uk %s (%s)", argv[1], cmd->name,
	                       names);
}

int cli_filter_add(struct cli *cli, json_object **filters, const char *arg)
{
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *key = NULL;
	json_object *arr;

	if (!eq || eq == arg)
		return cli_usage_error(
		        cli, "bad --filter '%s': expected KEY=VALUE (label=env=prod)", arg);
	if (!*filters)
		*filters = json_object_new_object();
	key = cli_sprintf("%.*s", (int)(eq - arg), arg);
	if (!json_object_object_get_ex(*filters, key, &arr)) {
		arr = json_object_new_array();
		json_object_object_add(*filters, key, arr);
	}
	json_object_array_add(arr, json_object_new_string(eq + 1));
	return 0;
}

char *cli_filter_query(json_object *filters, int amp)
{
	_cleanup_free_ char *e = NULL;

	if (!filters || !json_object_object_length(filters))
		return cli_sprintf("%s", "");
	e = cli_escape(json_object_to_json_string_ext(filters, JSON_C_TO_STRING_PLAIN));
	return cli_sprintf("%cfilters=%s", amp ? '&' : '?', e);
}

void cli_labels_column(json_object *labels, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (!labels || !json_object_is_type(labels, json_type_object))
		return;
	json_object_object_foreach(labels, key, val)
	{
		if (n < len - 1)
			n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", n ? "," : "", key,
			                      json_object_get_string(val));
	}
}
