/* uktest: a greeting, then its arguments: exit N, sleep MS N, await PORT N (with await.c),
 * forever, ignore, env KEY, flood N (numbered lines as fast as it can, N of them or forever),
 * spam2 (junk on the status channel, COM2, forever), ansi (control bytes, then exit),
 * forge N [ignore|reset] (UK_EXIT=N on COM2, then runs on). */
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

/* A byte on COM2 (0x2f8), the status channel ukd reads: as a hostile guest would. */
static void com2_put(char c)
{
	unsigned char lsr;

	do
		__asm__ volatile("inb %1, %0" : "=a"(lsr) : "Nd"((unsigned short)0x2fd));
	while (!(lsr & 0x20));
	__asm__ volatile("outb %0, %1" : : "a"(c), "Nd"((unsigned short)0x2f8));
}

/* Writes (line) to the status channel, the way a hostile guest could, without exiting. */
static void status_channel_write(const char *line)
{
	for (; *line; line++)
		com2_put(*line);
}

/* A stop request answered by a reset: the guest ends by itself without writing a status. */
static void reset_on_stop(void)
{
	printf("resetting without a status\n");
	struct {
		unsigned short limit;
		unsigned long base;
	} __attribute__((packed)) none = {0, 0};
	__asm__ volatile("lidt %0; int3" : : "m"(none));
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
	if (argc >= 3 && !strcmp(argv[1], "flood")) {
		long n = atol(argv[2]);
		for (long i = 0; !n || i < n; i++)
			printf("flood %ld the quick brown fox jumps over the lazy dog\n", i);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "spam2")) {
		printf("spamming COM2\n");
		for (;;)
			status_channel_write("junk on the status channel\n");
	}
	if (argc >= 2 && !strcmp(argv[1], "ansi")) {
		printf("red \033[31mRED\033[0m bell \a title \033]0;pwned\007 cr\rX del \177 "
		       "c1 \xc2\x9b end\n");
		return 0;
	}
	/* forge N: claims exit status N on the status channel and runs on (then as ignore, with
	 * "reset" resets on a stop request, without one: exits 143 on a stop request) */
	if (argc >= 3 && !strcmp(argv[1], "forge")) {
		char line[32];
		snprintf(line, sizeof(line), "UK_EXIT=%d\n", atoi(argv[2]));
		status_channel_write(line);
		printf("forged %s", line);
		if (argc >= 4)
			uk_on_shutdown(strcmp(argv[3], "reset") ? ignore_stop : reset_on_stop);
		argv[1] = "forever";
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
