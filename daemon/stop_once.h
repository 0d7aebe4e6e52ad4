/* A backend reports each run's stop once, however many hypervisor events that one stop brings. */
#ifndef UKD_STOP_ONCE_H
#define UKD_STOP_ONCE_H

#include <pthread.h>

/* the last runs remembered: their late events come within seconds */
#define UKD_STOP_ONCE_RUNS 64

struct ukd_stop_once {
	pthread_mutex_t lock;
	char uuid[UKD_STOP_ONCE_RUNS][40];
	unsigned next;
};

void ukd_stop_once_init(struct ukd_stop_once *o);
/* 1 the first time the stop of run (uuid) is seen (remembered from then on), 0 after. A run
 * without a uuid ("") cannot be told apart: always 1. */
int ukd_stop_once(struct ukd_stop_once *o, const char *uuid);

#endif
