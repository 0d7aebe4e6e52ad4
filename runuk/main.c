/* runuk's command line: runc's global flags and commands over the state, supervisor and spec. */
#include "runuk.h"
#include "uk/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <dirent.h>

struct g {
	const char *root;
	const char *log;
	int log_json;
	int debug;
	int argc; /* the whole command line, for a hand-over to runc */
	char **argv;
};

static void now_rfc3339(char *buf, size_t len, int nanos)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (nanos)
		snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
	else
		snprintf(buf + n, len - n, "Z");
}

/* The error to stderr and, as containerd reads it, to --log (JSON lines or logfmt). */
static int fail(const struct g *g, const uk_err_t *err) __attribute__((noreturn));
static int fail(const struct g *g, const uk_err_t *err)
{
	char t[64];
	FILE *f;

	fprintf(stderr, "runuk: %s\n", err->message);
	if (g->log && (f = fopen(g->log, "ae"))) {
		_cleanup_json_ json_object *o = json_object_new_object();

		now_rfc3339(t, sizeof(t), 1);
		if (g->log_json) {
			json_object_object_add(o, "level", json_object_new_string("error"));
			json_object_object_add(o, "msg", json_object_new_string(err->message));
			json_object_object_add(o, "time", json_object_new_string(t));
			fprintf(f, "%s\n",
			        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		} else {
			json_object *m = json_object_new_string(err->message);

			fprintf(f, "time=\"%s\" level=error msg=%s\n", t,
			        json_object_to_json_string(m));
			json_object_put(m);
		}
		fclose(f);
	}
	exit(1);
}

/* Hands the whole command line to runc (RUNUK_RUNC overrides the binary): same argv, same fds. */
static int runc(const struct g *g) __attribute__((noreturn));
static int runc(const struct g *g)
{
	const char *bin = getenv("RUNUK_RUNC");
	uk_err_t err;

	if (!bin || !*bin)
		bin = "runc";
	g->argv[0] = (char *)bin;
	execvp(bin, g->argv);
	uk_err_set(&err, 500, "internal",
	           "not a uk bundle or container, and runc (%s) cannot be run: %s; install runc "
	           "for Linux containers",
	           bin, strerror(errno));
	fail(g, &err);
}

/* ---- flags ---- */

struct flag {
	const char *name;  /* "--bundle" */
	const char *alias; /* "-b" or NULL */
	int takes_value;
	const char **value; /* set to the value, or "1" for a switch */
};

/* Parses (argv) (argc) against (flags); the operands go to (ops). Returns the operand count. */
static int parse_flags(const struct g *g, int argc, char **argv, const struct flag *flags,
                       char **ops, int max_ops)
{
	int n = 0;
	uk_err_t err;

	for (int i = 0; i < argc; i++) {
		const struct flag *f = NULL;
		char *a = argv[i], *eq;
		size_t len;

		if (a[0] != '-' || !a[1]) {
			if (n == max_ops) {
				uk_err_bad(&err, "unexpected argument \"%s\"", a);
				fail(g, &err);
			}
			ops[n++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			while (++i < argc && n < max_ops)
				ops[n++] = argv[i];
			break;
		}
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		for (const struct flag *x = flags; x->name; x++) {
			const char *nm = a[1] == '-' ? x->name : x->alias;

			if (nm && strlen(nm) == len && !strncmp(a, nm, len))
				f = x;
			/* runc also takes -flag for --flag */
			else if (a[1] != '-' && strlen(x->name) == len + 1 &&
			         !strncmp(a, x->name + 1, len))
				f = x;
		}
		if (!f) {
			uk_err_bad(&err, "unknown flag %.*s", (int)len, a);
			fail(g, &err);
		}
		if (!f->takes_value) {
			*f->value = eq ? eq + 1 : "1";
		} else if (eq) {
			*f->value = eq + 1;
		} else if (i + 1 < argc) {
			*f->value = argv[++i];
		} else {
			uk_err_bad(&err, "flag %s needs a value", a);
			fail(g, &err);
		}
	}
	return n;
}

static int is_true(const char *v)
{
	return v && strcmp(v, "false") && strcmp(v, "0");
}

/* ---- helpers ---- */

static int read_file(const char *path, char **buf, size_t *len, size_t max, uk_err_t *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return uk_err_set(err, errno == ENOENT ? 404 : 500, "not_found", "read %s: %s",
		                  path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max)
		return uk_err_bad(err, "%s is not a regular file of at most %zu bytes", path, max);
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf)
		return uk_err_internal(err, "out of memory");
	n = read(fd, *buf, (size_t)st.st_size);
	if (n < 0)
		return uk_err_errno(err, errno, "read %s", path);
	(*buf)[n] = 0;
	*len = (size_t)n;
	return 0;
}

static int copy_fd(int in, const char *path, uk_err_t *err)
{
	_cleanup_close_ int out =
	        open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	char buf[65536];
	ssize_t n;

	if (out < 0)
		return uk_err_errno(err, errno, "create %s", path);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return uk_err_errno(err, errno, "write %s", path);
	return n < 0 ? uk_err_errno(err, errno, "read the kernel") : 0;
}

static int mkdir_p(const char *path, mode_t mode, uk_err_t *err)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return uk_err_bad(err, "%s: path too long", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, mode) < 0 && errno != EEXIST)
				return uk_err_errno(err, errno, "mkdir %s", tmp);
			*p = '/';
		}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return uk_err_errno(err, errno, "mkdir %s", tmp);
	return 0;
}

/* Writes (pid) as digits only, atomically (the engine may read it any time). */
static int write_pid_file(const char *path, pid_t pid, uk_err_t *err)
{
	char tmp[PATH_MAX + 16], digits[32];
	_cleanup_close_ int fd = -1;
	int n = snprintf(digits, sizeof(digits), "%d", (int)pid);

	if (snprintf(tmp, sizeof(tmp), "%s.runuk-tmp", path) >= (int)sizeof(tmp))
		return uk_err_bad(err, "pid file %s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write(fd, digits, (size_t)n) != n || rename(tmp, path) < 0) {
		uk_err_errno(err, errno, "write pid file %s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int has_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Sends (fd) over the unix socket (path) as containerd's console socket expects (SCM_RIGHTS). */
static int send_console(const char *path, int fd, uk_err_t *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char name[] = "/dev/ptmx", cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {name, sizeof(name) - 1};
	struct msghdr m = {.msg_iov = &iov,
	                   .msg_iovlen = 1,
	                   .msg_control = cbuf,
	                   .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	if (strlen(path) >= sizeof(sa.sun_path))
		return uk_err_bad(err, "console socket %s: path too long", path);
	strcpy(sa.sun_path, path);
	c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_RIGHTS, c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || sendmsg(s, &m, 0) < 0)
		return uk_err_errno(err, errno, "send the console to %s", path);
	return 0;
}

/* 1 if runc (or RUNUK_RUNC) can be run: an id runuk does not know may be runc's. */
static int runc_found(void)
{
	const char *bin = getenv("RUNUK_RUNC"), *path = getenv("PATH");
	char buf[PATH_MAX];

	if (bin && *bin)
		return 1;
	for (const char *p = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		if (n && snprintf(buf, sizeof(buf), "%.*s/runc", (int)n, p) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return 1;
		p += n + (p[n] == ':');
	}
	return 0;
}

/* The state dir of (id) if runuk owns it; hands the command to runc when it does not. */
static void own_dir(const struct g *g, const char *id, char *dir, size_t len)
{
	char lock[PATH_MAX + 16];
	uk_err_t err;
	struct stat st;

	if (runuk_state_dir(g->root, id, dir, len, &err) < 0)
		fail(g, &err);
	snprintf(lock, sizeof(lock), "%s/runuk.lock", dir);
	if (lstat(lock, &st) == 0)
		return;
	if (lstat(dir, &st) == 0 || runc_found())
		runc(g);
	uk_err_set(&err, 404, "not_found", "container %s does not exist", id);
	fail(g, &err);
}

static int locked(const struct g *g, const char *dir, struct runuk_state *st)
{
	uk_err_t err;
	int fd = runuk_state_lock(dir, &err);

	if (fd < 0 || runuk_state_read(dir, st, &err) < 0)
		fail(g, &err);
	return fd;
}

/* Waits (bounded) until (pid) is gone; 0 when it is, -1 after (ms). */
static int wait_gone(pid_t pid, unsigned long long start, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (!runuk_pid_is(pid, start))
			return 0;
		usleep(10000);
	}
	return -1;
}

/* The OCI state of (st) in (s): what `state` prints and hooks read on their stdin. */
static json_object *state_json(const struct runuk_state *st, enum runuk_status s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ociVersion", json_object_new_string(RUNUK_OCI_VERSION));
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid", json_object_new_int(s == RUNUK_STOPPED ? 0 : st->pid));
	json_object_object_add(o, "status", json_object_new_string(runuk_status_name(s)));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "created", json_object_new_string(st->created));
	json_object_object_add(o, "owner", json_object_new_string(""));
	json_object_object_add(o, "annotations", json_object_get(st->annotations));
	return o;
}

/* Runs (hooks) one after the other, each with the state JSON on its stdin, killed after its
 * timeout; the first failure is the error. */
static int run_hooks(const struct runuk_hooks *hooks, const struct runuk_state *st,
                     enum runuk_status s, const char *kind, uk_err_t *err)
{
	_cleanup_json_ json_object *o = state_json(st, s);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	for (size_t i = 0; i < hooks->n; i++) {
		const struct runuk_hook *h = &hooks->v[i];
		char *none[] = {NULL}, *only[] = {h->path, NULL};
		int in[2], ws = 0;
		pid_t pid;

		if (pipe2(in, O_CLOEXEC) < 0)
			return uk_err_errno(err, errno, "%s hook: pipe", kind);
		pid = fork();
		if (pid == 0) {
			dup2(in[0], 0);
			execve(h->path, h->n_args ? h->args : only, h->env ? h->env : none);
			_exit(127);
		}
		close(in[0]);
		signal(SIGPIPE, SIG_IGN);
		(void)!write(in[1], text, strlen(text));
		close(in[1]);
		for (int ms = 0; waitpid(pid, &ws, WNOHANG) == 0; ms += 10) {
			if (h->timeout && ms >= h->timeout * 1000) {
				kill(pid, SIGKILL);
				waitpid(pid, &ws, 0);
				return uk_err_set(err, 504, "timeout",
				                  "%s hook %s: timed out after %d s", kind, h->path,
				                  h->timeout);
			}
			usleep(10000);
		}
		if (pid < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws))
			return uk_err_internal(err, "%s hook %s failed (status %d)", kind, h->path,
			                       WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
	}
	return 0;
}

/* Reads one line (at most len-1 bytes) from (fd) byte by byte: the supervisor's next word. */
static size_t read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n < len - 1) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || buf[n++] == '\n')
			break;
	}
	buf[n] = 0;
	return n;
}

/* ---- create ---- */

struct create_opts {
	const char *bundle, *pid_file, *console_socket;
};

/* Creates container (id): the supervisor forked, QEMU paused. Returns the supervisor's pid
 * (a child of this process). Hands a bundle without /uk/kernel to runc. */
static pid_t create(const struct g *g, const char *id, const struct create_opts *o)
{
	char bundle[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 64], rootfs[PATH_MAX * 2];
	_cleanup_free_ char *buf = NULL, *root_path = NULL;
	_cleanup_close_ int kfd = -1, lock = -1, master = -1, slave = -1;
	int ready[2], go[2] = {-1, -1};
	struct runuk_spec spec;
	struct runuk_state st = {0};
	char msg[4096];
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	uk_err_t err;

	if (has_controls(o->bundle) || !realpath(o->bundle, bundle)) {
		uk_err_bad(&err, "bundle %s: %s", o->bundle,
		           has_controls(o->bundle) ? "control characters in the path"
		                                   : strerror(errno));
		fail(g, &err);
	}
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	if (read_file(path, &buf, &len, 4 << 20, &err) < 0 ||
	    runuk_spec_root_path(buf, len, &root_path, &err) < 0) {
		uk_err_wrap(&err, "bundle %s", bundle);
		fail(g, &err);
	}
	if (root_path[0] == '/')
		snprintf(rootfs, sizeof(rootfs), "%s", root_path);
	else
		snprintf(rootfs, sizeof(rootfs), "%s/%s", bundle, root_path);
	kfd = runuk_kernel_open(rootfs, &err);
	if (kfd < 0)
		runc(g); /* a pause container, a Linux image: runc's */
	if (runuk_spec_parse(buf, len, &spec, &err) < 0) {
		uk_err_wrap(&err, "bundle %s", bundle);
		fail(g, &err);
	}
	if (runuk_state_dir(g->root, id, dir, sizeof(dir), &err) < 0 ||
	    mkdir_p(g->root, 0711, &err) < 0)
		fail(g, &err);
	if (spec.terminal && !o->console_socket) {
		uk_err_bad(&err, "process.terminal is set: --console-socket is required");
		fail(g, &err);
	}
	if (mkdir(dir, 0700) < 0) {
		if (errno == EEXIST)
			uk_err_conflict(&err, "container with id %s exists already", id);
		else
			uk_err_errno(&err, errno, "create %s", dir);
		fail(g, &err);
	}
	snprintf(path, sizeof(path), "%s/runuk.lock", dir);
	lock = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		uk_err_errno(&err, errno, "lock %s", path);
		goto undo;
	}
	snprintf(path, sizeof(path), "%s/kernel", dir);
	snprintf(st.id, sizeof(st.id), "%s", id);
	snprintf(st.bundle, sizeof(st.bundle), "%s", bundle);
	now_rfc3339(st.created, sizeof(st.created), 1);
	st.annotations = spec.annotations;
	if (copy_fd(kfd, path, &err) < 0 || runuk_state_write(dir, &st, &err) < 0)
		goto undo;
	if (spec.terminal && (openpty(&master, &slave, NULL, NULL, NULL) < 0 ||
	                      send_console(o->console_socket, master, &err) < 0)) {
		if (master < 0)
			uk_err_errno(&err, errno, "open a pty");
		goto undo;
	}
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
		uk_err_errno(&err, errno, "pipe");
		goto undo;
	}
	pid = fork();
	if (pid == 0) {
		struct runuk_launch l = {dir, path, &spec, 1, ready[1], go[0]};

		close(ready[0]);
		close(go[1]);
		close(lock); /* the flock belongs to create, not to the container */
		close(master);
		if (slave >= 0) {
			setsid();
			ioctl(slave, TIOCSCTTY, 0);
			dup2(slave, 0), dup2(slave, 1), dup2(slave, 2);
		}
		runuk_supervise(&l);
	}
	close(ready[1]);
	close(go[0]);
	if (pid < 0) {
		close(ready[0]);
		close(go[1]);
		uk_err_errno(&err, errno, "fork");
		goto undo;
	}
	/* in its network namespace: the prestart/createRuntime hooks set it up (dockerd's
	 * libnetwork-setkey moves eth0 in), then the supervisor takes eth0 over */
	len = read_line(ready[0], msg, sizeof(msg));
	st.pid = pid;
	st.start = runuk_pid_start(pid);
	if (!strcmp(msg, "ns\n")) {
		if (run_hooks(&spec.create_hooks, &st, RUNUK_CREATING, "prestart", &err) < 0) {
			close(go[1]);
			close(ready[0]);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			goto undo;
		}
		(void)!write(go[1], "go\n", 3);
		len = 0;
	}
	close(go[1]);
	while (len < sizeof(msg) - 1 &&
	       ((n = read(ready[0], msg + len, sizeof(msg) - 1 - len)) > 0 ||
	        (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	msg[len] = 0;
	close(ready[0]);
	if (strcmp(msg, "ok\n")) {
		waitpid(pid, NULL, 0);
		uk_err_set(&err, 500, "internal", "start QEMU: %s",
		           len ? msg : "the supervisor died");
		goto undo;
	}
	if (runuk_state_write(dir, &st, &err) < 0 ||
	    (o->pid_file && write_pid_file(o->pid_file, pid, &err) < 0)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto undo;
	}
	st.annotations = NULL;
	runuk_spec_free(&spec);
	return pid;
undo:
	runuk_state_remove(dir, NULL);
	uk_err_wrap(&err, "create %s", id);
	fail(g, &err);
}

static void parse_create(const struct g *g, int argc, char **argv, struct create_opts *o,
                         const char **id, const char **extra, const struct flag *more)
{
	const char *no_pivot, *keyring, *preserve, *pidfd;
	struct flag f[16] = {{"--bundle", "-b", 1, &o->bundle},
	                     {"--pid-file", NULL, 1, &o->pid_file},
	                     {"--console-socket", NULL, 1, &o->console_socket},
	                     {"--no-pivot", NULL, 0, &no_pivot},
	                     {"--no-new-keyring", NULL, 0, &keyring},
	                     {"--preserve-fds", NULL, 1, &preserve},
	                     {"--pidfd-socket", NULL, 1, &pidfd}};
	char *ops[1];
	uk_err_t err;
	int i = 7;

	for (; more && more->name && i < 15; more++)
		f[i++] = *more;
	o->bundle = ".";
	(void)extra;
	if (parse_flags(g, argc, argv, f, ops, 1) != 1) {
		uk_err_bad(&err, "usage: runuk create [--bundle B] [--pid-file F] "
		                 "[--console-socket S] ID");
		fail(g, &err);
	}
	*id = ops[0];
}

/* ---- commands ---- */

static int one_id(const struct g *g, int argc, char **argv, const struct flag *f, const char *usage,
                  char **ops, int max)
{
	uk_err_t err;
	int n = parse_flags(g, argc, argv, f, ops, max);

	if (n < 1) {
		uk_err_bad(&err, "usage: runuk %s", usage);
		fail(g, &err);
	}
	return n;
}

static int cmd_create(const struct g *g, int argc, char **argv)
{
	struct create_opts o = {0};
	const char *id;

	parse_create(g, argc, argv, &o, &id, NULL, NULL);
	create(g, id, &o);
	return 0;
}

static void start(const struct g *g, const char *id)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct runuk_state st;
	_cleanup_close_ int lock = -1, fifo = -1;
	enum runuk_status s;
	uk_err_t err;

	own_dir(g, id, dir, sizeof(dir));
	lock = locked(g, dir, &st);
	s = runuk_state_status(dir, &st);
	if (s != RUNUK_CREATED) {
		uk_err_conflict(&err, "cannot start container %s: it is %s, not created", id,
		                runuk_status_name(s));
		fail(g, &err);
	}
	snprintf(path, sizeof(path), "%s/start.fifo", dir);
	fifo = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0 || write(fifo, "start\n", 6) != 6) {
		uk_err_errno(&err, errno, "start %s: tell its supervisor", id);
		fail(g, &err);
	}
	for (int i = 0; i < 3000; i++) {
		if (runuk_state_status(dir, &st) != RUNUK_CREATED)
			return;
		usleep(10000);
	}
	uk_err_set(&err, 504, "timeout", "start %s: QEMU did not resume within 30 s", id);
	fail(g, &err);
}

static int cmd_start(const struct g *g, int argc, char **argv)
{
	char *ops[1];
	struct flag f[] = {{NULL, NULL, 0, NULL}};

	one_id(g, argc, argv, f, "start ID", ops, 1);
	start(g, ops[0]);
	return 0;
}

static int cmd_state(const struct g *g, int argc, char **argv)
{
	char dir[PATH_MAX], *ops[1];
	struct flag f[] = {{NULL, NULL, 0, NULL}};
	struct runuk_state st;
	_cleanup_json_ json_object *o = NULL;
	uk_err_t err;

	one_id(g, argc, argv, f, "state ID", ops, 1);
	own_dir(g, ops[0], dir, sizeof(dir));
	if (runuk_state_read(dir, &st, &err) < 0) {
		/* create is still at work: the record comes once the kernel is copied */
		memset(&st, 0, sizeof(st));
		snprintf(st.id, sizeof(st.id), "%s", ops[0]);
		st.annotations = json_object_new_object();
	}
	o = state_json(&st, runuk_state_status(dir, &st));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                                         JSON_C_TO_STRING_SPACED));
	runuk_state_clear(&st);
	return 0;
}

static int parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} sigs[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
	            {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
	            {"TERM", SIGTERM}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"WINCH", SIGWINCH},
	            {"PWR", SIGPWR}};
	char *end;
	long n = strtol(s, &end, 10);

	if (*s && !*end)
		return n > 0 && n < NSIG ? (int)n : -1;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!strcasecmp(s, sigs[i].name))
			return sigs[i].sig;
	return -1;
}

static int cmd_kill(const struct g *g, int argc, char **argv)
{
	const char *all = NULL;
	struct flag f[] = {{"--all", "-a", 0, &all}, {NULL, NULL, 0, NULL}};
	char dir[PATH_MAX], path[PATH_MAX + 16], *ops[2] = {NULL, "TERM"};
	struct runuk_state st;
	_cleanup_close_ int lock = -1;
	int sig;
	uk_err_t err;
	pid_t q;

	one_id(g, argc, argv, f, "kill [--all] ID [SIGNAL]", ops, 2);
	own_dir(g, ops[0], dir, sizeof(dir));
	sig = parse_signal(ops[1]);
	if (sig < 0) {
		uk_err_bad(&err, "kill %s: unknown signal \"%s\"", ops[0], ops[1]);
		fail(g, &err);
	}
	lock = locked(g, dir, &st);
	if (runuk_state_status(dir, &st) == RUNUK_STOPPED) {
		uk_err_conflict(&err, "kill %s: container not running", ops[0]);
		fail(g, &err);
	}
	if (kill(st.pid, sig) < 0) {
		uk_err_errno(&err, errno, "kill %s (pid %d)", ops[0], (int)st.pid);
		fail(g, &err);
	}
	snprintf(path, sizeof(path), "%s/qemu.pid", dir);
	if (is_true(all) && (q = ukvmm_pidfile_owner(path, &err)) > 0 && sig == SIGKILL)
		kill(-q, SIGKILL);
	runuk_state_clear(&st);
	return 0;
}

/* Kills what is left of the container and removes its state. Called with the lock held. */
static void destroy(const struct g *g, const char *id, const char *dir, struct runuk_state *st)
{
	char path[PATH_MAX + 16];
	uk_err_t err;
	pid_t q;

	snprintf(path, sizeof(path), "%s/qemu.pid", dir);
	if (runuk_pid_is(st->pid, st->start))
		kill(st->pid, SIGKILL);
	if ((q = ukvmm_pidfile_owner(path, &err)) > 0)
		kill(-q, SIGKILL);
	if (wait_gone(st->pid, st->start, 10000) < 0) {
		uk_err_set(&err, 500, "internal", "delete %s: pid %d survived SIGKILL for 10 s", id,
		           (int)st->pid);
		fail(g, &err);
	}
	if (runuk_state_remove(dir, &err) < 0)
		fail(g, &err);
}

static int cmd_delete(const struct g *g, int argc, char **argv)
{
	const char *force = NULL;
	struct flag f[] = {{"--force", "-f", 0, &force}, {NULL, NULL, 0, NULL}};
	char dir[PATH_MAX], *ops[1];
	struct runuk_state st;
	_cleanup_close_ int lock = -1;
	enum runuk_status s;
	uk_err_t err;

	one_id(g, argc, argv, f, "delete [--force] ID", ops, 1);
	own_dir(g, ops[0], dir, sizeof(dir));
	lock = runuk_state_lock(dir, &err);
	if (lock < 0)
		fail(g, &err);
	if (runuk_state_read(dir, &st, &err) < 0) {
		/* a create that died half-way: nothing runs, the debris goes */
		if (runuk_state_remove(dir, &err) < 0)
			fail(g, &err);
		return 0;
	}
	s = runuk_state_status(dir, &st);
	if (s == RUNUK_RUNNING && !is_true(force)) {
		uk_err_conflict(&err,
		                "cannot delete container %s that is not stopped: it is running "
		                "(stop it, or delete --force)",
		                ops[0]);
		fail(g, &err);
	}
	destroy(g, ops[0], dir, &st);
	runuk_state_clear(&st);
	return 0;
}

static int cmd_ps(const struct g *g, int argc, char **argv)
{
	const char *format = "table";
	struct flag f[] = {{"--format", "-f", 1, &format}, {NULL, NULL, 0, NULL}};
	char dir[PATH_MAX], path[PATH_MAX + 16], *ops[8];
	struct runuk_state st;
	uk_err_t err;
	pid_t pids[2];
	int n = 0;

	one_id(g, argc, argv, f, "ps [--format table|json] ID", ops, 8);
	own_dir(g, ops[0], dir, sizeof(dir));
	if (runuk_state_read(dir, &st, &err) < 0)
		fail(g, &err);
	if (runuk_state_status(dir, &st) != RUNUK_STOPPED) {
		pids[n++] = st.pid;
		snprintf(path, sizeof(path), "%s/qemu.pid", dir);
		if ((pids[n] = ukvmm_pidfile_owner(path, &err)) > 0)
			n++;
	}
	if (!strcmp(format, "json")) {
		printf("[");
		for (int i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
	} else if (!strcmp(format, "table")) {
		printf("PID   CMD\n");
		for (int i = 0; i < n; i++)
			printf("%-5d %s\n", (int)pids[i], i ? "qemu-system-x86_64" : "runuk");
	} else {
		uk_err_bad(&err, "ps: format \"%s\": use table or json", format);
		fail(g, &err);
	}
	runuk_state_clear(&st);
	return 0;
}

static int cmd_list(const struct g *g, int argc, char **argv)
{
	const char *format = "table", *quiet = NULL;
	struct flag f[] = {{"--format", "-f", 1, &format},
	                   {"--quiet", "-q", 0, &quiet},
	                   {NULL, NULL, 0, NULL}};
	_cleanup_json_ json_object *arr = json_object_new_array();
	char dir[PATH_MAX * 2], *ops[1];
	DIR *d;
	struct dirent *e;

	parse_flags(g, argc, argv, f, ops, 0);
	if (!strcmp(format, "table") && !is_true(quiet))
		printf("%-20s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
	d = opendir(g->root);
	while (d && (e = readdir(d))) {
		struct runuk_state st;
		enum runuk_status s;
		uk_err_t err;
		json_object *o;

		snprintf(dir, sizeof(dir), "%s/%s", g->root, e->d_name);
		if (e->d_name[0] == '.' || runuk_state_read(dir, &st, &err) < 0)
			continue;
		s = runuk_state_status(dir, &st);
		if (is_true(quiet))
			printf("%s\n", st.id);
		else if (!strcmp(format, "table"))
			printf("%-20s %-8d %-10s %-40s %s\n", st.id,
			       s == RUNUK_STOPPED ? 0 : st.pid, runuk_status_name(s), st.bundle,
			       st.created);
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(st.id));
		json_object_object_add(o, "pid",
		                       json_object_new_int(s == RUNUK_STOPPED ? 0 : st.pid));
		json_object_object_add(o, "status", json_object_new_string(runuk_status_name(s)));
		json_object_object_add(o, "bundle", json_object_new_string(st.bundle));
		json_object_object_add(o, "created", json_object_new_string(st.created));
		json_object_array_add(arr, o);
		runuk_state_clear(&st);
	}
	if (d)
		closedir(d);
	if (!strcmp(format, "json"))
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	return 0;
}

static pid_t run_child = -1;

static void forward(int sig)
{
	if (run_child > 0)
		kill(run_child, sig);
}

/* create + start (+ wait, then delete): runc's `run`. */
static int cmd_run(const struct g *g, int argc, char **argv)
{
	struct create_opts o = {0};
	const char *id, *detach = NULL, *keep = NULL;
	struct flag more[] = {
	        {"--detach", "-d", 0, &detach}, {"--keep", NULL, 0, &keep}, {NULL, NULL, 0, NULL}};
	char dir[PATH_MAX];
	struct runuk_state st;
	struct sigaction sa = {.sa_handler = forward};
	int ws;
	uk_err_t err;

	parse_create(g, argc, argv, &o, &id, NULL, more);
	run_child = create(g, id, &o);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	start(g, id);
	if (is_true(detach))
		return 0;
	while (waitpid(run_child, &ws, 0) < 0)
		if (errno != EINTR) {
			uk_err_errno(&err, errno, "wait for %s", id);
			fail(g, &err);
		}
	if (!is_true(keep) && runuk_state_dir(g->root, id, dir, sizeof(dir), &err) == 0) {
		_cleanup_close_ int lock = runuk_state_lock(dir, &err);

		if (lock >= 0 && runuk_state_read(dir, &st, &err) == 0) {
			destroy(g, id, dir, &st);
			runuk_state_clear(&st);
		}
	}
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static int cmd_features(const struct g *g, int argc, char **argv)
{
	(void)g, (void)argc, (void)argv;
	printf("{\n"
	       "  \"ociVersionMin\": \"1.0.0\",\n"
	       "  \"ociVersionMax\": \"%s\",\n"
	       "  \"hooks\": [],\n"
	       "  \"mountOptions\": [],\n"
	       "  \"linux\": {\n"
	       "    \"namespaces\": [\"network\"],\n"
	       "    \"capabilities\": [],\n"
	       "    \"cgroup\": {\"v1\": false, \"v2\": false, \"systemd\": false},\n"
	       "    \"seccomp\": {\"enabled\": false},\n"
	       "    \"apparmor\": {\"enabled\": false},\n"
	       "    \"selinux\": {\"enabled\": false}\n"
	       "  },\n"
	       "  \"annotations\": {\n"
	       "    \"org.uk.runuk.version\": \"%s\",\n"
	       "    \"org.uk.runuk.kernel\": \"%s\",\n"
	       "    \"org.uk.runuk.fallback\": \"runc\"\n"
	       "  }\n"
	       "}\n",
	       RUNUK_OCI_VERSION, RUNUK_VERSION, RUNUK_KERNEL);
	return 0;
}

/* exec, pause, resume, update, checkpoint, events...: runc's for runc's containers. */
static int cmd_unsupported(const struct g *g, int argc, char **argv)
{
	char dir[PATH_MAX];
	uk_err_t err;
	const char *id = NULL;

	/* the id is the first operand; flags' values could be mistaken for it, so try each */
	for (int i = 0; i < argc; i++) {
		struct stat st;
		char lock[PATH_MAX + 16];

		if (argv[i][0] == '-' || runuk_state_dir(g->root, argv[i], dir, sizeof(dir), &err))
			continue;
		snprintf(lock, sizeof(lock), "%s/runuk.lock", dir);
		if (lstat(lock, &st) == 0) {
			id = argv[i];
			break;
		}
	}
	if (!id)
		runc(g);
	uk_err_set(&err, 501, "not_supported",
	           "%s %s: not supported for unikernels (a uk guest is one program: no exec, "
	           "pause, resume or live update)",
	           g->argv[g->argc - argc - 1], id);
	fail(g, &err);
}

static const struct {
	const char *name;
	int (*fn)(const struct g *g, int argc, char **argv);
} commands[] = {
        {"create", cmd_create}, {"start", cmd_start},   {"state", cmd_state},
        {"kill", cmd_kill},     {"delete", cmd_delete}, {"ps", cmd_ps},
        {"list", cmd_list},     {"run", cmd_run},       {"features", cmd_features},
};

static void usage(void)
{
	printf("usage: runuk [global flags] COMMAND [flags] ID\n\n"
	       "An OCI runtime with runc's command line that boots uk unikernels (bundles whose\n"
	       "rootfs holds /uk/kernel) under QEMU, and hands every other bundle to runc.\n\n"
	       "Global flags: --root DIR (default /run/runuk), --log FILE, --log-format "
	       "text|json,\n"
	       "  --debug, --systemd-cgroup, --rootless (accepted, ignored)\n\n"
	       "Commands:\n"
	       "  create [--bundle B] [--pid-file F] [--console-socket S] ID\n"
	       "  start ID               let the guest run\n"
	       "  run [-d] [--bundle B] ID  create + start (+ wait, delete)\n"
	       "  state ID               OCI state JSON\n"
	       "  kill [--all] ID [SIG]  TERM presses the power button, KILL ends it\n"
	       "  delete [--force] ID\n"
	       "  ps [--format json] ID\n"
	       "  list [--format json]\n"
	       "  features\n"
	       "exec, pause, resume, update: not supported for unikernels.\n");
}

/* One global flag (and its value) at argv[*i]; runc's --rootless takes an optional
 * true|false|auto after it. */
static void global_flag(const struct g *g, int argc, char **argv, int *i, const struct flag *global)
{
	int takes = 0;

	for (const struct flag *f = global; f->name; f++)
		if (!strcmp(argv[*i], f->name))
			takes = f->takes_value;
	if (!strcmp(argv[*i], "--rootless") && *i + 1 < argc &&
	    (!strcmp(argv[*i + 1], "true") || !strcmp(argv[*i + 1], "false") ||
	     !strcmp(argv[*i + 1], "auto")))
		takes = 1;
	if (takes && *i + 1 < argc) {
		char *pair[2] = {argv[*i], argv[*i + 1]};

		if (!strcmp(argv[*i], "--rootless"))
			pair[1] = NULL; /* consumed, ignored */
		parse_flags(g, pair[1] ? 2 : 1, pair, global, NULL, 0);
		(*i)++;
		return;
	}
	parse_flags(g, 1, &argv[*i], global, NULL, 0);
}

int main(int argc, char **argv)
{
	struct g g = {.root = "/run/runuk", .argc = argc, .argv = argv};
	const char *root = NULL, *log = NULL, *fmt = NULL, *debug = NULL, *ignored = NULL;
	struct flag global[] = {{"--root", NULL, 1, &root},
	                        {"--log", NULL, 1, &log},
	                        {"--log-format", NULL, 1, &fmt},
	                        {"--debug", NULL, 0, &debug},
	                        {"--systemd-cgroup", NULL, 0, &ignored},
	                        {"--rootless", NULL, 0, &ignored},
	                        {"--criu", NULL, 1, &ignored},
	                        {NULL, NULL, 0, NULL}};
	uk_err_t err;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
			printf("runuk version %s\ncommit: none\nspec: %s\n", RUNUK_VERSION,
			       RUNUK_OCI_VERSION);
			return 0;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 0;
		}
		global_flag(&g, argc, argv, &i, global);
	}
	if (root)
		g.root = root;
	g.log = log;
	g.log_json = fmt && !strcmp(fmt, "json");
	g.debug = is_true(debug);
	if (has_controls(g.root) || g.root[0] != '/') {
		uk_err_bad(&err, "--root %s: give an absolute path", g.root);
		fail(&g, &err);
	}
	if (i >= argc) {
		usage();
		return 1;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].fn(&g, argc - i - 1, argv + i + 1);
	return cmd_unsupported(&g, argc - i - 1, argv + i + 1);
}
