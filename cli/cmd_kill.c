/* uk kill: stop running instances at once (their exit code becomes 137). */
#include "cli.h"

static int kill_run(struct cli *cli, int argc, char **argv)
{
	int c, i, ret = 0;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_kill);
		return CLI_EXIT_USAGE;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "at least one INSTANCE is required");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	for (i = optind; i < argc; i++) {
		_cleanup_free_ char *path = cli_path("instances", argv[i], "/kill");
		uk_err_t err = {0};

		if (uk_client_call(cli->client, "POST", path, NULL, NULL, NULL, &err) < 0) {
			cli_warn("kill %s: %s", argv[i], err.message);
			ret = CLI_EXIT_FAIL;
			continue;
		}
		puts(argv[i]);
	}
	return ret;
}

const struct cli_cmd cli_cmd_kill = {
        .name = "kill",
        .summary = "Kill running instances",
        .help = "Usage: uk kill INSTANCE...\n"
                "\n"
                "Stop each instance at once (its exit code becomes 137). Killing an instance\n"
                "that is not running is an error (409).\n"
                "\n"
                "Options:\n"
                "  -h, --help   print this help\n",
        .run = kill_run,
};
