/* Resource usage of an instance: the VMM process from /proc, disks from the backend, taps from
 * /proc/net/dev (`uk stats`, `uk top`; docs/cli.md). */
#include "stats.h"

#include "backend.h"
#include "backends.h"
#include "store.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Reads the small file (path) whole into (buf); its length, -1 with errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while ((size_t)total < size - 1 &&
	       (n = read(fd, buf + total, size - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = 0;
	return total;
}

static int proc_read(int pid, const char *file, char *buf, size_t size, ssize_t *len, uk_err_t *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	*len = read_small(path, buf, size);
	if (*len < 0)
		return uk_err_errno(err, errno, "read %s of the guest's VMM", path);
	return 0;
}

/* The VMM's CPU time (ns), start (ticks since boot) and resident set (bytes). */
static int proc_sample(int pid, int64_t *cpu_ns, uint64_t *start, int64_t *rss, uk_err_t *err)
{
	char buf[4096];
	uint64_t ticks;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;

	if (proc_read(pid, "stat", buf, sizeof(buf), &n, err) < 0)
		return -1;
	if (ukd_stats_parse_stat(buf, (size_t)n, &ticks, start) < 0)
		return uk_err_internal(err, "/proc/%d/stat: unexpected format", pid);
	*cpu_ns = (int64_t)(ticks * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100)));
	if (proc_read(pid, "status", buf, sizeof(buf), &n, err) < 0)
		return -1;
	*rss = ukd_stats_parse_status(buf, (size_t)n, "VmRSS");
	if (*rss < 0)
		*rss = 0; /* a zombie has none */
	return 0;
}

/* The instance's taps are "uk" + its id's 12 first characters + the NIC's number (network.c).
 * /proc/net/dev, not /sys/class/net: sysfs shows the links of the namespace it was mounted in,
 * procfs those of ukd's own. -1 each when it has none (slirp or no NIC). */
static void net_sample(const char *id, int64_t *rx, int64_t *tx)
{
	static char buf[1 << 16]; /* a host with many links: under net_lock */
	static pthread_mutex_t net_lock = PTHREAD_MUTEX_INITIALIZER;
	char prefix[16];
	ssize_t n;

	snprintf(prefix, sizeof(prefix), "uk%.12s", id);
	pthread_mutex_lock(&net_lock);
	n = read_small("/proc/net/dev", buf, sizeof(buf));
	if (n <= 0 || ukd_stats_parse_netdev(buf, (size_t)n, prefix, rx, tx) < 0)
		*rx = *tx = -1;
	pthread_mutex_unlock(&net_lock);
}

/* The host's MemTotal in bytes, 0 if unknown. */
static int64_t host_memory(void)
{
	char buf[4096];
	ssize_t n = read_small("/proc/meminfo", buf, sizeof(buf));
	int64_t v = n > 0 ? ukd_stats_parse_status(buf, (size_t)n, "MemTotal") : -1;

	return v > 0 ? v : 0;
}

/* 1 if the guest runs, with its VMM's pid in (*pid) (0: it has none, a Xen domain), 0 not
 * running, -1 error. */
static int vmm_pid(struct ukd *d, const struct ukd_instance *in, int *pid, uk_err_t *err)
{
	int r;

	*pid = 0;
	if (in->state != UKD_STATE_RUNNING || !in->domain_name[0])
		return 0;
	r = ukd_backend_state(ukd_backend_of(d, in), in->domain_name, pid, err);
	if (r < 0)
		return uk_err_wrap(err, "statistics of %s", in->name);
	return r > 0;
}

int ukd_stats_sample(struct ukd *d, const struct ukd_instance *in, struct ukd_stats *s,
                     uk_err_t *err)
{
	struct ukd_vm_stats vs;
	uint64_t start;
	uk_err_t e = {0};
	int pid, r;

	memset(s, 0, sizeof(*s));
	s->read_ns = ukd_now_ns();
	if ((r = vmm_pid(d, in, &pid, err)) <= 0)
		return r;
	if (pid > 0 && proc_sample(pid, &s->cpu_ns, &start, &s->mem_usage, &e) < 0) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 0; /* it ended meanwhile: a stopped guest's zeroed row */
		*err = e;
		return uk_err_wrap(err, "statistics of %s", in->name);
	}
	if (ukd_backend_stats(ukd_backend_of(d, in), in->domain_name, &vs, &e) < 0) {
		if (e.status == 404)
			return 0;
		*err = e;
		return uk_err_wrap(err, "statistics of %s", in->name);
	}
	if (pid <= 0) { /* no VMM process: the hypervisor's own figures, or nothing to show */
		if (vs.cpu_ns < 0)
			return 0;
		s->cpu_ns = vs.cpu_ns;
		s->mem_usage = vs.mem;
	}
	s->running = 1;
	s->pid = pid;
	s->mem_guest = (int64_t)in->spec.memory;
	s->mem_limit = host_memory();
	s->blk_read = vs.blk_read;
	s->blk_write = vs.blk_write;
	net_sample(in->id, &s->net_rx, &s->net_tx);
	return 0;
}

static json_object *pair_json(const char *ka, int64_t a, const char *kb, int64_t b)
{
	json_object *o;

	if (a < 0 || b < 0)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, ka, json_object_new_int64(a));
	json_object_object_add(o, kb, json_object_new_int64(b));
	return o;
}

json_object *ukd_stats_json(const struct ukd_instance *in, const struct ukd_stats *s,
                            const struct ukd_stats *prev)
{
	json_object *o = json_object_new_object();
	char when[UK_TIME_LEN];

	uk_time_rfc3339_ns(s->read_ns, when, sizeof(when));
	json_object_object_add(o, "id", json_object_new_string(in->id));
	json_object_object_add(o, "name", json_object_new_string(in->name));
	json_object_object_add(o, "state", json_object_new_string(ukd_state_name(in->state)));
	json_object_object_add(o, "running", json_object_new_boolean(s->running));
	json_object_object_add(o, "read", json_object_new_string(when));
	json_object_object_add(o, "read_ns", json_object_new_int64(s->read_ns));
	json_object_object_add(o, "pid", json_object_new_int(s->pid));
	json_object_object_add(o, "cpu_ns", json_object_new_int64(s->cpu_ns));
	if (prev && s->read_ns > prev->read_ns) {
		int64_t dcpu = s->running && prev->running ? s->cpu_ns - prev->cpu_ns : 0;
		double pct = 100.0 * (double)(dcpu > 0 ? dcpu : 0) /
		             (double)(s->read_ns - prev->read_ns);

		json_object_object_add(o, "cpu_percent", json_object_new_double(pct));
	} else {
		json_object_object_add(o, "cpu_percent", NULL);
	}
	json_object *mem = pair_json("usage", s->mem_usage, "limit", s->mem_limit);
	json_object_object_add(mem, "guest", json_object_new_int64(s->mem_guest));
	json_object_object_add(o, "memory", mem);
	json_object_object_add(o, "network",
	                       s->running ? pair_json("rx_bytes", s->net_rx, "tx_bytes", s->net_tx)
	                                  : pair_json("rx_bytes", 0, "tx_bytes", 0));
	json_object_object_add(
	        o, "block",
	        s->running ? pair_json("read_bytes", s->blk_read, "write_bytes", s->blk_write)
	                   : pair_json("read_bytes", 0, "write_bytes", 0));
	return o;
}

/* The process's command line, its arguments joined by spaces. */
static void top_command(int pid, char *out, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = read_small(path, out, size);
	if (n <= 0) {
		snprintf(out, size, "?");
		return;
	}
	while (n > 0 && out[n - 1] == 0)
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (out[i] == 0 || !isprint((unsigned char)out[i]))
			out[i] = ' ';
	out[n] = 0;
}

static void top_user(int pid, char *out, size_t size)
{
	char buf[4096], pw_buf[1024];
	struct passwd pw, *res = NULL;
	ssize_t n;
	uk_err_t e = {0};
	int64_t uid;

	snprintf(out, size, "?");
	if (proc_read(pid, "status", buf, sizeof(buf), &n, &e) < 0 ||
	    (uid = ukd_stats_parse_status(buf, (size_t)n, "Uid")) < 0)
		return;
	if (getpwuid_r((uid_t)uid, &pw, pw_buf, sizeof(pw_buf), &res) == 0 && res)
		snprintf(out, size, "%s", pw.pw_name);
	else
		snprintf(out, size, "%lld", (long long)uid);
}

/* Seconds since the host booted, from /proc/uptime. */
static double host_uptime(void)
{
	char buf[64];

	return read_small("/proc/uptime", buf, sizeof(buf)) > 0 ? strtod(buf, NULL) : 0;
}

json_object *ukd_stats_top(struct ukd *d, const struct ukd_instance *in, uk_err_t *err)
{
	static const char *const titles[] = {"PID", "USER", "%CPU", "RSS", "COMMAND"};
	char cmd[4096], user[64], cell[32];
	json_object *o, *t, *row, *procs;
	int64_t cpu_ns, rss;
	uint64_t start;
	double life;
	long hz = sysconf(_SC_CLK_TCK);
	int pid, r = vmm_pid(d, in, &pid, err);

	if (r < 0)
		return NULL;
	if (r > 0 && pid == 0) {
		uk_err_conflict(err,
		                "%s (domain %s) runs but no host process of it is known (a Xen "
		                "domain has none): nothing to list; uk stats shows its CPU and "
		                "memory",
		                in->name, in->domain_name);
		return NULL;
	}
	if (pid == 0 || proc_sample(pid, &cpu_ns, &start, &rss, err) < 0) {
		uk_err_conflict(err, "%s is not running: start it first", in->name);
		return NULL;
	}
	top_user(pid, user, sizeof(user));
	top_command(pid, cmd, sizeof(cmd));
	life = host_uptime() - (double)start / (double)(hz > 0 ? hz : 100);
	o = json_object_new_object();
	t = json_object_new_array();
	for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
		json_object_array_add(t, json_object_new_string(titles[i]));
	json_object_object_add(o, "Titles", t);
	row = json_object_new_array();
	snprintf(cell, sizeof(cell), "%d", pid);
	json_object_array_add(row, json_object_new_string(cell));
	json_object_array_add(row, json_object_new_string(user));
	snprintf(cell, sizeof(cell), "%.1f", life > 0 ? (double)cpu_ns / 1e7 / life : 0.0);
	json_object_array_add(row, json_object_new_string(cell));
	snprintf(cell, sizeof(cell), "%lld", (long long)(rss / 1024));
	json_object_array_add(row, json_object_new_string(cell));
	json_object_array_add(row, json_object_new_string(cmd));
	procs = json_object_new_array();
	json_object_array_add(procs, row);
	json_object_object_add(o, "Processes", procs);
	/* runtime-lib has no channel to report its threads or tasks to the host yet */
	json_object_object_add(o, "Guest",
	                       json_object_new_string("the guest reports no process view: a "
	                                              "unikernel runs one program in one address "
	                                              "space, inside the VMM process above"));
	return o;
}
