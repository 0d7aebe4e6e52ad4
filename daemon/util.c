/* Small helpers shared by the daemon: clocks (time formats: base/uk/time.h). */
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
