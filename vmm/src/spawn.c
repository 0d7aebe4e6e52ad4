/* Starts QEMU: fork + exec with a clean environment, no inherited fds, its own process group. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uk/vmm.h"

#define SPAWN_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* (name) resolved against the caller's PATH (the child's environment has none of its own). */
static int find_binary(const char *name, char *out, size_t len, uk_err_t *err)
{
	const char *path = getenv("PATH");

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return 0;
	}
	if (!path || !*path)
		path = SPAWN_PATH + 5;
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);

		if (n && snprintf(out, len, "%.*s/%s", (int)n, path, name) < (int)len &&
		    access(out, X_OK) == 0)
			return 0;
		path += n + (colon ? 1 : 0);
	}
	return uk_err_notfound(err, "%s not found in PATH: install QEMU (deploy/install-deps.sh)",
	                       name);
}

/* Puts (fd) at (target) without CLOEXEC; (fd) < 0: /dev/null. In the child: async-signal-safe. */
static int child_fd(int fd, int target, int flags)
{
	if (fd < 0) {
		fd = open("/dev/null", flags | O_CLOEXEC);
		if (fd < 0)
			return -1;
	}
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target) < 0 ? -1 : 0;
}

/* Closes every fd from 3 up but (keep) (>= 3). */
static void child_close_others(int keep)
{
#ifdef SYS_close_range
	if ((keep == 3 || syscall(SYS_close_range, 3, keep - 1, 0) == 0) &&
	    syscall(SYS_close_range, keep + 1, ~0U, 0) == 0)
		return;
#endif
	for (int fd = 3; fd < 65536; fd++)
		if (fd != keep)
			close(fd);
}

pid_t ukvmm_spawn(const struct ukvmm_config *cfg, int log_fd, uk_err_t *err)
{
	static char *const envp[] = {SPAWN_PATH, "LC_ALL=C", NULL};
	struct ukvmm_config c = *cfg;
	char bin[PATH_MAX], **argv = NULL;
	int pipefd[2], child_errno = 0, out_fd, err_fd;
	sigset_t all, old;
	ssize_t n;
	pid_t pid, parent;

	if (c.accel == UKVMM_ACCEL_AUTO)
		c.accel = ukvmm_accel_detect(NULL, 0);
	if (!c.qemu)
		c.qemu = "qemu-system-x86_64";
	if (find_binary(c.qemu, bin, sizeof(bin), err) < 0)
		return -1;
	c.qemu = bin;
	if (ukvmm_argv_render(&c, &argv, err) < 0)
		return -1;
	/* the status file says how this run ended, never a previous one */
	if (c.status.kind == UKVMM_CHAN_FILE) {
		int fd = open(c.status.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (fd < 0) {
			ukvmm_argv_free(argv);
			return uk_err_errno(err, errno, "start QEMU: status file %s",
			                    c.status.path);
		}
		close(fd);
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		ukvmm_argv_free(argv);
		return uk_err_errno(err, errno, "start QEMU: pipe");
	}
	out_fd = c.console.kind == UKVMM_CHAN_FD ? c.console.fd : -1;
	err_fd = log_fd;
	/* no handler of the caller may run in the child between fork and exec */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	parent = getpid();
	pid = fork();
	if (pid == 0) {
		struct sigaction dfl = {.sa_handler = SIG_DFL};
		sigset_t none;

		for (int s = 1; s < NSIG; s++)
			sigaction(s, &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* own process group: a terminal's ^C or a kill of the caller's group is not QEMU's
		 */
		setpgid(0, 0);
		if (c.die_with_parent &&
		    (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
			goto child_fail;
		/* move the write end out of 0-2 before filling them */
		if (pipefd[1] < 3) {
			int w = fcntl(pipefd[1], F_DUPFD_CLOEXEC, 3);
			if (w < 0)
				goto child_fail;
			pipefd[1] = w;
		}
		if (out_fd >= 0 && out_fd < 3) {
			out_fd = fcntl(out_fd, F_DUPFD, 3);
			if (out_fd < 0)
				goto child_fail;
		}
		if (err_fd >= 0 && err_fd < 3) {
			err_fd = fcntl(err_fd, F_DUPFD, 3);
			if (err_fd < 0)
				goto child_fail;
		}
		if (child_fd(-1, 0, O_RDONLY) < 0 || child_fd(out_fd, 1, O_WRONLY) < 0 ||
		    child_fd(err_fd, 2, O_WRONLY) < 0)
			goto child_fail;
		child_close_others(pipefd[1]);
		execve(bin, argv, envp);
	child_fail:
		child_errno = errno;
		(void)!write(pipefd[1], &child_errno, sizeof(child_errno));
		_exit(127);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ukvmm_argv_free(argv);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return uk_err_errno(err, errno, "start QEMU: fork");
	}
	/* EOF: exec happened (the pipe was close-on-exec); an int: why it did not */
	do
		n = read(pipefd[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n > 0) {
		waitpid(pid, NULL, 0);
		return uk_err_errno(err, child_errno, "start QEMU: exec %s", bin);
	}
	return pid;
}
