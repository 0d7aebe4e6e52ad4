/* Stats test guest: idles (idle), busy-loops (spin), writes 256 KiB to /data then idles (write),
 * or prints its wall clock at main (clock) for the host to compare with its own. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uk/uk.h>

static char buf[256 * 1024];

static void idle(void)
{
	struct timespec ts = {1, 0};

	for (;;)
		nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "idle";
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now); /* first: the clock as main sees it */
	if (!strcmp(mode, "clock")) {
		char how[256];

		printf("realtime %lld.%09ld\n", (long long)now.tv_sec, now.tv_nsec);
		uk_clock_describe(how, sizeof(how)); /* after: the line above is what is timed */
		printf("%s\n", how);
		return 0;
	}
	if (!strcmp(mode, "spin")) {
		volatile unsigned long n = 0;

		printf("spinning\n");
		for (;;)
			n++;
	}
	if (!strcmp(mode, "write")) {
		FILE *f = fopen("/data/blob", "w");

		memset(buf, 'x', sizeof(buf));
		if (!f || fwrite(buf, 1, sizeof(buf), f) != sizeof(buf) || fclose(f) != 0) {
			printf("write /data/blob failed\n");
			return 1;
		}
		printf("wrote %zu bytes\n", sizeof(buf));
	} else {
		printf("idling\n");
	}
	idle();
}
