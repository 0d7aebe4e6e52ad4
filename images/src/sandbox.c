/* The build sandbox: the compiler runs as an unprivileged user, without network, in a private
 * temp dir, under CPU/memory/file-size/process limits; failures are put down to the limit hit. */
#include "internal.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define SANDBOX_MEMORY_MB 4096
#define SANDBOX_FILE_MB 64
#define SANDBOX_NPROC 256
#define SANDBOX_NOFILE 1024
#define NOBODY 65534
#define SANDBOX_PREFIX "/tmp/uk-build."
#define SANDBOX_RECORD_TAG "uk-sandbox-1"

static int sandbox_user(struct ukimg_sandbox *sb, const char *name)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_uid != 0) {
		sb->uid = res->pw_uid;
		sb->gid = res->pw_gid;
		snprintf(sb->note, sizeof(sb->note), "user %s (%u)", name, (unsigned)sb->uid);
		return 0;
	}
	sb->uid = sb->gid = NOBODY;
	snprintf(sb->note, sizeof(sb->note),
	         "user nobody (65534): there is no user %s (deploy/install-deps.sh creates it)",
	         name);
	return 1;
}

/*
 * Writes the record (see uk/images.h) naming the private dir, the compiler's process group once
 * it has one (0 before) and the user it runs as: complete or not at all (written aside, renamed).
 */
static int record_write(const struct ukimg_sandbox *sb, pid_t pgid, unsigned long long start,
                        uk_err_t *err)
{
	char tmp[PATH_MAX + 32], line[PATH_MAX + 96];
	int fd, len, ok;

	snprintf(tmp, sizeof(tmp), "%s.new", sb->record);
	len = snprintf(line, sizeof(line), SANDBOX_RECORD_TAG " %s %d %u %llu\n", sb->dir,
	               (int)pgid, (unsigned)sb->uid, start);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return uk_err_errno(err, errno, "build: create %s", tmp);
	ok = util_write_all(fd, line, (size_t)len) == 0;
	if (close(fd) < 0 || !ok || rename(tmp, sb->record) < 0) {
		uk_err_errno(err, errno, "build: write %s", sb->record);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Creates the private dir under a fresh random name, recorded before it exists: a crash at
 * any point leaves nothing that recovery cannot find. */
static int sandbox_mkdir(struct ukimg_sandbox *sb, uk_err_t *err)
{
	for (int i = 0; i < 100; i++) {
		unsigned char r[8];

		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return uk_err_errno(err, errno, "build: getrandom");
		snprintf(sb->dir, sizeof(sb->dir),
		         SANDBOX_PREFIX "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
		         r[4], r[5], r[6], r[7]);
		if (record_write(sb, 0, 0, err) < 0) {
			sb->dir[0] = 0;
			return -1;
		}
		if (mkdir(sb->dir, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	uk_err_errno(err, errno, "build: create the sandbox's temp dir %s", sb->dir);
	sb->dir[0] = 0;
	unlink(sb->record);
	return -1;
}

int ukimg_sandbox_prepare(struct ukimg_sandbox *sb, const ukimg_build_opts_t *opts, int timeout,
                          const char *ctx_src, const char *build_dir, uk_err_t *err)
{
	memset(sb, 0, sizeof(*sb));
	sb->ctx_src = ctx_src;
	sb->timeout_s = timeout;
	sb->cpu_s = opts->cpu_sec ? opts->cpu_sec : (unsigned)timeout;
	sb->memory_mb = opts->memory_mb ? opts->memory_mb : SANDBOX_MEMORY_MB;
	sb->file_mb = opts->file_size_mb ? opts->file_size_mb : SANDBOX_FILE_MB;
	sb->switch_user = opts->build_user && geteuid() == 0;
	sb->uid = geteuid();
	if (sb->switch_user)
		sb->fell_back = sandbox_user(sb, opts->build_user);
	else
		snprintf(sb->note, sizeof(sb->note), "user %u (ukd's own: not root)",
		         (unsigned)geteuid());
	if ((size_t)snprintf(sb->record, sizeof(sb->record), "%s/" UKIMG_SANDBOX_RECORD,
	                     build_dir) >= sizeof(sb->record))
		return uk_err_internal(err, "build: path too long: %s", build_dir);
	if (sandbox_mkdir(sb, err) < 0)
		return -1;
	snprintf(sb->ctx, sizeof(sb->ctx), "%s/ctx", sb->dir);
	if (mkdir(sb->ctx, 0755) < 0) {
		uk_err_errno(err, errno, "build: create %s", sb->ctx);
		ukimg_sandbox_cleanup(sb);
		return -1;
	}
	if (sb->switch_user && chown(sb->dir, sb->uid, sb->gid) < 0) {
		uk_err_errno(err, errno, "build: give %s to the build user", sb->dir);
		ukimg_sandbox_cleanup(sb);
		return -1;
	}
	return 0;
}

/* The state, process group and start time (clock ticks after boot) of (pid), from /proc. */
static int proc_stat(pid_t pid, char *state, pid_t *pgid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;
	int pg;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* after "pid (comm) ": state ppid pgrp, 16 fields, starttime (proc(5)) */
	if (!(p = strrchr(buf, ')')) || sscanf(p + 1,
	                                       " %c %*d %d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
	                                       "%*d %*d %*d %*d %*d %*d %llu",
	                                       state, &pg, start) != 3)
		return -1;
	*pgid = (pid_t)pg;
	return 0;
}

int ukimg_sandbox_started(const struct ukimg_sandbox *sb, pid_t pgid, uk_err_t *err)
{
	unsigned long long start;
	char state;
	pid_t pg;

	if (proc_stat(pgid, &state, &pg, &start) < 0)
		return uk_err_errno(err, errno, "build: read the start time of ukcc (pid %d)",
		                    (int)pgid);
	return record_write(sb, pgid, start, err);
}

int ukimg_sandbox_record_owns(const ukimg_sandbox_record_t *rec, pid_t pid)
{
	unsigned long long start, leader_start;
	char path[64], state;
	pid_t pgid, lpg;
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (rec->pgid <= 1 || proc_stat(pid, &state, &pgid, &start) < 0 || state == 'Z' ||
	    pgid != rec->pgid || start < rec->start || stat(path, &st) < 0 || st.st_uid != rec->uid)
		return 0;
	/* A leader that is not the recorded one: the group's number was given out again. */
	if (proc_stat(rec->pgid, &state, &lpg, &leader_start) == 0 && leader_start != rec->start)
		return 0;
	return 1;
}

void ukimg_sandbox_cleanup(struct ukimg_sandbox *sb)
{
	if (sb->dir[0])
		util_rm_rf(sb->dir);
	sb->dir[0] = 0;
	if (sb->record[0])
		unlink(sb->record);
	sb->record[0] = 0;
}

int ukimg_sandbox_record_read(const char *build_dir, ukimg_sandbox_record_t *rec)
{
	char path[PATH_MAX + 16], line[PATH_MAX + 64], tag[16];
	const char *name;
	FILE *f;
	int pgid, n = 0, ok;
	unsigned uid;
	size_t len;

	memset(rec, 0, sizeof(*rec));
	snprintf(path, sizeof(path), "%s/" UKIMG_SANDBOX_RECORD, build_dir);
	if (!(f = fopen(path, "re")))
		return -1;
	len = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[len] = 0;
	ok = strlen(line) == len && sscanf(line, "%15s %4095s %d %u %llu%n", tag, rec->dir, &pgid,
	                                   &uid, &rec->start, &n) == 5;
	/* Only a name this code makes: the record is about to decide what is removed. */
	name = rec->dir + strlen(SANDBOX_PREFIX);
	if (!ok || strcmp(tag, SANDBOX_RECORD_TAG) || line[n] != '\n' || line[n + 1] ||
	    strncmp(rec->dir, SANDBOX_PREFIX, strlen(SANDBOX_PREFIX)) || strlen(name) != 16 ||
	    strspn(name, "0123456789abcdef") != 16 || pgid < 0) {
		memset(rec, 0, sizeof(*rec));
		return -1;
	}
	rec->pgid = (pid_t)pgid;
	rec->uid = (uid_t)uid;
	return 0;
}

void ukimg_sandbox_record_clean(const ukimg_sandbox_record_t *rec)
{
	if (rec->dir[0])
		util_rm_rf(rec->dir);
}

static void child_say(const char *msg)
{
	ssize_t r = write(2, msg, strlen(msg));
	(void)r;
}

static void child_fail(const char *msg)
{
	child_say(msg);
	_exit(126);
}

static void child_limit(int res, rlim_t v)
{
	struct rlimit rl = {v, v};

	if (setrlimit(res, &rl) < 0)
		child_fail("ukd sandbox: setrlimit failed\n");
}

/*
 * The context is bind-mounted read only into the private dir, which the build user owns: the
 * compiler (ukcc makes --embed paths absolute) reaches it whatever the modes of the daemon's
 * root, and cannot change it. Mounts stay in the child's namespace (private propagation first).
 */
static int child_mount_ctx(const struct ukimg_sandbox *sb, int privileged)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	if (mount(sb->ctx_src, sb->ctx, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	/* Unprivileged (a user namespace) the remount may be refused: the modes still hold. */
	if (mount(NULL, sb->ctx, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
	          NULL) < 0 &&
	    privileged)
		return -1;
	return chdir(sb->ctx);
}

/* In the forked child, before execve: only async-signal-safe calls. */
void ukimg_sandbox_enter(const struct ukimg_sandbox *sb)
{
	int privileged = sb->switch_user || geteuid() == 0;

	/* As root a network namespace of its own (only a loopback, down) and a mount namespace.
	 * Unprivileged, a user namespace makes both possible where the kernel allows it; else
	 * say so and go on in the context as it is. */
	if (unshare(privileged ? CLONE_NEWNET | CLONE_NEWNS
	                       : CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) < 0) {
		if (privileged)
			child_fail("ukd sandbox: unshare(CLONE_NEWNET | CLONE_NEWNS) failed\n");
		child_say("ukd sandbox: no network namespace (unprivileged user namespaces are "
		          "off): the compiler keeps the host's network\n");
		if (chdir(sb->ctx_src) < 0)
			child_fail("ukd sandbox: cannot enter the build context\n");
	} else if (child_mount_ctx(sb, privileged) < 0) {
		child_fail("ukd sandbox: cannot mount the build context into the sandbox\n");
	}
	child_limit(RLIMIT_CPU, sb->cpu_s);
	child_limit(RLIMIT_AS, (rlim_t)sb->memory_mb << 20);
	child_limit(RLIMIT_FSIZE, (rlim_t)sb->file_mb << 20);
	child_limit(RLIMIT_NOFILE, SANDBOX_NOFILE);
	child_limit(RLIMIT_CORE, 0);
	if (sb->switch_user) {
		/* RLIMIT_NPROC counts every process of the user: only meaningful for uk-build. */
		child_limit(RLIMIT_NPROC, SANDBOX_NPROC);
		if (setgroups(0, NULL) < 0 || setgid(sb->gid) < 0 || setuid(sb->uid) < 0 ||
		    setuid(0) == 0)
			child_fail("ukd sandbox: could not switch to the build user\n");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail("ukd sandbox: PR_SET_NO_NEW_PRIVS failed\n");
}

unsigned ukimg_sandbox_scan(const char *buf, size_t len)
{
	/* glibc's strsignal() texts, as gcc reports a killed cc1/as/ld, and allocation errors. */
	static const struct {
		const char *text;
		unsigned flag;
	} said[] = {
	        {"File size limit exceeded", UKIMG_SAID_FSIZE},
	        {"CPU time limit exceeded", UKIMG_SAID_CPU},
	        {"memory exhausted", UKIMG_SAID_OOM},
	        {"out of memory", UKIMG_SAID_OOM},
	        {"Cannot allocate memory", UKIMG_SAID_OOM},
	};
	unsigned flags = 0;

	for (size_t i = 0; i < sizeof(said) / sizeof(said[0]); i++)
		if (memmem(buf, len, said[i].text, strlen(said[i].text)))
			flags |= said[i].flag;
	return flags;
}

static __thread uint64_t walk_limit;
static __thread int walk_hit;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path, (void)ftw;
	if (type == FTW_F && (uint64_t)st->st_size >= walk_limit)
		walk_hit = 1;
	return walk_hit;
}

int ukimg_sandbox_verdict(const struct ukimg_sandbox *sb, int status, const struct rusage *ru,
                          unsigned said, uk_err_t *err)
{
	double cpu = (double)ru->ru_utime.tv_sec + (double)ru->ru_stime.tv_sec +
	             (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	walk_limit = (uint64_t)sb->file_mb << 20;
	walk_hit = 0;
	if ((WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ) || (said & UKIMG_SAID_FSIZE) ||
	    (nftw(sb->dir, walk_one, 16, FTW_PHYS) >= 0 && walk_hit))
		return uk_err_bad(err,
		                  "build output exceeded %u MiB (a file the compiler wrote hit "
		                  "the file size limit, build-limits.file-size-mb)",
		                  sb->file_mb);
	if ((WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU) || (said & UKIMG_SAID_CPU) ||
	    cpu >= sb->cpu_s - 0.5)
		return uk_err_bad(err,
		                  "build exceeded its %u s CPU limit (build-limits.cpu-s): "
		                  "the compiler was stopped",
		                  sb->cpu_s);
	if (said & UKIMG_SAID_OOM)
		return uk_err_bad(err,
		                  "build exceeded its %u MiB memory limit "
		                  "(build-limits.memory-mb)",
		                  sb->memory_mb);
	return 0;
}
