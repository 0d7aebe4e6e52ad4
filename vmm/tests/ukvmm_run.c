/* ukvmm-run: boots one kernel through ukvmm, console on stdout, exits with the guest's status.
 * usage: ukvmm_run [--print] [--machine microvm|pc|q35] [--status FILE] [-m MIB] KERNEL [CMDLINE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "uk/vmm.h"

int main(int argc, char **argv)
{
	struct ukvmm_config c;
	struct ukvmm_exit x;
	uk_err_t err = {0};
	int print = 0, st, i = 1;
	pid_t pid;

	ukvmm_config_init(&c);
	c.console = (struct ukvmm_chan){UKVMM_CHAN_FD, NULL, 1};
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--print"))
			print = 1;
		else if (!strcmp(argv[i], "--machine") && i + 1 < argc)
			c.machine = !strcmp(argv[++i], "pc")  ? UKVMM_MACHINE_PC
			            : !strcmp(argv[i], "q35") ? UKVMM_MACHINE_Q35
			                                      : UKVMM_MACHINE_MICROVM;
		else if (!strcmp(argv[i], "--status") && i + 1 < argc)
			c.status = (struct ukvmm_chan){UKVMM_CHAN_FILE, argv[++i], -1};
		else if (!strcmp(argv[i], "-m") && i + 1 < argc)
			c.memory_mib = (unsigned)atoi(argv[++i]);
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr,
		        "usage: ukvmm_run [--print] [--machine microvm|pc|q35] [--status FILE] "
		        "[-m MIB] KERNEL [CMDLINE]\n");
		return 2;
	}
	c.kernel = argv[i];
	c.cmdline = i + 1 < argc ? argv[i + 1] : "";
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
