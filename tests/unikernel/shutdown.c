/* Stop requests: waits for the power button (SIGTERM hosted); "handler" exits 0, else 143. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uk/uk.h>

static void graceful(void)
{
	printf("graceful shutdown\n");
	exit(0);
}

int main(int argc, char **argv)
{
	struct timespec t = {0, 100 * 1000 * 1000};
	int i;

	if (argc > 1 && !strcmp(argv[1], "handler"))
		uk_on_shutdown(graceful);
	printf("ready\n");
	fflush(stdout);
	for (i = 0; i < 300; i++) /* 30 s at most */
		nanosleep(&t, NULL);
	printf("FAIL: no stop request arrived\n");
	return 1;
}
