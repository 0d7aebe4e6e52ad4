/* uk rename: give an instance a new name, running or not. */
#include "cli.h"

static int rename_run(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *path = NULL, *ename = NULL, *suffix = NULL;
	uk_err_t err = {0};
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_rename);
		return CLI_EXIT_USAGE;
	}
	if (argc - optind != 2)
		return cli_usage_error(cli, "exactly INSTANCE and NEW_NAME are required");
	ename = cli_escape(argv[optind + 1]);
	suffix = cli_sprintf("/rename?name=%s", ename);
	path = cli_path("instances", argv[optind], suffix);
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (uk_client_call(cli->client, "POST", path, NULL, NULL, NULL, &err) < 0)
		return cli_fail(&err);
	return 0;
}

const struct cli_cmd cli_cmd_rename = {
        .name = "rename",
        .summary = "Rename an instance",
        .help = "Usage: uk rename INSTANCE NEW_NAME\n"
                "\n"
                "Give an instance (id, short id or name; running or not) a new name. The\n"
                "name must be free: another instance's name is refused, and so is one of 12\n"
                "to 64 hex digits (it reads as an id).\n"
                "\n"
                "Options:\n"
                "  -h, --help   print this help\n",
        .run = rename_run,
};
