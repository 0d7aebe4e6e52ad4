/* Time formats: RFC 3339 in UTC, written and parsed the same way by every host part. */
#ifndef UK_TIME_H
#define UK_TIME_H

#include <stddef.h>
#include <stdint.h>

#define UK_TIME_LEN 40 /* room for any time these functions write */

/* Unix seconds (t) as "2006-01-02T15:04:05Z" into (out). */
void uk_time_rfc3339(int64_t t, char out[UK_TIME_LEN]);
/* Nanoseconds since the epoch (ns) as "2006-01-02T15:04:05.000000000Z" into (buf) ((len) >= 40
 * bytes); ns <= 0 is Go's zero time "0001-01-01T00:00:00Z", as Docker shows a time never set. */
void uk_time_rfc3339_ns(int64_t ns, char *buf, size_t len);
/* Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)", nothing after it, into unix
 * seconds with the fraction; -1 (and (*out) untouched) when (s) is anything else. */
int uk_time_parse_rfc3339(const char *s, double *out);

#endif
