/* Small helpers shared by the daemon: clocks and time formatting. */
#include "ukd.h"

#include <stdio.h>
#include <time.h>

int64_t ukd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int ukd_ms_until(int64_t ns)
{
	int64_t now = ukd_now_ns();

	return ns > now ? (int)((ns - now) / 1000000) : 0;
}

void ukd_time_format(int64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	char base[32];

	if (ns <= 0) {
		snprintf(buf, len, "0001-01-01T00:00:00Z");
		return;
	}
	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09lldZ", base, (long long)(ns % 1000000000));
}
