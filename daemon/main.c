/* ukd's entry point: configuration, subsystems up in order, signals, and an orderly shutdown. */
#include "accel.h"
#include "backend.h"
#include "config.h"
#include "events.h"
#include "http.h"
#include "log.h"
#include "logs.h"
#include "reaper.h"
#include "recovery.h"
#include "routes.h"
#include "store.h"
#include "supervisor.h"
#include "health.h"

#include <curl/curl.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
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

/* (path) and every directory above it can be passed through by (uid)/(gid) (mode bits). */
static int main_reachable(const char *path, uid_t uid, gid_t gid)
{
	char p[PATH_MAX + 16];
	struct stat st;

	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		if (stat(p[0] ? p : "/", &st) < 0)
			return 0;
		if (!(st.st_mode & S_IXOTH) && !(st.st_gid == gid && (st.st_mode & S_IXGRP)) &&
		    !(st.st_uid == uid && (st.st_mode & S_IXUSR)))
			return 0;
		if (!p[0])
			return 1;
		*strrchr(p, '/') = 0;
	}
}

/*
 * A ukd running as root gives up root for its guests under the embedded driver: QEMU runs as the
 * system user libvirt-qemu, group kvm (so /dev/kvm opens, and libvirt's cached probe of QEMU,
 * which records whether KVM is usable by that user and group, stays valid; libvirt-qemu's own
 * group where there is no kvm group). libvirt opens the console and status files and hands QEMU
 * the descriptors; QEMU itself opens the kernel under ROOT/images and its domain directory
 * under ROOT/libvirt. So ROOT becomes mode 0710, group kvm (pass through, not list) and the
 * store (every instance's environment) 0600. When a directory above ROOT keeps that user out,
 * QEMU stays root, with a warning.
 */
static int main_qemu_user(struct ukd *d, struct ukd_qemu_user *q, uk_err_t *err)
{
	static const char *const private[] = {"/ukd.db", "/ukd.db-wal", "/ukd.db-shm", NULL};
	struct passwd *pw = getpwnam("libvirt-qemu");
	struct group *kvm = getgrnam("kvm");
	char path[PATH_MAX + 16], *slash;

	*q = (struct ukd_qemu_user){-1, -1};
	if (geteuid() != 0 || strncmp(d->cfg.libvirt_uri, "qemu:///embed", 13) || !pw)
		return 0;
	snprintf(path, sizeof(path), "%s", d->cfg.root);
	if ((slash = strrchr(path, '/')))
		*slash = 0;
	if (!main_reachable(path, pw->pw_uid, kvm ? kvm->gr_gid : pw->pw_gid)) {
		log_warn("main",
		         "QEMU runs as root: user libvirt-qemu cannot pass through %s (or a "
		         "directory above it) to reach %s",
		         path[0] ? path : "/", d->cfg.root);
		return 0;
	}
	q->uid = pw->pw_uid;
	q->gid = kvm ? kvm->gr_gid : pw->pw_gid;
	for (int i = 0; private[i]; i++) {
		snprintf(path, sizeof(path), "%s%s", d->cfg.root, private[i]);
		if (chmod(path, 0600) < 0 && errno != ENOENT)
			return uk_err_errno(err, errno, "make %s private", path);
	}
	if (chown(d->cfg.root, (uid_t)-1, (gid_t)q->gid) < 0 || chmod(d->cfg.root, 0710) < 0)
		return uk_err_errno(err, errno, "let QEMU's group %ld reach the kernels under %s",
		                    q->gid, d->cfg.root);
	log_info("main", "QEMU runs as user libvirt-qemu, group %s", kvm ? "kvm" : "libvirt-qemu");
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
	struct ukd_qemu_user qemu;

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
	if (main_qemu_user(d, &qemu, err) < 0)
		return -1;
	d->backend = ukd_backend_open(d->cfg.libvirt_uri, &qemu, ukd_super_domain_stopped, d, err);
	if (!d->backend)
		return -1;
	ukd_backend_set_probe_timeout(d->backend, (int)d->cfg.backend.probe_timeout_s);
	ukd_super_reconcile(d);
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

static void main_down(struct ukd *d)
{
	for (int i = 0; i < d->nhttp; i++)
		ukd_http_stop(d->http[i]);
	d->stopping = 1; /* no restarts from here on; streams end */
	ukd_health_stop(d);
	/* With live restore the guests keep running; the next ukd on this root re-attaches. */
	if (d->backend && d->store && d->super && !d->cfg.live_restore)
		ukd_super_stop_all(d);
	else if (d->backend)
		log_info("main", "live restore: running guests keep running");
	if (ukd_images_wait_builds(10000) > 0) {
		/* A build still compiling uses the store: leave everything to the process exit
		 * (sqlite's WAL keeps the database consistent; ukimages cleans its tmp/ later). */
		log_warn("main", "builds still running after 10 s: exiting without waiting");
		return;
	}
	ukd_logs_pump_stop();
	ukd_super_free(d);
	ukd_backend_close(d->backend);
	ukimg_store_free(d->images);
	ukd_events_free(d->events);
	ukd_store_close(d->store);
	ukd_config_free(&d->cfg);
}

static int main_run(int argc, char **argv)
{
	static struct ukd d;
	uk_err_t err = {0};
	sigset_t set;
	int r, sig;

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
	/* Signals go to sigwait below; every thread inherits this mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("main", "ukd %s starting: root %s, libvirt %s", UKD_VERSION, d.cfg.root,
	         d.cfg.libvirt_uri);
	if (main_up(&d, &err) < 0) {
		log_error("main", "%s", err.message);
		main_down(&d);
		return 1;
	}
	log_info("main", "ready");
	do {
		sigwait(&set, &sig);
		if (sig == SIGHUP)
			log_info("main", "SIGHUP ignored (restart ukd to reload its config)");
	} while (sig == SIGHUP);
	log_info("main", "%s: shutting down", strsignal(sig));
	main_down(&d);
	log_info("main", "stopped");
	return 0;
}

/* ukd runs on a thread of its own; this first thread reaps the orphans it is given (reaper.c). */
int main(int argc, char **argv)
{
	return ukd_reaper_main(main_run, argc, argv);
}
