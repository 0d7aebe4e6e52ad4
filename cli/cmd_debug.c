/* uk debug: gdb on an instance started with --gdb, with its kernel's symbols. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_cb(const char *data, size_t len, void *ud)
{
	return uk_write_all(*(int *)ud, data, len);
}

static int debug_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"gdb-path", required_argument, NULL, 'g'},
	                                     {NULL, 0, NULL, 0}};
	_cleanup_json_ json_object *res = NULL;
	_cleanup_free_ char *path = NULL, *kpath = NULL;
	const char *gdb = "gdb", *stub, *state;
	json_object *cfg = NULL, *st = NULL;
	char elf[] = "/tmp/uk-debug-XXXXXX", target[64];
	_cleanup_free_ char **av = NULL;
	uk_err_t err = {0};
	int c, fd, n = 0, status = 0;
	pid_t pid;

	while ((c = cli_getopt(cli, argc, argv, "+", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_debug);
		if (c != 'g')
			return CLI_EXIT_USAGE;
		gdb = optarg;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "an INSTANCE is required");
	path = cli_path("instances", argv[optind], "");
	kpath = cli_path("instances", argv[optind], "/kernel");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (uk_client_call(cli->client, "GET", path, NULL, NULL, &res, &err) < 0)
		return cli_fail(&err);
	json_object_object_get_ex(res, "config", &cfg);
	json_object_object_get_ex(res, "state", &st);
	stub = cli_jstr(cfg, "gdb");
	state = cli_jstr(st, "status");
	if (!*stub) {
		cli_warn("%s has no gdb stub: create it with uk run --gdb [IP:]PORT (the guest "
		         "then waits for gdb)",
		         argv[optind]);
		return CLI_EXIT_FAIL;
	}
	if (strcmp(state, "running")) {
		cli_warn("%s is %s: its gdb stub listens only while it runs (uk start %s)",
		         argv[optind], *state ? state : "not running", argv[optind]);
		return CLI_EXIT_FAIL;
	}
	/* a stub on every address answers on loopback too */
	if (!strncmp(stub, "0.0.0.0:", 8))
		snprintf(target, sizeof(target), "target remote 127.0.0.1:%s", stub + 8);
	else
		snprintf(target, sizeof(target), "target remote %s", stub);
	/* The kernel ELF from the daemon (images keep their symbols): a pulled image too. */
	if ((fd = mkstemp(elf)) < 0) {
		cli_warn("debug: create %s: %s", elf, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	if (uk_client_stream(cli->client, "GET", kpath, NULL, write_cb, &fd, &err) < 0) {
		close(fd);
		unlink(elf);
		return cli_fail(&err);
	}
	close(fd);
	if (!(av = calloc((size_t)(argc - optind) + 8, sizeof(*av)))) {
		unlink(elf);
		return CLI_EXIT_FAIL;
	}
	av[n++] = (char *)gdb;
	av[n++] = "-q";
	av[n++] = elf;
	av[n++] = "-ex";
	av[n++] = target;
	for (int i = optind + 1; i < argc; i++) /* the rest is gdb's: -batch -ex CMD ... */
		av[n++] = argv[i];
	pid = fork();
	if (pid == 0) {
		execvp(gdb, av);
		fprintf(stderr,
		        "uk: debug: cannot run %s: %s (install gdb, or name it with --gdb-path)\n",
		        gdb, strerror(errno));
		_exit(127);
	}
	/* ^C belongs to gdb (it stops the guest); the kernel file goes when gdb ends */
	signal(SIGINT, SIG_IGN);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	unlink(elf);
	if (pid < 0) {
		cli_warn("debug: fork: %s", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const struct cli_cmd cli_cmd_debug = {
        .name = "debug",
        .summary = "Debug an instance started with --gdb in gdb",
        .help = "Usage: uk debug [OPTIONS] INSTANCE [GDB-ARG...]\n"
                "\n"
                "Start gdb on INSTANCE's guest, which uk run --gdb [IP:]PORT started paused\n"
                "with QEMU's gdb stub: gdb gets the kernel ELF of the instance's image (its\n"
                "symbols, from the daemon) and connects with target remote IP:PORT. Set\n"
                "breakpoints, then continue runs the guest. Arguments after INSTANCE go to gdb\n"
                "(e.g. -batch -ex 'break main' -ex continue -ex bt). Run it on the daemon's\n"
                "host: the stub listens on 127.0.0.1 unless --gdb named another address.\n"
                "See docs/debugging.md.\n"
                "\n"
                "Options:\n"
                "      --gdb-path PROG  the gdb to run (default: gdb from PATH)\n"
                "  -h, --help         print this help\n",
        .run = debug_run,
};
