/* ukd's orphan reaper: the main thread reaps every process reparented to ukd, nothing else. */
#include "reaper.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

/*
 * Why the first thread, and why it reaps everything it is given:
 *
 * libvirt daemonizes the QEMUs it starts, guests and capability probes alike (QEMU forks twice
 * and its first process exits): as a child subreaper ukd inherits them, and libvirt, which is
 * not their parent, only polls kill(pid, 0) until they are gone. A zombie passes that test: an
 * unreaped probe QEMU made libvirt wait 40 s (virProcessKillPainfully) per probe, and an
 * unreaped guest QEMU 200 ms per stop. The processes a libvirt thread or a build forks itself,
 * on the other hand, that thread waits for by pid: reaping those would steal their status.
 *
 * Linux tells the two apart: a child belongs to the thread that forked it, and an orphan is
 * handed to the first live thread of its new parent process, which is the thread group leader.
 * This leader forks nothing (all of ukd runs on another thread), so its children are exactly
 * the orphans, and waitid(__WNOTHREAD) from it reaps only those: no list of pids to keep, no
 * race with libvirt's waitpid(), nothing to tell the build sandbox (which forks with clone()).
 */

/* With no orphan alive the thread sleeps until a SIGCHLD (every ukd thread blocks it, so it
 * stays pending for this one), or at most this long in case a library's thread took it. */
#define REAPER_IDLE_NS 100000000

struct reaper_args {
	int (*run)(int, char **);
	int argc;
	char **argv;
	sigset_t mask;
};

static void *reaper_worker(void *p)
{
	struct reaper_args *a = p;

	pthread_sigmask(SIG_SETMASK, &a->mask, NULL);
	exit(a->run(a->argc, a->argv));
}

int ukd_reaper_main(int (*run)(int argc, char **argv), int argc, char **argv)
{
	static struct reaper_args a;
	sigset_t all, chld;
	pthread_t worker;

	/* UKD_NO_REAPER: orphans go to init instead (for measurements only) */
	if (!getenv("UKD_NO_REAPER") && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("reaper",
		         "PR_SET_CHILD_SUBREAPER: %s: QEMUs that exit are reaped by "
		         "init, and libvirt waits for that",
		         strerror(errno));
	a = (struct reaper_args){run, argc, argv, {{0}}};
	/* This thread takes no signal: ukd's own threads handle them (sigwait in main.c). They
	 * block SIGCHLD, which is this thread's wake-up (its default action would discard it). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &a.mask);
	sigaddset(&a.mask, SIGCHLD);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (pthread_create(&worker, NULL, reaper_worker, &a) != 0) {
		pthread_sigmask(SIG_SETMASK, &a.mask, NULL);
		log_warn("reaper", "cannot start ukd's thread: running without a reaper");
		return run(argc, argv);
	}
	pthread_detach(worker);
	for (;;) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		/* Blocks while orphans run; ECHILD when there is none (one can come any time). */
		if (waitid(P_ALL, 0, &si, WEXITED | __WNOTHREAD) == 0) {
			log_debug("reaper", "reaped process %d (exit %d)", (int)si.si_pid,
			          si.si_status);
			continue;
		}
		if (errno != EINTR)
			sigtimedwait(&chld, NULL, &(struct timespec){0, REAPER_IDLE_NS});
	}
}
