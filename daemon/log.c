/* ukd logging: one line per call on stderr: time, level, subsystem, message. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int log_level = UKD_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

int ukd_log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(s, level_names[i]))
			return i;
	if (!strcasecmp(s, "warning"))
		return UKD_LOG_WARN;
	return -1;
}

void ukd_log_set_level(int level)
{
	log_level = level;
}

int ukd_log_enabled(int level)
{
	return level <= log_level;
}

void ukd_log(int level, const char *subsys, const char *fmt, ...)
{
	char msg[4096], ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One fprintf per line so concurrent threads do not interleave inside a line. */
	fprintf(stderr, "%s.%03ldZ %-5s %s: %s\n", ts, now.tv_nsec / 1000000, level_names[level],
	        subsys, msg);
}
