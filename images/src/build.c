/* The build pipeline: safe context extraction, Ukfile, ukcc (fork/exec, streamed, timed), OCI
 * blobs. */
#include "internal.h"
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define BUILD_TIMEOUT_DEFAULT 300
#define BUILD_LINE_MAX 4096

extern char **environ;

struct build {
	ukimg_store_t *store;
	const ukimg_build_opts_t *opts;
	char tmp[PATH_MAX];         /* private temp dir under <root>/tmp */
	char ctx[PATH_MAX + 16];    /* the build context */
	char kernel[PATH_MAX + 16]; /* ukcc's output */
	ukimg_ukfile_t *uf;
	char **sources; /* expanded, relative to ctx */
	size_t n_sources;
	uk_err_t *err;
};

__attribute__((format(printf, 2, 3))) static void progress(struct build *b, const char *fmt, ...)
{
	char line[BUILD_LINE_MAX + 64];
	va_list ap;

	if (!b->opts->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	b->opts->progress(b->opts->progress_ctx, line);
}

void ukimg_build_opts_init(ukimg_build_opts_t *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->context_fd = -1;
	opts->created = -1;
}

static int build_context(struct build *b)
{
	const ukimg_build_opts_t *o = b->opts;
	_cleanup_close_ int fd = -1;
	int in = o->context_fd;

	if (in < 0 && !o->context_tar) {
		if (!o->context_dir)
			return uk_err_bad(b->err, "build: no build context given");
		if (!realpath(o->context_dir, b->ctx))
			return uk_err_bad(b->err, "build: context directory %s: %s", o->context_dir,
			                  strerror(errno));
		return 0;
	}
	if (in < 0) {
		fd = open(o->context_tar, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return uk_err_bad(b->err, "build: context %s: %s", o->context_tar,
			                  strerror(errno));
		in = fd;
	}
	snprintf(b->ctx, sizeof(b->ctx), "%s/ctx", b->tmp);
	/* Searchable by the build user, who enters it as its working directory; the private
	 * build dir above (0700) keeps everyone else out. */
	if (mkdir(b->ctx, 0755) < 0 || chmod(b->ctx, 0755) < 0)
		return uk_err_errno(b->err, errno, "build: mkdir %s", b->ctx);
	if (ukimg_tar_extract(in, b->ctx, &o->limits, b->err) < 0)
		return uk_err_wrap(b->err, "build: context");
	return 0;
}

/* Resolves a context-relative path; it must exist and stay inside the context. */
static int ctx_file(struct build *b, const char *what, const char *rel, char *out, size_t outlen,
                    struct stat *st)
{
	if ((size_t)snprintf(out, outlen, "%s/%s", b->ctx, rel) >= outlen)
		return uk_err_bad(b->err, "%s \"%s\": path too long", what, rel);
	if (stat(out, st) < 0)
		return uk_err_bad(b->err, "%s \"%s\": not found in the build context", what, rel);
	if (!util_path_within(b->ctx, out))
		return uk_err_bad(b->err,
		                  "%s \"%s\" resolves outside the build context (through a "
		                  "symlink)",
		                  what, rel);
	return 0;
}

static int sources_expand(struct build *b)
{
	b->sources = util_strv_new();
	if (!b->sources)
		return uk_err_errno(b->err, ENOMEM, "build");
	for (size_t i = 0; i < b->uf->n_sources; i++) {
		const char *pat = b->uf->sources[i];
		char full[PATH_MAX * 2];
		struct stat st;

		if (strpbrk(pat, "*?[")) {
			glob_t g;
			size_t plen = strlen(b->ctx) + 1;
			int r;

			snprintf(full, sizeof(full), "%s/%s", b->ctx, pat);
			r = glob(full, 0, NULL, &g);
			if (r == GLOB_NOMATCH || r == GLOB_ABORTED)
				return uk_err_bad(b->err,
				                  "SOURCES \"%s\" matches no file in the "
				                  "build context",
				                  pat);
			if (r != 0)
				return uk_err_bad(b->err, "SOURCES \"%s\": cannot expand", pat);
			for (size_t j = 0; j < g.gl_pathc; j++) {
				const char *rel = g.gl_pathv[j] + plen;
				char chk[PATH_MAX * 2];
				bool dup = false;

				if (ctx_file(b, "SOURCES", rel, chk, sizeof(chk), &st) < 0) {
					globfree(&g);
					return -1;
				}
				for (size_t k = 0; k < b->n_sources; k++)
					dup |= !strcmp(b->sources[k], rel);
				if (S_ISREG(st.st_mode) && !dup &&
				    util_strv_push(&b->sources, &b->n_sources, rel) < 0) {
					globfree(&g);
					return uk_err_errno(b->err, ENOMEM, "build");
				}
			}
			globfree(&g);
			continue;
		}
		if (ctx_file(b, "SOURCES", pat, full, sizeof(full), &st) < 0)
			return -1;
		if (!S_ISREG(st.st_mode))
			return uk_err_bad(b->err, "SOURCES \"%s\" is not a regular file", pat);
		bool dup = false;
		for (size_t k = 0; k < b->n_sources; k++)
			dup |= !strcmp(b->sources[k], pat);
		if (!dup && util_strv_push(&b->sources, &b->n_sources, pat) < 0)
			return uk_err_errno(b->err, ENOMEM, "build");
	}
	if (b->n_sources == 0)
		return uk_err_bad(b->err, "SOURCES names no regular file");
	for (size_t i = 0; i < b->uf->n_cflags; i++) {
		const char *f = b->uf->cflags[i];
		char full[PATH_MAX * 2];
		struct stat st;

		if (strncmp(f, "-I", 2))
			continue;
		if (ctx_file(b, "CFLAGS -I", f + 2, full, sizeof(full), &st) < 0)
			return -1;
	}
	return 0;
}

/* Sends the complete lines in (buf) to the progress callback; keeps the rest. */
static void flush_lines(struct build *b, char *buf, size_t *len, bool all)
{
	size_t start = 0;

	for (size_t i = 0; i < *len; i++) {
		if (buf[i] != '\n')
			continue;
		buf[i] = 0;
		if (i > start && buf[i - 1] == '\r')
			buf[i - 1] = 0;
		progress(b, "%s", buf + start);
		start = i + 1;
	}
	if ((all || start == 0) && start < *len && (all || *len >= BUILD_LINE_MAX)) {
		buf[*len] = 0;
		progress(b, "%s", buf + start);
		start = *len;
	}
	memmove(buf, buf + start, *len - start);
	*len -= start;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct compile_run {
	int status;
	struct rusage ru; /* of the compiler and the children it waited for */
	unsigned said;    /* UKIMG_SAID_*: limits its output reported */
};

static void close_pair(int fds[2])
{
	close(fds[0]);
	close(fds[1]);
}

/* Runs (argv) in the context inside the sandbox (sb), output streamed to progress; fills (run)
 * and returns 0, or -1 with b->err (the time limit, or ours). */
static int run_compiler(struct build *b, char **argv, char **envp, const struct ukimg_sandbox *sb,
                        struct compile_run *run)
{
	int p[2], go[2];
	pid_t pid;
	char buf[BUILD_LINE_MAX + 1];
	size_t len = 0;
	int64_t deadline = now_ms() + (int64_t)sb->timeout_s * 1000;
	bool timed_out = false;

	memset(run, 0, sizeof(*run));
	if (pipe2(p, O_CLOEXEC) < 0)
		return uk_err_errno(b->err, errno, "build: pipe");
	if (pipe2(go, O_CLOEXEC) < 0) {
		close_pair(p);
		return uk_err_errno(b->err, errno, "build: pipe");
	}
	pid = ukimg_sandbox_spawn(sb);
	if (pid < 0) {
		close_pair(p);
		close_pair(go);
		return uk_err_errno(b->err, errno,
		                    "build: start the compiler in new PID, mount and network "
		                    "namespaces");
	}
	if (pid == 0) {
		/* Only async-signal-safe calls until execve. */
		int nul = open("/dev/null", O_RDONLY);
		ssize_t r;
		char c;
		setpgid(0, 0);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0 ||
		    dup2(go[0], 3) < 0)
			_exit(126);
		/* The compiler gets none of the caller's descriptors (sockets, the store). */
		close_range(4, ~0U, 0);
		/* Not before ukd recorded the process group (recovery's handle on it): if ukd
		 * died first, the pipe is at its end and nothing runs. */
		while ((r = read(3, &c, 1)) < 0 && errno == EINTR)
			;
		if (r != 1)
			_exit(126);
		close(3);
		ukimg_sandbox_enter(sb);
		execve(argv[0], argv, envp);
		{
			static const char msg[] = "ukcc: cannot execute the compiler\n";
			ssize_t r = write(2, msg, sizeof(msg) - 1);
			(void)r;
		}
		_exit(127);
	}
	close(p[1]);
	close(go[0]);
	setpgid(pid, pid); /* also from here, against the race with the child's own call */
	if (ukimg_sandbox_started(sb, pid, b->err) < 0 ||
	    (write(go[1], "g", 1) != 1 && uk_err_errno(b->err, errno, "build: start ukcc"))) {
		close(go[1]);
		close(p[0]);
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	close(go[1]);
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		int r;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		r = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0)
			continue;
		ssize_t n = read(p[0], buf + len, BUILD_LINE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		/* the unflushed line whole: a message split across two reads is still read */
		run->said |= ukimg_sandbox_scan(buf, len);
		flush_lines(b, buf, &len, false);
	}
	flush_lines(b, buf, &len, true);
	close(p[0]);
	/*
	 * The deadline also covers a compiler that closed its output but runs on, and anything
	 * it started that still holds the pipe: the whole process group is killed, always
	 * before the leader is reaped, so the group id cannot have been reused.
	 */
	if (timed_out)
		kill(-pid, SIGKILL);
	for (;;) {
		pid_t w = wait4(pid, &run->status, timed_out ? 0 : WNOHANG, &run->ru);

		if (w == pid)
			break;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return uk_err_errno(b->err, errno, "build: wait for ukcc");
		if (now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			timed_out = true;
			continue;
		}
		poll(NULL, 0, 10);
	}
	if (timed_out)
		return uk_err_bad(b->err,
		                  "build exceeded its %d s time limit (build-limits.timeout-s): "
		                  "the compiler was killed",
		                  sb->timeout_s);
	return 0;
}

/* ukcc's command line for the context as the compiler sees it (sb)->ctx, writing the kernel
 * to (out). */
static int compile_argv(struct build *b, const struct ukimg_sandbox *sb, const char *out,
                        char ***argv_out)
{
	_cleanup_strv_ char **argv = util_strv_new();
	size_t n = 0;
	char line[BUILD_LINE_MAX + PATH_MAX], line2[BUILD_LINE_MAX + PATH_MAX];

	if (!argv)
		return uk_err_errno(b->err, ENOMEM, "build");
	/* The file prefix maps keep the build dirs' random names out of debug info (-g): the
	 * sandbox's mount of the context, or the context itself where it could not mount. */
	snprintf(line, sizeof(line), "-ffile-prefix-map=%s=.", sb->view_ctx);
	snprintf(line2, sizeof(line2), "-ffile-prefix-map=%s=.", b->ctx);
	if (util_strv_push(&argv, &n, b->opts->ukcc_path) < 0 ||
	    util_strv_push(&argv, &n, "--target=kvm") < 0 || util_strv_push(&argv, &n, "-O2") < 0 ||
	    /* debug information in the image's kernel (not loaded at boot): uk debug and the
	     * symbolized crash reports read it (docs/debugging.md); CFLAGS -g0 drops it */
	    util_strv_push(&argv, &n, "-g") < 0 || util_strv_push(&argv, &n, line) < 0 ||
	    util_strv_push(&argv, &n, line2) < 0)
		return uk_err_errno(b->err, ENOMEM, "build");
	for (size_t i = 0; i < b->uf->n_cflags; i++)
		if (util_strv_push(&argv, &n, b->uf->cflags[i]) < 0)
			return uk_err_errno(b->err, ENOMEM, "build");
	if (util_strv_push(&argv, &n, "-o") < 0 || util_strv_push(&argv, &n, out) < 0)
		return uk_err_errno(b->err, ENOMEM, "build");
	for (size_t i = 0; i < b->n_sources; i++) {
		/* A source named like an option (-x.c) or a response file of options (@x.c: gcc
		 * would read its contents as arguments, -wrapper included) is not read as one. */
		char rel[PATH_MAX + 4];
		snprintf(rel, sizeof(rel), "%s%s", strchr("-@", b->sources[i][0]) ? "./" : "",
		         b->sources[i]);
		if (util_strv_push(&argv, &n, rel) < 0)
			return uk_err_errno(b->err, ENOMEM, "build");
	}
	/* FILES are embedded into the kernel (ukcc --embed SRC:DST, docs/http.md) as well as
	 * carried in the layer; each is checked to stay inside the context before ukcc reads it. */
	for (size_t i = 0; i < b->uf->n_files; i++) {
		const ukimg_file_spec_t *f = &b->uf->files[i];
		char abs[PATH_MAX * 2], spec[PATH_MAX * 2 + 8];
		struct stat st;

		if (strstr(f->src, ":/"))
			return uk_err_bad(b->err,
			                  "%s:%d: FILES source \"%s\" contains \":/\", which "
			                  "ukcc --embed cannot express: rename it",
			                  b->opts->ukfile ? b->opts->ukfile : "Ukfile", f->line,
			                  f->src);
		if (ctx_file(b, "FILES", f->src, abs, sizeof(abs), &st) < 0)
			return uk_err_wrap(b->err, "build: %s:%d",
			                   b->opts->ukfile ? b->opts->ukfile : "Ukfile", f->line);
		snprintf(spec, sizeof(spec), "%s%s:%s", strchr("-@", f->src[0]) ? "./" : "", f->src,
		         f->dst);
		if (util_strv_push(&argv, &n, "--embed") < 0 || util_strv_push(&argv, &n, spec) < 0)
			return uk_err_errno(b->err, ENOMEM, "build");
	}
	for (size_t i = 0; i < b->uf->n_libs; i++) {
		char l[80];
		snprintf(l, sizeof(l), "-l%s", b->uf->libs[i]);
		if (util_strv_push(&argv, &n, l) < 0)
			return uk_err_errno(b->err, ENOMEM, "build");
	}
	*argv_out = steal_ptr(argv);
	return 0;
}

/* A clean environment: the search path, the private dir as HOME and TMPDIR, and the
 * operator's (not the client's) choice of compiler and runtime-lib for ukcc. */
static int compile_envp(struct build *b, const struct ukimg_sandbox *sb, char ***envp_out)
{
	_cleanup_strv_ char **envp = util_strv_new();
	static const char *const keep[] = {"UKCC_CC", "UKCC_LIBDIR"};
	char v[PATH_MAX + 16];
	size_t n = 0;

	if (!envp || util_strv_push(&envp, &n, "PATH=/usr/local/bin:/usr/bin:/bin") < 0 ||
	    util_strv_push(&envp, &n, "LC_ALL=C") < 0)
		return uk_err_errno(b->err, ENOMEM, "build");
	snprintf(v, sizeof(v), "HOME=%s", sb->view_tmp);
	if (util_strv_push(&envp, &n, v) < 0)
		return uk_err_errno(b->err, ENOMEM, "build");
	snprintf(v, sizeof(v), "TMPDIR=%s", sb->view_tmp);
	if (util_strv_push(&envp, &n, v) < 0)
		return uk_err_errno(b->err, ENOMEM, "build");
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const char *e = getenv(keep[i]);
		snprintf(v, sizeof(v), "%s=%s", keep[i], e ? e : "");
		if (e && util_strv_push(&envp, &n, v) < 0)
			return uk_err_errno(b->err, ENOMEM, "build");
	}
	*envp_out = steal_ptr(envp);
	return 0;
}

/* Copies the kernel the build user wrote at (from) to b->kernel, ours: a regular file (not a
 * link it planted), an ELF. */
static int kernel_take(struct build *b, const char *from)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	_cleanup_close_ int out = -1;
	unsigned char magic[4];
	char buf[65536];
	struct stat st;
	ssize_t r;

	if (in < 0 || fstat(in, &st) < 0 || !S_ISREG(st.st_mode))
		return uk_err_bad(b->err, "build: ukcc exited 0 but wrote no kernel");
	if (read(in, magic, 4) != 4 || memcmp(magic, "\177ELF", 4) || lseek(in, 0, SEEK_SET) < 0)
		return uk_err_bad(b->err, "build: ukcc's output is not an ELF file");
	out = open(b->kernel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0)
		return uk_err_errno(b->err, errno, "build: create %s", b->kernel);
	while ((r = read(in, buf, sizeof(buf))) > 0)
		if (uk_write_all(out, buf, (size_t)r) < 0)
			return uk_err_errno(b->err, errno, "build: write %s", b->kernel);
	if (r < 0)
		return uk_err_errno(b->err, errno, "build: read the kernel");
	return 0;
}

static int compile_in(struct build *b, const struct ukimg_sandbox *sb)
{
	_cleanup_strv_ char **argv = NULL;
	_cleanup_strv_ char **envp = NULL;
	char line[BUILD_LINE_MAX + PATH_MAX], out[PATH_MAX + 16], view_out[PATH_MAX + 16];
	struct compile_run run;
	size_t o;

	snprintf(out, sizeof(out), "%s/kernel", sb->dir);
	snprintf(view_out, sizeof(view_out), "%s/kernel", sb->view_tmp);
	if (compile_argv(b, sb, view_out, &argv) < 0 || compile_envp(b, sb, &envp) < 0)
		return -1;
	o = (size_t)snprintf(line, sizeof(line), "compile: ukcc");
	for (size_t i = 1; argv[i] && o < sizeof(line); i++) {
		if (!strncmp(argv[i], "-ffile-prefix-map=", 18))
			continue;
		o += (size_t)snprintf(line + o, sizeof(line) - o, " %s",
		                      strcmp(argv[i], view_out) ? argv[i] : "kernel");
	}
	progress(b, "%s", line);
	progress(b, "sandbox: %s, %s, cpu %u s, memory %u MiB, files %u MiB, time %d s", sb->note,
	         sb->isolated ? "own PID, mount, network and IPC namespaces, private /tmp, seccomp"
	                      : "no namespaces (not root, no user namespaces), seccomp",
	         sb->cpu_s, sb->memory_mb, sb->file_mb, sb->timeout_s);

	if (run_compiler(b, argv, envp, sb, &run) < 0)
		return -1;
	if (ukimg_sandbox_verdict(sb, run.status, &run.ru, run.said, b->err) < 0)
		return -1;
	if (WIFSIGNALED(run.status))
		return uk_err_bad(b->err, "build: compile failed (killed by signal %d)",
		                  WTERMSIG(run.status));
	if (WEXITSTATUS(run.status) != 0)
		return uk_err_bad(b->err, "build: compile failed (exit %d)",
		                  WEXITSTATUS(run.status));
	return kernel_take(b, out);
}

static int compile(struct build *b)
{
	struct ukimg_sandbox sb;
	int timeout = b->opts->timeout_sec > 0 ? b->opts->timeout_sec : BUILD_TIMEOUT_DEFAULT;
	int r;

	snprintf(b->kernel, sizeof(b->kernel), "%s/kernel", b->tmp);
	if (ukimg_sandbox_prepare(&sb, b->opts, timeout, b->ctx, b->tmp, b->err) < 0)
		return -1;
	r = compile_in(b, &sb);
	ukimg_sandbox_cleanup(&sb);
	return r;
}

/* Adds "uk/files/<dst>" entries for one FILES instruction. */
static int files_walk(struct build *b, ukimg_tar_t *tar, const char *abs, const char *name,
                      const char *rel, int depth);

static int files_add_parents(struct build *b, ukimg_tar_t *tar, const char *name)
{
	char p[PATH_MAX];

	if (strlen(name) <= strlen(UKIMG_LAYER_FILES))
		return 0;
	snprintf(p, sizeof(p), "%s", name);
	for (char *s = p + strlen(UKIMG_LAYER_FILES) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (ukimg_tar_add_dir(tar, p, b->err) < 0)
			return -1;
		*s = '/';
	}
	return 0;
}

static int files_one(struct build *b, ukimg_tar_t *tar, const char *abs, const char *name,
                     const char *rel, int depth)
{
	struct stat st;

	if (stat(abs, &st) < 0)
		return uk_err_bad(b->err, "FILES: \"%s\" is a dangling symlink", rel);
	if (!util_path_within(b->ctx, abs))
		return uk_err_bad(b->err,
		                  "FILES: \"%s\" resolves outside the build context "
		                  "(through a symlink)",
		                  rel);
	if (S_ISDIR(st.st_mode))
		return files_walk(b, tar, abs, name, rel, depth + 1);
	if (!S_ISREG(st.st_mode))
		return uk_err_bad(b->err, "FILES: \"%s\" is not a file or directory", rel);
	if (files_add_parents(b, tar, name) < 0)
		return -1;
	return ukimg_tar_add_file(tar, name, abs, (st.st_mode & 0111) != 0, b->err);
}

static int files_walk(struct build *b, ukimg_tar_t *tar, const char *abs, const char *name,
                      const char *rel, int depth)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > 64)
		return uk_err_bad(b->err, "FILES: \"%s\" is nested too deep (a symlink loop?)",
		                  rel);
	if (files_add_parents(b, tar, name) < 0 || ukimg_tar_add_dir(tar, name, b->err) < 0)
		return -1;
	d = opendir(abs);
	if (!d)
		return uk_err_errno(b->err, errno, "FILES: open %s", rel);
	while (rc == 0 && (de = readdir(d))) {
		char a[PATH_MAX], nm[PATH_MAX], r[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(a, sizeof(a), "%s/%s", abs, de->d_name) >= sizeof(a) ||
		    (size_t)snprintf(nm, sizeof(nm), "%s/%s", name, de->d_name) >= sizeof(nm) ||
		    (size_t)snprintf(r, sizeof(r), "%s/%s", rel, de->d_name) >= sizeof(r)) {
			rc = uk_err_bad(b->err, "FILES: path too long under \"%s\"", rel);
			break;
		}
		rc = files_one(b, tar, a, nm, r, depth);
	}
	closedir(d);
	return rc;
}

static int files_collect(struct build *b, ukimg_tar_t *tar)
{
	for (size_t i = 0; i < b->uf->n_files; i++) {
		const ukimg_file_spec_t *f = &b->uf->files[i];
		char abs[PATH_MAX * 2], name[PATH_MAX + 64];
		struct stat st;
		size_t dl = strlen(f->dst);
		bool dst_dir = dl > 1 && f->dst[dl - 1] == '/';
		const char *base = strrchr(f->src, '/');

		if (ctx_file(b, "FILES", f->src, abs, sizeof(abs), &st) < 0)
			return -1;
		base = base ? base + 1 : f->src;
		if (S_ISDIR(st.st_mode)) {
			/* The directory's contents go into dst, as Docker's COPY does. */
			snprintf(name, sizeof(name), "%s%.*s", UKIMG_LAYER_FILES,
			         (int)(dst_dir ? dl - 1 : (f->dst[1] ? dl : 0)), f->dst);
		} else if (dst_dir || !strcmp(f->dst, "/")) {
			snprintf(name, sizeof(name), "%s%s%s", UKIMG_LAYER_FILES, f->dst, base);
		} else {
			snprintf(name, sizeof(name), "%s%s", UKIMG_LAYER_FILES, f->dst);
		}
		if (files_one(b, tar, abs, name, f->src, 0) < 0)
			return uk_err_wrap(b->err, "build: %s:%d",
			                   b->opts->ukfile ? b->opts->ukfile : "Ukfile", f->line);
	}
	return 0;
}

static int store_layer(struct build *b, ukimg_build_result_t *res)
{
	ukimg_tar_t *tar = ukimg_tar_new();
	char path[PATH_MAX + 16];
	int fd, rc = -1;

	if (!tar)
		return uk_err_errno(b->err, ENOMEM, "build");
	if (ukimg_tar_add_dir(tar, "uk", b->err) < 0 ||
	    ukimg_tar_add_file(tar, UKIMG_LAYER_KERNEL, b->kernel, 1, b->err) < 0)
		goto out;
	if (b->uf->n_files &&
	    (ukimg_tar_add_dir(tar, UKIMG_LAYER_FILES, b->err) < 0 || files_collect(b, tar) < 0))
		goto out;
	snprintf(path, sizeof(path), "%s/layer.tar", b->tmp);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		uk_err_errno(b->err, errno, "build: create %s", path);
		goto out;
	}
	rc = ukimg_tar_write(tar, fd, b->err);
	close(fd);
	if (rc < 0) {
		uk_err_wrap(b->err, "build: layer");
		goto out;
	}
	rc = ukimg_store_put_file(b->store, path, NULL, res->layer_digest, &res->size, b->err);
out:
	ukimg_tar_free(tar);
	return rc;
}

static json_object *json_strv(char **v, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* Serializes (o) compactly and stores it; fills (digest) and (size). */
static int store_json(struct build *b, json_object *o, char digest[UKIMG_DIGEST_SIZE],
                      int64_t *size)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
	        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	if (!s)
		return uk_err_errno(b->err, ENOMEM, "build: json");
	*size = (int64_t)len;
	return ukimg_store_put_buf(b->store, s, len, NULL, digest, b->err);
}

static int store_config_manifest(struct build *b, ukimg_build_result_t *res)
{
	_cleanup_json_ json_object *cfg = json_object_new_object();
	_cleanup_json_ json_object *man = json_object_new_object();
	json_object *c = json_object_new_object(), *labels = json_object_new_object();
	json_object *rootfs = json_object_new_object(), *diff = json_object_new_array();
	json_object *hist = json_object_new_array(), *h = json_object_new_object();
	json_object *layers = json_object_new_array(), *ann = json_object_new_object();
	char created[40], num[32], rv[16], cl[8], libs[2048] = "";
	int64_t created_t = b->opts->created >= 0 ? b->opts->created : (int64_t)time(NULL);
	int64_t csize, msize;
	size_t lo = 0;

	uk_time_rfc3339(created_t, created);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)b->uf->memory);
	snprintf(rv, sizeof(rv), "%d", b->uf->runtime_version);
	for (size_t i = 0; i < b->uf->n_libs && lo < sizeof(libs); i++)
		lo += (size_t)snprintf(libs + lo, sizeof(libs) - lo, "%s%s", i ? " " : "",
		                       b->uf->libs[i]);

	json_object_object_add(cfg, "created", json_object_new_string(created));
	json_object_object_add(cfg, "architecture", json_object_new_string("amd64"));
	json_object_object_add(cfg, "os", json_object_new_string("linux"));
	/* engines (docker, containerd) run args[0] = the Entrypoint: the kernel's path, which an
	 * OCI runtime that boots unikernels (runuk) recognises and drops from the guest's argv */
	json_object_object_add(c, "Entrypoint", json_strv((char *[]){"/uk/kernel"}, 1));
	if (b->uf->has_cmd)
		json_object_object_add(c, "Cmd", json_strv(b->uf->cmd, b->uf->n_cmd));
	if (b->uf->n_env)
		json_object_object_add(c, "Env", json_strv(b->uf->env, b->uf->n_env));
	if (b->uf->n_ports) {
		json_object *ports = json_object_new_object();
		for (size_t i = 0; i < b->uf->n_ports; i++) {
			char key[16];
			snprintf(key, sizeof(key), "%u/%s", b->uf->ports[i].port,
			         b->uf->ports[i].proto);
			json_object_object_add(ports, key, json_object_new_object());
		}
		json_object_object_add(c, "ExposedPorts", ports);
	}
	json_object_object_add(labels, UKIMG_LABEL_PLATFORM, json_object_new_string("kvm"));
	json_object_object_add(labels, UKIMG_LABEL_RUNTIME, json_object_new_string(rv));
	snprintf(cl, sizeof(cl), "%d", UKIMG_CMDLINE_VERSION);
	json_object_object_add(labels, UKIMG_LABEL_CMDLINE, json_object_new_string(cl));
	json_object_object_add(labels, UKIMG_LABEL_MEMORY, json_object_new_string(num));
	if (b->uf->n_libs)
		json_object_object_add(labels, UKIMG_LABEL_LIBS, json_object_new_string(libs));
	json_object_object_add(c, "Labels", labels);
	json_object_object_add(cfg, "config", c);
	json_object_object_add(rootfs, "type", json_object_new_string("layers"));
	json_object_array_add(diff, json_object_new_string(res->layer_digest));
	json_object_object_add(rootfs, "diff_ids", diff);
	json_object_object_add(cfg, "rootfs", rootfs);
	json_object_object_add(h, "created", json_object_new_string(created));
	json_object_object_add(h, "created_by", json_object_new_string("uk build"));
	json_object_array_add(hist, h);
	json_object_object_add(cfg, "history", hist);
	if (store_json(b, cfg, res->config_digest, &csize) < 0)
		goto fail;

	json_object_object_add(man, "schemaVersion", json_object_new_int(2));
	json_object_object_add(man, "mediaType", json_object_new_string(UKIMG_MT_MANIFEST));
	json_object_object_add(man, "config",
	                       image_descriptor_new(UKIMG_MT_CONFIG, res->config_digest, csize));
	json_object_array_add(layers,
	                      image_descriptor_new(UKIMG_MT_LAYER, res->layer_digest, res->size));
	json_object_object_add(man, "layers", layers);
	json_object_object_add(ann, UKIMG_LABEL_PLATFORM, json_object_new_string("kvm"));
	json_object_object_add(ann, UKIMG_ANNOT_ARCH, json_object_new_string("x86_64"));
	json_object_object_add(ann, UKIMG_LABEL_RUNTIME, json_object_new_string(rv));
	json_object_object_add(man, "annotations", ann);
	if (store_json(b, man, res->manifest_digest, &msize) < 0)
		return -1;
	return 0;
fail:
	json_object_put(layers);
	json_object_put(ann);
	return -1;
}

int ukimg_build(ukimg_store_t *store, const ukimg_build_opts_t *opts, ukimg_build_result_t *res,
                uk_err_t *err)
{
	struct build b = {.store = store, .opts = opts, .err = err};
	char ufpath[PATH_MAX * 2];
	const char *ufname = opts->ukfile ? opts->ukfile : "Ukfile";
	struct stat st;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (!opts->ukcc_path || opts->ukcc_path[0] != '/' || access(opts->ukcc_path, X_OK) < 0)
		return uk_err_internal(err,
		                       "build: ukcc not found at \"%s\": install uk completely "
		                       "or point the daemon at ukcc",
		                       opts->ukcc_path ? opts->ukcc_path : "");
	if (strchr(ufname, '/') || !*ufname || !strcmp(ufname, "..") || !strcmp(ufname, "."))
		return uk_err_bad(err, "build: bad Ukfile name \"%s\" (a file name in the context)",
		                  ufname);
	if (store_tmp_dir(store, "build", b.tmp, sizeof(b.tmp), err) < 0)
		return uk_err_wrap(err, "build");

	progress(&b, "Step 1/4 : read the build context");
	if (build_context(&b) < 0)
		goto out;

	progress(&b, "Step 2/4 : parse %s", ufname);
	snprintf(ufpath, sizeof(ufpath), "%s/%s", b.ctx, ufname);
	if (lstat(ufpath, &st) < 0) {
		uk_err_bad(err,
		           "build: the build context has no %s: add one at its top (see "
		           "docs/ukfile.md)",
		           ufname);
		goto out;
	}
	if (!util_path_within(b.ctx, ufpath)) {
		uk_err_bad(err, "build: %s resolves outside the build context", ufname);
		goto out;
	}
	b.uf = ukimg_ukfile_load(ufpath, err);
	if (!b.uf) {
		uk_err_wrap(err, "build");
		goto out;
	}
	if (sources_expand(&b) < 0) {
		uk_err_wrap(err, "build");
		goto out;
	}
	if (opts->prepared)
		opts->prepared(opts->progress_ctx);

	progress(&b, "Step 3/4 : compile %zu source file%s", b.n_sources,
	         b.n_sources == 1 ? "" : "s");
	if (compile(&b) < 0)
		goto out;

	progress(&b, "Step 4/4 : store the image");
	if (store_layer(&b, res) < 0)
		goto out;
	if (store_config_manifest(&b, res) < 0) {
		uk_err_wrap(err, "build: store");
		goto out;
	}
	progress(&b, "layer %s (%lld bytes)", res->layer_digest, (long long)res->size);
	progress(&b, "config %s", res->config_digest);
	progress(&b, "manifest %s", res->manifest_digest);
	rc = 0;
out:
	if (rc < 0)
		memset(res, 0, sizeof(*res));
	uk_rm_rf(b.tmp);
	ukimg_ukfile_free(b.uf);
	ukimg_strv_free(b.sources);
	return rc;
}
