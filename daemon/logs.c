/* Instance logs: the pump moving QEMU's console into rotated files, and the reader over them. */
#include "logs.h"
#include "http.h"
#include "instance_lock.h"
#include "log.h"
#include "log_opts.h"
#include "store.h"

#include <dirent.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The pump copies an instance's console when inotify says console.raw or status changed, at
 * most once per PUMP_PERIOD_MS (a flooding guest costs 50 passes a second, not one per write),
 * and looks at every instance once per PUMP_FULL_MS in case an event was missed. Without
 * inotify (or a watch refused) it looks at every instance every PUMP_PERIOD_MS. */
#define PUMP_PERIOD_MS 20
#define PUMP_FULL_MS 1000
/* A follower looks for new bytes this often; it asks sqlite whether the instance still runs only
 * when an instance write happened since it last asked (ukd_store_instance_gen), so the short
 * period costs an atomic-ish load, and `uk run` learns of the exit within a few ms. */
#define FOLLOW_POLL_MS 5
/* Rotated files a reader looks for (console.log.1 ...): max-file's upper bound. */
#define SEG_MAX (UKD_LOG_MAX_FILE_MAX + 1)
/* The status channel keeps its last bytes (what ukd_policy_read_status reads: 4 KiB) and
 * more; older blocks are punched out. */
#define STATUS_KEEP (16 << 10)
#define BLOCK 4096
/* How far a line that has begun may take console.log past max-size to end in the same file. */
#define LINE_SLACK 4096

/* The pump and the readers' opening of a file set exclude each other: a rotation renames
 * several files, and a reader that opened half of them before and half after would miss or
 * repeat one. Held for one instance's pass at a time. */
static pthread_mutex_t pump_lock = PTHREAD_MUTEX_INITIALIZER;

struct ts_rec {
	int64_t off; /* offset just past a '\n', in the reader's stream */
	int64_t ns;
};

/* One file of the stream: console.log.N ... console.log; (base) is the stream offset of its
 * first byte. */
struct seg {
	int fd;
	off_t base;
};

struct ukd_logs {
	struct ukd *d;
	char id[65];
	int ts_fd, client_fd;
	int follow, timestamps, at_line_start;
	uint64_t gen;    /* instance-write generation when the state was last checked */
	int gen_checked; /* the state was checked at least once */
	int ended;       /* the instance was seen stopped: drain the file, then end */
	off_t pos;       /* in the stream: all the files one after the other */
	struct seg segs[SEG_MAX];
	int nsegs; /* the last one is console.log as it was when last looked at */
	off_t ts_base;
	struct ts_rec *recs;
	size_t n_recs, cap_recs;
	char ts_part[64]; /* partial record line carried between reads of console.ts */
	char pending[64]; /* a timestamp prefix not yet sent */
	size_t pending_len, pending_off;
};

typedef ssize_t (*pread_fn)(void *ctx, char *buf, size_t len, off_t off);

static off_t tail_offset(pread_fn rd, void *ctx, off_t size, long n)
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
		ssize_t got = 0;
		/* (rd) may stop at a file boundary of the stream */
		while (got < end - start) {
			ssize_t r = rd(ctx, buf + got, (size_t)(end - start - got), start + got);
			if (r <= 0)
				return 0;
			got += r;
		}
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

static ssize_t fd_pread(void *ctx, char *buf, size_t len, off_t off)
{
	return pread(*(int *)ctx, buf, len, off);
}

off_t ukd_logs_tail_offset(int fd, off_t size, long n)
{
	return tail_offset(fd_pread, &fd, size, n);
}

/* Reads from the stream at (off), within one file; 0 at the end of the last. */
static ssize_t stream_pread(void *ctx, char *buf, size_t len, off_t off)
{
	struct ukd_logs *l = ctx;

	for (int i = l->nsegs - 1; i >= 0; i--) {
		if (off < l->segs[i].base)
			continue;
		if (i + 1 < l->nsegs && (off_t)len > l->segs[i + 1].base - off)
			len = (size_t)(l->segs[i + 1].base - off);
		if (l->segs[i].fd < 0 || len == 0)
			return 0;
		return pread(l->segs[i].fd, buf, len, off - l->segs[i].base);
	}
	return 0;
}

/* Reads the records of one console.ts (fd) into the reader, offsets shifted by (base); (part)
 * carries a partial line between calls. */
static void ts_read(struct ukd_logs *l, int fd, off_t base, char *part, size_t part_len)
{
	char buf[4096 + 64];
	ssize_t n;

	while (fd >= 0) {
		size_t carry = strlen(part);
		memcpy(buf, part, carry);
		n = read(fd, buf + carry, sizeof(buf) - carry - 1);
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
				l->recs[l->n_recs++] = (struct ts_rec){base + off, ns};
			}
			line = nl + 1;
		}
		snprintf(part, part_len, "%s", strlen(line) < 60 ? line : "");
	}
}

/* The arrival time of the line starting at (pos): the first record past it, else now. */
static int64_t ts_lookup(struct ukd_logs *l, off_t pos)
{
	size_t lo = 0, hi;

	ts_read(l, l->ts_fd, l->ts_base, l->ts_part, sizeof(l->ts_part));
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

/* "console.log" (n 0) or "console.log.N", and the same for "console.ts". */
static void seg_name(const char *stem, unsigned n, char *out, size_t len)
{
	if (n)
		snprintf(out, len, "%s.%u", stem, n);
	else
		snprintf(out, len, "%s", stem);
}

static int open_in(struct ukd *d, const char *id, const char *stem, unsigned n)
{
	char name[32], path[PATH_MAX];

	seg_name(stem, n, name, sizeof(name));
	ukd_instance_path(d, id, name, path, sizeof(path));
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Opens the files of (l)'s stream, oldest first; caller holds pump_lock. */
static void logs_open_segs(struct ukd_logs *l)
{
	int fds[SEG_MAX];
	unsigned n = 0;
	off_t base = 0;
	struct stat st;

	/* console.log.1, .2, ... until one is missing; then console.log */
	while (n + 1 < SEG_MAX && (fds[n] = open_in(l->d, l->id, "console.log", n + 1)) >= 0)
		n++;
	for (unsigned i = 0; i < n; i++) {
		l->segs[i] = (struct seg){fds[n - 1 - i], base};
		if (l->timestamps) {
			char part[64] = "";
			int ts = open_in(l->d, l->id, "console.ts", n - i);
			ts_read(l, ts, base, part, sizeof(part));
			if (ts >= 0)
				close(ts);
		}
		base += fstat(l->segs[i].fd, &st) == 0 ? st.st_size : 0;
	}
	l->segs[n] = (struct seg){open_in(l->d, l->id, "console.log", 0), base};
	l->nsegs = (int)n + 1;
	if (l->timestamps) {
		l->ts_fd = open_in(l->d, l->id, "console.ts", 0);
		l->ts_base = base;
	}
}

static off_t stream_size(struct ukd_logs *l)
{
	struct seg *s = &l->segs[l->nsegs - 1];
	struct stat st;

	return s->base + (s->fd >= 0 && fstat(s->fd, &st) == 0 ? st.st_size : 0);
}

struct ukd_logs *ukd_logs_open(struct ukd *d, const char *id, long tail, int follow, int timestamps,
                               int client_fd, uk_err_t *err)
{
	struct ukd_logs *l = calloc(1, sizeof(*l));

	if (!l) {
		uk_err_errno(err, ENOMEM, "logs");
		return NULL;
	}
	*l = (struct ukd_logs){.d = d,
	                       .ts_fd = -1,
	                       .client_fd = client_fd,
	                       .follow = follow,
	                       .timestamps = timestamps,
	                       .at_line_start = 1};
	snprintf(l->id, sizeof(l->id), "%s", id);
	pthread_mutex_lock(&pump_lock);
	logs_open_segs(l);
	pthread_mutex_unlock(&pump_lock);
	l->pos = tail_offset(stream_pread, l, stream_size(l), tail);
	return l;
}

static int logs_running(struct ukd_logs *l)
{
	struct ukd_instance in;
	int running;

	if (ukd_store_instance_find(l->d->store, l->id, &in, NULL) < 0)
		return 0;
	/* A follow opened before the start (how `uk run` avoids missing output) waits too. */
	running = in.state == UKD_STATE_RUNNING || in.state == UKD_STATE_CREATED;
	ukd_instance_clear(&in);
	return running;
}

/* Which file (id)'s (st) is now: 0 console.log, N console.log.N; -1 none (rotated away). The
 * caller holds pump_lock. */
static int seg_find(struct ukd *d, const char *id, const struct stat *st)
{
	char name[32], path[PATH_MAX];
	struct stat now;

	for (unsigned k = 0; k < SEG_MAX; k++) {
		seg_name("console.log", k, name, sizeof(name));
		ukd_instance_path(d, id, name, path, sizeof(path));
		if (stat(path, &now) < 0) {
			if (k)
				return -1;
			continue;
		}
		if (now.st_ino == st->st_ino && now.st_dev == st->st_dev)
			return (int)k;
	}
	return -1;
}

/* The oldest rotated file there is (console.log when none); the caller holds pump_lock. */
static int seg_oldest(struct ukd *d, const char *id)
{
	int k = 0;
	int fd;

	while (k + 1 < SEG_MAX && (fd = open_in(d, id, "console.log", (unsigned)k + 1)) >= 0) {
		close(fd);
		k++;
	}
	return k;
}

/*
 * At the end of the last file: was it rotated (it is console.log.N now, or gone)? Then, once
 * its last bytes are read, the file after it (console.log.N-1, or console.log) is the next
 * one; a follower left behind by more than max-file rotations goes on at the oldest file
 * there is. 1 when there is more to read.
 */
static int logs_follow_rotation(struct ukd_logs *l)
{
	struct seg *last = &l->segs[l->nsegs - 1];
	char path[PATH_MAX];
	struct stat had, now;
	int k, fd;

	if (last->fd < 0) {
		last->fd = open_in(l->d, l->id, "console.log", 0);
		return last->fd >= 0;
	}
	if (fstat(last->fd, &had) < 0)
		return 0;
	if (l->pos < last->base + had.st_size)
		return 1;
	ukd_instance_path(l->d, l->id, "console.log", path, sizeof(path));
	if (stat(path, &now) == 0 && now.st_ino == had.st_ino && now.st_dev == had.st_dev)
		return 0; /* still console.log (a rename is atomic): no lock for the common case */
	pthread_mutex_lock(&pump_lock);
	k = seg_find(l->d, l->id, &had);
	if (k == 0) {
		pthread_mutex_unlock(&pump_lock);
		return 0; /* still console.log: nothing new yet */
	}
	k = k > 0 ? k - 1 : seg_oldest(l->d, l->id);
	fd = open_in(l->d, l->id, "console.log", (unsigned)k);
	if (fd < 0) {
		pthread_mutex_unlock(&pump_lock);
		return 0;
	}
	/* The files before the position are done with. */
	for (int i = 0; i < l->nsegs; i++)
		if (l->segs[i].fd >= 0)
			close(l->segs[i].fd);
	l->segs[0] = (struct seg){fd, last->base + had.st_size};
	l->nsegs = 1;
	if (l->timestamps) {
		ts_read(l, l->ts_fd, l->ts_base, l->ts_part, sizeof(l->ts_part));
		if (l->ts_fd >= 0)
			close(l->ts_fd);
		l->ts_fd = open_in(l->d, l->id, "console.ts", (unsigned)k);
		l->ts_base = l->segs[0].base;
		l->ts_part[0] = 0;
	}
	pthread_mutex_unlock(&pump_lock);
	return 1;
}

/* Copies stream bytes from pos into buf, stopping after a newline when timestamping. */
static ssize_t logs_copy(struct ukd_logs *l, char *buf, size_t max)
{
	ssize_t n = stream_pread(l, buf, max, l->pos);

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
		char c;
		if (l->timestamps && l->at_line_start && stream_pread(l, &c, 1, l->pos) == 1) {
			uk_time_rfc3339_ns(ts_lookup(l, l->pos), l->pending,
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
		if (!l->follow || l->d->stopping)
			return 0;
		if (logs_follow_rotation(l))
			continue;
		uint64_t gen = ukd_store_instance_gen(l->d->store);
		int changed = !l->gen_checked || gen != l->gen;

		l->gen = gen;
		l->gen_checked = 1;
		if (changed)
			l->ended = !logs_running(l);
		if (l->ended) {
			/* Bytes (or a rotation) that landed between our last read and the state
			 * check: the exit was recorded after the pump's last pass on it. */
			if (stream_size(l) > l->pos || logs_follow_rotation(l))
				continue;
			return 0;
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
	for (int i = 0; i < l->nsegs; i++)
		if (l->segs[i].fd >= 0)
			close(l->segs[i].fd);
	if (l->ts_fd >= 0)
		close(l->ts_fd);
	free(l->recs);
	free(l);
}

/* ---- the pump: console.raw (QEMU's COM1) → console.log, rotated ---- */

struct watched {
	char id[65];
	int loaded;               /* the fields below were read from disk */
	struct ukd_log_opts opts; /* the instance's, from its config */
	int64_t base;             /* console.raw offset of console.log's first byte */
	off_t log_size, ts_size;  /* of console.log and console.ts */
	off_t punched;            /* console.raw blocks below this are holes */
	int at_nl;                /* console.log ends with a newline (or is empty) */
	int failing;              /* the last write failed (logged once) */
	int seen;
	int wd;    /* inotify watch of the instance's directory, 0: none */
	int dirty; /* an event named console.raw or status since the last pass */
	struct watched *next;
	struct watched *wd_next; /* in pump.by_wd[wd % PUMP_WD_BUCKETS] */
};

#define PUMP_WD_BUCKETS 256

static struct {
	pthread_t thread;
	int running;
	volatile int quit;
	struct ukd *d;
	struct watched *list;
	int ino;      /* inotify fd; -1: every instance every PUMP_PERIOD_MS */
	int top_wd;   /* the watch of <root>/instances (new instance directories) */
	int degraded; /* a watch was refused: every instance every PUMP_PERIOD_MS */
	struct watched *by_wd[PUMP_WD_BUCKETS]; /* the watched by their inotify watch */
} pump = {.ino = -1};

/* Sets (w)'s inotify watch (0: none) and files it under it; caller holds pump_lock. */
static void wd_set(struct watched *w, int wd)
{
	struct watched **pp;

	if (w->wd > 0) {
		for (pp = &pump.by_wd[w->wd % PUMP_WD_BUCKETS]; *pp != w; pp = &(*pp)->wd_next)
			;
		*pp = w->wd_next;
	}
	w->wd = wd > 0 ? wd : 0;
	if (w->wd > 0) {
		w->wd_next = pump.by_wd[wd % PUMP_WD_BUCKETS];
		pump.by_wd[wd % PUMP_WD_BUCKETS] = w;
	}
}

static struct watched *wd_find(int wd)
{
	struct watched *w = wd > 0 ? pump.by_wd[wd % PUMP_WD_BUCKETS] : NULL;

	while (w && w->wd != wd)
		w = w->wd_next;
	return w;
}

static struct watched *pump_get(const char *id)
{
	struct watched *w;

	for (w = pump.list; w; w = w->next)
		if (!strcmp(w->id, id))
			return w;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->next = pump.list;
	pump.list = w;
	return w;
}

static off_t file_size(const char *dir, const char *name)
{
	char path[PATH_MAX + 32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* console.pos: where console.log starts in console.raw (a rotation moves it on). */
static int pos_read(const char *dir, int64_t *base)
{
	char path[PATH_MAX + 32], buf[32];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/console.pos", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return -1;
	buf[n] = 0;
	return sscanf(buf, "%" SCNd64, base) == 1 ? 0 : -1;
}

static int pos_write(const char *dir, int64_t base)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 40], buf[32];
	_cleanup_close_ int fd = -1;
	int len = snprintf(buf, sizeof(buf), "%" PRId64 "\n", base);

	snprintf(path, sizeof(path), "%s/console.pos", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, (size_t)len) != len || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int ukd_logs_prepare(const char *dir, uk_err_t *err)
{
	char path[PATH_MAX + 32];
	int64_t base;
	int fd;

	snprintf(path, sizeof(path), "%s/console.raw", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return uk_err_errno(err, errno, "create %s", path);
	close(fd);
	/* An instance whose console.log QEMU wrote itself (before ukd had the pump) goes on after
	 * its last byte. */
	if (pos_read(dir, &base) < 0 &&
	    pos_write(dir, -(int64_t)file_size(dir, "console.log") +
	                           (int64_t)file_size(dir, "console.raw")) < 0)
		return uk_err_errno(err, errno, "write %s/console.pos", dir);
	return 0;
}

static void pump_load(struct watched *w, const char *dir)
{
	struct ukd_instance in;

	w->log_size = file_size(dir, "console.log");
	w->at_nl = 1;
	if (w->log_size > 0) {
		char c = '\n', path[PATH_MAX + 32];
		_cleanup_close_ int fd = -1;
		snprintf(path, sizeof(path), "%s/console.log", dir);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0 &&
		    pread(fd, &c, 1, w->log_size - 1) == 1)
			w->at_nl = c == '\n';
	}
	w->ts_size = file_size(dir, "console.ts");
	if (pos_read(dir, &w->base) < 0)
		w->base = -(int64_t)w->log_size;
	w->punched = 0;
	w->opts = (struct ukd_log_opts){UKD_LOG_MAX_SIZE_DEFAULT, UKD_LOG_MAX_FILE_DEFAULT};
	if (ukd_store_instance_find(pump.d->store, w->id, &in, NULL) == 0) {
		if (!in.spec_error[0])
			w->opts = in.spec.log;
		ukd_instance_clear(&in);
	}
	w->loaded = 1;
}

/* Moves console.log to console.log.1 (and .1 to .2 ... the oldest beyond max-file dropped),
 * console.ts with it, and starts an empty console.log. */
static int pump_rotate(struct watched *w, const char *dir, int *log, int *ts)
{
	static const char *const stems[] = {"console.log", "console.ts"};
	char from[PATH_MAX + 40], to[PATH_MAX + 40], name[32];

	for (int s = 0; s < 2; s++) {
		for (unsigned k = w->opts.max_file - 1; k >= 1; k--) {
			seg_name(stems[s], k - 1, name, sizeof(name));
			snprintf(from, sizeof(from), "%s/%s", dir, name);
			seg_name(stems[s], k, name, sizeof(name));
			snprintf(to, sizeof(to), "%s/%s", dir, name);
			if (rename(from, to) < 0 && errno != ENOENT)
				return -1;
		}
		if (w->opts.max_file == 1) {
			snprintf(from, sizeof(from), "%s/%s", dir, stems[s]);
			unlink(from);
		}
	}
	/* A crash from here to the new console.pos copies console.log's bytes again: some
	 * lines twice, none lost. */
	if (pos_write(dir, w->base + w->log_size) < 0)
		return -1;
	w->base += w->log_size;
	w->log_size = w->ts_size = 0;
	w->at_nl = 1;
	close(*log);
	close(*ts);
	snprintf(from, sizeof(from), "%s/console.log", dir);
	*log = open(from, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	snprintf(from, sizeof(from), "%s/console.ts", dir);
	*ts = open(from, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	return *log >= 0 && *ts >= 0 ? 0 : -1;
}

/* How much of (buf)[0..n) goes into console.log now; 0: rotate first. A file ends at a line's
 * end: within (room), after the last newline there, and a line that has begun may go past
 * max-size by up to LINE_SLACK bytes to end in the same file. */
static size_t pump_take(struct watched *w, const char *buf, size_t n, off_t room)
{
	if (room > 0 && (off_t)n <= room)
		return n;
	if (room > 0) {
		const char *nl = memrchr(buf, '\n', (size_t)room);
		return nl ? (size_t)(nl - buf) + 1 : (size_t)room;
	}
	if (w->log_size == 0)
		return n; /* max-size smaller than a timestamp record: one chunk per file */
	if (w->at_nl || room + LINE_SLACK <= 0)
		return 0;
	size_t most = (size_t)(room + LINE_SLACK) < n ? (size_t)(room + LINE_SLACK) : n;
	const char *nl = memchr(buf, '\n', most);
	return nl ? (size_t)(nl - buf) + 1 : most;
}

/* Appends (buf)[0..n) to console.log, rotating when it would pass max-size; a record of the
 * arrival time (now) of its lines goes to console.ts first. -1 on a failed write. */
static int pump_append(struct watched *w, const char *dir, int *log, int *ts, const char *buf,
                       size_t n, int64_t now)
{
	char rec[64];

	while (n > 0) {
		off_t room =
		        (off_t)w->opts.max_size - w->log_size - w->ts_size - (off_t)sizeof(rec);
		size_t take = pump_take(w, buf, n, room);
		if (!take) {
			if (pump_rotate(w, dir, log, ts) < 0)
				return -1;
			continue;
		}
		const char *nl = memrchr(buf, '\n', take);
		if (nl) {
			int len =
			        snprintf(rec, sizeof(rec), "%lld %lld\n",
			                 (long long)(w->log_size + (nl - buf) + 1), (long long)now);
			if (write(*ts, rec, (size_t)len) != len)
				return -1;
			w->ts_size += len;
		}
		ssize_t put = write(*log, buf, take);
		if (put > 0) {
			w->log_size += put;
			w->at_nl = buf[put - 1] == '\n';
		}
		if (put != (ssize_t)take)
			return -1;
		buf += take;
		n -= take;
	}
	return 0;
}

/* Copies what console.raw gained since the last pass; caller holds pump_lock. */
static void pump_console(struct watched *w, const char *dir)
{
	char path[PATH_MAX + 32], buf[65536];
	_cleanup_close_ int raw = -1, log = -1, ts = -1;
	int64_t now = ukd_now_ns();
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/console.raw", dir);
	if (stat(path, &st) < 0)
		return;
	if (!w->loaded)
		pump_load(w, dir);
	if (st.st_size < w->base + w->log_size)
		w->base = st.st_size - w->log_size; /* replaced: go on from its end */
	if (st.st_size == w->base + w->log_size && w->punched >= (st.st_size & ~(off_t)(BLOCK - 1)))
		return; /* nothing new: one stat per idle instance */
	if ((raw = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return;
	snprintf(path, sizeof(path), "%s/console.log", dir);
	log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	snprintf(path, sizeof(path), "%s/console.ts", dir);
	ts = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	while (log >= 0 && ts >= 0 &&
	       (n = pread(raw, buf, sizeof(buf), w->base + w->log_size)) > 0) {
		if (pump_append(w, dir, &log, &ts, buf, (size_t)n, now) < 0) {
			if (!w->failing)
				log_error("logs",
				          "%.12s: write its console log: %s (the guest's "
				          "output waits in console.raw)",
				          w->id, strerror(errno));
			w->failing = 1;
			break;
		}
		w->failing = 0;
	}
	/* What is copied leaves console.raw's disk blocks (its size stays: QEMU appends). */
	off_t done = (w->base + w->log_size) & ~(off_t)(BLOCK - 1);
	if (done > w->punched && fallocate(raw, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	                                   w->punched, done - w->punched) == 0)
		w->punched = done;
}

/* Keeps the status channel (COM2) to its last STATUS_KEEP bytes on disk. */
static void pump_status(const char *dir)
{
	char path[PATH_MAX + 32];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/status", dir);
	if (stat(path, &st) < 0 || (off_t)st.st_blocks * 512 <= 2 * STATUS_KEEP)
		return;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return;
	off_t cut = (st.st_size - STATUS_KEEP) & ~(off_t)(BLOCK - 1);
	if (cut > 0)
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, cut);
	close(fd);
}

/* Copies one instance's new console output; caller holds pump_lock. */
static void pump_watched(struct watched *w)
{
	char dir[PATH_MAX];

	ukd_instance_path(pump.d, w->id, NULL, dir, sizeof(dir));
	w->seen = 1;
	w->dirty = 0;
	if (pump.ino >= 0 && w->wd <= 0 && !pump.degraded) {
		int wd = inotify_add_watch(pump.ino, dir, IN_MODIFY | IN_CREATE | IN_ONLYDIR);

		wd_set(w, wd);
		if (wd < 0 && errno != ENOENT) {
			log_warn("logs",
			         "watch %s: %s: console logs are polled every %d ms instead (raise "
			         "fs.inotify.max_user_watches)",
			         dir, strerror(errno), PUMP_PERIOD_MS);
			pump.degraded = 1;
		}
	}
	pump_console(w, dir);
	pump_status(dir);
}

static void pump_one(const char *id)
{
	struct watched *w;

	pthread_mutex_lock(&pump_lock);
	if ((w = pump_get(id)))
		pump_watched(w);
	pthread_mutex_unlock(&pump_lock);
}

void ukd_logs_pump_lock(void)
{
	pthread_mutex_lock(&pump_lock);
}

void ukd_logs_pump_unlock(void)
{
	pthread_mutex_unlock(&pump_lock);
}

void ukd_logs_drain(struct ukd *d, const char *id)
{
	pump.d = d;
	pump_one(id);
}

static void pump_pass(void)
{
	char dir[256];
	DIR *dp;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/instances", pump.d->cfg.root);
	if (!(dp = opendir(dir)))
		return;
	pthread_mutex_lock(&pump_lock);
	for (struct watched *w = pump.list; w; w = w->next)
		w->seen = 0;
	pthread_mutex_unlock(&pump_lock);
	while ((e = readdir(dp)))
		if (strlen(e->d_name) == 64)
			pump_one(e->d_name);
	closedir(dp);
	pthread_mutex_lock(&pump_lock);
	for (struct watched **pp = &pump.list; *pp;) {
		if (!(*pp)->seen) {
			struct watched *w = *pp;
			*pp = w->next;
			if (w->wd > 0) /* gone with its directory, mostly */
				inotify_rm_watch(pump.ino, w->wd);
			wd_set(w, 0);
			free(w);
		} else {
			pp = &(*pp)->next;
		}
	}
	pthread_mutex_unlock(&pump_lock);
}

/* Reads the pending inotify events and pumps the instances they name; -1 if one was lost (the
 * queue overflowed, or no memory): the caller looks at every instance. */
static int pump_events(void)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct watched *w;
	int lost = 0;
	ssize_t n;

	pthread_mutex_lock(&pump_lock);
	while ((n = read(pump.ino, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			const char *name = ev->len ? ev->name : "";

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				lost = 1;
			} else if (ev->wd == pump.top_wd) {
				/* a new instance directory: watched and looked at from now on */
				if (strlen(name) == 64 && !(w = pump_get(name)))
					lost = 1;
				else if (strlen(name) == 64)
					w->dirty = 1;
			} else {
				int gone = (ev->mask & IN_IGNORED) != 0;
				int ours = !strcmp(name, "console.raw") || !strcmp(name, "status");
				if ((w = wd_find(ev->wd))) {
					w->dirty |= ours;
					if (gone)
						wd_set(w, 0);
				}
			}
		}
	}
	for (w = pump.list; w; w = w->next)
		if (w->dirty)
			pump_watched(w);
	pthread_mutex_unlock(&pump_lock);
	return lost ? -1 : 0;
}

static void pump_watch_start(void)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/instances", pump.d->cfg.root);
	if ((pump.ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    (pump.top_wd = inotify_add_watch(pump.ino, dir, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)) <
	            0) {
		log_warn("logs", "inotify on %s: %s: console logs are polled every %d ms", dir,
		         strerror(errno), PUMP_PERIOD_MS);
		if (pump.ino >= 0)
			close(pump.ino);
		pump.ino = -1;
	}
}

static void *pump_thread(void *p)
{
	int64_t full_at = 0; /* ukd_now_ns of the next look at every instance */

	(void)p;
	pump_watch_start();
	while (!pump.quit) {
		int64_t now = ukd_now_ns();

		if (pump.ino < 0 || pump.degraded || now >= full_at) {
			pump_pass();
			full_at = now + PUMP_FULL_MS * 1000000LL;
		} else if (pump_events() < 0) {
			full_at = now; /* an event was lost: look at everything next */
		}
		nanosleep(&(struct timespec){0, PUMP_PERIOD_MS * 1000000L}, NULL);
		if (pump.ino >= 0 && !pump.degraded) {
			/* wake for the next event, the next full pass, or (at most 200 ms) a stop
			 */
			int64_t left_ms = (full_at - ukd_now_ns()) / 1000000;
			poll(&(struct pollfd){.fd = pump.ino, .events = POLLIN}, 1,
			     left_ms < 0     ? 0
			     : left_ms > 200 ? 200
			                     : (int)left_ms);
		}
	}
	pump_pass(); /* what came in meanwhile, for the next ukd (live restore) */
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
	if (pump.ino >= 0)
		close(pump.ino);
	pump.ino = -1;
	pump.degraded = 0;
	while (pump.list) {
		struct watched *w = pump.list;
		pump.list = w->next;
		free(w);
	}
}
