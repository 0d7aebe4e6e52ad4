/* The kernel command line ukd writes: env=K=V ... seed=HEX -- args..., quoted for the guest. */
#ifndef UKD_CMDLINE_H
#define UKD_CMDLINE_H

#include <stddef.h>

#include "ukd.h"

#define UKD_CMDLINE_MAX 4096

/* Appends (word) to (buf) (of (len) bytes, holding (*used)), quoted if it needs to be. */
int ukd_cmdline_append(char *buf, size_t len, size_t *used, const char *word, uk_err_t *err);
/* Builds the command line from (env) and (args) (NULL-terminated), a fresh random seed and, for
 * a kernel that reads it ((version) is the image's org.uk.cmdline, images.h), the host's time
 * (2) and timesync=com3 (3: the caller MUST then give the backend a clock pipe). */
int ukd_cmdline_build(char *buf, size_t len, const char *const *env, const char *const *args,
                      int version, uk_err_t *err);

#endif
