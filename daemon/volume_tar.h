/* A volume's files as a tar and back, through runtime-lib's host-side store (docs/storage.md). */
#ifndef UKD_VOLUME_TAR_H
#define UKD_VOLUME_TAR_H

#include <stdint.h>

#include "uk/error.h"

/*
 * The files a guest keeps on a volume (lib/file.c: file /data/a/b is key "f/a/b", a directory
 * made by mkdir is the marker "f/a/") become tar entries "a/b" and "a/" and back (an import
 * gives every directory a marker, so export, import, export gives the same archive).
 * Keys outside "f/" (programs using uk/kv.h directly) are not files and are left out.
 * The caller makes sure no guest has the volume open for writing.
 */

/* Writes the volume image (img)'s files as a tar to (fd). A never-mounted (all-zero) volume is
 * an empty archive. 422 when the store holds a file key that is not a safe relative path (a
 * guest wrote it with uk/kv.h): nothing such is ever exported. */
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
