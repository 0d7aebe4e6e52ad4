/* uk save: write an image as an OCI image-layout tar to a file or standard output. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct save_out {
	int fd;
	int werrno; /* the write that failed, if one did */
};

static int save_write(const char *data, size_t len, void *ud)
{
	struct save_out *o = ud;

	if (uk_write_all(o->fd, data, len) < 0) {
		o->werrno = errno;
		return 1;
	}
	return 0;
}

static int save_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
	                                     {NULL, 0, NULL, 0}};
	_cleanup_free_ char *path = NULL, *tmp = NULL, *dircopy = NULL;
	const char *out = NULL;
	struct save_out so = {0};
	uk_err_t err = {0};
	int c, fd = STDOUT_FILENO, r;

	while ((c = cli_getopt(cli, argc, argv, "o:", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_save);
		if (c == '?')
			return CLI_EXIT_USAGE;
		out = optarg;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "an IMAGE is required");
	if (argc - optind > 1)
		return cli_usage_error(cli, "saving several images into one archive is not "
		                            "supported yet: save them one by one");
	if (!out && isatty(STDOUT_FILENO))
		return cli_usage_error(cli, "refusing to write a tar archive to a terminal: "
		                            "use -o FILE or redirect standard output");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	path = cli_path("images", argv[optind], "/get");
	if (out) {
		/* write beside the target and rename, so a failure leaves no half archive */
		dircopy = cli_sprintf("%s", out);
		tmp = cli_sprintf("%s/.uk-save-XXXXXX", dirname(dircopy));
		fd = mkstemp(tmp);
		if (fd < 0) {
			cli_warn("save: create %s: %s", out, strerror(errno));
			return CLI_EXIT_FAIL;
		}
		fchmod(fd, 0644);
	}
	so.fd = fd;
	r = uk_client_stream(cli->client, "GET", path, NULL, save_write, &so, &err);
	if (r == 0 && so.werrno)
		r = uk_err_errno(&err, so.werrno, "write %s", out ? out : "standard output");
	if (r == 0 && out && (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, out) < 0)) {
		cli_warn("save: write %s: %s", out, strerror(errno));
		unlink(tmp);
		return CLI_EXIT_FAIL;
	}
	if (r < 0) {
		cli_warn("save %s: %s", argv[optind], err.message);
		if (out) {
			close(fd);
			unlink(tmp);
		}
		return CLI_EXIT_FAIL;
	}
	return 0;
}

const struct cli_cmd cli_cmd_save = {
        .name = "save",
        .summary = "Save an image to a tar archive (OCI image layout)",
        .help = "Usage: uk save [OPTIONS] IMAGE\n"
                "\n"
                "Write IMAGE as an OCI image-layout tar archive to standard output or FILE.\n"
                "FILE appears only when the whole archive has been written.\n"
                "\n"
                "Options:\n"
                "  -o, --output FILE   write to FILE instead of standard output\n"
                "  -h, --help          print this help\n",
        .run = save_run,
};
