/* Exit and restart policy: the status channel's exit code, restart decisions, backoff. */
#include "policy.h"
#include "uk/vmm.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define BACKOFF_RESET_NS (10LL * 1000000000)

int ukd_policy_parse_status(const char *buf, size_t len)
{
	return ukvmm_status_parse(buf, len); /* one parser of UK_EXIT lines, the library's */
}

int ukd_policy_read_status(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	off_t size;

	if (fd < 0)
		return -1;
	/* The guest writes one line; a long file is junk, and its tail is what counts. */
	size = lseek(fd, 0, SEEK_END);
	n = pread(fd, buf, sizeof(buf), size > (off_t)sizeof(buf) ? size - (off_t)sizeof(buf) : 0);
	close(fd);
	return n > 0 ? ukd_policy_parse_status(buf, (size_t)n) : -1;
}

int64_t ukd_policy_backoff_ms(int n, int64_t ran_ns)
{
	int64_t ms = BACKOFF_MIN_MS;

	if (ran_ns >= BACKOFF_RESET_NS)
		return ms;
	for (int i = 0; i < n && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

int ukd_policy_wants_restart(const struct ukd_instance *in)
{
	const struct ukd_restart_policy *rp = &in->spec.restart;

	if (in->stop_requested)
		return 0;
	switch (rp->kind) {
	case UKD_RESTART_NO:
		return 0;
	case UKD_RESTART_ON_FAILURE:
	/* on-unhealthy: on-failure, plus the health checker kills an unhealthy run (a failure,
	 * 137); always and unless-stopped do not act on health, as in Docker (docs/daemon.md). */
	case UKD_RESTART_ON_UNHEALTHY:
		return in->exit_code != 0 &&
		       (rp->max_retry == 0 || in->restart_count < rp->max_retry);
	default:
		return 1; /* always, unless-stopped */
	}
}

int ukd_policy_restart_at_startup(const struct ukd_instance *in)
{
	/* As Docker: always starts with the daemon whatever happened; unless-stopped unless the
	 * user stopped it. */
	return in->spec.restart.kind == UKD_RESTART_ALWAYS ||
	       (in->spec.restart.kind == UKD_RESTART_UNLESS_STOPPED && !in->stop_requested);
}
