/* time(), clock_gettime(), nanosleep() and friends over the runtime's clocks. */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <uk/uk.h>

#define NS 1000000000ull

time_t time(time_t *t)
{
	time_t now = (time_t)(uk_time_wall_ns() / NS);

	if (t)
		*t = now;
	return now;
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	uint64_t ns;

	if (clk == CLOCK_REALTIME) {
		ns = uk_time_wall_ns();
	} else if (clk == CLOCK_MONOTONIC) {
		ns = uk_time_monotonic_ns();
	} else {
		errno = EINVAL;
		return -1;
	}
	ts->tv_sec = (time_t)(ns / NS);
	ts->tv_nsec = (long)(ns % NS);
	return 0;
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
	if (req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= (long)NS) {
		errno = EINVAL;
		return -1;
	}
	uint64_t now = uk_time_monotonic_ns();
	/* Saturate: a deadline past 2^64 ns is as good as forever. */
	uint64_t deadline = UINT64_MAX;

	if ((uint64_t)req->tv_sec < (UINT64_MAX - now) / NS)
		deadline = now + (uint64_t)req->tv_sec * NS + (uint64_t)req->tv_nsec;
	while (now < deadline)
		now = uk_time_block_until(deadline);
	if (rem) {
		rem->tv_sec = 0;
		rem->tv_nsec = 0;
	}
	return 0;
}

int gettimeofday(struct timeval *tv, void *tz)
{
	uint64_t ns = uk_time_wall_ns();

	if (tv) {
		tv->tv_sec = (time_t)(ns / NS);
		tv->tv_usec = (suseconds_t)(ns % NS / 1000);
	}
	if (tz) {
		struct timezone *z = tz;
		z->tz_minuteswest = 0;
		z->tz_dsttime = 0;
	}
	return 0;
}

clock_t clock(void)
{
	return (clock_t)(uk_time_monotonic_ns() / (NS / CLOCKS_PER_SEC));
}
