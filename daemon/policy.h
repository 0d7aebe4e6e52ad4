/* Exit and restart policy: exit codes from the status channel, restart decisions, backoff. */
#ifndef UKD_POLICY_H
#define UKD_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Exit code from the last well-formed "UK_EXIT=n" line (n in 0..255) of (buf); -1 if none. */
int ukd_policy_parse_status(const char *buf, size_t len);
/* Exit code from the last "UK_EXIT=n" (0..255) line of the status file (path); -1 if none. */
int ukd_policy_read_status(const char *path);
/* Restart delay before restart number (n) (0-based) after a run of (ran_ns): 100 ms doubling
 * to 10 s, back to 100 ms after a run of 10 s or more (as Docker does). */
int64_t ukd_policy_backoff_ms(int n, int64_t ran_ns);
/* 1 if (in)'s restart policy restarts it after the exit just recorded in (in): always and
 * unless-stopped after any exit, on-failure and on-unhealthy after a non-zero one (up to their
 * maximum_retry_count if not 0), no never; none after a stop by the user. */
int ukd_policy_wants_restart(const struct ukd_instance *in);
/* 1 if (in), not running when ukd starts, is to be started with the daemon (always, or
 * unless-stopped and not stopped by the user). */
int ukd_policy_restart_at_startup(const struct ukd_instance *in);

#endif
