/* config.json, the OCI runtime spec a bundle carries: parsed strictly into struct runuk_spec. */
#include "runuk.h"

#include <stdio.h>
#include <string.h>

static int get_string(json_object *o, const char *key, int required, const char *where, char **out,
                      uk_err_t *err)
{
	json_object *v;

	*out = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return required ? uk_err_bad(err, "config.json: %s%s is missing", where, key) : 0;
	if (!json_object_is_type(v, json_type_string))
		return uk_err_bad(err, "config.json: %s%s must be a string", where, key);
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : uk_err_internal(err, "out of memory");
}

static json_object *get_object(json_object *o, const char *key, const char *where, int *bad,
                               uk_err_t *err)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	if (!json_object_is_type(v, json_type_object)) {
		*bad = uk_err_bad(err, "config.json: %s%s must be an object", where, key);
		return NULL;
	}
	return v;
}

static int no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return 0;
	return 1;
}

/* A JSON array of strings into a NULL-terminated vector of at most (max). */
static int get_strv(json_object *o, const char *key, const char *where, size_t max, char ***out,
                    size_t *n, uk_err_t *err)
{
	json_object *v;
	size_t len;

	*out = NULL, *n = 0;
	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return uk_err_bad(err, "config.json: %s%s must be an array of strings", where, key);
	len = json_object_array_length(v);
	if (len > max)
		return uk_err_bad(err, "config.json: %s%s has %zu entries, a unikernel takes %zu",
		                  where, key, len, max);
	*out = calloc(len + 1, sizeof(char *));
	if (!*out)
		return uk_err_internal(err, "out of memory");
	for (size_t i = 0; i < len; i++) {
		json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string))
			return uk_err_bad(err, "config.json: %s%s[%zu] must be a string", where,
			                  key, i);
		if (!no_controls(json_object_get_string(e)))
			return uk_err_bad(
			        err,
			        "config.json: %s%s[%zu] holds control characters, which the "
			        "kernel command line cannot carry",
			        where, key, i);
		(*out)[i] = strdup(json_object_get_string(e));
		if (!(*out)[i])
			return uk_err_internal(err, "out of memory");
		*n = i + 1;
	}
	return 0;
}

static int get_u64(json_object *o, const char *key, const char *where, uint64_t *out, uk_err_t *err)
{
	json_object *v;
	int64_t x;

	*out = 0;
	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return uk_err_bad(err, "config.json: %s%s must be an integer", where, key);
	x = json_object_get_int64(v);
	/* -1 means "no limit" in the runtime spec */
	*out = x > 0 ? (uint64_t)x : 0;
	return 0;
}

/* "0-3,5" -> 5 CPUs; 0 when malformed. */
static unsigned cpuset_count(const char *s)
{
	unsigned n = 0;

	while (*s) {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;

		if (end == s)
			return 0;
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s || b < a)
				return 0;
		}
		if (b - a > 4096)
			return 0;
		n += (unsigned)(b - a + 1);
		if (*end == ',')
			end++;
		else if (*end)
			return 0;
		s = end;
	}
	return n;
}

static int parse_linux(json_object *lx, struct runuk_spec *spec, uk_err_t *err)
{
	json_object *res, *mem, *cpu, *ns;
	int bad = 0;
	uint64_t quota, period;
	_cleanup_free_ char *cpus = NULL;

	res = get_object(lx, "resources", "linux.", &bad, err);
	mem = get_object(res, "memory", "linux.resources.", &bad, err);
	cpu = get_object(res, "cpu", "linux.resources.", &bad, err);
	if (bad < 0 || get_u64(mem, "limit", "linux.resources.memory.", &spec->memory, err) < 0 ||
	    get_u64(cpu, "quota", "linux.resources.cpu.", &quota, err) < 0 ||
	    get_u64(cpu, "period", "linux.resources.cpu.", &period, err) < 0 ||
	    get_string(cpu, "cpus", 0, "linux.resources.cpu.", &cpus, err) < 0)
		return -1;
	if (quota && period)
		spec->vcpus = (unsigned)((quota + period - 1) / period > 255
		                                 ? 255
		                                 : (quota + period - 1) / period);
	else if (cpus && *cpus)
		spec->vcpus = cpuset_count(cpus);
	if (!lx || !json_object_object_get_ex(lx, "namespaces", &ns))
		return 0;
	if (!json_object_is_type(ns, json_type_array))
		return uk_err_bad(err, "config.json: linux.namespaces must be an array");
	for (size_t i = 0; i < json_object_array_length(ns); i++) {
		json_object *e = json_object_array_get_idx(ns, i);
		_cleanup_free_ char *type = NULL;

		if (!json_object_is_type(e, json_type_object))
			return uk_err_bad(
			        err, "config.json: linux.namespaces[%zu] must be an object", i);
		if (get_string(e, "type", 1, "linux.namespaces[].", &type, err) < 0)
			return -1;
		if (strcmp(type, "network"))
			continue;
		free(spec->netns);
		if (get_string(e, "path", 0, "linux.namespaces[].", &spec->netns, err) < 0)
			return -1;
		if (spec->netns && (spec->netns[0] != '/' || !no_controls(spec->netns)))
			return uk_err_bad(err,
			                  "config.json: the network namespace's path \"%s\" is "
			                  "not absolute",
			                  spec->netns);
		spec->new_netns = !spec->netns;
	}
	return 0;
}

static int parse_hooks(json_object *hooks, const char *kind, struct runuk_hooks *out, uk_err_t *err)
{
	json_object *arr;
	char where[64];
	size_t n;

	if (!hooks || !json_object_object_get_ex(hooks, kind, &arr) ||
	    json_object_is_type(arr, json_type_null))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return uk_err_bad(err, "config.json: hooks.%s must be an array", kind);
	n = json_object_array_length(arr);
	if (n > 64)
		return uk_err_bad(err, "config.json: hooks.%s: %zu hooks, 64 at most", kind, n);
	out->v = realloc(out->v, (out->n + n + 1) * sizeof(*out->v));
	if (!out->v)
		return uk_err_internal(err, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_object *h = json_object_array_get_idx(arr, i), *t;
		struct runuk_hook *k = &out->v[out->n];

		memset(k, 0, sizeof(*k));
		snprintf(where, sizeof(where), "hooks.%s[%zu].", kind, i);
		if (!json_object_is_type(h, json_type_object))
			return uk_err_bad(err, "config.json: hooks.%s[%zu] must be an object", kind,
			                  i);
		out->n++;
		if (get_string(h, "path", 1, where, &k->path, err) < 0 ||
		    get_strv(h, "args", where, RUNUK_MAX_ARGS, &k->args, &k->n_args, err) < 0 ||
		    get_strv(h, "env", where, 1024, &k->env, &k->n_env, err) < 0)
			return -1;
		if (k->path[0] != '/')
			return uk_err_bad(err, "config.json: %spath \"%s\" is not absolute", where,
			                  k->path);
		if (json_object_object_get_ex(h, "timeout", &t)) {
			if (!json_object_is_type(t, json_type_int) || json_object_get_int(t) <= 0)
				return uk_err_bad(err, "config.json: %stimeout must be > 0", where);
			k->timeout = json_object_get_int(t);
		}
	}
	return 0;
}

/* mounts[]: only the engine's /etc/resolv.conf matters to a guest (its DNS server). */
static int parse_mounts(json_object *root, struct runuk_spec *spec, uk_err_t *err)
{
	json_object *arr;

	if (!json_object_object_get_ex(root, "mounts", &arr) ||
	    json_object_is_type(arr, json_type_null))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return uk_err_bad(err, "config.json: mounts must be an array");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *m = json_object_array_get_idx(arr, i);
		_cleanup_free_ char *dst = NULL, *src = NULL;

		if (!json_object_is_type(m, json_type_object))
			return uk_err_bad(err, "config.json: mounts[%zu] must be an object", i);
		if (get_string(m, "destination", 1, "mounts[].", &dst, err) < 0 ||
		    get_string(m, "source", 0, "mounts[].", &src, err) < 0)
			return -1;
		if (!strcmp(dst, "/etc/resolv.conf") && src && src[0] == '/' && no_controls(src)) {
			free(spec->resolv_conf);
			spec->resolv_conf = src;
			src = NULL;
		}
	}
	return 0;
}

int runuk_spec_parse(const char *buf, size_t len, struct runuk_spec *spec, uk_err_t *err)
{
	_cleanup_json_ json_object *root = NULL;
	json_tokener *tok;
	json_object *proc, *rootfs, *lx, *ann, *hooks;
	_cleanup_free_ char *version = NULL;
	int bad = 0;

	memset(spec, 0, sizeof(*spec));
	tok = json_tokener_new_ex(32);
	if (!tok)
		return uk_err_internal(err, "out of memory");
	root = json_tokener_parse_ex(tok, buf, (int)(len > 0x7fffffff ? 0x7fffffff : len));
	if (root && json_tokener_get_parse_end(tok) != len) {
		/* trailing bytes: only blanks may follow the object */
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (!strchr(" \t\r\n", buf[i])) {
				json_tokener_free(tok);
				return uk_err_bad(err,
				                  "config.json: trailing bytes after the JSON "
				                  "object (at byte %zu)",
				                  i);
			}
	}
	json_tokener_free(tok);
	if (!root || !json_object_is_type(root, json_type_object))
		return uk_err_bad(err, "config.json is not a JSON object (an OCI runtime spec)");
	if (get_string(root, "ociVersion", 1, "", &version, err) < 0)
		return -1;
	rootfs = get_object(root, "root", "", &bad, err);
	proc = get_object(root, "process", "", &bad, err);
	lx = get_object(root, "linux", "", &bad, err);
	ann = get_object(root, "annotations", "", &bad, err);
	hooks = get_object(root, "hooks", "", &bad, err);
	if (bad < 0)
		goto fail;
	if (!rootfs) {
		uk_err_bad(err, "config.json: root is missing");
		goto fail;
	}
	if (!proc) {
		uk_err_bad(err, "config.json: process is missing (create needs one)");
		goto fail;
	}
	if (get_string(rootfs, "path", 1, "root.", &spec->root_path, err) < 0 ||
	    get_strv(proc, "args", "process.", RUNUK_MAX_ARGS, &spec->args, &spec->n_args, err) <
	            0 ||
	    get_strv(proc, "env", "process.", RUNUK_MAX_ENV, &spec->env, &spec->n_env, err) < 0 ||
	    parse_linux(lx, spec, err) < 0 ||
	    parse_hooks(hooks, "prestart", &spec->create_hooks, err) < 0 ||
	    parse_hooks(hooks, "createRuntime", &spec->create_hooks, err) < 0 ||
	    parse_mounts(root, spec, err) < 0)
		goto fail;
	if (!*spec->root_path || !no_controls(spec->root_path)) {
		uk_err_bad(err, "config.json: root.path \"%s\" is not a usable path",
		           spec->root_path);
		goto fail;
	}
	if (!spec->n_args) {
		uk_err_bad(err, "config.json: process.args is missing or empty");
		goto fail;
	}
	if (!spec->env && !(spec->env = calloc(1, sizeof(char *)))) {
		uk_err_internal(err, "out of memory");
		goto fail;
	}
	if (json_object_object_get_ex(proc, "terminal", &lx)) {
		if (!json_object_is_type(lx, json_type_boolean)) {
			uk_err_bad(err, "config.json: process.terminal must be a boolean");
			goto fail;
		}
		spec->terminal = json_object_get_boolean(lx);
	}
	for (size_t i = 0; i < spec->n_env; i++)
		if (!strchr(spec->env[i], '=')) {
			uk_err_bad(err, "config.json: process.env[%zu] \"%s\" is not KEY=VALUE", i,
			           spec->env[i]);
			goto fail;
		}
	if (ann) {
		json_object_object_foreach(ann, k, v)
		{
			(void)k;
			if (!json_object_is_type(v, json_type_string)) {
				uk_err_bad(err, "config.json: annotations[\"%s\"] must be a string",
				           k);
				goto fail;
			}
		}
		spec->annotations = json_object_get(ann);
	} else {
		spec->annotations = json_object_new_object();
	}
	return 0;
fail:
	runuk_spec_free(spec);
	return -1;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void hooks_free(struct runuk_hooks *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].path);
		strv_free(h->v[i].args);
		strv_free(h->v[i].env);
	}
	free(h->v);
}

void runuk_spec_free(struct runuk_spec *spec)
{
	hooks_free(&spec->create_hooks);
	free(spec->resolv_conf);
	free(spec->root_path);
	strv_free(spec->args);
	strv_free(spec->env);
	free(spec->netns);
	json_object_put(spec->annotations);
	memset(spec, 0, sizeof(*spec));
}

int runuk_spec_root_path(const char *buf, size_t len, char **path, uk_err_t *err)
{
	_cleanup_json_ json_object *root = NULL;
	json_tokener *tok = json_tokener_new_ex(32);
	json_object *r;

	*path = NULL;
	if (!tok)
		return uk_err_internal(err, "out of memory");
	root = json_tokener_parse_ex(tok, buf, (int)(len > 0x7fffffff ? 0x7fffffff : len));
	json_tokener_free(tok);
	if (!root || !json_object_is_type(root, json_type_object))
		return uk_err_bad(err, "config.json is not a JSON object (an OCI runtime spec)");
	if (!json_object_object_get_ex(root, "root", &r) ||
	    !json_object_is_type(r, json_type_object))
		return uk_err_bad(err, "config.json: root is missing");
	return get_string(r, "path", 1, "root.", path, err);
}
