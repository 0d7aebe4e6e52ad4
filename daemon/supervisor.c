/* The supervisor: a thread that turns "domain stopped" events into recorded exits and restarts. */
#include "supervisor.h"
#include "backend.h"
#include "backends.h"
#include "debug.h"
#include "events.h"
#include "health.h"
#include "instances.h"
#include "log.h"
#include "network.h"
#include "logs.h"
#include "policy.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SUPER_AUDIT_S 1

struct job {
	char domain[64];
	char uuid[40];
	struct job *next;
};

struct ukd_super {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, *tail;
	int quit;
	int restarts; /* restart threads alive */
	int stops;    /* shutdown's stop threads alive */
};

/* ---- restart policy ---- */

struct restart {
	struct ukd *d;
	char id[65];
	int count;
	int64_t delay_ms;
};

static void *restart_thread(void *p)
{
	struct restart *r = p;
	struct ukd *d = r->d;
	struct ukd_instance in;
	uk_err_t err = {0};
	int64_t until = ukd_now_ns() + r->delay_ms * 1000000;

	while (ukd_now_ns() < until && !d->stopping)
		nanosleep(&(struct timespec){0, 20000000}, NULL);
	ukd_instance_lock(d, r->id);
	if (!d->stopping && ukd_store_instance_find(d->store, r->id, &in, NULL) == 0) {
		/* Only if nobody touched it meanwhile (user start, stop, rm). */
		if (in.state == UKD_STATE_EXITED && !in.stop_requested &&
		    in.restart_count == r->count && ukd_instance_start_locked(d, r->id, &err) < 0)
			log_error("supervisor", "restart %s: %s", in.name, err.message);
		ukd_instance_clear(&in);
	}
	ukd_instance_unlock(d, r->id);
	pthread_mutex_lock(&d->super->lock);
	d->super->restarts--;
	pthread_cond_broadcast(&d->super->cond);
	pthread_mutex_unlock(&d->super->lock);
	free(r);
	return NULL;
}

static void schedule_restart(struct ukd *d, struct ukd_instance *in)
{
	struct restart *r = calloc(1, sizeof(*r));
	pthread_t t;

	if (!r)
		return;
	r->d = d;
	memcpy(r->id, in->id, sizeof(r->id));
	r->delay_ms = ukd_policy_backoff_ms(in->restart_count, in->finished - in->started);
	in->restart_count++;
	r->count = in->restart_count;
	log_info("supervisor", "%s: restart #%d in %lld ms", in->name, r->count,
	         (long long)r->delay_ms);
	pthread_mutex_lock(&d->super->lock);
	d->super->restarts++;
	pthread_mutex_unlock(&d->super->lock);
	if (pthread_create(&t, NULL, restart_thread, r) != 0) {
		pthread_mutex_lock(&d->super->lock);
		d->super->restarts--;
		pthread_mutex_unlock(&d->super->lock);
		free(r);
		return;
	}
	pthread_detach(t);
}

/* ---- recording an exit ---- */

/*
 * Records (in)'s exit; caller holds its lock. (why) explains a missing status, may be NULL.
 * (finished) is when it ended, 0 for now; a nonzero one marks an exit that happened while no
 * ukd ran (its die event says so).
 *
 * A kill by the user (kill, rm -f, a stop's grace running out) or by ukd (an on-unhealthy
 * health check, its shutdown) is 137 whatever the guest wrote to its status channel before:
 * a guest that wrote UK_EXIT=0 and spun is not recorded as a clean exit. A guest that ends by
 * itself after a stop request reports its own status; ukd emptied the channel when it sent the
 * request (mark_stop), so only a line written after it counts (docs/daemon.md).
 */
static void record_exit(struct ukd *d, struct ukd_instance *in, const char *why, int64_t finished)
{
	char path[PATH_MAX], attrs[96];
	int code, restart;
	uk_err_t err = {0};

	ukd_logs_drain(d, in->id); /* its last output before its exit, for `uk logs -f` */
	ukd_instance_path(d, in->id, "status", path, sizeof(path));
	in->error[0] = 0;
	if (ukd_instance_kill_noted(d, in->domain_uuid, in->error, sizeof(in->error)) ||
	    in->stop_requested == UKD_STOP_KILL)
		code = 137;
	else if (ukd_health_killed(d, in, in->error, sizeof(in->error))) {
		code = 137; /* on-unhealthy: a kill, with the reason */
	} else if ((code = ukd_policy_read_status(path)) < 0 &&
	           (in->stop_requested || d->stopping)) {
		code = 137;
		if (!in->stop_requested)
			snprintf(in->error, sizeof(in->error), "%s", UKD_SHUTDOWN_KILL);
	} else if (code < 0) {
		code = 255;
		snprintf(in->error, sizeof(in->error), "%s",
		         why ? why : "guest stopped without reporting an exit status");
	}
	if (code != 137)
		ukd_debug_symbolize_crash(d, in, code); /* before a follower sees the exit */
	in->state = UKD_STATE_EXITED;
	ukd_net_release(d, in->id); /* its tap and published ports' proxies */
	in->exit_code = code;
	in->finished = finished ? finished : ukd_now_ns();
	in->pid = 0;
	restart = !d->stopping && ukd_policy_wants_restart(in);
	if (restart)
		schedule_restart(d, in); /* bumps restart_count before the update below */
	if (ukd_store_instance_update(d->store, in, &err) < 0)
		log_error("supervisor", "record exit of %s: %s", in->name, err.message);
	if (finished)
		log_info("supervisor", "%s: exited with %d while ukd was down%s%s", in->name, code,
		         in->error[0] ? ": " : "", in->error);
	snprintf(attrs, sizeof(attrs), "{\"exit_code\":\"%d\"%s}", code,
	         finished ? ",\"while_ukd_down\":\"true\"" : "");
	ukd_events_emit(d, "instance", "die", in->id, in->name, attrs);
	if (!restart && !d->stopping && in->spec.auto_remove) {
		ukd_instance_tombstone(d, in);
		if (ukd_instance_remove_locked(d, in, &err) < 0)
			log_error("supervisor", "auto-remove %s: %s", in->name, err.message);
	}
}

static void handle_stopped(struct ukd *d, const char *domain, const char *uuid)
{
	struct ukd_instance in;
	char id[65];

	log_debug("supervisor", "%s: run %s stopped", domain, uuid);
	if (ukd_store_instance_by_domain(d->store, domain, &in, NULL) < 0)
		return; /* not ours, or removed meanwhile */
	memcpy(id, in.id, sizeof(id));
	ukd_instance_clear(&in);
	ukd_instance_lock(d, id);
	if (ukd_store_instance_find(d->store, id, &in, NULL) == 0) {
		/* Only the run that stopped: a restarted instance has a new domain uuid. */
		if (in.state == UKD_STATE_RUNNING && !strcmp(in.domain_uuid, uuid))
			record_exit(d, &in, NULL, 0);
		else
			log_debug("supervisor", "%s: stop of run %s ignored (%s, run %s)", in.name,
			          uuid, ukd_state_name(in.state), in.domain_uuid);
		ukd_instance_clear(&in);
	}
	ukd_instance_unlock(d, id);
	ukd_instance_changed(d);
}

static void super_audit(struct ukd *d);

static void *super_thread(void *p)
{
	struct ukd *d = p;
	struct ukd_super *s = d->super;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->head && !s->quit) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += SUPER_AUDIT_S;
			if (pthread_cond_timedwait(&s->cond, &s->lock, &until) == ETIMEDOUT &&
			    !s->head && !s->quit) {
				pthread_mutex_unlock(&s->lock);
				super_audit(d);
				pthread_mutex_lock(&s->lock);
			}
		}
		if (!s->head)
			break;
		struct job *j = s->head;
		s->head = j->next;
		if (!s->head)
			s->tail = NULL;
		pthread_mutex_unlock(&s->lock);
		handle_stopped(d, j->domain, j->uuid);
		free(j);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

void ukd_super_domain_stopped(void *opaque, const char *domain, const char *uuid)
{
	struct ukd *d = opaque;
	struct job *j = calloc(1, sizeof(*j));

	if (!j || !d->super) {
		free(j);
		return;
	}
	snprintf(j->domain, sizeof(j->domain), "%s", domain);
	snprintf(j->uuid, sizeof(j->uuid), "%s", uuid);
	pthread_mutex_lock(&d->super->lock);
	if (d->super->tail)
		d->super->tail->next = j;
	else
		d->super->head = j;
	d->super->tail = j;
	/* broadcast: restarts and ukd_super_stop_all wait on this condition too, and a signal
	 * that woke one of them instead of the thread left the job a whole audit period (1 s) */
	pthread_cond_broadcast(&d->super->cond);
	pthread_mutex_unlock(&d->super->lock);
}

int ukd_super_start(struct ukd *d, uk_err_t *err)
{
	struct ukd_super *s = calloc(1, sizeof(*s));

	if (!s)
		return uk_err_errno(err, ENOMEM, "supervisor");
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	d->super = s;
	if (pthread_create(&s->thread, NULL, super_thread, d) != 0) {
		d->super = NULL;
		free(s);
		return uk_err_internal(err, "start the supervisor thread");
	}
	return 0;
}

int ukd_super_free(struct ukd *d, int64_t until)
{
	struct ukd_super *s = d->super;
	struct timespec ts = {until / 1000000000, until % 1000000000};
	int busy;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	s->quit = 1;
	pthread_cond_broadcast(&s->cond);
	while ((s->restarts > 0 || s->stops > 0) &&
	       pthread_cond_timedwait(&s->cond, &s->lock, &ts) == 0)
		;
	busy = s->restarts > 0 || s->stops > 0;
	pthread_mutex_unlock(&s->lock);
	/* a thread still inside a transition uses the supervisor: it stays (ukd exits anyway) */
	if (busy || pthread_timedjoin_np(s->thread, NULL, &ts) != 0)
		return -1;
	d->super = NULL;
	for (struct job *j = s->head, *n; j; j = n) {
		n = j->next;
		free(j);
	}
	free(s);
	return 0;
}

/* ---- start-up: live restore and crash recovery (docs/daemon.md) ---- */

/* When the guest wrote its exit status (the status file's mtime), or now if it never did. */
static int64_t status_time(struct ukd *d, const struct ukd_instance *in)
{
	char path[PATH_MAX];
	struct stat st;

	ukd_instance_path(d, in->id, "status", path, sizeof(path));
	if (ukd_policy_read_status(path) < 0 || stat(path, &st) < 0)
		return ukd_now_ns();
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* A guest that outlived the previous ukd: its row learns the run's uuid and pid. A row that is
 * not "running" belongs to a start that ukd died in the middle of: the guest runs, so it was
 * started. */
static void restore_attach(struct ukd *d, struct ukd_instance *in,
                           const struct ukd_domain_info *info)
{
	uk_err_t err = {0};
	int adopted = in->state != UKD_STATE_RUNNING;

	snprintf(in->domain_uuid, sizeof(in->domain_uuid), "%s", info->uuid);
	in->pid = info->pid;
	if (adopted) {
		in->state = UKD_STATE_RUNNING;
		in->started = ukd_now_ns();
		in->finished = 0;
		in->exit_code = 0;
		in->error[0] = 0;
		in->stop_requested = 0;
	}
	if (ukd_store_instance_update(d->store, in, &err) < 0) {
		log_error("supervisor", "re-attach %s: %s", in->name, err.message);
		return;
	}
	log_info("supervisor", "%s: %s its running guest (pid %d)", in->name,
	         adopted ? "adopted" : "re-attached to", in->pid);
	if (adopted)
		ukd_events_emit(d, "instance", "start", in->id, in->name, NULL);
}

/* An exited instance a policy starts with ukd, or an auto-remove one ukd died before
 * removing. */
static void restore_exited(struct ukd *d, struct ukd_instance *in)
{
	uk_err_t err = {0};

	if (ukd_policy_restart_at_startup(in)) {
		log_info("supervisor", "%s: restart policy starts it with ukd", in->name);
		in->stop_requested = 0;
		schedule_restart(d, in);
		if (ukd_store_instance_update(d->store, in, &err) < 0)
			log_error("supervisor", "restart %s: %s", in->name, err.message);
	} else if (in->spec.auto_remove && in->stop_requested != 2) {
		ukd_instance_tombstone(d, in);
		if (ukd_instance_remove_locked(d, in, &err) < 0)
			log_error("supervisor", "auto-remove %s: %s", in->name, err.message);
	}
}

/*
 * libvirt runs QEMU with -no-shutdown and destroys it when the guest powers off; a guest that
 * powered off while no ukd (so no libvirt) ran leaves a QEMU behind whose run is over: its exit
 * status is in the status file. Destroys that QEMU; 1 if it was one.
 */
static int restore_finished(struct ukd *d, struct ukd_instance *in)
{
	char path[PATH_MAX];
	uk_err_t err = {0};

	ukd_instance_path(d, in->id, "status", path, sizeof(path));
	if (ukd_policy_read_status(path) < 0)
		return 0;
	if (ukd_backend_destroy(ukd_backend_of(d, in), in->domain_name, &err) < 0 &&
	    err.status != 404)
		log_warn("supervisor", "destroy %s: %s", in->domain_name, err.message);
	return 1;
}

/* Is the QEMU (pid) gone (no such process, or a zombie nobody reaped yet)? */
static int qemu_gone(int pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return 0; /* unknown: trust libvirt */
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!(f = fopen(path, "re")))
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

/* Brings one instance's row in line with its guest; caller holds its lock. */
static void restore_one(struct ukd *d, struct ukd_instance *in)
{
	struct ukd_domain_info info;
	uk_err_t err = {0};
	struct ukd_backend *b = ukd_backend_of(d, in);
	int r = ukd_backend_lookup(b, in->domain_name, &info, &err);

	if (r < 0) {
		log_error("supervisor", "restore %s: %s", in->name, err.message);
		return;
	}
	if (r > 0 && info.paused && !in->spec.gdb[0]) {
		/* ukd died inside a start (ukd_backend_start creates the guest paused, then resumes
		 * it; libvirt itself kills a guest whose creation it was in the middle of): the
		 * start did not happen, the instance keeps the state it had before. A guest with a
		 * gdb stub is paused by design (until gdb continues it, or at a breakpoint): kept.
		 */
		log_info("supervisor", "%s: destroying the guest of a start ukd died in", in->name);
		if (ukd_backend_destroy(b, in->domain_name, &err) < 0 && err.status != 404)
			log_warn("supervisor", "destroy %s: %s", in->domain_name, err.message);
		r = 0;
	}
	if (r > 0 && !info.paused && qemu_gone(info.pid)) {
		/* Its QEMU died while no ukd ran; libvirt, still reconnecting to it, lists it as
		 * running until that fails (and then drops it without an event): it is gone. */
		log_info("supervisor", "%s: its QEMU (pid %d) died while ukd was down", in->name,
		         info.pid);
		if (ukd_backend_wait_gone(b, in->domain_name, &err) < 0)
			log_warn("supervisor", "forget %s: %s", in->domain_name, err.message);
		r = 0;
	}
	if (r > 0 && restore_finished(d, in))
		record_exit(d, in, NULL, status_time(d, in));
	else if (r > 0)
		restore_attach(d, in, &info);
	else if (in->state == UKD_STATE_RUNNING)
		record_exit(d, in, "the guest was gone when ukd started: exit status unknown",
		            status_time(d, in));
	else if (in->state == UKD_STATE_EXITED)
		restore_exited(d, in);
}

static int collect_ids(void *ctx, struct ukd_instance *in)
{
	char ***v = ctx;
	size_t n = 0;

	while (*v && (*v)[n])
		n++;
	char **nv = realloc(*v, (n + 2) * sizeof(**v));
	if (!nv)
		return -1;
	*v = nv;
	(*v)[n] = strdup(in->id);
	(*v)[n + 1] = NULL;
	return (*v)[n] ? 0 : -1;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Guests named like ours that no row owns (ukd died between starting one and recording it, or
 * while removing its instance) would run unseen forever: they are destroyed. */
static void restore_orphans_of(struct ukd_backend *b, void *arg)
{
	struct ukd *d = arg;
	uk_err_t err = {0};
	char **names = ukd_backend_list(b, "uk-", &err);
	struct ukd_instance in;

	if (!names) {
		log_error("supervisor", "list guests: %s", err.message);
		return;
	}
	for (size_t i = 0; names[i]; i++) {
		if (ukd_store_instance_by_domain(d->store, names[i], &in, NULL) == 0) {
			ukd_instance_clear(&in);
			continue;
		}
		log_warn("supervisor", "%s: a guest no instance owns: destroying it", names[i]);
		uk_err_clear(&err);
		if (ukd_backend_destroy(b, names[i], &err) < 0 && err.status != 404)
			log_error("supervisor", "destroy %s: %s", names[i], err.message);
	}
	free_strv(names);
}

void ukd_super_reconcile(struct ukd *d)
{
	uk_err_t err = {0};
	char **ids = NULL;
	struct ukd_instance in;

	if (ukd_store_instance_each(d->store, collect_ids, &ids, &err) < 0)
		log_error("supervisor", "reconcile: %s", err.message);
	for (size_t i = 0; ids && ids[i]; i++) {
		ukd_instance_lock(d, ids[i]);
		if (ukd_store_instance_find(d->store, ids[i], &in, NULL) == 0) {
			restore_one(d, &in);
			ukd_instance_clear(&in);
		}
		ukd_instance_unlock(d, ids[i]);
	}
	free_strv(ids);
	ukd_backends_each(d, restore_orphans_of, d);
	ukd_instance_changed(d);
}

static int collect_running(void *ctx, struct ukd_instance *in)
{
	return in->state != UKD_STATE_RUNNING ? 0 : collect_ids(ctx, in);
}

/*
 * A guest can end without an event: libvirt, reconnecting to the guests a killed ukd left,
 * kills one whose start was interrupted and tells nobody. So when no event has come for a
 * second, the running instances are checked against the hypervisor.
 */
static void super_audit(struct ukd *d)
{
	struct ukd_domain_info info;
	struct ukd_instance in;
	uk_err_t err = {0};
	char **ids = NULL;
	int changed = 0;

	if (d->stopping || !d->backend ||
	    ukd_store_instance_each(d->store, collect_running, &ids, NULL) < 0)
		goto out;
	for (size_t i = 0; ids && ids[i] && !d->stopping; i++) {
		if (!ukd_instance_trylock(d, ids[i]))
			continue; /* busy in a transition: checked next time */
		if (ukd_store_instance_find(d->store, ids[i], &in, NULL) == 0) {
			if (in.state == UKD_STATE_RUNNING &&
			    ukd_backend_lookup(ukd_backend_of(d, &in), in.domain_name, &info,
			                       &err) == 0) {
				record_exit(d, &in, "the guest ended without an exit event", 0);
				changed = 1;
			}
			ukd_instance_clear(&in);
		}
		ukd_instance_unlock(d, ids[i]);
	}
out:
	free_strv(ids);
	if (changed)
		ukd_instance_changed(d);
}

/* One guest's stop at shutdown, on its own thread: guests power off side by side. */
struct stop_job {
	struct ukd *d;
	struct ukd_super *s;
	char id[65];
	int64_t grace_until, until;
};

static void stop_one(struct stop_job *j)
{
	uk_err_t err = {0};

	if (ukd_instance_stop_shutdown(j->d, j->id, j->grace_until, j->until, &err) < 0)
		log_warn("supervisor", "stop %.12s: %s", j->id, err.message);
}

static void *stop_thread(void *p)
{
	struct stop_job *j = p;
	struct ukd_super *s = j->s;

	stop_one(j);
	free(j);
	pthread_mutex_lock(&s->lock);
	s->stops--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int ukd_super_stop_all(struct ukd *d, int64_t grace_until, int64_t until)
{
	struct ukd_super *s = d->super;
	char **ids = NULL;
	uk_err_t err = {0};
	struct timespec ts = {until / 1000000000, until % 1000000000};
	int left, n = 0;

	if (ukd_store_instance_each(d->store, collect_running, &ids, &err) < 0)
		log_error("supervisor", "stop guests: %s", err.message);
	for (size_t i = 0; ids && ids[i]; i++, n++) {
		struct stop_job *j = calloc(1, sizeof(*j));
		pthread_t t;

		if (!j)
			continue;
		*j = (struct stop_job){d, s, "", grace_until, until};
		memcpy(j->id, ids[i], sizeof(j->id));
		pthread_mutex_lock(&s->lock);
		s->stops++;
		pthread_mutex_unlock(&s->lock);
		if (pthread_create(&t, NULL, stop_thread, j) == 0) {
			pthread_detach(t);
			continue;
		}
		stop_thread(j); /* no thread: this one waits its turn */
	}
	free_strv(ids);
	if (n)
		log_info("supervisor", "stopping %d guest%s", n, n == 1 ? "" : "s");
	/* (until) is on ukd_now_ns's clock, CLOCK_REALTIME's too */
	pthread_mutex_lock(&s->lock);
	while (s->stops > 0 && pthread_cond_timedwait(&s->cond, &s->lock, &ts) == 0)
		;
	left = s->stops;
	pthread_mutex_unlock(&s->lock);
	return left;
}
