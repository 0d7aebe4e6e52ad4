/* --format TEMPLATE output for lists and inspect, and Docker's PascalCase inspect keys. */
#include "cli.h"

#include <string.h>
#include <time.h>

/* The template's text for (dot): malloc'd, NULL after printing the error. */
static char *render(struct cli *cli, json_object *dot, int quiet)
{
	uk_err_t err = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		cli_warn("out of memory");
		exit(CLI_EXIT_FAIL);
	}
	if (cli_tmpl_exec(cli->tmpl, dot, f, &err) < 0) {
		fclose(f);
		free(buf);
		if (!quiet)
			cli_usage_error(cli, "bad --format: %s", err.message);
		return NULL;
	}
	fclose(f);
	return buf;
}

int cli_format_one(struct cli *cli, json_object *dot)
{
	_cleanup_free_ char *s = render(cli, dot, 0);

	if (!s)
		return CLI_EXIT_USAGE;
	printf("%s\n", s);
	return 0;
}

int cli_inspect_print(struct cli *cli, json_object *all, json_object *(*row)(json_object *))
{
	if (!cli->tmpl) {
		cli_print_json(all);
		return 0;
	}
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		json_object *one = json_object_array_get_idx(all, i);
		_cleanup_json_ json_object *keys = row(one);
		int r;

		json_object_object_foreach(keys, k, v)
		        json_object_object_add(one, k, json_object_get(v));
		if ((r = cli_format_one(cli, one)))
			return r;
	}
	return 0;
}

/* Display width of UTF-8 text. */
static size_t width_of(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* Docker's tabwriter (minwidth 10, padding 3): a tab ends a cell; the cells of a column are
 * as wide as the widest plus 3; a line's last cell is not padded. */
static void print_aligned(const char *text)
{
	size_t widths[64] = {0};
	const char *line, *end;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (line = text; *line; line = *end ? end + 1 : end) {
			const char *cell = line;
			size_t col = 0;

			end = strchr(line, '\n');
			if (!end)
				end = line + strlen(line);
			for (;;) {
				const char *tab = memchr(cell, '\t', (size_t)(end - cell));
				size_t n = tab ? (size_t)(tab - cell) : (size_t)(end - cell);
				size_t w = width_of(cell, n);

				if (!tab || col >= 64) {
					if (pass)
						printf("%.*s\n", (int)(end - cell), cell);
					break;
				}
				if (!pass && w + 3 > widths[col])
					widths[col] = w + 3 < 10 ? 10 : w + 3;
				if (pass)
					printf("%.*s%*s", (int)n, cell, (int)(widths[col] - w), "");
				cell = tab + 1;
				col++;
			}
		}
	}
}

int cli_format_rows(struct cli *cli, json_object *rows, json_object *header)
{
	char *all = NULL;
	size_t len = 0;
	FILE *f;

	if (!cli->tmpl_table) {
		for (size_t i = 0; i < json_object_array_length(rows); i++) {
			int r = cli_format_one(cli, json_object_array_get_idx(rows, i));
			if (r)
				return r;
		}
		return 0;
	}
	f = open_memstream(&all, &len);
	if (!f) {
		cli_warn("out of memory");
		return CLI_EXIT_FAIL;
	}
	/* the header row is the template run on the column titles; a template the titles do
	 * not fit (index of a title, say) gets an empty header, as Docker's */
	_cleanup_free_ char *head = render(cli, header, 1);
	fprintf(f, "%s\n", head ? head : "");
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		_cleanup_free_ char *s = render(cli, json_object_array_get_idx(rows, i), 0);
		if (!s) {
			fclose(f);
			free(all);
			return CLI_EXIT_USAGE;
		}
		fprintf(f, "%s\n", s);
	}
	fclose(f);
	print_aligned(all);
	free(all);
	return 0;
}

json_object *cli_format_header(const char *const *kv, size_t n)
{
	json_object *h = json_object_new_object();

	for (size_t i = 0; i + 1 < n; i += 2)
		json_object_object_add(h, kv[i], json_object_new_string(kv[i + 1]));
	return h;
}

void cli_docker_time(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0 || !localtime_r(&s, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S %z %Z", &tm))
		snprintf(buf, len, "%s", "");
}

/* --- inspect: Docker's keys beside uk's --- */

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o && json_object_object_get_ex(o, key, &v))
		return v;
	return NULL;
}

/* (v) shared into (o) under (key) (a new reference; JSON null when absent). */
static void share(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, json_object_get(v));
}

/* (dst)[NEW] = (src)[old] for each pair NEW, old of (pairs) ((n) strings). */
static void share_keys(json_object *dst, json_object *src, const char *const *pairs, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		share(dst, pairs[i], get(src, pairs[i + 1]));
}
#define SHARE_KEYS(dst, src, ...)                                                     \
	do {                                                                          \
		static const char *const pairs_[] = {__VA_ARGS__};                    \
		share_keys((dst), (src), pairs_, sizeof(pairs_) / sizeof(pairs_[0])); \
	} while (0)

static json_object *rfc3339(double t)
{
	char buf[64];
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&s, &tm))
		return json_object_new_string("0001-01-01T00:00:00Z");
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

/* {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]} from uk's port list. */
static json_object *docker_ports(json_object *ports)
{
	json_object *o = json_object_new_object();

	for (size_t i = 0;
	     json_object_is_type(ports, json_type_array) && i < json_object_array_length(ports);
	     i++) {
		json_object *p = json_object_array_get_idx(ports, i), *list, *b;
		const char *proto = cli_jstr(p, "protocol");
		_cleanup_free_ char *key = cli_sprintf(
		        "%lld/%s", (long long)cli_jint(p, "guest_port", 0), *proto ? proto : "tcp");
		_cleanup_free_ char *hp =
		        cli_sprintf("%lld", (long long)cli_jint(p, "host_port", 0));

		if (!json_object_object_get_ex(o, key, &list)) {
			list = json_object_new_array();
			json_object_object_add(o, key, list);
		}
		b = json_object_new_object();
		json_object_object_add(b, "HostIp", json_object_new_string(cli_jstr(p, "host_ip")));
		json_object_object_add(b, "HostPort", json_object_new_string(hp));
		json_object_array_add(list, b);
	}
	return o;
}

/* "K=V" strings or {"K": "V"}: Docker's labels map. */
static json_object *labels_map(json_object *labels)
{
	json_object *m = json_object_new_object();

	if (json_object_is_type(labels, json_type_object)) {
		json_object_object_foreach(labels, k, v)
		        json_object_object_add(m, k, json_object_get(v));
	} else if (json_object_is_type(labels, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(labels); i++) {
			const char *kv =
			        json_object_get_string(json_object_array_get_idx(labels, i));
			const char *eq = kv ? strchr(kv, '=') : NULL;
			_cleanup_free_ char *k = NULL;
			if (!eq)
				continue;
			k = cli_sprintf("%.*s", (int)(eq - kv), kv);
			json_object_object_add(m, k, json_object_new_string(eq + 1));
		}
	}
	return m;
}

static void docker_instance(json_object *obj)
{
	json_object *st = get(obj, "state"), *cfg = get(obj, "config"), *net = get(obj, "network");
	json_object *S = json_object_new_object(), *C = json_object_new_object();
	json_object *H = json_object_new_object(), *N = json_object_new_object();
	json_object *rp = get(cfg, "restart_policy"), *R = json_object_new_object();
	const char *status = cli_jstr(st, "status");
	_cleanup_free_ char *name = cli_sprintf("/%s", cli_jstr(obj, "name"));

	SHARE_KEYS(obj, obj, "Id", "id", "Image", "image_id", "LogPath", "log_path");
	json_object_object_add(obj, "Name", json_object_new_string(name));
	json_object_object_add(obj, "Created", rfc3339((double)cli_jint(obj, "created", 0)));
	share(obj, "RestartCount", get(st, "restart_count"));

	SHARE_KEYS(S, st, "Status", "status", "Running", "running", "Pid", "pid", "ExitCode",
	           "exit_code", "Error", "error", "StartedAt", "started_at", "FinishedAt",
	           "finished_at");
	json_object_object_add(S, "Paused", json_object_new_boolean(!strcmp(status, "paused")));
	json_object_object_add(S, "Restarting",
	                       json_object_new_boolean(!strcmp(status, "restarting")));
	json_object_object_add(S, "Dead", json_object_new_boolean(!strcmp(status, "dead")));
	if (get(st, "health")) {
		json_object *h = json_object_new_object();
		share(h, "Status", get(get(st, "health"), "status"));
		share(h, "FailingStreak", get(get(st, "health"), "failing_streak"));
		json_object_object_add(S, "Health", h);
	}
	json_object_object_add(obj, "State", S);

	share(C, "Image", get(obj, "image"));
	SHARE_KEYS(C, cfg, "Env", "env", "Cmd", "cmd");
	json_object_object_add(C, "Labels", labels_map(get(cfg, "labels")));
	json_object_object_add(obj, "Config", C);

	SHARE_KEYS(H, cfg, "Memory", "memory", "AutoRemove", "auto_remove");
	json_object_object_add(
	        R, "Name",
	        json_object_new_string(*cli_jstr(rp, "name") ? cli_jstr(rp, "name") : "no"));
	json_object_object_add(R, "MaximumRetryCount",
	                       json_object_new_int64(cli_jint(rp, "maximum_retry_count", 0)));
	json_object_object_add(H, "RestartPolicy", R);
	json_object_object_add(obj, "HostConfig", H);

	json_object_object_add(N, "Ports", docker_ports(get(obj, "ports")));
	SHARE_KEYS(N, net, "IPAddress", "ip_address", "Gateway", "gateway", "MacAddress",
	           "mac_address");
	/* Docker's NetworkSettings.Networks: one entry per network the instance is on */
	json_object *nets = get(net, "networks"), *M = json_object_new_object();
	for (size_t i = 0;
	     json_object_is_type(nets, json_type_array) && i < json_object_array_length(nets);
	     i++) {
		json_object *e = json_object_array_get_idx(nets, i), *E = json_object_new_object();
		SHARE_KEYS(E, e, "IPAddress", "ip_address", "Gateway", "gateway", "MacAddress",
		           "mac_address", "IPPrefixLen", "prefix_length", "Aliases", "aliases");
		json_object_object_add(M, cli_jstr(e, "network"), E);
	}
	json_object_object_add(N, "Networks", M);
	json_object_object_add(obj, "NetworkSettings", N);
}

static void docker_image(json_object *obj)
{
	json_object *cfg = get(obj, "config"), *C = json_object_new_object();
	json_object *exposed = json_object_new_object(), *ep = get(cfg, "exposed_ports");

	SHARE_KEYS(obj, obj, "Id", "id", "RepoTags", "repo_tags", "Size", "size", "Architecture",
	           "architecture", "Os", "platform");
	json_object_object_add(obj, "Created", rfc3339((double)cli_jint(obj, "created", 0)));
	SHARE_KEYS(C, cfg, "Cmd", "cmd", "Env", "env");
	for (size_t i = 0;
	     json_object_is_type(ep, json_type_array) && i < json_object_array_length(ep); i++) {
		const char *p = json_object_get_string(json_object_array_get_idx(ep, i));
		_cleanup_free_ char *k = cli_sprintf("%s%s", p, strchr(p, '/') ? "" : "/tcp");
		json_object_object_add(exposed, k, json_object_new_object());
	}
	json_object_object_add(C, "ExposedPorts", exposed);
	json_object_object_add(C, "Labels", labels_map(get(cfg, "labels")));
	json_object_object_add(obj, "Config", C);
}

void cli_docker_keys(json_object *obj)
{
	if (!json_object_is_type(obj, json_type_object))
		return;
	if (json_object_is_type(get(obj, "state"), json_type_object))
		docker_instance(obj);
	else if (get(obj, "repo_tags"))
		docker_image(obj);
}
