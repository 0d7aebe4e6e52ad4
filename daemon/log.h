/* ukd logging: leveled lines on stderr, each tagged with its subsystem. */
#ifndef UKD_LOG_H
#define UKD_LOG_H

#include <stddef.h>

enum ukd_log_level { UKD_LOG_ERROR, UKD_LOG_WARN, UKD_LOG_INFO, UKD_LOG_DEBUG };

/* Parses "error|warn|info|debug"; returns the level or -1. */
int ukd_log_parse_level(const char *s);
void ukd_log_set_level(int level);
/* Parses "text|json" (--log-format): 0 text, 1 JSON lines, -1 neither. */
int ukd_log_parse_format(const char *s);
/* (json): each line a JSON object {"time","level","subsys","msg"}, "msg" the text line's
 * escaped message, so the line is valid JSON whatever was logged. */
void ukd_log_set_format(int json);
int ukd_log_enabled(int level);
/* Copies (in) to (out) ((outlen) bytes, NUL included) so that it shows as one harmless line:
 * '\\' and control characters as C escapes (\n, \x1b), bytes that are not UTF-8 as \xHH,
 * C1 controls, line separators and bidirectional overrides as \uHHHH. Stops before an escape
 * that would not fit. Returns the length written. Every ukd_log message goes through it. */
size_t ukd_log_escape(const char *in, char *out, size_t outlen);
/* Copies (in) to (out) ((outlen) bytes, NUL included) with each byte that is not part of
 * well-formed UTF-8 replaced by U+FFFD, so JSON holding it is valid (error messages quoting
 * what a client sent). */
void ukd_utf8_scrub(const char *in, char *out, size_t outlen);
void ukd_log(int level, const char *subsys, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define log_error(sub, ...) ukd_log(UKD_LOG_ERROR, (sub), __VA_ARGS__)
#define log_warn(sub, ...) ukd_log(UKD_LOG_WARN, (sub), __VA_ARGS__)
#define log_info(sub, ...) ukd_log(UKD_LOG_INFO, (sub), __VA_ARGS__)
#define log_debug(sub, ...) ukd_log(UKD_LOG_DEBUG, (sub), __VA_ARGS__)

#endif
