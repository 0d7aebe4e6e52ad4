/* uk inspect: print instances' or images' full descriptions as a JSON array. */
#include "cli.h"

#include <string.h>

static int inspect_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"type", required_argument, NULL, 'T'},
	                                     {NULL, 0, NULL, 0}};
	_cleanup_json_ json_object *all = NULL;
	const char *type = NULL;
	int c, i, ret = 0;

	while ((c = cli_getopt(cli, argc, argv, "f:", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_inspect);
		if (c == '?')
			return CLI_EXIT_USAGE;
		if (c == 'f') { /* -f is --format, as Docker's */
			if (cli_set_format(cli, optarg) < 0)
				return CLI_EXIT_USAGE;
			continue;
		}
		if (strcmp(optarg, "instance") && strcmp(optarg, "image"))
			return cli_usage_error(cli, "bad --type '%s': expected instance or image",
			                       optarg);
		type = optarg;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "at least one INSTANCE or IMAGE is required");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	all = json_object_new_array();
	for (i = optind; i < argc; i++) {
		json_object *res = NULL;
		uk_err_t err = {0};
		int r = -1;

		if (!type || strcmp(type, "instance") == 0) {
			_cleanup_free_ char *path = cli_path("instances", argv[i], NULL);
			r = uk_client_call(cli->client, "GET", path, NULL, NULL, &res, &err);
		}
		if (r < 0 && (!type || strcmp(type, "image") == 0) &&
		    (type || err.status == 404 || err.status == 400)) {
			_cleanup_free_ char *path = cli_path("images", argv[i], NULL);
			uk_err_t ierr = {0};
			r = uk_client_call(cli->client, "GET", path, NULL, NULL, &res, &ierr);
			if (r < 0 && (type || ierr.status != 404))
				err = ierr;
			else if (r < 0)
				uk_err_notfound(&err, "no such instance or image: %s", argv[i]);
		}
		if (r < 0) {
			cli_warn("inspect %s: %s", argv[i], err.message);
			ret = CLI_EXIT_FAIL;
			continue;
		}
		if (!res)
			res = json_object_new_object();
		cli_docker_keys(res);
		json_object_array_add(all, res);
		if (cli->tmpl) { /* each one as soon as it is there, as Docker's */
			int r = cli_format_one(cli, res);
			if (r)
				return r;
		}
	}
	if (!cli->tmpl)
		cli_print_json(all);
	return ret;
}

const struct cli_cmd cli_cmd_inspect = {
        .name = "inspect",
        .summary = "Print the full description of instances or images as JSON",
        .help = "Usage: uk inspect [OPTIONS] INSTANCE|IMAGE...\n"
                "\n"
                "Print a JSON array with the daemon's description of each named instance or\n"
                "image (instances are looked up first). Beside uk's own keys, each has\n"
                "Docker's: Id, Name, Image, Created, State.Status, State.ExitCode,\n"
                "State.Running, State.Pid, State.StartedAt, Config.Env, Config.Cmd,\n"
                "Config.Labels, HostConfig.Memory, HostConfig.RestartPolicy,\n"
                "NetworkSettings.Ports (images: Id, RepoTags, Created, Size, Config.Cmd,\n"
                "Config.Env, Config.ExposedPorts).\n"
                "\n"
                "Options:\n"
                "  -f, --format TEMPLATE  print each through a Go template instead, e.g.\n"
                "                    '{{.State.Status}}', '{{json .Config.Env}}',\n"
                "                    '{{range .Config.Env}}{{println .}}{{end}}'\n"
                "      --type TYPE   look up only instance or only image\n"
                "  -h, --help        print this help\n",
        .run = inspect_run,
        .templates = 1,
};
