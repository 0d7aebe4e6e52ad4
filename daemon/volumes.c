/* Named volumes: files, rows, in-use and writer rules, the start path's disks and mounts. */
#include "volumes.h"
#include "cmdline.h"
#include "events.h"
#include "log.h"
#include "uk/json.h"
#include "volume_tar.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMPORT_BYTES_MAX (256ull << 20) /* file data one import may carry */

/* Serializes volume changes with the writer checks of starts (held briefly: an export or import
 * marks its volume busy under it, then copies outside it). */
static pthread_mutex_t vol_lock = PTHREAD_MUTEX_INITIALIZER;

/* Instances between ukd_volumes_prepare and ukd_volumes_start_done (under vol_lock). */
struct starting {
	char id[65];
	struct ukd_mount mounts[UKD_MOUNTS_MAX];
	int n_mounts;
	char *paths[UKD_MOUNTS_MAX];
	struct starting *next;
};
static struct starting *starting;

/* Volumes an export reads or an import writes right now (under vol_lock; the copy itself runs
 * outside it): rm refuses them, a start refuses to write one (or to read one being imported). */
struct busy {
	char name[64];
	int writes; /* an import */
	struct busy *next;
};
static struct busy *busy;

/* Refuses (409) what would clash with an export or import of (name) in progress: any of them,
 * or only an import when (writers_only). Caller holds vol_lock. */
static int refuse_busy(const char *name, int writers_only, const char *what, uk_err_t *err)
{
	for (struct busy *b = busy; b; b = b->next)
		if (!strcmp(b->name, name) && (b->writes || !writers_only))
			return uk_err_conflict(
			        err,
			        "%s volume %s: an %s of it is in progress: try again "
			        "when it is done",
			        what, name, b->writes ? "import" : "export");
	return 0;
}

static void unlockp(pthread_mutex_t **m)
{
	if (*m)
		pthread_mutex_unlock(*m);
}
#define VOL_LOCK()                                                                \
	__attribute__((cleanup(unlockp))) pthread_mutex_t *vol_held_ = &vol_lock; \
	pthread_mutex_lock(&vol_lock)

int ukd_volume_name_check(const char *name, uk_err_t *err)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= UKD_NAME_MAX)
		return uk_err_bad(err, "volume name \"%.64s\": 1 to %d characters",
		                  name ? name : "", UKD_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		int alnum =
		        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return uk_err_bad(
			        err,
			        "volume name \"%.64s\": use letters, digits and _ . - (not "
			        "first)",
			        name);
	}
	return 0;
}

int ukd_volume_size_parse(const char *s, uint64_t *out, uk_err_t *err)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
	if (!v || errno)
		goto bad;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	}
	if ((*end == 'b' || *end == 'B') && shift)
		end++;
	if (*end || v > (UKD_VOLUME_SIZE_MAX >> shift))
		goto bad;
	v <<= shift;
	if (v < UKD_VOLUME_SIZE_MIN || v % 512)
		goto bad;
	*out = v;
	return 0;
bad:
	return uk_err_bad(err,
	                  "volume size \"%.32s\": a multiple of 512 bytes from 1m to 1t (e.g. 64m, "
	                  "1g)",
	                  s ? s : "");
}

static void volume_path(struct ukd *d, const char *name, const char *file, char *out, size_t len)
{
	snprintf(out, len, "%s/volumes%s%s%s%s", d->cfg.root, name ? "/" : "", name ? name : "",
	         file ? "/" : "", file ? file : "");
}

/* A directory QEMU's group may pass through (qemu_user.c: QEMU is not ukd's user when root). */
static int qemu_dir(struct ukd *d, const char *path, uk_err_t *err)
{
	if (mkdir(path, 0710) < 0 && errno != EEXIST)
		return uk_err_errno(err, errno, "create %s", path);
	if (d->qemu_gid >= 0 && chown(path, (uid_t)-1, (gid_t)d->qemu_gid) < 0)
		return uk_err_errno(err, errno, "give %s to QEMU's group", path);
	return 0;
}

/* Makes (name)'s directory and sparse image of (size) bytes, QEMU's group may read and write. */
static int volume_files(struct ukd *d, const char *name, uint64_t size, uk_err_t *err)
{
	char dir[PATH_MAX], img[PATH_MAX];
	_cleanup_close_ int fd = -1;

	volume_path(d, NULL, NULL, dir, sizeof(dir));
	if (qemu_dir(d, dir, err) < 0)
		return -1;
	volume_path(d, name, NULL, dir, sizeof(dir));
	volume_path(d, name, "data.img", img, sizeof(img));
	if (qemu_dir(d, dir, err) < 0)
		return -1;
	fd = open(img, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd < 0)
		return uk_err_errno(err, errno, "create %s", img);
	if (ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0)
		return uk_err_errno(err, errno, "size %s to %llu bytes", img,
		                    (unsigned long long)size);
	if (d->qemu_gid >= 0 &&
	    (fchown(fd, (uid_t)-1, (gid_t)d->qemu_gid) < 0 || fchmod(fd, 0660) < 0))
		return uk_err_errno(err, errno, "give %s to QEMU's group", img);
	return 0;
}

static void volume_files_remove(struct ukd *d, const char *name)
{
	char dir[PATH_MAX], img[PATH_MAX];

	volume_path(d, name, NULL, dir, sizeof(dir));
	volume_path(d, name, "data.img", img, sizeof(img));
	if ((unlink(img) < 0 && errno != ENOENT) || (rmdir(dir) < 0 && errno != ENOENT))
		log_warn("volumes", "remove %s: %s", dir, strerror(errno));
}

/* Caller holds vol_lock. */
static int create_locked(struct ukd *d, const char *name, uint64_t size, json_object *labels,
                         int *created, uk_err_t *err)
{
	struct ukd_volume_row v = {0}, old;
	const char *lt;

	*created = 0;
	if (ukd_volume_name_check(name, err) < 0)
		return -1;
	if (ukd_store_volume_get(d->store, name, &old, NULL) == 0) {
		if (size && (uint64_t)old.size != size)
			return uk_err_conflict(
			        err,
			        "volume %s exists with size %lld: remove it first to "
			        "make it %llu bytes",
			        name, (long long)old.size, (unsigned long long)size);
		return 0;
	}
	lt = labels ? json_object_to_json_string_ext(labels, JSON_C_TO_STRING_PLAIN) : "{}";
	if (strlen(lt) >= sizeof(v.labels))
		return uk_err_bad(err, "volume %s: labels over %zu bytes", name,
		                  sizeof(v.labels) - 1);
	if (!size)
		size = UKD_VOLUME_SIZE_DEFAULT;
	snprintf(v.name, sizeof(v.name), "%s", name);
	snprintf(v.labels, sizeof(v.labels), "%s", lt);
	v.size = (int64_t)size;
	v.created = ukd_now_ns();
	/* the file first: a row never names a volume without one */
	if (volume_files(d, name, size, err) < 0 ||
	    ukd_store_volume_insert(d->store, &v, err) < 0) {
		volume_files_remove(d, name);
		return uk_err_wrap(err, "create volume %s", name);
	}
	*created = 1;
	ukd_events_emit(d, "volume", "create", name, name, NULL);
	return 0;
}

int ukd_volume_create(struct ukd *d, const char *name, uint64_t size, json_object *labels,
                      int *created, uk_err_t *err)
{
	VOL_LOCK();
	return create_locked(d, name, size, labels, created, err);
}

/* ---- who uses a volume ---- */

struct users {
	const char *volume;
	const char *self;   /* an instance to leave out, or NULL */
	int running_only;   /* count only running instances */
	int writers_only;   /* count only read-write mounts */
	json_object *names; /* names of the users found, or NULL */
	char first[128];    /* the first user's name */
	int n;
};

static void users_add(struct users *u, const char *name)
{
	if (!u->n++)
		snprintf(u->first, sizeof(u->first), "%s", name);
	if (u->names)
		json_object_array_add(u->names, json_object_new_string(name));
}

static int mount_counts(const struct users *u, const struct ukd_mount *m)
{
	return !strcmp(m->volume, u->volume) && (!u->writers_only || !m->read_only);
}

/* (in)'s mounts and whether it runs: the two things read of an instance (core's typed spec). */
static int inst_running(const struct ukd_instance *in)
{
	return in->state == UKD_STATE_RUNNING;
}

static int inst_mounts(const struct ukd_instance *in, const struct ukd_mount **m)
{
	*m = in->spec.mounts;
	return in->spec.n_mounts;
}

static int users_one(void *p, struct ukd_instance *in)
{
	struct users *u = p;
	const struct ukd_mount *m;
	int n = inst_mounts(in, &m);

	if (u->self && !strcmp(in->id, u->self))
		return 0;
	if (u->running_only && !inst_running(in))
		return 0;
	for (int i = 0; i < n; i++)
		if (mount_counts(u, &m[i])) {
			users_add(u, in->name);
			break;
		}
	return 0;
}

/* Counts the instances using (u->volume), the starting ones included. Caller holds vol_lock. */
static int users_find(struct ukd *d, struct users *u, uk_err_t *err)
{
	u->n = 0;
	u->first[0] = 0;
	if (ukd_store_instance_each(d->store, users_one, u, err) < 0)
		return -1;
	for (struct starting *s = starting; s; s = s->next) {
		if (u->self && !strcmp(s->id, u->self))
			continue;
		for (int i = 0; i < s->n_mounts; i++)
			if (mount_counts(u, &s->mounts[i])) {
				struct ukd_instance in;
				int found =
				        ukd_store_instance_find(d->store, s->id, &in, NULL) == 0;
				users_add(u, found ? in.name : s->id);
				if (found)
					ukd_instance_clear(&in);
				break;
			}
	}
	return u->n;
}

/* ---- inspect, list, remove, prune ---- */

static json_object *volume_json(struct ukd *d, const struct ukd_volume_row *v)
{
	json_object *o = json_object_new_object(), *opts = json_object_new_object();
	json_object *labels = json_tokener_parse(v->labels);
	struct users u = {.volume = v->name, .names = json_object_new_array()};
	char img[PATH_MAX], size[32];
	struct stat st;

	volume_path(d, v->name, "data.img", img, sizeof(img));
	snprintf(size, sizeof(size), "%lld", (long long)v->size);
	json_object_object_add(opts, "size", json_object_new_string(size));
	json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "driver", json_object_new_string("local"));
	json_object_object_add(o, "mountpoint", json_object_new_string(img));
	json_object_object_add(o, "created_at", uk_json_time_ns(v->created));
	json_object_object_add(o, "labels", labels ? labels : json_object_new_object());
	json_object_object_add(o, "options", opts);
	json_object_object_add(o, "scope", json_object_new_string("local"));
	json_object_object_add(o, "size", json_object_new_int64(v->size));
	json_object_object_add(o, "allocated",
	                       json_object_new_int64(stat(img, &st) == 0 ? st.st_blocks * 512 : 0));
	users_find(d, &u, NULL);
	json_object_object_add(o, "used_by", u.names);
	return o;
}

json_object *ukd_volume_inspect(struct ukd *d, const char *name, uk_err_t *err)
{
	struct ukd_volume_row v;

	VOL_LOCK();
	if (ukd_store_volume_get(d->store, name, &v, err) < 0)
		return NULL;
	return volume_json(d, &v);
}

struct list_ctx {
	struct ukd *d;
	json_object *arr;
};

static int list_one(void *p, struct ukd_volume_row *v)
{
	struct list_ctx *c = p;

	json_object_array_add(c->arr, volume_json(c->d, v));
	return 0;
}

json_object *ukd_volume_list(struct ukd *d, uk_err_t *err)
{
	struct list_ctx c = {d, json_object_new_array()};

	VOL_LOCK();
	if (ukd_store_volume_each(d->store, list_one, &c, err) < 0) {
		json_object_put(c.arr);
		return NULL;
	}
	return c.arr;
}

/* Caller holds vol_lock. */
static int remove_locked(struct ukd *d, const char *name, int force, uk_err_t *err)
{
	struct users u = {.volume = name, .running_only = force};
	struct ukd_volume_row v;

	if (ukd_store_volume_get(d->store, name, &v, err) < 0)
		return force && err->status == 404 ? 0 : -1;
	if (users_find(d, &u, err) < 0 || refuse_busy(name, 0, "remove", err) < 0)
		return -1;
	if (u.n)
		return uk_err_conflict(
		        err, "volume %s is in use by instance %s%s: remove %s first%s", name,
		        u.first, u.n > 1 ? " and others" : "", u.n > 1 ? "them" : "it",
		        force ? " (a running instance's volume is never removed)"
		              : " (or, once stopped, use force)");
	if (ukd_store_volume_delete(d->store, name, err) < 0)
		return -1;
	volume_files_remove(d, name);
	ukd_events_emit(d, "volume", "destroy", name, name, NULL);
	return 0;
}

int ukd_volume_remove(struct ukd *d, const char *name, int force, uk_err_t *err)
{
	VOL_LOCK();
	return remove_locked(d, name, force, err);
}

struct prune_ctx {
	struct ukd *d;
	json_object *names;
};

static int prune_collect(void *p, struct ukd_volume_row *v)
{
	struct prune_ctx *c = p;

	json_object_array_add(c->names, json_object_new_string(v->name));
	return 0;
}

json_object *ukd_volume_prune(struct ukd *d, uk_err_t *err)
{
	struct prune_ctx c = {d, json_object_new_array()};
	json_object *out = json_object_new_object(), *deleted = json_object_new_array();
	int64_t reclaimed = 0;

	VOL_LOCK();
	if (ukd_store_volume_each(d->store, prune_collect, &c, err) < 0) {
		json_object_put(c.names);
		json_object_put(out);
		json_object_put(deleted);
		return NULL;
	}
	for (size_t i = 0; i < json_object_array_length(c.names); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(c.names, i));
		struct users u = {.volume = name};
		char img[PATH_MAX];
		struct stat st;
		uk_err_t e = {0};

		if (users_find(d, &u, &e) != 0 || refuse_busy(name, 0, "prune", &e) < 0)
			continue;
		volume_path(d, name, "data.img", img, sizeof(img));
		int64_t used = stat(img, &st) == 0 ? st.st_blocks * 512 : 0;
		if (remove_locked(d, name, 0, &e) < 0) {
			log_warn("volumes", "prune %s: %s", name, e.message);
			continue;
		}
		reclaimed += used;
		json_object_array_add(deleted, json_object_new_string(name));
	}
	json_object_put(c.names);
	json_object_object_add(out, "volumes_deleted", deleted);
	json_object_object_add(out, "space_reclaimed", json_object_new_int64(reclaimed));
	return out;
}

/* ---- export, import ---- */

/* 409 while an instance (running or starting) mounts (name): any mount when (writers_only) is 0,
 * else a read-write one. Caller holds vol_lock. */
static int refuse_in_use(struct ukd *d, const char *name, int writers_only, const char *what,
                         uk_err_t *err)
{
	struct users u = {.volume = name, .running_only = 1, .writers_only = writers_only};
	int n = users_find(d, &u, err);

	if (n < 0)
		return -1;
	if (n)
		return uk_err_conflict(
		        err, "%s volume %s: running instance %s mounts it%s: stop it first", what,
		        name, u.first, writers_only ? " read-write" : "");
	return 0;
}

/* Marks (name) busy (an export reads it, or an import writes it). Caller holds vol_lock. */
static struct busy *busy_add(const char *name, int writes, uk_err_t *err)
{
	struct busy *b = calloc(1, sizeof(*b));

	if (!b) {
		uk_err_errno(err, ENOMEM, "volume %s", name);
		return NULL;
	}
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->writes = writes;
	b->next = busy;
	busy = b;
	return b;
}

static void busy_done(struct busy *b)
{
	VOL_LOCK();
	for (struct busy **pp = &busy; *pp; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			free(b);
			return;
		}
}

struct ukd_volume_export {
	struct busy *busy;
	struct ukd_voltar_exp *tar;
};

int ukd_volume_export_begin(struct ukd *d, const char *name, struct ukd_volume_export **out,
                            uk_err_t *err)
{
	struct ukd_volume_export *x = calloc(1, sizeof(*x));
	struct ukd_volume_row v;
	char img[PATH_MAX];

	*out = NULL;
	if (!x)
		return uk_err_errno(err, ENOMEM, "export volume %s", name);
	{
		VOL_LOCK();
		if (ukd_store_volume_get(d->store, name, &v, err) < 0 ||
		    refuse_in_use(d, name, 1, "export", err) < 0 ||
		    refuse_busy(name, 1, "export", err) < 0 ||
		    !(x->busy = busy_add(name, 0, err))) {
			free(x);
			return -1;
		}
	}
	/* The store is read outside the lock: starts, other volumes' changes go on meanwhile. */
	volume_path(d, name, "data.img", img, sizeof(img));
	if (ukd_voltar_export_open(img, &x->tar, err) < 0) {
		ukd_volume_export_end(x);
		return uk_err_wrap(err, "export volume %s", name);
	}
	*out = x;
	return 0;
}

ssize_t ukd_volume_export_read(struct ukd_volume_export *x, void *buf, size_t max, uk_err_t *err)
{
	return ukd_voltar_export_read(x->tar, buf, max, err);
}

void ukd_volume_export_end(struct ukd_volume_export *x)
{
	if (!x)
		return;
	ukd_voltar_export_close(x->tar);
	busy_done(x->busy);
	free(x);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0)
		log_warn("volumes", "remove %s: %s", path, strerror(errno));
	return 0;
}

/* Removes (dir) and what an extraction left in it (links are removed, never followed). */
static void scratch_remove(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int ukd_volume_import(struct ukd *d, const char *name, const char *tar_path, uk_err_t *err)
{
	struct ukd_volume_row v;
	char img[PATH_MAX], scratch[PATH_MAX];
	_cleanup_close_ int fd = -1;
	struct busy *b;
	uint64_t max;
	int r;

	if ((fd = open(tar_path, O_RDONLY | O_CLOEXEC)) < 0)
		return uk_err_errno(err, errno, "open %s", tar_path);
	{
		VOL_LOCK();
		if (ukd_store_volume_get(d->store, name, &v, err) < 0 ||
		    refuse_in_use(d, name, 0, "import into", err) < 0 ||
		    refuse_busy(name, 0, "import into", err) < 0 || !(b = busy_add(name, 1, err)))
			return -1;
	}
	/* Outside the lock: the volume is marked busy, so no start, rm or export touches it. */
	volume_path(d, name, "data.img", img, sizeof(img));
	volume_path(d, NULL, ".import-XXXXXX", scratch, sizeof(scratch));
	if (!mkdtemp(scratch)) {
		busy_done(b);
		return uk_err_errno(err, errno, "create %s", scratch);
	}
	max = (uint64_t)v.size / 2 < IMPORT_BYTES_MAX ? (uint64_t)v.size / 2 : IMPORT_BYTES_MAX;
	r = ukd_voltar_import(img, fd, scratch, max, err);
	scratch_remove(scratch);
	busy_done(b);
	if (r < 0)
		return uk_err_wrap(err, "import into volume %s", name);
	ukd_events_emit(d, "volume", "import", name, name, NULL);
	return 0;
}

/* ---- the instance lifecycle ---- */

/* The guest's rules for a mount point (runtime-lib/lib/file.c, docs/storage.md). */
static int target_check(const struct ukd_mount *m, const struct ukd_mount *all, int n,
                        uk_err_t *err)
{
	const char *t = m->target;
	size_t len = strlen(t), start = 1;

	if (t[0] != '/' || len < 2 || len >= 64 || t[len - 1] == '/')
		return uk_err_bad(err,
		                  "mount target \"%s\": an absolute path under 64 bytes, not / "
		                  "(e.g. /data)",
		                  t);
	for (size_t i = 1; i <= len; i++) {
		if (i < len && t[i] != '/' &&
		    !((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '.' || t[i] == '_' || t[i] == '-'))
			return uk_err_bad(err,
			                  "mount target \"%s\": components of letters, digits and "
			                  "._- only",
			                  t);
		if (i == len || t[i] == '/') {
			size_t c = i - start;
			if (!c || (c == 1 && t[start] == '.') ||
			    (c == 2 && t[start] == '.' && t[start + 1] == '.'))
				return uk_err_bad(err,
				                  "mount target \"%s\": no empty, . or .. part", t);
			start = i + 1;
		}
	}
	for (int j = 0; j < n; j++) {
		size_t l = strlen(all[j].target);
		if (&all[j] == m)
			continue;
		if (!strcmp(all[j].volume, m->volume))
			return uk_err_bad(
			        err, "volume %s is mounted twice (%s, %s): one mount per volume",
			        m->volume, all[j].target, t);
		if (!strncmp(all[j].target, t, l) && (t[l] == '/' || !t[l]))
			return uk_err_bad(err, "mount target \"%s\" lies in or on \"%s\"", t,
			                  all[j].target);
	}
	return 0;
}

int ukd_volumes_on_create(struct ukd *d, const struct ukd_instance_spec *spec, uk_err_t *err)
{
	int created;

	VOL_LOCK();
	for (int i = 0; i < spec->n_mounts; i++)
		if (target_check(&spec->mounts[i], spec->mounts, spec->n_mounts, err) < 0)
			return -1;
	for (int i = 0; i < spec->n_mounts; i++)
		if (create_locked(d, spec->mounts[i].volume, 0, NULL, &created, err) < 0)
			return -1;
	return 0;
}

static void starting_free(struct starting *s)
{
	for (int i = 0; i < UKD_MOUNTS_MAX; i++)
		free(s->paths[i]);
	free(s);
}

int ukd_volumes_prepare(struct ukd *d, const struct ukd_instance *in, struct ukd_disk *disks,
                        int *n_disks, char *cmdline, size_t len, uk_err_t *err)
{
	const struct ukd_mount *mounts;
	int n_mounts = inst_mounts(in, &mounts);
	char opts[UKD_CMDLINE_MAX], word[256], img[PATH_MAX];
	struct starting *s;
	size_t used = 0;
	int created;

	*n_disks = 0;
	if (!n_mounts)
		return 0;
	VOL_LOCK();
	if (!(s = calloc(1, sizeof(*s))))
		return uk_err_errno(err, ENOMEM, "start %s", in->name);
	opts[0] = 0;
	for (int i = 0; i < n_mounts; i++) {
		const struct ukd_mount *m = &mounts[i];
		struct users u = {.volume = m->volume,
		                  .self = in->id,
		                  .running_only = 1,
		                  .writers_only = m->read_only};
		int n;

		/* removed since create (uk volume rm -f of a stopped instance's volume): a new one
		 */
		if (create_locked(d, m->volume, 0, NULL, &created, err) < 0 ||
		    refuse_busy(m->volume, m->read_only, "mount", err) < 0 ||
		    (n = users_find(d, &u, err)) < 0)
			goto fail;
		if (n) {
			if (m->read_only)
				uk_err_conflict(
				        err,
				        "volume %s is mounted read-write by running instance "
				        "%s: stop it first (instances share a volume only "
				        "when all mount it read-only)",
				        m->volume, u.first);
			else
				uk_err_conflict(err,
				                "volume %s is mounted by running instance %s: two "
				                "instances may not both use a volume one of them "
				                "writes (mount it :ro in both, or stop %s)",
				                m->volume, u.first, u.first);
			goto fail;
		}
		volume_path(d, m->volume, "data.img", img, sizeof(img));
		if (!(s->paths[i] = strdup(img))) {
			uk_err_errno(err, ENOMEM, "start %s", in->name);
			goto fail;
		}
		disks[i] = (struct ukd_disk){s->paths[i], m->read_only};
		snprintf(word, sizeof(word), "mount=blk%d:%s%s", i, m->target,
		         m->read_only ? ":ro" : "");
		if (ukd_cmdline_append(opts, sizeof(opts), &used, word, err) < 0)
			goto fail;
	}
	if (used + 1 + strlen(cmdline) >= len) {
		uk_err_bad(err, "the kernel command line is over %zu bytes with the mounts", len);
		goto fail;
	}
	memmove(cmdline + used + 1, cmdline, strlen(cmdline) + 1);
	memcpy(cmdline, opts, used);
	cmdline[used] = ' ';
	snprintf(s->id, sizeof(s->id), "%s", in->id);
	memcpy(s->mounts, mounts, (size_t)n_mounts * sizeof(*mounts));
	s->n_mounts = n_mounts;
	s->next = starting;
	starting = s;
	*n_disks = n_mounts;
	return 0;
fail:
	starting_free(s);
	return -1;
}

void ukd_volumes_start_done(struct ukd *d, const char *id)
{
	(void)d;
	VOL_LOCK();
	for (struct starting **pp = &starting; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->id, id)) {
			struct starting *s = *pp;
			*pp = s->next;
			starting_free(s);
			return;
		}
}
