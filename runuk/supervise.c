/* The container's process: owns QEMU (started paused), lets it run on `start`, turns SIGTERM into
 * the power button, and exits with the guest's exit status (not QEMU's (n<<1)|1). */
#include "runuk.h"
#include "uk/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sched.h>

static void report(int fd, const char *msg)
{
	if (fd >= 0) {
		(void)!write(fd, msg, strlen(msg));
		close(fd);
	}
}

static void fail_ready(const struct runuk_launch *l, uk_err_t *err, pid_t qemu)
{
	char log[1024] = "";
	_cleanup_close_ int fd = open("qemu.log", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (qemu > 0) {
		kill(-qemu, SIGKILL);
		waitpid(qemu, NULL, 0);
	}
	if (fd >= 0 && (n = read(fd, log, sizeof(log) - 1)) > 0) {
		log[n] = 0;
		log[strcspn(log, "\n")] = 0;
		uk_err_wrap(err, "%s", log);
		uk_err_wrap(err, "QEMU said");
	}
	report(l->ready_fd, err->message);
	_exit(1);
}

/* The guest's argv[1..]: process.args less the kernel's path that engines put first when the
 * image's Entrypoint is /uk/kernel (an image without it gives its Cmd alone). */
static const char *const *guest_args(const struct runuk_spec *spec)
{
	const char *a0 = spec->args[0];

	if (!strcmp(a0, RUNUK_KERNEL) || !strcmp(a0, "uk/kernel"))
		return (const char *const *)spec->args + 1;
	return (const char *const *)spec->args;
}

/* The first IPv4 nameserver of the engine's resolv.conf (path) that is not a loopback address
 * (dockerd's embedded 127.0.0.11 is the namespace's own loopback, which the guest cannot reach),
 * into (out); "" if none. */
static void nameserver(const char *path, char *out, size_t len)
{
	char line[256];
	FILE *f = path ? fopen(path, "re") : NULL;

	out[0] = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char ip[64];
		unsigned a, b, c, d;
		char tail;

		if (sscanf(line, " nameserver %63s", ip) == 1 &&
		    sscanf(ip, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a < 256 && b < 256 &&
		    c < 256 && d < 256 && a != 127) {
			snprintf(out, len, "%s", ip);
			break;
		}
	}
	if (f)
		fclose(f);
}

static int configure(const struct runuk_launch *l, struct ukvmm_config *c, char *cmdline,
                     size_t len, uk_err_t *err)
{
	const struct runuk_spec *s = l->spec;
	uint64_t mem = s->memory;
	struct ukvmm_qemu_caps caps;
	json_object *v;

	if (!mem && json_object_object_get_ex(s->annotations, "org.uk.memory", &v))
		mem = strtoull(json_object_get_string(v), NULL, 10);
	if (!mem)
		mem = RUNUK_DEFAULT_MEMORY;
	if (mem < (4ULL << 20))
		return uk_err_bad(err, "memory limit %llu bytes: a uk guest needs at least 4 MiB",
		                  (unsigned long long)mem);
	static const char *env[RUNUK_MAX_ENV + 4];
	static char ip[80], gw[80], dns[80];
	static struct runuk_net net;
	static struct ukvmm_nic nic;
	size_t n = 0;

	/* only in a namespace of the container's own: a container on the host's network (no
	 * network namespace in config.json) must never take the host's eth0 */
	if ((s->netns || s->new_netns) && runuk_net_takeover(&net, err) < 0)
		return -1;
	for (; n < s->n_env; n++)
		env[n] = s->env[n];
	if (net.present) {
		/* the runtime's static configuration (docs/net.md): eth0's, now the guest's */
		snprintf(ip, sizeof(ip), "UK_IP=%s", net.ip);
		env[n++] = ip;
		if (net.gw[0]) {
			snprintf(gw, sizeof(gw), "UK_GW=%s", net.gw);
			env[n++] = gw;
		}
		nic = (struct ukvmm_nic){.kind = UKVMM_NIC_TAP, .mac = net.mac, .ifname = net.tap};
		/* the engine's DNS server, one the guest can route to */
		nameserver(s->resolv_conf, dns + 7, sizeof(dns) - 7);
		if (dns[7]) {
			memcpy(dns, "UK_DNS=", 7);
			env[n++] = dns;
		}
	}
	env[n] = NULL;
	if (runuk_guest_cmdline(cmdline, len, env, guest_args(s), err) < 0)
		return uk_err_wrap(err, "kernel command line");
	if (ukvmm_qemu_probe(NULL, &caps, err) < 0)
		return -1;
	ukvmm_config_init(c);
	c->qemu_version = caps.version;
	c->sandbox = caps.sandbox;
	c->name = "runuk";
	c->kernel = l->kernel;
	c->cmdline = cmdline;
	c->memory_mib = (unsigned)(mem >> 20 > 65536 ? 65536 : mem >> 20);
	c->vcpus = s->vcpus ? (s->vcpus > 16 ? 16 : s->vcpus) : 1;
	c->console = (struct ukvmm_chan){UKVMM_CHAN_FD, NULL, l->console_fd};
	c->status = (struct ukvmm_chan){UKVMM_CHAN_FILE, "status", -1};
	c->power_button = 1;   /* SIGTERM presses it: docker stop, kubelet's grace period */
	c->qmp_socket = "qmp"; /* relative: the state dir is the cwd, sun_path stays short */
	c->pid_file = "qemu.pid";
	c->start_paused = 1;
	if (net.present)
		c->nics = &nic, c->n_nics = 1;
	c->die_with_parent = 1; /* SIGKILL of the container's process ends the guest */
	return 0;
}

static int enter_netns(const struct runuk_spec *s, uk_err_t *err)
{
	_cleanup_close_ int fd = -1;

	if (s->new_netns)
		return unshare(CLONE_NEWNET) < 0 ? uk_err_errno(err, errno, "new network namespace")
		                                 : 0;
	if (!s->netns)
		return 0;
	fd = open(s->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		return uk_err_errno(err, errno, "enter network namespace %s", s->netns);
	return 0;
}

static void touch(const char *name)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	if (fd >= 0)
		close(fd);
}

void runuk_supervise(const struct runuk_launch *l)
{
	struct ukvmm_config c;
	char cmdline[8192], line[64];
	struct ukvmm_qmp *q = NULL;
	uk_err_t err = {0};
	sigset_t set;
	int sfd, fifo, log_fd, powerdown = 0;
	pid_t qemu = -1;

	if (chdir(l->dir) < 0) {
		uk_err_errno(&err, errno, "enter %s", l->dir);
		fail_ready(l, &err, -1);
	}
	sigemptyset(&set);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP && s != SIGSEGV && s != SIGBUS && s != SIGFPE &&
		    s != SIGILL && s != SIGABRT)
			sigaddset(&set, s);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (mkfifo("start.fifo", 0600) < 0 ||
	    (fifo = open("start.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0 || sfd < 0) {
		uk_err_errno(&err, errno, "start fifo in %s", l->dir);
		fail_ready(l, &err, -1);
	}
	log_fd = open("qemu.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (enter_netns(l->spec, &err) < 0)
		fail_ready(l, &err, -1);
	/* create runs the prestart hooks now (dockerd puts eth0 into this namespace from one) */
	if (write(l->ready_fd, "ns\n", 3) != 3 || read(l->go_fd, line, 3) != 3 ||
	    strncmp(line, "go\n", 3))
		_exit(1);
	close(l->go_fd);
	if (configure(l, &c, cmdline, sizeof(cmdline), &err) < 0 ||
	    (qemu = ukvmm_spawn(&c, log_fd, &err)) < 0)
		fail_ready(l, &err, -1);
	q = ukvmm_qmp_connect(c.qmp_socket, 30000, &err);
	if (!q)
		fail_ready(l, &err, qemu);
	report(l->ready_fd, "ok\n");
	if (l->console_fd > 2)
		close(l->console_fd);

	for (;;) {
		struct pollfd p[3] = {
		        {sfd, POLLIN, 0}, {fifo, POLLIN, 0}, {q ? ukvmm_qmp_fd(q) : -1, POLLIN, 0}};
		struct signalfd_siginfo si;

		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents) {
			ssize_t n = read(fifo, line, sizeof(line));

			if (n > 0 && !strncmp(line, "start", 5)) {
				if (q && ukvmm_qmp_cont(q, &err) == 0)
					touch("started");
				close(fifo);
				fifo = -1;
			} else if (n == 0) {
				/* a writer came and went without a word: wait for the next */
				close(fifo);
				fifo = open("start.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			}
		}
		if (p[2].revents) {
			char ev[64];

			if (ukvmm_qmp_next_event(q, ev, sizeof(ev), 0, &err) < 0) {
				ukvmm_qmp_close(q);
				q = NULL;
			}
		}
		if (!p[0].revents || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGCHLD) {
			struct ukvmm_exit x;
			int ws;

			if (waitpid(qemu, &ws, WNOHANG) != qemu)
				continue;
			ukvmm_exit_read(ws, c.status.path, &x);
			if (x.code < 0)
				x.code = powerdown                           ? 143
				         : WIFEXITED(ws) && !WEXITSTATUS(ws) ? 0
				                                             : 255;
			snprintf(line, sizeof(line), "%d\n", x.code);
			report(open("exit", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), line);
			_exit(x.code);
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT ||
		           si.ssi_signo == SIGPWR) {
			/* before start the guest never ran: nothing to shut down gracefully */
			if (fifo < 0 && q && ukvmm_qmp_system_powerdown(q, &err) == 0) {
				powerdown = 1;
				continue;
			}
			kill(-qemu, SIGKILL);
			powerdown = 1;
		} else if (si.ssi_signo != SIGWINCH && si.ssi_signo != SIGURG &&
		           si.ssi_signo != SIGPIPE) {
			/* anything else a container's process would die of (HUP, QUIT, USR1...) */
			kill(-qemu, SIGKILL);
		}
	}
	kill(-qemu, SIGKILL);
	_exit(255);
}
