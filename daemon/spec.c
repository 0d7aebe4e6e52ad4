/* An instance's typed spec: the create body decoded and validated once, its stored JSON form
 * and back, and the names of states and backends (no store, no backend: fuzzed on its own). */
#include "spec.h"
#include "accel.h"
#include "log_opts.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <uk/images.h>

/* ---- names ---- */

static const char *const state_names[] = {"created", "running", "exited", "dead", NULL};
static const char *const backend_names[] = {"default", "libvirt", "qemu", NULL};
static const char *const restart_names[] = {
        "no", "on-failure", "always", "unless-stopped", "on-unhealthy", NULL};
static const char *const accel_names[] = {"auto", "kvm", "tcg", NULL};

static int name_index(const char *const *names, const char *name)
{
	for (int i = 0; name && names[i]; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

const char *ukd_state_name(enum ukd_state s)
{
	return (unsigned)s <= UKD_STATE_DEAD ? state_names[s] : "dead";
}

int ukd_state_parse(const char *name, enum ukd_state *out)
{
	int i = name_index(state_names, name);

	if (i < 0)
		return -1;
	*out = (enum ukd_state)i;
	return 0;
}

const char *ukd_backend_kind_name(enum ukd_backend_kind k)
{
	return (unsigned)k < UKD_BACKEND_N ? backend_names[k] : "default";
}

int ukd_backend_kind_parse(const char *name, enum ukd_backend_kind *out)
{
	int i = name_index(backend_names, name);

	if (i < 0)
		return -1;
	*out = (enum ukd_backend_kind)i;
	return 0;
}

const char *ukd_restart_kind_name(enum ukd_restart_kind k)
{
	return (unsigned)k <= UKD_RESTART_ON_UNHEALTHY ? restart_names[k] : "no";
}

const char *ukd_accel_want_name(enum ukd_accel_want a)
{
	return (unsigned)a <= UKD_ACCEL_WANT_TCG ? accel_names[a] : "auto";
}

enum ukd_backend_kind ukd_spec_resolve_backend(const struct ukd *d,
                                               const struct ukd_instance_spec *s)
{
	if (s->backend != UKD_BACKEND_DEFAULT)
		return s->backend;
	/* the daemon's default: `ukd --backend` (libvirt unless it says qemu) */
	return d->cfg.default_backend == UKD_BACKEND_QEMU ? UKD_BACKEND_QEMU : UKD_BACKEND_LIBVIRT;
}

/* ---- small helpers ---- */

static int present(json_object *o, const char *key, json_object **v)
{
	return json_object_object_get_ex(o, key, v) && !json_object_is_type(*v, json_type_null);
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static char **strv_alloc(size_t n, uk_err_t *err)
{
	char **v = calloc(n + 1, sizeof(*v));

	if (!v)
		uk_err_internal(err, "out of memory");
	return v;
}

/* A JSON array of strings (v) into a new NULL-terminated vector (*out). */
static int strv_decode(json_object *v, const char *what, char ***out, uk_err_t *err)
{
	size_t n;
	char **r;

	if (!json_object_is_type(v, json_type_array))
		return uk_err_bad(err, "%s: expected an array of strings", what);
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
			return uk_err_bad(err, "%s[%zu]: expected a string", what, i);
	if (!(r = strv_alloc(n, err)))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!(r[i] = strdup(json_object_get_string(json_object_array_get_idx(v, i))))) {
			strv_free(r);
			return uk_err_internal(err, "%s: out of memory", what);
		}
	*out = r;
	return 0;
}

static char **strv_copy(char *const *v, uk_err_t *err)
{
	size_t n = strv_len(v);
	char **r = strv_alloc(n, err);

	for (size_t i = 0; r && i < n; i++)
		if (!(r[i] = strdup(v[i]))) {
			strv_free(r);
			uk_err_internal(err, "out of memory");
			return NULL;
		}
	return r;
}

static json_object *strv_json(char *const *v)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* [a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}: networks, volumes, aliases. */
static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= UKD_NAME_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* A string field (v) that must be a name; copied into (out). */
static int name_decode(json_object *v, const char *what, char out[UKD_NAME_MAX], uk_err_t *err)
{
	if (!json_object_is_type(v, json_type_string) || !name_ok(json_object_get_string(v)))
		return uk_err_bad(
		        err,
		        "%s %.100s: expected a name of letters, digits, '_', '.' and '-', "
		        "starting with a letter or digit, at most %d characters",
		        what, json_object_to_json_string(v), UKD_NAME_MAX - 1);
	snprintf(out, UKD_NAME_MAX, "%s", json_object_get_string(v));
	return 0;
}

static int keys_check(json_object *o, const char *what, const char *const *known, const char *list,
                      uk_err_t *err)
{
	const char *key;

	if (!json_object_is_type(o, json_type_object))
		return uk_err_bad(err, "%s: expected an object", what);
	if ((key = ukd_json_unknown_key(o, known)))
		return uk_err_bad(err, "%s: unknown field \"%s\" (%s)", what, key, list);
	return 0;
}

/* ---- env ---- */

static int env_key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq && eq != kv ? (int)(eq - kv) : -1;
}

int ukd_env_has(char *const *env, const char *key)
{
	size_t k = strlen(key);

	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], key, k) && env[i][k] == '=')
			return 1;
	return 0;
}

/*
 * Image env (img), then the request's (req), a later KEY replacing an earlier one (the entry
 * moves to the later one's place). Linear: one pass records each KEY's last position in a hash
 * table (a json-c object), a second keeps the entries at those positions. Both lists are
 * bounded by UKIMG_ENV_MAX before any of that; request keys must be variable names.
 */
static int env_merge(char *const *img, json_object *req, char ***out, uk_err_t *err)
{
	size_t n_img = strv_len(img), n_req = req ? json_object_array_length(req) : 0, n, k_out = 0;
	_cleanup_json_ json_object *last = NULL;
	_cleanup_free_ const char **kv = NULL;
	json_object *pos;
	char key[UKD_ENV_KEY_MAX + 1], **r;

	if (n_req > UKIMG_ENV_MAX)
		return uk_err_bad(err, "env: %zu variables: at most %d (what a guest holds)", n_req,
		                  UKIMG_ENV_MAX);
	if (n_img > UKIMG_ENV_MAX)
		return uk_err_bad(err, "the image sets %zu environment variables: at most %d",
		                  n_img, UKIMG_ENV_MAX);
	n = n_img + n_req;
	if (!(kv = calloc(n + 1, sizeof(*kv))) || !(last = json_object_new_object()))
		return uk_err_internal(err, "env: out of memory");
	for (size_t i = 0; i < n; i++) {
		int k;
		kv[i] = i < n_img
		                ? img[i]
		                : json_object_get_string(json_object_array_get_idx(req, i - n_img));
		k = env_key_len(kv[i]);
		if (i >= n_img && k < 0)
			return uk_err_bad(err, "env[%zu] \"%.200s\": expected KEY=VALUE", i - n_img,
			                  kv[i]);
		if (i >= n_img && (k > UKD_ENV_KEY_MAX || !ukimg_env_key_valid(kv[i], (size_t)k)))
			return uk_err_bad(
			        err,
			        "env[%zu] \"%.200s\": bad variable name (letters, digits and '_', "
			        "not starting with a digit, at most %d)",
			        i - n_img, kv[i], UKD_ENV_KEY_MAX);
		if (k < 0 || k > UKD_ENV_KEY_MAX)
			continue; /* an image's odd entry: kept as it is */
		memcpy(key, kv[i], (size_t)k);
		key[k] = 0;
		json_object_object_add(last, key, json_object_new_int64((int64_t)i));
	}
	if (!(r = strv_alloc(n, err)))
		return -1;
	for (size_t i = 0; i < n; i++) {
		int k = env_key_len(kv[i]);
		if (k >= 0 && k <= UKD_ENV_KEY_MAX) {
			memcpy(key, kv[i], (size_t)k);
			key[k] = 0;
			if (!json_object_object_get_ex(last, key, &pos) ||
			    json_object_get_int64(pos) != (int64_t)i)
				continue; /* replaced by a later one */
		}
		if (!(r[k_out++] = strdup(kv[i]))) {
			strv_free(r);
			return uk_err_internal(err, "env: out of memory");
		}
	}
	*out = r;
	return 0;
}

size_t ukd_spec_env_added(const struct ukd_instance_spec *s)
{
	if (s->net_mode == UKD_NET_BRIDGE)
		return s->n_nets > 0 ? 4 + 3 * (size_t)(s->n_nets - 1) : 0;
	if (ukd_spec_has_nic(s) && !ukd_env_has(s->env, "UK_IP"))
		return 1 + (size_t)!ukd_env_has(s->env, "UK_GW");
	return 0;
}

int ukd_spec_env_check(const struct ukd_instance_spec *s, uk_err_t *err)
{
	size_t n = strv_len(s->env), extra = ukd_spec_env_added(s);
	const char *whose =
	        !extra ? ""
	        : s->net_mode == UKD_NET_BRIDGE
	                ? " and the networks' (UK_IP, UK_GW, UK_MAC, UK_DNS, UK_IPk, ...)"
	                : " and the network's (UK_IP, UK_GW)";

	if (n + extra > UKIMG_ENV_MAX)
		return uk_err_bad(err,
		                  "env: %zu variables with the image's%s: at most %d (what a "
		                  "guest holds)",
		                  n + extra, whose, UKIMG_ENV_MAX);
	return 0;
}

/* ---- memory, restart policy, accelerator ---- */

int ukd_memory_check(int64_t bytes, uk_err_t *err)
{
	struct sysinfo si;
	uint64_t host;

	if (bytes < (int64_t)UKIMG_MEMORY_MIN || bytes > (int64_t)UKIMG_MEMORY_MAX)
		return uk_err_bad(err, "memory: expected bytes from 2 MiB to 64 GiB");
	if (sysinfo(&si) < 0)
		return 0; /* cannot tell: QEMU's own failure is mapped to a 400 too */
	host = (uint64_t)si.totalram * si.mem_unit;
	if ((uint64_t)bytes > host)
		return uk_err_bad(err,
		                  "memory: %.1f GiB is more than this host has (%.1f GiB): give "
		                  "less with -m",
		                  (double)bytes / (1 << 30), (double)host / (1 << 30));
	return 0;
}

static int restart_decode(json_object *rp, struct ukd_restart_policy *out, uk_err_t *err)
{
	json_object *name = NULL, *max = NULL;
	const char *n = "no";
	int64_t m = 0;
	int k;

	if (rp) {
		if (!json_object_is_type(rp, json_type_object))
			return uk_err_bad(err, "restart_policy: expected an object");
		if (json_object_object_get_ex(rp, "name", &name)) {
			if (!json_object_is_type(name, json_type_string))
				return uk_err_bad(err, "restart_policy.name: expected a string");
			n = json_object_get_string(name);
		}
		if (json_object_object_get_ex(rp, "maximum_retry_count", &max)) {
			if (!json_object_is_type(max, json_type_int) ||
			    (m = json_object_get_int64(max)) < 0 || m > 1000000)
				return uk_err_bad(err,
				                  "restart_policy.maximum_retry_count: expected "
				                  "an integer from 0 to 1000000");
		}
	}
	if (!*n)
		n = "no";
	if ((k = name_index(restart_names, n)) < 0)
		return uk_err_bad(err,
		                  "restart_policy.name \"%s\": expected no, on-failure, always, "
		                  "unless-stopped or on-unhealthy",
		                  n);
	if (m && k != UKD_RESTART_ON_FAILURE && k != UKD_RESTART_ON_UNHEALTHY)
		return uk_err_bad(err, "restart_policy.maximum_retry_count: only for on-failure "
		                       "and on-unhealthy");
	out->kind = (enum ukd_restart_kind)k;
	out->max_retry = (int)m;
	return 0;
}

static json_object *restart_json(const struct ukd_restart_policy *rp)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(ukd_restart_kind_name(rp->kind)));
	json_object_object_add(o, "maximum_retry_count", json_object_new_int64(rp->max_retry));
	return o;
}

static int bool_decode(json_object *v, const char *what, int *out, uk_err_t *err)
{
	if (!json_object_is_type(v, json_type_boolean))
		return uk_err_bad(err, "%s: expected true or false", what);
	*out = json_object_get_boolean(v);
	return 0;
}

/* ---- networks, mounts, labels, vcpus, backend ---- */

static const char *const net_keys[] = {"name", "aliases", "ip", NULL};

static int net_decode(json_object *o, size_t i, struct ukd_net_attach *n, uk_err_t *err)
{
	json_object *v;
	char what[64];
	struct in_addr a;

	snprintf(what, sizeof(what), "networks[%zu]", i);
	if (keys_check(o, what, net_keys, "name, aliases, ip", err) < 0)
		return -1;
	snprintf(what, sizeof(what), "networks[%zu].name", i);
	if (!json_object_object_get_ex(o, "name", &v))
		return uk_err_bad(err, "%s is required", what);
	if (name_decode(v, what, n->network, err) < 0)
		return -1;
	if (present(o, "aliases", &v)) {
		size_t k;
		if (!json_object_is_type(v, json_type_array))
			return uk_err_bad(err, "networks[%zu].aliases: expected an array of names",
			                  i);
		if ((k = json_object_array_length(v)) > UKD_ALIASES_MAX)
			return uk_err_bad(err, "networks[%zu].aliases: at most %d (got %zu)", i,
			                  UKD_ALIASES_MAX, k);
		for (size_t j = 0; j < k; j++) {
			snprintf(what, sizeof(what), "networks[%zu].aliases[%zu]", i, j);
			if (name_decode(json_object_array_get_idx(v, j), what, n->aliases[j], err) <
			    0)
				return -1;
		}
		n->n_aliases = (int)k;
	}
	if (present(o, "ip", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) >= sizeof(n->ip) ||
		    inet_pton(AF_INET, json_object_get_string(v), &a) != 1)
			return uk_err_bad(err,
			                  "networks[%zu].ip %.100s: expected an IPv4 address like "
			                  "10.89.0.5",
			                  i, json_object_to_json_string(v));
		inet_ntop(AF_INET, &a, n->ip, sizeof(n->ip));
	}
	return 0;
}

static int nets_decode(json_object *v, struct ukd_instance_spec *s, uk_err_t *err)
{
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return uk_err_bad(err, "networks: expected an array of {\"name\", \"aliases\", "
		                       "\"ip\"} objects");
	if ((n = json_object_array_length(v)) > UKD_NETS_MAX)
		return uk_err_bad(err, "networks: at most %d networks per instance (got %zu)",
		                  UKD_NETS_MAX, n);
	for (size_t i = 0; i < n; i++) {
		struct ukd_net_attach *a = &s->nets[i];
		int special;
		if (net_decode(json_object_array_get_idx(v, i), i, a, err) < 0)
			return -1;
		special = !strcmp(a->network, "none") || !strcmp(a->network, "user");
		if (special && (n > 1 || a->n_aliases || a->ip[0]))
			return uk_err_bad(err,
			                  "networks[%zu] \"%s\" stands alone: no other network, "
			                  "alias or ip with it",
			                  i, a->network);
		if (special) {
			s->net_mode = strcmp(a->network, "none") ? UKD_NET_USER : UKD_NET_NONE;
			memset(a, 0, sizeof(*a));
			return 0;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->nets[j].network, a->network))
				return uk_err_bad(
				        err,
				        "networks[%zu] and networks[%zu] both join \"%s\": "
				        "join a network once",
				        j, i, a->network);
		s->n_nets = (int)i + 1;
	}
	s->net_mode = n ? UKD_NET_BRIDGE : UKD_NET_DEFAULT;
	return 0;
}

static json_object *nets_json(const struct ukd_instance_spec *s)
{
	json_object *a = json_object_new_array(), *o, *al;

	if (s->net_mode == UKD_NET_NONE || s->net_mode == UKD_NET_USER) {
		o = json_object_new_object();
		json_object_object_add(
		        o, "name",
		        json_object_new_string(s->net_mode == UKD_NET_NONE ? "none" : "user"));
		json_object_array_add(a, o);
		return a;
	}
	for (int i = 0; s->net_mode == UKD_NET_BRIDGE && i < s->n_nets; i++) {
		o = json_object_new_object();
		al = json_object_new_array();
		json_object_object_add(o, "name", json_object_new_string(s->nets[i].network));
		for (int j = 0; j < s->nets[i].n_aliases; j++)
			json_object_array_add(al, json_object_new_string(s->nets[i].aliases[j]));
		json_object_object_add(o, "aliases", al);
		if (s->nets[i].ip[0]) /* else IPAM's choice, not stored here */
			json_object_object_add(o, "ip", json_object_new_string(s->nets[i].ip));
		json_object_array_add(a, o);
	}
	return a;
}

/* An absolute guest path without "." or ".." components, empty ones or a trailing '/'. */
static int target_ok(const char *t)
{
	if (t[0] != '/' || !t[1] || strlen(t) >= sizeof(((struct ukd_mount *)0)->target))
		return 0;
	for (const char *p = t; *p; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
		if (*p == '/') {
			size_t k = strcspn(p + 1, "/");
			if (!k || (k == 1 && p[1] == '.') || (k == 2 && p[1] == '.' && p[2] == '.'))
				return 0;
		}
	}
	return 1;
}

static const char *const mount_keys[] = {"type", "source", "target", "read_only", NULL};

static int mount_decode(json_object *o, size_t i, struct ukd_mount *m, uk_err_t *err)
{
	json_object *v;
	char what[64];

	snprintf(what, sizeof(what), "mounts[%zu]", i);
	if (keys_check(o, what, mount_keys, "type, source, target, read_only", err) < 0)
		return -1;
	if (present(o, "type", &v) && (!json_object_is_type(v, json_type_string) ||
	                               strcmp(json_object_get_string(v), "volume")))
		return uk_err_bad(err, "mounts[%zu].type %.100s: expected \"volume\"", i,
		                  json_object_to_json_string(v));
	snprintf(what, sizeof(what), "mounts[%zu].source", i);
	if (!present(o, "source", &v))
		return uk_err_bad(err, "%s is required (a volume name)", what);
	if (name_decode(v, what, m->volume, err) < 0)
		return -1;
	if (!present(o, "target", &v))
		return uk_err_bad(err, "mounts[%zu].target is required (an absolute guest path)",
		                  i);
	if (!json_object_is_type(v, json_type_string) || !target_ok(json_object_get_string(v)))
		return uk_err_bad(err,
		                  "mounts[%zu].target %.200s: expected an absolute guest path like "
		                  "/data (not /, no . or .. or empty components, no trailing /, "
		                  "at most %zu bytes)",
		                  i, json_object_to_json_string(v), sizeof(m->target) - 1);
	snprintf(m->target, sizeof(m->target), "%s", json_object_get_string(v));
	snprintf(what, sizeof(what), "mounts[%zu].read_only", i);
	if (present(o, "read_only", &v) && bool_decode(v, what, &m->read_only, err) < 0)
		return -1;
	return 0;
}

static int mounts_decode(json_object *v, struct ukd_instance_spec *s, uk_err_t *err)
{
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return uk_err_bad(err, "mounts: expected an array of {\"type\": \"volume\", "
		                       "\"source\", \"target\", \"read_only\"} objects");
	if ((n = json_object_array_length(v)) > UKD_MOUNTS_MAX)
		return uk_err_bad(err, "mounts: at most %d mounts per instance (got %zu)",
		                  UKD_MOUNTS_MAX, n);
	for (size_t i = 0; i < n; i++) {
		if (mount_decode(json_object_array_get_idx(v, i), i, &s->mounts[i], err) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->mounts[j].target, s->mounts[i].target))
				return uk_err_bad(
				        err,
				        "mounts[%zu] and mounts[%zu] both mount on %s: one "
				        "volume per target",
				        j, i, s->mounts[i].target);
		s->n_mounts = (int)i + 1;
	}
	return 0;
}

static json_object *mounts_json(const struct ukd_instance_spec *s)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < s->n_mounts; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string("volume"));
		json_object_object_add(o, "source", json_object_new_string(s->mounts[i].volume));
		json_object_object_add(o, "target", json_object_new_string(s->mounts[i].target));
		json_object_object_add(o, "read_only",
		                       json_object_new_boolean(s->mounts[i].read_only));
		json_object_array_add(a, o);
	}
	return a;
}

static int labels_decode(json_object *v, char ***out, uk_err_t *err)
{
	size_t n = 0;
	char **r;

	if (!json_object_is_type(v, json_type_object))
		return uk_err_bad(err, "labels: expected an object of strings like "
		                       "{\"com.example.team\": \"web\"}");
	if (json_object_object_length(v) > UKD_LABELS_MAX)
		return uk_err_bad(err, "labels: at most %d (got %d)", UKD_LABELS_MAX,
		                  json_object_object_length(v));
	json_object_object_foreach(v, key, val)
	{
		if (!*key || strchr(key, '='))
			return uk_err_bad(
			        err, "labels \"%.100s\": a key is not empty and has no '='", key);
		if (!json_object_is_type(val, json_type_string))
			return uk_err_bad(err, "labels.%.100s: expected a string", key);
		if (strlen(key) + 1 + strlen(json_object_get_string(val)) >= UKD_LABEL_MAX)
			return uk_err_bad(err, "labels.%.100s: at most %d bytes with its value",
			                  key, UKD_LABEL_MAX - 1);
	}
	if (!(r = strv_alloc((size_t)json_object_object_length(v), err)))
		return -1;
	json_object_object_foreach(v, k2, val2)
	{
		size_t len = strlen(k2) + strlen(json_object_get_string(val2)) + 2;
		if (!(r[n] = malloc(len))) {
			strv_free(r);
			return uk_err_internal(err, "labels: out of memory");
		}
		snprintf(r[n++], len, "%s=%s", k2, json_object_get_string(val2));
	}
	*out = r;
	return 0;
}

static json_object *labels_json(char *const *labels)
{
	json_object *o = json_object_new_object();
	char key[UKD_LABEL_MAX];

	for (size_t i = 0; labels && labels[i]; i++) {
		const char *eq = strchr(labels[i], '=');
		size_t k = eq ? (size_t)(eq - labels[i]) : strlen(labels[i]);
		snprintf(key, sizeof(key), "%.*s", (int)k, labels[i]);
		json_object_object_add(o, key, json_object_new_string(eq ? eq + 1 : ""));
	}
	return o;
}

static int vcpus_decode(json_object *v, unsigned *out, uk_err_t *err)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int) || (n = json_object_get_int64(v)) < 1 || n > 16)
		return uk_err_bad(err, "vcpus %.40s: expected an integer from 1 to 16",
		                  json_object_to_json_string(v));
	*out = (unsigned)n;
	return 0;
}

static int backend_decode(json_object *v, enum ukd_backend_kind *out, uk_err_t *err)
{
	if (!json_object_is_type(v, json_type_string) ||
	    ukd_backend_kind_parse(json_object_get_string(v), out) < 0 ||
	    *out == UKD_BACKEND_DEFAULT)
		return uk_err_bad(err, "backend %.100s: expected \"libvirt\" or \"qemu\"",
		                  json_object_to_json_string(v));
	return 0;
}

/* "[IP:]PORT" (IP an IPv4 literal, 127.0.0.1 when absent; PORT 1-65535) into "IP:PORT". */
static int gdb_decode(json_object *v, char *out, size_t len, uk_err_t *err)
{
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	const char *colon = s ? strrchr(s, ':') : NULL, *port = colon ? colon + 1 : s;
	char ip[16] = "127.0.0.1", *end;
	struct in_addr a;
	unsigned long p;

	if (s && colon && (colon == s || (size_t)(colon - s) >= sizeof(ip)))
		s = NULL;
	if (s && colon)
		snprintf(ip, sizeof(ip), "%.*s", (int)(colon - s), s);
	p = s && *port >= '0' && *port <= '9' ? strtoul(port, &end, 10) : 0;
	if (!s || !p || p > 65535 || *end || inet_pton(AF_INET, ip, &a) != 1)
		return uk_err_bad(err,
		                  "gdb %.60s: expected \"[IP:]PORT\" (IPv4, 127.0.0.1 by default; "
		                  "port 1-65535), e.g. \"127.0.0.1:1234\"",
		                  json_object_to_json_string(v));
	snprintf(out, len, "%s:%lu", ip, p);
	return 0;
}

/* ---- exposed ports ---- */

/* "80/tcp" (the image's form) into (s)'s next entry. Never refused: a pulled image's odd key
 * (a range "8000-8010/tcp" keeps its first port, anything else is port 0) and entries past
 * UKD_EXPOSED_MAX are kept only as far as the NIC decision needs: that there is one. */
static void exposed_add(struct ukd_instance_spec *s, const char *e)
{
	unsigned long p;
	char *end;
	const char *slash = strchr(e, '/');

	if (s->n_exposed >= UKD_EXPOSED_MAX)
		return;
	p = strtoul(e, &end, 10);
	s->exposed[s->n_exposed] = end != e && p <= 65535 ? (unsigned)p : 0;
	snprintf(s->exposed_proto[s->n_exposed], sizeof(s->exposed_proto[0]), "%s",
	         slash && !strcmp(slash + 1, "udp") ? "udp" : "tcp");
	s->n_exposed++;
}

/* ---- the decoders ---- */

static const char *const create_keys[] = {
        "image",       "name",        "cmd",     "env",         "memory",   "restart_policy",
        "auto_remove", "accelerator", "ports",   "healthcheck", "log_opts", "networks",
        "mounts",      "labels",      "backend", "vcpus",       "gdb",      NULL};

/* (key)'s string, NULL when absent or null; (*bad) set when it is another type. */
static const char *opt_string(json_object *body, const char *key, int *bad)
{
	json_object *v;

	if (!present(body, key, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		*bad = 1;
		return NULL;
	}
	return json_object_get_string(v);
}

int ukd_spec_body_check(json_object *body, const char **image, const char **name, uk_err_t *err)
{
	const char *key;
	int bad = 0;

	if (!body || !json_object_is_type(body, json_type_object))
		return uk_err_bad(err, "expected a JSON object body with at least \"image\"");
	if ((key = ukd_json_unknown_key(body, create_keys)))
		return uk_err_bad(err, "unknown field \"%s\" in the instance config", key);
	*image = opt_string(body, "image", &bad);
	*name = opt_string(body, "name", &bad);
	if (bad || !*image || !**image)
		return uk_err_bad(err,
		                  "\"image\" and \"name\" must be strings; \"image\" is required");
	return 0;
}

/* The fields a create body and a stored config write the same way. */
static int common_decode(json_object *o, struct ukd_instance_spec *s, uk_err_t *err)
{
	json_object *v;

	if (restart_decode(present(o, "restart_policy", &v) ? v : NULL, &s->restart, err) < 0)
		return -1;
	if (json_object_object_get_ex(o, "auto_remove", &v) && v &&
	    bool_decode(v, "auto_remove", &s->auto_remove, err) < 0)
		return -1;
	if (present(o, "networks", &v) && nets_decode(v, s, err) < 0)
		return -1;
	if (present(o, "mounts", &v) && mounts_decode(v, s, err) < 0)
		return -1;
	if (present(o, "labels", &v) && labels_decode(v, &s->labels, err) < 0)
		return -1;
	if (!s->labels && !(s->labels = strv_alloc(0, err)))
		return -1;
	s->vcpus = 1;
	if (present(o, "vcpus", &v) && vcpus_decode(v, &s->vcpus, err) < 0)
		return -1;
	if (present(o, "gdb", &v) && gdb_decode(v, s->gdb, sizeof(s->gdb), err) < 0)
		return -1;
	return 0;
}

/* What needs the instance's other fields: checked after all of them are in. */
static int cross_check(const struct ukd_instance_spec *s, uk_err_t *err)
{
	if (s->restart.kind == UKD_RESTART_ON_UNHEALTHY && s->health.kind == UKD_HEALTH_NONE)
		return uk_err_bad(err, "restart_policy on-unhealthy needs a health check "
		                       "(healthcheck.http or healthcheck.tcp)");
	if (s->net_mode == UKD_NET_NONE && s->n_ports)
		return uk_err_bad(err, "ports: networks \"none\" has no NIC to publish ports on: "
		                       "drop -p or the none network");
	if (s->net_mode == UKD_NET_NONE && s->health.kind != UKD_HEALTH_NONE)
		return uk_err_bad(err, "healthcheck: networks \"none\" has no NIC to probe: drop "
		                       "the check or the none network");
	return ukd_spec_env_check(s, err);
}

int ukd_spec_from_body(struct ukd *d, json_object *body, const struct ukimg_info *img,
                       struct ukd_instance_spec *out, uk_err_t *err)
{
	struct ukd_instance_spec *s = out;
	struct ukd_log_opts lo = d->cfg.log;
	const char *image, *name, *acc;
	json_object *v;
	char type[8];
	int64_t mem = (int64_t)img->memory;
	int bad = 0;

	memset(s, 0, sizeof(*s));
	if (ukd_spec_body_check(body, &image, &name, err) < 0)
		goto fail;
	if ((acc = opt_string(body, "accelerator", &bad)), bad) {
		uk_err_bad(err, "accelerator: expected a string");
		goto fail;
	}
	if (ukd_accel_resolve(d, acc, type, err) < 0)
		goto fail;
	/* "" is the daemon's choice, fixed now as the stored form names one of the three */
	s->accel = (enum ukd_accel_want)name_index(accel_names, acc && *acc ? acc : "auto");
	if (acc && !*acc && name_index(accel_names, d->cfg.accelerator) > 0)
		s->accel = (enum ukd_accel_want)name_index(accel_names, d->cfg.accelerator);
	if (present(body, "cmd", &v) ? strv_decode(v, "cmd", &s->cmd, err) < 0
	                             : !(s->cmd = strv_copy(img->cmd, err)))
		goto fail;
	v = NULL;
	if (present(body, "env", &v) && !json_object_is_type(v, json_type_array)) {
		uk_err_bad(err, "env: expected an array of strings");
		goto fail;
	}
	for (size_t i = 0; v && i < json_object_array_length(v); i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string)) {
			uk_err_bad(err, "env[%zu]: expected a string", i);
			goto fail;
		}
	if (env_merge(img->env, v, &s->env, err) < 0)
		goto fail;
	if (present(body, "memory", &v)) {
		if (!json_object_is_type(v, json_type_int)) {
			uk_err_bad(err, "memory: expected bytes from 2 MiB to 64 GiB");
			goto fail;
		}
		mem = json_object_get_int64(v);
	}
	if (ukd_memory_check(mem, err) < 0)
		goto fail;
	s->memory = (uint64_t)mem;
	if (common_decode(body, s, err) < 0)
		goto fail;
	if (present(body, "ports", &v) && ukd_ports_decode(v, 1, s->ports, &s->n_ports, err) < 0)
		goto fail;
	if (ukd_health_cfg_parse(present(body, "healthcheck", &v) ? v : NULL, &s->health, err) < 0)
		goto fail;
	if (!lo.max_size || !lo.max_file)
		lo = (struct ukd_log_opts){UKD_LOG_MAX_SIZE_DEFAULT, UKD_LOG_MAX_FILE_DEFAULT};
	if (present(body, "log_opts", &v) && ukd_log_opts_parse(v, &lo, "log_opts", &lo, err) < 0)
		goto fail;
	s->log = lo;
	/* Kept with the instance: an image that EXPOSEs ports gets a NIC even without -p. */
	for (size_t i = 0; img->exposed_ports && img->exposed_ports[i]; i++)
		exposed_add(s, img->exposed_ports[i]);
	if (present(body, "backend", &v) && backend_decode(v, &s->backend, err) < 0)
		goto fail;
	if (cross_check(s, err) < 0)
		goto fail;
	return 0;
fail:
	ukd_spec_clear(s);
	return -1;
}

json_object *ukd_spec_to_json(const struct ukd_instance_spec *s)
{
	json_object *o = json_object_new_object(), *a;

	json_object_object_add(o, "accelerator",
	                       json_object_new_string(ukd_accel_want_name(s->accel)));
	json_object_object_add(o, "cmd", strv_json(s->cmd));
	json_object_object_add(o, "env", strv_json(s->env));
	json_object_object_add(o, "memory", json_object_new_int64((int64_t)s->memory));
	json_object_object_add(o, "restart_policy", restart_json(&s->restart));
	json_object_object_add(o, "auto_remove", json_object_new_boolean(s->auto_remove));
	a = json_object_new_array();
	for (int i = 0; i < s->n_ports; i++)
		json_object_array_add(a, ukd_port_json(&s->ports[i]));
	json_object_object_add(o, "ports", a);
	json_object_object_add(o, "healthcheck", ukd_health_cfg_json(&s->health));
	json_object_object_add(o, "log_opts", ukd_log_opts_json(&s->log));
	a = json_object_new_array();
	for (int i = 0; i < s->n_exposed; i++) {
		char e[16];
		snprintf(e, sizeof(e), "%u/%s", s->exposed[i], s->exposed_proto[i]);
		json_object_array_add(a, json_object_new_string(e));
	}
	json_object_object_add(o, "exposed_ports", a);
	json_object_object_add(o, "networks", nets_json(s));
	json_object_object_add(o, "mounts", mounts_json(s));
	json_object_object_add(o, "labels", labels_json(s->labels));
	if (s->backend != UKD_BACKEND_DEFAULT)
		json_object_object_add(o, "backend",
		                       json_object_new_string(ukd_backend_kind_name(s->backend)));
	json_object_object_add(o, "vcpus", json_object_new_int((int)s->vcpus));
	if (s->gdb[0])
		json_object_object_add(o, "gdb", json_object_new_string(s->gdb));
	return o;
}

/*
 * A stored config: what ukd_spec_to_json() wrote, or what an older ukd wrote (the same keys,
 * fewer of them: a missing one is its default). Its ports are not checked against this
 * host's addresses again, its memory not against this host's RAM (the start does).
 */
static int stored_decode(json_object *o, struct ukd_instance_spec *s, uk_err_t *err)
{
	json_object *v;
	int k;

	if (!json_object_is_type(o, json_type_object))
		return uk_err_bad(err, "expected an object");
	if (present(o, "accelerator", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return uk_err_bad(err, "accelerator: expected a string");
		/* "" (an older ukd stored what the request said): the default, auto */
		k = *json_object_get_string(v) ? name_index(accel_names, json_object_get_string(v))
		                               : 0;
		if (k < 0)
			return uk_err_bad(err, "accelerator \"%.20s\": expected auto, kvm or tcg",
			                  json_object_get_string(v));
		s->accel = (enum ukd_accel_want)k;
	}
	if (present(o, "cmd", &v) ? strv_decode(v, "cmd", &s->cmd, err) < 0
	                          : !(s->cmd = strv_alloc(0, err)))
		return -1;
	if (present(o, "env", &v) ? strv_decode(v, "env", &s->env, err) < 0
	                          : !(s->env = strv_alloc(0, err)))
		return -1;
	if (present(o, "memory", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
			return uk_err_bad(err, "memory: expected bytes");
		s->memory = (uint64_t)json_object_get_int64(v);
	}
	if (common_decode(o, s, err) < 0)
		return -1;
	if (present(o, "ports", &v) && ukd_ports_decode(v, 0, s->ports, &s->n_ports, err) < 0)
		return -1;
	if (present(o, "healthcheck", &v) && !json_object_is_type(v, json_type_object))
		return uk_err_bad(err, "healthcheck: expected an object");
	ukd_health_cfg_from_json(present(o, "healthcheck", &v) ? v : NULL, &s->health);
	s->log = (struct ukd_log_opts){UKD_LOG_MAX_SIZE_DEFAULT, UKD_LOG_MAX_FILE_DEFAULT};
	if (present(o, "log_opts", &v) &&
	    ukd_log_opts_parse(v, &s->log, "log_opts", &s->log, err) < 0)
		return -1;
	if (present(o, "exposed_ports", &v)) {
		if (!json_object_is_type(v, json_type_array))
			return uk_err_bad(err, "exposed_ports: expected an array of strings");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *e = json_object_array_get_idx(v, i);
			if (!json_object_is_type(e, json_type_string))
				return uk_err_bad(err, "exposed_ports[%zu]: expected a string", i);
			exposed_add(s, json_object_get_string(e));
		}
	}
	/* Configs from before the "backend" key were all run by libvirt, the only backend. */
	s->backend = UKD_BACKEND_LIBVIRT;
	if (present(o, "backend", &v) && backend_decode(v, &s->backend, err) < 0)
		return -1;
	return 0;
}

int ukd_spec_from_json(const char *text, struct ukd_instance_spec *out, uk_err_t *err)
{
	_cleanup_json_ json_object *o = NULL;
	uk_err_t e = {0};

	memset(out, 0, sizeof(*out));
	if (!text || !(o = json_tokener_parse(text)))
		return uk_err_internal(err, "instance config is corrupt: not JSON");
	if (stored_decode(o, out, &e) < 0) {
		ukd_spec_clear(out);
		return uk_err_internal(err, "instance config is corrupt: %s", e.message);
	}
	return 0;
}

void ukd_spec_clear(struct ukd_instance_spec *s)
{
	strv_free(s->cmd);
	strv_free(s->env);
	strv_free(s->labels);
	memset(s, 0, sizeof(*s));
}

int ukd_spec_has_nic(const struct ukd_instance_spec *s)
{
	switch (s->net_mode) {
	case UKD_NET_NONE:
		return 0;
	case UKD_NET_USER:
	case UKD_NET_BRIDGE:
		return 1;
	default:
		return s->n_ports > 0 || s->n_exposed > 0 || s->health.kind != UKD_HEALTH_NONE;
	}
}
