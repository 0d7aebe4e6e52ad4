/* Start-up recovery after a crash: orphaned build processes, spooled uploads, stray instance dirs.
 */
#include "recovery.h"
#include "image_jobs.h"
#include "instances.h"
#include "log.h"
#include "store.h"

#include "uk/images.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define ORPHAN_BUILDS_MAX 64

/* Unlinks every entry of the flat directory (path); removes (path) too when (rmdir_too). */
static int sweep_dir(const char *path, int rmdir_too)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, "..")))
			n += unlinkat(dirfd(dir), e->d_name, 0) == 0;
	closedir(dir);
	if (rmdir_too && rmdir(path) < 0 && errno != ENOENT)
		log_warn("recovery", "remove %s: %s", path, strerror(errno));
	return n;
}

/* Is process (pid)'s working directory inside (dir) (which ends with '/')? */
static int cwd_under(const char *pid, const char *dir)
{
	char link[300], cwd[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%s/cwd", pid);
	n = readlink(link, cwd, sizeof(cwd) - 2);
	if (n <= 0)
		return 0;
	cwd[n] = '/';
	cwd[n + 1] = 0;
	return !strncmp(cwd, dir, strlen(dir));
}

/* What an interrupted build may have left running: its recorded sandbox (images/src/sandbox.c). */
struct orphans {
	char tmp[PATH_MAX]; /* the store's tmp/, with a trailing '/' */
	ukimg_sandbox_record_t rec[ORPHAN_BUILDS_MAX];
	int n;
};

/* Reads the records of the builds that were running in the store's tmp/ when ukd died. */
static void orphans_find(struct ukd *d, struct orphans *o)
{
	char path[PATH_MAX * 2];
	DIR *dir;
	struct dirent *e;

	o->n = 0;
	snprintf(o->tmp, sizeof(o->tmp), "%s/images/tmp/", d->cfg.root);
	if (!(dir = opendir(o->tmp)))
		return;
	while ((e = readdir(dir)) && o->n < ORPHAN_BUILDS_MAX) {
		if (strncmp(e->d_name, "build-", 6))
			continue;
		snprintf(path, sizeof(path), "%s%s", o->tmp, e->d_name);
		if (ukimg_sandbox_record_read(path, &o->rec[o->n]) == 0)
			o->n++;
	}
	closedir(dir);
}

/* Is process (pid) one a build left: working under the store's tmp/ or a recorded sandbox
 * dir (as its own mount namespace names it), or owned by a recorded compiler (its group)? */
static int orphan_is(const struct orphans *o, const char *pid)
{
	char dir[PATH_MAX + 2];

	if (cwd_under(pid, o->tmp))
		return 1;
	for (int i = 0; i < o->n; i++) {
		snprintf(dir, sizeof(dir), "%s/", o->rec[i].dir);
		if (cwd_under(pid, dir) || ukimg_sandbox_record_owns(&o->rec[i], (pid_t)atoi(pid)))
			return 1;
	}
	return 0;
}

/*
 * A build compiles in its own process group, as the first process of its own PID namespace, in
 * its own mount namespace (images/src/build.c, sandbox.c). If ukd died mid-build, that compiler
 * keeps running and writing to its private dir: it is killed with its process group before the
 * dirs are cleaned, or it would leave files behind the clean-up; the leader's death takes every
 * other process of the build with it (the kernel empties its PID namespace), those that left
 * the group too. Only what this root's records or store name is touched.
 */
static int kill_orphan_builds(const struct orphans *o)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!proc)
		return 0;
	while ((e = readdir(proc))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 1 || pid == getpid())
			continue;
		if (!orphan_is(o, e->d_name))
			continue;
		pid_t pgid = getpgid(pid);
		log_warn("recovery", "killing process %d left by an interrupted build", (int)pid);
		if (pgid > 1 && pgid != getpgrp())
			kill(-pgid, SIGKILL);
		kill(pid, SIGKILL);
		n++;
	}
	closedir(proc);
	return n;
}

/* Waits (up to 2 s) until no process of an interrupted build runs any more, then removes the
 * builds' private dirs (their mounts went with their mount namespaces). */
static void clean_orphan_builds(struct ukd *d)
{
	struct orphans *o = calloc(1, sizeof(*o));

	if (!o)
		return;
	orphans_find(d, o);
	for (int i = 0; i < 100 && kill_orphan_builds(o) > 0; i++)
		nanosleep(&(struct timespec){0, 20000000}, NULL);
	for (int i = 0; i < o->n; i++) {
		log_info("recovery", "removing %s, the sandbox of an interrupted build",
		         o->rec[i].dir);
		ukimg_sandbox_record_clean(&o->rec[i]);
	}
	free(o);
}

int ukd_recovery_kill_builds(struct ukd *d)
{
	struct orphans *o;
	int n;

	if (ukd_images_wait_builds(0) == 0) /* none: no walk through /proc */
		return 0;
	if (!(o = calloc(1, sizeof(*o))))
		return 0;
	orphans_find(d, o);
	n = kill_orphan_builds(o);
	free(o);
	return n;
}

static int is_instance_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == 64 && !s[n];
}

/* Instance directories whose row never got written (ukd died in create) or was already deleted
 * (ukd died in rm). */
static void sweep_instance_dirs(struct ukd *d)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	DIR *root;
	struct dirent *e;
	struct ukd_instance in;

	snprintf(dir, sizeof(dir), "%s/instances", d->cfg.root);
	if (!(root = opendir(dir)))
		return;
	while ((e = readdir(root))) {
		if (!is_instance_id(e->d_name))
			continue;
		if (ukd_store_instance_find(d->store, e->d_name, &in, NULL) == 0) {
			ukd_instance_clear(&in);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		log_info("recovery", "removing %s: no instance owns it", path);
		sweep_dir(path, 1);
	}
	closedir(root);
}

void ukd_recovery_sweep(struct ukd *d)
{
	char path[PATH_MAX];
	int n;

	clean_orphan_builds(d);
	snprintf(path, sizeof(path), "%s/tmp", d->cfg.root);
	if ((n = sweep_dir(path, 0)) > 0)
		log_info("recovery", "removed %d request bodies left in %s", n, path);
	sweep_instance_dirs(d);
}
