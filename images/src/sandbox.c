/* The build sandbox: the compiler runs as an unprivileged user in its own PID, mount, network
 * and IPC namespaces (a private /tmp, the rest read only), under a seccomp filter and
 * CPU/memory/file-size/process limits; failures are put down to the limit hit. */
#include "internal.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define SANDBOX_MEMORY_MB 4096
#define SANDBOX_FILE_MB 64
#define SANDBOX_NPROC 256
#define SANDBOX_NOFILE 1024
#define NOBODY 65534
#define SANDBOX_PREFIX "/tmp/uk-build."
#define SANDBOX_RECORD_TAG "uk-sandbox-1"
#define SANDBOX_NS (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
#define VIEW_TMP "/tmp"
#define VIEW_CTX "/tmp/ctx"

/* fork() that also creates (flags)' namespaces for the child (clone(2) without a new stack). */
static pid_t clone_ns(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0UL);
}

static unsigned long sandbox_ns_flags(void)
{
	return geteuid() == 0 ? SANDBOX_NS : SANDBOX_NS | CLONE_NEWUSER;
}

/* Can this process give a child the sandbox's namespaces? Root always can (a failure is then
 * the build's error); others need unprivileged user namespaces. */
static int sandbox_can_isolate(void)
{
	pid_t pid;
	int status;

	if (geteuid() == 0)
		return 1;
	pid = clone_ns(sandbox_ns_flags());
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 1;
}

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
	ok = uk_write_all(fd, line, (size_t)len) == 0;
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

/*
 * Notes the host dir (path) with (up) trailing components removed, if it lies under /tmp and
 * outside (sb)'s own dir and the dirs already kept, to be mounted back read only in the
 * build's /tmp (child_mounts). Paths that are not absolute or too long are left out.
 */
static void sandbox_keep(struct ukimg_sandbox *sb, const char *path, int up)
{
	char p[PATH_MAX];

	if (!path || path[0] != '/' || strncmp(path, VIEW_TMP "/", strlen(VIEW_TMP) + 1) ||
	    strlen(path) >= sizeof(p) || sb->nkeep == 3)
		return;
	memcpy(p, path, strlen(path) + 1);
	for (int i = 0; i < up; i++) {
		char *slash = strrchr(p, '/');

		if (slash && slash > p + strlen(VIEW_TMP))
			*slash = 0;
	}
	if (!strcmp(p, VIEW_TMP) || !strncmp(p, sb->dir, strlen(sb->dir)))
		return;
	for (int i = 0; i < sb->nkeep; i++) {
		size_t n = strlen(sb->keep_src[i]);

		if (!strncmp(p, sb->keep_src[i], n) && (p[n] == '/' || !p[n]))
			return; /* inside one kept already */
	}
	snprintf(sb->keep_src[sb->nkeep], sizeof(sb->keep_src[0]), "%s", p);
	{
		size_t dl = strlen(sb->dir), rl = strlen(p + strlen(VIEW_TMP));

		memcpy(sb->keep_dst[sb->nkeep], sb->dir, dl); /* (dir) and (p)'s rest both fit */
		memcpy(sb->keep_dst[sb->nkeep] + dl, p + strlen(VIEW_TMP), rl + 1);
	}
	sb->nkeep++;
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
	sb->isolated = sandbox_can_isolate();
	/* The build sees its private dir as /tmp: what it needs from the host's /tmp is mounted
	 * back, read only, at the same place. */
	if (sb->isolated) {
		sandbox_keep(sb, opts->ukcc_path, 2); /* PREFIX/bin/ukcc: PREFIX (lib/uk beside) */
		sandbox_keep(sb, getenv("UKCC_LIBDIR"), 0);
		sandbox_keep(sb, getenv("UKCC_CC"), 1);
	}
	snprintf(sb->view_tmp, sizeof(sb->view_tmp), "%s", sb->isolated ? VIEW_TMP : sb->dir);
	snprintf(sb->view_ctx, sizeof(sb->view_ctx), "%s", sb->isolated ? VIEW_CTX : ctx_src);
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
		uk_rm_rf(sb->dir);
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
		uk_rm_rf(rec->dir);
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

static void child_limits(int res, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = {soft, hard};

	if (setrlimit(res, &rl) < 0)
		child_fail("ukd sandbox: setrlimit failed\n");
}

static void child_limit(int res, rlim_t v)
{
	child_limits(res, v, v);
}

pid_t ukimg_sandbox_spawn(const struct ukimg_sandbox *sb)
{
	return sb->isolated ? clone_ns(sandbox_ns_flags()) : fork();
}

static int set_mount_attr(const char *path, unsigned flags, uint64_t set, uint64_t clr)
{
	struct mount_attr a = {.attr_set = set, .attr_clr = clr};

	return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &a, sizeof(a));
}

/*
 * The child's view of the file system, in its own mount namespace (private propagation first,
 * so nothing reaches the host's): the private dir, which the build user owns, over /tmp, with
 * the host dirs it needs from under /tmp (sandbox_keep) at their own paths, read only, and
 * the context bind-mounted read only at /tmp/ctx (the compiler reaches it whatever the modes of
 * the daemon's root, and cannot change it); a /proc that shows only the build's PID namespace;
 * every other mount read only and nosuid, so no build can leave anything for another (the
 * shared /var/tmp, /dev/shm, files of the build user) or see the host's /tmp.
 */
/* mkdir -p of (path) below its first (from) bytes, which exist; raw calls only (the child's). */
static int mkdir_all(const char *path, size_t from)
{
	char p[sizeof(((struct ukimg_sandbox *)0)->keep_dst[0])];
	size_t n = 0;

	while (path[n] && n < sizeof(p) - 1) {
		p[n] = path[n];
		n++;
	}
	p[n] = 0;
	for (size_t i = from + 1; i <= n; i++) {
		if (p[i] != '/' && p[i])
			continue;
		p[i] = 0;
		/* 0755 whatever ukd's umask: the build user walks through to the kept dir */
		if (mkdir(p, 0755) == 0 ? chmod(p, 0755) < 0 : errno != EEXIST)
			return -1;
		if (i < n)
			p[i] = '/';
	}
	return 0;
}

static int child_mounts(const struct ukimg_sandbox *sb, int privileged)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	if (mount(sb->ctx_src, sb->ctx, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	/* kept host dirs under /tmp go inside (dir) first, and come along with it */
	for (int i = 0; i < sb->nkeep; i++)
		if (mkdir_all(sb->keep_dst[i], strlen(sb->dir)) < 0 ||
		    mount(sb->keep_src[i], sb->keep_dst[i], NULL, MS_BIND | MS_REC, NULL) < 0)
			return -1;
	if (mount(sb->dir, VIEW_TMP, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	/* Unprivileged (a user namespace), the kernel may refuse a new /proc where the host's is
	 * partly hidden: the read only host one stays, with the host's processes in it. */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 &&
	    privileged)
		return -1;
	if (set_mount_attr("/", AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0) < 0 ||
	    set_mount_attr(VIEW_TMP, 0, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, MOUNT_ATTR_RDONLY) <
	            0)
		return -1;
	return chdir(VIEW_CTX);
}

/*
 * What a compiler never needs and an escape would: debugging other processes (ptrace,
 * process_vm_*, kcmp, pidfd_getfd), new namespaces or mounts (which would undo the read only
 * view), kernel keyrings, BPF, perf, userfaultfd, io_uring (its operations bypass this filter),
 * modules, kexec, file handles (open_by_handle_at walks around mounts), swap, reboot,
 * accounting, quotas, the kernel log, unix sockets. Each fails with EPERM; clone3 with ENOSYS
 * so that libc falls back to clone, whose flags can be checked (no CLONE_NEW*). Another
 * architecture's (or x32's) system call numbers kill the process: they would bypass the list.
 */
#define CLONE_NS_ALL (SANDBOX_NS | CLONE_NEWUSER | CLONE_NEWCGROUP)
static const int denied[] = {
        SYS_ptrace,
        SYS_process_vm_readv,
        SYS_process_vm_writev,
        SYS_kcmp,
        SYS_pidfd_getfd,
        SYS_mount,
        SYS_umount2,
        SYS_pivot_root,
        SYS_chroot,
        SYS_unshare,
        SYS_setns,
        SYS_fsopen,
        SYS_fsconfig,
        SYS_fsmount,
        SYS_fspick,
        SYS_open_tree,
        SYS_move_mount,
        SYS_mount_setattr,
        SYS_keyctl,
        SYS_add_key,
        SYS_request_key,
        SYS_bpf,
        SYS_perf_event_open,
        SYS_userfaultfd,
        SYS_io_uring_setup,
        SYS_io_uring_enter,
        SYS_io_uring_register,
        SYS_init_module,
        SYS_finit_module,
        SYS_delete_module,
        SYS_kexec_load,
        SYS_kexec_file_load,
        SYS_open_by_handle_at,
        SYS_name_to_handle_at,
        SYS_swapon,
        SYS_swapoff,
        SYS_reboot,
        SYS_acct,
        SYS_quotactl,
        SYS_syslog,
        SYS_iopl,
        SYS_ioperm,
        SYS_uselib,
        SYS_vhangup,
};
#define N_DENIED (sizeof(denied) / sizeof(denied[0]))

static void child_seccomp(void)
{
	/* [0-3] the architecture and x32, [4-6] clone's flags, [7-9] socket's family, [10]
	 * clone3, then one test per denied call; the four returns last. */
	enum { HEAD = 11, ALLOW = HEAD + N_DENIED, EPERM_ = ALLOW + 1, ENOSYS_, KILL, LEN };
	struct sock_filter f[LEN] = {
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, KILL - 2),
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, KILL - 4, 0),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 2),
	        /* the low half of the flags, where every CLONE_NEW* is */
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
	        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NS_ALL, EPERM_ - 7, ALLOW - 7),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 2),
	        /* no unix sockets: the host's (D-Bus, syslog) are reachable in the file system
	         * even where it is read only; the network namespace leaves nothing else */
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, EPERM_ - 10, ALLOW - 10),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, ENOSYS_ - 11, 0),
	};
	struct sock_fprog prog = {.len = LEN, .filter = f};

	for (size_t i = 0; i < N_DENIED; i++)
		f[HEAD + i] =
		        (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied[i],
		                                     (unsigned char)(EPERM_ - HEAD - i - 1), 0);
	f[ALLOW] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[EPERM_] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	f[ENOSYS_] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
	f[KILL] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		child_fail("ukd sandbox: installing the seccomp filter failed\n");
}

/* In the spawned child, before execve: only async-signal-safe calls and raw syscalls. */
void ukimg_sandbox_enter(const struct ukimg_sandbox *sb)
{
	int privileged = sb->switch_user || geteuid() == 0;

	if (!sb->isolated) {
		child_say("ukd sandbox: no namespaces (not root, and unprivileged user namespaces "
		          "are off): the compiler shares the host's network, processes and /tmp\n");
		if (chdir(sb->ctx_src) < 0)
			child_fail("ukd sandbox: cannot enter the build context\n");
	} else if (child_mounts(sb, privileged) < 0) {
		child_fail("ukd sandbox: cannot mount the build context and /tmp into the "
		           "sandbox\n");
	}
	/* SIGXCPU at the limit, SIGKILL a second later: with soft = hard the kernel sends SIGKILL
	 * alone, gcc then says only "Killed signal terminated program cc1", and the verdict rested
	 * on the CPU time the rusage showed (CI once saw "compile failed (exit 1)" there); with
	 * SIGXCPU it says "CPU time limit exceeded signal terminated program cc1" */
	child_limits(RLIMIT_CPU, sb->cpu_s, (rlim_t)sb->cpu_s + 1);
	child_limit(RLIMIT_AS, (rlim_t)sb->memory_mb << 20);
	child_limit(RLIMIT_FSIZE, (rlim_t)sb->file_mb << 20);
	child_limit(RLIMIT_NOFILE, SANDBOX_NOFILE);
	child_limit(RLIMIT_CORE, 0);
	if (sb->switch_user) {
		/* RLIMIT_NPROC counts every process of the user: only meaningful for uk-build.
		 * Raw system calls: the child is alone, glibc's would signal threads of ukd. */
		child_limit(RLIMIT_NPROC, SANDBOX_NPROC);
		if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setgid, sb->gid) < 0 ||
		    syscall(SYS_setuid, sb->uid) < 0 || syscall(SYS_setuid, 0) == 0)
			child_fail("ukd sandbox: could not switch to the build user\n");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail("ukd sandbox: PR_SET_NO_NEW_PRIVS failed\n");
	child_seccomp();
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
