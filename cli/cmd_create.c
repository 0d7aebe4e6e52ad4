/* uk create: make an instance from an image without starting it (and the option handling run
 * shares). */
#include "cli.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* A whole decimal number from (s) in [1, max], or -1. */
static long health_number(const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= 1 && v <= max ? v : -1;
}

/* The "healthcheck" object of the --health-* options, NULL if none was given. */
static json_object *health_body(const struct cli_create_opts *o, uk_err_t *err)
{
	json_object *hc;
	long v;

	if (!o->health_http && !o->health_tcp && !o->health_interval && !o->health_timeout &&
	    !o->health_retries && !o->health_start_period && !o->no_healthcheck)
		return NULL;
	hc = json_object_new_object();
	if (o->no_healthcheck)
		json_object_object_add(hc, "disable", json_object_new_boolean(1));
	if (o->health_http)
		json_object_object_add(hc, "http", json_object_new_string(o->health_http));
	if (o->health_tcp) {
		if ((v = health_number(o->health_tcp, 65535)) < 0)
			goto bad_tcp;
		json_object_object_add(hc, "tcp", json_object_new_int((int)v));
	}
	if (o->health_interval)
		json_object_object_add(hc, "interval", json_object_new_string(o->health_interval));
	if (o->health_timeout)
		json_object_object_add(hc, "timeout", json_object_new_string(o->health_timeout));
	if (o->health_start_period)
		json_object_object_add(hc, "start_period",
		                       json_object_new_string(o->health_start_period));
	if (o->health_retries) {
		if ((v = health_number(o->health_retries, 1000)) < 0)
			goto bad_retries;
		json_object_object_add(hc, "retries", json_object_new_int((int)v));
	}
	return hc;
bad_tcp:
	uk_err_bad(err, "bad --health-tcp '%s': expected a port from 1 to 65535", o->health_tcp);
	json_object_put(hc);
	return NULL;
bad_retries:
	uk_err_bad(err, "bad --health-retries '%s': expected 1 to 1000", o->health_retries);
	json_object_put(hc);
	return NULL;
}

/* Only on-failure and on-unhealthy take a count. */
static int restart_counted(const char *name, size_t nlen)
{
	return (nlen == 10 && !strncmp(name, "on-failure", nlen)) ||
	       (nlen == 12 && !strncmp(name, "on-unhealthy", nlen));
}

json_object *cli_create_body(const struct cli_create_opts *o, uk_err_t *err)
{
	json_object *body = json_object_new_object();
	int i;

	json_object_object_add(body, "image", json_object_new_string(o->image));
	if (o->name)
		json_object_object_add(body, "name", json_object_new_string(o->name));
	if (o->nargs > 0) {
		json_object *cmd = json_object_new_array();
		for (i = 0; i < o->nargs; i++)
			json_object_array_add(cmd, json_object_new_string(o->args[i]));
		json_object_object_add(body, "cmd", cmd);
	}
	if (o->env)
		json_object_object_add(body, "env", json_object_get(o->env));
	if (o->labels)
		json_object_object_add(body, "labels", json_object_get(o->labels));
	if (o->ports)
		json_object_object_add(body, "ports", json_object_get(o->ports));
	if (o->memory > 0)
		json_object_object_add(body, "memory", json_object_new_int64(o->memory));
	if (o->network) {
		json_object *nets = json_object_new_array(), *n = json_object_new_object();
		json_object_object_add(n, "name", json_object_new_string(o->network));
		if (o->aliases)
			json_object_object_add(n, "aliases", json_object_get(o->aliases));
		if (o->ip)
			json_object_object_add(n, "ip", json_object_new_string(o->ip));
		json_object_array_add(nets, n);
		for (i = 0; i < o->n_networks_more; i++) {
			json_object *m = json_object_new_object();
			json_object_object_add(m, "name",
			                       json_object_new_string(o->networks_more[i]));
			json_object_array_add(nets, m);
		}
		json_object_object_add(body, "networks", nets);
	} else if (o->aliases || o->ip) {
		json_object_put(body);
		uk_err_bad(err, "--network-alias and --ip need --network NAME");
		return NULL;
	}
	if (o->restart) {
		json_object *rp = json_object_new_object();
		const char *colon = strchr(o->restart, ':');
		size_t nlen = colon ? (size_t)(colon - o->restart) : strlen(o->restart);
		long max = 0;

		if (colon) {
			char *end;
			max = strtol(colon + 1, &end, 10);
			if (!restart_counted(o->restart, nlen) || !colon[1] || *end || max < 0) {
				json_object_put(rp);
				json_object_put(body);
				uk_err_bad(err,
				           "bad --restart '%s': only on-failure and on-unhealthy "
				           "take a "
				           "count (on-failure:3)",
				           o->restart);
				return NULL;
			}
		} else if (strcmp(o->restart, "no") && strcmp(o->restart, "always") &&
		           strcmp(o->restart, "unless-stopped") &&
		           strcmp(o->restart, "on-failure") && strcmp(o->restart, "on-unhealthy")) {
			json_object_put(rp);
			json_object_put(body);
			uk_err_bad(err,
			           "bad --restart '%s': expected no, on-failure[:N], always, "
			           "unless-stopped or on-unhealthy[:N]",
			           o->restart);
			return NULL;
		}
		json_object_object_add(rp, "name",
		                       json_object_new_string_len(o->restart, (int)nlen));
		json_object_object_add(rp, "maximum_retry_count", json_object_new_int64(max));
		json_object_object_add(body, "restart_policy", rp);
	}
	if (o->auto_remove)
		json_object_object_add(body, "auto_remove", json_object_new_boolean(1));
	if (o->accel)
		json_object_object_add(body, "accelerator", json_object_new_string(o->accel));
	if (o->backend)
		json_object_object_add(body, "backend", json_object_new_string(o->backend));
	if (o->gdb)
		json_object_object_add(body, "gdb", json_object_new_string(o->gdb));
	if (o->log_opts)
		json_object_object_add(body, "log_opts", json_object_get(o->log_opts));
	if (o->mounts)
		json_object_object_add(body, "mounts", json_object_get(o->mounts));
	{
		uk_err_t herr = {0};
		json_object *hc = health_body(o, &herr);
		if (!hc && herr.status) {
			*err = herr;
			json_object_put(body);
			return NULL;
		}
		if (hc)
			json_object_object_add(body, "healthcheck", hc);
	}
	return body;
}

/* -P: each port the image EXPOSEs and no -p publishes, on a free host port the daemon picks. */
static int publish_all(struct cli *cli, const char *image, json_object *body, uk_err_t *err)
{
	_cleanup_free_ char *path = cli_path("images", image, "");
	_cleanup_json_ json_object *img = NULL;
	json_object *cfg, *exposed, *ports;

	if (uk_client_call(cli->client, "GET", path, NULL, NULL, &img, err) < 0)
		return uk_err_wrap(err, "-P: image %s", image);
	if (!json_object_object_get_ex(img, "config", &cfg) ||
	    !json_object_object_get_ex(cfg, "exposed_ports", &exposed) ||
	    !json_object_is_type(exposed, json_type_array))
		return 0;
	if (!json_object_object_get_ex(body, "ports", &ports)) {
		ports = json_object_new_array();
		json_object_object_add(body, "ports", ports);
	}
	for (size_t i = 0; i < json_object_array_length(exposed); i++) {
		const char *e = json_object_get_string(json_object_array_get_idx(exposed, i));
		char proto[8] = "tcp";
		unsigned port = 0;
		int have = 0;

		if (!e || sscanf(e, "%u/%7s", &port, proto) < 1 || !port || port > 65535)
			continue;
		for (size_t j = 0; j < json_object_array_length(ports) && !have; j++) {
			json_object *p = json_object_array_get_idx(ports, j);
			have = cli_jint(p, "guest_port", 0) == port &&
			       !strcmp(*cli_jstr(p, "protocol") ? cli_jstr(p, "protocol") : "tcp",
			               proto);
		}
		if (have)
			continue;
		json_object *p = json_object_new_object();
		json_object_object_add(p, "guest_port", json_object_new_int((int)port));
		json_object_object_add(p, "protocol", json_object_new_string(proto));
		json_object_array_add(ports, p);
	}
	return 0;
}

char *cli_create_instance(struct cli *cli, const struct cli_create_opts *o, uk_err_t *err)
{
	_cleanup_json_ json_object *body = NULL, *res = NULL;
	json_object *warnings;
	uk_body_t b;
	const char *json;
	char *id;
	size_t i;

	body = cli_create_body(o, err);
	if (!body)
		return NULL;
	if (!cli_connect(cli, err))
		return NULL;
	if (o->publish_all && publish_all(cli, o->image, body, err) < 0)
		return NULL;
	json = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	b = UK_BODY_JSON(json);
	if (uk_client_call(cli->client, "POST", "/v1/instances", &b, NULL, &res, err) < 0)
		return NULL;
	if (!res || !*cli_jstr(res, "id")) {
		uk_err_set(err, 500, "bad_response",
		           "the daemon created an instance but sent no id");
		return NULL;
	}
	if (json_object_object_get_ex(res, "warnings", &warnings) &&
	    json_object_is_type(warnings, json_type_array))
		for (i = 0; i < json_object_array_length(warnings); i++)
			cli_warn("warning: %s",
			         json_object_get_string(json_object_array_get_idx(warnings, i)));
	id = strdup(cli_jstr(res, "id"));
	if (!id)
		uk_err_set(err, 500, "internal", "out of memory");
	return id;
}

/* --health-* options that take a string, and where it goes */
static const struct {
	int code;
	size_t off;
} health_opts[] = {
        {CLI_OPT_HEALTH_HTTP, offsetof(struct cli_create_opts, health_http)},
        {CLI_OPT_HEALTH_TCP, offsetof(struct cli_create_opts, health_tcp)},
        {CLI_OPT_HEALTH_INTERVAL, offsetof(struct cli_create_opts, health_interval)},
        {CLI_OPT_HEALTH_TIMEOUT, offsetof(struct cli_create_opts, health_timeout)},
        {CLI_OPT_HEALTH_RETRIES, offsetof(struct cli_create_opts, health_retries)},
        {CLI_OPT_HEALTH_START_PERIOD, offsetof(struct cli_create_opts, health_start_period)},
};

/* -e KEY=VALUE, or KEY copied from this environment (dropped when unset), as Docker's; -1 if
 * (arg) has no KEY. */
static int env_add(struct cli_create_opts *o, const char *arg)
{
	const char *val;
	char *kv;

	if (!arg[0] || arg[0] == '=')
		return -1;
	if (!strchr(arg, '=')) {
		val = getenv(arg);
		if (!val)
			return 0;
		kv = cli_sprintf("%s=%s", arg, val);
	} else {
		kv = cli_sprintf("%s", arg);
	}
	if (!o->env)
		o->env = json_object_new_array();
	json_object_array_add(o->env, json_object_new_string(kv));
	free(kv);
	return 0;
}

/* --env-file FILE: a KEY=VALUE or KEY a line, blank lines and # comments skipped (Docker's
 * format: no quotes are removed, the value is the rest of the line). */
static int env_file(struct cli *cli, struct cli_create_opts *o, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, r = 0;

	if (!f)
		return cli_usage_error(cli, "--env-file %s: %s", path, strerror(errno)), -1;
	while (r == 0 && (n = getline(&line, &cap, f)) >= 0) {
		char *p = line;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		p += strspn(p, " \t");
		if (!*p || *p == '#')
			continue;
		/* Docker's rule: the name has no blanks */
		if (strcspn(p, " \t") < strcspn(p, "=") || env_add(o, p) < 0)
			r = cli_usage_error(
			        cli, "--env-file %s line %d: expected KEY=VALUE or KEY, got '%s'",
			        path, lineno, p),
			r = -1;
	}
	free(line);
	fclose(f);
	return r;
}

void cli_create_opts_clear(struct cli_create_opts *o)
{
	json_object **held[] = {&o->env,     &o->ports,  &o->log_opts,
	                        &o->aliases, &o->mounts, &o->labels};

	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
		json_object_put(*held[i]);
		*held[i] = NULL;
	}
}

int cli_create_option(struct cli *cli, struct cli_create_opts *o, int c, const char *arg)
{
	uk_err_t err = {0};

	switch (c) {
	case 'N':
		o->name = arg;
		return 0;
	case 'm':
		if (cli_parse_memory(arg, &o->memory, &err) < 0)
			return cli_usage_error(cli, "%s", err.message), -1;
		if (o->memory <= 0)
			return cli_usage_error(cli, "bad memory size '%s': must be more than 0",
			                       arg),
			       -1;
		return 0;
	case 'e':
		if (env_add(o, arg) < 0)
			return cli_usage_error(cli, "bad --env '%s': expected KEY=VALUE or KEY",
			                       arg),
			       -1;
		return 0;
	case CLI_OPT_ENV_FILE:
		return env_file(cli, o, arg);
	case 'l': { /* --label K=V, or K (an empty value), as Docker's */
		const char *eq = strchr(arg, '=');
		_cleanup_free_ char *key =
		        cli_sprintf("%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
		if (!*key)
			return cli_usage_error(cli, "bad --label '%s': expected KEY=VALUE", arg),
			       -1;
		if (!o->labels)
			o->labels = json_object_new_object();
		json_object_object_add(o->labels, key, json_object_new_string(eq ? eq + 1 : ""));
		return 0;
	}
	case 'R':
		o->restart = arg;
		return 0;
	case 'p': {
		json_object *port;

		if (cli_parse_publish(arg, &port, &err) < 0)
			return cli_usage_error(cli, "%s", err.message), -1;
		if (!o->ports)
			o->ports = json_object_new_array();
		json_object_array_add(o->ports, port);
		return 0;
	}
	case 'v':
	case CLI_OPT_MOUNT: {
		json_object *m;

		if ((c == 'v' ? cli_parse_volume(arg, &m, &err) : cli_parse_mount(arg, &m, &err)) <
		    0)
			return cli_usage_error(cli, "%s", err.message), -1;
		if (!o->mounts)
			o->mounts = json_object_new_array();
		json_object_array_add(o->mounts, m);
		return 0;
	}
	case 'A':
		if (strcmp(arg, "auto") && strcmp(arg, "kvm") && strcmp(arg, "tcg"))
			return cli_usage_error(cli, "bad --accel '%s': expected auto, kvm or tcg",
			                       arg),
			       -1;
		o->accel = arg;
		return 0;
	case CLI_OPT_NO_HEALTHCHECK:
		o->no_healthcheck = 1;
		return 0;
	case 'P':
		o->publish_all = 1;
		return 0;
	case CLI_OPT_NETWORK: /* names are checked by the daemon (400 naming the field) */
		if (!o->network) {
			o->network = arg;
			return 0;
		}
		if (o->n_networks_more == (int)(sizeof(o->networks_more) / sizeof(char *)))
			return cli_usage_error(cli, "at most 4 --network per instance"), -1;
		o->networks_more[o->n_networks_more++] = arg;
		return 0;
	case CLI_OPT_NETWORK_ALIAS:
		if (!o->aliases)
			o->aliases = json_object_new_array();
		json_object_array_add(o->aliases, json_object_new_string(arg));
		return 0;
	case CLI_OPT_IP:
		o->ip = arg;
		return 0;
	case CLI_OPT_BACKEND:
		o->backend = arg;
		return 0;
	case CLI_OPT_GDB:
		o->gdb = arg;
		return 0;
	case CLI_OPT_LOG_OPT: {
		const char *eq = strchr(arg, '=');

		if (!eq || eq == arg || !eq[1])
			return cli_usage_error(cli,
			                       "bad --log-opt '%s': expected KEY=VALUE "
			                       "(max-size=10m, max-file=3)",
			                       arg),
			       -1;
		if (!o->log_opts)
			o->log_opts = json_object_new_object();
		{
			_cleanup_free_ char *key = strndup(arg, (size_t)(eq - arg));
			json_object_object_add(o->log_opts, key, json_object_new_string(eq + 1));
		}
		return 0;
	}
	}
	for (size_t i = 0; i < sizeof(health_opts) / sizeof(health_opts[0]); i++)
		if (health_opts[i].code == c) {
			*(const char **)((char *)o + health_opts[i].off) = arg;
			return 0;
		}
	return 1;
}

int cli_create_parse(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv,
                     struct cli_create_opts *o, int *status)
{
	static const struct option create_opts[] = {CLI_CREATE_LONGOPTS, {NULL, 0, NULL, 0}};
	static const struct option run_opts[] = {
	        CLI_CREATE_LONGOPTS,
	        {"detach", no_argument, NULL, 'd'},
	        {"rm", no_argument, NULL, 'X'},
	        {NULL, 0, NULL, 0},
	};
	int run = cmd == &cli_cmd_run, c;
	uk_err_t err = {0};
	json_object *probe;

	*status = CLI_EXIT_USAGE;
	while ((c = cli_getopt(cli, argc, argv, run ? "+dm:e:p:Pv:l:" : "+m:e:p:Pv:l:",
	                       run ? run_opts : create_opts)) != -1) {
		if (c == 'h') {
			*status = cli_help(cmd);
			goto stop;
		}
		if (c == 'd' || c == 'X')
			*(c == 'd' ? &o->detach : &o->rm) = 1;
		else if (c == '?' || cli_create_option(cli, o, c, optarg) != 0)
			goto stop;
	}
	if (optind >= argc) {
		cli_usage_error(cli, "an IMAGE is required");
		goto stop;
	}
	o->image = argv[optind];
	o->args = argv + optind + 1;
	o->nargs = argc - optind - 1;
	if (o->rm && o->restart && strcmp(o->restart, "no") != 0) {
		cli_usage_error(cli, "--rm and --restart %s cannot be used together", o->restart);
		goto stop;
	}
	/* the body built once here: a bad value is a usage error before anything is sent */
	probe = cli_create_body(o, &err);
	if (!probe) {
		cli_usage_error(cli, "%s", err.message);
		goto stop;
	}
	json_object_put(probe);
	return 0;
stop:
	cli_create_opts_clear(o);
	return -1;
}

static int create_run(struct cli *cli, int argc, char **argv)
{
	struct cli_create_opts o = {0};
	uk_err_t err = {0};
	_cleanup_free_ char *id = NULL;
	int status;

	if (cli_create_parse(cli, &cli_cmd_create, argc, argv, &o, &status) < 0)
		return status;
	id = cli_create_instance(cli, &o, &err);
	cli_create_opts_clear(&o);
	if (!id)
		return cli_fail(&err);
	puts(id);
	return 0;
}

const struct cli_cmd cli_cmd_create = {
        .name = "create",
        .summary = "Create an instance from an image without starting it",
        .help = "Usage: uk create [OPTIONS] IMAGE [ARG...]\n"
                "\n"
                "Create an instance of IMAGE and print its id. ARGs replace the image's CMD.\n"
                "\n"
                "Options:\n" CLI_CREATE_OPTIONS_HELP "  -h, --help             print this help\n",
        .run = create_run,
};
