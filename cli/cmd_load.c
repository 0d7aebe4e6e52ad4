/* uk load: load images from an OCI image-layout tar (a file or standard input). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct load_state {
	struct cli *cli;
	int quiet;
	int failed;
	uk_err_t err;
};

static int load_line(json_object *obj, void *ud)
{
	struct load_state *s = ud;

	if (s->cli->json) {
		puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		fflush(stdout);
	}
	if (*cli_jstr(obj, "error")) {
		s->failed = 1;
		uk_err_set(&s->err, 500,
		           *cli_jstr(obj, "code") ? cli_jstr(obj, "code") : "internal", "%s",
		           cli_jstr(obj, "error"));
		return 0;
	}
	if (!s->cli->json && !s->quiet && *cli_jstr(obj, "stream")) {
		const char *t = cli_jstr(obj, "stream");
		size_t n = strlen(t);
		fputs(t, stdout);
		if (n && t[n - 1] != '\n')
			fputc('\n', stdout);
		fflush(stdout);
	}
	return 0;
}

static int load_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
	                                     {"quiet", no_argument, NULL, 'q'},
	                                     {NULL, 0, NULL, 0}};
	struct load_state s = {.cli = cli};
	const char *in = NULL;
	uk_err_t err = {0};
	uk_body_t body;
	int c, fd, r;

	while ((c = cli_getopt(cli, argc, argv, "i:q", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_load);
		if (c == '?')
			return CLI_EXIT_USAGE;
		if (c == 'i')
			in = optarg;
		else
			s.quiet = 1;
	}
	if (optind < argc)
		return cli_usage_error(cli, "takes no arguments (got '%s'): use -i FILE",
		                       argv[optind]);
	if ((fd = cli_tar_input(cli, "load", in, &body)) < 0)
		return -fd;
	r = uk_client_stream_json(cli->client, "POST", "/v1/images/load", &body, load_line, &s,
	                          &err);
	if (in)
		close(fd);
	if (r < 0) {
		cli_warn("load: %s", err.message);
		return CLI_EXIT_FAIL;
	}
	if (s.failed) {
		cli_warn("load: %s", s.err.message);
		return CLI_EXIT_FAIL;
	}
	return 0;
}

const struct cli_cmd cli_cmd_load = {
        .name = "load",
        .summary = "Load images from a tar archive (OCI image layout)",
        .help = "Usage: uk load [OPTIONS]\n"
                "\n"
                "Load the images of an OCI image-layout tar archive (as uk save writes) from\n"
                "standard input or FILE, and print each image loaded.\n"
                "\n"
                "Options:\n"
                "  -i, --input FILE   read FILE instead of standard input\n"
                "  -q, --quiet        print nothing on success\n"
                "  -h, --help         print this help\n",
        .run = load_run,
};
