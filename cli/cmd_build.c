/* uk build: tar a build context, send it to the daemon, stream the build's output. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct build_state {
	struct cli *cli;
	int quiet;
	char id[128];
	int failed;
	int daemon_said_done; /* the daemon printed its own "Successfully built" */
	uk_err_t err;
	FILE *held; /* -q: the build's output, shown on standard error if it fails */
	char *held_buf;
	size_t held_len;
};

static int build_line(json_object *obj, void *ud)
{
	struct build_state *s = ud;
	json_object *aux;

	if (s->cli->json) {
		puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		fflush(stdout);
	}
	if (*cli_jstr(obj, "error")) {
		s->failed = 1;
		uk_err_set(&s->err, 400, *cli_jstr(obj, "code") ? cli_jstr(obj, "code") : "build",
		           "%s", cli_jstr(obj, "error"));
		return 0;
	}
	if (json_object_object_get_ex(obj, "aux", &aux) && *cli_jstr(aux, "id"))
		snprintf(s->id, sizeof(s->id), "%s", cli_jstr(aux, "id"));
	if (!s->cli->json && s->quiet && s->held && *cli_jstr(obj, "stream"))
		fputs(cli_jstr(obj, "stream"), s->held);
	if (!s->cli->json && !s->quiet && *cli_jstr(obj, "stream")) {
		const char *t = cli_jstr(obj, "stream");
		size_t n = strlen(t);
		if (strncmp(t, "Successfully built", 18) == 0)
			s->daemon_said_done = 1;
		fputs(t, stdout);
		if (n && t[n - 1] != '\n')
			fputc('\n', stdout);
		fflush(stdout);
	}
	return 0;
}

/* An unnamed temporary file for the context archive. */
static int build_tmpfile(uk_err_t *err)
{
	const char *dir = getenv("TMPDIR");
	_cleanup_free_ char *tmpl = NULL;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	tmpl = cli_sprintf("%s/uk-build-XXXXXX", dir);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		return uk_err_errno(err, errno, "create a temporary file in %s", dir);
	unlink(tmpl);
	return fd;
}

static int build_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"tag", required_argument, NULL, 't'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"build-arg", required_argument, NULL, 'B'},
	        {"file", required_argument, NULL, 'f'},
	        {NULL, 0, NULL, 0},
	};
	struct build_state s = {.cli = cli};
	_cleanup_free_ char *path = NULL, *et = NULL, *ufname = NULL, *eu = NULL;
	const char *tag = NULL, *tags[16], *ukfile = NULL;
	size_t ntags = 0;
	uk_err_t err = {0};
	uk_body_t body;
	off_t size;
	int c, fd, r;

	while ((c = cli_getopt(cli, argc, argv, "t:qf:", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_build);
		if (c == '?')
			return CLI_EXIT_USAGE;
		if (c == 'B')
			return cli_usage_error(
			        cli,
			        "--build-arg does not apply: a Ukfile has no variables (no ARG); "
			        "write the value into the Ukfile (ENV, or CFLAGS -DNAME=VALUE) or "
			        "give it at run time with 'uk run -e KEY=VALUE'");
		if (c == 'f') {
			ukfile = optarg;
			continue;
		}
		if (c == 't') { /* repeatable: every tag names the image */
			if (ntags == sizeof(tags) / sizeof(tags[0]))
				return cli_usage_error(cli, "at most %zu -t", ntags);
			tags[ntags++] = optarg;
		} else {
			s.quiet = 1;
		}
	}
	for (size_t i = 0; i < ntags; i++)
		if (!*tags[i] || tags[i][0] == ':' || tags[i][strlen(tags[i]) - 1] == ':')
			return cli_usage_error(cli, "bad -t '%s': expected NAME[:TAG]", tags[i]);
	tag = ntags ? tags[0] : NULL;
	if (argc - optind != 1)
		return cli_usage_error(cli, "exactly one DIR (the build context) is required");
	fd = build_tmpfile(&err);
	if (fd < 0)
		return cli_fail(&err);
	if (cli_tar_context_ukfile(argv[optind], ukfile, fd, &ufname, &err) < 0) {
		close(fd);
		return cli_fail(&err);
	}
	size = lseek(fd, 0, SEEK_CUR);
	if (size < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		cli_warn("build: rewind the context archive: %s", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	et = tag ? cli_escape(tag) : NULL;
	eu = ufname ? cli_escape(ufname) : NULL;
	path = cli_sprintf("/v1/images/build%s%s%s%s%s", et || eu ? "?" : "", et ? "t=" : "",
	                   et ? et : "", eu ? (et ? "&ukfile=" : "ukfile=") : "", eu ? eu : "");
	if (!cli_client(cli)) {
		close(fd);
		return CLI_EXIT_FAIL;
	}
	body = UK_BODY_FD(fd, size, "application/x-tar");
	if (s.quiet)
		s.held = open_memstream(&s.held_buf, &s.held_len);
	r = uk_client_stream_json(cli->client, "POST", path, &body, build_line, &s, &err);
	close(fd);
	if (s.held) { /* -q hides the output of a build that worked, not of one that failed */
		fclose(s.held);
		if (r < 0 || s.failed) {
			fflush(stdout);
			fwrite(s.held_buf, 1, s.held_len, stderr);
			if (s.held_len && s.held_buf[s.held_len - 1] != '\n')
				fputc('\n', stderr);
		}
		free(s.held_buf);
	}
	if (r < 0) {
		cli_warn("build %s: %s", argv[optind], err.message);
		return CLI_EXIT_FAIL;
	}
	if (s.failed) {
		cli_warn("build %s failed: %s", argv[optind], s.err.message);
		return CLI_EXIT_FAIL;
	}
	if (!s.id[0]) {
		cli_warn("build %s: the daemon ended the build without an image id or an error",
		         argv[optind]);
		return CLI_EXIT_FAIL;
	}
	for (size_t i = 1; i < ntags; i++) { /* the daemon named it tags[0]; the rest here */
		if (cli_tag_image(cli, s.id, tags[i], &err) < 0) {
			cli_warn("build %s: tag %s: %s", argv[optind], tags[i], err.message);
			return CLI_EXIT_FAIL;
		}
	}
	if (cli->json)
		return 0;
	if (s.quiet) {
		printf("%s\n", s.id);
		return 0;
	}
	if (!s.daemon_said_done)
		printf("Successfully built %.12s\n",
		       strncmp(s.id, "sha256:", 7) == 0 ? s.id + 7 : s.id);
	/* the daemon's own lines name the first tag */
	for (size_t i = s.daemon_said_done ? 1 : 0; i < ntags; i++)
		printf("Successfully tagged %s%s\n", tags[i],
		       strchr(tags[i], ':') && !strchr(strrchr(tags[i], ':'), '/') ? ""
		                                                                   : ":latest");
	return 0;
}

const struct cli_cmd cli_cmd_build = {
        .name = "build",
        .summary = "Build an image from a directory holding a Ukfile",
        .help = "Usage: uk build [OPTIONS] DIR\n"
                "\n"
                "Send DIR (the build context: a Ukfile, sources and files) to the daemon as a\n"
                "tar archive and print the build's output. Paths matching DIR/.ukignore\n"
                "patterns are left out; symbolic links leading out of DIR are skipped with a\n"
                "warning. See docs/ukfile.md for the Ukfile.\n"
                "\n"
                "Options:\n"
                "  -f, --file UKFILE      build with UKFILE instead of DIR/Ukfile; it may lie\n"
                "                         outside DIR (a path from here, as Docker's -f)\n"
                "  -t, --tag NAME[:TAG]   name the image (TAG defaults to latest; repeatable:\n"
                "                         every one names it)\n"
                "  -q, --quiet            print only the image id (a failed build's output\n"
                "                         still goes to standard error)\n"
                "      --format FMT       table (default) or json (the daemon's JSON lines)\n"
                "  -h, --help             print this help\n"
                "\n"
                "Exit status: 0 when the image was built, 1 when the build failed (the error\n"
                "is on standard error), 2 for bad usage.\n",
        .run = build_run,
};
