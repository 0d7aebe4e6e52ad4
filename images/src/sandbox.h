/* The build sandbox (sandbox.c): what the compiler runs as and under, and why it failed. */
#ifndef UKIMG_SANDBOX_H
#define UKIMG_SANDBOX_H

#include <limits.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "uk/images.h"

struct ukimg_sandbox {
	char dir[PATH_MAX]; /* private temp dir: TMPDIR, HOME, the output; 0700, the build user's */
	char ctx[PATH_MAX + 8]; /* <dir>/ctx: where the context is mounted, read only */
	/* What the compiler sees: (dir) as /tmp and the context as /tmp/ctx in its own mount
	 * namespace, or (dir) and (ctx_src) themselves where it cannot have one (not root and no
	 * user namespaces). */
	char view_tmp[PATH_MAX];
	char view_ctx[PATH_MAX + 8];
	int isolated;               /* its own PID, mount, network, IPC and UTS namespaces */
	const char *ctx_src;        /* the context (under the daemon's root, maybe 0700 above) */
	char record[PATH_MAX + 16]; /* <build dir>/sandbox: where recovery finds the above */
	uid_t uid;
	gid_t gid;
	int switch_user; /* root: run as (uid, gid) */
	int fell_back;   /* the build user is missing: nobody */
	int timeout_s;
	unsigned cpu_s, memory_mb, file_mb;
	char note[160]; /* who the compiler runs as, for the progress stream */
	/* Host dirs under /tmp the compiler needs (ukcc's install, UKCC_LIBDIR, UKCC_CC when they
	 * live there, as in a build tree under /tmp): mounted read only at the same place in the
	 * build's own /tmp, staged at keep_dst inside (dir). */
	int nkeep;
	char keep_src[3][PATH_MAX];
	char keep_dst[3][PATH_MAX + PATH_MAX];
};

/* Resolves the user and limits from (opts) and creates the private dir for a build of the
 * context (ctx_src), which must outlive (sb), recorded in (build_dir) (the build's dir in the
 * store's tmp/) first. */
int ukimg_sandbox_prepare(struct ukimg_sandbox *sb, const ukimg_build_opts_t *opts, int timeout,
                          const char *ctx_src, const char *build_dir, uk_err_t *err);
/* Starts the compiler's process like fork(): 0 in the child, its pid in the caller, -1 with
 * (errno). Isolated, the child is the first process (init) of a new PID namespace, in new
 * mount, network, IPC and UTS namespaces: when it exits, the kernel kills every process it
 * left. The child MUST call only async-signal-safe functions and raw id syscalls (no
 * setuid(): glibc's would wait for the caller's other threads). */
pid_t ukimg_sandbox_spawn(const struct ukimg_sandbox *sb);
/* Records the compiler's process group (pgid) before it may execute. */
int ukimg_sandbox_started(const struct ukimg_sandbox *sb, pid_t pgid, uk_err_t *err);
/* Removes the private dir and the record. */
void ukimg_sandbox_cleanup(struct ukimg_sandbox *sb);
/* In the spawned child before execve (async-signal-safe): (dir) mounted over /tmp, the context
 * read only at /tmp/ctx and made the working directory, a /proc of the build's own PID
 * namespace, everything else read only; rlimits, user, no new privileges, a seccomp filter.
 * Exits 126 with a message on stderr if a step fails. */
void ukimg_sandbox_enter(const struct ukimg_sandbox *sb);
/* What compiler output says about limits (a line may be split across reads: best effort). */
enum { UKIMG_SAID_OOM = 1, UKIMG_SAID_FSIZE = 2, UKIMG_SAID_CPU = 4 };
unsigned ukimg_sandbox_scan(const char *buf, size_t len);
/* After a failed compile (wait (status), (ru) of the child and what it waited for): -1 with
 * (err) naming the limit that explains the failure, 0 if none does. */
int ukimg_sandbox_verdict(const struct ukimg_sandbox *sb, int status, const struct rusage *ru,
                          unsigned said, uk_err_t *err);

#endif
