/* ukvmm-run: boots one kernel through ukvmm, console on stdout, exits with the guest's status.
 * usage: ukvmm_run [--print | --compare N] [--machine microvm|pc|q35] [--status FILE] [-m MIB]
 * KERNEL [CMDLINE]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uk/vmm.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* --compare N: N pairs "library_ms raw_ms", alternated: start->exit through ukvmm_spawn, then
 * the same rendered argv by a plain fork + execvp (stdio /dev/null), both reaped here, each
 * going first every other run. */
static int compare(struct ukvmm_config *c, int n)
{
	uk_err_t err = {0};
	char **av;
	int st;

	c->console = (struct ukvmm_chan){UKVMM_CHAN_FD, NULL, open("/dev/null", O_WRONLY)};
	c->accel = ukvmm_accel_detect(NULL, 0);
	if (ukvmm_argv_render(c, &av, &err) < 0) {
		fprintf(stderr, "ukvmm_run: %s\n", err.message);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		double lib = 0, raw = 0;

		/* each goes first every other run: no order bias */
		for (int k = 0; k < 2; k++) {
			double t0 = now_ms();
			pid_t pid;

			if ((k + i) % 2 == 0) {
				pid = ukvmm_spawn(c, -1, &err);
				if (pid < 0) {
					fprintf(stderr, "ukvmm_run: %s\n", err.message);
					return 125;
				}
				waitpid(pid, &st, 0);
				lib = now_ms() - t0;
			} else {
				pid = fork();
				if (pid == 0) {
					int null = open("/dev/null", O_RDWR);
					dup2(null, 0), dup2(null, 1), dup2(null, 2);
					execvp(av[0], av);
					_exit(127);
				}
				waitpid(pid, &st, 0);
				raw = now_ms() - t0;
			}
		}
		printf("%.1f %.1f\n", lib, raw);
	}
	ukvmm_argv_free(av);
	return 0;
}

int main(int argc, char **argv)
{
	struct ukvmm_config c;
	struct ukvmm_exit x;
	uk_err_t err = {0};
	int print = 0, runs = 0, st, i = 1;
	pid_t pid;

	ukvmm_config_init(&c);
	c.console = (struct ukvmm_chan){UKVMM_CHAN_FD, NULL, 1};
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--print"))
			print = 1;
		else if (!strcmp(argv[i], "--compare") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--machine") && i + 1 < argc)
			c.machine = !strcmp(argv[++i], "pc")  ? UKVMM_MACHINE_PC
			            : !strcmp(argv[i], "q35") ? UKVMM_MACHINE_Q35
			                                      : UKVMM_MACHINE_MICROVM;
		else if (!strcmp(argv[i], "--status") && i + 1 < argc)
			c.status = (struct ukvmm_chan){UKVMM_CHAN_FILE, argv[++i], -1};
		else if (!strcmp(argv[i], "--qemu") && i + 1 < argc)
			c.qemu = argv[++i];
		else if (!strcmp(argv[i], "-m") && i + 1 < argc)
			c.memory_mib = (unsigned)atoi(argv[++i]);
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: ukvmm_run [--print | --compare N] [--machine "
		                "microvm|pc|q35] [--status FILE] "
		                "[--qemu BIN] [-m MIB] KERNEL [CMDLINE]\n");
		return 2;
	}
	c.kernel = argv[i];
	c.cmdline = i + 1 < argc ? argv[i + 1] : "";
	if (runs > 0)
		return compare(&c, runs);
	if (print) {
		char **av;
		c.accel = ukvmm_accel_detect(NULL, 0);
		if (ukvmm_argv_render(&c, &av, &err) < 0) {
			fprintf(stderr, "ukvmm_run: %s\n", err.message);
			return 2;
		}
		for (char **p = av; *p; p++)
			printf("%s\n", *p);
		ukvmm_argv_free(av);
		return 0;
	}
	pid = ukvmm_spawn(&c, 2, &err);
	if (pid < 0) {
		fprintf(stderr, "ukvmm_run: %s\n", err.message);
		return 125;
	}
	while (waitpid(pid, &st, 0) < 0)
		;
	ukvmm_exit_read(st, c.status.kind == UKVMM_CHAN_FILE ? c.status.path : NULL, &x);
	return x.code < 0 ? 255 : x.code;
}
