/* The health checker: one thread probing every running instance's check with non-blocking
 * sockets, so a stalled guest only ever costs its own timeout; state, events, unhealthy kills. */
#include "health.h"
#include "backend.h"
#include "backends.h"
#include "events.h"
#include "instance_lock.h"
#include "log.h"
#include "store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define TICK_MS 200                /* longest poll: how fast new instances and quit are noticed */
#define TCP_SETTLE_NS 1000000000LL /* see probe_tcp_settled */
#define MAX_PROBES 1024

enum phase { IDLE, CONNECTING, SENDING, READING, SETTLING };

struct result {
	int64_t start, end;
	int ok;
	char output[160];
};

struct check {
	char id[65], name[128], uuid[40];
	struct ukd_health_cfg cfg;
	struct sockaddr_in addr;
	char endpoint[32];
	int64_t started; /* this run's start */
	int active;      /* running with a check this pass */
	int killed;      /* ukd killed run (uuid) for being unhealthy */
	char why[200];
	struct ukd_health_state st;
	struct result log[UKD_HEALTH_LOG_MAX];
	int nlog;
	/* the probe in flight */
	enum phase phase;
	int fd, cerr; /* cerr: connect's immediate failure */
	int64_t due, pstart, deadline;
	char req[UKD_HEALTH_PATH_MAX + 128];
	size_t reqlen, sent, got;
	char resp[64];
	struct check *next;
};

/* What the thread does after dropping the lock. */
struct action {
	char id[65], name[128], uuid[40];
	enum ukd_health_status status;
	int kill;
};

static struct {
	pthread_mutex_t lock; /* a leaf: never held while taking another lock */
	pthread_cond_t cond;
	pthread_t thread;
	int running, quit, kills;
	uint64_t gen; /* ukd_health_gen */
	struct check *head;
} H = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* ---- the instances to check ---- */

struct want {
	char id[65], name[128], uuid[40];
	struct ukd_health_cfg cfg;
	int64_t started;
	struct want *next;
};

static int want_one(void *ctx, struct ukd_instance *in)
{
	struct want **head = ctx, *w;

	if (in->state != UKD_STATE_RUNNING || in->spec.health.kind == UKD_HEALTH_NONE ||
	    !(w = calloc(1, sizeof(*w))))
		return 0;
	memcpy(w->id, in->id, sizeof(w->id));
	memcpy(w->name, in->name, sizeof(w->name));
	memcpy(w->uuid, in->domain_uuid, sizeof(w->uuid));
	w->cfg = in->spec.health;
	w->started = in->started;
	w->next = *head;
	*head = w;
	return 0;
}

static void endpoint_file(struct ukd *d, const char *id, char *path, size_t len)
{
	ukd_instance_path(d, id, "health", path, len);
}

/* Reads "IP:PORT" from the instance's health file into (c). */
static int endpoint_read(struct ukd *d, struct check *c)
{
	char path[PATH_MAX], ip[20];
	unsigned port;
	FILE *f;
	int ok;

	endpoint_file(d, c->id, path, sizeof(path));
	if (!(f = fopen(path, "re")))
		return -1;
	ok = fscanf(f, "%15[0-9.]:%u", ip, &port) == 2 && port > 0 && port < 65536;
	fclose(f);
	memset(&c->addr, 0, sizeof(c->addr));
	c->addr.sin_family = AF_INET;
	c->addr.sin_port = htons((uint16_t)port);
	if (!ok || inet_pton(AF_INET, ip, &c->addr.sin_addr) != 1)
		return -1;
	snprintf(c->endpoint, sizeof(c->endpoint), "%s:%u", ip, port);
	return 0;
}

static void probe_close(struct check *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->phase = IDLE;
}

static struct check *check_find(const char *id)
{
	for (struct check *c = H.head; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

/* A new run of (c): starting again, first probe one interval after the start (as Docker). */
static void check_reset(struct ukd *d, struct check *c, const struct want *w)
{
	probe_close(c);
	memcpy(c->uuid, w->uuid, sizeof(c->uuid));
	c->cfg = w->cfg;
	c->started = w->started;
	c->st = (struct ukd_health_state){UKD_HEALTH_STARTING, 0};
	c->killed = 0;
	__atomic_add_fetch(&H.gen, 1, __ATOMIC_RELAXED);
	c->due = w->started + c->cfg.interval_ns;
	if (endpoint_read(d, c) < 0) {
		c->endpoint[0] = 0;
		log_warn("health",
		         "%s: no health endpoint recorded (yet): not checked until there is",
		         w->name);
	}
}

/* Merges the running instances (wants) into the checks; drops checks of removed instances. */
static void checks_refresh(struct ukd *d, struct want *wants, const char *const *ids, size_t nids)
{
	for (struct check *c = H.head; c; c = c->next)
		c->active = 0;
	for (struct want *w = wants; w; w = w->next) {
		struct check *c = check_find(w->id);
		if (!c) {
			if (!(c = calloc(1, sizeof(*c))))
				continue;
			c->fd = -1;
			memcpy(c->id, w->id, sizeof(c->id));
			c->next = H.head;
			H.head = c;
		}
		memcpy(c->name, w->name, sizeof(c->name));
		if (strcmp(c->uuid, w->uuid) || c->started != w->started)
			check_reset(d, c, w);
		else if (!c->endpoint[0] && endpoint_read(d, c) < 0)
			c->endpoint[0] = 0; /* still none: checked once it appears */
		c->active = c->endpoint[0] != 0;
	}
	for (struct check **pp = &H.head; *pp;) {
		struct check *c = *pp;
		int exists = 0;
		if (!c->active)
			probe_close(c);
		for (size_t i = 0; i < nids && !exists; i++)
			exists = !strcmp(ids[i], c->id);
		if (!exists) {
			*pp = c->next;
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

static int collect_id(void *ctx, struct ukd_instance *in)
{
	struct {
		char **v;
		size_t n, cap;
	} *ids = ctx;

	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 64;
		char **v = realloc(ids->v, cap * sizeof(*v));
		if (!v)
			return -1;
		ids->v = v, ids->cap = cap;
	}
	if (!(ids->v[ids->n] = strdup(in->id)))
		return -1;
	ids->n++;
	return 0;
}

/* Reads the store without the health lock (the store may call back into us through ps). */
static void refresh(struct ukd *d)
{
	struct want *wants = NULL;
	struct {
		char **v;
		size_t n, cap;
	} ids = {0};
	uk_err_t err = {0};

	if (ukd_store_instance_each(d->store, want_one, &wants, &err) < 0 ||
	    ukd_store_instance_each(d->store, collect_id, &ids, &err) < 0) {
		log_warn("health", "list instances: %s", err.message);
	} else {
		pthread_mutex_lock(&H.lock);
		checks_refresh(d, wants, (const char *const *)ids.v, ids.n);
		pthread_mutex_unlock(&H.lock);
	}
	for (size_t i = 0; i < ids.n; i++)
		free(ids.v[i]);
	free(ids.v);
	while (wants) {
		struct want *n = wants->next;
		free(wants);
		wants = n;
	}
}

/* ---- probes ---- */

static void probe_start(struct check *c, int64_t now)
{
	int r;

	c->pstart = now;
	c->deadline = now + c->cfg.timeout_ns;
	c->sent = c->got = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		c->cerr = errno;
		c->phase = CONNECTING; /* fails at once in probe_step */
		return;
	}
	c->reqlen = (size_t)snprintf(c->req, sizeof(c->req),
	                             "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ukd-health\r\n"
	                             "Connection: close\r\n\r\n",
	                             c->cfg.path, c->endpoint);
	r = connect(c->fd, (struct sockaddr *)&c->addr, sizeof(c->addr));
	c->cerr = r == 0 || errno == EINPROGRESS ? 0 : errno;
	c->phase = CONNECTING; /* the outcome is read in probe_step */
}

/* Ends the probe of (c): closes it and fills (res) with (ok) and the output; returns 1 (done). */
static int probe_finish(struct check *c, struct result *res, int ok, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int probe_finish(struct check *c, struct result *res, int ok, const char *fmt, ...)
{
	va_list ap;

	res->start = c->pstart;
	res->end = ukd_now_ns();
	res->ok = ok;
	va_start(ap, fmt);
	vsnprintf(res->output, sizeof(res->output), fmt, ap);
	va_end(ap);
	probe_close(c);
	return 1;
}

/*
 * Through QEMU's user networking the host-side connect always succeeds at once: slirp accepts,
 * then connects to the guest, and closes our side if the guest refuses. So a TCP check passes
 * when the connection is still open after min(timeout / 2, 1 s) (or data came), and fails if it
 * was closed by then.
 */
static int probe_tcp_settled(struct check *c, short revents, struct result *res, int64_t now)
{
	char b;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t n = recv(c->fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);
		if (n <= 0 && !(n < 0 && errno == EAGAIN))
			return probe_finish(
			        c, res, 0,
			        "connection refused: the guest closed the connection to "
			        "port %u",
			        c->cfg.port);
		if (n > 0)
			return probe_finish(c, res, 1, "connected to port %u", c->cfg.port);
	}
	if (now >=
	    c->pstart + (c->cfg.timeout_ns < TCP_SETTLE_NS ? c->cfg.timeout_ns / 2 : TCP_SETTLE_NS))
		return probe_finish(c, res, 1, "connected to port %u", c->cfg.port);
	return 0;
}

static int probe_read(struct check *c, struct result *res)
{
	ssize_t n = recv(c->fd, c->resp + c->got, sizeof(c->resp) - 1 - c->got, MSG_DONTWAIT);
	int code;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return probe_finish(c, res, 0,
		                    "connection %s before an HTTP status line (is the guest "
		                    "listening on port %u?)",
		                    n < 0 ? "reset" : "closed", c->cfg.port);
	c->got += (size_t)n;
	code = ukd_health_http_status(c->resp, c->got);
	if (code < 0)
		return probe_finish(c, res, 0, "not an HTTP response from port %u", c->cfg.port);
	if (code == 0)
		return c->got < sizeof(c->resp) - 1 ? 0 : probe_finish(c, res, 0, "bad response");
	return probe_finish(c, res, code >= 200 && code < 400, "HTTP %d", code);
}

/* Advances (c)'s probe after poll gave (revents); 1 with (res) when it is over. */
static int probe_step(struct check *c, short revents, struct result *res, int64_t now)
{
	int e = 0;
	socklen_t el = sizeof(e);

	if (c->fd < 0)
		return probe_finish(c, res, 0, "socket: %s", strerror(c->cerr));
	if (c->phase == CONNECTING) {
		if (c->cerr)
			return probe_finish(c, res, 0, "connect %s: %s", c->endpoint,
			                    strerror(c->cerr));
		if (!revents && now < c->deadline)
			return 0;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		if (e)
			return probe_finish(c, res, 0, "connect %s: %s", c->endpoint, strerror(e));
		if (!revents)
			goto timeout;
		c->phase = c->cfg.kind == UKD_HEALTH_TCP ? SETTLING : SENDING;
		revents = 0;
	}
	if (c->phase == SETTLING)
		return probe_tcp_settled(c, revents, res, now);
	if (c->phase == SENDING && (revents & (POLLOUT | POLLERR | POLLHUP) || !c->sent)) {
		ssize_t n = send(c->fd, c->req + c->sent, c->reqlen - c->sent,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return probe_finish(c, res, 0, "send to %s: %s", c->endpoint,
			                    strerror(errno));
		if (n > 0 && (c->sent += (size_t)n) == c->reqlen)
			c->phase = READING;
	} else if (c->phase == READING && revents) {
		int r = probe_read(c, res);
		if (r)
			return r;
	}
	if (now < c->deadline)
		return 0;
timeout:
	return probe_finish(c, res, 0, "timed out after %lld ms (%s)",
	                    (long long)(c->cfg.timeout_ns / 1000000),
	                    c->phase == CONNECTING ? "connecting"
	                    : c->phase == READING  ? "no HTTP status line"
	                                           : "sending the request");
}

static short probe_events(const struct check *c)
{
	switch (c->phase) {
	case CONNECTING:
	case SENDING:
		return POLLOUT;
	case READING:
	case SETTLING:
		return POLLIN;
	default:
		return 0;
	}
}

/* ---- results ---- */

static void log_add(struct check *c, const struct result *r)
{
	if (c->nlog == UKD_HEALTH_LOG_MAX) {
		memmove(c->log, c->log + 1, sizeof(c->log[0]) * (UKD_HEALTH_LOG_MAX - 1));
		c->nlog--;
	}
	c->log[c->nlog++] = *r;
}

/* 1 if (id)'s policy is on-unhealthy with restarts left: killing a run that will not be
 * restarted would only turn an unhealthy instance into a dead one. */
static int policy_on_unhealthy(struct ukd *d, const char *id)
{
	struct ukd_instance in;
	const struct ukd_restart_policy *rp = &in.spec.restart;
	int r;

	if (ukd_store_instance_find(d->store, id, &in, NULL) < 0)
		return 0;
	r = rp->kind == UKD_RESTART_ON_UNHEALTHY &&
	    (rp->max_retry == 0 || in.restart_count < rp->max_retry);
	ukd_instance_clear(&in);
	return r;
}

/* Applies (r) to (c); fills (a) and returns 1 when the status changed. */
static int result_apply(struct check *c, const struct result *r, struct action *a)
{
	enum ukd_health_status before = c->st.status, now;

	log_add(c, r);
	__atomic_add_fetch(&H.gen, 1, __ATOMIC_RELAXED);
	now = ukd_health_next(&c->st, &c->cfg, c->started, r->end, r->ok);
	c->due = r->end + c->cfg.interval_ns;
	if (now == before)
		return 0;
	memcpy(a->id, c->id, sizeof(a->id));
	memcpy(a->name, c->name, sizeof(a->name));
	memcpy(a->uuid, c->uuid, sizeof(a->uuid));
	a->status = now;
	a->kill = now == UKD_HEALTH_UNHEALTHY;
	if (a->kill)
		snprintf(c->why, sizeof(c->why),
		         "killed by ukd: unhealthy after %d failing checks (last: %.120s)",
		         c->st.failing_streak, r->output);
	return 1;
}

struct kill_job {
	struct ukd *d;
	struct action a;
};

static void *kill_thread(void *p)
{
	struct kill_job *k = p;
	struct ukd *d = k->d;
	struct ukd_instance in;
	uk_err_t err = {0};
	int go = 0;

	ukd_instance_lock(d, k->a.id);
	if (!d->stopping && ukd_store_instance_find(d->store, k->a.id, &in, NULL) == 0) {
		/* Only the run that was unhealthy, and not one the user is stopping. */
		go = in.state == UKD_STATE_RUNNING && !strcmp(in.domain_uuid, k->a.uuid) &&
		     !in.stop_requested;
		if (go) {
			pthread_mutex_lock(&H.lock);
			struct check *c = check_find(k->a.id);
			if (c && !strcmp(c->uuid, k->a.uuid))
				c->killed = 1;
			pthread_mutex_unlock(&H.lock);
			log_info("health", "%s is unhealthy: killing it for its restart policy",
			         in.name);
		}
		if (go && ukd_backend_destroy(ukd_backend_of(d, &in), in.domain_name, &err) < 0)
			log_error("health", "kill unhealthy %s: %s", in.name, err.message);
		ukd_instance_clear(&in);
	}
	ukd_instance_unlock(d, k->a.id);
	pthread_mutex_lock(&H.lock);
	H.kills--;
	pthread_cond_broadcast(&H.cond);
	pthread_mutex_unlock(&H.lock);
	free(k);
	return NULL;
}

static void action_do(struct ukd *d, const struct action *a)
{
	char attrs[64];
	struct kill_job *k;
	pthread_t t;

	snprintf(attrs, sizeof(attrs), "{\"health_status\":\"%s\"}",
	         ukd_health_status_name(a->status));
	if (a->status != UKD_HEALTH_STARTING) {
		char action[48];
		snprintf(action, sizeof(action), "health_status: %s",
		         ukd_health_status_name(a->status));
		ukd_events_emit(d, "instance", action, a->id, a->name, attrs);
	}
	log_info("health", "%s: %s", a->name, ukd_health_status_name(a->status));
	if (!a->kill || !policy_on_unhealthy(d, a->id) || !(k = calloc(1, sizeof(*k))))
		return;
	k->d = d;
	k->a = *a;
	pthread_mutex_lock(&H.lock);
	H.kills++;
	pthread_mutex_unlock(&H.lock);
	/* destroying a guest takes a second or two: not on the checker thread */
	if (pthread_create(&t, NULL, kill_thread, k) != 0) {
		pthread_mutex_lock(&H.lock);
		H.kills--;
		pthread_mutex_unlock(&H.lock);
		free(k);
		return;
	}
	pthread_detach(t);
}

/* ---- the thread ---- */

/* One pass: start due probes, poll, advance; (acts) receives status changes. */
static size_t pass(struct action *acts, size_t max)
{
	struct pollfd pfd[MAX_PROBES];
	struct check *who[MAX_PROBES];
	size_t n = 0, nact = 0;
	int64_t now = ukd_now_ns(), wake = now + (int64_t)TICK_MS * 1000000;
	int timeout_ms;

	pthread_mutex_lock(&H.lock);
	for (struct check *c = H.head; c && n < MAX_PROBES; c = c->next) {
		if (!c->active || c->killed)
			continue;
		if (c->phase == IDLE && now >= c->due)
			probe_start(c, now);
		if (c->phase == IDLE) {
			wake = c->due < wake ? c->due : wake;
			continue;
		}
		wake = c->deadline < wake ? c->deadline : wake;
		if (c->phase == SETTLING && c->pstart + TCP_SETTLE_NS < wake)
			wake = c->pstart + TCP_SETTLE_NS;
		pfd[n] = (struct pollfd){.fd = c->fd, .events = probe_events(c)};
		who[n++] = c;
	}
	pthread_mutex_unlock(&H.lock);
	/* Only this thread changes the list, so (who) stays valid without the lock. */
	timeout_ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
	if (poll(pfd, n, timeout_ms) < 0 && errno != EINTR)
		log_warn("health", "poll: %s", strerror(errno));
	now = ukd_now_ns();
	pthread_mutex_lock(&H.lock);
	for (size_t i = 0; i < n; i++) {
		struct result r;
		if (probe_step(who[i], pfd[i].revents, &r, now) && nact < max &&
		    result_apply(who[i], &r, &acts[nact]))
			nact++;
	}
	pthread_mutex_unlock(&H.lock);
	return nact;
}

static void *health_thread(void *p)
{
	struct ukd *d = p;
	struct action acts[64];
	uint64_t gen = 0;
	int64_t last = 0;

	for (;;) {
		pthread_mutex_lock(&H.lock);
		int quit = H.quit;
		pthread_mutex_unlock(&H.lock);
		if (quit || d->stopping)
			break;
		/* an instance started or stopped, or a second passed (a restart reuses rows) */
		if (ukd_store_instance_gen(d->store) != gen || ukd_now_ns() - last > 1000000000) {
			gen = ukd_store_instance_gen(d->store);
			last = ukd_now_ns();
			refresh(d);
		}
		size_t n = pass(acts, sizeof(acts) / sizeof(acts[0]));
		for (size_t i = 0; i < n; i++)
			action_do(d, &acts[i]);
	}
	return NULL;
}

int ukd_health_start(struct ukd *d, uk_err_t *err)
{
	if (pthread_create(&H.thread, NULL, health_thread, d) != 0)
		return uk_err_internal(err, "start the health checker thread");
	H.running = 1;
	return 0;
}

void ukd_health_stop(struct ukd *d)
{
	(void)d;
	if (!H.running)
		return;
	pthread_mutex_lock(&H.lock);
	H.quit = 1;
	while (H.kills > 0)
		pthread_cond_wait(&H.cond, &H.lock);
	pthread_mutex_unlock(&H.lock);
	pthread_join(H.thread, NULL);
	H.running = 0;
	while (H.head) {
		struct check *n = H.head->next;
		probe_close(H.head);
		free(H.head);
		H.head = n;
	}
}

/* ---- what the instance service asks ---- */

static int free_port(unsigned *port, uk_err_t *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return uk_err_errno(err, errno, "health check forward: socket");
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0;
	if (r)
		uk_err_errno(err, errno, "health check forward: pick a free port on 127.0.0.1");
	close(fd);
	*port = ntohs(sa.sin_port);
	return r ? -1 : 0;
}

static int endpoint_write(const char *path, const char *ip, unsigned port, uk_err_t *err)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return uk_err_errno(err, errno, "create %s", path);
	fprintf(f, "%s:%u\n", ip, port);
	if (fclose(f) != 0)
		return uk_err_errno(err, errno, "write %s", path);
	return 0;
}

int ukd_health_prepare(struct ukd *d, const char *id, const struct ukd_health_cfg *hcp,
                       const struct ukd_port *ports, int n, struct ukd_port *fwd, uk_err_t *err)
{
	const struct ukd_health_cfg hc = *hcp;
	char path[PATH_MAX], ip[16] = "127.0.0.1";
	unsigned port = 0;
	int added = 0;

	endpoint_file(d, id, path, sizeof(path));
	if (hc.kind == UKD_HEALTH_NONE) {
		unlink(path);
		return 0;
	}
	for (int i = 0; i < n && !port; i++)
		if (ports[i].guest_port == hc.port && !strcmp(ports[i].proto, "tcp")) {
			port = ports[i].host_port;
			if (strcmp(ports[i].host_ip, "0.0.0.0"))
				snprintf(ip, sizeof(ip), "%s", ports[i].host_ip);
		}
	if (!port) {
		if (free_port(&port, err) < 0)
			return -1;
		memset(fwd, 0, sizeof(*fwd));
		snprintf(fwd->host_ip, sizeof(fwd->host_ip), "127.0.0.1");
		snprintf(fwd->proto, sizeof(fwd->proto), "tcp");
		fwd->host_port = port;
		fwd->guest_port = hc.port;
		added = 1;
	}
	if (endpoint_write(path, ip, port, err) < 0)
		return -1;
	return added;
}

int ukd_health_prepare_at(struct ukd *d, const char *id, const struct ukd_health_cfg *hc,
                          const char *ip, uk_err_t *err)
{
	char path[PATH_MAX];

	endpoint_file(d, id, path, sizeof(path));
	if (hc->kind == UKD_HEALTH_NONE) {
		unlink(path);
		return 0;
	}
	return endpoint_write(path, ip, hc->port, err);
}

int ukd_health_killed(struct ukd *d, const struct ukd_instance *in, char *why, size_t len)
{
	int r = 0;

	(void)d;
	pthread_mutex_lock(&H.lock);
	struct check *c = check_find(in->id);
	if (c && c->killed && !strcmp(c->uuid, in->domain_uuid)) {
		snprintf(why, len, "%s", c->why);
		r = 1;
	}
	pthread_mutex_unlock(&H.lock);
	return r;
}

json_object *ukd_health_json(const struct ukd_instance *in)
{
	json_object *o = NULL, *log;

	pthread_mutex_lock(&H.lock);
	struct check *c = check_find(in->id);
	if (c) {
		o = json_object_new_object();
		log = json_object_new_array();
		json_object_object_add(
		        o, "status", json_object_new_string(ukd_health_status_name(c->st.status)));
		json_object_object_add(o, "failing_streak",
		                       json_object_new_int(c->st.failing_streak));
		json_object_object_add(o, "endpoint", json_object_new_string(c->endpoint));
		for (int i = 0; i < c->nlog; i++) {
			json_object *e = json_object_new_object();
			json_object_object_add(e, "start", uk_json_time_ns(c->log[i].start));
			json_object_object_add(e, "end", uk_json_time_ns(c->log[i].end));
			json_object_object_add(e, "exit_code", json_object_new_int(!c->log[i].ok));
			json_object_object_add(e, "output",
			                       json_object_new_string(c->log[i].output));
			json_object_array_add(log, e);
		}
		json_object_object_add(o, "log", log);
	}
	pthread_mutex_unlock(&H.lock);
	return o;
}

uint64_t ukd_health_gen(void)
{
	return __atomic_load_n(&H.gen, __ATOMIC_RELAXED);
}

void ukd_health_ps_suffix(const struct ukd_instance *in, char *buf, size_t len)
{
	buf[0] = 0;
	if (in->state != UKD_STATE_RUNNING)
		return;
	pthread_mutex_lock(&H.lock);
	struct check *c = check_find(in->id);
	if (c && c->active && !strcmp(c->uuid, in->domain_uuid))
		snprintf(buf, len, " (%s%s)", c->st.status == UKD_HEALTH_STARTING ? "health: " : "",
		         ukd_health_status_name(c->st.status));
	pthread_mutex_unlock(&H.lock);
}
