/* uk version: the client's and the daemon's versions. */
#include "cli.h"

#include <sys/utsname.h>

static int version_run(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_object *res = NULL;
	uk_err_t err = {0};
	struct utsname u;
	int c, r;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_version);
		return CLI_EXIT_USAGE;
	}
	if (optind < argc)
		return cli_usage_error(cli, "takes no arguments (got '%s')", argv[optind]);
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	r = uk_client_call(cli->client, "GET", "/v1/version", NULL, NULL, &res, &err);
	if (cli->json) {
		json_object *all = json_object_new_object(), *cl = json_object_new_object();
		json_object_object_add(cl, "version", json_object_new_string(UK_CLI_VERSION));
		json_object_object_add(cl, "api_version", json_object_new_string("1"));
		json_object_object_add(all, "client", cl);
		json_object_object_add(all, "server", r == 0 && res ? json_object_get(res) : NULL);
		cli_print_json(all);
		json_object_put(all);
	} else {
		uname(&u);
		printf("Client:\n Version:      %s\n API version:  1\n OS/Arch:      %s/%s\n",
		       UK_CLI_VERSION, "linux", u.machine);
		if (r == 0)
			printf("\nServer:\n Version:      %s\n API version:  %s\n OS/Arch:      "
			       "%s/%s\n libvirt:      %s\n",
			       cli_jstr(res, "version"), cli_jstr(res, "api_version"),
			       cli_jstr(res, "os"), cli_jstr(res, "arch"),
			       cli_jstr(res, "libvirt_version"));
	}
	if (r < 0)
		return cli_fail(&err);
	return 0;
}

const struct cli_cmd cli_cmd_version = {
        .name = "version",
        .summary = "Show the client's and the daemon's versions",
        .help = "Usage: uk version [OPTIONS]\n"
                "\n"
                "Print the versions of uk and of the daemon it talks to. The client part is\n"
                "printed even when the daemon cannot be reached (exit status 1 then).\n"
                "\n"
                "Options:\n"
                "      --format FMT   table (default) or json ({\"client\":...,\"server\":...})\n"
                "  -h, --help         print this help\n",
        .run = version_run,
};
