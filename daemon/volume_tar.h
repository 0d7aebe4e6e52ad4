/* A volume's files as a tar and back, through runtime-lib's host-side store (docs/storage.md). */
#ifndef UKD_VOLUME_TAR_H
#define UKD_VOLUME_TAR_H

#include <stdint.h>

#include "uk/error.h"

/*
 * The files a guest keeps on a volume (lib/file.c: file /data/a/b is key "f/a/b", a directory
 * made by mkdir is the marker "f/a/") become tar entries "a/b" and "a/" and back (an import
 * gives every directory a marker, so export, import, export gives the same archive).
 * Every other key (programs using uk/kv.h directly) is the file ".ukkv/NAME", NAME the key with
 * '%', '/', control bytes and a leading '.' escaped as %XX (so "rec/1" is ".ukkv/rec%2F1"), and
 * back: an import puts those as the keys they name. The caller makes sure no guest has the
 * volume open for writing.
 */

#include <sys/types.h>

/* An export in progress: the store open, the archive made an entry at a time as it is read. */
struct ukd_voltar_exp;

/* Opens and mounts (img)'s store, lists its keys and checks every name: every refusal comes
 * here, before a byte of the archive. A never-mounted (all-zero) volume is an empty archive. 422
 * when the store holds a file key that is not a safe relative path or lies under .ukkv, or a key
 * too long to name once escaped. */
int ukd_voltar_export_open(const char *img, struct ukd_voltar_exp **x, uk_err_t *err);
/* The next bytes of the archive (at most (max)): their count, 0 at its end, -1 with (err) (an I/O
 * error of the store). */
ssize_t ukd_voltar_export_read(struct ukd_voltar_exp *x, void *buf, size_t max, uk_err_t *err);
void ukd_voltar_export_close(struct ukd_voltar_exp *x);

/* The whole archive of (img) written to (fd): open, read to the end, close. */
int ukd_voltar_export(const char *img, int fd, uk_err_t *err);

/*
 * Adds the files of the tar read from (fd) to the volume image (img) as one commit of its
 * store: all of them or, on any error, none (the image is left as it was). The archive is first
 * extracted into (scratch) (an empty private directory; the caller removes it) with images'
 * safe extractor and at most (max_bytes) of file data. Refused, naming the entry: 400 absolute
 * paths, "..", symlinks, hardlinks, devices, a path over the store's key limit, a file that
 * would turn an existing file into a directory or back; 413 more data than (max_bytes) or a
 * file over the store's value limit (4 MiB); 507 when it does not fit in the volume.
 * A never-mounted volume is formatted first.
 */
int ukd_voltar_import(const char *img, int fd, const char *scratch, uint64_t max_bytes,
                      uk_err_t *err);

#endif
