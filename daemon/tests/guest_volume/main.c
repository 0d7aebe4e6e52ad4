/* Volume test guest: stays up holding /data (sleep), fills a tiny volume (fill), writes a file
 * (write), reporting each outcome with its errno on the console. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char big[600 * 1024];

/* Writes (len) bytes of (c) to (path) and closes it; prints and returns what failed, or 0. */
static int put(const char *path, int c, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		printf("open %s: %s\n", path, strerror(errno));
		return errno;
	}
	memset(big, c, len);
	if (fwrite(big, 1, len, f) != len) {
		printf("fwrite %s: %s\n", path, strerror(errno));
		fclose(f);
		return errno ? errno : EIO;
	}
	if (fclose(f) != 0) {
		printf("fclose %s: %s\n", path, strerror(errno));
		return errno ? errno : EIO;
	}
	printf("wrote %s: %zu bytes\n", path, len);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "sleep";

	if (!strcmp(mode, "sleep")) {
		struct timespec ts = {1, 0};
		FILE *f = fopen("/data/hello", "r");

		printf("up: /data/hello %s\n", f ? "exists" : "absent");
		if (f)
			fclose(f);
		for (;;)
			nanosleep(&ts, NULL);
	}
	if (!strcmp(mode, "write"))
		return put("/data/written", 'w', 16) ? 1 : 0;
	if (!strcmp(mode, "fill")) {
		/* a small file that fits, then one over half the volume: ENOSPC, the first intact
		 */
		if (put("/data/small", 's', 1000))
			return 1;
		if (put("/data/big", 'b', sizeof(big)) != ENOSPC)
			return 1;
		printf("full: ENOSPC as expected\n");
		return 0;
	}
	printf("usage: sleep | write | fill\n");
	return 2;
}
