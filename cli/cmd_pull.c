/* uk pull: fetch an image from a registry into the daemon, verified, with progress per blob. */
#include "cli.h"

#include <string.h>

static int pull_run(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *path = NULL, *eref = NULL;
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_pull);
		return CLI_EXIT_USAGE;
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "exactly one NAME[:TAG|@DIGEST] is required");
	eref = cli_escape(argv[optind]);
	path = cli_sprintf("/v1/images/pull?ref=%s", eref);
	return cli_registry_xfer(cli, "pull", argv[optind], path);
}

const struct cli_cmd cli_cmd_pull = {
        .name = "pull",
        .summary = "Pull an image from a registry",
        .help = "Usage: uk pull [OPTIONS] NAME[:TAG|@DIGEST]\n"
                "\n"
                "Download an image from a registry into the daemon's store: the manifest and\n"
                "every blob the store lacks, each verified against its digest before it is\n"
                "kept. NAME is [REGISTRY/]REPOSITORY (Docker's rule: no REGISTRY means\n"
                "docker.io). A pull by tag names the image NAME:TAG locally, so 'uk run\n"
                "NAME:TAG' works afterwards; a pull by digest is run as NAME@DIGEST. Uses the\n"
                "credentials 'uk login' stored for that registry, if any.\n"
                "\n"
                "Options:\n"
                "      --format FMT   table (default) or json (the daemon's JSON lines)\n"
                "  -h, --help         print this help\n"
                "\n"
                "Exit status: 0 when pulled, 1 when the pull failed, 2 for bad usage.\n",
        .run = pull_run,
};
