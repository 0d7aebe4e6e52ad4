/* Clocks and sleeping: monotonic never goes back, nanosleep sleeps at least as long as asked, wall
 * clock is sane. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uk/uk.h>

static int fail(const char *why);

static unsigned char cmos_seconds(void)
{
	unsigned char v;

	__asm__ volatile("outb %b0, $0x70" : : "a"((unsigned char)0));
	__asm__ volatile("inb $0x71, %b0" : "=a"(v));
	return v;
}

/* The guest's clock against the RTC, which QEMU drives from host time: the
 * monotonic time between two RTC second ticks must be about one second. A
 * miscalibrated TSC passes a self-referential sleep test, not this one. */
static int check_against_rtc(void)
{
	unsigned char s0 = cmos_seconds(), s;
	uint64_t t0, t1, deadline = uk_time_monotonic_ns() + 5000000000ULL;

	/* A Xen PVH domU has no CMOS RTC (the port reads all ones); dom0 and QEMU have one. */
	if (s0 == 0xff && !strcmp(uk_platform(), "xen"))
		return printf("no RTC (xen domU): clock rate not checked against it\n"), 0;

	while ((s = cmos_seconds()) == s0)
		if (uk_time_monotonic_ns() > deadline)
			return fail("RTC seconds do not advance");
	t0 = uk_time_monotonic_ns();
	while (cmos_seconds() == s)
		if (uk_time_monotonic_ns() > deadline)
			return fail("RTC second lasted more than 5 s by our clock");
	t1 = uk_time_monotonic_ns();
	printf("one RTC second = %llu us by the monotonic clock\n",
	       (unsigned long long)((t1 - t0) / 1000));
	/* Wide bounds: a descheduled QEMU delays seeing an edge; a bad calibration is off by far
	 * more. */
	if (t1 - t0 < 500000000ULL || t1 - t0 > 2000000000ULL)
		return fail("clock runs at the wrong rate");
	return 0;
}

/* On failure, what the clocks were built from: source, calibration windows, wall origin. */
static int fail(const char *why)
{
	char d[256];

	uk_clock_describe(d, sizeof(d));
	printf("FAIL: %s\n%s\n", why, d);
	return 1;
}

static uint64_t ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ULL + (uint64_t)t->tv_nsec;
}

int main(void)
{
	struct timespec a, b, wall, req = {0, 50 * 1000 * 1000};
	uint64_t prev = 0, slept;
	int i;

	for (i = 0; i < 100000; i++) {
		uint64_t t = uk_time_monotonic_ns();

		if (t < prev) {
			printf("FAIL: monotonic went back %llu -> %llu\n", (unsigned long long)prev,
			       (unsigned long long)t);
			return 1;
		}
		prev = t;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (nanosleep(&req, NULL) != 0) {
		printf("FAIL: nanosleep failed\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	slept = ns(&b) - ns(&a);
	printf("nanosleep(50 ms) took %llu us\n", (unsigned long long)(slept / 1000));
	if (slept < 50000000ULL || slept > 5000000000ULL) {
		printf("FAIL: slept %llu ns\n", (unsigned long long)slept);
		return 1;
	}
	if (strcmp(uk_platform(), "hosted") && check_against_rtc())
		return 1;
	clock_gettime(CLOCK_REALTIME, &wall);
	printf("wall clock %lld s since the epoch\n", (long long)wall.tv_sec);
	/* 2020-01-01 .. 2100-01-01: the RTC or kvmclock was read, not left at 0. */
	if (wall.tv_sec < 1577836800 || wall.tv_sec > 4102444800LL || time(NULL) < 1577836800) {
		printf("FAIL: wall clock %lld\n", (long long)wall.tv_sec);
		return 1;
	}
	{
		char d[256];

		uk_clock_describe(d, sizeof(d));
		printf("%s\n", d);
	}
	printf("SUCCESS\n");
	return 0;
}
