/* The Xen side of the libvirt backend: a PVH guest's console (its only channel, the exit status
 * included) read through libvirt's libxl driver into the instance's files. */
#include "backend_xen.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DRAIN_MS 2000 /* a stopped domain's console is read this long at most */

int ukd_xen_uri(const char *uri)
{
	return uri && (!strncmp(uri, "xen:", 4) || !strncmp(uri, "libxl:", 6));
}

/* ---- consoles: one libvirt stream per running domain ---- */

struct xen_console {
	struct xen_console *next;
	char name[64];
	char uuid[VIR_UUID_STRING_BUFLEN]; /* set when its domain stopped */
	virStreamPtr st;
	int console_fd, status_fd;
	struct ukd_xen_split split;
	int stopped; /* its domain stopped: report when the console closes */
	int closed;  /* the stream ended; freed from a timer */
	int timer;   /* the drain's bound, -1 none */
	ukd_backend_stopped_fn stopped_fn;
	void *opaque;
};

static pthread_mutex_t consoles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xen_console *consoles;

static struct xen_console *console_find_locked(const char *name)
{
	for (struct xen_console *c = consoles; c; c = c->next)
		if (!c->closed && !strcmp(c->name, name))
			return c;
	return NULL;
}

static void console_write(void *opaque, int status, const char *buf, size_t len)
{
	struct xen_console *c = opaque;
	int fd = status ? c->status_fd : c->console_fd;

	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_warn("backend", "%s: writing its console: %s", c->name,
			         w < 0 ? strerror(errno) : "short write");
			return;
		}
		buf += w;
		len -= (size_t)w;
	}
}

static void console_free(struct xen_console *c)
{
	if (c->st)
		virStreamFree(c->st);
	if (c->console_fd >= 0)
		close(c->console_fd);
	if (c->status_fd >= 0)
		close(c->status_fd);
	free(c);
}

/* Timer: frees the consoles that closed (not from inside their own stream callback). */
static void console_reap(int timer, void *opaque)
{
	struct xen_console **pp, *dead = NULL;

	(void)opaque;
	virEventRemoveTimeout(timer);
	pthread_mutex_lock(&consoles_lock);
	for (pp = &consoles; *pp;) {
		struct xen_console *c = *pp;
		if (c->closed) {
			*pp = c->next;
			c->next = dead;
			dead = c;
		} else {
			pp = &c->next;
		}
	}
	pthread_mutex_unlock(&consoles_lock);
	while (dead) {
		struct xen_console *c = dead;
		dead = c->next;
		console_free(c);
	}
}

/* The console ended (closed by Xen, an error, or the drain's bound): flushes it, and reports
 * its domain's stop if that waited for it. Event loop thread. */
static void console_close(struct xen_console *c)
{
	int report;
	char name[64], uuid[VIR_UUID_STRING_BUFLEN];

	pthread_mutex_lock(&consoles_lock);
	if (c->closed) {
		pthread_mutex_unlock(&consoles_lock);
		return;
	}
	c->closed = 1;
	report = c->stopped;
	snprintf(name, sizeof(name), "%s", c->name);
	snprintf(uuid, sizeof(uuid), "%s", c->uuid);
	if (c->timer >= 0)
		virEventRemoveTimeout(c->timer);
	c->timer = -1;
	pthread_mutex_unlock(&consoles_lock);
	ukd_xen_split_feed(&c->split, NULL, 0, 1, console_write, c);
	virStreamEventRemoveCallback(c->st);
	virStreamAbort(c->st);
	log_debug("backend", "%s: console closed", name);
	if (report)
		c->stopped_fn(c->opaque, name, uuid);
	virEventAddTimeout(0, console_reap, NULL, NULL);
}

static void console_readable(virStreamPtr st, int events, void *opaque)
{
	struct xen_console *c = opaque;
	char buf[4096];

	for (;;) {
		int n = virStreamRecv(st, buf, sizeof(buf));
		if (n > 0) {
			ukd_xen_split_feed(&c->split, buf, (size_t)n, 0, console_write, c);
			continue;
		}
		if (n == -2 && !(events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)))
			return; /* nothing more now */
		if (n == -1)
			log_debug("backend", "%s: console: %s", c->name, virGetLastErrorMessage());
		console_close(c);
		return;
	}
}

static void console_drain_over(int timer, void *opaque)
{
	struct xen_console *c = opaque;

	(void)timer;
	log_warn("backend", "%s: its console stayed open %d ms after the domain stopped", c->name,
	         DRAIN_MS);
	console_close(c);
}

int ukd_xen_console_defer_stop(const char *name, const char *uuid)
{
	struct xen_console *c;
	int deferred = 0;

	pthread_mutex_lock(&consoles_lock);
	if ((c = console_find_locked(name))) {
		if (!c->stopped) {
			c->stopped = 1;
			snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
			c->timer = virEventAddTimeout(DRAIN_MS, console_drain_over, c, NULL);
		}
		deferred = 1; /* a second event (SHUTDOWN, then STOPPED): reported once, later */
	}
	pthread_mutex_unlock(&consoles_lock);
	return deferred;
}

int ukd_xen_console_draining(const char *name)
{
	struct xen_console *c;
	int r;

	pthread_mutex_lock(&consoles_lock);
	r = (c = console_find_locked(name)) && c->stopped;
	pthread_mutex_unlock(&consoles_lock);
	return r;
}

static int open_append(const char *path, uk_err_t *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		uk_err_errno(err, errno, "open %s", path);
	return fd;
}

int ukd_xen_console_open(virConnectPtr conn, virDomainPtr dom, const char *console_log,
                         const char *status_log, ukd_backend_stopped_fn stopped, void *opaque,
                         uk_err_t *err)
{
	const char *name = virDomainGetName(dom);
	struct xen_console *c;

	pthread_mutex_lock(&consoles_lock);
	c = console_find_locked(name);
	pthread_mutex_unlock(&consoles_lock);
	if (c)
		return 0;
	if (!(c = calloc(1, sizeof(*c))))
		return uk_err_errno(err, ENOMEM, "console");
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->timer = -1;
	c->stopped_fn = stopped;
	c->opaque = opaque;
	c->status_fd = -1;
	if ((c->console_fd = open_append(console_log, err)) < 0 ||
	    (c->status_fd = open_append(status_log, err)) < 0)
		goto fail;
	c->st = virStreamNew(conn, VIR_STREAM_NONBLOCK);
	if (!c->st || virDomainOpenConsole(dom, NULL, c->st, VIR_DOMAIN_CONSOLE_FORCE) < 0 ||
	    virStreamEventAddCallback(c->st,
	                              VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR |
	                                      VIR_STREAM_EVENT_HANGUP,
	                              console_readable, c, NULL) < 0) {
		uk_err_internal(err, "open the console of domain %s: %s", name,
		                virGetLastErrorMessage());
		goto fail;
	}
	pthread_mutex_lock(&consoles_lock);
	c->next = consoles;
	consoles = c;
	pthread_mutex_unlock(&consoles_lock);
	return 0;
fail:
	console_free(c);
	return -1;
}

/* The value of attribute (key) in (xml), XML-unescaped, into (out). -1 if missing. */
static int meta_attr(const char *xml, const char *key, char *out, size_t size)
{
	char pat[32];
	const char *p, *end;
	size_t n = 0;

	snprintf(pat, sizeof(pat), " %s=", key);
	if (!(p = strstr(xml, pat)))
		return -1;
	p += strlen(pat);
	if ((*p != '"' && *p != '\'') || !(end = strchr(p + 1, *p)))
		return -1;
	for (p++; p < end && n + 1 < size; n++) {
		static const struct {
			const char *ent;
			char c;
		} ents[] = {{"&amp;", '&'},
		            {"&lt;", '<'},
		            {"&gt;", '>'},
		            {"&apos;", '\''},
		            {"&quot;", '"'}};
		size_t i;
		for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
			if (!strncmp(p, ents[i].ent, strlen(ents[i].ent)))
				break;
		if (i < sizeof(ents) / sizeof(ents[0])) {
			out[n] = ents[i].c;
			p += strlen(ents[i].ent);
		} else {
			out[n] = *p++;
		}
	}
	out[n] = 0;
	return p == end ? 0 : -1;
}

int ukd_xen_console_reattach(virConnectPtr conn, virDomainPtr dom, ukd_backend_stopped_fn stopped,
                             void *opaque, uk_err_t *err)
{
	char console_log[4096], status_log[4096], *meta;
	int r;

	pthread_mutex_lock(&consoles_lock);
	r = console_find_locked(virDomainGetName(dom)) != NULL;
	pthread_mutex_unlock(&consoles_lock);
	if (r)
		return 0; /* open */
	meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, UKD_XEN_META_URI, 0);
	if (!meta || meta_attr(meta, "console", console_log, sizeof(console_log)) < 0 ||
	    meta_attr(meta, "status", status_log, sizeof(status_log)) < 0) {
		free(meta);
		return uk_err_internal(err, "domain %s: no console files in its metadata (%s)",
		                       virDomainGetName(dom),
		                       meta ? "malformed" : virGetLastErrorMessage());
	}
	free(meta);
	r = ukd_xen_console_open(conn, dom, console_log, status_log, stopped, opaque, err);
	if (r == 0)
		log_info("backend", "%s: console attached again", virDomainGetName(dom));
	return r;
}

void ukd_xen_console_close_all(void)
{
	pthread_mutex_lock(&consoles_lock);
	for (struct xen_console *c = consoles; c; c = c->next)
		if (!c->closed) {
			c->closed = 1;
			if (c->timer >= 0)
				virEventRemoveTimeout(c->timer);
			virStreamEventRemoveCallback(c->st);
			virStreamAbort(c->st);
		}
	pthread_mutex_unlock(&consoles_lock);
	console_reap(-1, NULL);
}
