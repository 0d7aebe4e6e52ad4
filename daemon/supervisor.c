/* The supervisor: a thread that turns "domain stopped" events into recorded exits and restarts. */
#include "supervisor.h"
#include "backend.h"
#include "events.h"
#include "health.h"
#include "instances.h"
#include "log.h"
#include "policy.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
		if (!strcmp(in.state, "exited") && !in.stop_requested &&
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

static int config_bool(const struct ukd_instance *in, const char *key)
{
	json_object *cfg = json_tokener_parse(in->config), *v;
	int r = cfg && json_object_object_get_ex(cfg, key, &v) && json_object_get_boolean(v);

	json_object_put(cfg);
	return r;
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

/* Records (in)'s exit; caller holds its lock. (why) explains a missing status, may be NULL. */
static void record_exit(struct ukd *d, struct ukd_instance *in, const char *why)
{
	char path[PATH_MAX], attrs[64];
	int code, restart;
	uk_err_t err = {0};

	ukd_instance_path(d, in->id, "status", path, sizeof(path));
	code = ukd_policy_read_status(path);
	in->error[0] = 0;
	/* ukd's health checker killed it (on-unhealthy): a kill, with the reason */
	if (code < 0 && !in->stop_requested &&
	    ukd_health_killed(d, in, in->error, sizeof(in->error)))
		code = 137;
	if (code < 0 && (in->stop_requested || d->stopping)) {
		code = 137;
		if (!in->stop_requested)
			snprintf(in->error, sizeof(in->error), "ukd shut down while it ran");
	} else if (code < 0) {
		code = 255;
		snprintf(in->error, sizeof(in->error), "%s",
		         why ? why : "guest stopped without reporting an exit status");
	}
	snprintf(in->state, sizeof(in->state), "exited");
	in->exit_code = code;
	in->finished = ukd_now_ns();
	in->pid = 0;
	restart = !d->stopping && ukd_policy_wants_restart(in);
	if (restart)
		schedule_restart(d, in); /* bumps restart_count before the update below */
	if (ukd_store_instance_update(d->store, in, &err) < 0)
		log_error("supervisor", "record exit of %s: %s", in->name, err.message);
	snprintf(attrs, sizeof(attrs), "{\"exit_code\":\"%d\"}", code);
	ukd_events_emit(d, "instance", "die", in->id, in->name, attrs);
	if (!restart && !d->stopping && config_bool(in, "auto_remove")) {
		ukd_instance_tombstone(d, in);
		if (ukd_instance_remove_locked(d, in, &err) < 0)
			log_error("supervisor", "auto-remove %s: %s", in->name, err.message);
	}
}

static void handle_stopped(struct ukd *d, const char *domain, const char *uuid)
{
	struct ukd_instance in;
	char id[65];

	if (ukd_store_instance_by_domain(d->store, domain, &in, NULL) < 0)
		return; /* not ours, or removed meanwhile */
	memcpy(id, in.id, sizeof(id));
	ukd_instance_clear(&in);
	ukd_instance_lock(d, id);
	if (ukd_store_instance_find(d->store, id, &in, NULL) == 0) {
		/* Only the run that stopped: a restarted instance has a new domain uuid. */
		if (!strcmp(in.state, "running") && !strcmp(in.domain_uuid, uuid))
			record_exit(d, &in, NULL);
		ukd_instance_clear(&in);
	}
	ukd_instance_unlock(d, id);
	ukd_instance_changed(d);
}

static void *super_thread(void *p)
{
	struct ukd *d = p;
	struct ukd_super *s = d->super;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->head && !s->quit)
			pthread_cond_wait(&s->cond, &s->lock);
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
	pthread_cond_signal(&d->super->cond);
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

void ukd_super_free(struct ukd *d)
{
	struct ukd_super *s = d->super;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->quit = 1;
	pthread_cond_broadcast(&s->cond);
	while (s->restarts > 0)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	d->super = NULL;
	for (struct job *j = s->head, *n; j; j = n) {
		n = j->next;
		free(j);
	}
	free(s);
}

static int reconcile_one(void *ctx, struct ukd_instance *in)
{
	struct ukd *d = ctx;
	uk_err_t err = {0};
	int pid = 0, r;

	if (strcmp(in->state, "running"))
		return 0;
	r = ukd_backend_state(d->backend, in->domain_name, &pid, &err);
	if (r > 0) {
		in->pid = pid;
		ukd_store_instance_update(d->store, in, NULL);
		return 0;
	}
	record_exit(d, in, r < 0 ? err.message : "the guest was gone when ukd started");
	return 0;
}

static int restart_one(void *ctx, struct ukd_instance *in)
{
	struct ukd *d = ctx;
	uk_err_t err = {0};

	if (strcmp(in->state, "exited") || !ukd_policy_restart_at_startup(in))
		return 0;
	log_info("supervisor", "%s: restart policy starts it with ukd", in->name);
	in->stop_requested = 0;
	schedule_restart(d, in);
	if (ukd_store_instance_update(d->store, in, &err) < 0)
		log_error("supervisor", "restart %s: %s", in->name, err.message);
	return 0;
}

void ukd_super_reconcile(struct ukd *d)
{
	uk_err_t err = {0};

	if (ukd_store_instance_each(d->store, reconcile_one, d, &err) < 0 ||
	    ukd_store_instance_each(d->store, restart_one, d, &err) < 0)
		log_error("supervisor", "reconcile: %s", err.message);
}

static int collect_running(void *ctx, struct ukd_instance *in)
{
	char ***v = ctx;
	size_t n = 0;

	if (strcmp(in->state, "running"))
		return 0;
	while (*v && (*v)[n])
		n++;
	*v = realloc(*v, (n + 2) * sizeof(**v));
	(*v)[n] = strdup(in->id);
	(*v)[n + 1] = NULL;
	return 0;
}

void ukd_super_stop_all(struct ukd *d)
{
	char **ids = NULL;
	uk_err_t err = {0};

	ukd_store_instance_each(d->store, collect_running, &ids, &err);
	for (size_t i = 0; ids && ids[i]; i++) {
		uk_err_clear(&err);
		if (ukd_instance_kill_shutdown(d, ids[i], &err) < 0)
			log_warn("supervisor", "kill %.12s: %s", ids[i], err.message);
		free(ids[i]);
	}
	free(ids);
}
