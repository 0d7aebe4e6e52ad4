/* uk events: print the daemon's events (image build/tag/delete, instance create/start/die/destroy).
 */
#include "cli.h"

#include <signal.h>
#include <string.h>
#include <time.h>

static volatile int events_stop;

static void events_on_signal(int sig)
{
	(void)sig;
	events_stop = 1;
}

static int events_line(json_object *obj, void *ud)
{
	struct cli *cli = ud;
	json_object *attrs;
	char when[64] = "";
	int64_t nano = cli_jint(obj, "time_nano", 0);
	time_t secs = nano ? (time_t)(nano / 1000000000) : (time_t)cli_jint(obj, "time", 0);
	struct tm tm;

	if (cli->json) {
		puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		fflush(stdout);
		return 0;
	}
	if (gmtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%s.%09lldZ %s %s %s", when, (long long)(nano % 1000000000), cli_jstr(obj, "type"),
	       cli_jstr(obj, "action"), cli_jstr(obj, "id"));
	if (json_object_object_get_ex(obj, "attributes", &attrs) &&
	    json_object_is_type(attrs, json_type_object) && json_object_object_length(attrs)) {
		int first = 1;
		printf(" (");
		json_object_object_foreach(attrs, k, v)
		{
			printf("%s%s=%s", first ? "" : ", ", k, v ? json_object_get_string(v) : "");
			first = 0;
		}
		printf(")");
	} else if (*cli_jstr(obj, "name")) {
		printf(" (name=%s)", cli_jstr(obj, "name"));
	}
	printf("\n");
	fflush(stdout);
	return 0;
}

static int events_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"since", required_argument, NULL, 's'},
	        {"until", required_argument, NULL, 'u'},
	        {NULL, 0, NULL, 0},
	};
	_cleanup_free_ char *path = NULL;
	double since = -1, until = -1;
	struct sigaction sa = {0};
	uk_err_t err = {0};
	char q[128] = "";
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_events);
		if (c == '?')
			return CLI_EXIT_USAGE;
		if (cli_parse_time(optarg, c == 's' ? &since : &until, &err) < 0)
			return cli_usage_error(cli, "%s", err.message);
	}
	if (optind < argc)
		return cli_usage_error(cli, "takes no arguments (got '%s')", argv[optind]);
	if (since >= 0)
		snprintf(q, sizeof(q), "?since=%.3f", since);
	if (until >= 0)
		snprintf(q + strlen(q), sizeof(q) - strlen(q), "%cuntil=%.3f", *q ? '&' : '?',
		         until);
	path = cli_sprintf("/v1/events%s", q);
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	sa.sa_handler = events_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	uk_client_set_interrupt(cli->client, &events_stop);
	if (uk_client_stream_json(cli->client, "GET", path, NULL, events_line, cli, &err) < 0) {
		if (strcmp(err.code, "interrupted") == 0)
			return 0;
		return cli_fail(&err);
	}
	return 0;
}

const struct cli_cmd cli_cmd_events = {
        .name = "events",
        .summary = "Print the daemon's events as they happen",
        .help = "Usage: uk events [OPTIONS]\n"
                "\n"
                "Print events, one a line: TIME TYPE ACTION ID (ATTRIBUTES). Without --until,\n"
                "keep printing new events until ^C.\n"
                "\n"
                "Options:\n"
                "      --since T    start with the events since T\n"
                "      --until T    stop at T (in the past: print and exit)\n"
                "                   T: unix seconds, RFC 3339 (2026-11-26T21:00:00Z) or a\n"
                "                   duration before now (10m, 1h30m)\n"
                "      --format FMT table (default: text lines) or json (the daemon's JSON lines)\n"
                "  -h, --help       print this help\n",
        .run = events_run,
};
