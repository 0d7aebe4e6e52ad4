/* Start-up recovery after a crash: orphaned build processes, spooled uploads, stray instance dirs.
 */
#include "recovery.h"
#include "instances.h"
#include "log.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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

/*
 * A build compiles in its own process group with its working directory under the image
 * store's tmp/ (images/src/build.c). If ukd died mid-build, that compiler keeps running and
 * writing there: it is killed before tmp/ is cleaned, or it would leave files behind the
 * clean-up. Only processes whose cwd lies under this root's store are touched.
 */
static int kill_orphan_builds(struct ukd *d)
{
	char dir[PATH_MAX];
	DIR *proc = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!proc)
		return 0;
	snprintf(dir, sizeof(dir), "%s/images/tmp/", d->cfg.root);
	while ((e = readdir(proc))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 1 || pid == getpid() || !cwd_under(e->d_name, dir))
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

/* Waits (up to 2 s) until no process works under the store's tmp/ any more. */
static void wait_builds_gone(struct ukd *d)
{
	for (int i = 0; i < 100 && kill_orphan_builds(d) > 0; i++)
		nanosleep(&(struct timespec){0, 20000000}, NULL);
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

	wait_builds_gone(d);
	snprintf(path, sizeof(path), "%s/tmp", d->cfg.root);
	if ((n = sweep_dir(path, 0)) > 0)
		log_info("recovery", "removed %d request bodies left in %s", n, path);
	sweep_instance_dirs(d);
}
