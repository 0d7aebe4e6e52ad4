/* uk wait: block until instances stop and print their exit codes. */
#include "cli.h"

int cli_wait_instance(struct cli *cli, const char *id, int *code, uk_err_t *err)
{
	_cleanup_free_ char *path = cli_path("instances", id, "/wait");
	_cleanup_json_ json_object *res = NULL;

	if (!cli_connect(cli, err))
		return -1;
	if (uk_client_call(cli->client, "POST", path, NULL, NULL, &res, err) < 0)
		return -1;
	*code = (int)cli_jint(res, "status_code", -1);
	if (*code < 0)
		return uk_err_set(err, 500, "bad_response",
		                  "the daemon's answer has no status_code");
	return 0;
}

static int wait_run(struct cli *cli, int argc, char **argv)
{
	int c, i, code, ret = 0;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_wait);
		return CLI_EXIT_USAGE;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "at least one INSTANCE is required");
	for (i = optind; i < argc; i++) {
		uk_err_t err = {0};

		if (cli_wait_instance(cli, argv[i], &code, &err) < 0) {
			cli_warn("wait %s: %s", argv[i], err.message);
			ret = CLI_EXIT_FAIL;
			continue;
		}
		printf("%d\n", code);
		fflush(stdout);
	}
	return ret;
}

const struct cli_cmd cli_cmd_wait = {
        .name = "wait",
        .summary = "Wait for instances to stop and print their exit codes",
        .help = "Usage: uk wait INSTANCE...\n"
                "\n"
                "Block until each instance is not running, then print its exit code, one a line.\n"
                "\n"
                "Options:\n"
                "  -h, --help   print this help\n",
        .run = wait_run,
};
