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
	return cli_write_all(STDOUT_FILENO, data, len) < 0;
}

int cli_stream_logs(struct cli *cli, const char *id, int follow, const char *tail, int timestamps,
                    uk_err_t *err)
{
	_cleanup_free_ char *q = NULL, *path = NULL, *et = NULL;

	et = cli_escape(tail ? tail : "all");
	q = cli_sprintf("/logs?follow=%d&tail=%s&timestamps=%d", follow, et, timestamps);
	path = cli_path("instances", id, q);
	if (!cli_connect(cli, err))
		return -1;
	fflush(stdout);
	return uk_client_stream(cli->client, "GET", path, NULL, logs_write, NULL, err);
}

static int logs_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"follow", no_argument, NULL, 'f'},
	        {"tail", required_argument, NULL, 'n'},
	        {"timestamps", no_argument, NULL, 't'},
	        {NULL, 0, NULL, 0},
	};
	struct sigaction sa = {0};
	const char *tail = NULL;
	uk_err_t err = {0};
	int c, follow = 0, ts = 0;

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
	if (cli_stream_logs(cli, argv[optind], follow, tail, ts, &err) < 0) {
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
                "Print what the instance wrote to its console (serial port), byte for byte.\n"
                "\n"
                "Options:\n"
                "  -f, --follow        keep printing new output until the instance stops (or ^C)\n"
                "  -n, --tail N        print only the last N lines (default: all)\n"
                "  -t, --timestamps    start each line with its RFC 3339 time\n"
                "  -h, --help          print this help\n",
        .run = logs_run,
};
