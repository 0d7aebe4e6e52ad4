/* ukd's sqlite3 store: schema migrations, transactions, images/tags/instances/events rows. */
#include "store.h"
#include "log.h"

#include <uk/registry.h>

#include <ctype.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

struct ukd_store {
	sqlite3 *db;
	pthread_mutex_t lock; /* recursive: one writer/reader at a time, transactions nest */
	int depth;
	uint64_t instance_gen; /* bumped by every instance write (for cached listings) */
};

/* Ordered migrations: index i brings the schema from version i to i + 1. */
static const char *const migrations[] = {
        "CREATE TABLE images(id TEXT PRIMARY KEY, manifest TEXT NOT NULL UNIQUE,"
        " created INTEGER NOT NULL, size INTEGER NOT NULL);"
        "CREATE TABLE tags(name TEXT PRIMARY KEY, image TEXT NOT NULL REFERENCES images(id));"
        "CREATE INDEX tags_image ON tags(image);"
        "CREATE TABLE instances(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " image_ref TEXT NOT NULL, image TEXT NOT NULL REFERENCES images(id),"
        " config TEXT NOT NULL, state TEXT NOT NULL, exit_code INTEGER NOT NULL DEFAULT 0,"
        " error TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,"
        " started INTEGER NOT NULL DEFAULT 0, finished INTEGER NOT NULL DEFAULT 0,"
        " domain_name TEXT NOT NULL UNIQUE, domain_uuid TEXT NOT NULL DEFAULT '',"
        " domain_type TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0,"
        " restart_count INTEGER NOT NULL DEFAULT 0, stop_requested INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX instances_image ON instances(image);"
        "CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
        " type TEXT NOT NULL, action TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,"
        " attrs TEXT NOT NULL);"
        "CREATE INDEX events_time ON events(time);",
        /* uk networks (daemon/network.c): one row each, and one endpoint per instance on one */
        "CREATE TABLE networks(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " subnet TEXT NOT NULL, prefix INTEGER NOT NULL, gateway TEXT NOT NULL,"
        " internal INTEGER NOT NULL, outbound INTEGER NOT NULL, created INTEGER NOT NULL);"
        "CREATE TABLE endpoints(instance TEXT NOT NULL, network TEXT NOT NULL"
        " REFERENCES networks(id), ip TEXT NOT NULL, mac TEXT NOT NULL, tap TEXT NOT NULL,"
        " aliases TEXT NOT NULL, ports TEXT NOT NULL, PRIMARY KEY(instance, network),"
        " UNIQUE(network, ip));",
        /* volumes (daemon/volumes.c); IF NOT EXISTS: other branches add migrations too */
        "CREATE TABLE IF NOT EXISTS volumes(name TEXT PRIMARY KEY, size INTEGER NOT NULL,"
        " created INTEGER NOT NULL, labels TEXT NOT NULL DEFAULT '{}');",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int db_err(struct ukd_store *s, uk_err_t *err, const char *what)
{
	int code = sqlite3_extended_errcode(s->db);

	if ((code & 0xff) == SQLITE_CONSTRAINT)
		return uk_err_conflict(err, "%s: %s", what, sqlite3_errmsg(s->db));
	return uk_err_internal(err, "database %s: %s", what, sqlite3_errmsg(s->db));
}

static void lock(struct ukd_store *s)
{
	pthread_mutex_lock(&s->lock);
}

static void unlock(struct ukd_store *s)
{
	pthread_mutex_unlock(&s->lock);
}

static void stmt_finalize(sqlite3_stmt **st)
{
	sqlite3_finalize(*st);
}
#define _cleanup_stmt_ __attribute__((cleanup(stmt_finalize)))

/* Prepares (sql) and binds the NULL-terminated text arguments in order. */
static sqlite3_stmt *prep(struct ukd_store *s, uk_err_t *err, const char *sql, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	const char *a;
	int i = 1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_err(s, err, "prepare");
		return NULL;
	}
	va_start(ap, sql);
	while ((a = va_arg(ap, const char *)))
		sqlite3_bind_text(st, i++, a, -1, SQLITE_TRANSIENT);
	va_end(ap);
	return st;
}

static int exec(struct ukd_store *s, const char *sql, uk_err_t *err)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		uk_err_internal(err, "database: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int store_version(struct ukd_store *s, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (exec(s, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)", err) < 0)
		return -1;
	st = prep(s, err, "SELECT max(version) FROM schema_version", NULL);
	if (!st)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_err(s, err, "read schema_version");
	return sqlite3_column_int(st, 0);
}

static int store_migrate(struct ukd_store *s, uk_err_t *err)
{
	int v = store_version(s, err);
	char sql[64];

	if (v < 0)
		return -1;
	if (v > N_MIGRATIONS)
		return uk_err_internal(err,
		                       "database schema version %d is newer than this ukd (%d)", v,
		                       N_MIGRATIONS);
	for (; v < N_MIGRATIONS; v++) {
		if (ukd_store_begin(s, err) < 0)
			return -1;
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES(%d)", v + 1);
		if (exec(s, migrations[v], err) < 0 || exec(s, sql, err) < 0) {
			ukd_store_rollback(s);
			return uk_err_wrap(err, "migrate schema to version %d", v + 1);
		}
		if (ukd_store_commit(s, err) < 0)
			return -1;
		log_info("store", "schema migrated to version %d", v + 1);
	}
	return 0;
}

struct ukd_store *ukd_store_open(const char *root, uk_err_t *err)
{
	struct ukd_store *s = calloc(1, sizeof(*s));
	pthread_mutexattr_t ma;
	char path[PATH_MAX];

	if (!s) {
		uk_err_errno(err, ENOMEM, "open database");
		return NULL;
	}
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&s->lock, &ma);
	snprintf(path, sizeof(path), "%s/ukd.db", root);
	if (sqlite3_open_v2(path, &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK) {
		uk_err_internal(err, "open database %s: %s", path,
		                s->db ? sqlite3_errmsg(s->db) : "out of memory");
		ukd_store_close(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (exec(s, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL",
	         err) < 0 ||
	    store_migrate(s, err) < 0) {
		uk_err_wrap(err, "open database %s", path);
		ukd_store_close(s);
		return NULL;
	}
	return s;
}

sqlite3 *ukd_store_sqlite(struct ukd_store *s)
{
	return s->db;
}

void ukd_store_close(struct ukd_store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int ukd_store_begin(struct ukd_store *s, uk_err_t *err)
{
	lock(s);
	if (s->depth++ == 0 && exec(s, "BEGIN IMMEDIATE", err) < 0) {
		s->depth--;
		unlock(s);
		return -1;
	}
	return 0;
}

int ukd_store_commit(struct ukd_store *s, uk_err_t *err)
{
	int r = 0;

	if (--s->depth == 0 && exec(s, "COMMIT", err) < 0) {
		exec(s, "ROLLBACK", NULL);
		r = -1;
	}
	unlock(s);
	return r;
}

uint64_t ukd_store_instance_gen(struct ukd_store *s)
{
	/* Read on every cached GET: an atomic load, not the store's lock. */
	return __atomic_load_n(&s->instance_gen, __ATOMIC_ACQUIRE);
}

void ukd_store_rollback(struct ukd_store *s)
{
	/* rolled-back instance writes changed nothing, but be safe */
	__atomic_add_fetch(&s->instance_gen, 1, __ATOMIC_RELEASE);
	/* A nested rollback aborts the whole transaction; the outer commit then fails. */
	if (--s->depth == 0 || sqlite3_get_autocommit(s->db) == 0)
		exec(s, "ROLLBACK", NULL);
	unlock(s);
}

/* ---- references ---- */

int ukd_store_ref_normalize(const char *ref, char *out, size_t len, uk_err_t *err)
{
	const char *slash = strrchr(ref, '/'), *colon = strrchr(slash ? slash : ref, ':');
	ukimg_regref_t r;

	/* the one grammar (images/src/ref.c, Docker's distribution/reference) for every name */
	if (ukimg_ref_parse(ref, &r, err) < 0)
		return -1;
	if (r.digest[0])
		return uk_err_bad(
		        err,
		        "reference \"%s\": a local image name is NAME[:TAG], not a digest "
		        "(use the image id sha256:... instead)",
		        ref);
	if (snprintf(out, len, "%s%s", ref, colon ? "" : ":latest") >= (int)len ||
	    strlen(out) > 200)
		return uk_err_bad(err, "reference \"%.64s...\": longer than 200 characters", ref);
	return 0;
}

/* ---- images ---- */

static void image_from_row(sqlite3_stmt *st, struct ukd_image_row *out)
{
	snprintf(out->id, sizeof(out->id), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(out->manifest, sizeof(out->manifest), "%s",
	         (const char *)sqlite3_column_text(st, 1));
	out->created = sqlite3_column_int64(st, 2);
	out->size = sqlite3_column_int64(st, 3);
}

int ukd_store_image_put(struct ukd_store *s, const struct ukd_image_row *img, const char *tag,
                        uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char created[32], size[32];

	snprintf(created, sizeof(created), "%lld", (long long)img->created);
	snprintf(size, sizeof(size), "%lld", (long long)img->size);
	if (ukd_store_begin(s, err) < 0)
		return -1;
	st = prep(s, err, "INSERT OR IGNORE INTO images VALUES(?, ?, ?, ?)", img->id, img->manifest,
	          created, size, NULL);
	if (!st || sqlite3_step(st) != SQLITE_DONE) {
		if (st)
			db_err(s, err, "insert image");
		ukd_store_rollback(s);
		return -1;
	}
	if (tag && ukd_store_tag_put(s, img->id, tag, err) < 0) {
		ukd_store_rollback(s);
		return -1;
	}
	return ukd_store_commit(s, err);
}

static int image_query_one(struct ukd_store *s, const char *sql, const char *a, const char *b,
                           struct ukd_image_row *out, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int n = 0, rc;

	lock(s);
	st = prep(s, err, sql, a, b, NULL);
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == 0)
			image_from_row(st, out);
	}
	if (st && rc != SQLITE_DONE)
		n = db_err(s, err, "read images");
	unlock(s);
	return st ? n : -1;
}

static int is_hex(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return 0;
	return 1;
}

int ukd_store_image_resolve(struct ukd_store *s, const char *ref, struct ukd_image_row *out,
                            uk_err_t *err)
{
	const char *hex = !strncmp(ref, "sha256:", 7) ? ref + 7 : ref;
	const char *at = strchr(ref, '@');
	char norm[256], like[80];
	int n;

	if (at) {
		n = image_query_one(s, "SELECT * FROM images WHERE manifest = ?", at + 1, NULL, out,
		                    err);
		if (n != 0)
			return n < 0 ? -1 : 0;
		return uk_err_notfound(err, "image %s: no such image", ref);
	}
	if (is_hex(hex) && strlen(hex) >= 4 && strlen(hex) <= 64) {
		snprintf(like, sizeof(like), "sha256:%s%%", hex);
		n = image_query_one(s, "SELECT * FROM images WHERE id LIKE ?", like, NULL, out,
		                    err);
		if (n < 0)
			return -1;
		if (n > 1)
			return uk_err_conflict(
			        err, "image %s: ambiguous id prefix (%d images match)", ref, n);
		if (n == 1)
			return 0;
		if (hex != ref)
			return uk_err_notfound(err, "image %s: no such image", ref);
	}
	if (ukd_store_ref_normalize(ref, norm, sizeof(norm), err) < 0)
		return -1;
	n = image_query_one(
	        s, "SELECT i.* FROM images i JOIN tags t ON t.image = i.id WHERE t.name = ?", norm,
	        NULL, out, err);
	if (n < 0)
		return -1;
	if (n == 0)
		return uk_err_notfound(err, "image %s: no such image (build or load it first)",
		                       ref);
	return 0;
}

json_object *ukd_store_image_tags(struct ukd_store *s, const char *id, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	json_object *arr = json_object_new_array();
	int rc;

	lock(s);
	st = prep(s, err, "SELECT name FROM tags WHERE image = ? ORDER BY name", id, NULL);
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_array_add(
		        arr, json_object_new_string((const char *)sqlite3_column_text(st, 0)));
	if (!st || rc != SQLITE_DONE) {
		if (st)
			db_err(s, err, "read tags");
		json_object_put(arr);
		arr = NULL;
	}
	unlock(s);
	return arr;
}

json_object *ukd_store_image_list(struct ukd_store *s, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	json_object *arr = json_object_new_array();
	struct ukd_image_row img;
	int rc;

	lock(s);
	st = prep(s, err, "SELECT * FROM images ORDER BY created DESC, id", NULL);
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_object *o = json_object_new_object(), *tags;
		image_from_row(st, &img);
		tags = ukd_store_image_tags(s, img.id, err);
		if (!tags) {
			json_object_put(o);
			rc = SQLITE_ERROR;
			break;
		}
		json_object_object_add(o, "id", json_object_new_string(img.id));
		json_object_object_add(o, "repo_tags", tags);
		json_object_object_add(o, "digest", json_object_new_string(img.manifest));
		json_object_object_add(o, "created", json_object_new_int64(img.created));
		json_object_object_add(o, "size", json_object_new_int64(img.size));
		json_object_array_add(arr, o);
	}
	if (!st || rc != SQLITE_DONE) {
		if (st && rc != SQLITE_ERROR)
			db_err(s, err, "list images");
		json_object_put(arr);
		arr = NULL;
	}
	unlock(s);
	return arr;
}

static int step_done(struct ukd_store *s, sqlite3_stmt *st, const char *what, uk_err_t *err)
{
	if (!st)
		return -1;
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_err(s, err, what);
	return sqlite3_changes(s->db);
}

/* Runs one statement that returns no rows, with up to two text parameters (NULL ends them),
 * under the store's lock: the number of rows it changed, or -1. */
static int exec_one(struct ukd_store *s, const char *what, uk_err_t *err, const char *sql,
                    const char *a, const char *b)
{
	sqlite3_stmt *st;
	int r;

	lock(s);
	st = prep(s, err, sql, a, b, NULL);
	r = step_done(s, st, what, err);
	sqlite3_finalize(st);
	unlock(s);
	return r;
}

int ukd_store_tag_put(struct ukd_store *s, const char *id, const char *tag, uk_err_t *err)
{
	int r = exec_one(s, "tag image", err, "INSERT OR REPLACE INTO tags VALUES(?, ?)", tag, id);

	return r < 0 ? -1 : 0;
}

int ukd_store_tag_delete(struct ukd_store *s, const char *tag, uk_err_t *err)
{
	return exec_one(s, "untag image", err, "DELETE FROM tags WHERE name = ?", tag, NULL);
}

int ukd_store_image_delete_row(struct ukd_store *s, const char *id, uk_err_t *err)
{
	int r = exec_one(s, "delete image", err, "DELETE FROM images WHERE id = ?", id, NULL);

	return r < 0 ? -1 : 0;
}

static int count_query(struct ukd_store *s, const char *sql, const char *arg, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int n = -1;

	lock(s);
	st = prep(s, err, sql, arg, NULL);
	if (st && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	else if (st)
		db_err(s, err, "count");
	unlock(s);
	return n;
}

int ukd_store_image_users(struct ukd_store *s, const char *id, uk_err_t *err)
{
	return count_query(s, "SELECT count(*) FROM instances WHERE image = ?", id, err);
}

char **ukd_store_image_manifests(struct ukd_store *s, size_t *n, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char **v = NULL;
	size_t cap = 0;
	int rc;

	*n = 0;
	lock(s);
	st = prep(s, err, "SELECT manifest FROM images", NULL);
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n + 2 > cap) {
			cap = cap ? cap * 2 : 16;
			v = realloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = strdup((const char *)sqlite3_column_text(st, 0));
		v[*n] = NULL;
	}
	if (st && rc != SQLITE_DONE)
		db_err(s, err, "list manifests");
	unlock(s);
	if (!v)
		v = calloc(1, sizeof(*v));
	return v;
}

/* ---- instances ---- */

#define INSTANCE_COLS                                                                              \
	"id, name, image_ref, image, config, state, exit_code, error, created, started, finished," \
	" domain_name, domain_uuid, domain_type, pid, restart_count, stop_requested"

static void instance_bind(sqlite3_stmt *st, const struct ukd_instance *in)
{
	sqlite3_bind_text(st, 1, in->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, in->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, in->image_ref, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, in->image_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, in->config ? in->config : "{}", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, ukd_state_name(in->state), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, in->exit_code);
	sqlite3_bind_text(st, 8, in->error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, in->created);
	sqlite3_bind_int64(st, 10, in->started);
	sqlite3_bind_int64(st, 11, in->finished);
	sqlite3_bind_text(st, 12, in->domain_name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 13, in->domain_uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 14, in->domain_type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 15, in->pid);
	sqlite3_bind_int(st, 16, in->restart_count);
	sqlite3_bind_int(st, 17, in->stop_requested);
}

static void col_copy(char *dst, size_t len, sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	snprintf(dst, len, "%s", t ? t : "");
}

static void instance_from_row(sqlite3_stmt *st, struct ukd_instance *in)
{
	ukd_instance_clear(in);
	col_copy(in->id, sizeof(in->id), st, 0);
	col_copy(in->name, sizeof(in->name), st, 1);
	col_copy(in->image_ref, sizeof(in->image_ref), st, 2);
	col_copy(in->image_id, sizeof(in->image_id), st, 3);
	const char *state = (const char *)sqlite3_column_text(st, 5);
	uk_err_t err = {0};

	in->config = strdup((const char *)sqlite3_column_text(st, 4));
	in->exit_code = sqlite3_column_int(st, 6);
	col_copy(in->error, sizeof(in->error), st, 7);
	in->created = sqlite3_column_int64(st, 8);
	in->started = sqlite3_column_int64(st, 9);
	in->finished = sqlite3_column_int64(st, 10);
	col_copy(in->domain_name, sizeof(in->domain_name), st, 11);
	col_copy(in->domain_uuid, sizeof(in->domain_uuid), st, 12);
	col_copy(in->domain_type, sizeof(in->domain_type), st, 13);
	in->pid = sqlite3_column_int(st, 14);
	in->restart_count = sqlite3_column_int(st, 15);
	in->stop_requested = sqlite3_column_int(st, 16);
	if (!state || ukd_state_parse(state, &in->state) < 0) {
		log_warn("store", "instance %s: unknown state \"%s\": taken as dead", in->id,
		         state ? state : "");
		in->state = UKD_STATE_DEAD;
	}
	if (ukd_spec_from_json(in->config, &in->spec, &err) < 0) {
		/* still loaded, so that it can be inspected and removed; a start refuses it
		 * and says why (logged at debug: every listing loads it) */
		snprintf(in->spec_error, sizeof(in->spec_error), "%.250s", err.message);
		log_debug("store", "instance %s: %s", in->id, err.message);
	}
}

void ukd_instance_clear(struct ukd_instance *in)
{
	ukd_spec_clear(&in->spec);
	free(in->config);
	memset(in, 0, sizeof(*in));
}

static int instance_write(struct ukd_store *s, const char *sql, const struct ukd_instance *in,
                          const char *what, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	lock(s);
	st = prep(s, err, sql, NULL);
	if (st)
		instance_bind(st, in);
	r = step_done(s, st, what, err);
	__atomic_add_fetch(&s->instance_gen, 1, __ATOMIC_RELEASE);
	unlock(s);
	if (r == 0)
		return uk_err_notfound(err, "instance %s: no such instance", in->id);
	return r < 0 ? -1 : 0;
}

int ukd_store_instance_insert(struct ukd_store *s, const struct ukd_instance *in, uk_err_t *err)
{
	return instance_write(s,
	                      "INSERT INTO instances(" INSTANCE_COLS
	                      ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	                      in, "insert instance", err);
}

int ukd_store_instance_update(struct ukd_store *s, const struct ukd_instance *in, uk_err_t *err)
{
	return instance_write(
	        s,
	        "UPDATE instances SET id=?1, name=?2, image_ref=?3, image=?4, config=?5,"
	        " state=?6, exit_code=?7, error=?8, created=?9, started=?10,"
	        " finished=?11, domain_name=?12, domain_uuid=?13, domain_type=?14,"
	        " pid=?15, restart_count=?16, stop_requested=?17 WHERE id=?1",
	        in, "update instance", err);
}

static int instance_query(struct ukd_store *s, const char *sql, const char *arg,
                          struct ukd_instance *out, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int n = 0, rc;

	lock(s);
	st = prep(s, err, sql, arg, NULL);
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (n++ == 0)
			instance_from_row(st, out);
	if (st && rc != SQLITE_DONE)
		n = db_err(s, err, "read instances");
	unlock(s);
	if (!st || n < 0) {
		ukd_instance_clear(out);
		return -1;
	}
	if (n > 1)
		ukd_instance_clear(out);
	return n;
}

int ukd_store_instance_find(struct ukd_store *s, const char *key, struct ukd_instance *out,
                            uk_err_t *err)
{
	char like[80];
	int n;

	memset(out, 0, sizeof(*out));
	if (!*key || strlen(key) > 128)
		return uk_err_notfound(err, "instance \"%.128s\": no such instance", key);
	n = instance_query(s, "SELECT " INSTANCE_COLS " FROM instances WHERE id = ?1 OR name = ?1",
	                   key, out, err);
	if (n != 0)
		return n < 0 ? -1 : 0; /* ids are 64 hex, names never are: at most one row */
	if (is_hex(key) && strlen(key) < 64) {
		snprintf(like, sizeof(like), "%s%%", key);
		n = instance_query(s, "SELECT " INSTANCE_COLS " FROM instances WHERE id LIKE ?",
		                   like, out, err);
		if (n < 0)
			return -1;
		if (n > 1)
			return uk_err_conflict(err,
			                       "instance %s: ambiguous id prefix (%d instances "
			                       "match): give more digits",
			                       key, n);
		if (n == 1)
			return 0;
	}
	return uk_err_notfound(err, "instance %s: no such instance", key);
}

int ukd_store_instance_by_domain(struct ukd_store *s, const char *domain, struct ukd_instance *out,
                                 uk_err_t *err)
{
	int n;

	memset(out, 0, sizeof(*out));
	n = instance_query(s, "SELECT " INSTANCE_COLS " FROM instances WHERE domain_name = ?",
	                   domain, out, err);
	if (n < 0)
		return -1;
	return n ? 0 : uk_err_notfound(err, "domain %s: no instance owns it", domain);
}

int ukd_store_instance_delete(struct ukd_store *s, const char *id, uk_err_t *err)
{
	int r = exec_one(s, "delete instance", err, "DELETE FROM instances WHERE id = ?", id, NULL);

	__atomic_add_fetch(&s->instance_gen, 1, __ATOMIC_RELEASE);
	return r < 0 ? -1 : 0;
}

int ukd_store_instance_each(struct ukd_store *s, int (*fn)(void *ctx, struct ukd_instance *in),
                            void *ctx, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct ukd_instance in = {0};
	int rc = SQLITE_DONE, r = 0;

	lock(s);
	st = prep(s, err, "SELECT " INSTANCE_COLS " FROM instances ORDER BY created, id", NULL);
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		instance_from_row(st, &in);
		r = fn(ctx, &in);
		ukd_instance_clear(&in);
		if (r < 0)
			break;
	}
	if (st && r >= 0 && rc != SQLITE_DONE)
		r = db_err(s, err, "list instances");
	unlock(s);
	return st ? r : -1;
}

int ukd_store_name_taken(struct ukd_store *s, const char *name, uk_err_t *err)
{
	return count_query(s, "SELECT count(*) FROM instances WHERE name = ?", name, err);
}

int ukd_store_counts(struct ukd_store *s, int *images, int *instances, int *running, uk_err_t *err)
{
	*images = count_query(s, "SELECT count(*) FROM images WHERE ?1 IS NULL", NULL, err);
	*instances = count_query(s, "SELECT count(*) FROM instances WHERE ?1 IS NULL", NULL, err);
	*running = count_query(
	        s, "SELECT count(*) FROM instances WHERE state = 'running' AND ?1 IS NULL", NULL,
	        err);
	return *images < 0 || *instances < 0 || *running < 0 ? -1 : 0;
}

/* ---- events ---- */

char *ukd_event_render(int64_t time_ns, const char *type, const char *action, const char *id,
                       const char *name, const char *attrs)
{
	json_object *o = json_object_new_object(), *a = json_tokener_parse(attrs ? attrs : "{}");
	char *line;

	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "action", json_object_new_string(action));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "time", json_object_new_int64(time_ns / 1000000000));
	json_object_object_add(o, "time_nano", json_object_new_int64(time_ns));
	json_object_object_add(o, "attributes", a ? a : json_object_new_object());
	line = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                        JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return line;
}

int64_t ukd_store_event_add(struct ukd_store *s, int64_t time_ns, const char *type,
                            const char *action, const char *id, const char *name, const char *attrs,
                            uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int64_t seq = -1;
	char t[32];

	snprintf(t, sizeof(t), "%lld", (long long)time_ns);
	lock(s);
	st = prep(s, err,
	          "INSERT INTO events(time, type, action, id, name, attrs) VALUES(?,?,?,?,?,?)", t,
	          type, action, id, name, attrs ? attrs : "{}", NULL);
	if (step_done(s, st, "record event", err) >= 0)
		seq = sqlite3_last_insert_rowid(s->db);
	unlock(s);
	return seq;
}

int ukd_store_event_each(struct ukd_store *s, int64_t since, int64_t until,
                         int (*fn)(void *ctx, const char *line), void *ctx, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc = SQLITE_DONE, r = 0;

	lock(s);
	st = prep(s, err,
	          "SELECT time, type, action, id, name, attrs FROM events"
	          " WHERE time >= ?1 AND (?2 = 0 OR time < ?2) ORDER BY seq",
	          NULL);
	if (st) {
		sqlite3_bind_int64(st, 1, since);
		sqlite3_bind_int64(st, 2, until);
	}
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *line = ukd_event_render(sqlite3_column_int64(st, 0),
		                              (const char *)sqlite3_column_text(st, 1),
		                              (const char *)sqlite3_column_text(st, 2),
		                              (const char *)sqlite3_column_text(st, 3),
		                              (const char *)sqlite3_column_text(st, 4),
		                              (const char *)sqlite3_column_text(st, 5));
		r = line ? fn(ctx, line) : -1;
		free(line);
		if (r < 0)
			break;
	}
	if (st && r >= 0 && rc != SQLITE_DONE)
		r = db_err(s, err, "read events");
	unlock(s);
	return st ? r : -1;
}

/* ---- volumes ---- */

static void volume_from_row(sqlite3_stmt *st, struct ukd_volume_row *v)
{
	snprintf(v->name, sizeof(v->name), "%s", (const char *)sqlite3_column_text(st, 0));
	v->size = sqlite3_column_int64(st, 1);
	v->created = sqlite3_column_int64(st, 2);
	snprintf(v->labels, sizeof(v->labels), "%s", (const char *)sqlite3_column_text(st, 3));
}

int ukd_store_volume_insert(struct ukd_store *s, const struct ukd_volume_row *v, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	lock(s);
	st = prep(s, err, "INSERT INTO volumes(name, size, created, labels) VALUES(?1, ?2, ?3, ?4)",
	          v->name, "0", "0", v->labels, NULL);
	if (st) {
		sqlite3_bind_int64(st, 2, v->size);
		sqlite3_bind_int64(st, 3, v->created);
	}
	r = step_done(s, st, "insert volume", err);
	unlock(s);
	return r < 0 ? -1 : 0;
}

int ukd_store_volume_get(struct ukd_store *s, const char *name, struct ukd_volume_row *out,
                         uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc, r = 0;

	memset(out, 0, sizeof(*out));
	lock(s);
	st = prep(s, err, "SELECT name, size, created, labels FROM volumes WHERE name = ?", name,
	          NULL);
	if (st && (rc = sqlite3_step(st)) == SQLITE_ROW)
		volume_from_row(st, out), r = 1;
	else if (st && rc != SQLITE_DONE)
		r = db_err(s, err, "read volume");
	unlock(s);
	if (!st || r < 0)
		return -1;
	if (!r)
		return uk_err_notfound(err, "volume %.64s: no such volume", name);
	return 0;
}

int ukd_store_volume_delete(struct ukd_store *s, const char *name, uk_err_t *err)
{
	int r = exec_one(s, "delete volume", err, "DELETE FROM volumes WHERE name = ?", name, NULL);

	if (r == 0)
		return uk_err_notfound(err, "volume %.64s: no such volume", name);
	return r < 0 ? -1 : 0;
}

int ukd_store_volume_each(struct ukd_store *s, int (*fn)(void *ctx, struct ukd_volume_row *v),
                          void *ctx, uk_err_t *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct ukd_volume_row v;
	int rc = SQLITE_DONE, r = 0;

	lock(s);
	st = prep(s, err, "SELECT name, size, created, labels FROM volumes ORDER BY name", NULL);
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		volume_from_row(st, &v);
		if ((r = fn(ctx, &v)) < 0)
			break;
	}
	if (st && r >= 0 && rc != SQLITE_DONE)
		r = db_err(s, err, "list volumes");
	unlock(s);
	return st ? r : -1;
}
