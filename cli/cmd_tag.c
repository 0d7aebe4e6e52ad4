/* uk tag: give an image another NAME[:TAG]. */
#include "cli.h"

#include <string.h>

int cli_tag_image(struct cli *cli, const char *src, const char *dst, uk_err_t *err)
{
	_cleanup_free_ char *repo = NULL, *tag = NULL, *er = NULL, *et = NULL, *q = NULL,
	                    *path = NULL;
	const char *colon = strrchr(dst, ':');

	if (colon && !strchr(colon, '/')) {
		repo = cli_sprintf("%.*s", (int)(colon - dst), dst);
		tag = cli_sprintf("%s", colon + 1);
	} else {
		repo = cli_sprintf("%s", dst);
		tag = cli_sprintf("latest");
	}
	if (!*repo || !*tag)
		return uk_err_bad(err, "bad TARGET '%s': expected NAME[:TAG]", dst);
	er = cli_escape(repo);
	et = cli_escape(tag);
	q = cli_sprintf("/tag?repo=%s&tag=%s", er, et);
	path = cli_path("images", src, q);
	if (!cli_connect(cli, err))
		return -1;
	return uk_client_call(cli->client, "POST", path, NULL, NULL, NULL, err);
}

static int tag_run(struct cli *cli, int argc, char **argv)
{
	uk_err_t err = {0};
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_tag);
		return CLI_EXIT_USAGE;
	}
	if (argc - optind != 2)
		return cli_usage_error(cli, "needs exactly SOURCE and TARGET");
	if (cli_tag_image(cli, argv[optind], argv[optind + 1], &err) < 0) {
		if (err.status == 400 && strstr(err.message, "bad TARGET") == err.message)
			return cli_usage_error(cli, "%s", err.message);
		cli_warn("tag %s %s: %s", argv[optind], argv[optind + 1], err.message);
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
