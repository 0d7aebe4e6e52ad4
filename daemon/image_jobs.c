/* Image jobs (builds, loads, pushes, pulls) and blob garbage collection: jobs hold the blob store
 * shared, gc takes it exclusively; shutdown waits for the jobs still running. */
#include "image_jobs.h"
#include "log.h"
#include "store.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <uk/images.h>

/* Builds and loads hold it shared; blob garbage collection takes it exclusively, or waits. */
static pthread_rwlock_t gc_lock = PTHREAD_RWLOCK_INITIALIZER;

/* Build threads outlive their request; shutdown waits for them (ukd_images_wait_builds). */
static pthread_mutex_t builds_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t builds_done = PTHREAD_COND_INITIALIZER;
static int builds_running;

static void builds_add(int n)
{
	pthread_mutex_lock(&builds_lock);
	builds_running += n;
	pthread_cond_broadcast(&builds_done);
	pthread_mutex_unlock(&builds_lock);
}

int ukd_images_wait_builds(int timeout_ms)
{
	struct timespec ts;
	int left;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&builds_lock);
	while (builds_running > 0 && pthread_cond_timedwait(&builds_done, &builds_lock, &ts) == 0)
		;
	left = builds_running;
	pthread_mutex_unlock(&builds_lock);
	return left;
}

void ukd_images_job_begin(void)
{
	builds_add(1);
}

void ukd_images_job_end(void)
{
	builds_add(-1);
}

void ukd_images_store_hold(void)
{
	pthread_rwlock_rdlock(&gc_lock);
}

void ukd_images_store_release(void)
{
	pthread_rwlock_unlock(&gc_lock);
}

/* Removes blobs no image references any more, unless a build or load is running (then the
 * next deletion or daemon start does it). */
void ukd_images_gc(struct ukd *d)
{
	size_t n = 0, removed = 0;
	uk_err_t err = {0};
	char **live;

	if (pthread_rwlock_trywrlock(&gc_lock) != 0)
		return;
	live = ukd_store_image_manifests(d->store, &n, &err);
	if (live && !err.status &&
	    ukimg_store_gc(d->images, (const char *const *)live, n, &removed, &err) < 0)
		log_warn("images", "blob gc: %s", err.message);
	else if (removed)
		log_info("images", "removed %zu unreferenced blobs", removed);
	pthread_rwlock_unlock(&gc_lock);
	for (size_t i = 0; live && live[i]; i++)
		free(live[i]);
	free(live);
}
