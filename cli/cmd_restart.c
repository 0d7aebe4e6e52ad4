/* uk restart: stop (gracefully, then kill after a timeout) and start instances again. */
#include "cli.h"

static int restart_run(struct cli *cli, int argc, char **argv)
{
	return cli_stop_verb(cli, &cli_cmd_restart, argc, argv);
}

const struct cli_cmd cli_cmd_restart = {
        .name = "restart",
        .summary = "Restart instances",
        .help = "Usage: uk restart [OPTIONS] INSTANCE...\n"
                "\n"
                "Stop each instance (gracefully, killing it after the timeout) and start it "
                "again.\n"
                "\n"
                "Options:\n"
                "  -t, --time SECONDS   wait this long before killing (default: the daemon's, 10)\n"
                "  -h, --help           print this help\n",
        .run = restart_run,
};
