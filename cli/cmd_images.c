/* uk images: list images as a table (or ids, or JSON). */
#include "cli.h"

#include <string.h>

static const char *short_id(const char *id, int notrunc)
{
	if (!notrunc && strncmp(id, "sha256:", 7) == 0)
		return id + 7;
	return id;
}

static int images_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"quiet", no_argument, NULL, 'q'},
	        {"no-trunc", no_argument, NULL, 'T'},
	        {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_object *res = NULL, *seen = NULL;
	uk_err_t err = {0};
	int c, quiet = 0, notrunc = 0;
	size_t i, k;

	while ((c = cli_getopt(cli, argc, argv, "q", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_images);
		if (c == 'q')
			quiet = 1;
		else if (c == 'T')
			notrunc = 1;
		else
			return CLI_EXIT_USAGE;
	}
	if (optind < argc)
		return cli_usage_error(cli, "takes no arguments (got '%s')", argv[optind]);
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (uk_client_call(cli->client, "GET", "/v1/images", NULL, NULL, &res, &err) < 0)
		return cli_fail(&err);
	if (!res || !json_object_is_type(res, json_type_array)) {
		cli_warn("images: the daemon's answer is not a list");
		return CLI_EXIT_FAIL;
	}
	if (cli->json) {
		cli_print_json(res);
		return 0;
	}
	if (quiet) {
		seen = json_object_new_object();
		for (i = 0; i < json_object_array_length(res); i++) {
			const char *id = cli_jstr(json_object_array_get_idx(res, i), "id");
			if (json_object_object_get_ex(seen, id, NULL))
				continue;
			json_object_object_add(seen, id, NULL);
			printf("%.*s\n", notrunc ? 71 : 12, short_id(id, notrunc));
		}
		return 0;
	}
	struct cli_table *t = cli_table_new(5, "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
	for (i = 0; i < json_object_array_length(res); i++) {
		json_object *item = json_object_array_get_idx(res, i), *tags = NULL;
		char id[80], created[64], size[32];
		size_t ntags = 0;

		snprintf(id, sizeof(id), "%.*s", notrunc ? 71 : 12,
		         short_id(cli_jstr(item, "id"), notrunc));
		cli_human_since((double)cli_jint(item, "created", 0), created, sizeof(created));
		cli_human_size((double)cli_jint(item, "size", 0), size, sizeof(size));
		if (json_object_object_get_ex(item, "repo_tags", &tags) &&
		    json_object_is_type(tags, json_type_array))
			ntags = json_object_array_length(tags);
		for (k = 0; k < ntags; k++) {
			const char *rt = json_object_get_string(json_object_array_get_idx(tags, k));
			const char *colon = strrchr(rt, ':');
			_cleanup_free_ char *repo = NULL;

			if (colon && !strchr(colon, '/')) {
				repo = cli_sprintf("%.*s", (int)(colon - rt), rt);
				cli_table_row(t, repo, colon + 1, id, created, size);
			} else {
				cli_table_row(t, rt, "<none>", id, created, size);
			}
		}
		if (ntags == 0)
			cli_table_row(t, "<none>", "<none>", id, created, size);
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	return 0;
}

const struct cli_cmd cli_cmd_images = {
        .name = "images",
        .summary = "List images",
        .help = "Usage: uk images [OPTIONS]\n"
                "\n"
                "List images as a table: REPOSITORY, TAG, IMAGE ID, CREATED, SIZE; an image\n"
                "with several tags has a row per tag.\n"
                "\n"
                "Options:\n"
                "  -q, --quiet      print only image ids (once each)\n"
                "      --no-trunc   print full sha256: ids\n"
                "      --format FMT table (default) or json (the daemon's list)\n"
                "  -h, --help       print this help\n",
        .run = images_run,
};
