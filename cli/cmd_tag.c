/* uk tag: give an image another NAME[:TAG]. */
#include "cli.h"

#include <string.h>

static int tag_run(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *repo = NULL, *tag = NULL, *er = NULL, *et = NULL, *q = NULL,
	                    *path = NULL;
	const char *dst, *colon;
	uk_err_t err = {0};
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_tag);
		return CLI_EXIT_USAGE;
	}
	if (argc - optind != 2)
		return cli_usage_error(cli, "needs exactly SOURCE and TARGET");
	dst = argv[optind + 1];
	colon = strrchr(dst, ':');
	if (colon && !strchr(colon, '/')) {
		repo = cli_sprintf("%.*s", (int)(colon - dst), dst);
		tag = cli_sprintf("%s", colon + 1);
	} else {
		repo = cli_sprintf("%s", dst);
		tag = cli_sprintf("latest");
	}
	if (!*repo || !*tag)
		return cli_usage_error(cli, "bad TARGET '%s': expected NAME[:TAG]", dst);
	er = cli_escape(repo);
	et = cli_escape(tag);
	q = cli_sprintf("/tag?repo=%s&tag=%s", er, et);
	path = cli_path("images", argv[optind], q);
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (uk_client_call(cli->client, "POST", path, NULL, NULL, NULL, &err) < 0) {
		cli_warn("tag %s %s: %s", argv[optind], dst, err.message);
		return CLI_EXIT_FAIL;
	}
	return 0;
}

const struct cli_cmd cli_cmd_tag = {
        .name = "tag",
        .summary = "Give an image another name",
        .help = "Usage: uk tag SOURCE TARGET\n"
                "\n"
                "Make TARGET (NAME[:TAG], tag defaults to latest) refer to the image SOURCE\n"
                "(NAME[:TAG], id or id prefix). An existing TARGET tag moves to SOURCE.\n"
                "\n"
                "Options:\n"
                "  -h, --help   print this help\n",
        .run = tag_run,
};
