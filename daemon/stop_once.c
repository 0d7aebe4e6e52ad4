/* A backend reports each run's stop once, however many hypervisor events that one stop brings. */
#include "stop_once.h"

#include <stdio.h>
#include <string.h>

void ukd_stop_once_init(struct ukd_stop_once *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
}

int ukd_stop_once(struct ukd_stop_once *o, const char *uuid)
{
	int first = 1;

	if (!uuid[0])
		return 1;
	pthread_mutex_lock(&o->lock);
	for (int i = 0; i < UKD_STOP_ONCE_RUNS && first; i++)
		first = strcmp(o->uuid[i], uuid) != 0;
	if (first)
		snprintf(o->uuid[o->next++ % UKD_STOP_ONCE_RUNS], sizeof(o->uuid[0]), "%s", uuid);
	pthread_mutex_unlock(&o->lock);
	return first;
}
