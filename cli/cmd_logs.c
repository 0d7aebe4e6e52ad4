/* uk logs: print (and follow) an instance's console. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile int logs_stop;

static void logs_on_signal(int sig)
{
	(void)sig;
	logs_stop = 1;
}

static int logs_write(const char *data, size_t len, void *ud)
{
	(void)ud;
	return uk_write_all(STDOUT_FILENO, data, len) < 0;
}

/* On a terminal: the guest's bytes escaped (a guest must not drive the user's terminal). */
static int logs_write_term(const char *data, size_t len, void *ud)
{
	struct cli_term *t = ud;
	_cleanup_free_ char *out = malloc(4 * (len + 4));

	if (!out)
		return 1;
	return uk_write_all(STDOUT_FILENO, out, cli_term_escape(t, data, len, 0, out)) < 0;
}

/* As cli_stream_logs, escaped for a terminal unless (raw). */
static int stream_logs(struct cli *cli, const char *id, int follow, const char *tail,
                       int timestamps, int raw, uk_err_t *err)
{
	_cleanup_free_ char *q = NULL, *path = NULL, *et = NULL;
	struct cli_term t = {0};
	char out[16];
	int r;

	et = cli_escape(tail ? tail : "all");
	q = cli_sprintf("/logs?follow=%d&tail=%s&timestamps=%d", follow, et, timestamps);
	path = cli_path("instances", id, q);
	if (!cli_connect(cli, err))
		return -1;
	fflush(stdout);
	if (raw)
		return uk_client_stream(cli->client, "GET", path, NULL, logs_write, NULL, err);
	r = uk_client_stream(cli->client, "GET", path, NULL, logs_write_term, &t, err);
	/* a sequence the output ended in */
	uk_write_all(STDOUT_FILENO, out, cli_term_escape(&t, "", 0, 1, out));
	return r;
}

int cli_stream_logs(struct cli *cli, const char *id, int follow, const char *tail, int timestamps,
                    uk_err_t *err)
{
	return stream_logs(cli, id, follow, tail, timestamps, 1, err);
}

static int logs_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"follow", no_argument, NULL, 'f'},
	        {"tail", required_argument, NULL, 'n'},
	        {"timestamps", no_argument, NULL, 't'},
	        {"raw", no_argument, NULL, 'r'},
	        {NULL, 0, NULL, 0},
	};
	struct sigaction sa = {0};
	const char *tail = NULL;
	uk_err_t err = {0};
	int c, follow = 0, ts = 0, raw = !isatty(STDOUT_FILENO);

	while ((c = cli_getopt(cli, argc, argv, "fn:t", opts)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cli_cmd_logs);
		case 'f':
			follow = 1;
			break;
		case 't':
			ts = 1;
			break;
		case 'r':
			raw = 1;
			break;
		case 'n': {
			char *end;
			long v;
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (strcmp(optarg, "all") && (errno || end == optarg || *end || v < 0))
				return cli_usage_error(cli,
				                       "bad --tail '%s': expected a number of "
				                       "lines or all",
				                       optarg);
			tail = optarg;
			break;
		}
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "exactly one INSTANCE is required");
	if (!cli_connect(cli, &err))
		return cli_fail(&err);
	if (follow) {
		/* ^C ends following quietly, like docker logs -f */
		sa.sa_handler = logs_on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		uk_client_set_interrupt(cli->client, &logs_stop);
	}
	if (stream_logs(cli, argv[optind], follow, tail, ts, raw, &err) < 0) {
		if (strcmp(err.code, "interrupted") == 0)
			return 0;
		cli_warn("logs %s: %s", argv[optind], err.message);
		return CLI_EXIT_FAIL;
	}
	return 0;
}

const struct cli_cmd cli_cmd_logs = {
        .name = "logs",
        .summary = "Print an instance's console output",
        .help = "Usage: uk logs [OPTIONS] INSTANCE\n"
                "\n"
                "Print what the instance wrote to its console (serial port): byte for byte into\n"
                "a pipe or file; on a terminal with control characters shown harmless (ESC as\n"
                "^[, bytes that are not UTF-8 as \\xNN), so a guest cannot drive the terminal.\n"
                "The console log rotates (uk run --log-opt): what was rotated away is gone.\n"
                "\n"
                "Options:\n"
                "  -f, --follow        keep printing new output until the instance stops (or ^C)\n"
                "  -n, --tail N        print only the last N lines (default: all)\n"
                "  -t, --timestamps    start each line with its RFC 3339 time\n"
                "      --raw           the bytes as they are, on a terminal too\n"
                "  -h, --help          print this help\n",
        .run = logs_run,
};
