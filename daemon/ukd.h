/* ukd's shared types: the daemon context every subsystem receives, config, cleanup helpers. */
#ifndef UKD_H
#define UKD_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "uk/error.h"

#define UKD_MAX_HOSTS 8
#define UKD_API_VERSION "1"

struct ukd_config {
	char root[128]; /* < 80 bytes: libvirt puts unix sockets under it */
	char *hosts[UKD_MAX_HOSTS];
	int nhosts;
	char libvirt_uri[PATH_MAX + 64];
	char accelerator[8]; /* auto, kvm, tcg */
	int log_level;
	int live_restore; /* 1: guests outlive a normal stop (docs/daemon.md, live restore) */
};

struct ukd_store;
struct ukd_backend;
struct ukd_events;
struct ukd_super;
struct ukd_http;

struct ukd {
	struct ukd_config cfg;
	char ukcc[PATH_MAX + 8]; /* the compiler beside ukd */
	char bindir[PATH_MAX];   /* dirname(/proc/self/exe) */
	char accel_type[8];      /* resolved default: "kvm" or "qemu" */
	char accel_reason[256];  /* why */
	struct ukd_store *store;
	struct ukd_backend *backend;
	struct ukd_events *events;
	struct ukd_super *super;
	struct ukd_http *http[UKD_MAX_HOSTS];
	int nhttp;
	void *images;           /* struct uk_images *, when the images library is built in */
	pthread_mutex_t lock;   /* serializes instance lifecycle transitions */
	pthread_cond_t changed; /* broadcast whenever an instance's state changes */
	volatile int stopping;
};

/* Now, in nanoseconds since the epoch. */
int64_t ukd_now_ns(void);
/* Formats (ns) as RFC 3339 with nanoseconds, UTC, into (buf) (>= 40 bytes); 0 →
 * "0001-01-01T00:00:00Z". */
void ukd_time_format(int64_t ns, char *buf, size_t len);

static inline void ukd_freep(void *p)
{
	free(*(void **)p);
}
static inline void ukd_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_free_ __attribute__((cleanup(ukd_freep)))
#define _cleanup_close_ __attribute__((cleanup(ukd_closep)))

#endif
