/* Named volumes: sparse files under <root>/volumes attached to guests as virtio-blk disks. */
#ifndef UKD_VOLUMES_H
#define UKD_VOLUMES_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec.h"
#include "store.h"
#include "ukd.h"
#include "vm.h"

/*
 * A volume NAME is the file <root>/volumes/NAME/data.img (sparse, zero until used), a row in
 * the store (size, created, labels) and, in a guest, a block device blkN holding runtime-lib's
 * key-value store (docs/storage.md), mounted at the instance's target with `mount=blkN:/target`
 * on its command line. The guest formats a new (all-zero) volume at its first read-write mount.
 *
 * In use: a volume is in use while an instance (any state) names it in its mounts; it cannot
 * be removed then (409 naming the instance). Writers: at most one running instance may mount a
 * volume read-write, and then nobody else may mount it at all; any number may mount it read-only
 * together (409 at start naming the other instance).
 */

#define UKD_VOLUME_SIZE_DEFAULT (64ull << 20)
#define UKD_VOLUME_SIZE_MIN (1ull << 20)
#define UKD_VOLUME_SIZE_MAX (1ull << 40)

/* 400 unless (name) is [a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}. */
int ukd_volume_name_check(const char *name, uk_err_t *err);
/* Parses a size ("64m", "1g", "1048576"; k/m/g/t powers of 1024) within the limits above. */
int ukd_volume_size_parse(const char *s, uint64_t *out, uk_err_t *err);

/* POST /v1/volumes {"name", "options": {"size"}, "labels"}. Creates (name) (size 0: the
 * default); an existing one is kept as is ((*created) 0), but 409 when (size) asks for another
 * size. (labels) MAY be NULL. */
int ukd_volume_create(struct ukd *d, const char *name, uint64_t size, json_object *labels,
                      int *created, uk_err_t *err);
/* The inspect view of (name), or NULL with (err). */
json_object *ukd_volume_inspect(struct ukd *d, const char *name, uk_err_t *err);
/* Every volume's inspect view. */
json_object *ukd_volume_list(struct ukd *d, uk_err_t *err);
/* Removes (name): 409 naming the instance when one uses it (with (force): only a running one
 * blocks); 404 unless (force). */
int ukd_volume_remove(struct ukd *d, const char *name, int force, uk_err_t *err);
/* Removes every volume no instance uses: {"volumes_deleted": [...], "space_reclaimed": N}. */
json_object *ukd_volume_prune(struct ukd *d, uk_err_t *err);
/*
 * Starts an export of (name)'s keys as a tar (daemon/volume_tar.h): 409 while a running instance
 * mounts it read-write or an import of it runs; then (name) is busy until
 * ukd_volume_export_end(): rm and prune leave it, an import or a read-write mount is 409, and
 * everything else (other volumes, starts) goes on, the volumes lock being held only for the
 * checks. Errors of the store (422, a damaged one) come here, before a byte.
 */
struct ukd_volume_export;
int ukd_volume_export_begin(struct ukd *d, const char *name, struct ukd_volume_export **x,
                            uk_err_t *err);
/* The next bytes of the archive: their count, 0 at its end, -1 with (err). */
ssize_t ukd_volume_export_read(struct ukd_volume_export *x, void *buf, size_t max, uk_err_t *err);
/* Ends the export (at the end of the archive or when the client went away); NULL is a no-op. */
void ukd_volume_export_end(struct ukd_volume_export *x);
/* Adds the files of the tar at (tar_path) to (name), all or none (docs/storage.md); 409 while an
 * instance mounts it at all or an export or import of it runs. Busy meanwhile, as above. */
int ukd_volume_import(struct ukd *d, const char *name, const char *tar_path, uk_err_t *err);

/* ---- the instance lifecycle's calls ---- */

/* Create: checks (spec)'s mounts (a target the guest can mount) and creates the volumes that do
 * not exist yet (as Docker does). */
int ukd_volumes_on_create(struct ukd *d, const struct ukd_instance_spec *spec, uk_err_t *err);
/*
 * Start: for each of (in)'s mounts, refuses (409) a volume another running (or starting)
 * instance writes, or one it reads when (in) would write; creates a volume removed since; fills
 * (disks) (at most UKD_MOUNTS_MAX; their paths stay valid until ukd_volumes_start_done) and
 * (*n_disks), and prepends `mount=blkN:TARGET[:ro]` to (cmdline) (of (len) bytes). Until
 * ukd_volumes_start_done(id) the instance counts as starting for these checks.
 */
int ukd_volumes_prepare(struct ukd *d, const struct ukd_instance *in, struct ukd_disk *disks,
                        int *n_disks, char *cmdline, size_t len, uk_err_t *err);
/* Start: the start of (id) succeeded or failed (its state is stored). */
void ukd_volumes_start_done(struct ukd *d, const char *id);

#endif
