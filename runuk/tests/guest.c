/* runuk's test guest: "exit N" prints its argv and $FOO then returns N; "wait [handler]" prints
 * ready and idles until the power button (exit 143, or 0 via uk_on_shutdown with "handler"). */
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

	for (int i = 1; i < argc; i++)
		printf("arg[%d]=%s\n", i, argv[i]);
	printf("FOO=%s\n", getenv("FOO") ? getenv("FOO") : "(unset)");
	if (argc > 2 && !strcmp(argv[1], "exit"))
		return atoi(argv[2]);
	if (argc > 2 && !strcmp(argv[2], "handler"))
		uk_on_shutdown(graceful);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 1200; i++) /* 120 s at most */
		nanosleep(&t, NULL);
	printf("FAIL: no stop request arrived\n");
	return 1;
}
