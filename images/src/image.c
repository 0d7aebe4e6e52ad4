/* Reading stored images: manifest and config checks, inspect, blob lists, kernel extraction. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#define JSON_BLOB_MAX (4U << 20)

static json_object *json_blob(const ukimg_store_t *store, const char *digest, const char *what,
                              uk_err_t *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	json_object *o;

	if (ukimg_store_read(store, digest, JSON_BLOB_MAX, &text, &len, err) < 0) {
		uk_err_wrap(err, "%s", what);
		return NULL;
	}
	o = uk_json_parse_exact(text, len);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		uk_err_bad(err, "%s %s: not a JSON object (or one holding \\u0000)", what, digest);
		return NULL;
	}
	return o;
}

int image_descriptor(json_object *desc, const char **media_type, const char **digest, int64_t *size,
                     uk_err_t *err)
{
	json_object *s;
	const char *mt = uk_json_str(desc, "mediaType"), *d = uk_json_str(desc, "digest");

	if (!json_object_is_type(desc, json_type_object) || !mt || !d ||
	    !json_object_object_get_ex(desc, "size", &s) || !json_object_is_type(s, json_type_int))
		return uk_err_bad(err, "malformed descriptor (needs mediaType, digest and size)");
	if (!ukimg_digest_valid(d))
		return uk_err_bad(err, "descriptor digest \"%.80s\" is not a sha256 digest", d);
	if (json_object_get_int64(s) < 0)
		return uk_err_bad(err, "descriptor %s has a negative size", d);
	if (media_type)
		*media_type = mt;
	if (digest)
		*digest = d;
	if (size)
		*size = json_object_get_int64(s);
	return 0;
}

json_object *image_manifest_load(const ukimg_store_t *store, const char *digest, uk_err_t *err)
{
	_cleanup_json_ json_object *m = json_blob(store, digest, "manifest", err);
	json_object *v, *layers;
	const char *mt;

	if (!m)
		return NULL;
	mt = uk_json_str(m, "mediaType");
	if (!json_object_object_get_ex(m, "schemaVersion", &v) || json_object_get_int(v) != 2 ||
	    (mt && strcmp(mt, UKIMG_MT_MANIFEST))) {
		uk_err_bad(err, "manifest %s: not an OCI image manifest (schemaVersion 2, %s)",
		           digest, UKIMG_MT_MANIFEST);
		return NULL;
	}
	if (!json_object_object_get_ex(m, "config", &v) ||
	    !json_object_object_get_ex(m, "layers", &layers) ||
	    !json_object_is_type(layers, json_type_array)) {
		uk_err_bad(err, "manifest %s: no config or no layers array", digest);
		return NULL;
	}
	if (image_descriptor(v, NULL, NULL, NULL, err) < 0) {
		uk_err_wrap(err, "manifest %s: config", digest);
		return NULL;
	}
	for (size_t i = 0; i < json_object_array_length(layers); i++) {
		if (image_descriptor(json_object_array_get_idx(layers, i), NULL, NULL, NULL, err) <
		    0) {
			uk_err_wrap(err, "manifest %s: layer %zu", digest, i);
			return NULL;
		}
	}
	return steal_ptr(m);
}

static json_object *config_labels(json_object *config)
{
	json_object *c, *l;

	if (!json_object_object_get_ex(config, "config", &c) ||
	    !json_object_object_get_ex(c, "Labels", &l) ||
	    !json_object_is_type(l, json_type_object))
		return NULL;
	return l;
}

json_object *image_descriptor_new(const char *media_type, const char *digest, int64_t size)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "mediaType", json_object_new_string(media_type));
	json_object_object_add(d, "digest", json_object_new_string(digest));
	json_object_object_add(d, "size", json_object_new_int64(size));
	return d;
}

const char *image_config_platform(json_object *config)
{
	return uk_json_str(config_labels(config), UKIMG_LABEL_PLATFORM);
}

int image_config_check(json_object *config, uk_err_t *err)
{
	const char *p = uk_json_str(config_labels(config), UKIMG_LABEL_PLATFORM);

	if (!p)
		return uk_err_bad(err,
		                  "not a uk image: its config has no \"%s\" label (build it with "
		                  "uk build)",
		                  UKIMG_LABEL_PLATFORM);
	return 0;
}

/* Loads manifest (m) and its config; checks both; one layer of a known type. */
static int image_load(const ukimg_store_t *store, const char *manifest_digest, json_object **m_out,
                      json_object **c_out, const char **config_digest, const char **layer_digest,
                      int64_t *layer_size, uk_err_t *err)
{
	_cleanup_json_ json_object *m = image_manifest_load(store, manifest_digest, err);
	_cleanup_json_ json_object *c = NULL;
	json_object *cd, *layers;
	const char *mt, *d;

	if (!m)
		return -1;
	json_object_object_get_ex(m, "config", &cd);
	image_descriptor(cd, &mt, &d, NULL, NULL);
	if (strcmp(mt, UKIMG_MT_CONFIG))
		return uk_err_bad(err, "image %s: config media type %s is not %s", manifest_digest,
		                  mt, UKIMG_MT_CONFIG);
	*config_digest = d;
	json_object_object_get_ex(m, "layers", &layers);
	if (json_object_array_length(layers) != 1)
		return uk_err_bad(err,
		                  "image %s: a uk image has exactly one layer, this one has %zu",
		                  manifest_digest, json_object_array_length(layers));
	image_descriptor(json_object_array_get_idx(layers, 0), &mt, layer_digest, layer_size, NULL);
	if (strcmp(mt, UKIMG_MT_LAYER))
		return uk_err_bad(err, "image %s: layer media type %s is not %s", manifest_digest,
		                  mt, UKIMG_MT_LAYER);
	c = json_blob(store, d, "config", err);
	if (!c)
		return uk_err_wrap(err, "image %s", manifest_digest);
	if (image_config_check(c, err) < 0)
		return uk_err_wrap(err, "image %s", manifest_digest);
	*m_out = steal_ptr(m);
	*c_out = steal_ptr(c);
	return 0;
}

static int strv_from_json(json_object *arr, char ***out, size_t *n)
{
	*out = util_strv_new();
	*n = 0;
	if (!*out)
		return -1;
	if (!arr || !json_object_is_type(arr, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		if (json_object_is_type(e, json_type_string) &&
		    util_strv_push(out, n, json_object_get_string(e)) < 0)
			return -1;
	}
	return 0;
}

static int strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void ukimg_info_clear(ukimg_info_t *info)
{
	if (!info)
		return;
	ukimg_strv_free(info->cmd);
	ukimg_strv_free(info->env);
	ukimg_strv_free(info->exposed_ports);
	ukimg_strv_free(info->labels);
	memset(info, 0, sizeof(*info));
}

int ukimg_inspect(const ukimg_store_t *store, const char *manifest_digest, ukimg_info_t *info,
                  uk_err_t *err)
{
	_cleanup_json_ json_object *m = NULL;
	_cleanup_json_ json_object *c = NULL;
	json_object *cc = NULL, *v, *labels;
	const char *cd, *ld, *s;
	int64_t lsize;
	double created;

	memset(info, 0, sizeof(*info));
	if (image_load(store, manifest_digest, &m, &c, &cd, &ld, &lsize, err) < 0)
		return -1;
	snprintf(info->manifest_digest, sizeof(info->manifest_digest), "%s", manifest_digest);
	snprintf(info->config_digest, sizeof(info->config_digest), "%s", cd);
	json_object_object_get_ex(c, "config", &cc);
	if (strv_from_json(json_object_object_get_ex(cc, "Cmd", &v) ? v : NULL, &info->cmd,
	                   &info->n_cmd) < 0 ||
	    strv_from_json(json_object_object_get_ex(cc, "Env", &v) ? v : NULL, &info->env,
	                   &info->n_env) < 0 ||
	    !(info->exposed_ports = util_strv_new()))
		goto oom;
	if (json_object_object_get_ex(cc, "ExposedPorts", &v) &&
	    json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val)
		{
			(void)val;
			if (util_strv_push(&info->exposed_ports, &info->n_ports, key) < 0)
				goto oom;
		}
		qsort(info->exposed_ports, info->n_ports, sizeof(char *), strcmp_p);
	}
	labels = config_labels(c);
	if (!(info->labels = util_strv_new()))
		goto oom;
	if (labels) {
		json_object_object_foreach(labels, key, val)
		{
			_cleanup_free_ char *kv = NULL;

			if (!json_object_is_type(val, json_type_string))
				continue;
			if (asprintf(&kv, "%s=%s", key, json_object_get_string(val)) < 0 ||
			    util_strv_push(&info->labels, &info->n_labels, kv) < 0)
				goto oom;
		}
	}
	info->memory = UKIMG_MEMORY_DEFAULT;
	if ((s = uk_json_str(labels, UKIMG_LABEL_MEMORY))) {
		char *end;
		unsigned long long mem = strtoull(s, &end, 10);
		if (!*end && mem >= UKIMG_MEMORY_MIN && mem <= UKIMG_MEMORY_MAX)
			info->memory = mem;
	}
	snprintf(info->platform, sizeof(info->platform), "%s",
	         uk_json_str(labels, UKIMG_LABEL_PLATFORM));
	s = uk_json_str(labels, UKIMG_LABEL_RUNTIME);
	snprintf(info->runtime_version, sizeof(info->runtime_version), "%s", s ? s : "");
	info->cmdline_version = 1;
	if ((s = uk_json_str(labels, UKIMG_LABEL_CMDLINE)) && *s >= '1' && *s <= '9' && !s[1])
		info->cmdline_version = *s - '0';
	s = uk_json_str(c, "architecture");
	snprintf(info->architecture, sizeof(info->architecture), "%s", s ? s : "");
	s = uk_json_str(c, "os");
	snprintf(info->os, sizeof(info->os), "%s", s ? s : "");
	s = uk_json_str(c, "created");
	snprintf(info->created_rfc3339, sizeof(info->created_rfc3339), "%s", s ? s : "");
	info->created = uk_time_parse_rfc3339(s, &created) == 0 ? (int64_t)created : 0;
	info->size = lsize;
	return 0;
oom:
	ukimg_info_clear(info);
	return uk_err_errno(err, ENOMEM, "inspect %s", manifest_digest);
}

char **ukimg_image_blobs(const ukimg_store_t *store, const char *manifest_digest, size_t *n_out,
                         uk_err_t *err)
{
	_cleanup_json_ json_object *m = image_manifest_load(store, manifest_digest, err);
	_cleanup_strv_ char **v = NULL;
	json_object *cd, *layers;
	const char *d;
	size_t n = 0;

	if (!m)
		return NULL;
	v = util_strv_new();
	if (!v || util_strv_push(&v, &n, manifest_digest) < 0)
		goto oom;
	json_object_object_get_ex(m, "config", &cd);
	image_descriptor(cd, NULL, &d, NULL, NULL);
	if (util_strv_push(&v, &n, d) < 0)
		goto oom;
	json_object_object_get_ex(m, "layers", &layers);
	for (size_t i = 0; i < json_object_array_length(layers); i++) {
		image_descriptor(json_object_array_get_idx(layers, i), NULL, &d, NULL, NULL);
		if (util_strv_push(&v, &n, d) < 0)
			goto oom;
	}
	if (n_out)
		*n_out = n;
	return steal_ptr(v);
oom:
	uk_err_errno(err, ENOMEM, "image %s", manifest_digest);
	return NULL;
}

int ukimg_kernel_path(ukimg_store_t *store, const char *manifest_digest, char *out, size_t outlen,
                      uk_err_t *err)
{
	_cleanup_json_ json_object *m = NULL;
	_cleanup_json_ json_object *c = NULL;
	const char *cd, *ld;
	int64_t lsize;
	char dir[PATH_MAX], path[PATH_MAX + 16], tmp[PATH_MAX], x[PATH_MAX + 8], k[PATH_MAX + 8];
	char kf[PATH_MAX * 2], src[PATH_MAX * 2];
	ukimg_tar_limits_t lim = {.max_entries = 1000000, .max_bytes = 1ULL << 40};
	_cleanup_close_ int fd = -1;
	struct stat st;
	int rc = -1;

	if (image_load(store, manifest_digest, &m, &c, &cd, &ld, &lsize, err) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/kernels/%s", ukimg_store_root(store), cd + 7);
	snprintf(path, sizeof(path), "%s/kernel", dir);
	if ((size_t)snprintf(out, outlen, "%s", path) >= outlen)
		return uk_err_internal(err, "kernel path too long");
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return 0;

	if (ukimg_store_verify(store, ld, err) < 0)
		return uk_err_wrap(err, "image %s: layer", manifest_digest);
	fd = ukimg_store_open_blob(store, ld, err);
	if (fd < 0)
		return -1;
	if (store_tmp_dir(store, "kernel", tmp, sizeof(tmp), err) < 0)
		return -1;
	snprintf(x, sizeof(x), "%s/x", tmp);
	snprintf(k, sizeof(k), "%s/k", tmp);
	if (mkdir(x, 0700) < 0 || mkdir(k, 0755) < 0) {
		uk_err_errno(err, errno, "kernel: mkdir in %s", tmp);
		goto out;
	}
	if (ukimg_tar_extract(fd, x, &lim, err) < 0) {
		uk_err_wrap(err, "image %s: layer %s", manifest_digest, ld);
		goto out;
	}
	snprintf(src, sizeof(src), "%s/" UKIMG_LAYER_KERNEL, x);
	if (lstat(src, &st) < 0 || !S_ISREG(st.st_mode)) {
		uk_err_bad(err, "image %s: its layer has no regular file /%s", manifest_digest,
		           UKIMG_LAYER_KERNEL);
		goto out;
	}
	snprintf(kf, sizeof(kf), "%s/kernel", k);
	if (rename(src, kf) < 0 || chmod(kf, 0644) < 0 || chmod(k, 0755) < 0) {
		uk_err_errno(err, errno, "kernel: move %s", src);
		goto out;
	}
	{
		int kfd = open(kf, O_RDONLY | O_CLOEXEC);
		if (kfd >= 0) {
			fsync(kfd);
			close(kfd);
		}
	}
	/* Losing the race to another caller is fine: the winner's kernel is the same bytes. */
	if (rename(k, dir) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
		uk_err_errno(err, errno, "kernel: rename to %s", dir);
		goto out;
	}
	snprintf(kf, sizeof(kf), "%s/kernels", ukimg_store_root(store));
	uk_fsync_dir(kf);
	rc = 0;
out:
	uk_rm_rf(tmp);
	return rc;
}
