/* Instance logs: tail/follow/timestamps over console.log, and the pump writing console.ts. */
#include "logs.h"
#include "http.h"
#include "instances.h"
#include "log.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define PUMP_PERIOD_MS 20
/* A follower looks for new bytes this often; it asks sqlite whether the instance still runs only
 * when an instance write happened since it last asked (ukd_store_instance_gen), so the short
 * period costs an atomic-ish load, and `uk run` learns of the exit within a few ms. */
#define FOLLOW_POLL_MS 5

struct ts_rec {
	int64_t off; /* offset just past a '\n' */
	int64_t ns;
};

struct ukd_logs {
	struct ukd *d;
	char id[65];
	int fd, ts_fd, client_fd;
	int follow, timestamps, at_line_start;
	uint64_t gen;    /* instance-write generation when the state was last checked */
	int gen_checked; /* the state was checked at least once */
	int ended;       /* the instance was seen stopped: drain the file, then end */
	off_t pos;
	struct ts_rec *recs;
	size_t n_recs, cap_recs;
	char ts_part[64]; /* partial record line carried between reads of console.ts */
	char pending[64]; /* a timestamp prefix not yet sent */
	size_t pending_len, pending_off;
};

off_t ukd_logs_tail_offset(int fd, off_t size, long n)
{
	char buf[4096];
	off_t end = size;
	long lines = 0;

	if (n < 0)
		return 0;
	if (n == 0)
		return size;
	/* A final newline ends the last line, it does not start another one. */
	while (end > 0) {
		off_t start = end > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) : 0;
		ssize_t got = pread(fd, buf, (size_t)(end - start), start);
		if (got <= 0)
			return 0;
		for (ssize_t i = got - 1; i >= 0; i--) {
			if (buf[i] != '\n' || start + i == size - 1)
				continue;
			if (++lines == n)
				return start + i + 1;
		}
		end = start;
	}
	return 0;
}

/* Reads new records from console.ts. */
static void ts_load(struct ukd_logs *l)
{
	char buf[4096 + 64];
	ssize_t n;

	while (l->ts_fd >= 0) {
		size_t carry = strlen(l->ts_part);
		memcpy(buf, l->ts_part, carry);
		n = read(l->ts_fd, buf + carry, sizeof(buf) - carry - 1);
		if (n <= 0)
			return;
		buf[carry + (size_t)n] = 0;
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			long long off, ns;
			*nl = 0;
			if (sscanf(line, "%lld %lld", &off, &ns) == 2) {
				if (l->n_recs == l->cap_recs) {
					size_t cap = l->cap_recs ? l->cap_recs * 2 : 256;
					struct ts_rec *r = realloc(l->recs, cap * sizeof(*r));
					if (!r)
						return;
					l->recs = r;
					l->cap_recs = cap;
				}
				l->recs[l->n_recs++] = (struct ts_rec){off, ns};
			}
			line = nl + 1;
		}
		snprintf(l->ts_part, sizeof(l->ts_part), "%s", strlen(line) < 60 ? line : "");
	}
}

/* The arrival time of the line starting at (pos): the first record past it, else now. */
static int64_t ts_lookup(struct ukd_logs *l, off_t pos)
{
	size_t lo = 0, hi;

	ts_load(l);
	hi = l->n_recs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (l->recs[mid].off <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->n_recs ? l->recs[lo].ns : ukd_now_ns();
}

struct ukd_logs *ukd_logs_open(struct ukd *d, const char *id, long tail, int follow, int timestamps,
                               int client_fd, uk_err_t *err)
{
	struct ukd_logs *l = calloc(1, sizeof(*l));
	char path[PATH_MAX];
	struct stat st;

	if (!l) {
		uk_err_errno(err, ENOMEM, "logs");
		return NULL;
	}
	*l = (struct ukd_logs){.d = d,
	                       .fd = -1,
	                       .ts_fd = -1,
	                       .client_fd = client_fd,
	                       .follow = follow,
	                       .timestamps = timestamps,
	                       .at_line_start = 1};
	snprintf(l->id, sizeof(l->id), "%s", id);
	ukd_instance_path(d, id, "console.log", path, sizeof(path));
	l->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (l->fd < 0 && errno != ENOENT) {
		uk_err_errno(err, errno, "open %s", path);
		free(l);
		return NULL;
	}
	if (l->fd >= 0 && fstat(l->fd, &st) == 0)
		l->pos = ukd_logs_tail_offset(l->fd, st.st_size, tail);
	if (timestamps) {
		ukd_instance_path(d, id, "console.ts", path, sizeof(path));
		l->ts_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	return l;
}

static int logs_running(struct ukd_logs *l)
{
	struct ukd_instance in;
	int running;

	if (ukd_store_instance_find(l->d->store, l->id, &in, NULL) < 0)
		return 0;
	/* A follow opened before the start (how `uk run` avoids missing output) waits too. */
	running = !strcmp(in.state, "running") || !strcmp(in.state, "created");
	ukd_instance_clear(&in);
	return running;
}

/* Copies file bytes from pos into buf, stopping after a newline when timestamping. */
static ssize_t logs_copy(struct ukd_logs *l, char *buf, size_t max)
{
	ssize_t n = pread(l->fd, buf, max, l->pos);

	if (n <= 0)
		return n;
	if (l->timestamps) {
		char *nl = memchr(buf, '\n', (size_t)n);
		if (nl)
			n = nl - buf + 1;
	}
	l->pos += n;
	l->at_line_start = buf[n - 1] == '\n';
	return n;
}

ssize_t ukd_logs_read(void *p, char *buf, size_t max)
{
	struct ukd_logs *l = p;

	for (;;) {
		if (l->pending_off < l->pending_len) {
			size_t n = l->pending_len - l->pending_off;
			n = n < max ? n : max;
			memcpy(buf, l->pending + l->pending_off, n);
			l->pending_off += n;
			return (ssize_t)n;
		}
		if (l->fd >= 0) {
			char c;
			if (l->timestamps && l->at_line_start && pread(l->fd, &c, 1, l->pos) == 1) {
				ukd_time_format(ts_lookup(l, l->pos), l->pending,
				                sizeof(l->pending) - 1);
				strcat(l->pending, " ");
				l->pending_len = strlen(l->pending);
				l->pending_off = 0;
				l->at_line_start = 0;
				continue;
			}
			ssize_t n = logs_copy(l, buf, max);
			if (n > 0)
				return n;
			if (n < 0)
				return -1;
		}
		if (!l->follow || l->d->stopping)
			return 0;
		uint64_t gen = ukd_store_instance_gen(l->d->store);
		int changed = !l->gen_checked || gen != l->gen;

		l->gen = gen;
		l->gen_checked = 1;
		if (changed)
			l->ended = !logs_running(l);
		if (l->ended) {
			/* Bytes that landed between our last read and the state check. */
			struct stat st;
			if (l->fd >= 0 && fstat(l->fd, &st) == 0 && st.st_size > l->pos)
				continue;
			return 0;
		}
		if (l->fd < 0) {
			char path[PATH_MAX];
			ukd_instance_path(l->d, l->id, "console.log", path, sizeof(path));
			l->fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		if (ukd_http_wait(l->client_fd, -1, FOLLOW_POLL_MS) < 0)
			return -1;
	}
}

void ukd_logs_close(void *p)
{
	struct ukd_logs *l = p;

	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	if (l->ts_fd >= 0)
		close(l->ts_fd);
	free(l->recs);
	free(l);
}

/* ---- the pump ---- */

struct watched {
	char id[65];
	off_t size; /* bytes of console.log already timestamped */
	int seen;
	struct watched *next;
};

static struct {
	pthread_t thread;
	int running;
	volatile int quit;
	struct ukd *d;
	struct watched *list;
} pump;

static struct watched *pump_get(const char *id, int first_pass, off_t size)
{
	struct watched *w;

	for (w = pump.list; w; w = w->next)
		if (!strcmp(w->id, id))
			return w;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->size = first_pass ? size : 0; /* lines from before ukd started keep no time */
	w->next = pump.list;
	pump.list = w;
	return w;
}

/* Timestamps the lines console.log gained; (size): its size a stat just saw (nothing grew: no
 * open, so a pass over idle instances costs one stat each). */
static void pump_scan_file(struct watched *w, const char *dir, off_t size)
{
	char path[PATH_MAX + 16], buf[8192], rec[64];
	int64_t now = ukd_now_ns();
	_cleanup_close_ int fd = -1, ts = -1;
	ssize_t n;

	if (size <= w->size)
		return;
	snprintf(path, sizeof(path), "%s/console.log", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	snprintf(path, sizeof(path), "%s/console.ts", dir);
	ts = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	while (ts >= 0 && (n = pread(fd, buf, sizeof(buf), w->size)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n')
				continue;
			int len = snprintf(rec, sizeof(rec), "%lld %lld\n",
			                   (long long)(w->size + i + 1), (long long)now);
			if (write(ts, rec, (size_t)len) != len)
				return;
		}
		w->size += n;
	}
}

static void pump_pass(int first_pass)
{
	char dir[256], sub[512];
	DIR *dp;
	struct dirent *e;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/instances", pump.d->cfg.root);
	if (!(dp = opendir(dir)))
		return;
	for (struct watched *w = pump.list; w; w = w->next)
		w->seen = 0;
	while ((e = readdir(dp))) {
		if (strlen(e->d_name) != 64)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		char logp[600];
		snprintf(logp, sizeof(logp), "%s/console.log", sub);
		off_t size = stat(logp, &st) == 0 ? st.st_size : 0;
		struct watched *w = pump_get(e->d_name, first_pass, size);
		if (!w)
			continue;
		w->seen = 1;
		pump_scan_file(w, sub, size);
	}
	closedir(dp);
	for (struct watched **pp = &pump.list; *pp;) {
		if (!(*pp)->seen) {
			struct watched *w = *pp;
			*pp = w->next;
			free(w);
		} else {
			pp = &(*pp)->next;
		}
	}
}

static void *pump_thread(void *p)
{
	(void)p;
	pump_pass(1);
	while (!pump.quit) {
		nanosleep(&(struct timespec){0, PUMP_PERIOD_MS * 1000000L}, NULL);
		pump_pass(0);
	}
	return NULL;
}

int ukd_logs_pump_start(struct ukd *d, uk_err_t *err)
{
	pump.d = d;
	if (pthread_create(&pump.thread, NULL, pump_thread, NULL) != 0)
		return uk_err_internal(err, "start the log pump thread");
	pump.running = 1;
	return 0;
}

void ukd_logs_pump_stop(void)
{
	if (!pump.running)
		return;
	pump.quit = 1;
	pthread_join(pump.thread, NULL);
	pump.running = 0;
	while (pump.list) {
		struct watched *w = pump.list;
		pump.list = w->next;
		free(w);
	}
}
