/* ukd's event bus: store each event, then append it to every live subscriber's queue. */
#include "events.h"
#include "http.h"
#include "log.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#define SUB_MAX_QUEUE (4u << 20)

struct ukd_event_sub {
	struct ukd *d;
	struct ukd_event_sub *next;
	char *buf; /* queued JSON lines */
	size_t len, off, cap;
	int overflow;
	int wake[2];
	int client_fd;
	int64_t until;
};

struct ukd_events {
	struct ukd_store *store;
	pthread_mutex_t lock; /* orders store writes and fan-out; guards the subscriber list */
	struct ukd_event_sub *subs;
};

struct ukd_events *ukd_events_new(struct ukd_store *store, uk_err_t *err)
{
	struct ukd_events *ev = calloc(1, sizeof(*ev));

	if (!ev) {
		uk_err_errno(err, ENOMEM, "events");
		return NULL;
	}
	ev->store = store;
	pthread_mutex_init(&ev->lock, NULL);
	return ev;
}

void ukd_events_free(struct ukd_events *ev)
{
	if (!ev)
		return;
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

/* Appends (line) + "\n" to (sub)'s queue; caller holds ev->lock. */
static void sub_push(struct ukd_event_sub *sub, const char *line)
{
	size_t n = strlen(line);

	if (sub->overflow)
		return;
	if (sub->len + n + 1 > SUB_MAX_QUEUE) {
		sub->overflow = 1;
	} else {
		if (sub->len + n + 1 > sub->cap) {
			size_t cap = (sub->len + n + 1) * 2;
			char *nb = realloc(sub->buf, cap);
			if (!nb) {
				sub->overflow = 1;
				goto wake;
			}
			sub->buf = nb;
			sub->cap = cap;
		}
		memcpy(sub->buf + sub->len, line, n);
		sub->buf[sub->len + n] = '\n';
		sub->len += n + 1;
	}
wake:
	if (write(sub->wake[1], "", 1) < 0 && errno != EAGAIN)
		log_debug("events", "wake subscriber: %s", strerror(errno));
}

void ukd_events_emit(struct ukd *d, const char *type, const char *action, const char *id,
                     const char *name, const char *attrs)
{
	struct ukd_events *ev = d->events;
	int64_t now = ukd_now_ns();
	uk_err_t err = {0};
	char *line;

	pthread_mutex_lock(&ev->lock);
	if (ukd_store_event_add(ev->store, now, type, action, id, name, attrs, &err) < 0)
		log_error("events", "%s %s %s: %s", type, action, id, err.message);
	line = ukd_event_render(now, type, action, id, name, attrs);
	for (struct ukd_event_sub *s = ev->subs; s && line; s = s->next)
		sub_push(s, line);
	pthread_mutex_unlock(&ev->lock);
	log_info("events", "%s %s %.12s %s", type, action, id, name);
	free(line);
}

static int sub_history(void *ctx, const char *line)
{
	sub_push(ctx, line);
	return 0;
}

struct ukd_event_sub *ukd_events_subscribe(struct ukd *d, int64_t since, int64_t until,
                                           int client_fd, uk_err_t *err)
{
	struct ukd_events *ev = d->events;
	struct ukd_event_sub *sub = calloc(1, sizeof(*sub));

	if (!sub || pipe2(sub->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		uk_err_errno(err, errno, "subscribe to events");
		free(sub);
		return NULL;
	}
	sub->d = d;
	sub->client_fd = client_fd;
	sub->until = until;
	pthread_mutex_lock(&ev->lock);
	if (since > 0 && ukd_store_event_each(ev->store, since, until, sub_history, sub, err) < 0) {
		pthread_mutex_unlock(&ev->lock);
		ukd_events_unsubscribe(sub);
		return NULL;
	}
	sub->next = ev->subs;
	ev->subs = sub;
	pthread_mutex_unlock(&ev->lock);
	return sub;
}

static size_t sub_take(struct ukd_event_sub *sub, char *buf, size_t max)
{
	size_t n = sub->len - sub->off < max ? sub->len - sub->off : max;

	memcpy(buf, sub->buf + sub->off, n);
	sub->off += n;
	if (sub->off == sub->len)
		sub->off = sub->len = 0;
	return n;
}

ssize_t ukd_events_sub_read(void *p, char *buf, size_t max)
{
	struct ukd_event_sub *sub = p;
	struct ukd_events *ev = sub->d->events;
	char drain[64];

	for (;;) {
		size_t n;
		pthread_mutex_lock(&ev->lock);
		n = sub_take(sub, buf, max);
		pthread_mutex_unlock(&ev->lock);
		if (n)
			return (ssize_t)n;
		if (sub->overflow || sub->d->stopping)
			return 0;
		if (sub->until && ukd_now_ns() >= sub->until)
			return 0;
		if (ukd_http_wait(sub->client_fd, sub->wake[0], 500) < 0)
			return -1;
		while (read(sub->wake[0], drain, sizeof(drain)) > 0)
			;
	}
}

void ukd_events_unsubscribe(void *p)
{
	struct ukd_event_sub *sub = p;
	struct ukd_events *ev;

	if (!sub)
		return;
	ev = sub->d->events;
	pthread_mutex_lock(&ev->lock);
	for (struct ukd_event_sub **pp = &ev->subs; *pp; pp = &(*pp)->next)
		if (*pp == sub) {
			*pp = sub->next;
			break;
		}
	pthread_mutex_unlock(&ev->lock);
	close(sub->wake[0]);
	close(sub->wake[1]);
	free(sub->buf);
	free(sub);
}
