/* Clocks and sleeping over the runtime's monotonic and wall clocks. */
#ifndef UK_LIBC_TIME_H
#define UK_LIBC_TIME_H

#include <stddef.h>

#ifndef UK_LIBC_TIME_T
#define UK_LIBC_TIME_T
typedef long time_t;
typedef int clockid_t;
#endif
#ifndef UK_LIBC_SUSECONDS_T
#define UK_LIBC_SUSECONDS_T
typedef long suseconds_t;
#endif
typedef long clock_t;

struct timespec {
	time_t tv_sec;
	long tv_nsec;
};

/* Declared here as well as in the usual <sys/time.h>, which the subset does not have. */
struct timeval {
	time_t tv_sec;
	suseconds_t tv_usec;
};

struct timezone {
	int tz_minuteswest;
	int tz_dsttime;
};

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCKS_PER_SEC 1000000L

/* Seconds since the epoch; also stored in *(t) unless (t) is NULL. */
time_t time(time_t *t);

/* CLOCK_REALTIME or CLOCK_MONOTONIC; anything else fails with EINVAL. */
int clock_gettime(clockid_t clk, struct timespec *ts);

/* Sleeps for (req); (rem), if not NULL, is set to zero (sleeps are never interrupted). */
int nanosleep(const struct timespec *req, struct timespec *rem);

/* The wall clock in microseconds; (tz) is filled with UTC if not NULL. */
int gettimeofday(struct timeval *tv, void *tz);

/* Time since boot in CLOCKS_PER_SEC units (the unikernel is the only process). */
clock_t clock(void);

#endif
