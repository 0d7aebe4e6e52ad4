/* uk stop: stop running instances gracefully (ACPI shutdown), killing them after a timeout. */
#include "cli.h"

#include <errno.h>

int cli_stop_verb(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {{"time", required_argument, NULL, 't'},
	                                     {NULL, 0, NULL, 0}};
	const char *t = NULL;
	int c, i, ret = 0;

	while ((c = cli_getopt(cli, argc, argv, "t:", opts)) != -1) {
		if (c == 'h')
			return cli_help(cmd);
		if (c == '?')
			return CLI_EXIT_USAGE;
		if (c == 't') {
			char *end;
			long v;
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 0 || v > 86400)
				return cli_usage_error(
				        cli, "bad -t '%s': expected seconds (0..86400)", optarg);
			t = optarg;
		}
	}
	if (optind >= argc)
		return cli_usage_error(cli, "at least one INSTANCE is required");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	for (i = optind; i < argc; i++) {
		_cleanup_free_ char *q =
		        t ? cli_sprintf("/%s?t=%s", cmd->name, t) : cli_sprintf("/%s", cmd->name);
		_cleanup_free_ char *path = cli_path("instances", argv[i], q);
		uk_err_t err = {0};

		if (uk_client_call(cli->client, "POST", path, NULL, NULL, NULL, &err) < 0) {
			cli_warn("%s %s: %s", cmd->name, argv[i], err.message);
			ret = CLI_EXIT_FAIL;
			continue;
		}
		puts(argv[i]);
	}
	return ret;
}

static int stop_run(struct cli *cli, int argc, char **argv)
{
	return cli_stop_verb(cli, &cli_cmd_stop, argc, argv);
}

const struct cli_cmd cli_cmd_stop = {
        .name = "stop",
        .summary = "Stop running instances (graceful shutdown, then kill)",
        .help = "Usage: uk stop [OPTIONS] INSTANCE...\n"
                "\n"
                "Ask each instance to shut down (ACPI power button) and kill it if it has not\n"
                "stopped after the timeout. Stopping a stopped instance is not an error.\n"
                "\n"
                "Options:\n"
                "  -t, --time SECONDS   wait this long before killing (default: the daemon's, 10)\n"
                "  -h, --help           print this help\n",
        .run = stop_run,
};
