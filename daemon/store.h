/* ukd's state in sqlite3 (<root>/ukd.db): images, tags, instances, events; versioned schema. */
#ifndef UKD_STORE_H
#define UKD_STORE_H

#include <json-c/json.h>
#include <stdint.h>

#include "spec.h"
#include "ukd.h"

struct ukd_store;

struct ukd_image_row {
	char id[72];       /* sha256:<config digest hex> */
	char manifest[72]; /* sha256:<manifest digest hex> */
	int64_t created;   /* unix seconds */
	int64_t size;
};

struct ukd_instance {
	char id[65];
	char name[128];
	char image_ref[256]; /* what the user asked for */
	char image_id[72];
	char *config; /* the spec's stored form (ukd_spec_to_json), written as it is; read only by
	               * the store, which decodes it into (spec) when it loads the row */
	struct ukd_instance_spec spec;
	char spec_error[256]; /* why (config) did not decode ("" = it did; spec is then empty) */
	enum ukd_state state; /* stored by name */
	int exit_code;
	char error[512];
	int64_t created, started, finished; /* ns */
	char domain_name[32];
	char domain_uuid[40];
	char domain_type[8];
	int pid;
	int restart_count;
	int stop_requested; /* UKD_STOP_*: the user stopped or killed it (no restart) */
};

/* stop_requested: a stop (the power button; a status written after it counts) or a kill, which
 * is 137 whatever the guest wrote (docs/daemon.md, "Exit codes"). */
enum { UKD_STOP_GRACEFUL = 1, UKD_STOP_KILL = 2 };

/* Opens (creating, migrating) <root>/ukd.db. */
struct ukd_store *ukd_store_open(const char *root, uk_err_t *err);
void ukd_store_close(struct ukd_store *s);

/* Transactions (BEGIN IMMEDIATE); they nest by holding the store lock. */
int ukd_store_begin(struct ukd_store *s, uk_err_t *err);
int ukd_store_commit(struct ukd_store *s, uk_err_t *err);
void ukd_store_rollback(struct ukd_store *s);

/* Normalizes "name" → "name:latest"; 400 on a reference outside Docker's grammar
 * (ukimg_ref_parse: lowercase components, a tag of [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}, no
 * digest). */
int ukd_store_ref_normalize(const char *ref, char *out, size_t len, uk_err_t *err);

/* Images. */
int ukd_store_image_put(struct ukd_store *s, const struct ukd_image_row *img, const char *tag,
                        uk_err_t *err);
/* Resolves NAME[:TAG], an id or unique id prefix (>= 4 hex), or NAME@sha256:MANIFEST. 404/409. */
int ukd_store_image_resolve(struct ukd_store *s, const char *ref, struct ukd_image_row *out,
                            uk_err_t *err);
/* [{"id","repo_tags","digest","created","size"}] */
json_object *ukd_store_image_list(struct ukd_store *s, uk_err_t *err);
json_object *ukd_store_image_tags(struct ukd_store *s, const char *id, uk_err_t *err);
int ukd_store_tag_put(struct ukd_store *s, const char *id, const char *tag, uk_err_t *err);
int ukd_store_tag_delete(struct ukd_store *s, const char *tag, uk_err_t *err);
int ukd_store_image_delete_row(struct ukd_store *s, const char *id, uk_err_t *err);
/* Number of instances using image (id); -1 on error. */
int ukd_store_image_users(struct ukd_store *s, const char *id, uk_err_t *err);
/* NULL-terminated list of every image's manifest digest (for blob gc), caller frees each + array.
 */
char **ukd_store_image_manifests(struct ukd_store *s, size_t *n, uk_err_t *err);

/* Instances. */
int ukd_store_instance_insert(struct ukd_store *s, const struct ukd_instance *in, uk_err_t *err);
int ukd_store_instance_update(struct ukd_store *s, const struct ukd_instance *in, uk_err_t *err);
/* Finds by full id, unique name, or unique id prefix; 404 unknown, 409 ambiguous. */
int ukd_store_instance_find(struct ukd_store *s, const char *key, struct ukd_instance *out,
                            uk_err_t *err);
int ukd_store_instance_by_domain(struct ukd_store *s, const char *domain, struct ukd_instance *out,
                                 uk_err_t *err);
int ukd_store_instance_delete(struct ukd_store *s, const char *id, uk_err_t *err);
/* Calls (fn) for each instance (oldest first); stops at a negative return. */
int ukd_store_instance_each(struct ukd_store *s, int (*fn)(void *ctx, struct ukd_instance *in),
                            void *ctx, uk_err_t *err);
/* Changes whenever an instance row may have changed. */
uint64_t ukd_store_instance_gen(struct ukd_store *s);
int ukd_store_name_taken(struct ukd_store *s, const char *name, uk_err_t *err);
/* Frees what (in) owns (config, spec) and zeroes it. */
void ukd_instance_clear(struct ukd_instance *in);
/* Counts: images, instances, running. */
int ukd_store_counts(struct ukd_store *s, int *images, int *instances, int *running, uk_err_t *err);

/* Events. */
int64_t ukd_store_event_add(struct ukd_store *s, int64_t time_ns, const char *type,
                            const char *action, const char *id, const char *name, const char *attrs,
                            uk_err_t *err);
/* Calls (fn) with each stored event line (JSON) with since <= time < until (ns; until 0 = none). */
int ukd_store_event_each(struct ukd_store *s, int64_t since, int64_t until,
                         int (*fn)(void *ctx, const char *line), void *ctx, uk_err_t *err);
/* Renders an event as the API's JSON line (without newline); caller frees. */
char *ukd_event_render(int64_t time_ns, const char *type, const char *action, const char *id,
                       const char *name, const char *attrs);

#endif
