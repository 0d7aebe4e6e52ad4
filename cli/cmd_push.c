/* uk push: send a local image to the registry its name says, with progress per blob. */
#include "cli.h"

#include <string.h>

static int push_run(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *path = NULL;
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_push);
		return CLI_EXIT_USAGE;
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "exactly one NAME[:TAG] is required");
	path = cli_path("images", argv[optind], "/push");
	return cli_registry_xfer(cli, "push", argv[optind], path);
}

const struct cli_cmd cli_cmd_push = {
        .name = "push",
        .summary = "Push an image to a registry",
        .help = "Usage: uk push [OPTIONS] NAME[:TAG]\n"
                "\n"
                "Upload the local image NAME[:TAG] (TAG defaults to latest) to the registry\n"
                "NAME starts with (REGISTRY/REPOSITORY: 'uk tag' it to that name first), blob\n"
                "by blob; blobs the registry has are skipped. Uses the credentials 'uk login'\n"
                "stored for that registry, if any.\n"
                "\n"
                "Options:\n"
                "      --format FMT   table (default) or json (the daemon's JSON lines)\n"
                "  -h, --help         print this help\n"
                "\n"
                "Exit status: 0 when pushed, 1 when the push failed, 2 for bad usage.\n",
        .run = push_run,
};
