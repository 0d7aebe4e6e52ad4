/* Per-instance exclusion for lifecycle transitions, the state-changed broadcast and instance paths:
 * the bottom of the instance service, which health checks, logs and the supervisor use too. */
#include "instance_lock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- per-instance locks: a small set of busy ids under d->lock ---- */

struct busy {
	char id[65];
	struct busy *next;
};
static struct busy *busy_list;

static int busy_has(const char *id)
{
	for (struct busy *b = busy_list; b; b = b->next)
		if (!strcmp(b->id, id))
			return 1;
	return 0;
}

/* Caller holds d->lock. */
static void busy_push(struct busy *b, const char *id)
{
	snprintf(b->id, sizeof(b->id), "%s", id);
	b->next = busy_list;
	busy_list = b;
}

void ukd_instance_lock(struct ukd *d, const char *id)
{
	struct busy *b = calloc(1, sizeof(*b));

	pthread_mutex_lock(&d->lock);
	while (busy_has(id))
		pthread_cond_wait(&d->changed, &d->lock);
	if (b)
		busy_push(b, id);
	pthread_mutex_unlock(&d->lock);
}

int ukd_instance_trylock(struct ukd *d, const char *id)
{
	struct busy *b = calloc(1, sizeof(*b));
	int taken = 0;

	pthread_mutex_lock(&d->lock);
	if (b && !busy_has(id)) {
		busy_push(b, id);
		b = NULL;
		taken = 1;
	}
	pthread_mutex_unlock(&d->lock);
	free(b);
	return taken;
}

void ukd_instance_unlock(struct ukd *d, const char *id)
{
	pthread_mutex_lock(&d->lock);
	for (struct busy **pp = &busy_list; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->id, id)) {
			struct busy *b = *pp;
			*pp = b->next;
			free(b);
			break;
		}
	pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
}

void ukd_instance_changed(struct ukd *d)
{
	pthread_mutex_lock(&d->lock);
	pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
}

void ukd_instance_path(struct ukd *d, const char *id, const char *file, char *out, size_t len)
{
	snprintf(out, len, "%s/instances/%s%s%s", d->cfg.root, id, file ? "/" : "",
	         file ? file : "");
}
