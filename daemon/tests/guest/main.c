/* uktest: a greeting, then its arguments: exit N, sleep MS N, await PORT N (with await.c),
 * forever, ignore, env KEY. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uk/uk.h>
#include <time.h>

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* await.c, linked only into the variant with a network stack. */
__attribute__((weak)) int await_connection(long port, int code);

static void ignore_stop(void)
{
	printf("ignoring the stop request\n");
}

int main(int argc, char **argv)
{
	printf("uktest says hello\n");
	for (int i = 1; i < argc; i++)
		printf("arg %d: %s\n", i, argv[i]);
	if (argc >= 3 && !strcmp(argv[1], "exit"))
		return atoi(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "sleep")) {
		sleep_ms(atol(argv[2]));
		printf("slept\n");
		return atoi(argv[3]);
	}
	if (argc >= 4 && !strcmp(argv[1], "await")) {
		if (!await_connection) {
			printf("await: this build has no network stack (await.c, LIBS net)\n");
			return 125;
		}
		return await_connection(atol(argv[2]), atoi(argv[3]));
	}
	if (argc >= 3 && !strcmp(argv[1], "env")) {
		const char *v = getenv(argv[2]);
		printf("env %s=%s\n", argv[2], v ? v : "(unset)");
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "ignore")) /* a stop request changes nothing */
		uk_on_shutdown(ignore_stop);
	if (argc >= 2 && (!strcmp(argv[1], "forever") || !strcmp(argv[1], "ignore"))) {
		for (int n = 0;; n++) {
			printf("tick %d\n", n);
			sleep_ms(200);
		}
	}
	return 0;
}
