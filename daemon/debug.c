/* Debugging guests: the kernel an instance boots, served to `uk debug`, and its crash reports
 * symbolized by addr2line when ukd records the exit (docs/debugging.md). */
#include "debug.h"
#include "req.h"
#include "instances.h"
#include "log.h"
#include "logs.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uk/images.h>

#define CRASH_FRAMES 34     /* the runtime prints the faulting rip and up to 32 frames */
#define CRASH_TAIL 16384    /* bytes of the console log searched for the report */
#define ADDR2LINE_OUT 65536 /* bytes of addr2line's answer read at most */
#define ADDR2LINE_TIMEOUT_MS 5000

extern char **environ;

int ukd_debug_kernel_path(struct ukd *d, const struct ukd_instance *in, char *out, size_t len,
                          uk_err_t *err)
{
	struct ukd_image_row img;

	if (ukd_store_image_resolve(d->store, in->image_id, &img, err) < 0 ||
	    ukimg_kernel_path(d->images, img.manifest, out, len, err) < 0)
		return uk_err_wrap(err, "kernel of %s", in->name);
	return 0;
}

/* Runs addr2line -f -C -e KERNEL ADDR... (no shell), its stdout into (out) (NUL-terminated,
 * cut at len - 1); -1 if it could not run or did not end in time (then killed). */
static int addr2line(const char *kernel, char *const *addrs, int n, char *out, size_t len)
{
	char *argv[CRASH_FRAMES + 6] = {"addr2line", "-f", "-C", "-e", (char *)kernel};
	posix_spawn_file_actions_t fa;
	int p[2], st = 0, argc = 5, r;
	size_t got = 0;
	pid_t pid;
	struct timespec t0;

	for (int i = 0; i < n; i++)
		argv[argc++] = addrs[i];
	argv[argc] = NULL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, "addr2line", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec now;
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		long left;
		ssize_t k;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = ADDR2LINE_TIMEOUT_MS -
		       ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
			r = -1;
			break;
		}
		k = read(p[0], out + got, len - 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || (got += (size_t)k) >= len - 1)
			break;
	}
	close(p[0]);
	kill(pid, SIGKILL); /* gone already unless it hung or talked too much */
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	out[got] = 0;
	return r;
}

/* The last CRASH_TAIL bytes of (path) into (buf); their length, or -1. */
static ssize_t read_tail(const char *path, char *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t end;
	ssize_t n;

	if (fd < 0 || (end = lseek(fd, 0, SEEK_END)) < 0)
		return -1;
	if (lseek(fd, end > (off_t)len ? end - (off_t)len : 0, SEEK_SET) < 0)
		return -1;
	n = read(fd, buf, len);
	return n;
}

void ukd_debug_symbolize_crash(struct ukd *d, const struct ukd_instance *in, int code)
{
	static char tail[CRASH_TAIL], answer[ADDR2LINE_OUT];
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* the buffers above */
	struct ukd_crash_frame f[CRASH_FRAMES];
	char path[PATH_MAX], kernel[PATH_MAX], hex[CRASH_FRAMES][20], *addrs[CRASH_FRAMES];
	uk_err_t err = {0};
	ssize_t len;
	int n;

	if (code != 132 && code != 134 && code != 136 && code != 139)
		return;
	pthread_mutex_lock(&lock);
	ukd_instance_path(d, in->id, "console.log", path, sizeof(path));
	if ((len = read_tail(path, tail, sizeof(tail))) <= 0 ||
	    !(n = ukd_crash_frames(tail, (size_t)len, f, CRASH_FRAMES)))
		goto out;
	if (ukd_debug_kernel_path(d, in, kernel, sizeof(kernel), &err) < 0) {
		log_info("debug", "%s: crash report not symbolized: %s", in->name, err.message);
		goto out;
	}
	/* a return address is past its call: the call's line is the byte before */
	for (int i = 0; i < n; i++) {
		snprintf(hex[i], sizeof(hex[i]), "0x%llx",
		         (unsigned long long)(f[i].faulting ? f[i].addr : f[i].addr - 1));
		addrs[i] = hex[i];
	}
	if (addr2line(kernel, addrs, n, answer, sizeof(answer)) < 0) {
		log_info("debug", "%s: crash report not symbolized: addr2line failed or timed out",
		         in->name);
		goto out;
	}
	{
		/* appended to what QEMU wrote: the pump moves it into console.log like guest
		 * output, so `uk logs` shows it after the report */
		char raw[PATH_MAX], line[1024];
		_cleanup_close_ int fd = -1;
		char *save = NULL, *fn = strtok_r(answer, "\n", &save), *loc;
		FILE *o;
		_cleanup_free_ char *text = NULL;
		size_t tlen = 0;

		ukd_instance_path(d, in->id, "console.raw", raw, sizeof(raw));
		if (!(o = open_memstream(&text, &tlen)))
			goto out;
		fputs("backtrace symbolized by ukd (addr2line, the image's kernel):\n", o);
		for (int i = 0; i < n && fn && (loc = strtok_r(NULL, "\n", &save)); i++) {
			while (!strncmp(loc, "././", 4)) /* "./main.c" compiled in "." */
				loc += 2;
			snprintf(line, sizeof(line), "  #%s 0x%016llx in %.300s at %.500s\n",
			         f[i].faulting ? " " : "", (unsigned long long)f[i].addr, fn, loc);
			if (!f[i].faulting)
				snprintf(line, sizeof(line),
				         "  #%d 0x%016llx in %.300s at %.500s\n",
				         i - (f[0].faulting ? 1 : 0), (unsigned long long)f[i].addr,
				         fn, loc);
			fputs(line, o);
			fn = strtok_r(NULL, "\n", &save);
		}
		if (fclose(o) != 0)
			goto out;
		fd = open(raw, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0 || write(fd, text, tlen) != (ssize_t)tlen)
			log_info("debug", "%s: crash report not appended: %s", in->name,
			         strerror(errno));
		ukd_logs_drain(d, in->id);
	}
out:
	pthread_mutex_unlock(&lock);
}
