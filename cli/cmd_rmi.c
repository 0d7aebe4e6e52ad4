/* uk rmi: untag and delete images (refused while an instance uses one, unless -f). */
#include "cli.h"

static int rmi_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	int c, i, force = 0, ret = 0;
	size_t k;

	while ((c = cli_getopt(cli, argc, argv, "f", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_rmi);
		if (c == '?')
			return CLI_EXIT_USAGE;
		force = 1;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "at least one IMAGE is required");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	for (i = optind; i < argc; i++) {
		_cleanup_free_ char *path =
		        cli_path("images", argv[i], force ? "?force=1" : "?force=0");
		_cleanup_json_ json_object *res = NULL;
		uk_err_t err = {0};

		if (uk_client_call(cli->client, "DELETE", path, NULL, NULL, &res, &err) < 0) {
			if (err.status == 409 && !force)
				cli_warn("rmi %s: an instance uses it ('uk ps -a' lists them): "
				         "remove it first, or untag the image anyway with 'uk rmi "
				         "-f %s'",
				         argv[i], argv[i]);
			else
				cli_warn("rmi %s: %s", argv[i], err.message);
			ret = CLI_EXIT_FAIL;
			continue;
		}
		if (cli->json) {
			cli_print_json(res ? res : json_object_new_array());
			continue;
		}
		if (!res || !json_object_is_type(res, json_type_array))
			continue;
		for (k = 0; k < json_object_array_length(res); k++) {
			json_object *e = json_object_array_get_idx(res, k);
			if (*cli_jstr(e, "untagged"))
				printf("Untagged: %s\n", cli_jstr(e, "untagged"));
			if (*cli_jstr(e, "deleted"))
				printf("Deleted: %s\n", cli_jstr(e, "deleted"));
		}
	}
	return ret;
}

const struct cli_cmd cli_cmd_rmi = {
        .name = "rmi",
        .summary = "Remove images",
        .help = "Usage: uk rmi [OPTIONS] IMAGE...\n"
                "\n"
                "Untag each image (NAME[:TAG], id or id prefix) and delete it when no tag is "
                "left.\n"
                "An image an instance uses is refused unless -f.\n"
                "\n"
                "Options:\n"
                "  -f, --force   remove even if instances use the image\n"
                "  -h, --help    print this help\n",
        .run = rmi_run,
};
