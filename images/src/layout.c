/* Save and load images as an OCI image-layout tar (plus Docker's manifest.json on save). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#define LAYOUT_JSON_MAX (4U << 20)
#define LAYOUT_LOAD_MAX_BYTES (4ULL << 30)
#define LAYOUT_INDEX_DEPTH 4

static int strv_has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

static int blob_name(const char *digest, char *out, size_t len)
{
	return snprintf(out, len, "blobs/sha256/%s", digest + 7) >= (int)len ? -1 : 0;
}

int ukimg_save(const ukimg_store_t *store, const ukimg_ref_t *refs, size_t n, int out_fd,
               uk_err_t *err)
{
	ukimg_tar_t *tar = ukimg_tar_new();
	_cleanup_json_ json_object *index = json_object_new_object();
	_cleanup_json_ json_object *docker = json_object_new_array();
	_cleanup_strv_ char **blobs = util_strv_new();
	_cleanup_strv_ char **seen = util_strv_new();
	size_t n_blobs = 0, n_seen = 0;
	json_object *manifests = json_object_new_array();
	const char *s;
	size_t len;
	int rc = -1;

	if (!tar || !index || !docker || !blobs || !seen || !manifests) {
		json_object_put(manifests);
		ukimg_tar_free(tar);
		return uk_err_errno(err, ENOMEM, "save");
	}
	json_object_object_add(index, "schemaVersion", json_object_new_int(2));
	json_object_object_add(index, "mediaType", json_object_new_string(UKIMG_MT_INDEX));
	json_object_object_add(index, "manifests", manifests);

	for (size_t i = 0; i < n; i++) {
		const char *md = refs[i].manifest_digest;
		size_t nb = 0;
		_cleanup_strv_ char **ib = NULL;
		json_object *d, *ann, *dm = NULL;
		int64_t size;

		if (!ukimg_digest_valid(md)) {
			uk_err_bad(err, "save: invalid digest \"%.80s\"", md ? md : "");
			goto out;
		}
		ib = ukimg_image_blobs(store, md, &nb, err);
		if (!ib) {
			uk_err_wrap(err, "save");
			goto out;
		}
		for (size_t j = 0; j < nb; j++) {
			if (!ukimg_store_has(store, ib[j])) {
				uk_err_notfound(err, "save: image %s: blob %s is missing", md,
				                ib[j]);
				goto out;
			}
			if (!strv_has(blobs, n_blobs, ib[j]) &&
			    util_strv_push(&blobs, &n_blobs, ib[j]) < 0)
				goto oom;
		}
		size = ukimg_store_size(store, md, err);
		if (size < 0)
			goto out;
		d = json_object_new_object();
		json_object_object_add(d, "mediaType", json_object_new_string(UKIMG_MT_MANIFEST));
		json_object_object_add(d, "digest", json_object_new_string(md));
		json_object_object_add(d, "size", json_object_new_int64(size));
		if (refs[i].name) {
			ann = json_object_new_object();
			json_object_object_add(ann, UKIMG_ANNOT_CONTAINERD_NAME,
			                       json_object_new_string(refs[i].name));
			json_object_object_add(ann, UKIMG_ANNOT_REF_NAME,
			                       json_object_new_string(refs[i].name));
			json_object_object_add(d, "annotations", ann);
		}
		json_object_array_add(manifests, d);

		/* Docker's manifest.json: one entry per image, its names as RepoTags. */
		for (size_t j = 0; j < json_object_array_length(docker); j++) {
			json_object *e = json_object_array_get_idx(docker, j), *id;
			if (json_object_object_get_ex(e, "_digest", &id) &&
			    !strcmp(json_object_get_string(id), md))
				dm = e;
		}
		if (!dm) {
			char bn[128];
			json_object *layers = json_object_new_array();

			dm = json_object_new_object();
			json_object_object_add(dm, "_digest", json_object_new_string(md));
			blob_name(ib[1], bn, sizeof(bn));
			json_object_object_add(dm, "Config", json_object_new_string(bn));
			json_object_object_add(dm, "RepoTags", json_object_new_array());
			for (size_t j = 2; j < nb; j++) {
				blob_name(ib[j], bn, sizeof(bn));
				json_object_array_add(layers, json_object_new_string(bn));
			}
			json_object_object_add(dm, "Layers", layers);
			json_object_array_add(docker, dm);
		}
		if (refs[i].name && !strv_has(seen, n_seen, refs[i].name)) {
			json_object *tags;
			json_object_object_get_ex(dm, "RepoTags", &tags);
			json_object_array_add(tags, json_object_new_string(refs[i].name));
			if (util_strv_push(&seen, &n_seen, refs[i].name) < 0)
				goto oom;
		}
	}
	for (size_t j = 0; j < json_object_array_length(docker); j++)
		json_object_object_del(json_object_array_get_idx(docker, j), "_digest");

	if (ukimg_tar_add_buf(tar, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0, err) <
	    0)
		goto out;
	s = json_object_to_json_string_length(
	        index, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (ukimg_tar_add_buf(tar, "index.json", s, len, 0, err) < 0)
		goto out;
	s = json_object_to_json_string_length(
	        docker, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (ukimg_tar_add_buf(tar, "manifest.json", s, len, 0, err) < 0 ||
	    ukimg_tar_add_dir(tar, "blobs", err) < 0 ||
	    ukimg_tar_add_dir(tar, "blobs/sha256", err) < 0)
		goto out;
	for (size_t j = 0; j < n_blobs; j++) {
		char bn[128], path[PATH_MAX * 2];
		blob_name(blobs[j], bn, sizeof(bn));
		ukimg_store_path(store, blobs[j], path, sizeof(path), NULL);
		if (ukimg_tar_add_file(tar, bn, path, 0, err) < 0)
			goto out;
	}
	if (ukimg_tar_write(tar, out_fd, err) < 0) {
		uk_err_wrap(err, "save");
		goto out;
	}
	rc = 0;
	goto out;
oom:
	uk_err_errno(err, ENOMEM, "save");
out:
	ukimg_tar_free(tar);
	return rc;
}

/* Loading: everything is checked in the staging dir before anything enters the store. */
struct load {
	ukimg_store_t *store;
	char dir[PATH_MAX + 8];
	char **blobs; /* verified, to adopt */
	size_t n_blobs;
	char **names; /* parallel to digests; "" = no name */
	char **digests;
	size_t n_images, n_names;
	uk_err_t *err;
};

/* Checks the staged blob (digest): a regular file whose content hashes to it, of (size). */
static int stage_verify(struct load *l, const char *digest, int64_t size)
{
	char path[PATH_MAX * 2], got[UKIMG_DIGEST_SIZE];
	int64_t gsize;
	struct stat st;
	_cleanup_close_ int fd = -1;

	if (strv_has(l->blobs, l->n_blobs, digest))
		return 0;
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", l->dir, digest + 7);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return uk_err_bad(l->err, "blob %s is missing from the archive", digest);
	if (store_hash_fd(fd, got, &gsize, l->err) < 0)
		return -1;
	if (strcmp(got, digest))
		return uk_err_bad(l->err, "blob %s is corrupt: its content hashes to %s", digest,
		                  got);
	if (size >= 0 && gsize != size)
		return uk_err_bad(l->err, "blob %s has %lld bytes, its descriptor says %lld",
		                  digest, (long long)gsize, (long long)size);
	if (util_strv_push(&l->blobs, &l->n_blobs, digest) < 0)
		return uk_err_errno(l->err, ENOMEM, "load");
	return 0;
}

static json_object *stage_json(struct load *l, const char *rel, uk_err_t *err)
{
	char path[PATH_MAX * 2];
	_cleanup_free_ char *text = NULL;
	size_t len;
	json_object *o;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", l->dir, rel);
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		uk_err_bad(err, "%s is missing", rel);
		return NULL;
	}
	if (uk_read_file(path, LAYOUT_JSON_MAX, &text, &len, err) < 0)
		return NULL;
	o = uk_json_parse_exact(text, len);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		uk_err_bad(err, "%s is not a JSON object (or holds \\u0000)", rel);
		return NULL;
	}
	return o;
}

static int load_manifest(struct load *l, const char *digest, int64_t size, const char *name)
{
	char rel[128];
	_cleanup_json_ json_object *m = NULL;
	_cleanup_json_ json_object *c = NULL;
	json_object *v, *layers;
	const char *mt, *d, *cd;
	int64_t sz;

	if (stage_verify(l, digest, size) < 0)
		return -1;
	blob_name(digest, rel, sizeof(rel));
	m = stage_json(l, rel, l->err);
	if (!m)
		return uk_err_wrap(l->err, "manifest %s", digest);
	mt = uk_json_str(m, "mediaType");
	if (!json_object_object_get_ex(m, "schemaVersion", &v) || json_object_get_int(v) != 2 ||
	    (mt && strcmp(mt, UKIMG_MT_MANIFEST)))
		return uk_err_bad(l->err, "manifest %s is not an OCI image manifest", digest);
	if (!json_object_object_get_ex(m, "config", &v) ||
	    image_descriptor(v, &mt, &cd, &sz, l->err) < 0)
		return uk_err_wrap(l->err, "manifest %s: config", digest);
	if (strcmp(mt, UKIMG_MT_CONFIG))
		return uk_err_bad(l->err, "manifest %s: config media type %s is not %s", digest, mt,
		                  UKIMG_MT_CONFIG);
	if (stage_verify(l, cd, sz) < 0)
		return uk_err_wrap(l->err, "manifest %s", digest);
	blob_name(cd, rel, sizeof(rel));
	c = stage_json(l, rel, l->err);
	if (!c || image_config_check(c, l->err) < 0)
		return uk_err_wrap(l->err, "image %s", digest);
	if (!json_object_object_get_ex(m, "layers", &layers) ||
	    !json_object_is_type(layers, json_type_array) || json_object_array_length(layers) != 1)
		return uk_err_bad(l->err, "manifest %s: a uk image has exactly one layer", digest);
	if (image_descriptor(json_object_array_get_idx(layers, 0), &mt, &d, &sz, l->err) < 0)
		return uk_err_wrap(l->err, "manifest %s: layer", digest);
	if (strcmp(mt, UKIMG_MT_LAYER))
		return uk_err_bad(l->err, "manifest %s: layer media type %s is not %s", digest, mt,
		                  UKIMG_MT_LAYER);
	if (stage_verify(l, d, sz) < 0)
		return uk_err_wrap(l->err, "manifest %s", digest);
	if (util_strv_push(&l->names, &l->n_names, name ? name : "") < 0 ||
	    util_strv_push(&l->digests, &l->n_images, digest) < 0)
		return uk_err_errno(l->err, ENOMEM, "load");
	return 0;
}

static int load_index(struct load *l, json_object *index, const char *what, const char *name,
                      int depth)
{
	json_object *ms;

	if (depth > LAYOUT_INDEX_DEPTH)
		return uk_err_bad(l->err, "%s: image indexes nested too deep", what);
	if (!json_object_object_get_ex(index, "manifests", &ms) ||
	    !json_object_is_type(ms, json_type_array))
		return uk_err_bad(l->err, "%s has no manifests array", what);
	for (size_t i = 0; i < json_object_array_length(ms); i++) {
		json_object *d = json_object_array_get_idx(ms, i), *ann;
		const char *mt, *digest, *nm = name;
		int64_t size;

		if (image_descriptor(d, &mt, &digest, &size, l->err) < 0)
			return uk_err_wrap(l->err, "%s: manifests[%zu]", what, i);
		if (json_object_object_get_ex(d, "annotations", &ann)) {
			const char *a = uk_json_str(ann, UKIMG_ANNOT_CONTAINERD_NAME);
			if (!a)
				a = uk_json_str(ann, UKIMG_ANNOT_REF_NAME);
			if (a)
				nm = a;
		}
		if (!strcmp(mt, UKIMG_MT_MANIFEST)) {
			if (load_manifest(l, digest, size, nm) < 0)
				return -1;
		} else if (!strcmp(mt, UKIMG_MT_INDEX)) {
			char rel[128];
			_cleanup_json_ json_object *sub = NULL;

			if (stage_verify(l, digest, size) < 0)
				return -1;
			blob_name(digest, rel, sizeof(rel));
			sub = stage_json(l, rel, l->err);
			if (!sub || load_index(l, sub, digest, nm, depth + 1) < 0)
				return uk_err_wrap(l->err, "index %s", digest);
		} else {
			return uk_err_bad(l->err,
			                  "%s: manifests[%zu] has unsupported media type %s", what,
			                  i, mt);
		}
	}
	return 0;
}

int ukimg_load(ukimg_store_t *store, int in_fd, const ukimg_tar_limits_t *limits, ukimg_load_fn cb,
               void *ctx, uk_err_t *err)
{
	struct load l = {.store = store, .err = err};
	ukimg_tar_limits_t lim = {.max_entries = UKIMG_TAR_MAX_ENTRIES,
	                          .max_bytes = LAYOUT_LOAD_MAX_BYTES};
	_cleanup_json_ json_object *layout = NULL;
	_cleanup_json_ json_object *index = NULL;
	char x[PATH_MAX + 8], path[PATH_MAX * 2];
	const char *ver;
	struct stat st;
	int rc = -1;

	if (limits && limits->max_entries)
		lim.max_entries = limits->max_entries;
	if (limits && limits->max_bytes)
		lim.max_bytes = limits->max_bytes;
	l.blobs = util_strv_new();
	l.names = util_strv_new();
	l.digests = util_strv_new();
	if (!l.blobs || !l.names || !l.digests) {
		uk_err_errno(err, ENOMEM, "load");
		goto free;
	}
	if (store_tmp_dir(store, "load", x, sizeof(x), err) < 0)
		goto free;
	snprintf(l.dir, sizeof(l.dir), "%s", x);

	if (ukimg_tar_extract(in_fd, l.dir, &lim, err) < 0) {
		uk_err_wrap(err, "load");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/oci-layout", l.dir);
	if (lstat(path, &st) < 0) {
		snprintf(path, sizeof(path), "%s/manifest.json", l.dir);
		if (lstat(path, &st) == 0)
			uk_err_bad(err,
			           "load: a Docker archive without oci-layout is not supported: "
			           "save the image with uk save (or docker save from Docker "
			           "25 or later)");
		else
			uk_err_bad(err, "load: not an OCI image layout (no oci-layout file)");
		goto out;
	}
	layout = stage_json(&l, "oci-layout", err);
	if (!layout) {
		uk_err_wrap(err, "load");
		goto out;
	}
	ver = uk_json_str(layout, "imageLayoutVersion");
	if (!ver || strncmp(ver, "1.", 2)) {
		uk_err_bad(err, "load: unsupported imageLayoutVersion \"%s\" (expected 1.x)",
		           ver ? ver : "");
		goto out;
	}
	index = stage_json(&l, "index.json", err);
	if (!index || load_index(&l, index, "index.json", NULL, 0) < 0) {
		uk_err_wrap(err, "load");
		goto out;
	}
	if (l.n_images == 0) {
		uk_err_bad(err, "load: the archive holds no image");
		goto out;
	}
	/* Every blob is verified: now they enter the store (each renamed, fsync'ed). */
	for (size_t i = 0; i < l.n_blobs; i++) {
		snprintf(path, sizeof(path), "%s/blobs/sha256/%s", l.dir, l.blobs[i] + 7);
		if (store_adopt(store, path, l.blobs[i], -1, err) < 0) {
			uk_err_wrap(err, "load");
			goto out;
		}
	}
	for (size_t i = 0; i < l.n_images; i++)
		if (cb && cb(ctx, l.names[i][0] ? l.names[i] : NULL, l.digests[i], err) < 0)
			goto out;
	rc = 0;
out:
	uk_rm_rf(l.dir);
free:
	ukimg_strv_free(l.blobs);
	ukimg_strv_free(l.names);
	ukimg_strv_free(l.digests);
	return rc;
}
