/* The Xen side of the libvirt backend: a PVH guest's console (its only channel, the exit status
 * included) read through libvirt's libxl driver into the instance's files. */
#include "backend_xen.h"
#include "log.h"
#include "spec.h"
#include "xen_xml.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_MS 2000 /* a stopped domain's console is read this long at most */

/*
 * ---- consoles: one libvirt stream per running domain ----
 *
 * libvirt (9.0, and upstream as of this writing) deadlocks libvirtd when a domain's console
 * stream closes while the domain object is being freed: the stream's close takes the stream's
 * lock and then the domain's console table lock (virChrdevFDStreamCloseCb), the domain's free
 * takes them the other way round (virChrdevFree). With on_poweroff=destroy libxl's shutdown
 * thread freed the domain just as xenconsoled's pty hung up and the stream closed: libvirtd
 * stopped answering anyone (docs/xen.md, "Why a stopped domain is preserved"). So Xen domains
 * are preserved when they stop, and ukd ends the console stream first and destroys the domain
 * after: no stream is open when libvirt frees the domain.
 */

enum { CONSOLE_OPEN, CONSOLE_ENDING, CONSOLE_CLOSED };

struct xen_console {
	struct xen_console *next;
	char name[64];
	char uuid[VIR_UUID_STRING_BUFLEN]; /* set when its domain stopped */
	virConnectPtr conn;                /* for the destroy of its stopped domain */
	virStreamPtr st;
	pthread_mutex_t io; /* the stream: read and fed into the files, or ended */
	int console_fd, status_fd;
	struct ukd_xen_split split;
	int got_status; /* a status line came through */
	int stopped;    /* its domain stopped: report when the console closes */
	int state;      /* CONSOLE_*: ending, it is no longer found; closed, freed from a timer */
	int timer;      /* the drain's bound, -1 none */
	ukd_backend_stopped_fn stopped_fn;
	void *opaque;
};

static pthread_mutex_t consoles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xen_console *consoles;

static struct xen_console *console_find_locked(const char *name)
{
	for (struct xen_console *c = consoles; c; c = c->next)
		if (c->state == CONSOLE_OPEN && !strcmp(c->name, name))
			return c;
	return NULL;
}

static void console_write(void *opaque, int status, const char *buf, size_t len)
{
	struct xen_console *c = opaque;
	int fd = status ? c->status_fd : c->console_fd;

	c->got_status |= status;
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
	if (c->conn)
		virConnectClose(c->conn);
	if (c->console_fd >= 0)
		close(c->console_fd);
	if (c->status_fd >= 0)
		close(c->status_fd);
	pthread_mutex_destroy(&c->io);
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
		if (c->state == CONSOLE_CLOSED) {
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

/* Takes the open console (c) for the caller to end (consoles_lock held): 0 if it is not open. */
static int console_claim_locked(struct xen_console *c)
{
	if (!c || c->state != CONSOLE_OPEN)
		return 0;
	c->state = CONSOLE_ENDING;
	return 1;
}

void ukd_xen_destroy_stopped(virConnectPtr conn, const char *name)
{
	virDomainPtr dom = virDomainLookupByName(conn, name);
	int st = 0, reason;

	if (!dom)
		return;
	if (virDomainIsActive(dom) == 1 && virDomainGetState(dom, &st, &reason, 0) == 0 &&
	    st == VIR_DOMAIN_SHUTOFF && virDomainDestroy(dom) < 0)
		log_warn("backend", "destroy stopped domain %s: %s", name,
		         virGetLastErrorMessage());
	virDomainFree(dom);
}

/*
 * Ends the claimed console (c): flushes a partial line, ends its stream (libvirtd closes its
 * end) and, if its domain stopped, destroys the domain and reports the stop. Any thread. 1 if
 * the stop was reported.
 */
static int console_end(struct xen_console *c)
{
	int report = c->stopped; /* fixed once claimed */

	pthread_mutex_lock(&c->io); /* a read in progress finishes first */
	if (c->timer >= 0)
		virEventRemoveTimeout(c->timer);
	c->timer = -1;
	ukd_xen_split_feed(&c->split, NULL, 0, 1, console_write, c);
	virStreamEventRemoveCallback(c->st);
	virStreamAbort(c->st);
	pthread_mutex_unlock(&c->io);
	log_debug("backend", "%s: console closed", c->name);
	if (report) {
		ukd_xen_destroy_stopped(c->conn, c->name);
		c->stopped_fn(c->opaque, c->name, c->uuid);
	}
	pthread_mutex_lock(&consoles_lock);
	c->state = CONSOLE_CLOSED;
	pthread_mutex_unlock(&consoles_lock);
	virEventAddTimeout(0, console_reap, NULL, NULL);
	return report;
}

static void console_readable(virStreamPtr st, int events, void *opaque)
{
	struct xen_console *c = opaque;
	char buf[4096];
	int eof = 0, end;

	pthread_mutex_lock(&c->io);
	pthread_mutex_lock(&consoles_lock);
	end = c->state != CONSOLE_OPEN; /* another thread ends it */
	pthread_mutex_unlock(&consoles_lock);
	if (end) {
		pthread_mutex_unlock(&c->io);
		return;
	}
	for (;;) {
		int n = virStreamRecv(st, buf, sizeof(buf));
		if (n > 0) {
			ukd_xen_split_feed(&c->split, buf, (size_t)n, 0, console_write, c);
			continue;
		}
		if (n == -2 && !(events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)))
			break; /* nothing more now */
		if (n == -1)
			log_debug("backend", "%s: console: %s", c->name, virGetLastErrorMessage());
		eof = 1;
		break;
	}
	pthread_mutex_unlock(&c->io);
	/* a stopped domain's console is over once its status line is in */
	pthread_mutex_lock(&consoles_lock);
	end = (eof || (c->stopped && c->got_status)) && console_claim_locked(c);
	pthread_mutex_unlock(&consoles_lock);
	if (end)
		console_end(c);
}

static void console_drain_over(int timer, void *opaque)
{
	struct xen_console *c = opaque;
	int end;

	(void)timer;
	pthread_mutex_lock(&consoles_lock);
	end = console_claim_locked(c);
	pthread_mutex_unlock(&consoles_lock);
	if (!end)
		return;
	log_warn("backend", "%s: no exit status on its console %d ms after the domain stopped",
	         c->name, DRAIN_MS);
	console_end(c);
}

int ukd_xen_console_defer_stop(const char *name, const char *uuid)
{
	struct xen_console *c;
	int deferred = 0, end = 0;

	pthread_mutex_lock(&consoles_lock);
	if ((c = console_find_locked(name))) {
		if (!c->stopped) {
			c->stopped = 1;
			snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
			if (c->got_status)
				end = console_claim_locked(c);
			else
				c->timer =
				        virEventAddTimeout(DRAIN_MS, console_drain_over, c, NULL);
		}
		deferred = 1; /* a second event (SHUTDOWN, then STOPPED): reported once, later */
	}
	pthread_mutex_unlock(&consoles_lock);
	if (end)
		console_end(c);
	return deferred;
}

int ukd_xen_console_draining(const char *name)
{
	struct xen_console *c;
	int r;

	/* (one being ended reports the stop once its domain is destroyed) */
	pthread_mutex_lock(&consoles_lock);
	for (c = consoles, r = 0; c && !r; c = c->next)
		r = c->state != CONSOLE_CLOSED && c->stopped && !strcmp(c->name, name);
	pthread_mutex_unlock(&consoles_lock);
	return r;
}

int ukd_xen_console_end(const char *name)
{
	struct xen_console *c;
	int end;

	pthread_mutex_lock(&consoles_lock);
	end = console_claim_locked(c = console_find_locked(name));
	pthread_mutex_unlock(&consoles_lock);
	return end ? console_end(c) : 0;
}

static int open_append(const char *path, uk_err_t *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		uk_err_errno(err, errno, "open %s", path);
	return fd;
}

/*
 * Opens (dom)'s console stream into c->st. Not forced at first: taking over a stream libvirtd
 * still holds (a killed ukd's, its disconnect not processed yet) locks the two locks of the
 * deadlock above in the other order while that stream closes. So a busy console is tried again
 * for up to 5 s, and only then taken over.
 */
static int console_stream_open(virConnectPtr conn, virDomainPtr dom, struct xen_console *c)
{
	for (int tries = 0;; tries++) {
		unsigned flags = tries < 50 ? 0 : VIR_DOMAIN_CONSOLE_FORCE;
		virErrorPtr e;

		if (!(c->st = virStreamNew(conn, VIR_STREAM_NONBLOCK)))
			return -1;
		if (virDomainOpenConsole(dom, NULL, c->st, flags) == 0)
			return 0;
		e = virGetLastError();
		if (flags || !e || !e->message || !strstr(e->message, "Active console session"))
			return -1; /* (the error stays the thread's last) */
		virStreamFree(c->st);
		c->st = NULL;
		nanosleep(&(struct timespec){0, 100000000}, NULL);
	}
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
	pthread_mutex_init(&c->io, NULL);
	c->conn = conn;
	virConnectRef(conn);
	c->timer = -1;
	c->stopped_fn = stopped;
	c->opaque = opaque;
	c->status_fd = -1;
	if ((c->console_fd = open_append(console_log, err)) < 0 ||
	    (c->status_fd = open_append(status_log, err)) < 0)
		goto fail;
	if (console_stream_open(conn, dom, c) < 0 ||
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
	char console_log[4096], status_log[4096], name[64], *meta;
	int r;

	/* (every libvirt call clears the thread's last error: the name is taken first) */
	snprintf(name, sizeof(name), "%s", virDomainGetName(dom));
	pthread_mutex_lock(&consoles_lock);
	r = console_find_locked(name) != NULL;
	pthread_mutex_unlock(&consoles_lock);
	if (r)
		return 0; /* open */
	meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, UKD_XEN_META_URI, 0);
	if (!meta)
		return uk_err_internal(err, "domain %s: no console files in its metadata (%s)",
		                       name, virGetLastErrorMessage());
	r = meta_attr(meta, "console", console_log, sizeof(console_log)) < 0 ||
	    meta_attr(meta, "status", status_log, sizeof(status_log)) < 0;
	free(meta);
	if (r)
		return uk_err_internal(err, "domain %s: malformed console files in its metadata",
		                       name);
	r = ukd_xen_console_open(conn, dom, console_log, status_log, stopped, opaque, err);
	if (r == 0)
		log_info("backend", "%s: console attached again", name);
	return r;
}

int ukd_xen_block_stats(virDomainPtr dom, struct ukd_vm_stats *st)
{
	char targets[UKD_MOUNTS_MAX][UKD_XEN_TARGET_MAX];
	char *xml = virDomainGetXMLDesc(dom, 0);
	int64_t rd = 0, wr = 0;
	int n;

	if (!xml)
		return -1;
	n = ukd_xen_xml_disk_targets(xml, targets, UKD_MOUNTS_MAX);
	free(xml);
	/* blkback's statistics/{rd,wr}_sect in sysfs, times 512, as libvirt reads them */
	for (int i = 0; i < n; i++) {
		virDomainBlockStatsStruct bs;
		if (virDomainBlockStats(dom, targets[i], &bs, sizeof(bs)) < 0)
			return -1;
		rd += bs.rd_bytes > 0 ? bs.rd_bytes : 0;
		wr += bs.wr_bytes > 0 ? bs.wr_bytes : 0;
	}
	st->blk_read = rd;
	st->blk_write = wr;
	return 0;
}

void ukd_xen_console_close_all(void)
{
	pthread_mutex_lock(&consoles_lock);
	for (struct xen_console *c = consoles; c; c = c->next)
		if (c->state == CONSOLE_OPEN) {
			/* a stopped domain stays preserved: the next ukd's lookup ends it */
			c->state = CONSOLE_CLOSED;
			if (c->timer >= 0)
				virEventRemoveTimeout(c->timer);
			virStreamEventRemoveCallback(c->st);
			virStreamAbort(c->st);
		}
	pthread_mutex_unlock(&consoles_lock);
	console_reap(-1, NULL);
}
