/* The libvirt backend: one connection, an event loop thread, transient domains, lifecycle events.
 */
#include "backend.h"
#include "clock_sync.h"
#include "backend_xen.h"
#include "log.h"
#include "policy.h"
#include "ports.h"
#include "stop_once.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define PROBE_TIMEOUT_DEFAULT 60
#define STARTING_MAX 16

struct lv {
	struct ukd_backend base; /* first: ops */
	virConnectPtr conn;
	char uri[PATH_MAX + 64];
	char embed_root[PATH_MAX]; /* set for qemu:///embed */
	struct ukd_qemu_user qemu; /* uid -1: QEMU runs as ukd */
	char version[32];
	char hypervisor[64]; /* "Xen 4.17", "QEMU 7.2.0"; "QEMU" until the probe is done */
	int hv_known;        /* QEMU's version was asked for (under probe.lock) */
	int xen; /* libvirt's libxl driver: PVH domains, the console carries the status */
	pthread_t loop;
	int loop_started;
	volatile int quit;
	int cb_id;
	ukd_backend_stopped_fn stopped; /* stopped_once: calls (report) once a run */
	void *opaque;
	ukd_backend_stopped_fn report;
	void *report_opaque;
	struct ukd_stop_once once;
	int probe_timeout_s; /* a start waits this long for libvirt's probe of QEMU */
	/* Domains being started, so shutdown can kill a start libvirt is stuck in. */
	pthread_mutex_t start_lock;
	char starting[STARTING_MAX][32];
	int killed[STARTING_MAX]; /* the QEMU shutdown killed for that start */
	int closing;              /* ukd is shutting down: no new starts (under start_lock) */
};

/*
 * The embedded driver's qemu.conf. Every line removes work libvirt would otherwise do for each
 * start, none of which a unikernel with one console and no disks needs: no per-domain mount
 * namespace, no cgroups, no security labels or ownership changes, no virtlogd (stdio to a file).
 * QEMU runs as the daemon's user. See docs/daemon.md for the measurements. The last line adds
 * a guard: QEMU's seccomp sandbox (no execve, no setuid, no spawning; docs/security.md).
 */
static const char qemu_conf[] = "# Written by ukd at every start; edits are lost.\n"
                                "user = \"+%u\"\n"
                                "group = \"+%u\"\n"
                                "dynamic_ownership = 0\n"
                                "remember_owner = 0\n"
                                "security_driver = \"none\"\n"
                                "namespaces = [ ]\n"
                                "cgroup_controllers = [ ]\n"
                                "stdio_handler = \"file\"\n"
                                "set_process_name = 0\n"
                                "seccomp_sandbox = 1\n";

static void libvirt_silent(void *opaque, virErrorPtr e)
{
	(void)opaque;
	if (e)
		log_debug("libvirt", "%s", e->message);
}

static int lv_err(uk_err_t *err, const char *fmt, const char *arg)
{
	const char *msg = virGetLastErrorMessage();
	virErrorPtr e = virGetLastError();

	if (e && e->code == VIR_ERR_NO_DOMAIN)
		return uk_err_notfound(err, fmt, arg, msg);
	return uk_err_internal(err, fmt, arg, msg);
}
#define LV_ERR(err, what, arg) lv_err((err), what " %s: %s", (arg))

static void *backend_loop(void *p)
{
	struct lv *b = p;

	while (!b->quit)
		if (virEventRunDefaultImpl() < 0)
			log_error("backend", "libvirt event loop: %s", virGetLastErrorMessage());
	return NULL;
}

static void backend_wake(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
}

/*
 * The supervisor hears of each run's stop once: libvirt sends SHUTDOWN and then STOPPED for one
 * stop, and on Xen ukd reports the stop itself once the console is read (backend_xen.c) and its
 * destroy of the preserved domain brings one more STOPPED.
 */
static void stopped_once(void *opaque, const char *name, const char *uuid)
{
	struct lv *b = opaque;

	if (ukd_stop_once(&b->once, uuid))
		b->report(b->report_opaque, name, uuid);
	else
		log_debug("backend", "%s: run %s: its stop is reported already", name, uuid);
}

static int backend_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                             void *opaque)
{
	struct lv *b = opaque;
	const char *name = virDomainGetName(dom);
	char uuid[VIR_UUID_STRING_BUFLEN] = "";

	log_debug("backend", "domain %s event %d detail %d", name, event, detail);
	/*
	 * SHUTDOWN: the guest powered off. libvirt runs QEMU with -no-shutdown, so QEMU lingers
	 * and libvirt then kills it (on_poweroff=destroy) and polls every 200 ms until it is gone:
	 * reporting the exit at SHUTDOWN rather than STOPPED saves that much on every run.
	 */
	if ((event == VIR_DOMAIN_EVENT_SHUTDOWN || event == VIR_DOMAIN_EVENT_STOPPED) && name) {
		virDomainGetUUIDString(dom, uuid);
		/* on Xen the exit status is the console's last line: reported once it is read */
		if (b->xen && ukd_xen_console_defer_stop(name, uuid))
			return 0;
		if (b->xen) /* no console open: the stopped domain (preserved) can go */
			ukd_xen_destroy_stopped(conn, name);
		b->stopped(b->opaque, name, uuid);
	}
	return 0;
}

static int backend_pid(struct lv *b, const char *name);
/*
 * Marks (name) as starting (on) or not; its stale pid file goes first. Shutdown kills the QEMUs
 * of starting domains (ukd_backend_abort_starts). A start while ukd shuts down is refused: -1.
 */
static int backend_starting(struct lv *b, const char *name, int on)
{
	char path[PATH_MAX + 64];
	int r = 0;

	if (on && b->embed_root[0]) {
		snprintf(path, sizeof(path), "%s/run/qemu/%s.pid", b->embed_root, name);
		unlink(path);
	}
	pthread_mutex_lock(&b->start_lock);
	if (on && b->closing)
		r = -1;
	for (int i = 0; i < STARTING_MAX && !r; i++) {
		if (on && !b->starting[i][0]) {
			snprintf(b->starting[i], sizeof(b->starting[i]), "%s", name);
			b->killed[i] = 0;
			break;
		}
		if (!on && !strcmp(b->starting[i], name)) {
			b->starting[i][0] = 0;
			break;
		}
	}
	pthread_mutex_unlock(&b->start_lock);
	return r;
}

/* For qemu:///embed?root=DIR: writes DIR/etc/qemu.conf. */
/*
 * libvirt probes QEMU once per embedded root and caches the result under
 * ROOT/cache/qemu/capabilities (libvirt checks each file against the QEMU binary and itself,
 * and probes again if it is stale). The probe takes seconds, so ukd keeps a machine-wide copy:
 * seeded into a new root before connecting, refreshed after a probe. UKD_CAPS_CACHE overrides
 * the directory; an empty value turns it off.
 */
#define CAPS_CACHE_DEFAULT "/var/cache/uk/qemu-capabilities"
#define CAPS_SUB "/cache/qemu/capabilities"

static const char *caps_cache_dir(void)
{
	const char *d = getenv("UKD_CAPS_CACHE");

	return d ? d : CAPS_CACHE_DEFAULT;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, mode) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(tmp, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* Copies each *.xml of (from) missing in (to), atomically (temp file + rename). */
static void caps_copy(const char *from, const char *to, int overwrite)
{
	DIR *d = opendir(from);
	struct dirent *e;

	if (!d || mkdir_p(to, 0755) < 0) {
		if (d)
			closedir(d);
		return;
	}
	while ((e = readdir(d))) {
		char src[PATH_MAX + 256], dst[PATH_MAX + 256], tmp[PATH_MAX + 300], buf[65536];
		size_t len = strlen(e->d_name);
		int in, out, ok = 1;
		ssize_t n;

		if (len < 5 || strcmp(e->d_name + len - 4, ".xml"))
			continue;
		snprintf(src, sizeof(src), "%s/%s", from, e->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, e->d_name);
		if (!overwrite && access(dst, F_OK) == 0)
			continue;
		snprintf(tmp, sizeof(tmp), "%s.%d.tmp", dst, (int)getpid());
		if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
			close(in);
			continue;
		}
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				ok = 0;
		if (n < 0)
			ok = 0;
		close(in);
		if (close(out) < 0 || !ok || rename(tmp, dst) < 0)
			unlink(tmp);
	}
	closedir(d);
}

/* Does (pid) run the QEMU of domain (name)? (pids are reused) */
static int backend_is_qemu_of(int pid, const char *name)
{
	char path[64], cmd[8192], want[300];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	if (pid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (n = read(fd, cmd, sizeof(cmd) - 1)) <= 0)
		return 0;
	cmd[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	snprintf(want, sizeof(want), "guest=%s,", name);
	return strstr(cmd, want) != NULL;
}

/*
 * A domain whose start the previous ukd died in keeps libvirt's "start" job in its status
 * file, owned by nobody: libvirt reconnects to it but can neither finish nor destroy it ("cannot
 * acquire state change lock" after 30 s, at every start). Before connecting, ukd kills such a
 * half-started QEMU and removes its status, so libvirt never sees it: the start did not happen.
 */
static void backend_drop_interrupted_starts(struct lv *b)
{
	char dir[PATH_MAX + 16];
	DIR *dh;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/run/qemu", b->embed_root);
	if (!(dh = opendir(dir)))
		return;
	while ((e = readdir(dh))) {
		char path[PATH_MAX + 300], name[256], buf[65536];
		size_t len = strlen(e->d_name);
		_cleanup_close_ int fd = -1;
		ssize_t n;
		int pid;

		if (len < 5 || len - 4 >= sizeof(name) || strcmp(e->d_name + len - 4, ".xml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
			continue;
		buf[n] = 0;
		if (!strstr(buf, "async='start'"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 4), e->d_name);
		pid = backend_pid(b, name);
		log_warn("backend", "%s: its start was interrupted: removing it (QEMU pid %d)",
		         name, pid);
		if (backend_is_qemu_of(pid, name))
			kill(pid, SIGKILL);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.pid", dir, name);
		unlink(path);
	}
	closedir(dh);
}

static int backend_prepare_embed(struct lv *b, uk_err_t *err)
{
	const char *r = strstr(b->uri, "root=");
	char path[PATH_MAX + 32], buf[512];
	_cleanup_close_ int fd = -1;
	uid_t uid;
	gid_t gid;
	int n;

	if (!r)
		return uk_err_bad(err, "libvirt URI %s: qemu:///embed needs root=DIR", b->uri);
	snprintf(b->embed_root, sizeof(b->embed_root), "%.*s", (int)strcspn(r + 5, "&"), r + 5);
	if (geteuid() == 0 && !getpwnam("libvirt-qemu"))
		return uk_err_internal(
		        err, "libvirt's QEMU driver running as root needs the system user "
		             "libvirt-qemu: run deploy/install-deps.sh (or `useradd "
		             "--system -U -M libvirt-qemu`)");
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s%s", b->embed_root, i ? "/etc" : "");
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return uk_err_errno(err, errno, "create %s", path);
	}
	backend_drop_interrupted_starts(b);
	if (caps_cache_dir()[0]) {
		snprintf(path, sizeof(path), "%s" CAPS_SUB, b->embed_root);
		caps_copy(caps_cache_dir(), path, 0);
	}
	uid = b->qemu.uid >= 0 ? (uid_t)b->qemu.uid : getuid();
	gid = b->qemu.uid >= 0 ? (gid_t)b->qemu.gid : getgid();
	/* QEMU as another user opens files in its domain directory below the root (master key) */
	if (b->qemu.uid >= 0 && chmod(b->embed_root, 0711) < 0)
		return uk_err_errno(err, errno, "let QEMU reach %s", b->embed_root);
	snprintf(path, sizeof(path), "%s/etc/qemu.conf", b->embed_root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	n = snprintf(buf, sizeof(buf), qemu_conf, (unsigned)uid, (unsigned)gid);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		return uk_err_errno(err, errno, "write %s", path);
	return 0;
}

static int events_registered;

static void backend_events_register(void)
{
	events_registered = virEventRegisterDefaultImpl() == 0;
}

/* The default event loop must be registered before the first virConnectOpen. */
static int backend_events_init(struct lv *b, uk_err_t *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, backend_events_register);
	if (!events_registered)
		return uk_err_internal(err, "libvirt event loop: %s", virGetLastErrorMessage());
	if (pthread_create(&b->loop, NULL, backend_loop, b) != 0)
		return uk_err_internal(err, "start the libvirt event thread");
	b->loop_started = 1;
	return 0;
}

/*
 * libvirt probes the QEMU binary the first time a domain needs it (1 to 3 s here) and caches
 * the result under its root; it checks that cache (against the binary, itself and /dev/kvm) at
 * every use and probes again when it is stale. ukd makes each check on a thread of its own:
 * one right after connecting (so the first `uk run` finds the probe done or under way, without
 * delaying start-up), and one before each start, which waits for it at most probe_timeout_s.
 * A probe that hangs (a QEMU that never answers) then fails starts with an error that names
 * it, instead of holding them inside libvirt forever; virDomainCreateXML finds the cache just
 * checked. One libvirt backend per process: the state is static, so a check that outlives
 * ukd_backend_close (shutdown does not wait for it) touches no freed memory.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t done;
	int running; /* a check is under way, begun at (since) (ukd_now_ns) */
	int64_t since;
	unsigned long gen;            /* checks finished */
	int state;                    /* of the last one: UKD_PROBE_* */
	int copied;                   /* the machine-wide copy was refreshed once */
	int xen;                      /* libxl: its domain capabilities, no QEMU to probe */
	char caps_dir[PATH_MAX + 32]; /* the root's capabilities cache, "" if not embedded */
} probe = {.lock = PTHREAD_MUTEX_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static void *backend_probe_thread(void *p)
{
	virConnectPtr conn = p; /* our own reference: shutdown need not wait for the probe */
	int64_t t0 = ukd_now_ns(), ms;
	char *caps =
	        probe.xen
	                ? virConnectGetDomainCapabilities(conn, NULL, "x86_64", "xenpvh", "xen", 0)
	                : virConnectGetDomainCapabilities(conn, NULL, "x86_64", "pc", "qemu", 0);
	int copy, first;

	ms = (ukd_now_ns() - t0) / 1000000;
	pthread_mutex_lock(&probe.lock);
	probe.running = 0;
	probe.gen++;
	first = probe.gen == 1;
	probe.state = caps ? UKD_PROBE_READY : UKD_PROBE_FAILED;
	/* after the first probe, and after one that probed again (a check takes milliseconds) */
	copy = caps && probe.caps_dir[0] && caps_cache_dir()[0] && (!probe.copied || ms >= 1000);
	probe.copied |= copy;
	pthread_cond_broadcast(&probe.done);
	pthread_mutex_unlock(&probe.lock);
	if (!caps)
		log_warn("backend", "probing QEMU: %s", virGetLastErrorMessage());
	else if (first || ms >= 1000)
		log_info("backend", "QEMU capabilities ready in %lld ms", (long long)ms);
	else
		log_debug("backend", "QEMU capabilities checked in %lld ms", (long long)ms);
	if (copy)
		caps_copy(probe.caps_dir, caps_cache_dir(), 1);
	free(caps);
	virConnectClose(conn);
	return NULL;
}

/* Starts a check unless one is under way. Called with probe.lock held. */
static void backend_probe_begin_locked(struct lv *b)
{
	pthread_t t;

	if (probe.running || virConnectRef(b->conn) < 0)
		return;
	if (pthread_create(&t, NULL, backend_probe_thread, b->conn) != 0) {
		virConnectClose(b->conn);
		return;
	}
	pthread_detach(t);
	probe.running = 1;
	probe.since = ukd_now_ns();
}

/* Checks libvirt's capabilities of QEMU (probing again if stale), waiting at most until the
 * check under way has run probe_timeout_s; 503 after that, with nothing started. */
static int backend_probe_wait(struct lv *b, uk_err_t *err)
{
	int64_t deadline, ran = 0;
	unsigned long gen;

	pthread_mutex_lock(&probe.lock);
	backend_probe_begin_locked(b);
	gen = probe.gen;
	deadline = probe.since + (int64_t)b->probe_timeout_s * 1000000000;
	while (probe.running && probe.gen == gen && ukd_now_ns() < deadline &&
	       !__atomic_load_n(&b->closing, __ATOMIC_RELAXED)) {
		int64_t until = ukd_now_ns() + 100000000; /* CLOCK_REALTIME, as the cond's */
		struct timespec ts = {until / 1000000000, until % 1000000000};
		pthread_cond_timedwait(&probe.done, &probe.lock, &ts);
	}
	if (probe.running && probe.gen == gen)
		ran = (ukd_now_ns() - probe.since) / 1000000000;
	pthread_mutex_unlock(&probe.lock);
	if (__atomic_load_n(&b->closing, __ATOMIC_RELAXED))
		return uk_err_set(
		        err, 503, "unavailable",
		        "start: interrupted while libvirt probed QEMU: ukd is shutting down");
	if (ran)
		return uk_err_set(err, 503, "unavailable",
		                  "libvirt did not finish probing QEMU within %d s (its probe has "
		                  "run %lld s): QEMU does not answer libvirt's probe; see "
		                  "libvirt.log under ukd's root, stop the hung qemu-system process "
		                  "or restart ukd (the limit is daemon.json's "
		                  "backend-limits.probe-timeout-s)",
		                  b->probe_timeout_s, (long long)ran);
	return 0;
}

static const char *lv_probe_state(struct ukd_backend *bb, int64_t *since_ns)
{
	const char *s;

	(void)bb;
	pthread_mutex_lock(&probe.lock);
	*since_ns = probe.since;
	s = probe.running                     ? "probing"
	    : probe.state == UKD_PROBE_READY  ? "ready"
	    : probe.state == UKD_PROBE_FAILED ? "failed"
	                                      : "unknown";
	pthread_mutex_unlock(&probe.lock);
	return s;
}

static void lv_set_probe_timeout(struct ukd_backend *bb, int seconds)
{
	((struct lv *)bb)->probe_timeout_s = seconds > 0 ? seconds : PROBE_TIMEOUT_DEFAULT;
}

static const struct ukd_backend_ops lv_ops;
static void lv_close(struct ukd_backend *bb);

struct ukd_backend *ukd_backend_open(const char *uri, const struct ukd_qemu_user *qemu,
                                     ukd_backend_stopped_fn stopped, void *opaque, uk_err_t *err)
{
	struct lv *b = calloc(1, sizeof(*b));
	unsigned long ver = 0;
	int64_t t0 = ukd_now_ns();

	if (!b) {
		uk_err_errno(err, ENOMEM, "libvirt");
		return NULL;
	}
	b->base.ops = &lv_ops;
	snprintf(b->uri, sizeof(b->uri), "%s", uri);
	b->qemu = qemu ? *qemu : (struct ukd_qemu_user){-1, -1};
	b->report = stopped;
	b->report_opaque = opaque;
	b->stopped = stopped_once;
	b->opaque = b;
	ukd_stop_once_init(&b->once);
	b->cb_id = -1;
	b->xen = ukd_xen_uri(uri);
	pthread_mutex_init(&b->start_lock, NULL);
	b->probe_timeout_s = PROBE_TIMEOUT_DEFAULT;
	virSetErrorFunc(NULL, libvirt_silent);
	if ((!strncmp(uri, "qemu:///embed", 13) && backend_prepare_embed(b, err) < 0) ||
	    backend_events_init(b, err) < 0)
		goto fail;
	b->conn = virConnectOpen(uri);
	if (!b->conn) {
		LV_ERR(err, "connect to libvirt", uri);
		goto fail;
	}
	b->cb_id = virConnectDomainEventRegisterAny(b->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	                                            VIR_DOMAIN_EVENT_CALLBACK(backend_lifecycle), b,
	                                            NULL);
	if (b->cb_id < 0) {
		LV_ERR(err, "libvirt domain events on", uri);
		goto fail;
	}
	virConnectGetLibVersion(b->conn, &ver);
	snprintf(b->version, sizeof(b->version), "%lu.%lu.%lu", ver / 1000000, ver / 1000 % 1000,
	         ver % 1000);
	/* QEMU's version needs its capabilities: a probe that may hang (a broken QEMU), which
	 * must never hold up ukd's start, so it is read once the background probe is done
	 * (lv_hypervisor). libvirt's libxl driver knows Xen's major.minor at once. */
	ver = 0;
	if (b->xen && virConnectGetVersion(b->conn, &ver) == 0)
		snprintf(b->hypervisor, sizeof(b->hypervisor), "Xen %lu.%lu", ver / 1000000,
		         ver / 1000 % 1000);
	else
		snprintf(b->hypervisor, sizeof(b->hypervisor), b->xen ? "Xen" : "QEMU");
	log_info("backend", "connected to %s (libvirt %s) in %lld ms", uri, b->version,
	         (long long)((ukd_now_ns() - t0) / 1000000));
	pthread_mutex_lock(&probe.lock);
	probe.xen = b->xen;
	if (b->embed_root[0])
		snprintf(probe.caps_dir, sizeof(probe.caps_dir), "%s" CAPS_SUB, b->embed_root);
	backend_probe_begin_locked(b);
	pthread_mutex_unlock(&probe.lock);
	return &b->base;
fail:
	lv_close(&b->base);
	return NULL;
}

static void lv_close(struct ukd_backend *bb)
{
	struct lv *b = (struct lv *)bb;

	if (b->conn && b->cb_id >= 0)
		virConnectDomainEventDeregisterAny(b->conn, b->cb_id);
	if (b->conn)
		virConnectClose(b->conn); /* the consoles' streams hold it until they are freed */
	b->quit = 1;
	if (b->loop_started) {
		virEventAddTimeout(0, backend_wake, NULL, NULL);
		pthread_join(b->loop, NULL);
	}
	if (b->xen) /* no stream callback runs any more */
		ukd_xen_console_close_all();
	pthread_mutex_destroy(&b->start_lock);
	pthread_mutex_destroy(&b->once.lock);
	free(b);
}

/* Appends (s) XML-escaped to (out). */
static void xml_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

/* Guest PCI slots, pinned so the guest finds NICs in order, then disks (vm.h): libvirt would
 * place its <devices> before the <qemu:commandline> ones whatever their order. */
#define SLOT_NIC 0x08
#define SLOT_DISK 0x10

static void xml_pci_address(FILE *f, int slot)
{
	fprintf(f,
	        "      <address type='pci' domain='0x0000' bus='0x00' slot='0x%02x' "
	        "function='0x0'/>\n",
	        slot);
}

/* <qemu:commandline> for the user NICs: QEMU's own -netdev user with hostfwd rules. */
static void xml_user_nics(FILE *f, const struct ukd_vm *vm)
{
	for (int i = 0; i < vm->n_nics; i++) {
		const struct ukd_nic *n = &vm->nics[i];
		size_t len = (size_t)n->n_fwds * 64 + 64;
		_cleanup_free_ char *netdev = malloc(len);
		char id[16];

		if (n->kind != UKD_NIC_USER || !netdev)
			continue;
		/* the first keeps the id it always had */
		snprintf(id, sizeof(id), i ? UKD_NETDEV_ID "_%d" : UKD_NETDEV_ID, i);
		if (ukd_ports_netdev_arg(id, n->fwds, n->n_fwds, netdev, len, NULL) < 0)
			continue; /* cannot happen: (len) fits every rule */
		fputs("    <qemu:arg value='-netdev'/>\n    <qemu:arg value='", f);
		xml_escape(f, netdev);
		fprintf(f,
		        "'/>\n    <qemu:arg value='-device'/>\n"
		        "    <qemu:arg value='virtio-net-pci,netdev=%s,romfile=,addr=0x%02x,mac=",
		        id, SLOT_NIC + i);
		xml_escape(f, n->mac[0] ? n->mac : "52:54:00:12:34:56");
		fputs("'/>\n", f);
	}
}

/* The domain's name (after "<name>"), memory and vCPUs. */
static void xml_name_size(FILE *f, const struct ukd_vm *vm)
{
	xml_escape(f, vm->name);
	fprintf(f, "</name>\n  <memory unit='KiB'>%llu</memory>\n  <vcpu>%u</vcpu>\n",
	        (unsigned long long)(vm->memory / 1024), vm->vcpus ? vm->vcpus : 1);
}

/* The kernel's path (after "<kernel>") and its command line, up to the end of the line. */
static void xml_kernel(FILE *f, const struct ukd_vm *vm)
{
	xml_escape(f, vm->kernel);
	fputs("</kernel>\n    <cmdline>", f);
	xml_escape(f, vm->cmdline);
	fputs("</cmdline>\n", f);
}

static void xml_devices(FILE *f, const struct ukd_vm *vm)
{
	for (int i = 0; i < vm->n_nics; i++) {
		const struct ukd_nic *n = &vm->nics[i];

		if (n->kind != UKD_NIC_TAP)
			continue;
		/* a tap ukd made (daemon/network.h): libvirt opens it, never creates or removes it
		 */
		fputs("    <interface type='ethernet'>\n      <mac address='", f);
		xml_escape(f, n->mac);
		fputs("'/>\n      <target dev='", f);
		xml_escape(f, n->tap);
		fputs("' managed='no'/>\n      <model type='virtio'/>\n"
		      "      <rom enabled='no'/>\n",
		      f);
		/* vhost-net where it opens (KVM only: it needs ioeventfd and irqfd); libvirt would
		 * pick it by itself, but asked for it fails loudly instead of falling back */
		if (vm->vhost_net && vm->accel == UKD_VM_KVM)
			fputs("      <driver name='vhost'/>\n", f);
		xml_pci_address(f, SLOT_NIC + i);
		fputs("    </interface>\n", f);
	}
	for (int i = 0; i < vm->n_disks; i++) {
		const struct ukd_disk *k = &vm->disks[i];

		/* raw, no format probing; vda, vdb, ... in order */
		fputs("    <disk type='file' device='disk'>\n"
		      "      <driver name='qemu' type='raw'/>\n      <source file='",
		      f);
		xml_escape(f, k->path);
		fprintf(f, "'/>\n      <target dev='vd%c' bus='virtio'/>\n%s", 'a' + i,
		        k->read_only ? "      <readonly/>\n" : "");
		xml_pci_address(f, SLOT_DISK + i);
		fputs("    </disk>\n", f);
	}
}

char *ukd_backend_domain_xml(const struct ukd_vm *vm)
{
	char *xml = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&xml, &len);
	int user = 0;

	if (!f)
		return NULL;
	for (int i = 0; i < vm->n_nics; i++)
		user |= vm->nics[i].kind == UKD_NIC_USER;
	/* The qemu namespace only when needed: libvirt marks such domains tainted. */
	fprintf(f, "<domain type='%s'%s>\n  <name>", vm->accel == UKD_VM_KVM ? "kvm" : "qemu",
	        user || vm->gdb ? " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" : "");
	xml_name_size(f, vm);
	fputs("  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n"
	      "    <loader type='rom'>/usr/share/qemu/qboot.rom</loader>\n    <kernel>",
	      f);
	xml_kernel(f, vm);
	fputs("  </os>\n  <features><acpi/></features>\n", f);
	fputs("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n"
	      "  <on_crash>destroy</on_crash>\n  <devices>\n"
	      "    <controller type='usb' model='none'/>\n"
	      "    <serial type='file'><source path='",
	      f);
	xml_escape(f, vm->console_log);
	fputs("' append='on'/><target port='0'/></serial>\n    <serial type='file'><source path='",
	      f);
	xml_escape(f, vm->status_log);
	fputs("' append='on'/><target port='1'/></serial>\n", f);
	if (vm->clock_pipe) { /* COM3: the host's time record, written before the resume */
		fputs("    <serial type='pipe'><source path='", f);
		xml_escape(f, vm->clock_pipe);
		fputs("'/><target port='2'/></serial>\n", f);
	}
	xml_devices(f, vm);
	fputs("    <memballoon model='none'/>\n  </devices>\n", f);
	/*
	 * libvirt 9.0's <interface type='user'> takes <portForward> only with the passt backend,
	 * which it rejects here (docs/networking.md): QEMU's own user networking with hostfwd
	 * rules is passed through as the narrowest escape, two arguments. romfile= skips the
	 * PXE option ROM nobody boots from.
	 */
	if (user || vm->gdb) {
		fputs("  <qemu:commandline>\n", f);
		xml_user_nics(f, vm);
		if (vm->gdb) { /* QEMU's gdb stub: libvirt has no element for it */
			fputs("    <qemu:arg value='-gdb'/>\n    <qemu:arg value='", f);
			xml_escape(f, vm->gdb);
			fputs("'/>\n", f);
		}
		fputs("  </qemu:commandline>\n", f);
	}
	fputs("</domain>\n", f);
	if (fclose(f) != 0) {
		free(xml);
		return NULL;
	}
	return xml;
}

/* The Xen guest's devices: each uk network's NIC, a vif on its bridge (libxl's vif-bridge
 * script names it as ukd would name the tap), then each volume, a blkback disk xvda, xvdb, ...
 * on a loop device of the image file (libxl's block script; at most UKD_MOUNTS_MAX, 8). */
static void xml_xen_devices(FILE *f, const struct ukd_vm *vm)
{
	for (int i = 0; i < vm->n_nics; i++) {
		const struct ukd_nic *n = &vm->nics[i];

		if (n->kind == UKD_NIC_USER)
			continue; /* an EXPOSEd port with nothing published: no NIC on Xen */
		fputs("    <interface type='bridge'>\n      <mac address='", f);
		xml_escape(f, n->mac);
		fputs("'/>\n      <source bridge='", f);
		xml_escape(f, n->bridge);
		fputs("'/>\n      <target dev='", f);
		xml_escape(f, n->tap);
		fputs("'/>\n      <model type='netfront'/>\n    </interface>\n", f);
	}
	for (int i = 0; i < vm->n_disks; i++) {
		fputs("    <disk type='file' device='disk'>\n"
		      "      <driver name='phy' type='raw'/>\n      <source file='",
		      f);
		xml_escape(f, vm->disks[i].path);
		fprintf(f, "'/>\n      <target dev='xvd%c' bus='xen'/>\n%s    </disk>\n", 'a' + i,
		        vm->disks[i].read_only ? "      <readonly/>\n" : "");
	}
}

/*
 * A PVH domain for libvirt's libxl driver (docs/xen.md): the kernel and its command line, one
 * PV console (xenconsoled's pty, read through libvirt), the uk networks' vifs and the volumes'
 * disks. The instance's console and status files go into the metadata, for a ukd that attaches
 * again after a restart.
 */
char *ukd_backend_xen_domain_xml(const struct ukd_vm *vm, uk_err_t *err)
{
	char *xml = NULL;
	size_t len = 0;
	FILE *f;

	/* QEMU's user networking (slirp's hostfwd) has no Xen counterpart */
	for (int i = 0; i < vm->n_nics; i++)
		if (vm->nics[i].kind == UKD_NIC_USER && vm->nics[i].n_fwds) {
			uk_err_set(err, 400, "unsupported",
			           "%s: on Xen, published ports (-p) and health checks over the "
			           "network need a uk network (Xen has no user networking): uk "
			           "network create NET, then run it with --network NET",
			           vm->name);
			return NULL;
		}
	if (vm->gdb) {
		uk_err_set(err, 400, "unsupported",
		           "%s: gdb stubs are not supported on Xen: run it without --gdb",
		           vm->name);
		return NULL;
	}
	if (!(f = open_memstream(&xml, &len)))
		return NULL;
	fputs("<domain type='xen'>\n  <name>", f);
	xml_name_size(f, vm);
	fputs("  <metadata>\n    <uk:files xmlns:uk='" UKD_XEN_META_URI "' console='", f);
	xml_escape(f, vm->console_log);
	fputs("' status='", f);
	xml_escape(f, vm->status_log);
	fputs("'/>\n  </metadata>\n"
	      "  <os>\n    <type arch='x86_64' machine='xenpvh'>xenpvh</type>\n    <kernel>",
	      f);
	xml_kernel(f, vm);
	/* preserved when it stops: ukd ends its console, then destroys it (backend_xen.c) */
	fputs("  </os>\n"
	      "  <on_poweroff>preserve</on_poweroff>\n  <on_reboot>preserve</on_reboot>\n"
	      "  <on_crash>preserve</on_crash>\n  <devices>\n"
	      "    <console type='pty'><target type='xen' port='0'/></console>\n",
	      f);
	xml_xen_devices(f, vm);
	fputs("  </devices>\n</domain>\n", f);
	if (fclose(f) != 0) {
		free(xml);
		return NULL;
	}
	return xml;
}

static int backend_pid(struct lv *b, const char *name)
{
	char path[PATH_MAX + 64], buf[32] = {0};
	_cleanup_close_ int fd = -1;

	if (!b->embed_root[0])
		return 0;
	snprintf(path, sizeof(path), "%s/run/qemu/%s.pid", b->embed_root, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return 0;
	return atoi(buf);
}

/*
 * The previous run of an instance may still be going away (see backend_lifecycle: its exit is
 * reported when the guest powers off, libvirt tears QEMU down ~200 ms later). Destroys it if
 * it is still active and waits until libvirt has forgotten it, so the name is free.
 */
static int lv_wait_gone(struct ukd_backend *bb, const char *name, uk_err_t *err)
{
	struct lv *b = (struct lv *)bb;
	int64_t deadline = ukd_now_ns() + 10LL * 1000000000;

	for (;;) {
		virDomainPtr dom;
		if (b->xen) /* its console first (backend_xen.c) */
			ukd_xen_console_end(name);
		if (!(dom = virDomainLookupByName(b->conn, name)))
			return 0;
		if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0)
			log_debug("backend", "destroy %s: %s", name, virGetLastErrorMessage());
		virDomainFree(dom);
		if (ukd_now_ns() > deadline)
			return uk_err_conflict(
			        err,
			        "domain %s from the previous run is still going away "
			        "after 10 s: try again",
			        name);
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
}

int ukd_xen_xml_holds_file(const char *xml, const char *path, int read_only)
{
	_cleanup_free_ char *pat = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&pat, &len);

	if (!f)
		return 0;
	fputs("<source file='", f); /* libvirt's quotes and entities, as xml_escape's */
	xml_escape(f, path);
	fputc('\'', f);
	if (fclose(f) != 0)
		return 0;
	for (const char *p = strstr(xml, pat); p; p = strstr(p + 1, pat)) {
		const char *end = strstr(p, "</disk>");
		/* libvirt writes <readonly/> after <source> and <target> */
		if (!read_only ||
		    !memmem(p, end ? (size_t)(end - p) : strlen(p), "<readonly/>", 11))
			return 1;
	}
	return 0;
}

/*
 * Xen: ukd reports a guest's exit before libxl has torn its domain down (its devices' hotplug
 * scripts run last, seconds under TCG), so a volume's previous guest, another instance, may
 * still hold the file on a loop device, which libxl's block script refuses to share with a
 * writer. Waits until no other domain has one of (vm)'s disk files in a conflicting mode, at
 * most 30 s (then libxl's own error says what holds it).
 */
static void xen_wait_disks_free(struct lv *b, const struct ukd_vm *vm)
{
	int64_t deadline = ukd_now_ns() + 30LL * 1000000000;

	while (vm->n_disks) {
		virDomainPtr *doms = NULL;
		int n = virConnectListAllDomains(b->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
		const char *busy = NULL;

		for (int i = 0; i < n; i++) {
			char *x = busy || !strcmp(virDomainGetName(doms[i]), vm->name)
			                  ? NULL
			                  : virDomainGetXMLDesc(doms[i], 0);
			for (int k = 0; x && k < vm->n_disks && !busy; k++)
				if (ukd_xen_xml_holds_file(x, vm->disks[k].path,
				                           vm->disks[k].read_only))
					busy = vm->disks[k].path;
			free(x);
			virDomainFree(doms[i]);
		}
		free(doms);
		if (!busy || ukd_now_ns() > deadline)
			return;
		log_debug("backend", "%s: waiting for another domain to let go of %s", vm->name,
		          busy);
		nanosleep(&(struct timespec){0, 100000000}, NULL);
	}
}

static int lv_start(struct ukd_backend *bb, const struct ukd_vm *vm, struct ukd_domain_info *info,
                    uk_err_t *err)
{
	struct lv *b = (struct lv *)bb;
	_cleanup_free_ char *xml =
	        b->xen ? ukd_backend_xen_domain_xml(vm, err) : ukd_backend_domain_xml(vm);
	virDomainPtr dom;
	int64_t t0 = ukd_now_ns();

	if (!xml)
		return b->xen && err->status ? -1 : uk_err_errno(err, ENOMEM, "domain XML");
	if (!b->xen && ukd_backend_check_accel(vm, err) < 0)
		return -1;
	if (backend_probe_wait(b, err) < 0 || lv_wait_gone(bb, vm->name, err) < 0)
		return -1;
	if (b->xen)
		xen_wait_disks_free(b, vm);
	/*
	 * Created paused, then resumed: a guest that exits within a few ms of `cont` (hello under
	 * TCG does) makes libvirt kill QEMU (on_poweroff=destroy) while virDomainCreateXML still
	 * waits for the reply to `cont`, and the create then fails although the guest ran. A
	 * resume that fails that way is recognized by the exit status the guest left behind.
	 */
	if (backend_starting(b, vm->name, 1) < 0)
		return uk_err_set(err, 503, UKD_VM_ERR_UNAVAILABLE,
		                  "start domain %s: ukd is shutting down", vm->name);
	dom = virDomainCreateXML(b->conn, xml, VIR_DOMAIN_START_PAUSED);
	/* libvirt can still hold the previous run's transient domain for a moment after the
	 * lookup above missed it (seen in CI under load): wait it out and try again. */
	for (int tries = 0; !dom && tries < 3 && strstr(virGetLastErrorMessage(), "already exists");
	     tries++) {
		if (lv_wait_gone(bb, vm->name, err) < 0)
			break;
		nanosleep(&(struct timespec){0, 50000000}, NULL);
		dom = virDomainCreateXML(b->conn, xml, VIR_DOMAIN_START_PAUSED);
	}
	backend_starting(b, vm->name, 0);
	if (!dom && __atomic_load_n(&b->closing, __ATOMIC_RELAXED))
		return uk_err_set(err, 503, UKD_VM_ERR_UNAVAILABLE,
		                  "start domain %s: interrupted: ukd is shutting down", vm->name);
	if (!dom) {
		/* a published port taken since ukd checked it; memory QEMU could not map */
		if (ukd_backend_qemu_error(virGetLastErrorMessage(), vm, err) < 0)
			return -1;
		return LV_ERR(err, "start domain", vm->name);
	}
	memset(info, 0, sizeof(*info));
	virDomainGetUUIDString(dom, info->uuid);
	info->pid = backend_pid(b, vm->name);
	/* Xen: the console (output and exit status) is read from before the guest runs */
	if (b->xen && ukd_xen_console_open(b->conn, dom, vm->console_log, vm->status_log,
	                                   b->stopped, b->opaque, err) < 0) {
		virDomainDestroy(dom);
		virDomainFree(dom);
		return -1;
	}
	/* the host's time for the guest's clock, as close to the resume as can be */
	if (vm->clock_pipe && !b->xen && !vm->gdb)
		ukd_clock_pipe_send(vm->clock_pipe, vm->name);
	/* with a gdb stub the guest stays paused: gdb's `continue` runs it */
	if (!vm->gdb && virDomainResume(dom) < 0) {
		if (ukd_policy_read_status(vm->status_log) < 0) {
			LV_ERR(err, "resume domain", vm->name);
			virDomainDestroy(dom);
			virDomainFree(dom);
			return -1;
		}
		log_debug("backend", "%s exited while resuming", vm->name);
	}
	virDomainFree(dom);
	log_info("backend", "started %s (%s) in %lld ms", vm->name,
	         b->xen                    ? "xen pvh"
	         : vm->accel == UKD_VM_KVM ? "kvm"
	                                   : "qemu",
	         (long long)((ukd_now_ns() - t0) / 1000000));
	return 0;
}

static int backend_with_domain(struct lv *b, const char *name, const char *what,
                               int (*fn)(virDomainPtr), uk_err_t *err)
{
	virDomainPtr dom = virDomainLookupByName(b->conn, name);
	int r;

	if (!dom)
		return LV_ERR(err, "look up domain", name);
	r = fn(dom);
	if (r < 0)
		lv_err(err, what, name);
	virDomainFree(dom);
	return r < 0 ? -1 : 0;
}

/* Kills (name)'s QEMU by its pid file, if that pid still runs it and is not (done); its pid if
 * it did, else 0. */
static int backend_kill_qemu(struct lv *b, const char *name, int done)
{
	int pid = backend_pid(b, name);

	if (pid == done || !backend_is_qemu_of(pid, name) || kill(pid, SIGKILL) < 0)
		return 0;
	log_warn("backend", "%s: killed its QEMU (pid %d): ukd is shutting down", name, pid);
	return pid;
}

/*
 * libvirt's probes of QEMU for this root (-machine none, their QMP socket under the root): a
 * start waits on one, and one left behind by ukd's exit would sit paused forever.
 */
static int backend_kill_probes(struct lv *b)
{
	char want[PATH_MAX + 8];
	DIR *proc = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!proc || !b->embed_root[0]) {
		if (proc)
			closedir(proc);
		return 0;
	}
	snprintf(want, sizeof(want), "%s/", b->embed_root);
	while ((e = readdir(proc))) {
		char path[300], cmd[8192];
		_cleanup_close_ int fd = -1;
		int pid = atoi(e->d_name);
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if (pid <= 1 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    (len = read(fd, cmd, sizeof(cmd) - 1)) <= 0)
			continue;
		cmd[len] = 0;
		if (!strstr(cmd, "qemu-system") || !memmem(cmd, (size_t)len, "-machine\0none", 13))
			continue;
		for (ssize_t i = 0; i < len; i++)
			cmd[i] = cmd[i] ? cmd[i] : ' ';
		if (!strstr(cmd, want) || kill(pid, SIGKILL) < 0)
			continue;
		log_warn("backend", "killed libvirt's probe of QEMU (pid %d): ukd is shutting down",
		         pid);
		n++;
	}
	closedir(proc);
	return n;
}

static int lv_starting(struct ukd_backend *bb)
{
	struct lv *b = (struct lv *)bb;
	int n = 0;

	if (!b)
		return 0;
	pthread_mutex_lock(&b->start_lock);
	for (int i = 0; i < STARTING_MAX; i++)
		n += b->starting[i][0] != 0;
	pthread_mutex_unlock(&b->start_lock);
	return n;
}

/*
 * A start libvirt is stuck in (a QEMU that never answers its monitor) holds its HTTP request,
 * its instance and libvirt's job on the domain for as long as libvirt waits. Its QEMU is killed
 * instead, and so is a probe of QEMU it waits on: libvirt's wait ends with the start failed,
 * and the start did not happen.
 */
static int lv_abort_starts(struct ukd_backend *bb)
{
	struct lv *b = (struct lv *)bb;
	int n = 0, first, starts = 0;

	if (!b)
		return 0;
	pthread_mutex_lock(&b->start_lock);
	first = !b->closing;
	b->closing = 1;
	for (int i = 0; i < STARTING_MAX; i++) {
		int pid =
		        b->starting[i][0] ? backend_kill_qemu(b, b->starting[i], b->killed[i]) : 0;
		starts += b->starting[i][0] != 0;
		if (pid) {
			b->killed[i] = pid;
			n++;
		}
	}
	pthread_mutex_unlock(&b->start_lock);
	/* a walk through /proc: the first time (the warm-up's probe), then while a start waits */
	if (first || starts)
		n += backend_kill_probes(b);
	return n;
}

static void lv_kill_guests(struct ukd_backend *bb)
{
	struct lv *b = (struct lv *)bb;
	char dir[PATH_MAX + 16];
	struct dirent *e;
	DIR *dh;

	if (!b || !b->embed_root[0])
		return;
	snprintf(dir, sizeof(dir), "%s/run/qemu", b->embed_root);
	if (!(dh = opendir(dir)))
		return;
	while ((e = readdir(dh))) {
		char name[256];
		size_t len = strlen(e->d_name);

		if (len < 5 || len - 4 >= sizeof(name) || strcmp(e->d_name + len - 4, ".pid"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 4), e->d_name);
		backend_kill_qemu(b, name, 0);
	}
	closedir(dh);
}

static int lv_shutdown(struct ukd_backend *bb, const char *name, uk_err_t *err)
{
	struct lv *b = (struct lv *)bb;
	return backend_with_domain(b, name, "shut down domain %s: %s", virDomainShutdown, err);
}

static int lv_destroy(struct ukd_backend *bb, const char *name, uk_err_t *err)
{
	struct lv *b = (struct lv *)bb;

	/* Xen: its console first (backend_xen.c); a stopped domain went with it */
	if (b->xen && ukd_xen_console_end(name))
		return 0;
	return backend_with_domain(b, name, "destroy domain %s: %s", virDomainDestroy, err);
}

static int lv_lookup(struct ukd_backend *bb, const char *name, struct ukd_domain_info *info,
                     uk_err_t *err)
{
	struct lv *b = (struct lv *)bb;
	virDomainPtr dom = virDomainLookupByName(b->conn, name);
	int st = 0, reason, active;

	memset(info, 0, sizeof(*info));
	if (!dom) {
		virErrorPtr e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_DOMAIN)
			return b->xen && ukd_xen_console_draining(name); /* its end is not in yet */
		return LV_ERR(err, "look up domain", name);
	}
	active = virDomainGetState(dom, &st, &reason, 0) == 0 && st != VIR_DOMAIN_SHUTOFF;
	/* Xen: a domain that stopped is kept until its console is read to its end (the exit
	 * status), by this ukd (draining) or, if it stopped while no ukd ran, after attaching */
	if (b->xen && !active && virDomainIsActive(dom) == 1) {
		uk_err_t e = {0};
		virDomainGetUUIDString(dom, info->uuid);
		active = ukd_xen_console_draining(name) ||
		         (ukd_xen_console_reattach(b->conn, dom, b->stopped, b->opaque, &e) == 0 &&
		          ukd_xen_console_defer_stop(name, info->uuid));
		if (!active) {
			if (e.message[0])
				log_warn("backend", "%s: %s", name, e.message);
			ukd_xen_destroy_stopped(b->conn, name);
		}
		virDomainFree(dom);
		return active;
	}
	if (active) {
		virDomainGetUUIDString(dom, info->uuid);
		info->pid = backend_pid(b, name);
		info->paused = st == VIR_DOMAIN_PAUSED;
	}
	/* a guest a previous ukd started: its console is read again (what it wrote meanwhile is
	 * in xenconsoled's buffer) */
	if (b->xen && active && !info->paused) {
		uk_err_t e = {0};
		if (ukd_xen_console_reattach(b->conn, dom, b->stopped, b->opaque, &e) < 0)
			log_warn("backend", "%s: %s", name, e.message);
	}
	virDomainFree(dom);
	return active;
}

static char **lv_list(struct ukd_backend *bb, const char *prefix, uk_err_t *err)
{
	struct lv *b = (struct lv *)bb;
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(b->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	char **names;
	int k = 0;

	if (n < 0) {
		LV_ERR(err, "list domains on", b->uri);
		return NULL;
	}
	names = calloc((size_t)n + 1, sizeof(*names));
	for (int i = 0; i < n; i++) {
		const char *nm = virDomainGetName(doms[i]);
		if (names && nm && !strncmp(nm, prefix, strlen(prefix)))
			names[k++] = strdup(nm);
		virDomainFree(doms[i]);
	}
	free(doms);
	return names;
}

static const char *lv_uri(struct ukd_backend *bb)
{
	return ((struct lv *)bb)->uri;
}

static const char *lv_version(struct ukd_backend *bb)
{
	return ((struct lv *)bb)->version;
}

/* libvirt's bulk stats of one domain: the sum of its disks' "block.N.rd/wr.bytes". */
static int lv_stats(struct ukd_backend *bb, const char *name, struct ukd_vm_stats *st,
                    uk_err_t *err)
{
	struct lv *b = (struct lv *)bb;
	virDomainPtr doms[2] = {virDomainLookupByName(b->conn, name), NULL};
	virDomainStatsRecordPtr *recs = NULL;
	int n;

	if (!doms[0]) {
		virErrorPtr e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_DOMAIN)
			return uk_err_notfound(err, "guest %s is not running", name);
		return LV_ERR(err, "look up domain", name);
	}
	if (b->xen) { /* no QEMU to read: libxl's domain info (its vCPUs' time, its memory) */
		virDomainInfo di;
		n = virDomainGetInfo(doms[0], &di);
		/* its disks' blkback counters ("--" when they cannot be read) */
		if (n == 0 && ukd_xen_block_stats(doms[0], st) < 0)
			log_debug("backend", "%s: block statistics: %s", name,
			          virGetLastErrorMessage());
		virDomainFree(doms[0]);
		if (n < 0)
			return LV_ERR(err, "read the domain information of", name);
		st->cpu_ns = (int64_t)di.cpuTime;
		st->mem = (int64_t)di.memory * 1024;
		return 0;
	}
	n = virDomainListGetStats(doms, VIR_DOMAIN_STATS_BLOCK, &recs, 0);
	virDomainFree(doms[0]);
	if (n < 0)
		return LV_ERR(err, "read the block statistics of", name);
	st->blk_read = st->blk_write = 0;
	for (int i = 0; n > 0 && i < recs[0]->nparams; i++) {
		const virTypedParameter *p = &recs[0]->params[i];
		size_t len = strlen(p->field);

		if (strncmp(p->field, "block.", 6) || p->type != VIR_TYPED_PARAM_ULLONG || len < 9)
			continue;
		if (!strcmp(p->field + len - 9, ".rd.bytes"))
			st->blk_read += (int64_t)p->value.ul;
		else if (!strcmp(p->field + len - 9, ".wr.bytes"))
			st->blk_write += (int64_t)p->value.ul;
	}
	virDomainStatsRecordListFree(recs);
	return 0;
}

static const char *lv_hypervisor(struct ukd_backend *bb)
{
	struct lv *b = (struct lv *)bb;
	unsigned long ver = 0;
	int ready;

	pthread_mutex_lock(&probe.lock);
	ready = !b->xen && !b->hv_known && !probe.running && probe.state == UKD_PROBE_READY;
	b->hv_known |= ready; /* one thread asks libvirt; the others say "QEMU" meanwhile */
	pthread_mutex_unlock(&probe.lock);
	if (ready && virConnectGetVersion(b->conn, &ver) == 0 && ver) {
		snprintf(b->hypervisor, sizeof(b->hypervisor), "QEMU %lu.%lu.%lu", ver / 1000000,
		         ver / 1000 % 1000, ver % 1000);
	} else if (ready) { /* asked again next time: "QEMU" alone meanwhile */
		pthread_mutex_lock(&probe.lock);
		b->hv_known = 0;
		pthread_mutex_unlock(&probe.lock);
	}
	return b->hypervisor;
}

static const struct ukd_backend_ops lv_ops = {
        .name = "libvirt",
        .close = lv_close,
        .start = lv_start,
        .wait_gone = lv_wait_gone,
        .shutdown = lv_shutdown,
        .destroy = lv_destroy,
        .starting = lv_starting,
        .abort_starts = lv_abort_starts,
        .kill_guests = lv_kill_guests,
        .lookup = lv_lookup,
        .list = lv_list,
        .set_probe_timeout = lv_set_probe_timeout,
        .probe_state = lv_probe_state,
        .uri = lv_uri,
        .version = lv_version,
        .stats = lv_stats,
        .hypervisor = lv_hypervisor,
};
