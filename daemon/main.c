/* ukd's entry point: configuration, subsystems up in order, signals, and an orderly shutdown. */
#include "accel.h"
#include "backend.h"
#include "backends.h"
#include "config.h"
#include "events.h"
#include "http.h"
#include "image_jobs.h"
#include "log.h"
#include "instances.h"
#include "logs.h"
#include "reaper.h"
#include "qemu_user.h"
#include "network.h"
#include "recovery.h"
#include "routes.h"
#include "store.h"
#include "supervisor.h"
#include "health.h"

#include <curl/curl.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <uk/images.h>

/* Finds ukcc beside this executable: build/bin/ukd → build/bin/ukcc, PREFIX/bin/ukd → ... */
static int main_find_ukcc(struct ukd *d, uk_err_t *err)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return uk_err_errno(err, errno, "readlink /proc/self/exe");
	exe[n] = 0;
	snprintf(d->bindir, sizeof(d->bindir), "%s", dirname(exe));
	snprintf(d->ukcc, sizeof(d->ukcc), "%s/ukcc", d->bindir);
	if (access(d->ukcc, X_OK) < 0)
		log_warn("main", "%s: %s; image builds will fail until it exists", d->ukcc,
		         strerror(errno));
	return 0;
}

static int main_make_dirs(struct ukd *d, uk_err_t *err)
{
	static const char *const subs[] = {"", "/tmp", "/instances", NULL};
	char path[PATH_MAX + 16];

	for (int i = 0; subs[i]; i++) {
		snprintf(path, sizeof(path), "%s%s", d->cfg.root, subs[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return uk_err_errno(err, errno, "create %s", path);
	}
	return 0;
}

static void main_accel(struct ukd *d)
{
	ukd_accel_detect(d->accel_type, d->accel_reason, sizeof(d->accel_reason));
	if (!strcmp(d->cfg.accelerator, "kvm")) {
		snprintf(d->accel_type, sizeof(d->accel_type), "kvm");
		snprintf(d->accel_reason, sizeof(d->accel_reason), "kvm: set by --accelerator");
	} else if (!strcmp(d->cfg.accelerator, "tcg")) {
		snprintf(d->accel_type, sizeof(d->accel_type), "qemu");
		snprintf(d->accel_reason, sizeof(d->accel_reason), "tcg: set by --accelerator");
	}
	log_info("main", "accelerator %s", d->accel_reason);
}

/*
 * The embedded driver logs through libvirt's own logger, including "errors" it recovers from
 * (cgroup detection on every start). They go to ROOT/libvirt.log (warnings and up) unless the
 * user set LIBVIRT_LOG_OUTPUTS or asked for debug; failures that matter reach our own log with
 * libvirt's message in them.
 */
static void main_libvirt_log(struct ukd *d)
{
	char out[PATH_MAX];

	if (ukd_log_enabled(UKD_LOG_DEBUG))
		return;
	snprintf(out, sizeof(out), "3:file:%s/libvirt.log", d->cfg.root);
	setenv("LIBVIRT_LOG_OUTPUTS", out, 0);
}

/*
 * Each API connection holds a descriptor, and each listener serves up to max-connections of
 * them besides the guests' consoles, the store and libvirt: the usual soft limit of 1024 open
 * files would refuse connections long before that. The soft limit goes up to the hard one,
 * capped so children (QEMU, the compiler) do not inherit a vast limit.
 */
#define MAIN_NOFILE_CAP 65536

static void main_raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want, old;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	want = rl.rlim_max < MAIN_NOFILE_CAP ? rl.rlim_max : MAIN_NOFILE_CAP;
	if (rl.rlim_cur >= want) {
		log_info("main", "open files limit %llu", (unsigned long long)rl.rlim_cur);
		return;
	}
	old = rl.rlim_cur;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("main", "open files limit %llu: could not raise it to %llu: %s",
		         (unsigned long long)old, (unsigned long long)want, strerror(errno));
	else
		log_info("main", "open files limit raised from %llu to %llu (hard limit %llu)",
		         (unsigned long long)old, (unsigned long long)want,
		         (unsigned long long)rl.rlim_max);
}

static int main_up(struct ukd *d, uk_err_t *err)
{
	char images_root[PATH_MAX + 16];

	if (main_find_ukcc(d, err) < 0 || main_make_dirs(d, err) < 0)
		return -1;
	main_accel(d);
	main_raise_nofile();
	if (!(d->store = ukd_store_open(d->cfg.root, err)) ||
	    !(d->events = ukd_events_new(d->store, err)))
		return -1;
	ukd_recovery_sweep(d);
	snprintf(images_root, sizeof(images_root), "%s/images", d->cfg.root);
	if (!(d->images = ukimg_store_open(images_root, err)))
		return uk_err_wrap(err, "image store");
	if (ukd_super_start(d, err) < 0)
		return -1;
	main_libvirt_log(d);
	if (ukd_backends_open(d, ukd_super_domain_stopped, err) < 0)
		return -1;
	ukd_super_reconcile(d);
	if (ukd_net_start(d, err) < 0)
		return -1;
	if (ukd_health_start(d, err) < 0)
		return -1;
	ukd_images_gc(d);
	if (ukd_logs_pump_start(d, err) < 0)
		return -1;
	for (int i = 0; i < d->cfg.nhosts; i++) {
		d->http[d->nhttp] = ukd_http_start(d, d->cfg.hosts[i], err);
		if (!d->http[d->nhttp])
			return -1;
		d->nhttp++;
	}
	return 0;
}

/*
 * ---- shutdown (docs/daemon.md, "Stopping ukd") ----
 *
 * A thread of its own takes the signals from the start. The first SIGTERM or SIGINT starts the
 * shutdown and its bound: the guests' grace (shutdown-timeout, when live restore is off) and
 * SHUTDOWN_SLACK_NS for the rest. Until ukd is done with libvirt, it kills the QEMU of every
 * start in progress every ABORT_PERIOD_MS (a start libvirt waits on forever ends that way); at
 * the bound, whatever still waits is left behind and ukd exits. A second signal exits at once.
 */
#define SHUTDOWN_SLACK_NS 1500000000LL
#define ABORT_PERIOD_MS 100

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int started;
	int sig;          /* the first SIGTERM or SIGINT; 0 until then */
	int done;         /* main_down is past libvirt: the thread ends */
	int64_t deadline; /* ns (ukd_now_ns) */
} guard = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* SIGUSR1 only wakes the signal thread (main_signals_stop). */
static void main_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

/* How long a shutdown may take: the guests' grace when they are stopped, and the rest. */
static int64_t main_bound_ns(const struct ukd *d)
{
	return SHUTDOWN_SLACK_NS +
	       (d->cfg.live_restore ? 0 : d->cfg.shutdown_timeout_s * 1000000000LL);
}

/*
 * Exits while threads are still inside libvirt or a transfer (no exit handlers under them).
 * Nothing that still waits is worth a guest left running: the QEMUs of starts in progress, and
 * without live restore every QEMU of this root, are killed first.
 */
static _Noreturn void main_exit_now(struct ukd *d, int status)
{
	ukd_backends_abort_starts(d);
	if (!d->cfg.live_restore)
		ukd_backends_kill_guests(d);
	fflush(NULL);
	_exit(status);
}

static void *main_signals(void *p)
{
	struct ukd *d = p;
	sigset_t set;

	main_signal_set(&set);
	for (;;) {
		struct timespec ts = {0, ABORT_PERIOD_MS * 1000000L};
		int sig = sigtimedwait(&set, NULL, &ts);

		pthread_mutex_lock(&guard.lock);
		if (sig == SIGHUP) {
			log_info("main", "SIGHUP ignored (restart ukd to reload its config)");
		} else if (sig == SIGUSR1) {
			/* woken: see guard.done */
		} else if (sig > 0 && guard.sig) {
			log_warn("main", "%s again: exiting at once", strsignal(sig));
			fflush(NULL);
			_exit(128 + sig);
		} else if (sig > 0) {
			log_info("main", "%s: shutting down", strsignal(sig));
			guard.sig = sig;
			guard.deadline = ukd_now_ns() + main_bound_ns(d);
			pthread_cond_broadcast(&guard.cond);
		}
		if (guard.done) {
			pthread_mutex_unlock(&guard.lock);
			return NULL;
		}
		if (guard.sig && ukd_now_ns() >= guard.deadline) {
			log_warn("main", "shutdown not done within its bound: exiting without it");
			main_exit_now(d, 0);
		}
		if (guard.sig)
			ukd_backends_abort_starts(d);
		pthread_mutex_unlock(&guard.lock);
	}
}

/* Ends the signal thread: libvirt is about to go. A signal from here on ends ukd at once. */
static void main_signals_stop(void)
{
	if (!guard.started)
		return;
	pthread_mutex_lock(&guard.lock);
	guard.done = 1;
	pthread_mutex_unlock(&guard.lock);
	pthread_kill(guard.thread, SIGUSR1);
	pthread_join(guard.thread, NULL);
	guard.started = 0;
}

/*
 * In order: no new requests or starts, builds and stuck starts killed, then (live restore off)
 * every guest stopped side by side, then the requests still open, then the rest. Each wait ends
 * at the bound; what is still busy then is left to the process exit: returns -1.
 */
static int main_down(struct ukd *d)
{
	int64_t t0 = ukd_now_ns(), end = guard.sig ? guard.deadline : t0 + main_bound_ns(d);
	int64_t grace_until = t0 + d->cfg.shutdown_timeout_s * 1000000000LL;
	int busy = 0, images, instances, running = 1;

	/* no guest to give a grace and none starting (a stuck start's QEMU is killed, and libvirt
	 * may take a while to give up on it): the bound is the rest's alone */
	if (d->store && ukd_store_counts(d->store, &images, &instances, &running, NULL) == 0 &&
	    !running && !ukd_backends_starting(d) && guard.sig) {
		pthread_mutex_lock(&guard.lock);
		guard.deadline = end = t0 + SHUTDOWN_SLACK_NS < end ? t0 + SHUTDOWN_SLACK_NS : end;
		pthread_mutex_unlock(&guard.lock);
	}

	d->stopping = 1; /* no restarts or new requests from here on; streams and waits end */
	ukd_instance_changed(d);
	for (int i = 0; i < d->nhttp; i++)
		ukd_http_quiesce(d->http[i]);
	if (d->store && ukd_recovery_kill_builds(d) > 0)
		log_info("main", "builds interrupted");
	ukd_backends_abort_starts(d);
	ukd_health_stop(d);
	/* With live restore the guests keep running; the next ukd on this root re-attaches. */
	if (d->backend && d->store && d->super && !d->cfg.live_restore)
		busy |= ukd_super_stop_all(d, grace_until, end - 500000000) > 0;
	else if (d->backend)
		log_info("main", "live restore: running guests keep running");
	for (int i = 0; i < d->nhttp; i++)
		busy |= ukd_http_stop(d->http[i], end - 300000000) < 0;
	d->nhttp = 0;
	if (ukd_images_wait_builds(ukd_ms_until(end - 200000000)) > 0) {
		/* A pull or push still going uses the store: left to the process exit (sqlite's
		 * WAL keeps the database consistent; ukimages cleans its tmp/ later). */
		log_warn("main", "image jobs still running: exiting without waiting");
		busy = 1;
	}
	if (busy || ukd_super_free(d, end - 100000000) < 0) {
		log_warn("main", "stopped, leaving behind what is still busy");
		return -1;
	}
	main_signals_stop();
	ukd_logs_pump_stop();
	ukd_net_stop(d);
	ukd_backends_close(d);
	ukimg_store_free(d->images);
	ukd_events_free(d->events);
	ukd_store_close(d->store);
	ukd_config_free(&d->cfg);
	return 0;
}

static int main_run(int argc, char **argv)
{
	static struct ukd d;
	uk_err_t err = {0};
	sigset_t set;
	int r;

	r = ukd_config_load(&d.cfg, argc, argv, &err);
	if (r < 0) {
		fprintf(stderr, "ukd: %s\n", err.message);
		return 2;
	}
	if (r == UKD_CONFIG_EXIT_OK)
		return 0;
	ukd_log_set_level(d.cfg.log_level);
	ukd_log_set_format(d.cfg.log_json);
	/* Once, before any thread: the registry client's own calls then only count references. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "ukd: cannot initialise libcurl\n");
		return 1;
	}
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.changed, NULL);
	/* Signals go to main_signals; every thread inherits this mask. */
	main_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&guard.thread, NULL, main_signals, &d) != 0) {
		fprintf(stderr, "ukd: cannot start the signal thread\n");
		return 1;
	}
	guard.started = 1;
	log_info("main", "ukd %s starting: root %s, libvirt %s", UKD_VERSION, d.cfg.root,
	         d.cfg.libvirt_uri);
	if (main_up(&d, &err) < 0) {
		log_error("main", "%s", err.message);
		if (main_down(&d) < 0)
			main_exit_now(&d, 1);
		return 1;
	}
	log_info("main", "ready");
	pthread_mutex_lock(&guard.lock);
	while (!guard.sig)
		pthread_cond_wait(&guard.cond, &guard.lock);
	pthread_mutex_unlock(&guard.lock);
	if (main_down(&d) < 0)
		main_exit_now(&d, 0);
	log_info("main", "stopped");
	return 0;
}

/* ukd runs on a thread of its own; this first thread reaps the orphans it is given (reaper.c). */
int main(int argc, char **argv)
{
	return ukd_reaper_main(main_run, argc, argv);
}
