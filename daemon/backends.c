/* ukd's backends: the default one opened at start-up, another on first use; which one runs an
 * instance. */
#include "backends.h"
#include "log.h"
#include "qemu_user.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t backends_lock = PTHREAD_MUTEX_INITIALIZER;
static ukd_backend_stopped_fn backends_stopped; /* the supervisor's, set at open */

static struct ukd_backend *backends_open(struct ukd *d, int kind, uk_err_t *err)
{
	struct ukd_qemu_user qemu;
	struct ukd_backend *b;

	if (ukd_qemu_user_setup(d, &qemu, err) < 0)
		return NULL;
	if (kind == UKD_BACKEND_QEMU)
		return ukd_backend_open_qemu(d->cfg.root, NULL, &qemu, backends_stopped, d, err);
	b = ukd_backend_open(d->cfg.libvirt_uri, &qemu, backends_stopped, d, err);
	if (b)
		ukd_backend_set_probe_timeout(b, (int)d->cfg.backend.probe_timeout_s);
	return b;
}

struct ukd_backend *ukd_backends_get(struct ukd *d, int kind, uk_err_t *err)
{
	struct ukd_backend *b;

	if (kind != UKD_BACKEND_QEMU)
		kind = UKD_BACKEND_LIBVIRT;
	if ((b = __atomic_load_n(&d->backends[kind], __ATOMIC_ACQUIRE)))
		return b;
	pthread_mutex_lock(&backends_lock);
	if (!(b = d->backends[kind]) && d->stopping)
		uk_err_set(err, 503, UKD_VM_ERR_UNAVAILABLE, "%s backend: ukd is shutting down",
		           ukd_backend_kind_name(kind));
	else if (!b && (b = backends_open(d, kind, err)))
		__atomic_store_n(&d->backends[kind], b, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&backends_lock);
	return b;
}

int ukd_backends_kind_of(struct ukd *d, const struct ukd_instance *in)
{
	(void)d;
	/* resolved at create; a row from before backends were chosen ran under libvirt */
	return in->spec.backend == UKD_BACKEND_QEMU ? UKD_BACKEND_QEMU : UKD_BACKEND_LIBVIRT;
}

struct ukd_backend *ukd_backend_of(struct ukd *d, const struct ukd_instance *in)
{
	uk_err_t err = {0};
	int kind = ukd_backends_kind_of(d, in);
	struct ukd_backend *b = ukd_backends_get(d, kind, &err);

	if (!b)
		log_warn("backends", "%s: %s", in->name, err.message);
	return b;
}

int ukd_backends_open(struct ukd *d, ukd_backend_stopped_fn stopped, uk_err_t *err)
{
	int other =
	        d->cfg.default_backend == UKD_BACKEND_QEMU ? UKD_BACKEND_LIBVIRT : UKD_BACKEND_QEMU;
	char dir[PATH_MAX];
	uk_err_t e = {0};
	struct dirent *ent;
	DIR *dh;
	int used = 0;

	backends_stopped = stopped;
	if (!(d->backend = ukd_backends_get(d, d->cfg.default_backend, err)))
		return -1;
	/* guests the other backend runs (a previous ukd's default, or per run) are re-attached */
	snprintf(dir, sizeof(dir), "%s/%s", d->cfg.root,
	         other == UKD_BACKEND_QEMU ? "qemu" : "libvirt/run/qemu");
	if ((dh = opendir(dir))) {
		while (!used && (ent = readdir(dh)))
			used = ent->d_name[0] != '.';
		closedir(dh);
	}
	if (used && !ukd_backends_get(d, other, &e))
		log_warn("backends", "the guests of the %s backend are not looked after: %s",
		         ukd_backend_kind_name(other), e.message);
	return 0;
}

void ukd_backends_each(struct ukd *d, void (*fn)(struct ukd_backend *b, void *arg), void *arg)
{
	for (int k = 0; k < UKD_BACKEND_N; k++) {
		struct ukd_backend *b = __atomic_load_n(&d->backends[k], __ATOMIC_ACQUIRE);
		if (b)
			fn(b, arg);
	}
}

static void abort_one(struct ukd_backend *b, void *arg)
{
	*(int *)arg += ukd_backend_abort_starts(b);
}

int ukd_backends_abort_starts(struct ukd *d)
{
	int n = 0;

	ukd_backends_each(d, abort_one, &n);
	return n;
}

static void kill_one(struct ukd_backend *b, void *arg)
{
	(void)arg;
	ukd_backend_kill_guests(b);
}

void ukd_backends_kill_guests(struct ukd *d)
{
	ukd_backends_each(d, kill_one, NULL);
}

static void starting_one(struct ukd_backend *b, void *arg)
{
	*(int *)arg += ukd_backend_starting(b);
}

int ukd_backends_starting(struct ukd *d)
{
	int n = 0;

	ukd_backends_each(d, starting_one, &n);
	return n;
}

void ukd_backends_close(struct ukd *d)
{
	pthread_mutex_lock(&backends_lock);
	for (int k = 0; k < UKD_BACKEND_N; k++) {
		ukd_backend_close(d->backends[k]);
		d->backends[k] = NULL;
	}
	d->backend = NULL;
	pthread_mutex_unlock(&backends_lock);
}
