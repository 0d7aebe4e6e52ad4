/* Console log options (max-size, max-file): parsing and validation, defaults, stored form. */
#include "log_opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ukd_log_size_parse(const char *s, uint64_t *out)
{
	unsigned long long n;
	unsigned shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end | 0x20) {
	case 'k':
		shift = 10, end++;
		break;
	case 'm':
		shift = 20, end++;
		break;
	case 'g':
		shift = 30, end++;
		break;
	case 't':
		shift = 40, end++;
		break;
	}
	if (shift && (*end | 0x20) == 'b')
		end++;
	if (*end || n > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)n << shift;
	return 0;
}

/* The value of (v) as a string, Docker's form, or the digits of an integer into (buf). */
static const char *opt_text(json_object *v, char *buf, size_t len)
{
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0) {
		snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
		return buf;
	}
	return NULL;
}

int ukd_log_opts_parse(json_object *o, const struct ukd_log_opts *base, const char *what,
                       struct ukd_log_opts *out, uk_err_t *err)
{
	struct ukd_log_opts r = *base;

	if (!json_object_is_type(o, json_type_object))
		return uk_err_bad(err,
		                  "%s: expected an object like {\"max-size\": \"10m\", "
		                  "\"max-file\": \"3\"}",
		                  what);
	json_object_object_foreach(o, key, v)
	{
		char num[32];
		const char *t = opt_text(v, num, sizeof(num));
		uint64_t n;

		if (!strcmp(key, "max-size")) {
			if (!t || ukd_log_size_parse(t, &n) < 0 || n < UKD_LOG_MAX_SIZE_MIN ||
			    n > UKD_LOG_MAX_SIZE_MAX)
				return uk_err_bad(
				        err,
				        "%s.max-size \"%s\": expected a size from 1k to 1t "
				        "(bytes, or with a unit k, m, g: 64k, 10m)",
				        what, t ? t : json_object_to_json_string(v));
			r.max_size = n;
		} else if (!strcmp(key, "max-file")) {
			char *end;
			unsigned long f = t && *t >= '0' && *t <= '9' ? strtoul(t, &end, 10) : 0;
			if (!t || !f || *end || f > UKD_LOG_MAX_FILE_MAX)
				return uk_err_bad(
				        err,
				        "%s.max-file \"%s\": expected a number of files from "
				        "1 to %d",
				        what, t ? t : json_object_to_json_string(v),
				        UKD_LOG_MAX_FILE_MAX);
			r.max_file = (unsigned)f;
		} else {
			return uk_err_bad(
			        err, "%s: unknown log option \"%s\" (known: max-size, max-file)",
			        what, key);
		}
	}
	*out = r;
	return 0;
}

json_object *ukd_log_opts_json(const struct ukd_log_opts *o)
{
	json_object *j = json_object_new_object();

	json_object_object_add(j, "max-size", json_object_new_int64((int64_t)o->max_size));
	json_object_object_add(j, "max-file", json_object_new_int64(o->max_file));
	return j;
}
