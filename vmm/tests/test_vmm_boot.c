/* Boots real uk guests through ukvmm under QEMU (TCG here): console, exit status, -S + cont,
 * system_powerdown, slirp hostfwd. usage: test_vmm_boot hello|paused|powerdown|hostfwd UKCC REPO */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uk/vmm.h"

static const char *ukcc, *repo;
static char dir[256];
static pid_t guest = -1;

static void cleanup(void)
{
	char cmd[512];

	if (guest > 0)
		kill(-guest, SIGKILL), waitpid(guest, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "cleanup: %s failed\n", cmd);
}

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	cleanup();
	exit(1);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void build(const char *out, const char *cwd, const char *args)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' -O2 -o '%s' %s", cwd, ukcc, out, args);
	if (system(cmd) != 0)
		fail("build: %s", cmd);
}

/* Waits for the guest (bounded: a hang is a failure, never a stuck test). */
static int wait_guest(int secs)
{
	int64_t deadline = now_ms() + secs * 1000;
	int st;

	for (;;) {
		pid_t r = waitpid(guest, &st, WNOHANG);
		if (r == guest) {
			guest = -1;
			return st;
		}
		if (now_ms() > deadline)
			fail("QEMU still runs after %d s", secs);
		usleep(10000);
	}
}

static void spawn(const struct ukvmm_config *c)
{
	uk_err_t err = {0};

	guest = ukvmm_spawn(c, -1, &err);
	if (guest < 0)
		fail("spawn: %s", err.message);
}

/* The common config: auto machine and accelerator, qboot, console and status files in dir. */
static void config(struct ukvmm_config *c, const char *kernel, const char *cmdline)
{
	static char console[300], status[300], pid[300], qmp[300];

	ukvmm_config_init(c);
	c->kernel = kernel;
	c->cmdline = cmdline;
	c->memory_mib = 16;
	/* a comma in the path: QEMU sees it escaped, the file lands where asked */
	snprintf(console, sizeof(console), "%s/con,sole.log", dir);
	snprintf(status, sizeof(status), "%s/status", dir);
	snprintf(pid, sizeof(pid), "%s/qemu.pid", dir);
	snprintf(qmp, sizeof(qmp), "%s/qmp", dir);
	c->console = (struct ukvmm_chan){UKVMM_CHAN_FILE, console, -1};
	c->status = (struct ukvmm_chan){UKVMM_CHAN_FILE, status, -1};
	c->pid_file = pid;
	c->qmp_socket = qmp;
}

static struct ukvmm_qmp *qmp_connect(const struct ukvmm_config *c)
{
	uk_err_t err = {0};
	struct ukvmm_qmp *q = ukvmm_qmp_connect(c->qmp_socket, 30000, &err);

	if (!q)
		fail("QMP: %s", err.message);
	return q;
}

static void expect_exit(const struct ukvmm_config *c, int st, int code, enum ukvmm_exit_source src)
{
	struct ukvmm_exit x;

	ukvmm_exit_read(st, c->status.kind == UKVMM_CHAN_FILE ? c->status.path : NULL, &x);
	printf("exit: %d (%s)\n", x.code, x.why);
	if (x.code != code || x.source != src)
		fail("exit %d from source %d, want %d from %d", x.code, x.source, code, src);
}

static void test_hello(void)
{
	char kernel[300], k42[300];
	struct ukvmm_qemu_caps caps;
	struct ukvmm_config c;
	uk_err_t err = {0};
	int st;

	if (ukvmm_qemu_probe(NULL, &caps, &err) < 0)
		fail("probe: %s", err.message);
	printf("QEMU %u, sandbox %s\n", caps.version, caps.sandbox ? "yes" : "no");
	if (caps.version < 70200)
		fail("QEMU %u: older than 7.2, the oldest ukvmm renders for", caps.version);
	snprintf(kernel, sizeof(kernel), "%s/hello", dir);
	build(kernel, repo, "images/examples/hello/main.c");
	config(&c, kernel, "-- world a,b");
	c.sandbox = caps.sandbox;
	c.qemu_version = caps.version;
	c.qmp_socket = NULL;
	if (ukvmm_machine_pick(&c) != UKVMM_MACHINE_MICROVM)
		fail("auto machine for hello is not microvm");
	spawn(&c);
	st = wait_guest(60);
	printf("%s", slurp(c.console.path));
	if (!strstr(slurp(c.console.path), "Hello from a uk unikernel!\n") ||
	    !strstr(slurp(c.console.path), "argv[2] = a,b\n"))
		fail("console lacks the greeting or argv[2] = a,b");
	expect_exit(&c, st, 0, UKVMM_EXIT_CHANNEL);

	/* the console as an fd (runuk: the container's stdout): a pipe QEMU writes, EOF at its exit
	 */
	{
		char out[4096];
		size_t got = 0;
		ssize_t n;
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0)
			fail("pipe: %s", strerror(errno));
		c.console = (struct ukvmm_chan){UKVMM_CHAN_FD, NULL, p[1]};
		spawn(&c);
		close(p[1]);
		while (got < sizeof(out) - 1 &&
		       (n = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
			got += (size_t)n;
		out[got] = '\0';
		close(p[0]);
		if (!strstr(out, "Hello from a uk unikernel!\n"))
			fail("the console pipe got \"%s\"", out);
		expect_exit(&c, wait_guest(60), 0, UKVMM_EXIT_CHANNEL);
	}

	/* main's status: the full byte from COM2, the low 7 bits from isa-debug-exit without it */
	snprintf(k42, sizeof(k42), "%s/exit42", dir);
	build(k42, repo, "tests/unikernel/exitcode.c");
	config(&c, k42, "");
	c.qmp_socket = NULL;
	spawn(&c);
	expect_exit(&c, wait_guest(60), 42, UKVMM_EXIT_CHANNEL);
	c.status = (struct ukvmm_chan){UKVMM_CHAN_NONE, NULL, -1};
	c.machine = UKVMM_MACHINE_PC;
	spawn(&c);
	expect_exit(&c, wait_guest(60), 42, UKVMM_EXIT_DEBUG_EXIT);
	printf("PASS\n");
}

/* The running QEMU: its own process group, an environment of PATH and LC_ALL only, no inherited
 * fd (the write end of (leak_r)'s pipe), the user it was asked to run as. */
static void check_hygiene(int leak_r, const char *user)
{
	struct pollfd p = {.fd = leak_r, .events = POLLIN};
	char path[64], env[4096], *status;
	ssize_t n;
	int fd;

	if (getpgid(guest) != guest)
		fail("QEMU's process group is %d, not its own (%d)", getpgid(guest), guest);
	if (poll(&p, 1, 0) != 1 || read(leak_r, env, 1) != 0)
		fail("QEMU holds an fd it inherited (the pipe has no EOF)");
	snprintf(path, sizeof(path), "/proc/%d/environ", guest);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, env, sizeof(env) - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0)
		fail("read %s: %s", path, strerror(errno));
	env[n] = '\0';
	for (char *e = env; e < env + n; e += strlen(e) + 1)
		if (strncmp(e, "PATH=", 5) && strncmp(e, "LC_ALL=", 7))
			fail("QEMU's environment holds %s", e);
	if (user) {
		struct passwd *pw = getpwnam(user);
		char want[64];

		snprintf(path, sizeof(path), "/proc/%d/status", guest);
		status = slurp(path);
		snprintf(want, sizeof(want), "\nUid:\t%u\t%u", pw->pw_uid, pw->pw_uid);
		if (!strstr(status, want))
			fail("QEMU does not run as %s (uid %u)", user, pw->pw_uid);
		printf("QEMU runs as %s\n", user);
	}
}

static void test_paused(void)
{
	char kernel[300], status[32];
	struct ukvmm_config c;
	struct ukvmm_qmp *q;
	uk_err_t err = {0};
	int running = -1, leak[2];
	pid_t owner;
	struct stat sb;

	snprintf(kernel, sizeof(kernel), "%s/hello", dir);
	build(kernel, repo, "images/examples/hello/main.c");
	config(&c, kernel, "-- paused");
	c.start_paused = 1;
	/* as root, QEMU drops to nobody once its files are open */
	if (geteuid() == 0 && getpwnam("nobody"))
		c.run_as = "nobody";
	/* an fd the caller forgot to mark close-on-exec must not reach QEMU */
	if (pipe(leak) < 0)
		fail("pipe: %s", strerror(errno));
	setenv("UKVMM_SECRET", "x", 1);
	spawn(&c);
	close(leak[1]);
	q = qmp_connect(&c);
	check_hygiene(leak[0], c.run_as);
	close(leak[0]);
	if (ukvmm_qmp_query_status(q, status, sizeof(status), &running, &err) < 0)
		fail("query-status: %s", err.message);
	printf("before cont: %s running=%d\n", status, running);
	/* QEMU writes the pid file before it listens on QMP, and removes it when it exits */
	if (atoi(slurp(c.pid_file)) != guest)
		fail("pid file %s holds \"%s\", QEMU is %d", c.pid_file, slurp(c.pid_file), guest);
	if (running || strcmp(status, "prelaunch"))
		fail("a -S guest is %s (running=%d), want prelaunch", status, running);
	/* a guest that ran would have printed and exited well within this */
	usleep(1500 * 1000);
	if (waitpid(guest, NULL, WNOHANG) != 0)
		fail("QEMU ended while paused");
	if (stat(c.console.path, &sb) == 0 && sb.st_size > 0)
		fail("the paused guest printed: %s", slurp(c.console.path));
	if ((owner = ukvmm_pidfile_owner(c.pid_file, &err)) != guest)
		fail("the pid file's lock holder is %d, QEMU is %d (%s)", owner, guest,
		     err.message);
	if (ukvmm_qmp_cont(q, &err) < 0)
		fail("cont: %s", err.message);
	expect_exit(&c, wait_guest(60), 0, UKVMM_EXIT_CHANNEL);
	ukvmm_qmp_close(q);
	if (!strstr(slurp(c.console.path), "argv[1] = paused"))
		fail("after cont the console lacks the guest's output: %s", slurp(c.console.path));
	/* gone (QEMU removed it), or left unlocked (QEMU as nobody could not remove it) */
	owner = ukvmm_pidfile_owner(c.pid_file, &err);
	if (owner != 0 && !(owner == -1 && err.status == 404))
		fail("QEMU exited and its pid file still has a holder (%d)", owner);

	/* QEMU killed (no cleanup of its own): the file stays, nobody holds it, no status */
	c.run_as = NULL;
	spawn(&c);
	ukvmm_qmp_close(qmp_connect(&c));
	owner = guest;
	kill(guest, SIGKILL);
	expect_exit(&c, wait_guest(30), 137, UKVMM_EXIT_SIGNAL);
	if (atoi(slurp(c.pid_file)) != owner || ukvmm_pidfile_owner(c.pid_file, &err) != 0)
		fail("after kill -9 the pid file should name %d and have no lock holder", owner);
	printf("PASS\n");
}

static int powerdowns;
static void on_event(void *opaque, const char *event, json_object *data)
{
	(void)opaque;
	(void)data;
	printf("event %s\n", event);
	powerdowns += !strcmp(event, "POWERDOWN");
}

static void test_powerdown(void)
{
	char kernel[300], ev[32];
	struct ukvmm_config c;
	struct ukvmm_qmp *q;
	uk_err_t err = {0};
	int64_t deadline;
	int shutdown = 0;

	snprintf(kernel, sizeof(kernel), "%s/shutdown", dir);
	build(kernel, repo, "tests/unikernel/shutdown.c");
	config(&c, kernel, "--");
	c.power_button = 1;
	if (ukvmm_machine_pick(&c) != UKVMM_MACHINE_PC)
		fail("a power button does not pick pc");
	spawn(&c);
	q = qmp_connect(&c);
	ukvmm_qmp_on_event(q, on_event, NULL);
	deadline = now_ms() + 60000;
	while (!strstr(slurp(c.console.path), "ready")) {
		if (now_ms() > deadline)
			fail("the guest never said ready");
		usleep(20000);
	}
	usleep(200000); /* "ready" is printed just before the guest idles */
	if (ukvmm_qmp_system_powerdown(q, &err) < 0)
		fail("system_powerdown: %s", err.message);
	/* SHUTDOWN, or QEMU gone before we read it: it exits right after the guest powers off */
	while (!shutdown) {
		int r = ukvmm_qmp_next_event(q, ev, sizeof(ev), 30000, &err);
		if (r == 0)
			fail("no SHUTDOWN event within 30 s");
		if (r < 0 && err.status != 410)
			fail("events: %s", err.message);
		shutdown = r < 0 || !strcmp(ev, "SHUTDOWN");
		printf("%s\n", r < 0 ? err.message : ev);
	}
	ukvmm_qmp_close(q);
	if (!powerdowns)
		fail("no POWERDOWN event reached the callback");
	/* the runtime's documented answer to the power button without a handler: 143 */
	expect_exit(&c, wait_guest(30), 143, UKVMM_EXIT_CHANNEL);
	printf("PASS\n");
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) < 0)
		fail("free port: %s", strerror(errno));
	close(s);
	return ntohs(sa.sin_port);
}

/* One HTTP/1.0 GET on 127.0.0.1:(port) with short timeouts (a connection made before the guest
 * listens hangs in slirp: retry instead); the response in (out), or -1. */
static int http_get(int port, const char *path, char *out, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {0, 300000};
	char req[256];
	size_t got = 0;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (write(s, req, strlen(req)) != (ssize_t)strlen(req))
		goto fail;
	while (got < len - 1 && (n = read(s, out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(s);
	return got ? 0 : -1;
fail:
	close(s);
	return -1;
}

static void test_hostfwd(void)
{
	char kernel[300], site[300], resp[65536], *index, *body;
	int port = free_port();
	struct ukvmm_fwd fw = {UKVMM_TCP, "127.0.0.1", (uint16_t)port, 80};
	struct ukvmm_nic nic = {UKVMM_NIC_USER, "52:54:00:12:34:56", NULL, &fw, 1, 0};
	struct ukvmm_config c;
	struct ukvmm_qmp *q;
	uk_err_t err = {0};
	int64_t deadline;

	snprintf(kernel, sizeof(kernel), "%s/website", dir);
	snprintf(site, sizeof(site), "%s/images/examples/website", repo);
	build(kernel, site, "--embed site/:/www main.c -lnet -lhttp");
	config(&c, kernel, "-- --port=80");
	c.nics = &nic;
	c.n_nics = 1;
	spawn(&c);
	deadline = now_ms() + 60000;
	while (http_get(port, "/", resp, sizeof(resp)) < 0 || !strstr(resp, "\r\n\r\n")) {
		if (now_ms() > deadline)
			fail("no HTTP answer on 127.0.0.1:%d within 60 s; console: %s", port,
			     slurp(c.console.path));
		if (waitpid(guest, NULL, WNOHANG) == guest)
			fail("QEMU ended: %s", slurp(c.console.path));
		usleep(20000);
	}
	printf("%.*s\n", (int)(strchr(resp, '\r') - resp), resp);
	if (strncmp(resp, "HTTP/1.", 7) || strncmp(resp + 8, " 200 ", 5))
		fail("not a 200: %.80s", resp);
	snprintf(site, sizeof(site), "%s/images/examples/website/site/index.html", repo);
	index = strdup(slurp(site));
	body = strstr(resp, "\r\n\r\n") + 4;
	if (strcmp(body, index))
		fail("the body is not site/index.html (%zu bytes vs %zu)", strlen(body),
		     strlen(index));
	free(index);
	q = qmp_connect(&c);
	if (ukvmm_qmp_quit(q, &err) < 0)
		fail("quit: %s", err.message);
	ukvmm_qmp_close(q);
	/* quit leaves no guest status: none, not a made-up 0 */
	expect_exit(&c, wait_guest(30), -1, UKVMM_EXIT_NONE);
	printf("PASS\n");
}

static int have_qemu(void)
{
	return system("command -v qemu-system-x86_64 >/dev/null 2>&1") == 0;
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");

	if (argc != 4) {
		fprintf(stderr, "usage: %s hello|paused|powerdown|hostfwd UKCC REPO\n", argv[0]);
		return 2;
	}
	ukcc = argv[2];
	repo = argv[3];
	if (!have_qemu()) {
		printf("SKIP: qemu-system-x86_64 not installed\n");
		return 77;
	}
	/* short: the QMP socket's path must fit sun_path */
	snprintf(dir, sizeof(dir), "%s/vmm.XXXXXX", tmp && strlen(tmp) < 60 ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		dir[0] = '\0';
		fail("mkdtemp: %s", strerror(errno));
	}
	if (!strcmp(argv[1], "hello"))
		test_hello();
	else if (!strcmp(argv[1], "paused"))
		test_paused();
	else if (!strcmp(argv[1], "powerdown"))
		test_powerdown();
	else if (!strcmp(argv[1], "hostfwd"))
		test_hostfwd();
	else
		fail("unknown test %s", argv[1]);
	cleanup();
	return 0;
}
