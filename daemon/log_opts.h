/* Log options of an instance's console (Docker's max-size/max-file): parsed from daemon.json's
 * "log-opts" and a create request's "log_opts" (no store, no backend: fuzzed on its own). */
#ifndef UKD_LOG_OPTS_H
#define UKD_LOG_OPTS_H

#include <json-c/json.h>
#include <stdint.h>

#include "ukd.h"

#define UKD_LOG_MAX_SIZE_DEFAULT (10ULL << 20) /* Docker's json-file with rotation on: 10m */
#define UKD_LOG_MAX_FILE_DEFAULT 3
#define UKD_LOG_MAX_SIZE_MIN 1024ULL      /* below this a file holds no useful line */
#define UKD_LOG_MAX_SIZE_MAX (1ULL << 40) /* 1 TiB */
#define UKD_LOG_MAX_FILE_MAX 100

/* Parses a size: digits, then an optional unit k, m, g or t (powers of 1024, either case, an
 * optional trailing b: "64k", "10m", "1gb"). 0 and (out) set, or -1. */
int ukd_log_size_parse(const char *s, uint64_t *out);

/*
 * Reads the object (o) ({"max-size": "10m", "max-file": "3"}; values strings as Docker's, or
 * integers) over (base) into (out). (what) names the field in messages ("log_opts",
 * "log-opts"). Unknown keys and bad values: 400 naming them.
 */
int ukd_log_opts_parse(json_object *o, const struct ukd_log_opts *base, const char *what,
                       struct ukd_log_opts *out, uk_err_t *err);
/* {"max-size": N, "max-file": N} (bytes, files) for an instance's stored config. */
json_object *ukd_log_opts_json(const struct ukd_log_opts *o);

#endif
