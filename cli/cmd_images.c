/* uk images: list images as a table (or ids, or JSON). */
#include "cli.h"

#include <string.h>

static const char *short_id(const char *id, int notrunc)
{
	if (!notrunc && strncmp(id, "sha256:", 7) == 0)
		return id + 7;
	return id;
}

/* One row per tag (one "<none>" row for an untagged image) with Docker's --format names: ID,
 * Repository, Tag, Digest, CreatedSince, CreatedAt, Size. */
static void images_rows(json_object *item, int notrunc, json_object *rows)
{
	json_object *tags = NULL;
	char id[80], created[64], at[64], size[32];
	size_t ntags = 0;

	snprintf(id, sizeof(id), "%.*s", notrunc ? 71 : 12,
	         short_id(cli_jstr(item, "id"), notrunc));
	cli_human_since((double)cli_jint(item, "created", 0), created, sizeof(created));
	cli_docker_time((double)cli_jint(item, "created", 0), at, sizeof(at));
	cli_human_size((double)cli_jint(item, "size", 0), size, sizeof(size));
	if (json_object_object_get_ex(item, "repo_tags", &tags) &&
	    json_object_is_type(tags, json_type_array))
		ntags = json_object_array_length(tags);
	for (size_t k = 0; k < ntags || (k == 0 && ntags == 0); k++) {
		const char *rt = ntags ? json_object_get_string(json_object_array_get_idx(tags, k))
		                       : "<none>";
		const char *colon = strrchr(rt, ':');
		json_object *row = json_object_new_object();
		_cleanup_free_ char *repo = NULL;

		if (colon && !strchr(colon, '/'))
			repo = cli_sprintf("%.*s", (int)(colon - rt), rt);
		json_object_object_add(row, "ID", json_object_new_string(id));
		json_object_object_add(row, "Repository", json_object_new_string(repo ? repo : rt));
		json_object_object_add(row, "Tag",
		                       json_object_new_string(repo ? colon + 1 : "<none>"));
		json_object_object_add(row, "Digest",
		                       json_object_new_string(cli_jstr(item, "digest")));
		json_object_object_add(row, "CreatedSince", json_object_new_string(created));
		json_object_object_add(row, "CreatedAt", json_object_new_string(at));
		json_object_object_add(row, "Size", json_object_new_string(size));
		json_object_array_add(rows, row);
	}
}

static json_object *images_header(void)
{
	static const char *const kv[] = {"ID",           "IMAGE ID", "Repository", "REPOSITORY",
	                                 "Tag",          "TAG",      "Digest",     "DIGEST",
	                                 "CreatedSince", "CREATED",  "CreatedAt",  "CREATED AT",
	                                 "Size",         "SIZE"};
	return cli_format_header(kv, sizeof(kv) / sizeof(kv[0]));
}

static int images_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"quiet", no_argument, NULL, 'q'},
	        {"no-trunc", no_argument, NULL, 'T'},
	        {"filter", required_argument, NULL, 'f'},
	        {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_object *res = NULL, *seen = NULL, *rows = NULL, *filters = NULL;
	_cleanup_free_ char *path = NULL, *fq = NULL;
	uk_err_t err = {0};
	int c, quiet = 0, notrunc = 0;
	size_t i;

	while ((c = cli_getopt(cli, argc, argv, "qf:", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_images);
		if (c == 'f' && cli_filter_add(cli, &filters, optarg))
			return CLI_EXIT_USAGE;
		if (c == 'f')
			continue;
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
	fq = cli_filter_query(filters, 0);
	path = cli_sprintf("/v1/images%s", fq);
	if (uk_client_call(cli->client, "GET", path, NULL, NULL, &res, &err) < 0)
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
	rows = json_object_new_array();
	for (i = 0; i < json_object_array_length(res); i++)
		images_rows(json_object_array_get_idx(res, i), notrunc, rows);
	if (cli->tmpl) {
		_cleanup_json_ json_object *hdr = images_header();
		return cli_format_rows(cli, rows, hdr);
	}
	struct cli_table *t = cli_table_new(5, "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
	for (i = 0; i < json_object_array_length(rows); i++) {
		json_object *r = json_object_array_get_idx(rows, i);
		cli_table_row(t, cli_jstr(r, "Repository"), cli_jstr(r, "Tag"), cli_jstr(r, "ID"),
		              cli_jstr(r, "CreatedSince"), cli_jstr(r, "Size"));
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
                "  -f, --filter K=V keep images matching: dangling=true|false,\n"
                "                   reference=PATTERN ('web', 'web:1*'), label=KEY[=VALUE]\n"
                "                   (repeatable: values of one key OR, keys AND)\n"
                "      --format FMT table (default), json (the daemon's list) or a Go template\n"
                "                   ('{{.Repository}}:{{.Tag}}'; fields ID, Repository, Tag,\n"
                "                   Digest, CreatedSince, CreatedAt, Size)\n"
                "  -h, --help       print this help\n",
        .run = images_run,
        .templates = 1,
};
