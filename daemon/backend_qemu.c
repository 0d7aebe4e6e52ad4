/* The qemu backend: ukd runs QEMU itself through ukvmm (vmm/), watches it by pidfd, speaks QMP. */
#include "backend.h"
#include "clock_sync.h"
#include "log.h"
#include "policy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "uk/vmm.h"

/*
 * Where a guest's files are. Each lives in its instance's directory (vm->dir): "qemu.pid"
 * (QEMU's, write-locked while it runs: ukvmm_pidfile_owner), "qmp" (the control socket),
 * "qemu.uuid" (this run's id, as ukd's rows know it), "qemu.log" (QEMU's own stderr). The
 * backend finds them by name through its index, <root>/qemu/<name> → vm->dir, a symlink made
 * at start and dropped when the guest is seen gone: a restarted ukd re-attaches through it, and
 * the QMP socket's path through it stays short (sun_path is 108 bytes; an instance's
 * directory may be longer).
 */
#define F_PID "qemu.pid"
#define F_QMP "qmp"
#define F_UUID "qemu.uuid"
#define F_LOG "qemu.log"

#define START_TIMEOUT_MS 60000 /* QEMU up (QMP answers) or gone: TCG on a busy host is slow */
#define QMP_TIMEOUT_MS 5000
#define GONE_TIMEOUT_MS 10000

/* A QEMU this backend watches: one it spawned (its child) or one a previous ukd left. */
struct qguest {
	struct qguest *next;
	char name[32];
	char uuid[40];
	pid_t pid;
	int pidfd;
	int child;    /* spawned by this process's backend thread: it reaps it */
	int starting; /* ukd_backend_start has not returned yet */
	int killed;   /* shutdown killed it while starting */
};

struct qb {
	struct ukd_backend base; /* first: ops */
	char index[PATH_MAX];
	char bin[PATH_MAX];
	char version[32];
	char hypervisor[40]; /* "QEMU 7.2.0" */
	char run_as[64];     /* "" = ukd's own user (never root) */
	struct ukvmm_qemu_caps caps;
	ukd_backend_stopped_fn stopped;
	void *opaque;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct qguest *guests; /* under lock */
	int closing;           /* under lock: no new starts */
	int quit;              /* under lock: the thread ends */
	/* One spawn at a time goes to the thread (spawn_lock), so QEMU is the child of a thread
	 * that lives as long as the backend: ukd's reaper (reaper.c) reaps only the first
	 * thread's children, and a thread's children go to the first thread when it exits. */
	pthread_mutex_t spawn_lock;
	const struct ukvmm_config *req; /* under lock: the spawn asked for, NULL when done */
	int req_log_fd;
	pid_t req_pid;
	int req_pidfd;
	uk_err_t req_err;
	const char *req_name, *req_uuid;
	int efd; /* wakes the thread */
	pthread_t thread;
	int thread_started;
};

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void qb_wake(struct qb *b)
{
	uint64_t one = 1;

	(void)!write(b->efd, &one, sizeof(one));
}

/* <index>/<name>[/<file>] */
static void qb_path(const struct qb *b, const char *name, const char *file, char *out, size_t len)
{
	snprintf(out, len, "%s/%s%s%s", b->index, name, file ? "/" : "", file ? file : "");
}

/* The QEMU holding (name)'s pid file: > 0, 0 none (or no such guest), -1 error. */
static pid_t qb_owner(const struct qb *b, const char *name, uk_err_t *err)
{
	char path[PATH_MAX + 64];
	uk_err_t e = {0};
	pid_t pid;

	qb_path(b, name, F_PID, path, sizeof(path));
	pid = ukvmm_pidfile_owner(path, &e);
	if (pid < 0 && e.status == 404)
		return 0;
	if (pid < 0 && err)
		*err = e;
	return pid;
}

static struct qguest *qb_find_locked(struct qb *b, const char *name)
{
	for (struct qguest *g = b->guests; g; g = g->next)
		if (!strcmp(g->name, name))
			return g;
	return NULL;
}

static void qb_read_uuid(const struct qb *b, const char *name, char uuid[40])
{
	char path[PATH_MAX + 64];
	_cleanup_close_ int fd = -1;
	ssize_t n = -1;

	qb_path(b, name, F_UUID, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
		n = read(fd, uuid, 36);
	uuid[n == 36 ? 36 : 0] = 0;
}

/* Watches (pid) of (name) (a QEMU a previous ukd left) until it ends; caller holds lock. */
static void qb_watch_locked(struct qb *b, const char *name, pid_t pid)
{
	struct qguest *g;
	int fd;

	if (qb_find_locked(b, name) || (fd = pidfd_open_(pid)) < 0 ||
	    !(g = calloc(1, sizeof(*g)))) {
		return;
	}
	snprintf(g->name, sizeof(g->name), "%s", name);
	qb_read_uuid(b, name, g->uuid);
	g->pid = pid;
	g->pidfd = fd;
	g->next = b->guests;
	b->guests = g;
	qb_wake(b);
}

/* ---- the backend's thread: spawns, watches, reaps ---- */

/* The spawn asked for; called on the thread with lock held (the spawn takes milliseconds). */
static void qb_do_spawn_locked(struct qb *b)
{
	struct qguest *g = calloc(1, sizeof(*g));
	uk_err_t err = {0};
	pid_t pid = -1;
	int fd = -1;

	if (!g) {
		uk_err_errno(&err, ENOMEM, "start QEMU");
	} else if ((pid = ukvmm_spawn(b->req, b->req_log_fd, &err)) > 0 &&
	           (fd = pidfd_open_(pid)) < 0) {
		uk_err_errno(&err, errno, "start QEMU: pidfd_open %d", (int)pid);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	if (pid > 0) {
		snprintf(g->name, sizeof(g->name), "%s", b->req_name);
		snprintf(g->uuid, sizeof(g->uuid), "%s", b->req_uuid);
		g->pid = pid;
		g->pidfd = fd;
		g->child = 1;
		g->starting = 1;
		g->next = b->guests;
		b->guests = g;
		b->req_pidfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	} else {
		free(g);
	}
	b->req_pid = pid;
	b->req_err = err;
	b->req = NULL;
	pthread_cond_broadcast(&b->cond);
}

/* (g) ended: unlinked from the list (lock held by the caller), reaped if it is our child. */
static void qb_gone_locked(struct qb *b, struct qguest *g)
{
	char path[PATH_MAX + 64], uuid[40];

	for (struct qguest **p = &b->guests; *p; p = &(*p)->next)
		if (*p == g) {
			*p = g->next;
			break;
		}
	if (g->child) {
		siginfo_t si = {0};
		waitid((idtype_t)P_PIDFD, (id_t)g->pidfd, &si, WEXITED | WNOHANG);
	}
	close(g->pidfd);
	/* the index entry goes with the run, unless a new run of the name already made it */
	qb_read_uuid(b, g->name, uuid);
	if (!qb_find_locked(b, g->name) && (!uuid[0] || !strcmp(uuid, g->uuid))) {
		qb_path(b, g->name, NULL, path, sizeof(path));
		unlink(path);
	}
	log_debug("backend", "%s: QEMU (pid %d) ended", g->name, (int)g->pid);
}

static void *qb_thread(void *p)
{
	struct qb *b = p;
	struct pollfd *fds = NULL;
	size_t cap = 0;

	pthread_mutex_lock(&b->lock);
	while (!b->quit) {
		size_t n = 1;

		if (b->req)
			qb_do_spawn_locked(b);
		for (struct qguest *g = b->guests; g; g = g->next)
			n++;
		if (n > cap) {
			struct pollfd *nf = realloc(fds, n * 2 * sizeof(*fds));
			if (nf) {
				fds = nf;
				cap = n * 2;
			}
		}
		n = 0;
		fds[n++] = (struct pollfd){.fd = b->efd, .events = POLLIN};
		for (struct qguest *g = b->guests; g && n < cap; g = g->next)
			fds[n++] = (struct pollfd){.fd = g->pidfd, .events = POLLIN};
		pthread_mutex_unlock(&b->lock);
		if (poll(fds, n, -1) < 0 && errno != EINTR)
			log_error("backend", "qemu: poll: %s", strerror(errno));
		if (fds[0].revents & POLLIN) {
			uint64_t v;
			(void)!read(b->efd, &v, sizeof(v));
		}
		pthread_mutex_lock(&b->lock);
		for (size_t i = 1; i < n; i++) {
			char name[32], uuid[40];
			struct qguest *g;

			if (!fds[i].revents)
				continue;
			for (g = b->guests; g && g->pidfd != fds[i].fd; g = g->next)
				;
			if (!g)
				continue;
			qb_gone_locked(b, g);
			memcpy(name, g->name, sizeof(name));
			memcpy(uuid, g->uuid, sizeof(uuid));
			free(g);
			/* the callback only queues work (backend.h): safe under our lock */
			b->stopped(b->opaque, name, uuid);
		}
	}
	pthread_mutex_unlock(&b->lock);
	free(fds);
	return NULL;
}

/* ---- ops ---- */

static const struct ukd_backend_ops qb_ops;

static void qb_close(struct ukd_backend *bb)
{
	struct qb *b = (struct qb *)bb;

	if (b->thread_started) {
		pthread_mutex_lock(&b->lock);
		b->quit = 1;
		pthread_mutex_unlock(&b->lock);
		qb_wake(b);
		pthread_join(b->thread, NULL);
	}
	/* the guests keep running (live restore) or were stopped by ukd already */
	for (struct qguest *g = b->guests, *n; g; g = n) {
		n = g->next;
		close(g->pidfd);
		free(g);
	}
	if (b->efd >= 0)
		close(b->efd);
	pthread_mutex_destroy(&b->lock);
	pthread_mutex_destroy(&b->spawn_lock);
	pthread_cond_destroy(&b->cond);
	free(b);
}

struct ukd_backend *ukd_backend_open_qemu(const char *root, const char *qemu,
                                          const struct ukd_qemu_user *user,
                                          ukd_backend_stopped_fn stopped, void *opaque,
                                          uk_err_t *err)
{
	struct qb *b = calloc(1, sizeof(*b));
	const char *name = qemu && *qemu ? qemu : "qemu-system-x86_64";

	if (!b) {
		uk_err_errno(err, ENOMEM, "qemu backend");
		return NULL;
	}
	b->base.ops = &qb_ops;
	b->stopped = stopped;
	b->opaque = opaque;
	b->efd = -1;
	pthread_mutex_init(&b->lock, NULL);
	pthread_mutex_init(&b->spawn_lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	snprintf(b->index, sizeof(b->index), "%s/qemu", root);
	snprintf(b->bin, sizeof(b->bin), "%s", name);
	if (user && user->uid >= 0) {
		struct passwd *pw = getpwuid((uid_t)user->uid);
		if (!pw) {
			uk_err_internal(err, "qemu backend: QEMU's user %ld has no name",
			                user->uid);
			goto fail;
		}
		snprintf(b->run_as, sizeof(b->run_as), "%s", pw->pw_name);
	}
	if (ukvmm_qemu_probe(name, &b->caps, err) < 0) {
		char said[sizeof(err->message)];

		snprintf(said, sizeof(said), "%s", err->message);
		uk_err_set(err, 503, UKD_VM_ERR_UNAVAILABLE,
		           "cannot run %s (%.300s): install QEMU (deploy/install-deps.sh) or use "
		           "--backend libvirt",
		           name, said);
		goto fail;
	}
	snprintf(b->version, sizeof(b->version), "%u.%u.%u", b->caps.version / 10000,
	         b->caps.version / 100 % 100, b->caps.version % 100);
	snprintf(b->hypervisor, sizeof(b->hypervisor), "QEMU %s", b->version);
	if (mkdir(b->index, 0700) < 0 && errno != EEXIST) {
		uk_err_errno(err, errno, "qemu backend: create %s", b->index);
		goto fail;
	}
	if ((b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		uk_err_errno(err, errno, "qemu backend: eventfd");
		goto fail;
	}
	if (pthread_create(&b->thread, NULL, qb_thread, b) != 0) {
		uk_err_internal(err, "qemu backend: start its thread");
		goto fail;
	}
	b->thread_started = 1;
	log_info("backend", "qemu backend: %s (QEMU %s%s), guests run as %s", name, b->version,
	         b->caps.sandbox ? ", seccomp" : "", b->run_as[0] ? b->run_as : "ukd's user");
	return &b->base;
fail:
	qb_close(&b->base);
	return NULL;
}

static void qb_uuid(char out[40])
{
	unsigned char r[16] = {0};

	if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
		int64_t t = ukd_now_ns();
		memcpy(r, &t, sizeof(t));
	}
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
	         r[13], r[14], r[15]);
}

/* Writes (text) to <dir>/<file> whole. */
static int qb_write(const char *dir, const char *file, const char *text, uk_err_t *err)
{
	char path[PATH_MAX + 64];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return uk_err_errno(err, errno, "write %s", path);
	return 0;
}

/* The config ukvmm renders for (vm); strings point into (vm), (nics), (fwds), (paths). */
struct qb_render {
	struct ukvmm_config c;
	struct ukvmm_nic nics[8];
	struct ukvmm_fwd fwds[UKD_PORTS_MAX + 1];
	struct ukvmm_disk disks[32];
	char qmp[PATH_MAX + 64], pid[PATH_MAX + 64];
};

static int qb_config(struct qb *b, const struct ukd_vm *vm, struct qb_render *r, uk_err_t *err)
{
	struct ukvmm_config *c = &r->c;
	size_t nf = 0;

	if ((size_t)vm->n_nics > sizeof(r->nics) / sizeof(r->nics[0]) ||
	    (size_t)vm->n_disks > sizeof(r->disks) / sizeof(r->disks[0]))
		return uk_err_bad(err, "start %s: too many devices", vm->name);
	ukvmm_config_init(c);
	c->qemu = b->bin;
	c->qemu_version = b->caps.version;
	c->sandbox = b->caps.sandbox;
	c->name = vm->name;
	/* pc: `uk stop` presses the ACPI power button, which microvm lacks (docs/backends.md) */
	c->machine = UKVMM_MACHINE_PC;
	c->power_button = 1;
	c->accel = vm->accel == UKD_VM_KVM ? UKVMM_ACCEL_KVM : UKVMM_ACCEL_TCG;
	c->memory_mib = (unsigned)(vm->memory >> 20);
	c->vcpus = vm->vcpus ? vm->vcpus : 1;
	c->kernel = vm->kernel;
	c->cmdline = vm->cmdline;
	c->console = (struct ukvmm_chan){UKVMM_CHAN_FILE, vm->console_log, -1};
	c->status = (struct ukvmm_chan){UKVMM_CHAN_FILE, vm->status_log, -1};
	for (int i = 0; i < vm->n_nics; i++) {
		const struct ukd_nic *n = &vm->nics[i];
		struct ukvmm_nic *o = &r->nics[i];

		o->mac = n->mac[0] ? n->mac : NULL;
		if (n->kind == UKD_NIC_TAP) {
			o->kind = UKVMM_NIC_TAP;
			o->ifname = n->tap;
			o->vhost = vm->vhost_net && vm->accel == UKD_VM_KVM;
			continue;
		}
		o->kind = UKVMM_NIC_USER;
		o->fwds = &r->fwds[nf];
		for (int k = 0; k < n->n_fwds; k++) {
			const struct ukd_port *p = &n->fwds[k];
			if (nf >= sizeof(r->fwds) / sizeof(r->fwds[0]))
				return uk_err_bad(err, "start %s: too many published ports",
				                  vm->name);
			r->fwds[nf++] = (struct ukvmm_fwd){
			        strcmp(p->proto, "udp") ? UKVMM_TCP : UKVMM_UDP, p->host_ip,
			        (uint16_t)p->host_port, (uint16_t)p->guest_port};
			o->n_fwds++;
		}
	}
	c->nics = r->nics;
	c->n_nics = (size_t)vm->n_nics;
	for (int i = 0; i < vm->n_disks; i++)
		r->disks[i] = (struct ukvmm_disk){vm->disks[i].path, vm->disks[i].read_only};
	c->disks = r->disks;
	c->n_disks = (size_t)vm->n_disks;
	qb_path(b, vm->name, F_QMP, r->qmp, sizeof(r->qmp));
	qb_path(b, vm->name, F_PID, r->pid, sizeof(r->pid));
	c->qmp_socket = r->qmp;
	c->pid_file = r->pid;
	c->run_as = b->run_as[0] ? b->run_as : NULL;
	c->gdb = vm->gdb;
	/* gdb's `continue` runs it; else ukd's `cont`, once the time record is in COM3 */
	c->clock_pipe = vm->gdb ? NULL : vm->clock_pipe;
	c->start_paused = vm->gdb != NULL || c->clock_pipe != NULL;
	return 0;
}

/* Is the process behind (pidfd) gone? */
static int qb_exited(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return pidfd < 0 || poll(&p, 1, 0) > 0;
}

/* The tail of <dir>/qemu.log: what QEMU said before it gave up. */
static void qb_log_tail(const char *dir, char *out, size_t len)
{
	char path[PATH_MAX + 64];
	_cleanup_close_ int fd = -1;
	off_t end;
	ssize_t n = 0;

	out[0] = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, F_LOG);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	if (end > (off_t)len - 1)
		lseek(fd, end - (off_t)len + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, out, len - 1);
	out[n > 0 ? n : 0] = 0;
	for (ssize_t i = n - 1; i >= 0 && (out[i] == '\n' || out[i] == '\r'); i--)
		out[i] = 0;
}

static void qb_starting_done(struct qb *b, const char *name, pid_t pid)
{
	pthread_mutex_lock(&b->lock);
	for (struct qguest *g = b->guests; g; g = g->next)
		if (g->pid == pid && !strcmp(g->name, name))
			g->starting = 0;
	pthread_mutex_unlock(&b->lock);
}

/*
 * Waits until QEMU answers on QMP (it is past its set-up: RAM mapped, forwards bound, devices
 * made) or ends. 0 up, 1 ended, -1 neither in time (then killed).
 */
static int qb_wait_up(const char *qmp, int pidfd, pid_t pid, uk_err_t *err)
{
	int64_t deadline = ukd_now_ns() + (int64_t)START_TIMEOUT_MS * 1000000;

	for (;;) {
		uk_err_t e = {0};
		struct ukvmm_qmp *q;

		if (qb_exited(pidfd))
			return 1;
		/* short tries: a QEMU that dies after making its socket leaves it refusing */
		if (access(qmp, F_OK) == 0 && (q = ukvmm_qmp_connect(qmp, 250, &e))) {
			ukvmm_qmp_close(q);
			return 0;
		}
		if (ukd_now_ns() > deadline) {
			kill(pid, SIGKILL);
			return uk_err_set(err, 503, UKD_VM_ERR_UNAVAILABLE,
			                  "QEMU did not come up within %d s: killed it",
			                  START_TIMEOUT_MS / 1000);
		}
		if (access(qmp, F_OK) < 0)
			nanosleep(&(struct timespec){0, 2000000}, NULL);
	}
}

static int qb_wait_gone(struct ukd_backend *bb, const char *name, uk_err_t *err);

static int qb_resume(struct qb *b, const struct ukd_vm *vm, const char *clock_pipe, uk_err_t *err);

static int qb_start(struct ukd_backend *bb, const struct ukd_vm *vm, struct ukd_domain_info *info,
                    uk_err_t *err)
{
	struct qb *b = (struct qb *)bb;
	_cleanup_free_ struct qb_render *r = calloc(1, sizeof(*r));
	char link[PATH_MAX + 64], path[PATH_MAX + 64], uuid[40], said[600];
	_cleanup_close_ int log_fd = -1, pidfd = -1;
	int64_t t0 = ukd_now_ns();
	pid_t pid;
	int up;

	if (!r)
		return uk_err_errno(err, ENOMEM, "start %s", vm->name);
	if (ukd_backend_check_accel(vm, err) < 0)
		return -1;
	if (!b->run_as[0] && geteuid() == 0)
		return uk_err_set(err, 503, UKD_VM_ERR_UNAVAILABLE,
		                  "start %s: ukd runs as root and QEMU would too: create the "
		                  "system user libvirt-qemu (deploy/install-deps.sh)",
		                  vm->name);
	if (qb_wait_gone(bb, vm->name, err) < 0 || qb_config(b, vm, r, err) < 0)
		return -1;
	/* this run's files: the index entry, its uuid, QEMU's log; no stale pid file or socket.
	 * Under the lock: the thread, seeing the previous run end, drops the entry only if it
	 * still names that run (qb_gone_locked). */
	qb_path(b, vm->name, NULL, link, sizeof(link));
	qb_uuid(uuid);
	pthread_mutex_lock(&b->lock);
	unlink(link);
	if (symlink(vm->dir, link) < 0 || (unlink(r->pid), unlink(r->qmp), 0) ||
	    qb_write(vm->dir, F_UUID, uuid, err) < 0) {
		if (!err->status)
			uk_err_errno(err, errno, "start %s: link %s", vm->name, link);
		pthread_mutex_unlock(&b->lock);
		return -1;
	}
	pthread_mutex_unlock(&b->lock);
	snprintf(path, sizeof(path), "%s/%s", vm->dir, F_LOG);
	if ((log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return uk_err_errno(err, errno, "start %s: %s", vm->name, path);
	/* the spawn, on the backend's thread */
	pthread_mutex_lock(&b->spawn_lock);
	pthread_mutex_lock(&b->lock);
	if (b->closing) {
		pthread_mutex_unlock(&b->lock);
		pthread_mutex_unlock(&b->spawn_lock);
		return uk_err_set(err, 503, UKD_VM_ERR_UNAVAILABLE,
		                  "start %s: ukd is shutting down", vm->name);
	}
	b->req = &r->c;
	b->req_log_fd = log_fd;
	b->req_name = vm->name;
	b->req_uuid = uuid;
	b->req_pidfd = -1;
	qb_wake(b);
	while (b->req)
		pthread_cond_wait(&b->cond, &b->lock);
	pid = b->req_pid;
	pidfd = b->req_pidfd;
	if (pid < 0)
		*err = b->req_err;
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_unlock(&b->spawn_lock);
	if (pid < 0) {
		if (err->status == 404)
			err->status = 503,
			snprintf(err->code, sizeof(err->code), "%s", UKD_VM_ERR_UNAVAILABLE);
		return uk_err_wrap(err, "start %s", vm->name);
	}
	up = qb_wait_up(r->qmp, pidfd, pid, err);
	qb_starting_done(b, vm->name, pid);
	if (up < 0)
		return uk_err_wrap(err, "start %s", vm->name);
	/* ended before answering: a guest that ran and exited already, or QEMU that failed */
	if (up == 1 && ukd_policy_read_status(vm->status_log) < 0) {
		int killed = 0;
		pthread_mutex_lock(&b->lock);
		killed = b->closing;
		pthread_mutex_unlock(&b->lock);
		if (killed)
			return uk_err_set(err, 503, UKD_VM_ERR_UNAVAILABLE,
			                  "start %s: interrupted: ukd is shutting down", vm->name);
		qb_log_tail(vm->dir, said, sizeof(said));
		if (ukd_backend_qemu_error(said, vm, err) < 0)
			return -1;
		return uk_err_internal(err, "start %s: QEMU exited at once: %s", vm->name,
		                       said[0] ? said : "(it said nothing)");
	}
	if (up == 0 && r->c.clock_pipe && qb_resume(b, vm, r->c.clock_pipe, err) < 0) {
		kill(pid, SIGKILL);
		return uk_err_wrap(err, "start %s", vm->name);
	}
	memset(info, 0, sizeof(*info));
	snprintf(info->uuid, sizeof(info->uuid), "%s", uuid);
	info->pid = (int)pid;
	log_info("backend", "started %s (QEMU pid %d, %s) in %lld ms", vm->name, (int)pid,
	         vm->accel == UKD_VM_KVM ? "kvm" : "tcg",
	         (long long)((ukd_now_ns() - t0) / 1000000));
	return 0;
}

/* Waits until (pid) is gone or (ms) passed: 0 gone. */
static int qb_wait_pid(pid_t pid, int ms)
{
	_cleanup_close_ int fd = pidfd_open_(pid);
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (fd < 0)
		return 0; /* ESRCH: gone (and reaped) */
	return poll(&p, 1, ms) > 0 ? 0 : -1;
}

static int qb_wait_gone(struct ukd_backend *bb, const char *name, uk_err_t *err)
{
	struct qb *b = (struct qb *)bb;
	pid_t pid = qb_owner(b, name, NULL);

	if (pid <= 0)
		return 0;
	kill(pid, SIGKILL);
	if (qb_wait_pid(pid, GONE_TIMEOUT_MS) < 0)
		return uk_err_conflict(err,
		                       "QEMU of %s (pid %d) from the previous run is still going "
		                       "away after 10 s: try again",
		                       name, (int)pid);
	return 0;
}

/* A QMP connection to the running guest (name); NULL with 404 if it is not running. */
static struct ukvmm_qmp *qb_qmp(struct qb *b, const char *name, uk_err_t *err)
{
	char path[PATH_MAX + 64];
	pid_t pid = qb_owner(b, name, err);

	if (pid <= 0) {
		if (pid == 0)
			uk_err_notfound(err, "guest %s is not running", name);
		return NULL;
	}
	qb_path(b, name, F_QMP, path, sizeof(path));
	return ukvmm_qmp_connect(path, QMP_TIMEOUT_MS, err);
}

/*
 * Runs a guest QEMU holds at -S: the host's time into its COM3, then `cont` at once (the TSC
 * the guest adds to that time counts from here). A guest that exits within ms of `cont` can
 * end QEMU before the reply: the exit status it left makes that a success.
 */
static int qb_resume(struct qb *b, const struct ukd_vm *vm, const char *clock_pipe, uk_err_t *err)
{
	struct ukvmm_qmp *q = qb_qmp(b, vm->name, err);
	int r;

	if (!q)
		return -1;
	ukd_clock_pipe_send(clock_pipe, vm->name);
	r = ukvmm_qmp_cont(q, err);
	ukvmm_qmp_close(q);
	if (r < 0 && ukd_policy_read_status(vm->status_log) >= 0) {
		memset(err, 0, sizeof(*err));
		return 0;
	}
	return r;
}

static int qb_shutdown(struct ukd_backend *bb, const char *name, uk_err_t *err)
{
	struct ukvmm_qmp *q = qb_qmp((struct qb *)bb, name, err);
	int r;

	if (!q)
		return err->status == 404 ? -1 : uk_err_wrap(err, "shut down %s", name);
	r = ukvmm_qmp_system_powerdown(q, err);
	ukvmm_qmp_close(q);
	return r < 0 ? uk_err_wrap(err, "shut down %s", name) : 0;
}

static int qb_destroy(struct ukd_backend *bb, const char *name, uk_err_t *err)
{
	struct qb *b = (struct qb *)bb;
	pid_t pid = qb_owner(b, name, err);

	if (pid <= 0)
		return pid < 0 ? -1 : uk_err_notfound(err, "guest %s is not running", name);
	if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
		return uk_err_errno(err, errno, "kill QEMU of %s (pid %d)", name, (int)pid);
	if (qb_wait_pid(pid, GONE_TIMEOUT_MS) < 0)
		return uk_err_internal(err, "QEMU of %s (pid %d) still there 10 s after SIGKILL",
		                       name, (int)pid);
	return 0;
}

static int qb_starting(struct ukd_backend *bb)
{
	struct qb *b = (struct qb *)bb;
	int n = 0;

	pthread_mutex_lock(&b->lock);
	for (struct qguest *g = b->guests; g; g = g->next)
		n += g->starting;
	n += b->req != NULL;
	pthread_mutex_unlock(&b->lock);
	return n;
}

static int qb_abort_starts(struct ukd_backend *bb)
{
	struct qb *b = (struct qb *)bb;
	int n = 0;

	pthread_mutex_lock(&b->lock);
	b->closing = 1;
	for (struct qguest *g = b->guests; g; g = g->next)
		if (g->starting && !g->killed && kill(g->pid, SIGKILL) == 0) {
			log_warn("backend", "%s: killed its QEMU (pid %d): ukd is shutting down",
			         g->name, (int)g->pid);
			g->killed = 1;
			n++;
		}
	pthread_mutex_unlock(&b->lock);
	return n;
}

/* Calls (fn) for each name in the index. */
static void qb_each(struct qb *b, void (*fn)(struct qb *, const char *, void *), void *arg)
{
	DIR *dh = opendir(b->index);
	struct dirent *e;

	if (!dh)
		return;
	while ((e = readdir(dh)))
		if (e->d_name[0] != '.')
			fn(b, e->d_name, arg);
	closedir(dh);
}

static void qb_kill_one(struct qb *b, const char *name, void *arg)
{
	pid_t pid = qb_owner(b, name, NULL);

	(void)arg;
	if (pid > 0 && kill(pid, SIGKILL) == 0)
		log_warn("backend", "%s: killed its QEMU (pid %d): ukd is shutting down", name,
		         (int)pid);
}

static void qb_kill_guests(struct ukd_backend *bb)
{
	qb_each((struct qb *)bb, qb_kill_one, NULL);
}

static int qb_lookup(struct ukd_backend *bb, const char *name, struct ukd_domain_info *info,
                     uk_err_t *err)
{
	struct qb *b = (struct qb *)bb;
	char link[PATH_MAX + 64];
	struct qguest *g;
	pid_t pid;

	memset(info, 0, sizeof(*info));
	/* a QEMU this backend watches and whose pidfd has not fired runs: no file to read (the
	 * supervisor's audit asks about every running guest each second) */
	pthread_mutex_lock(&b->lock);
	if ((g = qb_find_locked(b, name)) && !qb_exited(g->pidfd)) {
		info->pid = (int)g->pid;
		memcpy(info->uuid, g->uuid, sizeof(info->uuid));
		pthread_mutex_unlock(&b->lock);
		return 1;
	}
	pthread_mutex_unlock(&b->lock);
	if ((pid = qb_owner(b, name, err)) < 0)
		return -1;
	pthread_mutex_lock(&b->lock);
	if (pid > 0) {
		/* a QEMU a previous ukd left: watched from now on, its end reported */
		qb_watch_locked(b, name, pid);
		info->pid = (int)pid;
		qb_read_uuid(b, name, info->uuid);
	} else if (!qb_find_locked(b, name)) {
		/* ended while no ukd watched: its index entry goes */
		qb_path(b, name, NULL, link, sizeof(link));
		unlink(link);
	}
	pthread_mutex_unlock(&b->lock);
	return pid > 0;
}

struct qb_list {
	char **v;
	size_t n;
	const char *prefix;
};

static void qb_list_one(struct qb *b, const char *name, void *arg)
{
	struct qb_list *l = arg;
	char **nv;

	if (strncmp(name, l->prefix, strlen(l->prefix)) || qb_owner(b, name, NULL) <= 0 ||
	    !(nv = realloc(l->v, (l->n + 2) * sizeof(*nv))))
		return;
	l->v = nv;
	l->v[l->n] = strdup(name);
	l->n += l->v[l->n] != NULL;
	l->v[l->n] = NULL;
}

static char **qb_list(struct ukd_backend *bb, const char *prefix, uk_err_t *err)
{
	struct qb_list l = {calloc(1, sizeof(char *)), 0, prefix};

	if (!l.v) {
		uk_err_errno(err, ENOMEM, "list guests");
		return NULL;
	}
	qb_each((struct qb *)bb, qb_list_one, &l);
	return l.v;
}

static int64_t qb_counter(json_object *stats, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(stats, key, &v) ? json_object_get_int64(v) : 0;
}

/* QMP query-blockstats: the sum of every block device's rd_bytes and wr_bytes. */
static int qb_stats(struct ukd_backend *bb, const char *name, struct ukd_vm_stats *st,
                    uk_err_t *err)
{
	struct ukvmm_qmp *q = qb_qmp((struct qb *)bb, name, err);
	json_object *ret = NULL;
	int r;

	if (!q)
		return err->status == 404 ? -1 : uk_err_wrap(err, "statistics of %s", name);
	r = ukvmm_qmp_cmd(q, "query-blockstats", NULL, &ret, QMP_TIMEOUT_MS, err);
	ukvmm_qmp_close(q);
	if (r < 0)
		return uk_err_wrap(err, "statistics of %s", name);
	st->blk_read = st->blk_write = 0;
	for (size_t i = 0;
	     json_object_is_type(ret, json_type_array) && i < json_object_array_length(ret); i++) {
		json_object *s;

		if (!json_object_object_get_ex(json_object_array_get_idx(ret, i), "stats", &s))
			continue;
		st->blk_read += qb_counter(s, "rd_bytes");
		st->blk_write += qb_counter(s, "wr_bytes");
	}
	json_object_put(ret);
	return 0;
}

static const char *qb_uri(struct ukd_backend *bb)
{
	return ((struct qb *)bb)->bin;
}

static const char *qb_version(struct ukd_backend *bb)
{
	return ((struct qb *)bb)->version;
}

static const char *qb_hypervisor(struct ukd_backend *bb)
{
	return ((struct qb *)bb)->hypervisor;
}

static const struct ukd_backend_ops qb_ops = {
        .name = "qemu",
        .close = qb_close,
        .start = qb_start,
        .wait_gone = qb_wait_gone,
        .shutdown = qb_shutdown,
        .destroy = qb_destroy,
        .starting = qb_starting,
        .abort_starts = qb_abort_starts,
        .kill_guests = qb_kill_guests,
        .lookup = qb_lookup,
        .list = qb_list,
        .uri = qb_uri,
        .version = qb_version,
        .stats = qb_stats,
        .hypervisor = qb_hypervisor,
};
