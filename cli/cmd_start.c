/* uk start: start created or stopped instances; -a attaches to one like uk run. */
#include "cli.h"

#include <string.h>

static int start_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"attach", no_argument, NULL, 'a'},
	                                     {NULL, 0, NULL, 0}};
	int c, i, attach = 0, ret = 0;

	while ((c = cli_getopt(cli, argc, argv, "a", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_start);
		if (c == '?')
			return CLI_EXIT_USAGE;
		if (c == 'a')
			attach = 1;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "at least one INSTANCE is required");
	if (attach && argc - optind != 1)
		return cli_usage_error(cli, "-a attaches to exactly one INSTANCE");
	if (!cli_client(cli))
		return attach ? CLI_EXIT_RUN_FAIL : CLI_EXIT_FAIL;
	if (attach)
		cli_attach_signals();
	for (i = optind; i < argc; i++) {
		uk_err_t err = {0};

		if (cli_start_instance(cli, argv[i], &err) < 0) {
			/* the daemon's message names the start already ("start NAME: ...") */
			if (!strncmp(err.message, "start ", 6))
				cli_warn("%s", err.message);
			else
				cli_warn("start %s: %s", argv[i], err.message);
			ret = attach ? CLI_EXIT_RUN_FAIL : CLI_EXIT_FAIL;
			continue;
		}
		if (attach)
			return cli_attach(cli, argv[i], 0);
		puts(argv[i]);
	}
	return ret;
}

const struct cli_cmd cli_cmd_start = {
        .name = "start",
        .summary = "Start one or more instances",
        .help = "Usage: uk start [OPTIONS] INSTANCE...\n"
                "\n"
                "Start instances (ids, unique id prefixes or names) and print each.\n"
                "Starting a running instance is not an error.\n"
                "\n"
                "Options:\n"
                "  -a, --attach   attach to the one INSTANCE: print its console and exit with\n"
                "                 its exit code, like uk run\n"
                "  -h, --help     print this help\n",
        .run = start_run,
};
