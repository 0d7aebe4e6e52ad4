/* uk rm: remove instances (-f kills running ones first). */
#include "cli.h"

static int rm_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	int c, i, force = 0, ret = 0;

	while ((c = cli_getopt(cli, argc, argv, "f", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_rm);
		if (c == '?')
			return CLI_EXIT_USAGE;
		force = 1;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "at least one INSTANCE is required");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	for (i = optind; i < argc; i++) {
		_cleanup_free_ char *path =
		        cli_path("instances", argv[i], force ? "?force=1" : "?force=0");
		uk_err_t err = {0};

		if (uk_client_call(cli->client, "DELETE", path, NULL, NULL, NULL, &err) < 0) {
			if (err.status == 409 && !force)
				cli_warn("rm %s: it is running: stop it first ('uk stop %s') or "
				         "remove it anyway with 'uk rm -f %s'",
				         argv[i], argv[i], argv[i]);
			else
				cli_warn("rm %s: %s", argv[i], err.message);
			ret = CLI_EXIT_FAIL;
			continue;
		}
		puts(argv[i]);
	}
	return ret;
}

const struct cli_cmd cli_cmd_rm = {
        .name = "rm",
        .summary = "Remove instances",
        .help = "Usage: uk rm [OPTIONS] INSTANCE...\n"
                "\n"
                "Remove stopped instances and their logs. A running one is refused\n"
                "unless -f kills it first.\n"
                "\n"
                "Options:\n"
                "  -f, --force   kill running instances, then remove them\n"
                "  -h, --help    print this help\n",
        .run = rm_run,
};
